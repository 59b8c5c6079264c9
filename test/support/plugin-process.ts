// Starts the built plugin the way spire-agent does (magic cookie, go-plugin
// environment), reads the handshake, and gives typed-enough gRPC clients for
// every service, so tests can replay the agent's call order.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';

import { SERVICE, serviceDefinition, type ServiceName } from '../../src/plugin/protos.js';

import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The single-executable build (`npm run build:sea`), when present.
export const SEA_BIN = `${REPO_ROOT}dist-sea/spire-sigstore-attestor`;
// The plugin_cmd the tests run: the launcher, unless SSA_PLUGIN_BIN names
// another (e.g. SSA_PLUGIN_BIN=dist-sea/spire-sigstore-attestor npm test).
export const PLUGIN_BIN = resolve(REPO_ROOT, process.env['SSA_PLUGIN_BIN'] || 'bin/spire-sigstore-attestor');

// What a go-plugin host (spire-agent) puts in a WorkloadAttestor's environment.
export const GO_PLUGIN_ENV: Readonly<Record<string, string>> = {
  WorkloadAttestor: 'WorkloadAttestor',
  PLUGIN_MIN_PORT: '0',
  PLUGIN_MAX_PORT: '0',
  PLUGIN_PROTOCOL_VERSIONS: '1',
};

export interface PluginProcess {
  child: ChildProcessWithoutNullStreams;
  socketPath: string;
  handshake: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  client: (service: ServiceName) => Client;
  close: () => void;
}

// `bin` is the plugin_cmd to start: the launcher by default, or e.g. SEA_BIN.
export async function startPlugin(extraEnv: NodeJS.ProcessEnv = {}, bin: string = PLUGIN_BIN): Promise<PluginProcess> {
  const child = spawn(bin, [], {
    env: { ...process.env, ...GO_PLUGIN_ENV, ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));

  const handshake = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no handshake within 10 s; stderr: ${err}`)), 10_000);
    const check = (): void => {
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`plugin exited before the handshake; stderr: ${err}`)));
  });
  const socketPath = handshake.split('|')[3] ?? '';
  const clients = new Map<ServiceName, Client>();
  const client = (service: ServiceName): Client => {
    let c = clients.get(service);
    if (!c) {
      const Ctor = makeGenericClientConstructor(serviceDefinition(service), service);
      c = new Ctor(`unix:${socketPath}`, credentials.createInsecure());
      clients.set(service, c);
    }
    return c;
  };
  return {
    child,
    socketPath,
    handshake,
    stdout: () => out,
    stderr: () => err,
    exited,
    client,
    close: () => {
      for (const c of clients.values()) c.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

type UnaryMethod = (request: object, options: { deadline: number }, callback: (err: ServiceError | null, response: unknown) => void) => void;

// Calls a unary method by name on a generic client.
export function unary<T>(client: Client, method: string, request: object, timeoutMs = 5_000): Promise<T> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (typeof fn !== 'function') throw new Error(`no method ${method}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, request, { deadline: Date.now() + timeoutMs }, (err, response) => (err ? reject(err) : resolve(response as T)));
  });
}

// Health says "plugin" SERVING and Init lists the two services the agent
// binds: the first calls the agent makes after the broker stream.
export async function expectHealthyAndInit(p: PluginProcess): Promise<void> {
  const health = await unary<{ status: string }>(p.client(SERVICE.health), 'Check', { service: 'plugin' });
  expect(health.status).toBe('SERVING');
  const init = await unary<{ plugin_service_names: string[] }>(p.client(SERVICE.init), 'Init', {
    host_service_names: ['spire.hostservice.common.metrics.v1.Metrics'],
  });
  expect(init.plugin_service_names).toEqual(['spire.plugin.agent.workloadattestor.v1.WorkloadAttestor', 'spire.service.common.config.v1.Config']);
}

export { SERVICE };
