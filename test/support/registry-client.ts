// Shared set-up of the registry client tests: a scratch directory, secret
// files in it, clients that are closed after the file, and small helpers.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll } from 'vitest';

import { createRegistryClient } from '../../src/registry/index.js';

import type { Logger } from '../../src/log.js';
import type { RegistryClient, RegistryClientOptions } from '../../src/registry/index.js';
import type { Digest } from '../../src/registry/types.js';

export interface RegistryClientKit {
  readonly scratch: string;
  readonly secretFile: (content: string) => string;
  // A client with no Docker config and short retry backoff, closed after the file.
  readonly client: (options?: RegistryClientOptions) => RegistryClient;
}

// Call once at the top of a test file (it registers afterAll hooks).
export function registryClientKit(): RegistryClientKit {
  const scratch = mkdtempSync(join(tmpdir(), 'ssa-regclient-'));
  const clients: RegistryClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    rmSync(scratch, { recursive: true, force: true });
  });
  let fileCount = 0;
  return {
    scratch,
    secretFile: (content: string): string => {
      const path = join(scratch, `secret-${++fileCount}`);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    },
    client: (options: RegistryClientOptions = {}): RegistryClient => {
      const c = createRegistryClient({ dockerConfigPath: join(scratch, 'no-docker-config.json'), retryBackoffMs: 20, ...options });
      clients.push(c);
      return c;
    },
  };
}

export function insecure(...hosts: string[]): Record<string, { insecure: true }> {
  return Object.fromEntries(hosts.map((h) => [h, { insecure: true }]));
}

export const sig = (): AbortSignal => AbortSignal.timeout(30_000);

export function sha256(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const none = (): void => undefined;
  return { warnings, trace: none, debug: none, info: none, error: none, warn: (m) => void warnings.push(m) };
}
