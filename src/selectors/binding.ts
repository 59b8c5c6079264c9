// Binding facts -> selector values. Nothing at all unless the binding held.

import { BINDING_HELD, selector, SELECTOR } from './names.js';

// What the binding selectors are made of (a registry binding's outcome).
export type BindingSelectorInput =
  | { readonly outcome: 'not-bound' }
  | {
      readonly outcome: 'bound';
      readonly manifestDigest: string;
      readonly indexDigest?: string;
      readonly reference: { readonly registry: string; readonly repository: string };
    };

export function bindingSelectors(binding: BindingSelectorInput): string[] {
  if (binding.outcome !== 'bound') return [];
  const out = [
    selector(SELECTOR.imageBinding, BINDING_HELD),
    selector(SELECTOR.imageDigest, binding.manifestDigest),
    selector(SELECTOR.imageRepository, `${binding.reference.registry}/${binding.reference.repository}`),
  ];
  if (binding.indexDigest) out.push(selector(SELECTOR.imageDigest, binding.indexDigest));
  return out;
}
