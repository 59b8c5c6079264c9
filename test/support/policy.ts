// A signature policy for tests that are not about signatures: every
// configuration must name who may sign, and this identity never signs
// anything, so it grants no signature selectors.
export const TEST_POLICY = 'identity {\n  issuer  = "https://issuer.invalid"\n  subject = "nobody@example.invalid"\n}\n';
