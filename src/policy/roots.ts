// Rules may accept signatures under some trusted roots only
// (`trusted_roots = ["github"]`). The policy for one root is the policy
// with only the rules that accept it: verification under that root uses its
// keys and identities, and evaluation matches only those, so a rule never
// accepts a signer verified under a root it does not name.

import type { CompiledPolicy } from './types.js';

const views = new WeakMap<CompiledPolicy, Map<string, CompiledPolicy>>();

export function policyForRoot(policy: CompiledPolicy, root: string): CompiledPolicy {
  const restricted = policy.identities.some((i) => i.trustedRoots !== undefined) || policy.keyTrustedRoots.size > 0;
  if (!restricted) return policy;
  let byRoot = views.get(policy);
  if (byRoot === undefined) views.set(policy, (byRoot = new Map<string, CompiledPolicy>()));
  let view = byRoot.get(root);
  if (view === undefined) {
    const identities = policy.identities.filter((i) => i.trustedRoots === undefined || i.trustedRoots.includes(root));
    view = Object.freeze({
      ...policy,
      identities: Object.freeze(identities),
      keyNames: Object.freeze(policy.keyNames.filter((name) => policy.keyTrustedRoots.get(name)?.includes(root) ?? true)),
      allowKeyless: identities.length > 0,
    });
    byRoot.set(root, view);
  }
  return view;
}
