// In-toto attestations end to end through the signature step: cosign v3
// bundles (Rekor v1 dsse, Rekor v2) and legacy `.att` layers (Rekor intoto
// 0.0.2 and dsse 0.0.1), keyless and key-based, verified with the test
// Sigstore's real crypto, matched against compiled attestation rules, and
// turned into selectors. A rule is satisfied by one attestation whole, a
// signature never satisfies an attestation rule and an attestation never a
// signature rule.

import { beforeAll, describe, expect, it } from 'vitest';

import { acceptCandidate, acceptCandidates } from '../../../src/attest/signature-step.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { attestationSelectors } from '../../../src/selectors/attestation.js';
import { signatureSelectors } from '../../../src/selectors/signature.js';
import { loadTrust } from '../../../src/verify/trust.js';
import {
  BUILDER_ID,
  COMMIT,
  COSIGN_SIGN,
  GITHUB_WORKFLOW_BUILD_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  SLSA_V02,
  SLSA_V1,
  SOURCE_URI,
  V02_BUILD_TYPE,
  attCandidate,
  attLayer,
  editedEnvelope,
  intotoBody,
  pae,
  publicKeyPem,
  slsaV02Predicate,
  slsaV1Predicate,
  statement,
} from './support/attest.js';
import { rekorV2Bundle, withRekorV2 } from './support/rekor-v2.js';
import {
  SUBJECT,
  cosignStatement,
  ecKeys,
  hashedrekord,
  issueCert,
  keylessBundle,
  keylessLegacy,
  logEntry,
  pem,
  randomDigest,
  rekorBundleAnnotation,
  writeJson,
  writeKey,
} from './support/rig.js';
import { IDENTITY, KEY_NAMES, policy, rejects, setup } from './support/setup.js';

import type { AcceptedAttestation, SignatureReport } from '../../../src/attest/signature-step.js';
import type { AttestationRule, CompiledPolicy, IdentityRule } from '../../../src/policy/types.js';
import type { Digest } from '../../../src/registry/types.js';
import type { BundleCandidate, SignatureCandidate } from '../../../src/verify/types.js';
import type { TrustContext } from '../../../src/verify/trust.js';
import type { RekorV2Sigstore } from './support/rekor-v2.js';
import type { Setup } from './support/setup.js';
import type { SignatureErrorCode } from '../../../src/verify/errors.js';

const CUSTOM = 'https://example.com/custom/v1';
const OTHER_IDENTITY: IdentityRule = { ...IDENTITY, subject: 'https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main' };

// The rule most tests use: keyless SLSA v1 from acme/app's release workflow
// on any branch, built from acme/app's main.
const SLSA_RULE: AttestationRule = {
  name: 'slsa',
  predicateType: SLSA_V1,
  identity: IDENTITY,
  builderIdRegexp: String.raw`https://github\.com/acme/app/\.github/workflows/release\.yml@refs/heads/.+`,
  sourceUri: SOURCE_URI,
};

// What an attestation satisfying SLSA_RULE with the default predicate gives.
const SLSA_SELECTORS = [
  'image-attestation:slsa',
  `image-provenance-builder-id:${BUILDER_ID}`,
  `image-provenance-build-type:${GITHUB_WORKFLOW_BUILD_TYPE}`,
  `image-provenance-source-uri:${SOURCE_URI}`,
  `image-provenance-source-digest:gitCommit:${COMMIT}`,
];

let s: Setup;
let v2: RekorV2Sigstore;
let v2Trust: TrustContext;
beforeAll(async () => {
  s = await setup();
  v2 = withRekorV2(s.sigstore);
  v2Trust = await loadTrust({
    trustedRootFile: writeJson(s.dir, 'trusted_root_v2.json', v2.trustedRoot),
    keys: KEY_NAMES.map((name) => ({ name, path: writeKey(s.dir, name, s.keys[name].publicKey) })),
  });
});

// A policy of attestation rules (and, optionally, identities and keys).
function rules(
  attestations: readonly AttestationRule[],
  o: { identities?: readonly IdentityRule[]; keys?: readonly string[]; requireTlog?: boolean } = {},
): CompiledPolicy {
  return compilePolicy({
    identities: o.identities ?? [],
    keys: (o.keys ?? []).map((name) => ({ name, path: `/keys/${name}.pub` })),
    attestations,
    requireTlog: o.requireTlog ?? true,
    requireSct: true,
  });
}

