import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative as relativePath } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CredentialStore, defaultDockerConfigPath, normalizeServerKey } from '../../../src/registry/credentials.js';
import { createRegistryClient } from '../../../src/registry/index.js';
import { writeCredentialHelper } from '../../support/registries.js';

const dir = mkdtempSync(join(tmpdir(), 'ssa-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const helper = writeCredentialHelper(join(dir, 'bin'), 'ssatest', {
  '127.0.0.1:7000': { username: 'helper-user', secret: 'helper-pass' },
  'https://index.docker.io/v1/': { username: '<token>', secret: 'refresh-xyz' },
  'garbage.example': { raw: 'not json' },
  'slow.example': { sleepSeconds: 10 },
});
const env = { ...process.env, PATH: `${helper.dir}:${process.env['PATH'] ?? ''}` };

let n = 0;
function file(content: string): string {
  const path = join(dir, `f${++n}`);
  writeFileSync(path, content);
  return path;
}

function dockerConfig(value: unknown): string {
  return file(JSON.stringify(value));
}

const basic64 = (s: string): string => Buffer.from(s).toString('base64');
const signal = new AbortController().signal;

describe('plugin config credentials', () => {
  it('username + password_file (trailing newline dropped)', async () => {
    const store = new CredentialStore({
      registries: { 'r.example': { username: 'alice', passwordFile: file('s3cret\n') } },
      dockerConfigPath: join(dir, 'none.json'),
    });
    expect(await store.lookup('r.example', signal)).toMatchObject({ kind: 'basic', username: 'alice', password: 's3cret' });
    expect(await store.lookup('other.example', signal)).toBeUndefined();
  });

  it('token_file is a bearer token', async () => {
    const store = new CredentialStore({ registries: { 'r.example': { tokenFile: file('tok\r\n') } }, dockerConfigPath: join(dir, 'none.json') });
    expect(await store.lookup('r.example', signal)).toMatchObject({ kind: 'bearer', token: 'tok' });
  });

  it('wins over the docker config', async () => {
    const store = new CredentialStore({
      registries: { 'r.example': { username: 'alice', passwordFile: file('pw') } },
      dockerConfigPath: dockerConfig({ auths: { 'r.example': { auth: basic64('bob:pw2') } } }),
    });
    expect(await store.lookup('r.example', signal)).toMatchObject({ username: 'alice' });
  });

  it('unreadable, empty or half-configured secrets are REGISTRY_AUTH', async () => {
    const cases = [
      { username: 'a', passwordFile: join(dir, 'missing') },
      { username: 'a', passwordFile: file('\n') },
      { username: 'a' },
      { passwordFile: file('x') },
      { tokenFile: join(dir, 'missing') },
    ];
    for (const settings of cases) {
      const store = new CredentialStore({ registries: { r: settings } });
      await expect(store.lookup('r', signal)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    }
  });
});

describe('docker config', () => {
  it('auths: auth, username/password, identitytoken, registrytoken', async () => {
    const path = dockerConfig({
      auths: {
        'a.example': { auth: basic64('ua:pa:with:colons') },
        'https://b.example/v2/': { username: 'ub', password: 'pb' },
        'c.example:5000': { auth: basic64('uc:pc'), identitytoken: 'idtok' },
        'd.example': { registrytoken: 'regtok' },
        'e.example': {},
      },
    });
    const store = new CredentialStore({ dockerConfigPath: path, env });
    expect(await store.lookup('a.example', signal)).toMatchObject({ kind: 'basic', username: 'ua', password: 'pa:with:colons' });
    expect(await store.lookup('b.example', signal)).toMatchObject({ kind: 'basic', username: 'ub', password: 'pb' });
    expect(await store.lookup('c.example:5000', signal)).toMatchObject({ kind: 'identityToken', token: 'idtok' });
    expect(await store.lookup('d.example', signal)).toMatchObject({ kind: 'bearer', token: 'regtok' });
    expect(await store.lookup('e.example', signal)).toBeUndefined();
    expect(await store.lookup('c.example', signal)).toBeUndefined();
  });

  it("Docker Hub's key variants", async () => {
    for (const key of ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'https://registry-1.docker.io']) {
      const store = new CredentialStore({ dockerConfigPath: dockerConfig({ auths: { [key]: { auth: basic64('hub:pw') } } }) });
      expect(await store.lookup('docker.io', signal)).toMatchObject({ username: 'hub' });
    }
  });

  it('exact keys win over equivalent ones', async () => {
    const store = new CredentialStore({
      dockerConfigPath: dockerConfig({ auths: { 'https://x.example': { auth: basic64('loose:1') }, 'x.example': { auth: basic64('exact:1') } } }),
    });
    expect(await store.lookup('x.example', signal)).toMatchObject({ username: 'exact' });
  });

  it('missing file: none; malformed: REGISTRY_AUTH', async () => {
    expect(await new CredentialStore({ dockerConfigPath: join(dir, 'nope', 'config.json') }).lookup('a', signal)).toBeUndefined();
    await expect(new CredentialStore({ dockerConfigPath: file('{oops') }).lookup('a', signal)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
    await expect(
      new CredentialStore({ dockerConfigPath: dockerConfig({ auths: { a: { auth: basic64('nocolon') } } }) }).lookup('a', signal),
    ).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
  });

  it('default path: $DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/dc' })).toBe('/etc/dc/config.json');
    expect(defaultDockerConfigPath({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
    const cfgDir = join(dir, 'dc');
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { q: { auth: basic64('envuser:x') } } }));
    return expect(new CredentialStore({ env: { DOCKER_CONFIG: cfgDir } }).lookup('q', signal)).resolves.toMatchObject({ username: 'envuser' });
  });

  it('normalizes keys', () => {
    expect(normalizeServerKey('https://GHCR.io/v2/')).toBe('ghcr.io');
    expect(normalizeServerKey('http://127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(normalizeServerKey('https://index.docker.io/v1/')).toBe('docker.io');
  });
});

