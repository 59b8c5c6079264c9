// Who may sign: the rules as configured, and as compiled into matchers.

// Exactly one of issuer / issuerRegexp and one of subject / subjectRegexp.
// Regexes match the whole value. `claims` are Fulcio certificate claims that
// must be present with exactly these values (claim names: see CLAIMS).
export interface IdentityRule {
  // Emitted as image-signature-identity:<name> when one signature satisfies
  // the whole rule.
  readonly name?: string;
  readonly issuer?: string;
  readonly issuerRegexp?: string;
  readonly subject?: string;
  readonly subjectRegexp?: string;
  readonly claims: Readonly<Record<string, string>>;
  // The trusted roots under which it accepts signatures; undefined: any.
  readonly trustedRoots?: readonly string[];
}

// Which in-toto attestations of an image are accepted, and what their
// content must say. Emitted as image-attestation:<name> when one attestation
// satisfies the whole rule.
export interface AttestationRule {
  // The block's label; unique.
  readonly name: string;
  // The statement's predicateType, compared exactly.
  readonly predicateType: string;
  // Exactly one signer: a keyless identity, or a configured key by name.
  readonly identity?: IdentityRule;
  readonly key?: string;
  // SLSA provenance only (v0.2, v1): requirements on what the predicate
  // says, each exactly or by a whole-value regular expression.
  readonly builderId?: string;
  readonly builderIdRegexp?: string;
  readonly buildType?: string;
  readonly buildTypeRegexp?: string;
  readonly sourceUri?: string;
  readonly sourceUriRegexp?: string;
}

// The rules of a configuration. At least one rule (identity, key or
// attestation); never "any signer" or "any attestation".
export interface PolicyRules {
  readonly identities: readonly IdentityRule[];
  readonly keys: readonly { readonly name: string; readonly trustedRoots?: readonly string[] }[];
  readonly attestations: readonly AttestationRule[];
  // Require a verified transparency-log entry.
  readonly requireTlog: boolean;
  // Require a verified SCT in keyless certificates.
  readonly requireSct: boolean;
}

// One mistake in the rules: the configuration key it is about
// (`identity[1].subject_regexp`) and what is wrong.
export interface PolicyProblem {
  readonly key: string;
  readonly message: string;
}

// How an issuer or subject is matched: exactly, or by a regular expression
// that must match the whole value (compiled as ^(?:source)$).
export type Matcher = { readonly kind: 'exact'; readonly value: string } | { readonly kind: 'regexp'; readonly source: string; readonly regexp: RegExp };

export interface CompiledIdentity {
  // Position in the configuration, for messages (`identity[i]`).
  readonly index: number;
  // The rule's name, when it has one: image-signature-identity:<name>.
  readonly name: string | undefined;
  readonly issuer: Matcher;
  readonly subject: Matcher;
  // Claims (by name, see CLAIMS) that must be present with exactly this value.
  readonly claims: Readonly<Record<string, string>>;
  // The trusted roots it accepts; undefined: any (see policyForRoot).
  readonly trustedRoots: readonly string[] | undefined;
}

// An attestation rule, compiled. `provenance` holds the SLSA requirements
// (absent ones are not listed).
export interface CompiledAttestationRule {
  readonly name: string;
  readonly predicateType: string;
  readonly signer: { readonly kind: 'identity'; readonly identity: CompiledIdentity } | { readonly kind: 'key'; readonly keyName: string };
  readonly provenance: Readonly<Partial<Record<ProvenanceField, Matcher>>>;
}

// What SLSA provenance requirements can be about.
export type ProvenanceField = 'builderId' | 'buildType' | 'sourceUri';

export interface CompiledPolicy {
  readonly identities: readonly CompiledIdentity[];
  readonly attestations: readonly CompiledAttestationRule[];
  // Whether signatures can be accepted at all (an identity or key rule);
  // with attestation rules only, signatures are not looked for.
  readonly wantsSignatures: boolean;
  // Names of configured keys; a signature verified by one of them matches.
  readonly keyNames: readonly string[];
  // Keys that may sign under some trusted roots only, with those roots.
  readonly keyTrustedRoots: ReadonlyMap<string, readonly string[]>;
  readonly requireTlog: boolean;
  readonly requireSct: boolean;
  // Whether keyless signatures or attestations can match at all (an
  // identity is configured, at the top level or in an attestation rule).
  readonly allowKeyless: boolean;
}
