// Our errors as gRPC statuses, by the table in errors.ts. SPIRE shows the
// status message in the agent log (wrapped with the plugin name), so messages
// stay operator-facing; stacks go to our own debug log only.

import { status } from '@grpc/grpc-js';

import { ERROR_CODES, isAttestorError } from '../errors.js';

export interface StatusObject {
  code: status;
  details: string;
}

export function toStatus(error: unknown): StatusObject {
  if (isAttestorError(error)) {
    return { code: status[ERROR_CODES[error.code].grpc], details: error.message };
  }
  // Anything we did not classify is a bug: say so without leaking internals.
  return { code: status.UNKNOWN, details: 'internal error in spire-sigstore-attestor (see plugin debug log)' };
}
