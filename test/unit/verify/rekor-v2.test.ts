// cosign v3 bundles logged in Rekor v2 (rekor-tiles): hashedrekord 0.0.2 and
// dsse 0.0.2 entries, integratedTime 0, no SET, an inclusion proof against
// a signed C2SP checkpoint, and an RFC3161 timestamp as the only trusted
// time. Verified end to end by verifyCandidate with a trusted root that
// lists the v2 log next to the v1 one.

import { beforeAll, describe, expect, it } from 'vitest';

import { createTrust, loadTrust, parseKey } from '../../../src/verify/trust.js';
import { verifyCandidate } from '../../../src/verify/verify.js';
import { ISSUER, SUBJECT, cosignStatement, ecKeys, keylessBundle, randomDigest, writeJson, writeKey } from './support/rig.js';
import { otherCertificate, rekorV2Bundle, rekorV2BundleDetail, rekorV2Log, withRekorV2 } from './support/rekor-v2.js';
import { KEY_NAMES, rejects, setup } from './support/setup.js';

import type { BundleCandidate, VerifyOptions } from '../../../src/verify/types.js';
import type { TrustContext } from '../../../src/verify/trust.js';
import type { RekorV2BundleJson, RekorV2Sigstore } from './support/rekor-v2.js';
import type { Setup } from './support/setup.js';

const KINDS = ['hashedrekord', 'dsse'] as const;

let s: Setup;
let v2: RekorV2Sigstore;
let trust: TrustContext;
beforeAll(async () => {
  s = await setup();
  v2 = withRekorV2(s.sigstore);
  trust = await loadTrust({
    trustedRootFile: writeJson(s.dir, 'trusted_root_v2.json', v2.trustedRoot),
    keys: KEY_NAMES.map((name) => ({ name, path: writeKey(s.dir, name, s.keys[name].publicKey) })),
  });
});

// What verifyCandidate is asked (a compiled policy has these fields):
// require_tlog and require_sct, keyless signers allowed or these keys.
function keyless(): VerifyOptions {
  return { requireTlog: true, requireSct: true, keyNames: [], allowKeyless: true };
}

function keyed(names: readonly string[]): VerifyOptions {
  return { requireTlog: true, requireSct: true, keyNames: names, allowKeyless: false };
}

// The candidate with its bundle JSON changed by `edit` (on a deep copy).
function edited(candidate: BundleCandidate, edit: (json: RekorV2BundleJson) => void): BundleCandidate {
  const json = structuredClone(candidate.bundle) as RekorV2BundleJson;
  edit(json);
  return { ...candidate, bundle: json };
}

function entryOf(json: RekorV2BundleJson): RekorV2BundleJson['verificationMaterial']['tlogEntries'][number] {
  const entry = json.verificationMaterial.tlogEntries[0];
  if (entry === undefined) throw new Error('bundle has no tlog entry');
  return entry;
}

