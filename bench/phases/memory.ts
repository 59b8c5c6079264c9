import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from '../../test/support/rig.js';
import { Inspector, type NodeMemory } from '../lib/inspector.js';
import { launcherV8Flags } from '../../test/support/launcher-flags.js';
import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { load } from '../lib/load.js';
import { LAUNCHER, REPO } from '../lib/paths.js';
import { attestCaller, initAndConfigure, memoryOf } from '../lib/plugin.js';
import { result, row } from '../lib/result.js';
import { round, single, summarize } from '../lib/stats.js';
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
  // same attestations in process (no gRPC server).
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
    ['product+launcher flags', 'product', launcherV8Flags(LAUNCHER)],
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

  // The plugin itself (through gRPC, like the footprint phase) with one
  // setting changed at a time, each in its own process: RSS after Configure
  // and after the same 10,000 Attests, and warm latency at N=1 right after.
  for (const v of pluginVariants(w.tmp)) {
    attestProbe[`plugin:${v.label}`] = await pluginVariant(w, v);
    const fig = attestProbe[`plugin:${v.label}`] as { rssMbAfterAttests: number; rssMbAfterConfigure: number; n1LatencyMs: { median: number; p99: number } };
    row(
      `  plugin x${KNOBS.footprintAttests}: ${v.label}`,
      'MB',
      single(fig.rssMbAfterAttests),
      `${v.label === 'as shipped' ? 'same run, for the what-ifs' : 'what-if'}; configured ${fig.rssMbAfterConfigure} MB; N=1 p50 ${round(fig.n1LatencyMs.median, 3)} / p99 ${round(fig.n1LatencyMs.p99, 3)} ms`,
    );
  }
  // A probe's RSS after - before (in a process with grpc-js, after a full GC).
  const deltaRow = (what: string, probe: unknown): void => {
    const d = (probe as { deltaRssMb?: unknown } | undefined)?.deltaRssMb;
    row(`  ${what}: RSS after - before`, 'MB', single(typeof d === 'number' ? d : Number.NaN), 'own process with grpc-js, after a full GC');
  };
  const dockerodeProbe: Record<string, unknown> = {};
  for (const mode of ['whole', 'trimmed']) {
    dockerodeProbe[mode] = await runProbe(['dockerode', mode]);
    deltaRow(`dockerode loaded ${mode}`, dockerodeProbe[mode]);
  }
  const hclProbe: Record<string, unknown> = {};
  for (const mode of ['none', 'in-process', 'worker', 'child']) hclProbe[mode] = await runProbe(['hcl', mode, hclFile, join(REPO, 'dist/main.js')]);
  for (const mode of ['in-process', 'worker', 'child']) deltaRow(`plugin_data decoded ${mode}`, hclProbe[mode]);

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
    dockerodeProbe: {
      what: 'node dist-bench/bench/probe.js dockerode: RSS of a process with grpc-js loaded, before and after loading dockerode whole or as the product does (trimmed: without its SSH transport and BuildKit session), each in a fresh process, after a full GC',
      ...dockerodeProbe,
    },
    hclProbe: {
      what: 'node dist-bench/bench/probe.js hcl: RSS of a process with grpc-js loaded, before and after decoding plugin_data with js-hcl-parser in process, in a worker_thread (terminated), or in a child process (the product), each in a fresh process, after a full GC',
      ...(hclProbe as object),
    },
    attestProbe: {
      what: `node dist-bench/bench/probe.js attest <mode>: ${KNOBS.footprintAttests} in-process attestations (no gRPC server) over the 20 footprint containers at N=${KNOBS.footprintConcurrency}, each in a fresh process`,
      ...attestProbe,
    },
  };
}

export const MALLOC_FIXED = 'glibc malloc mmap and trim thresholds at 128 KiB';
export const NO_OPT = '--no-opt (no TurboFan)';
export const BACKGROUND_COMPILE = "Maglev and TurboFan compiling in the background (V8's default: without --no-concurrent-recompilation)";
export const NO_JIT = '--no-opt --no-maglev (no optimizing compiler)';
export const WASM_TIER_UP = "WebAssembly tier-up at V8's default budget (--wasm-tiering-budget=13000000)";