interface Outcome {
  readonly report: SignatureReport;
  readonly selectors: string[];
}

// The signature step on `candidates`, and the selectors it earns.
function step(p: CompiledPolicy, candidates: readonly SignatureCandidate[], trust: TrustContext = s.trust): Outcome {
  const report = acceptCandidates(trust, p, candidates, []);
  return { report, selectors: [...signatureSelectors(report.accepted), ...attestationSelectors(report.attestations)] };
}

// The one candidate accepted as an attestation for `expectedRules`.
function acceptedOnly(o: Outcome, expectedRules: readonly string[]): AcceptedAttestation {
  expect(o.report.rejected).toEqual([]);
  expect(o.report.accepted).toEqual([]);
  expect(o.report.attestations).toHaveLength(1);
  const a = o.report.attestations[0] as AcceptedAttestation;
  expect(a.rules).toEqual(expectedRules);
  return a;
}

// Nothing accepted: the one candidate rejected with `code`, no selectors.
function refusedOnly(o: Outcome, code: SignatureErrorCode, message?: RegExp): SignatureReport['rejected'][number] {
  expect(o.report.accepted).toEqual([]);
  expect(o.report.attestations).toEqual([]);
  expect(o.report.rejected).toHaveLength(1);
  const r = o.report.rejected[0] as SignatureReport['rejected'][number];
  if (process.env['SHOW_ERRORS']) console.log(`${r.code}: ${r.error}`);
  expect(r.code).toBe(code);
  if (message) expect(r.error).toMatch(message);
  expect(o.selectors).toEqual([]);
  expect(o.selectors.some((x) => x.startsWith('image-attestation'))).toBe(false);
  return r;
}

const slsaV1 = (digest: Digest, o: Parameters<typeof slsaV1Predicate>[0] = {}): Buffer => statement([digest], SLSA_V1, slsaV1Predicate(o));
const slsaV02 = (digest: Digest, version: 'v1' | 'v0.1' = 'v0.1'): Buffer => statement([digest], SLSA_V02, slsaV02Predicate(), { version });

// The bundle with its JSON changed by `edit` (on a deep copy).
function editedBundle(
  candidate: BundleCandidate,
  edit: (json: { dsseEnvelope: { signatures: unknown[] }; verificationMaterial: { tlogEntries: unknown[] } }) => void,
): BundleCandidate {
  const json = structuredClone(candidate.bundle) as Parameters<typeof edit>[0];
  edit(json);
  return { ...candidate, bundle: json };
}

