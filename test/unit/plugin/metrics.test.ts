// The plugin's side of spire-agent's Metrics host service, against a real
// grpc-js server of that service on a unix socket: what the agent offers
// decides whether metrics flow, and a missing or failing host service never
// affects the caller.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Server, ServerCredentials } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { HostMetricsClient, HostServices } from '../../../src/plugin/metrics.js';
import { SERVICE, serviceDefinition } from '../../../src/plugin/protos.js';

import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '../../../src/log.js';
import type { HostMetricsSink } from '../../../src/plugin/host.js';

interface Received {
  method: string;
  key: string[];
  val: number;
  labels: { name: string; value: string }[];
}

let dir: string;
let server: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssa-metrics-'));
});

afterEach(() => {
  server?.forceShutdown();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function metricsServer(received: Received[]): Promise<string> {
  const socket = join(dir, 'host.sock');
  server = new Server();
  const record =
    (method: string) =>
    (call: ServerUnaryCall<Omit<Received, 'method'>, object>, callback: sendUnaryData<object>): void => {
      received.push({ method, ...call.request });
      callback(null, {});
    };
  server.addService(serviceDefinition(SERVICE.metrics), {
    IncrCounter: record('IncrCounter'),
    AddSample: record('AddSample'),
    SetGauge: record('SetGauge'),
    EmitKey: record('EmitKey'),
    MeasureSince: record('MeasureSince'),
  });
  await new Promise<void>((resolve, reject) => server?.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return socket;
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, fields?: object) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('HostServices (what the agent offers)', () => {
  it('sends counters and samples, with their labels, once Init lists Metrics and the broker gave its socket', async () => {
    const received: Received[] = [];
    const socket = await metricsServer(received);
    const log = recordingLog();
    let sink: HostMetricsSink | undefined;
    const services = new HostServices(log, (s) => (sink = s), { flushMs: 10 });
    services.connected('unix', socket);
    expect(sink).toBeUndefined();
    services.offered(['spire.hostservice.common.metrics.v1.Metrics']);
    expect(sink).toBeDefined();
    sink?.incrCounter(['sigstore_attestor', 'attestations'], 1, [{ name: 'outcome', value: 'signed' }]);
    sink?.addSample(['sigstore_attestor', 'attestation_latency_ms'], 0.25, []);
    await until(() => received.length === 2, 'two metrics');
    expect(received).toEqual(
      expect.arrayContaining([
        { method: 'IncrCounter', key: ['sigstore_attestor', 'attestations'], val: 1, labels: [{ name: 'outcome', value: 'signed' }] },
        { method: 'AddSample', key: ['sigstore_attestor', 'attestation_latency_ms'], val: 0.25, labels: [] },
      ]),
    );
    expect(log.lines.filter((l) => l.includes('Metrics host service'))).toHaveLength(1);
    services.close();
    expect(sink).toBeUndefined();
  });

  it('works in either order: the broker connection may come after Init', async () => {
    const received: Received[] = [];
    const socket = await metricsServer(received);
    let sink: HostMetricsSink | undefined;
    const services = new HostServices(recordingLog(), (s) => (sink = s), { flushMs: 10 });
    services.offered(['spire.hostservice.common.metrics.v1.Metrics', 'other.Service']);
    expect(sink).toBeUndefined();
    services.connected('unix', socket);
    sink?.incrCounter(['sigstore_attestor', 'cache'], 1, []);
    await until(() => received.length === 1, 'one metric');
    services.close();
  });

  it('without the Metrics host service: no sink, and one info line saying why', () => {
    const log = recordingLog();
    const use = vi.fn();
    const services = new HostServices(log, use);
    services.connected('unix', join(dir, 'host.sock'));
    services.offered([]);
    services.offered([]);
    expect(use).not.toHaveBeenCalled();
    expect(log.lines).toEqual([expect.stringMatching(/^info metrics are off .*offers no Metrics host service/)]);
    services.close();
  });

  it('offered but no broker connection within the wait: says so once', () => {
    vi.useFakeTimers();
    try {
      const log = recordingLog();
      const use = vi.fn();
      const services = new HostServices(log, use);
      services.offered(['spire.hostservice.common.metrics.v1.Metrics']);
      vi.advanceTimersByTime(10_000);
      services.connected('unix', join(dir, 'late.sock'));
      expect(use).not.toHaveBeenCalled();
      expect(log.lines).toEqual([expect.stringMatching(/^info metrics are off .*sent no broker connection/)]);
      services.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores a connection that is not a unix socket', () => {
    const use = vi.fn();
    const services = new HostServices(recordingLog(), use);
    services.connected('tcp', '127.0.0.1:1');
    services.offered(['spire.hostservice.common.metrics.v1.Metrics']);
    expect(use).not.toHaveBeenCalled();
    services.close();
  });
});

describe('HostMetricsClient (never in the caller’s way)', () => {
  it('sums a counter between flushes: one call per series, with the total', async () => {
    const received: Received[] = [];
    const socket = await metricsServer(received);
    const client = new HostMetricsClient(socket, recordingLog(), { flushMs: 60_000 });
    const key = ['sigstore_attestor', 'attestations'];
    const signed = [{ name: 'outcome', value: 'signed' }];
    const host = [{ name: 'outcome', value: 'host' }];
    for (let i = 0; i < 5; i++) client.incrCounter(key, 1, signed);
    client.incrCounter(key, 1, host);
    expect(received).toEqual([]);
    client.flush();
    await until(() => received.length === 2, 'two series');
    expect(received).toEqual(
      expect.arrayContaining([
        { method: 'IncrCounter', key, val: 5, labels: signed },
        { method: 'IncrCounter', key, val: 1, labels: host },
      ]),
    );
    client.close();
  });

  it('a host service that is gone: emitting neither throws nor waits; the failure is logged once', async () => {
    const log = recordingLog();
    const client = new HostMetricsClient(join(dir, 'nobody.sock'), log, { flushMs: 10 });
    const started = performance.now();
    for (let i = 0; i < 10; i++) client.addSample(['sigstore_attestor', 'attestation_latency_ms'], i, []);
    expect(performance.now() - started).toBeLessThan(100);
    await until(() => client.failed === 10, 'ten failed calls');
    expect(log.lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    client.close();
  });

  it('beyond 200 samples between flushes, the rest are dropped and counted', () => {
    const client = new HostMetricsClient(join(dir, 'nobody.sock'), recordingLog(), { flushMs: 60_000 });
    for (let i = 0; i < 300; i++) client.addSample(['sigstore_attestor', 'attestation_latency_ms'], 1, []);
    expect(client.dropped).toBe(100);
    client.close();
  });
});
