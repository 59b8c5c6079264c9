// The end of a run: the goals (met or not) and the findings from the
// figures, the results files, and the stdout summary (table, goals, errors).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';

import { KNOBS } from './lib/knobs.js';
import { REPO } from './lib/paths.js';
import { socketDirsLeft } from './lib/plugin.js';
import { BACKGROUND_COMPILE, MALLOC_FIXED, NO_JIT, NO_OPT, WASM_TIER_UP } from './phases/memory.js';
import { round, table, type Summary } from './lib/stats.js';

import type { Goal, Result } from './lib/result.js';
import type { AgentFetch } from './phases/agent.js';
import type { CompetitorFetch } from './phases/competitor.js';
import type { FleetCounts } from './phases/fleet.js';
import type { StampedeCounts } from './phases/stampede.js';

// What the phases measured that the goals and findings need.
export interface Measured {
  // N=1 from the grpc-js client alone in its process (figures.warmGrpcSolo),
  // else from the bench process; and the bench process's own figure.
  warm1?: Summary | undefined;
  warm1InBench?: Summary | undefined;
  warmThroughput?: number | undefined;
  warmThroughputN?: number | undefined;
  // figures.warmGoClient at N=1 (the agent's client language).
  warmGo1?: Summary | undefined;
  // Best over N of figures.warmGoClient (runs without errors).
  warmGoThroughput?: number | undefined;
  warmGoThroughputN?: number | undefined;
  coldRequests?: number | undefined;
  coldDepth?: number | undefined;
  cosign?: Summary | undefined;
  coldGrpc?: number | undefined;
  stampede?: StampedeCounts | undefined;
  rssLauncher?: number | undefined;
  rssSea?: number | undefined;
  // The same process after KNOBS.footprintSettleMs with no calls.
  rssSettledLauncher?: number | undefined;
  rssSettledSea?: number | undefined;
  // VmRSS after Configure, before any Attest.
  rssIdleLauncher?: number | undefined;
  rssIdleSea?: number | undefined;
  handshakeLauncher?: Summary | undefined;
  handshakeSea?: Summary | undefined;
  // spawn -> handshake p50 / bare `node -e 0` p50, same runs.
  handshakeLauncherOverBare?: number | undefined;
  handshakeSeaOverBare?: number | undefined;
  agent?: AgentFetch | undefined;
  competitor?: CompetitorFetch | undefined;
  fleet?: FleetCounts | undefined;
}

