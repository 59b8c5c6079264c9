// Legacy cosign signatures (one layer of the `sha256-<hex>.sig` manifest)
// turned into a v0.1 Sigstore bundle for @sigstore/verify, the way
// sigstore-go's OCI example does: a messageSignature over the payload whose
// digest we compute ourselves, the certificate annotation as the leaf, and
// the Rekor SET bundle annotation as a tlog entry with an inclusion promise.
// The chain annotation is never used: intermediates and roots come from the
// trusted root only.

import { createHash, verify as cryptoVerify } from 'node:crypto';

import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity } from '@sigstore/verify';

import { SignatureError, messageOf } from './errors.js';
import { decodeBase64, decodeFirstPem, decodeHex } from './encoding.js';
import { field, isJsonObject, parseStrictJson } from './json.js';

import type { KeyObject } from 'node:crypto';
import type { SignedEntity } from '@sigstore/verify';
import type { JsonObject, JsonValue } from './json.js';
import type { LegacyCandidate, PreparedSignature } from './types.js';

export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

export const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
// Placeholder key hint; the verifier tries each configured key by name.
export const KEY_HINT_PLACEHOLDER = 'configured-key';

export function prepareLegacy(candidate: LegacyCandidate): PreparedSignature {
  const ann = candidate.annotations;
  const signature = ann[ANNOTATION.signature];
  if (signature === undefined || signature === '') {
    throw malformed(`layer has no ${ANNOTATION.signature} annotation`);
  }
  decodeBase64(signature, `annotation ${ANNOTATION.signature}`);
  const { leafDer, verificationMaterial } = annotationMaterial(ann, SIGNATURE_ENTRY_KINDS);
  const json = {
    mediaType: BUNDLE_V01,
    verificationMaterial,
    messageSignature: {
      // Our own digest of the payload bytes, never the manifest's layer digest.
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(candidate.payload).digest('base64') },
      signature,
    },
  };
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundleFromJSON(json), candidate.payload);
  } catch (err) {
    throw malformed(`legacy signature cannot be read as a Sigstore bundle: ${messageOf(err)}`, err);
  }
  return {
    entity: withPureEd25519(entity, candidate.payload),
    content: { kind: 'simple-signing', payload: candidate.payload },
    leafDer,
  };
}

// Which Rekor entry kinds may vouch for what: cosign >= 1.4 logs signatures
// as hashedrekord and attestations as intoto (dsse with newer clients).
const SIGNATURE_ENTRY_KINDS: readonly string[] = ['hashedrekord'];

// The verification material of a `.sig` or `.att` layer's annotations, as a
// v0.1 bundle's verificationMaterial: the leaf certificate (else a
// placeholder key hint), the Rekor SET bundle, the RFC 3161 timestamp.
export function annotationMaterial(
  ann: Readonly<Record<string, string>>,
  entryKinds: readonly string[],
): { leafDer: Buffer | undefined; verificationMaterial: object } {
  const certificate = ann[ANNOTATION.certificate];
  const rekor = ann[ANNOTATION.bundle];
  const rfc3161 = ann[ANNOTATION.rfc3161];
  const leafDer = certificate !== undefined && certificate !== '' ? certificateDer(certificate) : undefined;
  return {
    leafDer,
    verificationMaterial: {
      ...(leafDer !== undefined
        ? { x509CertificateChain: { certificates: [{ rawBytes: leafDer.toString('base64') }] } }
        : { publicKey: { hint: KEY_HINT_PLACEHOLDER } }),
      tlogEntries: rekor === undefined ? [] : [tlogEntry(rekor, entryKinds)],
      timestampVerificationData: { rfc3161Timestamps: rfc3161 === undefined ? [] : [rfc3161Timestamp(rfc3161)] },
    },
  };
}

// The PEM leaf certificate annotation (first block only, like cosign).
function certificateDer(pem: string): Buffer {
  return decodeFirstPem(pem, 'CERTIFICATE', `annotation ${ANNOTATION.certificate}`);
}

// cosign's RekorBundle: {SignedEntryTimestamp, Payload{body, integratedTime, logIndex, logID}}.
function tlogEntry(annotation: string, entryKinds: readonly string[]): object {
  const what = `annotation ${ANNOTATION.bundle}`;
  const rb = object(parseStrictJson(Buffer.from(annotation, 'utf8'), what), what);
  const set = string(field(rb, 'SignedEntryTimestamp', what), `${what} SignedEntryTimestamp`);
  const payload = object(field(rb, 'Payload', what), `${what} Payload`);
  const body = string(field(payload, 'body', what), `${what} Payload.body`);
  const integratedTime = integer(field(payload, 'integratedTime', what), `${what} Payload.integratedTime`);
  const logIndex = integer(field(payload, 'logIndex', what), `${what} Payload.logIndex`);
  const logID = decodeHex(string(field(payload, 'logID', what), `${what} Payload.logID`), 32, `${what} Payload.logID`);
  decodeBase64(set, `${what} SignedEntryTimestamp`);

  // The entry's kind and version come from the (SET-covered) body itself.
  const bodyWhat = `${what} Payload.body`;
  const entryBody = object(parseStrictJson(decodeBase64(body, bodyWhat), bodyWhat), bodyWhat);
  const kind = string(field(entryBody, 'kind', bodyWhat), `${bodyWhat} kind`);
  const version = string(field(entryBody, 'apiVersion', bodyWhat), `${bodyWhat} apiVersion`);
  if (!entryKinds.includes(kind)) {
    throw new SignatureError('UNSUPPORTED', `${what}: Rekor entries of kind ${JSON.stringify(kind)} are not accepted here (only ${entryKinds.join(', ')})`);
  }
  return {
    logIndex: String(logIndex),
    logId: { keyId: logID.toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    canonicalizedBody: body,
  };
}

// {"SignedRFC3161Timestamp": "<base64 DER TimeStampResp>"}
function rfc3161Timestamp(annotation: string): object {
  const what = `annotation ${ANNOTATION.rfc3161}`;
  const ts = object(parseStrictJson(Buffer.from(annotation, 'utf8'), what), what);
  const signed = string(field(ts, 'SignedRFC3161Timestamp', what), `${what} SignedRFC3161Timestamp`);
  decodeBase64(signed, `${what} SignedRFC3161Timestamp`);
  return { signedTimestamp: signed };
}

// @sigstore/verify verifies message signatures with an explicit digest
// (sha256), which Node rejects for Ed25519 keys. cosign signs the payload
// with pure Ed25519, so verify those ourselves; everything else delegates.
function withPureEd25519(entity: SignedEntity, payload: Buffer): SignedEntity {
  const content = entity.signature;
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (s: Buffer) => content.compareSignature(s),
      compareDigest: (d: Buffer) => content.compareDigest(d),
      compareSignedDigest: (d: Buffer) => content.compareSignedDigest(d),
      verifySignature: (key: KeyObject) =>
        key.asymmetricKeyType === 'ed25519' ? safeVerify(() => cryptoVerify(null, payload, key, content.signature)) : content.verifySignature(key),
    },
  };
}

function safeVerify(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

export function object(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) throw malformed(`${what} is not a JSON object`);
  return value;
}

export function string(value: JsonValue | undefined, what: string): string {
  if (typeof value !== 'string' || value === '') throw malformed(`${what} is missing or not a string`);
  return value;
}

function integer(value: JsonValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`${what} is not a non-negative integer`);
  }
  return value;
}

export function malformed(problem: string, cause?: unknown): SignatureError {
  return new SignatureError('SIGNATURE_MALFORMED', problem, cause === undefined ? undefined : { cause });
}
