// prefetch_on_start against the rig's real dockerd, Podman service and
// registry: a container that starts is verified from the runtime's start
// event (container facts, binding, cosign signature), so that the first
// attestation of its PID makes no registry request and no runtime call; the
// selectors are those an attestation without prefetch gives. The runtimes'
// start watches report real starts (Docker and Podman's compatible API).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { METRIC_KEYS } from '../../src/attest/metrics.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { DockerApiClient } from '../../src/runtime/docker.js';
import { generateKeyPair, signWithKey } from '../support/cosign.js';
import { ctrOk, removeContainer, runDetached } from '../support/containerd.js';
import { ctr, describeWithRig, run } from '../support/rig.js';
import { dockerOk, pushImage } from '../support/workload-image.js';

import type { AttestMetrics } from '../../src/attest/metrics.js';
import type { KeyPair } from '../support/cosign.js';
import type { ContainerKey } from '../../src/runtime/types.js';
import type { Rig, RigContainerd } from '../support/rig.js';

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The rig registry, the release key, no transparency log, nothing fetched or persisted.
function keyPolicy(rig: Rig, key: KeyPair): string {
  return [
    `registry "${rig.registry}" { insecure = true }`,
    `key {\n name = "release"\n path = "${key.publicKey}"\n}`,
    'require_tlog = false',
    'offline = true',
    'persist_verdicts = false',
  ].join('\n');
}

// Registry requests and runtime-facing cache misses, as the attestor counts them.
class Counting implements AttestMetrics {
  registryRequests = 0;
  containerMisses = 0;
  incrCounter(key: readonly string[], value: number, labels: readonly { name: string; value: string }[]): void {
    if (key === METRIC_KEYS.registryRequests) this.registryRequests += value;
    const cache = labels.find((l) => l.name === 'cache')?.value;
    const result = labels.find((l) => l.name === 'result')?.value;
    if (key === METRIC_KEYS.cache && cache === 'container' && result === 'miss') this.containerMisses += value;
  }
  addSample(): void {}
}

