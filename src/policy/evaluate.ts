// Does a verified signer satisfy the policy? Pure functions of their inputs;
// the cryptography has been checked before these are called.

import type { Provenance } from '../verify/provenance.js';
import type { Signer } from '../verify/types.js';
import type { CompiledAttestationRule, CompiledIdentity, CompiledPolicy, Matcher } from './types.js';

// What the attestation rules look at: one verified attestation's signer,
// predicate type and (SLSA only) provenance.
export interface AttestationFacts {
  readonly signer: Signer;
  readonly predicateType: string;
  readonly provenance: Provenance | undefined;
}

export function evaluate(policy: CompiledPolicy, signer: Signer): boolean {
  switch (signer.kind) {
    case 'key':
      // The key that verified the signature is the match.
      return policy.keyNames.includes(signer.keyName);
    case 'keyless':
      return matchingIdentity(policy, signer) !== undefined;
  }
}

// The first configured identity the keyless signer satisfies.
export function matchingIdentity(policy: CompiledPolicy, signer: Extract<Signer, { kind: 'keyless' }>): CompiledIdentity | undefined {
  return policy.identities.find((identity) => satisfies(identity, signer));
}

// The names of the named rules one signer satisfies whole: issuer, subject
// and every claim of the rule hold for this very signer.
export function satisfiedRuleNames(policy: CompiledPolicy, signer: Signer): string[] {
  if (signer.kind === 'key') return [];
  return policy.identities.flatMap((identity) => (identity.name !== undefined && satisfies(identity, signer) ? [identity.name] : []));
}

// The names of the attestation rules this one attestation satisfies whole:
// predicate type, signer and every provenance requirement, all of it. Rules
// are never satisfied by several attestations together.
export function satisfiedAttestationRules(policy: CompiledPolicy, attestation: AttestationFacts): string[] {
  return policy.attestations.flatMap((rule) => (attestationSatisfies(rule, attestation) ? [rule.name] : []));
}

function attestationSatisfies(rule: CompiledAttestationRule, a: AttestationFacts): boolean {
  if (rule.predicateType !== a.predicateType) return false;
  const signerOk =
    rule.signer.kind === 'key'
      ? a.signer.kind === 'key' && a.signer.keyName === rule.signer.keyName
      : a.signer.kind === 'keyless' && satisfies(rule.signer.identity, a.signer);
  if (!signerOk) return false;
  return Object.entries(rule.provenance).every(([field, m]) => {
    const value = a.provenance?.[field as keyof typeof rule.provenance];
    return value !== undefined && matches(m, value);
  });
}

function satisfies(identity: CompiledIdentity, signer: Extract<Signer, { kind: 'keyless' }>): boolean {
  return (
    matches(identity.issuer, signer.issuer) &&
    matches(identity.subject, signer.subject) &&
    Object.entries(identity.claims).every(([name, value]) => Object.hasOwn(signer.claims, name) && signer.claims[name] === value)
  );
}

export function matches(matcher: Matcher, value: string): boolean {
  return matcher.kind === 'exact' ? matcher.value === value : matcher.regexp.test(value);
}

// One line naming the signer, for rejection messages and logs.
export function describeSigner(signer: Signer): string {
  return signer.kind === 'key' ? `key ${JSON.stringify(signer.keyName)}` : `subject ${JSON.stringify(signer.subject)} issuer ${JSON.stringify(signer.issuer)}`;
}
