export { compilePolicy, policyProblems, wholeValueRegExp } from './compile.js';
export { policyForRoot } from './roots.js';
export { describeSigner, evaluate, matches, matchingIdentity, satisfiedAttestationRules, satisfiedRuleNames } from './evaluate.js';
export type { AttestationFacts } from './evaluate.js';

export type { AttestationRule, CompiledAttestationRule, CompiledIdentity, CompiledPolicy, IdentityRule, Matcher, PolicyProblem, PolicyRules } from './types.js';
