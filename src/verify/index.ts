// Signature verification: trust material, and one candidate at a time.

export { prepareBundle, BUNDLE_V03_MEDIA_TYPES } from './bundle.js';
export { checkCodeSigning, keylessSigner } from './certificate.js';
export { COSIGN_SIGN_PREDICATE, checkContent, checkSimpleSigning, checkStatement } from './checks.js';
export { DSSE_ENVELOPE_MEDIA_TYPE, prepareLegacyAttestation } from './legacy-att.js';
export { SLSA_PREDICATE_TYPES, SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1, isSlsaProvenance, readProvenance } from './provenance.js';
export { SignatureError, isSignatureError } from './errors.js';
export { ANNOTATION, prepareLegacy } from './legacy.js';
export { checkTLogKeyBinding } from './tlogbody.js';
export { createTrust, keyFinder, loadKeys, loadTrust, parseKey } from './trust.js';
export { rootsOf, underEachRoot } from './trust-roots.js';
export { verifyCandidate } from './verify.js';
export { DEFAULT_TUF_CACHE_DIR, DEFAULT_TUF_REFRESH_S, PUBLIC_GOOD_TUF, TUF_TIMEOUT_MS, cachedTrustedRootPath, fetchTrustedRoot } from './tuf.js';
export type { TufSettings } from './tuf.js';

export type { SignatureErrorCode } from './errors.js';
export type { SigningKey } from './tlogbody.js';
export type { ConfiguredKey, KeyAlgorithm, RootOptions, TrustContext, VerifierMode } from './trust.js';
export type { TrustRootSpec, TrustRoots } from './trust-roots.js';
export type { Provenance } from './provenance.js';
export type {
  AttestationLayerCandidate,
  BundleCandidate,
  KeyRule,
  LegacyCandidate,
  PreparedSignature,
  SignatureCandidate,
  SignedContent,
  Signer,
  Verified,
  VerifiedAttestation,
  VerifiedSignature,
  VerifyOptions,
} from './types.js';
