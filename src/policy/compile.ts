// Turns the configured signature policy into matchers, once, at configure
// time. Every mistake is reported with the identity it is in.

import { SignatureError } from '../verify/errors.js';
import { CLAIMS, isClaimName } from './claims.js';

import type { IdentityRule, SignaturePolicyConfig } from '../config/types.js';
import type { CompiledIdentity, CompiledPolicy, Matcher } from './types.js';

export function compilePolicy(config: SignaturePolicyConfig): CompiledPolicy {
  const identities = config.identities.map((rule, index) => compileIdentity(rule, index));
  const keyNames = config.keys.map((k) => k.name);
  const duplicate = keyNames.find((name, i) => keyNames.indexOf(name) !== i);
  if (duplicate !== undefined) invalid(`key name ${JSON.stringify(duplicate)} is configured twice`);
  if (identities.length === 0 && keyNames.length === 0) {
    invalid('no identity and no key configured: refusing a policy that would accept no signer or any signer');
  }
  return Object.freeze({
    identities: Object.freeze(identities),
    keyNames: Object.freeze(keyNames),
    requireTlog: config.requireTlog,
    requireSct: config.requireSct,
  });
}

function compileIdentity(rule: IdentityRule, index: number): CompiledIdentity {
  const where = `identity[${index}]`;
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(rule.claims)) {
    if (!isClaimName(name)) {
      invalid(`${where}: unknown claim ${JSON.stringify(name)} (known: ${Object.keys(CLAIMS).join(', ')})`);
    }
    claims[name] = value;
  }
  return Object.freeze({
    index,
    name: rule.name,
    issuer: compileMatcher(where, 'issuer', rule.issuer, rule.issuerRegexp),
    subject: compileMatcher(where, 'subject', rule.subject, rule.subjectRegexp),
    claims: Object.freeze(claims),
  });
}

function compileMatcher(
  where: string,
  what: 'issuer' | 'subject',
  exact: string | undefined,
  regexp: string | undefined,
): Matcher {
  if ((exact === undefined) === (regexp === undefined)) {
    invalid(`${where}: set exactly one of ${what} and ${what}_regexp`);
  }
  if (exact !== undefined) {
    if (exact === '') invalid(`${where}: ${what} is empty`);
    return Object.freeze({ kind: 'exact', value: exact });
  }
  const source = regexp ?? '';
  if (source === '') invalid(`${where}: ${what}_regexp is empty`);
  try {
    return Object.freeze({ kind: 'regexp', source, regexp: wholeValueRegExp(source) });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return invalid(`${where}: ${what}_regexp ${JSON.stringify(source)} is not a valid regular expression: ${reason}`);
  }
}

// The one way a configured *_regexp becomes a matcher; configuration is
// validated with this very function, so what validates is what runs.
// Anchored: the expression must match the whole value, so "acme" cannot
// match "evil-acme-x"; the group keeps alternations inside the anchors. The
// `u` flag: Unicode semantics (code points, strict escapes), one meaning.
export function wholeValueRegExp(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u');
}

function invalid(message: string): never {
  throw new SignatureError('POLICY_INVALID', `signature policy: ${message}`);
}
