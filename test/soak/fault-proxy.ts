// A fault-injecting HTTP proxy in front of a registry, on 127.0.0.1, for the
// soak: images are named by the proxy's host:port, so every registry request
// of the plugin goes through it. Requests that `target` selects (the soak:
// the plugin's, by User-Agent) get a fault with probability `rate`; all
// others (docker push, cosign) pass untouched. The Host header is kept, so
// the registry's Location headers name the proxy.
//
// Faults, counted by kind:
//  latency   the answer, late (below the plugin's timeout)
//  5xx       500, 502 or 503 instead of the answer
//  429       429 with Retry-After: 1
//  reset     half the answer, then a TCP reset
//  truncate  a shorter body, with a Content-Length that matches it
//  oversize  a 200 whose body is beyond the plugin's caps (declared, or chunked)
//  corrupt   the body with one byte flipped, or a HEAD's Docker-Content-Digest
//            naming another digest
//  drip      headers, then one byte at a time, past the plugin's timeout

import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

export const FAULT_KINDS = ['latency', '5xx', '429', 'reset', 'truncate', 'oversize', 'corrupt', 'drip'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  // host:port of the registry.
  readonly upstream: string;
  // Which requests may get faults (default: every request).
  readonly target?: (req: IncomingMessage) => boolean;
  readonly random?: () => number;
  readonly latencyMs?: number;
  // How long a drip lasts in all (one byte every dripEveryMs).
  readonly dripMs?: number;
  readonly dripEveryMs?: number;
  readonly oversizeBytes?: number;
}

export interface FaultProxy {
  // 127.0.0.1:port, as in image references.
  readonly host: string;
  // Probability that a targeted request gets a fault; 0 turns faults off.
  setRate(rate: number): void;
  // Only these kinds from now on (default: all).
  setKinds(kinds: readonly FaultKind[]): void;
  readonly counts: Record<FaultKind, number>;
  readonly requests: { total: number; targeted: number; faulted: number; upstreamErrors: number };
  close(): Promise<void>;
}

const UPSTREAM_TIMEOUT_MS = 30_000;
// Bodies of targeted answers are buffered to be mangled; the plugin's are
// capped far below this.
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

// One byte in the middle XORed: same length, another digest.
export function corruptBody(body: Buffer): Buffer {
  if (body.length === 0) return Buffer.from('x');
  const out = Buffer.from(body);
  const i = Math.floor(out.length / 2);
  out[i] = (out[i] ?? 0) ^ 0x01;
  return out;
}

// A sha256:<hex> digest with its last hex digit changed; anything else as is.
export function corruptDigest(digest: string): string {
  const m = /^(sha256:[0-9a-f]{63})([0-9a-f])$/.exec(digest);
  if (!m) return digest;
  return `${m[1] ?? ''}${m[2] === '0' ? '1' : '0'}`;
}

