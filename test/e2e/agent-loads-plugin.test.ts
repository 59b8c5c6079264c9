// A real spire-agent (v1.15.3) loads our plugin through plugin_cmd, checks
// plugin_checksum, passes plugin_data to Configure, calls Attest for a
// workload's PID, and shuts the plugin down cleanly. A bad plugin_data makes
// the agent refuse to start with our message.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { describeWithRig } from '../support/rig.js';
import { fetchX509, joinToken, launchAgent, startSpireAgent, startSpireServer, waitFor } from '../support/spire.js';

import type { SpireAgent, SpireServer } from '../support/spire.js';
import { TEST_POLICY } from '../support/policy.js';

describeWithRig('spire-agent loads the plugin', ['spire'], (rig) => {
  let dir: string;
  let server: SpireServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssa-e2e-'));
    server = await startSpireServer(rig.spireServer, join(dir, 'server'));
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads, configures, attests a workload PID, and shuts the plugin down', async () => {
    const token = await joinToken(server);
    let agent: SpireAgent | undefined;
    try {
      agent = await startSpireAgent({
        bin: rig.spireAgent,
        dir: join(dir, 'agent-ok'),
        server,
        token,
        pluginData: `      "docker_socket_path" = "unix://${rig.dockerSocket}"\n      log_level = "debug"\n${TEST_POLICY}`,
      });
      const a = agent;
      // Loaded as an external plugin named "docker" with our checksum verified.
      await waitFor('plugin loaded', () => /Plugin loaded.*external=true.*plugin_name=docker/.test(a.log()));
      // Configure reached us with the HCL (our own log line, relayed by the agent).
      expect(a.log()).toMatch(/configured.*trust_domain=example\.org/);

      // A workload calls the Workload API; the agent attests its PID through us.
      const workload = await fetchX509(rig.spireAgent, a.socketPath, 2);
      await waitFor(`Attest for pid ${workload.pid}`, () => new RegExp(`attested.*pid=${workload.pid}\\b`).test(a.log()), 10_000);
      // Not in a container -> no selectors -> no identity for it.
      expect(workload.code).not.toBe(0);

      const exit = await a.stop();
      expect(exit.code).toBe(0);
      // The agent asked the plugin to stop, and it did without being killed.
      expect(a.log()).toMatch(/plugin stopping/);
      expect(a.log()).not.toMatch(/plugin failed to exit gracefully/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- agent log ---\n${agent?.log() ?? ''}`);
    } finally {
      await agent?.stop();
    }
  });

  it('refuses to start with a bad plugin_data and shows our error', async () => {
    const token = await joinToken(server);
    const agent = launchAgent({
      bin: rig.spireAgent,
      dir: join(dir, 'agent-bad'),
      server,
      token,
      pluginData: '      docker_socket = "unix:///var/run/docker.sock"\n      log_level = "loud"',
    });
    const exit = await Promise.race([
      agent.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent still running:\n${agent.log()}`)), 30_000)),
    ]).finally(() => agent.stop());
    expect(exit.code).not.toBe(0);
    expect(agent.log()).toMatch(/failed to configure plugin \\"docker\\".*InvalidArgument.*docker_socket: unknown configuration key/);
    expect(agent.log()).toContain('log_level: must be one of trace, debug, info, warn, error, got \\"loud\\"');
  });
});
