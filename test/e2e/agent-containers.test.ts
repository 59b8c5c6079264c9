// A real spire-agent attests workloads running in containers of the real
// dockerd through our plugin, and issues SVIDs by our selectors:
//  - a local image (registry binding skipped for docker.io) by image_config_digest;
//  - an image pushed to the loopback registry by its bound manifest digest;
//  - the same tag rebuilt locally: not bound -> no selectors -> no SVID;
//  - an image signed by cosign with the release key, by image-signature-key;
//    an unsigned (but bound) image gets no signature selectors;
//  - an image signed and attested (SLSA provenance from the expected
//    builder) by image-signature-key + image-attestation together; one whose
//    provenance names another builder does not get that SVID.

import { rmSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { attestWithKey, signWithKey, slsaPredicate } from '../support/cosign.js';
import { describeWithRig, docker } from '../support/rig.js';
import { buildWorkloadImage, pushImage } from '../support/workload-image.js';
import {
  attestations,
  releaseKeyLines,
  fetchX509InContainer,
  rigRegistryLines,
  startServerWithReleaseKey,
  startSpireAgent,
  TRUST_DOMAIN,
  waitFor,
} from '../support/spire.js';

import type { KeyPair } from '../support/cosign.js';
import type { SpireAgent, SpireServer } from '../support/spire.js';

const BUILDER = 'https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main';

// Every selector the agent logged as attested, as type:value.
function attestedSelectors(log: string): string[] {
  return attestations(log)
    .flat()
    .map((sel) => `${sel.type}:${sel.value}`);
}

describeWithRig('spire-agent attests container workloads through the plugin', ['spire', 'docker', 'registry', 'cosign'], (rig) => {
  let dir: string;
  let server: SpireServer;
  let agent: SpireAgent;
  let parentId: string;
  let releaseKey: KeyPair;
  const run = `${process.pid}`;
  const localTag = `ssa-e2e-local-${run}:1`;
  const pushedTag = `${rig.registry}/ssa-e2e/app-${run}:1`;

  // Runs the workload in a container and returns what the client printed.
  const fetchInContainer = (image: string): Promise<{ code: number; output: string }> => fetchX509InContainer(rig, `${dir}/agent`, image);

  beforeAll(async () => {
    const start = await startServerWithReleaseKey(rig, 'ssa-e2e-c-');
    ({ dir, server, releaseKey, parentId } = start);
    const token = start.token;
    agent = await startSpireAgent({
      bin: rig.spireAgent,
      dir: join(dir, 'agent'),
      server,
      token,
      pluginData: [
        `      docker_socket_path = "${rig.dockerHost}"`,
        `      log_level = "debug"`,
        ...rigRegistryLines(rig),
        // Local images (docker.io/library/...) are never looked up: no traffic
        // leaves this machine, and they keep their container selectors.
        `      registry "docker.io" {`,
        `        binding = "skip"`,
        `      }`,
        // Who may sign: the release key.
        ...releaseKeyLines(releaseKey.publicKey),
        // Which provenance counts: SLSA v1 from the release workflow, signed by the release key.
        `      attestation "slsa-build" {`,
        `        predicate_type = "https://slsa.dev/provenance/v1"`,
        `        key            = "release"`,
        `        builder_id     = "${BUILDER}"`,
        `      }`,
      ].join('\n'),
    });
    chmodSync(join(dir, 'agent'), 0o755);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await docker(rig, ['rmi', '-f', localTag, pushedTag]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function entry(spiffeId: string, selector: string): Promise<void> {
    await server.cli(['entry', 'create', '-parentID', parentId, '-spiffeID', spiffeId, '-selector', selector]);
  }

  // The agent syncs entries from the server every few seconds.
  async function fetchUntil(image: string, expect: RegExp): Promise<{ code: number; output: string }> {
    let last = { code: -1, output: '' };
    await waitFor(
      `SVID for ${image}`,
      async () => {
        last = await fetchInContainer(image);
        return expect.test(last.output);
      },
      60_000,
      1_000,
    );
    return last;
  }

  it('issues an SVID to a container matched by image_config_digest', async () => {
    const imageId = await buildWorkloadImage(rig, localTag, `local-${run}`);
    await entry(`spiffe://${TRUST_DOMAIN}/local-app`, `docker:image_config_digest:${imageId}`);
    const got = await fetchUntil(localTag, /spiffe:\/\/example\.org\/local-app/);
    expect(got.code).toBe(0);
    // The agent's own log shows our selectors for that workload.
    expect(attestedSelectors(agent.log())).toEqual(
      expect.arrayContaining([`docker:image_config_digest:${imageId}`, `docker:label:com.example.app:local-${run}`]),
    );
  });

  it('binds a pushed image to its registry manifest and issues by image_digest; a local rebuild of the tag gets nothing', async () => {
    await buildWorkloadImage(rig, pushedTag, `pushed-${run}`);
    const digest = await pushImage(rig, pushedTag);
    await entry(`spiffe://${TRUST_DOMAIN}/bound-app`, `docker:image_digest:${digest}`);
    const got = await fetchUntil(pushedTag, /spiffe:\/\/example\.org\/bound-app/);
    expect(got.code).toBe(0);
    expect(attestedSelectors(agent.log())).toEqual(
      expect.arrayContaining([`docker:image_digest:${digest}`, 'docker:image_binding:bound', `docker:image_repository:${rig.registry}/ssa-e2e/app-${run}`]),
    );

    // Same name and tag, different content, never pushed: not the registry's
    // manifest, so no selectors at all (binding is required by default).
    await buildWorkloadImage(rig, pushedTag, `tampered-${run}`);
    const denied = await fetchInContainer(pushedTag);
    expect(denied.code).not.toBe(0);
    expect(denied.output).not.toMatch(/bound-app/);
    await waitFor('not-bound log line', () => /image not bound to its registry/.test(agent.log()), 10_000);
  });

  it('issues an SVID by image-signature-key to a cosign-signed image, and none to an unsigned one', async () => {
    const signedTag = `${rig.registry}/ssa-e2e/signed-${run}:1`;
    const unsignedTag = `${rig.registry}/ssa-e2e/unsigned-${run}:1`;
    const digests: Record<string, string> = {};
    for (const tag of [signedTag, unsignedTag]) {
      await buildWorkloadImage(rig, tag, tag.includes('unsigned') ? `unsigned-${run}` : `signed-${run}`);
      digests[tag] = await pushImage(rig, tag);
    }
    await signWithKey(rig, `${signedTag.slice(0, signedTag.lastIndexOf(':'))}@${digests[signedTag] ?? ''}`, releaseKey, 'legacy');
    await entry(`spiffe://${TRUST_DOMAIN}/signed-app`, 'docker:image-signature-key:release');

    const got = await fetchUntil(signedTag, /spiffe:\/\/example\.org\/signed-app/);
    expect(got.code).toBe(0);
    expect(attestedSelectors(agent.log())).toEqual(expect.arrayContaining(['docker:image-signature-key:release', 'docker:image-signature:verified']));

    const denied = await fetchInContainer(unsignedTag);
    expect(denied.code).not.toBe(0);
    expect(denied.output).not.toMatch(/signed-app/);
    await docker(rig, ['rmi', '-f', signedTag, unsignedTag]);
  });

  it("issues an SVID by image-signature-key + image-attestation to an image signed and attested by the expected builder, and not to another builder's", async () => {
    const builtTag = `${rig.registry}/ssa-e2e/built-${run}:1`;
    const otherTag = `${rig.registry}/ssa-e2e/other-builder-${run}:1`;
    const build = { repository: 'https://github.com/acme/api', ref: 'refs/heads/main', commit: '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c' };
    for (const [tag, builderId] of [
      [builtTag, BUILDER],
      [otherTag, 'https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main'],
    ] as const) {
      await buildWorkloadImage(rig, tag, tag.includes('other') ? `other-${run}` : `built-${run}`);
      const at = `${tag.slice(0, tag.lastIndexOf(':'))}@${await pushImage(rig, tag)}`;
      const file = join(dir, `${tag.includes('other') ? 'other' : 'built'}.json`);
      writeFileSync(file, JSON.stringify(slsaPredicate('v1', { builderId, ...build })));
      await signWithKey(rig, at, releaseKey, 'bundle');
      await attestWithKey(rig, at, releaseKey, 'bundle', 'slsaprovenance1', file);
    }
    await server.cli([
      'entry',
      'create',
      '-parentID',
      parentId,
      '-spiffeID',
      `spiffe://${TRUST_DOMAIN}/built-app`,
      '-selector',
      'docker:image-signature-key:release',
      '-selector',
      'docker:image-attestation:slsa-build',
    ]);

    const got = await fetchUntil(builtTag, /spiffe:\/\/example\.org\/built-app/);
    expect(got.code).toBe(0);
    expect(attestedSelectors(agent.log())).toEqual(
      expect.arrayContaining(['docker:image-attestation:slsa-build', `docker:image-provenance-builder-id:${BUILDER}`]),
    );

    // Signed by the release key too (so it may get signed-app), but its
    // provenance names another builder: never built-app.
    const other = await fetchInContainer(otherTag);
    expect(other.output).not.toMatch(/built-app/);
    await docker(rig, ['rmi', '-f', builtTag, otherTag]);
  });
});
