import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from '../../test/support/rig.js';
import { Inspector, type NodeMemory } from '../lib/inspector.js';
import { KNOBS, SEMI_SPACE_FLAG } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { load } from '../lib/load.js';
import { LAUNCHER } from '../lib/paths.js';
import { attestCaller, initAndConfigure, memoryOf } from '../lib/plugin.js';
import { result, row } from '../lib/result.js';
import { round, single } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { World } from '../lib/world.js';

// 4b. Where the resident set goes: the plugin (launcher) with the inspector
// on loopback, its own process.memoryUsage() along 10,000 Attests, then after
// a full GC, then after 2,500 more; and a bare Node process for comparison.
export async function memoryPhase(w: World): Promise<void> {
  const pids = w.footprint.map((c) => c.pid);
  const mb = (v: number): number => round(v / 1024 / 1024, 1);
  const points: Array<Record<string, number | string>> = [];
  const plugin = await launch(LAUNCHER, { NODE_OPTIONS: '--inspect=127.0.0.1:0' });
  try {
    const insp = await Inspector.connect(() => plugin.stderr());
    const point = async (label: string): Promise<void> => {
      const u: NodeMemory = await insp.memoryUsage();
      const proc = memoryOf(plugin.pid);
      points.push({
        at: label,
        rssMb: round(proc.rssMb, 1),
        heapTotalMb: mb(u.heapTotal),
        heapUsedMb: mb(u.heapUsed),
        externalMb: mb(u.external),
        arrayBuffersMb: mb(u.arrayBuffers),
        outsideHeapMb: round(proc.rssMb - mb(u.heapTotal) - mb(u.external), 1),
      });
    };
    try {
      await point('start');
      await initAndConfigure(plugin, w.hcl);
      await point('configured');
      const attest = attestCaller(plugin, 30_000);
      const chunk = KNOBS.footprintAttests / 4;
      for (let i = 1; i <= 4; i++) {
        await load(attest, pids, chunk, KNOBS.footprintConcurrency, 60_000);
        await point(`after ${i * chunk} Attests`);
      }
      await insp.collectGarbage();
      await sleep(200);
      await point('after a full GC');
      await load(attest, pids, chunk, KNOBS.footprintConcurrency, 60_000);
      await point(`after ${chunk} more Attests`);
    } finally {
      insp.close();
    }
  } finally {
    await stopPlugin(plugin);
  }
  // A bare Node process (the same binary), for the runtime's own share.
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 3000)'], { stdio: 'ignore' });
  await sleep(500);
  const bareRss = bare.pid !== undefined ? memoryOf(bare.pid).rssMb : Number.NaN;
  bare.kill('SIGKILL');
  // Probes in their own processes: what the start RSS is made of, and the
  // same attestations in process with the product's and a synchronous
  // /proc reader.
  // probe.js sits next to run.js, one folder up from this module.
  const probe = fileURLToPath(new URL('../probe.js', import.meta.url));
  const runProbe = async (args: string[], nodeFlags: string[] = []): Promise<unknown> => {
    const r = await run(process.execPath, [...nodeFlags, probe, ...args], { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`probe ${args[0] ?? ''} failed: ${r.stderr.slice(-800)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as unknown;
  };
  const importsProbe = await runProbe(['imports']);
  const hclFile = join(w.tmp, 'plugin_data.hcl');
  writeFileSync(hclFile, w.hcl);
  const attestProbe: Record<string, unknown> = {};
  const variants: Array<[string, string, string[]]> = [
    ['product', 'product', []],
    ['sync', 'sync', []],
    ['product+semi1', 'product', [SEMI_SPACE_FLAG]],
    ['sync+semi1', 'sync', [SEMI_SPACE_FLAG]],
  ];
  for (const [label, mode, flags] of variants) {
    attestProbe[label] = await runProbe(
      ['attest', mode, hclFile, String(KNOBS.footprintAttests), String(KNOBS.footprintConcurrency), ...pids.map(String)],
      flags,
    );
    const v = (attestProbe[label] as { after?: { rssMb?: unknown } } | undefined)?.after?.rssMb;
    row(
      `  in process x${KNOBS.footprintAttests}: ${label}`,
      'MB',
      single(typeof v === 'number' ? v : Number.NaN),
      label === 'product' ? 'RSS after; own process, no gRPC' : 'what-if',
    );
  }

  // What-if for the plugin itself: a smaller young generation.
  const small = await launch(LAUNCHER, { NODE_OPTIONS: SEMI_SPACE_FLAG });
  let smallRss = Number.NaN;
  let smallPeak = Number.NaN;
  try {
    await initAndConfigure(small, w.hcl);
    const r = await load(attestCaller(small, 30_000), pids, KNOBS.footprintAttests, KNOBS.footprintConcurrency, 120_000);
    await sleep(300);
    const mem = memoryOf(small.pid);
    smallRss = mem.rssMb;
    smallPeak = mem.hwmMb;
    attestProbe['plugin+semi1'] = {
      what: `the plugin (launcher) with NODE_OPTIONS=${SEMI_SPACE_FLAG}, ${r.completed} Attests through gRPC`,
      rssMb: round(smallRss, 1),
      peakRssMb: round(smallPeak, 1),
      throughputPerS: round(r.completed / (r.wallMs / 1000), 0),
    };
  } finally {
    await stopPlugin(small);
  }
  row(`  plugin x${KNOBS.footprintAttests} with ${SEMI_SPACE_FLAG}`, 'MB', single(round(smallRss, 1)), `what-if; peak ${round(smallPeak, 1)}`);

  for (const pt of points)
    row(
      `  memory ${String(pt['at'])}`,
      'MB',
      single(Number(pt['rssMb'])),
      `heap used/total ${String(pt['heapUsedMb'])}/${String(pt['heapTotalMb'])}, external ${String(pt['externalMb'])} (arrayBuffers ${String(pt['arrayBuffersMb'])})`,
    );
  row('  bare node -e (same binary)', 'MB', single(round(bareRss, 1)));
  result.figures['memory'] = {
    what: 'plugin (launcher) started with NODE_OPTIONS=--inspect=127.0.0.1:0; process.memoryUsage() read over the inspector, VmRSS from /proc; HeapProfiler.collectGarbage for the full GC; 10,000 Attests over the 20 footprint containers at N=16',
    points,
    bareNodeRssMb: round(bareRss, 1),
    importsProbe: { what: 'node dist-bench/bench/probe.js imports: memoryUsage after each import, in a fresh process', ...(importsProbe as object) },
    attestProbe: {
      what: `node dist-bench/bench/probe.js attest <mode>: ${KNOBS.footprintAttests} in-process attestations (no gRPC server) over the 20 footprint containers at N=${KNOBS.footprintConcurrency}, each in a fresh process; "sync" injects a ProcReader that reads /proc/<pid>/cgroup with readFileSync`,
      ...attestProbe,
    },
    perAttestAllocationFromCode:
      'readCapped() allocates Buffer.alloc(MAX_CGROUP_BYTES + 1) = 65,537 zero-filled bytes per /proc read, 3 reads per Attest: ~192 KiB per warm Attest, ~1.9 GiB per 10,000',
  };
}
