// The single-executable build (dist-sea/spire-sigstore-attestor, made by
// `npm run build:sea`) speaks the plugin protocol on its own: handshake,
// Init, Configure, Shutdown, with the protos, package.json and trusted root
// coming from its embedded assets. Skipped, with the reason in the suite
// name, when the executable has not been built: `npm test` does not build it.

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { SEA_BIN, SERVICE, startPlugin, unary, type PluginProcess } from '../../support/plugin-process.js';

const NAME = 'single-executable plugin (dist-sea)';
const POLICY = 'identity {\n  issuer  = "https://issuer.invalid"\n  subject = "nobody@example.invalid"\n}\n';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

if (!existsSync(SEA_BIN)) {
  describe.skip(`${NAME} [skipped: dist-sea/spire-sigstore-attestor not built; run npm run build:sea]`, () => {
    it('handshakes, inits, configures and shuts down', () => {});
  });
} else {
  describe(NAME, () => {
    let plugin: PluginProcess | undefined;

    afterEach(() => {
      plugin?.close();
      plugin = undefined;
    });

    it('handshakes, inits, configures and shuts down', async () => {
      plugin = await startPlugin({}, SEA_BIN);
      const p = plugin;
      expect(p.handshake).toMatch(/^1\|1\|unix\|\/[^|]+\/plugin\.sock\|grpc$/);

      const health = await unary<{ status: string }>(p.client(SERVICE.health), 'Check', { service: 'plugin' });
      expect(health.status).toBe('SERVING');

      const init = await unary<{ plugin_service_names: string[] }>(p.client(SERVICE.init), 'Init', {
        host_service_names: ['spire.hostservice.common.metrics.v1.Metrics'],
      });
      expect(init.plugin_service_names).toEqual([
        'spire.plugin.agent.workloadattestor.v1.WorkloadAttestor',
        'spire.service.common.config.v1.Config',
      ]);

      // Configure loads the embedded public-good trusted root.
      await unary(p.client(SERVICE.config), 'Configure', {
        core_configuration: { trust_domain: 'example.org' },
        hcl_configuration: POLICY,
      });

      const shutdownAt = Date.now();
      await unary(p.client(SERVICE.controller), 'Shutdown', {});
      const exit = await p.exited;
      expect(Date.now() - shutdownAt).toBeLessThan(1000);
      expect(exit.code).toBe(0);
      expect(p.stdout()).toBe(`${p.handshake}\n`);
      expect(p.stderr()).toContain('"@message":"configured"');
    });

    it.skipIf(!existsSync(`${SEA_BIN}.sha256`))('matches the sha256 written next to it', async () => {
      const recorded = readFileSync(`${SEA_BIN}.sha256`, 'utf8').split(/\s+/)[0];
      expect(await sha256(SEA_BIN)).toBe(recorded);
    });
  });
}
