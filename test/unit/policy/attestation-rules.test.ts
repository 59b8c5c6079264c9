// Attestation rules: every configuration mistake named by its key, what a
// valid rule compiles to, and satisfiedAttestationRules (one attestation,
// the whole rule: predicate type, signer, anchored SLSA requirements).

import { describe, expect, it } from 'vitest';

import { compilePolicy, policyProblems } from '../../../src/policy/compile.js';
import { satisfiedAttestationRules } from '../../../src/policy/evaluate.js';
import { SignatureError } from '../../../src/verify/errors.js';
import { thrown } from '../../support/errors.js';

import type { AttestationFacts } from '../../../src/policy/evaluate.js';
import type { AttestationRule, IdentityRule, PolicyRules } from '../../../src/policy/types.js';
import type { Provenance } from '../../../src/verify/provenance.js';
import type { Signer } from '../../../src/verify/types.js';

const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const CUSTOM = 'https://example.com/custom/v1';
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const IDENTITY: IdentityRule = { issuer: ISSUER, subject: SUBJECT, claims: {} };

function config(attestations: readonly AttestationRule[], o: { identities?: readonly IdentityRule[]; keys?: readonly string[] } = {}): PolicyRules {
  return {
    identities: o.identities ?? [],
    keys: (o.keys ?? []).map((name) => ({ name, path: `/k/${name}.pub` })),
    attestations,
    requireTlog: true,
    requireSct: true,
  };
}

const rule = (extra: Partial<AttestationRule> = {}): AttestationRule => ({ name: 'slsa', predicateType: SLSA_V1, identity: IDENTITY, ...extra });

// The problems of these rules, as "key: message" lines; compilePolicy refuses them all at once.
function problems(rules: PolicyRules): string[] {
  const found = policyProblems(rules).map((p) => `${p.key}: ${p.message}`);
  const err = thrown(() => compilePolicy(rules), SignatureError);
  expect(err.code).toBe('POLICY_INVALID');
  for (const line of found) expect(err.message).toContain(line);
  return found;
}

const keyless = (subject = SUBJECT, issuer = ISSUER, claims: Record<string, string> = {}): Signer => ({ kind: 'keyless', subject, issuer, claims });
const keyed = (keyName: string): Signer => ({ kind: 'key', keyName });

function facts(signer: Signer, predicateType: string, provenance: Partial<Provenance> | undefined = {}): AttestationFacts {
  return { signer, predicateType, provenance: provenance === undefined ? undefined : { sourceDigests: [], ...provenance } };
}

