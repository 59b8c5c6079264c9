// What happens when the plugin process is killed under a real spire-agent
// (README "Troubleshooting"): the agent (1.15.3) keeps running but does not
// restart the plugin, and every Workload API call then fails attestation
// (Unavailable) until the agent is restarted; the killed plugin's socket
// directory stays behind until the next plugin starts and sweeps it. When
// the agent itself is killed, the plugin goes too (no orphan).

import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { generateKeyPair } from '../support/cosign.js';
import { alive, children } from '../support/processes.js';
import { describeWithRig } from '../support/rig.js';
import { fetchX509, joinToken, releaseKeyLines, startSpireAgent, startSpireServer, waitFor } from '../support/spire.js';

import type { KeyPair } from '../support/cosign.js';
import type { SpireAgent, SpireServer } from '../support/spire.js';

// The plugin's socket directories, by the PID in their name.
function socketDirs(pid: number): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith(`ssa-plugin-${pid}-`))
    .map((name) => join(tmpdir(), name));
}

describeWithRig('the plugin process is killed under spire-agent', ['spire', 'docker', 'cosign'], (rig) => {
  let dir: string;
  let server: SpireServer;
  let key: KeyPair;
  const agents: SpireAgent[] = [];

  async function agent(name: string): Promise<{ agent: SpireAgent; plugin: number }> {
    const a = await startSpireAgent({
      bin: rig.spireAgent,
      dir: join(dir, name),
      server,
      token: await joinToken(server),
      pluginData: [`      docker_socket_path = "${rig.dockerHost}"`, ...releaseKeyLines(key.publicKey)].join('\n'),
    });
    agents.push(a);
    const [plugin, ...more] = children(a.child.pid ?? -1);
    expect(more).toEqual([]);
    if (plugin === undefined) throw new Error('spire-agent has no plugin child process');
    return { agent: a, plugin };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssa-e2e-kill-'));
    chmodSync(dir, 0o755);
    server = await startSpireServer(rig.spireServer, join(dir, 'server'));
    key = await generateKeyPair(rig, dir, 'release');
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL: the agent keeps running without it and fails every attestation; the next plugin removes the stale socket directory', async () => {
    const first = await agent('agent-1');
    // A process on the host is no container: attested, no selectors, no SVID.
    const before = await fetchX509(rig.spireAgent, first.agent.socketPath);
    expect(before.output).toMatch(/PermissionDenied.*no identity issued/);
    const [stale, ...others] = socketDirs(first.plugin);
    expect(others).toEqual([]);
    expect(stale).toBeDefined();

    process.kill(first.plugin, 'SIGKILL');
    await waitFor('agent to notice the plugin exited', () => /plugin process exited.*signal: killed/.test(first.agent.log()), 10_000);
    // Not restarted: no new plugin child, the agent still up and serving.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(children(first.agent.child.pid ?? -1)).toEqual([]);
    expect(first.agent.child.exitCode).toBeNull();
    const after = await fetchX509(rig.spireAgent, first.agent.socketPath);
    expect(after.code).not.toBe(0);
    expect(after.output).toMatch(/Unavailable.*workload attestation failed/);
    expect(first.agent.log()).toMatch(/workload attestor \\?"docker\\?" failed.*connect: connection refused/);
    // A SIGKILLed plugin cannot clean up.
    expect(existsSync(join(stale ?? '', 'plugin.sock'))).toBe(true);

    // The operator restarts spire-agent (here: a new one on the same host).
    await first.agent.stop();
    const second = await agent('agent-2');
    await waitFor('the new plugin to sweep the stale socket directory', () => !existsSync(stale ?? ''), 10_000);
    expect(second.agent.log()).toMatch(/removed socket directories of plugin processes that were killed/);
    expect(socketDirs(second.plugin)).toHaveLength(1);
    const again = await fetchX509(rig.spireAgent, second.agent.socketPath);
    expect(again.output).toMatch(/PermissionDenied.*no identity issued/);
  }, 120_000);

  it('SIGKILL of the agent: the plugin exits with it', async () => {
    const third = await agent('agent-3');
    third.agent.child.kill('SIGKILL');
    await waitFor('the plugin to exit with its agent', () => !alive(third.plugin), 10_000);
    // Its directory is left for the next plugin to sweep (shown above).
  }, 60_000);
});
