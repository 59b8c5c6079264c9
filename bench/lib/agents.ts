// Two real spire-agents against one spire-server, identical but for the
// docker WorkloadAttestor: one loads our plugin (plugin_cmd), the other uses
// SPIRE's built-in docker attestor. Both on loopback, join-token attested.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { joinToken, sha256File, startDaemon, startSpireServer, TRUST_DOMAIN, waitFor, type Daemon, type SpireServer } from '../../test/support/spire.js';
import { run, type Rig } from '../../test/support/rig.js';

export interface Agent extends Daemon {
  readonly name: string;
  readonly dir: string;
  readonly socketPath: string;
  readonly parentId: string;
}

export interface AgentPair {
  readonly server: SpireServer;
  readonly ours: Agent;
  readonly builtin: Agent;
  stop(): Promise<void>;
}

export function agentConf(dir: string, server: SpireServer, token: string, workloadAttestor: string): string {
  return `agent {
  data_dir = "${join(dir, 'data')}"
  log_level = "INFO"
  server_address = "127.0.0.1"
  server_port = "${server.port}"
  socket_path = "${join(dir, 'sock', 'agent.sock')}"
  trust_domain = "${TRUST_DOMAIN}"
  insecure_bootstrap = true
  join_token = "${token}"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
${workloadAttestor}
}
`;
}

// One spire-agent with `workloadAttestor` as its WorkloadAttestor block, healthy.
export async function startAgent(rig: Rig, name: string, dir: string, server: SpireServer, workloadAttestor: string, env: NodeJS.ProcessEnv): Promise<Agent> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'sock'), { recursive: true });
  // The containers' root mounts the socket directory.
  chmodSync(join(dir, 'sock'), 0o755);
  const token = await joinToken(server);
  const conf = join(dir, 'agent.conf');
  writeFileSync(conf, agentConf(dir, server, token, workloadAttestor));
  const daemon = startDaemon(rig.spireAgent, ['run', '-config', conf], env);
  const socketPath = join(dir, 'sock', 'agent.sock');
  await waitFor(
    `spire-agent ${name} healthy`,
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`spire-agent ${name} exited:\n${daemon.log()}`);
      const r = await run(rig.spireAgent, ['healthcheck', '-socketPath', socketPath], { timeoutMs: 10_000 }).catch(() => undefined);
      return r?.code === 0;
    },
    60_000,
  );
  return { ...daemon, name, dir, socketPath, parentId: `spiffe://${TRUST_DOMAIN}/spire/agent/join_token/${token}` };
}

export interface AgentPairOptions {
  readonly rig: Rig;
  readonly dir: string;
  // plugin_cmd for ours, and the env it needs (the launcher's Node).
  readonly pluginCmd: string;
  readonly pluginEnv: NodeJS.ProcessEnv;
  // plugin_data body for ours.
  readonly pluginData: string;
}

// Our plugin as the agent's docker WorkloadAttestor.
export function ourAttestorHcl(pluginCmd: string, pluginData: string): string {
  return `  WorkloadAttestor "docker" {
    plugin_cmd = "${pluginCmd}"
    plugin_checksum = "${sha256File(pluginCmd)}"
    plugin_data {
${pluginData}
    }
  }`;
}

export async function startAgentPair(o: AgentPairOptions): Promise<AgentPair> {
  const server = await startSpireServer(o.rig.spireServer, join(o.dir, 'server'));
  const started: Daemon[] = [server];
  try {
    const ours = await startAgent(o.rig, 'ours', join(o.dir, 'agent-ours'), server, ourAttestorHcl(o.pluginCmd, o.pluginData), {
      ...process.env,
      ...o.pluginEnv,
    });
    started.push(ours);
    const builtin = await startAgent(
      o.rig,
      'builtin',
      join(o.dir, 'agent-builtin'),
      server,
      `  WorkloadAttestor "docker" {
    plugin_data {
      docker_socket_path = "${o.rig.dockerHost}"
    }
  }`,
      process.env,
    );
    started.push(builtin);
    return {
      server,
      ours,
      builtin,
      async stop(): Promise<void> {
        await ours.stop();
        await builtin.stop();
        await server.stop();
      },
    };
  } catch (err) {
    for (const d of started.reverse()) await d.stop().catch(() => undefined);
    throw err;
  }
}

// Go's time.Duration String(): "812.345µs", "4.2ms", "1.5s", "1m2.5s".
export function parseGoDuration(text: string): number {
  let ms = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g)) {
    matched = true;
    const v = Number(m[1]);
    const unit = m[2];
    ms +=
      unit === 'ns'
        ? v / 1e6
        : unit === 'us' || unit === 'µs' || unit === 'μs'
          ? v / 1e3
          : unit === 'ms'
            ? v
            : unit === 's'
              ? v * 1e3
              : unit === 'm'
                ? v * 6e4
                : v * 3.6e6;
  }
  return matched ? ms : Number.NaN;
}