describe('attestation rule problems', () => {
  it('an empty predicate_type', () => {
    expect(problems(config([rule({ predicateType: '' })]))).toEqual([
      'attestation["slsa"].predicate_type: is required (the exact in-toto predicateType, e.g. https://slsa.dev/provenance/v1)',
    ]);
  });

  it('the cosign sign predicate: signatures are never attestations', () => {
    const [line] = problems(config([rule({ predicateType: COSIGN_SIGN })]));
    expect(line).toMatch(/^attestation\["slsa"\]\.predicate_type: https:\/\/sigstore\.dev\/cosign\/sign\/v1 is the cosign signature predicate/);
  });

  it('an empty name (block label)', () => {
    expect(problems(config([rule({ name: '' })]))).toEqual(['attestation[""]: needs a name (the block label)']);
  });

  it('both identity and key, or neither', () => {
    const both = problems(config([rule({ key: 'release' })], { keys: ['release'] }));
    expect(both).toEqual(['attestation["slsa"]: needs exactly one signer: an identity { } block or key = "<name of a key { } block>"']);
    const { identity: _identity, ...neither } = rule();
    expect(problems(config([neither], { keys: ['release'] }))).toEqual(both);
  });

  it('a key that names no key { } block', () => {
    const { identity: _identity, ...base } = rule();
    expect(problems(config([{ ...base, key: 'relase' }], { keys: ['release', 'ci'] }))).toEqual([
      'attestation["slsa"].key: names no key { } block (configured: "release", "ci")',
    ]);
    expect(problems(config([{ ...base, key: 'release' }]))).toEqual(['attestation["slsa"].key: names no key { } block (configured: none)']);
  });

  it('an identity with a name: the rule is named by its label', () => {
    expect(problems(config([rule({ identity: { ...IDENTITY, name: 'release' } })]))).toEqual([
      'attestation["slsa"].identity.name: is not used here: the attestation rule is named by its label',
    ]);
  });

  it('identity mistakes inside the rule are named under it', () => {
    const lines = problems(config([rule({ identity: { subject: SUBJECT, claims: { repo: 'x' } } })]));
    expect(lines).toContain('attestation["slsa"].identity: needs exactly one of issuer or issuer_regexp');
    expect(lines.some((l) => l.startsWith('attestation["slsa"].identity.claims.repo: unknown Fulcio claim'))).toBe(true);
    expect(problems(config([rule({ identity: { issuer: ISSUER, subjectRegexp: '[', claims: {} } })]))[0]).toMatch(
      /^attestation\["slsa"\]\.identity\.subject_regexp: "\[" is not a valid regular expression/,
    );
  });

  it.each<[string, Partial<AttestationRule>]>([
    ['builder_id', { builderId: 'b' }],
    ['builder_id', { builderIdRegexp: 'b.*' }],
    ['build_type', { buildType: 't' }],
    ['source_uri', { sourceUriRegexp: 's' }],
  ])('a SLSA requirement (%s) on a predicate type that is not SLSA', (key, extra) => {
    expect(problems(config([rule({ predicateType: CUSTOM, ...extra })]))).toEqual([
      `attestation["slsa"].${key}: is a SLSA provenance requirement; predicate_type must be one of ${SLSA_V02}, ${SLSA_V1}`,
    ]);
  });

  it.each<[string, Partial<AttestationRule>]>([
    ['builder_id', { builderId: 'b', builderIdRegexp: 'b' }],
    ['build_type', { buildType: 't', buildTypeRegexp: 't' }],
    ['source_uri', { sourceUri: 's', sourceUriRegexp: 's' }],
  ])('both %s and its _regexp', (key, extra) => {
    expect(problems(config([rule(extra)]))).toEqual([`attestation["slsa"]: needs at most one of ${key} or ${key}_regexp`]);
  });

  it.each<[string, Partial<AttestationRule>, string]>([
    ['an empty builder_id', { builderId: '' }, 'attestation["slsa"].builder_id: must not be empty'],
    ['an empty build_type_regexp', { buildTypeRegexp: '' }, 'attestation["slsa"].build_type_regexp: must not be empty'],
    ['an empty source_uri', { sourceUri: '' }, 'attestation["slsa"].source_uri: must not be empty'],
  ])('%s', (_what, extra, line) => {
    expect(problems(config([rule(extra)]))).toEqual([line]);
  });

  it.each(['(', 'a{2,1}', '[z-a]', String.raw`\p{Nope}`])('a builder_id_regexp that does not compile (%s)', (bad) => {
    const [line] = problems(config([rule({ builderIdRegexp: bad })]));
    expect(line).toMatch(
      new RegExp(
        `^attestation\\["slsa"\\]\\.builder_id_regexp: ${JSON.stringify(bad).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} is not a valid regular expression`,
      ),
    );
  });

  it('a regexp that would only compile unanchored is still judged as it runs', () => {
    // "a)|(b" is invalid alone: the anchoring ^(?:...)$ must not make it valid.
    expect(problems(config([rule({ sourceUriRegexp: 'a)|(b' })]))[0]).toMatch(/source_uri_regexp: "a\)\|\(b" is not a valid regular expression/);
  });

  it('duplicate names', () => {
    expect(problems(config([rule(), rule({ predicateType: SLSA_V02 })]))).toEqual(['attestation: name "slsa" is used twice']);
  });

  it('every mistake at once, each under its own key', () => {
    const { identity: _identity, ...base } = rule();
    const lines = problems(
      config([
        { ...base, name: 'a', predicateType: '' },
        { ...base, name: 'b', key: 'nope', predicateType: CUSTOM, builderId: 'x' },
      ]),
    );
    expect(lines.map((l) => l.slice(0, l.indexOf(': ')))).toEqual([
      'attestation["a"].predicate_type',
      'attestation["a"]',
      'attestation["b"].key',
      'attestation["b"].builder_id',
    ]);
  });

  it('an attestation rule alone is enough: no identity or key block needed', () => {
    expect(policyProblems(config([rule()]))).toEqual([]);
    expect(policyProblems(config([]))[0]?.message).toMatch(/at least one identity \{ \}, key \{ \} or attestation \{ \} block is required/);
  });
});

