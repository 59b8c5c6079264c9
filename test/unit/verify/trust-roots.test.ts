// Several trusted roots at once: public-good, a private Sigstore (Fulcio,
// Rekor, CT log) and a GitHub-instance-style root (Fulcio and a TSA, no
// transparency log, no CT log), each a trusted_root "<name>" block, with
// rules that accept some roots only.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { acceptCandidates } from '../../../src/attest/signature-step.js';
import { buildConfig } from '../../../src/config/build.js';
import { silentLogger } from '../../../src/log.js';
import { TrustSource } from '../../../src/verify/trust-source.js';
import { thrown } from '../../support/errors.js';
import {
  ISSUER,
  SUBJECT,
  ecKeys,
  cosignStatement,
  keyedLegacy,
  keylessBundle,
  keylessLegacy,
  mockSigstore,
  randomDigest,
  tempDir,
  timestampAnnotation,
  writeJson,
  writeKey,
} from './support/rig.js';
import { rejectsAsync } from './support/setup.js';

import type { LegacyCandidate, SignatureCandidate } from '../../../src/verify/types.js';
import type { KeyPair, MockSigstore } from './support/rig.js';

let dir: string;
let privateSigstore: MockSigstore;
let github: MockSigstore;
let privatePath: string;
let githubPath: string;
let releaseKey: KeyPair;
let releaseKeyPath: string;

beforeAll(async () => {
  dir = tempDir();
  privateSigstore = await mockSigstore();
  github = await mockSigstore({ ct: false });
  privatePath = writeJson(dir, 'private.json', privateSigstore.trustedRoot);
  // Like GitHub's instance for private repositories: no Rekor, no CT log;
  // RFC 3161 timestamps are the trusted time.
  githubPath = writeJson(dir, 'github.json', { ...github.trustedRoot, tlogs: [], ctlogs: [] });
  releaseKey = ecKeys();
  releaseKeyPath = writeKey(dir, 'release', releaseKey.publicKey);
});

const roots = (): string =>
  [
    'offline = true',
    'trusted_root "public-good" { }',
    `trusted_root "private" {\n file = "${privatePath}"\n}`,
    `trusted_root "github" {\n file = "${githubPath}"\n}`,
  ].join('\n');

const rule = (name: string, trustedRoots?: readonly string[]): string =>
  `identity {\n name = "${name}"\n issuer = "${ISSUER}"\n subject = "${SUBJECT}"\n${trustedRoots ? ` trusted_roots = ${JSON.stringify(trustedRoots)}\n` : ''}}\n`;

async function verify(text: string, candidate: SignatureCandidate): Promise<ReturnType<typeof acceptCandidates>> {
  const config = buildConfig(text);
  const source = new TrustSource(config.signatures, silentLogger);
  try {
    await source.ready();
    const loaded = source.loaded;
    if (loaded === undefined) throw new Error('not loaded');
    return acceptCandidates(loaded, config.signatures.policy, [candidate], []);
  } finally {
    source.close();
  }
}

// A keyless signature with an RFC 3161 timestamp and no tlog entry, as
// GitHub's private instance makes them.
async function timestamped(sigstore: MockSigstore): Promise<LegacyCandidate> {
  const { candidate, signature } = await keylessLegacy(sigstore, randomDigest(), { tlog: false });
  return {
    ...candidate,
    annotations: { ...candidate.annotations, 'dev.sigstore.cosign/rfc3161timestamp': await timestampAnnotation(sigstore.tsa, signature) },
  };
}

