// Settings of the registry client (built from plugin_data by the config
// layer). Secrets are never inline: only paths to files holding them.

import type { Logger } from '../log.js';
import type { RequestObserver } from './http.js';

export interface RegistrySettings {
  // Plain http (and credentials over it, logged as a warning). Otherwise https.
  readonly insecure?: boolean;
  // PEM CA bundle trusted for this registry, in addition to the system roots.
  readonly caFile?: string;
  // Basic credentials: user name here, password in a file.
  readonly username?: string;
  readonly passwordFile?: string;
  // A registry bearer token in a file, sent as `Authorization: Bearer …`.
  readonly tokenFile?: string;
}

export interface RegistryClientOptions {
  // Key: registry host[:port] exactly as in references ("docker.io" for Hub).
  readonly registries?: Readonly<Record<string, RegistrySettings>>;
  // Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a
  // missing file means no credentials from it.
  readonly dockerConfigPath?: string;
  // Per request attempt (headers and body), default 10 000.
  readonly timeoutMs?: number;
  // Cap on manifests, indexes and referrers responses, default 4 MiB.
  readonly maxManifestBytes?: number;
  // Retries for network errors, 429 and 5xx, default 2.
  readonly retries?: number;
  // First retry backoff in ms (doubled per retry), default 100.
  readonly retryBackoffMs?: number;
  // Bound on one credential helper run, default 5 000.
  readonly credentialHelperTimeoutMs?: number;
  // Where to warn about credentials sent over plain http (insecure registries).
  readonly logger?: Logger;
  // How long a repository's 404 from the referrers API means "no API here,
  // ask only the tag fallback", default 300 000.
  readonly noReferrersApiTtlMs?: number;
  // Told every request attempt: kind, method, status (or why none).
  readonly onRequest?: RequestObserver;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_HELPER_TIMEOUT_MS = 5_000;
export const DEFAULT_NO_REFERRERS_API_TTL_MS = 5 * 60_000;
