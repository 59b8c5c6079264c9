// The real competitor with its Sigstore verification on: a spire-agent
// v1.15 whose built-in docker WorkloadAttestor has a `sigstore { }` block,
// pointed at the test Sigstore (@sigstore/mock: CA, CT log, Rekor) instead of
// public-good, entirely on loopback.
//
// How SPIRE finds its trust material (v1.15.3, pkg/agent/common/sigstore/
// sigstore.go, ImageVerifier.Init):
//  * Fulcio roots: sigstore/sigstore v1.10.9 pkg/fulcioroots.Get() ->
//    pkg/tuf.NewFromEnv: the legacy (go-tuf v0.7) TUF client over $TUF_ROOT
//    (tuf.db + remote.json + targets/). No file override exists there (the
//    SIGSTORE_ROOT_FILE that SPIRE's docs mention is read only by cosign's
//    own CLI, internal/pkg/cosign/fulcio/fulcioroots), so the Fulcio root has
//    to come through TUF: a TUF repository of our own, served on 127.0.0.1,
//    whose targets carry sigstore custom metadata (usage Fulcio / Rekor /
//    CTFE), loaded into $TUF_ROOT by `cosign initialize --mirror --root`
//    (cosign v3 falls back to the legacy tufv1.Initialize when the mirror has
//    no trusted_root.json).
//  * Rekor and CT log keys: cosign v3 pkg/cosign.GetRekorPubs / GetCTLogPubs,
//    from the same TUF targets (or SIGSTORE_REKOR_PUBLIC_KEY /
//    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE, which win over TUF when set).
//  * Once $TUF_ROOT holds unexpired timestamp metadata the agent reads it
//    without touching the mirror (initializeTUF: "We're golden"); the served
//    request count shows it.
//  * A legacy `.sig` with a Rekor bundle verifies offline (cosign
//    verifyInternal: VerifyBundle; the Rekor client is used only when there
//    is no bundle), so rekor_url points at a closed loopback port.
//  * The registry: go-containerregistry uses plain HTTP for 127.0.0.1:<port>
//    on its own (name.Registry.Scheme), no option needed.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

import { offlineEnv } from '../../test/support/cosign.js';
import { freePort } from '../../test/support/registries.js';
import { startSpireServer, type Daemon, type SpireServer } from '../../test/support/spire.js';
import { run, type Rig } from '../../test/support/rig.js';
import { bytes, pem, type MockSigstore } from '../../test/unit/verify/support/rig.js';

import { ourAttestorHcl, startAgent, type Agent } from './agents.js';

// ---------------------------------------------------------------------------
// A TUF repository the legacy go-tuf v0.7 client accepts: ed25519 keys whose
// key IDs are sha256 of the canonical key (go-tuf checks that), spec 1.0,
// no consistent snapshots, sha256 + sha512 target hashes.

export interface LegacyTufTarget {
  readonly name: string;
  readonly content: Buffer;
  // sigstore/sigstore pkg/tuf UsageKind: Fulcio, Rekor, CTFE, TSA.
  readonly usage: 'Fulcio' | 'Rekor' | 'CTFE' | 'TSA';
}

export interface LegacyTufRepo {
  readonly url: string;
  readonly rootFile: string;
  served(): string[];
  close(): Promise<void>;
}

