// Keyless legacy cosign signatures (.sig layers with a Fulcio certificate
// and a Rekor SET bundle), made by a real test CA, CT log and Rekor.

import { createHash, sign } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import { verifyCandidate } from '../../../src/verify/verify.js';
import { acceptCandidate } from '../../../src/attest/signature-step.js';
import { loadTrust } from '../../../src/verify/trust.js';
import { OID_CODE_SIGNING, OID_SERVER_AUTH, replaceBytes, resign } from './support/der.js';
import {
  ISSUER,
  SUBJECT,
  ecKeys,
  fulcioExtensions,
  hashedrekord,
  issueCert,
  keylessLegacy,
  legacyCandidate,
  logEntry,
  mockSigstore,
  pem,
  randomDigest,
  rekorBundleAnnotation,
  simpleSigningPayload,
  timestampAnnotation,
  writeJson,
} from './support/rig.js';
import { IDENTITY, policy, rejects, setup } from './support/setup.js';

import type { Setup } from './support/setup.js';

const FULCIO = '1.3.6.1.4.1.57264.1';

let s: Setup;
beforeAll(async () => {
  s = await setup();
});

describe('keyless legacy signature', () => {
  it('verifies chain, SCT, SET and signature and returns the signer with its claims', async () => {
    const digest = randomDigest();
    const { candidate } = await keylessLegacy(s.sigstore, digest, {
      extensions: fulcioExtensions(ISSUER, {
        [`${FULCIO}.12`]: 'https://github.com/acme/app',
        [`${FULCIO}.14`]: 'refs/heads/main',
        [`${FULCIO}.9`]: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
      }),
    });
    const verified = verifyCandidate(candidate, s.trust, policy());
    expect(verified).toEqual({
      kind: 'signature',
      format: 'legacy',
      imageDigest: digest,
      tlog: true,
      trustedRoot: 'default',
      signer: {
        kind: 'keyless',
        subject: SUBJECT,
        issuer: ISSUER,
        claims: {
          source_repository_uri: 'https://github.com/acme/app',
          source_repository_ref: 'refs/heads/main',
          build_signer_uri: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
        },
      },
    });
  });

  it('reads the deprecated raw GitHub extensions when the new ones are absent', async () => {
    const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), {
      extensions: [
        { oid: `${FULCIO}.1`, value: ISSUER, legacy: true },
        { oid: `${FULCIO}.2`, value: 'push', legacy: true },
        { oid: `${FULCIO}.6`, value: 'refs/tags/v1', legacy: true },
      ],
    });
    const { signer } = verifyCandidate(candidate, s.trust, policy());
    expect(signer).toMatchObject({ issuer: ISSUER, claims: { build_trigger: 'push', source_repository_ref: 'refs/tags/v1' } });
  });

  it('matches required claims, and rejects a signer whose claim differs', async () => {
    const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), {
      extensions: fulcioExtensions(ISSUER, { [`${FULCIO}.12`]: 'https://github.com/acme/app' }),
    });
    const ok = policy({ identities: [{ ...IDENTITY, claims: { source_repository_uri: 'https://github.com/acme/app' } }] });
    expect(acceptCandidate(candidate, s.trust, ok).signer.kind).toBe('keyless');
    const other = policy({ identities: [{ ...IDENTITY, claims: { source_repository_uri: 'https://github.com/acme/other' } }] });
    rejects(() => acceptCandidate(candidate, s.trust, other), 'UNTRUSTED_SIGNER');
    const absent = policy({ identities: [{ ...IDENTITY, claims: { deployment_environment: 'prod' } }] });
    rejects(() => acceptCandidate(candidate, s.trust, absent), 'UNTRUSTED_SIGNER');
  });

  describe('policy', () => {
    it('rejects a wrong subject', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), { san: 'https://github.com/mallory/app/.github/workflows/x.yml@refs/heads/main' });
      rejects(() => acceptCandidate(candidate, s.trust, policy()), 'UNTRUSTED_SIGNER', /mallory.*matches no configured identity/);
    });

    it('rejects a wrong issuer', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), { extensions: fulcioExtensions('https://accounts.evil.test') });
      rejects(() => acceptCandidate(candidate, s.trust, policy()), 'UNTRUSTED_SIGNER', /accounts\.evil\.test/);
    });

    it('anchors regular expressions: "acme" does not match "evil-acme-x"', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), { san: 'evil-acme-x' });
      const unanchoredTrick = policy({ identities: [{ issuer: ISSUER, subjectRegexp: 'acme', claims: {} }] });
      rejects(() => acceptCandidate(candidate, s.trust, unanchoredTrick), 'UNTRUSTED_SIGNER');
      const issuerTrick = policy({ identities: [{ issuerRegexp: 'actions', subjectRegexp: '.*acme.*', claims: {} }] });
      rejects(() => acceptCandidate(candidate, s.trust, issuerTrick), 'UNTRUSTED_SIGNER');
      const whole = policy({ identities: [{ issuerRegexp: 'https://token\\.actions\\..*', subjectRegexp: '.*acme.*', claims: {} }] });
      expect(acceptCandidate(candidate, s.trust, whole).signer).toMatchObject({ subject: 'evil-acme-x' });
    });

    it('refuses a keyless signature when only keys are configured', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest());
      rejects(() => acceptCandidate(candidate, s.trust, policy({ identities: [], keys: [{ name: 'p256' }] })), 'UNTRUSTED_SIGNER', /no identity/);
    });
  });

  describe('content', () => {
    it('rejects a signature copied from another image (payload names another digest)', async () => {
      const other = randomDigest();
      const { candidate } = await keylessLegacy(s.sigstore, other);
      const copied = { ...candidate, imageDigest: randomDigest() };
      rejects(() => verifyCandidate(copied, s.trust, policy()), 'PAYLOAD_MISMATCH', new RegExp(`signature is for image ${other}`));
    });

    it('rejects a tampered payload', async () => {
      const digest = randomDigest();
      const { candidate } = await keylessLegacy(s.sigstore, digest);
      const tampered = Buffer.from(candidate.payload.toString().replace('registry.test', 'registry.evil'));
      rejects(() => verifyCandidate({ ...candidate, payload: tampered }, s.trust, policy()), 'TLOG_INVALID', /digest mismatch/);
      // Without a tlog entry to catch it first, the signature check does.
      const noTlog = await keylessLegacy(s.sigstore, digest, { tlog: false });
      rejects(() => verifyCandidate({ ...noTlog.candidate, payload: tampered }, s.trust, policy({ requireTlog: false })), 'NO_TRUSTED_TIME');
    });

    it('rejects a payload whose critical.type is not a cosign image signature', async () => {
      const digest = randomDigest();
      const payload = Buffer.from(simpleSigningPayload(digest).toString().replace('cosign container image signature', 'atomic container signature'));
      const { candidate } = await keylessLegacy(s.sigstore, digest, { payload });
      rejects(() => verifyCandidate(candidate, s.trust, policy()), 'PAYLOAD_MISMATCH', /critical\.type/);
    });
  });

  describe('certificate', () => {
    it('rejects a certificate from an untrusted CA', async () => {
      const rogue = await mockSigstore();
      const keys = ecKeys();
      const cert = await issueCert(rogue.ca, keys);
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), { cert, keys });
      rejects(() => verifyCandidate(candidate, s.trust, policy()), 'CERTIFICATE_INVALID', /certificate chain/);
    });

    it('rejects a certificate that had expired at the tlog integrated time', async () => {
      const late = await mockSigstore({ tlogClock: new Date(Date.now() + 60 * 60 * 1000) });
      const trust = await loadTrust({ trustedRootFile: writeJson(s.dir, 'late-root.json', late.trustedRoot), keys: [] });
      const { candidate } = await keylessLegacy(late, randomDigest());
      rejects(() => verifyCandidate(candidate, trust, policy()), 'CERTIFICATE_INVALID', /expired/);
    });

    it('uses an RFC3161 timestamp as trusted time when there is no tlog entry', async () => {
      const { candidate, signature } = await keylessLegacy(s.sigstore, randomDigest(), { tlog: false });
      const annotations = { ...candidate.annotations, 'dev.sigstore.cosign/rfc3161timestamp': await timestampAnnotation(s.sigstore.tsa, signature) };
      const stamped = { ...candidate, annotations };
      expect(verifyCandidate(stamped, s.trust, policy({ requireTlog: false }))).toMatchObject({ tlog: false, signer: { kind: 'keyless', subject: SUBJECT } });
      rejects(() => verifyCandidate(stamped, s.trust, policy()), 'TLOG_MISSING');
      // A token over another signature does not count.
      const other = await keylessLegacy(s.sigstore, randomDigest(), { tlog: false });
      const wrong = {
        ...candidate,
        annotations: { ...candidate.annotations, 'dev.sigstore.cosign/rfc3161timestamp': await timestampAnnotation(s.sigstore.tsa, other.signature) },
      };
      // Rejected either way; which check trips first depends on the random
      // token bytes (the imprint check, or parsing the token as DER).
      let code: string | undefined;
      try {
        verifyCandidate(wrong, s.trust, policy({ requireTlog: false }));
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(['TIMESTAMP_INVALID', 'SIGNATURE_MALFORMED']).toContain(code);
    });

    it('says a keyless signature without tlog entry or timestamp cannot be verified', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest(), { tlog: false });
      rejects(
        () => verifyCandidate(candidate, s.trust, policy({ requireTlog: false })),
        'NO_TRUSTED_TIME',
        /neither a transparency-log entry nor an RFC3161 timestamp/,
      );
      rejects(() => verifyCandidate(candidate, s.trust, policy()), 'TLOG_MISSING', /require_tlog/);
    });

    it('requires an SCT unless require_sct is false', async () => {
      const noCt = await mockSigstore({ ct: false });
      const trust = await loadTrust({ trustedRootFile: writeJson(s.dir, 'noct-root.json', noCt.trustedRoot), keys: [] });
      const { candidate } = await keylessLegacy(noCt, randomDigest());
      rejects(() => verifyCandidate(candidate, trust, policy()), 'CERTIFICATE_INVALID', /SCT/);
      expect(verifyCandidate(candidate, trust, policy({ requireSct: false })).tlog).toBe(true);
    });

    it('rejects a certificate without the codeSigning extended key usage', async () => {
      const noCt = await mockSigstore({ ct: false });
      const trust = await loadTrust({ trustedRootFile: writeJson(s.dir, 'eku-root.json', noCt.trustedRoot), keys: [] });
      const keys = ecKeys();
      const good = await issueCert(noCt.ca, keys);
      const serverAuth = resign(good, noCt.caKeys.privateKey, (tbs) => replaceBytes(tbs, OID_CODE_SIGNING, OID_SERVER_AUTH));
      const { candidate } = await keylessLegacy(noCt, randomDigest(), { cert: serverAuth, keys });
      rejects(() => verifyCandidate(candidate, trust, policy({ requireSct: false })), 'CERTIFICATE_INVALID', /not for code signing.*1\.3\.6\.1\.5\.5\.7\.3\.1/);
      // The re-signing itself is sound: the same surgery without the EKU change verifies.
      const same = resign(good, noCt.caKeys.privateKey, (tbs) => tbs);
      const control = await keylessLegacy(noCt, randomDigest(), { cert: same, keys });
      expect(verifyCandidate(control.candidate, trust, policy({ requireSct: false })).signer.kind).toBe('keyless');
    });
  });

  describe('transparency log', () => {
    it('rejects a SET signed by a key other than the trusted Rekor key', async () => {
      const { candidate, entry } = await keylessLegacy(s.sigstore, randomDigest());
      if (!entry) throw new Error('no entry');
      const canonical = JSON.stringify({ body: entry.body, integratedTime: entry.integratedTime, logID: entry.logID, logIndex: entry.logIndex });
      const forged = sign('sha256', Buffer.from(canonical), ecKeys().privateKey).toString('base64');
      const annotations = { ...candidate.annotations, 'dev.sigstore.cosign/bundle': rekorBundleAnnotation({ ...entry, signedEntryTimestamp: forged }) };
      rejects(() => verifyCandidate({ ...candidate, annotations }, s.trust, policy()), 'TLOG_INVALID', /inclusion promise|SET/i);
    });

    it('rejects a genuine tlog entry that records another certificate (GHSA-whqx-f9j3-ch6m)', async () => {
      const digest = randomDigest();
      const { candidate, signature } = await keylessLegacy(s.sigstore, digest);
      const otherCert = await issueCert(s.sigstore.ca, ecKeys());
      // Same payload digest and signature, but the body names another cert.
      const entry = await logEntry(s.sigstore.tlog, hashedrekord(candidate.payload, signature, pem(otherCert)));
      const annotations = { ...candidate.annotations, 'dev.sigstore.cosign/bundle': rekorBundleAnnotation(entry) };
      rejects(() => verifyCandidate({ ...candidate, annotations }, s.trust, policy()), 'TLOG_KEY_MISMATCH', /not the signing certificate/);
    });

    it('rejects a tlog entry for another payload', async () => {
      const { candidate } = await keylessLegacy(s.sigstore, randomDigest());
      const other = await keylessLegacy(s.sigstore, randomDigest());
      const annotations = { ...candidate.annotations, 'dev.sigstore.cosign/bundle': other.candidate.annotations['dev.sigstore.cosign/bundle'] ?? '' };
      rejects(() => verifyCandidate({ ...candidate, annotations }, s.trust, policy()), 'TLOG_INVALID', /mismatch/);
    });
  });

  it('computes the payload digest itself and ignores the layer digest and chain annotation', async () => {
    const digest = randomDigest();
    const { candidate } = await keylessLegacy(s.sigstore, digest);
    const lying = legacyCandidate(digest, candidate.payload, {
      ...candidate.annotations,
      'dev.sigstore.cosign/chain': 'garbage that is never read',
    });
    const withWrongLayerDigest = { ...lying, layerDigest: `sha256:${createHash('sha256').update('x').digest('hex')}` as const };
    expect(verifyCandidate(withWrongLayerDigest, s.trust, policy()).tlog).toBe(true);
  });
});
