// Optional refresh of the Sigstore trusted root through TUF (@sigstore/tuf),
// with its on-disk cache. Never required: the plugin starts with the root it
// already has (the last refreshed one from the cache, else the embedded
// public-good root) and a failed refresh only logs; a successful one replaces
// the root for later verifications.

import { access } from 'node:fs/promises';
import { join } from 'node:path';

import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';

import { messageOf } from './errors.js';

export interface TufSettings {
  // The TUF repository, e.g. https://tuf-repo-cdn.sigstore.dev.
  readonly mirrorUrl: string;
  readonly cacheDir: string;
  // The TUF root.json to start from; the public-good mirror needs none
  // (@sigstore/tuf ships its root).
  readonly rootFile: string | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

// Where @sigstore/tuf keeps the last verified target: one folder per
// mirror (host and path, URI-encoded) below the cache directory.
export function cachedTrustedRootPath(settings: TufSettings): string {
  const url = new URL(settings.mirrorUrl);
  const repo = encodeURIComponent(url.host + url.pathname.replace(/\/$/, ''));
  return join(settings.cacheDir, repo, 'targets', 'trusted_root.json');
}

// Whether an earlier refresh left a trusted root in the cache (loadTrust
// then reads and checks it).
export async function hasCachedTrustedRoot(settings: TufSettings): Promise<boolean> {
  try {
    await access(cachedTrustedRootPath(settings));
    return true;
  } catch {
    return false;
  }
}

// One refresh: TUF metadata update and the trusted_root.json target, all
// signature-checked by the TUF client. Returns the root, or the reason.
export async function fetchTrustedRoot(settings: TufSettings): Promise<{ root: unknown } | { error: string }> {
  try {
    const root = await getTrustedRoot({
      mirrorURL: settings.mirrorUrl,
      cachePath: settings.cacheDir,
      ...(settings.rootFile !== undefined ? { rootPath: settings.rootFile } : {}),
      forceCache: false,
      retry: false,
      timeout: settings.timeoutMs,
    });
    // Back to proto3 JSON, the form trusted_root.json files have.
    return { root: TrustedRoot.toJSON(root) };
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
    return { error: `${messageOf(err)}${cause}` };
  }
}
