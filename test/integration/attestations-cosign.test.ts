// Real `cosign attest --key` (no transparency log exists here) in both
// formats, legacy `.att` layers and cosign v3 bundles (tag fallback: this
// registry has no referrers API), with SLSA provenance v1 and v0.2 and a
// custom predicate type; the whole attestor turns them into attestation
// selectors. The wrong builder, the wrong key, an attestation copied from
// another image and a signature-only policy get none.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { attestWithKey, generateKeyPair, signWithKey, slsaPredicate } from '../support/cosign.js';
import { putManifest } from '../support/registries.js';
import { PLUGIN_BIN } from '../support/plugin-process.js';
import { describeWithRig, run as runCmd } from '../support/rig.js';
import { RunningImages } from '../support/workload-image.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { KeyPair } from '../support/cosign.js';

const BUILDER = 'https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main';
const REPOSITORY = 'https://github.com/acme/api';
const COMMIT = '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c';
const SOURCE = `git+${REPOSITORY}@refs/heads/main`;
const CUSTOM = 'https://example.com/custom/v1';

const ATTESTATION_PREFIXES = ['image-attestation', 'image-provenance'];
const attestationSelectors = (r: AttestReport): string[] => r.selectors.filter((s) => ATTESTATION_PREFIXES.some((p) => s.startsWith(`${p}`)));
const signatureSelectors = (r: AttestReport): string[] => r.selectors.filter((s) => s.startsWith('image-signature'));