describeWithRig('prefetch_on_start: verified when the container starts', ['docker', 'registry', 'cosign'], (rig) => {
  const dir = mkdtempSync(join(tmpdir(), 'ssa-prefetch-'));
  const repo = `${rig.registry}/ssa-prefetch/app-${process.pid}`;
  const containers: string[] = [];
  let key: KeyPair;

  const config = (prefetch: boolean): string => [`docker_socket_path = "${rig.dockerHost}"`, `prefetch_on_start = ${prefetch}`, keyPolicy(rig, key)].join('\n');

  // A new signed image per test: nothing is cached for it anywhere.
  async function signedImage(name: string): Promise<string> {
    const tag = `${repo}:${name}`;
    await dockerOk(rig, ['build', '-q', '-t', tag, '-'], `FROM ${rig.busyboxImage}\nLABEL app=${name}-${process.pid}\n`);
    const digest = await pushImage(rig, tag);
    await signWithKey(rig, `${repo}@${digest}`, key, 'legacy');
    return tag;
  }

  async function runContainer(tag: string): Promise<number> {
    const id = await dockerOk(rig, ['run', '-d', '--network', 'none', tag, 'sleep', '600']);
    containers.push(id);
    return Number(await dockerOk(rig, ['inspect', '-f', '{{.State.Pid}}', id]));
  }

  beforeAll(async () => {
    key = await generateKeyPair(rig, dir, 'release');
  }, 120_000);

  afterAll(async () => {
    if (containers.length > 0) await dockerOk(rig, ['rm', '-f', ...containers]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first attestation after the start finds every verdict cached: no registry request, no inspection', async () => {
    const tag = await signedImage('early');
    const metrics = new Counting();
    const attestor = createAttestor(buildConfig(config(true)), silentLogger, { metrics });
    try {
      await attestor.ready();
      attestor.startPrefetch();
      const pid = await runContainer(tag);
      await until('the start to be verified', () => attestor.prefetched.checked >= 1);
      expect(metrics.registryRequests).toBeGreaterThan(0);
      const requests = metrics.registryRequests;
      const misses = metrics.containerMisses;

      const report = await attestor.explain(pid, AbortSignal.timeout(10_000));
      expect(report.selectors).toContain('image-signature-key:release');
      expect(report.selectors).toContain('image_binding:bound');
      expect(metrics.registryRequests).toBe(requests);
      expect(metrics.containerMisses).toBe(misses);
    } finally {
      await attestor.close();
    }
  }, 120_000);

  it('gives the same selectors as an attestation without prefetch, which asks the registry itself', async () => {
    const tag = await signedImage('same');
    const pid = await runContainer(tag);
    const plainMetrics = new Counting();
    const plain = createAttestor(buildConfig(config(false)), silentLogger, { metrics: plainMetrics });
    const early = createAttestor(buildConfig(config(true)), silentLogger);
    try {
      await Promise.all([plain.ready(), early.ready()]);
      plain.startPrefetch(); // off in its configuration: does nothing
      early.startPrefetch();
      const before = await plain.explain(pid, AbortSignal.timeout(20_000));
      expect(plainMetrics.registryRequests).toBeGreaterThan(0);
      expect(plain.prefetched.checked).toBe(0);
      // The container was already running: only an attestation verifies it.
      const after = await early.explain(pid, AbortSignal.timeout(20_000));
      expect(after.selectors).toEqual(before.selectors);
    } finally {
      await Promise.all([plain.close(), early.close()]);
    }
  }, 120_000);
});

// The watch itself on each Docker-compatible runtime: a real start is
// reported with the container's ID; aborting ends the watch.
function watchSuite(kind: 'docker' | 'podman', endpoint: (rig: Rig) => string): void {
  describeWithRig(`${kind}: container start watch`, [kind], (rig) => {
    const cli = (args: string[]) =>
      run('docker', ['-H', endpoint(rig), ...args], { timeoutMs: 120_000, env: { DOCKER_CONFIG: join(rig.stateDir, 'docker-config') } });
    const started: string[] = [];

    afterAll(async () => {
      if (started.length > 0) await cli(['rm', '-f', ...started]);
    });

    it('reports a started container by its ID, and ends on abort', async () => {
      const client = new DockerApiClient(kind, endpoint(rig));
      const seen: ContainerKey[] = [];
      const stop = new AbortController();
      const watching = client.watchStarts((k) => seen.push(k), stop.signal);
      const r = await cli(['run', '-d', '--network', 'none', rig.busyboxImage, 'sleep', '600']);
      expect(r.code, r.stderr).toBe(0);
      const id = r.stdout.trim();
      started.push(id);
      await until(`${kind} to report the start`, () => seen.some((k) => k.id === id));
      expect(seen.find((k) => k.id === id)).toEqual({ id });
      stop.abort();
      await expect(watching).resolves.toBeUndefined();
    }, 60_000);

    it('a runtime that is not there rejects (the prefetcher retries)', async () => {
      const client = new DockerApiClient(kind, `unix://${join(rig.stateDir, 'no-such.sock')}`);
      await expect(client.watchStarts(() => undefined, AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
    });
  });
}

watchSuite('docker', (rig) => rig.dockerHost);
watchSuite('podman', (rig) => `unix://${rig.podmanSocket ?? ''}`);

// The same through containerd's Events service: a task that starts in a
// served namespace is verified before its first attestation.
describeWithRig('prefetch_on_start: containerd', ['containerd', 'docker', 'registry', 'cosign'], (rig) => {
  const c = rig.containerd as RigContainerd;
  const dir = mkdtempSync(join(tmpdir(), 'ssa-prefetch-ctrd-'));
  const repo = `${rig.registry}/ssa-prefetch/ctrd-${process.pid}`;
  const tag = `${repo}:1`;
  const started: string[] = [];

  afterAll(async () => {
    for (const id of started) await removeContainer(c, 'default', id);
    await ctr(c, ['-n', 'default', 'images', 'rm', tag]);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('a containerd task start is verified: its attestation makes no registry request', async () => {
    const key = await generateKeyPair(rig, dir, 'release');
    // A layer of its own: containerd proves a freshly pulled image from its
    // layers, which must not be shared with another unpacked image.
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'marker'), `ctrd-${process.pid}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${rig.busyboxImage}\nCOPY marker /marker\n`);
    await dockerOk(rig, ['build', '-q', '-t', tag, ctx]);
    const digest = await pushImage(rig, tag);
    await signWithKey(rig, `${repo}@${digest}`, key, 'legacy');
    await ctrOk(c, ['-n', 'default', 'images', 'pull', '--plain-http', tag]);
    const metrics = new Counting();
    const hcl = [`containerd_socket_path = "unix://${c.socket}"`, 'containerd_namespaces = ["default"]', 'prefetch_on_start = true', keyPolicy(rig, key)].join(
      '\n',
    );
    const attestor = createAttestor(buildConfig(hcl), silentLogger, { metrics });
    try {
      await attestor.ready();
      attestor.startPrefetch();
      // Subscribe says nothing when it is in place: start tasks until one is verified.
      let pid = 0;
      for (let i = 0; attestor.prefetched.checked === 0; i++) {
        if (i === 5) throw new Error('no containerd start was verified early');
        const id = `ssa-prefetch-${process.pid}-${i}`;
        started.push(id);
        pid = await runDetached(c, 'default', tag, id, ['sleep', '600']);
        await until('the start to be verified', () => attestor.prefetched.checked > 0, 3_000).catch(() => undefined);
      }
      const requests = metrics.registryRequests;
      expect(requests).toBeGreaterThan(0);
      const report = await attestor.explain(pid, AbortSignal.timeout(10_000));
      expect(report.selectors).toContain('image-signature-key:release');
      expect(metrics.registryRequests).toBe(requests);
    } finally {
      await attestor.close();
    }
  }, 180_000);
});
