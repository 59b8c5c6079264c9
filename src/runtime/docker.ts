// Docker Engine API (Docker, and rootful Podman's compatible API) through
// dockerode. Only two calls: container inspect, then image inspect by ID.

import Docker from 'dockerode';

import { AttestorError } from '../errors.js';
import { raceAbort } from '../util/abort.js';
import { socketPathOf } from './socket.js';

import type { ContainerFacts, ContainerKey, ImageFacts, Inspected, RuntimeClient } from './types.js';

// A local API answers in milliseconds; a hung daemon must not eat the
// attestation deadline on its own.
const REQUEST_TIMEOUT_MS = 5_000;

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

export class DockerApiClient implements RuntimeClient {
  readonly kind: 'docker' | 'podman';
  readonly endpoint: string;
  readonly #docker: Docker;

  constructor(kind: 'docker' | 'podman', endpoint: string) {
    this.kind = kind;
    this.endpoint = endpoint;
    this.#docker = new Docker({ socketPath: socketPathOf(endpoint), timeout: REQUEST_TIMEOUT_MS });
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
    let info: unknown;
    try {
      info = await this.#docker.getContainer(id).inspect({ abortSignal: signal });
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
    let info: unknown;
    try {
      // dockerode does not pass a signal through for image inspect.
      info = await raceAbort(this.#docker.getImage(id).inspect(), signal);
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
