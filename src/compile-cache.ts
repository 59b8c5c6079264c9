// Node's on-disk compile cache, in a directory only the plugin can write.
//
// Node accepts a cache directory whoever owns it, and V8 accepts a cached
// compilation whose source merely has the same length: a cache that another
// user can write is code that user gets to run as root. So the cache lives
// next to the installed code (`<install>/.compile-cache`, created 0700), and
// is used only when that whole path passes checkTrustedPath as a private
// directory of ours; otherwise the plugin starts without it (slower start,
// same behaviour). Never the default location ($TMPDIR/node-compile-cache).

import { mkdirSync } from 'node:fs';
import { constants, enableCompileCache, getCompileCacheDir } from 'node:module';

import { messageOf } from './errors.js';
import { checkTrustedPath } from './util/trusted-path.js';

export type CompileCacheOutcome =
  | { readonly enabled: true; readonly dir: string }
  | { readonly enabled: false; readonly reason: string }
  // NODE_COMPILE_CACHE turned it on, in a directory others can write: code
  // may already have come from there. The caller must not go on.
  | { readonly enabled: 'unsafe'; readonly reason: string };

export function enablePrivateCompileCache(dir: string): CompileCacheOutcome {
  // NODE_COMPILE_CACHE enables it before any of our code runs (the launcher
  // unsets it); we can only report where.
  const active = getCompileCacheDir();
  if (active !== undefined) {
    const check = checkTrustedPath(active, { kind: 'directory', private: true });
    return check.ok ? { enabled: true, dir: active } : { enabled: 'unsafe', reason: `NODE_COMPILE_CACHE names a directory others can write: ${check.reason}` };
  }
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { enabled: false, reason: `cannot create ${dir}: ${messageOf(err)}` };
  }
  const check = checkTrustedPath(dir, { kind: 'directory', private: true });
  if (!check.ok) return { enabled: false, reason: check.reason };
  const result = enableCompileCache(check.realPath);
  if (result.status === constants.compileCacheStatus.FAILED || result.status === constants.compileCacheStatus.DISABLED) {
    return { enabled: false, reason: result.message ?? 'disabled' };
  }
  return { enabled: true, dir: check.realPath };
}
