// The real cosign binary from the rig, kept off the network: every run gets
// HTTP(S) proxies pointing at a closed loopback port (loopback itself is
// never proxied), so a stray attempt to reach a public Sigstore service fails
// at once instead of leaving the machine.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from './rig.js';

import type { Rig } from './rig.js';

// Proxies on a closed loopback port, and a TUF cache of its own.
export function offlineEnv(tufRoot: string): Record<string, string> {
  return {
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    TUF_ROOT: tufRoot,
  };
}

let tufRoot: string | undefined;

export async function cosign(rig: Rig, args: string[]): Promise<string> {
  if (rig.cosign === null) throw new Error('cosign not available in the rig');
  tufRoot ??= mkdtempSync(join(tmpdir(), 'ssa-tuf-'));
  const r = await run(rig.cosign, args, { timeoutMs: 120_000, env: { ...offlineEnv(tufRoot), COSIGN_PASSWORD: '' } });
  if (r.code !== 0) throw new Error(`cosign ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export async function generateKeyPair(rig: Rig, dir: string, name: string): Promise<KeyPair> {
  await cosign(rig, ['generate-key-pair', '--output-key-prefix', join(dir, name)]);
  return { privateKey: join(dir, `${name}.key`), publicKey: join(dir, `${name}.pub`) };
}

export type CosignFormat = 'legacy' | 'bundle';

// Key-based signing without a transparency log (there is no Rekor here):
// legacy `.sig` manifests or cosign v3 bundles as OCI referrers.
export async function signWithKey(rig: Rig, imageAtDigest: string, key: KeyPair, format: CosignFormat): Promise<void> {
  await cosign(rig, [
    'sign',
    '--key',
    key.privateKey,
    '--use-signing-config=false',
    '--tlog-upload=false',
    `--new-bundle-format=${format === 'bundle'}`,
    '--allow-http-registry',
    '--yes',
    imageAtDigest,
  ]);
}
