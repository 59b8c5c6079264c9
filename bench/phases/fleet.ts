// 3b. Fleet scale on a simulated clock (AttestorDeps.now), against the rig's
// real registry with real cosign-signed images, through the product's real
// registry client: steady-state registry traffic over 24 simulated hours, a
// one-hour registry outage, and a restart that reads the persisted verdicts.
//
// What is faked is not the registry: the /proc reader and the Docker runtime
// map fake PIDs to fake containers of the pushed images (image reference,
// image ID and RepoDigest as `docker image inspect` reports them), because
// the figure is registry traffic and a simulated day cannot keep real
// containers' clocks. The registry client is wrapped (as bench/lib/inprocess
// does) only to count its calls, to know when background refreshes are in
// flight (so simulated time does not run past them), and, for the outage, to
// refuse every call like an unreachable registry.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { createAttestor, registryClientOptions } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { AttestorError, messageOf } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createRegistryClient, type RegistryClient } from '../../src/registry/index.js';
import { pool, type BenchImage } from '../lib/images.js';
import { KNOBS } from '../lib/knobs.js';
import { isVerifiedBound } from '../lib/load.js';
import { progress } from '../lib/progress.js';
import { breakdown, PLUGIN_USER_AGENT, type AccessLine } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { round, summarize } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { PipelineAttestor } from '../../src/attest/attestor.js';
import type { PluginConfig } from '../../src/config/types.js';
import type { ProcReader } from '../../src/process/index.js';
import type { RegistryApi } from '../../src/registry/types.js';
import type { Inspected, RuntimeClient } from '../../src/runtime/types.js';
import type { World } from '../lib/world.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
// The simulated epoch: any fixed instant (the verdicts carry it as verifiedAt).
const T0 = 1_800_000_000_000;

// What the goals need.
export interface FleetCounts {
  steadyRequestsPerImageHour?: number;
  steadyRequests?: number;
  steadyImages?: number;
  steadyHours?: number;
  outageFailed?: number;
  outageAttestations?: number;
  outageAttempted?: number;
  restartRequests?: number;
  restartImages?: number;
}

// A fake container of a pushed image: what the fake /proc and the fake
// Docker runtime answer for its PID.
interface Target {
  readonly pid: number;
  readonly containerId: string;
  readonly image: BenchImage;
}

function targetsOf(images: readonly BenchImage[], firstPid: number): Target[] {
  return images.map((image, i) => ({
    pid: firstPid + i,
    containerId: (firstPid + i).toString(16).padStart(64, 'f'),
    image,
  }));
}

function fakeProc(targets: readonly Target[]): ProcReader {
  const cgroups = new Map(targets.map((t) => [t.pid, `0::/system.slice/docker-${t.containerId}.scope\n`]));
  const cgroupOf = (pid: number): string => {
    const text = cgroups.get(pid);
    if (text === undefined) throw new AttestorError('PID_GONE', `pid ${pid}: no such fake process`);
    return text;
  };
  return { readCgroup: cgroupOf, readStartTime: (pid) => (cgroupOf(pid), '1') };
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

function fakeDocker(targets: readonly Target[]): RuntimeClient {
  const byId = new Map<string, Inspected>(
    targets.map((t) => [
      t.containerId,
      {
        container: { id: t.containerId, imageId: t.image.id, imageRef: t.image.tag, labels: {}, env: [], running: true, initPid: t.pid },
        image: {
          id: t.image.id,
          repoDigests: [`${t.image.repoRef}@${t.image.digest}`],
          repoTags: [t.image.tag],
          os: 'linux',
          architecture: ARCH[process.arch] ?? process.arch,
        },
      },
    ]),
  );
  return {
    kind: 'docker',
    endpoint: 'unix:///fake/docker.sock',
    inspect: (key) => Promise.resolve(byId.get(key.id)),
  };
}

// The real registry client, its calls counted by method and kept track of
// while in flight; `down` refuses every call (no request leaves) like a
// registry that cannot be reached.
class Tap implements RegistryApi {
  readonly client: RegistryClient;
  readonly calls: Record<string, number> = {};
  readonly inflight = new Set<Promise<unknown>>();
  down = false;
  refused = 0;

  constructor(config: PluginConfig) {
    this.client = createRegistryClient(registryClientOptions(config));
  }

  get requests(): number {
    return this.client.stats().requests;
  }

  #run<T>(method: string, fn: () => Promise<T>): Promise<T> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.down) {
      this.refused++;
      return Promise.reject(new AttestorError('REGISTRY_UNAVAILABLE', 'registry: connection refused (bench: simulated outage)'));
    }
    const p = fn();
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  resolve: RegistryApi['resolve'] = (ref, signal) => this.#run('resolve', () => this.client.resolve(ref, signal));
  getManifest: RegistryApi['getManifest'] = (ref, signal) => this.#run('getManifest', () => this.client.getManifest(ref, signal));
  referrers: RegistryApi['referrers'] = (ref, digest, type, signal) => this.#run('referrers', () => this.client.referrers(ref, digest, type, signal));
  getBlob: RegistryApi['getBlob'] = (ref, digest, max, signal) => this.#run('getBlob', () => this.client.getBlob(ref, digest, max, signal));
}

