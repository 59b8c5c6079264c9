// Runtime API sockets. Whoever can replace the socket the plugin dials can
// answer container inspections with anything, so (as SPIRE's docker attestor
// does) a socket that a non-root user could replace is refused unless the
// operator explicitly allows it.

import { lstatSync } from 'node:fs';

import { AttestorError } from '../errors.js';
import { checkTrustedPath } from '../util/trusted-path.js';

const UNIX_PREFIX = 'unix://';

export function socketPathOf(endpoint: string): string {
  if (!endpoint.startsWith(UNIX_PREFIX)) {
    throw new AttestorError('CONFIG_INVALID', `runtime endpoint must be unix:///path, got "${endpoint}"`);
  }
  return endpoint.slice(UNIX_PREFIX.length);
}

// The socket entry and every directory above it (symlinks followed) must
// be owned by root (or by us), and no directory on the way writable by group
// or others unless sticky, like /tmp, where nobody else can replace a
// root-owned entry (checkTrustedPath). A socket or symlink that another
// user planted, even in a sticky directory, is refused.
export async function checkSocketPath(socketPath: string, trustedUid = process.getuid?.() ?? 0): Promise<void> {
  const result = checkTrustedPath(socketPath, { kind: 'socket', trustedUid });
  if (result.ok) return;
  if (result.problem === 'missing' || result.problem === 'unreadable') {
    throw new AttestorError('RUNTIME_UNAVAILABLE', `runtime socket ${socketPath}: ${result.reason}`);
  }
  throw new AttestorError(
    'RUNTIME_REFUSED',
    `refusing runtime socket ${socketPath}: ${result.reason}; only root may control the runtime API the plugin believes (set allow_untrusted_socket_dir = true to accept it anyway)`,
  );
}

// Is there anything at the socket path? (Whether to trust it is
// checkSocketPath's question.)
// Asked on every attestation of a containerd or Kubernetes cgroup: a
// missing path answers undefined rather than building an exception.
export function socketPresent(socketPath: string): boolean {
  try {
    return lstatSync(socketPath, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}
