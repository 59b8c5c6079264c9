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

// What every key-based write here passes: no transparency log (there is no
// Rekor here; cosign needs both flags for that), the storage format, and the
// plain-HTTP loopback registry.
function keyedWriteFlags(key: KeyPair, format: CosignFormat): string[] {
  return [
    '--key',
    key.privateKey,
    '--use-signing-config=false',
    '--tlog-upload=false',
    `--new-bundle-format=${format === 'bundle'}`,
    '--allow-http-registry',
    '--yes',
  ];
}

// Key-based signing without a transparency log: legacy `.sig` manifests or
// cosign v3 bundles as OCI referrers.
export async function signWithKey(rig: Rig, imageAtDigest: string, key: KeyPair, format: CosignFormat): Promise<void> {
  await cosign(rig, ['sign', ...keyedWriteFlags(key, format), imageAtDigest]);
}

// `cosign attest --key` without a transparency log, as a legacy `.att` layer
// or a cosign v3 bundle (OCI referrer / tag fallback). `type` is cosign's
// --type: slsaprovenance (v0.2), slsaprovenance1 (v1) or a predicate-type URI.
export async function attestWithKey(rig: Rig, imageAtDigest: string, key: KeyPair, format: CosignFormat, type: string, predicateFile: string): Promise<void> {
  await cosign(rig, ['attest', '--type', type, '--predicate', predicateFile, ...keyedWriteFlags(key, format), imageAtDigest]);
}

// A SLSA provenance predicate (v1 or v0.2) for a GitHub workflow build, as
// cosign attest --predicate takes it.
export function slsaPredicate(version: 'v1' | 'v0.2', build: { builderId: string; repository: string; ref: string; commit: string }): object {
  const source = `git+${build.repository}@${build.ref}`;
  if (version === 'v0.2') {
    return {
      builder: { id: build.builderId },
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
      invocation: { configSource: { uri: source, digest: { sha1: build.commit }, entryPoint: '.github/workflows/release.yml' } },
    };
  }
  return {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: build.ref, repository: build.repository, path: '.github/workflows/release.yml' } },
      resolvedDependencies: [{ uri: source, digest: { gitCommit: build.commit } }],
    },
    runDetails: { builder: { id: build.builderId } },
  };
}
