// The registry client against real registries (the rig's docker-registry,
// and htpasswd / token-auth docker-registry instances started here) and, for
// fault cases a real registry cannot be made to show, tiny node:http peers on
// 127.0.0.1 (wrong bytes, stalls, 5xx, redirects, TLS with a private CA).

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseReference } from '../../src/registry/reference.js';
import { MEDIA_TYPE } from '../../src/registry/types.js';
import { attestorFailure } from '../support/errors.js';
import { insecure, recordingLogger, registryClientKit, sha256, sig } from '../support/registry-client.js';
import { copyImage, deleteManifest, putBlob, putManifest, startRegistry, startTokenIssuer, writeCredentialHelper } from '../support/registries.js';
import { describeWithRig, docker } from '../support/rig.js';

import type { RegistryClient } from '../../src/registry/index.js';
import type { Digest, ImageReference } from '../../src/registry/types.js';
import type { StartedRegistry, TokenIssuer } from '../support/registries.js';
import type { Rig, RunResult } from '../support/rig.js';

const { scratch, secretFile, client } = registryClientKit();

async function ok(p: Promise<RunResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

// ------------------------------------------------------------ real registries

describeWithRig('registry client: rig registry (no auth), image pushed with the docker CLI', ['registry', 'docker'], (rig: Rig) => {
  const repo = 'ssa-test/registry-client';
  const tag = `t${process.pid}-${Date.now()}`;
  const image = `${rig.registry}/${repo}:${tag}`;
  let repoDigest: Digest;
  let imageId: Digest;
  let reg: RegistryClient;

  beforeAll(async () => {
    await ok(docker(rig, ['build', '-q', '-t', image, '-'], { input: `FROM ${rig.busyboxImage}\nLABEL ssa.test.run=${randomUUID()}\n`, timeoutMs: 120_000 }));
    // The rig's dockerd treats 127.0.0.0/8 as insecure registries by default.
    await ok(docker(rig, ['push', image], { timeoutMs: 120_000 }));
    const inspected = JSON.parse(await ok(docker(rig, ['image', 'inspect', image]))) as { Id: string; RepoDigests: string[] }[];
    const entry = inspected[0]?.RepoDigests.find((d) => d.startsWith(`${rig.registry}/${repo}@`));
    if (entry === undefined || inspected[0] === undefined) throw new Error(`no RepoDigests entry for ${image}`);
    repoDigest = entry.slice(entry.indexOf('@') + 1) as Digest;
    pushed.push(repoDigest);
    imageId = inspected[0].Id as Digest;
    reg = client({ registries: insecure(rig.registry) });
  }, 180_000);

  // Manifests this run pushed (unique per run), deleted afterwards.
  const pushed: Digest[] = [];

  afterAll(async () => {
    await docker(rig, ['rmi', '-f', image]);
    for (const digest of pushed) await deleteManifest({ url: `http://${rig.registry}`, repository: repo }, digest).catch(() => undefined);
  });

  it('resolves the tag to the digest docker recorded in RepoDigests, in one request', async () => {
    const before = reg.stats().requests;
    expect(await reg.resolve(parseReference(image), sig())).toBe(repoDigest);
    expect(reg.stats().requests - before).toBe(1);
  });

  it('gets the manifest by tag and by digest; its config is the local image ID', async () => {
    const byTag = await reg.getManifest(parseReference(image), sig());
    const byDigest = await reg.getManifest(parseReference(`${rig.registry}/${repo}@${repoDigest}`), sig());
    expect(byTag?.digest).toBe(repoDigest);
    expect(byDigest?.digest).toBe(repoDigest);
    expect(byDigest?.bytes.equals(byTag?.bytes ?? Buffer.alloc(0))).toBe(true);
    expect(sha256(byTag?.bytes ?? '')).toBe(repoDigest);
    expect(byTag?.manifest.kind).toBe('manifest');
    if (byTag?.manifest.kind !== 'manifest') return;
    expect(byTag.mediaType).toBe(MEDIA_TYPE.dockerManifest);
    expect(byTag.manifest.config.digest).toBe(imageId);
    expect(byTag.manifest.layers.length).toBeGreaterThan(0);
  });

  it('gets the config blob: its bytes hash to the image ID', async () => {
    const ref = parseReference(image);
    const blob = await reg.getBlob(ref, imageId, 1024 * 1024, sig());
    expect(sha256(blob)).toBe(imageId);
    expect((JSON.parse(blob.toString('utf8')) as { config: { Labels: Record<string, string> } }).config.Labels).toHaveProperty('ssa.test.run');
  });

  it('refuses a blob over the cap (TOO_LARGE) and a digest it does not hold', async () => {
    const ref = parseReference(image);
    const m = await reg.getManifest(ref, sig());
    if (m?.manifest.kind !== 'manifest') throw new Error('expected a manifest');
    const layer = m.manifest.layers[0];
    if (layer === undefined) throw new Error('no layer');
    expect((await attestorFailure(reg.getBlob(ref, layer.digest, layer.size - 1, sig()))).code).toBe('TOO_LARGE');
    expect((await attestorFailure(reg.getBlob(ref, m.manifest.config.digest, 10, sig()))).code).toBe('TOO_LARGE');
    expect((await attestorFailure(reg.getBlob(ref, sha256('nothing here'), 1024, sig()))).code).toBe('REGISTRY_RESPONSE');
  });

  it('answers undefined for unknown tags, digests and repositories', async () => {
    expect(await reg.resolve(parseReference(`${rig.registry}/${repo}:no-such-tag`), sig())).toBeUndefined();
    expect(await reg.getManifest(parseReference(`${rig.registry}/${repo}@${sha256('x')}`), sig())).toBeUndefined();
    expect(await reg.resolve(parseReference(`${rig.registry}/ssa-test/no-such-repo:1`), sig())).toBeUndefined();
  });

  it('refuses invalid input before any request', async () => {
    const before = reg.stats().requests;
    const ref = parseReference(image);
    expect((await attestorFailure(reg.getBlob(ref, 'sha256:abc', 10, sig()))).code).toBe('REFERENCE_INVALID');
    expect((await attestorFailure(reg.resolve({ ...ref, repository: 'Bad/Repo' }, sig()))).code).toBe('REFERENCE_INVALID');
    expect(reg.stats().requests).toBe(before);
  });

  it('pings /v2/', async () => {
    const ping = await reg.ping(rig.registry, sig());
    expect(ping).toMatchObject({ status: 200, apiVersion: 'registry/2.0', challenges: [] });
  });

  it('finds referrers through the sha256-<hex> tag (distribution 2.8 has no referrers API)', async () => {
    const ref = parseReference(image);
    const target = { url: `http://${rig.registry}`, repository: repo };
    const first = reg.stats().requests;
    expect(await reg.referrers(ref, repoDigest, undefined, sig())).toEqual([]);
    // Referrers API (404) and the fallback tag, concurrently.
    expect(reg.stats().requests - first).toBe(2);

    // An artifact manifest whose subject is the image, and the referrers index.
    const empty = Buffer.from('{}');
    const emptyDigest = await putBlob(target, empty);
    const payload = Buffer.from(JSON.stringify({ run: tag }));
    const payloadDigest = await putBlob(target, payload);
    const artifactType = 'application/vnd.dev.ssa.test+json';
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociManifest,
        artifactType,
        config: { mediaType: MEDIA_TYPE.ociEmpty, digest: emptyDigest, size: empty.length },
        layers: [{ mediaType: 'application/json', digest: payloadDigest, size: payload.length }],
        subject: { mediaType: MEDIA_TYPE.dockerManifest, digest: repoDigest, size: 1 },
      }),
    );
    const artifactDigest = await putManifest(target, sha256(artifact), artifact, MEDIA_TYPE.ociManifest);
    pushed.push(artifactDigest);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociIndex,
        manifests: [
          { mediaType: MEDIA_TYPE.ociManifest, digest: artifactDigest, size: artifact.length, artifactType, annotations: { n: '1' } },
          { mediaType: MEDIA_TYPE.ociManifest, digest: artifactDigest, size: artifact.length, artifactType: 'application/other' },
        ],
      }),
    );
    pushed.push(await putManifest(target, `sha256-${repoDigest.slice(7)}`, index, MEDIA_TYPE.ociIndex));

    const before = reg.stats().requests;
    const all = await reg.referrers(ref, repoDigest, undefined, sig());
    // The first call asked the API (404) and the tag at once; this
    // repository is now known to lack the API, so only the tag is asked.
    expect(reg.stats().requests - before).toBe(1);
    expect(all.map((d) => d.artifactType)).toEqual([artifactType, 'application/other']);
    const filtered = await reg.referrers(ref, repoDigest, artifactType, sig());
    expect(filtered).toEqual([{ mediaType: MEDIA_TYPE.ociManifest, digest: artifactDigest, size: artifact.length, artifactType, annotations: { n: '1' } }]);
    expect(await reg.referrers(ref, repoDigest, 'application/none', sig())).toEqual([]);
    // And the artifact itself reads back by digest.
    const fetched = await reg.getManifest({ ...ref, digest: artifactDigest }, sig());
    expect(fetched?.manifest).toMatchObject({ kind: 'manifest', artifactType, subject: { digest: repoDigest } });
  });

  it('uses https unless the registry is configured insecure', async () => {
    const secure = client({ timeoutMs: 2_000, retries: 0 });
    const err = await attestorFailure(secure.resolve(parseReference(image), sig()));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toContain(`https://${rig.registry}`);
  });
});