export function goals(m: Measured): Goal[] {
  const g: Goal[] = [];
  const f = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? 'not measured' : String(round(v, d)));
  g.push({
    goal: 'warm Attest through gRPC: p50 <= 0.5 ms and p99 <= 2 ms',
    target: 'p50 <= 0.5 ms, p99 <= 2 ms',
    measured: m.warm1
      ? `p50 ${f(m.warm1.median)} ms, p99 ${f(m.warm1.p99)} ms (the same grpc-js client inside the bench process: ${m.warm1InBench ? `p50 ${f(m.warm1InBench.median)} ms, p99 ${f(m.warm1InBench.p99)} ms` : 'not measured'}; Go client, as the agent calls: ${m.warmGo1 ? `p50 ${f(m.warmGo1.median)} ms, p99 ${f(m.warmGo1.p99)} ms` : 'not measured'})`
      : 'not measured',
    met: m.warm1 ? m.warm1.median <= 0.5 && m.warm1.p99 <= 2 : null,
    basis:
      'N=1 (one caller: latency without queueing), client-side; met is judged on the grpc-js client running alone in its own process (figures.warmGrpcSolo; falls back to the in-bench figure when that did not run); the grpc-js client inside the bench process (figures.warmGrpc) and the Go client (figures.warmGoClient) are given next to it',
  });
  const speedup = m.cosign && m.warm1 ? m.cosign.median / m.warm1.median : undefined;
  g.push({
    goal: '>= 100x faster than cosign verify per attestation',
    target: '>= 100x',
    measured:
      speedup === undefined
        ? 'not measured'
        : `${f(speedup, 1)}x warm (cosign median ${f(m.cosign?.median)} ms / warm p50 ${f(m.warm1?.median)} ms); cold: ${f(m.cosign && m.coldGrpc ? m.cosign.median / m.coldGrpc : undefined, 2)}x`,
    met: speedup === undefined ? null : speedup >= 100,
    basis: 'median of cosign verify (fresh process) / warm gRPC Attest p50 at N=1 (what each attestation costs once the verdict is cached)',
  });
  const ratio = m.agent ? m.agent.ours.median / m.agent.builtin.median : undefined;
  g.push({
    goal: "agent Workload API fetch with our plugin <= 1.2x the built-in docker attestor's",
    target: '<= 1.2',
    measured: ratio === undefined ? 'not measured' : `${f(ratio)} (ours ${f(m.agent?.ours.median)} ms, built-in ${f(m.agent?.builtin.median)} ms)`,
    met: ratio === undefined ? null : ratio <= 1.2,
    basis: 'ratio of medians of the fetch time the client reports, warm',
  });
  const cw = m.competitor?.warm;
  const cc = m.competitor?.cold;
  g.push({
    goal: "Workload API fetch vs SPIRE's docker attestor with sigstore { }, warm: <= 1.0x",
    target: '<= 1.0',
    measured: cw ? `${f(cw.ratio)} (ours ${f(cw.ours.median)} ms, SPIRE ${f(cw.spire.median)} ms)` : 'not measured',
    met: cw ? cw.ratio <= 1.0 : null,
    basis: 'ratio of medians, client-reported fetch time, same keyless-signed image (figures.competitorSigstore)',
  });
  const fa = m.competitor?.firstAct;
  g.push({
    goal: "Workload API fetch vs SPIRE's docker attestor with sigstore { }, cold: <= 0.5x",
    target: '<= 0.5',
    measured: cc
      ? `${f(cc.earlyRatio)} with prefetch_on_start (ours ${f(cc.early.median)} ms, SPIRE ${f(cc.spire.median)} ms); ${f(cc.ratio)} verifying on the first call (ours ${f(cc.ours.median)} ms)` +
        (fa
          ? `; the workload's first act: ${f(fa.earlyRatio)} with prefetch_on_start, ${f(fa.ratio)} without (ours ${f(fa.early.median)} / ${f(fa.ours.median)} ms, SPIRE ${f(fa.spire.median)} ms)`
          : '')
      : 'not measured',
    met: cc ? cc.earlyRatio <= 0.5 : null,
    basis:
      "ratio of medians, first fetch of a new keyless-signed image on each agent, by docker exec into the running container; met is judged with prefetch_on_start = true (the image verified when its container starts); without it (the default) and for a fetch that is the workload's first act, see measured (figures.competitorSigstore)",
  });
  g.push({
    goal: 'cold Attest <= 3 registry round trips',
    target: '<= 3',
    measured: m.coldDepth === undefined ? 'not measured' : `${m.coldDepth} round trips (${f(m.coldRequests)} requests, some concurrent)`,
    met: m.coldDepth === undefined ? null : m.coldDepth <= 3,
    basis:
      'median sequential depth of the registry calls of one cold attestation (in process: calls in flight together count once); requests counted in the registry access log',
  });
  g.push({
    goal: 'one registry fetch and one verification per stampede',
    target: '1 signature load; registry requests = one cold attestation',
    measured: m.stampede
      ? `${m.stampede.loads} load(s), ${m.stampede.requests} requests, ${m.stampede.sigGets} .sig fetch (cold: ${f(m.coldRequests)})`
      : 'not measured',
    met: m.stampede && m.coldRequests !== undefined ? m.stampede.loads === 1 && m.stampede.requests <= m.coldRequests && m.stampede.sigGets === 1 : null,
    basis: '200 concurrent Attests; attestor.signatureLoads (in process), registry log (gRPC), client stats',
  });
  const fl = m.fleet;
  g.push({
    goal: 'fleet steady state: <= 1 registry request per image per hour',
    target: '<= 1',
    measured:
      fl?.steadyRequestsPerImageHour === undefined
        ? 'not measured'
        : `${f(fl.steadyRequestsPerImageHour, 4)} requests/image/hour (${fl.steadyRequests ?? '?'} requests after the cold ones, ${fl.steadyImages ?? '?'} images, ${fl.steadyHours ?? '?'} simulated h)`,
    met: fl?.steadyRequestsPerImageHour === undefined ? null : fl.steadyRequestsPerImageHour <= 1,
    basis: `simulated clock, real registry client and registry: every image attested every ${KNOBS.fleetAttestEveryS} simulated s; requests counted by the client (stats().requests), cross-checked in the registry access log`,
  });
  g.push({
    goal: 'fleet outage: 0 failed attestations during a 1 h registry outage',
    target: '0 failed',
    measured:
      fl?.outageFailed === undefined
        ? 'not measured'
        : `${fl.outageFailed} failed of ${fl.outageAttestations ?? '?'} attestations; ${fl.outageAttempted ?? '?'} registry calls attempted (refused)`,
    met: fl?.outageFailed === undefined ? null : fl.outageFailed === 0,
    basis: `registry unreachable for ${KNOBS.fleetOutageHours} simulated h from the moment every verdict is due for refresh (client wrapped to refuse every call), every image attested every ${KNOBS.fleetOutageAttestEveryS} simulated s`,
  });
  g.push({
    goal: 'fleet restart: 0 registry requests on the restarted attestor',
    target: '0 requests',
    measured: fl?.restartRequests === undefined ? 'not measured' : `${fl.restartRequests} requests for ${fl.restartImages ?? '?'} images`,
    met: fl?.restartRequests === undefined ? null : fl.restartRequests === 0,
    basis:
      'attestor B started on the verdict_cache_dir attestor A wrote (same plugin_data), attesting every image once: client stats and the registry access log',
  });
  g.push({
    goal: '>= 5,000 warm Attests/s with a Go gRPC client',
    target: '>= 5000/s',
    measured:
      m.warmGoThroughput === undefined
        ? 'not measured'
        : `${f(m.warmGoThroughput, 0)}/s (best, at N=${m.warmGoThroughputN ?? '?'}); grpc-js client: ${f(m.warmThroughput, 0)}/s (best, at N=${m.warmThroughputN ?? '?'})`,
    met: m.warmGoThroughput === undefined ? null : m.warmGoThroughput >= 5000,
    basis: `best throughput over N = ${KNOBS.goClientConcurrency.join(', ')} from bench/go/attestload (google.golang.org/grpc, one connection, as spire-agent) on the warmGrpc plugin process; client on the same machine. The grpc-js client's figure (N = 1, 16, 128, figures.warmGrpc) is given next to it, as the issue asks: that client needs more CPU per call than the plugin, on the same 2 cores`,
  });
  g.push({
    goal: 'RSS <= 80 MB after 10k Attests',
    target: '<= 80 MB',
    measured: `launcher ${f(m.rssLauncher, 1)} MB (${f(m.rssSettledLauncher, 1)} MB ${KNOBS.footprintSettleMs / 1000} s later, idle); SEA ${f(m.rssSea, 1)} MB (${f(m.rssSettledSea, 1)} MB)`,
    met: m.rssLauncher === undefined ? null : m.rssLauncher <= 80 && (m.rssSea === undefined || m.rssSea <= 80),
    basis: `VmRSS 300 ms after 10,000 Attests across 20 images (launcher; SEA too when present); met is judged on that figure, not on the one after ${KNOBS.footprintSettleMs / 1000} s without calls`,
  });
  g.push({
    goal: 'RSS <= 60 MB idle after Configure',
    target: '<= 60 MB',
    measured: `launcher ${f(m.rssIdleLauncher, 1)} MB; SEA ${f(m.rssIdleSea, 1)} MB`,
    met: m.rssIdleLauncher === undefined ? null : m.rssIdleLauncher <= 60 && (m.rssIdleSea === undefined || m.rssIdleSea <= 60),
    basis: 'VmRSS 300 ms after Init + Configure, before any Attest (launcher; SEA too when present)',
  });
  g.push({
    goal: 'spawn -> handshake <= 5x a bare node -e 0 (SEA included)',
    target: '<= 5x',
    measured: `launcher ${f(m.handshakeLauncherOverBare, 2)}x; SEA ${f(m.handshakeSeaOverBare, 2)}x`,
    met:
      m.handshakeLauncherOverBare === undefined
        ? null
        : m.handshakeLauncherOverBare <= 5 && (m.handshakeSeaOverBare === undefined || m.handshakeSeaOverBare <= 5),
    basis: 'median of 20 spawns each / median of the 20 bare `node -e 0` (spawn -> exit, same binary) run one before each spawn',
  });
  g.push({
    goal: 'spawn -> handshake <= 300 ms (SEA included)',
    target: '<= 300 ms',
    measured: `launcher p50 ${f(m.handshakeLauncher?.median, 1)} ms (max ${f(m.handshakeLauncher?.max, 1)}); SEA p50 ${f(m.handshakeSea?.median, 1)} ms (max ${f(m.handshakeSea?.max, 1)})`,
    met: m.handshakeLauncher === undefined ? null : m.handshakeLauncher.median <= 300 && (m.handshakeSea === undefined || m.handshakeSea.median <= 300),
    basis: 'median of 20 spawns each',
  });
  return g;
}

