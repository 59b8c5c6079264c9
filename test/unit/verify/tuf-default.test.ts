// The public-good root stays current by default: with no trust setting the
// plugin refreshes it through TUF in the background (embedded root first and
// as the fallback), `offline = true` turns that off, and roots with a TUF
// repository of their own are fetched and refreshed the same way. The
// public-good mirror is replaced by a real TUF repository on 127.0.0.1
// (buildConfig's internal tufDefaults); nothing leaves this machine.

import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { acceptCandidates } from '../../../src/attest/signature-step.js';
import { buildConfig } from '../../../src/config/build.js';
import { silentLogger } from '../../../src/log.js';
import { TrustSource } from '../../../src/verify/trust-source.js';
import { ISSUER, SUBJECT, keylessLegacy, mockSigstore, randomDigest, tempDir } from './support/rig.js';
import { rejectsAsync } from './support/setup.js';
import { serveTufRepo } from './support/tuf-repo.js';

import type { Logger } from '../../../src/log.js';
import type { LegacyCandidate } from '../../../src/verify/types.js';
import type { MockSigstore } from './support/rig.js';
import type { TufRepo } from './support/tuf-repo.js';

const EMBEDDED = 'the embedded Sigstore public-good trusted root';
const POLICY = `identity {\n issuer = "${ISSUER}"\n subject = "${SUBJECT}"\n}\n`;

let dir: string;
let sigstore: MockSigstore;
let repo: TufRepo;
let candidate: LegacyCandidate;

beforeAll(async () => {
  dir = tempDir();
  sigstore = await mockSigstore();
  repo = await serveTufRepo(sigstore.trustedRoot, dir);
  candidate = (await keylessLegacy(sigstore, randomDigest())).candidate;
});

afterAll(async () => {
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
});

function warnings(): { log: Logger; seen: string[] } {
  const seen: string[] = [];
  return { log: { ...silentLogger, warn: (message) => void seen.push(message) }, seen };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(condition()).toBe(true);
}

function accepted(source: TrustSource, text: string): ReturnType<typeof acceptCandidates>['accepted'] {
  const loaded = source.loaded;
  if (loaded === undefined) throw new Error('not loaded');
  return acceptCandidates(loaded, buildConfig(text).signatures.policy, [candidate], []).accepted;
}

describe('default public-good refresh', () => {
  it('with no trust setting: starts on the embedded root, refreshes it through TUF in the background', async () => {
    const cacheDir = join(dir, 'default-cache');
    const config = buildConfig(POLICY, { tufDefaults: { mirrorUrl: repo.url, rootFile: repo.rootFile, cacheDir } });
    expect(config.signatures.trustRoots).toMatchObject([{ name: 'public-good', start: { kind: 'embedded' }, refresh: true }]);
    const source = new TrustSource(config.signatures, silentLogger);
    await source.ready();
    // Created for the TUF client, readable by nobody else.
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    await until(() => source.source === `TUF ${repo.url}`);
    const loaded = source.loaded;
    if (loaded === undefined) throw new Error('not loaded');
    // A new generation: verdicts under the embedded root are not reused.
    expect(source.generationOf(loaded)).toBe(1);
    expect(accepted(source, POLICY)[0]).toMatchObject({ trustedRoot: 'public-good' });
    source.close();
  });

  it('one-shot (the CLI): refreshes once while loading, so the run verifies with the refreshed root', async () => {
    const config = buildConfig(POLICY, { tufDefaults: { mirrorUrl: repo.url, rootFile: repo.rootFile, cacheDir: join(dir, 'oneshot-cache') }, oneShot: true });
    const source = new TrustSource(config.signatures, silentLogger);
    await source.ready();
    expect(source.source).toBe(`TUF ${repo.url}`);
    expect(accepted(source, POLICY)[0]).toMatchObject({ trustedRoot: 'public-good' });
    source.close();
    // Mirror down: the embedded root, and a warning only.
    const { log, seen } = warnings();
    const down = buildConfig(POLICY, {
      tufDefaults: { mirrorUrl: 'http://127.0.0.1:9', rootFile: repo.rootFile, cacheDir: join(dir, 'oneshot-down') },
      oneShot: true,
    });
    const fallback = new TrustSource(down.signatures, log);
    await fallback.ready();
    expect(fallback.source).toBe(EMBEDDED);
    expect(seen).toContain('TUF refresh of the trusted root failed; keeping the current one');
    fallback.close();
  });

  it('keeps the embedded root when the refresh fails, and only logs', async () => {
    const { log, seen } = warnings();
    const config = buildConfig(POLICY, { tufDefaults: { mirrorUrl: 'http://127.0.0.1:9', rootFile: repo.rootFile, cacheDir: join(dir, 'down-cache') } });
    const source = new TrustSource(config.signatures, log);
    await source.ready();
    expect(await source.refresh()).toBe(false);
    expect(source.source).toBe(EMBEDDED);
    expect(seen).toContain('TUF refresh of the trusted root failed; keeping the current one');
    expect(accepted(source, POLICY)).toHaveLength(0);
    source.close();
  });

  it('offline = true: no request, no cache directory, the embedded root', async () => {
    const cacheDir = join(dir, 'offline-cache');
    const before = repo.served();
    const config = buildConfig(`offline = true\n${POLICY}`, { tufDefaults: { mirrorUrl: repo.url, rootFile: repo.rootFile, cacheDir } });
    expect(config.signatures.trustRoots).toMatchObject([{ name: 'public-good', tuf: undefined, refresh: false }]);
    const source = new TrustSource(config.signatures, silentLogger);
    await source.ready();
    expect(await source.refresh()).toBe(false);
    expect(source.source).toBe(EMBEDDED);
    expect(repo.served()).toBe(before);
    expect(existsSync(cacheDir)).toBe(false);
    source.close();
  });

  it('refuses a cache directory others can write to (Configure fails)', async () => {
    const cacheDir = join(dir, 'open-cache');
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    const config = buildConfig(POLICY, { tufDefaults: { mirrorUrl: repo.url, rootFile: repo.rootFile, cacheDir } });
    await rejectsAsync(() => new TrustSource(config.signatures, silentLogger).ready(), 'TRUST_ROOT_INVALID', /refusing tuf cache_dir .*open-cache/);
  });
});

