// A small, read-only OCI distribution client on undici's fetch.
//
// Why our own and not a library: there is no maintained npm client that
// gives us all of: a hard size cap on every response, a digest check over
// every byte we accept (manifests by digest or Docker-Content-Digest, blobs
// always), a per-call AbortSignal that reaches every request and helper
// process, and our own credential sources (plugin config files, the Docker
// config file and credential helpers) with no ambient state. The API
// surface we need is four calls, so the client stays small.
//
//   resolve      HEAD manifest -> Docker-Content-Digest (GET + hash without it)
//   getManifest  GET manifest, capped, hashed, strictly parsed
//   referrers    OCI 1.1 referrers API, else the `sha256-<hex>` tag index
//   getBlob      GET blob, capped, hashed; redirects to blob storage followed
//                without credentials once the host changes

import { AttestorError } from '../errors.js';
import { readFailure, readTrustedFile } from '../util/trusted-path.js';
import { silentLogger } from '../log.js';
import { RegistryAuth, pingRegistry } from './auth.js';
import { CredentialStore } from './credentials.js';
import { computeDigest, digestAlgorithm } from '../util/digest.js';
import { createDispatcher, httpRequest } from './http.js';
import { ALL_MANIFEST_MEDIA_TYPES, parseManifest } from './manifest.js';
import { DEFAULT_MAX_MANIFEST_BYTES, DEFAULT_NO_REFERRERS_API_TTL_MS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './options.js';
import { formatReference, manifestReferenceOf, registryHost } from './reference.js';
import { checkDigest, checkReference, contentDigest, errorDetail, unexpected } from './responses.js';
import { MEDIA_TYPE } from './types.js';
import { apiIndexEntries, MissingReferrersApi, referrersTag, tagIndexEntries } from './referrers.js';

import type { Agent } from 'undici';

import type { Logger } from '../log.js';
import type { AuthHeader, PingResult } from './auth.js';
import type { Credential } from './credentials.js';
import type { HttpMethod, HttpOptions, HttpResponse, HttpStats, RequestKind } from './http.js';
import type { RegistryClientOptions, RegistrySettings } from './options.js';
import type { Descriptor, Digest, FetchedManifest, ImageReference, RegistryApi } from './types.js';

export interface RegistryClient extends RegistryApi {
  // HTTP requests made so far (every attempt, hop and token fetch).
  stats(): { requests: number };
  // GET /v2/ on a registry (host[:port] as in references).
  ping(registry: string, signal: AbortSignal): Promise<PingResult>;
  // Closes kept-alive connections; the client is unusable afterwards.
  close(): Promise<void>;
}

interface Endpoint {
  readonly registry: string;
  readonly baseUrl: URL;
  readonly insecure: boolean;
  readonly dispatcher: Agent;
  readonly auth: RegistryAuth;
  warnedPlainHttp: boolean;
}

interface Exchange {
  readonly method: HttpMethod;
  readonly path: string;
  readonly kind: RequestKind;
  readonly accept?: string;
  readonly maxBytes: number;
  readonly maxRedirects?: number;
  readonly what: string;
}

const BLOB_REDIRECTS = 5;
const MANIFEST_REDIRECTS = 3;

const MAX_CA_FILE_BYTES = 1024 * 1024;

class Client implements RegistryClient {
  readonly #settings: Readonly<Record<string, RegistrySettings>>;
  readonly #http: HttpOptions;
  readonly #stats: HttpStats = { requests: 0 };
  readonly #maxManifestBytes: number;
  readonly #noReferrersApi: MissingReferrersApi;
  readonly #credentials: CredentialStore;
  readonly #logger: Logger;
  readonly #endpoints = new Map<string, Promise<Endpoint>>();
  readonly #resolvedCredentials = new Map<string, Promise<Credential | undefined>>();
  #closed = false;

  constructor(options: RegistryClientOptions) {
    this.#settings = options.registries ?? {};
    this.#http = {
      stats: this.#stats,
      ...(options.onRequest ? { observe: options.onRequest } : {}),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retries: options.retries ?? DEFAULT_RETRIES,
      ...(options.retryBackoffMs !== undefined ? { backoffMs: options.retryBackoffMs } : {}),
    };
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#noReferrersApi = new MissingReferrersApi(options.noReferrersApiTtlMs ?? DEFAULT_NO_REFERRERS_API_TTL_MS);
    this.#credentials = new CredentialStore({
      registries: this.#settings,
      ...(options.dockerConfigPath !== undefined ? { dockerConfigPath: options.dockerConfigPath } : {}),
      ...(options.credentialHelperTimeoutMs !== undefined ? { helperTimeoutMs: options.credentialHelperTimeoutMs } : {}),
    });
    this.#logger = options.logger ?? silentLogger;
  }

  stats(): { requests: number } {
    return { requests: this.#stats.requests };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const endpoints = await Promise.allSettled(this.#endpoints.values());
    this.#endpoints.clear();
    await Promise.allSettled(endpoints.map((e) => (e.status === 'fulfilled' ? e.value.dispatcher.close() : Promise.resolve())));
  }

  // ------------------------------------------------------------ endpoints --

  #endpoint(registry: string): Promise<Endpoint> {
    if (this.#closed) return Promise.reject(new AttestorError('INTERNAL', 'registry client used after close()'));
    const existing = this.#endpoints.get(registry);
    if (existing !== undefined) return existing;
    const created = this.#createEndpoint(registry);
    this.#endpoints.set(registry, created);
    created.catch(() => this.#endpoints.delete(registry));
    return created;
  }

  async #createEndpoint(registry: string): Promise<Endpoint> {
    const settings = Object.hasOwn(this.#settings, registry) ? this.#settings[registry] : undefined;
    const insecure = settings?.insecure === true;
    let caPem: string | undefined;
    if (settings?.caFile !== undefined) {
      const read = readTrustedFile(settings.caFile, MAX_CA_FILE_BYTES);
      if (!read.ok) throw new AttestorError('CONFIG_INVALID', `ca_file ${settings.caFile} for registry ${registry}: ${readFailure(read)}`);
      caPem = read.bytes.toString('utf8');
    }
    const baseUrl = new URL(`${insecure ? 'http' : 'https'}://${registryHost(registry)}`);
    const dispatcher = await createDispatcher(caPem);
    const auth = new RegistryAuth({
      registry,
      baseUrl,
      insecure,
      dispatcher,
      http: this.#http,
      credentials: (signal) => this.#credentialsFor(registry, signal),
    });
    return { registry, baseUrl, insecure, dispatcher, auth, warnedPlainHttp: false };
  }

  // Credentials are looked up once per registry and kept until an auth
  // failure, so rotated secrets are re-read after the registry refuses.
  #credentialsFor(registry: string, signal: AbortSignal): Promise<Credential | undefined> {
    const cached = this.#resolvedCredentials.get(registry);
    if (cached !== undefined) return cached;
    const lookup = this.#credentials.lookup(registry, signal);
    this.#resolvedCredentials.set(registry, lookup);
    lookup.catch(() => this.#resolvedCredentials.delete(registry));
    return lookup;
  }

  // ------------------------------------------------------------- exchange --

  async #once(ep: Endpoint, ex: Exchange, auth: AuthHeader | undefined, signal: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (ex.accept !== undefined) headers['accept'] = ex.accept;
    if (auth !== undefined) {
      headers['authorization'] = auth.value;
      if (auth.plainHttp && !ep.warnedPlainHttp) {
        ep.warnedPlainHttp = true;
        this.#logger.warn('sending registry credentials over plain http (registry configured insecure)', { registry: ep.registry });
      }
    }
    return httpRequest(
      {
        method: ex.method,
        url: new URL(ex.path, ep.baseUrl),
        headers,
        maxBytes: ex.maxBytes,
        dispatcher: ep.dispatcher,
        maxRedirects: ex.maxRedirects ?? 0,
        what: ex.what,
        kind: ex.kind,
      },
      this.#http,
      signal,
    );
  }

  // A request with auth: up-front header when the registry's scheme is known;
  // on 401 exactly one auth round and one retry. Returns any status but
  // 401/403 (those are REGISTRY_AUTH).
  async #send(ep: Endpoint, repository: string, ex: Exchange, signal: AbortSignal): Promise<HttpResponse> {
    try {
      let auth = await ep.auth.headerFor(repository, signal);
      let res = await this.#once(ep, ex, auth, signal);
      if (res.status === 401 && res.url.origin === ep.baseUrl.origin) {
        auth = await ep.auth.authenticate(res.headers.get('www-authenticate'), repository, signal);
        res = await this.#once(ep, ex, auth, signal);
      }
      if (res.status === 401 || res.status === 403) {
        const how = auth === undefined ? 'anonymously' : 'after authenticating';
        throw new AttestorError('REGISTRY_AUTH', `${ex.what}: ${ep.registry} answered ${res.status} ${how}${errorDetail(res)}`);
      }
      return res;
    } catch (err) {
      if (err instanceof AttestorError && err.code === 'REGISTRY_AUTH') this.#resolvedCredentials.delete(ep.registry);
      throw err;
    }
  }

  // ------------------------------------------------------------------ API --

  async ping(registry: string, signal: AbortSignal): Promise<PingResult> {
    const ep = await this.#endpoint(registry);
    return pingRegistry(ep.baseUrl, ep.dispatcher, this.#http, signal);
  }

  // HEAD or GET of a manifest by tag or digest, with its cap and redirects.
  async #manifestRequest(method: 'HEAD' | 'GET', ref: ImageReference, signal: AbortSignal) {
    checkReference(ref);
    const ep = await this.#endpoint(ref.registry);
    const what = `manifest ${formatReference(ref)}`;
    const res = await this.#send(
      ep,
      ref.repository,
      {
        method,
        path: `/v2/${ref.repository}/manifests/${manifestReferenceOf(ref)}`,
        kind: 'manifest',
        accept: ALL_MANIFEST_MEDIA_TYPES.join(', '),
        maxBytes: this.#maxManifestBytes,
        maxRedirects: MANIFEST_REDIRECTS,
        what,
      },
      signal,
    );
    return { res, what };
  }

  async resolve(ref: ImageReference, signal: AbortSignal): Promise<Digest | undefined> {
    const { res, what } = await this.#manifestRequest('HEAD', ref, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw unexpected(res, what);
    const header = contentDigest(res, what);
    if (header !== undefined && (ref.digest === undefined || digestAlgorithm(header) === digestAlgorithm(ref.digest))) {
      if (ref.digest !== undefined && header !== ref.digest) {
        throw new AttestorError('DIGEST_MISMATCH', `${what}: registry reports ${header} for ${ref.digest}`);
      }
      return header;
    }
    // No usable header: fetch and hash.
    return (await this.getManifest(ref, signal))?.digest;
  }

  async getManifest(ref: ImageReference, signal: AbortSignal): Promise<FetchedManifest | undefined> {
    const { res, what } = await this.#manifestRequest('GET', ref, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw unexpected(res, what);
    const announced = contentDigest(res, what);
    // By digest the bytes must hash to it; by tag, to the announced digest.
    const expected = ref.digest ?? announced;
    const digest = computeDigest(res.body, expected !== undefined ? digestAlgorithm(expected) : 'sha256');
    if (expected !== undefined && digest !== expected) {
      const against = ref.digest !== undefined ? 'the requested digest' : 'Docker-Content-Digest';
      throw new AttestorError('DIGEST_MISMATCH', `${what}: bytes hash to ${digest}, not ${against} ${expected}`);
    }
    const manifest = parseManifest(res.body, res.headers.get('content-type'), what);
    return { digest, mediaType: manifest.mediaType, bytes: res.body, manifest };
  }

  async referrers(ref: ImageReference, digest: Digest, artifactType: string | undefined, signal: AbortSignal): Promise<Descriptor[]> {
    checkReference(ref);
    checkDigest(digest, 'referrers subject');
    const ep = await this.#endpoint(ref.registry);
    const subject: ImageReference = { registry: ref.registry, repository: ref.repository, digest, original: ref.original };
    const what = `referrers of ${formatReference(subject)}`;
    const query = artifactType !== undefined ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    // The referrers tag schema (an index under sha256-<hex>) is the fallback
    // when a registry has no referrers API. Ask for both at once, so a
    // registry without the API costs no extra round trip; once it answered
    // 404, ask only for the tag.
    const tag = referrersTag(digest);
    const fallback = (): Promise<FetchedManifest | undefined> =>
      this.getManifest({ registry: ref.registry, repository: ref.repository, tag, original: ref.original }, signal);
    let listed: readonly Descriptor[];
    const repoKey = `${ref.registry}/${ref.repository}`;
    if (this.#noReferrersApi.has(repoKey)) {
      listed = tagIndexEntries(await fallback(), tag, what);
    } else {
      const speculative = fallback();
      // Its outcome matters only if the API is missing.
      speculative.catch(() => undefined);
      const res = await this.#send(
        ep,
        ref.repository,
        {
          method: 'GET',
          path: `/v2/${ref.repository}/referrers/${digest}${query}`,
          kind: 'referrers',
          accept: MEDIA_TYPE.ociIndex,
          maxBytes: this.#maxManifestBytes,
          maxRedirects: MANIFEST_REDIRECTS,
          what,
        },
        signal,
      );
      if (res.status === 404) {
        this.#noReferrersApi.add(repoKey);
        listed = tagIndexEntries(await speculative, tag, what);
      } else {
        listed = apiIndexEntries(res, what);
      }
    }
    // Servers may ignore the filter: apply it here as well.
    return artifactType === undefined ? [...listed] : listed.filter((d) => d.artifactType === artifactType);
  }

  async getBlob(ref: ImageReference, digest: Digest, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    checkReference(ref);
    checkDigest(digest, 'blob');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new AttestorError('INTERNAL', `blob size cap ${maxBytes} is not a non-negative integer`);
    const ep = await this.#endpoint(ref.registry);
    const what = `blob ${ref.registry}/${ref.repository}@${digest}`;
    const res = await this.#send(
      ep,
      ref.repository,
      { method: 'GET', path: `/v2/${ref.repository}/blobs/${digest}`, kind: 'blob', maxBytes, maxRedirects: BLOB_REDIRECTS, what },
      signal,
    );
    if (res.status === 404) throw new AttestorError('REGISTRY_RESPONSE', `${what}: not found (404)${errorDetail(res)}`);
    if (res.status !== 200) throw unexpected(res, what);
    const actual = computeDigest(res.body, digestAlgorithm(digest));
    if (actual !== digest) throw new AttestorError('DIGEST_MISMATCH', `${what}: bytes hash to ${actual}`);
    return res.body;
  }
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  return new Client(options);
}
