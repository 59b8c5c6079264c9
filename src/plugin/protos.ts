// Loads the .proto files under proto/ once and hands out the service
// definitions grpc-js needs. The files are ours, written from the wire facts
// (package, service, message names, field numbers) of go-plugin and SPIRE.
// Inside the single-executable build (scripts/build-sea.mjs) the same protos
// come, already parsed, from the embedded asset PROTO_JSON_ASSET.

import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

import * as protoLoader from '@grpc/proto-loader';

import type { ServiceDefinition } from '@grpc/grpc-js';

export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export const PROTO_FILES = [
  'plugin/goplugin.proto',
  'grpc/health/v1/health.proto',
  'spire/service/private/init/v1/init.proto',
  'spire/service/common/config/v1/config.proto',
  'spire/plugin/agent/workloadattestor/v1/workloadattestor.proto',
] as const;

export const PROTO_LOAD_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

// protobufjs JSON (Root#toJSON) of PROTO_FILES, loaded with PROTO_LOAD_OPTIONS.
export const PROTO_JSON_ASSET = 'protos.json';

// Fully qualified service names, as they appear on the wire and in Init.
export const SERVICE = {
  broker: 'plugin.GRPCBroker',
  controller: 'plugin.GRPCController',
  stdio: 'plugin.GRPCStdio',
  health: 'grpc.health.v1.Health',
  init: 'spire.service.private.init.v1.Init',
  config: 'spire.service.common.config.v1.Config',
  workloadAttestor: 'spire.plugin.agent.workloadattestor.v1.WorkloadAttestor',
} as const;

export type ServiceName = (typeof SERVICE)[keyof typeof SERVICE];

type ProtoJson = Parameters<typeof protoLoader.fromJSON>[0];

let loaded: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  loaded ??= isSea()
    ? protoLoader.fromJSON(JSON.parse(getAsset(PROTO_JSON_ASSET, 'utf8')) as ProtoJson, PROTO_LOAD_OPTIONS)
    : protoLoader.loadSync([...PROTO_FILES], { ...PROTO_LOAD_OPTIONS, includeDirs: [PROTO_DIR] });
  return loaded;
}

function isServiceDefinition(value: unknown): value is ServiceDefinition {
  // Message and enum definitions carry a `format` field; services do not.
  return typeof value === 'object' && value !== null && !('format' in value);
}

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  const def = packageDefinition()[name];
  if (!isServiceDefinition(def)) {
    throw new Error(`proto service ${name} not found under ${isSea() ? `the embedded ${PROTO_JSON_ASSET}` : PROTO_DIR}`);
  }
  return def;
}
