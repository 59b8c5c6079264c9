// Rekor v2 (rekor-tiles) material for the test Sigstore: a log with its own
// key and origin, entries in Rekor v2's body shape (hashedrekord 0.0.2,
// dsse 0.0.2), a real RFC 6962 Merkle tree with an inclusion proof, a
// checkpoint in the C2SP signed-note format, and the RFC3161 timestamp that
// stands in for the integrated time Rekor v2 no longer gives. Nothing here
// fakes crypto.
//
// Facts this follows (rekor-tiles CLIENTS.md, protobuf-specs rekor/v2,
// @sigstore/verify dist/tlog):
// - The log ID (trusted root logId.keyId, bundle tlogEntries[].logId.keyId)
//   is the untruncated C2SP checkpoint key ID. Ed25519:
//   SHA-256(origin || 0x0A || 0x01 || 32-byte key); ECDSA: SHA-256(SPKI DER).
//   The public-good root's log2025-1.rekor.sigstore.dev entry is exactly so.
// - Checkpoint: "<origin>\n<size>\n<base64 root>\n" + "\n" +
//   "— <origin> <base64(keyId[0:4] || signature)>\n"; the signature is over
//   the note text including its last newline. @sigstore/verify finds the
//   log by logId (bundle) and key hint (line), wants the line's name inside
//   the log's baseUrl, and takes size and root hash from the checkpoint only.
// - integratedTime is "0" and there is no inclusionPromise (no SET): the
//   only trusted time is an RFC3161 timestamp over the signature.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

import { cosignStatement, ecKeys, issueCert, randomDigest, signPayload, timestampAnnotation } from './rig.js';

import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../../../src/registry/types.js';
import type { BundleCandidate } from '../../../../src/verify/types.js';
import type { KeyPair, MockSigstore } from './rig.js';

export const REKOR_V2_ORIGIN = 'log2025-1.rekor.mock.test';
export const IN_TOTO = 'application/vnd.in-toto+json';

export interface RekorV2Log {
  readonly origin: string;
  readonly baseUrl: string;
  readonly keys: KeyPair;
  // The untruncated checkpoint key ID, which is also the log ID.
  readonly keyId: Buffer;
}

export interface RekorV2Sigstore extends MockSigstore {
  readonly rekorV2: RekorV2Log;
}

// A Rekor v2 log: Ed25519 like the public-good shards, or ECDSA P-256.
export function rekorV2Log(options: { keyType?: 'ed25519' | 'ecdsa'; origin?: string } = {}): RekorV2Log {
  const origin = options.origin ?? REKOR_V2_ORIGIN;
  const keys = options.keyType === 'ecdsa' ? ecKeys() : generateKeyPairSync('ed25519');
  return { origin, baseUrl: `https://${origin}`, keys, keyId: checkpointKeyId(origin, keys.publicKey) };
}

// C2SP signed-note key ID, untruncated (the note's key hint is its first 4 bytes).
export function checkpointKeyId(origin: string, publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyType === 'ed25519') {
    return createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([0x01]), spki.subarray(spki.length - 32)]))
      .digest();
  }
  return createHash('sha256').update(spki).digest();
}

// The mock Sigstore, also trusting a Rekor v2 log.
export function withRekorV2(sigstore: MockSigstore, log: RekorV2Log = rekorV2Log()): RekorV2Sigstore {
  return { ...sigstore, rekorV2: log, trustedRoot: rekorV2TrustedRoot(sigstore, log) };
}

// mockSigstore's trusted_root.json with `log` added to its tlogs, the way
// the public-good root lists its Rekor v2 shard.
export function rekorV2TrustedRoot(sigstore: MockSigstore, log: RekorV2Log): object {
  const root = sigstore.trustedRoot as { tlogs: object[] };
  const ed25519 = log.keys.publicKey.asymmetricKeyType === 'ed25519';
  return {
    ...root,
    tlogs: [
      ...root.tlogs,
      {
        baseUrl: log.baseUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: log.keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
          keyDetails: ed25519 ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: log.keyId.toString('base64') },
      },
    ],
  };
}

// Rekor v2's Verifier message: the signer's DER certificate or SPKI key.
export type RecordedVerifier = { readonly certificate: Buffer } | { readonly publicKey: KeyObject };

