// Real spire-server and spire-agent for end-to-end tests: configuration
// files in a temp dir, a join token, the agent loading our plugin through
// plugin_cmd with plugin_checksum and plugin_data, just as an operator would.

import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { generateKeyPair } from './cosign.js';
import { PLUGIN_BIN } from './plugin-process.js';
import { freePort } from './registries.js';
import { docker } from './rig.js';

export { freePort };

import type { ChildProcess } from 'node:child_process';
import type { KeyPair } from './cosign.js';
import type { Rig } from './rig.js';

const run = promisify(execFile);

export const TRUST_DOMAIN = 'example.org';

export interface Daemon {
  child: ChildProcess;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startDaemon(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Daemon {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (text += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (text += c));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return { child, log: () => text, exited, stop };
}

// Poll `check` until it resolves true, bounded in time.
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface SpireServer extends Daemon {
  socketPath: string;
  port: number;
  cli: (args: string[]) => Promise<string>;
}

// Starts spire-server with an existing configuration file and waits until
// it is healthy.
export async function runSpireServer(bin: string, conf: string, socketPath: string, port: number): Promise<SpireServer> {
  const daemon = startDaemon(bin, ['run', '-config', conf]);
  const cli = async (args: string[]): Promise<string> => {
    const [cmd, ...rest] = args;
    const { stdout } = await run(bin, [cmd ?? '', ...rest, '-socketPath', socketPath], { timeout: 30_000 });
    return stdout;
  };
  await waitFor('spire-server healthcheck', async () => {
    if (daemon.child.exitCode !== null) throw new Error(`spire-server exited:\n${daemon.log()}`);
    return cli(['healthcheck']).then(
      () => true,
      () => false,
    );
  });
  return { ...daemon, socketPath, port, cli };
}

export async function startSpireServer(bin: string, dir: string): Promise<SpireServer> {
  const port = await freePort();
  const data = join(dir, 'server-data');
  mkdirSync(data, { recursive: true });
  const socketPath = join(dir, 'server.sock');
  const conf = join(dir, 'server.conf');
  writeFileSync(
    conf,
    `server {
  bind_address = "127.0.0.1"
  bind_port = "${port}"
  socket_path = "${socketPath}"
  trust_domain = "${TRUST_DOMAIN}"
  data_dir = "${data}"
  log_level = "DEBUG"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "${join(data, 'datastore.sqlite3')}"
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
`,
  );
  return runSpireServer(bin, conf, socketPath, port);
}

export async function joinToken(server: SpireServer): Promise<string> {
  const out = await server.cli(['token', 'generate', '-spiffeID', `spiffe://${TRUST_DOMAIN}/node`]);
  const token = /Token:\s*(\S+)/.exec(out)?.[1];
  if (!token) throw new Error(`no join token in: ${out}`);
  return token;
}

export interface SpireAgent extends Daemon {
  socketPath: string;
}

export interface AgentOptions {
  bin: string;
  dir: string;
  server: SpireServer;
  token: string;
  // The body of plugin_data { ... } for our plugin.
  pluginData: string;
  pluginName?: string;
  // Top-level blocks appended to the agent's configuration (telemetry).
  extraConfig?: string;
}

export function agentConfig(options: AgentOptions, socketPath: string): string {
  const data = join(options.dir, 'agent-data');
  mkdirSync(data, { recursive: true });
  return `agent {
  data_dir = "${data}"
  log_level = "DEBUG"
  server_address = "127.0.0.1"
  server_port = "${options.server.port}"
  socket_path = "${socketPath}"
  trust_domain = "${TRUST_DOMAIN}"
  insecure_bootstrap = true
  join_token = "${options.token}"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "${options.pluginName ?? 'docker'}" {
    plugin_cmd = "${PLUGIN_BIN}"
    plugin_checksum = "${sha256File(PLUGIN_BIN)}"
    plugin_data {
${options.pluginData}
    }
  }
}
${options.extraConfig ?? ''}`;
}

// The agent finds Node for our plugin through SPIRE_SIGSTORE_ATTESTOR_NODE.
export function agentEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SPIRE_SIGSTORE_ATTESTOR_NODE: process.execPath };
}