describe('attestations accepted', () => {
  it('a keyless SLSA v1 bundle (Rekor v1 dsse) satisfies an identity + builder_id_regexp + source_uri rule', async () => {
    const digest = randomDigest();
    const o = step(rules([SLSA_RULE]), [await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) })]);
    const a = acceptedOnly(o, ['slsa']);
    expect(a).toMatchObject({
      kind: 'attestation',
      format: 'bundle',
      imageDigest: digest,
      tlog: true,
      predicateType: SLSA_V1,
      signer: { kind: 'keyless', subject: SUBJECT, issuer: IDENTITY.issuer },
      provenance: { builderId: BUILDER_ID, buildType: GITHUB_WORKFLOW_BUILD_TYPE, sourceUri: SOURCE_URI, sourceDigests: [`gitCommit:${COMMIT}`] },
    });
    expect(o.selectors).toEqual(SLSA_SELECTORS);
    // `named` gives only what one attestation earns whole.
    expect(attestationSelectors(o.report.attestations, 'named')).toEqual(['image-attestation:slsa']);
  });

  it('one attestation satisfies every rule it meets whole, each named', async () => {
    const digest = randomDigest();
    const loose: AttestationRule = { name: 'any-slsa', predicateType: SLSA_V1, identity: IDENTITY };
    const exact: AttestationRule = { name: 'exact', predicateType: SLSA_V1, identity: IDENTITY, builderId: BUILDER_ID, buildType: GITHUB_WORKFLOW_BUILD_TYPE };
    const o = step(rules([SLSA_RULE, loose, exact]), [await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) })]);
    acceptedOnly(o, ['slsa', 'any-slsa', 'exact']);
    expect(o.selectors.filter((x) => x.startsWith('image-attestation:'))).toEqual([
      'image-attestation:slsa',
      'image-attestation:any-slsa',
      'image-attestation:exact',
    ]);
  });

  it('a key-based SLSA v1 bundle satisfies a key rule', async () => {
    const digest = randomDigest();
    const rule: AttestationRule = { name: 'release', predicateType: SLSA_V1, key: 'p256', builderId: BUILDER_ID };
    const o = step(rules([rule], { keys: ['p384', 'p256'] }), [await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest), key: s.keys.p256 })]);
    expect(acceptedOnly(o, ['release'])).toMatchObject({ signer: { kind: 'key', keyName: 'p256' }, format: 'bundle' });
    expect(o.selectors).toContain('image-attestation:release');
    // An attestation is no signature: no image-signature-* selector.
    expect(o.selectors.filter((x) => x.startsWith('image-signature'))).toEqual([]);
  });

  it.each(['v1', 'v0.1'] as const)('SLSA v0.2 provenance in a Statement %s', async (version) => {
    const digest = randomDigest();
    const rule: AttestationRule = {
      name: 'v02',
      predicateType: SLSA_V02,
      identity: IDENTITY,
      builderId: BUILDER_ID,
      buildType: V02_BUILD_TYPE,
      sourceUriRegexp: String.raw`git\+https://github\.com/acme/app@refs/heads/main`,
    };
    const o = step(rules([rule]), [await keylessBundle(s.sigstore, digest, { statement: slsaV02(digest, version) })]);
    expect(acceptedOnly(o, ['v02']).provenance).toEqual({
      builderId: BUILDER_ID,
      buildType: V02_BUILD_TYPE,
      sourceUri: SOURCE_URI,
      sourceDigests: [`sha1:${COMMIT}`],
    });
    expect(o.selectors).toEqual([
      'image-attestation:v02',
      `image-provenance-builder-id:${BUILDER_ID}`,
      `image-provenance-build-type:${V02_BUILD_TYPE}`,
      `image-provenance-source-uri:${SOURCE_URI}`,
      `image-provenance-source-digest:sha1:${COMMIT}`,
    ]);
  });

  it('SLSA v1 in a Statement v0.1', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: statement([digest], SLSA_V1, slsaV1Predicate(), { version: 'v0.1' }) });
    expect(step(rules([SLSA_RULE]), [b]).selectors).toEqual(SLSA_SELECTORS);
  });

  it('a custom predicate type: only its type and signer matter, no provenance selectors', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: statement([digest], CUSTOM, { builder: { id: 'whatever' }, scan: 'clean' }) });
    const o = step(rules([{ name: 'scan', predicateType: CUSTOM, identity: IDENTITY }]), [b]);
    expect(acceptedOnly(o, ['scan'])).toMatchObject({ predicateType: CUSTOM, provenance: undefined });
    expect(o.selectors).toEqual(['image-attestation:scan']);
  });

  it('a statement with several subjects, one of them this image', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: statement([randomDigest(), digest], SLSA_V1, slsaV1Predicate()) });
    expect(step(rules([SLSA_RULE]), [b]).selectors).toEqual(SLSA_SELECTORS);
  });

  it.each(['intoto', 'dsse'] as const)('a keyless legacy .att layer with a Rekor %s entry', async (tlog) => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog });
    const o = step(rules([SLSA_RULE]), [layer.candidate]);
    expect(acceptedOnly(o, ['slsa'])).toMatchObject({ format: 'att', tlog: true, signer: { kind: 'keyless', subject: SUBJECT } });
    expect(o.selectors).toEqual(SLSA_SELECTORS);
  });

  it.each(['intoto', 'dsse'] as const)('a key-based legacy .att layer with a Rekor %s entry', async (tlog) => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV02(digest), { key: s.keys.ed25519, tlog });
    expect(layer.candidate.annotations['dev.sigstore.cosign/certificate']).toBeUndefined();
    const o = step(rules([{ name: 'v02', predicateType: SLSA_V02, key: 'ed25519', builderId: BUILDER_ID }], { keys: ['p256', 'ed25519'] }), [layer.candidate]);
    expect(acceptedOnly(o, ['v02'])).toMatchObject({ format: 'att', signer: { kind: 'key', keyName: 'ed25519' } });
  });

  it('a key-based .att layer with no tlog entry, when require_tlog is off', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { key: s.keys.p256, tlog: false });
    const o = step(rules([{ name: 'release', predicateType: SLSA_V1, key: 'p256' }], { keys: ['p256'], requireTlog: false }), [layer.candidate]);
    expect(acceptedOnly(o, ['release'])).toMatchObject({ tlog: false });
  });

  // cosign attest --timestamp-server-url timestamps the whole signed payload
  // (the envelope JSON, the layer blob), and cosign's VerifyRFC3161Timestamp
  // checks it over sig.Payload() when the signature annotation is empty, as
  // it is for `.att`; legacy-att.ts has @sigstore/verify check it over the
  // blob, not over the raw signature as for bundles.
  it('a keyless .att with no tlog, timed by an RFC 3161 timestamp over the envelope as cosign writes it', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog: false, timestamp: 'envelope' });
    const o = step(rules([SLSA_RULE], { requireTlog: false }), [layer.candidate]);
    expect(o.report.rejected).toEqual([]);
    expect(acceptedOnly(o, ['slsa'])).toMatchObject({ format: 'att', tlog: false });
  });

  it('a key-based .att with an RFC 3161 timestamp over the envelope as cosign writes it', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { key: s.keys.p256, tlog: false, timestamp: 'envelope' });
    const o = step(rules([{ name: 'release', predicateType: SLSA_V1, key: 'p256' }], { keys: ['p256'], requireTlog: false }), [layer.candidate]);
    expect(o.report.rejected).toEqual([]);
    acceptedOnly(o, ['release']);
  });

  it('a .att timestamp over the raw signature (what bundles time, not what cosign writes for .att) is refused: TIMESTAMP_INVALID', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog: false, timestamp: 'signature' });
    refusedOnly(step(rules([SLSA_RULE], { requireTlog: false }), [layer.candidate]), 'TIMESTAMP_INVALID');
  });

  it('a keyless .att with neither tlog entry nor timestamp: NO_TRUSTED_TIME', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog: false });
    refusedOnly(step(rules([SLSA_RULE], { requireTlog: false }), [layer.candidate]), 'NO_TRUSTED_TIME');
  });

  it.each(['dsse', 'hashedrekord'] as const)('a keyless SLSA v1 bundle logged in Rekor v2 (%s 0.0.2)', async (kind) => {
    const digest = randomDigest();
    const b = await rekorV2Bundle(v2, digest, { statement: slsaV1(digest), kind });
    const o = step(rules([SLSA_RULE]), [b], v2Trust);
    expect(acceptedOnly(o, ['slsa'])).toMatchObject({ format: 'bundle', tlog: true });
    expect(o.selectors).toEqual(SLSA_SELECTORS);
  });

  it('a key-based SLSA v1 bundle logged in Rekor v2', async () => {
    const digest = randomDigest();
    const b = await rekorV2Bundle(v2, digest, { statement: slsaV1(digest), kind: 'dsse', key: s.keys.p384 });
    const o = step(rules([{ name: 'release', predicateType: SLSA_V1, key: 'p384', sourceUri: SOURCE_URI }], { keys: ['p384'] }), [b], v2Trust);
    expect(acceptedOnly(o, ['release'])).toMatchObject({ signer: { kind: 'key', keyName: 'p384' } });
  });

  it('signatures and attestations side by side each go to their own rules', async () => {
    const digest = randomDigest();
    const sig = await keylessBundle(s.sigstore, digest);
    const att = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) });
    const o = step(rules([SLSA_RULE], { identities: [{ ...IDENTITY, name: 'release' }] }), [sig, att]);
    expect(o.report.rejected).toEqual([]);
    expect(o.report.accepted).toHaveLength(1);
    expect(o.report.accepted[0]).toMatchObject({ kind: 'signature', identityRules: ['release'] });
    expect(o.report.attestations).toHaveLength(1);
    expect(o.selectors).toContain('image-signature-identity:release');
    expect(o.selectors).toContain('image-attestation:slsa');
  });
});