export function pickFault(random: () => number, kinds: readonly FaultKind[]): FaultKind | undefined {
  if (kinds.length === 0) return undefined;
  return kinds[Math.min(kinds.length - 1, Math.floor(random() * kinds.length))];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// Hop-by-hop headers are not forwarded.
function forwardHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...headers };
  for (const h of ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']) delete out[h];
  return out;
}

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  res: IncomingMessage;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = options.upstream.split(':');
  const random = options.random ?? Math.random;
  const latencyMs = options.latencyMs ?? 300;
  const dripMs = options.dripMs ?? 3_000;
  const dripEveryMs = options.dripEveryMs ?? 200;
  const oversizeBytes = options.oversizeBytes ?? 5 * 1024 * 1024;
  let rate = 0;
  let kinds: readonly FaultKind[] = FAULT_KINDS;
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const requests = { total: 0, targeted: 0, faulted: 0, upstreamErrors: 0 };

  const toUpstream = (req: IncomingMessage): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const up = request(
        {
          host: upstreamHost,
          port: Number(upstreamPort),
          method: req.method,
          path: req.url,
          headers: forwardHeaders(req.headers),
          timeout: UPSTREAM_TIMEOUT_MS,
        },
        (res) => resolve({ status: res.statusCode ?? 502, headers: res.headers, res }),
      );
      up.on('timeout', () => up.destroy(new Error('upstream timeout')));
      up.on('error', reject);
      req.pipe(up);
    });

  const readAll = (res: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > MAX_BUFFERED_BYTES) res.destroy(new Error('upstream body too large to buffer'));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });

  const send = (res: ServerResponse, status: number, headers: IncomingHttpHeaders, body: Buffer, isHead: boolean): void => {
    const h = forwardHeaders(headers);
    if (!isHead) h['content-length'] = String(body.length);
    res.writeHead(status, h);
    res.end(isHead ? undefined : body);
  };

  // Answers one targeted request with `fault`.
  const inject = async (fault: FaultKind, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const isHead = req.method === 'HEAD';
    if (fault === '5xx' || fault === '429') {
      req.resume();
      const status = fault === '429' ? 429 : ([500, 502, 503][Math.floor(random() * 3)] ?? 500);
      const headers: IncomingHttpHeaders = { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) };
      send(res, status, headers, Buffer.from(`{"errors":[{"code":"UNAVAILABLE","message":"injected ${status}"}]}`), isHead);
      return;
    }
    if (fault === 'oversize') {
      req.resume();
      const declared = random() < 0.5;
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...(declared ? { 'content-length': String(oversizeBytes) } : {}) });
      if (isHead) {
        res.end();
        return;
      }
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let sent = 0; sent < oversizeBytes && !res.destroyed; sent += chunk.length) {
        if (!res.write(chunk.subarray(0, Math.min(chunk.length, oversizeBytes - sent)))) await drainedOrClosed(res);
      }
      res.end();
      return;
    }
    if (fault === 'latency') await delay(latencyMs);
    const up = await toUpstream(req);
    const body = await readAll(up.res);
    switch (fault) {
      case 'latency':
        send(res, up.status, up.headers, body, isHead);
        return;
      case 'reset': {
        const h = forwardHeaders(up.headers);
        if (!isHead) h['content-length'] = String(body.length);
        res.writeHead(up.status, h);
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        await delay(20);
        res.socket?.resetAndDestroy();
        return;
      }
      case 'truncate':
        send(res, up.status, up.headers, body.subarray(0, Math.floor(body.length / 2)), isHead);
        return;
      case 'corrupt': {
        const headers = { ...up.headers };
        const digest = headers['docker-content-digest'];
        if (typeof digest === 'string') headers['docker-content-digest'] = corruptDigest(digest);
        send(res, up.status, headers, isHead ? body : corruptBody(body), isHead);
        return;
      }
      case 'drip': {
        const h = forwardHeaders(up.headers);
        if (!isHead) h['content-length'] = String(body.length);
        res.writeHead(up.status, h);
        if (isHead) {
          // Headers withheld instead: nothing until past the timeout.
          await delay(dripMs);
          res.end();
          return;
        }
        const until = Date.now() + dripMs;
        let i = 0;
        while (Date.now() < until && i < body.length - 1 && !res.destroyed) {
          res.write(body.subarray(i, i + 1));
          i++;
          await delay(dripEveryMs);
        }
        if (!res.destroyed) res.end(body.subarray(i));
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    requests.total++;
    const targeted = options.target === undefined || options.target(req);
    if (targeted) requests.targeted++;
    const fault = targeted && rate > 0 && random() < rate ? pickFault(random, kinds) : undefined;
    const fail = (err: unknown): void => {
      requests.upstreamErrors++;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    };
    if (fault !== undefined) {
      requests.faulted++;
      counts[fault]++;
      inject(fault, req, res).catch(fail);
      return;
    }
    toUpstream(req).then((up) => {
      res.writeHead(up.status, forwardHeaders(up.headers));
      up.res.pipe(res);
      up.res.on('error', () => res.destroy());
    }, fail);
  });
  // Our own resets must not crash the proxy.
  server.on('clientError', (_err, socket) => socket.destroy());

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address !== null && typeof address === 'object') resolve(address.port);
      else reject(new Error('no port'));
    });
  });
  return {
    host: `127.0.0.1:${port}`,
    setRate: (r) => {
      rate = r;
    },
    setKinds: (k) => {
      kinds = [...k];
    },
    counts,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
