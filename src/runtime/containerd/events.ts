// containerd's event stream, as far as watchStarts reads it: the envelopes of
// topic /tasks/start (a task's init process began) and the container ID in
// their TaskStart payload. Nothing here is trusted: a malformed envelope, one
// of another topic or of a namespace we do not serve, or an ID that is not a
// containerd identifier is skipped, never an error.

import { isContainerdIdentifier } from '../../util/containerd-identifier.js';

import type { ContainerKey } from '../types.js';
import type { MessageDecoder } from '../../util/protos.js';

export const TASK_START_TOPIC = '/tasks/start';
// The Any type URL of a TaskStart (containerd writes the bare name; a
// `<host>/` prefix, the Any convention, is accepted too).
const TASK_START_TYPE = 'containerd.events.TaskStart';
// A TaskStart envelope is ~100 bytes: anything larger is not one.
export const MAX_EVENT_BYTES = 64 * 1024;

type Fields = Readonly<Record<string, unknown>>;

function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null ? (value as Fields) : {};
}

// Subscribe's filters: any of them matches (containerd ORs the list; within
// one, commas AND). One per served namespace, so that containerd sends no
// other namespace's starts. [] (which would match every event) only when no
// namespace is a valid name; the caller does not subscribe then.
export function startFilters(namespaces: readonly string[]): string[] {
  return namespaces.filter(isContainerdIdentifier).map((ns) => `topic==${JSON.stringify(TASK_START_TOPIC)},namespace==${JSON.stringify(ns)}`);
}

function isTaskStartType(typeUrl: unknown): boolean {
  return typeof typeUrl === 'string' && (typeUrl === TASK_START_TYPE || typeUrl.endsWith(`/${TASK_START_TYPE}`));
}

// The container an envelope says started, or undefined to skip it.
export function startedContainer(envelope: unknown, namespaces: readonly string[], decodeTaskStart: MessageDecoder): ContainerKey | undefined {
  const e = fields(envelope);
  const { namespace, topic } = e;
  if (topic !== TASK_START_TOPIC || typeof namespace !== 'string' || !namespaces.includes(namespace)) return undefined;
  const event = fields(e['event']);
  const value = event['value'];
  if (!isTaskStartType(event['type_url']) || !(value instanceof Uint8Array) || value.length > MAX_EVENT_BYTES) return undefined;
  let payload: unknown;
  try {
    payload = decodeTaskStart(value);
  } catch {
    return undefined;
  }
  const id = fields(payload)['container_id'];
  return typeof id === 'string' && isContainerdIdentifier(id) ? { id, namespace } : undefined;
}
