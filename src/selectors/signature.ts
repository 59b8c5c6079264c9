// Verified, policy-matching signatures -> selector values. Called only with
// signatures that passed every check; an empty list gives no selectors.

import { SIGNATURE, SIGNATURE_VERIFIED } from './names.js';

// What the signer selectors are made of (one accepted signature each).
export interface SignatureSelectorInput {
  readonly signer:
    | { readonly kind: 'keyless'; readonly subject: string; readonly issuer: string; readonly claims: Readonly<Record<string, string>> }
    | { readonly kind: 'key'; readonly keyName: string };
  // Named identity rules this one signature satisfied whole.
  readonly identityRules: readonly string[];
}

export function claimSelectorKey(claim: string): string {
  return `${SIGNATURE.claimPrefix}${claim.replaceAll('_', '-')}`;
}

// `named`: only the selectors one signature earns whole (named identity
// rules and keys). `all` adds SPIRE's per-field selectors (subject, issuer,
// each claim); those are a union over every accepted signature, so an entry
// that combines several of them can be satisfied by two signers together.
export function signatureSelectors(accepted: readonly SignatureSelectorInput[], mode: 'all' | 'named' = 'all'): string[] {
  if (accepted.length === 0) return [];
  const out = [`${SIGNATURE.verified}:${SIGNATURE_VERIFIED}`];
  for (const sig of accepted) {
    const signer = sig.signer;
    if (signer.kind === 'key') {
      out.push(`${SIGNATURE.key}:${signer.keyName}`);
      continue;
    }
    for (const name of sig.identityRules) out.push(`${SIGNATURE.identity}:${name}`);
    if (mode === 'named') continue;
    out.push(`${SIGNATURE.subject}:${signer.subject}`, `${SIGNATURE.issuer}:${signer.issuer}`);
    for (const [claim, value] of Object.entries(signer.claims)) out.push(`${claimSelectorKey(claim)}:${value}`);
  }
  return out;
}
