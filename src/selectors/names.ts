// Every selector key this plugin emits. The agent prefixes each value with
// the plugin's configured name (e.g. `docker:`), so values carry no type.
// Names SPIRE's docker attestor already uses keep their spelling, so existing
// registration entries keep working.

export const SELECTOR = {
  // Container -> image (SPIRE docker attestor compatible).
  imageId: 'image_id',
  imageConfigDigest: 'image_config_digest',
  label: 'label',
  env: 'env',
  // Image -> registry binding (only when the binding held).
  imageDigest: 'image_digest',
  imageRepository: 'image_repository',
  imageBinding: 'image_binding',
} as const;

export const BINDING_HELD = 'bound';

// Signature selectors: SPIRE's sigstore names where SPIRE has one.
export const SIGNATURE = {
  verified: 'image-signature',
  subject: 'image-signature-subject',
  issuer: 'image-signature-issuer',
  key: 'image-signature-key',
  // A named identity rule that one signature satisfied whole.
  identity: 'image-signature-identity',
  // Fulcio claims: image-signature-<claim name with dashes>, e.g.
  // image-signature-source-repository-ref.
  claimPrefix: 'image-signature-',
} as const;

export const SIGNATURE_VERIFIED = 'verified';

// Attestation selectors (no SPIRE counterpart: SPIRE only notes that some
// attestation exists).
export const ATTESTATION = {
  // A named attestation rule that one attestation satisfied whole.
  rule: 'image-attestation',
  // From SLSA provenance of attestations that satisfied a rule.
  builderId: 'image-provenance-builder-id',
  buildType: 'image-provenance-build-type',
  sourceUri: 'image-provenance-source-uri',
  // `<algorithm>:<value>`, e.g. image-provenance-source-digest:sha1:8f3c...
  sourceDigest: 'image-provenance-source-digest',
} as const;

export type SelectorKey = (typeof SELECTOR)[keyof typeof SELECTOR];

export function selector(key: SelectorKey, value: string): string {
  return `${key}:${value}`;
}

// Sorted and de-duplicated, so answers are deterministic.
export function normalizeSelectors(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}
