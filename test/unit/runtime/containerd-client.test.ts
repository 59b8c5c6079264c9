// ContainerdClient's error paths against a scripted containerd API served
// on a unix socket with our own protos: what a real daemon rarely does
// (oversized or corrupt blobs, the same ID in two namespaces, a dead
// socket). Its normal work is proven against real containerd instances in
// test/integration/containerd.test.ts.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ContainerdClient, MAX_BLOB_BYTES } from '../../../src/runtime/containerd/client.js';
import { MAX_EVENT_BYTES } from '../../../src/runtime/containerd/events.js';
import { chainId } from '../../../src/runtime/containerd/image-proof.js';
import { CONTAINERD_PROTOS, CONTAINERD_SERVICE } from '../../../src/runtime/containerd/protos.js';
import { serviceOf } from '../../../src/util/protos.js';
import { codeRejected } from '../../support/errors.js';

import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ContainerKey } from '../../../src/runtime/types.js';
import type { Digest } from '../../../src/util/digest.js';

const sha = (bytes: Buffer | string): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const DIFF = sha('layer');

type Unary = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => void;
type Stream = (call: ServerWritableStream<Record<string, unknown>, unknown>) => void;

// What the scripted daemon holds, per namespace.
interface World {
  containers: Record<string, Record<string, { image: string; labels?: Record<string, string> }>>;
  tasks: Record<string, { pid: number; status: string }>;
  blobs: Map<string, { bytes: Buffer; reportedSize?: number; served?: Buffer }>;
  images: Record<string, Digest>;
  parent: string;
  // What Subscribe streams (then it ends the stream, unless `holdEvents`),
  // and the filters it was asked for.
  events: unknown[];
  holdEvents: boolean;
  filters: unknown;
}

const world: World = { containers: {}, tasks: {}, blobs: new Map(), images: {}, parent: '', events: [], holdEvents: false, filters: undefined };

function notFound(cb: sendUnaryData<unknown>): void {
  cb({ code: status.NOT_FOUND, details: 'not found' }, null);
}

function namespaceOf(call: { metadata: { get(key: string): unknown[] } }): string {
  const value = call.metadata.get('containerd-namespace')[0];
  return typeof value === 'string' ? value : '';
}

const handlers: Record<string, UntypedServiceImplementation> = {
  containers: {
    Get: ((call, cb) => {
      const c = world.containers[namespaceOf(call)]?.[String(call.request['id'])];
      if (!c) return notFound(cb);
      cb(null, {
        container: {
          id: call.request['id'],
          image: c.image,
          labels: c.labels ?? {},
          snapshotter: 'overlayfs',
          snapshot_key: call.request['id'],
          created_at: { seconds: '100', nanos: 0 },
        },
      });
    }) satisfies Unary,
  },
  tasks: {
    Get: ((call, cb) => {
      const t = world.tasks[String(call.request['container_id'])];
      if (!t) return notFound(cb);
      cb(null, { process: { pid: t.pid, status: t.status } });
    }) satisfies Unary,
  },
  snapshots: { Stat: ((_call, cb) => cb(null, { info: { name: 'x', parent: world.parent, kind: 'ACTIVE' } })) satisfies Unary },
  images: {
    Get: ((call, cb) => {
      const digest = world.images[String(call.request['name'])];
      if (!digest) return notFound(cb);
      cb(null, {
        image: {
          name: call.request['name'],
          target: { media_type: 'application/vnd.oci.image.manifest.v1+json', digest },
          updated_at: { seconds: '50', nanos: 0 },
        },
      });
    }) satisfies Unary,
  },
  content: {
    Info: ((call, cb) => {
      const blob = world.blobs.get(String(call.request['digest']));
      if (!blob) return notFound(cb);
      cb(null, { info: { digest: call.request['digest'], size: String(blob.reportedSize ?? blob.bytes.length) } });
    }) satisfies Unary,
    Read: ((call) => {
      const blob = world.blobs.get(String(call.request['digest']));
      if (!blob) {
        call.destroy(Object.assign(new Error('not found'), { code: status.NOT_FOUND }));
        return;
      }
      call.write({ offset: '0', data: blob.served ?? blob.bytes });
      call.end();
    }) satisfies Stream,
    List: ((call) => call.end()) satisfies Stream,
  },
  version: { Version: ((_call, cb) => cb(null, { version: '1.6.20-scripted', revision: 'x' })) satisfies Unary },
  events: {
    Subscribe: ((call) => {
      world.filters = call.request['filters'];
      for (const event of world.events) call.write(event);
      if (!world.holdEvents) call.end();
    }) satisfies Stream,
  },
};

