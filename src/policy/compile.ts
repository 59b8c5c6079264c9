// Turns the configured signer rules into matchers, once, at configure time.
// The configuration is validated by this same code (policyProblems), so what
// validates is exactly what runs. Every mistake names the rule it is in.

import { messageOf } from '../errors.js';
import { SignatureError } from '../verify/errors.js';
import { CLAIMS, isClaimName } from '../verify/claims.js';
import { COSIGN_SIGN_PREDICATE } from '../verify/checks.js';
import { SLSA_PREDICATE_TYPES, isSlsaProvenance } from '../verify/provenance.js';

import type {
  AttestationRule,
  CompiledAttestationRule,
  CompiledIdentity,
  CompiledPolicy,
  IdentityRule,
  Matcher,
  PolicyProblem,
  PolicyRules,
  ProvenanceField,
} from './types.js';

// The SLSA requirements of an attestation rule, by field: the configuration
// key and the rule's exact and regexp properties.
const PROVENANCE_FIELDS: readonly (readonly [ProvenanceField, string, keyof AttestationRule, keyof AttestationRule])[] = [
  ['builderId', 'builder_id', 'builderId', 'builderIdRegexp'],
  ['buildType', 'build_type', 'buildType', 'buildTypeRegexp'],
  ['sourceUri', 'source_uri', 'sourceUri', 'sourceUriRegexp'],
];

// Every mistake in the rules, each with the configuration key it is about.
export function policyProblems(rules: PolicyRules): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const report = (key: string, message: string): void => void problems.push({ key, message });
  rules.identities.forEach((rule, index) => identityProblems(rule, `identity[${index}]`, report));
  const names = rules.identities.flatMap((rule) => (rule.name === undefined ? [] : [rule.name]));
  for (const name of duplicates(names)) report('identity', `name ${JSON.stringify(name)} is used twice`);
  for (const name of duplicates(rules.keys.map((k) => k.name))) report('key', `name ${JSON.stringify(name)} is used twice`);
  rules.identities.forEach((rule, index) => trustedRootsProblems(rule.trustedRoots, `identity[${index}]`, report));
  rules.keys.forEach((rule, index) => trustedRootsProblems(rule.trustedRoots, `key[${index}]`, report));
  const keyNames = rules.keys.map((k) => k.name);
  rules.attestations.forEach((rule) => attestationProblems(rule, keyNames, report));
  for (const name of duplicates(rules.attestations.map((a) => a.name))) report('attestation', `name ${JSON.stringify(name)} is used twice`);
  if (rules.identities.length === 0 && rules.keys.length === 0 && rules.attestations.length === 0) {
    report('identity', 'at least one identity { }, key { } or attestation { } block is required: this plugin never accepts "any signer"');
  }
  return problems;
}

// Throws POLICY_INVALID naming every mistake (see policyProblems).
export function compilePolicy(rules: PolicyRules): CompiledPolicy {
  const problems = policyProblems(rules);
  if (problems.length > 0) {
    throw new SignatureError('POLICY_INVALID', `signature policy: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`);
  }
  const identities = rules.identities.map((rule, index) => compileIdentity(rule, index));
  const attestations = rules.attestations.map(compileAttestation);
  return Object.freeze({
    identities: Object.freeze(identities),
    attestations: Object.freeze(attestations),
    wantsSignatures: identities.length > 0 || rules.keys.length > 0,
    keyNames: Object.freeze(rules.keys.map((k) => k.name)),
    keyTrustedRoots: new Map(rules.keys.flatMap((k) => (k.trustedRoots ? [[k.name, Object.freeze([...k.trustedRoots])] as const] : []))),
    requireTlog: rules.requireTlog,
    requireSct: rules.requireSct,
    allowKeyless: identities.length > 0 || attestations.some((a) => a.signer.kind === 'identity'),
  });
}

function compileIdentity(rule: IdentityRule, index: number): CompiledIdentity {
  return Object.freeze({
    index,
    name: rule.name,
    issuer: matcher(rule.issuer, rule.issuerRegexp),
    subject: matcher(rule.subject, rule.subjectRegexp),
    claims: Object.freeze({ ...rule.claims }),
    trustedRoots: rule.trustedRoots && Object.freeze([...rule.trustedRoots]),
  });
}

function compileAttestation(rule: AttestationRule): CompiledAttestationRule {
  const provenance: Partial<Record<ProvenanceField, Matcher>> = {};
  for (const [field, , exact, regexp] of PROVENANCE_FIELDS) {
    const e = rule[exact];
    const r = rule[regexp];
    if (typeof e === 'string' || typeof r === 'string')
      provenance[field] = matcher(typeof e === 'string' ? e : undefined, typeof r === 'string' ? r : undefined);
  }
  return Object.freeze({
    name: rule.name,
    predicateType: rule.predicateType,
    signer: rule.identity
      ? Object.freeze({ kind: 'identity', identity: compileIdentity(rule.identity, -1) })
      : Object.freeze({ kind: 'key', keyName: rule.key ?? '' }),
    provenance: Object.freeze(provenance),
  });
}

