// Fleet scale, on a simulated clock: the whole attestor (binding, discovery,
// verification of a real key-based signature, policy) against an in-memory
// registry that counts every call. Steady state asks the registry nothing
// but a background refresh per interval; an outage is bridged up to the
// staleness bound and no further; a deleted signature stops counting after
// one refresh; a restart uses the persisted verdicts (no registry call), a
// tampered persisted verdict is ignored, and an unsafe cache directory is
// refused.

import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { createAttestor } from '../../../src/app/compose.js';
import { buildConfig } from '../../../src/config/build.js';
import { AttestorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { keyedLegacy } from '../verify/support/rig.js';
import { setup } from '../verify/support/setup.js';

import type { PipelineAttestor } from '../../../src/attest/attestor.js';
import type { AttestMetrics, MetricLabel } from '../../../src/attest/metrics.js';
import type { LogFields, Logger } from '../../../src/log.js';
import type { ProcReader } from '../../../src/process/index.js';
import type { Descriptor, Digest, FetchedManifest, ImageReference, Manifest, RegistryApi } from '../../../src/registry/types.js';
import type { RuntimeClient } from '../../../src/runtime/types.js';
import type { Setup } from '../verify/support/setup.js';

const HOUR = 3_600_000;
const ID = 'c'.repeat(64);
const IMAGE_ID: Digest = `sha256:${'d'.repeat(64)}`;
const REPO = 'registry.test/acme/app';
const sha256 = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// Manifests by digest and tag, blobs by digest; every call counted; `down`
// makes every call fail like an unreachable registry.
class CountingRegistry implements RegistryApi {
  readonly manifests = new Map<string, Manifest>();
  readonly blobs = new Map<Digest, Buffer>();
  calls = 0;
  down = false;
  // Blobs arrive damaged (bytes that do not hash to their digest).
  damaged = false;

  put(key: string | undefined, manifest: Manifest): Digest {
    const digest = sha256(JSON.stringify(manifest));
    this.manifests.set(key ?? digest, manifest);
    if (key !== undefined) this.manifests.set(digest, manifest);
    return digest;
  }

  #call(): void {
    this.calls++;
    if (this.down) throw new AttestorError('REGISTRY_UNAVAILABLE', 'registry.test: connection refused');
  }

  async resolve(ref: ImageReference): Promise<Digest | undefined> {
    this.#call();
    const m = this.manifests.get(ref.tag ?? ref.digest ?? '');
    return m ? sha256(JSON.stringify(m)) : undefined;
  }

  async getManifest(ref: ImageReference): Promise<FetchedManifest | undefined> {
    this.#call();
    const m = this.manifests.get(ref.digest ?? ref.tag ?? '');
    if (!m) return undefined;
    const bytes = Buffer.from(JSON.stringify(m));
    return { digest: sha256(bytes), mediaType: m.mediaType, bytes, manifest: m };
  }

  async referrers(): Promise<Descriptor[]> {
    this.#call();
    return [];
  }

  async getBlob(_ref: ImageReference, digest: Digest): Promise<Buffer> {
    this.#call();
    if (this.damaged) throw new AttestorError('DIGEST_MISMATCH', `blob ${digest}: bytes hash to sha256:${'0'.repeat(64)}`);
    const b = this.blobs.get(digest);
    if (!b) throw new AttestorError('REGISTRY_RESPONSE', `blob ${digest}: not found (404)`);
    return b;
  }
}

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const CGROUP = `0::/system.slice/docker-${ID}.scope\n`;

