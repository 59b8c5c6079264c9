// plugin_data text -> PluginConfig. Configure and Validate (and the CLI's
// --config) all go through buildConfig, so they accept and reject the same
// things.

import { AttestorError } from '../errors.js';
import { LOG_LEVELS } from '../log.js';
import { parseHcl } from './hcl.js';
import { ConfigReader } from './reader.js';

import type { PluginConfig, RuntimeEndpoints } from './types.js';

export const DEFAULTS = {
  logLevel: 'info',
  dockerSocketPath: 'unix:///var/run/docker.sock',
  podmanSocketPath: 'unix:///run/podman/podman.sock',
} as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unixSocket(reader: ConfigReader, key: string, fallback: string): string {
  const value = reader.string(key) ?? fallback;
  if (!value.startsWith('unix:///')) {
    reader.problem(key, `must be a unix socket URL like unix:///var/run/docker.sock, got "${value}"`);
  }
  return value;
}

function runtimeEndpoints(reader: ConfigReader): RuntimeEndpoints {
  const envSelectors = reader.stringList('env_selectors') ?? [];
  for (const name of envSelectors) {
    if (!ENV_NAME.test(name)) reader.problem('env_selectors', `"${name}" is not an environment variable name`);
  }
  return {
    dockerSocketPath: unixSocket(reader, 'docker_socket_path', DEFAULTS.dockerSocketPath),
    podmanSocketPath: unixSocket(reader, 'podman_socket_path', DEFAULTS.podmanSocketPath),
    allowUntrustedSocketDir: reader.boolean('allow_untrusted_socket_dir') ?? false,
    envSelectors,
  };
}

export function buildConfig(text: string): PluginConfig {
  const problems: string[] = [];
  const root = new ConfigReader(parseHcl(text), '', problems);
  const config: PluginConfig = {
    logLevel: root.oneOf('log_level', LOG_LEVELS) ?? DEFAULTS.logLevel,
    docker: runtimeEndpoints(root),
  };
  root.finish();
  if (problems.length > 0) {
    throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${problems.join('; ')}`);
  }
  return config;
}
