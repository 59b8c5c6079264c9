// Docker Engine API (Docker, and rootful Podman's compatible API) through
// dockerode. Only two calls: container inspect, then image inspect by ID.

import { AttestorError } from '../errors.js';
import { raceAbort } from '../util/abort.js';
import { skipUnusedDockerodeModules } from './dockerode-unused.js';
import { socketPathOf } from './socket.js';

import type Docker from 'dockerode';
import type { ContainerFacts, ContainerKey, ImageFacts, Inspected, RuntimeClient } from './types.js';

// A local API answers in milliseconds; a hung daemon must not eat the
// attestation deadline on its own.
const REQUEST_TIMEOUT_MS = 5_000;
// One event of the start watch: a few hundred bytes (the container's labels
// are in it); a longer line ends the watch.
export const MAX_EVENT_BYTES = 64 * 1024;
const CONTAINER_ID = /^[0-9a-f]{64}$/;
// A watch that starts again asks for the starts it missed, at most this far
// back (the runtime replays them from its own event log).
const REPLAY_MS = 5 * 60_000;

interface HttpishError {
  statusCode?: number;
  code?: string;
  message?: string;
}

function asHttpishError(err: unknown): HttpishError {
  return typeof err === 'object' && err !== null ? err : {};
}

function isAbort(err: unknown): boolean {
  const e = asHttpishError(err);
  return e.code === 'ABORT_ERR' || (err instanceof Error && err.name === 'AbortError');
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') out[key] = item;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

// Splits a byte stream into lines of at most `cap` bytes (longer: an error).
export class EventLines {
  readonly #cap: number;
  #partial: Buffer[] = [];
  #partialBytes = 0;

  constructor(cap: number) {
    this.#cap = cap;
  }

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      this.#take(chunk.subarray(from, nl));
      lines.push(Buffer.concat(this.#partial).toString('utf8'));
      this.#partial = [];
      this.#partialBytes = 0;
      from = nl + 1;
    }
    this.#take(chunk.subarray(from));
    return lines;
  }

  #take(part: Buffer): void {
    if (part.length === 0) return;
    this.#partialBytes += part.length;
    if (this.#partialBytes > this.#cap) {
      throw new AttestorError('RUNTIME_UNAVAILABLE', `runtime event over ${this.#cap} bytes`);
    }
    this.#partial.push(part);
  }
}

// The container ID of a "container start" event line; undefined for
// anything else (another event, malformed JSON, an ID of the wrong form).
export function startedContainer(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(event) || event['Type'] !== 'container' || event['Action'] !== 'start') return undefined;
  const actor = event['Actor'];
  const id = isRecord(actor) ? actor['ID'] : undefined;
  return typeof id === 'string' && CONTAINER_ID.test(id) ? id : undefined;
}

async function dockerClient(options: Docker.DockerOptions): Promise<Docker> {
  skipUnusedDockerodeModules();
  const { default: Dockerode } = await import('dockerode');
  return new Dockerode(options);
}

export class DockerApiClient implements RuntimeClient {
  readonly kind: 'docker' | 'podman';
  readonly endpoint: string;
  // dockerode (and docker-modem) is loaded by the first call, not at start.
  #docker: Promise<Docker> | undefined;
  // The start watch is one long response: no idle timeout (it ends on abort).
  #watcher: Promise<Docker> | undefined;
  // Until when starts were reported (ms): where the next watch picks up.
  #watchedUntil: number | undefined;

  constructor(kind: 'docker' | 'podman', endpoint: string) {
    this.kind = kind;
    this.endpoint = endpoint;
  }