describe('a trusted root with a TUF repository of its own', () => {
  const corp = (cacheDir: string, mirror = repo.url): string =>
    `trusted_root "corp" {\n tuf {\n mirror_url = "${mirror}"\n root_file = "${repo.rootFile}"\n cache_dir = "${cacheDir}"\n }\n}\n${POLICY}`;

  it('is fetched at start-up, refreshed, and used from its verified cache offline', async () => {
    const cacheDir = join(dir, 'corp-cache');
    const source = new TrustSource(buildConfig(corp(cacheDir)).signatures, silentLogger);
    await source.ready();
    expect(source.source).toBe(`TUF ${repo.url}`);
    expect(accepted(source, POLICY)[0]).toMatchObject({ trustedRoot: 'corp' });
    expect(await source.refresh()).toBe(true);
    const loaded = source.loaded;
    if (loaded === undefined) throw new Error('not loaded');
    expect(source.generationOf(loaded)).toBe(1);
    source.close();

    // Offline (an air-gapped node with a copied cache): the verified cache.
    const before = repo.served();
    const cached = new TrustSource(buildConfig(`offline = true\n${corp(cacheDir)}`).signatures, silentLogger);
    await cached.ready();
    expect(cached.source).toMatch(/corp-cache\/127\.0\.0\.1%3A\d+\/targets\/trusted_root\.json$/);
    expect(await cached.refresh()).toBe(false);
    expect(repo.served()).toBe(before);
    cached.close();
  });

  it('fails Configure when there is neither a verified cache nor a reachable mirror', async () => {
    const empty = join(dir, 'corp-empty');
    await rejectsAsync(
      () => new TrustSource(buildConfig(`offline = true\n${corp(empty)}`).signatures, silentLogger).ready(),
      'TRUST_ROOT_INVALID',
      /trusted_root "corp" .*offline, and the TUF cache holds no verified trusted root/,
    );
    await rejectsAsync(
      () => new TrustSource(buildConfig(corp(empty, 'http://127.0.0.1:9')).signatures, silentLogger).ready(),
      'TRUST_ROOT_INVALID',
      /trusted_root "corp" .*no verified trusted root cached, and fetching one failed/,
    );
  });

  it("bumps the generation for every root's refresh", async () => {
    const text = `trusted_root "public-good" { }\n${corp(join(dir, 'both-corp'))}`;
    const config = buildConfig(text, { tufDefaults: { mirrorUrl: repo.url, rootFile: repo.rootFile, cacheDir: join(dir, 'both-pg') } });
    const source = new TrustSource(config.signatures, silentLogger);
    await source.ready();
    // public-good's first refresh runs in the background (corp was fetched).
    await until(() => source.source === `public-good: TUF ${repo.url}, corp: TUF ${repo.url}`);
    const first = source.loaded;
    if (first === undefined) throw new Error('not loaded');
    expect(await source.refresh()).toBe(true);
    const second = source.loaded;
    if (second === undefined) throw new Error('not loaded');
    expect(source.generationOf(second) - source.generationOf(first)).toBe(2);
    source.close();
  });
});

describe('the unit tests have no network', () => {
  it('refuses a connection to a non-loopback address', () => {
    expect(() => connect(443, '192.0.2.1')).toThrow(/unit tests have no network: refusing a connection to "192\.0\.2\.1"/);
    expect(() => connect({ host: 'tuf-repo-cdn.sigstore.dev', port: 443 })).toThrow(/no network/);
  });
});
