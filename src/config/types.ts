// The validated, immutable configuration the attestor runs with.

import type { LogLevel } from '../log.js';

export interface PluginConfig {
  readonly logLevel: LogLevel;
  readonly docker: RuntimeEndpoints;
}

export interface RuntimeEndpoints {
  // Docker Engine API endpoint, `unix:///path`.
  readonly dockerSocketPath: string;
  // Rootful Podman's Docker-compatible API endpoint, `unix:///path`.
  readonly podmanSocketPath: string;
  // Accept sockets in directories that non-root users can write to.
  readonly allowUntrustedSocketDir: boolean;
  // Environment variable names whose values become `env:` selectors.
  readonly envSelectors: readonly string[];
}
