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
const INIT = 900;

// /proc as a map; every read counted.
function mapProc(files: Map<number, string>): ProcReader & { reads: number } {
  return {
    reads: 0,
    readCgroup(pid: number): string {
      this.reads++;
      const text = files.get(pid);
      if (text === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
      return text;
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

  it('compares with the first process on every call: a pair once confirmed does not vouch for another', () => {
    const scope = lines(`0::/system.slice/docker-${ID_A}.scope`);
    const files = new Map([
      [WORKLOAD, scope],
      [INIT, scope],
    ]);
    const proc = mapProc(files);
    const locator = new ContainerLocator(proc, []);
    const located = container(locator.locate(WORKLOAD));
    locator.confirmInContainer(WORKLOAD, located, INIT);
    locator.confirmInContainer(WORKLOAD, located, INIT);
    expect(proc.reads).toBe(3);
    // The first process is now elsewhere (the container stopped, its PID reused).
    files.set(INIT, lines('0::/user.slice/user-1000.slice/session-2.scope'));
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, INIT))).toBe('CONTAINER_NOT_FOUND');
    files.delete(INIT);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, INIT))).toBe('PID_GONE');
    // A forged cgroup named after the container under another subtree.
    files.set(INIT, scope);
    const forged = container(locator.locate(WORKLOAD));
    files.set(WORKLOAD, lines(`0::/user.slice/user-1000.slice/${ID_A}`));
    const forgedLocated = container(locator.locate(WORKLOAD));
    expect(forgedLocated.match.id).toBe(ID_A);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, forgedLocated, INIT))).toBe('CONTAINER_NOT_FOUND');
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, forged, INIT))).toBeUndefined();
  });

  it('checks long texts every time too (they are not remembered, but answered the same)', () => {
    const deep = `0::/${Array.from({ length: 300 }, (_, i) => `s${i}`).join('/')}/docker-${ID_A}.scope`;
    const files = new Map([
      [WORKLOAD, lines(deep)],
      [INIT, lines(deep)],
    ]);
    const locator = new ContainerLocator(mapProc(files), []);
    const located = container(locator.locate(WORKLOAD));
    expect(located.match.id).toBe(ID_A);
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, INIT))).toBeUndefined();
    files.set(INIT, lines(`0::/docker/${ID_B}`));
    expect(codeThrown(() => locator.confirmInContainer(WORKLOAD, located, INIT))).toBe('CONTAINER_NOT_FOUND');
  });

  it('PID-reuse guard: the workload must still be in the cgroup it was found in', () => {
    const text = lines(`0::/docker/${ID_A}`);
    const files = new Map([[WORKLOAD, text]]);
    const locator = new ContainerLocator(mapProc(files), []);
    const located = container(locator.locate(WORKLOAD));
    expect(codeThrown(() => locator.confirmSame(WORKLOAD, located))).toBeUndefined();
    files.set(WORKLOAD, lines(`0::/docker/${ID_B}`));
    expect(codeThrown(() => locator.confirmSame(WORKLOAD, located))).toBe('PID_REUSED');
  });
});
