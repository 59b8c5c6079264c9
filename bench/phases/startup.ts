import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { run } from '../../test/support/rig.js';
import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { LAUNCHER, REPO } from '../lib/paths.js';
import { summarizeProfile, type Window } from '../lib/profile.js';
import { result, row } from '../lib/result.js';
import { round, summarize } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { World } from '../lib/world.js';

// 4c. Where start-up time goes: a CPU profile of the launcher up to the
// handshake, and a bare Node start for comparison.
export async function startupPhase(w: World): Promise<void> {
  const dir = join(w.tmp, 'startup-prof');
  mkdirSync(dir, { recursive: true });
  let file: string | undefined;
  let window: Window = { fromUs: 0, toUs: 0 };
  let handshakeMs = Number.NaN;
  for (let attempt = 0; attempt < 2 && file === undefined; attempt++) {
    const plugin = await launch(LAUNCHER, { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval=200` });
    window = { fromUs: plugin.spawnedAtUs, toUs: plugin.handshakeAtUs };
    handshakeMs = plugin.handshakeMs;
    await sleep(300);
    await stopPlugin(plugin);
    await sleep(200);
    file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  }
  if (!file) throw new Error('no startup .cpuprofile written');
  const summary = summarizeProfile(join(dir, file), REPO, ['main', 'serve', 'packageDefinition', 'loadSync', 'handshake'], window);
  const bare: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = performance.now();
    await run(process.execPath, ['-e', '0'], { timeoutMs: 10_000 });
    bare.push(performance.now() - s);
  }
  const bareS = summarize(bare);
  row('  bare node -e 0 (spawn to exit)', 'ms', bareS);
  // What-if: Node's on-disk compile cache (NODE_COMPILE_CACHE, Node >= 22.1),
  // passed through the launcher's environment; one priming start first.
  const cacheDir = join(w.tmp, 'compile-cache');
  mkdirSync(cacheDir, { recursive: true });
  const cached: number[] = [];
  for (let i = 0; i <= KNOBS.handshakeRuns; i++) {
    const p = await launch(LAUNCHER, { NODE_COMPILE_CACHE: cacheDir });
    if (i > 0) cached.push(p.handshakeMs);
    await stopPlugin(p);
  }
  const cachedS = summarize(cached);
  row('  what-if: launcher + NODE_COMPILE_CACHE', 'ms', cachedS, 'spawn -> handshake, cache primed');
  result.figures['startupProfile'] = {
    what: 'node --cpu-prof (200 µs) on the launcher; only samples between spawn and the handshake line; idle = waiting (file reads, nothing to run)',
    handshakeMsWithProfiler: round(handshakeMs, 1),
    bareNodeStartMs: bareS,
    whatIfCompileCacheHandshakeMs: cachedS,
    ...summary,
    file: undefined,
  };
}