export interface RekorV2Options {
  // The DSSE payload; a cosign signature Statement for imageDigest by default.
  readonly statement?: Buffer;
  readonly payloadType?: string;
  // Entry kind (both version 0.0.2); hashedrekord records sha256(PAE).
  readonly kind?: 'hashedrekord' | 'dsse';
  // Sign with this key (key-based); keyless with a mock Fulcio certificate otherwise.
  readonly key?: KeyPair;
  // What the entry records as the signer (default: the real one).
  readonly recordedVerifier?: RecordedVerifier;
  // Sign the checkpoint with this key instead of the log's (same key hint).
  readonly checkpointKey?: KeyPair;
  // Include an RFC3161 timestamp (default true).
  readonly timestamp?: boolean;
  // The entry's integratedTime (Rekor v2 always writes "0").
  readonly integratedTime?: string;
  // Where the entry sits in the log (defaults: index 9 of 13).
  readonly logIndex?: number;
  readonly treeSize?: number;
}

export interface RekorV2Bundle {
  readonly candidate: BundleCandidate;
  // The parsed bundle JSON (the same object as candidate.bundle).
  readonly json: RekorV2BundleJson;
  readonly keys: KeyPair;
  readonly cert: Buffer | undefined;
  readonly signature: Buffer;
  readonly body: Buffer;
}

export interface RekorV2BundleJson {
  mediaType: string;
  verificationMaterial: {
    certificate?: { rawBytes: string };
    publicKey?: { hint: string };
    tlogEntries: {
      logIndex: string;
      logId: { keyId: string };
      kindVersion: { kind: string; version: string };
      integratedTime: string;
      inclusionProof: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
      canonicalizedBody: string;
    }[];
    timestampVerificationData: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
}

// A cosign v3 bundle (v0.3, DSSE) logged in Rekor v2, as `cosign sign`
// with a Rekor v2 signing config writes it.
export async function rekorV2Bundle(sigstore: RekorV2Sigstore, imageDigest: Digest, options: RekorV2Options = {}): Promise<BundleCandidate> {
  return (await rekorV2BundleDetail(sigstore, imageDigest, options)).candidate;
}

export async function rekorV2BundleDetail(sigstore: RekorV2Sigstore, imageDigest: Digest, options: RekorV2Options = {}): Promise<RekorV2Bundle> {
  const log = sigstore.rekorV2;
  const keys = options.key ?? ecKeys();
  const cert = options.key ? undefined : await issueCert(sigstore.ca, keys);
  const payloadType = options.payloadType ?? IN_TOTO;
  const payload = options.statement ?? cosignStatement(imageDigest);
  const signature = signPayload(pae(payloadType, payload), keys.privateKey);
  const envelope = { payload: payload.toString('base64'), payloadType, signatures: [{ sig: signature.toString('base64'), keyid: '' }] };

  const kind = options.kind ?? 'hashedrekord';
  const verifier = v2Verifier(options.recordedVerifier ?? (cert ? { certificate: cert } : { publicKey: keys.publicKey }));
  const body = Buffer.from(
    canonicalJson(
      kind === 'hashedrekord'
        ? {
            apiVersion: '0.0.2',
            kind,
            spec: {
              hashedRekordV002: {
                data: { algorithm: 'SHA2_256', digest: sha256(pae(payloadType, payload)).toString('base64') },
                signature: { content: signature.toString('base64'), verifier },
              },
            },
          }
        : {
            apiVersion: '0.0.2',
            kind,
            spec: {
              dsseV002: {
                payloadHash: { algorithm: 'SHA2_256', digest: sha256(payload).toString('base64') },
                signatures: [{ content: signature.toString('base64'), verifier }],
              },
            },
          },
    ),
  );

  const treeSize = options.treeSize ?? 13;
  const logIndex = options.logIndex ?? 9;
  const leaves = Array.from({ length: treeSize }, (_, i) => (i === logIndex ? body : randomBytes(64)));
  const leafHashes = leaves.map(hashLeaf);
  const root = treeHash(leafHashes);
  const checkpoint = signedCheckpoint(log, treeSize, root, options.checkpointKey ?? log.keys);

  const timestamps =
    options.timestamp === false
      ? []
      : [{ signedTimestamp: (JSON.parse(await timestampAnnotation(sigstore.tsa, signature)) as { SignedRFC3161Timestamp: string }).SignedRFC3161Timestamp }];

  const json: RekorV2BundleJson = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...(cert ? { certificate: { rawBytes: cert.toString('base64') } } : { publicKey: { hint: 'c2lnbmVyLWNob3Nlbi1oaW50' } }),
      tlogEntries: [
        {
          logIndex: String(logIndex),
          logId: { keyId: log.keyId.toString('base64') },
          kindVersion: { kind, version: '0.0.2' },
          integratedTime: options.integratedTime ?? '0',
          inclusionProof: {
            logIndex: String(logIndex),
            rootHash: root.toString('base64'),
            treeSize: String(treeSize),
            hashes: inclusionPath(logIndex, leafHashes).map((h) => h.toString('base64')),
            checkpoint: { envelope: checkpoint },
          },
          canonicalizedBody: body.toString('base64'),
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: timestamps },
    },
    dsseEnvelope: envelope,
  };
  return { candidate: { format: 'bundle', imageDigest, bundle: json, manifestDigest: randomDigest() }, json, keys, cert, signature, body };
}

