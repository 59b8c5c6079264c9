// The plugin as spire-agent runs it: spawned with the go-plugin cookie and
// environment, the handshake line read from stdout, then plaintext gRPC on
// the unix socket it names. Our own small copy of test/support's
// startPlugin: it times spawn -> handshake and loads the .proto files from
// the repository (not relative to the compiled file).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { credentials, makeGenericClientConstructor, type Client, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { PLUGIN_PROTO_FILES, SERVICE, type ServiceName } from '../../src/plugin/protos.js';
import { PROTO_LOAD_OPTIONS } from '../../src/util/protos.js';
import { GO_PLUGIN_ENV } from '../../test/support/plugin-process.js';

import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export { SERVICE };

let packageDefinition: protoLoader.PackageDefinition | undefined;

function definition(repoRoot: string, name: ServiceName): ServiceDefinition {
  packageDefinition ??= protoLoader.loadSync([...PLUGIN_PROTO_FILES], { ...PROTO_LOAD_OPTIONS, includeDirs: [join(repoRoot, 'proto')] });
  const def = packageDefinition[name];
  if (typeof def !== 'object' || def === null || 'format' in def) throw new Error(`no service ${name} in ${repoRoot}proto`);
  return def;
}

// Plugins that died by SIGTERM before handling it (socket dir left behind).
let leftSocketDirs = 0;
export function socketDirsLeft(): number {
  return leftSocketDirs;
}

// CLOCK_MONOTONIC in µs (the clock V8 stamps profile samples with).
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Plugin {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly socketPath: string;
  // spawn() -> handshake line on stdout, ms.
  readonly handshakeMs: number;
  // CLOCK_MONOTONIC (µs) at spawn() and at the handshake line.
  readonly spawnedAtUs: number;
  readonly handshakeAtUs: number;
  client(service: ServiceName): Client;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  // SIGTERM (the plugin removes its socket dir and exits), SIGKILL after timeoutMs.
  stop(timeoutMs?: number): Promise<void>;
}

// A client of one of the plugin's services on its socket.
export function clientOn(repoRoot: string, socketPath: string, service: ServiceName): Client {
  const Ctor = makeGenericClientConstructor(definition(repoRoot, service), service);
  return new Ctor(`unix:${socketPath}`, credentials.createInsecure());
}

export async function startPlugin(repoRoot: string, bin: string, env: NodeJS.ProcessEnv = {}): Promise<Plugin> {
  const started = performance.now();
  const spawnedAtUs = nowUs();
  const child = spawn(bin, [], {
    env: { ...process.env, ...GO_PLUGIN_ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    // Keep the tail only: a long run must not grow this without bound.
    err = (err + c).slice(-64 * 1024);
  });
  const handshake = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin}: no handshake within 15 s; stderr: ${err}`)), 15_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited before the handshake; stderr: ${err}`));
    });
  });
  const handshakeMs = performance.now() - started;
  const handshakeAtUs = nowUs();
  // Stdout must keep being drained after the handshake.
  child.stdout.resume();
  const socketPath = handshake.split('|')[3] ?? '';
  if (!socketPath.startsWith('/')) throw new Error(`unexpected handshake: ${handshake}`);
  const clients = new Map<ServiceName, Client>();
  return {
    child,
    pid: child.pid ?? -1,
    socketPath,
    handshakeMs,
    spawnedAtUs,
    handshakeAtUs,
    client(service: ServiceName): Client {
      let c = clients.get(service);
      if (!c) {
        c = clientOn(repoRoot, socketPath, service);
        clients.set(service, c);
      }
      return c;
    },
    stderr: () => err,
    exited,
    async stop(timeoutMs = 5_000): Promise<void> {
      for (const c of clients.values()) c.close();
      clients.clear();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      // The plugin removes its socket directory when it handles SIGTERM. A
      // SIGTERM that lands right after the handshake line can arrive before
      // its handler is installed (the default action kills it): remove what
      // it left.
      const dir = dirname(socketPath);
      if (/\/ssa-plugin-[^/]+$/.test(dir) && existsSync(dir)) {
        leftSocketDirs++;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

type UnaryMethod = (request: object, options: { deadline: number }, callback: (err: ServiceError | null, response: unknown) => void) => void;

function method(client: Client, name: string): UnaryMethod {
  const fn = (client as unknown as Record<string, UnaryMethod>)[name];
  if (typeof fn !== 'function') throw new Error(`no method ${name}`);
  return fn.bind(client);
}

export function unary<T>(client: Client, name: string, request: object, timeoutMs = 10_000): Promise<T> {
  const fn = method(client, name);
  return new Promise<T>((resolve, reject) => {
    fn(request, { deadline: Date.now() + timeoutMs }, (e, response) => (e ? reject(e) : resolve(response as T)));
  });
}

export interface AttestResponse {
  selector_values: string[];
}

// Attest as the agent calls it (with a deadline), bound once for a hot loop.
export function attestCaller(plugin: Pick<Plugin, 'client'>, timeoutMs = 10_000): (pid: number) => Promise<AttestResponse> {
  const fn = method(plugin.client(SERVICE.workloadAttestor), 'Attest');
  return (pid) =>
    new Promise<AttestResponse>((resolve, reject) => {
      fn({ pid }, { deadline: Date.now() + timeoutMs }, (e, response) => (e ? reject(e) : resolve(response as AttestResponse)));
    });
}

// Init and Configure, in the agent's order.
export async function initAndConfigure(plugin: Plugin, hcl: string): Promise<void> {
  await unary(plugin.client(SERVICE.init), 'Init', { host_service_names: [] });
  await configure(plugin, hcl);
}

// A Configure builds a new attestor with new (empty) caches.
export async function configure(plugin: Plugin, hcl: string): Promise<void> {
  await unary(plugin.client(SERVICE.config), 'Configure', { core_configuration: { trust_domain: 'example.org' }, hcl_configuration: hcl }, 30_000);
}

// ------------------------------------------------------------ /proc facts --

export interface MemoryFacts {
  rssMb: number;
  hwmMb: number;
}

export function memoryOf(pid: number): MemoryFacts {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

const CLOCK_TICKS = 100;

// utime + stime of a process, in ms (USER_HZ is 100 on Linux).
export function cpuMsOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields after the comm: state is [0], utime [11], stime [12].
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

// Where a process's resident set is (/proc/<pid>/smaps_rollup): anonymous
// memory (heaps, malloc arenas, V8's spaces) vs file-backed pages (the node
// binary's code and data as far as it has run, shared with every other
// process running the same file).
export interface ResidentSplit {
  rssMb: number;
  anonymousMb: number;
  fileBackedMb: number;
}

export function residentSplitOf(pid: number): ResidentSplit {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  const mb = (v: number): number => Math.round((v / 1024) * 10) / 10;
  return { rssMb: mb(kb('Rss')), anonymousMb: mb(kb('Anonymous')), fileBackedMb: mb(kb('Rss') - kb('Anonymous')) };
}
