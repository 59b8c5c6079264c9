// Turns the configured signer rules into matchers, once, at configure time.
// The configuration is validated by this same code (policyProblems), so what
// validates is exactly what runs. Every mistake names the rule it is in.

import { messageOf } from '../errors.js';
import { SignatureError } from '../verify/errors.js';
import { CLAIMS, isClaimName } from '../verify/claims.js';

import type { CompiledIdentity, CompiledPolicy, IdentityRule, Matcher, PolicyProblem, PolicyRules } from './types.js';

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
  if (rules.identities.length === 0 && rules.keys.length === 0) {
    report('identity', 'at least one identity { } or key { } block is required: this plugin never accepts "any signer"');
  }
  return problems;
}

// Throws POLICY_INVALID naming every mistake (see policyProblems).
export function compilePolicy(rules: PolicyRules): CompiledPolicy {
  const problems = policyProblems(rules);
  if (problems.length > 0) {
    throw new SignatureError('POLICY_INVALID', `signature policy: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`);
  }
  const identities = rules.identities.map((rule, index): CompiledIdentity =>
    Object.freeze({
      index,
      name: rule.name,
      issuer: matcher(rule.issuer, rule.issuerRegexp),
      subject: matcher(rule.subject, rule.subjectRegexp),
      claims: Object.freeze({ ...rule.claims }),
      trustedRoots: rule.trustedRoots && Object.freeze([...rule.trustedRoots]),
    }),
  );
  return Object.freeze({
    identities: Object.freeze(identities),
    keyNames: Object.freeze(rules.keys.map((k) => k.name)),
    keyTrustedRoots: new Map(rules.keys.flatMap((k) => (k.trustedRoots ? [[k.name, Object.freeze([...k.trustedRoots])] as const] : []))),
    requireTlog: rules.requireTlog,
    requireSct: rules.requireSct,
    allowKeyless: identities.length > 0,
  });
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
    if ((exact === undefined) === (regexp === undefined)) {
      report(where, `needs exactly one of ${what} or ${what}_regexp`);
    } else if (exact === '') {
      report(`${where}.${what}`, 'must not be empty');
    } else if (regexp !== undefined) {
      if (regexp === '') {
        report(`${where}.${what}_regexp`, 'must not be empty');
        continue;
      }
      try {
        wholeValueRegExp(regexp);
      } catch (err) {
        report(`${where}.${what}_regexp`, `${JSON.stringify(regexp)} is not a valid regular expression: ${messageOf(err)}`);
      }
    }
  }
  for (const name of Object.keys(rule.claims)) {
    if (!isClaimName(name)) report(`${where}.claims.${name}`, `unknown Fulcio claim (known: ${Object.keys(CLAIMS).join(', ')})`);
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
