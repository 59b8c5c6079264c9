// The container step of an attestation: what a runtime says about a
// container, cached per runtime(s) and container ID with the container's
// first process (PID and start time, read right after the runtime named
// it), and the check that ties a workload to them: the cgroup name alone
// proves little, the workload must share the cgroup of that process.

import { AttestorError, isAttestorError } from '../errors.js';
import { lookupContainer } from '../runtime/lookup.js';
import { socketPathOf } from '../runtime/socket.js';
import { raceAbort } from '../util/abort.js';
import { VerdictCache } from '../util/cache.js';
import { containerCacheKey } from './cache-keys.js';

import type { ContainerLocator, InitProcess, Located } from '../process/index.js';
import type { RetryPolicy, RuntimeFindings } from '../runtime/lookup.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';

type ContainerLocated = Extract<Located, { kind: 'container' }>;

// A container's facts from its runtime, with its first process as it was
// when they were read (undefined: not running, or already exited).
interface ContainerFacts {
  readonly runtime: RuntimeFindings;
  readonly init: InitProcess | undefined;
}

export interface ContainerFactsOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  // A shared load runs under its own deadline, never under one caller's.
  readonly loadTimeoutMs: number;
  readonly locator: ContainerLocator;
  readonly checkSocket: (socketPath: string) => Promise<void>;
  readonly retry: RetryPolicy | undefined;
  readonly onLookup: (result: 'hit' | 'miss') => void;
}

export class ContainerFactsCache {
  readonly #o: ContainerFactsOptions;
  readonly #cache: VerdictCache<ContainerFacts>;

  constructor(options: ContainerFactsOptions) {
    this.#o = options;
    this.#cache = new VerdictCache<ContainerFacts>({
      ttlMs: options.ttlMs,
      failureTtlMs: 0,
      maxEntries: options.maxEntries,
      onLookup: options.onLookup,
    });
  }

  // The facts cached under `cacheKey` (containerCacheKey()), when there are
  // some and the workload is in the container's cgroup, its first process
  // unchanged; undefined otherwise (never waits, never throws, counts no
  // lookup: see hit()). The warm path: the caller builds the key once.
  cachedFor(cacheKey: string, pid: number, located: ContainerLocated): RuntimeFindings | undefined {
    const facts = this.#cache.peek(cacheKey);
    if (facts?.init === undefined) return undefined;
    try {
      this.#o.locator.confirmInContainer(pid, located, facts.init);
    } catch {
      // The container restarted (a new first process), or the PID is not
      // in it: confirmedFor() reloads once and reports.
      return undefined;
    }
    return facts.runtime;
  }

  // Counts a use of what cachedFor() gave.
  hit(cacheKey: string): void {
    this.#cache.hit(cacheKey);
  }

  // The facts, confirmed for the workload. Cached facts that fail the check
  // (the container restarted: new first process) are reloaded once.
  async confirmedFor(
    clients: readonly RuntimeClient[],
    key: ContainerKey,
    pid: number,
    located: ContainerLocated,
    signal: AbortSignal,
  ): Promise<{ runtime: RuntimeFindings; init: InitProcess }> {
    for (let attempt = 0; ; attempt++) {
      const { runtime, init } = await this.load(clients, key, signal);
      try {
        if (init === undefined) throw new AttestorError('CONTAINER_NOT_FOUND', `container ${key.id} is not running`);
        this.#o.locator.confirmInContainer(pid, located, init);
        return { runtime, init };
      } catch (err) {
        this.#cache.delete(containerCacheKey(clients, key));
        if (attempt > 0) throw err;
      }
    }
  }

  // The facts from the first runtime that knows the container.
  load(clients: readonly RuntimeClient[], key: ContainerKey, signal: AbortSignal): Promise<ContainerFacts> {
    return raceAbort(
      this.#cache.get(containerCacheKey(clients, key), async () => {
        for (const client of clients) await this.#o.checkSocket(socketPathOf(client.endpoint));
        const runtime = await lookupContainer(clients, key, AbortSignal.timeout(this.#o.loadTimeoutMs), this.#o.retry);
        return { runtime, init: this.#initOf(runtime) };
      }),
      signal,
    );
  }

  #initOf(runtime: RuntimeFindings): InitProcess | undefined {
    const { running, initPid } = runtime.container;
    if (!running || initPid <= 0) return undefined;
    try {
      return this.#o.locator.initProcess(initPid);
    } catch (err) {
      // Exited already: a container that is not running for us.
      if (isAttestorError(err) && err.code === 'PID_GONE') return undefined;
      throw err;
    }
  }
}
