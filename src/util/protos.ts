// Loading our .proto files (proto/, written from the wire facts) into the
// service definitions grpc-js needs, and decoders for messages that travel
// inside a google.protobuf.Any. Each user names its set: the files and the
// asset that holds them, already parsed, inside the single-executable build
// (scripts/build-sea.mjs writes one asset per set).

import { isAbsolute, join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

import { PROTO_LOAD_OPTIONS, strictBytes, TO_OBJECT_OPTIONS } from './proto-wire.js';

import type { ServiceDefinition } from '@grpc/grpc-js';

export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export { PROTO_LOAD_OPTIONS } from './proto-wire.js';

export interface ProtoSet {
  // Paths under PROTO_DIR.
  readonly files: readonly string[];
  // protobufjs JSON (Root#toJSON) of `files`, loaded with PROTO_LOAD_OPTIONS.
  readonly asset: string;
}

type ProtoJson = Parameters<typeof protoLoader.fromJSON>[0];

const loaded = new Map<string, protoLoader.PackageDefinition>();
const roots = new Map<string, protobuf.Root>();

// The set's JSON, or its files parsed, as one protobufjs root.
function rootOf(set: ProtoSet): protobuf.Root {
  let root = roots.get(set.asset);
  if (!root) {
    if (isSea()) {
      root = protobuf.Root.fromJSON(JSON.parse(getAsset(set.asset, 'utf8')) as protobuf.INamespace);
    } else {
      // As proto-loader's loadSync: imports resolve under PROTO_DIR (google/
      // protobuf/*.proto are protobufjs' own), field names as written.
      root = new protobuf.Root();
      root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_DIR, target));
      root.loadSync([...set.files], { keepCase: PROTO_LOAD_OPTIONS.keepCase });
    }
    root.resolveAll();
    roots.set(set.asset, root);
  }
  return root;
}

function packageDefinition(set: ProtoSet): protoLoader.PackageDefinition {
  let def = loaded.get(set.asset);
  if (!def) {
    def = isSea()
      ? protoLoader.fromJSON(JSON.parse(getAsset(set.asset, 'utf8')) as ProtoJson, PROTO_LOAD_OPTIONS)
      : protoLoader.loadSync([...set.files], { ...PROTO_LOAD_OPTIONS, includeDirs: [PROTO_DIR] });
    loaded.set(set.asset, def);
  }
  return def;
}

function isServiceDefinition(value: unknown): value is ServiceDefinition {
  // Message and enum definitions carry a `format` field; services do not.
  return typeof value === 'object' && value !== null && !('format' in value);
}

// proto-loader's methods, decoding strictly: truncated bytes are an error.
// Their types say Buffer; protobufjs decodes any Uint8Array (and then hands
// bytes fields back as Uint8Arrays).
function strictly(def: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([method, m]) => {
      const { requestDeserialize, responseDeserialize } = m;
      return [
        method,
        {
          ...m,
          requestDeserialize: (bytes: Buffer): unknown => requestDeserialize(strictBytes(bytes) as Buffer),
          responseDeserialize: (bytes: Buffer): unknown => responseDeserialize(strictBytes(bytes) as Buffer),
        },
      ];
    }),
  );
}

const services = new Map<string, ServiceDefinition>();

export function serviceOf(set: ProtoSet, name: string): ServiceDefinition {
  const key = `${set.asset}\0${name}`;
  let strict = services.get(key);
  if (!strict) {
    const def = packageDefinition(set)[name];
    if (!isServiceDefinition(def)) {
      throw new Error(`proto service ${name} not found under ${isSea() ? `the embedded ${set.asset}` : PROTO_DIR}`);
    }
    strict = strictly(def);
    services.set(key, strict);
  }
  return strict;
}

// Decodes the bytes of one message type of the set (fully qualified name) into
// the plain object grpc-js would hand back for it (PROTO_LOAD_OPTIONS): what
// an Any carries. Throws on bytes that are not that message.
export type MessageDecoder = (bytes: Uint8Array) => unknown;

export function messageDecoder(set: ProtoSet, name: string): MessageDecoder {
  let type: protobuf.Type;
  try {
    type = rootOf(set).lookupType(name);
  } catch (err) {
    throw new Error(`proto message ${name} not found under ${isSea() ? `the embedded ${set.asset}` : PROTO_DIR}`, { cause: err });
  }
  return (bytes) => type.toObject(type.decode(strictBytes(bytes)), TO_OBJECT_OPTIONS);
}
