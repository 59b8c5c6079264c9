// Replays spire-agent's call order against the real plugin process:
// handshake, broker stream, stdio stream, Init, Configure, Attest, Deinit,
// Shutdown.

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

import { status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';

import { expectHealthyAndInit, SERVICE, startPlugin, unary, type PluginProcess } from '../../support/plugin-process.js';
import { TEST_POLICY } from '../../support/policy.js';

let plugin: PluginProcess | undefined;

afterEach(() => {
  plugin?.close();
  plugin = undefined;
});

function expectCode(promise: Promise<unknown>, code: status): Promise<ServiceError> {
  return promise.then(
    () => {
      throw new Error(`expected gRPC status ${status[code]}, got success`);
    },
    (err: ServiceError) => {
      expect(status[err.code]).toBe(status[code]);
      return err;
    },
  );
}

describe('plugin protocol (agent call order)', () => {
  it('handshakes once, serves every service, and shuts down on Controller.Shutdown', async () => {
    plugin = await startPlugin();
    const p = plugin;
    expect(p.handshake).toMatch(/^1\|1\|unix\|\/[^|]+\/plugin\.sock\|grpc$/);
    expect(existsSync(p.socketPath)).toBe(true);

    // 1. broker stream: the agent sends ConnInfo for host services (id 1).
    const broker = p.client(SERVICE.broker) as unknown as { StartStream: () => ClientDuplexStream<object, object> };
    const brokerStream = broker.StartStream();
    brokerStream.on('error', () => undefined);
    brokerStream.write({ service_id: 1, network: 'unix', address: '/tmp/plugin-host-services' });

    // 2. stdio stream stays open and silent.
    const stdio = p.client(SERVICE.stdio) as unknown as { StreamStdio: (req: object) => ClientReadableStream<object> };
    const stdioStream = stdio.StreamStdio({});
    const stdioData: unknown[] = [];
    stdioStream.on('data', (d: unknown) => stdioData.push(d));
    stdioStream.on('error', () => undefined);

    // 3-4. health, as go-plugin registers it; Init answers the two SPIRE
    // services the agent binds.
    await expectHealthyAndInit(p);

    // 5. Attest before Configure fails closed.
    await expectCode(unary(p.client(SERVICE.workloadAttestor), 'Attest', { pid: process.pid }), status.FAILED_PRECONDITION);

    // 6. Configure with HCL v1 as SPIRE re-prints it (quoted key kept).
    const hcl = `"docker_socket_path" = "unix:///var/run/docker.sock"\nlog_level = "debug"\n${TEST_POLICY}`;
    await unary(p.client(SERVICE.config), 'Configure', {
      core_configuration: { trust_domain: 'example.org' },
      hcl_configuration: hcl,
    });
    const valid = await unary<{ valid: boolean; notes: string[] }>(p.client(SERVICE.config), 'Validate', {
      core_configuration: { trust_domain: 'example.org' },
      hcl_configuration: hcl,
    });
    expect(valid).toEqual({ valid: true, notes: [] });

    // 7. A bad configuration is InvalidArgument naming the key; Validate says why.
    const bad = await expectCode(unary(p.client(SERVICE.config), 'Configure', { hcl_configuration: 'docker_sock = "unix:///x"' }), status.INVALID_ARGUMENT);
    expect(bad.details).toContain('docker_sock: unknown configuration key');
    const invalid = await unary<{ valid: boolean; notes: string[] }>(p.client(SERVICE.config), 'Validate', {
      hcl_configuration: 'log_level = 3',
    });
    expect(invalid.valid).toBe(false);
    expect(invalid.notes.join()).toContain('log_level: must be a string');
    // plugin_data is decoded in a child process (config/hcl-child.ts): its
    // syntax errors keep their position.
    const syntax = await unary<{ valid: boolean; notes: string[] }>(p.client(SERVICE.config), 'Validate', { hcl_configuration: 'a = "\\z"' });
    expect(syntax).toEqual({ valid: false, notes: ['plugin_data: HCL syntax error at line 1, column 7: illegal char escape'] });

    // 8. Attest: this test process is not in a container -> no selectors.
    const attested = await unary<{ selector_values: string[] }>(p.client(SERVICE.workloadAttestor), 'Attest', { pid: process.pid });
    expect(attested.selector_values).toEqual([]);
    await expectCode(unary(p.client(SERVICE.workloadAttestor), 'Attest', { pid: 0 }), status.INVALID_ARGUMENT);
    await expectCode(unary(p.client(SERVICE.workloadAttestor), 'Attest', { pid: 2_000_000_000 }), status.NOT_FOUND);

    // 9. AttestReference is not served: the agent falls back to Attest.
    await expectCode(unary(p.client(SERVICE.workloadAttestor), 'AttestReference', {}), status.UNIMPLEMENTED);

    // 10. Deinit, then Shutdown: the process exits promptly and removes its socket.
    await unary(p.client(SERVICE.init), 'Deinit', {});
    const shutdownAt = Date.now();
    await unary(p.client(SERVICE.controller), 'Shutdown', {});
    const exit = await p.exited;
    expect(Date.now() - shutdownAt).toBeLessThan(1000);
    expect(exit.code).toBe(0);
    expect(existsSync(p.socketPath)).toBe(false);
    expect(existsSync(dirname(p.socketPath))).toBe(false);
    expect(stdioData).toEqual([]);

    // Exactly one line ever reached stdout: the handshake.
    expect(p.stdout()).toBe(`${p.handshake}\n`);
    // Every stderr line is an hclog JSON entry with string @level/@message
    // and a @timestamp with exactly six fractional digits (Go's layout).
    const lines = p
      .stderr()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(typeof entry['@level']).toBe('string');
      expect(typeof entry['@message']).toBe('string');
      expect(entry['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    }
    expect(p.stderr()).toContain('"trust_domain":"example.org","@level":"info","@message":"configured"');
  });

  it('ignores SIGINT and exits cleanly on SIGTERM', async () => {
    plugin = await startPlugin();
    const p = plugin;
    p.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const health = await unary<{ status: string }>(p.client(SERVICE.health), 'Check', { service: 'plugin' });
    expect(health.status).toBe('SERVING');
    p.child.kill('SIGTERM');
    const exit = await p.exited;
    expect(exit.code).toBe(0);
    expect(existsSync(dirname(p.socketPath))).toBe(false);
  });

  it('refuses a host that offers no protocol version 1', async () => {
    await expect(startPlugin({ PLUGIN_PROTOCOL_VERSIONS: '2,3' })).rejects.toThrow(/exited before the handshake.*protocol versions \[2,3\]/s);
  });
});