describeWithRig('registry client: authenticating registries (htpasswd, token)', ['registry'], (rig: Rig) => {
  // Source: a small synthetic image pushed to the rig registry here (this
  // block needs no dockerd), copied into the htpasswd and token registries.
  const repo = 'ssa-test/auth';
  const tag = 'v1';
  let source: ImageReference;
  let expectedDigest: Digest;
  let configDigest: Digest;
  let htpasswd: StartedRegistry;
  let tokenReg: StartedRegistry;
  let issuer: TokenIssuer;
  const savedPath = process.env['PATH'];

  beforeAll(async () => {
    // A small synthetic image in the rig registry.
    const target = { url: `http://${rig.registry}`, repository: repo };
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, run: randomUUID() }));
    configDigest = await putBlob(target, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociManifest,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [],
      }),
    );
    expectedDigest = await putManifest(target, tag, manifest, MEDIA_TYPE.ociManifest);
    source = parseReference(`${rig.registry}/${repo}:${tag}`);
    const reader = client({ registries: insecure(rig.registry) });

    htpasswd = await startRegistry({ kind: 'htpasswd', users: { alice: 'alice-pw' } });
    const basic = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`;
    await copyImage(reader, source, { url: htpasswd.url, repository: repo, authorization: basic }, tag, sig());

    issuer = await startTokenIssuer({
      users: { bob: { password: 'bob-pw', actions: ['pull', 'push'] }, eve: { password: 'eve-pw', actions: [] } },
      refreshTokens: { 'refresh-bob': 'bob' },
    });
    tokenReg = await startRegistry({ kind: 'token', issuer });
    for (const r of [repo, 'ssa-test/auth2']) {
      const push = `Bearer ${issuer.mint('pusher', [{ type: 'repository', name: r, actions: ['pull', 'push'] }])}`;
      await copyImage(reader, source, { url: tokenReg.url, repository: r, authorization: push }, tag, sig());
    }
  }, 180_000);

  afterAll(async () => {
    process.env['PATH'] = savedPath;
    if (expectedDigest !== undefined) {
      await deleteManifest({ url: `http://${rig.registry}`, repository: repo }, expectedDigest).catch(() => undefined);
    }
    await htpasswd?.stop();
    await tokenReg?.stop();
    await issuer?.stop();
  });

  const at = (reg: StartedRegistry, r: string = repo): ImageReference => parseReference(`${reg.host}/${r}:${tag}`);

  describe('htpasswd (Basic)', () => {
    it('anonymous: REGISTRY_AUTH', async () => {
      const c = client({ registries: insecure(htpasswd.host) });
      const err = await attestorFailure(c.resolve(at(htpasswd), sig()));
      expect(err.code).toBe('REGISTRY_AUTH');
      expect(err.message).toMatch(/no credentials/);
    });

    it('plugin config credentials from files; Basic sent up front once known; warns about plain http', async () => {
      const logger = recordingLogger();
      const c = client({
        registries: { [htpasswd.host]: { insecure: true, username: 'alice', passwordFile: secretFile('alice-pw\n') } },
        logger,
      });
      expect(await c.resolve(at(htpasswd), sig())).toBe(expectedDigest);
      // 401, then the retry with credentials.
      expect(c.stats().requests).toBe(2);
      const m = await c.getManifest(at(htpasswd), sig());
      expect(c.stats().requests).toBe(3);
      expect(m?.digest).toBe(expectedDigest);
      const blob = await c.getBlob(at(htpasswd), configDigest, 64 * 1024, sig());
      expect(sha256(blob)).toBe(configDigest);
      expect(logger.warnings).toEqual(['sending registry credentials over plain http (registry configured insecure)']);
    });

    it('a Docker config auths entry', async () => {
      const dockerConfigPath = join(scratch, 'htpasswd-docker-config.json');
      writeFileSync(dockerConfigPath, JSON.stringify({ auths: { [`http://${htpasswd.host}`]: { auth: Buffer.from('alice:alice-pw').toString('base64') } } }));
      const c = client({ registries: insecure(htpasswd.host), dockerConfigPath });
      expect(await c.resolve(at(htpasswd), sig())).toBe(expectedDigest);
    });

    it('a credential helper on PATH (docker-credential-ssatest)', async () => {
      const helper = writeCredentialHelper(join(scratch, 'helper-bin'), 'ssatest', {
        [htpasswd.host]: { username: 'alice', secret: 'alice-pw' },
      });
      process.env['PATH'] = `${helper.dir}:${savedPath ?? ''}`;
      const dockerConfigPath = join(scratch, 'helper-docker-config.json');
      writeFileSync(dockerConfigPath, JSON.stringify({ credHelpers: { [htpasswd.host]: 'ssatest' } }));
      const c = client({ registries: insecure(htpasswd.host), dockerConfigPath });
      expect(await c.resolve(at(htpasswd), sig())).toBe(expectedDigest);
      expect(await c.getManifest(at(htpasswd), sig())).toBeDefined();
      // Asked once for the client's lifetime.
      expect(helper.calls()).toEqual([htpasswd.host]);
    });

    it('wrong password: REGISTRY_AUTH after exactly one auth round', async () => {
      const c = client({ registries: { [htpasswd.host]: { insecure: true, username: 'alice', passwordFile: secretFile('wrong') } } });
      const err = await attestorFailure(c.resolve(at(htpasswd), sig()));
      expect(err.code).toBe('REGISTRY_AUTH');
      expect(err.message).toMatch(/401 after authenticating/);
      expect(c.stats().requests).toBe(2);
    });
  });

  describe('token auth (Bearer, our test issuer)', () => {
    it('anonymous is denied: REGISTRY_AUTH', async () => {
      const c = client({ registries: insecure(tokenReg.host) });
      const err = await attestorFailure(c.resolve(at(tokenReg), sig()));
      expect(err.code).toBe('REGISTRY_AUTH');
      expect(issuer.requests.at(-1)?.subject).toBe('anonymous');
    });

    it('credentialed: allowed; tokens cached per scope; known realm used up front for a new repository', async () => {
      const c = client({ registries: { [tokenReg.host]: { insecure: true, username: 'bob', passwordFile: secretFile('bob-pw') } } });
      const issued = issuer.requests.length;
      expect(await c.resolve(at(tokenReg), sig())).toBe(expectedDigest);
      // 401, token, retry.
      expect(c.stats().requests).toBe(3);
      expect(issuer.requests.slice(issued)).toEqual([{ method: 'GET', subject: 'bob', scopes: [`repository:${repo}:pull`] }]);
      const m = await c.getManifest(at(tokenReg), sig());
      expect(m?.digest).toBe(expectedDigest);
      expect(sha256(await c.getBlob(at(tokenReg), configDigest, 64 * 1024, sig()))).toBe(configDigest);
      // The cached token: one request each, no new token.
      expect(c.stats().requests).toBe(5);
      expect(issuer.requests.length).toBe(issued + 1);
      // Another repository: a token fetched before the request, no 401.
      expect(await c.resolve(at(tokenReg, 'ssa-test/auth2'), sig())).toBe(expectedDigest);
      expect(c.stats().requests).toBe(7);
      expect(issuer.requests.at(-1)?.scopes).toEqual(['repository:ssa-test/auth2:pull']);
    });

    it('an identity token from the Docker config (OAuth2 refresh_token grant)', async () => {
      const dockerConfigPath = join(scratch, 'token-docker-config.json');
      writeFileSync(dockerConfigPath, JSON.stringify({ auths: { [tokenReg.host]: { identitytoken: 'refresh-bob' } } }));
      const c = client({ registries: insecure(tokenReg.host), dockerConfigPath });
      expect(await c.resolve(at(tokenReg), sig())).toBe(expectedDigest);
      expect(issuer.requests.at(-1)).toMatchObject({ method: 'POST', subject: 'bob' });
    });

    it('a token_file bearer token is sent as is', async () => {
      const token = issuer.mint('ci', [{ type: 'repository', name: repo, actions: ['pull'] }]);
      const c = client({ registries: { [tokenReg.host]: { insecure: true, tokenFile: secretFile(token) } } });
      const issued = issuer.requests.length;
      expect(await c.resolve(at(tokenReg), sig())).toBe(expectedDigest);
      expect(issuer.requests.length).toBe(issued);
      // ... and it does not open other repositories.
      expect((await attestorFailure(c.resolve(at(tokenReg, 'ssa-test/auth2'), sig()))).code).toBe('REGISTRY_AUTH');
    });

    it('a user without grants, and a wrong password: REGISTRY_AUTH', async () => {
      const eve = client({ registries: { [tokenReg.host]: { insecure: true, username: 'eve', passwordFile: secretFile('eve-pw') } } });
      expect((await attestorFailure(eve.resolve(at(tokenReg), sig()))).code).toBe('REGISTRY_AUTH');
      const wrong = client({ registries: { [tokenReg.host]: { insecure: true, username: 'bob', passwordFile: secretFile('nope') } } });
      const err = await attestorFailure(wrong.resolve(at(tokenReg), sig()));
      expect(err.code).toBe('REGISTRY_AUTH');
      expect(err.message).toMatch(/token service .* refused/);
    });
  });
});
