// Container ID -> what the runtime says the container runs.
//
// A workload that calls the Workload API as its first act can be faster than
// the runtime's bookkeeping, so "no such container" is retried with a short,
// bounded backoff inside the Attest deadline.

import { AttestorError } from '../errors.js';
import { sleep } from '../util/abort.js';

import type { ContainerFacts, ImageFacts, RuntimeClient } from './types.js';

export interface RuntimeFindings {
  readonly runtime: RuntimeClient['kind'];
  readonly endpoint: string;
  readonly container: ContainerFacts;
  // Undefined when the image was removed while the container kept running.
  readonly image: ImageFacts | undefined;
}

export interface RetryPolicy {
  // Delays between attempts, in ms; attempts = delays.length + 1.
  readonly delaysMs: readonly number[];
}

export const DEFAULT_RETRY: RetryPolicy = { delaysMs: [25, 50, 100, 200, 400] };

export async function inspectWithRetry(
  client: RuntimeClient,
  containerId: string,
  signal: AbortSignal,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<ContainerFacts> {
  for (let attempt = 0; ; attempt++) {
    const facts = await client.inspectContainer(containerId, signal);
    if (facts) return facts;
    const delay = retry.delaysMs[attempt];
    if (delay === undefined) {
      throw new AttestorError(
        'CONTAINER_NOT_FOUND',
        `container ${containerId} not found via ${client.kind} API at ${client.endpoint} after ${attempt + 1} attempts`,
      );
    }
    await sleep(delay, signal);
  }
}

export async function lookupContainer(
  client: RuntimeClient,
  containerId: string,
  signal: AbortSignal,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<RuntimeFindings> {
  const container = await inspectWithRetry(client, containerId, signal, retry);
  if (!container.imageId.startsWith('sha256:')) {
    throw new AttestorError('IMAGE_NOT_FOUND', `container ${containerId} reports no image ID ("${container.imageId}")`);
  }
  // By ID, never by name: a local re-tag after the container started must not
  // change what we report about the image it runs.
  const image = await client.inspectImage(container.imageId, signal);
  return { runtime: client.kind, endpoint: client.endpoint, container, image };
}
