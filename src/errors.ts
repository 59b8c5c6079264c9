// Typed errors shared by every pipeline step. One base class, one code union;
// the plugin layer maps codes to gRPC status codes in a single table, and the
// CLI maps them to exit codes. Messages are operator-facing: say what failed
// and with which input, never a stack.

export type ErrorCode =
  // configuration (plugin_data / --config)
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  // attestation requested before a successful Configure
  | 'NOT_CONFIGURED'
  // PID -> container
  | 'PID_INVALID'
  | 'PID_GONE'
  | 'PROC_UNREADABLE'
  | 'CONTAINER_AMBIGUOUS'
  | 'PID_REUSED'
  // container -> image
  | 'RUNTIME_UNAVAILABLE'
  | 'RUNTIME_REFUSED'
  | 'CONTAINER_NOT_FOUND'
  | 'IMAGE_NOT_FOUND'
  // image -> registry
  | 'REFERENCE_INVALID'
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_RESPONSE'
  | 'DIGEST_MISMATCH'
  | 'TOO_LARGE'
  | 'NOT_BOUND'
  // deadlines and cancellation
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'INTERNAL';

export class AttestorError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'AttestorError';
  }
}

export function isAttestorError(value: unknown): value is AttestorError {
  return value instanceof AttestorError;
}
