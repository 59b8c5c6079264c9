// The binary in CLI mode: help, version, usage errors, and `verify` on a
// real public-good cosign v3 bundle, offline.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { launcherV8Flags } from '../../support/launcher-flags.js';
import { PLUGIN_BIN, REPO_ROOT } from '../../support/plugin-process.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ssa-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(PLUGIN_BIN, args, { env: { ...process.env, SPIRE_SIGSTORE_ATTESTOR_NODE: process.execPath }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Offline: the public-good root is used as embedded, never refreshed (the
// tests have no network).
function policyFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, `offline = true\npersist_verdicts = false\n${text}`);
  return path;
}

const BUNDLE = join(REPO_ROOT, 'test/fixtures/sigstore/bundle_v03.json');
const IMAGE = 'ghcr.io/kubewarden/kubewarden-controller@sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172';
const GITHUB = 'https://token.actions.githubusercontent.com';

describe('CLI', () => {
  it('says it is a SPIRE plugin and how to configure it', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a SPIRE WorkloadAttestor plugin');
    expect(r.stdout).toContain('plugin_cmd');
    expect((await cli(['version'])).stdout).toMatch(/^spire-sigstore-attestor \d+\.\d+\.\d+/);
  });

  it('exits 2 on usage and configuration errors', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['attest'])).code).toBe(2);
    expect((await cli(['verify'])).code).toBe(2);
    const r = await cli(['verify', '--config', policyFile('empty.hcl', ''), '--bundle', BUNDLE, IMAGE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('at least one identity { }, key { } or attestation { } block is required');
  });

  it('verifies a real public-good cosign v3 bundle offline and prints the signer selectors', async () => {
    const policy = policyFile(
      'ok.hcl',
      `identity {\n issuer = "${GITHUB}"\n subject_regexp = "https://github.com/kubewarden/kubewarden-controller/[.]github/workflows/release[.]yml@refs/tags/v.*"\n claims { source_repository_ref = "refs/tags/v1.34.0" }\n}\n`,
    );
    const r = await cli(['verify', '--config', policy, '--bundle', BUNDLE, '--json', IMAGE]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { verified: boolean; selectors: string[]; signatures: { verified: boolean; issuer?: string }[] };
    expect(out.verified).toBe(true);
    expect(out.selectors).toEqual(
      expect.arrayContaining([
        'image-signature:verified',
        `image-signature-issuer:${GITHUB}`,
        'image-signature-subject:https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0',
        'image-signature-source-repository-uri:https://github.com/kubewarden/kubewarden-controller',
      ]),
    );
    expect(out.signatures).toEqual([expect.objectContaining({ verified: true, issuer: GITHUB, trustedRoot: 'public-good' })]);
  });

  it('verify --bundle takes an attestation bundle: reported under attestations, exit 0 only when an attestation rule holds', async () => {
    const bundle = join(REPO_ROOT, 'test/fixtures/sigstore/oci-attestation.sigstore.json');
    const image = 'registry.test/empty@sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
    const rule = (subject: string): string =>
      `attestation "reviewed" {\n predicate_type = "https://cosign.sigstore.dev/attestation/v1"\n identity {\n issuer = "https://github.com/login/oauth"\n subject = "${subject}"\n }\n}\n`;
    const ok = await cli(['verify', '--config', policyFile('att.hcl', rule('cody@soyland.com')), '--bundle', bundle, '--json', image]);
    expect(ok.code).toBe(0);
    const out = JSON.parse(ok.stdout) as { verified: boolean; selectors: string[]; signatures: unknown[]; attestations: unknown[] };
    expect(out).toMatchObject({ verified: true, signatures: [] });
    expect(out.selectors).toContain('image-attestation:reviewed');
    expect(out.attestations).toEqual([
      expect.objectContaining({
        predicateType: 'https://cosign.sigstore.dev/attestation/v1',
        verified: true,
        subject: 'cody@soyland.com',
        rules: ['reviewed'],
        selectors: ['image-attestation:reviewed'],
      }),
    ]);
    const other = await cli(['verify', '--config', policyFile('att-other.hcl', rule('mallory@example.com')), '--bundle', bundle, image]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('UNTRUSTED_SIGNER');
  });

  it('exits 1 with the reason when the signer is not in the policy', async () => {
    const policy = policyFile('other.hcl', `identity {\n issuer = "${GITHUB}"\n subject_regexp = "https://github.com/kubewarden/kubewarden-controller"\n}\n`);
    const r = await cli(['verify', '--config', policy, '--bundle', BUNDLE, IMAGE]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('UNTRUSTED_SIGNER');
    expect(r.stdout).toContain('No signature or attestation verified');
  });

  it('exits 1 when the bundle is for another image digest', async () => {
    const policy = policyFile('any-kw.hcl', `identity {\n issuer = "${GITHUB}"\n subject_regexp = ".*"\n}\n`);
    const other = IMAGE.replace(/c811d58d/, '0000000d');
    const r = await cli(['verify', '--config', policy, '--bundle', BUNDLE, other]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('PAYLOAD_MISMATCH');
  });
});

// The machine's own Node.js (these machines ship 20) as an old one.
describe("the launcher's V8 flags", () => {
  it('are read from its V8_FLAGS line (as the single executable is built) and accepted by this Node.js', () => {
    const flags = launcherV8Flags(join(REPO_ROOT, 'bin/spire-sigstore-attestor'));
    expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--no-concurrent-recompilation']));
    expect(execFileSync(process.execPath, [...flags, '-p', '"ok"'], { encoding: 'utf8' }).trim()).toBe('ok');
  });
});

const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((bin) => {
  try {
    return Number(execFileSync(bin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim()) < 22;
  } catch {
    return false;
  }
});

describe.skipIf(OLD_NODE === undefined)(
  `the launcher on an unsupported Node.js${OLD_NODE === undefined ? ' [skipped: no Node.js older than 22 on this machine]' : ''}`,
  () => {
    it('says which Node.js it needs and exits 2, instead of a SyntaxError', async () => {
      const result = await exec(PLUGIN_BIN, ['version'], { env: { ...process.env, SPIRE_SIGSTORE_ATTESTOR_NODE: OLD_NODE ?? '' } }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/needs Node\.js \^22\.22\.2 \|\| \^24\.15\.0 \|\| >=26\.0\.0 .*this is v\d+/);
      expect(result.stderr).not.toMatch(/SyntaxError/);
    });
  },
);