describe('attestations refused', () => {
  it('a predicate type no rule names: PREDICATE_UNEXPECTED', async () => {
    const digest = randomDigest();
    const o = step(rules([SLSA_RULE]), [await keylessBundle(s.sigstore, digest, { statement: slsaV02(digest) })]);
    const r = refusedOnly(o, 'PREDICATE_UNEXPECTED', /no attestation rule accepts this predicate type/);
    expect(r).toMatchObject({ kind: 'attestation', predicateType: SLSA_V02, format: 'bundle' });
  });

  it('a keyless signer the rule does not name: UNTRUSTED_SIGNER', async () => {
    const digest = randomDigest();
    const rule: AttestationRule = { ...SLSA_RULE, identity: OTHER_IDENTITY };
    const r = refusedOnly(step(rules([rule]), [await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) })]), 'UNTRUSTED_SIGNER', /matches no rule/);
    expect(r).toMatchObject({ kind: 'attestation', predicateType: SLSA_V1 });
  });

  it('a keyless .att from another workflow (SAN) than the rule names: UNTRUSTED_SIGNER', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { san: OTHER_IDENTITY.subject ?? '' });
    const r = refusedOnly(step(rules([SLSA_RULE]), [layer.candidate]), 'UNTRUSTED_SIGNER', /acme\/other/);
    expect(r).toMatchObject({ kind: 'attestation', format: 'att' });
  });

  it('a key the rule does not name (but the policy configures): UNTRUSTED_SIGNER', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest), key: s.keys.p384 });
    const o = step(rules([{ name: 'release', predicateType: SLSA_V1, key: 'p256' }], { keys: ['p256', 'p384'] }), [b]);
    refusedOnly(o, 'UNTRUSTED_SIGNER', /key "p384"|p384/);
  });

  it('a key-based attestation when the rule is keyless: UNTRUSTED_SIGNER', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest), key: s.keys.p256 });
    refusedOnly(step(rules([SLSA_RULE, { name: 'custom', predicateType: CUSTOM, key: 'p256' }], { keys: ['p256'] }), [b]), 'UNTRUSTED_SIGNER');
  });

  it('a builder the rule does not accept: REQUIREMENT_UNMET', async () => {
    const digest = randomDigest();
    const evil = 'https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main';
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest, { builderId: evil }) });
    const r = refusedOnly(step(rules([SLSA_RULE]), [b]), 'REQUIREMENT_UNMET', /does not meet the requirements of slsa/);
    expect(r).toMatchObject({ kind: 'attestation', predicateType: SLSA_V1 });
  });

  it('a regexp requirement is anchored: a builder id that only contains the match is refused', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest, { builderId: `${BUILDER_ID}x/../../evil` }) });
    const rule: AttestationRule = {
      name: 'slsa',
      predicateType: SLSA_V1,
      identity: IDENTITY,
      builderIdRegexp: String.raw`https://github\.com/acme/app/\.github/workflows/release\.yml@refs/heads/main`,
    };
    refusedOnly(step(rules([rule]), [b]), 'REQUIREMENT_UNMET');
  });

  it('a source the provenance states twice, inconsistently, meets no source_uri requirement: REQUIREMENT_UNMET', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, {
      statement: slsaV1(digest, { workflow: { repository: 'https://github.com/evil/app', ref: 'refs/heads/main', path: '.github/workflows/release.yml' } }),
    });
    refusedOnly(step(rules([SLSA_RULE]), [b]), 'REQUIREMENT_UNMET');
  });

  it('a requirement on a field the provenance lacks: REQUIREMENT_UNMET', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest, { workflow: null, resolvedDependencies: null }) });
    refusedOnly(step(rules([SLSA_RULE]), [b]), 'REQUIREMENT_UNMET');
  });

  it('a statement about another digest: PAYLOAD_MISMATCH', async () => {
    const digest = randomDigest();
    const other = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(other) });
    const r = refusedOnly(step(rules([SLSA_RULE]), [b]), 'PAYLOAD_MISMATCH', new RegExp(`about ${other}, not ${digest}`));
    // A bundle is a signature or an attestation only by what verified.
    expect(r.kind).toBeUndefined();
  });

  it('an attestation of image A copied to image B: PAYLOAD_MISMATCH (bundle and .att)', async () => {
    const a = randomDigest();
    const b = randomDigest();
    const bundle = await keylessBundle(s.sigstore, a, { statement: slsaV1(a) });
    const layer = await attLayer(s.sigstore, a, slsaV1(a));
    // Genuine for A...
    expect(step(rules([SLSA_RULE]), [bundle, layer.candidate]).report.attestations).toHaveLength(2);
    // ...and nothing for B.
    const o = step(rules([SLSA_RULE]), [
      { ...bundle, imageDigest: b },
      { ...layer.candidate, imageDigest: b },
    ]);
    expect(o.report.attestations).toEqual([]);
    expect(o.report.rejected.map((r) => [r.format, r.code, r.kind])).toEqual([
      ['bundle', 'PAYLOAD_MISMATCH', undefined],
      ['att', 'PAYLOAD_MISMATCH', 'attestation'],
    ]);
    expect(o.report.rejected[1]?.digest).toBe(layer.candidate.layerDigest);
    expect(o.selectors).toEqual([]);
  });

  it('a signature-only policy with only an attestation: PREDICATE_UNEXPECTED, no signature accepted', async () => {
    const digest = randomDigest();
    const bundle = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) });
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest));
    for (const c of [bundle, layer.candidate]) {
      const r = refusedOnly(step(policy(), [c]), 'PREDICATE_UNEXPECTED');
      expect(r).toMatchObject({ kind: 'attestation', predicateType: SLSA_V1 });
    }
    rejects(() => acceptCandidate(bundle, s.trust, policy()), 'PREDICATE_UNEXPECTED');
  });

  it('an attestation-only policy with only cosign signatures: UNTRUSTED_SIGNER, no signature accepted', async () => {
    const digest = randomDigest();
    const p = rules([SLSA_RULE]);
    expect(p.wantsSignatures).toBe(false);
    const bundle = await keylessBundle(s.sigstore, digest);
    const legacy = (await keylessLegacy(s.sigstore, digest)).candidate;
    for (const c of [bundle, legacy]) {
      const r = refusedOnly(step(p, [c]), 'UNTRUSTED_SIGNER', /attestation rules only/);
      expect(r.kind).toBe('signature');
    }
  });

  it('two attestations that only together satisfy a rule: neither does', async () => {
    const digest = randomDigest();
    // The right builder, another source; another builder, the right source.
    const rightBuilder = await keylessBundle(s.sigstore, digest, {
      statement: slsaV1(digest, {
        workflow: { repository: 'https://github.com/evil/app', ref: 'refs/heads/main', path: '.github/workflows/release.yml' },
        resolvedDependencies: [{ uri: 'git+https://github.com/evil/app@refs/heads/main', digest: { gitCommit: COMMIT } }],
      }),
    });
    const rightSource = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest, { builderId: 'https://github.com/evil/builder@v1' }) });
    const o = step(rules([SLSA_RULE]), [rightBuilder, rightSource]);
    expect(o.report.attestations).toEqual([]);
    expect(o.report.rejected.map((r) => r.code)).toEqual(['REQUIREMENT_UNMET', 'REQUIREMENT_UNMET']);
    expect(o.selectors).toEqual([]);

    // With a looser rule both are accepted for it, never for "slsa"; the
    // provenance selectors are their union (documented for `all` mode).
    const loose: AttestationRule = { name: 'any-slsa', predicateType: SLSA_V1, identity: IDENTITY };
    const both = step(rules([SLSA_RULE, loose]), [rightBuilder, rightSource]);
    expect(both.report.attestations.map((a) => a.rules)).toEqual([['any-slsa'], ['any-slsa']]);
    expect(both.selectors).not.toContain('image-attestation:slsa');
    expect(both.selectors).toContain('image-attestation:any-slsa');
    expect(attestationSelectors(both.report.attestations, 'named')).toEqual(['image-attestation:any-slsa', 'image-attestation:any-slsa']);
  });

  it('a .att layer carrying the cosign sign predicate: PAYLOAD_MISMATCH', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, cosignStatement(digest, COSIGN_SIGN));
    const r = refusedOnly(step(rules([SLSA_RULE], { identities: [IDENTITY] }), [layer.candidate]), 'PAYLOAD_MISMATCH', /cosign signature predicate/);
    expect(r.kind).toBe('attestation');
  });

  it('a .att layer whose DSSE payload is not in-toto: PAYLOAD_MISMATCH', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { payloadType: 'application/json' });
    refusedOnly(step(rules([SLSA_RULE]), [layer.candidate]), 'PAYLOAD_MISMATCH', /payload type/);
  });

  it.each(['intoto', 'dsse'] as const)('a keyless .att whose %s entry records another certificate: TLOG_KEY_MISMATCH', async (tlog) => {
    const digest = randomDigest();
    const other = pem(await issueCert(s.sigstore.ca, ecKeys()));
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog, recordedSignerPem: other });
    refusedOnly(step(rules([SLSA_RULE]), [layer.candidate]), 'TLOG_KEY_MISMATCH', /certificate that is not the signing certificate/);
  });

  it.each(['intoto', 'dsse'] as const)('a key-based .att whose %s entry records another key: TLOG_KEY_MISMATCH', async (tlog) => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { key: s.keys.p256, tlog, recordedSignerPem: publicKeyPem(ecKeys().publicKey) });
    refusedOnly(
      step(rules([{ name: 'r', predicateType: SLSA_V1, key: 'p256' }], { keys: ['p256'] }), [layer.candidate]),
      'TLOG_KEY_MISMATCH',
      /configured key "p256"/,
    );
  });

  it('a keyless bundle whose dsse entry records another certificate: TLOG_KEY_MISMATCH', async () => {
    const digest = randomDigest();
    const other = pem(await issueCert(s.sigstore.ca, ecKeys()));
    const b = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest), tlogVerifierPem: other });
    refusedOnly(step(rules([SLSA_RULE]), [b]), 'TLOG_KEY_MISMATCH');
  });

  it.each(['intoto', 'dsse'] as const)('a .att whose payload was swapped after signing (%s entry): TLOG_INVALID', async (tlog) => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest, { builderId: 'https://github.com/evil/builder@v1' }), { tlog });
    const swapped = editedEnvelope(layer.candidate, (e) => {
      e.payload = slsaV1(digest).toString('base64');
    });
    // The entry's payload hash no longer matches (checked before the signature).
    refusedOnly(step(rules([SLSA_RULE]), [swapped]), 'TLOG_INVALID', /payload hash mismatch/);
  });

  it('a key-based .att with no tlog whose payload was swapped: SIGNATURE_INVALID', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest, { builderId: 'https://github.com/evil/builder@v1' }), { key: s.keys.p256, tlog: false });
    const swapped = editedEnvelope(layer.candidate, (e) => {
      e.payload = slsaV1(digest).toString('base64');
    });
    refusedOnly(
      step(rules([{ name: 'r', predicateType: SLSA_V1, key: 'p256', builderId: BUILDER_ID }], { keys: ['p256'], requireTlog: false }), [swapped]),
      'SIGNATURE_INVALID',
    );
  });

  it('require_tlog with an attestation that has no tlog entry: TLOG_MISSING (.att and bundle)', async () => {
    const digest = randomDigest();
    const keyless = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog: false });
    const keyed = await attLayer(s.sigstore, digest, slsaV1(digest), { key: s.keys.p256, tlog: false });
    const bundle = editedBundle(await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest), key: s.keys.p256 }), (json) => {
      json.verificationMaterial.tlogEntries = [];
    });
    const p = rules([SLSA_RULE, { name: 'r', predicateType: SLSA_V1, key: 'p256' }], { keys: ['p256'] });
    const o = step(p, [keyless.candidate, keyed.candidate, bundle]);
    expect(o.report.attestations).toEqual([]);
    expect(o.report.rejected.map((r) => r.code)).toEqual(['TLOG_MISSING', 'TLOG_MISSING', 'TLOG_MISSING']);
    expect(o.selectors).toEqual([]);
  });

  it('two DSSE signatures in the envelope: SIGNATURE_MALFORMED (.att and bundle)', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest));
    const doubled = editedEnvelope(layer.candidate, (e) => {
      e.signatures = [...e.signatures, { keyid: '', sig: Buffer.from('second').toString('base64') }];
    });
    refusedOnly(step(rules([SLSA_RULE]), [doubled]), 'SIGNATURE_MALFORMED', /2 DSSE signatures/);
    const bundle = editedBundle(await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) }), (json) => {
      json.dsseEnvelope.signatures = [...json.dsseEnvelope.signatures, ...json.dsseEnvelope.signatures];
    });
    // @sigstore/bundle's v0.3 check already refuses it.
    refusedOnly(step(rules([SLSA_RULE]), [bundle]), 'SIGNATURE_MALFORMED', /not a valid Sigstore bundle/);
  });

  it('a .att layer with no signatures or a non-JSON blob: SIGNATURE_MALFORMED', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest));
    const none = editedEnvelope(layer.candidate, (e) => {
      e.signatures = [];
    });
    refusedOnly(step(rules([SLSA_RULE]), [none]), 'SIGNATURE_MALFORMED');
    refusedOnly(step(rules([SLSA_RULE]), [{ ...layer.candidate, envelope: Buffer.from('not json') }]), 'SIGNATURE_MALFORMED');
  });

  it('a Rekor entry of the other kind: a .att vouched for by hashedrekord, a .sig by intoto: UNSUPPORTED', async () => {
    const digest = randomDigest();
    const layer = await attLayer(s.sigstore, digest, slsaV1(digest), { tlog: false });
    const signerPem = pem(layer.cert ?? Buffer.alloc(0));
    const hashed = await logEntry(s.sigstore.tlog, hashedrekord(pae(IN_TOTO_PAYLOAD_TYPE, slsaV1(digest)), layer.signature, signerPem));
    const att = attCandidate(digest, layer.candidate.envelope, { ...layer.candidate.annotations, 'dev.sigstore.cosign/bundle': rekorBundleAnnotation(hashed) });
    refusedOnly(step(rules([SLSA_RULE]), [att]), 'UNSUPPORTED', /"hashedrekord" are not accepted here/);

    const sig = await keylessLegacy(s.sigstore, digest);
    const envelope = {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: sig.candidate.payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.signature.toString('base64') }],
    };
    const intoto = await logEntry(s.sigstore.tlog, intotoBody(envelope, Buffer.from(JSON.stringify(envelope)), pem(sig.cert)));
    const legacy = { ...sig.candidate, annotations: { ...sig.candidate.annotations, 'dev.sigstore.cosign/bundle': rekorBundleAnnotation(intoto) } };
    refusedOnly(step(policy(), [legacy]), 'UNSUPPORTED', /"intoto" are not accepted here/);
  });

  it('provenance with a key spelled in another case: SIGNATURE_MALFORMED', async () => {
    const digest = randomDigest();
    const predicate = { buildDefinition: { buildType: GITHUB_WORKFLOW_BUILD_TYPE }, runDetails: { Builder: { id: BUILDER_ID } } };
    const b = await keylessBundle(s.sigstore, digest, { statement: statement([digest], SLSA_V1, predicate) });
    refusedOnly(step(rules([SLSA_RULE]), [b]), 'SIGNATURE_MALFORMED', /Builder/);
  });

  it('one bad candidate does not spoil a good one', async () => {
    const digest = randomDigest();
    const good = await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) });
    const copied = { ...(await keylessBundle(s.sigstore, digest, { statement: slsaV1(digest) })), imageDigest: randomDigest() };
    const o = step(rules([SLSA_RULE]), [copied, good]);
    expect(o.report.attestations).toHaveLength(1);
    expect(o.report.rejected.map((r) => r.code)).toEqual(['PAYLOAD_MISMATCH']);
    expect(o.selectors).toEqual(SLSA_SELECTORS);
  });
});
