// The registry client against misbehaving peers: node:http(s) servers on
// 127.0.0.1 that the tests script (faults, redirects, auth, TLS). No rig.

import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseReference } from '../../../src/registry/reference.js';
import { MEDIA_TYPE } from '../../../src/registry/types.js';
import { attestorFailure } from '../../support/errors.js';
import { insecure, registryClientKit, sha256, sig } from '../../support/registry-client.js';
import { freePort, selfSignedCert, startTestServer } from '../../support/registries.js';

import type { TestServer } from '../../support/registries.js';

const { scratch, secretFile, client } = registryClientKit();

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
    selfSignedCert(key, caFile, '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1');

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
