// Test Sigstore instance built from @sigstore/mock (a real CA, CT log and
// Rekor with real keys and signatures) plus helpers that lay out cosign
// signatures exactly as cosign writes them. Nothing here fakes crypto.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { RFC3161Timestamp } from '@sigstore/core';
import { initializeCA, initializeCTLog, initializeTLog, initializeTSA } from '@sigstore/mock';

import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../../../src/registry/types.js';
import type { BundleCandidate, LegacyCandidate } from '../../../../src/verify/types.js';

export const ISSUER = 'https://token.actions.githubusercontent.com';
export const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
export const REKOR_URL = 'https://rekor.mock.test';
const FULCIO = '1.3.6.1.4.1.57264.1';

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

type CA = Awaited<ReturnType<typeof initializeCA>>;
type TLog = Awaited<ReturnType<typeof initializeTLog>>;
type TSA = Awaited<ReturnType<typeof initializeTSA>>;

export interface MockSigstore {
  readonly ca: CA;
  readonly caKeys: KeyPair;
  readonly tlog: TLog;
  readonly tlogKeys: KeyPair;
  readonly ctKeys: KeyPair;
  readonly tsa: TSA;
  // trusted_root.json (proto3 JSON) trusting exactly this CA, CT log and Rekor.
  readonly trustedRoot: object;
}

// A logged Rekor v1 entry as the Rekor API returns it.
export interface RekorEntry {
  readonly body: string;
  readonly integratedTime: number;
  readonly logID: string;
  readonly logIndex: number;
  readonly signedEntryTimestamp: string;
  readonly inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string };
}

export function ecKeys(curve: 'P-256' | 'P-384' = 'P-256'): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

export async function mockSigstore(options: { ct?: boolean; tlogClock?: Date } = {}): Promise<MockSigstore> {
  const caKeys = ecKeys();
  const ctKeys = ecKeys();
  const tlogKeys = ecKeys();
  const ctLog = options.ct === false ? undefined : await initializeCTLog(ctKeys);
  const ca = await initializeCA(caKeys, ctLog);
  const tlog = await initializeTLog(REKOR_URL, tlogKeys, options.tlogClock);
  const tsa = await initializeTSA(ecKeys());
  const log = (keys: KeyPair, url: string): object => {
    const spki = keys.publicKey.export({ format: 'der', type: 'spki' });
    return {
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } },
      logId: { keyId: createHash('sha256').update(spki).digest('base64') },
    };
  };
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(tlogKeys, REKOR_URL)],
    ctlogs: [log(ctKeys, 'https://ctfe.mock.test')],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.mock.test',
        certChain: { certificates: [{ rawBytes: bytes(ca.rootCertificate).toString('base64') }] },
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: 'https://tsa.mock.test',
        certChain: { certificates: [bytes(tsa.intCertificate), bytes(tsa.rootCertificate)].map((c) => ({ rawBytes: c.toString('base64') })) },
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
    ],
  };
  return { ca, caKeys, tlog, tlogKeys, ctKeys, tsa, trustedRoot };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'verify-test-'));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

export function writeKey(dir: string, name: string, key: KeyObject): string {
  const path = join(dir, `${name}.pub`);
  writeFileSync(path, key.export({ format: 'pem', type: 'spki' }));
  return path;
}

export function randomDigest(): Digest {
  return `sha256:${createHash('sha256').update(String(Math.random())).digest('hex')}`;
}

export function pem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// Fulcio-style extensions: issuer (.1.1 raw and .1.8 DER) and some claims.
export function fulcioExtensions(issuer = ISSUER, claims: Record<string, string> = {}): { oid: string; value: string; legacy?: boolean }[] {
  return [
    { oid: `${FULCIO}.1`, value: issuer, legacy: true },
    { oid: `${FULCIO}.8`, value: issuer },
    ...Object.entries(claims).map(([oid, value]) => ({ oid, value })),
  ];
}

