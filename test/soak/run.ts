// `npm run soak`: the fault soak. A real spire-server and spire-agent with
// the plugin; between the plugin and the rig registry our fault proxy
// (fault-proxy.ts); workloads of four kinds (workloads.ts) created and
// removed in the soak's own dockerd (dockerd.ts) while Workload API fetches
// run from inside them; that dockerd restarted once mid-run. Then faults
// stop and the next attestations must succeed without restarting anything.
//
// Only the signed kind's signer selector grants an identity
// (docker:image-signature-key:release), so any SVID for another kind is a
// wrong grant. Writes test/soak/results/latest.json (and a timestamped copy)
// and exits 1 unless every check passes.
//
//   SSA_SOAK_SECONDS      least time with faults on (default 360)
//   SSA_SOAK_MAX_SECONDS  most time with faults on (default 600)
//   SSA_SOAK_FETCHES      least fetches with faults on (default 1000)
//   SSA_SOAK_RATE         probability of a fault per plugin request (default 0.3)
//   SSA_SOAK_JOBS         fetches at once (default 3)
//   SSA_SOAK_RSS_MB       bound on the plugin's RSS (default 250)

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadRig, missingParts, run as runCmd, type Rig } from '../support/rig.js';
import { joinToken, releaseKeyLines, startSpireAgent, startSpireServer, TRUST_DOMAIN, waitFor, type SpireAgent, type SpireServer } from '../support/spire.js';
import { REPO_ROOT } from '../support/plugin-process.js';
import { children, envNumber } from '../support/processes.js';
import { startDockerd, type PrivateDockerd } from './dockerd.js';
import { FAULT_KINDS, startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { fetchIn, KINDS, makeImage, makeKeys, type FetchResult, type Image, type ImageFactory, type Kind } from './workloads.js';

const CONFIG = {
  minFaultSeconds: envNumber('SSA_SOAK_SECONDS', 360),
  maxFaultSeconds: envNumber('SSA_SOAK_MAX_SECONDS', 600),
  minFetches: envNumber('SSA_SOAK_FETCHES', 1000),
  faultRate: envNumber('SSA_SOAK_RATE', 0.3),
  jobs: Math.floor(envNumber('SSA_SOAK_JOBS', 3)),
  rssBoundMb: envNumber('SSA_SOAK_RSS_MB', 250),
  // plugin_data
  registryTimeoutMs: 1000,
  verdictRefreshS: 60,
  verdictMaxStalenessS: 120,
  // a new generation of images and containers every so often; the dockerd
  // restart at this fraction of the fault phase
  generationEveryS: 45,
  restartAt: 0.45,
  // share of fetches from a container created for the fetch and removed after
  ephemeralShare: 0.1,
  // after faults stop: how long every signed workload may take to get an
  // SVID again (a verdict reached under a fault lives one refresh interval),
  // then fetches per kind that must all come out right
  recoveryBoundS: 150,
  finalFetchesPerKind: 8,
} as const;

const SIGNED_ID = `spiffe://${TRUST_DOMAIN}/soak/signed`;

interface Tally {
  fetches: number;
  issued: number;
  denied: number;
  errors: number;
  notRun: number;
  wrongGrants: number;
  msTotal: number;
}

const newTally = (): Tally => ({ fetches: 0, issued: 0, denied: 0, errors: 0, notRun: 0, wrongGrants: 0, msTotal: 0 });

interface Container {
  readonly id: string;
  readonly image: Image;
}

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (msg: string): void => void process.stderr.write(`soak: ${msg}\n`);

class Soak {
  readonly tallies: Record<Kind, Tally> = Object.fromEntries(KINDS.map((k) => [k, newTally()])) as Record<Kind, Tally>;
  readonly errorKinds = new Map<string, number>();
  readonly wrongGrants: { kind: Kind; tag: string; spiffeId: string }[] = [];
  containers: Container[] = [];
  latest = new Map<Kind, Image>();
  dockerDown = false;
  containersMade = 0;
  containersRemoved = 0;
  ephemeral = 0;

  constructor(
    readonly rig: Rig,
    readonly agentDir: string,
  ) {}

  record(kind: Kind, image: Image, r: FetchResult, into: Record<Kind, Tally> = this.tallies): void {
    const t = into[kind];
    if (r.outcome === 'notRun') {
      t.notRun++;
      return;
    }
    t.fetches++;
    t.msTotal += r.ms;
    if (r.outcome === 'issued') {
      t.issued++;
      if (kind !== 'signed' || r.spiffeId !== SIGNED_ID) {
        t.wrongGrants++;
        this.wrongGrants.push({ kind, tag: image.tag, spiffeId: r.spiffeId ?? '' });
      }
    } else if (r.outcome === 'denied') t.denied++;
    else {
      t.errors++;
      const key = `${kind}: ${r.detail ?? ''}`;
      this.errorKinds.set(key, (this.errorKinds.get(key) ?? 0) + 1);
    }
  }

  async startContainer(image: Image): Promise<void> {
    const r = await runCmd(
      'docker',
      ['-H', this.rig.dockerHost, 'run', '-d', '--network', 'none', '-v', `${this.agentDir}:/run/spire`, image.tag, 'sleep', '3600'],
      {
        timeoutMs: 60_000,
      },
    );
    if (r.code !== 0) throw new Error(`docker run ${image.tag}: ${r.stderr}`);
    this.containers.push({ id: r.stdout.trim(), image });
    this.containersMade++;
  }

  // Keeps the containers of the two newest generations.
  async prune(newestGen: number): Promise<void> {
    const old = this.containers.filter((c) => c.image.gen < newestGen - 1);
    this.containers = this.containers.filter((c) => c.image.gen >= newestGen - 1);
    if (old.length === 0) return;
    await runCmd('docker', ['-H', this.rig.dockerHost, 'rm', '-f', ...old.map((c) => c.id)], { timeoutMs: 60_000 });
    this.containersRemoved += old.length;
  }

  // One fetch by a random workload (a random kind first).
  async fetchOne(into?: Record<Kind, Tally>, only?: Kind): Promise<void> {
    const kind = only ?? KINDS[Math.floor(Math.random() * KINDS.length)] ?? 'signed';
    const latest = this.latest.get(kind);
    const live = this.containers.filter((c) => c.image.kind === kind);
    if (latest === undefined || live.length === 0) return;
    if (Math.random() < CONFIG.ephemeralShare && into === undefined) {
      this.ephemeral++;
      this.record(kind, latest, await fetchIn(this.rig, { image: latest.tag, agentDir: this.agentDir }));
      return;
    }
    const c = live[Math.floor(Math.random() * live.length)] ?? live[0];
    if (c === undefined) return;
    this.record(kind, c.image, await fetchIn(this.rig, { container: c.id }), into);
  }

  total(): number {
    return KINDS.reduce((s, k) => s + this.tallies[k].fetches, 0);
  }
}

interface Sampler {
  readonly pidStart: number;
  samples: number;
  maxMb: number;
  lastMb: number;
  gone: boolean;
  stop(): void;
}

function samplePlugin(agent: SpireAgent, pid: number): Sampler {
  const s: Sampler = { pidStart: pid, samples: 0, maxMb: 0, lastMb: 0, gone: false, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const mb = rssMb(pid);
    if (mb === undefined || !children(agent.child.pid ?? -1).includes(pid)) {
      s.gone = true;
      return;
    }
    s.samples++;
    s.lastMb = mb;
    s.maxMb = Math.max(s.maxMb, mb);
  }, 2_000);
  return s;
}

