// What verification consumes and produces: signature candidates as found in
// a registry, the internal model a candidate is normalised into, and what a
// verified signature proves about its signer.

import type { SignedEntity } from '@sigstore/verify';
import type { Digest } from '../util/digest.js';
import type { Provenance } from './provenance.js';

// What the signature covers, to be checked against the image digest once
// the signature is known to be genuine.
export type SignedContent =
  // legacy cosign: the simple-signing JSON (the .sig layer blob)
  | { readonly kind: 'simple-signing'; readonly payload: Buffer }
  // cosign v3: the DSSE envelope's payload (an in-toto Statement)
  | { readonly kind: 'dsse'; readonly payloadType: string; readonly payload: Buffer };

export interface PreparedSignature {
  // For @sigstore/verify's Verifier. For key-based signatures its key hint is
  // a placeholder: the verifier substitutes each configured key's name.
  readonly entity: SignedEntity;
  readonly content: SignedContent;
  // The leaf certificate exactly as carried by the signature (keyless only),
  // to compare with the certificate recorded in tlog entries.
  readonly leafDer: Buffer | undefined;
  // A legacy `.att` layer's DSSE envelope bytes, which intoto 0.0.1 tlog
  // entries record the hash of.
  readonly envelope?: Buffer;
}

// A cosign signature or attestation as discovered, before any verification.
export type SignatureCandidate = LegacyCandidate | BundleCandidate | AttestationLayerCandidate;

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

// Legacy cosign attestation: one layer of the `sha256-<hex>.att` manifest, a
// DSSE envelope with the signature material in the layer annotations.
export interface AttestationLayerCandidate {
  readonly format: 'att';
  readonly imageDigest: Digest;
  // The layer blob: the DSSE envelope JSON (its sha256 is layerDigest).
  readonly envelope: Buffer;
  readonly layerDigest: Digest;
  readonly annotations: Readonly<Record<string, string>>;
}

// cosign v3: a Sigstore bundle attached as an OCI 1.1 referrer (a signature
// or an attestation: which one, only the verified content says).
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

// What verification proves: the signature is genuine, made by `signer`,
// over content naming `imageDigest`. Whether the signer is wanted is the
// policy's question, asked afterwards.
interface VerifiedBase {
  readonly format: SignatureCandidate['format'];
  readonly imageDigest: Digest;
  readonly signer: Signer;
  // Whether a transparency-log entry was verified for it.
  readonly tlog: boolean;
  // The name of the trusted root it verified under (trusted_root "<name>").
  readonly trustedRoot: string;
}

// A cosign signature of the image.
export interface VerifiedSignature extends VerifiedBase {
  readonly kind: 'signature';
}

// An in-toto attestation about the image: its predicate type and, for SLSA
// provenance, what the predicate says about the build.
export interface VerifiedAttestation extends VerifiedBase {
  readonly kind: 'attestation';
  readonly predicateType: string;
  readonly provenance: Provenance | undefined;
}

export type Verified = VerifiedSignature | VerifiedAttestation;

// A configured public key: its name (the selector value) and PEM file.
export interface KeyRule {
  readonly name: string;
  // PEM public key (ECDSA P-256/P-384, Ed25519, RSA).
  readonly path: string;
  // The trusted roots under which it may sign; undefined: any.
  readonly trustedRoots?: readonly string[];
}

// What verification needs to know of the configuration (a compiled policy
// has these fields): the transparency-log and SCT requirements, which keys
// may verify key-based signatures, and whether keyless ones may be verified.
export interface VerifyOptions {
  readonly requireTlog: boolean;
  readonly requireSct: boolean;
  readonly keyNames: readonly string[];
  readonly allowKeyless: boolean;
}
