// The PID -> container step as the attestor runs it: the checks of
// locate.ts, with what they concluded from a cgroup text remembered. The
// files are read on every call (a process can move or exit at any time);
// only parsing and matching a text already seen is skipped, so a warm
// attestation costs its reads and two map lookups.

import { BoundedMap } from '../util/bounded-map.js';
import { confirmInInitText, confirmSameCgroup, locateInText } from './locate.js';
import { assertValidPid } from './procfs.js';

import type { Located } from './locate.js';
import type { ProcReader } from './procfs.js';

// Distinct cgroup texts remembered: one per container (and one per
// container and first process for the confirmation) on a busy node.
// Texts longer than this (real ones are a few hundred bytes) are checked
// every time, so that the memos stay small whatever a workload's cgroup
// paths look like.
const MEMO_ENTRIES = 4096;
const MEMO_MAX_TEXT = 4096;

type ContainerLocated = Extract<Located, { kind: 'container' }>;

export class ContainerLocator {
  readonly #proc: ProcReader;
  readonly #namespaces: readonly string[];
  readonly #located = new BoundedMap<string, Located>(MEMO_ENTRIES);
  // "<workload text>\0<init text>" pairs found to be the same container.
  readonly #confirmed = new BoundedMap<string, true>(MEMO_ENTRIES);

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

  // The workload shares the cgroup of the container's first process
  // (confirmInContainerCgroup()); throws CONTAINER_NOT_FOUND when not.
  confirmInContainer(pid: number, located: ContainerLocated, initPid: number): void {
    assertValidPid(pid);
    assertValidPid(initPid);
    const initText = this.#proc.readCgroup(initPid);
    const memo = located.cgroupText.length + initText.length <= MEMO_MAX_TEXT;
    const pair = memo ? `${located.cgroupText}\0${initText}` : '';
    if (memo && this.#confirmed.get(pair)) return;
    confirmInInitText(pid, located, initPid, initText, this.#namespaces);
    if (memo) this.#confirmed.set(pair, true);
  }

  // The PID-reuse guard after lookups that waited (confirmSameCgroup()).
  confirmSame(pid: number, located: ContainerLocated): void {
    confirmSameCgroup(pid, this.#proc, located.cgroupText);
  }
}
