// The internal model a candidate is normalised into before verification.

import type { SignedEntity } from '@sigstore/verify';

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
}
