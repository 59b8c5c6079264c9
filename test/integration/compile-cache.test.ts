// Security review F1: a local user who owns `node-compile-cache` in the
// shared temp directory plants compiled code for the plugin's attestor
// module. The root-run plugin, CLI and plugin mode alike, must not run it:
// a host process still gets no selectors.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { asNobody, plantForgedAttestor } from '../support/compile-cache-attack.js';
import { REPO_ROOT, SERVICE, expectHealthyAndInit, startPlugin, unary } from '../support/plugin-process.js';
import { TEST_POLICY } from '../support/policy.js';
import { describeAsRoot, run } from '../support/rig.js';

import type { PlantedEntry } from '../support/compile-cache-attack.js';

const LAUNCHER = join(REPO_ROOT, 'bin/spire-sigstore-attestor');
const FORGED = [
  'image-signature-subject:https://github.com/acme/payments/.github/workflows/release.yml@refs/tags/v1.4.0',
  'image-signature:verified',
  'image_binding:bound',
];

describeAsRoot('compile cache: code planted in a shared temp dir is never run', () => {
  let work: string;
  let planted: PlantedEntry;
  let policyFile: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ssa-f1-'));
    planted = plantForgedAttestor(join(REPO_ROOT, 'dist/app/compose.js'), work, FORGED);
    policyFile = join(work, 'policy.hcl');
    writeFileSync(policyFile, TEST_POLICY);
  }, 60_000);

  afterAll(() => {
    for (const dir of [work, planted?.sharedTmp]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the planted entry is the attacker's", () => {
    expect(statSync(planted.entry).uid).toBe(65534);
    expect(statSync(join(planted.sharedTmp, 'node-compile-cache')).uid).toBe(65534);
  });

  it('CLI: a host PID gets no selectors with the poisoned TMPDIR', async () => {
    const r = await run(LAUNCHER, ['attest', '--pid', String(process.pid), '--config', policyFile], { env: { TMPDIR: planted.sharedTmp } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`pid ${process.pid}: no selectors (host)\n`);
  });

  it("CLI: NODE_COMPILE_CACHE pointing at the attacker's directory is ignored by the launcher", async () => {
    const r = await run(LAUNCHER, ['attest', '--pid', String(process.pid), '--config', policyFile], {
      env: { NODE_COMPILE_CACHE: join(planted.sharedTmp, 'node-compile-cache') },
    });
    expect(r.stdout).toBe(`pid ${process.pid}: no selectors (host)\n`);
  });

  it('without the launcher, a NODE_COMPILE_CACHE in a directory others can write makes the plugin refuse to start', async () => {
    const args = [join(REPO_ROOT, 'dist/main.js'), 'attest', '--pid', String(process.pid), '--config', policyFile];
    // Node itself starts writing there before any of our code runs, so a
    // directory of its own, the attacker's too.
    const theirs = join(planted.sharedTmp, 'their-cache');
    asNobody(['mkdir', theirs]);
    const r = await run(process.execPath, args, { env: { NODE_COMPILE_CACHE: theirs } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refusing to start: NODE_COMPILE_CACHE names a directory others can write/);
  });

  it('plugin mode: Attest for a host PID returns no selectors with the poisoned TMPDIR', async () => {
    const plugin = await startPlugin({ TMPDIR: planted.sharedTmp }, LAUNCHER);
    try {
      await expectHealthyAndInit(plugin);
      await unary(plugin.client(SERVICE.config), 'Configure', { hcl_configuration: TEST_POLICY, core_configuration: { trust_domain: 'example.org' } });
      const answer = await unary<{ selector_values: string[] }>(plugin.client(SERVICE.workloadAttestor), 'Attest', { pid: process.pid });
      expect(answer.selector_values).toEqual([]);
    } finally {
      plugin.close();
    }
  });

  it("the plugin never wrote to the shared temp dir's compile cache", async () => {
    // Before the fix Node kept an entry there for every module it loaded.
    const rootOwned = await run('find', [join(planted.sharedTmp, 'node-compile-cache'), '-user', '0']);
    expect(rootOwned.stdout.trim()).toBe('');
  });
});
