// The one way tests check "fails with code X": the coded error (our
// AttestorError or SignatureError) that a call throws or a promise rejects
// with. Anything else it throws, or nothing at all, fails the test.

import { AttestorError, CodedError } from '../../src/errors.js';

type ErrorClass<E> = abstract new (code: never, message: string) => E;

function expectType<E>(err: unknown, type: ErrorClass<E>): E {
  if (err instanceof type) return err;
  throw err instanceof Error ? err : new Error(`expected a ${type.name}, got ${String(err)}`);
}

// The error `fn` throws.
export function thrown<E extends CodedError<string> = AttestorError>(fn: () => unknown, type: ErrorClass<E> = AttestorError as unknown as ErrorClass<E>): E {
  try {
    fn();
  } catch (err) {
    return expectType(err, type);
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

// The error `p` rejects with.
export async function rejected<E extends CodedError<string> = AttestorError>(
  p: Promise<unknown>,
  type: ErrorClass<E> = AttestorError as unknown as ErrorClass<E>,
): Promise<E> {
  try {
    await p;
  } catch (err) {
    return expectType(err, type);
  }
  throw new Error(`expected a ${type.name}, but it resolved`);
}

// The code `fn` throws, or undefined when it throws nothing.
export function codeThrown(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return expectType(err, CodedError).code;
  }
  return undefined;
}

// The code `p` rejects with, or undefined when it resolves.
export async function codeRejected(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return expectType(err, CodedError).code;
  }
  return undefined;
}

// Kept name for the many callers: the AttestorError a promise rejects with.
export const attestorFailure = (p: Promise<unknown>): Promise<AttestorError> => rejected(p);