// A keyless certificate from the mock Fulcio for another key (for entries
// that record someone else).
export async function otherCertificate(sigstore: MockSigstore): Promise<Buffer> {
  return issueCert(sigstore.ca, ecKeys());
}

function v2Verifier(recorded: RecordedVerifier): object {
  if ('certificate' in recorded) return { x509Certificate: { rawBytes: recorded.certificate.toString('base64') }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' };
  const key = recorded.publicKey;
  return { publicKey: { rawBytes: key.export({ format: 'der', type: 'spki' }).toString('base64') }, keyDetails: keyDetails(key) };
}

function keyDetails(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  if (key.asymmetricKeyType === 'rsa') return 'PKIX_RSA_PKCS1V15_2048_SHA256';
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'PKIX_ECDSA_P384_SHA_384' : 'PKIX_ECDSA_P256_SHA_256';
}

// DSSE pre-authentication encoding.
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

// A C2SP checkpoint signed by `signer` under the log's name and key hint.
export function signedCheckpoint(log: RekorV2Log, treeSize: number, root: Buffer, signer: KeyPair = log.keys): string {
  const note = `${log.origin}\n${treeSize}\n${root.toString('base64')}\n`;
  const sig = sign(signer.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(note), signer.privateKey);
  return `${note}\n\u2014 ${log.origin} ${Buffer.concat([log.keyId.subarray(0, 4), sig]).toString('base64')}\n`;
}

// RFC 6962 Merkle tree hashing.
export function hashLeaf(leaf: Buffer): Buffer {
  return sha256(Buffer.concat([Buffer.from([0x00]), leaf]));
}

function hashChildren(left: Buffer, right: Buffer): Buffer {
  return sha256(Buffer.concat([Buffer.from([0x01]), left, right]));
}

// MTH(D[n]) over leaf hashes.
export function treeHash(leafHashes: readonly Buffer[]): Buffer {
  if (leafHashes.length === 0) return sha256(Buffer.alloc(0));
  if (leafHashes.length === 1) return leafHashes[0] as Buffer;
  const k = split(leafHashes.length);
  return hashChildren(treeHash(leafHashes.slice(0, k)), treeHash(leafHashes.slice(k)));
}

// PATH(m, D[n]): the audit path, lowest level first.
export function inclusionPath(m: number, leafHashes: readonly Buffer[]): Buffer[] {
  const n = leafHashes.length;
  if (n <= 1) return [];
  const k = split(n);
  return m < k
    ? [...inclusionPath(m, leafHashes.slice(0, k)), treeHash(leafHashes.slice(k))]
    : [...inclusionPath(m - k, leafHashes.slice(k)), treeHash(leafHashes.slice(0, k))];
}

// The largest power of two smaller than n (n > 1).
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

// JSON with object keys sorted (RFC 8785 for the strings and objects used
// here), as Rekor writes canonicalized bodies.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
