// `npm run bench`: measures the plugin on the real rig (test/env/up.sh) and
// writes bench/results/latest.json (and a timestamped copy), then prints a
// table and the goals. Loopback only; every loop is bounded by a count and a
// time cap. Creates its own images (repositories ssa-bench-<run>/…) and
// containers, and removes them (the containers and local images) at the end.
//
// Figures:
//   1. warm Attest through gRPC (N = 1, 16, 128 concurrent callers), its
//      decomposition (gRPC floor, in-process pipeline, /proc reads) and a CPU
//      profile of the plugin during the warm loop;
//   1c. the same warm figures for containerd containers (1.6 and 2.x when the
//      rig has them: a `ctr run` container in namespace default and a
//      kubelet-style one in k8s.io);
//   2. cold Attest (new image, new Configure per sample): latency, registry
//      requests (counted at the registry and by the client), verification time;
//   2b. the same cold figures for those containerd containers;
//   3. stampede: 200 concurrent Attests for 20 containers of one new image;
//   3b. fleet, on a simulated clock against the real registry: registry
//      requests per image per hour at steady state (24 simulated hours), a
//      one-hour registry outage, a restart with persisted verdicts;
//   4. footprint: RSS after start / Configure / 10,000 Attests over 20 images,
//      spawn -> handshake for the launcher and the single executable;
//   5. side by side: `cosign verify` per attestation, and the Workload API
//      fetch through two real spire-agents (ours vs SPIRE's built-in docker
//      attestor);
//   6. the goals, met or not, and findings.
//
// This file is the order of the phases and the cleanup; each phase is in
// bench/phases/, what they share in bench/lib/, goals, findings and the
// output in bench/report.ts.

// First: the product's proto/ where its compiled modules look for it.
import './lib/proto-dir.js';

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { loadRig, missingParts } from '../test/support/rig.js';
import { CtrdFixtures } from './lib/containerd.js';
import { stopAll } from './lib/live.js';
import { LAUNCHER, REPO, SEA } from './lib/paths.js';
import { phase } from './lib/phase.js';
import { socketDirsLeft } from './lib/plugin.js';
import { progress } from './lib/progress.js';
import { finishResult, result, rows } from './lib/result.js';
import { messageOf } from './lib/util.js';
import { agentPhase } from './phases/agent.js';
import { coldPhase } from './phases/cold.js';
import { containerdColdPhase, containerdSetup, containerdWarmPhase, type CtrdWorld } from './phases/containerd.js';
import { cosignPhase, sideBySide } from './phases/cosign.js';
import { fleetPhase } from './phases/fleet.js';
import { footprintPhase } from './phases/footprint.js';
import { handshakePhase } from './phases/handshake.js';
import { memoryPhase } from './phases/memory.js';
import { profilePhase } from './phases/profile.js';
import { setup } from './phases/setup.js';
import { stampedePhase } from './phases/stampede.js';
import { startupPhase } from './phases/startup.js';
import { measuredWarm, warmPhase } from './phases/warm.js';
import { competitorPhase } from './phases/competitor.js';
import { findings, goals, runtimeComparison, summaryText, writeResults, type Measured } from './report.js';

import type { Fixtures } from './lib/images.js';