interface PluginVariant {
  label: string;
  bin: string;
  env: NodeJS.ProcessEnv;
}

// The shipped launcher, and a wrapper in `dir` per what-if (node options
// that NODE_OPTIONS does not accept).
function pluginVariants(dir: string): PluginVariant[] {
  const shipped = launcherV8Flags(LAUNCHER);
  // The launcher's V8 flags without those in `drop`, with `add`.
  const wrapper = (name: string, add: string, drop: readonly string[] = []): string => {
    const file = join(dir, `plugin-${name}.sh`);
    const flags = [...shipped.filter((f) => !drop.includes(f)), add].filter((f) => f !== '').join(' ');
    writeFileSync(
      file,
      `#!/bin/sh\nunset NODE_COMPILE_CACHE\nexport MALLOC_ARENA_MAX=2\nexec ${JSON.stringify(process.execPath)} ${flags} ${JSON.stringify(join(REPO, 'dist/main.js'))}\n`,
      { mode: 0o755 },
    );
    return file;
  };
  return [
    { label: 'as shipped', bin: LAUNCHER, env: {} },
    // glibc's default on 64-bit: 8 arenas per core.
    { label: `MALLOC_ARENA_MAX=${8 * cpus().length} (glibc default)`, bin: LAUNCHER, env: { MALLOC_ARENA_MAX: String(8 * cpus().length) } },
    // 0 = V8's own dynamic factor (the product sets 20 once serving unless node was given one).
    { label: '--heap-growing-percent=0 (V8 default)', bin: wrapper('grow0', '--heap-growing-percent=0'), env: {} },
    { label: '--optimize-for-size', bin: wrapper('size', '--optimize-for-size'), env: {} },
    // V8's optimizing tiers off: their code is node binary pages (file-backed
    // RSS) that only run once a function is hot; everything stays in the
    // interpreter and the baseline compiler.
    // glibc's mmap threshold grows (up to 32 MB) each time a large block is
    // freed, so later large blocks come from the arenas and stay; fixed
    // thresholds give them back.
    { label: MALLOC_FIXED, bin: LAUNCHER, env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072' } },
    // V8's optimizing compilers: TurboFan off, both off, and compiling in
    // the background (V8's default).
    { label: NO_OPT, bin: wrapper('noopt', '--no-opt'), env: {} },
    { label: NO_JIT, bin: wrapper('nojit', '--no-opt --no-maglev'), env: {} },
    { label: BACKGROUND_COMPILE, bin: wrapper('background-compile', '', ['--no-concurrent-recompilation']), env: {} },
    // V8's default budget given on the command line wins over the product's.
    { label: WASM_TIER_UP, bin: wrapper('wasm-tierup', '--wasm-tiering-budget=13000000'), env: {} },
  ];
}

async function pluginVariant(w: World, v: PluginVariant): Promise<Record<string, unknown>> {
  const pids = w.footprint.map((c) => c.pid);
  const plugin = await launch(v.bin, v.env);
  try {
    await initAndConfigure(plugin, w.hcl);
    await sleep(300);
    const configured = memoryOf(plugin.pid);
    const attest = attestCaller(plugin, 30_000);
    const r = await load(attest, pids, KNOBS.footprintAttests, KNOBS.footprintConcurrency, 120_000);
    await sleep(300);
    const after = memoryOf(plugin.pid);
    const n1 = await load(attest, pids, KNOBS.warmCallsPerN, 1, 60_000);
    return {
      bin: v.bin.replace(REPO, '').replace(w.tmp, '<tmp>'),
      env: v.env,
      rssMbAfterConfigure: round(configured.rssMb, 1),
      rssMbAfterAttests: round(after.rssMb, 1),
      peakRssMb: round(after.hwmMb, 1),
      attests: r.completed,
      errors: r.errors + n1.errors,
      throughputPerS: round(r.completed / (r.wallMs / 1000), 0),
      n1LatencyMs: summarize(n1.latencies),
    };
  } finally {
    await stopPlugin(plugin);
  }
}