// An attestor on the simulated clock with the fakes and the tapped client.
interface Sim {
  readonly attestor: PipelineAttestor;
  readonly tap: Tap;
  clock: number;
  // signatureLoads when the last background work was waited for.
  loadsSeen: number;
}

function simAttestor(config: PluginConfig, targets: readonly Target[], start: number): Sim {
  const tap = new Tap(config);
  const sim: Sim = {
    tap,
    clock: start,
    loadsSeen: 0,
    attestor: createAttestor(config, silentLogger, {
      proc: fakeProc(targets),
      docker: fakeDocker(targets),
      podman: fakeDocker(targets),
      checkSocket: async () => undefined,
      socketPresent: () => true,
      registry: tap,
      now: () => sim.clock,
    }),
  };
  return sim;
}

async function closeSim(sim: Sim): Promise<void> {
  await sim.attestor.close();
  await sim.tap.client.close();
}

// Lets background refreshes started by the last attestations finish before
// simulated time moves on (a refresh is real network I/O; the attest loop
// itself never yields to the event loop). Only when a load started.
async function settle(sim: Sim): Promise<void> {
  if (sim.attestor.signatureLoads === sim.loadsSeen && sim.tap.inflight.size === 0) return;
  for (let quiet = 0; quiet < 2;) {
    await nextTurn();
    if (sim.tap.inflight.size > 0) {
      quiet = 0;
      await Promise.allSettled([...sim.tap.inflight]);
    } else {
      quiet++;
    }
  }
  sim.loadsSeen = sim.attestor.signatureLoads;
}

// A signal that never fires: one for every attestation (no timer each).
const NEVER = new AbortController().signal;

interface Round {
  attested: number;
  failed: number;
  unexpected: number;
  firstError?: string;
}

// Every target once, in order, at the current simulated time.
async function attestAll(sim: Sim, targets: readonly Target[], r: Round): Promise<void> {
  for (const t of targets) {
    r.attested++;
    try {
      const selectors = await sim.attestor.attest(t.pid, NEVER);
      if (!isVerifiedBound(selectors)) {
        r.unexpected++;
        r.firstError ??= `unexpected selectors for ${t.image.repository}: ${selectors.join(' ')}`;
      }
    } catch (err) {
      r.failed++;
      r.firstError ??= messageOf(err);
    }
  }
  await settle(sim);
}

const newRound = (): Round => ({ attested: 0, failed: 0, unexpected: 0 });

// Cold attestations of every target, several in flight (real requests).
async function warmUp(sim: Sim, targets: readonly Target[]): Promise<Round> {
  const r = newRound();
  await pool(targets, 8, async (t) => {
    r.attested++;
    const selectors = await sim.attestor.attest(t.pid, AbortSignal.timeout(30_000));
    if (!isVerifiedBound(selectors)) throw new Error(`fleet warm-up ${t.image.tag}: unexpected selectors ${selectors.join(' ')}`);
  });
  await settle(sim);
  return r;
}

// The plugin's requests to the fleet repositories (fleet-NN, fleet-NN-rK).
function fleetLines(w: World, from: number): AccessLine[] {
  const prefix = `/v2/${w.fixtures.repoPrefix}/fleet-`;
  return w.regLog.lines(from).filter((l) => l.userAgent.startsWith(PLUGIN_USER_AGENT) && l.path.startsWith(prefix));
}

