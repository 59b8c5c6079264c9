// Optional TUF refresh of the trusted root, against a real TUF repository
// (metadata generated and signed by @tufjs/repo-mock's generator) served by
// a real HTTP server on 127.0.0.1, read by the real @sigstore/tuf client.

import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { acceptCandidates } from '../../../src/attest/signature-step.js';
import { TrustSource } from '../../../src/verify/trust-source.js';
import { buildConfig } from '../../../src/config/build.js';
import { silentLogger } from '../../../src/log.js';
import { serveTufRepo } from './support/tuf-repo.js';
import { fulcioExtensions, ISSUER, keylessLegacy, mockSigstore, randomDigest, SUBJECT } from './support/rig.js';

import type { LegacyCandidate } from '../../../src/verify/types.js';
import type { MockSigstore } from './support/rig.js';
import type { TufRepo } from './support/tuf-repo.js';

let tuf: TufRepo;
let url: string;
let dir: string;
let rootFile: string;
let sigstore: MockSigstore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssa-tuf-'));
  sigstore = await mockSigstore();
  // A TUF repository whose trusted_root.json target is the test Sigstore's.
  tuf = await serveTufRepo(sigstore.trustedRoot, dir);
  ({ url, rootFile } = tuf);
});

afterAll(async () => {
  await tuf.close();
  if (!process.env['KEEP_TUF']) rmSync(dir, { recursive: true, force: true });
});

const policy = `identity {\n issuer = "${ISSUER}"\n subject = "${SUBJECT}"\n}\n`;
const compiled = buildConfig(policy).signatures.policy;

// One candidate through verification and policy with the trust in use.
function verifyOne(trust: TrustSource, candidate: LegacyCandidate): ReturnType<typeof acceptCandidates> {
  const loaded = trust.loaded;
  if (loaded === undefined) throw new Error('trust not loaded yet');
  return acceptCandidates(loaded, compiled, [candidate], []);
}

