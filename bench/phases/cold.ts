import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { compilePolicy } from '../../src/policy/index.js';
import { discoverSignatures } from '../../src/signatures/discover.js';
import { loadTrust, verifyCandidate } from '../../src/verify/index.js';
import { byKind, coveredMs, instrumentedAttestor, sequentialDepth, type Call } from '../lib/inprocess.js';
import { launch, stopPlugin } from '../lib/live.js';
import { isVerifiedBound } from '../lib/load.js';
import { LAUNCHER } from '../lib/paths.js';
import { attestCaller, configure, initAndConfigure } from '../lib/plugin.js';
import { breakdown, pluginRequests, shortKind } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { summarize } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { Digest } from '../../src/registry/types.js';
import type { World } from '../lib/world.js';

// 2. Cold Attest: a new image per sample, a new Configure (new caches) per sample.
export async function coldPhase(w: World): Promise<Record<string, number>> {
  const plugin = await launch(LAUNCHER);
  const grpcLat: number[] = [];
  const configureLat: number[] = [];
  let from = 0;
  try {
    await initAndConfigure(plugin, w.hcl);
    const attest = attestCaller(plugin, 30_000);
    from = w.regLog.offset();
    for (const c of w.cold) {
      let s = performance.now();
      await configure(plugin, w.hcl);
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
  const lines = w.regLog.lines(from);
  const perImage = w.cold.map((c) => pluginRequests(lines, c.image.repository));
  const counts = perImage.map((l) => l.length);
  const grpcS = summarize(grpcLat);
  row('cold Attest gRPC (new image, new Configure)', 'ms', grpcS);
  row('cold Attest registry requests (registry log)', 'requests', summarize(counts), (perImage[0] ?? []).map(shortKind).join(', '));

  // In process on the same images, a new attestor each time: client-side
  // request count, where the time goes, and verification alone.
  const config = buildConfig(w.hcl);
  const trust = await loadTrust({ trustedRootFile: config.signatures.trustedRootFile, keys: config.signatures.keys });
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
    const inst = instrumentedAttestor(config, silentLogger);
    await inst.attestor.ready();
    inst.recorder.take();
    const before = inst.registry.stats().requests;
    const s = performance.now();
    const report = await inst.attestor.explain(c.pid, AbortSignal.timeout(30_000));
    const t = performance.now() - s;
    const calls: Call[] = inst.recorder.take();
    inLat.push(t);
    inReq.push(inst.registry.stats().requests - before);
    const reg = calls.filter((x) => x.kind.startsWith('registry.'));
    depth.push(sequentialDepth(reg));
    const sum = (xs: readonly Call[]): number => xs.reduce((a, x) => a + (x.end - x.start), 0);
    registryMs.push(coveredMs(reg));
    const dock = calls.filter((x) => x.kind.startsWith('docker.') || x.kind.startsWith('podman.'));
    dockerMs.push(sum(dock));
    const pr = calls.filter((x) => x.kind.startsWith('proc.'));
    procMs.push(sum(pr));
    restMs.push(t - coveredMs(reg) - sum(dock) - sum(pr));
    kinds.push(byKind(calls));
    if (!isVerifiedBound(report.selectors)) throw new Error(`in-process cold ${c.image.tag}: unexpected selectors ${report.selectors.join(' ')}`);
    // Verification alone, on the candidates discovery finds (not counted above).
    const b = report.binding;
    if (b?.outcome === 'bound' && b.reference) {
      const digests: Digest[] = b.indexDigest ? [b.indexDigest, b.manifestDigest] : [b.manifestDigest];
      const found = await discoverSignatures(inst.registry, b.reference, digests, AbortSignal.timeout(30_000));
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
    await inst.registry.close();
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