// The images: KNOBS.fleetImages built, pushed and signed (fleet-NN), and
// each of them pushed and signed under further repositories (fleet-NN-rK)
// up to KNOBS.fleetRestartImages distinct (repository, digest) pairs.
async function fleetImages(w: World): Promise<{ built: BenchImage[]; all: BenchImage[]; ms: Record<string, number> }> {
  const t0 = performance.now();
  const built = await pool(
    Array.from({ length: KNOBS.fleetImages }, (_, i) => `fleet-${String(i).padStart(2, '0')}`),
    3,
    (n) => w.fixtures.image(n, w.key),
  );
  const t1 = performance.now();
  const extra = Math.max(0, KNOBS.fleetRestartImages - built.length);
  const aliases = await pool(
    Array.from({ length: extra }, (_, i) => i),
    4,
    (i) => {
      const base = built[i % built.length] as BenchImage;
      return w.fixtures.alias(base, `${base.name}-r${Math.floor(i / built.length) + 1}`, w.key);
    },
  );
  const t2 = performance.now();
  return {
    built,
    all: [...built, ...aliases],
    ms: { buildPushSignMs: round(t1 - t0, 0), tagPushSignMs: round(t2 - t1, 0), totalMs: round(t2 - t0, 0) },
  };
}

export async function fleetPhase(w: World): Promise<FleetCounts> {
  const counts: FleetCounts = {};
  const fig: Record<string, unknown> = {
    what: `simulated clock (AttestorDeps.now), the real registry client against the rig registry, real cosign-signed images (key "bench", legacy .sig, no tlog); /proc and the Docker runtime are fakes mapping PIDs to containers of the pushed images (the figure is registry traffic); plugin_data as every phase (offline, require_tlog = false, key block) with the default verdict_refresh_interval_s (6 h) and verdict_max_staleness_s (24 h)`,
  };
  result.figures['fleet'] = fig;
  progress(`fleet: pushing and signing ${KNOBS.fleetImages} images and ${KNOBS.fleetRestartImages - KNOBS.fleetImages} more repositories`);
  const images = await fleetImages(w);
  fig['setup'] = {
    images: `${images.built.length} built (busybox + a unique label), pushed and signed; each also tagged, pushed and signed under ${Math.ceil(images.all.length / images.built.length) - 1} more repositories: ${images.all.length} (repository, digest) pairs`,
    ...images.ms,
  };
  const config = buildConfig(w.hcl);
  const verdicts = { refreshS: config.verdicts.refreshMs / 1000, maxStalenessS: config.verdicts.maxStaleMs / 1000 };
  fig['verdictSettings'] = verdicts;
  const steadyTargets = targetsOf(images.built, 100_000);

  // 1. Steady state: one attestor, every image attested every
  //    KNOBS.fleetAttestEveryS simulated seconds for KNOBS.fleetHours.
  {
    const sim = simAttestor(config, steadyTargets, T0);
    const from = w.regLog.offset();
    try {
      await sim.attestor.ready();
      await warmUp(sim, steadyTargets);
      const coldRequests = sim.tap.requests;
      const coldCalls = { ...sim.tap.calls };
      const loads0 = sim.attestor.signatureLoads;
      await sleep(300);
      const mid = w.regLog.offset();
      const coldAtRegistry = fleetLines(w, from).length;
      const r = newRound();
      const stepMs = KNOBS.fleetAttestEveryS * 1000;
      const end = T0 + KNOBS.fleetHours * HOUR;
      const wall0 = performance.now();
      let capped = false;
      while (sim.clock + stepMs <= end) {
        sim.clock += stepMs;
        await attestAll(sim, steadyTargets, r);
        // The time cap: the figure is then over the simulated hours reached.
        if (performance.now() - wall0 > KNOBS.fleetWallCapMs) {
          capped = true;
          break;
        }
      }
      const wallMs = performance.now() - wall0;
      const hours = (sim.clock - T0) / HOUR;
      const requests = sim.tap.requests - coldRequests;
      await sleep(300);
      const lines = fleetLines(w, mid);
      const callsAfterCold = Object.fromEntries(Object.entries(sim.tap.calls).map(([k, v]) => [k, v - (coldCalls[k] ?? 0)]));
      const perImageHour = requests / steadyTargets.length / hours;
      counts.steadyRequestsPerImageHour = perImageHour;
      counts.steadyRequests = requests;
      counts.steadyImages = steadyTargets.length;
      counts.steadyHours = round(hours, 3);
      const refreshes = sim.attestor.signatureLoads - loads0;
      row(
        'fleet steady: registry requests / image / hour',
        'requests',
        summarize([perImageHour]),
        `${requests} over ${hours} sim h, ${steadyTargets.length} images, ${refreshes} refreshes`,
      );
      fig['steadyRequestsPerImageHour'] = round(perImageHour, 4);
      fig['steady'] = {
        what: `${steadyTargets.length} images, one attestor; after one cold attestation each, every image attested every ${KNOBS.fleetAttestEveryS} simulated seconds for ${KNOBS.fleetHours} simulated hours (all ${steadyTargets.length} in turn at each step, then any background refresh started is let finish before the clock moves on); registry requests after the cold ones`,
        images: steadyTargets.length,
        simulatedHours: round(hours, 3),
        stoppedByWallTimeCap: capped,
        attestEverySimulatedS: KNOBS.fleetAttestEveryS,
        attestations: r.attested,
        failed: r.failed,
        unexpectedSelectors: r.unexpected,
        firstError: r.firstError,
        wallMs: round(wallMs, 0),
        attestationsPerWallS: round(r.attested / (wallMs / 1000), 0),
        coldRequestsClientStats: coldRequests,
        coldRequestsAtRegistry: coldAtRegistry,
        requestsAfterColdClientStats: requests,
        requestsAfterColdAtRegistry: lines.length,
        requestsPerImageHour: round(perImageHour, 4),
        requestsPerImageHourAtRegistry: round(lines.length / steadyTargets.length / hours, 4),
        backgroundRefreshes: refreshes,
        refreshesPerImage: round(refreshes / steadyTargets.length, 2),
        registryCallsAfterCold: callsAfterCold,
        requestBreakdownAfterCold: breakdown(lines),
      };
      if (r.failed > 0 || r.unexpected > 0) throw new Error(`fleet steady state: ${r.failed} failed, ${r.unexpected} unexpected: ${r.firstError ?? ''}`);
    } finally {
      await closeSim(sim);
    }
  }

  // 2. Outage: a new attestor warmed up at T0; the registry goes down at
  //    T0 + the refresh interval (every verdict due: the worst hour for an
  //    outage) for KNOBS.fleetOutageHours, attestations continuing.
  {
    const sim = simAttestor(config, steadyTargets, T0);
    try {
      await sim.attestor.ready();
      await warmUp(sim, steadyTargets);
      const loads0 = sim.attestor.signatureLoads;
      const stepMs = KNOBS.fleetOutageAttestEveryS * 1000;
      sim.clock = T0 + config.verdicts.refreshMs;
      const downAt = sim.clock;
      sim.tap.down = true;
      const beforeRequests = sim.tap.requests;
      const r = newRound();
      const wall0 = performance.now();
      while (sim.clock + stepMs <= downAt + KNOBS.fleetOutageHours * HOUR) {
        sim.clock += stepMs;
        await attestAll(sim, steadyTargets, r);
      }
      const wallMs = performance.now() - wall0;
      const refused = sim.tap.refused;
      const failedRefreshes = sim.attestor.signatureLoads - loads0;
      const leakedRequests = sim.tap.requests - beforeRequests;
      // Back up: the next attestations refresh every verdict.
      sim.tap.down = false;
      const upRequests0 = sim.tap.requests;
      const loadsUp0 = sim.attestor.signatureLoads;
      sim.clock += stepMs;
      const after = newRound();
      await attestAll(sim, steadyTargets, after);
      const recovery = { requests: sim.tap.requests - upRequests0, refreshes: sim.attestor.signatureLoads - loadsUp0, failed: after.failed + after.unexpected };
      // Down again, past the staleness bound since the last verdict: fails closed.
      sim.tap.down = true;
      sim.clock += config.verdicts.maxStaleMs + MINUTE;
      const past = newRound();
      const first = steadyTargets.slice(0, 1);
      await attestAll(sim, first, past);
      counts.outageFailed = r.failed + r.unexpected;
      counts.outageAttestations = r.attested;
      counts.outageAttempted = refused;
      row(
        'fleet outage: failed attestations in 1 sim h down',
        'count',
        summarize([r.failed + r.unexpected]),
        `${r.attested} attestations, ${refused} registry calls attempted`,
      );
      fig['outage'] = {
        what: `${steadyTargets.length} images, a new attestor warmed up at t=0; at t=${verdicts.refreshS / 3600} h (every verdict due for its background refresh) the registry is made unreachable for ${KNOBS.fleetOutageHours} simulated hour(s) (the client wrapped: every call fails with REGISTRY_UNAVAILABLE, no request leaves) while every image is attested every ${KNOBS.fleetOutageAttestEveryS} simulated seconds; then up again for one step; then down again and the clock moved past the staleness bound`,
        downFromSimulatedH: (downAt - T0) / HOUR,
        downForSimulatedH: KNOBS.fleetOutageHours,
        attestEverySimulatedS: KNOBS.fleetOutageAttestEveryS,
        attestations: r.attested,
        failedAttestations: r.failed,
        unexpectedSelectors: r.unexpected,
        firstError: r.firstError,
        registryCallsAttempted: refused,
        registryCallsAttemptedPerImageMinute: round(refused / steadyTargets.length / (KNOBS.fleetOutageHours * 60), 3),
        failedBackgroundRefreshes: failedRefreshes,
        requestsSentWhileDown: leakedRequests,
        wallMs: round(wallMs, 0),
        recovery: { what: 'the first step after the registry is back: every verdict refreshed', ...recovery },
        pastStalenessBound: {
          what: `still down, ${verdicts.maxStalenessS / 3600} h + 1 min after the last verdict: the verdict is not used any more`,
          failed: past.failed,
          error: past.firstError,
          failsClosed: past.failed === 1 && (past.firstError ?? '').length > 0,
        },
      };
    } finally {
      await closeSim(sim);
    }
  }

  // 3. Restart: attestor A (verdict_cache_dir in a temp dir) attests every
  //    image, closes; attestor B, same plugin_data, attests every image.
  {
    const restartTargets = targetsOf(images.all, 200_000);
    const base = mkdtempSync(join(w.tmp, 'fleet-verdicts-'));
    const dir = join(base, 'verdicts');
    const hcl = w.hcl.replace('persist_verdicts = false', `verdict_cache_dir = "${dir}"`);
    if (hcl === w.hcl) throw new Error('fleet restart: plugin_data has no "persist_verdicts = false" to replace');
    const restartConfig = buildConfig(hcl);
    const a = simAttestor(restartConfig, restartTargets, T0);
    let aRequests = 0;
    let aMs = 0;
    try {
      await a.attestor.ready();
      const s = performance.now();
      await warmUp(a, restartTargets);
      aMs = performance.now() - s;
      aRequests = a.tap.requests;
    } finally {
      await closeSim(a);
    }
    const files = readdirSync(dir).filter((n) => n.endsWith('.verdict')).length;
    const restartAfterMs = 10 * MINUTE;
    const b = simAttestor(restartConfig, restartTargets, T0 + restartAfterMs);
    const from = w.regLog.offset();
    try {
      let s = performance.now();
      await b.attestor.ready();
      const readyMs = performance.now() - s;
      const readyRequests = b.tap.requests;
      const r = newRound();
      s = performance.now();
      await attestAll(b, restartTargets, r);
      const attestMs = performance.now() - s;
      const requests = b.tap.requests - readyRequests;
      await sleep(300);
      const atRegistry = fleetLines(w, from).length;
      counts.restartRequests = Math.max(requests, atRegistry);
      counts.restartImages = restartTargets.length;
      row(
        'fleet restart: registry requests on B (persisted verdicts)',
        'requests',
        summarize([requests]),
        `${restartTargets.length} images; A made ${aRequests}`,
      );
      fig['restart'] = {
        what: `${restartTargets.length} (repository, digest) pairs; attestor A (verdict_cache_dir in a temp dir) attests each once at t=0 and is closed; attestor B, the same plugin_data, starts at t=${restartAfterMs / MINUTE} min and attests each once: registry requests on B (ready() and its attestations)`,
        images: restartTargets.length,
        verdictFilesAfterA: files,
        a: { requestsClientStats: aRequests, coldAttestationsMs: round(aMs, 0) },
        b: {
          readyMs: round(readyMs, 1),
          readyRequests,
          attestations: r.attested,
          failed: r.failed,
          unexpectedSelectors: r.unexpected,
          firstError: r.firstError,
          attestMs: round(attestMs, 1),
          requestsOnAttestationPathClientStats: requests,
          requestsAtRegistry: atRegistry,
          registryCalls: b.tap.calls,
          signatureLoads: b.attestor.signatureLoads,
        },
      };
    } finally {
      await closeSim(b);
      rmSync(base, { recursive: true, force: true });
    }
  }
  return counts;
}
