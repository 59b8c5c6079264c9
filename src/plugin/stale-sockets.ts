// Socket directories of plugin processes that died without cleaning up.
//
// A plugin removes its private socket directory when it stops, but a
// SIGKILL (by hand, the OOM killer, or the parent-death signal spire-agent
// sets when the agent itself dies) leaves it behind, socket and all. Each
// new plugin sweeps what dead plugins of the same user left in the same
// parent directory. The plugin runs as root in a shared temp directory, so
// an entry is removed only when every one of these holds:
//  - its name is ours with an owner PID: ssa-plugin-<pid>-<6 mkdtemp chars>;
//  - lstat says a real directory (never a symlink), owned by our uid, mode
//    0700, as mkdtemp made it;
//  - the owner PID is not a live process (a reused PID keeps it: harmless);
//  - it holds nothing but `plugin.sock`, and that is a socket of our uid
//    that refuses connections (nobody serves it, in any PID namespace).
// Removal is unlink of that socket, then rmdir, which fails on a directory
// that is not empty; nothing is ever removed recursively.

import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const SOCKET_DIR_PREFIX = 'ssa-plugin-';
export const SOCKET_NAME = 'plugin.sock';

const NAME = /^ssa-plugin-([1-9]\d{0,9})-[A-Za-z0-9]{6}$/;
// Bounds: entries of the parent looked at, candidates probed, probe time.
const MAX_ENTRIES = 100_000;
const MAX_CANDIDATES = 64;
const PROBE_TIMEOUT_MS = 500;

export interface SweepOptions {
  // Whether a PID is a live process (default: kill(pid, 0)).
  readonly isAlive?: (pid: number) => boolean;
  readonly uid?: number;
}

export interface SweepResult {
  readonly removed: string[];
  // Candidates by name that were kept, with why.
  readonly kept: { readonly dir: string; readonly reason: string }[];
}

// The directory name a plugin with this PID creates (mkdtemp appends 6 chars).
export function socketDirPrefix(pid: number): string {
  return `${SOCKET_DIR_PREFIX}${pid}-`;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, someone else's.
    return !(err instanceof Error && 'code' in err && err.code === 'ESRCH');
  }
}

// 'refused' only when a connection is actively refused: nobody listens.
function probe(path: string): Promise<'refused' | 'other'> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (result: 'refused' | 'other'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('other'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => done('other'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'other'));
  });
}

// Why `dir` must be kept, or undefined when it may be removed (after the probe).
function keepReason(dir: string, pid: number, uid: number, isAlive: (pid: number) => boolean): string | undefined {
  if (pid === process.pid) return 'ours';
  const st = lstatSync(dir);
  if (!st.isDirectory()) return 'not a directory';
  if (st.uid !== uid) return 'another owner';
  if ((st.mode & 0o7777) !== 0o700) return 'not mode 0700';
  if (isAlive(pid)) return 'owner process alive';
  const entries = readdirSync(dir);
  if (entries.some((e) => e !== SOCKET_NAME)) return 'holds other files';
  if (entries.length === 0) return undefined;
  const sock = lstatSync(join(dir, SOCKET_NAME));
  if (!sock.isSocket()) return 'plugin.sock is not a socket';
  if (sock.uid !== uid) return 'socket of another owner';
  return undefined;
}

export async function sweepStaleSocketDirs(parent: string, options: SweepOptions = {}): Promise<SweepResult> {
  const isAlive = options.isAlive ?? pidAlive;
  const uid = options.uid ?? process.getuid?.() ?? -1;
  const result: SweepResult = { removed: [], kept: [] };
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return result;
  }
  let candidates = 0;
  for (const name of names.slice(0, MAX_ENTRIES)) {
    const match = NAME.exec(name);
    if (!match) continue;
    if (++candidates > MAX_CANDIDATES) break;
    const dir = join(parent, name);
    try {
      const reason = keepReason(dir, Number(match[1]), uid, isAlive);
      if (reason !== undefined) {
        result.kept.push({ dir, reason });
        continue;
      }
      const sock = join(dir, SOCKET_NAME);
      if (readdirSync(dir).length > 0) {
        if ((await probe(sock)) !== 'refused') {
          result.kept.push({ dir, reason: 'socket not refusing connections' });
          continue;
        }
        unlinkSync(sock);
      }
      rmdirSync(dir);
      result.removed.push(dir);
    } catch (err) {
      result.kept.push({ dir, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return result;
}
