// Assertion helper: the AttestorError a promise rejects with.

import { AttestorError } from '../../src/errors.js';

export async function attestorFailure(p: Promise<unknown>): Promise<AttestorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AttestorError) return err;
    throw err;
  }
  throw new Error('expected an AttestorError');
}
