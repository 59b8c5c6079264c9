export { compilePolicy, policyProblems, wholeValueRegExp } from './compile.js';
export { policyForRoot } from './roots.js';
export { describeSigner, evaluate, matches, matchingIdentity, satisfiedRuleNames } from './evaluate.js';

export type { CompiledIdentity, CompiledPolicy, IdentityRule, Matcher, PolicyProblem, PolicyRules } from './types.js';
