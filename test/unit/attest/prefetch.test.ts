// The start prefetcher's bounds: a container reported twice is checked
// once, at most `concurrency` checks run, a full queue drops, a failed or
// ended watch is retried with a growing delay, a failed check is only
// logged, and close() ends the watches. The Docker event lines: capped,
// only container starts with a well-formed ID.

import { describe, expect, it } from 'vitest';

import { StartPrefetcher } from '../../../src/attest/prefetch.js';
import { silentLogger } from '../../../src/log.js';
import { EventLines, startedContainer } from '../../../src/runtime/docker.js';

import type { ContainerKey, RuntimeClient } from '../../../src/runtime/types.js';

const OPTIONS = { concurrency: 2, maxQueued: 3, firstRetryMs: 5, maxRetryMs: 40 };

function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// A runtime whose watch the test drives: `emit` reports a start, `end`
// ends the current watch (resolving), `fail` rejects it.
class FakeRuntime implements RuntimeClient {
  readonly kind = 'docker' as const;
  readonly endpoint = 'unix:///fake.sock';
  watches = 0;
  #onStart: ((key: ContainerKey) => void) | undefined;
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  failNext = 0;

  async inspect(): Promise<undefined> {
    return undefined;
  }

  watchStarts(onStart: (key: ContainerKey) => void, signal: AbortSignal): Promise<void> {
    this.watches++;
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('connection refused'));
    }
    this.#onStart = onStart;
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  emit(id: string): void {
    this.#onStart?.({ id });
  }

  end(): void {
    this.#settle?.resolve();
  }
}

// Checks that wait until released, recording what ran.
class Checks {
  readonly started: string[] = [];
  readonly #waiting: (() => void)[] = [];
  fail = false;
  running = 0;
  maxRunning = 0;

  check = async (_client: RuntimeClient, key: ContainerKey): Promise<void> => {
    this.started.push(key.id);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise<void>((r) => this.#waiting.push(r));
    this.running--;
    if (this.fail) throw new Error('registry down');
  };

  releaseAll(): void {
    for (const r of this.#waiting.splice(0)) r();
  }
}

describe('StartPrefetcher', () => {
  it('checks each reported container once, at most `concurrency` at a time, dropping past the queue bound', async () => {
    const runtime = new FakeRuntime();
    const checks = new Checks();
    const results: string[] = [];
    const p = new StartPrefetcher(checks.check, silentLogger, (r) => results.push(r), OPTIONS);
    p.watch([runtime], async () => undefined);
    await tick();
    for (const id of ['a', 'a', 'b', 'b', 'c', 'd', 'e', 'f', 'g']) runtime.emit(id);
    // a, b running; c, d, e queued (3); f, g dropped; the repeats ignored.
    expect(checks.started).toEqual(['a', 'b']);
    expect(p.stats.dropped).toBe(2);
    for (let i = 0; i < 4; i++) {
      checks.releaseAll();
      await tick();
    }
    expect(checks.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(checks.maxRunning).toBe(2);
    expect(p.stats.checked).toBe(5);
    expect(results.sort()).toEqual(['dropped', 'dropped', 'verified', 'verified', 'verified', 'verified', 'verified']);
    await p.close();
  });

  it('a failed check is only counted; the next start is checked', async () => {
    const runtime = new FakeRuntime();
    const checks = new Checks();
    checks.fail = true;
    const p = new StartPrefetcher(checks.check, silentLogger, undefined, OPTIONS);
    p.watch([runtime], async () => undefined);
    await tick();
    runtime.emit('a');
    checks.releaseAll();
    await tick();
    runtime.emit('a');
    checks.releaseAll();
    await tick();
    expect(checks.started).toEqual(['a', 'a']);
    expect(p.stats.checked).toBe(2);
    await p.close();
  });

  it('watches again after the watch fails or ends, with a growing delay', async () => {
    const runtime = new FakeRuntime();
    runtime.failNext = 2;
    const p = new StartPrefetcher(async () => undefined, silentLogger, undefined, OPTIONS);
    p.watch([runtime], async () => undefined);
    await tick(60); // 5 ms, then 10 ms, then connected
    expect(runtime.watches).toBe(3);
    runtime.end();
    await tick(60);
    expect(runtime.watches).toBe(4);
    await p.close();
    const after = runtime.watches;
    await tick(60);
    expect(runtime.watches).toBe(after);
  });

  it('a runtime whose socket is refused is never watched, and retried', async () => {
    const runtime = new FakeRuntime();
    let asked = 0;
    const p = new StartPrefetcher(async () => undefined, silentLogger, undefined, OPTIONS);
    p.watch([runtime], async () => {
      asked++;
      throw new Error('refusing runtime socket');
    });
    await tick(30);
    expect(asked).toBeGreaterThan(1);
    expect(runtime.watches).toBe(0);
    await p.close();
  });

  it('after close(), reported starts are ignored', async () => {
    const runtime = new FakeRuntime();
    const checks = new Checks();
    const p = new StartPrefetcher(checks.check, silentLogger, undefined, OPTIONS);
    p.watch([runtime], async () => undefined);
    await tick();
    await p.close();
    runtime.emit('late');
    expect(checks.started).toEqual([]);
  });
});

describe('Docker start events', () => {
  const ID = 'a'.repeat(64);
  const start = JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID, Attributes: { image: 'x' } }, id: ID, status: 'start' });

  it('splits lines across chunks and caps a line', () => {
    const lines = new EventLines(64);
    expect(lines.push(Buffer.from('{"a":'))).toEqual([]);
    expect(lines.push(Buffer.from('1}\n{"b":2}\n{"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(lines.push(Buffer.from(':3}\n'))).toEqual(['{"c":3}']);
    expect(() => lines.push(Buffer.alloc(65, 0x20))).toThrow(/over 64 bytes/);
  });

  it('takes only a container start with a 64-hex ID', () => {
    expect(startedContainer(start)).toBe(ID);
    expect(startedContainer(start.replace('"start"', '"die"'))).toBeUndefined();
    expect(startedContainer(start.replace('"container"', '"image"'))).toBeUndefined();
    expect(startedContainer(start.replaceAll(ID, '../etc'))).toBeUndefined();
    expect(startedContainer('{not json')).toBeUndefined();
    expect(startedContainer('[]')).toBeUndefined();
    expect(startedContainer('')).toBeUndefined();
  });
});
