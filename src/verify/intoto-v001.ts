// Rekor `intoto` 0.0.1 entries, as cosign 1.x logged its attestations.
// @sigstore/verify checks their inclusion (SET or checkpoint) but not their
// body: it knows intoto 0.0.2 only and refuses the rest. This adds only the
// missing body check and reuses its inclusion check.
//
// The canonical 0.0.1 body records no signature, only hashes of what was
// logged: spec.content.hash, the sha256 of the DSSE envelope exactly as
// submitted (cosign submitted the very bytes it stored as the `.att` layer),
// and (newer Rekor) spec.content.payloadHash, the sha256 of the payload. So
// the entry vouches for this envelope, and with it its one signature, only
// when the layer's bytes hash to content.hash. The signer recorded in
// spec.publicKey is bound to the signature's key by tlogbody.ts like every
// other kind.
//
// verifyTLogInclusion is not part of @sigstore/verify's public API, so the
// package is pinned to an exact version (package.json). The entries'
// integrated times stay in the entity's timestamps, which @sigstore/verify
// trusts as given: that is sound only because their SETs are verified here
// first (tested: a body swapped after logging fails).

import { createHash } from 'node:crypto';

import { verifyTLogInclusion } from '@sigstore/verify/dist/tlog/index.js';

import { SignatureError } from './errors.js';
import { field, isJsonObject, parseStrictJson } from './json.js';

import type { TransparencyLogEntry } from '@sigstore/bundle';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import type { JsonObject, JsonValue } from './json.js';

export function isIntotoV001(entry: TransparencyLogEntry): boolean {
  return entry.kindVersion.kind === 'intoto' && entry.kindVersion.version === '0.0.1';
}

// Verifies the entity's intoto 0.0.1 entries (inclusion by @sigstore/verify,
// body here) and returns the entity without them, for @sigstore/verify to
// verify the rest; `verified` counts them towards the tlog requirement. The
// entries' integrated times stay in entity.timestamps: their SETs are
// verified here, before anything relies on them.
export function verifyIntotoV001Entries(
  entity: SignedEntity,
  envelope: Buffer | undefined,
  payload: Buffer,
  material: TrustMaterial,
): { rest: SignedEntity; verified: number } {
  const v001 = entity.tlogEntries.filter(isIntotoV001);
  if (v001.length === 0) return { rest: entity, verified: 0 };
  if (envelope === undefined) {
    throw new SignatureError(
      'UNSUPPORTED',
      'an intoto 0.0.1 transparency-log entry can only be checked against the envelope bytes it logged (legacy .att layers)',
    );
  }
  for (const entry of v001) {
    try {
      verifyTLogInclusion(entry, material.tlogs);
    } catch (err) {
      throw new SignatureError('TLOG_INVALID', `transparency log: intoto 0.0.1 entry inclusion: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    checkBody(entry.canonicalizedBody, envelope, payload);
  }
  return { rest: { ...entity, tlogEntries: entity.tlogEntries.filter((e) => !isIntotoV001(e)) }, verified: v001.length };
}

function checkBody(canonicalizedBody: Buffer, envelope: Buffer, payload: Buffer): void {
  const what = 'intoto 0.0.1 entry body';
  const body = object(parseStrictJson(canonicalizedBody, what), what);
  const content = object(field(object(field(body, 'spec', what), `${what} spec`), 'content', what), `${what} content`);
  const hash = sha256Of(field(content, 'hash', what), `${what} content.hash`);
  if (hash === undefined) throw malformed(`${what} has no sha256 content.hash`);
  if (hash !== createHash('sha256').update(envelope).digest('hex')) {
    throw new SignatureError('TLOG_INVALID', 'transparency-log entry body: the logged envelope is not this attestation (content.hash mismatch)');
  }
  const payloadHash = sha256Of(field(content, 'payloadHash', what), `${what} content.payloadHash`);
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(payload).digest('hex')) {
    throw new SignatureError('TLOG_INVALID', 'transparency-log entry body: the logged payload is not this attestation (content.payloadHash mismatch)');
  }
}

// {algorithm: "sha256", value: "<hex>"} -> hex; absent -> undefined.
function sha256Of(value: JsonValue | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const h = object(value, what);
  const algorithm = field(h, 'algorithm', what);
  const hex = field(h, 'value', what);
  if (algorithm !== 'sha256' || typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw malformed(`${what} is not a sha256 hash`);
  return hex;
}

function object(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) throw malformed(`${what} is not an object`);
  return value;
}

function malformed(message: string): SignatureError {
  return new SignatureError('SIGNATURE_MALFORMED', message);
}