describe('several trusted roots', () => {
  it('verifies each signature under the root its certificate chains to, and records that root', async () => {
    const gh = await verify(`${roots()}\n${rule('any')}`, await timestamped(github));
    // No tlog in that root: require_tlog defaults to false for it, and the
    // TSA's timestamp is the trusted time.
    expect(gh.accepted[0]).toMatchObject({ trustedRoot: 'github', tlog: false, identityRules: ['any'] });
    const priv = await verify(`${roots()}\n${rule('any')}`, (await keylessLegacy(privateSigstore, randomDigest())).candidate);
    expect(priv.accepted[0]).toMatchObject({ trustedRoot: 'private', tlog: true });
  });

  it('requires a tlog entry under a root that has a transparency log', async () => {
    const report = await verify(`${roots()}\n${rule('any')}`, await timestamped(privateSigstore));
    expect(report.accepted).toHaveLength(0);
    // The telling reason (under "private") wins over "not this root".
    expect(report.rejected[0]?.code).toBe('TLOG_MISSING');
    expect(report.rejected[0]?.error).toMatch(/under trusted root "private": signature has no transparency-log entry/);
    expect(report.rejected[0]?.error).toMatch(/under trusted root "github": /);
  });

  it("honours a rule's trusted_roots: a rule accepts signers verified under the roots it names only", async () => {
    const both = `${roots()}\n${rule('gh', ['github'])}${rule('priv', ['private'])}`;
    expect((await verify(both, await timestamped(github))).accepted[0]?.identityRules).toEqual(['gh']);
    const priv = await verify(both, (await keylessLegacy(privateSigstore, randomDigest())).candidate);
    expect(priv.accepted[0]?.identityRules).toEqual(['priv']);

    const onlyPrivate = await verify(`${roots()}\n${rule('priv', ['private'])}`, await timestamped(github));
    expect(onlyPrivate.accepted).toHaveLength(0);
    expect(onlyPrivate.rejected[0]?.error).toMatch(/under trusted root "github": signature is keyless, and no identity is configured/);
  });

  it("applies each root's require_tlog to key-based signatures and the key's trusted_roots", async () => {
    const key = (trustedRoots: readonly string[]): string =>
      `key {\n name = "release"\n path = "${releaseKeyPath}"\n trusted_roots = ${JSON.stringify(trustedRoots)}\n}\n`;
    const untlogged = await keyedLegacy(privateSigstore, randomDigest(), releaseKey, { tlog: false });
    expect((await verify(`${roots()}\n${key(['github'])}`, untlogged)).accepted[0]).toMatchObject({ trustedRoot: 'github', signer: { kind: 'key' } });
    const refused = await verify(`${roots()}\n${key(['private'])}`, untlogged);
    expect(refused.rejected[0]?.code).toBe('TLOG_MISSING');
    const logged = await keyedLegacy(privateSigstore, randomDigest(), releaseKey);
    expect((await verify(`${roots()}\n${key(['private'])}`, logged)).accepted[0]).toMatchObject({ trustedRoot: 'private', tlog: true });
  });

  it('refuses a key without trusted_roots when the roots differ in require_tlog (the weakest root would decide)', async () => {
    const unrestricted = `${roots()}\nkey {\n name = "release"\n path = "${releaseKeyPath}"\n}\n`;
    await rejectsAsync(
      () => new TrustSource(buildConfig(unrestricted).signatures, silentLogger).ready(),
      'KEY_INVALID',
      /key "release": name its trusted_roots: the trusted roots differ in require_tlog \(public-good, private require a transparency log, github do not\)/,
    );
  });

  it('lets a root require what it has, and refuses at load what it cannot have', async () => {
    const strict = `offline = true\ntrusted_root "github" {\n file = "${githubPath}"\n require_tlog = true\n}\n${rule('any')}`;
    const source = new TrustSource(buildConfig(strict).signatures, silentLogger);
    await rejectsAsync(() => source.ready(), 'TRUST_ROOT_INVALID', /trusted_root "github": require_tlog = true, but the root has no transparency logs/);
    const sct = `offline = true\ntrusted_root "github" {\n file = "${githubPath}"\n require_sct = true\n}\n${rule('any')}`;
    await rejectsAsync(
      () => new TrustSource(buildConfig(sct).signatures, silentLogger).ready(),
      'TRUST_ROOT_INVALID',
      /require_sct = true, but the root has no CT logs/,
    );
    // require_tlog = false on a root with a log: signatures without one pass.
    const lax = `offline = true\ntrusted_root "private" {\n file = "${privatePath}"\n require_tlog = false\n}\n${rule('any')}`;
    expect((await verify(lax, await timestamped(privateSigstore))).accepted[0]).toMatchObject({ trustedRoot: 'private', tlog: false });
  });

  it('fails closed when any root cannot be loaded, naming it', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    const text = `${roots()}\ntrusted_root "broken" {\n file = "${broken}"\n}\n${rule('any')}`;
    await rejectsAsync(
      () => new TrustSource(buildConfig(text).signatures, silentLogger).ready(),
      'TRUST_ROOT_INVALID',
      /trusted_root "broken": trusted root .*not JSON/,
    );
  });
});

