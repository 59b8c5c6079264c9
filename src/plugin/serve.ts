// Plugin-mode lifecycle: bind a gRPC server on a private unix socket, register
// go-plugin's and SPIRE's services, print the handshake, and serve until the
// host asks us to stop (Controller.Shutdown), sends SIGTERM, or dies.

import { rmSync } from 'node:fs';

import { Server, ServerCredentials } from '@grpc/grpc-js';

import { brokerService, controllerService, healthService, stdioService } from './goplugin.js';
import { checkProtocolVersions, createSocketLocation, sealStdout, writeHandshake } from './handshake.js';
import { SERVICE, serviceDefinition } from './protos.js';
import { configService, initService, workloadAttestorService } from './spire.js';
import { HostServices } from './metrics.js';
import { sweepStaleSocketDirs } from './stale-sockets.js';

import type { Logger } from '../log.js';
import type { PluginHost } from './host.js';

export interface ServeOptions {
  host: PluginHost;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

// How long in-flight calls get once shutdown starts; the agent kills us 2 s
// after asking.
const SHUTDOWN_GRACE_MS = 250;
const PARENT_POLL_MS = 1000;

export async function servePlugin({ host, log, env }: ServeOptions): Promise<void> {
  const versionProblem = checkProtocolVersions(env);
  if (versionProblem) throw new Error(versionProblem);

  // The host owns our lifecycle: Ctrl-C on its terminal reaches the whole
  // process group, and go-plugin servers ignore it.
  process.on('SIGINT', () => undefined);

  const socket = createSocketLocation(env);
  const server = new Server();
  const hostServices = new HostServices(log, (sink) => host.useMetrics(sink));

  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log.debug('plugin stopping', { reason });
    const finish = (): void => {
      rmSync(socket.dir, { recursive: true, force: true });
      process.exit(0);
    };
    const force = setTimeout(() => {
      server.forceShutdown();
      finish();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    hostServices.close();
    void host.close().catch(() => undefined);
    server.tryShutdown(() => {
      clearTimeout(force);
      finish();
    });
  };

  server.addService(
    serviceDefinition(SERVICE.broker),
    brokerService((network, address) => hostServices.connected(network, address), log),
  );
  server.addService(
    serviceDefinition(SERVICE.controller),
    controllerService(() => stop('controller shutdown')),
  );
  server.addService(serviceDefinition(SERVICE.stdio), stdioService());
  server.addService(serviceDefinition(SERVICE.health), healthService());
  server.addService(
    serviceDefinition(SERVICE.init),
    initService(host, log, (names) => hostServices.offered(names)),
  );
  server.addService(serviceDefinition(SERVICE.config), configService(host, log));
  server.addService(serviceDefinition(SERVICE.workloadAttestor), workloadAttestorService(host, log));

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socket.path}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });

  // Before the handshake: a host may signal us the moment it has read it.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  writeHandshake(socket.path);
  sealStdout();
  log.debug('plugin serving', { socket: socket.path, pid: process.pid });

  // After the handshake, so that it never delays the host: what killed
  // plugins left behind (README "Troubleshooting").
  void sweepStaleSocketDirs(socket.parent).then(
    ({ removed }) => {
      if (removed.length > 0) log.info('removed socket directories of plugin processes that were killed', { dirs: removed.join(', ') });
    },
    () => undefined,
  );

  // SPIRE sets a parent-death signal (SIGKILL) on Linux; other hosts may not,
  // so also notice being re-parented.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) stop('parent process exited');
  }, PARENT_POLL_MS);
  watch.unref();
}
