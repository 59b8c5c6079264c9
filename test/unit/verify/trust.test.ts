// Loading trust material: the embedded public-good root, a replacement
// trusted_root_file, and configured PEM public keys.

import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { keyFinder, loadTrust, parseKey } from '../../../src/verify/trust.js';
import { ecKeys, mockSigstore, tempDir, writeJson, writeKey } from './support/rig.js';
import { rejects, rejectsAsync } from './support/setup.js';

interface ValidFor {
  start?: string;
  end?: string;
}
interface MutableRoot {
  tlogs: { publicKey: { validFor: ValidFor } }[];
  ctlogs: { publicKey: { validFor: ValidFor } }[];
  certificateAuthorities: { validFor: ValidFor }[];
  timestampAuthorities: { validFor?: ValidFor }[];
}

describe('loadTrust', () => {
  it('defaults to the public-good trusted root embedded in @sigstore/tuf, offline', async () => {
    const trust = await loadTrust({ trustedRootFile: undefined, keys: [] });
    expect(trust.rootSource).toMatch(/embedded Sigstore public-good/);
    const logIds = trust.material.tlogs.map((t) => t.logID.toString('hex'));
    expect(logIds).toContain('c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d');
    expect(trust.material.certificateAuthorities.length).toBeGreaterThanOrEqual(2);
    expect(trust.material.ctlogs.length).toBeGreaterThanOrEqual(1);
  });

  it('replaces the embedded root with trusted_root_file', async () => {
    const sigstore = await mockSigstore();
    const path = writeJson(tempDir(), 'root.json', sigstore.trustedRoot);
    const trust = await loadTrust({ trustedRootFile: path, keys: [] });
    expect(trust.rootSource).toBe(path);
    expect(trust.material.tlogs).toHaveLength(1);
    expect(trust.material.tlogs[0]?.baseURL).toBe('https://rekor.mock.test');
  });

  it.each([
    ['a missing file', null, /cannot read/],
    ['a file that is not JSON', '{', /not JSON/],
    ['a JSON list', '[]', /not a JSON object/],
    ['a wrong media type', JSON.stringify({ mediaType: 'application/json' }), /unsupported mediaType/],
    [
      'a root with nothing in it',
      JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }),
      /neither certificate authorities nor transparency logs/,
    ],
  ])('rejects %s as trusted_root_file', async (_name, content, message) => {
    const path = join(tempDir(), 'root.json');
    if (content !== null) writeFileSync(path, content);
    const msg = await rejectsAsync(() => loadTrust({ trustedRootFile: path, keys: [] }), 'TRUST_ROOT_INVALID', message);
    expect(msg).toContain(path);
  });

  // sigstore-conformance trust-root-tlog-missing-validity-start_fail, and the
  // same for CT logs, CAs and TSAs: a missing start would mean "since 1970".
  it.each([
    ['tlogs', (r: MutableRoot) => delete r.tlogs[0]?.publicKey.validFor.start],
    ['ctlogs', (r: MutableRoot) => delete r.ctlogs[0]?.publicKey.validFor.start],
    ['certificateAuthorities', (r: MutableRoot) => delete r.certificateAuthorities[0]?.validFor.start],
    ['timestampAuthorities', (r: MutableRoot) => delete r.timestampAuthorities[0]?.validFor],
  ])('rejects a trusted root whose first %s entry has no validFor.start', async (list, strip) => {
    const sigstore = await mockSigstore();
    const root = structuredClone(sigstore.trustedRoot) as unknown as MutableRoot;
    expect(root[list as keyof MutableRoot]).not.toHaveLength(0);
    strip(root);
    const path = writeJson(tempDir(), 'root.json', root);
    await rejectsAsync(() => loadTrust({ trustedRootFile: path, keys: [] }), 'TRUST_ROOT_INVALID', new RegExp(`${list}\\[0\\] has no validFor\\.start`));
  });

  it('refuses a trusted_root_file or key file that others can modify', async () => {
    const sigstore = await mockSigstore();
    const dir = tempDir();
    const path = writeJson(dir, 'root.json', sigstore.trustedRoot);
    chmodSync(path, 0o666);
    await rejectsAsync(() => loadTrust({ trustedRootFile: path, keys: [] }), 'TRUST_ROOT_INVALID', /refused: .*root\.json can be modified by others/);
    const key = writeKey(dir, 'release', ecKeys().publicKey);
    chmodSync(key, 0o646);
    await rejectsAsync(
      () => loadTrust({ trustedRootFile: undefined, keys: [{ name: 'release', path: key }] }),
      'KEY_INVALID',
      /key "release" .*refused: .*can be modified by others/,
    );
  });

  it('loads keys by name and exposes them through a KeyFinderFunc', async () => {
    const dir = tempDir();
    const key = ecKeys();
    const trust = await loadTrust({ trustedRootFile: undefined, keys: [{ name: 'release', path: writeKey(dir, 'release', key.publicKey) }] });
    const found = trust.material.publicKey('release');
    expect(found.publicKey.equals(key.publicKey)).toBe(true);
    expect(found.validFor(new Date(0))).toBe(true);
    expect(() => trust.material.publicKey('other')).toThrow(/no configured key named "other"/);
  });

  it('names the key whose file is missing or bad', async () => {
    const dir = tempDir();
    await rejectsAsync(
      () => loadTrust({ trustedRootFile: undefined, keys: [{ name: 'gone', path: join(dir, 'nope.pub') }] }),
      'KEY_INVALID',
      /key "gone" .*cannot read/,
    );
    const bad = join(dir, 'bad.pub');
    writeFileSync(bad, 'hello');
    await rejectsAsync(() => loadTrust({ trustedRootFile: undefined, keys: [{ name: 'bad', path: bad }] }), 'KEY_INVALID', /key "bad" \(.*bad\.pub\)/);
  });

  it('rejects two keys with the same name', async () => {
    const dir = tempDir();
    const path = writeKey(dir, 'k', ecKeys().publicKey);
    await rejectsAsync(
      () =>
        loadTrust({
          trustedRootFile: undefined,
          keys: [
            { name: 'k', path },
            { name: 'k', path },
          ],
        }),
      'KEY_INVALID',
      /twice/,
    );
  });
});

