// FROM-scratch workload images for the end-to-end tests: busybox plus the
// static spire-agent as the Workload API client; `marker` makes each build's
// content (a file and a label) distinct.

import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { docker, type Rig } from './rig.js';

export async function dockerOk(rig: Rig, args: string[], input?: string): Promise<string> {
  const r = await docker(rig, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

// Builds `tag` in the rig's dockerd; returns its image ID.
export async function buildWorkloadImage(rig: Rig, tag: string, marker: string): Promise<string> {
  const ctx = mkdtempSync(join(tmpdir(), 'ssa-img-'));
  try {
    copyFileSync(rig.spireAgentStatic, join(ctx, 'spire-agent'));
    chmodSync(join(ctx, 'spire-agent'), 0o755);
    writeFileSync(join(ctx, 'marker'), marker);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM ${rig.busyboxImage}\nCOPY spire-agent /bin/spire-agent\nCOPY marker /marker\nLABEL com.example.app=${marker}\n`,
    );
    await dockerOk(rig, ['build', '-q', '-t', tag, ctx]);
    return await dockerOk(rig, ['image', 'inspect', '-f', '{{.Id}}', tag]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

// Pushes `tag` (built before) to its registry; returns its manifest digest.
export async function pushImage(rig: Rig, tag: string): Promise<string> {
  await dockerOk(rig, ['push', '-q', tag]);
  const repoDigest = await dockerOk(rig, ['image', 'inspect', '-f', '{{index .RepoDigests 0}}', tag]);
  return repoDigest.slice(repoDigest.indexOf('@') + 1);
}

// Small images in one repository of the rig registry, each pushed and run in
// a container (sleeping), for tests that attest them by PID; `name` is the
// tag, and a label makes each image distinct.
export class RunningImages {
  readonly pids: Record<string, number> = {};
  readonly digests: Record<string, string> = {};
  readonly #containers: string[] = [];
  readonly #images: string[] = [];

  constructor(
    private readonly rig: Rig,
    readonly repo: string,
    private readonly run: string | number,
  ) {}

  // `repo@digest` of an image added before.
  at(name: string): string {
    return `${this.repo}@${this.digests[name] ?? ''}`;
  }

  async add(name: string): Promise<void> {
    const tag = `${this.repo}:${name}`;
    await dockerOk(this.rig, ['build', '-q', '-t', tag, '-'], `FROM ${this.rig.busyboxImage}\nLABEL app=${name}-${this.run}\n`);
    this.#images.push(tag);
    this.digests[name] = await pushImage(this.rig, tag);
    const id = await dockerOk(this.rig, ['run', '-d', '--network', 'none', tag, 'sleep', '600']);
    this.#containers.push(id);
    this.pids[name] = Number(await dockerOk(this.rig, ['inspect', '-f', '{{.State.Pid}}', id]));
  }

  async remove(): Promise<void> {
    if (this.#containers.length > 0) await docker(this.rig, ['rm', '-f', ...this.#containers]);
    if (this.#images.length > 0) await docker(this.rig, ['rmi', '-f', ...this.#images]);
  }
}
