// Signature candidates found in the registry for one image digest, and what
// verification proves about them.

import type { Digest } from '../registry/types.js';

// A cosign signature as discovered, before any verification.
export type SignatureCandidate = LegacyCandidate | BundleCandidate;

// Legacy cosign: one layer of the `sha256-<hex>.sig` manifest.
export interface LegacyCandidate {
  readonly format: 'legacy';
  // The image digest the .sig tag belongs to (index or manifest digest).
  readonly imageDigest: Digest;
  // The layer blob: the simple-signing payload (its sha256 is layerDigest).
  readonly payload: Buffer;
  readonly layerDigest: Digest;
  readonly annotations: Readonly<Record<string, string>>;
}

// cosign v3: a Sigstore bundle attached as an OCI 1.1 referrer.
export interface BundleCandidate {
  readonly format: 'bundle';
  readonly imageDigest: Digest;
  // The bundle JSON as fetched (parsed, not validated).
  readonly bundle: unknown;
  // The referrer manifest's digest, to name the signature in reports.
  readonly manifestDigest: Digest;
}

// What a verified signature proves about its signer.
export type Signer =
  | {
      readonly kind: 'keyless';
      // The certificate's SAN (URI, email or otherName).
      readonly subject: string;
      readonly issuer: string;
      // Fulcio claims present in the certificate, by claim name (see CLAIMS).
      readonly claims: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'key';
      // The configured key's name.
      readonly keyName: string;
    };

export interface VerifiedSignature {
  readonly format: SignatureCandidate['format'];
  readonly imageDigest: Digest;
  readonly signer: Signer;
  // Names of the named identity rules this one signature satisfies whole.
  readonly identityRules: readonly string[];
  // Whether a transparency-log entry was verified for it.
  readonly tlog: boolean;
}