// Findings that follow from the numbers of this run: what bounds each
// figure (profiles, in-process timings, what-ifs through the attestor's
// injection seam or Node flags — never a product change), and for each missed
// goal the product change that would fix it.
export function findings(m: Measured, gs: readonly Goal[], fig: Record<string, unknown>): string[] {
  const out: string[] = [];
  const get = (path: string): unknown =>
    path.split('.').reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), fig);
  const num = (path: string): number => {
    const v = get(path);
    return typeof v === 'number' ? v : Number.NaN;
  };
  const n = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '?' : String(round(v, d)));
  const missed = (prefix: string): boolean => gs.some((g) => g.goal.startsWith(prefix) && g.met === false);
  const missedExactly = (goal: string): boolean => gs.some((g) => g.goal === goal && g.met === false);
  // RSS an import step of the imports probe added.
  const importStep = (label: string): number => {
    const all = get('memory.importsProbe.points');
    if (!Array.isArray(all)) return Number.NaN;
    const list = all as Array<{ at: string; rssMb: number }>;
    const i = list.findIndex((p) => p.at === label);
    return i > 0 ? (list[i]?.rssMb ?? Number.NaN) - (list[i - 1]?.rssMb ?? Number.NaN) : Number.NaN;
  };

  // Warm path.
  // The gRPC floor next to the warm figure the goal is judged on: the
  // solo client's Health/Check when it ran.
  const soloFloor = num('warmGrpcSolo.healthCheckMs.median');
  const floor = Number.isFinite(soloFloor) ? soloFloor : num('warmGrpc.grpcFloorHealthCheckMs.median');
  const floorP99 = Number.isFinite(soloFloor) ? num('warmGrpcSolo.healthCheckMs.p99') : num('warmGrpc.grpcFloorHealthCheckMs.p99');
  const warmIn = num('warmInProcess.totalMs.median');
  const procIn = num('warmInProcess.procReadsMs.median');
  const procCalls = num('warmInProcess.procReadsPerAttest.median');
  if (m.warm1) {
    out.push(
      `Warm Attest (N=1) p50 ${n(m.warm1.median)} ms / p99 ${n(m.warm1.p99)} ms through gRPC (grpc-js client alone in its process; inside the bench process p50 ${n(m.warm1InBench?.median)} / p99 ${n(m.warm1InBench?.p99)} ms, where the empty Health/Check already has p99 ${n(num('warmGrpc.grpcFloorHealthCheckMs.p99'))} ms) = the gRPC round trip on the unix socket (Health/Check p50 ${n(floor)} ms / p99 ${n(floorP99)} ms, same client and channel) + the warm path (in process p50 ${n(warmIn)} ms). The Attest handler answers a workload whose container facts, binding and signature verdict are all cached without waiting on anything (PipelineAttestor.attestNow: no timer, no AbortController, no promise): ${n(procCalls, 0)} synchronous reads of /proc/<pid>/cgroup (the workload's, and the container's first process's to compare) take ${n(procIn)} ms of it (p50), and the cgroup texts' parse and match are remembered per text (process/locator.ts).`,
    );
  }
  const cats = get('warmProfile.categories');
  if (Array.isArray(cats)) {
    const top = (cats as Array<{ category: string; shareOfBusy: number }>).slice(0, 10).map((c) => `${c.category} ${c.shareOfBusy}%`);
    out.push(
      `CPU profile of the plugin during ${n(num('warmProfile.attests'), 0)} warm Attests at N=16 (${n(num('warmProfile.busyMsPerAttest'), 3)} ms busy CPU per Attest), self time: ${top.join(', ')}. Inclusive: gRPC handler Attest ${n(num('warmProfile.inclusive.Attest.shareOfBusy'), 1)}%, of which the warm path (attestNow) ${n(num('warmProfile.inclusive.attestNow.shareOfBusy'), 1)}% and its /proc reads (readCapped) ${n(num('warmProfile.inclusive.readCapped.shareOfBusy'), 1)}%; the checked path (explain) ${n(num('warmProfile.inclusive.explain.shareOfBusy'), 1)}%. "native: read/open/close" are the /proc reads; the rest is grpc-js, node:http2 and GC.`,
    );
  }
  const pluginCpu16 = num('warmGrpc.byConcurrency.N=16.pluginCpuMsPerAttest');
  const pluginCpu128 = num('warmGrpc.byConcurrency.N=128.pluginCpuMsPerAttest');
  const clientCpu128 = num('warmGrpc.byConcurrency.N=128.clientCpuMsPerAttest');
  const ceiling = num('warmGrpc.grpcCeiling.throughputPerS');
  const ceilingCpu = num('warmGrpc.grpcCeiling.pluginCpuMsPerCall');
  const prodWall = num('memory.attestProbe.product.wallMs');
  out.push(
    `Throughput is CPU-bound on this ${cpus().length}-core machine, shared by the plugin and the grpc-js client: plugin CPU per warm Attest ${n(pluginCpu16, 3)} ms at N=16, ${n(pluginCpu128, 3)} ms at N=128 (client ${n(clientCpu128, 3)} ms). gRPC alone (Health/Check, N=128) reaches ${n(ceiling, 0)} calls/s at ${n(ceilingCpu, 3)} ms plugin CPU per call: that is the ceiling for any Attest here. In process (no gRPC), 10,000 cached attestations over 20 containers take ${n(prodWall, 0)} ms (${n(10_000 / (prodWall / 1000), 0)}/s).`,
  );

  // The Go client (figures.warmGoClient).
  if (m.warmGoThroughput !== undefined) {
    const perN = KNOBS.goClientConcurrency.map(
      (c) =>
        `N=${c} ${n(num(`warmGoClient.byConcurrency.N=${c}.throughputPerS`), 0)}/s (p50 ${n(num(`warmGoClient.byConcurrency.N=${c}.latencyMs.median`))} ms, p99 ${n(num(`warmGoClient.byConcurrency.N=${c}.latencyMs.p99`))} ms)`,
    );
    const bestN = m.warmGoThroughputN ?? 0;
    const plugin = num(`warmGoClient.byConcurrency.N=${bestN}.pluginCpuMsPerAttest`);
    const client = num(`warmGoClient.byConcurrency.N=${bestN}.clientCpuMsPerAttest`);
    out.push(
      `With a Go gRPC client (figures.warmGoClient: google.golang.org/grpc, one connection, as spire-agent calls the plugin; same plugin process and container as the grpc-js figure): ${perN.join(', ')}; best ${n(m.warmGoThroughput, 0)}/s vs grpc-js best ${n(m.warmThroughput, 0)}/s (x${n(num('warmGoClient.goOverGrpcJs'), 2)}). At N=${bestN} the plugin spends ${n(plugin, 4)} ms CPU per Attest (~${n(1000 / plugin, 0)}/s per core of plugin CPU; its JavaScript runs on one thread) and the Go client ${n(client, 4)} ms. Health/Check (no attestation work) from the same Go client reaches ${n(num('warmGoClient.grpcCeiling.throughputPerS'), 0)} calls/s at ${n(num('warmGoClient.grpcCeiling.pluginCpuMsPerCall'), 4)} ms plugin CPU per call: the grpc-js server's own share.`,
    );
  }
  if (missedExactly('>= 5,000 warm Attests/s with a Go gRPC client')) {
    const bestN = m.warmGoThroughputN ?? 0;
    const plugin = num(`warmGoClient.byConcurrency.N=${bestN}.pluginCpuMsPerAttest`);
    out.push(
      `WHAT BOUNDS throughput with the Go client (missed, best ${n(m.warmGoThroughput, 0)}/s): the plugin's CPU per Attest (${n(plugin, 4)} ms at N=${bestN}: the gRPC server in grpc-js, HTTP/2 framing, the cached pipeline and its /proc reads, GC), on a machine whose second core also runs the client and the rest of the load; the Health/Check ceiling (${n(num('warmGoClient.grpcCeiling.pluginCpuMsPerCall'), 4)} ms plugin CPU per call from the Go client, ${n(num('warmGoClient.grpcCeiling.throughputPerS'), 0)} calls/s) is the part no change to the Attest handler removes; 5,000/s on one JavaScript thread needs <= 0.2 ms per Attest in all.`,
    );
  }

  // Cold path.
  const bd = get('cold.registryRequestBreakdown');
  if (bd && typeof bd === 'object') {
    out.push(
      `Cold Attest (first attestation of a new image): ${n(m.coldRequests, 0)} registry requests in ${n(num('cold.inProcess.registrySequentialDepth.median'), 0)} sequential round trips (the binding's tag HEAD and manifest GET together, then the referrers API, its tag fallback and the .sig manifest together, then the signature blob): ${Object.entries(
        bd as Record<string, number>,
      )
        .map(([k, v]) => `${v}x ${k}`)
        .join(
          '; ',
        )}. In process: registry ${n(num('cold.inProcess.registryMs.median'), 2)} ms, docker inspect (container + image) ${n(num('cold.inProcess.dockerInspectMs.median'), 2)} ms, everything else ${n(num('cold.inProcess.restMs.median'), 2)} ms of ${n(num('cold.inProcess.latencyMs.median'), 2)} ms; signature verification alone is ${n(num('cold.verification.firstMs.median'))} ms for an image's first signature (${n(num('cold.verification.repeatedMs.median'))} ms repeated): the cold path is registry round trips, not cryptography.`,
    );
  }
  const cmp = get('runtimeComparison.rows');
  if (Array.isArray(cmp)) {
    const rowsCmp = cmp as RuntimeRow[];
    const measured = rowsCmp.filter((r) => r.skipped === undefined && r.runtime !== 'docker');
    const docker = rowsCmp.find((r) => r.runtime === 'docker');
    const skipped = rowsCmp.filter((r) => r.skipped !== undefined).map((r) => `${r.runtime}: ${r.skipped ?? ''}`);
    if (measured.length > 0) {
      const each = (pick: (r: RuntimeRow) => Summary | undefined, d = 3): string =>
        measured.map((r) => `${n(pick(r)?.median, d)} (${r.runtime}, ${r.container})`).join(', ');
      out.push(
        `containerd next to Docker (figures.containerd, same loops and counts): warm Attest through gRPC at N=1 p50 ${each((r) => r.warmGrpcN1Ms)} ms vs Docker ${n(docker?.warmGrpcN1Ms?.median)} ms; in process ${each((r) => r.warmInProcessMs, 4)} ms vs Docker ${n(docker?.warmInProcessMs?.median, 4)} ms — the warm path is the same cached pipeline (its /proc reads), no runtime call. Cold through gRPC p50 ${each((r) => r.coldGrpcMs, 2)} ms vs Docker ${n(docker?.coldGrpcMs?.median, 2)} ms; in process the runtime's part is the containerd inspection (container and task Get, snapshot Stat, image Get, the image proof's content reads) ${each((r) => r.coldRuntimeInspectMs, 2)} ms vs docker inspect (container + image) ${n(docker?.coldRuntimeInspectMs?.median, 2)} ms; the registry part is the same requests.${skipped.length > 0 ? ` Skipped: ${skipped.join('; ')}.` : ''}`,
      );
    } else if (skipped.length > 0) {
      out.push(`containerd figures not measured: ${skipped.join('; ')}.`);
    }
  }
  if (m.stampede) {
    out.push(
      `Stampede: ${KNOBS.stampedeContainers * KNOBS.stampedeCallsPerContainer} concurrent Attests of one new image made ${m.stampede.requests} registry requests (a single cold attestation makes ${n(m.coldRequests, 0)}), fetched the .sig ${m.stampede.sigGets} time(s) and ran ${m.stampede.loads} signature load (discovery + verification); the ${KNOBS.stampedeContainers} containers cost one docker inspect pair each (container facts are per container).`,
    );
  }

  // Fleet (simulated clock).
  const steadyCalls = get('fleet.steady.registryCallsAfterCold');
  if (m.fleet?.steadyRequestsPerImageHour !== undefined && steadyCalls && typeof steadyCalls === 'object') {
    const refreshes = num('fleet.steady.backgroundRefreshes');
    const after = num('fleet.steady.requestsAfterColdClientStats');
    out.push(
      `Fleet, simulated day: after the cold attestations (${n(num('fleet.steady.coldRequestsClientStats'), 0)} requests for ${n(m.fleet.steadyImages, 0)} images) the registry saw only the background refreshes of the signature verdicts: ${n(refreshes, 0)} refreshes (${n(num('fleet.steady.refreshesPerImage'), 1)} per image in ${n(m.fleet.steadyHours, 1)} h, refresh interval ${n(num('fleet.verdictSettings.refreshS') / 3600, 1)} h less up to 10% jitter), ${n(after / refreshes, 1)} requests each (${Object.entries(
        steadyCalls as Record<string, number>,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}), ${n(m.fleet.steadyRequestsPerImageHour, 3)} requests per image per hour. A refresh re-fetches the signature blob even when the .sig manifest it names is unchanged (its digest is in the manifest): remembering the verdict per .sig manifest digest would drop that request (and the verification). Outage: ${n(num('fleet.outage.failedAttestations'), 0)} of ${n(num('fleet.outage.attestations'), 0)} attestations failed while the registry was down for ${n(num('fleet.outage.downForSimulatedH'), 0)} h; failed refreshes are retried after a minute per image (${n(num('fleet.outage.registryCallsAttemptedPerImageMinute'), 1)} calls per image per minute attempted); past the staleness bound the attestation fails (fails closed: ${String(get('fleet.outage.pastStalenessBound.failsClosed'))}). Restart: attestor B read ${n(num('fleet.restart.verdictFilesAfterA'), 0)} persisted verdicts in ${n(num('fleet.restart.b.readyMs'), 0)} ms and made ${n(m.fleet.restartRequests, 0)} registry requests for ${n(m.fleet.restartImages, 0)} images (A made ${n(num('fleet.restart.a.requestsClientStats'), 0)}).`,
    );
  }

  // Memory.
  const pts = get('memory.points');
  const imports = get('memory.importsProbe.points');
  if (Array.isArray(pts) && Array.isArray(imports)) {
    const at = (label: string): Record<string, number> | undefined => (pts as Array<Record<string, number>>).find((p) => String(p['at']) === label);
    const imp = (imports as Array<{ at: string; rssMb: number }>).map((p, i, all) =>
      i === 0 ? `${p.at} ${p.rssMb} MB` : `${p.at} +${round(p.rssMb - (all[i - 1]?.rssMb ?? 0), 1)}`,
    );
    const after = at(`after ${KNOBS.footprintAttests} Attests`);
    const gc = at('after a full GC');
    const fp = (label: string, key: string): string => n(num(`footprint.launcher.resident.${label}.${key}`), 1);
    const what = (label: string, key: string): string => n(num(`memory.attestProbe.plugin:${label}.${key}`), key.includes('Latency') ? 3 : 1);
    // A what-if's RSS after Configure / after the Attests, N=1 latency and throughput, after its label.
    const compiler = (label: string, name = label): string =>
      `${name} ${what(label, 'rssMbAfterConfigure')} / ${what(label, 'rssMbAfterAttests')} MB, ${what(label, 'n1LatencyMs.median')} / ${what(label, 'n1LatencyMs.p99')} ms, ${what(label, 'throughputPerS')}/s`;
    const arena = `MALLOC_ARENA_MAX=${8 * cpus().length} (glibc default)`;
    out.push(
      `Memory, where it goes (launcher): a bare Node process is ${n(num('memory.bareNodeRssMb'), 1)} MB. Imports, each step in a fresh process: ${imp.join(', ')} MB. At the handshake only the protocol layer is loaded (grpc-js and the protocol's messages compiled ahead of time, proto/generated with protobufjs/minimal; the product loads at the first Configure, undici at the first registry request, dockerode at the first Docker/Podman call, proto-loader at the first containerd call): ${n(num('footprint.launcher.rssMbAfterStart'), 1)} MB, of which ${fp('afterStart', 'fileBackedMb')} MB are file-backed pages (the node binary's code as far as it ran, shared with other node processes) and ${fp('afterStart', 'anonymousMb')} MB anonymous; after Configure ${n(num('footprint.launcher.rssMbAfterConfigure'), 1)} MB (${fp('afterConfigure', 'fileBackedMb')} file-backed / ${fp('afterConfigure', 'anonymousMb')} anonymous). plugin_data decoding (js-hcl-parser, GopherJS), RSS it leaves behind in a process that has grpc-js, after a full GC: in process +${n(num('memory.hclProbe.in-process.deltaRssMb'), 1)} MB, in a worker_thread (terminated) +${n(num('memory.hclProbe.worker.deltaRssMb'), 1)} MB, in a child process (what the plugin does) +${n(num('memory.hclProbe.child.deltaRssMb'), 1)} MB.`,
    );
    out.push(
      `Memory after ${KNOBS.footprintAttests} Attests through gRPC (N=${KNOBS.footprintConcurrency}): ${n(after?.['rssMb'], 1)} MB with the inspector attached, V8 heap total ${n(after?.['heapTotalMb'], 1)} MB of which ${n(after?.['heapUsedMb'], 1)} MB used, external ${n(after?.['externalMb'], 1)} MB (ArrayBuffers ${n(after?.['arrayBuffersMb'], 1)} MB); after a forced full GC ${n(gc?.['heapUsedMb'], 1)}/${n(gc?.['heapTotalMb'], 1)} MB heap and ${n(gc?.['rssMb'], 1)} MB RSS: the growth is garbage, mostly from the gRPC path (in process, without gRPC, the same attestations grow RSS by ${n(num('memory.attestProbe.product.after.rssMb') - num('memory.attestProbe.product.before.rssMb'), 1)} MB). The plugin, one setting changed at a time (RSS after Configure / after the Attests; warm N=1 p50 / p99): as shipped ${what('as shipped', 'rssMbAfterConfigure')} / ${what('as shipped', 'rssMbAfterAttests')} MB, ${what('as shipped', 'n1LatencyMs.median')} / ${what('as shipped', 'n1LatencyMs.p99')} ms; V8's own heap growing factor (--heap-growing-percent=0; the product sets 20 once serving) ${what('--heap-growing-percent=0 (V8 default)', 'rssMbAfterConfigure')} / ${what('--heap-growing-percent=0 (V8 default)', 'rssMbAfterAttests')} MB, ${what('--heap-growing-percent=0 (V8 default)', 'n1LatencyMs.median')} / ${what('--heap-growing-percent=0 (V8 default)', 'n1LatencyMs.p99')} ms; ${arena} instead of the launcher's 2: ${what(arena, 'rssMbAfterConfigure')} / ${what(arena, 'rssMbAfterAttests')} MB, ${what(arena, 'n1LatencyMs.median')} / ${what(arena, 'n1LatencyMs.p99')} ms; --optimize-for-size ${what('--optimize-for-size', 'rssMbAfterConfigure')} / ${what('--optimize-for-size', 'rssMbAfterAttests')} MB, ${what('--optimize-for-size', 'n1LatencyMs.median')} / ${what('--optimize-for-size', 'n1LatencyMs.p99')} ms; glibc's mmap and trim thresholds fixed at 128 KiB (freed large blocks go back to the system) ${what(MALLOC_FIXED, 'rssMbAfterConfigure')} / ${what(MALLOC_FIXED, 'rssMbAfterAttests')} MB, ${what(MALLOC_FIXED, 'n1LatencyMs.median')} / ${what(MALLOC_FIXED, 'n1LatencyMs.p99')} ms: what malloc keeps is not where the growth is. V8's compilers and the Attests/s at N=${KNOBS.footprintConcurrency} (as shipped: ${what('as shipped', 'throughputPerS')}/s): ${compiler(NO_OPT)}; ${compiler(NO_JIT)}; ${compiler(BACKGROUND_COMPILE)}; undici's WebAssembly HTTP parser tiered up by TurboFan (the product sets --wasm-tiering-budget=2147483647 once serving) ${compiler(WASM_TIER_UP, '')}. dockerode, in a process with grpc-js, after a full GC: +${n(num('memory.dockerodeProbe.whole.deltaRssMb'), 1)} MB loaded whole, +${n(num('memory.dockerodeProbe.trimmed.deltaRssMb'), 1)} MB as the product loads it (without the SSH transport, ssh2 and its native addons, and the BuildKit session, whose proto-loader parses .proto files at load).`,
    );
  }

  // Start-up.
  const scats = get('startupProfile.categories');
  if (Array.isArray(scats)) {
    const top = (scats as Array<{ category: string; ms: number }>).slice(0, 8).map((c) => `${c.category} ${n(c.ms, 0)} ms`);
    out.push(
      `Start-up (launcher, spawn -> handshake ${n(m.handshakeLauncher?.median, 0)} ms p50; bare "node -e 0" ${n(num('startupProfile.bareNodeStartMs.median'), 0)} ms): CPU profile up to the handshake (${n(num('startupProfile.busyMs'), 0)} ms busy with the profiler on): ${top.join(', ')}. Only the protocol layer loads before the handshake (grpc-js and the protocol's compiled messages; no .proto parsing, no runtime code generation; the product loads at the first Configure), with the plugin's own compile cache (src/compile-cache.ts; the launcher unsets NODE_COMPILE_CACHE, so the what-if with it, ${n(num('startupProfile.whatIfCompileCacheHandshakeMs.median'), 0)} ms p50, is the same start). Spawn -> handshake over a bare "node -e 0" in the same runs: launcher ${n(m.handshakeLauncherOverBare, 2)}x, single executable ${n(m.handshakeSeaOverBare, 2)}x (${n(m.handshakeSea?.median, 0)} ms p50; one esbuild bundle, no code cache so that the build is reproducible).`,
    );
  }
  const agentGap = m.agent ? m.agent.ours.median - m.agent.builtin.median : Number.NaN;
  if (m.agent) {
    out.push(
      `Workload API fetch through a real agent (time the client reports): ours ${n(m.agent.ours.median)} ms vs built-in docker attestor ${n(m.agent.builtin.median)} ms (p50, ratio ${n(m.agent.ours.median / m.agent.builtin.median)}, gap ${n(agentGap)} ms). The agent's own work (its gRPC server, entry matching, SVID from cache) is most of both; ours adds the plugin call (warm Attest through gRPC p50 ${n(m.warm1?.median)} ms, from the agent's go-plugin client here), the built-in attestor calls the Docker API on every fetch where we answer from the container-facts cache. A fetch as a fresh process (process start included) costs ~${n(num('agentFetch.perProcessWallMs.ours.median'), 1)} ms (ours) vs ~${n(num('agentFetch.perProcessWallMs.builtin.median'), 1)} ms (built-in): process start-up dominates what a workload sees.`,
    );
  }

  // Missed goals: the product change.
  if (missed('warm Attest through gRPC')) {
    out.push(
      `WHAT BOUNDS warm latency (missed): the warm path answers without waiting on anything and is ${n(warmIn)} ms in process (table). What remains is the grpc-js round trip on the unix socket (Health/Check p50 ${n(floor)} ms on this machine) and, for p99, GC pauses and scheduling while the client and the plugin share 2 cores (see the CPU profile finding).`,
    );
  }
  if (missed('>= 100x')) {
    out.push(
      `WHAT BOUNDS the speed-up over cosign (missed): cosign verify is fast here (${n(m.cosign?.median, 1)} ms: a local registry, a key, no tlog, no TUF), so 100x needs a warm Attest <= ${n((m.cosign?.median ?? 0) / 100)} ms; the warm Attest is within a few percent of that, and the rest is the gRPC round trip (floor above).`,
    );
  }
  if (missed('cold Attest <=')) {
    out.push(
      `FIX for cold round trips (missed, ${n(m.coldRequests, 0)} sequential requests): (1) src/registry/binding.ts: when the image has a RepoDigest for the container's repository, GET the manifest by that digest and skip the tag HEAD (the tag only feeds tagMoved; resolve it lazily or in the background): -1; (2) src/signatures/discover.ts: the candidate digests are known from RepoDigests before the binding answers, so fetch the signature manifests (referrers/tag fallback and the .sig tag) concurrently with the binding GET, and only use them once the binding holds: sequential depth 2 (manifests, then the signature blob); (3) src/registry/client.ts: remember per registry that the referrers API answered 404 and go to the sha256-<hex> tag directly: -1 request per later image. Result: 2 round trips, 4 requests on distribution 2.8.`,
    );
  }
  if (missed('RSS')) {
    out.push(
      `WHAT BOUNDS memory (missed): the floor is what is loaded. Bare Node is ${n(num('memory.bareNodeRssMb'), 1)} MB and grpc-js (node:http2) adds ~${n(importStep('+ @grpc/grpc-js'), 0)} MB, so <= 60 MB idle leaves almost nothing for the product; undici (~${n(importStep('+ undici (first registry request)'), 0)} MB: its WebAssembly HTTP parser) and dockerode (~${n(importStep('+ dockerode (first Docker/Podman call)'), 0)} MB) are loaded by their first use, so they are in the figure after the Attests, not in the idle one; V8's optimizing compilers are the next part (their code is file-backed pages of the node binary: see the --no-opt figures in the memory finding); sigstore-js and our own code (~${n(importStep('+ @sigstore/verify + bundle + core + protobuf-specs') + importStep('+ attestor (src/attest, our code)'), 0)} MB). The single executable starts ${n(num('footprint.sea.rssMbAfterStart') - num('footprint.launcher.rssMbAfterStart'), 1)} MB above the launcher: its pages are its own (not shared with other node processes: ${n(num('footprint.sea.resident.afterStart.fileBackedMb'), 1)} MB file-backed vs ${n(num('footprint.launcher.resident.afterStart.fileBackedMb'), 1)} MB) and it compiles its whole bundle at start (${n(num('footprint.sea.resident.afterStart.anonymousMb'), 1)} MB anonymous vs ${n(num('footprint.launcher.resident.afterStart.anonymousMb'), 1)} MB). After a burst the rest is garbage that V8 and malloc keep (see the memory findings).`,
    );
  }
  if (missed('spawn')) {
    out.push(
      `WHAT BOUNDS start-up (missed): the handshake waits only for Node's own start, grpc-js and the protocol's compiled messages (the product loads at Configure); the single executable also compiles its whole bundle first (no V8 code cache in the blob, so that the build is reproducible: SSA_SEA_CODE_CACHE=1 trades that for ~50 ms).`,
    );
  }
  const leftDirs = socketDirsLeft();
  if (leftDirs > 0) {
    out.push(
      `Side finding (not a goal): ${leftDirs} plugin process(es) this run died by SIGTERM's default action, leaving their /tmp/ssa-plugin-* socket directory (the bench removed them), when SIGTERM came right after the handshake line (spawn -> handshake runs stop the plugin at once). src/plugin/serve.ts installs its SIGTERM/SIGHUP handlers after writeHandshake(); installing them before the handshake closes the window.`,
    );
  }
  if (missed('agent Workload')) {
    out.push(
      `FIX for the agent comparison (missed, gap ${n(agentGap)} ms): it is our warm Attest through gRPC (${n(m.warm1?.median)} ms p50, of which the gRPC round trip is ${n(floor)} ms).`,
    );
  }
  if (missed('one registry fetch')) out.push('Stampede goal missed: see figures.stampede (signature loads and registry requests).');
  return out;
}

