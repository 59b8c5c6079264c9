// Checks on what a genuine signature says: that it is a cosign image
// signature and that it is for this image. @sigstore/verify proves who
// signed which bytes; these prove the bytes name the image being attested.

import { SignatureError } from './errors.js';
import { field, isJsonObject, parseStrictJson } from './json.js';

import type { Digest } from '../util/digest.js';
import type { JsonObject, JsonValue } from './json.js';
import type { SignedContent } from './types.js';

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPES: readonly string[] = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

// What genuine content says about the image: a cosign signature of it, or
// an in-toto attestation about it (any other predicate type). The two are
// never confused: with cosign v3 both are DSSE bundles of the same referrer
// type, told apart only by the signed predicate type; a legacy `.att` layer
// is always an attestation and may not carry the signature predicate.
export type ContentVerdict =
  { readonly kind: 'signature' } | { readonly kind: 'attestation'; readonly predicateType: string; readonly predicate: JsonValue | undefined };

export function checkContent(content: SignedContent, imageDigest: Digest, stored: 'sig' | 'att' | 'bundle'): ContentVerdict {
  if (content.kind === 'simple-signing') {
    if (stored === 'att') throw new SignatureError('PAYLOAD_MISMATCH', 'an attestation layer holds a simple-signing payload, not a DSSE envelope');
    checkSimpleSigning(content.payload, imageDigest);
    return { kind: 'signature' };
  }
  const statement = checkStatement(content.payloadType, content.payload, imageDigest);
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) return { kind: 'attestation', ...statement };
  if (stored === 'att') {
    throw new SignatureError(
      'PAYLOAD_MISMATCH',
      `an attestation carries the cosign signature predicate ${COSIGN_SIGN_PREDICATE}; it is neither a signature nor an attestation`,
    );
  }
  return { kind: 'signature' };
}

// Legacy payload: {"critical":{"identity":{...},"image":{"docker-manifest-digest":"<digest>"},"type":"cosign container image signature"},"optional":...}
// Keys must be spelled exactly; duplicates and case variants are refused
// (Go would read `Docker-manifest-digest` as the same key).
export function checkSimpleSigning(payload: Buffer, imageDigest: Digest): void {
  const what = 'simple-signing payload';
  const doc = object(parseStrictJson(payload, what), what);
  const critical = object(field(doc, 'critical', what), `${what} "critical"`);
  const image = object(field(critical, 'image', what), `${what} "critical.image"`);
  const digest = field(image, 'docker-manifest-digest', what);
  if (typeof digest !== 'string') malformed(`${what} has no critical.image["docker-manifest-digest"] string`);
  if (digest !== imageDigest) {
    throw new SignatureError('PAYLOAD_MISMATCH', `signature is for image ${digest}, not ${imageDigest}`);
  }
  const type = field(critical, 'type', what);
  if (type !== SIMPLE_SIGNING_TYPE) {
    throw new SignatureError('PAYLOAD_MISMATCH', `${what} critical.type is ${JSON.stringify(type)}, not ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`);
  }
}

// A DSSE payload: an in-toto Statement (v1 or v0.1) with a subject carrying
// the image digest; its predicate type and predicate. cosign v3 signatures
// have predicate type https://sigstore.dev/cosign/sign/v1.
export function checkStatement(payloadType: string, payload: Buffer, imageDigest: Digest): { predicateType: string; predicate: JsonValue | undefined } {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SignatureError('PAYLOAD_MISMATCH', `DSSE payload type is ${JSON.stringify(payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const what = 'in-toto statement';
  const statement = object(parseStrictJson(payload, what), what);
  const type = field(statement, '_type', what);
  if (typeof type !== 'string' || !STATEMENT_TYPES.includes(type)) {
    throw new SignatureError('PAYLOAD_MISMATCH', `${what} _type ${JSON.stringify(type)} is not an in-toto Statement v1 or v0.1`);
  }
  const predicateType = field(statement, 'predicateType', what);
  if (typeof predicateType !== 'string' || predicateType === '') malformed(`${what} has no predicateType string`);
  const subjects = field(statement, 'subject', what);
  if (!Array.isArray(subjects) || subjects.length === 0) malformed(`${what} has no subject`);
  const [algorithm, hex] = splitDigest(imageDigest);
  const named = (subjects as readonly JsonValue[]).map((s) => {
    const digests = field(object(s, `${what} subject`), 'digest', what);
    return field(object(digests, `${what} subject digest`), algorithm, what);
  });
  if (!named.includes(hex)) {
    const seen = named.filter((d) => typeof d === 'string').map((d) => `${algorithm}:${String(d)}`);
    throw new SignatureError('PAYLOAD_MISMATCH', `${what} is about ${seen.length > 0 ? seen.join(', ') : `no ${algorithm} subject`}, not ${imageDigest}`);
  }
  return { predicateType, predicate: field(statement, 'predicate', what) };
}

function splitDigest(digest: Digest): [string, string] {
  const at = digest.indexOf(':');
  return [digest.slice(0, at), digest.slice(at + 1)];
}

function object(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) malformed(`${what} is not a JSON object`);
  return value;
}

function malformed(message: string): never {
  throw new SignatureError('SIGNATURE_MALFORMED', message);
}
