// One gRPC channel to containerd's unix socket. Every call names its
// namespace (the `containerd-namespace` metadata), has its own deadline, ends
// when the caller's signal aborts, and maps NOT_FOUND to `undefined`: "no
// such object" is an answer, everything else is an error. A watch (an event
// subscription) is the one call without a deadline: it lasts until the
// caller aborts it or containerd ends it.

import { Client, Metadata, credentials, status } from '@grpc/grpc-js';

import { AttestorError } from '../../errors.js';
import { throwIfAborted } from '../../util/abort.js';
import { socketPathOf } from '../socket.js';

import type { ServiceError } from '@grpc/grpc-js';
import type { Method } from './protos.js';

// A local daemon answers in milliseconds; a hung one must not eat the
// attestation deadline on its own.
const CALL_TIMEOUT_MS = 5_000;
// The largest message we accept: container records with their OCI spec, and
// content read chunks (containerd sends at most 1 MiB per message).
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

export class ContainerdConnection {
  readonly endpoint: string;
  #client: Client | undefined;
  // Stops each watch under way (close() ends them).
  readonly #watches = new Set<() => void>();

  constructor(endpoint: string) {
    socketPathOf(endpoint); // refuses anything but unix:///path
    this.endpoint = endpoint;
  }

  // Dialled on first use: a configuration naming a socket that is not there
  // costs nothing until a containerd container shows up.
  #channel(): Client {
    this.#client ??= new Client(this.endpoint, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': 64 * 1024,
      'grpc.enable_retries': 0,
    });
    return this.#client;
  }

  #metadata(namespace: string): Metadata {
    const metadata = new Metadata();
    metadata.set('containerd-namespace', namespace);
    return metadata;
  }

  #fail(what: string, err: unknown, signal: AbortSignal): AttestorError {
    if (signal.aborted || (isServiceError(err) && err.code === status.CANCELLED)) {
      return new AttestorError('CANCELLED', `${what}: aborted`, { cause: err });
    }
    const detail = isServiceError(err) ? `${status[err.code]}: ${err.details}` : String(err);
    return new AttestorError('RUNTIME_UNAVAILABLE', `${what} via containerd API at ${this.endpoint}: ${detail}`, { cause: err });
  }

  // One answer. (On the wire a unary call is a stream of one message, so it
  // goes the same way as the streams.)
  async unary(method: Method, request: object, namespace: string, signal: AbortSignal, what: string): Promise<unknown> {
    let answer: unknown;
    const found = await this.stream(method, request, namespace, signal, what, (message) => {
      answer = message;
    });
    return found === undefined ? undefined : answer;
  }

  // All messages of a server stream; `accept` sees each one and may throw to
  // end the stream (a size cap). NOT_FOUND resolves to `undefined`.
  stream(method: Method, request: object, namespace: string, signal: AbortSignal, what: string, accept: (message: unknown) => void): Promise<true | undefined> {
    throwIfAborted(signal);
    return new Promise((resolve, reject) => {
      const call = this.#channel().makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata(namespace),
        { deadline: Date.now() + CALL_TIMEOUT_MS },
      );
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = (): void => {
        call.cancel();
        finish(() => reject(this.#fail(what, new Error('aborted'), signal)));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', (message: unknown) => {
        if (settled) return;
        try {
          accept(message);
        } catch (err) {
          call.cancel();
          finish(() => reject(err));
        }
      });
      call.on('error', (err: unknown) => {
        finish(() => (isServiceError(err) && err.code === status.NOT_FOUND ? resolve(undefined) : reject(this.#fail(what, err, signal))));
      });
      call.on('end', () => finish(() => resolve(true)));
    });
  }

  // A server stream without deadline nor namespace: `accept` sees each
  // message of at most `maxMessageBytes` (larger ones are dropped undecoded),
  // until `signal` aborts or close() is called (resolves), or containerd
  // ends the stream (resolves) or fails it (rejects, RUNTIME_UNAVAILABLE).
  // What `accept` throws is ignored: a watch only reports hints.
  watch(method: Method, request: object, signal: AbortSignal, what: string, maxMessageBytes: number, accept: (message: unknown) => void): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const dropped = Symbol('over the size cap');
    const deserialize = (bytes: Buffer): unknown => (bytes.length > maxMessageBytes ? dropped : method.responseDeserialize(bytes));
    return new Promise((resolve, reject) => {
      const call = this.#channel().makeServerStreamRequest(method.path, method.requestSerialize, deserialize, request, new Metadata(), {});
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        this.#watches.delete(onAbort);
        outcome();
      };
      const onAbort = (): void => {
        call.cancel();
        finish(resolve);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#watches.add(onAbort);
      call.on('data', (message: unknown) => {
        if (settled || message === dropped) return;
        try {
          accept(message);
        } catch {
          // a hint lost, the watch goes on
        }
      });
      call.on('error', (err: unknown) => finish(() => (signal.aborted ? resolve() : reject(this.#fail(what, err, signal)))));
      call.on('end', () => finish(resolve));
    });
  }

  close(): void {
    for (const stop of [...this.#watches]) stop();
    this.#client?.close();
    this.#client = undefined;
  }
}
