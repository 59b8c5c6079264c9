// Rules may accept signatures under some trusted roots only
// (`trusted_roots = ["github"]`). The policy for one root is the policy
// with only the rules that accept it: verification under that root uses its
// keys and identities, and evaluation matches only those, so a rule never
// accepts a signer verified under a root it does not name.

import type { CompiledPolicy } from './types.js';

const views = new WeakMap<CompiledPolicy, Map<string, CompiledPolicy>>();

export function policyForRoot(policy: CompiledPolicy, root: string): CompiledPolicy {
  const restricted =
    policy.identities.some((i) => i.trustedRoots !== undefined) ||
    policy.attestations.some((a) => a.signer.kind === 'identity' && a.signer.identity.trustedRoots !== undefined) ||
    policy.keyTrustedRoots.size > 0;
  if (!restricted) return policy;
  let byRoot = views.get(policy);
  if (byRoot === undefined) views.set(policy, (byRoot = new Map<string, CompiledPolicy>()));
  let view = byRoot.get(root);
  if (view === undefined) {
    const accepts = (i: { readonly trustedRoots: readonly string[] | undefined }): boolean => i.trustedRoots === undefined || i.trustedRoots.includes(root);
    const identities = policy.identities.filter(accepts);
    const keyNames = policy.keyNames.filter((name) => policy.keyTrustedRoots.get(name)?.includes(root) ?? true);
    // An attestation rule accepts a root when its signer does: its identity's
    // trusted_roots, or its key's.
    const attestations = policy.attestations.filter((a) => (a.signer.kind === 'identity' ? accepts(a.signer.identity) : keyNames.includes(a.signer.keyName)));
    view = Object.freeze({
      ...policy,
      identities: Object.freeze(identities),
      attestations: Object.freeze(attestations),
      keyNames: Object.freeze(keyNames),
      allowKeyless: identities.length > 0 || attestations.some((a) => a.signer.kind === 'identity'),
    });
    byRoot.set(root, view);
  }
  return view;
}
