import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { byKind, instrumentedAttestor } from '../lib/inprocess.js';
import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { isVerifiedBound } from '../lib/load.js';
import { LAUNCHER } from '../lib/paths.js';
import { attestCaller, initAndConfigure } from '../lib/plugin.js';
import { breakdown, pluginRequests } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { round, summarize } from '../lib/stats.js';
import { messageOf, sleep } from '../lib/util.js';

import type { World } from '../lib/world.js';

// What the stampede goal compares with one cold attestation.
export interface StampedeCounts {
  requests: number;
  loads: number;
  sigGets: number;
}

// 3. Stampede: 200 concurrent Attests for 20 containers of one new image.
export async function stampedePhase(w: World, coldRequests: number | undefined): Promise<StampedeCounts> {
  const calls = w.stampede.flatMap((c) => Array.from({ length: KNOBS.stampedeCallsPerContainer }, () => c.pid));
  const plugin = await launch(LAUNCHER);
  let grpc: { lat: number[]; wall: number; errors: number; unexpected: number; firstError: string | undefined };
  let from = 0;
  try {
    await initAndConfigure(plugin, w.hcl);
    const attest = attestCaller(plugin, 30_000);
    from = w.regLog.offset();
    const t0 = performance.now();
    const lat: number[] = [];
    let errors = 0;
    let unexpected = 0;
    let firstError: string | undefined;
    await Promise.all(
      calls.map(async (pid) => {
        const s = performance.now();
        try {
          const r = await attest(pid);
          lat.push(performance.now() - s);
          if (!isVerifiedBound(r.selector_values)) unexpected++;
        } catch (err) {
          errors++;
          firstError ??= messageOf(err);
        }
      }),
    );
    grpc = { lat, wall: performance.now() - t0, errors, unexpected, firstError };
  } finally {
    await stopPlugin(plugin);
  }
  await sleep(500);
  const grpcLines = pluginRequests(w.regLog.lines(from), w.stampedeImage.repository);
  const sigGets = grpcLines.filter((l) => l.path.endsWith('.sig')).length;

  // In process: the attestor's own counters.
  const config = buildConfig(w.hcl);
  const inst = instrumentedAttestor(config, silentLogger);
  await inst.attestor.ready();
  const from2 = w.regLog.offset();
  const loads0 = inst.attestor.signatureLoads;
  const req0 = inst.registry.stats().requests;
  const t1 = performance.now();
  const inLat: number[] = [];
  let inErrors = 0;
  await Promise.all(
    calls.map(async (pid) => {
      const s = performance.now();
      try {
        const r = await inst.attestor.explain(pid, AbortSignal.timeout(30_000));
        if (isVerifiedBound(r.selectors)) inLat.push(performance.now() - s);
        else inErrors++;
      } catch {
        inErrors++;
      }
    }),
  );
  const inWall = performance.now() - t1;
  const loads = inst.attestor.signatureLoads - loads0;
  const inReq = inst.registry.stats().requests - req0;
  const kinds = byKind(inst.recorder.take());
  await inst.registry.close();
  await sleep(500);
  const inLines = pluginRequests(w.regLog.lines(from2), w.stampedeImage.repository);

  const grpcS = summarize(grpc.lat);
  row(`stampede gRPC: ${calls.length} concurrent Attests`, 'ms', grpcS, `${grpcLines.length} registry requests, ${sigGets} .sig fetch`);
  row('stampede in-process', 'ms', summarize(inLat), `${loads} signature load(s), ${inReq} registry requests`);
  result.figures['stampede'] = {
    what: `${calls.length} Attests all in flight at once: ${w.stampede.length} containers of one new signed image x ${KNOBS.stampedeCallsPerContainer} calls each (gRPC: new plugin process; then in process: new attestor)`,
    grpc: {
      latencyMs: grpcS,
      wallMs: round(grpc.wall, 1),
      errors: grpc.errors,
      firstError: grpc.firstError,
      unexpectedSelectors: grpc.unexpected,
      registryRequests: grpcLines.length,
      registryBreakdown: breakdown(grpcLines),
      signatureManifestFetches: sigGets,
    },
    inProcess: {
      latencyMs: summarize(inLat),
      wallMs: round(inWall, 1),
      errors: inErrors,
      signatureLoads: loads,
      registryRequestsClientStats: inReq,
      registryRequestsAtRegistry: inLines.length,
      calls: kinds,
    },
    expected: `one signature load, one set of registry requests (= a single cold attestation: ${coldRequests ?? '?'} requests)`,
  };
  return { requests: Math.max(grpcLines.length, inReq), loads, sigGets };
}
