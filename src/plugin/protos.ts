// Loads the .proto files under proto/ once and hands out the service
// definitions grpc-js needs. The files are ours, written from the wire facts
// (package, service, message names, field numbers) of go-plugin and SPIRE.
// Inside the single-executable build (scripts/build-sea.mjs) the same protos
// come, already parsed, from the embedded asset (util/protos.ts).

import { serviceOf } from '../util/protos.js';

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { ProtoSet } from '../util/protos.js';

export const PLUGIN_PROTOS: ProtoSet = {
  files: [
    'plugin/goplugin.proto',
    'grpc/health/v1/health.proto',
    'spire/service/private/init/v1/init.proto',
    'spire/service/common/config/v1/config.proto',
    'spire/plugin/agent/workloadattestor/v1/workloadattestor.proto',
    'spire/hostservice/common/metrics/v1/metrics.proto',
  ],
  asset: 'protos.json',
};

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

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  return serviceOf(PLUGIN_PROTOS, name);
}