// /proc as a map (pid -> cgroup text): the workload is pid 7, the
// container's first process pid 100; a missing pid has exited.
// Start times: 1 unless `starts` says otherwise.
function procOf(cgroups: Map<number, string>, starts: Map<number, string>): ProcReader {
  const cgroupOf = (pid: number): string => {
    const text = cgroups.get(pid);
    if (text === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
    return text;
  };
  return { readCgroup: cgroupOf, readStartTime: (pid) => (cgroupOf(pid), starts.get(pid) ?? '1') };
}

function docker(manifestDigest: Digest, counter: { inspects: number }): RuntimeClient {
  return {
    kind: 'docker',
    endpoint: 'unix:///docker.sock',
    async inspect() {
      counter.inspects++;
      return {
        container: { id: ID, imageId: IMAGE_ID, imageRef: `${REPO}:1`, labels: {}, env: [], running: true, initPid: 100 },
        image: { id: IMAGE_ID, repoDigests: [`${REPO}@${manifestDigest}`], repoTags: [`${REPO}:1`], os: 'linux', architecture: 'amd64' },
      };
    },
  };
}

interface World {
  readonly registry: CountingRegistry;
  readonly cgroups: Map<number, string>;
  readonly starts: Map<number, string>;
  inspects: number;
  readonly manifest: Digest;
  readonly sigTag: string;
  clock: number;
  attestor(extra?: string, log?: Logger, metrics?: AttestMetrics, key?: string): PipelineAttestor;
  attest(a: PipelineAttestor): Promise<string[]>;
}

let s: Setup;
beforeAll(async () => {
  s = await setup();
});

async function world(cacheDir: string | undefined): Promise<World> {
  const registry = new CountingRegistry();
  const manifest = registry.put('1', {
    kind: 'manifest',
    mediaType: OCI,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: IMAGE_ID, size: 2 },
    layers: [],
  });
  // A real key-based legacy signature (cosign sign --key, no tlog).
  const signature = await keyedLegacy(s.sigstore, manifest, s.keys.p256, { tlog: false });
  registry.blobs.set(signature.layerDigest, signature.payload);
  const sigTag = `${manifest.replace(':', '-')}.sig`;
  registry.put(sigTag, {
    kind: 'manifest',
    mediaType: OCI,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('{}'), size: 2 },
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: signature.layerDigest,
        size: signature.payload.length,
        annotations: signature.annotations,
      },
    ],
  });
  const w: World = {
    registry,
    starts: new Map(),
    cgroups: new Map([
      [7, CGROUP],
      [100, CGROUP],
    ]),
    inspects: 0,
    manifest,
    sigTag,
    clock: 1_800_000_000_000,
    attestor(extra = '', log: Logger = silentLogger, metrics?: AttestMetrics, key = 'p256') {
      const text = [
        `registry "registry.test" { }`,
        'offline = true',
        `trusted_root_file = "${join(s.dir, 'trusted_root.json')}"`,
        `key {\n name = "${key}"\n path = "${join(s.dir, `${key}.pub`)}"\n}`,
        'require_tlog = false',
        cacheDir === undefined ? 'persist_verdicts = false' : `verdict_cache_dir = "${cacheDir}"`,
        extra,
      ].join('\n');
      return createAttestor(buildConfig(text), log, {
        proc: procOf(w.cgroups, w.starts),
        docker: docker(manifest, w),
        podman: docker(manifest, w),
        checkSocket: async () => undefined,
        socketPresent: () => true,
        registry,
        now: () => w.clock,
        ...(metrics ? { metrics } : {}),
      });
    },
    async attest(a) {
      return [...(await a.attest(7, AbortSignal.timeout(5_000)))];
    },
  };
  return w;
}

