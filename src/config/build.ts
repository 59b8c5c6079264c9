// plugin_data text -> PluginConfig, decoded in this process (the CLI, tests,
// the benchmark). The plugin decodes in a child process instead
// (config/hcl-child.ts) and calls configFromHcl itself.

import { parseHcl } from './hcl.js';
import { configFromHcl } from './settings.js';

import type { PluginConfig } from './types.js';
import type { BuildOptions } from './settings.js';

// Where the defaults have always been imported from.
export { DEFAULTS } from './settings.js';

export function buildConfig(text: string, options: BuildOptions = {}): PluginConfig {
  return configFromHcl(parseHcl(text), text, options);
}
