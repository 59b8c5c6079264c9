// Cancellation helpers: every wait in the pipeline ends when the Attest
// call's signal aborts.

import { AttestorError } from '../errors.js';

export function abortError(signal: AbortSignal): AttestorError {
  const reason: unknown = signal.reason;
  if (reason instanceof AttestorError) return reason;
  return new AttestorError('CANCELLED', 'attestation aborted');
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

// Settle with `promise`, or reject as soon as `signal` aborts (for calls that
// cannot be cancelled themselves; their result is then ignored).
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

// Sleep that wakes early (rejecting) on abort.
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
