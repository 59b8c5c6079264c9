import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { instrumentedAttestor, type Instrumented } from '../lib/inprocess.js';
import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { isVerifiedBound, load } from '../lib/load.js';
import { LAUNCHER, REPO } from '../lib/paths.js';
import { run } from '../../test/support/rig.js';
import { attestCaller, cpuMsOf, initAndConfigure, SERVICE, unary, type AttestResponse, type Plugin } from '../lib/plugin.js';
import { progress } from '../lib/progress.js';
import { result, row } from '../lib/result.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { messageOf } from '../lib/util.js';
import { goClientFigure } from './goclient.js';

import type { Measured } from '../report.js';
import type { World } from '../lib/world.js';

// 1. Warm Attest through gRPC, and what it is made of.
export async function warmPhase(w: World): Promise<void> {
  const target = w.footprint[0];
  if (!target) throw new Error('no container');
  const plugin = await launch(LAUNCHER);
  try {
    await initAndConfigure(plugin, w.hcl);
    const attest = attestCaller(plugin);
    const first = await attest(target.pid);
    if (!isVerifiedBound(first.selector_values)) throw new Error(`unexpected selectors for ${target.image.tag}: ${first.selector_values.join(' ')}`);
    await load(attest, [target.pid], KNOBS.warmupCalls, 16, KNOBS.phaseCapMs);

    // The gRPC floor: Health/Check on the same connection and process.
    const health = plugin.client(SERVICE.health);
    const healthLat: number[] = [];
    for (let i = 0; i < KNOBS.warmCallsPerN; i++) {
      const s = performance.now();
      await unary(health, 'Check', { service: 'plugin' });
      healthLat.push(performance.now() - s);
    }

    // The gRPC ceiling: Health/Check with 128 callers, and its CPU per call.
    const hc0 = cpuMsOf(plugin.pid);
    const hs0 = process.cpuUsage();
    const hcStart = performance.now();
    const healthCeiling: number[] = [];
    let hcIssued = 0;
    await Promise.all(
      Array.from({ length: 128 }, async () => {
        while (hcIssued < KNOBS.warmCallsPerN) {
          hcIssued++;
          const s = performance.now();
          await unary(health, 'Check', { service: 'plugin' });
          healthCeiling.push(performance.now() - s);
        }
      }),
    );
    const hcWall = performance.now() - hcStart;
    const hcPluginCpu = (cpuMsOf(plugin.pid) - hc0) / healthCeiling.length;
    const hcSelf = process.cpuUsage(hs0);
    const grpcCeiling = {
      what: 'Health/Check (no attestation work) with 128 concurrent callers on the same channel',
      latencyMs: summarize(healthCeiling),
      throughputPerS: round(healthCeiling.length / (hcWall / 1000), 0),
      pluginCpuMsPerCall: round(hcPluginCpu, 4),
      clientCpuMsPerCall: round((hcSelf.user + hcSelf.system) / 1000 / healthCeiling.length, 4),
    };

    const perN = await warmByConcurrency(plugin, attest, target.pid, (n) => `warm Attest gRPC, N=${n}`);
    const healthS = summarize(healthLat);
    row('gRPC floor: Health/Check, N=1', 'ms', healthS, 'same process, same channel');
    row('gRPC ceiling: Health/Check, N=128', 'ms', grpcCeiling.latencyMs, `${grpcCeiling.throughputPerS} calls/s`);
    result.figures['warmGrpc'] = {
      what: `Attest{pid} on one container of a pushed, key-signed image (${target.image.tag}); verdicts cached (first call and ${KNOBS.warmupCalls} warm-up calls not counted); grpc-js client in the bench process, plugin via bin/ launcher`,
      pid: target.pid,
      selectors: first.selector_values,
      byConcurrency: perN,
      grpcFloorHealthCheckMs: healthS,
      grpcCeiling,
      note: `client and plugin share this machine's ${cpus().length} cores; throughput is bounded by both processes' CPU`,
    };
    // N=1 again from the same grpc-js client in a process of its own.
    try {
      result.figures['warmGrpcSolo'] = await soloClientFigure(plugin, target.pid);
    } catch (err) {
      result.figures['warmGrpcSolo'] = { error: messageOf(err) };
      result.errors.push({
        phase: '1. warm Attest, grpc-js client in its own process',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      progress(`warm Attest, grpc-js client in its own process FAILED: ${messageOf(err)}`);
    }
    // The same process and container from a Go gRPC client (as spire-agent
    // calls it). Its failure leaves the grpc-js figures above standing.
    try {
      result.figures['warmGoClient'] = await goClientFigure(plugin, target.pid, perN);
    } catch (err) {
      result.figures['warmGoClient'] = { error: messageOf(err) };
      result.errors.push({
        phase: '1. warm Attest, Go gRPC client (bench/go/attestload)',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      progress(`warm Attest, Go gRPC client FAILED: ${messageOf(err)}`);
    }
  } finally {
    await stopPlugin(plugin);
  }

  // In process: the same warm path without gRPC, with every /proc read timed.
  const config = buildConfig(w.hcl);
  const inst = instrumentedAttestor(config, silentLogger);
  await inst.attestor.ready();
  await inst.attestor.explain(target.pid, AbortSignal.timeout(30_000));
  inst.recorder.take();
  const until = performance.now() + KNOBS.phaseCapMs;
  const { total, proc, procCalls, other } = warmInProcessLoop(inst, target.pid, until);
  await inst.registry.close();

  const totalS = summarize(total);
  const procS = summarize(proc);
  row('warm Attest in-process (no gRPC)', 'ms', totalS, `${procCalls[0] ?? '?'} /proc reads per Attest`);
  row('  of which /proc reads (cgroup, stat)', 'ms', procS);
  result.figures['warmInProcess'] = {
    what: 'PipelineAttestor.attestNow(pid), the warm path the Attest handler takes, in the bench process (same config, same container), /proc reads timed by a wrapped ProcReader',
    totalMs: totalS,
    procReadsMs: procS,
    procReadsPerAttest: summarize(procCalls),
    restOfPipelineMs: summarize(other),
  };
}

// Health/Check and warm Attest at N=1 from a grpc-js client that runs alone
// in its own process (bench/lib/solo-client.ts): the latency without the
// bench process's own heap and bookkeeping in it.
async function soloClientFigure(plugin: Plugin, pid: number): Promise<Record<string, unknown>> {
  const script = fileURLToPath(new URL('../lib/solo-client.js', import.meta.url));
  const args = [script, REPO, plugin.socketPath, String(pid), String(KNOBS.warmCallsPerN), String(KNOBS.warmupCalls)];
  const r = await run(process.execPath, args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`solo client exited ${String(r.code)}: ${r.stderr.slice(-800)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { health?: number[]; attest?: number[]; unexpected?: number };
  if (!out.attest || !out.health) throw new Error(`solo client printed no figures: ${r.stdout.slice(-300)}`);
  if ((out.unexpected ?? 0) > 0) throw new Error(`solo client: ${String(out.unexpected)} answers without the verified-and-bound selectors`);
  const attest = summarize(out.attest);
  const health = summarize(out.health);
  row('warm Attest gRPC, N=1, grpc-js client alone in its process', 'ms', attest, `Health/Check there p50 ${health.median} / p99 ${health.p99} ms`);
  return {
    what: `node dist-bench/bench/lib/solo-client.js: the grpc-js client of figures.warmGrpc in a process of its own that only calls (${KNOBS.warmupCalls} warm-up Attests and Health/Checks, then ${KNOBS.warmCallsPerN} Health/Checks and ${KNOBS.warmCallsPerN} Attests at N=1), same plugin process and container`,
    attestMs: attest,
    healthCheckMs: health,
  };
}

// The warm load through gRPC at each of KNOBS.warmConcurrency (N callers,
// KNOBS.warmCallsPerN calls each, bounded by KNOBS.phaseCapMs), with the
// plugin's and this process's CPU per Attest; one table row per N. Shared by
// the Docker figure and the containerd ones.
export async function warmByConcurrency(
  plugin: Plugin,
  attest: (pid: number) => Promise<AttestResponse>,
  pid: number,
  rowLabel: (n: number) => string,
): Promise<Record<string, unknown>> {
  const perN: Record<string, unknown> = {};
  for (const n of KNOBS.warmConcurrency) {
    const cpu0 = cpuMsOf(plugin.pid);
    const self0 = process.cpuUsage();
    const r = await load(attest, [pid], KNOBS.warmCallsPerN, n, KNOBS.phaseCapMs);
    const pluginCpu = cpuMsOf(plugin.pid) - cpu0;
    const self = process.cpuUsage(self0);
    const s = summarize(r.latencies);
    const throughput = r.completed / (r.wallMs / 1000);
    perN[`N=${n}`] = {
      latencyMs: s,
      throughputPerS: round(throughput, 0),
      wallMs: round(r.wallMs, 1),
      completed: r.completed,
      errors: r.errors,
      firstError: r.firstError,
      unexpectedSelectors: r.unexpected,
      pluginCpuMsPerAttest: round(pluginCpu / Math.max(1, r.completed), 4),
      clientCpuMsPerAttest: round((self.user + self.system) / 1000 / Math.max(1, r.completed), 4),
    };
    row(rowLabel(n), 'ms', s, `${round(throughput, 0)} Attests/s`);
  }
  return perN;
}

export interface InProcessWarm {
  total: number[];
  proc: number[];
  procCalls: number[];
  other: number[];
}

// KNOBS.inProcessWarmCalls cached attestations of `pid` in this process
// through the warm path (the caller made the first, uncounted one), until
// `until` at the latest: each
// one's time, the time and number of its /proc reads, and the rest. A call
// that reaches a container runtime or the registry is an error: the path is
// not warm. Shared by the Docker figure and the containerd ones.
export function warmInProcessLoop(inst: Instrumented, pid: number, until: number): InProcessWarm {
  const total: number[] = [];
  const proc: number[] = [];
  const procCalls: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < KNOBS.inProcessWarmCalls && performance.now() < until; i++) {
    const s = performance.now();
    const selectors = inst.attestor.attestNow(pid);
    const t = performance.now() - s;
    if (selectors === undefined) throw new Error('warm in-process attestation did not take the warm path (attestNow answered undefined)');
    const calls = inst.recorder.take();
    const p = calls.filter((c) => c.kind.startsWith('proc.'));
    const pm = p.reduce((a, c) => a + (c.end - c.start), 0);
    total.push(t);
    proc.push(pm);
    procCalls.push(p.length);
    other.push(t - pm);
    if (calls.some((c) => !c.kind.startsWith('proc.'))) throw new Error('warm in-process attestation reached a container runtime or the registry');
  }
  return { total, proc, procCalls, other };
}

// What the goals take from figure 1: the N=1 latency and the best
// throughput (grpc-js, and the Go client's). Read back from the figure, so they are there also when the
// phase failed after writing it.
export function measuredWarm(m: Measured): void {
  const warm = result.figures['warmGrpc'] as { byConcurrency?: Record<string, { latencyMs: Summary; throughputPerS: number }> } | undefined;
  const solo = result.figures['warmGrpcSolo'] as { attestMs?: Summary } | undefined;
  if (warm?.byConcurrency) {
    m.warm1InBench = warm.byConcurrency['N=1']?.latencyMs;
    m.warm1 = solo?.attestMs ?? m.warm1InBench;
    for (const [k, v] of Object.entries(warm.byConcurrency)) {
      if (m.warmThroughput === undefined || v.throughputPerS > m.warmThroughput) {
        m.warmThroughput = v.throughputPerS;
        m.warmThroughputN = Number(k.slice(2));
      }
    }
  }
  const go = result.figures['warmGoClient'] as
    { bestThroughputPerS?: number; bestN?: number; byConcurrency?: Record<string, { latencyMs: Summary }> } | undefined;
  m.warmGo1 = go?.byConcurrency?.['N=1']?.latencyMs;
  m.warmGoThroughput = go?.bestThroughputPerS;
  m.warmGoThroughputN = go?.bestN;
}
