// The service definitions grpc-js needs for the plugin protocol (go-plugin,
// gRPC health, SPIRE), from proto/generated/plugin.js: encoders and decoders
// that scripts/gen-protos.mjs compiled ahead of time from our .proto files
// (written from the wire facts: package, service, message names, field
// numbers). Nothing is parsed or generated at start, before the handshake.

import * as generated from '../../proto/generated/plugin.js';
import { strictBytes, TO_OBJECT_OPTIONS } from '../util/proto-wire.js';

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { IConversionOptions, Writer } from 'protobufjs';

// What scripts/gen-protos.mjs writes: a pbjs static class per message, and
// per service its methods (test/unit/plugin/protos.test.ts checks both
// against the .proto files).
interface WireType {
  encode(message: object): Writer;
  decode(bytes: Uint8Array): object;
  fromObject(object: Record<string, unknown>): object;
  toObject(message: object, options?: IConversionOptions): Record<string, unknown>;
}

interface WireMethod {
  readonly path: string;
  readonly originalName: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

const messages = generated.messages as Readonly<Record<string, WireType>>;
const services = generated.services as Readonly<Record<string, Readonly<Record<string, WireMethod>>>>;

// The .proto files the generated code comes from, for clients that load them
// (the benchmark, tests).
export const PLUGIN_PROTO_FILES: readonly string[] = generated.sources;

// Fully qualified service names, as they appear on the wire and in Init.
export const SERVICE = {
  broker: 'plugin.GRPCBroker',
  controller: 'plugin.GRPCController',
  stdio: 'plugin.GRPCStdio',
  health: 'grpc.health.v1.Health',
  init: 'spire.service.private.init.v1.Init',
  config: 'spire.service.common.config.v1.Config',
  workloadAttestor: 'spire.plugin.agent.workloadattestor.v1.WorkloadAttestor',
  // A host service: served by the agent, called by us.
  metrics: 'spire.hostservice.common.metrics.v1.Metrics',
} as const;

export type ServiceName = (typeof SERVICE)[keyof typeof SERVICE];

function wireType(name: string): WireType {
  const type = messages[name];
  if (!type) throw new Error(`proto message ${name} not in proto/generated/plugin.js`);
  return type;
}

function serializer(type: WireType): (value: object) => Buffer {
  return (value) => {
    const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: WireType): (bytes: Buffer) => object {
  // Strictly, and shaped as the proto-loader sets are (keepCase is the
  // generator's --keep-case).
  return (bytes) => type.toObject(type.decode(strictBytes(bytes)), TO_OBJECT_OPTIONS);
}

function methodDefinition(method: WireMethod): MethodDefinition<object, object> {
  const request = wireType(method.requestType);
  const response = wireType(method.responseType);
  return {
    path: method.path,
    originalName: method.originalName,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
    requestSerialize: serializer(request),
    requestDeserialize: deserializer(request),
    responseSerialize: serializer(response),
    responseDeserialize: deserializer(response),
  };
}

const definitions = new Map<ServiceName, ServiceDefinition>();

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  let def = definitions.get(name);
  if (!def) {
    const methods = services[name];
    if (!methods) throw new Error(`proto service ${name} not in proto/generated/plugin.js`);
    def = Object.fromEntries(Object.entries(methods).map(([method, wire]) => [method, methodDefinition(wire)]));
    definitions.set(name, def);
  }
  return def;
}
