// The attestor's cache keys. Binding and signature keys are built once per
// cached findings object: the warm path reuses them.

import type { RuntimeFindings } from '../runtime/lookup.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';
import type { Digest, ImageReference } from '../registry/types.js';
import type { BindingReport } from './binding-step.js';

const bindingKeys = new WeakMap<RuntimeFindings, string>();
export function bindingKey(runtime: RuntimeFindings): string {
  let key = bindingKeys.get(runtime);
  if (key === undefined) {
    const image = runtime.image;
    const digests = [...(image?.repoDigests ?? [])].sort().join(',');
    const platform = image ? `${image.os}/${image.architecture}/${image.variant ?? ''}` : '';
    key = `${runtime.container.imageRef}|${runtime.container.imageId}|${digests}|${platform}`;
    bindingKeys.set(runtime, key);
  }
  return key;
}

const signatureKeys = new WeakMap<BindingReport, string>();
export function signatureKey(binding: BindingReport, ref: ImageReference, digests: readonly Digest[]): string {
  let key = signatureKeys.get(binding);
  if (key === undefined) {
    key = [`${ref.registry}/${ref.repository}`, ...[...digests].sort()].join(' ');
    signatureKeys.set(binding, key);
  }
  return key;
}

export function containerCacheKey(clients: readonly RuntimeClient[], key: ContainerKey): string {
  return `${clients.map((c) => c.kind).join('+')}:${key.namespace ?? ''}/${key.id}`;
}
