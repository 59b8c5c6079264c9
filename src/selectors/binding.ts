// Binding facts -> selector values. Nothing at all unless the binding held.

import { BINDING_HELD, selector, SELECTOR } from './names.js';

import type { BindingResult } from '../registry/binding.js';

export function bindingSelectors(binding: BindingResult): string[] {
  if (binding.outcome !== 'bound') return [];
  const out = [
    selector(SELECTOR.imageBinding, BINDING_HELD),
    selector(SELECTOR.imageDigest, binding.manifestDigest),
    selector(SELECTOR.imageRepository, `${binding.reference.registry}/${binding.reference.repository}`),
  ];
  if (binding.indexDigest) out.push(selector(SELECTOR.imageDigest, binding.indexDigest));
  return out;
}
