export { CLAIMS, OID_ISSUER_V1, OID_ISSUER_V2, OID_OTHERNAME_SAN, isClaimName } from './claims.js';
export { compilePolicy, wholeValueRegExp } from './compile.js';
export { describeSigner, evaluate, matches, matchingIdentity, satisfiedRuleNames } from './evaluate.js';

export type { ClaimSpec } from './claims.js';
export type { CompiledIdentity, CompiledPolicy, Matcher } from './types.js';