export async function issueCert(
  ca: CA,
  keys: KeyPair,
  options: { san?: string; extensions?: { oid: string; value: string; legacy?: boolean }[] } = {},
): Promise<Buffer> {
  const cert = await ca.issueCertificate({
    publicKey: keys.publicKey.export({ format: 'der', type: 'spki' }),
    subjectAltName: options.san ?? SUBJECT,
    extensions: options.extensions ?? fulcioExtensions(),
  });
  return bytes(cert);
}

export function bytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

// cosign's simple-signing payload, byte for byte as Go's json.Marshal writes it.
export function simpleSigningPayload(digest: string, reference = 'registry.test/acme/app'): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
      optional: null,
    }),
  );
}

export function signPayload(payload: Buffer, key: KeyObject): Buffer {
  return sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key);
}

export function hashedrekord(payload: Buffer, signature: Buffer, publicKeyPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(publicKeyPem).toString('base64') } },
    },
  };
}

export async function logEntry(tlog: TLog, proposed: object): Promise<RekorEntry> {
  const response: unknown = await tlog.log(proposed);
  const entry = Object.values(response as Record<string, Record<string, unknown>>)[0];
  if (entry === undefined) throw new Error('mock Rekor returned no entry');
  const verification = entry['verification'] as { signedEntryTimestamp: string; inclusionProof: RekorEntry['inclusionProof'] };
  return {
    body: entry['body'] as string,
    integratedTime: entry['integratedTime'] as number,
    logID: entry['logID'] as string,
    logIndex: entry['logIndex'] as number,
    signedEntryTimestamp: verification.signedEntryTimestamp,
    inclusionProof: verification.inclusionProof,
  };
}

// The dev.sigstore.cosign/rfc3161timestamp annotation: an RFC3161 token
// over the raw signature bytes, as cosign requests it.
export async function timestampAnnotation(tsa: TSA, signature: Buffer): Promise<string> {
  // The mock TSA (pkijs) writes genTime's fraction with trailing zeros
  // trimmed (".12Z"), which @sigstore/core refuses as an invalid time; that
  // is a property of the test material, so issue tokens until one parses.
  for (let attempt = 0; ; attempt++) {
    const response = bytes(
      await tsa.timestamp({
        artifactHash: createHash('sha256').update(signature).digest(),
        hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
        nonce: 12345,
        policyOID: '1.3.6.1.4.1.57264.2',
        certReq: true,
      }),
    );
    if (genTimeParses(response) || attempt >= 20) return JSON.stringify({ SignedRFC3161Timestamp: response.toString('base64') });
    await new Promise((r) => setTimeout(r, 3));
  }
}

function genTimeParses(der: Buffer): boolean {
  try {
    return RFC3161Timestamp.parse(Buffer.from(der)).signingTime instanceof Date;
  } catch {
    return false;
  }
}

// The dev.sigstore.cosign/bundle annotation (cosign's RekorBundle).
export function rekorBundleAnnotation(e: RekorEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: e.signedEntryTimestamp,
    Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
  });
}

export function legacyCandidate(imageDigest: Digest, payload: Buffer, annotations: Record<string, string>): LegacyCandidate {
  return {
    format: 'legacy',
    imageDigest,
    payload,
    layerDigest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    annotations,
  };
}

export interface Keyless {
  readonly candidate: LegacyCandidate;
  readonly cert: Buffer;
  readonly keys: KeyPair;
  readonly signature: Buffer;
  readonly entry: RekorEntry | undefined;
}

