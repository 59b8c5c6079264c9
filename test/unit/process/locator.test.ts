// The attestor's PID -> container step: the checks of locate.ts, with the
// conclusions drawn from a cgroup text remembered, but every file read on
// every call.

import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { ContainerLocator, locateInText } from '../../../src/process/index.js';
import { codeThrown } from '../../support/errors.js';
import { ID_A, ID_B, lines } from './fixtures.js';

import type { Located, ProcReader } from '../../../src/process/index.js';

const WORKLOAD = 901;
const INIT_PID = 900;

// /proc as a map; every cgroup read counted. A process started at tick 1
// unless `starts` says otherwise.
function mapProc(files: Map<number, string>, starts = new Map<number, string>()): ProcReader & { reads: number } {
  const cgroupOf = (pid: number): string => {
    const text = files.get(pid);
    if (text === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
    return text;
  };
  return {
    reads: 0,
    readCgroup(pid: number): string {
      this.reads++;
      return cgroupOf(pid);
    },
    readStartTime(pid: number): string {
      cgroupOf(pid);
      return starts.get(pid) ?? '1';
    },
  };
}

function container(located: Located): Extract<Located, { kind: 'container' }> {
  if (located.kind !== 'container') throw new Error(`expected a container, got ${located.kind}`);
  return located;
}

describe('ContainerLocator', () => {
  it('finds what locateContainer finds, reading the file on every call', () => {
    const text = lines(`0::/system.slice/docker-${ID_A}.scope`);
    const files = new Map([[WORKLOAD, text]]);
    const proc = mapProc(files);
    const locator = new ContainerLocator(proc, []);
    expect(locator.locate(WORKLOAD)).toEqual(locateInText(WORKLOAD, text));
    expect(locator.locate(WORKLOAD)).toEqual(locateInText(WORKLOAD, text));
    expect(proc.reads).toBe(2);
    // The process moved: the new text decides.
    files.set(WORKLOAD, lines(`0::/docker/${ID_B}`));
    expect(container(locator.locate(WORKLOAD)).match.id).toBe(ID_B);
    files.set(WORKLOAD, lines('0::/init.scope'));
    expect(locator.locate(WORKLOAD)).toEqual({ kind: 'host' });
    files.delete(WORKLOAD);
    expect(codeThrown(() => locator.locate(WORKLOAD))).toBe('PID_GONE');
    expect(codeThrown(() => locator.locate(0))).toBe('PID_INVALID');
  });

  it('gives errors every time, never a remembered answer for a bad text', () => {
    const files = new Map([[WORKLOAD, lines(`1:name=systemd:/docker/${ID_A}`, `0::/docker/${ID_B}`)]]);
    const locator = new ContainerLocator(mapProc(files), []);
    for (let i = 0; i < 2; i++) expect(codeThrown(() => locator.locate(WORKLOAD))).toBe('CONTAINER_AMBIGUOUS');
  });

  it('confirms a workload cgroup against a first process once, then checks that process on every call; a pair once confirmed does not vouch for another', () => {
    const scope = lines(`0::/system.slice/docker-${ID_A}.scope`);
    const files = new Map([
      [WORKLOAD, scope],
      [INIT_PID, scope],
    ]);
    const starts = new Map([[INIT_PID, '10']]);
    const proc = mapProc(files, starts);
    const locator = new ContainerLocator(proc, []);
    const located = container(locator.locate(WORKLOAD));
    const init = locator.initProcess(INIT_PID);
    locator.confirmInContainer(WORKLOAD, located, init);
    locator.confirmInContainer(WORKLOAD, located, init);
    // The workload's file once per locate; the first process's once.
    expect(proc.reads).toBe(2);
    // The container stopped, its PID reused by a process elsewhere.
    files.set(INIT_PID, lines('0::/user.slice/user-1000.slice/session-2.scope'));
    starts.set(INIT_PID, '20');
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, init))).toBe('CONTAINER_NOT_FOUND');
    // Known by its own start time, that process is not in the container.
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, locator.initProcess(INIT_PID)))).toBe('CONTAINER_NOT_FOUND');
    files.delete(INIT_PID);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, init))).toBe('PID_GONE');
    // A forged cgroup named after the container under another subtree.
    files.set(INIT_PID, scope);
    starts.set(INIT_PID, '10');
    const forged = container(locator.locate(WORKLOAD));
    files.set(WORKLOAD, lines(`0::/user.slice/user-1000.slice/${ID_A}`));
    const forgedLocated = container(locator.locate(WORKLOAD));
    expect(forgedLocated.match.id).toBe(ID_A);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, forgedLocated, init))).toBe('CONTAINER_NOT_FOUND');
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, forged, init))).toBeUndefined();
  });

  it('knows the first process by its start time: another process given its PID, in the same cgroup, vouches for nothing', () => {
    const scope = lines(`0::/default/app`);
    const files = new Map([
      [WORKLOAD, scope],
      [INIT_PID, scope],
    ]);
    const starts = new Map([[INIT_PID, '4242']]);
    const locator = new ContainerLocator(mapProc(files, starts), ['default']);
    const located = container(locator.locate(WORKLOAD));
    const init = locator.initProcess(INIT_PID);
    expect(init).toEqual({ pid: INIT_PID, startTime: '4242' });
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, init))).toBeUndefined();
    // The container was deleted and another created under the same ID
    // (containerd: the caller names it); its PID went to a process there.
    starts.set(INIT_PID, '5000');
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, init))).toBe('CONTAINER_NOT_FOUND');
    // The new first process, known by its own start time, is confirmed.
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, locator.initProcess(INIT_PID)))).toBeUndefined();
    files.delete(INIT_PID);
    expect(codeThrown(() => locator.initProcess(INIT_PID))).toBe('PID_GONE');
  });

  it('checks long texts every time too (they are not remembered, but answered the same)', () => {
    const deep = `0::/${Array.from({ length: 1000 }, (_, i) => `s${i}`).join('/')}/docker-${ID_A}.scope`;
    const files = new Map([
      [WORKLOAD, lines(deep)],
      [INIT_PID, lines(deep)],
    ]);
    const locator = new ContainerLocator(mapProc(files), []);
    const located = container(locator.locate(WORKLOAD));
    const init = locator.initProcess(INIT_PID);
    expect(located.match.id).toBe(ID_A);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, init))).toBeUndefined();
    // Located anew on every call: confirmed anew against the first process.
    files.set(INIT_PID, lines(`0::/docker/${ID_B}`));
    const again = container(locator.locate(WORKLOAD));
    expect(again).not.toBe(located);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, again, init))).toBe('CONTAINER_NOT_FOUND');
  });

  it('PID-reuse guard: the workload must still be in the cgroup it was found in, and the first process still the same', () => {
    const text = lines(`0::/docker/${ID_A}`);
    const files = new Map([
      [WORKLOAD, text],
      [INIT_PID, text],
    ]);
    const starts = new Map([[INIT_PID, '10']]);
    const locator = new ContainerLocator(mapProc(files, starts), []);
    const located = container(locator.locate(WORKLOAD));
    const init = locator.initProcess(INIT_PID);
    expect(codeThrown(() => locator.confirmSame(WORKLOAD, located, init))).toBeUndefined();
    // A container ID given to a new container: the same cgroup text, another first process.
    starts.set(INIT_PID, '20');
    expect(codeThrown(() => locator.confirmSame(WORKLOAD, located, init))).toBe('CONTAINER_NOT_FOUND');
    starts.set(INIT_PID, '10');
    files.set(WORKLOAD, lines(`0::/docker/${ID_B}`));
    expect(codeThrown(() => locator.confirmSame(WORKLOAD, located, init))).toBe('PID_REUSED');
  });
});
