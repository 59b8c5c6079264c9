// Registry binding through the whole attestor, with the real dockerd, the
// rig's registry and an htpasswd registry: push/run bound, local rebuild and
// re-tag not bound, tag moved after start, a multi-platform index, and
// registry faults failing closed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { createRegistryClient } from '../../src/registry/index.js';
import { parseReference } from '../../src/registry/reference.js';
import { MEDIA_TYPE } from '../../src/registry/types.js';
import { copyImage, freePort, putManifest, startRegistry } from '../support/registries.js';
import { describeWithRig, docker, type Rig } from '../support/rig.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { Digest } from '../../src/registry/types.js';
import type { StartedRegistry } from '../support/registries.js';
import { TEST_POLICY } from '../support/policy.js';
import { attestorFailure } from '../support/errors.js';

async function ok(rig: Rig, args: string[], input?: string): Promise<string> {
  const r = await docker(rig, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

describeWithRig('registry binding (real dockerd + registries)', ['docker', 'registry'], (rig) => {
  const run = process.pid;
  const repo = `${rig.registry}/ssa-bind/app-${run}`;
  const tag = `${repo}:1`;
  const multiRepo = `ssa-bind/multi-${run}`;
  const scratch = mkdtempSync(join(tmpdir(), 'ssa-bind-'));
  const containers: string[] = [];
  const images: string[] = [];
  let htpasswd: StartedRegistry | undefined;
  let deadPort = 0;

  const baseConfig = `registry "${rig.registry}" { insecure = true }\nregistry "docker.io" { binding = "skip" }\n`;
  const explain = (pid: number, extra = '', base = baseConfig): Promise<AttestReport> =>
    createAttestor(buildConfig(`docker_socket_path = "${rig.dockerHost}"\n${TEST_POLICY}${base}${extra}`), silentLogger).explain(
      pid,
      AbortSignal.timeout(30_000),
    );

  async function build(name: string, marker: string): Promise<string> {
    await ok(rig, ['build', '-q', '-t', name, '-'], `FROM ${rig.busyboxImage}\nLABEL marker=${marker}\n`);
    images.push(name);
    return ok(rig, ['image', 'inspect', '-f', '{{.Id}}', name]);
  }

  async function start(image: string): Promise<number> {
    const id = await ok(rig, ['run', '-d', '--network', 'none', image, 'sleep', '600']);
    containers.push(id);
    return Number(await ok(rig, ['inspect', '-f', '{{.State.Pid}}', id]));
  }

  async function push(name: string): Promise<Digest> {
    await ok(rig, ['push', '-q', name]);
    const repoDigests = (await ok(rig, ['image', 'inspect', '-f', '{{join .RepoDigests " "}}', name])).split(' ');
    const bare = name.slice(0, name.lastIndexOf(':'));
    const mine = repoDigests.find((d) => d.startsWith(`${bare}@`));
    if (!mine) throw new Error(`no repo digest for ${name}: ${repoDigests.join()}`);
    return mine.slice(mine.indexOf('@') + 1) as Digest;
  }

  let idA = '';
  let digestA: Digest;
  let pidA = 0;

  beforeAll(async () => {
    idA = await build(tag, `a-${run}`);
    digestA = await push(tag);
    pidA = await start(tag);
    deadPort = await freePort();
  }, 180_000);

  afterAll(async () => {
    if (containers.length > 0) await docker(rig, ['rm', '-f', ...containers]);
    if (images.length > 0) await docker(rig, ['rmi', '-f', ...images]);
    await htpasswd?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('binds a pushed image: image_digest, image_repository and image_binding selectors', async () => {
    const report = await explain(pidA);
    expect(report.binding).toMatchObject({ outcome: 'bound', digest: digestA, manifestDigest: digestA, via: 'repo-digest', tagMoved: false });
    expect(report.selectors).toEqual(
      expect.arrayContaining([`image_digest:${digestA}`, `image_repository:${repo}`, 'image_binding:bound', `image_config_digest:${idA}`]),
    );
  });

  it('stays bound to its own digest after the tag moves, and reports the move', async () => {
    await build(tag, `b-${run}`);
    const digestB = await push(tag);
    const report = await explain(pidA);
    expect(report.binding).toMatchObject({ outcome: 'bound', digest: digestA, tagDigest: digestB, tagMoved: true });
  });

  it('a different image built locally under the pushed name:tag is not bound: no selectors at all', async () => {
    await build(tag, `local-${run}`);
    const pid = await start(tag);
    const err = await attestorFailure(explain(pid));
    expect(err.code).toBe('NOT_BOUND');
    expect(err.message).toMatch(/rebuilt, tampered or re-tagged locally/);
    // Relaxed for this registry: container selectors only, no binding ones.
    const relaxed = await explain(
      pid,
      `registry "${rig.registry}" {\n insecure = true\n binding = "prefer"\n}\n`,
      'registry "docker.io" { binding = "skip" }\n',
    );
    expect(relaxed.binding?.outcome).toBe('not-bound');
    expect(relaxed.selectors.some((s) => s.startsWith('image_digest:') || s.startsWith('image_binding:'))).toBe(false);
  });

  it('another local image re-tagged to the pushed name is not bound', async () => {
    const retag = `${repo}:retagged`;
    await ok(rig, ['tag', rig.busyboxImage, retag]);
    images.push(retag);
    await ok(rig, ['push', '-q', retag]);
    await ok(rig, ['tag', idA, retag]); // local name now points at image A...
    await build(`${repo}:other`, `other-${run}`);
    await ok(rig, ['tag', `${repo}:other`, retag]); // ...and now at an image never pushed there
    const pid = await start(retag);
    expect((await attestorFailure(explain(pid))).code).toBe('NOT_BOUND');
  });

  it('binds through the platform entry of a multi-platform index', async () => {
    const reader = createRegistryClient({ registries: { [rig.registry]: { insecure: true } } });
    const target = { url: `http://${rig.registry}`, repository: multiRepo };
    const signal = AbortSignal.timeout(60_000);
    // amd64: image A; arm64: the busybox base image, pushed for the purpose.
    await copyImage(reader, parseReference(`${repo}@${digestA}`), target, digestA, signal);
    const other = `${rig.registry}/${multiRepo}:arm-stand-in`;
    await ok(rig, ['tag', rig.busyboxImage, other]);
    images.push(other);
    const otherDigest = await push(other);
    const sizeOf = async (d: Digest): Promise<number> =>
      (await reader.getManifest(parseReference(`${rig.registry}/${multiRepo}@${d}`), signal))?.bytes.length ?? 0;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociIndex,
        manifests: [
          {
            mediaType: MEDIA_TYPE.dockerManifest,
            digest: otherDigest,
            size: await sizeOf(otherDigest),
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
          { mediaType: MEDIA_TYPE.dockerManifest, digest: digestA, size: await sizeOf(digestA), platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const indexDigest = await putManifest(target, '1', index, MEDIA_TYPE.ociIndex);
    await reader.close();

    const multiTag = `${rig.registry}/${multiRepo}:1`;
    await ok(rig, ['tag', idA, multiTag]);
    images.push(multiTag);
    const pid = await start(multiTag);
    const report = await explain(pid);
    expect(report.binding).toMatchObject({ outcome: 'bound', digest: indexDigest, indexDigest, manifestDigest: digestA, via: 'tag' });
    expect(report.selectors).toEqual(expect.arrayContaining([`image_digest:${indexDigest}`, `image_digest:${digestA}`]));
  });

  it('binds through an htpasswd registry with credentials from files', async () => {
    htpasswd = await startRegistry({ kind: 'htpasswd', users: { alice: 'alice-pw' } });
    const reader = createRegistryClient({ registries: { [rig.registry]: { insecure: true } } });
    const basic = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`;
    await copyImage(
      reader,
      parseReference(`${repo}@${digestA}`),
      { url: htpasswd.url, repository: 'auth/app', authorization: basic },
      '1',
      AbortSignal.timeout(60_000),
    );
    await reader.close();
    const authTag = `${htpasswd.host}/auth/app:1`;
    await ok(rig, ['tag', idA, authTag]);
    images.push(authTag);
    const pid = await start(authTag);
    const passwordFile = join(scratch, 'alice-password');
    writeFileSync(passwordFile, 'alice-pw\n', { mode: 0o600 });
    const creds = `registry "${htpasswd.host}" {\n insecure = true\n username = "alice"\n password_file = "${passwordFile}"\n}\n`;
    const report = await explain(pid, creds);
    expect(report.binding).toMatchObject({ outcome: 'bound', manifestDigest: digestA });
    // Without credentials the registry cannot tell: fail closed.
    const err = await attestorFailure(explain(pid, `registry "${htpasswd.host}" { insecure = true }\n`));
    expect(err.code).toBe('REGISTRY_AUTH');
    expect(readFileSync(passwordFile, 'utf8')).toBe('alice-pw\n');
  });

  it('a stopped registry fails closed under require; under prefer keeps only container selectors', async () => {
    const deadTag = `127.0.0.1:${deadPort}/gone/app:1`;
    await ok(rig, ['tag', idA, deadTag]);
    images.push(deadTag);
    const pid = await start(deadTag);
    const started = Date.now();
    const err = await attestorFailure(explain(pid, `registry "127.0.0.1:${deadPort}" { insecure = true }\n`));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(10_000);
    const relaxed = await explain(pid, `registry "127.0.0.1:${deadPort}" {\n insecure = true\n binding = "prefer"\n}\n`);
    expect(relaxed.binding?.outcome).toBe('unavailable');
    expect(relaxed.selectors).toContain(`image_config_digest:${idA}`);
    expect(relaxed.selectors.some((s) => s.startsWith('image_digest:') || s.startsWith('image_binding:'))).toBe(false);
  });
});