async function main(): Promise<number> {
  const rig = loadRig();
  const missing = missingParts(rig, ['docker', 'registry', 'spire', 'cosign']);
  if (!rig || missing.length > 0) {
    process.stderr.write(`bench: the rig is not ready: ${missing.join('; ')}\n`);
    return 2;
  }
  if (!existsSync(join(REPO, 'dist/main.js'))) {
    process.stderr.write('bench: dist/main.js missing: npm run build first (npm run bench does)\n');
    return 2;
  }
  const tmp = mkdtempSync('/tmp/ssa-bench-');
  chmodSync(tmp, 0o755);
  const runId = Date.now().toString(36);
  const m: Measured = {};
  let fixtures: Fixtures | undefined;
  // containerd's containers, pod cgroups and pulled images (phases 1c, 2b).
  const ctrdFixtures = new CtrdFixtures(runId);
  const cleanup = async (): Promise<void> => {
    await stopAll();
    const containerd = await ctrdFixtures.cleanup().catch((e: unknown) => ({ error: messageOf(e) }));
    if (fixtures) result.cleanup = await fixtures.cleanup().catch((e: unknown) => ({ error: messageOf(e) }));
    result.cleanup = { ...result.cleanup, containerd };
    rmSync(tmp, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    progress(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  result.figures['footprint'] = {};
  result.figures['handshake'] = {};
  try {
    const w = await phase('setup: key pair, images (build, push, sign), containers', () => setup(rig, tmp, runId));
    if (!w) throw new Error('setup failed');
    fixtures = w.fixtures;
    progress(`setup done: ${JSON.stringify(result.setup)}`);

    await phase('1. warm Attest through gRPC (N = 1, 16, 128) and in process', () => warmPhase(w));
    measuredWarm(m);
    await phase('1b. CPU profile of the plugin in the warm loop', () => profilePhase(w));
    // The containerd containers, made once for 1c and 2b (whichever runs first).
    let ctrd: Promise<CtrdWorld> | undefined;
    const ctrdWorld = (): Promise<CtrdWorld> => (ctrd ??= containerdSetup(w, ctrdFixtures));
    await phase('1c. warm Attest, containerd 1.6 / 2.x (ctr default ns, kubelet-style k8s.io)', async () => containerdWarmPhase(await ctrdWorld()));
    const cold = await phase('2. cold Attest (new image, new Configure per sample)', () => coldPhase(w));
    if (cold) {
      m.coldRequests = cold['requestsMedian'];
      m.coldDepth = cold['depthMedian'];
      m.coldGrpc = cold['grpcMedian'];
    }
    await phase('2b. cold Attest, containerd 1.6 / 2.x (new image, new Configure per sample)', async () => containerdColdPhase(w, await ctrdWorld()));
    const st = await phase('3. stampede: 200 concurrent Attests of one new image', () => stampedePhase(w, m.coldRequests));
    if (st) m.stampede = st;
    const fleet = await phase('3b. fleet: simulated clock, real registry (steady 24 h, 1 h outage, restart)', () => fleetPhase(w));
    if (fleet) m.fleet = fleet;
    const fl = await phase('4. footprint (launcher): RSS after 10,000 Attests over 20 images', () => footprintPhase(w, LAUNCHER, 'launcher'));
    if (fl) {
      m.rssLauncher = fl.rssAfter;
      m.rssSettledLauncher = fl.rssSettled;
      m.rssIdleLauncher = fl.rssConfigured;
    }
    await phase('4b. memory: where the resident set goes (inspector, full GC)', () => memoryPhase(w));
    const hl = await phase('4. spawn -> handshake (launcher)', () => handshakePhase(LAUNCHER, 'launcher'));
    await phase('4c. start-up CPU profile (launcher)', () => startupPhase(w));
    if (hl) {
      m.handshakeLauncher = hl.ms;
      m.handshakeLauncherOverBare = hl.overBareNode;
    }
    let seaWorks = false;
    if (w.seaAvailable) {
      const hs = await phase('4. spawn -> handshake (single executable)', () => handshakePhase(SEA, 'sea'));
      if (hs) {
        m.handshakeSea = hs.ms;
        m.handshakeSeaOverBare = hs.overBareNode;
        seaWorks = true;
        const fs = await phase('4. footprint (single executable)', () => footprintPhase(w, SEA, 'sea'));
        if (fs) {
          m.rssSea = fs.rssAfter;
          m.rssSettledSea = fs.rssSettled;
          m.rssIdleSea = fs.rssConfigured;
        }
      }
    } else {
      (result.figures['handshake'] as Record<string, unknown>)['sea'] = 'dist-sea/spire-sigstore-attestor not present (npm run build:sea)';
    }
    const cs = await phase('5a. cosign verify per attestation', () => cosignPhase(w));
    if (cs) m.cosign = cs;
    if (cs && m.warm1) result.figures['sideBySide'] = sideBySide(cs, m.warm1, m.coldGrpc);
    const ag = await phase('5b. Workload API fetch: two spire-agents (ours vs built-in docker)', () => agentPhase(w, seaWorks));
    if (ag) m.agent = ag;
    const cp = await phase("5c. Workload API fetch: ours vs SPIRE's docker attestor with sigstore { } (keyless, test Sigstore)", () =>
      competitorPhase(w, seaWorks),
    );
    if (cp) m.competitor = cp;
  } finally {
    progress('cleanup: plugins, agents, containers, images');
    await cleanup();
  }

  result.machine['loadAverageAtEnd'] = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  result.setup['pluginSocketDirsLeftBySigtermRace'] = socketDirsLeft();
  result.figures['runtimeComparison'] = runtimeComparison(result.figures);
  result.goals = goals(m);
  result.findings = findings(m, result.goals, result.figures);
  result.table = rows;
  finishResult();

  const written = writeResults(result);
  process.stdout.write(summaryText(result, written));
  return result.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