describe('parseKey', () => {
  const spkiPem = (k: { export(o: { format: 'pem'; type: 'spki' }): string | Buffer }): string => k.export({ format: 'pem', type: 'spki' }).toString();

  it.each([
    ['ecdsa-p256', spkiPem(ecKeys('P-256').publicKey)],
    ['ecdsa-p384', spkiPem(ecKeys('P-384').publicKey)],
    ['ed25519', spkiPem(generateKeyPairSync('ed25519').publicKey)],
    ['rsa', spkiPem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)],
  ])('accepts %s', (algorithm, pem) => {
    expect(parseKey('k', pem, '/k.pub')).toMatchObject({ name: 'k', algorithm });
  });

  it.each([
    ['P-521', spkiPem(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey), /unsupported key type ec \(secp521r1\)/],
    ['RSA-1024', spkiPem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), /at least 2048 bits/],
    ['a private key', ecKeys().privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), /exactly one PEM "PUBLIC KEY"/],
    ['two keys', spkiPem(ecKeys().publicKey) + spkiPem(ecKeys().publicKey), /exactly one/],
    ['a corrupt key', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /not a valid public key/],
  ])('rejects %s, naming the key', (_name, pem, message) => {
    rejects(() => parseKey('mykey', pem, '/etc/keys/mykey.pub'), 'KEY_INVALID', message);
    rejects(() => parseKey('mykey', pem, '/etc/keys/mykey.pub'), 'KEY_INVALID', /key "mykey" \(\/etc\/keys\/mykey\.pub\)/);
  });

  it('keyFinder throws a PUBLIC_KEY_ERROR for unknown hints', () => {
    expect(() => keyFinder(new Map())('x')).toThrow(expect.objectContaining({ code: 'PUBLIC_KEY_ERROR' }));
  });
});