  #client(): Promise<Docker> {
    this.#docker ??= dockerClient({ socketPath: socketPathOf(this.endpoint), timeout: REQUEST_TIMEOUT_MS });
    return this.#docker;
  }

  // GET /events filtered to container starts: one JSON object per line.
  async watchStarts(onStart: (key: ContainerKey) => void, signal: AbortSignal): Promise<void> {
    this.#watcher ??= dockerClient({ socketPath: socketPathOf(this.endpoint) });
    const watcher = await this.#watcher;
    // From when the watch was asked for (or the last one ended), so that a
    // container started while connecting is not missed; the clock is in
    // seconds, hence one second earlier.
    const now = Date.now();
    const since = Math.floor(Math.max(this.#watchedUntil ?? now, now - REPLAY_MS) / 1000) - 1;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await watcher.getEvents({ since, filters: { type: ['container'], event: ['start'] }, abortSignal: signal });
    } catch (err) {
      if (signal.aborted) return;
      throw this.#fail('watch container starts', err);
    }
    const lines = new EventLines(MAX_EVENT_BYTES);
    try {
      for await (const chunk of stream) {
        for (const line of lines.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
          const id = startedContainer(line);
          if (id !== undefined) onStart({ id });
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err instanceof AttestorError ? err : this.#fail('watch container starts', err);
    } finally {
      this.#watchedUntil = Date.now();
    }
  }

  #fail(what: string, err: unknown): AttestorError {
    if (isAbort(err)) return new AttestorError('CANCELLED', `${what}: aborted`, { cause: err });
    const e = asHttpishError(err);
    const detail = e.message ?? String(err);
    return new AttestorError('RUNTIME_UNAVAILABLE', `${what} via ${this.kind} API at ${this.endpoint}: ${detail}`, { cause: err });
  }

  async inspect(key: ContainerKey, signal: AbortSignal): Promise<Inspected | undefined> {
    const container = await this.#inspectContainer(key.id, signal);
    if (!container) return undefined;
    if (!container.imageId.startsWith('sha256:')) {
      throw new AttestorError('IMAGE_NOT_FOUND', `container ${key.id} reports no image ID ("${container.imageId}")`);
    }
    // By ID, never by name: a local re-tag after the container started must
    // not change what we report about the image it runs.
    return { container, image: await this.#inspectImage(container.imageId, signal) };
  }

  // The runtime's answer is not trusted to have the shape dockerode's types
  // claim (a non-JSON body comes back as a Buffer): read field by field.
  #malformed(what: string): AttestorError {
    return new AttestorError('RUNTIME_UNAVAILABLE', `${what} via ${this.kind} API at ${this.endpoint}: malformed answer`);
  }

  async #inspectContainer(id: string, signal: AbortSignal): Promise<ContainerFacts | undefined> {
    const docker = await this.#client();
    let info: unknown;
    try {
      info = await docker.getContainer(id).inspect({ abortSignal: signal });
    } catch (err) {
      if (asHttpishError(err).statusCode === 404) return undefined;
      throw this.#fail(`inspect container ${id}`, err);
    }
    if (!isRecord(info) || typeof info['Id'] !== 'string' || typeof info['Image'] !== 'string') throw this.#malformed(`inspect container ${id}`);
    const config = isRecord(info['Config']) ? info['Config'] : {};
    const state = isRecord(info['State']) ? info['State'] : {};
    const pid = state['Pid'];
    return {
      id: info['Id'],
      imageId: info['Image'],
      imageRef: typeof config['Image'] === 'string' ? config['Image'] : '',
      labels: stringRecord(config['Labels']),
      env: stringArray(config['Env']),
      running: state['Running'] === true,
      initPid: typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : 0,
    };
  }

  async #inspectImage(id: string, signal: AbortSignal): Promise<ImageFacts | undefined> {
    const docker = await this.#client();
    let info: unknown;
    try {
      // dockerode does not pass a signal through for image inspect.
      info = await raceAbort(docker.getImage(id).inspect(), signal);
    } catch (err) {
      if (asHttpishError(err).statusCode === 404) return undefined;
      throw this.#fail(`inspect image ${id}`, err);
    }
    if (!isRecord(info) || typeof info['Id'] !== 'string' || typeof info['Os'] !== 'string' || typeof info['Architecture'] !== 'string') {
      throw this.#malformed(`inspect image ${id}`);
    }
    const variant = info['Variant'];
    return {
      id: info['Id'],
      repoDigests: stringArray(info['RepoDigests']),
      repoTags: stringArray(info['RepoTags']),
      os: info['Os'],
      architecture: info['Architecture'],
      ...(typeof variant === 'string' && variant !== '' ? { variant } : {}),
    };
  }
}
