// Refresh of a Sigstore trusted root through TUF (@sigstore/tuf), with its
// on-disk cache. The public-good root is refreshed by default (unless
// offline); never required for it: the plugin starts with the root it
// already has (the last refreshed one from the cache, else the embedded
// public-good root) and a failed refresh only logs; a successful one
// replaces the root for later verifications.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { Metadata, MetadataKind } from '@tufjs/models';

import { checkTrustedPath, readTrustedFile } from '../util/trusted-path.js';
import { SignatureError, messageOf } from './errors.js';

import type { Root, Snapshot, Targets, Timestamp } from '@tufjs/models';

type JSONObject = Parameters<typeof Metadata.fromJSON>[1];
type KindType = { root: Root; timestamp: Timestamp; snapshot: Snapshot; targets: Targets };
type TopLevelKind = MetadataKind.Root | MetadataKind.Timestamp | MetadataKind.Snapshot | MetadataKind.Targets;

const TRUSTED_ROOT_TARGET = 'trusted_root.json';

export const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';
// Where a node agent (running as root) keeps TUF metadata unless told
// otherwise: state that outlives restarts, like SPIRE's own data_dir. One
// directory serves every mirror (a folder per mirror below it).
export const DEFAULT_TUF_CACHE_DIR = '/var/lib/spire-sigstore-attestor/tuf';
export const DEFAULT_TUF_REFRESH_S = 24 * 3600;
// One TUF refresh (metadata and target) may take this long.
export const TUF_TIMEOUT_MS = 30_000;
const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_TARGET_BYTES = 1024 * 1024;

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

// Where @sigstore/tuf keeps one mirror's metadata and targets: a folder per
// mirror (host and path, URI-encoded) below the cache directory.
function repoCacheDir(settings: TufSettings): string {
  const url = new URL(settings.mirrorUrl);
  return join(settings.cacheDir, encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
}

export function cachedTrustedRootPath(settings: TufSettings): string {
  return join(repoCacheDir(settings), 'targets', TRUSTED_ROOT_TARGET);
}

// The cache directory holds what TUF verified and what the plugin trusts on
// the next start, so only root (or we) may change it: created 0700 when
// missing, refused when anyone else could write to it. The same for the
// TUF root_file. Throws TRUST_ROOT_INVALID naming the path.
export function prepareTufCache(settings: TufSettings): void {
  try {
    mkdirSync(settings.cacheDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new SignatureError('TRUST_ROOT_INVALID', `tuf cache_dir ${settings.cacheDir}: cannot create: ${messageOf(err)}`, { cause: err });
  }
  const dir = checkTrustedPath(settings.cacheDir, { kind: 'directory' });
  if (!dir.ok) throw new SignatureError('TRUST_ROOT_INVALID', `refusing tuf cache_dir ${settings.cacheDir}: ${dir.reason}`);
  if (settings.rootFile !== undefined) {
    const root = checkTrustedPath(settings.rootFile, { kind: 'file' });
    if (!root.ok) throw new SignatureError('TRUST_ROOT_INVALID', `refusing tuf root_file ${settings.rootFile}: ${root.reason}`);
  }
}

export type CachedTrustedRoot =
  | { readonly kind: 'absent' }
  | { readonly kind: 'verified'; readonly root: unknown; readonly path: string; readonly expired: readonly string[] }
  | { readonly kind: 'invalid'; readonly error: string };

function readCapped(path: string, cap: number): Buffer {
  const read = readTrustedFile(path, cap);
  if (!read.ok) throw new Error(read.reason);
  return read.bytes;
}

function metadata<K extends TopLevelKind>(kind: K, bytes: Buffer, path: string): Metadata<KindType[K]> {
  try {
    return Metadata.fromJSON(kind as never, JSON.parse(bytes.toString('utf8')) as JSONObject) as Metadata<KindType[K]>;
  } catch (err) {
    throw new Error(`${path}: not ${kind} metadata: ${messageOf(err)}`);
  }
}

// The trusted root an earlier refresh left in the cache, checked offline the
// way a TUF client checks its cache before using it: the cached root.json
// (trusted: the client verified it when it stored it) signs timestamp,
// snapshot and targets to its thresholds, each file matches the length,
// hashes and version its parent records, and trusted_root.json matches its
// targets entry. Expired metadata is reported but accepted: the refresh that
// would replace it could not be made, and the alternative, the embedded
// root, is older still.
export async function readCachedTrustedRoot(settings: TufSettings, now: Date = new Date()): Promise<CachedTrustedRoot> {
  const dir = repoCacheDir(settings);
  const file = (name: string): string => join(dir, name);
  const targetPath = cachedTrustedRootPath(settings);
  if (!existsSync(targetPath)) return { kind: 'absent' };
  try {
    const root = metadata(MetadataKind.Root, readCapped(file('root.json'), MAX_METADATA_BYTES), file('root.json'));
    root.verifyDelegate(MetadataKind.Root, root);
    const timestamp = metadata(MetadataKind.Timestamp, readCapped(file('timestamp.json'), MAX_METADATA_BYTES), file('timestamp.json'));
    root.verifyDelegate(MetadataKind.Timestamp, timestamp);
    const snapshotBytes = readCapped(file('snapshot.json'), MAX_METADATA_BYTES);
    timestamp.signed.snapshotMeta.verify(snapshotBytes);
    const snapshot = metadata(MetadataKind.Snapshot, snapshotBytes, file('snapshot.json'));
    root.verifyDelegate(MetadataKind.Snapshot, snapshot);
    if (snapshot.signed.version !== timestamp.signed.snapshotMeta.version) throw new Error('snapshot.json is not the version timestamp.json names');
    const targetsMeta = snapshot.signed.meta['targets.json'];
    if (targetsMeta === undefined) throw new Error('snapshot.json lists no targets.json');
    const targetsBytes = readCapped(file('targets.json'), MAX_METADATA_BYTES);
    targetsMeta.verify(targetsBytes);
    const targets = metadata(MetadataKind.Targets, targetsBytes, file('targets.json'));
    root.verifyDelegate(MetadataKind.Targets, targets);
    if (targets.signed.version !== targetsMeta.version) throw new Error('targets.json is not the version snapshot.json names');
    const target = targets.signed.targets[TRUSTED_ROOT_TARGET];
    if (target === undefined) throw new Error(`targets.json lists no ${TRUSTED_ROOT_TARGET}`);
    const bytes = readCapped(targetPath, MAX_TARGET_BYTES);
    await target.verify(Readable.from([bytes]));
    const expired = [root, timestamp, snapshot, targets].filter((m) => m.signed.isExpired(now)).map((m) => `${m.signed.type}.json`);
    return { kind: 'verified', root: JSON.parse(bytes.toString('utf8')) as unknown, path: targetPath, expired };
  } catch (err) {
    return { kind: 'invalid', error: `cached TUF trusted root ${targetPath}: ${messageOf(err)}` };
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