function attestationProblems(rule: AttestationRule, keyNames: readonly string[], report: (key: string, message: string) => void): void {
  const where = `attestation["${rule.name}"]`;
  if (rule.name === '') report(where, 'needs a name (the block label)');
  if (rule.predicateType === '') {
    report(`${where}.predicate_type`, 'is required (the exact in-toto predicateType, e.g. https://slsa.dev/provenance/v1)');
  } else if (rule.predicateType === COSIGN_SIGN_PREDICATE) {
    report(
      `${where}.predicate_type`,
      `${COSIGN_SIGN_PREDICATE} is the cosign signature predicate: signatures are matched by identity { } and key { } blocks, never as attestations`,
    );
  }
  if ((rule.identity === undefined) === (rule.key === undefined)) {
    report(where, 'needs exactly one signer: an identity { } block or key = "<name of a key { } block>"');
  } else if (rule.identity !== undefined) {
    if (rule.identity.name !== undefined) report(`${where}.identity.name`, 'is not used here: the attestation rule is named by its label');
    identityProblems(rule.identity, `${where}.identity`, report);
    trustedRootsProblems(rule.identity.trustedRoots, `${where}.identity`, report);
  } else if (rule.key !== undefined && !keyNames.includes(rule.key)) {
    report(`${where}.key`, `names no key { } block (configured: ${keyNames.length > 0 ? keyNames.map((k) => JSON.stringify(k)).join(', ') : 'none'})`);
  }
  for (const [, key, exact, regexp] of PROVENANCE_FIELDS) {
    const e = rule[exact];
    const r = rule[regexp];
    if (e === undefined && r === undefined) continue;
    if (!isSlsaProvenance(rule.predicateType)) {
      report(`${where}.${key}`, `is a SLSA provenance requirement; predicate_type must be one of ${SLSA_PREDICATE_TYPES.join(', ')}`);
    }
    matcherProblems(typeof e === 'string' ? e : undefined, typeof r === 'string' ? r : undefined, `${where}`, key, report);
  }
}

// The one way a configured *_regexp becomes a matcher; configuration is
// validated with this very function, so what validates is what runs.
// Anchored: the expression must match the whole value, so "acme" cannot
// match "evil-acme-x"; the group keeps alternations inside the anchors. The
// `u` flag: Unicode semantics (code points, strict escapes), one meaning.
// The source must be a regular expression on its own too, so that it cannot
// close the group and escape the anchors (`a)|(.*`).
export function wholeValueRegExp(source: string): RegExp {
  new RegExp(source, 'u');
  return new RegExp(`^(?:${source})$`, 'u');
}

function identityProblems(rule: IdentityRule, where: string, report: (key: string, message: string) => void): void {
  if (rule.name === '') report(`${where}.name`, 'must not be empty');
  for (const what of ['issuer', 'subject'] as const) {
    const exact = rule[what];
    const regexp = rule[`${what}Regexp`];
    if ((exact === undefined) === (regexp === undefined)) report(where, `needs exactly one of ${what} or ${what}_regexp`);
    else matcherProblems(exact, regexp, where, what, report);
  }
  for (const name of Object.keys(rule.claims)) {
    if (!isClaimName(name)) report(`${where}.claims.${name}`, `unknown Fulcio claim (known: ${Object.keys(CLAIMS).join(', ')})`);
  }
}

// One of `key` (exact) or `key_regexp`, given; neither may be empty and the
// expression must compile.
function matcherProblems(
  exact: string | undefined,
  regexp: string | undefined,
  where: string,
  key: string,
  report: (key: string, message: string) => void,
): void {
  if (exact !== undefined && regexp !== undefined) {
    report(where, `needs at most one of ${key} or ${key}_regexp`);
  } else if (exact === '') {
    report(`${where}.${key}`, 'must not be empty');
  } else if (regexp === '') {
    report(`${where}.${key}_regexp`, 'must not be empty');
  } else if (regexp !== undefined) {
    try {
      wholeValueRegExp(regexp);
    } catch (err) {
      report(`${where}.${key}_regexp`, `${JSON.stringify(regexp)} is not a valid regular expression: ${messageOf(err)}`);
    }
  }
}

// A rule that names no root would accept nothing; whether the names exist
// is config/'s question (it knows the roots).
function trustedRootsProblems(roots: readonly string[] | undefined, where: string, report: (key: string, message: string) => void): void {
  if (roots === undefined) return;
  if (roots.length === 0) report(`${where}.trusted_roots`, 'must name at least one trusted root (leave it out to accept any)');
  if (roots.includes('')) report(`${where}.trusted_roots`, 'must not contain an empty name');
}

// Only called on rules policyProblems accepted.
function matcher(exact: string | undefined, regexp: string | undefined): Matcher {
  return exact !== undefined
    ? Object.freeze({ kind: 'exact', value: exact })
    : Object.freeze({ kind: 'regexp', source: regexp ?? '', regexp: wholeValueRegExp(regexp ?? '') });
}

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}
