// go-plugin launch contract: the magic cookie in the environment says we were
// started by a host, and exactly one line on stdout tells the host where to
// dial. Nothing else may ever reach stdout: the host parses its first line as
// the handshake and discards the rest.

import { mkdtempSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { socketDirPrefix } from './stale-sockets.js';

// SPIRE sets key == value == the plugin type.
export const MAGIC_COOKIE_KEY = 'WorkloadAttestor';
export const MAGIC_COOKIE_VALUE = 'WorkloadAttestor';

const CORE_PROTOCOL_VERSION = 1;
const APP_PROTOCOL_VERSION = 1;

// sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH = 107;

export function isPluginLaunch(env: NodeJS.ProcessEnv): boolean {
  return env[MAGIC_COOKIE_KEY] === MAGIC_COOKIE_VALUE;
}

// The host lists the app protocol versions it speaks; we speak only 1.
export function checkProtocolVersions(env: NodeJS.ProcessEnv): string | undefined {
  const offered = env['PLUGIN_PROTOCOL_VERSIONS'];
  if (offered === undefined || offered === '') return undefined;
  const versions = offered.split(',').map((v) => v.trim());
  return versions.includes(String(APP_PROTOCOL_VERSION))
    ? undefined
    : `host offers plugin protocol versions [${offered}], this plugin speaks ${APP_PROTOCOL_VERSION}`;
}

export interface SocketLocation {
  parent: string;
  dir: string;
  path: string;
}

// A private directory (mode 0700, from mkdtemp) holds the socket, so no other
// user can connect to the plaintext gRPC server. go-plugin lets the host pick
// the parent directory with PLUGIN_UNIX_SOCKET_DIR. The name carries our PID,
// so that a later plugin can tell a dead one's leftovers (stale-sockets.ts).
export function createSocketLocation(env: NodeJS.ProcessEnv): SocketLocation {
  const parent = env['PLUGIN_UNIX_SOCKET_DIR'] || tmpdir();
  const dir = mkdtempSync(join(parent, socketDirPrefix(process.pid)));
  const path = join(dir, 'plugin.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(`socket path too long for a unix socket (${path}); set TMPDIR or PLUGIN_UNIX_SOCKET_DIR to a shorter directory`);
  }
  return { parent, dir, path };
}

// CORE|APP|NETWORK|ADDRESS|PROTOCOL. No sixth field: SPIRE runs go-plugin
// with AutoMTLS off, and a server certificate there breaks the load.
export function handshakeLine(socketPath: string): string {
  return `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc\n`;
}

// Write the handshake straight to fd 1, synchronously, so it is complete
// before anything else can happen.
export function writeHandshake(socketPath: string): void {
  writeSync(1, handshakeLine(socketPath));
}

// After this, stray writes to stdout (a dependency's console.log) go to stderr
// instead, where the host logs them at debug level.
export function sealStdout(): void {
  process.stdout.write = process.stderr.write.bind(process.stderr);
}
