// The soak's fault proxy (test/soak/fault-proxy.ts) on loopback, in front of
// a tiny registry-like server: passes answers through untouched when off or
// untargeted, and injects each kind of fault as it says.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { corruptBody, corruptDigest, FAULT_KINDS, pickFault, startFaultProxy, type FaultProxy } from '../../soak/fault-proxy.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [], pad: 'x'.repeat(400) }));
const DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;

let upstream: Server;
let proxy: FaultProxy;
let targeted = true;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.writeHead(200, {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'docker-content-digest': DIGEST,
      'x-host-seen': req.headers.host ?? '',
    });
    res.end(req.method === 'HEAD' ? undefined : MANIFEST);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  if (address === null || typeof address !== 'object') throw new Error('no port');
  proxy = await startFaultProxy({
    upstream: `127.0.0.1:${address.port}`,
    target: () => targeted,
    latencyMs: 150,
    dripMs: 800,
    dripEveryMs: 50,
    oversizeBytes: 256 * 1024,
  });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => upstream.close(r));
});

async function get(method: 'GET' | 'HEAD' = 'GET', timeoutMs = 5_000): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(`http://${proxy.host}/v2/app/manifests/1`, { method, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

function only(kind: (typeof FAULT_KINDS)[number]): void {
  proxy.setKinds([kind]);
  proxy.setRate(1);
}

describe('fault proxy', () => {
  it('passes answers through when off, or for untargeted requests; keeps the Host header', async () => {
    proxy.setRate(0);
    const off = await get();
    expect(off.status).toBe(200);
    expect(off.body.equals(MANIFEST)).toBe(true);
    expect(off.headers.get('docker-content-digest')).toBe(DIGEST);
    expect(off.headers.get('x-host-seen')).toBe(proxy.host);
    targeted = false;
    only('5xx');
    expect((await get()).body.equals(MANIFEST)).toBe(true);
    targeted = true;
    expect(proxy.counts['5xx']).toBe(0);
  });

  it('injects 5xx and 429 with Retry-After', async () => {
    only('5xx');
    expect([500, 502, 503]).toContain((await get()).status);
    only('429');
    const r = await get();
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('adds latency', async () => {
    only('latency');
    const started = Date.now();
    const r = await get();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(r.body.equals(MANIFEST)).toBe(true);
  });

  it('truncates, corrupts bodies and HEAD digests, and oversizes', async () => {
    only('truncate');
    const t = await get();
    expect(t.body.length).toBe(Math.floor(MANIFEST.length / 2));
    expect(MANIFEST.subarray(0, t.body.length).equals(t.body)).toBe(true);
    only('corrupt');
    const c = await get();
    expect(c.body.length).toBe(MANIFEST.length);
    expect(c.body.equals(MANIFEST)).toBe(false);
    const h = await get('HEAD');
    expect(h.headers.get('docker-content-digest')).not.toBe(DIGEST);
    expect(h.headers.get('docker-content-digest')).toMatch(/^sha256:[0-9a-f]{64}$/);
    only('oversize');
    expect((await get()).body.length).toBe(256 * 1024);
  });

  it('resets mid-body and drips past a timeout', async () => {
    only('reset');
    await expect(get()).rejects.toThrow();
    only('drip');
    await expect(get('GET', 300)).rejects.toThrow();
    await expect(get('HEAD', 300)).rejects.toThrow();
  });

  it('counts every fault by kind', () => {
    expect(proxy.counts).toMatchObject({ '5xx': 1, '429': 1, latency: 1, truncate: 1, corrupt: 2, oversize: 1, reset: 1, drip: 2 });
    expect(proxy.requests.faulted).toBe(10);
  });

  it('helpers: corruptBody flips a byte, corruptDigest changes the last digit, pickFault stays in range', () => {
    expect(corruptBody(Buffer.from('abc')).toString()).toBe('acc');
    expect(corruptDigest(`sha256:${'a'.repeat(64)}`)).toBe(`sha256:${'a'.repeat(63)}0`);
    expect(corruptDigest('not a digest')).toBe('not a digest');
    expect(pickFault(() => 0.9999, FAULT_KINDS)).toBe('drip');
    expect(pickFault(() => 0, [])).toBeUndefined();
  });
});
