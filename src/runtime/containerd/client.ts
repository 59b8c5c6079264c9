// containerd (ctr, nerdctl, Kubernetes' CRI) through containerd's own gRPC
// API. One inspection answers what the attestor needs: the container record
// (labels, image name, OCI spec for env), its task (the first process), and
// the image it runs, proven from its snapshot (image-proof.ts).

import { AttestorError } from '../../errors.js';
import { VerdictCache } from '../../util/cache.js';
import { computeDigest, digestAlgorithm, isDigest } from '../../util/digest.js';
import { ContainerdConnection } from './connection.js';
import { MAX_EVENT_BYTES, startedContainer, startFilters } from './events.js';
import { MAX_LABELLED, proveImage } from './image-proof.js';
import { CRI_METADATA_EXTENSION, criImageRef } from './oci.js';
import { containerRecord, imageRecord, infoRecord, listedInfos, readChunk, snapshotRecord, specEnv, taskRecord, versionOf } from './wire.js';

import type { Digest } from '../../util/digest.js';
import type { MessageDecoder } from '../../util/protos.js';
import type { Method } from './protos.js';
import type { ContainerKey, Inspected, RuntimeClient } from '../types.js';
import type { ContentSource, ImageTarget, Proof } from './image-proof.js';
import type { SnapshotRecord } from './wire.js';

// Index, manifest and config documents: real ones are kilobytes.
export const MAX_BLOB_BYTES = 4 * 1024 * 1024;
// A proof holds for the container's life (its root filesystem cannot
// change); kept a day, for at most this many containers.
const PROOF_CACHE = { ttlMs: 24 * 60 * 60_000, maxEntries: 4096 } as const;
// What containerd's filter syntax gets from us: label keys and values we
// built or that containerd reported, never free text.
const FILTER_TOKEN = /^[A-Za-z0-9._:/-]{1,255}$/;

// Loaded and parsed on first use: a node without containerd never loads these
// protos, nor protobufjs and @grpc/proto-loader (~10 MB resident).
type Methods = Record<'container' | 'task' | 'image' | 'info' | 'list' | 'read' | 'stat' | 'version' | 'subscribe', Method> & {
  readonly taskStart: MessageDecoder;
};
let methods: Promise<Methods> | undefined;
function rpc(): Promise<Methods> {
  methods ??= import('./protos.js').then(({ decoderOf, methodOf }) => ({
    container: methodOf('containers', 'Get'),
    task: methodOf('tasks', 'Get'),
    image: methodOf('images', 'Get'),
    info: methodOf('content', 'Info'),
    list: methodOf('content', 'List'),
    read: methodOf('content', 'Read'),
    stat: methodOf('snapshots', 'Stat'),
    version: methodOf('version', 'Version'),
    subscribe: methodOf('events', 'Subscribe'),
    taskStart: decoderOf('taskStart'),
  }));
  return methods;
}

function earliest(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

// The repository part of an image name (`host/path:tag` or `host/path@digest`).
function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  const withoutDigest = at < 0 ? name : name.slice(0, at);
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

class NamespaceContent implements ContentSource {
  readonly #connection: ContainerdConnection;
  readonly #namespace: string;
  readonly #signal: AbortSignal;

  constructor(connection: ContainerdConnection, namespace: string, signal: AbortSignal) {
    this.#connection = connection;
    this.#namespace = namespace;
    this.#signal = signal;
  }

  async read(digest: Digest): Promise<Buffer | undefined> {
    const what = `read content ${digest}`;
    const info = await this.#connection.unary((await rpc()).info, { digest }, this.#namespace, this.#signal, what);
    if (info === undefined) return undefined;
    const { size } = infoRecord(info);
    if (size < 0 || size > MAX_BLOB_BYTES) {
      throw new AttestorError('IMAGE_NOT_FOUND', `content ${digest} is ${size} bytes, over the ${MAX_BLOB_BYTES}-byte cap for image documents`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const found = await this.#connection.stream((await rpc()).read, { digest, offset: 0, size }, this.#namespace, this.#signal, what, (message) => {
      const { data } = readChunk(message);
      total += data.length;
      if (total > size) throw new AttestorError('IMAGE_NOT_FOUND', `content ${digest} is longer than the ${size} bytes containerd reported`);
      chunks.push(data);
    });
    if (found === undefined) return undefined;
    const bytes = Buffer.concat(chunks, total);
    if (computeDigest(bytes, digestAlgorithm(digest)) !== digest) {
      throw new AttestorError('IMAGE_NOT_FOUND', `content ${digest} in containerd's store does not hash to its digest`);
    }
    return bytes;
  }

  async withLabel(key: string, value: string, createdBeforeNs?: bigint): Promise<Digest[]> {
    if (!FILTER_TOKEN.test(key) || !FILTER_TOKEN.test(value)) return [];
    const out: Digest[] = [];
    const filter = `labels.${JSON.stringify(key)}==${JSON.stringify(value)}`;
    await this.#connection.stream((await rpc()).list, { filters: [filter] }, this.#namespace, this.#signal, `list content ${filter}`, (message) => {
      for (const info of listedInfos(message)) {
        const stored = createdBeforeNs === undefined || info.createdAtNs === undefined || info.createdAtNs < createdBeforeNs;
        if (out.length < MAX_LABELLED && isDigest(info.digest) && info.labels[key] === value && stored) out.push(info.digest);
      }
    });
    return out;
  }

  async image(name: string): Promise<ImageTarget | undefined> {
    const response = await this.#connection.unary((await rpc()).image, { name }, this.#namespace, this.#signal, `get image ${name}`);
    if (response === undefined) return undefined;
    const record = imageRecord(response);
    return isDigest(record.digest) ? { digest: record.digest, mediaType: record.mediaType, updatedAtNs: record.updatedAtNs } : undefined;
  }
}

