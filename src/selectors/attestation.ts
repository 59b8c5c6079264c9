// Accepted attestations -> selector values. Called only with attestations
// that verified and satisfied at least one rule; an empty list gives none.

import { ATTESTATION } from './names.js';

// What the attestation selectors are made of (one accepted attestation each).
export interface AttestationSelectorInput {
  // The attestation rules this one attestation satisfied whole.
  readonly rules: readonly string[];
  readonly provenance:
    | {
        readonly builderId?: string;
        readonly buildType?: string;
        readonly sourceUri?: string;
        readonly sourceDigests: readonly string[];
      }
    | undefined;
}

// `named`: only image-attestation:<rule>, which one attestation earns whole.
// `all` adds the provenance fields; those are a union over every accepted
// attestation, so an entry combining several of them can be satisfied by
// two attestations together.
export function attestationSelectors(accepted: readonly AttestationSelectorInput[], mode: 'all' | 'named' = 'all'): string[] {
  const out: string[] = [];
  for (const a of accepted) {
    for (const name of a.rules) out.push(`${ATTESTATION.rule}:${name}`);
    const p = a.provenance;
    if (mode === 'named' || p === undefined) continue;
    if (p.builderId !== undefined) out.push(`${ATTESTATION.builderId}:${p.builderId}`);
    if (p.buildType !== undefined) out.push(`${ATTESTATION.buildType}:${p.buildType}`);
    if (p.sourceUri !== undefined) out.push(`${ATTESTATION.sourceUri}:${p.sourceUri}`);
    for (const d of p.sourceDigests) out.push(`${ATTESTATION.sourceDigest}:${d}`);
  }
  return out;
}
