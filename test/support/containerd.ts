// Running containers in one of the rig's containerd instances with its own
// ctr, as ctr users and (with --cgroup) the kubelet lay them out; and pods in
// the CRI instance with crictl, as the kubelet itself does.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { crictl, ctr } from './rig.js';

import type { RigContainerd, RigContainerdCri } from './rig.js';

export async function ctrOk(c: RigContainerd, args: string[], input?: string): Promise<string> {
  const r = await ctr(c, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

// The pid of a running task, from `ctr tasks ls` (TASK PID STATUS).
export async function taskPid(c: RigContainerd, ns: string, id: string): Promise<number> {
  const r = await ctr(c, ['-n', ns, 'tasks', 'ls']);
  expect(r.code).toBe(0);
  const row = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
  const pid = Number.parseInt(row?.split(/\s+/)[1] ?? '', 10);
  expect(pid, `task ${id} in ${r.stdout}`).toBeGreaterThan(0);
  return pid;
}

// Starts `args` detached in a new container and returns its task's pid.
export async function runDetached(c: RigContainerd, ns: string, image: string, id: string, args: string[], options: string[] = []): Promise<number> {
  await ctrOk(c, ['-n', ns, 'run', '-d', '--null-io', ...options, image, id, ...args]);
  return taskPid(c, ns, id);
}

export async function removeContainer(c: RigContainerd, ns: string, id: string): Promise<void> {
  // --force kills a running task first.
  await ctr(c, ['-n', ns, 'tasks', 'delete', '--force', id]);
  await ctr(c, ['-n', ns, 'containers', 'delete', id]);
}

// runc removes a container's cgroup, not the pod's parent a --cgroup path
// made: remove that in every hierarchy.
export function removePodCgroup(podPath: string): void {
  for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
    try {
      rmdirSync(join('/sys/fs/cgroup', h, podPath));
    } catch {
      // not in this hierarchy
    }
  }
}

export async function crictlOk(c: RigContainerdCri, args: string[]): Promise<string> {
  const r = await crictl(c, args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`crictl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

// `crictl inspect` (a container), `inspectp` (a pod sandbox) or `inspecti` (an image) as JSON.
export async function crictlInspect(c: RigContainerdCri, what: 'inspect' | 'inspectp' | 'inspecti', id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await crictlOk(c, [what, '-o', 'json', id])) as Record<string, unknown>;
}

// The pid of a running container's or pod sandbox's first process (info.pid).
export async function crictlPid(c: RigContainerdCri, what: 'inspect' | 'inspectp', id: string): Promise<number> {
  const info = (await crictlInspect(c, what, id))['info'] as { pid?: unknown } | undefined;
  const pid = info?.pid;
  expect(pid, `${what} ${id}: info.pid`).toBeGreaterThan(0);
  return pid as number;
}

/** A pod the kubelet's way, in the rig's CRI instance (see KubeletPods). */
export interface KubeletPod {
  uid: string;
  /** The pod sandbox ID. */
  id: string;
  /** Its cgroup parent, without the leading slash (for removePodCgroup). */
  cgroup: string;
  /** The pod config file (crictl create needs it again). */
  config: string;
  namespace: string;
  name: string;
}

/**
 * Pods and containers made with crictl the way the kubelet makes them:
 * pod config with the kubelet's labels, host network (the rig has no CNI),
 * cgroupfs parent /kubepods/besteffort/pod<uid>; containers whose
 * image.image is what the kubelet passes (the image ID, sha256:<config>,
 * with the name the pod spec gave as user_specified_image). Config files go
 * to `dir`. remove() stops and removes every pod made here, with its
 * containers and its pod cgroup.
 */
export class KubeletPods {
  private readonly pods: KubeletPod[] = [];

  constructor(
    private readonly c: RigContainerdCri,
    private readonly dir: string,
  ) {}

  async runPod(namespace: string, name: string): Promise<KubeletPod> {
    const uid = randomUUID();
    const cgroup = `kubepods/besteffort/pod${uid}`;
    const logs = join(this.dir, 'logs', uid);
    mkdirSync(logs, { recursive: true });
    const config = join(this.dir, `pod-${uid}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        metadata: { name, namespace, uid, attempt: 0 },
        log_directory: logs,
        labels: { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': namespace, 'io.kubernetes.pod.uid': uid },
        linux: { cgroup_parent: `/${cgroup}`, security_context: { namespace_options: NAMESPACES } },
      }),
    );
    const id = await crictlOk(this.c, ['runp', config]);
    const pod = { uid, id, cgroup, config, namespace, name };
    this.pods.push(pod);
    return pod;
  }

  // Creates and starts container `name` running `command` from the image
  // with ID `imageId` (sha256:...) that the pod spec named `image`; returns its ID.
  async startContainer(pod: KubeletPod, name: string, imageId: string, image: string, command: string[]): Promise<string> {
    const config = join(this.dir, `ctr-${pod.uid}-${name}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        metadata: { name, attempt: 0 },
        image: { image: imageId, user_specified_image: image },
        command,
        log_path: `${name}/0.log`,
        labels: {
          'io.kubernetes.container.name': name,
          'io.kubernetes.pod.name': pod.name,
          'io.kubernetes.pod.namespace': pod.namespace,
          'io.kubernetes.pod.uid': pod.uid,
        },
        linux: { resources: { cpu_shares: 2, oom_score_adj: 1000 }, security_context: { namespace_options: NAMESPACES } },
      }),
    );
    const id = await crictlOk(this.c, ['create', pod.id, config, pod.config]);
    await crictlOk(this.c, ['start', id]);
    return id;
  }

  async remove(): Promise<void> {
    for (const pod of this.pods.splice(0)) {
      await crictl(this.c, ['stopp', pod.id]);
      await crictl(this.c, ['rmp', '-f', pod.id]);
      removePodCgroup(pod.cgroup);
    }
  }
}

// CRI NamespaceOption: network NODE (2; no CNI here), pid CONTAINER (1), ipc POD (0).
const NAMESPACES = { network: 2, pid: 1, ipc: 0 };
