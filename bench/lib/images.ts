// Workload images and containers for the benchmark, on the rig's own dockerd
// and registry: small FROM-scratch busybox images (the agent comparison's
// image also carries the static spire-agent as its Workload API client),
// each with its own repository and a label that makes its config (and so its
// image ID) unique, pushed and signed with a cosign key (legacy `.sig`, no
// tlog). Containers run `sleep` with --network none and carry a run label,
// so cleanup finds every one of them.

import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { signWithKey, type KeyPair } from '../../test/support/cosign.js';
import { docker, type Rig } from '../../test/support/rig.js';

export interface BenchImage {
  readonly name: string;
  // <registry>/<repo>:1
  readonly tag: string;
  // <registry>/<repo>
  readonly repoRef: string;
  // <repo> as the distribution API paths write it
  readonly repository: string;
  // The image ID (config digest)
  readonly id: string;
  // The pushed manifest digest
  readonly digest: string;
}

export interface BenchContainer {
  readonly id: string;
  readonly pid: number;
  readonly image: BenchImage;
}

async function ok(rig: Rig, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await docker(rig, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// Runs `fn` over `items` with at most `limit` at a time; results in order.
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

export class Fixtures {
  readonly #rig: Rig;
  readonly #run: string;
  readonly #dir: string;
  readonly #tags = new Set<string>();
  readonly #containers = new Set<string>();

  constructor(rig: Rig, run: string, dir: string) {
    this.#rig = rig;
    this.#run = run;
    this.#dir = dir;
  }

  get repoPrefix(): string {
    return `ssa-bench-${this.#run}`;
  }

  // Builds, pushes and signs one image; `withAgent` adds the static spire-agent.
  async image(name: string, key: KeyPair | undefined, withAgent = false): Promise<BenchImage> {
    const rig = this.#rig;
    const repository = `${this.repoPrefix}/${name}`;
    const repoRef = `${rig.registry}/${repository}`;
    const tag = `${repoRef}:1`;
    const ctx = join(this.#dir, 'build', name);
    mkdirSync(ctx, { recursive: true });
    let dockerfile = `FROM ${rig.busyboxImage}\n`;
    if (withAgent) {
      copyFileSync(rig.spireAgentStatic, join(ctx, 'spire-agent'));
      chmodSync(join(ctx, 'spire-agent'), 0o755);
      dockerfile += 'COPY spire-agent /bin/spire-agent\n';
    }
    dockerfile += `LABEL ssa-bench.run=${this.#run} ssa-bench.image=${name}\n`;
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    this.#tags.add(tag);
    await ok(rig, ['build', '-q', '-t', tag, ctx]);
    rmSync(ctx, { recursive: true, force: true });
    await ok(rig, ['push', '-q', tag]);
    const [id = '', repoDigest = ''] = (await ok(rig, ['image', 'inspect', '-f', '{{.Id}} {{index .RepoDigests 0}}', tag])).split(' ');
    const digest = repoDigest.slice(repoDigest.indexOf('@') + 1);
    if (!id.startsWith('sha256:') || !digest.startsWith('sha256:')) throw new Error(`${tag}: unexpected inspect output ${id} ${repoDigest}`);
    if (key) await signWithKey(rig, `${repoRef}@${digest}`, key, 'legacy');
    return { name, tag, repoRef, repository, id, digest };
  }

  // The same image pushed under another repository (`docker tag` + `docker
  // push`: no build, the blobs are already in the registry) and signed
  // there: a distinct (repository, digest) pair, so a distinct verdict.
  async alias(image: BenchImage, name: string, key: KeyPair | undefined): Promise<BenchImage> {
    const rig = this.#rig;
    const repository = `${this.repoPrefix}/${name}`;
    const repoRef = `${rig.registry}/${repository}`;
    const tag = `${repoRef}:1`;
    this.#tags.add(tag);
    await ok(rig, ['tag', image.tag, tag]);
    await ok(rig, ['push', '-q', tag]);
    const repoDigests = JSON.parse(await ok(rig, ['image', 'inspect', '-f', '{{json .RepoDigests}}', tag])) as string[];
    const repoDigest = repoDigests.find((d) => d.startsWith(`${repoRef}@`)) ?? '';
    const digest = repoDigest.slice(repoDigest.indexOf('@') + 1);
    if (!digest.startsWith('sha256:')) throw new Error(`${tag}: no RepoDigest for ${repoRef} in ${repoDigests.join(' ')}`);
    if (key) await signWithKey(rig, `${repoRef}@${digest}`, key, 'legacy');
    return { name, tag, repoRef, repository, id: image.id, digest };
  }

  // A running container of `image` (its main process: busybox sleep).
  async container(image: BenchImage, extra: readonly string[] = []): Promise<BenchContainer> {
    const id = await ok(this.#rig, ['run', '-d', '--network', 'none', '--label', `ssa-bench.run=${this.#run}`, ...extra, image.tag, 'sleep', '1800']);
    this.#containers.add(id);
    const pid = Number(await ok(this.#rig, ['inspect', '-f', '{{.State.Pid}}', id]));
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`container ${id} has no pid`);
    return { id, pid, image };
  }

  // A container whose first (and only) act is `cmd`; removed when it exits.
  async runOnce(image: BenchImage, extra: readonly string[], cmd: readonly string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
    const r = await docker(this.#rig, ['run', '--rm', '--network', 'none', '--label', `ssa-bench.run=${this.#run}`, ...extra, image.tag, ...cmd], {
      timeoutMs,
    });
    return { code: r.code, out: r.stdout + r.stderr };
  }

  async exec(containerId: string, args: readonly string[], timeoutMs = 120_000): Promise<{ code: number; out: string }> {
    const r = await docker(this.#rig, ['exec', containerId, ...args], { timeoutMs });
    return { code: r.code, out: r.stdout + r.stderr };
  }

  async removeContainers(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await docker(this.#rig, ['rm', '-f', ...ids], { timeoutMs: 120_000 });
    for (const id of ids) this.#containers.delete(id);
  }

  // Every container with this run's label and every image tag we built.
  async cleanup(): Promise<{ containers: number; images: number }> {
    const listed = await docker(this.#rig, ['ps', '-aq', '--filter', `label=ssa-bench.run=${this.#run}`]);
    // `docker ps -q` prints short IDs; ours are full: key by the first 12 hex digits.
    const ids = new Set(
      [
        ...this.#containers,
        ...listed.stdout
          .split('\n')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ].map((id) => id.slice(0, 12)),
    );
    for (let i = 0, all = [...ids]; i < all.length; i += 50) await docker(this.#rig, ['rm', '-f', ...all.slice(i, i + 50)], { timeoutMs: 120_000 });
    const tags = [...this.#tags];
    for (let i = 0; i < tags.length; i += 50) await docker(this.#rig, ['rmi', '-f', ...tags.slice(i, i + 50)], { timeoutMs: 120_000 });
    this.#containers.clear();
    this.#tags.clear();
    return { containers: ids.size, images: tags.length };
  }
}
