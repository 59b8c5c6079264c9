// Attest load through gRPC: a number of callers, each waiting for its answer
// before the next call, and whether each answer was the expected verdict.

import { messageOf } from './util.js';

import type { AttestResponse } from './plugin.js';

// The verdict every bench image should get: bound to its registry manifest
// and signed by the bench key.
export const VERIFIED_BOUND_SELECTORS = ['image_binding:bound', 'image-signature-key:bench', 'image-signature:verified'] as const;

export function isVerifiedBound(selectors: readonly string[]): boolean {
  return VERIFIED_BOUND_SELECTORS.every((s) => selectors.includes(s));
}

export interface LoadResult {
  latencies: number[];
  wallMs: number;
  completed: number;
  errors: number;
  firstError: string | undefined;
  unexpected: number;
}

// `total` calls spread over `pids` round robin by `concurrency` callers, each
// waiting for its answer before the next call; stops at capMs.
export async function load(
  call: (pid: number) => Promise<AttestResponse>,
  pids: readonly number[],
  total: number,
  concurrency: number,
  capMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  let unexpected = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const until = t0 + capMs;
  const worker = async (): Promise<void> => {
    while (issued < total && performance.now() < until) {
      const pid = pids[issued % pids.length] ?? -1;
      issued++;
      const s = performance.now();
      try {
        const r = await call(pid);
        latencies.push(performance.now() - s);
        if (!isVerifiedBound(r.selector_values)) unexpected++;
      } catch (err) {
        errors++;
        firstError ??= messageOf(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return { latencies, wallMs: performance.now() - t0, completed: latencies.length, errors, firstError, unexpected };
}