describe('TUF refresh of the trusted root', () => {
  it('is never required at start-up: an unreachable mirror keeps the embedded root', async () => {
    const before = tuf.served();
    const config = buildConfig(
      `${policy}tuf {\n mirror_url = "http://127.0.0.1:9"\n cache_dir = "${join(dir, 'cache-down')}"\n root_file = "${rootFile}"\n}\n`,
    );
    const checker = new TrustSource(config.signatures, silentLogger);
    await checker.ready();
    expect(checker.source).toBe('the embedded Sigstore public-good trusted root');
    expect(await checker.refresh()).toBe(false);
    // A signature under the test Sigstore is not trusted by public-good.
    const { candidate } = await keylessLegacy(sigstore, randomDigest(), { extensions: fulcioExtensions(ISSUER) });
    expect(verifyOne(checker, candidate).rejected[0]?.code).toBe('CERTIFICATE_INVALID');
    expect(tuf.served()).toBe(before);
    checker.close();
  });

  it('defaults the tuf cache_dir; rejects tuf combined with trusted_root_file', () => {
    expect(buildConfig(`${policy}tuf {\n mirror_url = "${url}"\n}\n`).signatures.trustRoots[0]?.tuf?.cacheDir).toBe('/var/lib/spire-sigstore-attestor/tuf');
    expect(() => buildConfig(`${policy}trusted_root_file = "/x"\ntuf { cache_dir = "/c" }\n`)).toThrow(/tuf: cannot be combined with trusted_root_file/);
  });
  it('starts on the embedded root, then verifies with the root TUF delivered', async () => {
    const cache = join(dir, 'cache-ok');
    const config = buildConfig(`${policy}tuf {\n mirror_url = "${url}"\n cache_dir = "${cache}"\n root_file = "${rootFile}"\n}\n`);
    const checker = new TrustSource(config.signatures, silentLogger);
    await checker.ready();
    const { candidate } = await keylessLegacy(sigstore, randomDigest(), { extensions: fulcioExtensions(ISSUER) });
    // The background refresh may already have run; refresh explicitly.
    expect(await checker.refresh()).toBe(true);
    expect(checker.source).toBe(`TUF ${url}`);
    expect(verifyOne(checker, candidate).accepted).toHaveLength(1);
    checker.close();

    // Restarted while the mirror is down: the cached root is used.
    await tuf.close();
    const restarted = new TrustSource(config.signatures, silentLogger);
    await restarted.ready();
    expect(restarted.source).toMatch(/cache-ok\/127\.0\.0\.1%3A\d+\/targets\/trusted_root\.json$/);
    expect(verifyOne(restarted, candidate).accepted).toHaveLength(1);
    expect(await restarted.refresh()).toBe(false);
    restarted.close();

    // Security review F4: the cached target must match the cached, signed
    // targets.json. Another Sigstore's root in its place is not used.
    const tampered = join(dir, 'cache-tampered');
    cpSync(cache, tampered, { recursive: true });
    const attacker = await mockSigstore();
    const [mirrorDir] = readdirSync(tampered);
    writeFileSync(join(tampered, mirrorDir ?? '', 'targets', 'trusted_root.json'), JSON.stringify(attacker.trustedRoot));
    const forged = await keylessLegacy(attacker, randomDigest(), { extensions: fulcioExtensions(ISSUER) });
    const fooled = new TrustSource(
      buildConfig(`${policy}tuf {\n mirror_url = "${url}"\n cache_dir = "${tampered}"\n root_file = "${rootFile}"\n}\n`).signatures,
      silentLogger,
    );
    await fooled.ready();
    expect(fooled.source).toBe('the embedded Sigstore public-good trusted root');
    expect(verifyOne(fooled, forged.candidate).accepted).toHaveLength(0);
    fooled.close();
  });

  it('does not use a trusted_root.json planted in the cache without signed TUF metadata', async () => {
    const cache = join(dir, 'cache-planted');
    const targets = join(cache, '127.0.0.1%3A9', 'targets');
    mkdirSync(targets, { recursive: true });
    writeFileSync(join(cache, '127.0.0.1%3A9', 'root.json'), readFileSync(rootFile));
    writeFileSync(join(targets, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
    const config = buildConfig(`${policy}tuf {\n mirror_url = "http://127.0.0.1:9"\n cache_dir = "${cache}"\n root_file = "${rootFile}"\n}\n`);
    const checker = new TrustSource(config.signatures, silentLogger);
    await checker.ready();
    expect(checker.source).toBe('the embedded Sigstore public-good trusted root');
    const { candidate } = await keylessLegacy(sigstore, randomDigest(), { extensions: fulcioExtensions(ISSUER) });
    expect(verifyOne(checker, candidate).rejected[0]?.code).toBe('CERTIFICATE_INVALID');
    checker.close();
  });

  it('refuses a cache_dir or root_file that others can modify', async () => {
    const open = join(dir, 'cache-open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const openConfig = buildConfig(`${policy}tuf {\n mirror_url = "http://127.0.0.1:9"\n cache_dir = "${open}"\n root_file = "${rootFile}"\n}\n`);
    const refused = new TrustSource(openConfig.signatures, silentLogger);
    await expect(refused.ready()).rejects.toThrow(/refusing tuf cache_dir .*cache-open.*can be modified by others/);
    const openRoot = join(dir, 'open-root.json');
    writeFileSync(openRoot, readFileSync(rootFile));
    chmodSync(openRoot, 0o666);
    const rootConfig = buildConfig(
      `${policy}tuf {\n mirror_url = "http://127.0.0.1:9"\n cache_dir = "${join(dir, 'cache-x')}"\n root_file = "${openRoot}"\n}\n`,
    );
    await expect(new TrustSource(rootConfig.signatures, silentLogger).ready()).rejects.toThrow(
      /refusing tuf root_file .*open-root\.json.*can be modified by others/,
    );
  });
});