const SIGNED = ['image-signature-key:p256', 'image-signature:verified'];
const signerOf = (selectors: readonly string[]): string[] => selectors.filter((x) => x.startsWith('image-signature'));
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('verdict caches at fleet scale (simulated clock)', () => {
  it('at steady state asks the registry nothing between refreshes, and at most once an hour on average', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    const cold = w.registry.calls;
    // One attestation every 2 s for 24 simulated hours (43,200 attestations).
    for (let t = 0; t < 24 * HOUR; t += 2_000) {
      w.clock += 2_000;
      expect(signerOf(await w.attest(a))).toEqual(SIGNED);
      if (t % (10 * 60_000) === 0) await settle();
    }
    await settle();
    const perHour = (w.registry.calls - cold) / 24;
    // Refreshes only (every ~6 h, jittered): never the binding again.
    expect(perHour).toBeGreaterThan(0);
    expect(perHour).toBeLessThanOrEqual(1);
    await a.close();
  }, 60_000);

  it('refreshes in the background: a deleted signature stops counting after one refresh interval', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    w.registry.manifests.delete(w.sigTag);
    w.clock += 5 * HOUR;
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    w.clock += 1.1 * HOUR;
    // Due: answered at once with the old verdict, refreshed meanwhile ...
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    await settle();
    // ... and the refreshed verdict has no signature.
    expect(signerOf(await w.attest(a))).toEqual([]);
    await a.close();
  });

  it('bridges a registry outage with the last verdict up to the staleness bound, then fails closed', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    w.registry.down = true;
    let failed = 0;
    // One simulated hour of outage, attestations every 2 s: none fails.
    for (let t = 0; t < HOUR; t += 2_000) {
      w.clock += 2_000;
      await w.attest(a).catch(() => failed++);
    }
    expect(failed).toBe(0);
    // Still down past the 24 h bound: the verdict is not used any more.
    w.clock += 23.5 * HOUR;
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    await a.close();
  });

  it('a blob damaged on the way is an outage, not an unreadable signature: the verdict is kept, a first load fails and is retried', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    w.registry.damaged = true;
    // First load: no verdict to keep, so the attestation fails (no selectors at all).
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    w.registry.damaged = false;
    w.clock += 10_000;
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    // A refresh that gets damaged bytes keeps the verdict.
    w.registry.damaged = true;
    w.clock += 6.7 * HOUR;
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    await settle();
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    await a.close();
  });

  it('a restart uses the persisted verdicts: no registry call on the attestation path', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssa-verdicts-')), 'verdicts');
    const w = await world(dir);
    const first = w.attestor();
    await first.ready();
    expect(signerOf(await w.attest(first))).toEqual(SIGNED);
    await first.close();
    const before = w.registry.calls;
    const restarted = w.attestor();
    await restarted.ready();
    expect(signerOf(await w.attest(restarted))).toEqual(SIGNED);
    expect(w.registry.calls).toBe(before);
    await restarted.close();
    // Another configuration does not use them.
    const other = w.attestor('log_level = "debug"');
    await other.ready();
    expect(signerOf(await w.attest(other))).toEqual(SIGNED);
    expect(w.registry.calls).toBeGreaterThan(before);
    await other.close();
  });

  it('a persisted verdict edited on disk is ignored, never trusted', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssa-verdicts-')), 'verdicts');
    const w = await world(dir);
    const first = w.attestor();
    await first.ready();
    await w.attest(first);
    await first.close();
    // Remove the signature, then forge the persisted verdict to name
    // another key: the edit breaks its MAC.
    w.registry.manifests.delete(w.sigTag);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.verdict'))) {
      const path = join(dir, name);
      writeFileSync(path, readFileSync(path, 'utf8').replaceAll('"p256"', '"forged"'));
    }
    const restarted = w.attestor();
    await restarted.ready();
    const selectors = await w.attest(restarted);
    expect(selectors).not.toContain('image-signature-key:forged');
    expect(signerOf(selectors)).toEqual([]);
    await restarted.close();
  });

  it('refuses a verdict cache directory others could write to (Configure fails)', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssa-verdicts-')), 'verdicts');
    const w = await world(dir);
    const a = w.attestor();
    await a.ready();
    await a.close();
    chmodSync(dir, 0o777);
    await expect(w.attestor().ready()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/refusing verdict_cache_dir/) });
  });

  it('says once per image verification, not once per attestation, at info, why an image gets no signer selectors', async () => {
    const w = await world(undefined);
    w.registry.manifests.delete(w.sigTag);
    const infos: { message: string; fields: LogFields | undefined }[] = [];
    const log: Logger = { ...silentLogger, info: (message, fields) => void infos.push({ message, fields }) };
    const a = w.attestor('', log);
    await a.ready();
    for (let i = 0; i < 100; i++) {
      w.clock += 2_000;
      expect(signerOf(await w.attest(a))).toEqual([]);
    }
    const denials = infos.filter((l) => l.message.startsWith('no signature or attestation of the image is accepted'));
    expect(denials).toEqual([
      { message: expect.any(String), fields: expect.objectContaining({ image: REPO, image_digest: w.manifest, reason: 'NONE_FOUND', rejected: 0 }) },
    ]);
    await a.close();
  });
});

