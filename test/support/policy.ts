// A signature policy for tests that are not about signatures: every
// configuration must name who may sign, and this identity never signs
// anything, so it grants no signature selectors. Offline: tests never
// refresh the public-good root from the network.
export const TEST_POLICY =
  'offline = true\npersist_verdicts = false\nidentity {\n  issuer  = "https://issuer.invalid"\n  subject = "nobody@example.invalid"\n}\n';
