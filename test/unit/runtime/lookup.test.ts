import { mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { inspectWithRetry, lookupContainer } from '../../../src/runtime/lookup.js';
import { checkSocketDirectory, socketPathOf } from '../../../src/runtime/socket.js';
import { containerSelectors } from '../../../src/selectors/container.js';

import type { ContainerFacts, ImageFacts, RuntimeClient } from '../../../src/runtime/types.js';

const ID = 'a'.repeat(64);
const IMAGE = `sha256:${'b'.repeat(64)}`;

const container: ContainerFacts = {
  id: ID,
  imageId: IMAGE,
  imageRef: 'registry.example/app:1',
  labels: { team: 'payments', 'with:colon': 'x:y' },
  env: ['APP_ENV=prod', 'SECRET=s3cr3t', 'NOVALUE'],
  running: true,
  initPid: 42,
};

// Answers "no such container" `misses` times, then the container.
function fakeClient(misses: number, image: ImageFacts | undefined = { id: IMAGE, repoDigests: [], repoTags: [], os: 'linux', architecture: 'amd64' }): RuntimeClient & { calls: number } {
  return {
    kind: 'docker',
    endpoint: 'unix:///fake.sock',
    calls: 0,
    async inspectContainer() {
      this.calls++;
      return this.calls > misses ? container : undefined;
    },
    async inspectImage() {
      return image;
    },
  };
}

describe('inspectWithRetry', () => {
  it('retries a container that is not visible yet', async () => {
    const client = fakeClient(2);
    await expect(inspectWithRetry(client, ID, AbortSignal.timeout(5_000), { delaysMs: [1, 1, 1] })).resolves.toBe(container);
    expect(client.calls).toBe(3);
  });

  it('gives up after the bounded attempts with CONTAINER_NOT_FOUND', async () => {
    const client = fakeClient(10);
    const err = await inspectWithRetry(client, ID, AbortSignal.timeout(5_000), { delaysMs: [1, 1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttestorError);
    expect((err as AttestorError).code).toBe('CONTAINER_NOT_FOUND');
    expect(client.calls).toBe(3);
  });

  it('stops waiting when the call is aborted', async () => {
    const client = fakeClient(10);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const err = await inspectWithRetry(client, ID, controller.signal, { delaysMs: [10_000] }).catch((e: unknown) => e);
    expect((err as AttestorError).code).toBe('CANCELLED');
  });
});

describe('lookupContainer', () => {
  it('inspects the image by the container image ID', async () => {
    const findings = await lookupContainer(fakeClient(0), ID, AbortSignal.timeout(1_000));
    expect(findings.image?.id).toBe(IMAGE);
    expect(findings.container).toBe(container);
  });
});

describe('containerSelectors', () => {
  it('emits image, config digest and labels, and env only when listed', () => {
    expect(containerSelectors(container, { envSelectors: [] }).sort()).toEqual([
      `image_config_digest:${IMAGE}`,
      'image_id:registry.example/app:1',
      'label:team:payments',
      'label:with:colon:x:y',
    ]);
    expect(containerSelectors(container, { envSelectors: ['APP_ENV', 'NOVALUE'] }).filter((s) => s.startsWith('env:'))).toEqual([
      'env:APP_ENV=prod',
      'env:NOVALUE',
    ]);
  });
});

describe('runtime socket trust', () => {
  const root = mkdtempSync(join(tmpdir(), 'ssa-socktrust-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('accepts a root-owned, non-writable directory chain (sticky /tmp included)', async () => {
    const dir = join(root, 'ok');
    mkdirSync(dir, { mode: 0o755 });
    await expect(checkSocketDirectory(join(dir, 'docker.sock'))).resolves.toBeUndefined();
  });

  it('refuses a group- or world-writable directory', async () => {
    const dir = join(root, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o775);
    await expect(checkSocketDirectory(join(dir, 'docker.sock'))).rejects.toMatchObject({ code: 'RUNTIME_REFUSED' });
  });

  it('reports a missing directory and accepts root-owned ones whatever our uid', async () => {
    await expect(checkSocketDirectory('/x/docker.sock', 0).then(() => 'ok', (e: AttestorError) => e.code)).resolves.toBe('RUNTIME_UNAVAILABLE');
    const dir = join(root, 'theirs');
    mkdirSync(dir, { mode: 0o755 });
    // Pretend we are uid 1234 and the directory belongs to root: still fine
    // (root-owned); ownership by a third user is what is refused.
    await expect(checkSocketDirectory(join(dir, 's.sock'), 1234)).resolves.toBeUndefined();
  });

  it('parses unix endpoints only', () => {
    expect(socketPathOf('unix:///run/docker.sock')).toBe('/run/docker.sock');
    expect(() => socketPathOf('tcp://127.0.0.1:2375')).toThrow(/unix:\/\/\/path/);
  });
});
