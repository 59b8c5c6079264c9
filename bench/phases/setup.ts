// Setup: a key pair, the images (built, pushed, signed) and their containers.

import { existsSync } from 'node:fs';

import { generateKeyPair } from '../../test/support/cosign.js';
import { Fixtures, pool, type BenchImage } from '../lib/images.js';
import { KNOBS } from '../lib/knobs.js';
import { SEA } from '../lib/paths.js';
import { RegistryLog } from '../lib/registry-log.js';
import { result } from '../lib/result.js';
import { round } from '../lib/stats.js';
import { pluginHcl, type World } from '../lib/world.js';

import type { Rig } from '../../test/support/rig.js';

export async function setup(rig: Rig, tmp: string, runId: string): Promise<World> {
  const fixtures = new Fixtures(rig, runId, tmp);
  const key = await generateKeyPair(rig, tmp, 'bench');
  const names = [
    ...Array.from({ length: KNOBS.footprintImages }, (_, i) => `fp-${String(i).padStart(2, '0')}`),
    ...Array.from({ length: KNOBS.coldSamples }, (_, i) => `cold-${String(i).padStart(2, '0')}`),
    'stampede',
  ];
  const t0 = performance.now();
  const images = await pool(names, 3, (n) => fixtures.image(n, key));
  const agentImage = await fixtures.image('agent-client', key, true);
  const imagesMs = performance.now() - t0;
  const byPrefix = (p: string): BenchImage[] => images.filter((i) => i.name.startsWith(p));
  const stampedeImage = byPrefix('stampede')[0];
  if (!stampedeImage) throw new Error('no stampede image');
  const t1 = performance.now();
  const footprint = await pool(byPrefix('fp-'), 4, (img) => fixtures.container(img));
  const cold = await pool(byPrefix('cold-'), 4, (img) => fixtures.container(img));
  const stampede = await pool(Array.from({ length: KNOBS.stampedeContainers }), 4, () => fixtures.container(stampedeImage));
  const containersMs = performance.now() - t1;
  result.setup = {
    runId,
    repositories: `${rig.registry}/${fixtures.repoPrefix}/*`,
    images: images.length + 1,
    imageKinds: `${KNOBS.footprintImages} footprint/warm (fp-*), ${KNOBS.coldSamples} cold (cold-*), 1 stampede, 1 agent-client (with static spire-agent); busybox FROM scratch + a unique label; pushed; signed by cosign with key "bench" (legacy .sig, --tlog-upload=false)`,
    containers: footprint.length + cold.length + stampede.length,
    buildPushSignMs: round(imagesMs, 0),
    containersMs: round(containersMs, 0),
    signatureFormat: 'legacy (.sig tag)',
  };
  return {
    rig,
    tmp,
    key,
    hcl: pluginHcl(rig, key),
    fixtures,
    regLog: new RegistryLog(rig.stateDir),
    footprint,
    cold,
    stampede,
    stampedeImage,
    agentImage,
    seaAvailable: existsSync(SEA),
  };
}
