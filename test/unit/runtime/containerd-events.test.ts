// What watchStarts takes from an event envelope: the container of a
// /tasks/start in a served namespace, decoded from its TaskStart payload
// with our protos; everything else skipped, never an error.

import { describe, expect, it } from 'vitest';

import { MAX_EVENT_BYTES, startedContainer, startFilters } from '../../../src/runtime/containerd/events.js';
import { decoderOf } from '../../../src/runtime/containerd/protos.js';

const decode = decoderOf('taskStart');
const NAMESPACES = ['default', 'k8s.io'];

// TaskStart { container_id = 1; pid = 2 } on the wire (pid is not in our proto).
function taskStart(id: string, pid = 4242): Buffer {
  const idBytes = Buffer.from(id);
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
  return Buffer.from([0x0a, ...varint(idBytes.length), ...idBytes, 0x10, ...varint(pid)]);
}

function envelope(over: Record<string, unknown> = {}, event: Record<string, unknown> = {}): Record<string, unknown> {
  return { namespace: 'default', topic: '/tasks/start', event: { type_url: 'containerd.events.TaskStart', value: taskStart('app-1'), ...event }, ...over };
}

describe('startedContainer', () => {
  it('a /tasks/start of a served namespace: its container ID and namespace', () => {
    expect(startedContainer(envelope(), NAMESPACES, decode)).toEqual({ id: 'app-1', namespace: 'default' });
    expect(startedContainer(envelope({ namespace: 'k8s.io' }, { value: taskStart('a'.repeat(64)) }), NAMESPACES, decode)).toEqual({
      id: 'a'.repeat(64),
      namespace: 'k8s.io',
    });
    // The Any convention's `<host>/<name>` type URL names the same message.
    expect(startedContainer(envelope({}, { type_url: 'type.googleapis.com/containerd.events.TaskStart' }), NAMESPACES, decode)).toEqual({
      id: 'app-1',
      namespace: 'default',
    });
  });

  it.each<[string, unknown]>([
    ['another topic', envelope({ topic: '/tasks/create' })],
    ['a namespace not served', envelope({ namespace: 'moby' })],
    ['no namespace', envelope({ namespace: '' })],
    ['another payload type', envelope({}, { type_url: 'containerd.events.TaskCreate' })],
    ['a type URL that only ends like it', envelope({}, { type_url: 'evil.containerd.events.TaskStart' })],
    ['no payload', envelope({ event: undefined })],
    ['payload bytes that are not a message', envelope({}, { value: Buffer.from([0x0a, 0x7f, 0x41]) })],
    ['a payload over the cap', envelope({}, { value: Buffer.concat([taskStart('app-1'), Buffer.alloc(MAX_EVENT_BYTES)]) })],
    ['an empty container ID', envelope({}, { value: taskStart('') })],
    ['an ID that is not a containerd identifier', envelope({}, { value: taskStart('../etc') })],
    ['an ID over 76 characters', envelope({}, { value: taskStart('a'.repeat(77)) })],
    ['not an object', 'envelope'],
    ['null', null],
  ])('skips %s', (_what, message) => {
    expect(startedContainer(message, NAMESPACES, decode)).toBeUndefined();
  });
});

describe('startFilters', () => {
  it('one filter per namespace (containerd ORs them), topic and namespace together', () => {
    expect(startFilters(NAMESPACES)).toEqual(['topic=="/tasks/start",namespace=="default"', 'topic=="/tasks/start",namespace=="k8s.io"']);
  });

  it('leaves out what is not a namespace name: nothing to quote, no filter injected', () => {
    expect(startFilters(['bad"name', 'a,namespace==b', '', 'ok'])).toEqual(['topic=="/tasks/start",namespace=="ok"']);
  });
});
