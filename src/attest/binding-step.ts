// The registry-binding step with its per-registry policy (require, prefer,
// skip). Registry errors fail the attestation under `require`; under
// `prefer` they only withhold the digest selectors.

import { AttestorError, isAttestorError } from '../errors.js';
import { checkBinding, notBoundError } from '../registry/binding.js';
import { parseReference } from '../registry/reference.js';

import type { BindingMode, RegistryConfig } from './types.js';
import type { Logger } from '../log.js';
import type { BindingResult } from '../registry/binding.js';
import type { RegistryApi } from '../registry/types.js';
import type { ContainerFacts, ImageFacts } from '../runtime/types.js';

export type BindingReport =
  BindingResult | { readonly outcome: 'skipped'; readonly reason: string } | { readonly outcome: 'unavailable'; readonly reason: string };

const REGISTRY_ERRORS = new Set(['REGISTRY_UNAVAILABLE', 'REGISTRY_AUTH', 'REGISTRY_RESPONSE', 'DIGEST_MISMATCH', 'TOO_LARGE']);

function modeFor(config: RegistryConfig, imageRef: string): { mode: BindingMode; registry: string | undefined } {
  try {
    const registry = parseReference(imageRef).registry;
    return { mode: config.registries[registry]?.binding ?? 'require', registry };
  } catch {
    return { mode: 'require', registry: undefined };
  }
}

export async function bindImage(
  registry: RegistryApi,
  config: RegistryConfig,
  container: ContainerFacts,
  image: ImageFacts | undefined,
  signal: AbortSignal,
  log: Logger,
): Promise<BindingReport> {
  const { mode, registry: host } = modeFor(config, container.imageRef);
  if (mode === 'skip') return { outcome: 'skipped', reason: `binding = "skip" for registry ${host ?? '?'}` };
  if (!image) {
    const reason = `image ${container.imageId} is no longer in the local store`;
    if (mode === 'require') throw new AttestorError('NOT_BOUND', `image not bound to its registry: ${reason}`);
    return { outcome: 'unavailable', reason };
  }
  let result: BindingResult;
  try {
    result = await checkBinding(
      registry,
      {
        imageRef: container.imageRef,
        imageId: container.imageId,
        repoDigests: image.repoDigests,
        platform: { os: image.os, architecture: image.architecture, ...(image.variant ? { variant: image.variant } : {}) },
      },
      signal,
    );
  } catch (err) {
    if (mode === 'prefer' && isAttestorError(err) && REGISTRY_ERRORS.has(err.code)) {
      log.warn('registry binding unavailable', { image: container.imageRef, error: err.message });
      return { outcome: 'unavailable', reason: err.message };
    }
    throw err;
  }
  if (result.outcome === 'not-bound') {
    log.warn('image not bound to its registry', { image: container.imageRef, image_id: container.imageId, reason: result.reason });
    if (mode === 'require') throw notBoundError(result);
  }
  return result;
}
