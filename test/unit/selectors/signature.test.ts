// Signer selectors from verified signatures: named rules and keys always,
// SPIRE's per-field selectors only in "all" mode.

import { describe, expect, it } from 'vitest';

import { signatureSelectors } from '../../../src/selectors/signature.js';

import type { SignatureSelectorInput } from '../../../src/selectors/signature.js';

const keyless = (subject: string, claims: Record<string, string>, identityRules: string[]): SignatureSelectorInput => ({
  signer: { kind: 'keyless', subject, issuer: 'https://issuer', claims },
  identityRules,
});
const keyed: SignatureSelectorInput = { signer: { kind: 'key', keyName: 'release' }, identityRules: [] };

describe('signatureSelectors', () => {
  it('gives nothing without an accepted signature', () => {
    expect(signatureSelectors([])).toEqual([]);
    expect(signatureSelectors([], 'named')).toEqual([]);
  });

  it('"named": only what one signature earned whole', () => {
    const a = keyless('release', { runner_environment: 'self-hosted' }, ['release', 'acme']);
    const b = keyless('nightly', { runner_environment: 'github-hosted' }, ['acme']);
    expect(signatureSelectors([a, b, keyed], 'named')).toEqual([
      'image-signature:verified',
      'image-signature-identity:release',
      'image-signature-identity:acme',
      'image-signature-identity:acme',
      'image-signature-key:release',
    ]);
  });

  it('"all" (default): named rules plus subject, issuer and claim selectors', () => {
    const a = keyless('release', { runner_environment: 'self-hosted', source_repository_ref: 'refs/tags/v1' }, ['release']);
    expect(signatureSelectors([a])).toEqual([
      'image-signature:verified',
      'image-signature-identity:release',
      'image-signature-subject:release',
      'image-signature-issuer:https://issuer',
      'image-signature-runner-environment:self-hosted',
      'image-signature-source-repository-ref:refs/tags/v1',
    ]);
  });
});
