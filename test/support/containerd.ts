// Running containers in one of the rig's containerd instances with its own
// ctr, as ctr users and (with --cgroup) the kubelet lay them out.

import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { ctr } from './rig.js';

import type { RigContainerd } from './rig.js';

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
