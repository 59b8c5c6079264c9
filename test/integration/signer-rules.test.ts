// Security review F2: two accepted signatures on one image must not add up
// to a signer neither of them is. Signer A is the release workflow on a
// self-hosted runner; signer B another acme workflow on a GitHub-hosted
// runner, accepted by a broader rule. An entry "release workflow AND
// github-hosted" names no real signer. Through the whole pipeline: a real
// container, the real registry, real verification against a test Sigstore.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { CLAIMS } from '../../src/verify/claims.js';
import { pushLegacySignature } from '../support/push-signature.js';
import { describeWithRig, docker, type Rig } from '../support/rig.js';
import { fulcioExtensions, keylessLegacy, mockSigstore } from '../unit/verify/support/rig.js';

import type { Digest } from '../../src/registry/types.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const RELEASE = 'https://github.com/acme/payments/.github/workflows/release.yml@refs/tags/v1';
const NIGHTLY = 'https://github.com/acme/payments/.github/workflows/nightly.yml@refs/heads/main';
const RUNNER = CLAIMS['runner_environment']?.oid ?? '';

// What SPIRE does with an entry: it matches when its selectors are a subset
// of the workload's.
const matches = (entry: readonly string[], selectors: readonly string[]): boolean => entry.every((s) => selectors.includes(s));

async function ok(rig: Rig, args: string[], input?: string): Promise<string> {
  const r = await docker(rig, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

describeWithRig('signer selectors: one signer must satisfy a whole rule', ['docker', 'registry'], (rig) => {
  const dir = mkdtempSync(join(tmpdir(), 'ssa-signers-'));
  const repository = `ssa-signers/app-${process.pid}`;
  const tag = `${rig.registry}/${repository}:1`;
  let container = '';
  let pid = 0;
  let trustedRoot = '';

  const policy = (mode: 'all' | 'named'): string =>
    [
      `docker_socket_path = "${rig.dockerHost}"`,
      `registry "${rig.registry}" { insecure = true }`,
      `trusted_root_file = "${trustedRoot}"`,
      `persist_verdicts = false`,
      `signer_selectors = "${mode}"`,
      `identity {\n name = "release"\n issuer = "${ISSUER}"\n subject = "${RELEASE}"\n}`,
      `identity {\n name = "release-github-hosted"\n issuer = "${ISSUER}"\n subject = "${RELEASE}"\n claims { runner_environment = "github-hosted" }\n}`,
      `identity {\n name = "acme"\n issuer = "${ISSUER}"\n subject_regexp = "https://github\\\\.com/acme/.*"\n}`,
      '',
    ].join('\n');
  const selectorsWith = async (mode: 'all' | 'named'): Promise<readonly string[]> =>
    (await createAttestor(buildConfig(policy(mode)), silentLogger).explain(pid, AbortSignal.timeout(30_000))).selectors;

  beforeAll(async () => {
    await ok(rig, ['build', '-q', '-t', tag, '-'], `FROM ${rig.busyboxImage}\nLABEL app=signers-${process.pid}\n`);
    await ok(rig, ['push', '-q', tag]);
    const repoDigest = await ok(rig, ['image', 'inspect', '-f', '{{index .RepoDigests 0}}', tag]);
    const digest = repoDigest.slice(repoDigest.indexOf('@') + 1) as Digest;
    container = await ok(rig, ['run', '-d', '--network', 'none', tag, 'sleep', '600']);
    pid = Number(await ok(rig, ['inspect', '-f', '{{.State.Pid}}', container]));

    const sigstore = await mockSigstore();
    trustedRoot = join(dir, 'trusted_root.json');
    writeFileSync(trustedRoot, JSON.stringify(sigstore.trustedRoot));
    const a = await keylessLegacy(sigstore, digest, { san: RELEASE, extensions: fulcioExtensions(ISSUER, { [RUNNER]: 'self-hosted' }) });
    const b = await keylessLegacy(sigstore, digest, { san: NIGHTLY, extensions: fulcioExtensions(ISSUER, { [RUNNER]: 'github-hosted' }) });
    await pushLegacySignature({ url: `http://${rig.registry}`, repository }, a.candidate, b.candidate);
  }, 240_000);

  afterAll(async () => {
    if (container !== '') await docker(rig, ['rm', '-f', container]);
    await docker(rig, ['rmi', '-f', tag]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("named-rule selectors: each signer's own rules, never a rule only the two together satisfy", async () => {
    const selectors = await selectorsWith('named');
    expect(selectors.filter((s) => s.startsWith('image-signature'))).toEqual([
      'image-signature-identity:acme',
      'image-signature-identity:release',
      'image-signature:verified',
    ]);
    expect(matches(['image-signature-identity:release'], selectors)).toBe(true);
    expect(matches(['image-signature-identity:acme'], selectors)).toBe(true);
    expect(matches(['image-signature-identity:release-github-hosted'], selectors)).toBe(false);
    // Per-field selectors are not emitted at all in this mode.
    expect(matches([`image-signature-subject:${RELEASE}`, 'image-signature-runner-environment:github-hosted'], selectors)).toBe(false);
  });

  it('with the per-field selectors too ("all"), a per-field entry is satisfied by the two signers together - why entries should use named rules', async () => {
    const selectors = await selectorsWith('all');
    expect(matches(['image-signature-identity:release-github-hosted'], selectors)).toBe(false);
    expect(selectors).toContain('image-signature-identity:release');
    // The hazard the README warns of: no signer is both of these.
    expect(matches([`image-signature-subject:${RELEASE}`, 'image-signature-runner-environment:github-hosted'], selectors)).toBe(true);
  });
});