describe('Rekor v2 bundle (test Sigstore)', () => {
  it.each(KINDS)('verifies a keyless v0.3 DSSE bundle with a %s 0.0.2 entry, checkpoint and RFC3161 timestamp', async (kind) => {
    const digest = randomDigest();
    const detail = await rekorV2BundleDetail(v2, digest, { kind });
    const entry = entryOf(detail.json);
    expect(entry).toMatchObject({ kindVersion: { kind, version: '0.0.2' }, integratedTime: '0' });
    expect(entry).not.toHaveProperty('inclusionPromise');
    expect(entry.inclusionProof.hashes.length).toBeGreaterThan(1);
    expect(verifyCandidate(detail.candidate, trust, keyless())).toMatchObject({
      format: 'bundle',
      imageDigest: digest,
      tlog: true,
      signer: { kind: 'keyless', subject: SUBJECT, issuer: ISSUER, claims: {} },
    });
  });

  // Rekor v2 refuses pure Ed25519 over a digest (hashedrekord), so Ed25519 keys log dsse entries.
  it.each([
    ['hashedrekord', 'p256'],
    ['dsse', 'p256'],
    ['dsse', 'ed25519'],
  ] as const)('verifies a key-based (%s 0.0.2, %s) v0.3 bundle, ignoring its key hint', async (kind, name) => {
    const digest = randomDigest();
    const b = await rekorV2Bundle(v2, digest, { kind, key: s.keys[name] });
    expect(verifyCandidate(b, trust, keyed(['p384', name]))).toMatchObject({
      format: 'bundle',
      imageDigest: digest,
      tlog: true,
      signer: { kind: 'key', keyName: name },
    });
    rejects(() => verifyCandidate(b, trust, keyed(['p384', 'rsa'])), 'SIGNATURE_INVALID', /any configured key/);
  });

  it('verifies a key-based bundle without a timestamp: a configured key needs no trusted time', async () => {
    const digest = randomDigest();
    const b = await rekorV2Bundle(v2, digest, { key: s.keys.p256, timestamp: false });
    expect(verifyCandidate(b, trust, keyed(['p256']))).toMatchObject({ tlog: true, signer: { kind: 'key', keyName: 'p256' } });
  });

  it.each([
    [0, 1],
    [0, 2],
    [1, 2],
    [6, 7],
    [7, 8],
    [100, 257],
  ])('verifies the inclusion proof of entry %i in a tree of %i', async (logIndex, treeSize) => {
    const digest = randomDigest();
    const b = await rekorV2Bundle(v2, digest, { kind: 'dsse', logIndex, treeSize });
    expect(verifyCandidate(b, trust, keyless())).toMatchObject({ tlog: true, signer: { kind: 'keyless' } });
  });

  it('verifies with a createTrust context, and with an ECDSA-keyed Rekor v2 log', async () => {
    const ecdsa = withRekorV2(s.sigstore, rekorV2Log({ keyType: 'ecdsa', origin: 'log2026-1.rekor.mock.test' }));
    const ecdsaTrust = createTrust(ecdsa.trustedRoot, 'rekor v2 ECDSA test root', [
      parseKey('p256', s.keys.p256.publicKey.export({ format: 'pem', type: 'spki' }).toString(), '/keys/p256.pub'),
    ]);
    for (const kind of KINDS) {
      expect(verifyCandidate(await rekorV2Bundle(ecdsa, randomDigest(), { kind }), ecdsaTrust, keyless())).toMatchObject({ signer: { kind: 'keyless' } });
      expect(verifyCandidate(await rekorV2Bundle(ecdsa, randomDigest(), { kind, key: s.keys.p256 }), ecdsaTrust, keyed(['p256']))).toMatchObject({
        signer: { kind: 'key', keyName: 'p256' },
      });
    }
    // The Ed25519 log's entries are not vouched for by a root that lacks it.
    const ed25519Logged = await rekorV2Bundle(v2, randomDigest());
    rejects(() => verifyCandidate(ed25519Logged, ecdsaTrust, keyless()), 'TLOG_INVALID', /invalid checkpoint signature/);
  });

  it('still verifies Rekor v1 bundles with the v2 log in the trusted root', async () => {
    const digest = randomDigest();
    expect(verifyCandidate(await keylessBundle(s.sigstore, digest), trust, keyless())).toMatchObject({ imageDigest: digest, tlog: true });
  });

  describe('rejects', () => {
    it.each(KINDS)('a %s entry whose inclusion proof has a tampered hash', async (kind) => {
      const b = await rekorV2Bundle(v2, randomDigest(), { kind });
      const tampered = edited(b, (json) => {
        const hashes = entryOf(json).inclusionProof.hashes;
        const first = Buffer.from(hashes[0] ?? '', 'base64');
        first[0] = (first[0] ?? 0) ^ 0x01;
        hashes[0] = first.toString('base64');
      });
      rejects(() => verifyCandidate(tampered, trust, keyless()), 'TLOG_INVALID', /calculated root hash does not match/);
    });

    it('an inclusion proof with a hash missing', async () => {
      const b = edited(await rekorV2Bundle(v2, randomDigest()), (json) => void entryOf(json).inclusionProof.hashes.pop());
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_INVALID', /invalid hash count/);
    });

    it('a canonicalized body other than the logged one', async () => {
      const b = await rekorV2Bundle(v2, randomDigest());
      const other = await rekorV2Bundle(v2, randomDigest());
      const swapped = edited(b, (json) => {
        entryOf(json).canonicalizedBody = entryOf(other.bundle as RekorV2BundleJson).canonicalizedBody;
      });
      rejects(() => verifyCandidate(swapped, trust, keyless()), 'TLOG_INVALID', /inclusion proof/);
    });

    it.each(KINDS)('a %s entry whose checkpoint is signed by another key', async (kind) => {
      const b = await rekorV2Bundle(v2, randomDigest(), { kind, checkpointKey: rekorV2Log().keys });
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_INVALID', /invalid checkpoint signature/);
    });

    it('a checkpoint whose root hash was changed after signing', async () => {
      const b = edited(await rekorV2Bundle(v2, randomDigest()), (json) => {
        const proof = entryOf(json).inclusionProof;
        const [origin = '', size = '', , ...rest] = proof.checkpoint.envelope.split('\n');
        proof.checkpoint.envelope = [origin, size, Buffer.alloc(32, 7).toString('base64'), ...rest].join('\n');
      });
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_INVALID', /invalid checkpoint signature/);
    });

    it('an entry from a Rekor v2 log the trusted root does not list', async () => {
      const untrusted = withRekorV2(s.sigstore, rekorV2Log({ origin: 'log2025-9.rekor.elsewhere.test' }));
      const b = await rekorV2Bundle(untrusted, randomDigest());
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_INVALID', /invalid checkpoint signature/);
    });

    it.each(KINDS)('a keyless %s entry that records another certificate', async (kind) => {
      const b = await rekorV2Bundle(v2, randomDigest(), { kind, recordedVerifier: { certificate: await otherCertificate(s.sigstore) } });
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_KEY_MISMATCH', /certificate that is not the signing certificate/);
    });

    it.each(KINDS)('a keyless %s entry that records the signing key instead of the certificate', async (kind) => {
      const keys = ecKeys();
      const b = await rekorV2Bundle(v2, randomDigest(), { kind, recordedVerifier: { publicKey: keys.publicKey } });
      rejects(() => verifyCandidate(b, trust, keyless()), 'TLOG_KEY_MISMATCH', /public key that is not the signing certificate/);
    });

    it.each(KINDS)('a key-based %s entry that records another key', async (kind) => {
      const b = await rekorV2Bundle(v2, randomDigest(), { kind, key: s.keys.p256, recordedVerifier: { publicKey: ecKeys().publicKey } });
      rejects(() => verifyCandidate(b, trust, keyed(['p256'])), 'TLOG_KEY_MISMATCH', /public key that is not configured key "p256"/);
    });

    it('a keyless bundle without a timestamp: integratedTime 0 is no trusted time', async () => {
      const b = await rekorV2Bundle(v2, randomDigest(), { timestamp: false });
      rejects(() => verifyCandidate(b, trust, keyless()), 'NO_TRUSTED_TIME');
    });

    it('a keyless bundle without a timestamp whose entry claims an integratedTime but has no SET', async () => {
      const b = await rekorV2Bundle(v2, randomDigest(), { timestamp: false, integratedTime: String(Math.floor(Date.now() / 1000)) });
      rejects(() => verifyCandidate(b, trust, keyless()), 'TIMESTAMP_INVALID', /expected 1 timestamps, got 0/);
    });

    it('a timestamp over another signature', async () => {
      const b = await rekorV2Bundle(v2, randomDigest());
      const other = await rekorV2Bundle(v2, randomDigest());
      const swapped = edited(b, (json) => {
        json.verificationMaterial.timestampVerificationData = (other.bundle as RekorV2BundleJson).verificationMaterial.timestampVerificationData;
      });
      rejects(() => verifyCandidate(swapped, trust, keyless()), 'TIMESTAMP_INVALID');
    });

    it.each(KINDS)('a %s bundle whose statement names another image', async (kind) => {
      const digest = randomDigest();
      const other = randomDigest();
      const b = await rekorV2Bundle(v2, digest, { kind, statement: cosignStatement(other) });
      rejects(() => verifyCandidate(b, trust, keyless()), 'PAYLOAD_MISMATCH', new RegExp(`${other}.*${digest}`));
    });
  });
});
