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

import { lstatSync, readlinkSync, statSync } from 'node:fs';
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
    const last = pending.length === 0;
    if (!last) {
      if (!info.isDirectory()) return failure('missing', `${next} is not a directory`);
      if ((info.mode & GROUP_OR_OTHER_WRITE) !== 0 && (info.mode & STICKY) === 0) {
        return fail(`directory ${next} can be modified by others (owner uid ${info.uid}, mode ${octal(info.mode)})`);
      }
      current = next;
      continue;
    }
    if (!typeOk(info, options.kind)) return failure('wrong-kind', `${next} is not ${kindName(options.kind)}`);
    if (options.private === true) {
      if (info.uid !== uid) return fail(`${next} is owned by uid ${info.uid}, not by uid ${uid}`);
      if ((info.mode & GROUP_OR_OTHER_ANY) !== 0) return fail(`${next} is accessible to others (mode ${octal(info.mode)})`);
    } else if (options.kind !== 'socket' && (info.mode & GROUP_OR_OTHER_WRITE) !== 0) {
      return fail(`${next} can be modified by others (owner uid ${info.uid}, mode ${octal(info.mode)})`);
    }
    return { ok: true, realPath: next };
  }
  // The path resolved to / itself.
  if (!typeOk(root, options.kind)) return failure('wrong-kind', `/ is not ${kindName(options.kind)}`);
  return { ok: true, realPath: '/' };
}

// Why an existing path is not to be trusted, or undefined when it is
// trusted or does not exist (the caller's own read then says so).
export function whyUntrusted(path: string, kind: TrustedKind): string | undefined {
  const result = checkTrustedPath(path, { kind });
  return result.ok || result.problem === 'missing' ? undefined : result.reason;
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
