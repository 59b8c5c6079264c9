// Real cosign (key-based; no transparency log exists here) signs images in
// the rig registry, legacy `.sig` and cosign v3 bundles (OCI referrers, tag
// fallback), and the whole attestor - container, binding, discovery,
// verification, policy - turns them into signer selectors. Unsigned images,
// the wrong key and a signature copied from another image get none.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { generateKeyPair, signWithKey } from '../support/cosign.js';
import { putManifest } from '../support/registries.js';
import { PLUGIN_BIN } from '../support/plugin-process.js';
import { describeWithRig, run as runCmd } from '../support/rig.js';
import { RunningImages } from '../support/workload-image.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { KeyPair } from '../support/cosign.js';

const SIGNATURE_PREFIX = 'image-signature';

describeWithRig('cosign signatures through the attestor', ['docker', 'registry', 'cosign'], (rig) => {
  const run = process.pid;
  const repo = `${rig.registry}/ssa-sig/app-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'ssa-cosign-'));
  let releaseKey: KeyPair;
  let otherKey: KeyPair;
  const images = new RunningImages(rig, repo, run);
  const { pids, digests } = images;

  const explain = (name: string, policy: string): Promise<AttestReport> =>
    createAttestor(buildConfig(`docker_socket_path = "${rig.dockerHost}"\nregistry "${rig.registry}" { insecure = true }\n${policy}`), silentLogger).explain(
      pids[name] ?? -1,
      AbortSignal.timeout(30_000),
    );

  const keyPolicy = (key: KeyPair, name = 'release'): string =>
    `key {\n name = "${name}"\n path = "${key.publicKey}"\n}\nrequire_tlog = false\noffline = true\npersist_verdicts = false\n`;
  const signatureSelectors = (r: AttestReport) => r.selectors.filter((s) => s.startsWith(SIGNATURE_PREFIX));

  beforeAll(async () => {
    releaseKey = await generateKeyPair(rig, dir, 'release');
    otherKey = await generateKeyPair(rig, dir, 'other');
    for (const name of ['legacy', 'bundle', 'unsigned', 'copied']) await images.add(name);
    await signWithKey(rig, `${repo}@${digests['legacy']}`, releaseKey, 'legacy');
    await signWithKey(rig, `${repo}@${digests['bundle']}`, releaseKey, 'bundle');
  }, 240_000);

  afterAll(async () => {
    await images.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a legacy .sig signature by the configured key gives image-signature-key selectors', async () => {
    const report = await explain('legacy', keyPolicy(releaseKey));
    expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    expect(report.signatures?.accepted).toEqual([expect.objectContaining({ format: 'legacy', tlog: false })]);
    expect(report.selectors).toContain(`image_digest:${digests['legacy']}`);
  });

  it('a cosign v3 bundle (OCI referrer) by the configured key gives the same selectors', async () => {
    const report = await explain('bundle', keyPolicy(releaseKey));
    expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    expect(report.signatures?.accepted).toEqual([expect.objectContaining({ format: 'bundle' })]);
  });

  it('an unsigned image gets no signature selectors (but keeps its binding)', async () => {
    const report = await explain('unsigned', keyPolicy(releaseKey));
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures).toEqual({ accepted: [], attestations: [], rejected: [], problems: [] });
    expect(report.selectors).toContain('image_binding:bound');
  });

  it('a signature by another key is rejected', async () => {
    const report = await explain('legacy', keyPolicy(otherKey, 'other'));
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected).toHaveLength(1);
  });

  it('a tlog-less signature is rejected when require_tlog stays on (the default)', async () => {
    const report = await explain('legacy', `offline = true\npersist_verdicts = false\nkey {\n name = "release"\n path = "${releaseKey.publicKey}"\n}\n`);
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected[0]?.code).toBe('TLOG_MISSING');
  });

  it('a signature copied from another image is rejected: its payload names the other digest', async () => {
    // Put the legacy image's .sig manifest under the copied image's sig tag.
    const target = { url: `http://${rig.registry}`, repository: `ssa-sig/app-${run}` };
    const sigTag = (d: string) => `${d.replace(':', '-')}.sig`;
    const res = await fetch(`${target.url}/v2/${target.repository}/manifests/${sigTag(digests['legacy'] ?? '')}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    await putManifest(target, sigTag(digests['copied'] ?? ''), bytes, 'application/vnd.oci.image.manifest.v1+json');
    const report = await explain('copied', keyPolicy(releaseKey));
    expect(signatureSelectors(report)).toEqual([]);
    expect(report.signatures?.rejected[0]?.code).toBe('PAYLOAD_MISMATCH');
  });

  it('concurrent attestations of one image share one discovery and verification', async () => {
    const attestor = createAttestor(
      buildConfig(`docker_socket_path = "${rig.dockerHost}"\nregistry "${rig.registry}" { insecure = true }\n${keyPolicy(releaseKey)}`),
      silentLogger,
    );
    const pid = pids['bundle'] ?? -1;
    const reports = await Promise.all(Array.from({ length: 50 }, () => attestor.explain(pid, AbortSignal.timeout(30_000))));
    for (const r of reports) expect(signatureSelectors(r)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    expect(attestor.signatureLoads).toBe(1);
  });

  it('`verify` finds and checks the signatures of an image in its registry', async () => {
    const policy = join(dir, 'policy.hcl');
    writeFileSync(policy, `registry "${rig.registry}" { insecure = true }\n${keyPolicy(releaseKey)}`);
    const env = { SPIRE_SIGSTORE_ATTESTOR_NODE: process.execPath };
    const signed = await runCmd(PLUGIN_BIN, ['verify', '--config', policy, '--json', `${repo}:legacy`], { env, timeoutMs: 30_000 });
    expect(signed.code).toBe(0);
    const out = JSON.parse(signed.stdout) as { digest: string; verified: boolean; selectors: string[] };
    expect(out).toMatchObject({ digest: digests['legacy'], verified: true });
    expect(out.selectors).toContain('image-signature-key:release');
    const unsigned = await runCmd(PLUGIN_BIN, ['verify', '--config', policy, `${repo}:unsigned`], { env, timeoutMs: 30_000 });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toContain('no signatures found');
  });
});
