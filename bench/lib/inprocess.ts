// The same pipeline in this process (createAttestor with its real parts),
// each external step wrapped so that every call is timed: /proc reads, the
// Docker, Podman and containerd APIs (one inspection each), and the registry
// client's methods. The registry client's own
// request counter (stats().requests) counts HTTP requests, including those a
// method makes internally (the referrers tag fallback).

import { createAttestor, registryClientOptions } from '../../src/app/compose.js';
import type { PipelineAttestor } from '../../src/attest/attestor.js';
import { createProcReader, type ProcReader } from '../../src/process/index.js';
import { createRegistryClient, type RegistryClient } from '../../src/registry/index.js';
import { ContainerdClient } from '../../src/runtime/containerd/client.js';
import { DockerApiClient } from '../../src/runtime/docker.js';

import type { PluginConfig } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import type { RegistryApi } from '../../src/registry/types.js';
import type { RuntimeClient } from '../../src/runtime/types.js';

export interface Call {
  readonly kind: string;
  readonly start: number;
  readonly end: number;
}

export class Recorder {
  calls: Call[] = [];

  async time<T>(kind: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.calls.push({ kind, start, end: performance.now() });
    }
  }

  timeSync<T>(kind: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.calls.push({ kind, start, end: performance.now() });
    }
  }

  take(): Call[] {
    const out = this.calls;
    this.calls = [];
    return out;
  }
}

// Total duration per kind and call counts.
export function byKind(calls: readonly Call[]): Record<string, { calls: number; ms: number }> {
  const out: Record<string, { calls: number; ms: number }> = {};
  for (const c of calls) {
    const e = (out[c.kind] ??= { calls: 0, ms: 0 });
    e.calls++;
    e.ms += c.end - c.start;
  }
  for (const e of Object.values(out)) e.ms = Math.round(e.ms * 1000) / 1000;
  return out;
}

// Sequential depth: the number of groups left after merging overlapping
// intervals (calls made one after another count one each; calls in flight
// together count once).
export function sequentialDepth(calls: readonly Call[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  let groups = 0;
  let end = -Infinity;
  for (const c of sorted) {
    if (c.start >= end) {
      groups++;
      end = c.end;
    } else {
      end = Math.max(end, c.end);
    }
  }
  return groups;
}

// Wall-clock time covered by the calls (overlapping calls count once).
export function coveredMs(calls: readonly Call[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  let total = 0;
  let start = -Infinity;
  let end = -Infinity;
  for (const c of sorted) {
    if (c.start > end) {
      if (end > start) total += end - start;
      start = c.start;
      end = c.end;
    } else {
      end = Math.max(end, c.end);
    }
  }
  if (end > start) total += end - start;
  return total;
}

export interface Instrumented {
  readonly attestor: PipelineAttestor;
  readonly registry: RegistryClient;
  readonly recorder: Recorder;
}

export function instrumentedAttestor(config: PluginConfig, log: Logger): Instrumented {
  const recorder = new Recorder();
  const real = createRegistryClient(registryClientOptions(config));
  const registry: RegistryApi = {
    resolve: (ref, signal) => recorder.time('registry.resolve (HEAD manifest)', () => real.resolve(ref, signal)),
    getManifest: (ref, signal) => recorder.time('registry.getManifest', () => real.getManifest(ref, signal)),
    referrers: (ref, digest, type, signal) => recorder.time('registry.referrers (+ tag fallback)', () => real.referrers(ref, digest, type, signal)),
    getBlob: (ref, digest, max, signal) => recorder.time('registry.getBlob', () => real.getBlob(ref, digest, max, signal)),
  };
  const realProc = createProcReader();
  const proc: ProcReader = {
    readCgroup: (pid) => recorder.timeSync('proc.readCgroup', () => realProc.readCgroup(pid)),
    readStartTime: (pid) => recorder.timeSync('proc.readStartTime', () => realProc.readStartTime(pid)),
  };
  const wrapRuntime = (client: RuntimeClient): RuntimeClient => ({
    kind: client.kind,
    endpoint: client.endpoint,
    inspect: (key, signal) => recorder.time(`${client.kind}.inspect`, () => client.inspect(key, signal)),
    // containerd's client keeps a gRPC channel open: attestor.close() closes it.
    ...(client.close ? { close: () => client.close?.() } : {}),
  });
  const attestor = createAttestor(config, log, {
    proc,
    registry,
    docker: wrapRuntime(new DockerApiClient('docker', config.runtimes.dockerSocketPath)),
    podman: wrapRuntime(new DockerApiClient('podman', config.runtimes.podmanSocketPath)),
    containerd: wrapRuntime(new ContainerdClient(config.runtimes.containerdSocketPath, config.runtimes.containerdNamespaces)),
  });
  return { attestor, registry: real, recorder };
}