export async function serveLegacyTufRepo(dir: string, targets: readonly LegacyTufTarget[]): Promise<LegacyTufRepo> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const keyID = createHash('sha256')
    // The key's canonical JSON (sorted keys, no spaces), as go-tuf hashes it.
    .update(`{"keytype":"ed25519","keyval":{"public":"${raw}"},"scheme":"ed25519"}`)
    .digest('hex');
  const key = new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: raw } });
  const signer = (data: Buffer): Signature => new Signature({ keyID, sig: sign(null, data, privateKey).toString('hex') });
  const expires = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const hashes = (b: Buffer): Record<string, string> => ({
    sha256: createHash('sha256').update(b).digest('hex'),
    sha512: createHash('sha512').update(b).digest('hex'),
  });
  const body = (m: Metadata<Root | Targets | Snapshot | Timestamp>): Buffer => Buffer.from(JSON.stringify(m.toJSON()));

  const root = new Metadata(new Root({ version: 1, specVersion: '1.0.0', expires, consistentSnapshot: false }));
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) root.signed.addKey(key, role);
  root.sign(signer);
  const targetsMeta = new Metadata(new Targets({ version: 1, specVersion: '1.0.0', expires }));
  for (const t of targets) {
    targetsMeta.signed.addTarget(
      new TargetFile({
        path: t.name,
        length: t.content.length,
        hashes: hashes(t.content),
        unrecognizedFields: { custom: { sigstore: { usage: t.usage, status: 'Active' } } },
      }),
    );
  }
  targetsMeta.sign(signer);
  const targetsBody = body(targetsMeta);
  const snapshot = new Metadata(
    new Snapshot({
      version: 1,
      specVersion: '1.0.0',
      expires,
      meta: { 'targets.json': new MetaFile({ version: 1, length: targetsBody.length, hashes: hashes(targetsBody) }) },
    }),
  );
  snapshot.sign(signer);
  const snapshotBody = body(snapshot);
  const timestamp = new Metadata(
    new Timestamp({
      version: 1,
      specVersion: '1.0.0',
      expires,
      snapshotMeta: new MetaFile({ version: 1, length: snapshotBody.length, hashes: hashes(snapshotBody) }),
    }),
  );
  timestamp.sign(signer);
  const rootBody = body(root);

  const files = new Map<string, Buffer>([
    ['/1.root.json', rootBody],
    ['/root.json', rootBody],
    ['/timestamp.json', body(timestamp)],
    ['/snapshot.json', snapshotBody],
    ['/targets.json', targetsBody],
    ...targets.map((t): [string, Buffer] => [`/targets/${t.name}`, t.content]),
  ]);
  const rootFile = join(dir, 'tuf-root.json');
  writeFileSync(rootFile, rootBody);
  const served: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    served.push(path);
    const file = files.get(path);
    res.writeHead(file ? 200 : 404, { 'content-type': 'application/json' });
    res.end(file ?? '');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    rootFile,
    served: () => [...served],
    close: () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  };
}

// ---------------------------------------------------------------------------
// The test Sigstore's trust material as SPIRE takes it.

export interface SpireSigstoreTrust {
  // $TUF_ROOT for the agent, filled by `cosign initialize`.
  readonly tufRoot: string;
  readonly repo: LegacyTufRepo;
  // The files the TUF targets were made of (also usable as
  // SIGSTORE_REKOR_PUBLIC_KEY / SIGSTORE_CT_LOG_PUBLIC_KEY_FILE).
  readonly fulcioRootPem: string;
  readonly rekorPubPem: string;
  readonly ctfePubPem: string;
  readonly initializeOutput: string;
  // The environment the agent runs with.
  readonly env: Record<string, string>;
}

