// Every plugin_data example under conf/ is valid configuration.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/build.js';
import { REPO_ROOT } from '../../support/plugin-process.js';

const dir = join(REPO_ROOT, 'conf/examples');

describe('conf/examples', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hcl'))) {
    it(`${file} is valid plugin_data`, () => {
      expect(() => buildConfig(readFileSync(join(dir, file), 'utf8'))).not.toThrow();
    });
  }
});

describe('conf/examples/multi-root.hcl', () => {
  it('trusts public-good and a GitHub-instance root, each rule naming its root', () => {
    const config = buildConfig(readFileSync(join(dir, 'multi-root.hcl'), 'utf8'));
    expect(config.signatures.trustRoots.map((r) => [r.name, r.start.kind, r.refresh])).toEqual([
      ['public-good', 'embedded', true],
      ['github', 'file', false],
    ]);
    // require_tlog / require_sct are left to each root (GitHub's has no tlog).
    expect(config.signatures.trustRoots.map((r) => r.requirements)).toEqual([
      { tlog: undefined, sct: undefined },
      { tlog: undefined, sct: undefined },
    ]);
    expect(config.signatures.identities.map((i) => [i.name, i.trustedRoots])).toEqual([
      ['payments-release', ['github']],
      ['distroless', ['public-good']],
    ]);
  });
});

describe('conf/examples/agent-k8s-containerd.conf', () => {
  const text = readFileSync(join(dir, 'agent-k8s-containerd.conf'), 'utf8');

  it('runs the k8s attestor and this plugin, named "sigstore", side by side', () => {
    expect(text).toMatch(/WorkloadAttestor "k8s" \{/);
    expect(text).toMatch(/WorkloadAttestor "sigstore" \{/);
  });

  it("the sigstore plugin's plugin_data is valid and serves containerd's k8s.io namespace", () => {
    const block = /WorkloadAttestor "sigstore" \{[\s\S]*?plugin_data \{\n([\s\S]*?)\n {4}\}\n/.exec(text)?.[1];
    expect(block).toBeDefined();
    const config = buildConfig(block ?? '');
    expect(config.runtimes).toMatchObject({ containerdSocketPath: 'unix:///run/containerd/containerd.sock', containerdNamespaces: ['k8s.io'] });
    expect(config.signatures.identities.map((i) => i.name)).toEqual(['payments-release']);
  });

  it('the entries combine k8s selectors with the signer rule the config names', () => {
    const entries = readFileSync(join(dir, 'k8s-entries.sh'), 'utf8');
    expect(entries).toMatch(/-selector k8s:ns:payments \\\n\s+-selector k8s:sa:api \\\n\s+-selector sigstore:image-signature-identity:payments-release\n/);
  });
});
