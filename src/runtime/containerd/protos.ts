// containerd's gRPC API as far as the attestor uses it: our own .proto files
// under proto/containerd/ (containerd's package, service and method names and
// field numbers; only the fields we read).

import { messageDecoder, serviceOf } from '../../util/protos.js';

import type { MethodDefinition } from '@grpc/grpc-js';
import type { MessageDecoder, ProtoSet } from '../../util/protos.js';

export const CONTAINERD_PROTOS: ProtoSet = {
  files: [
    'containerd/services/containers/v1/containers.proto',
    'containerd/services/tasks/v1/tasks.proto',
    'containerd/services/images/v1/images.proto',
    'containerd/services/content/v1/content.proto',
    'containerd/services/snapshots/v1/snapshots.proto',
    'containerd/services/version/v1/version.proto',
    'containerd/services/events/v1/events.proto',
    'containerd/events/task.proto',
  ],
  asset: 'containerd-protos.json',
};

export const CONTAINERD_SERVICE = {
  containers: 'containerd.services.containers.v1.Containers',
  tasks: 'containerd.services.tasks.v1.Tasks',
  images: 'containerd.services.images.v1.Images',
  content: 'containerd.services.content.v1.Content',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  version: 'containerd.services.version.v1.Version',
  events: 'containerd.services.events.v1.Events',
} as const;

// Messages that arrive inside an Any (an event envelope's payload), by the
// name its type URL carries.
export const CONTAINERD_MESSAGE = {
  taskStart: 'containerd.events.TaskStart',
} as const;

type ServiceKey = keyof typeof CONTAINERD_SERVICE;

// Decoded messages are plain objects of unknown shape until wire.ts reads them.
export type Method = MethodDefinition<object, unknown>;

export function methodOf(service: ServiceKey, method: string): Method {
  const def = serviceOf(CONTAINERD_PROTOS, CONTAINERD_SERVICE[service])[method];
  if (def === undefined) throw new Error(`proto method ${CONTAINERD_SERVICE[service]}/${method} not found`);
  return def as Method;
}

export function decoderOf(message: keyof typeof CONTAINERD_MESSAGE): MessageDecoder {
  return messageDecoder(CONTAINERD_PROTOS, CONTAINERD_MESSAGE[message]);
}