export class ContainerdClient implements RuntimeClient {
  readonly kind = 'containerd' as const;
  readonly endpoint: string;
  readonly namespaces: readonly string[];
  readonly #connection: ContainerdConnection;
  // The first proof for each container (namespace, ID, creation time): a
  // name re-pointed later, or the original content collected by
  // containerd's garbage collector after that, does not change it.
  readonly #proofs = new VerdictCache<Proof>({
    ttlMs: PROOF_CACHE.ttlMs,
    ttlOf: (proof) => (proof.outcome === 'proven' ? PROOF_CACHE.ttlMs : 0),
    failureTtlMs: 0,
    maxEntries: PROOF_CACHE.maxEntries,
  });

  constructor(endpoint: string, namespaces: readonly string[]) {
    this.endpoint = endpoint;
    this.namespaces = namespaces;
    this.#connection = new ContainerdConnection(endpoint);
  }

  // The daemon's version (for reports and the rig).
  async version(signal: AbortSignal): Promise<string> {
    return versionOf(await this.#connection.unary((await rpc()).version, {}, this.namespaces[0] ?? 'default', signal, 'version'));
  }

  async inspect(key: ContainerKey, signal: AbortSignal): Promise<Inspected | undefined> {
    const namespaces = key.namespace === undefined ? this.namespaces : this.namespaces.filter((ns) => ns === key.namespace);
    const found: { namespace: string; response: unknown }[] = [];
    for (const namespace of namespaces) {
      const response = await this.#connection.unary((await rpc()).container, { id: key.id }, namespace, signal, `get container ${key.id}`);
      if (response !== undefined) found.push({ namespace, response });
    }
    const [first, second] = found;
    if (first === undefined) return undefined;
    if (second !== undefined) {
      throw new AttestorError('CONTAINER_AMBIGUOUS', `container ${key.id} exists in containerd namespaces "${first.namespace}" and "${second.namespace}"`);
    }
    const { namespace } = first;
    const record = containerRecord(first.response);
    const task = await this.#connection.unary((await rpc()).task, { container_id: key.id, exec_id: '' }, namespace, signal, `get task of ${key.id}`);
    const process = task === undefined ? undefined : taskRecord(task);
    const running = process?.status === 'RUNNING' && process.pid > 0;
    const base = {
      id: record.id,
      namespace,
      imageRef: record.image,
      labels: record.labels,
      env: specEnv(record.spec, key.id),
      running,
      initPid: running ? process.pid : 0,
    };
    // Not running: nothing to prove, and nothing to grant.
    if (!running) return { container: { ...base, imageId: '' }, image: undefined };

    const snapshot = await this.#snapshot(record.snapshotter, record.snapshotKey, namespace, key.id, signal);
    const { parent } = snapshot;
    const source = new NamespaceContent(this.#connection, namespace, signal);
    const criMetadata = record.extensions[CRI_METADATA_EXTENSION];
    const input = {
      imageName: record.image,
      snapshotter: record.snapshotter,
      parent,
      // The snapshot is prepared after the name is resolved and before the
      // container record is written: the earlier time, the narrower window.
      createdAtNs: earliest(snapshot.createdAtNs, record.createdAtNs),
      criImageRef: criMetadata === undefined ? undefined : criImageRef(criMetadata, key.id),
    };
    const proven =
      record.createdAtNs === undefined
        ? await proveImage(source, input)
        : await this.#proofs.get(`${namespace}/${key.id}@${record.createdAtNs}/${parent}`, () => proveImage(source, input));
    if (proven.outcome === 'unproven') {
      throw new AttestorError('IMAGE_NOT_FOUND', `cannot prove which image containerd container ${key.id} (namespace "${namespace}") runs: ${proven.reason}`);
    }
    const repository = repositoryOf(record.image);
    return {
      container: { ...base, imageId: proven.configDigest },
      image: {
        id: proven.configDigest,
        repoDigests: repository === '' ? [] : proven.digests.map((d) => `${repository}@${d}`),
        repoTags: [],
        ...proven.platform,
      },
    };
  }

  // containerd's event stream, only /tasks/start of the served namespaces
  // (filtered by containerd, and checked again here). See RuntimeClient.
  async watchStarts(onStart: (key: ContainerKey) => void, signal: AbortSignal): Promise<void> {
    const filters = startFilters(this.namespaces);
    if (signal.aborted) return;
    if (filters.length === 0) {
      // No namespace to watch ([] would subscribe to everything).
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    const { subscribe, taskStart } = await rpc();
    await this.#connection.watch(subscribe, { filters }, signal, 'subscribe to task starts', MAX_EVENT_BYTES, (envelope) => {
      const key = startedContainer(envelope, this.namespaces, taskStart);
      if (key !== undefined) onStart(key);
    });
  }

  async #snapshot(snapshotter: string, snapshotKey: string, namespace: string, id: string, signal: AbortSignal): Promise<SnapshotRecord> {
    if (snapshotter === '' || snapshotKey === '') {
      throw new AttestorError('IMAGE_NOT_FOUND', `containerd container ${id} has no snapshot: its root filesystem is not an image's`);
    }
    const stat = await this.#connection.unary((await rpc()).stat, { snapshotter, key: snapshotKey }, namespace, signal, `stat snapshot ${snapshotKey}`);
    const snapshot = stat === undefined ? { parent: '', createdAtNs: undefined } : snapshotRecord(stat);
    if (snapshot.parent === '') {
      throw new AttestorError('IMAGE_NOT_FOUND', `containerd container ${id}: snapshot "${snapshotKey}" (${snapshotter}) has no parent image layers`);
    }
    return snapshot;
  }

  close(): void {
    this.#connection.close();
  }
}
