// Typed errors shared by every pipeline step: one base class, one code
// union, and one table (ERROR_CODES) that the plugin layer (gRPC status), the
// CLI (exit code), the service (Validate notes), binding (prefer) and
// discovery (outages) all read. Messages are operator-facing: say what failed
// and with which input, never a stack.

export type ErrorCode =
  // configuration (plugin_data / --config)
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  // attestation requested before a successful Configure, or overtaken by Configures
  | 'NOT_CONFIGURED'
  | 'CONFIG_CHANGED'
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

// One base for every error this plugin throws on purpose: a typed code and
// an operator-facing message. AttestorError (below) fails an attestation;
// verify/'s SignatureError rejects one signature.
export abstract class CodedError<C extends string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class AttestorError extends CodedError<ErrorCode> {
  override readonly name = 'AttestorError';
}

export function isAttestorError(value: unknown): value is AttestorError {
  return value instanceof AttestorError;
}

// gRPC status names (the plugin layer turns them into grpc-js numbers).
export type GrpcStatusName =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'NOT_FOUND'
  | 'INTERNAL'
  | 'ABORTED'
  | 'UNAVAILABLE'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED';

export interface ErrorCodeInfo {
  // What the agent sees (SPIRE logs the status and message).
  readonly grpc: GrpcStatusName;
  // The CLI's exit code: 2 for usage and configuration errors, else 1.
  readonly exit: 1 | 2;
  // The registry could not tell (reachable or not, answered or not): under
  // binding = "prefer" the container selectors survive it.
  readonly registryCouldNotTell: boolean;
  // The registry is out of reach (or we gave up): signature discovery stops
  // and the attestation fails, instead of skipping one candidate.
  readonly outage: boolean;
}

const info = (grpc: GrpcStatusName, more: Partial<Omit<ErrorCodeInfo, 'grpc'>> = {}): ErrorCodeInfo =>
  Object.freeze({ grpc, exit: 1, registryCouldNotTell: false, outage: false, ...more });

// The one table of what each code means to every place that handles errors.
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = Object.freeze({
  CONFIG_SYNTAX: info('INVALID_ARGUMENT', { exit: 2 }),
  CONFIG_INVALID: info('INVALID_ARGUMENT', { exit: 2 }),
  NOT_CONFIGURED: info('FAILED_PRECONDITION'),
  CONFIG_CHANGED: info('ABORTED'),
  PID_INVALID: info('INVALID_ARGUMENT'),
  PID_GONE: info('NOT_FOUND'),
  PROC_UNREADABLE: info('INTERNAL'),
  CONTAINER_AMBIGUOUS: info('FAILED_PRECONDITION'),
  PID_REUSED: info('ABORTED'),
  RUNTIME_UNAVAILABLE: info('UNAVAILABLE'),
  RUNTIME_REFUSED: info('FAILED_PRECONDITION'),
  CONTAINER_NOT_FOUND: info('NOT_FOUND'),
  IMAGE_NOT_FOUND: info('NOT_FOUND'),
  REFERENCE_INVALID: info('FAILED_PRECONDITION'),
  REGISTRY_UNAVAILABLE: info('UNAVAILABLE', { registryCouldNotTell: true, outage: true }),
  REGISTRY_AUTH: info('PERMISSION_DENIED', { registryCouldNotTell: true, outage: true }),
  REGISTRY_RESPONSE: info('UNAVAILABLE', { registryCouldNotTell: true }),
  // Bytes that do not hash to the digest asked for were damaged on the way
  // (or by the registry): nothing anyone can push, so like an outage it keeps
  // the last verdict and is retried, instead of caching "unreadable".
  DIGEST_MISMATCH: info('FAILED_PRECONDITION', { registryCouldNotTell: true, outage: true }),
  TOO_LARGE: info('RESOURCE_EXHAUSTED', { registryCouldNotTell: true }),
  NOT_BOUND: info('PERMISSION_DENIED'),
  DEADLINE_EXCEEDED: info('DEADLINE_EXCEEDED'),
  CANCELLED: info('CANCELLED', { outage: true }),
  INTERNAL: info('INTERNAL'),
});

// What the table says of an error: undefined for anything not ours.
export function codeInfo(err: unknown): ErrorCodeInfo | undefined {
  return isAttestorError(err) ? ERROR_CODES[err.code] : undefined;
}

// The message of anything thrown, for wrapping and reporting it.
export function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
