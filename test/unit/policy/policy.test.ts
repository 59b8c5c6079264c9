import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/build.js';
import { CLAIMS } from '../../../src/verify/claims.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import { describeSigner, evaluate } from '../../../src/policy/evaluate.js';
import { SignatureError } from '../../../src/verify/errors.js';

import type { IdentityRule, PolicyRules } from '../../../src/policy/types.js';
import type { Signer } from '../../../src/verify/types.js';

function config(identities: IdentityRule[], keys: string[] = []): PolicyRules {
  return { identities, keys: keys.map((name) => ({ name, path: `/k/${name}` })), attestations: [], requireTlog: true, requireSct: true };
}

function compileError(c: PolicyRules): SignatureError {
  try {
    compilePolicy(c);
  } catch (err) {
    if (err instanceof SignatureError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const signer = (subject: string, issuer = 'https://issuer', claims: Record<string, string> = {}): Signer => ({ kind: 'keyless', subject, issuer, claims });

describe('compilePolicy', () => {
  it('refuses a policy with no identity and no key', () => {
    expect(compileError(config([]))).toMatchObject({
      code: 'POLICY_INVALID',
      message: expect.stringMatching(/at least one identity \{ \}, key \{ \} or attestation \{ \} block is required/),
    });
  });

  it.each<[string, IdentityRule, RegExp]>([
    ['neither issuer', { subject: 's', claims: {} }, /identity\[1\]: needs exactly one of issuer or issuer_regexp/],
    ['both issuers', { issuer: 'i', issuerRegexp: 'i', subject: 's', claims: {} }, /identity\[1\]: needs exactly one of issuer/],
    ['neither subject', { issuer: 'i', claims: {} }, /identity\[1\]: needs exactly one of subject or subject_regexp/],
    ['both subjects', { issuer: 'i', subject: 's', subjectRegexp: 's', claims: {} }, /identity\[1\]: needs exactly one of subject/],
    ['an empty subject', { issuer: 'i', subject: '', claims: {} }, /identity\[1\]\.subject: must not be empty/],
    ['a bad regexp', { issuer: 'i', subjectRegexp: '(', claims: {} }, /identity\[1\]\.subject_regexp: "\(" is not a valid regular expression/],
    ['an unknown claim', { issuer: 'i', subject: 's', claims: { repo: 'x' } }, /identity\[1\]\.claims\.repo: unknown Fulcio claim/],
  ])('names the identity with %s', (_name, rule, message) => {
    const err = compileError(config([{ issuer: 'ok', subject: 'ok', claims: {} }, rule]));
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toMatch(message);
  });

  it('refuses duplicate key names', () => {
    expect(compileError(config([], ['a', 'a'])).message).toMatch(/key: name "a" is used twice/);
  });
});

describe('evaluate', () => {
  it('matches exact issuer and subject', () => {
    const p = compilePolicy(config([{ issuer: 'https://issuer', subject: 'alice@example.com', claims: {} }]));
    expect(evaluate(p, signer('alice@example.com'))).toBe(true);
    expect(evaluate(p, signer('alice@example.com.evil'))).toBe(false);
    expect(evaluate(p, signer('alice@example.com', 'https://issuer.evil'))).toBe(false);
  });

  it('anchors regexps: "acme" does not match "evil-acme-x"', () => {
    const p = compilePolicy(config([{ issuerRegexp: 'https://issuer', subjectRegexp: 'acme', claims: {} }]));
    expect(evaluate(p, signer('acme'))).toBe(true);
    expect(evaluate(p, signer('evil-acme-x'))).toBe(false);
    expect(evaluate(p, signer('acme', 'https://issuer/x'))).toBe(false);
  });

  it('keeps alternations inside the anchors', () => {
    const p = compilePolicy(config([{ issuer: 'https://issuer', subjectRegexp: 'a|b', claims: {} }]));
    expect(evaluate(p, signer('a'))).toBe(true);
    expect(evaluate(p, signer('xa'))).toBe(false);
    expect(evaluate(p, signer('bx'))).toBe(false);
  });

  // Security review F7: validated with the `u` flag, compiled without it, so
  // `\u{0}` meant a NUL at validation and "zero u's" at run time.
  it('runs a validated regexp with the meaning it was validated with', () => {
    const pattern = 'https://github.com/acme/app/.github/workflows/release[.]yml@refs/tags/v1\\u{0}';
    const rule = buildConfig(`identity {\n issuer = "https://issuer"\n subject_regexp = ${JSON.stringify(pattern)}\n}\n`).signatures.identities[0];
    expect(rule?.subjectRegexp).toBe(pattern);
    const p = compilePolicy(config([rule as IdentityRule]));
    expect(evaluate(p, signer('https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1'))).toBe(false);
    expect(evaluate(p, signer('https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1\u0000'))).toBe(true);
    // Astral characters are one code point for `.`.
    const dot = compilePolicy(config([{ issuer: 'https://issuer', subjectRegexp: 'a.b', claims: {} }]));
    expect(evaluate(dot, signer('a\u{1F600}b'))).toBe(true);
  });

  it('refuses a regexp that would close the anchoring group (a)|(.*)', () => {
    expect(compileError(config([{ issuer: 'i', subjectRegexp: 'a)|(.*', claims: {} }])).message).toMatch(
      /subject_regexp: "a\)\|\(\.\*" is not a valid regular expression/,
    );
  });

  it('config and policy accept and refuse the same patterns', () => {
    for (const pattern of ['a\\-b', 'x{', '(?<n>a)\\k<n>', '[\\d-z]']) {
      const viaConfig = (() => {
        try {
          buildConfig(`identity {\n issuer = "i"\n subject_regexp = ${JSON.stringify(pattern)}\n}\n`);
          return 'ok';
        } catch {
          return 'refused';
        }
      })();
      const viaPolicy = (() => {
        try {
          compilePolicy(config([{ issuer: 'i', subjectRegexp: pattern, claims: {} }]));
          return 'ok';
        } catch {
          return 'refused';
        }
      })();
      expect(`${pattern}: ${viaPolicy}`).toBe(`${pattern}: ${viaConfig}`);
    }
  });

  it('accepts a legitimate full match of a wildcard', () => {
    const p = compilePolicy(config([{ issuer: 'https://issuer', subjectRegexp: 'https://github.com/acme/.*', claims: {} }]));
    expect(evaluate(p, signer('https://github.com/acme/x@evil'))).toBe(true);
    expect(evaluate(p, signer('https://github.com/acme-evil/x'))).toBe(false);
  });

  it('requires every configured claim, exactly', () => {
    const p = compilePolicy(config([{ issuer: 'https://issuer', subject: 's', claims: { source_repository_ref: 'refs/heads/main' } }]));
    expect(evaluate(p, signer('s', 'https://issuer', { source_repository_ref: 'refs/heads/main' }))).toBe(true);
    expect(evaluate(p, signer('s', 'https://issuer', { source_repository_ref: 'refs/heads/dev' }))).toBe(false);
    expect(evaluate(p, signer('s', 'https://issuer', {}))).toBe(false);
  });

  it('accepts any of several identities', () => {
    const p = compilePolicy(
      config([
        { issuer: 'https://a', subject: 's', claims: {} },
        { issuer: 'https://b', subject: 't', claims: {} },
      ]),
    );
    expect(evaluate(p, signer('t', 'https://b'))).toBe(true);
    expect(evaluate(p, signer('t', 'https://a'))).toBe(false);
  });

  it('matches a key signer by the key that verified it', () => {
    const p = compilePolicy(config([], ['release']));
    expect(evaluate(p, { kind: 'key', keyName: 'release' })).toBe(true);
    expect(evaluate(p, { kind: 'key', keyName: 'other' })).toBe(false);
    expect(evaluate(p, signer('s'))).toBe(false);
  });

  it('describes signers', () => {
    expect(describeSigner({ kind: 'key', keyName: 'k' })).toBe('key "k"');
    expect(describeSigner(signer('s', 'i'))).toBe('subject "s" issuer "i"');
  });
});

describe('CLAIMS', () => {
  it('maps claim names to Fulcio OIDs', () => {
    expect(CLAIMS['source_repository_uri']).toEqual({ oid: '1.3.6.1.4.1.57264.1.12' });
    expect(CLAIMS['source_repository_ref']).toEqual({ oid: '1.3.6.1.4.1.57264.1.14', legacyOid: '1.3.6.1.4.1.57264.1.6' });
    expect(CLAIMS['deployment_environment']).toEqual({ oid: '1.3.6.1.4.1.57264.1.23' });
    expect(Object.keys(CLAIMS)).toHaveLength(15);
  });
});