// Warm and cold Attest by runtime, side by side (figures.runtimeComparison):
// Docker from figures warmGrpc / warmInProcess / cold, each containerd
// instance and container kind from figures.containerd. Read back from the
// figures, so a phase that failed or was skipped leaves its cells empty.
export interface RuntimeRow {
  runtime: string;
  container: string;
  warmGrpcN1Ms?: Summary;
  warmGrpcBestThroughputPerS?: number;
  warmInProcessMs?: Summary;
  coldGrpcMs?: Summary;
  coldInProcessMs?: Summary;
  coldRuntimeInspectMs?: Summary;
  coldRegistryRequests?: number;
  skipped?: string;
  error?: string;
}

export function runtimeComparison(fig: Record<string, unknown>): { what: string; rows: RuntimeRow[] } {
  const at = (o: unknown, path: string): unknown =>
    path.split('.').reduce<unknown>((x, k) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[k] : undefined), o);
  const summary = (o: unknown, path: string): Summary | undefined => {
    const v = at(o, path);
    return typeof v === 'object' && v !== null && typeof (v as Summary).median === 'number' ? (v as Summary) : undefined;
  };
  const best = (o: unknown): number | undefined => {
    const by = at(o, 'byConcurrency');
    if (typeof by !== 'object' || by === null) return undefined;
    const t = Object.values(by as Record<string, { throughputPerS?: unknown }>)
      .map((v) => v.throughputPerS)
      .filter((v): v is number => typeof v === 'number');
    return t.length > 0 ? Math.max(...t) : undefined;
  };
  // Absent figures leave their keys out (JSON has no undefined).
  const defined = (o: Pick<RuntimeRow, 'runtime' | 'container'> & { [K in keyof RuntimeRow]?: RuntimeRow[K] | undefined }): RuntimeRow =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as unknown as RuntimeRow;
  const rowsOut: RuntimeRow[] = [
    defined({
      runtime: 'docker',
      container: 'docker run',
      warmGrpcN1Ms: summary(fig, 'warmGrpc.byConcurrency.N=1.latencyMs'),
      warmGrpcBestThroughputPerS: best(fig['warmGrpc']),
      warmInProcessMs: summary(fig, 'warmInProcess.totalMs'),
      coldGrpcMs: summary(fig, 'cold.grpcMs'),
      coldInProcessMs: summary(fig, 'cold.inProcess.latencyMs'),
      coldRuntimeInspectMs: summary(fig, 'cold.inProcess.dockerInspectMs'),
      coldRegistryRequests: summary(fig, 'cold.registryRequestsAtRegistry')?.median,
    }),
  ];
  const instances = at(fig, 'containerd.instances');
  if (typeof instances === 'object' && instances !== null) {
    for (const [part, inst] of Object.entries(instances as Record<string, Record<string, unknown>>)) {
      const version = typeof inst['version'] === 'string' ? inst['version'] : '';
      const runtime = `containerd${version === '' ? ` (${part})` : ` ${version}`}`;
      if (typeof inst['skipped'] === 'string') {
        rowsOut.push({ runtime, container: '-', skipped: inst['skipped'] });
        continue;
      }
      for (const [flavor, container] of [
        ['default', 'ctr run, ns default'],
        ['kubelet', 'kubelet-style, ns k8s.io'],
      ] as const) {
        const t = inst[flavor];
        if (typeof t !== 'object' || t === null) continue;
        const errors = ['warmError', 'warmInProcessError', 'coldError'].map((k) => at(t, k)).filter((e): e is string => typeof e === 'string');
        rowsOut.push(
          defined({
            runtime,
            container,
            warmGrpcN1Ms: summary(t, 'warmGrpc.byConcurrency.N=1.latencyMs'),
            warmGrpcBestThroughputPerS: best(at(t, 'warmGrpc')),
            warmInProcessMs: summary(t, 'warmInProcess.totalMs'),
            coldGrpcMs: summary(t, 'cold.grpcMs'),
            coldInProcessMs: summary(t, 'cold.inProcess.latencyMs'),
            coldRuntimeInspectMs: summary(t, 'cold.inProcess.containerdInspectMs'),
            coldRegistryRequests: summary(t, 'cold.registryRequestsAtRegistry')?.median,
            error: errors.length > 0 ? errors.join('; ') : undefined,
          }),
        );
      }
    }
  }
  return {
    what: 'warm Attest (gRPC N=1, best Attests/s over N = 1, 16, 128; in process) and cold Attest (gRPC, in process, the runtime inspection within it; registry requests at the registry) by runtime, from figures warmGrpc, warmInProcess, cold (Docker) and figures.containerd',
    rows: rowsOut,
  };
}