// A keyless legacy signature laid out like `cosign sign --new-bundle-format=false`.
export async function keylessLegacy(
  sigstore: MockSigstore,
  imageDigest: Digest,
  options: {
    payload?: Buffer;
    cert?: Buffer;
    keys?: KeyPair;
    tlog?: boolean;
    san?: string;
    extensions?: { oid: string; value: string; legacy?: boolean }[];
  } = {},
): Promise<Keyless> {
  const keys = options.keys ?? ecKeys();
  const cert =
    options.cert ??
    (await issueCert(sigstore.ca, keys, { ...(options.san ? { san: options.san } : {}), ...(options.extensions ? { extensions: options.extensions } : {}) }));
  const payload = options.payload ?? simpleSigningPayload(imageDigest);
  const signature = signPayload(payload, keys.privateKey);
  const entry = options.tlog === false ? undefined : await logEntry(sigstore.tlog, hashedrekord(payload, signature, pem(cert)));
  const annotations: Record<string, string> = {
    'dev.cosignproject.cosign/signature': signature.toString('base64'),
    'dev.sigstore.cosign/certificate': pem(cert),
    'dev.sigstore.cosign/chain': pem(bytes(sigstore.ca.rootCertificate)),
  };
  if (entry) annotations['dev.sigstore.cosign/bundle'] = rekorBundleAnnotation(entry);
  return { candidate: legacyCandidate(imageDigest, payload, annotations), cert, keys, signature, entry };
}

// A key-based legacy signature (`cosign sign --key`), with or without tlog.
export async function keyedLegacy(
  sigstore: MockSigstore,
  imageDigest: Digest,
  keys: KeyPair,
  options: { tlog?: boolean; payload?: Buffer } = {},
): Promise<LegacyCandidate> {
  const payload = options.payload ?? simpleSigningPayload(imageDigest);
  const signature = signPayload(payload, keys.privateKey);
  const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': signature.toString('base64') };
  if (options.tlog !== false) {
    const keyPem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    annotations['dev.sigstore.cosign/bundle'] = rekorBundleAnnotation(await logEntry(sigstore.tlog, hashedrekord(payload, signature, keyPem)));
  }
  return legacyCandidate(imageDigest, payload, annotations);
}

export function cosignStatement(imageDigest: string, predicateType = 'https://sigstore.dev/cosign/sign/v1'): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: imageDigest.replace(/^sha256:/, '') } }],
      predicateType,
      predicate: {},
    }),
  );
}

// A cosign v3 (new bundle format) signature: v0.3 bundle, DSSE, Rekor dsse entry.
export async function keylessBundle(
  sigstore: MockSigstore,
  imageDigest: Digest,
  options: { statement?: Buffer; payloadType?: string; tlogVerifierPem?: string; key?: KeyPair } = {},
): Promise<BundleCandidate> {
  const keys = options.key ?? ecKeys();
  const cert = options.key ? undefined : await issueCert(sigstore.ca, keys);
  const signerPem = cert ? pem(cert) : keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const payloadType = options.payloadType ?? 'application/vnd.in-toto+json';
  const payload = options.statement ?? cosignStatement(imageDigest);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
  const signature = signPayload(pae, keys.privateKey);
  const envelope = { payload: payload.toString('base64'), payloadType, signatures: [{ sig: signature.toString('base64'), keyid: '' }] };
  const e = await logEntry(sigstore.tlog, {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: createHash('sha256').update(JSON.stringify(envelope)).digest('hex') },
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [{ signature: signature.toString('base64'), verifier: Buffer.from(options.tlogVerifierPem ?? signerPem).toString('base64') }],
    },
  });
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...(cert ? { certificate: { rawBytes: cert.toString('base64') } } : { publicKey: { hint: 'c2lnbmVyLWNob3Nlbi1oaW50' } }),
      tlogEntries: [
        {
          logIndex: String(e.logIndex),
          logId: { keyId: Buffer.from(e.logID, 'hex').toString('base64') },
          kindVersion: { kind: 'dsse', version: '0.0.1' },
          integratedTime: String(e.integratedTime),
          inclusionPromise: { signedEntryTimestamp: e.signedEntryTimestamp },
          inclusionProof: {
            logIndex: String(e.inclusionProof.logIndex),
            rootHash: Buffer.from(e.inclusionProof.rootHash, 'hex').toString('base64'),
            treeSize: String(e.inclusionProof.treeSize),
            hashes: e.inclusionProof.hashes,
            checkpoint: { envelope: e.inclusionProof.checkpoint },
          },
          canonicalizedBody: e.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: envelope,
  };
  return { format: 'bundle', imageDigest, bundle, manifestDigest: randomDigest() };
}
