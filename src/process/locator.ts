// The PID -> container step as the attestor runs it: the checks of
// locate.ts, with what they concluded from a cgroup text remembered. The
// files are read on every call (a process can move or exit at any time);
// only parsing and matching a text already seen is skipped, so a warm
// attestation costs two reads (the workload's cgroup file, the container's
// first process's start time), two map lookups and a string comparison.

import { AttestorError } from '../errors.js';
import { BoundedMap } from '../util/bounded-map.js';
import { confirmInInitText, confirmSameCgroup, locateInText } from './locate.js';
import { assertValidPid } from './procfs.js';

import type { Located } from './locate.js';
import type { ProcReader } from './procfs.js';

// Distinct cgroup texts remembered: about one per container on a busy
// node. Texts longer than this (real ones are a few hundred bytes) are
// checked every time, so that the memo stays small whatever a workload's
// cgroup paths look like.
const MEMO_ENTRIES = 4096;
const MEMO_MAX_TEXT = 4096;

type ContainerLocated = Extract<Located, { kind: 'container' }>;

// A container's first process as the runtime named it: its PID and its
// start time read just after, so that a later call can tell that process
// from another one given the same PID once it exited.
export interface InitProcess {
  readonly pid: number;
  readonly startTime: string;
}

export class ContainerLocator {
  readonly #proc: ProcReader;
  readonly #namespaces: readonly string[];
  readonly #located = new BoundedMap<string, Located>(MEMO_ENTRIES);
  // Per located workload cgroup, the first process last found to be in the
  // same container (dropped with the located object).
  readonly #confirmed = new WeakMap<ContainerLocated, InitProcess>();

  // `namespaces`: the containerd namespaces served (`/<namespace>/<id>`).
  constructor(proc: ProcReader, namespaces: readonly string[]) {
    this.#proc = proc;
    this.#namespaces = namespaces;
  }

  // Which container, if any, `pid` runs in (locateContainer()).
  locate(pid: number): Located {
    assertValidPid(pid);
    const text = this.#proc.readCgroup(pid);
    const known = this.#located.get(text);
    if (known !== undefined) return known;
    const located = locateInText(pid, text, this.#namespaces);
    if (located.kind === 'container') Object.freeze(located.match);
    if (text.length <= MEMO_MAX_TEXT) this.#located.set(text, Object.freeze(located));
    return located;
  }

  // The process `pid` names now, to confirm a container's first process by
  // later (PID_GONE when there is none).
  initProcess(pid: number): InitProcess {
    assertValidPid(pid);
    return { pid, startTime: this.#proc.readStartTime(pid) };
  }

  // The container's first process is still `init`, and the workload shares
  // its cgroup (confirmInContainerCgroup()); throws CONTAINER_NOT_FOUND when
  // not. The start time is read on every call; the cgroup text of `init`
  // when this workload cgroup text was not confirmed against this `init`
  // before, and first: the same start time after it proves the text was
  // that process's. (A process's cgroup changes only by a write to
  // cgroup.procs that needs rights over the container's cgroup; the
  // workload's own text, read on every call, is the one that matters.)
  confirmInContainer(pid: number, located: ContainerLocated, init: InitProcess): void {
    assertValidPid(pid);
    assertValidPid(init.pid);
    const confirmed = this.#confirmed.get(located) === init;
    const initText = confirmed ? undefined : this.#proc.readCgroup(init.pid);
    this.#confirmInit(located, init);
    if (initText === undefined) return;
    confirmInInitText(pid, located, init.pid, initText, this.#namespaces);
    this.#confirmed.set(located, init);
  }

  // The PID-reuse guard after lookups that waited: the workload is in the
  // cgroup it was found in (confirmSameCgroup()), and the container's first
  // process is the one confirmed (a container ID given to a new container
  // meanwhile has the same cgroup path).
  confirmSame(pid: number, located: ContainerLocated, init: InitProcess): void {
    confirmSameCgroup(pid, this.#proc, located.cgroupText);
    this.#confirmInit(located, init);
  }

  #confirmInit(located: ContainerLocated, init: InitProcess): void {
    if (this.#proc.readStartTime(init.pid) !== init.startTime) {
      throw new AttestorError(
        'CONTAINER_NOT_FOUND',
        `the first process of container "${located.match.id}" (PID ${init.pid}) exited; PID ${init.pid} is another process now`,
      );
    }
  }
}