// The by-runtime table as Markdown (stdout), medians and p99 in ms.
function runtimeTable(rowsIn: readonly RuntimeRow[]): string {
  const ms = (s: Summary | undefined): string => {
    if (!s || !Number.isFinite(s.median)) return '-';
    const f = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
    return `${f(s.median)} / ${f(s.p99)}`;
  };
  const head = [
    'runtime',
    'container',
    'warm gRPC N=1',
    'warm Attests/s',
    'warm in process',
    'cold gRPC',
    'cold in process',
    'cold: runtime inspect',
    'cold registry requests',
  ];
  const body = rowsIn.map((r) =>
    r.skipped !== undefined
      ? [r.runtime, `skipped: ${r.skipped}`, '', '', '', '', '', '', '']
      : [
          r.runtime,
          r.error === undefined ? r.container : `${r.container} (error: ${r.error.split('\n')[0] ?? ''})`,
          ms(r.warmGrpcN1Ms),
          r.warmGrpcBestThroughputPerS === undefined ? '-' : String(r.warmGrpcBestThroughputPerS),
          ms(r.warmInProcessMs),
          ms(r.coldGrpcMs),
          ms(r.coldInProcessMs),
          ms(r.coldRuntimeInspectMs),
          r.coldRegistryRequests === undefined ? '-' : String(r.coldRegistryRequests),
        ],
  );
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

// Writes bench/results/latest.json and a timestamped copy.
export function writeResults(r: Result): { latest: string; stamped: string } {
  const outDir = join(REPO, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const text = `${JSON.stringify(r, null, 2)}\n`;
  writeFileSync(join(outDir, 'latest.json'), text);
  const stamped = join(outDir, `bench-${r.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(stamped, text);
  return { latest: resolve(outDir, 'latest.json'), stamped };
}

// What stdout shows: the machine, the table, the goals, the errors and where
// the results went.
export function summaryText(r: Result, written: { latest: string; stamped: string }): string {
  const lines: string[] = [];
  lines.push(
    `spire-sigstore-attestor bench — ${String(r.machine['cpuModel'])}, ${String(r.machine['cores'])} cores, ${String(r.machine['ramGb'])} GB, Node ${process.version}, ${r.startedAt}`,
  );
  lines.push('');
  lines.push(table(r.table));
  const cmp = r.figures['runtimeComparison'] as { rows?: RuntimeRow[] } | undefined;
  if (cmp?.rows && cmp.rows.length > 1) {
    lines.push('');
    lines.push('warm and cold Attest by runtime (ms, median / p99):');
    lines.push('');
    lines.push(runtimeTable(cmp.rows));
  }
  lines.push('');
  lines.push('goals:');
  for (const goal of r.goals) lines.push(`  [${goal.met === null ? 'n/a' : goal.met ? 'met' : 'NOT MET'}] ${goal.goal}: ${goal.measured}`);
  if (r.errors.length > 0) {
    lines.push('');
    lines.push('errors:');
    for (const e of r.errors) lines.push(`  ${e.phase}: ${e.error.split('\n')[0] ?? ''}`);
  }
  lines.push('');
  lines.push(`wrote ${written.latest} and ${written.stamped} in ${r.durationS} s`);
  return `${lines.join('\n')}\n`;
}