function pluginData(dockerd: PrivateDockerd, proxy: FaultProxy, publicKey: string): string {
  return [
    `      docker_socket_path = "${dockerd.host}"`,
    `      log_level = "info"`,
    `      registry "${proxy.host}" {`,
    `        insecure = true`,
    `      }`,
    ...releaseKeyLines(publicKey),
    `      registry_timeout_ms = ${CONFIG.registryTimeoutMs}`,
    `      verdict_refresh_interval_s = ${CONFIG.verdictRefreshS}`,
    `      verdict_max_staleness_s = ${CONFIG.verdictMaxStalenessS}`,
  ].join('\n');
}

async function main(): Promise<number> {
  const rig0 = loadRig();
  const missing = missingParts(rig0, ['spire', 'registry', 'cosign', 'docker']);
  if (rig0 === undefined || missing.length > 0) throw new Error(`the soak needs the rig: ${missing.join('; ')}`);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ssa-soak-'));
  chmodSync(dir, 0o755);
  const runId = `${process.pid}`;
  const stops: (() => Promise<unknown>)[] = [];
  try {
    say(`state in ${dir}`);
    const dockerd = await startDockerd(join(dir, 'd'));
    stops.push(() => dockerd.stop());
    stops.push(async () => {
      const ids = (await runCmd('docker', ['-H', dockerd.host, 'ps', '-aq'], { timeoutMs: 30_000 })).stdout.split('\n').filter((l) => l !== '');
      if (ids.length > 0) await runCmd('docker', ['-H', dockerd.host, 'rm', '-f', ...ids], { timeoutMs: 120_000 });
    });
    const rig: Rig = { ...rig0, dockerHost: dockerd.host, dockerSocket: dockerd.socket, stateDir: dir };
    // The busybox base, from the rig's dockerd.
    const tar = join(dir, 'busybox.tar');
    for (const [r, args] of [
      [rig0, ['save', '-o', tar, rig0.busyboxImage]],
      [rig, ['load', '-i', tar]],
    ] as const) {
      const res = await runCmd('docker', ['-H', r.dockerHost, ...args], { timeoutMs: 120_000 });
      if (res.code !== 0) throw new Error(`docker ${args.join(' ')}: ${res.stderr}`);
    }

    const proxy = await startFaultProxy({
      upstream: rig0.registry,
      target: (req) => (req.headers['user-agent'] ?? '').startsWith('spire-sigstore-attestor'),
      latencyMs: 300,
      dripMs: 2_500,
      dripEveryMs: 150,
      oversizeBytes: 5 * 1024 * 1024,
    });
    stops.push(() => proxy.close());
    const keys = await makeKeys(rig, dir);
    const server: SpireServer = await startSpireServer(rig.spireServer, join(dir, 'server'));
    stops.push(() => server.stop());
    const token = await joinToken(server);
    const agentDir = join(dir, 'agent');
    const agent = await startSpireAgent({ bin: rig.spireAgent, dir: agentDir, server, token, pluginData: pluginData(dockerd, proxy, keys.trusted.publicKey) });
    stops.push(() => agent.stop());
    chmodSync(agentDir, 0o755);
    const parentId = `spiffe://${TRUST_DOMAIN}/spire/agent/join_token/${token}`;
    await server.cli(['entry', 'create', '-parentID', parentId, '-spiffeID', SIGNED_ID, '-selector', 'docker:image-signature-key:release']);
    const [pluginPid] = children(agent.child.pid ?? -1);
    if (pluginPid === undefined) throw new Error('spire-agent has no plugin child');
    const sampler = samplePlugin(agent, pluginPid);
    stops.push(async () => sampler.stop());

    const soak = new Soak(rig, agentDir);
    const factory: ImageFactory = { rig, proxy: proxy.host, registry: rig0.registry, run: runId, keys };
    let gen = 0;
    const generation = async (): Promise<void> => {
      const g = gen++;
      for (const kind of KINDS) {
        const image = await makeImage(factory, kind, g);
        soak.latest.set(kind, image);
        await soak.startContainer(image);
      }
      await soak.prune(g);
      say(`generation ${g} running (${soak.containers.length} containers)`);
    };

    // Warm-up, faults off: the entry has reached the agent.
    await generation();
    await waitFor(
      'a first SVID for the signed workload',
      async () => {
        const c = soak.containers.find((x) => x.image.kind === 'signed');
        return c !== undefined && (await fetchIn(rig, { container: c.id })).outcome === 'issued';
      },
      90_000,
      1_000,
    );

    // The fault phase.
    say(`faults on (rate ${CONFIG.faultRate}) for ${CONFIG.minFaultSeconds}-${CONFIG.maxFaultSeconds} s, ≥ ${CONFIG.minFetches} fetches`);
    proxy.setRate(CONFIG.faultRate);
    const faultStart = Date.now();
    const elapsed = (): number => (Date.now() - faultStart) / 1000;
    const faultPhaseOver = (): boolean => elapsed() >= CONFIG.maxFaultSeconds || (elapsed() >= CONFIG.minFaultSeconds && soak.total() >= CONFIG.minFetches);
    const restart = { atS: 0, downMs: 0, containersRecreated: 0, done: false };
    const workers = Array.from({ length: CONFIG.jobs }, async () => {
      while (!faultPhaseOver()) {
        if (soak.dockerDown) await sleep(200);
        else await soak.fetchOne();
      }
    });
    const conductor = (async () => {
      let nextGen = Date.now() + CONFIG.generationEveryS * 1000;
      let lastReport = Date.now();
      while (!faultPhaseOver()) {
        await sleep(500);
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          say(
            `${Math.round(elapsed())} s: ${soak.total()} fetches, faults ${proxy.requests.faulted}/${proxy.requests.targeted}, plugin RSS ${sampler.lastMb.toFixed(0)} MB`,
          );
        }
        if (!restart.done && elapsed() >= CONFIG.restartAt * CONFIG.minFaultSeconds) {
          restart.done = true;
          restart.atS = Math.round(elapsed());
          say('restarting the soak dockerd');
          soak.dockerDown = true;
          restart.downMs = await dockerd.restart();
          // Containers die with dockerd (no live-restore): new ones from the same images.
          const dead = soak.containers;
          soak.containers = [];
          await runCmd('docker', ['-H', rig.dockerHost, 'rm', '-f', ...dead.map((c) => c.id)], { timeoutMs: 60_000 });
          for (const c of dead) await soak.startContainer(c.image);
          restart.containersRecreated = dead.length;
          soak.dockerDown = false;
          say(`dockerd back after ${restart.downMs} ms; ${dead.length} containers re-created`);
          continue;
        }
        if (Date.now() >= nextGen) {
          await generation();
          nextGen = Date.now() + CONFIG.generationEveryS * 1000;
        }
      }
    })();
    await Promise.all([conductor, ...workers]);
    const faultSeconds = Math.round(elapsed());
    proxy.setRate(0);
    say(`faults off after ${faultSeconds} s; recovery`);

    // Recovery, nothing restarted: every live signed workload gets an SVID
    // again within the bound, then a clean batch of every kind.
    const recoveryStart = Date.now();
    const firstAfter = new Map<string, { first: string; ms: number; tries: number }>();
    const signedLive = soak.containers.filter((c) => c.image.kind === 'signed');
    for (const c of signedLive) {
      let tries = 0;
      let first = '';
      for (;;) {
        const r = await fetchIn(rig, { container: c.id });
        tries++;
        if (tries === 1) first = r.outcome;
        if (r.outcome === 'issued' || Date.now() - recoveryStart > CONFIG.recoveryBoundS * 1000) {
          firstAfter.set(c.image.tag, { first, ms: r.outcome === 'issued' ? Date.now() - recoveryStart : -1, tries });
          break;
        }
        await sleep(1_000);
      }
    }
    const final: Record<Kind, Tally> = Object.fromEntries(KINDS.map((k) => [k, newTally()])) as Record<Kind, Tally>;
    for (const kind of KINDS) for (let i = 0; i < CONFIG.finalFetchesPerKind; i++) await soak.fetchOne(final, kind);
    const finalOk = KINDS.every((k) => {
      const t = final[k];
      return t.fetches === CONFIG.finalFetchesPerKind && t.errors === 0 && (k === 'signed' ? t.issued === t.fetches : t.denied === t.fetches);
    });
    sampler.stop();
    const pidEnd = children(agent.child.pid ?? -1)[0] ?? -1;

    const recovered = [...firstAfter.values()];
    const wrongGrants = KINDS.reduce((s, k) => s + soak.tallies[k].wrongGrants + final[k].wrongGrants, 0);
    const checks = {
      wrongGrantsZero: wrongGrants === 0,
      enoughFetches: soak.total() >= CONFIG.minFetches,
      everyKindFetched: KINDS.every((k) => soak.tallies[k].fetches > 0),
      signedIssuedUnderFaults: soak.tallies.signed.issued > 0,
      pluginSamePid: pidEnd === pluginPid && !sampler.gone,
      rssBounded: sampler.maxMb > 0 && sampler.maxMb <= CONFIG.rssBoundMb,
      agentAlive: agent.child.exitCode === null,
      dockerdRestarted: restart.done && restart.downMs > 0,
      recoveredWithinBound: recovered.length > 0 && recovered.every((r) => r.ms >= 0),
      finalBatchClean: finalOk,
    };
    const pass = Object.values(checks).every(Boolean);
    const kinds = Object.fromEntries(
      KINDS.map((k) => {
        const { msTotal, ...t } = soak.tallies[k];
        return [k, { ...t, meanMs: t.fetches > 0 ? Math.round(msTotal / t.fetches) : 0 }];
      }),
    );
    const report = {
      date: new Date().toISOString(),
      pass,
      checks,
      seconds: { total: Math.round((Date.now() - started) / 1000), faults: faultSeconds, recovery: Math.round((Date.now() - recoveryStart) / 1000) },
      config: {
        ...CONFIG,
        spire: '1.15.3',
        plugin: 'bin/spire-sigstore-attestor',
        tamperVariants: ['copied-signature', 're-pushed-after-signing', 'corrupted-signature'],
      },
      fetches: soak.total(),
      kinds,
      wrongGrants,
      wrongGrantDetails: soak.wrongGrants.slice(0, 20),
      errorKinds: Object.fromEntries([...soak.errorKinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)),
      faults: {
        ...proxy.counts,
        total: proxy.requests.faulted,
        pluginRequests: proxy.requests.targeted,
        allRequests: proxy.requests.total,
        proxyUpstreamErrors: proxy.requests.upstreamErrors,
      },
      workloads: { generations: gen, containersCreated: soak.containersMade, containersRemoved: soak.containersRemoved, ephemeralFetches: soak.ephemeral },
      dockerdRestart: restart,
      plugin: {
        pidStart: pluginPid,
        pidEnd,
        rssMaxMb: Math.round(sampler.maxMb),
        rssEndMb: Math.round(sampler.lastMb),
        rssBoundMb: CONFIG.rssBoundMb,
        rssSamples: sampler.samples,
      },
      recovery: {
        boundS: CONFIG.recoveryBoundS,
        signedWorkloads: recovered.length,
        firstFetchIssued: recovered.filter((r) => r.first === 'issued').length,
        maxMsUntilIssued: Math.max(...recovered.map((r) => r.ms)),
        final: Object.fromEntries(
          KINDS.map((k) => [k, { fetches: final[k].fetches, issued: final[k].issued, denied: final[k].denied, errors: final[k].errors }]),
        ),
      },
    };
    const outDir = join(REPO_ROOT, 'test/soak/results');
    mkdirSync(outDir, { recursive: true });
    const text = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(join(outDir, 'latest.json'), text);
    writeFileSync(join(outDir, `soak-${report.date.replace(/[:.]/g, '-')}.json`), text);
    writeFileSync(join(outDir, 'agent-last.log'), agent.log());

    const rows = KINDS.map((k) => {
      const t = soak.tallies[k];
      return `${k.padEnd(12)} ${String(t.fetches).padStart(7)} ${String(t.issued).padStart(7)} ${String(t.denied).padStart(7)} ${String(t.errors).padStart(7)} ${String(t.wrongGrants).padStart(6)}`;
    });
    process.stdout.write(
      [
        `kind         fetches  issued  denied  errors  wrong`,
        ...rows,
        `faults: ${FAULT_KINDS.map((f) => `${f} ${proxy.counts[f]}`).join(', ')} (${proxy.requests.faulted} of ${proxy.requests.targeted} plugin requests)`,
        `plugin pid ${pluginPid} -> ${pidEnd}, RSS max ${Math.round(sampler.maxMb)} MB (bound ${CONFIG.rssBoundMb}); dockerd restarted at ${restart.atS} s (${restart.downMs} ms)`,
        `recovery: ${recovered.length} signed workloads issued again within ${Math.max(...recovered.map((r) => r.ms))} ms; final batch ${finalOk ? 'clean' : 'NOT clean'}`,
        ...Object.entries(checks).map(([k, v]) => `${v ? 'ok  ' : 'FAIL'} ${k}`),
        pass ? 'soak: PASS' : 'soak: FAIL',
        '',
      ].join('\n'),
    );
    return pass ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`cleanup: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
