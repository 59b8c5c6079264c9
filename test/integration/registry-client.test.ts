// The registry client against real registries (the rig's docker-registry,
// and htpasswd / token-auth docker-registry instances started here) and, for
// fault cases a real registry cannot be made to show, tiny node:http peers on
// 127.0.0.1 (wrong bytes, stalls, 5xx, redirects, TLS with a private CA).

import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRegistryClient } from '../../src/registry/index.js';
import { parseReference } from '../../src/registry/reference.js';
import { MEDIA_TYPE } from '../../src/registry/types.js';
import {
  copyImage,
  deleteManifest,
  freePort,
  putBlob,
  putManifest,
  startRegistry,
  startTestServer,
  startTokenIssuer,
  writeCredentialHelper,
} from '../support/registries.js';
import { describeWithRig, docker } from '../support/rig.js';

import type { Logger } from '../../src/log.js';
import type { RegistryClient, RegistryClientOptions } from '../../src/registry/index.js';
import type { Digest, ImageReference } from '../../src/registry/types.js';
import type { StartedRegistry, TestServer, TokenIssuer } from '../support/registries.js';
import type { Rig, RunResult } from '../support/rig.js';
import { attestorFailure } from '../support/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'ssa-regclient-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let fileCount = 0;
function secretFile(content: string): string {
  const path = join(scratch, `secret-${++fileCount}`);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const NO_DOCKER_CONFIG = join(scratch, 'no-docker-config.json');
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

function client(options: RegistryClientOptions = {}): RegistryClient {
  const c = createRegistryClient({ dockerConfigPath: NO_DOCKER_CONFIG, retryBackoffMs: 20, ...options });
  clients.push(c);
  return c;
}

function insecure(...hosts: string[]): Record<string, { insecure: true }> {
  return Object.fromEntries(hosts.map((h) => [h, { insecure: true }]));
}

const sig = (): AbortSignal => AbortSignal.timeout(30_000);

async function ok(p: Promise<RunResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

function sha256(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const none = (): void => undefined;
  return { warnings, trace: none, debug: none, info: none, error: none, warn: (m) => void warnings.push(m) };
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
    expect((await attestorFailure(reg.getBlob(ref, 'sha256:abc' as Digest, 10, sig()))).code).toBe('REFERENCE_INVALID');
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
    // The first call asked the API (404) and the tag at once; this registry
    // is now known to lack the API, so only the tag is asked.
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

// ------------------------------------------------------------ fault peers

describe('registry client: faults (node:http peers on 127.0.0.1)', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  async function serve(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
    const s = await startTestServer(handler);
    servers.push(s);
    return s;
  }

  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('cfg'), size: 3 },
      layers: [],
    }),
  );
  const manifestDigest = sha256(manifestBytes);

  it('manifest bytes that do not hash to the requested digest: DIGEST_MISMATCH', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest, 'docker-content-digest': manifestDigest });
      res.end(Buffer.concat([manifestBytes, Buffer.from(' ')]));
    });
    const c = client({ registries: insecure(s.host) });
    const err = await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b@${manifestDigest}`), sig()));
    expect(err.code).toBe('DIGEST_MISMATCH');
    // By tag: checked against Docker-Content-Digest.
    expect((await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:1`), sig()))).code).toBe('DIGEST_MISMATCH');
  });

  it('by tag without Docker-Content-Digest, the computed digest is the digest; HEAD falls back to GET', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest });
      res.end(req.method === 'HEAD' ? undefined : manifestBytes);
    });
    const c = client({ registries: insecure(s.host) });
    expect((await c.getManifest(parseReference(`${s.host}/a/b:1`), sig()))?.digest).toBe(manifestDigest);
    expect(await c.resolve(parseReference(`${s.host}/a/b:1`), sig())).toBe(manifestDigest);
    expect(s.requests.map((r) => r.method)).toEqual(['GET', 'HEAD', 'GET']);
    // Accept names all four manifest and index types.
    expect(String(s.requests[1]?.headers['accept'])).toContain(MEDIA_TYPE.dockerManifestList);
  });

  it('HEAD reporting another digest than the one asked for: DIGEST_MISMATCH', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'docker-content-digest': sha256('other') }).end();
    });
    const c = client({ registries: insecure(s.host) });
    expect((await attestorFailure(c.resolve(parseReference(`${s.host}/a/b@${manifestDigest}`), sig()))).code).toBe('DIGEST_MISMATCH');
  });

  it('a blob whose bytes differ from its digest: DIGEST_MISMATCH', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200).end('not the blob');
    });
    const c = client({ registries: insecure(s.host) });
    expect((await attestorFailure(c.getBlob(parseReference(`${s.host}/a/b`), sha256('the blob'), 1024, sig()))).code).toBe('DIGEST_MISMATCH');
  });

  it('malformed manifests and unexpected statuses: REGISTRY_RESPONSE', async () => {
    const s = await serve((req, res) => {
      if (req.url?.includes('/manifests/bad')) res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest }).end('{"schemaVersion":1}');
      else res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"TAG_INVALID","message":"nope"}]}');
    });
    const c = client({ registries: insecure(s.host) });
    expect((await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:bad`), sig()))).code).toBe('REGISTRY_RESPONSE');
    const err = await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:other`), sig()));
    expect(err.code).toBe('REGISTRY_RESPONSE');
    expect(err.message).toContain('TAG_INVALID: nope');
  });

  it('caps bodies: Content-Length over the cap up front, chunked bodies as they stream', async () => {
    const big = Buffer.alloc(64 * 1024, 1);
    const s = await serve((req, res) => {
      if (req.url?.includes('chunked')) {
        res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest });
        // Unbounded: only stops when the client goes away.
        const timer = setInterval(() => res.write(big), 5);
        res.on('close', () => clearInterval(timer));
        setTimeout(() => clearInterval(timer), 10_000).unref();
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest, 'content-length': String(big.length) });
      res.end(big);
    });
    const c = client({ registries: insecure(s.host), maxManifestBytes: 16 * 1024 });
    const started = Date.now();
    expect((await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:chunked`), sig()))).code).toBe('TOO_LARGE');
    expect((await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:fixed`), sig()))).code).toBe('TOO_LARGE');
    expect((await attestorFailure(c.getBlob(parseReference(`${s.host}/a/b`), sha256('x'), 1000, sig()))).code).toBe('TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('slow headers and stalled bodies past the timeout: REGISTRY_UNAVAILABLE, not retried, in bounded time', async () => {
    const s = await serve((req, res) => {
      if (req.url?.includes('stall-body')) {
        res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest, 'content-length': '1000' });
        res.write('{"schemaVersion":');
      }
      // Otherwise: never answer (the server closes it at the end).
    });
    const c = client({ registries: insecure(s.host), timeoutMs: 300 });
    for (const t of ['slow', 'stall-body']) {
      const started = Date.now();
      const err = await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:${t}`), sig()));
      expect(err.code).toBe('REGISTRY_UNAVAILABLE');
      expect(err.message).toMatch(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    expect(c.stats().requests).toBe(2);
  });

  it('a port nobody listens on: REGISTRY_UNAVAILABLE after the retries', async () => {
    const port = await freePort();
    const c = client({ registries: insecure(`127.0.0.1:${port}`) });
    const started = Date.now();
    const err = await attestorFailure(c.resolve(parseReference(`127.0.0.1:${port}/a/b:1`), sig()));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/ECONNREFUSED.*after 3 attempts/);
    expect(c.stats().requests).toBe(3);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('5xx then success: retried; 5xx throughout: REGISTRY_UNAVAILABLE after 2 retries', async () => {
    const s = await serve((req, res, n) => {
      if (req.url?.includes('always') || n === 1) {
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA_TYPE.ociManifest, 'docker-content-digest': manifestDigest }).end(manifestBytes);
    });
    const c = client({ registries: insecure(s.host) });
    expect((await c.getManifest(parseReference(`${s.host}/a/b:1`), sig()))?.digest).toBe(manifestDigest);
    expect(c.stats().requests).toBe(2);
    const err = await attestorFailure(c.getManifest(parseReference(`${s.host}/a/b:always`), sig()));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/503/);
    expect(c.stats().requests).toBe(5);
  });

  it('429 with Retry-After: waits (capped), then retries', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else if (n === 2) res.writeHead(429, { 'retry-after': '3600' }).end();
      else res.writeHead(200, { 'docker-content-digest': manifestDigest }).end();
    });
    const c = client({ registries: insecure(s.host) });
    const started = Date.now();
    expect(await c.resolve(parseReference(`${s.host}/a/b:1`), sig())).toBe(manifestDigest);
    const took = Date.now() - started;
    // 1 s, then the 1-hour Retry-After capped at 2 s.
    expect(took).toBeGreaterThanOrEqual(2_900);
    expect(took).toBeLessThan(6_000);
  });

  it('an aborted call ends at once with CANCELLED', async () => {
    const s = await serve(() => undefined);
    const c = client({ registries: insecure(s.host) });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    expect((await attestorFailure(c.resolve(parseReference(`${s.host}/a/b:1`), ac.signal))).code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('follows a blob redirect to another host without forwarding credentials; refuses non-http(s) targets', async () => {
    const blob = Buffer.from('blob bytes');
    const storage = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) }).end(blob);
    });
    const reg = await serve((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
        return;
      }
      const to = req.url?.includes('/ftp/') ? 'ftp://127.0.0.1/x' : `${storage.url}/bucket/blob?sig=1`;
      res.writeHead(307, { location: to }).end();
    });
    const c = client({ registries: { [reg.host]: { insecure: true, username: 'u', passwordFile: secretFile('p') } } });
    const got = await c.getBlob(parseReference(`${reg.host}/a/b`), sha256(blob), 1024, sig());
    expect(got.equals(blob)).toBe(true);
    expect(reg.requests.at(-1)?.headers.authorization).toMatch(/^Basic /);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.path).toBe('/bucket/blob?sig=1');
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
    const err = await attestorFailure(c.getBlob(parseReference(`${reg.host}/ftp/b`), sha256(blob), 1024, sig()));
    expect(err.code).toBe('REGISTRY_RESPONSE');
    expect(err.message).toMatch(/ftp:/);
  });

  it('referrers API present: its index, filtered client-side even when the server ignores the filter', async () => {
    const subject = sha256('subject');
    const d = (t: string): Record<string, unknown> => ({ mediaType: MEDIA_TYPE.ociManifest, digest: sha256(t), size: 10, artifactType: t });
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': MEDIA_TYPE.ociIndex });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [d('a/x'), d('a/y')] }));
    });
    const c = client({ registries: insecure(s.host) });
    const ref = parseReference(`${s.host}/a/b:1`);
    expect((await c.referrers(ref, subject, undefined, sig())).map((x) => x.artifactType)).toEqual(['a/x', 'a/y']);
    expect((await c.referrers(ref, subject, 'a/y', sig())).map((x) => x.artifactType)).toEqual(['a/y']);
    expect(s.requests.at(-1)?.path).toBe(`/v2/a/b/referrers/${subject}?artifactType=a%2Fy`);
  });
  // Security review F5: one repository's 404 switched the API off for the
  // whole registry, for good.
  it('a referrers API 404 for one repository changes nothing for another, and is asked again after its TTL', async () => {
    const subject = sha256('subject');
    const listed = { mediaType: MEDIA_TYPE.ociManifest, digest: sha256('sig'), size: 10, artifactType: 'a/sig' };
    let evilHasApi = false;
    const s = await serve((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/v2/acme/app/referrers/') || (evilHasApi && path.startsWith('/v2/evil/x/referrers/'))) {
        res.writeHead(200, { 'content-type': MEDIA_TYPE.ociIndex });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [listed] }));
        return;
      }
      res.writeHead(404).end();
    });
    const c = client({ registries: insecure(s.host), noReferrersApiTtlMs: 300 });
    const acme = parseReference(`${s.host}/acme/app:1`);
    const evil = parseReference(`${s.host}/evil/x:1`);
    expect(await c.referrers(acme, subject, undefined, sig())).toHaveLength(1);
    expect(await c.referrers(evil, subject, undefined, sig())).toEqual([]);
    expect(await c.referrers(acme, subject, undefined, sig())).toHaveLength(1);
    // Within the TTL only the tag fallback is asked for evil/x ...
    evilHasApi = true;
    const before = s.requests.length;
    expect(await c.referrers(evil, subject, undefined, sig())).toEqual([]);
    expect(s.requests.slice(before).some((r) => r.path.includes('/referrers/'))).toBe(false);
    // ... and after it the API again.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await c.referrers(evil, subject, undefined, sig())).toHaveLength(1);
  });
});

describe('registry client: https with a private CA', () => {
  let server: ReturnType<typeof createHttpsServer> | undefined;
  let host = '';
  let caFile = '';
  let plainRealm: TestServer | undefined;

  beforeAll(async () => {
    const key = join(scratch, 'tls.key');
    caFile = join(scratch, 'tls.crt');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore', timeout: 10_000 },
    );
    plainRealm = await startTestServer((_req, res) => res.writeHead(200).end('{"token":"t"}'));
    const realm = `${plainRealm.url}/token`;
    server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(caFile) }, (req, res) => {
      if (req.url?.startsWith('/v2/needs-auth/')) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="x"` }).end();
        return;
      }
      res.writeHead(200, { 'docker-content-digest': sha256('ok') }).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('no address');
    host = `127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await plainRealm?.close();
  });

  it('trusts the registry with ca_file, not without', async () => {
    const withCa = client({ registries: { [host]: { caFile } } });
    expect(await withCa.resolve(parseReference(`${host}/a/b:1`), sig())).toBe(sha256('ok'));
    const without = client({ retries: 0 });
    const err = await attestorFailure(without.resolve(parseReference(`${host}/a/b:1`), sig()));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/certificate/i);
  });

  it('never sends credentials to a plain-http token realm of an https registry', async () => {
    const c = client({ registries: { [host]: { caFile, username: 'u', passwordFile: secretFile('p') } } });
    const err = await attestorFailure(c.resolve(parseReference(`${host}/needs-auth/b:1`), sig()));
    expect(err.code).toBe('REGISTRY_AUTH');
    expect(err.message).toMatch(/refusing to send credentials .* over plain http/);
    expect(plainRealm?.requests).toHaveLength(0);
  });
});
