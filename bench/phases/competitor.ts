// 5c. The real competitor doing the same job: SPIRE's built-in docker
// attestor with its `sigstore { }` block verifying keyless-signed images
// (test Sigstore: @sigstore/mock CA, CT log and Rekor, trust material handed
// to SPIRE through a loopback TUF repository, see bench/lib/competitor.ts)
// against our plugin verifying the same images with the same trust, on one
// spire-server. Workload API fetch time, warm (one image, alternating) and
// cold (a new image per sample: the first attestation of that image on each
// agent; which agent goes first alternates).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { pushLegacySignature } from '../../test/support/push-signature.js';
import { TRUST_DOMAIN } from '../../test/support/spire.js';
import { ecKeys, fulcioExtensions, issueCert, keylessLegacy, mockSigstore, type MockSigstore } from '../../test/unit/verify/support/rig.js';
import { parseGoDuration } from '../lib/agents.js';
import { spireSigstoreTrust, startSigstoreAgents, type SigstoreAgents } from '../lib/competitor.js';
import { KNOBS } from '../lib/knobs.js';
import { live } from '../lib/live.js';
import { LAUNCHER, LAUNCHER_ENV, REPO, SEA } from '../lib/paths.js';
import { progress } from '../lib/progress.js';
import { RegistryLog, requestKind } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { sleep } from '../lib/util.js';

import type { Digest } from '../../src/registry/types.js';
import type { BenchContainer, BenchImage } from '../lib/images.js';
import type { World } from '../lib/world.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const RELEASE = 'https://github.com/acme/bench/.github/workflows/release.yml@refs/heads/main';
const NIGHTLY = 'https://github.com/acme/bench/.github/workflows/nightly.yml@refs/heads/main';
const OURS_ID = `spiffe://${TRUST_DOMAIN}/bench/ours-keyless`;
const SPIRE_ID = `spiffe://${TRUST_DOMAIN}/bench/spire-sigstore`;
const EARLY_ID = `spiffe://${TRUST_DOMAIN}/bench/ours-keyless-early`;
// A closed loopback port: SPIRE's Rekor client is never to reach anything.
const NO_REKOR = 'http://127.0.0.1:9';

// Bounded counts (env overrides for development).
const COLD_SAMPLES = Number(process.env['SSA_BENCH_COMPETITOR_COLD'] ?? KNOBS.coldSamples);
const WARM_FETCHES = Number(process.env['SSA_BENCH_COMPETITOR_WARM'] ?? KNOBS.agentFetches);
const WARMUP = KNOBS.agentWarmup;

export interface CompetitorFetch {
  warm: { ours: Summary; spire: Summary; ratio: number };
  // `ours`: the default configuration (verifies on the first call);
  // `early`: prefetch_on_start = true (verifies when the container starts).
  cold: { ours: Summary; early: Summary; spire: Summary; ratio: number; earlyRatio: number };
  // The workload's first act is the fetch (the container starts with it).
  firstAct: { ours: Summary; early: Summary; spire: Summary; ratio: number; earlyRatio: number };
}

type Who = 'ours' | 'early' | 'spire';
const WHO: readonly Who[] = ['ours', 'early', 'spire'];

// plugin_data for ours: keyless only, the test Sigstore's trusted_root.json,
// tlog and SCT required (the defaults), as SPIRE's block below requires them.
function oursHcl(w: Pick<World, 'rig'>, trustedRoot: string, prefetch: boolean): string {
  return [
    `docker_socket_path = "${w.rig.dockerHost}"`,
    ...(prefetch ? ['prefetch_on_start = true'] : []),
    'log_level = "info"',
    'offline = true',
    'persist_verdicts = false',
    `trusted_root_file = "${trustedRoot}"`,
    'signer_selectors = "named"',
    'identity {',
    '  name = "release"',
    `  issuer = "${ISSUER}"`,
    `  subject = "${RELEASE}"`,
    '}',
    `registry "${w.rig.registry}" {`,
    '  insecure = true',
    '}',
  ]
    .map((l) => `      ${l}`)
    .join('\n');
}