function put(doc: unknown): Digest {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = sha(bytes);
  world.blobs.set(digest, { bytes });
  return digest;
}

// A pulled image `name` whose single layer is DIFF.
function pulled(name: string): { manifest: Digest; config: Digest } {
  const config = put({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [DIFF] } });
  const manifest = put({ schemaVersion: 2, config: { digest: config } });
  world.images[name] = manifest;
  return { manifest, config };
}

let dir: string;
let server: Server;
let endpoint: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssa-ctrd-unit-'));
  endpoint = `unix://${join(dir, 'containerd.sock')}`;
  server = new Server();
  for (const [key, impl] of Object.entries(handlers)) {
    server.addService(serviceOf(CONTAINERD_PROTOS, CONTAINERD_SERVICE[key as keyof typeof CONTAINERD_SERVICE]), impl);
  }
  await new Promise<void>((resolve, reject) => server.bindAsync(endpoint, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  world.parent = chainId([DIFF]);
});

afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe('ContainerdClient', () => {
  it('reads the container, its task and its proven image; the namespace travels in the metadata', async () => {
    const { manifest, config } = pulled('reg.example/app:1');
    world.containers = { 'k8s.io': { app1: { image: 'reg.example/app:1', labels: { team: 'pay' } } } };
    world.tasks = { app1: { pid: 4242, status: 'RUNNING' } };
    const client = new ContainerdClient(endpoint, ['k8s.io', 'default']);
    try {
      expect(await client.version(signal())).toBe('1.6.20-scripted');
      const found = await client.inspect({ id: 'app1' }, signal());
      expect(found?.container).toMatchObject({
        id: 'app1',
        namespace: 'k8s.io',
        imageId: config,
        imageRef: 'reg.example/app:1',
        running: true,
        initPid: 4242,
        labels: { team: 'pay' },
      });
      expect(found?.image).toMatchObject({ id: config, repoDigests: [`reg.example/app@${manifest}`], os: 'linux', architecture: 'amd64' });
      // Only the namespace the cgroup path named is asked.
      expect(await client.inspect({ id: 'app1', namespace: 'default' }, signal())).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('a container without a running task is not running, and nothing is proven for it', async () => {
    world.containers = { default: { idle: { image: 'reg.example/app:1' } } };
    world.tasks = { idle: { pid: 0, status: 'STOPPED' } };
    const client = new ContainerdClient(endpoint, ['default']);
    try {
      expect((await client.inspect({ id: 'idle' }, signal()))?.container).toMatchObject({ running: false, initPid: 0, imageId: '' });
      world.tasks = {};
      expect((await client.inspect({ id: 'idle' }, signal()))?.container).toMatchObject({ running: false });
    } finally {
      client.close();
    }
  });

  it('the same ID in two served namespaces is ambiguous', async () => {
    world.containers = { 'k8s.io': { twin: { image: 'a' } }, default: { twin: { image: 'b' } } };
    const client = new ContainerdClient(endpoint, ['k8s.io', 'default']);
    try {
      expect(await codeRejected(client.inspect({ id: 'twin' }, signal()))).toBe('CONTAINER_AMBIGUOUS');
    } finally {
      client.close();
    }
  });

  it.each([
    ['a blob over the size cap', (d: Digest) => world.blobs.set(d, { bytes: Buffer.from('{}'), reportedSize: MAX_BLOB_BYTES + 1 })],
    ['a blob longer than its reported size', (d: Digest) => world.blobs.set(d, { bytes: Buffer.from('{}'), served: Buffer.from('{"much":"longer"}') })],
    ['a blob that does not hash to its digest', (d: Digest) => world.blobs.set(d, { bytes: Buffer.from('{}'), served: Buffer.from('[]') })],
  ])('fails closed on %s', async (_name, spoil) => {
    const { manifest } = pulled('reg.example/app:2');
    spoil(manifest);
    world.containers = { default: { c2: { image: 'reg.example/app:2' } } };
    world.tasks = { c2: { pid: 77, status: 'RUNNING' } };
    const client = new ContainerdClient(endpoint, ['default']);
    try {
      const err = await client.inspect({ id: 'c2' }, signal()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
      expect((err as Error).message).toMatch(/^content sha256:[0-9a-f]{64} /);
    } finally {
      client.close();
    }
  });

  it('a socket nobody answers on is RUNTIME_UNAVAILABLE, naming the endpoint', async () => {
    const client = new ContainerdClient(`unix://${join(dir, 'nobody.sock')}`, ['default']);
    try {
      const err = await client.inspect({ id: 'x' }, signal()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
      expect((err as Error).message).toContain('nobody.sock');
    } finally {
      client.close();
    }
  });

  it('an aborted call is CANCELLED', async () => {
    world.containers = { default: { c3: { image: 'x' } } };
    const client = new ContainerdClient(endpoint, ['default']);
    try {
      expect(await codeRejected(client.inspect({ id: 'c3' }, AbortSignal.abort()))).toBe('CANCELLED');
    } finally {
      client.close();
    }
  });
});

// A task start as containerd streams it: TaskStart { container_id = 1 } in the Any.
function started(namespace: string, id: string, typeUrl = 'containerd.events.TaskStart'): unknown {
  const bytes = Buffer.from(id);
  return { namespace, topic: '/tasks/start', event: { type_url: typeUrl, value: Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]) } };
}

describe('ContainerdClient.watchStarts', () => {
  it('reports the starts of served namespaces, skips the rest, and resolves when containerd ends the stream', async () => {
    world.holdEvents = false;
    world.events = [
      started('default', 'one'),
      started('moby', 'elsewhere'),
      { namespace: 'default', topic: '/tasks/exit', event: { type_url: 'containerd.events.TaskExit', value: Buffer.from([0x0a, 1, 0x41]) } },
      started('default', 'not/an/id'),
      { namespace: 'default', topic: '/tasks/start', event: { type_url: 'containerd.events.TaskStart', value: Buffer.from([0x0a, 0x7f]) } },
      // Over the per-message cap: dropped before it is decoded.
      { namespace: 'default', topic: '/tasks/start', event: { type_url: 'x', value: Buffer.alloc(MAX_EVENT_BYTES) } },
      started('k8s.io', 'two'),
      started('default', 'boom'),
      started('default', 'three'),
    ];
    const client = new ContainerdClient(endpoint, ['default', 'k8s.io']);
    const seen: ContainerKey[] = [];
    try {
      await client.watchStarts((key) => {
        if (key.id === 'boom') throw new Error('a caller that fails');
        seen.push(key);
      }, AbortSignal.timeout(5_000));
      expect(seen).toEqual([
        { id: 'one', namespace: 'default' },
        { id: 'two', namespace: 'k8s.io' },
        { id: 'three', namespace: 'default' },
      ]);
      expect(world.filters).toEqual(['topic=="/tasks/start",namespace=="default"', 'topic=="/tasks/start",namespace=="k8s.io"']);
    } finally {
      client.close();
    }
  });

  it('has no deadline: a stream that stays open stays watched until the signal aborts, which resolves it', async () => {
    world.holdEvents = true;
    world.events = [started('default', 'early')];
    const client = new ContainerdClient(endpoint, ['default']);
    const seen: ContainerKey[] = [];
    const controller = new AbortController();
    try {
      const watch = client.watchStarts((key) => seen.push(key), controller.signal);
      await expect.poll(() => seen).toEqual([{ id: 'early', namespace: 'default' }]);
      controller.abort();
      await expect(watch).resolves.toBeUndefined();
    } finally {
      client.close();
      world.holdEvents = false;
    }
  });

  it('close() ends a watch under way (resolves)', async () => {
    world.holdEvents = true;
    world.events = [];
    const client = new ContainerdClient(endpoint, ['default']);
    try {
      const watch = client.watchStarts(() => undefined, AbortSignal.timeout(5_000));
      await expect.poll(() => world.filters).toBeDefined();
      client.close();
      await expect(watch).resolves.toBeUndefined();
    } finally {
      world.holdEvents = false;
    }
  });

  it('a socket nobody answers on rejects with RUNTIME_UNAVAILABLE, naming the endpoint', async () => {
    const client = new ContainerdClient(`unix://${join(dir, 'nobody.sock')}`, ['default']);
    try {
      const err = await client.watchStarts(() => undefined, AbortSignal.timeout(5_000)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
      expect((err as Error).message).toContain('nobody.sock');
    } finally {
      client.close();
    }
  });
});
