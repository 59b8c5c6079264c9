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

// The signer rules of a configuration. At least one identity or key; never
// "any signer".
export interface PolicyRules {
  readonly identities: readonly IdentityRule[];
  readonly keys: readonly { readonly name: string; readonly trustedRoots?: readonly string[] }[];
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

export interface CompiledPolicy {
  readonly identities: readonly CompiledIdentity[];
  // Names of configured keys; a signature verified by one of them matches.
  readonly keyNames: readonly string[];
  // Keys that may sign under some trusted roots only, with those roots.
  readonly keyTrustedRoots: ReadonlyMap<string, readonly string[]>;
  readonly requireTlog: boolean;
  readonly requireSct: boolean;
  // Whether keyless signatures can match at all (an identity is configured).
  readonly allowKeyless: boolean;
}