// What the attestor reports through its metrics port, keyed
// "name{label=value,...}" with the summed values (samples counted).
class RecordingMetrics implements AttestMetrics {
  readonly counters = new Map<string, number>();
  readonly samples = new Map<string, number>();

  static id(key: readonly string[], labels: readonly MetricLabel[]): string {
    return `${key.join('_')}{${labels.map((l) => `${l.name}=${l.value}`).join(',')}}`;
  }

  incrCounter(key: readonly string[], value: number, labels: readonly MetricLabel[]): void {
    const id = RecordingMetrics.id(key, labels);
    this.counters.set(id, (this.counters.get(id) ?? 0) + value);
  }

  addSample(key: readonly string[], _value: number, labels: readonly MetricLabel[]): void {
    const id = RecordingMetrics.id(key, labels);
    this.samples.set(id, (this.samples.get(id) ?? 0) + 1);
  }
}

describe('metrics of the attestor', () => {
  it('counts outcomes, cache hits, misses and refreshes, and times every attestation', async () => {
    const w = await world(undefined);
    const m = new RecordingMetrics();
    const a = w.attestor('', silentLogger, m);
    await a.ready();
    // Registry down on the very first attestation: denied, with the code.
    w.registry.down = true;
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    w.registry.down = false;
    w.clock += 10_000;
    for (let i = 0; i < 5; i++) expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    // Past the refresh interval: served from the cache while refreshing.
    w.clock += 7 * HOUR;
    expect(signerOf(await w.attest(a))).toEqual(SIGNED);
    await settle();
    const c = Object.fromEntries(m.counters);
    expect(c).toMatchObject({
      'sigstore_attestor_attestations{outcome=denied,reason=REGISTRY_UNAVAILABLE}': 1,
      'sigstore_attestor_attestations{outcome=signed}': 6,
      'sigstore_attestor_cache{cache=binding,result=miss}': 2,
      'sigstore_attestor_cache{cache=binding,result=hit}': 5,
      'sigstore_attestor_cache{cache=signatures,result=miss}': 1,
      'sigstore_attestor_cache{cache=signatures,result=hit}': 5,
      'sigstore_attestor_cache{cache=signatures,result=refresh}': 1,
      'sigstore_attestor_cache{cache=container,result=miss}': 1,
      'sigstore_attestor_cache{cache=container,result=hit}': 6,
    });
    expect(Object.keys(c).some((k) => k.includes('verification_failures'))).toBe(false);
    expect(Object.fromEntries(m.samples)).toEqual({ 'sigstore_attestor_attestation_latency_ms{}': 7 });
    await a.close();
  });

  it('counts each rejected signature by code, once per verification', async () => {
    const w = await world(undefined);
    const m = new RecordingMetrics();
    // The signature is real, by p256; the policy trusts only p384: the
    // signature does not verify under that key.
    const a = w.attestor('', silentLogger, m, 'p384');
    await a.ready();
    for (let i = 0; i < 3; i++) expect(signerOf(await w.attest(a))).toEqual([]);
    const c = Object.fromEntries(m.counters);
    expect(c['sigstore_attestor_attestations{outcome=bound}']).toBe(3);
    expect(Object.entries(c).filter(([k]) => k.includes('verification_failures'))).toEqual([
      ['sigstore_attestor_verification_failures{code=SIGNATURE_INVALID}', 1],
    ]);
    await a.close();
  });
});

