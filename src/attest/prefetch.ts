// Verify early (prefetch_on_start): each runtime that can report container
// starts is watched, and every container that starts is taken through the
// same checks an attestation makes (container facts, binding, signatures),
// so that the workload's first Workload API call finds the verdicts cached.
//
// What a runtime reports is only a hint: a prefetch fills the caches with
// what the checks found, exactly as an attestation of that container would,
// and an attestation still proves the calling PID belongs to the container.
// Bounded: at most `maxQueued` containers wait, `concurrency` are checked at
// once, and a watch that fails is retried with a growing delay.

import { messageOf } from '../errors.js';
import { sleep } from '../util/abort.js';
import { containerCacheKey } from './cache-keys.js';

import type { Logger } from '../log.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';

export interface PrefetchOptions {
  readonly concurrency: number;
  readonly maxQueued: number;
  // Delay before re-watching after a failure, doubling up to maxRetryMs.
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
}

export const PREFETCH: PrefetchOptions = { concurrency: 2, maxQueued: 256, firstRetryMs: 1_000, maxRetryMs: 30_000 };

// One container to check, through the runtime that reported it.
export type PrefetchOne = (client: RuntimeClient, key: ContainerKey) => Promise<void>;

// What became of a reported start (for metrics).
export type PrefetchResult = 'verified' | 'failed' | 'dropped';

interface Pending {
  readonly client: RuntimeClient;
  readonly key: ContainerKey;
}

export class StartPrefetcher {
  readonly #check: PrefetchOne;
  readonly #log: Logger;
  readonly #options: PrefetchOptions;
  readonly #onResult: (result: PrefetchResult) => void;
  readonly #stop = new AbortController();
  // Keyed by runtime + container: a container reported twice is checked once.
  readonly #queue = new Map<string, Pending>();
  readonly #running = new Set<string>();
  readonly #watches: Promise<void>[] = [];
  #dropped = 0;
  #done = 0;

  constructor(check: PrefetchOne, log: Logger, onResult: (result: PrefetchResult) => void = () => undefined, options: PrefetchOptions = PREFETCH) {
    this.#check = check;
    this.#log = log;
    this.#onResult = onResult;
    this.#options = options;
  }

  // Containers checked (whatever the outcome) and starts dropped because
  // the queue was full.
  get stats(): { checked: number; dropped: number } {
    return { checked: this.#done, dropped: this.#dropped };
  }

  // Starts watching each client that can report starts (`ready` first:
  // e.g. the socket check, so that an untrusted socket is never read).
  watch(clients: readonly RuntimeClient[], ready: (client: RuntimeClient) => Promise<void>): void {
    for (const client of clients) {
      if (client.watchStarts) this.#watches.push(this.#watchLoop(client, ready));
    }
  }

  async #watchLoop(client: RuntimeClient, ready: (client: RuntimeClient) => Promise<void>): Promise<void> {
    const signal = this.#stop.signal;
    const where = { runtime: client.kind, endpoint: client.endpoint };
    let delay = this.#options.firstRetryMs;
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await ready(client);
        this.#log.debug('watching container starts', where);
        await client.watchStarts?.((key) => this.#enqueue(client, key), signal);
        if (signal.aborted) return;
        this.#log.debug('container start watch ended; watching again', where);
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        // A runtime that is not there is normal on most nodes: said once.
        if (failures === 1) this.#log.debug('cannot watch container starts (retrying)', { ...where, error: messageOf(err) });
      }
      // A watch that ran a while starts over at the first delay.
      if (Date.now() - started > this.#options.maxRetryMs) delay = this.#options.firstRetryMs;
      try {
        await sleep(delay, signal);
      } catch {
        return;
      }
      delay = Math.min(delay * 2, this.#options.maxRetryMs);
    }
  }

  #enqueue(client: RuntimeClient, key: ContainerKey): void {
    if (this.#stop.signal.aborted) return;
    const id = containerCacheKey([client], key);
    if (this.#queue.has(id) || this.#running.has(id)) return;
    if (this.#queue.size >= this.#options.maxQueued) {
      this.#dropped++;
      this.#onResult('dropped');
      return;
    }
    this.#queue.set(id, { client, key });
    this.#drain();
  }

  #drain(): void {
    while (this.#running.size < this.#options.concurrency && !this.#stop.signal.aborted) {
      const next = this.#queue.entries().next();
      if (next.done === true) return;
      const [id, item] = next.value;
      this.#queue.delete(id);
      this.#running.add(id);
      void this.#checkOne(id, item);
    }
  }

  async #checkOne(id: string, item: Pending): Promise<void> {
    try {
      await this.#check(item.client, item.key);
      this.#onResult('verified');
    } catch (err) {
      this.#onResult('failed');
      // The attestation that follows meets the same answer (or retries).
      this.#log.debug('early verification did not complete', { runtime: item.client.kind, container_id: item.key.id, error: messageOf(err) });
    } finally {
      this.#done++;
      this.#running.delete(id);
      this.#drain();
    }
  }

  // Stops watching; checks in flight finish on their own deadlines.
  async close(): Promise<void> {
    this.#stop.abort();
    this.#queue.clear();
    await Promise.allSettled(this.#watches);
  }
}
