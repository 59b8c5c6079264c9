// Loading our .proto files (proto/, written from the wire facts) into the
// service definitions grpc-js needs. Each user names its set: the files and
// the asset that holds them, already parsed, inside the single-executable
// build (scripts/build-sea.mjs writes one asset per set).

import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

import * as protoLoader from '@grpc/proto-loader';

import type { ServiceDefinition } from '@grpc/grpc-js';

export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export const PROTO_LOAD_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

export interface ProtoSet {
  // Paths under PROTO_DIR.
  readonly files: readonly string[];
  // protobufjs JSON (Root#toJSON) of `files`, loaded with PROTO_LOAD_OPTIONS.
  readonly asset: string;
}

type ProtoJson = Parameters<typeof protoLoader.fromJSON>[0];

const loaded = new Map<string, protoLoader.PackageDefinition>();

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

export function serviceOf(set: ProtoSet, name: string): ServiceDefinition {
  const def = packageDefinition(set)[name];
  if (!isServiceDefinition(def)) {
    throw new Error(`proto service ${name} not found under ${isSea() ? `the embedded ${set.asset}` : PROTO_DIR}`);
  }
  return def;
}
