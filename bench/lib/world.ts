// What setup makes and every phase uses: the rig, the key, the plugin's
// configuration, the images and containers.

import type { KeyPair } from '../../test/support/cosign.js';
import type { Rig } from '../../test/support/rig.js';
import type { BenchContainer, BenchImage, Fixtures } from './images.js';
import type { RegistryLog } from './registry-log.js';

export interface World {
  rig: Rig;
  tmp: string;
  key: KeyPair;
  hcl: string;
  fixtures: Fixtures;
  regLog: RegistryLog;
  footprint: BenchContainer[];
  cold: BenchContainer[];
  stampede: BenchContainer[];
  stampedeImage: BenchImage;
  agentImage: BenchImage;
  seaAvailable: boolean;
}

// plugin_data for the rig: the bench key, the rig's registry over plain HTTP.
export function pluginHcl(rig: Rig, key: KeyPair, indent = ''): string {
  return [
    `docker_socket_path = "${rig.dockerHost}"`,
    'log_level = "info"',
    'require_tlog = false',
    // Benchmarks measure the plugin, not the network: no TUF refresh.
    'offline = true',
    'persist_verdicts = false',
    'key {',
    '  name = "bench"',
    `  path = "${key.publicKey}"`,
    '}',
    `registry "${rig.registry}" {`,
    '  insecure = true',
    '}',
  ]
    .map((l) => indent + l)
    .join('\n');
}
