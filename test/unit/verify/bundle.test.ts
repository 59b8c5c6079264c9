// cosign v3 signatures: Sigstore bundle v0.3 with a DSSE in-toto Statement.
// Made with the test Sigstore, and real public-good bundles verified offline
// against the embedded trusted root.

import { readFileSync } from 'node:fs';

import { beforeAll, describe, expect, it } from 'vitest';

import { compilePolicy } from '../../../src/policy/compile.js';
import { loadTrust } from '../../../src/verify/trust.js';
import { verifyCandidate } from '../../../src/verify/verify.js';
import { acceptCandidate } from '../../../src/attest/signature-step.js';
import { cosignStatement, ecKeys, issueCert, keylessBundle, pem, randomDigest, writeJson } from './support/rig.js';
import { keyPolicy, policy, rejects, setup } from './support/setup.js';

import type { CompiledPolicy, PolicyRules } from '../../../src/policy/types.js';
import type { Digest } from '../../../src/registry/types.js';
import type { BundleCandidate } from '../../../src/verify/types.js';
import type { TrustContext } from '../../../src/verify/trust.js';
import type { Setup } from './support/setup.js';

const FIXTURES = new URL('../../fixtures/sigstore/', import.meta.url);

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown;
}

function candidate(bundle: unknown, imageDigest: Digest): BundleCandidate {
  return { format: 'bundle', imageDigest, bundle, manifestDigest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000' };
}

let s: Setup;
beforeAll(async () => {
  s = await setup();
});

describe('cosign v3 bundle (test Sigstore)', () => {
  it('verifies a keyless v0.3 DSSE bundle with inclusion proof and SET', async () => {
    const digest = randomDigest();
    const verified = verifyCandidate(await keylessBundle(s.sigstore, digest), s.trust, policy());
    expect(verified).toMatchObject({ format: 'bundle', imageDigest: digest, tlog: true, signer: { kind: 'keyless' } });
  });

  it.each(['p256', 'ed25519'] as const)('verifies a key-based (%s) v0.3 bundle, ignoring its key hint', async (name) => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { key: s.keys[name] });
    expect(verifyCandidate(b, s.trust, keyPolicy(['p384', name]))).toEqual({
      kind: 'signature',
      format: 'bundle',
      imageDigest: digest,
      tlog: true,
      trustedRoot: 'default',
      signer: { kind: 'key', keyName: name },
    });
    rejects(() => verifyCandidate(b, s.trust, keyPolicy(['p384', 'rsa'])), 'SIGNATURE_INVALID', /any configured key/);
  });

  it('a bundle whose predicate type is not the cosign signature predicate is an attestation, which a signature policy refuses', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { statement: cosignStatement(digest, 'https://slsa.dev/provenance/v1') });
    expect(verifyCandidate(b, s.trust, policy())).toMatchObject({ kind: 'attestation', predicateType: 'https://slsa.dev/provenance/v1' });
    rejects(() => acceptCandidate(b, s.trust, policy()), 'PREDICATE_UNEXPECTED', /"https:\/\/slsa\.dev\/provenance\/v1".*no attestation rule accepts/);
  });

  it('rejects a bundle whose subject is another image', async () => {
    const other = randomDigest();
    const b = await keylessBundle(s.sigstore, other);
    rejects(() => verifyCandidate({ ...b, imageDigest: randomDigest() }, s.trust, policy()), 'PAYLOAD_MISMATCH', new RegExp(`statement is about ${other}`));
  });

  it('rejects a DSSE payload type other than in-toto', async () => {
    const digest = randomDigest();
    const b = await keylessBundle(s.sigstore, digest, { payloadType: 'application/json' });
    rejects(() => verifyCandidate(b, s.trust, policy()), 'PAYLOAD_MISMATCH', /payload type/);
  });

  it('rejects a statement with duplicate or case-variant keys', async () => {
    const digest = randomDigest();
    const hex = digest.slice('sha256:'.length);
    const text = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${hex}"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","PredicateType":"x"}`;
    const b = await keylessBundle(s.sigstore, digest, { statement: Buffer.from(text) });
    rejects(() => verifyCandidate(b, s.trust, policy()), 'SIGNATURE_MALFORMED', /duplicate or case-variant key "PredicateType"/);
  });

  it('rejects a dsse tlog entry that records another certificate', async () => {
    const other = pem(await issueCert(s.sigstore.ca, ecKeys()));
    const b = await keylessBundle(s.sigstore, randomDigest(), { tlogVerifierPem: other });
    rejects(() => verifyCandidate(b, s.trust, policy()), 'TLOG_KEY_MISMATCH');
  });

  it('accepts only v0.3 bundles', async () => {
    const b = await keylessBundle(s.sigstore, randomDigest());
    const v01 = { ...(b.bundle as object), mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' };
    rejects(() => verifyCandidate({ ...b, bundle: v01 }, s.trust, policy()), 'UNSUPPORTED', /only Sigstore bundle v0\.3/);
  });

  it.each([
    ['a string', 'not a bundle'],
    ['null', null],
    ['an empty object', {}],
    ['a v0.3 bundle without content', { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {} }],
  ])('rejects %s as malformed or unsupported', (_name, bundle) => {
    const msg = (() => {
      try {
        verifyCandidate(candidate(bundle, randomDigest()), s.trust, policy());
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(msg).toMatchObject({ name: 'SignatureError' });
    expect(['SIGNATURE_MALFORMED', 'UNSUPPORTED']).toContain((msg as { code: string }).code);
  });

  it('rejects a bundle whose certificate bytes are garbage', async () => {
    const b = await keylessBundle(s.sigstore, randomDigest());
    const json = b.bundle as { verificationMaterial: { certificate: { rawBytes: string } } };
    const broken = { ...json, verificationMaterial: { ...json.verificationMaterial, certificate: { rawBytes: 'AAAA' } } };
    rejects(() => verifyCandidate({ ...b, bundle: broken }, s.trust, policy()), 'SIGNATURE_MALFORMED');
  });
});

describe('real public-good bundles, offline, embedded trusted root', () => {
  let publicGood: TrustContext;
  beforeAll(async () => {
    publicGood = await loadTrust({ trustedRootFile: undefined, keys: [] });
  });

  // sigstore-rs tests/data/bundle_v03.json: `cosign sign` v3 of kubewarden-controller v1.34.0.
  const KUBEWARDEN_DIGEST: Digest = 'sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172';
  const KUBEWARDEN_SUBJECT = 'https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0';
  const GITHUB = 'https://token.actions.githubusercontent.com';
  const kubewardenPolicy = (subject: { subject: string } | { subjectRegexp: string }) =>
    compilePolicy({ identities: [{ issuer: GITHUB, ...subject, claims: {} }], keys: [], attestations: [], requireTlog: true, requireSct: true });

  it('verifies cosign v3 bundle_v03.json (SET, inclusion proof, checkpoint, SCT, RFC3161) and extracts its claims', () => {
    const verified = verifyCandidate(candidate(fixture('bundle_v03.json'), KUBEWARDEN_DIGEST), publicGood, kubewardenPolicy({ subject: KUBEWARDEN_SUBJECT }));
    expect(verified).toMatchObject({ format: 'bundle', tlog: true, signer: { kind: 'keyless', subject: KUBEWARDEN_SUBJECT, issuer: GITHUB } });
    expect(verified.signer.kind === 'keyless' && verified.signer.claims).toEqual({
      build_signer_uri: KUBEWARDEN_SUBJECT,
      build_signer_digest: '2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6',
      runner_environment: 'github-hosted',
      source_repository_uri: 'https://github.com/kubewarden/kubewarden-controller',
      source_repository_digest: '2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6',
      source_repository_ref: 'refs/tags/v1.34.0',
      source_repository_identifier: '318490971',
      source_repository_owner_uri: 'https://github.com/kubewarden',
      source_repository_owner_identifier: '80915497',
      build_config_uri: KUBEWARDEN_SUBJECT,
      build_config_digest: '2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6',
      build_trigger: 'push',
      run_invocation_uri: 'https://github.com/kubewarden/kubewarden-controller/actions/runs/24177081968/attempts/1',
      source_repository_visibility_at_signing: 'public',
    });
  });

  it('anchors the subject regexp against the real certificate', () => {
    const bundle = candidate(fixture('bundle_v03.json'), KUBEWARDEN_DIGEST);
    expect(verifyCandidate(bundle, publicGood, kubewardenPolicy({ subjectRegexp: 'https://github\\.com/kubewarden/.*' })).signer.kind).toBe('keyless');
    rejects(() => acceptCandidate(bundle, publicGood, kubewardenPolicy({ subjectRegexp: 'kubewarden' })), 'UNTRUSTED_SIGNER');
  });

  it('rejects the real bundle for any other image digest', () => {
    rejects(
      () => verifyCandidate(candidate(fixture('bundle_v03.json'), randomDigest()), publicGood, kubewardenPolicy({ subject: KUBEWARDEN_SUBJECT })),
      'PAYLOAD_MISMATCH',
    );
  });

  it('rejects the real bundle when its DSSE signature is altered', () => {
    const json = fixture('bundle_v03.json') as { dsseEnvelope: { signatures: { sig: string }[] } };
    const sig = Buffer.from(json.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
    sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 1, sig.length - 1);
    const altered = { ...json, dsseEnvelope: { ...json.dsseEnvelope, signatures: [{ sig: sig.toString('base64') }] } };
    const p = kubewardenPolicy({ subject: KUBEWARDEN_SUBJECT });
    // The RFC3161 timestamp covers the signature bytes, so it trips first...
    rejects(() => verifyCandidate(candidate(altered, KUBEWARDEN_DIGEST), publicGood, p), 'TIMESTAMP_INVALID');
    // ...and without it, the Rekor body (which records the original signature).
    const vm = (altered as unknown as { verificationMaterial: object }).verificationMaterial;
    const noTsa = { ...altered, verificationMaterial: { ...vm, timestampVerificationData: { rfc3161Timestamps: [] } } };
    rejects(() => verifyCandidate(candidate(noTsa, KUBEWARDEN_DIGEST), publicGood, p), 'TLOG_INVALID', /signature mismatch/);
  });

  it('fails against a trusted_root_file that replaces the public-good root', async () => {
    const trust = await loadTrust({ trustedRootFile: writeJson(s.dir, 'replacement-root.json', s.sigstore.trustedRoot), keys: [] });
    // Its RFC3161 timestamp is checked first, and no TSA in the replacement root vouches for it.
    rejects(
      () => verifyCandidate(candidate(fixture('bundle_v03.json'), KUBEWARDEN_DIGEST), trust, kubewardenPolicy({ subject: KUBEWARDEN_SUBJECT })),
      'TIMESTAMP_INVALID',
    );
    // Without the timestamp, the certificate chain is what fails.
    const json = fixture('bundle_v03.json') as { verificationMaterial: object };
    const noTsa = { ...json, verificationMaterial: { ...json.verificationMaterial, timestampVerificationData: { rfc3161Timestamps: [] } } };
    rejects(() => verifyCandidate(candidate(noTsa, KUBEWARDEN_DIGEST), trust, kubewardenPolicy({ subject: KUBEWARDEN_SUBJECT })), 'CERTIFICATE_INVALID');
  });

  // cosign pkg/cosign/testdata/oci-attestation.sigstore.json: an attestation
  // (predicate https://cosign.sigstore.dev/attestation/v1), not a signature.
  describe('oci-attestation.sigstore.json (real public-good attestation)', () => {
    const digest: Digest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
    const CODY = { issuer: 'https://github.com/login/oauth', subject: 'cody@soyland.com', claims: {} };
    const TYPE = 'https://cosign.sigstore.dev/attestation/v1';
    const rules = (attestations: PolicyRules['attestations'], identities: PolicyRules['identities'] = []): CompiledPolicy =>
      compilePolicy({ identities, keys: [], attestations, requireTlog: true, requireSct: true });

    it('verifies as an attestation with its predicate type, never as a signature', () => {
      const verified = verifyCandidate(candidate(fixture('oci-attestation.sigstore.json'), digest), publicGood, rules([], [CODY]));
      expect(verified).toMatchObject({
        kind: 'attestation',
        predicateType: TYPE,
        signer: { kind: 'keyless', subject: 'cody@soyland.com' },
        provenance: undefined,
      });
    });

    it('satisfies an attestation rule for its type and signer', () => {
      const accepted = acceptCandidate(
        candidate(fixture('oci-attestation.sigstore.json'), digest),
        publicGood,
        rules([{ name: 'cody', predicateType: TYPE, identity: CODY }]),
      );
      expect(accepted).toMatchObject({ kind: 'attestation', rules: ['cody'] });
    });

    it('is refused by a signature-only policy (PREDICATE_UNEXPECTED), by another type and by another signer', () => {
      const c = candidate(fixture('oci-attestation.sigstore.json'), digest);
      rejects(() => acceptCandidate(c, publicGood, rules([], [CODY])), 'PREDICATE_UNEXPECTED', /no attestation rule accepts this predicate type/);
      rejects(
        () => acceptCandidate(c, publicGood, rules([{ name: 'x', predicateType: 'https://slsa.dev/provenance/v1', identity: CODY }])),
        'PREDICATE_UNEXPECTED',
      );
      const mallory = { ...CODY, subject: 'mallory@example.com' };
      rejects(
        () => acceptCandidate(c, publicGood, rules([{ name: 'x', predicateType: TYPE, identity: mallory }])),
        'UNTRUSTED_SIGNER',
        /matches no rule for this predicate type \(x\)/,
      );
    });
  });
});
