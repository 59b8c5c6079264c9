// Binds each transparency-log entry to the signature's own key.
//
// @sigstore/verify checks that an entry's body records the same signature
// and digest, but not the same public key or certificate. Without this
// check an entry logged for another key could vouch for a signature: that
// was cosign's GHSA-whqx-f9j3-ch6m. Like sigstore-go's CompareKey, we read
// the verifier material from the body and require it to be the leaf
// certificate (keyless) or the configured key (key-based), byte for byte.

import { SignatureError } from './errors.js';
import { decodeBase64, decodePem } from './encoding.js';
import { field, isJsonObject, parseStrictJson } from './json.js';

import type { TransparencyLogEntry } from '@sigstore/bundle';
import type { JsonObject, JsonValue } from './json.js';

export type SigningKey = { readonly kind: 'certificate'; readonly der: Buffer } | { readonly kind: 'key'; readonly name: string; readonly spki: Buffer };

// What an entry body records as the signer.
type Recorded = { readonly kind: 'certificate'; readonly der: Buffer } | { readonly kind: 'key'; readonly spki: Buffer };

export function checkTLogKeyBinding(entries: readonly TransparencyLogEntry[], signer: SigningKey): void {
  for (const entry of entries) {
    const recorded = recordedSigners(entry.canonicalizedBody);
    if (recorded.length === 0) throw mismatch('records no public key or certificate');
    for (const r of recorded) {
      if (!sameSigner(r, signer)) {
        const what = signer.kind === 'certificate' ? 'the signing certificate' : `configured key ${JSON.stringify(signer.name)}`;
        throw mismatch(`records a ${r.kind === 'certificate' ? 'certificate' : 'public key'} that is not ${what}`);
      }
    }
  }
}

function sameSigner(recorded: Recorded, signer: SigningKey): boolean {
  if (signer.kind === 'certificate') return recorded.kind === 'certificate' && recorded.der.equals(signer.der);
  return recorded.kind === 'key' && recorded.spki.equals(signer.spki);
}

function mismatch(problem: string): SignatureError {
  return new SignatureError('TLOG_KEY_MISMATCH', `transparency-log entry ${problem}`);
}

// The verifier material of every signature recorded in a Rekor entry body.
export function recordedSigners(canonicalizedBody: Uint8Array): Recorded[] {
  const what = 'transparency-log entry body';
  const body = object(parseStrictJson(canonicalizedBody, what), what);
  const kind = field(body, 'kind', what);
  const version = field(body, 'apiVersion', what);
  const spec = object(field(body, 'spec', what), `${what} spec`);
  switch (`${label(kind)}/${label(version)}`) {
    case 'hashedrekord/0.0.1': {
      const sig = object(field(spec, 'signature', what), `${what} signature`);
      const pk = object(field(sig, 'publicKey', what), `${what} publicKey`);
      return [fromBase64Pem(field(pk, 'content', what))];
    }
    case 'dsse/0.0.1':
      return list(field(spec, 'signatures', what)).map((s) => fromBase64Pem(field(object(s, what), 'verifier', what)));
    case 'intoto/0.0.1':
      return [fromBase64Pem(field(spec, 'publicKey', what))];
    case 'intoto/0.0.2': {
      const content = object(field(spec, 'content', what), `${what} content`);
      const envelope = object(field(content, 'envelope', what), `${what} envelope`);
      return list(field(envelope, 'signatures', what)).map((s) => fromBase64Pem(field(object(s, what), 'publicKey', what)));
    }
    case 'hashedrekord/0.0.2': {
      const v2 = object(field(spec, 'hashedRekordV002', what), `${what} hashedRekordV002`);
      return [fromV2Verifier(field(object(field(v2, 'signature', what), what), 'verifier', what))];
    }
    case 'dsse/0.0.2': {
      const v2 = object(field(spec, 'dsseV002', what), `${what} dsseV002`);
      return list(field(v2, 'signatures', what)).map((s) => fromV2Verifier(field(object(s, what), 'verifier', what)));
    }
    default:
      throw new SignatureError('UNSUPPORTED', `${what} of kind ${label(kind)}/${label(version)} is not supported`);
  }
}

// Rekor v1: base64 of a PEM public key or certificate (chain: leaf first).
function fromBase64Pem(value: JsonValue | undefined): Recorded {
  const what = 'transparency-log entry public key';
  if (typeof value !== 'string') throw malformed(`${what} is missing`);
  const pem = decodeBase64(value, what).toString('utf8');
  const first = decodePem(pem, what)[0];
  if (first?.label === 'CERTIFICATE') return { kind: 'certificate', der: first.der };
  if (first?.label === 'PUBLIC KEY') return { kind: 'key', spki: first.der };
  throw malformed(`${what} is neither a certificate nor a public key`);
}

// Rekor v2: {publicKey: {rawBytes}} or {x509Certificate: {rawBytes}}, DER.
function fromV2Verifier(value: JsonValue | undefined): Recorded {
  const what = 'transparency-log entry verifier';
  const verifier = object(value, what);
  const cert = field(verifier, 'x509Certificate', what);
  const key = field(verifier, 'publicKey', what);
  if ((cert === undefined) === (key === undefined)) throw malformed(`${what} must hold one certificate or key`);
  const raw = field(object(cert ?? key, what), 'rawBytes', what);
  if (typeof raw !== 'string') throw malformed(`${what} has no rawBytes`);
  const der = decodeBase64(raw, what);
  return cert !== undefined ? { kind: 'certificate', der } : { kind: 'key', spki: der };
}

function object(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) throw malformed(`${what} is not an object`);
  return value;
}

function list(value: JsonValue | undefined): readonly JsonValue[] {
  if (!Array.isArray(value)) throw malformed('transparency-log entry signatures is not a list');
  return value as readonly JsonValue[];
}

function malformed(message: string): SignatureError {
  return new SignatureError('SIGNATURE_MALFORMED', message);
}

// A JSON value as it reads in a kind/version key and in messages.
function label(value: JsonValue | undefined): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}
