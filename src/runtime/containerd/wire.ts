// Decoded containerd messages -> typed records. proto-loader hands back plain
// objects (defaults filled in, longs as strings, enums as names); nothing is
// trusted to have the shape the .proto promises until read here.

import { AttestorError } from '../../errors.js';

type Fields = Readonly<Record<string, unknown>>;

function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null ? (value as Fields) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(fields(value))) {
    if (typeof item === 'string') out[key] = item;
  }
  return out;
}

// A bytes field: a Uint8Array (our decoders read strictly, from a Uint8Array
// view, so protobufjs hands back Uint8Arrays), seen as a Buffer without a copy.
function bytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.alloc(0);
}

function count(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

// A google.protobuf.Timestamp as nanoseconds since the epoch; undefined
// when absent or malformed.
function timestampNs(value: unknown): bigint | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const t = fields(value);
  const seconds = typeof t['seconds'] === 'string' && /^-?[0-9]{1,19}$/.test(t['seconds']) ? BigInt(t['seconds']) : undefined;
  const nanos = typeof t['nanos'] === 'number' && Number.isInteger(t['nanos']) ? t['nanos'] : undefined;
  return seconds === undefined || nanos === undefined ? undefined : seconds * 1_000_000_000n + BigInt(nanos);
}

export interface ContainerRecord {
  readonly id: string;
  readonly labels: Record<string, string>;
  readonly image: string;
  // The OCI runtime spec, as JSON bytes; empty when the record has none.
  readonly spec: Buffer;
  readonly snapshotter: string;
  readonly snapshotKey: string;
  readonly createdAtNs: bigint | undefined;
  // Extensions by name: their Any values (JSON for CRI's metadata).
  readonly extensions: Record<string, Buffer>;
}

export function containerRecord(response: unknown): ContainerRecord {
  const c = fields(fields(response)['container']);
  return {
    id: text(c['id']),
    labels: stringMap(c['labels']),
    image: text(c['image']),
    spec: bytes(fields(c['spec'])['value']),
    snapshotter: text(c['snapshotter']),
    snapshotKey: text(c['snapshot_key']),
    createdAtNs: timestampNs(c['created_at']),
    extensions: Object.fromEntries(Object.entries(fields(c['extensions'])).map(([name, any]) => [name, bytes(fields(any)['value'])])),
  };
}

export interface TaskRecord {
  readonly pid: number;
  readonly status: string;
}

export function taskRecord(response: unknown): TaskRecord {
  const p = fields(fields(response)['process']);
  return { pid: count(p['pid']), status: text(p['status']) };
}

export interface ImageRecord {
  readonly name: string;
  readonly mediaType: string;
  readonly digest: string;
  readonly updatedAtNs: bigint | undefined;
}

export function imageRecord(response: unknown): ImageRecord {
  const image = fields(fields(response)['image']);
  const target = fields(image['target']);
  return { name: text(image['name']), mediaType: text(target['media_type']), digest: text(target['digest']), updatedAtNs: timestampNs(image['updated_at']) };
}

export interface ContentInfo {
  readonly digest: string;
  readonly size: number;
  readonly labels: Record<string, string>;
  readonly createdAtNs: bigint | undefined;
}

function contentInfo(value: unknown): ContentInfo {
  const info = fields(value);
  return { digest: text(info['digest']), size: count(info['size']), labels: stringMap(info['labels']), createdAtNs: timestampNs(info['created_at']) };
}

export function infoRecord(response: unknown): ContentInfo {
  return contentInfo(fields(response)['info']);
}

export function listedInfos(response: unknown): ContentInfo[] {
  const list = fields(response)['info'];
  return Array.isArray(list) ? list.map(contentInfo) : [];
}

export function readChunk(response: unknown): { offset: number; data: Buffer } {
  const r = fields(response);
  return { offset: count(r['offset']), data: bytes(r['data']) };
}

export interface SnapshotRecord {
  readonly parent: string;
  readonly createdAtNs: bigint | undefined;
}

export function snapshotRecord(response: unknown): SnapshotRecord {
  const info = fields(fields(response)['info']);
  return { parent: text(info['parent']), createdAtNs: timestampNs(info['created_at']) };
}

export function versionOf(response: unknown): string {
  return text(fields(response)['version']);
}

// The `process.env` of an OCI runtime spec (JSON).
export function specEnv(spec: Buffer, containerId: string): string[] {
  if (spec.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec.toString('utf8'));
  } catch (err) {
    throw new AttestorError('RUNTIME_UNAVAILABLE', `container ${containerId}: its OCI runtime spec is not JSON`, { cause: err });
  }
  const env = fields(fields(parsed)['process'])['env'];
  return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : [];
}
