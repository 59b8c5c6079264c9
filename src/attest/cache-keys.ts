// The attestor's cache keys. Binding and signature keys are built once per
// cached findings object: the warm path reuses them.

import type { RuntimeFindings } from '../runtime/lookup.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';
import type { Digest } from '../registry/types.js';
import type { BoundImage } from '../registry/binding.js';

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

// The digests an image's signatures and attestations may name: its index
// (when it was pulled through one) and its platform manifest.
export function signedDigests(binding: BoundImage): readonly Digest[] {
  return binding.indexDigest ? [binding.indexDigest, binding.manifestDigest] : [binding.manifestDigest];
}

const signatureKeys = new WeakMap<BoundImage, string>();
export function signatureKey(binding: BoundImage): string {
  let key = signatureKeys.get(binding);
  if (key === undefined) {
    const ref = binding.reference;
    key = [`${ref.registry}/${ref.repository}`, ...[...signedDigests(binding)].sort()].join(' ');
    signatureKeys.set(binding, key);
  }
  return key;
}

export function containerCacheKey(clients: readonly RuntimeClient[], key: ContainerKey): string {
  return `${clients.map((c) => c.kind).join('+')}:${key.namespace ?? ''}/${key.id}`;
}