// SPIRE v1.15 docker attestor `sigstore { }` (pkg/agent/common/sigstore/config.go HCLConfig).
function spireSigstoreBlock(): string {
  return [
    `allowed_identities = {`,
    `  "${ISSUER}" = ["${RELEASE}"]`,
    `}`,
    // Verify the Rekor bundle (SET) and the SCT, as ours does.
    'ignore_tlog = false',
    'ignore_sct = false',
    // The images carry no attestations (with the default false, cosign's
    // VerifyImageAttestations fails on none: no SVID at all).
    'ignore_attestations = true',
    `rekor_url = "${NO_REKOR}"`,
  ]
    .map((l) => `        ${l}`)
    .join('\n');
}

export async function competitorPhase(w: Pick<World, 'rig' | 'tmp' | 'fixtures'> & { regLog?: RegistryLog }, useSea: boolean): Promise<CompetitorFetch> {
  const dir = join(w.tmp, 'competitor');
  const sigstore = await mockSigstore();
  // Same identity, but a CA SPIRE and ours do not trust.
  const stranger = await mockSigstore();
  progress('5c: trust material: TUF repository on 127.0.0.1, cosign initialize into TUF_ROOT');
  const trust = await spireSigstoreTrust(w.rig, sigstore, join(dir, 'trust'));
  const servedAfterInit = trust.repo.served().length;
  const trustedRoot = join(dir, 'trust', 'trusted_root.json');
  writeFileSync(trustedRoot, JSON.stringify(sigstore.trustedRoot));

  // `certBy`: the CA that issues the certificate, when not `by` (whose Rekor logs it).
  const signed = async (name: string, by: MockSigstore, san: string, certBy?: MockSigstore): Promise<BenchImage> => {
    const img = await w.fixtures.image(name, undefined, true);
    const keys = ecKeys();
    const cert = certBy ? await issueCert(certBy.ca, keys, { san, extensions: fulcioExtensions(ISSUER) }) : undefined;
    const sig = await keylessLegacy(by, img.digest as Digest, { san, extensions: fulcioExtensions(ISSUER), keys, ...(cert ? { cert } : {}) });
    await pushLegacySignature({ url: `http://${w.rig.registry}`, repository: img.repository }, sig.candidate);
    return img;
  };
  progress(`5c: images: 1 warm, 3 negative, ${COLD_SAMPLES} cold, keyless-signed (legacy .sig with Rekor bundle and SCT)`);
  const main = await signed('competitor-main', sigstore, RELEASE);
  const wrongIdentity = await signed('competitor-wrong-identity', sigstore, NIGHTLY);
  // Another Sigstore altogether (CA, CT log, Rekor).
  const untrusted = await signed('competitor-untrusted-sigstore', stranger, RELEASE);
  // Only the certificate from an untrusted CA; logged in the trusted Rekor.
  const untrustedCa = await signed('competitor-untrusted-ca', sigstore, RELEASE, stranger);
  const coldImages: BenchImage[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) coldImages.push(await signed(`competitor-cold-${i}`, sigstore, RELEASE));
  // First act: a new image per agent and sample (a start is seen by every
  // agent's attestor: an image another agent saw start is not new to it).
  const firstActImages = {} as Record<Who, BenchImage[]>;
  for (const who of WHO) {
    firstActImages[who] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) firstActImages[who].push(await signed(`competitor-first-${who}-${i}`, sigstore, RELEASE));
  }

  const pluginCmd = useSea ? SEA : LAUNCHER;
  let agents: SigstoreAgents | undefined;
  const containers: BenchContainer[] = [];
  try {
    progress('5c: spire-server, spire-agent (ours), spire-agent (built-in docker + sigstore)');
    agents = await startSigstoreAgents({
      rig: w.rig,
      dir: join(dir, 'spire'),
      pluginCmd,
      pluginEnv: useSea ? {} : LAUNCHER_ENV,
      pluginData: oursHcl(w, trustedRoot, false),
      pluginDataEarly: oursHcl(w, trustedRoot, true),
      sigstoreBlock: spireSigstoreBlock(),
      spireEnv: trust.env,
    });
    live.agents = agents;
    const a = agents;
    await a.server.cli(['entry', 'create', '-parentID', a.ours.parentId, '-spiffeID', OURS_ID, '-selector', 'docker:image-signature-identity:release']);
    await a.server.cli(['entry', 'create', '-parentID', a.early.parentId, '-spiffeID', EARLY_ID, '-selector', 'docker:image-signature-identity:release']);
    // Only selectors SPIRE derives from a verified signature.
    await a.server.cli([
      'entry',
      'create',
      '-parentID',
      a.spire.parentId,
      '-spiffeID',
      SPIRE_ID,
      '-selector',
      'docker:image-signature:verified',
      '-selector',
      `docker:image-signature-subject:${RELEASE}`,
      '-selector',
      `docker:image-signature-issuer:${ISSUER}`,
    ]);
    const mounts = [
      '-v',
      `${join(a.ours.dir, 'sock')}:/run/ours`,
      '-v',
      `${join(a.early.dir, 'sock')}:/run/early`,
      '-v',
      `${join(a.spire.dir, 'sock')}:/run/spire`,
    ];
    const fetchArgs = (who: Who, timeout = '5s'): string[] => [
      '/bin/spire-agent',
      'api',
      'fetch',
      'x509',
      '-socketPath',
      `/run/${who}/agent.sock`,
      '-timeout',
      timeout,
    ];
    const idOf = (who: Who): string => ({ ours: OURS_ID, early: EARLY_ID, spire: SPIRE_ID })[who];
    const agentOf = (who: Who) => ({ ours: a.ours, early: a.early, spire: a.spire })[who];
    const start = async (img: BenchImage): Promise<BenchContainer> => {
      const c = await w.fixtures.container(img, mounts);
      containers.push(c);
      return c;
    };

    // Entries reach the agents with their next sync; the first fetches also
    // take the agents' one-time costs (not counted anywhere).
    const mainC = await start(main);
    const syncStart = performance.now();
    for (const who of WHO) {
      for (;;) {
        const r = await w.fixtures.exec(mainC.id, fetchArgs(who), 30_000);
        if (r.code === 0 && r.out.includes(idOf(who))) break;
        if (performance.now() - syncStart > 90_000)
          throw new Error(
            `agent ${who}: no SVID for the keyless-signed image after 90 s: ${r.out.slice(0, 400)}\nagent log tail:\n${agentOf(who).log().slice(-3000)}`,
          );
        await sleep(1_000);
      }
    }
    const syncMs = performance.now() - syncStart;

    // Does it really verify? Wrong identity and untrusted CA: no SVID.
    const negatives: Record<string, Record<Who, { svid: boolean; output: string }>> = {};
    for (const [label, img] of [
      ['wrongIdentity', wrongIdentity],
      ['untrustedSigstore', untrusted],
      ['untrustedCaTrustedRekor', untrustedCa],
    ] as const) {
      const c = await start(img);
      const got = {} as Record<Who, { svid: boolean; output: string }>;
      for (const who of WHO) {
        const r = await w.fixtures.exec(c.id, fetchArgs(who, '3s'), 30_000);
        got[who] = { svid: r.code === 0 && r.out.includes(idOf(who)), output: r.out.trim().slice(0, 300) };
      }
      negatives[label] = got;
    }
    const spireWarnings = a.spire
      .log()
      .split('\n')
      .filter((l) => l.includes('Error verifying sigstore image signature'))
      .map((l) => l.slice(0, 600));
    const verified = {
      positive: { ours: OURS_ID, spire: SPIRE_ID },
      negatives,
      spireVerificationErrors: spireWarnings.slice(0, 4),
      tufRequestsDuringInitialize: servedAfterInit,
      tufRequestsAfterInitialize: trust.repo.served().slice(servedAfterInit),
    };
    const leaked = Object.entries(negatives).filter(([, g]) => g.ours.svid || g.early.svid || g.spire.svid);
    if (leaked.length > 0)
      throw new Error(`verification check failed: an SVID was issued for ${leaked.map(([l]) => l).join(', ')}: ${JSON.stringify(negatives)}`);

    const parse = (out: string): Record<Who, number[]> => {
      const got: Record<Who, number[]> = { ours: [], early: [], spire: [] };
      for (const block of out.split('@@ ').slice(1)) {
        const who = WHO.find((x) => block.startsWith(x)) ?? 'spire';
        const m = /Received \d+ svids? after (\S+)/.exec(block);
        got[who].push(m?.[1] !== undefined && block.includes(idOf(who)) ? parseGoDuration(m[1]) : Number.NaN);
      }
      return got;
    };
    const one = (who: Who): string => `echo "@@ ${who}"; ${fetchArgs(who).join(' ')}`;

    // Warm: one container, alternating which agent goes first per round.
    progress(`5c: warm, ${WARMUP} + ${WARM_FETCHES} rounds`);
    const rounds = WARMUP + WARM_FETCHES;
    const script = `i=0; while [ $i -lt ${rounds} ]; do if [ $((i % 2)) -eq 0 ]; then ${one('ours')}; ${one('spire')}; else ${one('spire')}; ${one('ours')}; fi; i=$((i+1)); done`;
    const wr = parse((await w.fixtures.exec(mainC.id, ['sh', '-c', script], 300_000)).out);
    const warmFailed = [...wr.ours, ...wr.spire].filter((x) => !Number.isFinite(x)).length;
    const warmOurs = summarize(wr.ours.slice(WARMUP).filter(Number.isFinite));
    const warmSpire = summarize(wr.spire.slice(WARMUP).filter(Number.isFinite));

    // Cold: a new keyless-signed image per sample, its first attestation on
    // each agent (the agents' caches are their own); which agent goes first
    // rotates. ours-early verifies the image when the container starts: the
    // fetches are measured once its registry requests for the image are over
    // (its signature blob fetched), so that no other agent shares the CPU
    // with that verification.
    progress(`5c: cold, ${COLD_SAMPLES} new images`);
    const cold: Record<Who, number[]> = { ours: [], early: [], spire: [] };
    const coldRequests: Record<Who, number[]> = { ours: [], early: [], spire: [] };
    const coldKinds: Record<Who, string[]> = { ours: [], early: [], spire: [] };
    const regLog = w.regLog ?? new RegistryLog(w.rig.stateDir);
    const repoLines = (img: BenchImage, from: number) => regLog.lines(from).filter((l) => l.path.startsWith(`/v2/${img.repository}/`) || l.path === '/v2/');
    let coldFailed = 0;
    let earlyWaitMs = 0;
    for (let i = 0; i < coldImages.length; i++) {
      const img = coldImages[i] as BenchImage;
      const before = regLog.offset();
      const startedAt = performance.now();
      const c = await start(img);
      while (!repoLines(img, before).some((l) => l.path.includes('/blobs/')) && performance.now() - startedAt < 10_000) await sleep(10);
      earlyWaitMs = Math.max(earlyWaitMs, performance.now() - startedAt);
      coldRequests.early.push(repoLines(img, before).length);
      if (i === 0) coldKinds.early = repoLines(img, before).map((l) => `${requestKind(l)} [${l.userAgent.split(' ')[0] ?? ''}]`);
      const order = WHO.map((_, k) => WHO[(i + k) % WHO.length] as Who);
      for (const who of order) {
        const from = regLog.offset();
        const got = parse((await w.fixtures.exec(c.id, ['sh', '-c', one(who)], 60_000)).out);
        const v = got[who][0] ?? Number.NaN;
        if (Number.isFinite(v)) cold[who].push(v);
        else coldFailed++;
        // The registry's access log: this image's repository, this window.
        if (who === 'early') continue;
        const reqs = repoLines(img, from);
        coldRequests[who].push(reqs.length);
        if (i === 0) coldKinds[who] = reqs.map((l) => `${requestKind(l)} [${l.userAgent.split(' ')[0] ?? ''}]`);
      }
      await w.fixtures.removeContainers([c.id]);
      containers.splice(containers.indexOf(c), 1);
    }

    // First act: each sample a new container of a new image whose command is
    // the fetch, so the workload calls as soon as it starts (ours-early's
    // verification races the call). ours-early is measured first, then
    // stopped, so that its verification of other agents' starts takes no CPU
    // from their measurements.
    progress(`5c: first act, ${COLD_SAMPLES} new images per agent`);
    const firstAct: Record<Who, number[]> = { ours: [], early: [], spire: [] };
    let firstActFailed = 0;
    for (const who of ['early', 'ours', 'spire'] as const) {
      if (who === 'ours') await a.early.stop();
      for (const img of firstActImages[who]) {
        const r = await w.fixtures.runOnce(img, mounts, fetchArgs(who));
        const m = /Received \d+ svids? after (\S+)/.exec(r.out);
        const v = m?.[1] !== undefined && r.out.includes(idOf(who)) ? parseGoDuration(m[1]) : Number.NaN;
        if (Number.isFinite(v)) firstAct[who].push(v);
        else firstActFailed++;
      }
    }
    const coldOurs = summarize(cold.ours);
    const coldEarly = summarize(cold.early);
    const coldSpire = summarize(cold.spire);
    const firstOurs = summarize(firstAct.ours);
    const firstEarly = summarize(firstAct.early);
    const firstSpire = summarize(firstAct.spire);
    const counts = [warmOurs, warmSpire, coldOurs, coldEarly, coldSpire, firstOurs, firstEarly, firstSpire].map((x) => x.samples);
    if (counts.some((n) => n === 0)) throw new Error(`5c: fetch times missing (warm, cold and first act samples: ${counts.join('/')})`);
    const warmRatio = round(warmOurs.median / warmSpire.median, 3);
    const coldRatio = round(coldOurs.median / coldSpire.median, 3);
    const coldEarlyRatio = round(coldEarly.median / coldSpire.median, 3);
    const firstRatio = round(firstOurs.median / firstSpire.median, 3);
    const firstEarlyRatio = round(firstEarly.median / firstSpire.median, 3);

    row('agent fetch x509 warm, ours (keyless)', 'ms', warmOurs, `plugin_cmd ${useSea ? 'SEA' : 'launcher'}`);
    row('agent fetch x509 warm, SPIRE docker + sigstore', 'ms', warmSpire, `ratio of medians ${warmRatio} (goal <= 1.0)`);
    row('agent fetch x509 cold (new image), ours (keyless)', 'ms', coldOurs, `ratio to SPIRE ${coldRatio}`);
    row('agent fetch x509 cold (new image), ours with prefetch_on_start', 'ms', coldEarly, `ratio to SPIRE ${coldEarlyRatio} (goal <= 0.5)`);
    row('agent fetch x509 cold (new image), SPIRE docker + sigstore', 'ms', coldSpire);
    row('agent fetch x509 first act (new image), ours (keyless)', 'ms', firstOurs, `ratio to SPIRE ${firstRatio}`);
    row('agent fetch x509 first act (new image), ours with prefetch_on_start', 'ms', firstEarly, `ratio to SPIRE ${firstEarlyRatio}`);
    row('agent fetch x509 first act (new image), SPIRE docker + sigstore', 'ms', firstSpire);
    result.figures['competitorSigstore'] = {
      what: `spire-agent api fetch x509 (static client) inside containers of keyless-signed images (legacy .sig, test Sigstore: @sigstore/mock Fulcio-style CA, CT log (embedded SCT), Rekor bundle), three spire-agent v1.15 on one spire-server: "ours" = the plugin by plugin_cmd (${useSea ? 'dist-sea single executable' : 'bin/ launcher'}) with trusted_root_file and identity "release" (tlog and SCT required); "spire" = SPIRE's built-in docker attestor with sigstore { allowed_identities, ignore_tlog = false, ignore_sct = false, ignore_attestations = true, rekor_url = closed loopback port }, its Fulcio root, Rekor and CT keys from a TUF repository on 127.0.0.1 loaded into TUF_ROOT by cosign initialize. Entries on signer selectors only (ours docker:image-signature-identity:release; SPIRE docker:image-signature:verified + image-signature-subject + image-signature-issuer). Time = what the client prints ("Received 1 svid after ...": the Workload API call, attestation included, process start excluded). Warm: one container, ${WARMUP} + ${WARM_FETCHES} alternating rounds, first ${WARMUP} dropped. Cold: ${COLD_SAMPLES} new images, one container each (sleeping), the first fetch on each agent by docker exec (which agent goes first rotates), measured once "early" (ours with prefetch_on_start = true, a third agent) has verified the image from the container's start event (its registry requests for the image done: at most ${round(earlyWaitMs, 0)} ms after docker run returned). First act: ${COLD_SAMPLES} new images per agent, each a container whose command is the fetch (the workload calls as it starts; early's verification races the call); early measured first and then stopped`,
      spireConfig: {
        env: trust.env,
        sigstoreBlock: spireSigstoreBlock()
          .split('\n')
          .map((l) => l.trim()),
        tufMirror: trust.repo.url,
        tufTargets: ['fulcio_v1.crt.pem (usage Fulcio)', 'rekor.pub (usage Rekor)', 'ctfe.pub (usage CTFE)'],
        cosignInitialize: trust.initializeOutput.split('\n').slice(0, 6),
      },
      pluginCmd: pluginCmd.replace(REPO, ''),
      entrySyncMs: round(syncMs, 0),
      verified,
      warm: { oursMs: warmOurs, spireMs: warmSpire, ratioOfMedians: warmRatio, failedFetches: warmFailed },
      cold: {
        oursMs: coldOurs,
        earlyMs: coldEarly,
        spireMs: coldSpire,
        ratioOfMedians: coldRatio,
        earlyRatioOfMedians: coldEarlyRatio,
        failedFetches: coldFailed,
        registryRequests: {
          ours: summarize(coldRequests.ours),
          early: summarize(coldRequests.early),
          spire: summarize(coldRequests.spire),
          earlyDuringFetch: 'none: its requests end before the fetches start (the wait above)',
          firstSample: coldKinds,
        },
        samplesOurs: cold.ours.map((x) => round(x, 2)),
        samplesEarly: cold.early.map((x) => round(x, 2)),
        samplesSpire: cold.spire.map((x) => round(x, 2)),
      },
      firstAct: {
        oursMs: firstOurs,
        earlyMs: firstEarly,
        spireMs: firstSpire,
        ratioOfMedians: firstRatio,
        earlyRatioOfMedians: firstEarlyRatio,
        failedFetches: firstActFailed,
        samplesOurs: firstAct.ours.map((x) => round(x, 2)),
        samplesEarly: firstAct.early.map((x) => round(x, 2)),
        samplesSpire: firstAct.spire.map((x) => round(x, 2)),
      },
    };
    return {
      warm: { ours: warmOurs, spire: warmSpire, ratio: warmRatio },
      cold: { ours: coldOurs, early: coldEarly, spire: coldSpire, ratio: coldRatio, earlyRatio: coldEarlyRatio },
      firstAct: { ours: firstOurs, early: firstEarly, spire: firstSpire, ratio: firstRatio, earlyRatio: firstEarlyRatio },
    };
  } finally {
    await w.fixtures.removeContainers(containers.map((c) => c.id)).catch(() => undefined);
    await agents?.stop().catch(() => undefined);
    if (live.agents === agents) live.agents = undefined;
    await trust.repo.close();
  }
}