export function launchAgent(options: AgentOptions): SpireAgent {
  mkdirSync(options.dir, { recursive: true });
  const socketPath = join(options.dir, 'agent.sock');
  const conf = join(options.dir, 'agent.conf');
  writeFileSync(conf, agentConfig(options, socketPath));
  const daemon = startDaemon(options.bin, ['run', '-config', conf], agentEnv());
  return { ...daemon, socketPath };
}

export async function waitAgentHealthy(bin: string, agent: SpireAgent): Promise<void> {
  await waitFor('spire-agent healthcheck', async () => {
    if (agent.child.exitCode !== null) throw new Error(`spire-agent exited:\n${agent.log()}`);
    return run(bin, ['healthcheck', '-socketPath', agent.socketPath], { timeout: 10_000 }).then(
      () => true,
      () => false,
    );
  });
}

export async function startSpireAgent(options: AgentOptions): Promise<SpireAgent> {
  const agent = launchAgent(options);
  await waitAgentHealthy(options.bin, agent);
  return agent;
}

// Starts spire-agent with an existing configuration file.
export function runSpireAgent(bin: string, conf: string, socketPath: string, env: NodeJS.ProcessEnv = agentEnv()): SpireAgent {
  return { ...startDaemon(bin, ['run', '-config', conf], env), socketPath };
}

// A workload calling the Workload API: `spire-agent api fetch x509`. Returns
// its PID (what the agent attests) and what it printed.
export async function fetchX509(agentBin: string, socketPath: string, timeoutSec = 5): Promise<{ pid: number; code: number | null; output: string }> {
  const child = spawn(agentBin, ['api', 'fetch', 'x509', '-socketPath', socketPath, '-timeout', `${timeoutSec}s`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { pid: child.pid ?? -1, code, output };
}

// Runs `image` in a container of the rig's dockerd with the agent's socket
// directory mounted at /run/spire, and asks the Workload API for an X.509
// SVID from inside it (the static spire-agent in the image is the client).
export async function fetchX509InContainer(rig: Rig, agentDir: string, image: string): Promise<{ code: number; output: string }> {
  const fetch = ['/bin/spire-agent', 'api', 'fetch', 'x509', '-socketPath', '/run/spire/agent.sock', '-timeout', '5s'];
  const r = await docker(rig, ['run', '--rm', '--network', 'none', '-v', `${agentDir}:/run/spire`, image, ...fetch], { timeoutMs: 60_000 });
  return { code: r.code, output: r.stdout + r.stderr };
}

export interface Selector {
  type: string;
  value: string;
}

// The selectors of every "PID attested to have selectors" line of an agent
// log, one list per attestation, in log order.
export function attestations(log: string): Selector[][] {
  const out: Selector[][] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('PID attested to have selectors')) continue;
    out.push([...line.matchAll(/type:\\"([^"\\]+)\\"\s+value:\\"([^"\\]+)\\"/g)].map((m) => ({ type: m[1] ?? '', value: m[2] ?? '' })));
  }
  return out;
}

// plugin_data lines (indented for agentConfig) naming the one signer the
// end-to-end tests allow: the key "release" (no transparency log here).
export function releaseKeyLines(publicKey: string): string[] {
  return [
    `      key {`,
    `        name = "release"`,
    `        path = "${publicKey}"`,
    `      }`,
    `      require_tlog = false`,
    `      offline = true`,
    `      persist_verdicts = false`,
  ];
}

// plugin_data lines (indented for agentConfig) for the rig's plain-http registry.
export function rigRegistryLines(rig: Rig): string[] {
  return [`      registry "${rig.registry}" {`, `        insecure = true`, `      }`];
}

export interface SpireStart {
  // A temp dir, 0755 so that containers can reach the agent socket under it.
  dir: string;
  server: SpireServer;
  releaseKey: KeyPair;
  token: string;
  // The agent's SPIFFE ID once it has attested with `token`.
  parentId: string;
}

// What an end-to-end suite starts from: a spire-server in a new temp dir, a
// cosign key pair "release" and a join token for the agent.
export async function startServerWithReleaseKey(rig: Rig, prefix: string): Promise<SpireStart> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const server = await startSpireServer(rig.spireServer, join(dir, 'server'));
  const releaseKey = await generateKeyPair(rig, dir, 'release');
  const token = await joinToken(server);
  return { dir, server, releaseKey, token, parentId: `spiffe://${TRUST_DOMAIN}/spire/agent/join_token/${token}` };
}
