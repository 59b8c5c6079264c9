// Verifies one cosign signature or attestation candidate, synchronously and
// offline, in the order cosign does: trusted time, signing key / certificate
// chain and SCT, tlog inclusion and body, signature over the content (all by
// @sigstore/verify); then what it lacks: the tlog entry must be for this
// very key, the certificate must be for code signing, the content must name
// this image, and says whether it is a signature or an attestation. Whether
// the signer (and the attestation) is one the policy wants is asked
// afterwards, by the signature step.

import { PolicyError, VerificationError } from '@sigstore/verify';

import { prepareBundle } from './bundle.js';
import { checkCodeSigning, keylessSigner } from './certificate.js';
import { checkContent } from './checks.js';
import { SignatureError, messageOf } from './errors.js';
import { prepareLegacy } from './legacy.js';
import { verifyIntotoV001Entries } from './intoto-v001.js';
import { prepareLegacyAttestation } from './legacy-att.js';
import { readProvenance } from './provenance.js';
import { checkTLogKeyBinding } from './tlogbody.js';

import type { SignedEntity } from '@sigstore/verify';
import type { SignatureErrorCode } from './errors.js';
import type { TrustContext } from './trust.js';
import type { PreparedSignature, SignatureCandidate, Signer, Verified, VerifyOptions } from './types.js';

export function verifyCandidate(candidate: SignatureCandidate, trust: TrustContext, policyOptions: VerifyOptions): Verified {
  // A root of trusted_root blocks has its own require_tlog / require_sct.
  const options = { ...policyOptions, requireTlog: trust.requireTlog ?? policyOptions.requireTlog, requireSct: trust.requireSct ?? policyOptions.requireSct };
  const prepared = prepare(candidate);
  const { entity } = prepared;
  if (options.requireTlog && entity.tlogEntries.length === 0) {
    throw new SignatureError('TLOG_MISSING', 'signature has no transparency-log entry and require_tlog is set');
  }
  const signer = entity.key.$case === 'certificate' ? verifyKeyless(prepared, trust, options) : verifyKeyed(prepared, trust, options);
  const stored = candidate.format === 'legacy' ? 'sig' : candidate.format;
  const content = checkContent(prepared.content, candidate.imageDigest, stored);
  const base = { format: candidate.format, imageDigest: candidate.imageDigest, signer, tlog: entity.tlogEntries.length > 0, trustedRoot: trust.name };
  return content.kind === 'signature'
    ? Object.freeze({ kind: 'signature', ...base })
    : Object.freeze({
        kind: 'attestation',
        ...base,
        predicateType: content.predicateType,
        provenance: readProvenance(content.predicateType, content.predicate),
      });
}

function prepare(candidate: SignatureCandidate): PreparedSignature {
  switch (candidate.format) {
    case 'legacy':
      return prepareLegacy(candidate);
    case 'att':
      return prepareLegacyAttestation(candidate);
    case 'bundle':
      return prepareBundle(candidate);
  }
}

function verifyKeyless(prepared: PreparedSignature, trust: TrustContext, options: VerifyOptions): Signer {
  const { entity } = prepared;
  if (entity.key.$case !== 'certificate') throw new Error('unreachable: not a certificate');
  if (!options.allowKeyless) {
    throw new SignatureError('UNTRUSTED_SIGNER', 'signature is keyless, and no identity is configured');
  }
  if (entity.timestamps.length === 0) {
    // @sigstore/verify needs a trusted time to check the certificate's
    // validity; cosign would fall back to "now", which a short-lived Fulcio
    // certificate never satisfies after ten minutes.
    throw new SignatureError(
      'NO_TRUSTED_TIME',
      'keyless signature has neither a transparency-log entry nor an RFC3161 timestamp, so its certificate cannot be checked at a trusted time',
    );
  }
  const { rest, verified } = verifyIntotoV001(prepared, trust);
  const verifier = trust.verifier({ keyless: true, requireTlog: options.requireTlog && verified === 0, requireSct: options.requireSct });
  try {
    verifier.verify(rest);
  } catch (err) {
    throw fromSigstore(err);
  }
  const leaf = entity.key.certificate;
  checkTLogKeyBinding(entity.tlogEntries, { kind: 'certificate', der: prepared.leafDer ?? leaf.root.toDER() });
  checkCodeSigning(leaf);
  return keylessSigner(leaf);
}

