// Runtime API sockets. Whoever can replace the socket the plugin dials can
// answer container inspections with anything, so (as SPIRE's docker attestor
// does) a socket whose directory chain a non-root user could tamper with is
// refused unless the operator explicitly allows it.

import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

import { AttestorError } from '../errors.js';

const UNIX_PREFIX = 'unix://';
const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

export function socketPathOf(endpoint: string): string {
  if (!endpoint.startsWith(UNIX_PREFIX)) {
    throw new AttestorError('CONFIG_INVALID', `runtime endpoint must be unix:///path, got "${endpoint}"`);
  }
  return endpoint.slice(UNIX_PREFIX.length);
}

// Every directory from the socket's parent up to / must be owned by root (or
// by us) and not writable by group or others; a sticky world-writable
// directory such as /tmp is acceptable, since nobody else can rename or
// remove the root-owned entry below it.
export async function checkSocketDirectory(socketPath: string, trustedUid = process.getuid?.() ?? 0): Promise<void> {
  let dir = dirname(socketPath);
  for (;;) {
    let info;
    try {
      info = await stat(dir);
    } catch (err) {
      throw new AttestorError('RUNTIME_UNAVAILABLE', `cannot inspect runtime socket directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const ownerOk = info.uid === 0 || info.uid === trustedUid;
    const writable = (info.mode & GROUP_OR_OTHER_WRITE) !== 0;
    const sticky = (info.mode & STICKY) !== 0;
    if (!ownerOk || (writable && !sticky)) {
      throw new AttestorError(
        'RUNTIME_REFUSED',
        `refusing runtime socket ${socketPath}: directory ${dir} can be modified by non-root users ` +
          `(owner uid ${info.uid}, mode ${(info.mode & 0o7777).toString(8)}); set allow_untrusted_socket_dir = true to accept it`,
      );
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}