describe('credential helpers (a real docker-credential-ssatest script on PATH)', () => {
  it('credHelpers[host], <token> usernames, cached answers', async () => {
    const store = new CredentialStore({
      dockerConfigPath: dockerConfig({ credHelpers: { '127.0.0.1:7000': 'ssatest', 'docker.io': 'ssatest', 'nf.example': 'ssatest' } }),
      env,
    });
    const before = helper.calls().length;
    expect(await store.lookup('127.0.0.1:7000', signal)).toMatchObject({ kind: 'basic', username: 'helper-user', password: 'helper-pass' });
    expect(await store.lookup('127.0.0.1:7000', signal)).toMatchObject({ kind: 'basic', username: 'helper-user' });
    expect(await store.lookup('docker.io', signal)).toMatchObject({ kind: 'identityToken', token: 'refresh-xyz' });
    // "credentials not found" (exit 1): none, and that answer is cached too.
    expect(await store.lookup('nf.example', signal)).toBeUndefined();
    expect(await store.lookup('nf.example', signal)).toBeUndefined();
    expect(helper.calls().slice(before)).toEqual(['127.0.0.1:7000', 'https://index.docker.io/v1/', 'nf.example']);
  });

  it('precedence: credHelpers, then auths, then credsStore', async () => {
    const path = dockerConfig({
      credsStore: 'ssatest',
      credHelpers: { '127.0.0.1:7000': 'ssatest' },
      auths: { '127.0.0.1:7000': { auth: basic64('file-user:x') }, 'f.example': { auth: basic64('file-user:y') }, 'docker.io': {} },
    });
    const store = new CredentialStore({ dockerConfigPath: path, env });
    expect(await store.lookup('127.0.0.1:7000', signal)).toMatchObject({ username: 'helper-user' });
    expect(await store.lookup('f.example', signal)).toMatchObject({ username: 'file-user' });
    // auths entry is only a placeholder: the store answers.
    expect(await store.lookup('docker.io', signal)).toMatchObject({ kind: 'identityToken' });
  });

  it('missing helper: none; garbage or a hung helper: REGISTRY_AUTH, bounded in time', async () => {
    const missing = new CredentialStore({ dockerConfigPath: dockerConfig({ credsStore: 'ssa-not-installed' }), env });
    expect(await missing.lookup('a.example', signal)).toBeUndefined();
    const store = new CredentialStore({ dockerConfigPath: dockerConfig({ credsStore: 'ssatest' }), env, helperTimeoutMs: 300 });
    await expect(store.lookup('garbage.example', signal)).rejects.toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringMatching(/not JSON/) });
    const started = Date.now();
    await expect(store.lookup('slow.example', signal)).rejects.toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringMatching(/within 300 ms/) });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('an aborted lookup kills the helper: CANCELLED', async () => {
    const store = new CredentialStore({ dockerConfigPath: dockerConfig({ credsStore: 'ssatest' }), env });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(store.lookup('slow.example', ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('rejects helper names that are not plain names', async () => {
    const store = new CredentialStore({ dockerConfigPath: dockerConfig({ credsStore: '../evil' }), env });
    await expect(store.lookup('a', signal)).rejects.toMatchObject({ code: 'REGISTRY_AUTH' });
  });

  it('the helper log holds only server URLs, never secrets', () => {
    expect(readFileSync(helper.logFile, 'utf8')).not.toMatch(/pass|refresh/);
  });
});

// The docker config names the programs the plugin runs as root, and secrets
// decide which account it uses: none of them may be changeable by others.
describe('credential sources another user could change are refused', () => {
  it('a docker config, password_file or token_file others can modify', async () => {
    const config = dockerConfig({ auths: { 'r.example': { auth: basic64('u:p') } } });
    chmodSync(config, 0o666);
    await expect(new CredentialStore({ dockerConfigPath: config, env }).lookup('r.example', signal)).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringMatching(/docker config .*: refused: .* can be modified by others/),
    });
    const secret = file('s3cret\n');
    chmodSync(secret, 0o622);
    const store = new CredentialStore({ registries: { 'r.example': { username: 'alice', passwordFile: secret } }, dockerConfigPath: join(dir, 'none.json') });
    await expect(store.lookup('r.example', signal)).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringMatching(/password_file .*: refused: /),
    });
  });

  it('a credential helper found first on PATH in a directory others can write', async () => {
    const shared = join(dir, 'shared-bin');
    const planted = writeCredentialHelper(shared, 'ssatest', { 'r.example': { username: 'planted', secret: 'x' } });
    chmodSync(shared, 0o777);
    const store = new CredentialStore({ dockerConfigPath: dockerConfig({ credsStore: 'ssatest' }), env: { ...env, PATH: `${shared}:${helper.dir}` } });
    await expect(store.lookup('r.example', signal)).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringMatching(/refusing credential helper docker-credential-ssatest: directory .*shared-bin can be modified by others/),
    });
    expect(planted.calls()).toEqual([]);
    // Relative PATH entries (the working directory) are never searched.
    const relative = new CredentialStore({
      dockerConfigPath: dockerConfig({ credsStore: 'ssatest' }),
      env: { ...env, PATH: relativePath(process.cwd(), helper.dir) },
    });
    expect(await relative.lookup('127.0.0.1:7000', signal)).toBeUndefined();
  });

  it('a registry ca_file others can modify', async () => {
    const ca = file('-----BEGIN CERTIFICATE-----\n');
    chmodSync(ca, 0o666);
    const client = createRegistryClient({ registries: { '127.0.0.1:9': { caFile: ca } } });
    const ref = { registry: '127.0.0.1:9', repository: 'a/b', tag: 'v1', original: '127.0.0.1:9/a/b:v1' };
    await expect(client.getManifest(ref, signal)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/ca_file .*: refused: .* can be modified by others/),
    });
    await client.close();
  });
});
