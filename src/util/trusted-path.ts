// Is a path safe for a root process to read code or trust material from?
//
// The plugin runs as root and decides who gets an identity, so whoever can
// change a file it reads (a key, a trusted root, a TUF cache, a credential
// helper, a runtime socket, its own compile cache) can change its answers.
// A path is trusted when nobody but root (or the plugin's own uid) can
// change what it resolves to:
//  - every component, from / to the entry, symlinks included, is owned by
//    root or by us;
//  - every directory on the way is not writable by group or others, unless
//    it is sticky (like /tmp: others cannot rename or remove entries they do
//    not own, and the next component is checked to be ours);
//  - symlinks are followed (at most MAX_LINKS) and their targets checked
//    the same way;
//  - the entry itself has the expected type and, for files and directories,
//    is not writable by group or others (a socket's mode only says who may
//    connect).
// Synchronous: a handful of lstat calls, at configure time or on a cache miss.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { messageOf } from '../errors.js';

import type { Stats } from 'node:fs';

export type TrustedKind = 'file' | 'directory' | 'socket' | 'executable';

export interface TrustedPathOptions {
  readonly kind: TrustedKind;
  // A uid besides root whose entries are trusted (default: our own).
  readonly trustedUid?: number;
  // The entry must be owned by trustedUid itself and have no group/other
  // permission at all (a private cache the plugin writes).
  readonly private?: boolean;
}

// Why a path is not trusted: it (or a component) is missing, cannot be
// inspected, is of the wrong type, or someone else can change it.
export type PathProblem = 'missing' | 'unreadable' | 'wrong-kind' | 'untrusted';

export type TrustedPathResult =
  { readonly ok: true; readonly realPath: string } | { readonly ok: false; readonly problem: PathProblem; readonly reason: string };

const MAX_LINKS = 40;
const GROUP_OR_OTHER_WRITE = 0o022;
const GROUP_OR_OTHER_ANY = 0o077;
const STICKY = 0o1000;
const ANY_EXECUTE = 0o111;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

type Failure = Extract<TrustedPathResult, { ok: false }>;

function failure(problem: PathProblem, reason: string): Failure {
  return { ok: false, problem, reason };
}

function lstatOrFailure(path: string): Stats | Failure {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? failure('missing', `${path} does not exist`)
      : failure('unreadable', `cannot inspect ${path}: ${messageOf(err)}`);
  }
}

function typeOk(info: Stats, kind: TrustedKind): boolean {
  switch (kind) {
    case 'directory':
      return info.isDirectory();
    case 'socket':
      return info.isSocket();
    case 'file':
      return info.isFile();
    case 'executable':
      return info.isFile() && (info.mode & ANY_EXECUTE) !== 0;
  }
}

function kindName(kind: TrustedKind): string {
  return kind === 'executable' ? 'an executable file' : kind === 'directory' ? 'a directory' : `a ${kind}`;
}