describe('the warm path (attestNow: what the Attest handler answers without waiting)', () => {
  it('answers only once every finding is cached, with what attest() answers, asking neither registry nor runtime', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    expect(a.attestNow(7)).toBeUndefined();
    expect([w.registry.calls, w.inspects]).toEqual([0, 0]);
    const checked = await w.attest(a);
    expect(signerOf(checked)).toEqual(SIGNED);
    const calls = [w.registry.calls, w.inspects];
    for (let i = 0; i < 100; i++) {
      w.clock += 2_000;
      expect(a.attestNow(7)).toEqual(checked);
    }
    expect([w.registry.calls, w.inspects]).toEqual(calls);
    await a.close();
  });

  it("reads the workload's cgroup file and checks the first process on every call: a process that left, moved or was never in the container gets no answer here", async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    const checked = await w.attest(a);
    // Moved to the host: a host process, no selectors.
    w.cgroups.set(7, '0::/init.scope\n');
    expect(a.attestNow(7)).toEqual([]);
    // A cgroup named after the container under another subtree (forged).
    w.cgroups.set(7, `0::/user.slice/user-1000.slice/${ID}\n`);
    expect(a.attestNow(7)).toBeUndefined();
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    // Exited.
    w.cgroups.delete(7);
    expect(a.attestNow(7)).toBeUndefined();
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'PID_GONE' });
    // Back in the container: the failed check dropped the container facts,
    // so attest() loads them once more; then it is answered here again.
    w.cgroups.set(7, CGROUP);
    expect(a.attestNow(7)).toBeUndefined();
    expect(await w.attest(a)).toEqual(checked);
    expect(a.attestNow(7)).toEqual(checked);
    // The container's first process is gone and its PID now elsewhere (the
    // container stopped): attest() reloads the facts once, then fails.
    w.cgroups.set(100, '0::/init.scope\n');
    w.starts.set(100, '2');
    const inspects = w.inspects;
    expect(a.attestNow(7)).toBeUndefined();
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    expect(w.inspects).toBe(inspects + 1);
    await a.close();
  });

  it('leaves a due refresh and a verdict past the staleness bound to attest()', async () => {
    const w = await world(undefined);
    const a = w.attestor();
    await a.ready();
    const checked = await w.attest(a);
    w.clock += 7 * HOUR;
    // Due: not answered here; attest() answers at once and refreshes.
    expect(a.attestNow(7)).toBeUndefined();
    const calls = w.registry.calls;
    expect(await w.attest(a)).toEqual(checked);
    await settle();
    expect(w.registry.calls).toBeGreaterThan(calls);
    expect(a.attestNow(7)).toEqual(checked);
    // An outage past the bound: nothing here, and attest() fails closed.
    w.registry.down = true;
    w.clock += 25 * HOUR;
    expect(a.attestNow(7)).toBeUndefined();
    await expect(w.attest(a)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(a.attestNow(7)).toBeUndefined();
    await a.close();
  });

  it('counts what it answers like attest() does, and nothing when it leaves the call to attest()', async () => {
    const w = await world(undefined);
    const m = new RecordingMetrics();
    const a = w.attestor('', silentLogger, m);
    await a.ready();
    expect(a.attestNow(7)).toBeUndefined();
    expect(m.counters.size + m.samples.size).toBe(0);
    await w.attest(a);
    for (let i = 0; i < 4; i++) expect(signerOf(a.attestNow(7) ?? [])).toEqual(SIGNED);
    expect(Object.fromEntries(m.counters)).toEqual({
      'sigstore_attestor_attestations{outcome=signed}': 5,
      'sigstore_attestor_cache{cache=binding,result=miss}': 1,
      'sigstore_attestor_cache{cache=binding,result=hit}': 4,
      'sigstore_attestor_cache{cache=signatures,result=miss}': 1,
      'sigstore_attestor_cache{cache=signatures,result=hit}': 4,
      'sigstore_attestor_cache{cache=container,result=miss}': 1,
      'sigstore_attestor_cache{cache=container,result=hit}': 4,
    });
    expect(Object.fromEntries(m.samples)).toEqual({ 'sigstore_attestor_attestation_latency_ms{}': 5 });
    await a.close();
  });
});
