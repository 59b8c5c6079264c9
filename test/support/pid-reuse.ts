// PID reuse on purpose, for tests of what an attacker could arrange with
// patience: a process given the PID of one that exited (the kernel hands out
// PIDs in order after /proc/sys/kernel/ns_last_pid, which root may set), and
// moved into another process's cgroups (root may write cgroup.procs).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { alive } from './processes.js';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/**
 * Starts `sleep` as PID `pid` (which must be free): sets ns_last_pid just
 * below it and spawns. Another process may take the PID first: tried
 * `attempts` times, each child that got another PID killed.
 */
export async function spawnAsPid(pid: number, attempts = 50): Promise<ChildProcess> {
  if (alive(pid)) throw new Error(`PID ${pid} is in use`);
  for (let i = 0; i < attempts; i++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  throw new Error(`no child got PID ${pid} in ${attempts} attempts (other processes took it first)`);
}

interface CgroupMount {
  // cgroup v1: the controllers (and name=...) it holds; v2: none.
  readonly controllers: readonly string[];
  readonly version: 1 | 2;
  readonly root: string;
  readonly dir: string;
}

function cgroupMounts(): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions = ''] = right.split(' ');
    const root = fields[3] ?? '/';
    const dir = fields[4] ?? '';
    if (fsType === 'cgroup2') mounts.push({ controllers: [], version: 2, root, dir });
    if (fsType === 'cgroup') mounts.push({ controllers: superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro'), version: 1, root, dir });
  }
  return mounts;
}

/** Moves process `pid` into every cgroup that process `of` is in. */
export function moveIntoCgroupsOf(pid: number, of: number): void {
  const mounts = cgroupMounts();
  for (const line of readFileSync(`/proc/${of}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllerList = '', ...rest] = line.split(':');
    const path = rest.join(':');
    const controllers = controllerList === '' ? [] : controllerList.split(',');
    const mount = mounts.find((m) => (controllers.length === 0 ? m.version === 2 : m.version === 1 && controllers.every((c) => m.controllers.includes(c))));
    if (mount === undefined) throw new Error(`no mount of the cgroup hierarchy ${JSON.stringify(controllerList)}`);
    const relative = mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
    writeFileSync(join(mount.dir, relative, 'cgroup.procs'), String(pid));
  }
  const mine = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  if (mine !== readFileSync(`/proc/${of}/cgroup`, 'utf8')) throw new Error(`process ${pid} is not in the cgroups of ${of}:\n${mine}`);
}
