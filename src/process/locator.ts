// The PID -> container step as the attestor runs it: the checks of
// locate.ts, with what they concluded from a cgroup text remembered. The
// files are read on every call (a process can move or exit at any time);
// only parsing and matching a text already seen is skipped, so a warm
// attestation costs its reads, a map lookup and a string comparison.

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

export class ContainerLocator {
  readonly #proc: ProcReader;
  readonly #namespaces: readonly string[];
  readonly #located = new BoundedMap<string, Located>(MEMO_ENTRIES);
  // Per located workload cgroup, the first process's cgroup text last found
  // to be the same container (dropped with the located object).
  readonly #confirmed = new WeakMap<ContainerLocated, string>();

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
    if (this.#confirmed.get(located) === initText) return;
    confirmInInitText(pid, located, initPid, initText, this.#namespaces);
    if (initText.length <= MEMO_MAX_TEXT) this.#confirmed.set(located, initText);
  }

  // The PID-reuse guard after lookups that waited (confirmSameCgroup()).
  confirmSame(pid: number, located: ContainerLocated): void {
    confirmSameCgroup(pid, this.#proc, located.cgroupText);
  }
}
