// PID -> container: the first step of attestation, plus the guards that run
// after the runtime lookups.

import { AttestorError, isAttestorError } from '../errors.js';
import type { CgroupLine, ContainerMatch } from './cgroup.js';
import { containerCgroupRoot, containerIdFromCgroups, containerIdFromPath, parseCgroupFile } from './cgroup.js';
import type { ProcReader } from './procfs.js';
import { assertValidPid } from './procfs.js';

export type Located = { kind: 'host' } | { kind: 'container'; match: ContainerMatch; cgroupText: string };

function cgroupSource(pid: number): string {
  return `/proc/${pid}/cgroup`;
}

/** Parse, prefixing parse errors with the file they came from. */
function parseFor(pid: number, text: string): CgroupLine[] {
  try {
    return parseCgroupFile(text);
  } catch (err) {
    if (isAttestorError(err)) {
      throw new AttestorError(err.code, `${cgroupSource(pid)}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Which container (if any) process `pid` runs in, from /proc/<pid>/cgroup
 * alone (never mountinfo: the workload controls its mount namespace and could
 * bind-mount a foreign container's cgroup to make mountinfo lie).
 *
 * `host` means no cgroup line names a container; the caller should produce no
 * container selectors for it. Nested containers resolve to the innermost ID.
 * Throws PID_INVALID, PID_GONE, PROC_UNREADABLE or CONTAINER_AMBIGUOUS.
 *
 * `namespaces`: the containerd namespaces served (`/<namespace>/<id>` paths).
 * Keep `cgroupText` and pass it to confirmSameCgroup() after the runtime
 * lookups.
 */
export function locateContainer(pid: number, proc: ProcReader, namespaces: readonly string[] = []): Located {
  assertValidPid(pid);
  return locateInText(pid, proc.readCgroup(pid), namespaces);
}

/** locateContainer() on a cgroup text already read. */
export function locateInText(pid: number, cgroupText: string, namespaces: readonly string[] = []): Located {
  const match = containerIdFromCgroups(parseFor(pid, cgroupText), cgroupSource(pid), namespaces);
  return match === undefined ? { kind: 'host' } : { kind: 'container', match, cgroupText };
}

/**
 * PID-reuse guard. Between locateContainer() and the end of the runtime
 * lookups the process may exit and its PID be given to another process. Re-read
 * the cgroup file: gone -> PID_GONE; different text -> PID_REUSED. A reused PID
 * that lands in exactly the same cgroup is, by construction, in the same
 * container, so it does not change the answer.
 */
export function confirmSameCgroup(pid: number, proc: ProcReader, before: string): void {
  assertValidPid(pid);
  const now = proc.readCgroup(pid);
  if (now !== before) {
    throw new AttestorError('PID_REUSED', `process ${pid} changed cgroup during attestation (exited and PID reused?)`);
  }
}

/**
 * Anti-impersonation guard, for the runtime layer to call once it knows the
 * container's init PID (Docker/podman `State.Pid`, containerd's task PID).
 *
 * A cgroup directory name proves nothing by itself: any process that can
 * create cgroups (systemd user delegation on a plain host, rootless podman,
 * a privileged container) can mkdir a cgroup named after SOME OTHER container's
 * ID and move itself into it. This check requires that, for every hierarchy in
 * which the workload's path names the container, the workload's container
 * cgroup (its path cut after the ID segment) is identical to the one of the
 * container's init process on the same hierarchy. A forged `.../<victim-id>`
 * under the attacker's own subtree has a different prefix and fails.
 *
 * Throws PID_GONE / PROC_UNREADABLE for the init PID, and
 * AttestorError('CONTAINER_NOT_FOUND') when the workload is not in the
 * container's cgroup.
 */
export function confirmInContainerCgroup(
  pid: number,
  located: { match: ContainerMatch; cgroupText: string },
  initPid: number,
  proc: ProcReader,
  namespaces: readonly string[] = [],
): void {
  assertValidPid(pid);
  assertValidPid(initPid);
  confirmInInitText(pid, located, initPid, proc.readCgroup(initPid), namespaces);
}

/** confirmInContainerCgroup() on the init process's cgroup text already read. */
export function confirmInInitText(
  pid: number,
  located: { match: ContainerMatch; cgroupText: string },
  initPid: number,
  initText: string,
  namespaces: readonly string[] = [],
): void {
  const { id } = located.match;
  const workloadLines = parseFor(pid, located.cgroupText);
  const initLines = parseFor(initPid, initText);
  const initRoots = new Map<string, string | undefined>();
  for (const line of initLines) {
    const m = containerIdFromPath(line.path, namespaces);
    initRoots.set(line.hierarchyId, m?.id === id ? containerCgroupRoot(line.path, namespaces) : undefined);
  }

  let compared = 0;
  for (const line of workloadLines) {
    const m = containerIdFromPath(line.path, namespaces);
    if (m?.id !== id) continue;
    const mine = containerCgroupRoot(line.path, namespaces);
    const theirs = initRoots.get(line.hierarchyId);
    if (mine === undefined || theirs === undefined || mine !== theirs) {
      throw new AttestorError(
        'CONTAINER_NOT_FOUND',
        `process ${pid} is not in the cgroup of container "${id}" ` +
          `(hierarchy ${line.hierarchyId}: process in ${JSON.stringify(line.path)}, ` +
          `container init ${initPid} in ${JSON.stringify(theirs ?? '(no such cgroup)')})`,
      );
    }
    compared++;
  }
  if (compared === 0) {
    throw new AttestorError('CONTAINER_NOT_FOUND', `process ${pid} is not in container "${id}"`);
  }
}
