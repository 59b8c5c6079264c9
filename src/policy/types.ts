// A signature policy compiled from configuration: who may sign.

// How an issuer or subject is matched: exactly, or by a regular expression
// that must match the whole value (compiled as ^(?:source)$).
export type Matcher =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'regexp'; readonly source: string; readonly regexp: RegExp };

export interface CompiledIdentity {
  // Position in the configuration, for messages (`identity[i]`).
  readonly index: number;
  // The rule's name, when it has one: image-signature-identity:<name>.
  readonly name: string | undefined;
  readonly issuer: Matcher;
  readonly subject: Matcher;
  // Claims (by name, see CLAIMS) that must be present with exactly this value.
  readonly claims: Readonly<Record<string, string>>;
}

export interface CompiledPolicy {
  readonly identities: readonly CompiledIdentity[];
  // Names of configured keys; a signature verified by one of them matches.
  readonly keyNames: readonly string[];
  readonly requireTlog: boolean;
  readonly requireSct: boolean;
}
