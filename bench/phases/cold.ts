import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { compilePolicy } from '../../src/policy/index.js';
import { discoverSignatures } from '../../src/signatures/discover.js';
import { loadTrust, verifyCandidate } from '../../src/verify/index.js';
import { byKind, coveredMs, instrumentedAttestor, sequentialDepth, type Call, type Instrumented } from '../lib/inprocess.js';
import { launch, stopPlugin } from '../lib/live.js';
import { isVerifiedBound } from '../lib/load.js';
import { LAUNCHER } from '../lib/paths.js';
import { attestCaller, configure, initAndConfigure } from '../lib/plugin.js';
import { breakdown, pluginRequests, shortKind, type AccessLine, type RegistryLog } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { round, summarize } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { PluginConfig } from '../../src/config/types.js';
import type { Digest } from '../../src/registry/types.js';
import type { BenchImage } from '../lib/images.js';
import type { World } from '../lib/world.js';

// 2. Cold Attest: a new image per sample, a new Configure (new caches) per sample.
export async function coldPhase(w: World): Promise<Record<string, number>> {
  const { grpcLat, configureLat, perImage } = await coldThroughGrpc(w.hcl, w.cold, w.regLog);
  const counts = perImage.map((l) => l.length);
  const grpcS = summarize(grpcLat);
  row('cold Attest gRPC (new image, new Configure)', 'ms', grpcS);
  row('cold Attest registry requests (registry log)', 'requests', summarize(counts), (perImage[0] ?? []).map(shortKind).join(', '));

  // In process on the same images, a new attestor each time: client-side
  // request count, where the time goes, and verification alone.
  const config = buildConfig(w.hcl);
  const [root] = config.signatures.trustRoots;
  const trust = await loadTrust({ trustedRootFile: root?.start.kind === 'file' ? root.start.path : undefined, keys: config.signatures.keys });
  const policy = compilePolicy(config.signatures);
  const inLat: number[] = [];
  const inReq: number[] = [];
  const depth: number[] = [];
  const registryMs: number[] = [];
  const dockerMs: number[] = [];
  const procMs: number[] = [];
  const restMs: number[] = [];
  const verifyFirst: number[] = [];
  const verifyRepeat: number[] = [];
  const kinds: Array<Record<string, { calls: number; ms: number }>> = [];
  const from2 = w.regLog.offset();
  for (const c of w.cold) {
    const sample = await coldInProcessSample(config, c, async (report, inst) => {
      // Verification alone, on the candidates discovery finds (not counted above).
      const b = report.binding;
      if (b?.outcome === 'bound' && b.reference) {
        const digests: Digest[] = b.indexDigest ? [b.indexDigest, b.manifestDigest] : [b.manifestDigest];
        const found = await discoverSignatures(inst.registry, b.reference, digests, { signatures: true, attestations: false }, AbortSignal.timeout(30_000));
        for (const cand of found.candidates) {
          let v = performance.now();
          verifyCandidate(cand, trust, policy);
          verifyFirst.push(performance.now() - v);
          for (let i = 0; i < 20; i++) {
            v = performance.now();
            verifyCandidate(cand, trust, policy);
            verifyRepeat.push(performance.now() - v);
          }
        }
      }
    });
    inLat.push(sample.latencyMs);
    inReq.push(sample.requests);
    depth.push(sample.depth);
    registryMs.push(sample.registryMs);
    dockerMs.push(sample.runtimeMs);
    procMs.push(sample.procMs);
    restMs.push(sample.restMs);
    kinds.push(sample.kinds);
  }
  const inS = summarize(inLat);
  row('cold Attest in-process', 'ms', inS);
  row('  registry time (wall clock, concurrent calls once)', 'ms', summarize(registryMs), `sequential depth ${summarize(depth).median}`);
  row('  docker inspect time', 'ms', summarize(dockerMs));
  row('  rest (verification, parsing, /proc)', 'ms', summarize(restMs));
  row('cold registry requests (client stats)', 'requests', summarize(inReq));
  row('verifyCandidate alone (first per image)', 'ms', summarize(verifyFirst));
  row('verifyCandidate alone (repeated)', 'ms', summarize(verifyRepeat));
  await sleep(300);
  const inLines = w.regLog.lines(from2);
  result.figures['cold'] = {
    what: `first attestation of a freshly pushed, key-signed image; ${w.cold.length} images, one container each; through gRPC a new Configure before each sample (new attestor, new caches, new registry connection); then in process on the same images with a new attestor each`,
    grpcMs: grpcS,
    grpcSamplesMs: grpcLat.map((v) => round(v, 3)),
    configureMs: summarize(configureLat),
    registryRequestsAtRegistry: summarize(counts),
    registryRequestBreakdown: breakdown(perImage[0] ?? []),
    inProcess: {
      latencyMs: inS,
      registryRequestsClientStats: summarize(inReq),
      registryRequestsAtRegistry: summarize(w.cold.map((c) => pluginRequests(inLines, c.image.repository).length)),
      registrySequentialDepth: summarize(depth),
      registryMs: summarize(registryMs),
      dockerInspectMs: summarize(dockerMs),
      procReadsMs: summarize(procMs),
      restMs: summarize(restMs),
      callsFirstSample: kinds[0],
    },
    verification: {
      what: 'verifyCandidate(candidate, trust, policy) alone, in the bench process: the first call per image, then 20 repeats',
      firstMs: summarize(verifyFirst),
      repeatedMs: summarize(verifyRepeat),
    },
  };
  return { grpcMedian: grpcS.median, requestsMedian: summarize(counts).median, depthMedian: summarize(depth).median };
}