export async function spireSigstoreTrust(rig: Rig, sigstore: MockSigstore, dir: string): Promise<SpireSigstoreTrust> {
  if (rig.cosign === null) throw new Error('cosign not available in the rig');
  mkdirSync(dir, { recursive: true });
  const fulcio = Buffer.from(pem(bytes(sigstore.ca.rootCertificate)));
  const rekor = Buffer.from(sigstore.tlogKeys.publicKey.export({ format: 'pem', type: 'spki' }));
  const ctfe = Buffer.from(sigstore.ctKeys.publicKey.export({ format: 'pem', type: 'spki' }));
  const fulcioRootPem = join(dir, 'fulcio_v1.crt.pem');
  const rekorPubPem = join(dir, 'rekor.pub');
  const ctfePubPem = join(dir, 'ctfe.pub');
  writeFileSync(fulcioRootPem, fulcio);
  writeFileSync(rekorPubPem, rekor);
  writeFileSync(ctfePubPem, ctfe);
  const repo = await serveLegacyTufRepo(dir, [
    { name: 'fulcio_v1.crt.pem', content: fulcio, usage: 'Fulcio' },
    { name: 'rekor.pub', content: rekor, usage: 'Rekor' },
    { name: 'ctfe.pub', content: ctfe, usage: 'CTFE' },
  ]);
  const tufRoot = join(dir, 'tuf-root');
  const env = { ...offlineEnv(tufRoot) };
  const r = await run(rig.cosign, ['initialize', '--mirror', repo.url, '--root', repo.rootFile], { timeoutMs: 60_000, env });
  const initializeOutput = `${r.stdout}\n${r.stderr}`.trim();
  if (r.code !== 0) {
    await repo.close();
    throw new Error(`cosign initialize (TUF_ROOT=${tufRoot}) failed (${r.code}): ${initializeOutput}`);
  }
  return { tufRoot, repo, fulcioRootPem, rekorPubPem, ctfePubPem, initializeOutput, env };
}

// ---------------------------------------------------------------------------
// One spire-server, two agents: ours (plugin_cmd) and SPIRE's docker
// attestor with `sigstore { }`.

export interface SigstoreAgents {
  readonly server: SpireServer;
  readonly ours: Agent;
  // Ours with prefetch_on_start = true: verifies images as containers start.
  readonly early: Agent;
  readonly spire: Agent;
  // = spire, so that this is an AgentPair for live.agents (cleanup on Ctrl-C).
  readonly builtin: Agent;
  stop(): Promise<void>;
}

export interface SigstoreAgentsOptions {
  readonly rig: Rig;
  readonly dir: string;
  readonly pluginCmd: string;
  readonly pluginEnv: NodeJS.ProcessEnv;
  // plugin_data body for ours, and for ours with prefetch_on_start.
  readonly pluginData: string;
  readonly pluginDataEarly: string;
  // The `sigstore { }` block's body for SPIRE's docker attestor.
  readonly sigstoreBlock: string;
  // The environment SPIRE's agent gets on top of process.env (TUF_ROOT, proxies).
  readonly spireEnv: Record<string, string>;
}

export function spireDockerSigstoreHcl(rig: Rig, sigstoreBlock: string): string {
  return `  WorkloadAttestor "docker" {
    plugin_data {
      docker_socket_path = "${rig.dockerHost}"
      sigstore {
${sigstoreBlock}
      }
    }
  }`;
}

export async function startSigstoreAgents(o: SigstoreAgentsOptions): Promise<SigstoreAgents> {
  const server = await startSpireServer(o.rig.spireServer, join(o.dir, 'server'));
  const started: Daemon[] = [server];
  try {
    const ours = await startAgent(o.rig, 'ours', join(o.dir, 'agent-ours'), server, ourAttestorHcl(o.pluginCmd, o.pluginData), {
      ...process.env,
      ...offlineEnv(join(o.dir, 'ours-tuf-unused')),
      ...o.pluginEnv,
    });
    started.push(ours);
    const early = await startAgent(o.rig, 'ours-early', join(o.dir, 'agent-early'), server, ourAttestorHcl(o.pluginCmd, o.pluginDataEarly), {
      ...process.env,
      ...offlineEnv(join(o.dir, 'ours-tuf-unused')),
      ...o.pluginEnv,
    });
    started.push(early);
    const spire = await startAgent(o.rig, 'spire-sigstore', join(o.dir, 'agent-spire'), server, spireDockerSigstoreHcl(o.rig, o.sigstoreBlock), {
      ...process.env,
      ...o.spireEnv,
    });
    started.push(spire);
    return {
      server,
      ours,
      early,
      spire,
      builtin: spire,
      async stop(): Promise<void> {
        await ours.stop();
        await early.stop();
        await spire.stop();
        await server.stop();
      },
    };
  } catch (err) {
    for (const d of started.reverse()) await d.stop().catch(() => undefined);
    throw err;
  }
}
