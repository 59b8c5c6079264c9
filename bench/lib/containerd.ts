// Containers in the rig's containerd instances (test/env/up.sh: Debian's 1.6
// and a 2.x, each its own daemon and ctr), as ctr users and the kubelet lay
// them out: `ctr run -d --null-io` of an image pulled with --plain-http from
// the rig registry, in the `default` namespace, and kubelet-style ones
// (namespace k8s.io, a 64-hex ID, --cgroup /kubepods/besteffort/pod<uid>/<id>).
// Our own small copy of test/support/containerd.ts (that module asserts with
// vitest's expect); every ctr call is bounded by a timeout. Whatever is made
// here is remembered, so cleanup removes it: containers (task killed first),
// the pod cgroup directories runc leaves, and the images we pulled.

import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { ctr, type RigContainerd, type RigContainerdPart } from '../../test/support/rig.js';

import type { BenchImage } from './images.js';

async function ctrOk(c: RigContainerd, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await ctr(c, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

// The pid of a running task, from `ctr tasks ls` (TASK PID STATUS).
async function taskPid(c: RigContainerd, ns: string, id: string): Promise<number> {
  const out = await ctrOk(c, ['-n', ns, 'tasks', 'ls'], 30_000);
  const fields = out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === id);
  const pid = Number.parseInt(fields?.[1] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || fields?.[2] !== 'RUNNING')
    throw new Error(`containerd ${c.version}: task ${id} (namespace ${ns}) is not running: ${out.trim()}`);
  return pid;
}

// runc removes a container's cgroup, not the pod's parent a --cgroup path
// made: remove that in every hierarchy (cgroup v1: one per controller).
function removePodCgroup(podPath: string): void {
  for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
    try {
      rmdirSync(join('/sys/fs/cgroup', h, podPath));
    } catch {
      // not in this hierarchy
    }
  }
}

export interface CtrdContainer {
  readonly part: RigContainerdPart;
  readonly namespace: string;
  readonly id: string;
  readonly pid: number;
  readonly image: BenchImage;
  // kubelet-style: the pod's cgroup path (without the leading slash).
  readonly pod?: string;
}

export class CtrdFixtures {
  readonly #run: string;
  readonly #containers: Array<{ c: RigContainerd; ns: string; id: string }> = [];
  readonly #pods: string[] = [];
  readonly #images: Array<{ c: RigContainerd; ns: string; ref: string }> = [];

  constructor(run: string) {
    this.#run = run;
  }

  // Pulls `image` (pushed and signed in the rig registry) into one namespace.
  async pull(c: RigContainerd, ns: string, image: BenchImage): Promise<void> {
    this.#images.push({ c, ns, ref: image.tag });
    await ctrOk(c, ['-n', ns, 'images', 'pull', '--plain-http', image.tag]);
  }

  // `ctr run -d --null-io` of busybox sleep, in the `default` namespace (or
  // another one). IDs carry the run and the instance: runc's state is shared
  // by both instances.
  async run(part: RigContainerdPart, c: RigContainerd, ns: string, image: BenchImage, name: string): Promise<CtrdContainer> {
    const id = `ssa-bench-${this.#run}-${part}-${name}`;
    this.#containers.push({ c, ns, id });
    await ctrOk(c, ['-n', ns, 'run', '-d', '--null-io', '--label', `ssa-bench.run=${this.#run}`, image.tag, id, 'sleep', '1800']);
    return { part, namespace: ns, id, pid: await taskPid(c, ns, id), image };
  }

  // As the kubelet (CRI) lays a container out: namespace k8s.io, a 64-hex ID,
  // the cgroup /kubepods/besteffort/pod<uid>/<id>.
  async kubelet(part: RigContainerdPart, c: RigContainerd, image: BenchImage): Promise<CtrdContainer> {
    const ns = 'k8s.io';
    const id = randomBytes(32).toString('hex');
    const pod = `kubepods/besteffort/pod${randomUUID()}`;
    this.#containers.push({ c, ns, id });
    this.#pods.push(pod);
    await ctrOk(c, [
      '-n',
      ns,
      'run',
      '-d',
      '--null-io',
      '--cgroup',
      `/${pod}/${id}`,
      '--label',
      `ssa-bench.run=${this.#run}`,
      '--label',
      'io.kubernetes.pod.namespace=ssa-bench',
      image.tag,
      id,
      'sleep',
      '1800',
    ]);
    return { part, namespace: ns, id, pid: await taskPid(c, ns, id), image, pod };
  }

  // Every container (task killed first), pod cgroup and image we made.
  async cleanup(): Promise<{ containers: number; podCgroups: number; images: number; failures: string[] }> {
    const failures: string[] = [];
    const containers = this.#containers.splice(0);
    for (const { c, ns, id } of containers) {
      // --force kills a running task first; a task that never started is no error.
      await ctr(c, ['-n', ns, 'tasks', 'delete', '--force', id], { timeoutMs: 30_000 }).catch(() => undefined);
      const r = await ctr(c, ['-n', ns, 'containers', 'delete', id], { timeoutMs: 30_000 }).catch((e: unknown) => ({ code: -1, stderr: String(e) }));
      if (r.code !== 0 && !/not found/i.test(r.stderr)) failures.push(`containers delete ${id} (${c.version}, ${ns}): ${r.stderr.trim()}`);
    }
    const pods = this.#pods.splice(0);
    for (const pod of pods) removePodCgroup(pod);
    const images = this.#images.splice(0);
    const byTarget = new Map<string, { c: RigContainerd; ns: string; refs: Set<string> }>();
    for (const { c, ns, ref } of images) {
      const k = `${c.socket} ${ns}`;
      const e = byTarget.get(k) ?? { c, ns, refs: new Set<string>() };
      e.refs.add(ref);
      byTarget.set(k, e);
    }
    let removed = 0;
    for (const { c, ns, refs } of byTarget.values()) {
      const all = [...refs];
      for (let i = 0; i < all.length; i += 50) {
        const batch = all.slice(i, i + 50);
        const r = await ctr(c, ['-n', ns, 'images', 'rm', ...batch], { timeoutMs: 60_000 }).catch((e: unknown) => ({ code: -1, stderr: String(e) }));
        if (r.code !== 0) failures.push(`images rm (${c.version}, ${ns}): ${r.stderr.trim()}`);
        else removed += batch.length;
      }
    }
    return { containers: containers.length, podCgroups: pods.length, images: removed, failures };
  }
}
