// The registry-binding step with its per-registry policy (require, prefer,
// skip). Registry errors fail the attestation under `require`; under
// `prefer` they only withhold the digest selectors.

import { AttestorError, codeInfo, messageOf } from '../errors.js';
import { checkBinding, notBoundError } from '../registry/binding.js';
import { parseReference } from '../registry/reference.js';

import type { BindingMode, RegistryConfig } from './types.js';
import type { Logger } from '../log.js';
import type { BindingResult } from '../registry/binding.js';
import type { RegistryApi } from '../registry/types.js';
import type { ContainerFacts, ImageFacts } from '../runtime/types.js';

export type BindingReport =
  BindingResult | { readonly outcome: 'skipped'; readonly reason: string } | { readonly outcome: 'unavailable'; readonly reason: string };

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
    if (mode === 'prefer' && codeInfo(err)?.registryCouldNotTell === true) {
      log.warn('registry binding unavailable', { image: container.imageRef, error: messageOf(err) });
      return { outcome: 'unavailable', reason: messageOf(err) };
    }
    throw err;
  }
  if (result.outcome === 'not-bound') {
    log.warn('image not bound to its registry', { image: container.imageRef, image_id: container.imageId, reason: result.reason });
    if (mode === 'require') throw notBoundError(result);
  }
  return result;
}
