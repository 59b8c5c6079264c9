// Container ID -> what the runtime says the container runs.
//
// A workload that calls the Workload API as its first act can be faster than
// the runtime's bookkeeping, so "no such container" is retried with a short,
// bounded backoff inside the Attest deadline. Where a cgroup form may belong
// to more than one runtime (a kubelet's /kubepods/... path), each is asked in
// turn on every attempt and the first that knows the container answers.

import { AttestorError } from '../errors.js';
import { sleep } from '../util/abort.js';

import type { ContainerFacts, ContainerKey, ImageFacts, RuntimeClient } from './types.js';

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

function where(clients: readonly RuntimeClient[]): string {
  return clients.map((c) => `${c.kind} API at ${c.endpoint}`).join(' or ');
}

export async function lookupContainer(
  clients: readonly RuntimeClient[],
  key: ContainerKey,
  signal: AbortSignal,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<RuntimeFindings> {
  for (let attempt = 0; ; attempt++) {
    for (const client of clients) {
      const found = await client.inspect(key, signal);
      if (found) return { runtime: client.kind, endpoint: client.endpoint, ...found };
    }
    const delay = retry.delaysMs[attempt];
    if (delay === undefined) {
      throw new AttestorError('CONTAINER_NOT_FOUND', `container ${key.id} not found via ${where(clients)} after ${attempt + 1} attempts`);
    }
    await sleep(delay, signal);
  }
}
