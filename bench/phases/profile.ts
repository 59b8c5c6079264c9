import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { load, type LoadResult } from '../lib/load.js';
import { LAUNCHER, REPO } from '../lib/paths.js';
import { attestCaller, initAndConfigure, nowUs } from '../lib/plugin.js';
import { summarizeProfile, type ProfileSummary, type Window } from '../lib/profile.js';
import { result } from '../lib/result.js';
import { round } from '../lib/stats.js';

import type { World } from '../lib/world.js';

// 1b. CPU profile of the plugin during a warm loop.
export async function profilePhase(w: World): Promise<void> {
  const target = w.footprint[0];
  if (!target) throw new Error('no container');
  const dir = join(w.tmp, 'cpuprofile');
  mkdirSync(dir, { recursive: true });
  const plugin = await launch(LAUNCHER, { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval=100` });
  let r: LoadResult;
  let window: Window | undefined;
  try {
    await initAndConfigure(plugin, w.hcl);
    const attest = attestCaller(plugin);
    await load(attest, [target.pid], 200, 16, KNOBS.phaseCapMs);
    const fromUs = nowUs();
    r = await load(attest, [target.pid], KNOBS.profileCalls, 16, KNOBS.phaseCapMs);
    window = { fromUs, toUs: nowUs() };
  } finally {
    await stopPlugin(plugin);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const file = files[0];
  if (!file) throw new Error(`no .cpuprofile written (plugin stderr tail: ${plugin.stderr().slice(-500)})`);
  const keep = join(REPO, 'bench/results/warm-attest.cpuprofile');
  mkdirSync(dirname(keep), { recursive: true });
  copyFileSync(join(dir, file), keep);
  const summary: ProfileSummary = summarizeProfile(
    join(dir, file),
    REPO,
    ['Attest', 'attestNow', 'explain', 'locate', 'confirmInContainer', 'readCgroup', 'readStartTime', 'readCapped', 'processTicksAndRejections'],
    window,
  );
  result.figures['warmProfile'] = {
    what: `node --cpu-prof (100 µs interval) on the plugin process (launcher); only the samples taken during ${r.completed} warm Attests at N=16 (after 200 warm-up)`,
    attests: r.completed,
    loopWallMs: round(r.wallMs, 1),
    profileFile: 'bench/results/warm-attest.cpuprofile',
    busyMsPerAttest: round(summary.busyMs / Math.max(1, r.completed), 4),
    ...summary,
    file: undefined,
  };
}