export function checkTrustedPath(path: string, options: TrustedPathOptions): TrustedPathResult {
  const uid = options.trustedUid ?? process.getuid?.() ?? 0;
  const fail = (reason: string): Failure => failure('untrusted', reason);
  const ownerOk = (info: Stats): boolean => info.uid === 0 || info.uid === uid;

  const root = lstatOrFailure('/');
  if ('ok' in root) return root;
  if (!ownerOk(root) || ((root.mode & GROUP_OR_OTHER_WRITE) !== 0 && (root.mode & STICKY) === 0)) {
    return fail(`/ can be modified by others (owner uid ${root.uid}, mode ${octal(root.mode)})`);
  }

  // Not path.resolve: it would fold `..` lexically, before symlinks.
  const absolute = isAbsolute(path) ? path : `${process.cwd()}/${path}`;
  const pending = absolute.split('/').filter((part) => part !== '' && part !== '.');
  let current = '/';
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '..') {
      // `current` is already a resolved, checked directory: its parent was
      // checked on the way down.
      current = resolve(current, '..');
      continue;
    }
    const next = join(current, name);
    const info = lstatOrFailure(next);
    if ('ok' in info) return info;
    if (!ownerOk(info)) return fail(`${next} is owned by uid ${info.uid}, not by root${uid === 0 ? '' : ` or uid ${uid}`}`);
    if (info.isSymbolicLink()) {
      if (++links > MAX_LINKS) return failure('unreadable', `${path}: too many symbolic links`);
      const target = readlinkSync(next);
      pending.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'));
      if (isAbsolute(target)) current = '/';
      continue;
    }
    if (pending.length > 0) {
      if (!info.isDirectory()) return failure('missing', `${next} is not a directory`);
      if ((info.mode & GROUP_OR_OTHER_WRITE) !== 0 && (info.mode & STICKY) === 0) {
        return fail(`directory ${next} can be modified by others (owner uid ${info.uid}, mode ${octal(info.mode)})`);
      }
    }
    current = next;
  }
  // `current` is what the path names (after a trailing `..` too, or `/`).
  const entry = lstatOrFailure(current);
  if ('ok' in entry) return entry;
  if (!typeOk(entry, options.kind)) return failure('wrong-kind', `${current} is not ${kindName(options.kind)}`);
  if (!ownerOk(entry)) return fail(`${current} is owned by uid ${entry.uid}, not by root${uid === 0 ? '' : ` or uid ${uid}`}`);
  if (options.private === true) {
    if (entry.uid !== uid) return fail(`${current} is owned by uid ${entry.uid}, not by uid ${uid}`);
    if ((entry.mode & GROUP_OR_OTHER_ANY) !== 0) return fail(`${current} is accessible to others (mode ${octal(entry.mode)})`);
  } else if (options.kind !== 'socket' && (entry.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    return fail(`${current} can be modified by others (owner uid ${entry.uid}, mode ${octal(entry.mode)})`);
  }
  return { ok: true, realPath: current };
}

export type TrustedRead = { readonly ok: true; readonly bytes: Buffer } | Failure;

// Reads a file whose path is trusted, so that what is read is what was
// checked: the path is checked, the resolved file opened without following
// a link, the path checked again, and the opened file must be the one the
// path names now (same device and inode). A file that appears, vanishes or
// is replaced meanwhile is refused. At most `maxBytes`.
export function readTrustedFile(path: string, maxBytes: number): TrustedRead {
  const before = checkTrustedPath(path, { kind: 'file' });
  if (!before.ok) return before;
  let fd: number;
  try {
    fd = openSync(before.realPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return failure('unreadable', `cannot open ${before.realPath}: ${messageOf(err)}`);
  }
  try {
    const opened = fstatSync(fd);
    const after = checkTrustedPath(path, { kind: 'file' });
    if (!after.ok) return failure('untrusted', `${path} changed while being read: ${after.reason}`);
    const now = lstatSync(after.realPath);
    if (now.dev !== opened.dev || now.ino !== opened.ino) return failure('untrusted', `${path} changed while being read`);
    if (opened.size > maxBytes) return failure('untrusted', `${path} is larger than ${maxBytes} bytes`);
    const bytes = Buffer.alloc(opened.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { ok: true, bytes: bytes.subarray(0, read) };
  } catch (err) {
    return failure('unreadable', `cannot read ${path}: ${messageOf(err)}`);
  } finally {
    closeSync(fd);
  }
}

// How a failed read reads in a message: "cannot read" when the file is not
// there or cannot be read, "refused" when someone else could change it.
export function readFailure(result: Failure): string {
  return result.problem === 'missing' || result.problem === 'unreadable' ? `cannot read: ${result.reason}` : `refused: ${result.reason}`;
}

export type ExecutableLookup = { readonly found: string } | { readonly missing: true } | { readonly untrusted: string };

// `command` looked up in PATH as a shell would (the first directory that
// has it), and checked: run only what root or we control. Empty and relative
// PATH entries (the working directory) are never searched.
export function findTrustedExecutable(command: string, searchPath: string | undefined): ExecutableLookup {
  for (const dir of (searchPath ?? '').split(':')) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    let isExecutable = false;
    try {
      const info = statSync(candidate);
      isExecutable = info.isFile() && (info.mode & ANY_EXECUTE) !== 0;
    } catch {
      continue;
    }
    if (!isExecutable) continue;
    const check = checkTrustedPath(candidate, { kind: 'executable' });
    return check.ok ? { found: candidate } : { untrusted: check.reason };
  }
  return { missing: true };
}