// Tries each key the options name; the one that verifies is
// the signer. The signature's own key hint is ignored.
function verifyKeyed(prepared: PreparedSignature, trust: TrustContext, options: VerifyOptions): Signer {
  if (options.keyNames.length === 0) {
    throw new SignatureError('UNTRUSTED_SIGNER', 'signature is key-based, and no key is configured');
  }
  const { rest, verified } = verifyIntotoV001(prepared, trust);
  const verifier = trust.verifier({ keyless: false, requireTlog: options.requireTlog && verified === 0, requireSct: false });
  for (const name of options.keyNames) {
    const key = trust.keys.get(name);
    if (key === undefined) throw new SignatureError('KEY_INVALID', `key ${JSON.stringify(name)} is in the policy but was not loaded`);
    const entity: SignedEntity = { ...prepared.entity, key: { $case: 'public-key', hint: name } };
    try {
      verifier.verify({ ...rest, key: entity.key });
    } catch (err) {
      // Only the signature check depends on the key; anything else (tlog,
      // timestamps) fails the same way for every key.
      if (err instanceof VerificationError && err.code === 'SIGNATURE_ERROR') continue;
      throw fromSigstore(err);
    }
    checkTLogKeyBinding(entity.tlogEntries, { kind: 'key', name, spki: key.spki });
    return Object.freeze({ kind: 'key', keyName: name });
  }
  throw new SignatureError(
    'SIGNATURE_INVALID',
    `signature does not verify with any configured key (${options.keyNames.map((n) => JSON.stringify(n)).join(', ')})`,
  );
}

// Entries @sigstore/verify cannot check (intoto 0.0.1), checked first; the
// rest of the entity goes to @sigstore/verify.
function verifyIntotoV001(prepared: PreparedSignature, trust: TrustContext): { rest: SignedEntity; verified: number } {
  const payload = prepared.content.payload;
  return verifyIntotoV001Entries(prepared.entity, prepared.envelope, payload, trust.material);
}

// @sigstore/verify's codes, as ours plus the step that failed.
const FROM_SIGSTORE: Readonly<Record<string, readonly [SignatureErrorCode, string]>> = {
  CERTIFICATE_ERROR: ['CERTIFICATE_INVALID', 'certificate'],
  PUBLIC_KEY_ERROR: ['KEY_INVALID', 'public key'],
  SIGNATURE_ERROR: ['SIGNATURE_INVALID', 'signature'],
  TIMESTAMP_ERROR: ['TIMESTAMP_INVALID', 'timestamp'],
  TLOG_ERROR: ['TLOG_INVALID', 'transparency log'],
  TLOG_BODY_ERROR: ['TLOG_INVALID', 'transparency-log entry body'],
  TLOG_INCLUSION_PROOF_ERROR: ['TLOG_INVALID', 'transparency-log inclusion proof'],
  TLOG_INCLUSION_PROMISE_ERROR: ['TLOG_INVALID', 'transparency-log SET'],
  TLOG_MISSING_INCLUSION_ERROR: ['TLOG_INVALID', 'transparency-log entry'],
  NOT_IMPLEMENTED_ERROR: ['UNSUPPORTED', 'sigstore'],
  UNTRUSTED_SIGNER_ERROR: ['UNTRUSTED_SIGNER', 'policy'],
};

// A @sigstore/verify error as a SignatureError, keeping its detail.
function fromSigstore(err: unknown): SignatureError {
  if (err instanceof SignatureError) return err;
  if (err instanceof VerificationError || err instanceof PolicyError) {
    const [code, step] = FROM_SIGSTORE[err.code] ?? ['SIGNATURE_INVALID', 'verification'];
    const cause: unknown = err.cause;
    const detail = cause === undefined ? '' : `: ${messageOf(cause)}`;
    return new SignatureError(code, `${step}: ${err.message}${detail} (${err.code})`, { cause: err });
  }
  // Parsers inside @sigstore/core throw plain errors on malformed material.
  return new SignatureError('SIGNATURE_MALFORMED', `signature material is malformed: ${messageOf(err)}`, { cause: err });
}
