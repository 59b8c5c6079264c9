// The single-executable build (dist-sea/spire-sigstore-attestor, made by
// `npm run build:sea`) speaks the plugin protocol on its own: handshake,
// Init, Configure, Shutdown, with the protos, package.json and trusted root
// coming from its embedded assets. When the executable has not been built
// (`npm test` does not build it) it is skipped with the reason in the suite
// name, except in CI, where .ci/run builds it and its absence fails.

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { expectHealthyAndInit, SEA_BIN, SERVICE, startPlugin, unary, type PluginProcess } from '../../support/plugin-process.js';
import { TEST_POLICY } from '../../support/policy.js';

const NAME = 'single-executable plugin (dist-sea)';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const CI = process.env['CI'] === 'true';

if (!existsSync(SEA_BIN) && CI) {
  // .ci/run builds it: in CI its absence is a failure, not a skip.
  describe(NAME, () => {
    it('is built', () => {
      throw new Error('dist-sea/spire-sigstore-attestor is missing: CI must run npm run build:sea before npm test');
    });
  });
} else if (!existsSync(SEA_BIN)) {
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

      await expectHealthyAndInit(p);

      // Configure loads the embedded public-good trusted root.
      await unary(p.client(SERVICE.config), 'Configure', {
        core_configuration: { trust_domain: 'example.org' },
        hcl_configuration: TEST_POLICY,
      });

      const shutdownAt = Date.now();
      await unary(p.client(SERVICE.controller), 'Shutdown', {});
      const exit = await p.exited;
      expect(Date.now() - shutdownAt).toBeLessThan(1000);
      expect(exit.code).toBe(0);
      expect(p.stdout()).toBe(`${p.handshake}\n`);
      expect(p.stderr()).toContain('"@message":"configured"');
    });

    it.skipIf(!CI && !existsSync(`${SEA_BIN}.sha256`))('matches the sha256 written next to it', async () => {
      const recorded = readFileSync(`${SEA_BIN}.sha256`, 'utf8').split(/\s+/)[0];
      expect(await sha256(SEA_BIN)).toBe(recorded);
    });
  });
}
