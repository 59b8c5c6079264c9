// Unit tests have no network: any TCP connection to an address other than
// loopback fails at once, naming the address, instead of reaching out (a
// configuration that forgot `offline = true` would otherwise refresh the
// public-good trusted root from tuf-repo-cdn.sigstore.dev). Unix sockets
// are unaffected. Child processes are not covered: their configurations
// set offline = true.

import { Socket } from 'node:net';

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|::1|::ffff:127(?:\.\d{1,3}){3}|\[::1\])$/i;

type Connect = (this: Socket, ...args: unknown[]) => Socket;

function target(args: readonly unknown[]): { host?: unknown; path?: unknown } {
  // net's own callers pass [options, callback] normalised into an array.
  const first: unknown = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) return first;
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : undefined };
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with the socket as `this` below
const connect = Socket.prototype.connect as unknown as Connect;
(Socket.prototype as unknown as { connect: Connect }).connect = function (this: Socket, ...args: unknown[]): Socket {
  const { host, path } = target(args);
  if (path === undefined && host !== undefined && !(typeof host === 'string' && LOOPBACK.test(host))) {
    throw new Error(`unit tests have no network: refusing a connection to ${JSON.stringify(host)}`);
  }
  return connect.apply(this, args);
};
