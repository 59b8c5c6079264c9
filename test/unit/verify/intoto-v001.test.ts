// Legacy `.att` attestations logged as Rekor intoto 0.0.1 (cosign 1.x): the
// SET is checked by @sigstore/verify, the body (the hash of the logged
// envelope) by us, and the recorded key is bound to the signer.

import { createHash } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import { acceptCandidate } from '../../../src/attest/signature-step.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { ISSUER, SUBJECT, bytes, ecKeys, issueCert, logEntry, pem, randomDigest, rekorBundleAnnotation, signPayload } from './support/rig.js';
import { rejects, setup } from './support/setup.js';

import type { Digest } from '../../../src/registry/types.js';
import type { AttestationLayerCandidate } from '../../../src/verify/types.js';
import type { KeyPair } from './support/rig.js';
import type { Setup } from './support/setup.js';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function statement(digest: Digest): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      subject: [{ name: 'registry.test/acme/api', digest: { sha256: digest.slice('sha256:'.length) } }],
      predicateType: SLSA_V1,
      predicate: { runDetails: { builder: { id: 'https://builder.test/v1' } }, buildDefinition: { buildType: 'https://build.test/t' } },
    }),
  );
}

interface Options {
  keys?: KeyPair;
  keyless?: boolean;
  // What the entry records as the signer (default: the signer's own PEM).
  recordedPem?: string;
  // Logged hash of the envelope (default: of the envelope stored).
  loggedEnvelope?: (envelope: Buffer) => Buffer;
  storedEnvelope?: (envelope: Buffer) => Buffer;
}

async function v001Attestation(s: Setup, digest: Digest, o: Options = {}): Promise<AttestationLayerCandidate> {
  const keys = o.keys ?? ecKeys();
  const cert = o.keyless === false ? undefined : await issueCert(s.sigstore.ca, keys);
  const payload = statement(digest);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} `), payload]);
  const sig = signPayload(pae, keys.privateKey);
  const envelope = Buffer.from(
    JSON.stringify({ payloadType: PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] }),
  );
  const signerPem = cert ? pem(cert) : keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const logged = o.loggedEnvelope ? o.loggedEnvelope(envelope) : envelope;
  const entry = await logEntry(s.sigstore.tlog, {
    apiVersion: '0.0.1',
    kind: 'intoto',
    spec: {
      content: { hash: { algorithm: 'sha256', value: sha256(logged) }, payloadHash: { algorithm: 'sha256', value: sha256(payload) } },
      publicKey: Buffer.from(o.recordedPem ?? signerPem).toString('base64'),
    },
  });
  const stored = o.storedEnvelope ? o.storedEnvelope(envelope) : envelope;
  const annotations: Record<string, string> = {
    'dev.cosignproject.cosign/signature': '',
    predicateType: SLSA_V1,
    'dev.sigstore.cosign/bundle': rekorBundleAnnotation(entry),
  };
  if (cert) {
    annotations['dev.sigstore.cosign/certificate'] = pem(cert);
    annotations['dev.sigstore.cosign/chain'] = pem(bytes(s.sigstore.ca.rootCertificate));
  }
  return { format: 'att', imageDigest: digest, envelope: stored, layerDigest: `sha256:${sha256(stored)}`, annotations };
}

describe('legacy .att with a Rekor intoto 0.0.1 entry', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });

  const keylessPolicy = () =>
    compilePolicy({
      identities: [],
      keys: [],
      attestations: [{ name: 'build', predicateType: SLSA_V1, identity: { issuer: ISSUER, subject: SUBJECT, claims: {} } }],
      requireTlog: true,
      requireSct: true,
    });
  const keyPolicy = () =>
    compilePolicy({
      identities: [],
      keys: [{ name: 'p256' }],
      attestations: [{ name: 'build', predicateType: SLSA_V1, key: 'p256' }],
      requireTlog: true,
      requireSct: true,
    });

  it('a keyless attestation verifies: SET, logged envelope hash, recorded certificate; the tlog requirement is met', async () => {
    const digest = randomDigest();
    const accepted = acceptCandidate(await v001Attestation(s, digest), s.trust, keylessPolicy());
    expect(accepted).toMatchObject({ kind: 'attestation', format: 'att', predicateType: SLSA_V1, tlog: true, rules: ['build'], signer: { subject: SUBJECT } });
  });

  it('a key-based attestation verifies with the configured key recorded in the entry', async () => {
    const digest = randomDigest();
    const accepted = acceptCandidate(await v001Attestation(s, digest, { keys: s.keys.p256, keyless: false }), s.trust, keyPolicy());
    expect(accepted).toMatchObject({ kind: 'attestation', signer: { kind: 'key', keyName: 'p256' }, rules: ['build'] });
  });

  it('an entry that logged another envelope does not vouch for this one (TLOG_INVALID)', async () => {
    const digest = randomDigest();
    // Same payload and signature, but the stored bytes differ from what was
    // logged: the entry is not about this layer.
    const c = await v001Attestation(s, digest, { storedEnvelope: (e) => Buffer.concat([e, Buffer.from(' ')]) });
    rejects(() => acceptCandidate(c, s.trust, keylessPolicy()), 'TLOG_INVALID', /content\.hash mismatch/);
  });

  it('an entry recording another key is refused (TLOG_KEY_MISMATCH)', async () => {
    const digest = randomDigest();
    const other = ecKeys().publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const c = await v001Attestation(s, digest, { keys: s.keys.p256, keyless: false, recordedPem: other });
    rejects(() => acceptCandidate(c, s.trust, keyPolicy()), 'TLOG_KEY_MISMATCH');
  });

  it('a body swapped after logging fails the SET (TLOG_INVALID)', async () => {
    const digest = randomDigest();
    const c = await v001Attestation(s, digest);
    const rekor = JSON.parse(c.annotations['dev.sigstore.cosign/bundle'] ?? '{}') as { Payload: { body: string } };
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString()) as { spec: { publicKey: string } };
    body.spec.publicKey = Buffer.from(pem(await issueCert(s.sigstore.ca, ecKeys()))).toString('base64');
    rekor.Payload.body = Buffer.from(JSON.stringify(body)).toString('base64');
    const swapped = { ...c, annotations: { ...c.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(rekor) } };
    rejects(() => acceptCandidate(swapped, s.trust, keylessPolicy()), 'TLOG_INVALID');
  });
});
