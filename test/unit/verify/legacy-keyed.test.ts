// Key-based legacy cosign signatures (`cosign sign --key`), with node:crypto
// keys of every supported type, with and without a Rekor entry.

import { beforeAll, describe, expect, it } from 'vitest';

import { verifyCandidate } from '../../../src/verify/verify.js';
import {
  ecKeys,
  hashedrekord,
  keyedLegacy,
  legacyCandidate,
  logEntry,
  randomDigest,
  rekorBundleAnnotation,
  signPayload,
  simpleSigningPayload,
} from './support/rig.js';
import { KEY_NAMES, keyPolicy, rejects, setup } from './support/setup.js';

import type { Setup } from './support/setup.js';

let s: Setup;
beforeAll(async () => {
  s = await setup();
});

describe('key-based legacy signature', () => {
  describe.each(KEY_NAMES)('%s key', (name) => {
    it('verifies with a tlog entry, and the key that verified is the signer', async () => {
      const digest = randomDigest();
      const candidate = await keyedLegacy(s.sigstore, digest, s.keys[name]);
      expect(verifyCandidate(candidate, s.trust, keyPolicy(KEY_NAMES))).toEqual({
        kind: 'signature',
        format: 'legacy',
        imageDigest: digest,
        signer: { kind: 'key', keyName: name },
        tlog: true,
        trustedRoot: 'default',
      });
    });

    it('verifies without a tlog entry only when require_tlog is false', async () => {
      const candidate = await keyedLegacy(s.sigstore, randomDigest(), s.keys[name], { tlog: false });
      expect(verifyCandidate(candidate, s.trust, keyPolicy([name], { requireTlog: false }))).toMatchObject({
        signer: { kind: 'key', keyName: name },
        tlog: false,
      });
      rejects(() => verifyCandidate(candidate, s.trust, keyPolicy([name])), 'TLOG_MISSING');
    });
  });

  it('rejects a signature made with a key that is not configured', async () => {
    const candidate = await keyedLegacy(s.sigstore, randomDigest(), ecKeys(), { tlog: false });
    rejects(() => verifyCandidate(candidate, s.trust, keyPolicy(KEY_NAMES, { requireTlog: false })), 'SIGNATURE_INVALID', /any configured key/);
  });

  it('rejects a signature made with a configured key that the policy does not list', async () => {
    const candidate = await keyedLegacy(s.sigstore, randomDigest(), s.keys.p384, { tlog: false });
    rejects(() => verifyCandidate(candidate, s.trust, keyPolicy(['p256', 'rsa'], { requireTlog: false })), 'SIGNATURE_INVALID', /"p256", "rsa"/);
  });

  it('rejects a tampered payload', async () => {
    const digest = randomDigest();
    const candidate = await keyedLegacy(s.sigstore, digest, s.keys.p256, { tlog: false });
    const payload = Buffer.from(candidate.payload.toString().replace('"optional":null', '"optional":{"x":"y"}'));
    rejects(() => verifyCandidate({ ...candidate, payload }, s.trust, keyPolicy(['p256'], { requireTlog: false })), 'SIGNATURE_INVALID');
  });

  it('rejects a signature copied from another image', async () => {
    const candidate = await keyedLegacy(s.sigstore, randomDigest(), s.keys.ed25519);
    rejects(() => verifyCandidate({ ...candidate, imageDigest: randomDigest() }, s.trust, keyPolicy(['ed25519'])), 'PAYLOAD_MISMATCH');
  });

  it('rejects a genuine tlog entry that records another key (GHSA-whqx-f9j3-ch6m)', async () => {
    const digest = randomDigest();
    const payload = simpleSigningPayload(digest);
    const signature = signPayload(payload, s.keys.p256.privateKey);
    const otherKeyPem = ecKeys().publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const entry = await logEntry(s.sigstore.tlog, hashedrekord(payload, signature, otherKeyPem));
    const forged = legacyCandidate(digest, payload, {
      'dev.cosignproject.cosign/signature': signature.toString('base64'),
      'dev.sigstore.cosign/bundle': rekorBundleAnnotation(entry),
    });
    rejects(() => verifyCandidate(forged, s.trust, keyPolicy(['p256'])), 'TLOG_KEY_MISMATCH', /not configured key "p256"/);
    // ...also when the tlog is not required: a present entry must still be right.
    rejects(() => verifyCandidate(forged, s.trust, keyPolicy(['p256'], { requireTlog: false })), 'TLOG_KEY_MISMATCH');
  });

  it('refuses a key-based signature when only identities are configured', async () => {
    const candidate = await keyedLegacy(s.sigstore, randomDigest(), s.keys.p256);
    rejects(
      () => verifyCandidate(candidate, s.trust, keyPolicy([], { identities: [{ issuer: 'i', subject: 's', claims: {} }] })),
      'UNTRUSTED_SIGNER',
      /no key/,
    );
  });

  it('caches one Verifier per mode in the trust context', () => {
    const mode = { keyless: false, requireTlog: true, requireSct: false };
    expect(s.trust.verifier(mode)).toBe(s.trust.verifier({ ...mode }));
    expect(s.trust.verifier(mode)).not.toBe(s.trust.verifier({ ...mode, requireTlog: false }));
  });
});
