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

import type { AttestorDeps } from '../attest/attestor.js';
import type { PluginConfig } from '../attest/types.js';
import type { Logger } from '../log.js';
import type { RegistryClientOptions } from '../registry/index.js';
import type { RegistryApi } from '../registry/types.js';

export function registryClientOptions(config: PluginConfig): RegistryClientOptions {
  return {
    // A registry entry carries the client's settings (and our binding mode).
    registries: config.registry.registries,
    timeoutMs: config.registry.timeoutMs,
    ...(config.registry.dockerConfigPath !== undefined ? { dockerConfigPath: config.registry.dockerConfigPath } : {}),
  };
}

// The injected registry, or a client of our own whose keep-alive
// connections close() releases.
function registryDeps(config: PluginConfig, injected: RegistryApi | undefined): Pick<AttestorDeps, 'registry' | 'release'> {
  if (injected) return { registry: injected };
  const client = createRegistryClient(registryClientOptions(config));
  return { registry: client, release: () => client.close() };
}

export function createAttestor(config: PluginConfig, log: Logger, overrides: Partial<AttestorDeps> = {}): PipelineAttestor {
  const trustAnySocketDir = config.runtimes.allowUntrustedSocketDir;
  const deps: AttestorDeps = {
    proc: overrides.proc ?? createProcReader(),
    docker: overrides.docker ?? new DockerApiClient('docker', config.runtimes.dockerSocketPath),
    podman: overrides.podman ?? new DockerApiClient('podman', config.runtimes.podmanSocketPath),
    containerd: overrides.containerd ?? new ContainerdClient(config.runtimes.containerdSocketPath, config.runtimes.containerdNamespaces),
    checkSocket: overrides.checkSocket ?? (trustAnySocketDir ? async () => undefined : (path) => checkSocketPath(path)),
    ...registryDeps(config, overrides.registry),
    ...(overrides.retry ? { retry: overrides.retry } : {}),
    ...(overrides.socketPresent ? { socketPresent: overrides.socketPresent } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
  return new PipelineAttestor(config, deps, log);
}
