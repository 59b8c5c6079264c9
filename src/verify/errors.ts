// Typed failures of signature verification. Every check that rejects a
// signature throws a SignatureError whose message says which check failed
// and why, in operator-facing words. A rejected signature proves nothing
// and gives no selectors; it never fails the attestation by itself (the
// signature step records the code). Nothing here is ever "maybe valid".

import { CodedError, messageOf } from '../errors.js';

export type SignatureErrorCode =
  // trust material: the trusted root or a configured key could not be loaded
  | 'TRUST_ROOT_INVALID'
  | 'KEY_INVALID'
  // the policy configuration cannot be compiled
  | 'POLICY_INVALID'
  // the candidate's bytes are not a well-formed cosign signature / bundle
  | 'SIGNATURE_MALFORMED'
  // a format or tlog entry kind we do not verify (fails closed)
  | 'UNSUPPORTED'
  // the signed payload does not name this image (digest, type, predicate)
  | 'PAYLOAD_MISMATCH'
  // the signature does not verify over the payload with the signer's key
  | 'SIGNATURE_INVALID'
  // chain to a trusted CA, validity at the trusted time, SCT, EKU
  | 'CERTIFICATE_INVALID'
  // SET, inclusion proof or checkpoint failed, or the entry is for other content
  | 'TLOG_INVALID'
  // the tlog entry records a different key / certificate than the signature's
  | 'TLOG_KEY_MISMATCH'
  // require_tlog is set and the signature carries no tlog entry
  | 'TLOG_MISSING'
  // RFC3161 timestamp failed to verify
  | 'TIMESTAMP_INVALID'
  // keyless signature with neither tlog entry nor RFC3161 timestamp
  | 'NO_TRUSTED_TIME'
  // cryptographically valid, but the signer is not one the policy accepts
  | 'UNTRUSTED_SIGNER'
  // a verified attestation of a predicate type no attestation rule names
  | 'PREDICATE_UNEXPECTED'
  // a verified attestation from an accepted signer whose provenance does
  // not meet the rule's requirements
  | 'REQUIREMENT_UNMET';

export class SignatureError extends CodedError<SignatureErrorCode> {
  override readonly name = 'SignatureError';
}

export function isSignatureError(value: unknown): value is SignatureError {
  return value instanceof SignatureError;
}

export { messageOf };
