// The composition root: the real parts (the /proc reader, the Docker,
// Podman and containerd API clients, the socket check, a registry client of our own) wired
// into an attestor for a configuration. Used by plugin mode (through the
// service), the CLI and the benchmark; tests inject fakes through overrides.

import { PipelineAttestor } from '../attest/attestor.js';
import { createProcReader } from '../process/index.js';
import { createRegistryClient } from '../registry/index.js';
import { ContainerdClient } from '../runtime/containerd/client.js';
import { DockerApiClient } from '../runtime/docker.js';
import { checkSocketPath } from '../runtime/socket.js';
import { LabelSets, METRIC_KEYS, NO_METRICS } from '../attest/metrics.js';

import type { AttestorDeps } from '../attest/attestor.js';
import type { PluginConfig } from '../attest/types.js';
import type { Logger } from '../log.js';
import type { RegistryClientOptions } from '../registry/index.js';
import type { RegistryApi } from '../registry/types.js';
import type { AttestMetrics } from '../attest/metrics.js';
import type { RequestObserver } from '../registry/http.js';

// Registry requests counted by kind, method and status.
function countRequests(metrics: AttestMetrics): RequestObserver {
  const labels = new LabelSets();
  return (kind, method, outcome) =>
    metrics.incrCounter(METRIC_KEYS.registryRequests, 1, labels.of(['kind', kind], ['method', method], ['status', String(outcome)]));
}

export function registryClientOptions(config: PluginConfig, metrics: AttestMetrics = NO_METRICS): RegistryClientOptions {
  return {
    ...(metrics !== NO_METRICS ? { onRequest: countRequests(metrics) } : {}),
    // A registry entry carries the client's settings (and our binding mode).
    registries: config.registry.registries,
    timeoutMs: config.registry.timeoutMs,
    ...(config.registry.dockerConfigPath !== undefined ? { dockerConfigPath: config.registry.dockerConfigPath } : {}),
  };
}

// The injected registry, or a client of our own whose keep-alive
// connections close() releases.
function registryDeps(config: PluginConfig, injected: RegistryApi | undefined, metrics: AttestMetrics): Pick<AttestorDeps, 'registry' | 'release'> {
  if (injected) return { registry: injected };
  const client = createRegistryClient(registryClientOptions(config, metrics));
  return { registry: client, release: () => client.close() };
}

export function createAttestor(config: PluginConfig, log: Logger, overrides: Partial<AttestorDeps> = {}): PipelineAttestor {
  const trustAnySocketDir = config.runtimes.allowUntrustedSocketDir;
  const metrics = overrides.metrics ?? NO_METRICS;
  const deps: AttestorDeps = {
    proc: overrides.proc ?? createProcReader(),
    docker: overrides.docker ?? new DockerApiClient('docker', config.runtimes.dockerSocketPath),
    podman: overrides.podman ?? new DockerApiClient('podman', config.runtimes.podmanSocketPath),
    containerd: overrides.containerd ?? new ContainerdClient(config.runtimes.containerdSocketPath, config.runtimes.containerdNamespaces),
    checkSocket: overrides.checkSocket ?? (trustAnySocketDir ? async () => undefined : (path) => checkSocketPath(path)),
    ...registryDeps(config, overrides.registry, metrics),
    ...(overrides.retry ? { retry: overrides.retry } : {}),
    ...(overrides.socketPresent ? { socketPresent: overrides.socketPresent } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
    metrics,
  };
  return new PipelineAttestor(config, deps, log);
}