describe('compiled attestation rules', () => {
  it('an attestation-only keyless policy wants no signatures and allows keyless', () => {
    const p = compilePolicy(config([rule({ builderIdRegexp: 'https://github\\.com/acme/.*', sourceUri: 'git+https://github.com/acme/app@refs/heads/main' })]));
    expect(p).toMatchObject({ wantsSignatures: false, allowKeyless: true, identities: [], keyNames: [] });
    expect(p.attestations).toHaveLength(1);
    const [a] = p.attestations;
    expect(a).toMatchObject({
      name: 'slsa',
      predicateType: SLSA_V1,
      signer: { kind: 'identity', identity: { issuer: { kind: 'exact', value: ISSUER }, subject: { kind: 'exact', value: SUBJECT } } },
      provenance: {
        builderId: { kind: 'regexp', source: 'https://github\\.com/acme/.*' },
        sourceUri: { kind: 'exact', value: 'git+https://github.com/acme/app@refs/heads/main' },
      },
    });
    expect(Object.keys(a?.provenance ?? {})).toEqual(['builderId', 'sourceUri']);
    expect(Object.isFrozen(p.attestations)).toBe(true);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('key-only attestation rules: no keyless; the key block itself is a signature rule', () => {
    const { identity: _identity, ...base } = rule();
    const p = compilePolicy(config([{ ...base, key: 'release' }], { keys: ['release'] }));
    expect(p).toMatchObject({ allowKeyless: false, keyNames: ['release'], wantsSignatures: true });
    expect(p.attestations[0]?.signer).toEqual({ kind: 'key', keyName: 'release' });
  });

  it('allowKeyless is true iff some identity is configured (top level or in a rule)', () => {
    const { identity: _identity, ...base } = rule();
    const keyRule = { ...base, name: 'k', key: 'release' };
    expect(compilePolicy(config([keyRule], { keys: ['release'] })).allowKeyless).toBe(false);
    expect(compilePolicy(config([keyRule, rule()], { keys: ['release'] })).allowKeyless).toBe(true);
    expect(compilePolicy(config([keyRule], { keys: ['release'], identities: [IDENTITY] })).allowKeyless).toBe(true);
    expect(compilePolicy(config([], { identities: [IDENTITY] }))).toMatchObject({ allowKeyless: true, wantsSignatures: true, attestations: [] });
  });
});

describe('satisfiedAttestationRules', () => {
  it('predicate type exactly, signer, and each requirement', () => {
    const p = compilePolicy(config([rule({ builderId: 'https://b', buildType: 'https://t', sourceUri: 'git+s' })]));
    const good = { builderId: 'https://b', buildType: 'https://t', sourceUri: 'git+s' };
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, good))).toEqual(['slsa']);
    expect(satisfiedAttestationRules(p, facts(keyless(), `${SLSA_V1}/`, good))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V02, good))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(`${SUBJECT}x`), SLSA_V1, good))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(SUBJECT, 'https://evil'), SLSA_V1, good))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyed('release'), SLSA_V1, good))).toEqual([]);
    for (const field of ['builderId', 'buildType', 'sourceUri'] as const) {
      expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, { ...good, [field]: `${good[field]}x` }))).toEqual([]);
      const { [field]: _dropped, ...missing } = good;
      expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, missing))).toEqual([]);
    }
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, undefined))).toEqual([]);
  });

  it('regexps are anchored: "acme" does not match "evil-acme-x"', () => {
    const p = compilePolicy(
      config([
        rule({ name: 'word', builderIdRegexp: 'acme' }),
        rule({ name: 'prefix', builderIdRegexp: 'https://github\\.com/acme/.*' }),
        rule({ name: 'alternation', builderIdRegexp: 'a|https://github\\.com/acme/ok' }),
      ]),
    );
    const has = (builderId: string): string[] => satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, { builderId }));
    expect(has('evil-acme-x')).toEqual([]);
    expect(has('acme')).toEqual(['word']);
    expect(has('acmex')).toEqual([]);
    expect(has('https://github.com/acme/app')).toEqual(['prefix']);
    expect(has('https://evil.example/https://github.com/acme/app')).toEqual([]);
    // The alternation is anchored as a whole: neither "a..." nor "...ok" partially.
    expect(has('https://github.com/acme/ok')).toEqual(['prefix', 'alternation']);
    expect(has('abc')).toEqual([]);
    expect(has('https://github.com/acme/ok/evil')).toEqual(['prefix']);
    expect(has('a')).toEqual(['alternation']);
  });

  it('a rule with no requirements holds for any provenance, even none (custom types)', () => {
    const p = compilePolicy(config([rule({ name: 'scan', predicateType: CUSTOM })]));
    expect(satisfiedAttestationRules(p, facts(keyless(), CUSTOM, undefined))).toEqual(['scan']);
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, undefined))).toEqual([]);
  });

  it('key rules want that very key, never a keyless signer', () => {
    const { identity: _identity, ...base } = rule();
    const p = compilePolicy(config([{ ...base, key: 'release' }], { keys: ['release', 'ci'] }));
    expect(satisfiedAttestationRules(p, facts(keyed('release'), SLSA_V1))).toEqual(['slsa']);
    expect(satisfiedAttestationRules(p, facts(keyed('ci'), SLSA_V1))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1))).toEqual([]);
  });

  it('a top-level identity does not stand in for the rule’s own signer', () => {
    const other: IdentityRule = { ...IDENTITY, subject: 'https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main' };
    const p = compilePolicy(config([rule({ identity: other })], { identities: [IDENTITY] }));
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(other.subject), SLSA_V1))).toEqual(['slsa']);
  });

  it('the rule identity’s claims and regexps must hold too', () => {
    const identity: IdentityRule = { issuer: ISSUER, subjectRegexp: 'https://github\\.com/acme/.*', claims: { source_repository_ref: 'refs/heads/main' } };
    const p = compilePolicy(config([rule({ identity })]));
    expect(satisfiedAttestationRules(p, facts(keyless(SUBJECT, ISSUER, { source_repository_ref: 'refs/heads/main' }), SLSA_V1))).toEqual(['slsa']);
    expect(satisfiedAttestationRules(p, facts(keyless(SUBJECT, ISSUER, { source_repository_ref: 'refs/heads/dev' }), SLSA_V1))).toEqual([]);
    expect(satisfiedAttestationRules(p, facts(keyless(SUBJECT), SLSA_V1))).toEqual([]);
    expect(
      satisfiedAttestationRules(p, facts(keyless('https://github.com/evil-acme/x', ISSUER, { source_repository_ref: 'refs/heads/main' }), SLSA_V1)),
    ).toEqual([]);
  });

  it('names every rule the one attestation satisfies, in configuration order', () => {
    const p = compilePolicy(
      config([
        rule({ name: 'c', builderId: 'https://b' }),
        rule({ name: 'a' }),
        rule({ name: 'b', sourceUri: 'x' }),
        rule({ name: 'd', predicateType: SLSA_V02 }),
      ]),
    );
    expect(satisfiedAttestationRules(p, facts(keyless(), SLSA_V1, { builderId: 'https://b' }))).toEqual(['c', 'a']);
  });
});