export interface ColdGrpc {
  grpcLat: number[];
  configureLat: number[];
  // The plugin's requests per image, from the registry access log.
  perImage: AccessLine[][];
}

// Through gRPC (launcher): per container a new Configure (new attestor, new
// caches, new registry and runtime connections), then its first Attest.
// Shared by the Docker figure and the containerd ones.
export async function coldThroughGrpc(hcl: string, containers: readonly ColdTarget[], regLog: RegistryLog): Promise<ColdGrpc> {
  const plugin = await launch(LAUNCHER);
  const grpcLat: number[] = [];
  const configureLat: number[] = [];
  let from = 0;
  try {
    await initAndConfigure(plugin, hcl);
    const attest = attestCaller(plugin, 30_000);
    from = regLog.offset();
    for (const c of containers) {
      let s = performance.now();
      await configure(plugin, hcl);
      configureLat.push(performance.now() - s);
      s = performance.now();
      const r = await attest(c.pid);
      grpcLat.push(performance.now() - s);
      if (!isVerifiedBound(r.selector_values)) throw new Error(`cold ${c.image.tag}: unexpected selectors ${r.selector_values.join(' ')}`);
    }
  } finally {
    await stopPlugin(plugin);
  }
  await sleep(500);
  const lines = regLog.lines(from);
  return { grpcLat, configureLat, perImage: containers.map((c) => pluginRequests(lines, c.image.repository)) };
}

// What a cold sample needs of its container.
export interface ColdTarget {
  readonly pid: number;
  readonly image: BenchImage;
}

export interface ColdSample {
  latencyMs: number;
  // Registry HTTP requests (the client's own counter).
  requests: number;
  depth: number;
  registryMs: number;
  // Container runtime inspections (Docker/Podman: container + image;
  // containerd: one inspection of several API calls).
  runtimeMs: number;
  procMs: number;
  restMs: number;
  kinds: Record<string, { calls: number; ms: number }>;
}

// One cold attestation in process with a new attestor (new caches): its
// time split by what it waited for. `after` sees the report before the
// attestor goes (the Docker figure times verification on it).
export async function coldInProcessSample(
  config: PluginConfig,
  c: ColdTarget,
  after?: (report: AttestReport, inst: Instrumented) => Promise<void>,
): Promise<ColdSample> {
  const inst = instrumentedAttestor(config, silentLogger);
  try {
    await inst.attestor.ready();
    inst.recorder.take();
    const before = inst.registry.stats().requests;
    const s = performance.now();
    const report = await inst.attestor.explain(c.pid, AbortSignal.timeout(30_000));
    const t = performance.now() - s;
    const calls: Call[] = inst.recorder.take();
    const requests = inst.registry.stats().requests - before;
    const reg = calls.filter((x) => x.kind.startsWith('registry.'));
    const sum = (xs: readonly Call[]): number => xs.reduce((a, x) => a + (x.end - x.start), 0);
    const runtime = sum(calls.filter((x) => x.kind.startsWith('docker.') || x.kind.startsWith('podman.') || x.kind.startsWith('containerd.')));
    const proc = sum(calls.filter((x) => x.kind.startsWith('proc.')));
    if (!isVerifiedBound(report.selectors)) throw new Error(`in-process cold ${c.image.tag}: unexpected selectors ${report.selectors.join(' ')}`);
    await after?.(report, inst);
    return {
      latencyMs: t,
      requests,
      depth: sequentialDepth(reg),
      registryMs: coveredMs(reg),
      runtimeMs: runtime,
      procMs: proc,
      restMs: t - coveredMs(reg) - runtime - proc,
      kinds: byKind(calls),
    };
  } finally {
    await inst.registry.close();
    // Closes the containerd channel (the registry client is ours, closed above).
    await inst.attestor.close();
  }
}