describe('trusted_root configuration', () => {
  const errorOf = (text: string): string => thrown(() => buildConfig(text)).message;

  it('reads the blocks in order, with per-root requirements', () => {
    const config = buildConfig(`${roots()}\n${rule('any', ['github', 'private'])}`);
    expect(config.signatures.trustRoots.map((r) => [r.name, r.start.kind, r.requirements])).toEqual([
      ['public-good', 'embedded', { tlog: undefined, sct: undefined }],
      ['private', 'file', { tlog: undefined, sct: undefined }],
      ['github', 'file', { tlog: undefined, sct: undefined }],
    ]);
    expect(config.signatures.identities[0]?.trustedRoots).toEqual(['github', 'private']);
  });

  it('refreshes public-good and its own TUF roots unless offline', () => {
    const text = `trusted_root "public-good" { }\ntrusted_root "corp" {\n tuf {\n mirror_url = "https://tuf.corp.example"\n root_file = "/etc/corp-root.json"\n }\n}\n${rule('any')}`;
    const online = buildConfig(text).signatures.trustRoots;
    expect(online.map((r) => [r.name, r.start.kind, r.refresh, r.tuf?.mirrorUrl, r.tuf?.cacheDir])).toEqual([
      ['public-good', 'embedded', true, 'https://tuf-repo-cdn.sigstore.dev', '/var/lib/spire-sigstore-attestor/tuf'],
      ['corp', 'tuf', true, 'https://tuf.corp.example', '/var/lib/spire-sigstore-attestor/tuf'],
    ]);
    const offline = buildConfig(`offline = true\n${text}`).signatures.trustRoots;
    // Offline: public-good as embedded; corp from its verified TUF cache only.
    expect(offline.map((r) => [r.name, r.refresh, r.tuf?.mirrorUrl])).toEqual([
      ['public-good', false, undefined],
      ['corp', false, 'https://tuf.corp.example'],
    ]);
  });

  it.each([
    [
      'an unknown root in a rule',
      `${rule('any', ['gitlab'])}`,
      'identity[0].trusted_roots: "gitlab" is not a configured trusted root (configured: public-good, private, github)',
    ],
    ['an empty trusted_roots', `${rule('any', [])}`, 'identity[0].trusted_roots: must name at least one trusted root'],
    [
      'an unknown root in a key rule',
      'key {\n name = "k"\n path = "/k.pub"\n trusted_roots = ["nope"]\n}\n',
      'key[0].trusted_roots: "nope" is not a configured trusted root',
    ],
    ['trusted_root_file with blocks', `trusted_root_file = "/r.json"\n${rule('any')}`, 'trusted_root_file: cannot be combined with trusted_root blocks'],
    ['tuf with blocks', `tuf { cache_dir = "/c" }\n${rule('any')}`, 'tuf: cannot be combined with trusted_root blocks'],
    [
      'a global require_tlog with blocks',
      `require_tlog = false\n${rule('any')}`,
      'require_tlog: cannot be combined with trusted_root blocks: set it in each trusted_root block',
    ],
    ['a block with neither file nor tuf', `trusted_root "corp" { }\n${rule('any')}`, 'trusted_root["corp"]: needs file = "<trusted_root.json>" or tuf'],
    [
      'a file for public-good',
      `trusted_root "public-good" { file = "/x.json" }\n${rule('any')}`,
      'trusted_root["public-good"].file: "public-good" is the embedded',
    ],
    [
      'both file and tuf',
      `trusted_root "corp" {\n file = "/x.json"\n tuf { mirror_url = "https://t.example"\n root_file = "/r" }\n}\n${rule('any')}`,
      'cannot be combined with file',
    ],
    [
      'a TUF root without its root.json',
      `trusted_root "corp" {\n tuf { mirror_url = "https://t.example" }\n}\n${rule('any')}`,
      'trusted_root["corp"].tuf.root_file: is required',
    ],
    ['a TUF root without a mirror', `trusted_root "corp" {\n tuf { root_file = "/r" }\n}\n${rule('any')}`, 'trusted_root["corp"].tuf.mirror_url: is required'],
    ['a bad root name', `trusted_root "a b" { file = "/x.json" }\n${rule('any')}`, 'trusted_root["a b"]: "a b" is not a trusted root name'],
    [
      'an unknown key in a block',
      `trusted_root "corp" {\n file = "/x.json"\n path = "/y"\n}\n${rule('any')}`,
      'trusted_root["corp"].path: unknown configuration key',
    ],
  ])('rejects %s', (_name, extra, message) => {
    expect(errorOf(`${roots()}\n${extra}`)).toContain(message);
  });

  it('rejects one root name used twice', () => {
    expect(errorOf(`trusted_root "a" { file = "/a.json" }\ntrusted_root "a" { file = "/b.json" }\n${rule('any')}`)).toContain(
      'trusted_root "a" is configured twice',
    );
  });
});

describe('attestation rules and trusted roots', () => {
  const SLSA = 'https://slsa.dev/provenance/v1';
  const attestationRule = (trustedRoots: readonly string[]): string =>
    `attestation "build" {\n predicate_type = "${SLSA}"\n identity {\n issuer = "${ISSUER}"\n subject = "${SUBJECT}"\n trusted_roots = ${JSON.stringify(trustedRoots)}\n }\n}\n`;

  it("an attestation rule accepts an attestation only under its identity's trusted_roots, and records the root", async () => {
    const digest = randomDigest();
    const attestation = await keylessBundle(privateSigstore, digest, { statement: cosignStatement(digest, SLSA) });
    const accepted = await verify(`${roots()}\n${attestationRule(['private'])}`, attestation);
    expect(accepted.attestations).toEqual([expect.objectContaining({ predicateType: SLSA, rules: ['build'], trustedRoot: 'private' })]);
    const elsewhere = await verify(`${roots()}\n${attestationRule(['github', 'public-good'])}`, attestation);
    expect(elsewhere.attestations).toEqual([]);
    expect(elsewhere.rejected).toHaveLength(1);
  });

  it('names an unknown root in an attestation identity', () => {
    expect(thrown(() => buildConfig(`${roots()}\n${attestationRule(['corp'])}`)).message).toMatch(/trusted_roots.*corp/);
  });
});
