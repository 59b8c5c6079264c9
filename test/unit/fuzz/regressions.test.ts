// Counterexamples the fuzzer (test/fuzz/) found, shrunk, kept as regular
// tests asserting the correct behaviour (both bugs are fixed). A bug found
// and not fixed yet would be an `it.fails` here and a `known` entry of its
// target in targets.ts, so that the fuzzer keeps looking for new ones.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { parseWwwAuthenticate } from '../../../src/registry/challenge.js';
import { DockerApiClient } from '../../../src/runtime/docker.js';

import type { Server } from 'node:http';

describe('SSA-FUZZ-1: WWW-Authenticate params named like Object.prototype members', () => {
  // Found by www-authenticate-print: [{"scheme":"+","params":{["__proto__"]:""}}]
  // printed as `+ __proto__=""` parses as {scheme:"+", params:{}}. params is
  // a plain object, so `params["__proto__"] = value` sets (tries to set) its
  // prototype instead of a key: the param is silently lost.
  it('keeps a param named __proto__ (SSA-FUZZ-1: params had a prototype)', () => {
    const [challenge] = parseWwwAuthenticate('+ __proto__=""');
    expect(challenge?.scheme).toBe('+');
    expect(Object.keys(challenge?.params ?? {})).toEqual(['__proto__']);
  });

  it('keeps the other params around it', () => {
    const [challenge] = parseWwwAuthenticate('Bearer realm="https://auth.test/token",__proto__="x",service="registry.test"');
    expect(challenge?.params['realm']).toBe('https://auth.test/token');
    expect(challenge?.params['service']).toBe('registry.test');
  });
});

describe('SSA-FUZZ-2: Docker inspect answers of the wrong shape', () => {
  let server: Server;
  let dir: string;
  let client: DockerApiClient;
  let container = '';
  let image = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssa-fuzz-regress-'));
    const socket = join(dir, 'docker.sock');
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end((req.url ?? '').startsWith('/images/') ? image : container);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    client = new DockerApiClient('docker', `unix://${socket}`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const goodImage = JSON.stringify({ Id: `sha256:${'4'.repeat(64)}`, RepoDigests: [], RepoTags: [], Os: 'linux', Architecture: 'amd64' });
  const inspectError = async (): Promise<unknown> =>
    client.inspect({ id: 'x' }, AbortSignal.timeout(2_000)).then(
      () => undefined,
      (err: unknown) => err,
    );

  // Found by docker-api (shrunk): a container inspect body that is not JSON
  // (one byte flipped: `z"Id":...`). dockerode hands back the raw Buffer, so
  // info.Image is undefined and `imageId.startsWith` throws a TypeError.
  it('a non-JSON container answer is RUNTIME_UNAVAILABLE, not a TypeError (SSA-FUZZ-2)', async () => {
    container = `z"Id":"${'a'.repeat(64)}","Image":"sha256:${'4'.repeat(64)}"}`;
    image = goodImage;
    const err = await inspectError();
    expect(err).toBeInstanceOf(AttestorError);
  });

  it('a container answer whose Image is not a string is a typed error (SSA-FUZZ-2)', async () => {
    container = JSON.stringify({ Id: 'a'.repeat(64), Image: 42, Config: {}, State: { Running: true, Pid: 1 } });
    image = goodImage;
    const err = await inspectError();
    expect(err).toBeInstanceOf(AttestorError);
  });

  it('an image answer whose Os is not a string is a typed error, not ill-typed facts (SSA-FUZZ-2)', async () => {
    container = JSON.stringify({ Id: 'a'.repeat(64), Image: `sha256:${'4'.repeat(64)}`, Config: {}, State: { Running: true, Pid: 1 } });
    image = JSON.stringify({ Id: `sha256:${'4'.repeat(64)}`, Os: 7, Architecture: null });
    const result = await client.inspect({ id: 'x' }, AbortSignal.timeout(2_000)).catch((err: unknown) => err);
    expect(result).toBeInstanceOf(AttestorError);
  });

  it('a well-formed answer still maps', async () => {
    container = JSON.stringify({
      Id: 'a'.repeat(64),
      Image: `sha256:${'4'.repeat(64)}`,
      Config: { Image: 'app:1', Labels: { a: 'b' }, Env: ['A=1'] },
      State: { Running: true, Pid: 9 },
    });
    image = goodImage;
    const result = await client.inspect({ id: 'x' }, AbortSignal.timeout(2_000));
    expect(result?.container).toMatchObject({ imageId: `sha256:${'4'.repeat(64)}`, initPid: 9, labels: { a: 'b' }, env: ['A=1'] });
    expect(result?.image).toMatchObject({ os: 'linux', architecture: 'amd64' });
  });
});
