// The one table from our error codes to gRPC status codes. SPIRE shows the
// status message in the agent log (wrapped with the plugin name), so messages
// stay operator-facing; stacks go to our own debug log only.

import { status } from '@grpc/grpc-js';

import { isAttestorError } from '../errors.js';

import type { ErrorCode } from '../errors.js';

const CODE_TO_STATUS: Readonly<Record<ErrorCode, status>> = {
  CONFIG_SYNTAX: status.INVALID_ARGUMENT,
  CONFIG_INVALID: status.INVALID_ARGUMENT,
  NOT_CONFIGURED: status.FAILED_PRECONDITION,
  PID_INVALID: status.INVALID_ARGUMENT,
  PID_GONE: status.NOT_FOUND,
  PROC_UNREADABLE: status.INTERNAL,
  CONTAINER_AMBIGUOUS: status.FAILED_PRECONDITION,
  PID_REUSED: status.ABORTED,
  RUNTIME_UNAVAILABLE: status.UNAVAILABLE,
  RUNTIME_REFUSED: status.FAILED_PRECONDITION,
  CONTAINER_NOT_FOUND: status.NOT_FOUND,
  IMAGE_NOT_FOUND: status.NOT_FOUND,
  REFERENCE_INVALID: status.FAILED_PRECONDITION,
  REGISTRY_UNAVAILABLE: status.UNAVAILABLE,
  REGISTRY_AUTH: status.PERMISSION_DENIED,
  REGISTRY_RESPONSE: status.UNAVAILABLE,
  DIGEST_MISMATCH: status.FAILED_PRECONDITION,
  TOO_LARGE: status.RESOURCE_EXHAUSTED,
  NOT_BOUND: status.PERMISSION_DENIED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
};

export interface StatusObject {
  code: status;
  details: string;
}

export function toStatus(error: unknown): StatusObject {
  if (isAttestorError(error)) {
    return { code: CODE_TO_STATUS[error.code], details: error.message };
  }
  // Anything we did not classify is a bug: say so without leaking internals.
  return { code: status.UNKNOWN, details: 'internal error in spire-sigstore-attestor (see plugin debug log)' };
}