describeWithRig('cosign attestations through the attestor', ['docker', 'registry', 'cosign'], (rig) => {
  const run = process.pid;
  const repo = `${rig.registry}/ssa-att/app-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'ssa-attest-'));
  let releaseKey: KeyPair;
  let otherKey: KeyPair;
  const images = new RunningImages(rig, repo, run);
  const { pids, digests } = images;

  const predicate = (name: string, value: object): string => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  // offline: nothing here may reach the public-good TUF repository.
  const keyBlock = (key: KeyPair): string =>
    `key {\n name = "release"\n path = "${key.publicKey}"\n}\nrequire_tlog = false\noffline = true\npersist_verdicts = false\n`;
  const rules = `
attestation "slsa-build" {
  predicate_type = "https://slsa.dev/provenance/v1"
  key            = "release"
  builder_id     = "${BUILDER}"
  source_uri     = "${SOURCE}"
}
attestation "slsa-v02" {
  predicate_type    = "https://slsa.dev/provenance/v0.2"
  key               = "release"
  builder_id_regexp = "https://github.com/acme/[^/]+/.github/workflows/release.yml@refs/heads/main"
}
attestation "custom" {
  predicate_type = "${CUSTOM}"
  key            = "release"
}
`;
  const config = (policy: string): string => `docker_socket_path = "${rig.dockerHost}"\nregistry "${rig.registry}" { insecure = true }\n${policy}`;
  const explain = (name: string, policy: string): Promise<AttestReport> =>
    createAttestor(buildConfig(config(policy)), silentLogger).explain(pids[name] ?? -1, AbortSignal.timeout(30_000));

  beforeAll(async () => {
    releaseKey = await generateKeyPair(rig, dir, 'release');
    otherKey = await generateKeyPair(rig, dir, 'other');
    for (const name of ['legacy', 'bundle', 'v02', 'other-builder', 'wrong-key', 'copied', 'signed']) await images.add(name);
    const v1 = predicate('v1', slsaPredicate('v1', { builderId: BUILDER, repository: REPOSITORY, ref: 'refs/heads/main', commit: COMMIT }));
    const v02 = predicate('v02', slsaPredicate('v0.2', { builderId: BUILDER, repository: REPOSITORY, ref: 'refs/heads/main', commit: COMMIT }));
    const evil = predicate(
      'evil',
      slsaPredicate('v1', {
        builderId: 'https://github.com/evil/x/.github/workflows/b.yml@refs/heads/main',
        repository: REPOSITORY,
        ref: 'refs/heads/main',
        commit: COMMIT,
      }),
    );
    const custom = predicate('custom', { reviewed: true, by: 'security-team' });
    const at = (name: string): string => `${repo}@${digests[name]}`;
    await attestWithKey(rig, at('legacy'), releaseKey, 'legacy', 'slsaprovenance1', v1);
    await attestWithKey(rig, at('legacy'), releaseKey, 'legacy', CUSTOM, custom);
    await attestWithKey(rig, at('bundle'), releaseKey, 'bundle', 'slsaprovenance1', v1);
    await attestWithKey(rig, at('bundle'), releaseKey, 'bundle', CUSTOM, custom);
    await attestWithKey(rig, at('v02'), releaseKey, 'bundle', 'slsaprovenance', v02);
    await attestWithKey(rig, at('other-builder'), releaseKey, 'bundle', 'slsaprovenance1', evil);
    await attestWithKey(rig, at('wrong-key'), otherKey, 'bundle', 'slsaprovenance1', v1);
    await signWithKey(rig, at('signed'), releaseKey, 'bundle');
    await attestWithKey(rig, at('signed'), releaseKey, 'bundle', 'slsaprovenance1', v1);
  }, 300_000);

  afterAll(async () => {
    await images.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const PROVENANCE = [
    `image-provenance-build-type:https://actions.github.io/buildtypes/workflow/v1`,
    `image-provenance-builder-id:${BUILDER}`,
    `image-provenance-source-digest:gitCommit:${COMMIT}`,
    `image-provenance-source-uri:${SOURCE}`,
  ];

  it('legacy .att layers (SLSA v1 and a custom type) give image-attestation and provenance selectors, and no signature selectors', async () => {
    const report = await explain('legacy', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual(['image-attestation:custom', 'image-attestation:slsa-build', ...PROVENANCE]);
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures?.attestations.map((a) => [a.format, a.predicateType, a.rules])).toEqual(
      expect.arrayContaining([
        ['att', 'https://slsa.dev/provenance/v1', ['slsa-build']],
        ['att', CUSTOM, ['custom']],
      ]),
    );
    expect(report.selectors).toContain(`image_digest:${digests['legacy']}`);
  });

  it('cosign v3 attestation bundles give the same selectors', async () => {
    const report = await explain('bundle', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual(['image-attestation:custom', 'image-attestation:slsa-build', ...PROVENANCE]);
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures?.attestations.every((a) => a.format === 'bundle')).toBe(true);
  });

  it('SLSA provenance v0.2 is read from builder.id and invocation.configSource', async () => {
    const report = await explain('v02', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual([
      'image-attestation:slsa-v02',
      'image-provenance-build-type:https://github.com/slsa-framework/slsa-github-generator/container@v1',
      `image-provenance-builder-id:${BUILDER}`,
      `image-provenance-source-digest:sha1:${COMMIT}`,
      `image-provenance-source-uri:${SOURCE}`,
    ]);
  });

  it('provenance from another builder satisfies no rule (REQUIREMENT_UNMET) and gives no selectors', async () => {
    const report = await explain('other-builder', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected).toEqual([
      expect.objectContaining({ kind: 'attestation', code: 'REQUIREMENT_UNMET', predicateType: 'https://slsa.dev/provenance/v1' }),
    ]);
  });

  it('an attestation by another key gives no selectors', async () => {
    const report = await explain('wrong-key', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected[0]?.code).toBe('SIGNATURE_INVALID');
  });

  it('a signature-only policy is never satisfied by an attestation (cosign verify would accept it)', async () => {
    const report = await explain('bundle', keyBlock(releaseKey));
    expect(signatureSelectors(report)).toEqual([]);
    expect(attestationSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected.map((r) => r.code)).toEqual(['PREDICATE_UNEXPECTED', 'PREDICATE_UNEXPECTED']);
  });

  it('a signed and attested image gets both kinds of selectors, each from its own kind', async () => {
    const report = await explain('signed', keyBlock(releaseKey) + rules);
    expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    expect(attestationSelectors(report)).toEqual(['image-attestation:slsa-build', ...PROVENANCE]);
    expect(report.signatures?.accepted).toHaveLength(1);
    expect(report.signatures?.attestations).toHaveLength(1);
  });

  it('an attestation copied from another image is rejected: its statement names the other digest', async () => {
    const target = { url: `http://${rig.registry}`, repository: `ssa-att/app-${run}` };
    const attTag = (d: string) => `${d.replace(':', '-')}.att`;
    const res = await fetch(`${target.url}/v2/${target.repository}/manifests/${attTag(digests['legacy'] ?? '')}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    await putManifest(target, attTag(digests['copied'] ?? ''), bytes, 'application/vnd.oci.image.manifest.v1+json');
    const report = await explain('copied', keyBlock(releaseKey) + rules);
    expect(attestationSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected.map((r) => r.code)).toEqual(['PAYLOAD_MISMATCH', 'PAYLOAD_MISMATCH']);
  });

  it('concurrent attestations of one attested image share one discovery and verification', async () => {
    const attestor = createAttestor(buildConfig(config(keyBlock(releaseKey) + rules)), silentLogger);
    const pid = pids['bundle'] ?? -1;
    const reports = await Promise.all(Array.from({ length: 30 }, () => attestor.explain(pid, AbortSignal.timeout(30_000))));
    for (const r of reports) expect(attestationSelectors(r)).toEqual(['image-attestation:custom', 'image-attestation:slsa-build', ...PROVENANCE]);
    expect(attestor.signatureLoads).toBe(1);
    await attestor.close();
  });

  it('`verify --json` reports attestations next to signatures and exits 0 when a rule holds, 1 when none does', async () => {
    const policy = join(dir, 'policy.hcl');
    writeFileSync(policy, `registry "${rig.registry}" { insecure = true }\n${keyBlock(releaseKey)}${rules}`);
    const env = { SPIRE_SIGSTORE_ATTESTOR_NODE: process.execPath };
    const good = await runCmd(PLUGIN_BIN, ['verify', '--config', policy, '--json', `${repo}:bundle`], { env, timeoutMs: 30_000 });
    expect(good.code).toBe(0);
    const out = JSON.parse(good.stdout) as {
      verified: boolean;
      selectors: string[];
      attestations: { predicateType: string; verified: boolean; key?: string; selectors?: string[] }[];
    };
    expect(out.verified).toBe(true);
    expect(out.selectors).toContain('image-attestation:slsa-build');
    expect(out.attestations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          predicateType: 'https://slsa.dev/provenance/v1',
          verified: true,
          key: 'release',
          selectors: expect.arrayContaining(['image-attestation:slsa-build']),
        }),
        expect.objectContaining({ predicateType: CUSTOM, verified: true, selectors: ['image-attestation:custom'] }),
      ]),
    );
    const bad = await runCmd(PLUGIN_BIN, ['verify', '--config', policy, '--json', `${repo}:other-builder`], { env, timeoutMs: 30_000 });
    expect(bad.code).toBe(1);
    const badOut = JSON.parse(bad.stdout) as { verified: boolean; attestations: { verified: boolean; error?: string }[] };
    expect(badOut.verified).toBe(false);
    expect(badOut.attestations[0]?.error).toMatch(/^REQUIREMENT_UNMET: /);
  });
});
