import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { confirmInContainerCgroup, confirmSameCgroup, createProcReader, locateContainer } from '../../../src/process/index.js';
import type { Located, ProcReader } from '../../../src/process/index.js';
import { codeThrown } from '../../support/errors.js';
import { ID_A, ID_B, POD_UID_US, lines, procFixtureTree } from './fixtures.js';

/** An in-memory ProcReader: missing PIDs behave like exited processes. */
function memoryProc(files: Record<number, string>): ProcReader {
  const cgroupOf = (pid: number): string => {
    const text = files[pid];
    if (text === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
    return text;
  };
  return { readCgroup: cgroupOf, readStartTime: (pid) => (cgroupOf(pid), '1') };
}

function asContainer(located: Located): Extract<Located, { kind: 'container' }> {
  if (located.kind !== 'container') throw new Error(`expected a container, got ${located.kind}`);
  return located;
}

const tree = procFixtureTree('ssa-locate-');
const writeCgroup = tree.writeCgroup;

describe('locateContainer', () => {
  it('finds the container of a process in a fixture tree', async () => {
    const text = lines(`0::/system.slice/docker-${ID_A}.scope`);
    await writeCgroup(1234, text);
    expect(locateContainer(1234, createProcReader(tree.root()))).toEqual({
      kind: 'container',
      match: { id: ID_A, runtimeHint: 'docker', path: `/system.slice/docker-${ID_A}.scope` },
      cgroupText: text,
    });
  });

  it('reports a host process as host', async () => {
    await writeCgroup(1, lines('0::/init.scope'));
    expect(locateContainer(1, createProcReader(tree.root()))).toEqual({ kind: 'host' });
  });

  it('propagates PID_GONE for a missing process', async () => {
    expect(codeThrown(() => locateContainer(31337, createProcReader(tree.root())))).toBe('PID_GONE');
  });

  it.each([0, -5, 2.5])('rejects pid %s before reading anything', async (pid) => {
    const proc: ProcReader = {
      readCgroup: () => {
        throw new Error('must not be called');
      },
      readStartTime: () => {
        throw new Error('must not be called');
      },
    };
    expect(codeThrown(() => locateContainer(pid, proc))).toBe('PID_INVALID');
  });

  it('names the file in parse errors', async () => {
    const located = (): unknown => locateContainer(77, memoryProc({ 77: 'not a cgroup file\n' }));
    expect(located).toThrow('/proc/77/cgroup: malformed cgroup line 1: "not a cgroup file"');
    expect(codeThrown(() => locateContainer(77, memoryProc({ 77: 'x' })))).toBe('PROC_UNREADABLE');
  });

  it('names the file in ambiguity errors', async () => {
    const proc = memoryProc({ 88: lines(`1:name=systemd:/docker/${ID_A}`, `0::/docker/${ID_B}`) });
    expect(() => locateContainer(88, proc)).toThrow(`multiple container IDs in /proc/88/cgroup: "${ID_A}", "${ID_B}"`);
    expect(codeThrown(() => locateContainer(88, proc))).toBe('CONTAINER_AMBIGUOUS');
  });

  it('does not throw on the real /proc/self/cgroup of the test process', async () => {
    const located = locateContainer(process.pid, createProcReader());
    // On a developer machine this is 'host'; CI may itself run in a container.
    if (located.kind === 'container') {
      expect(located.match.id).toMatch(/^[0-9a-f]{64}$/);
    } else {
      expect(located).toEqual({ kind: 'host' });
    }
  });
});

describe('confirmSameCgroup', () => {
  it('passes when the cgroup file is unchanged', async () => {
    await writeCgroup(500, lines(`0::/docker/${ID_A}`));
    const proc = createProcReader(tree.root());
    const located = asContainer(locateContainer(500, proc));
    expect(confirmSameCgroup(500, proc, located.cgroupText)).toBeUndefined();
  });

  it('detects PID reuse: the process now lives in another cgroup', async () => {
    await writeCgroup(500, lines(`0::/docker/${ID_A}`));
    const proc = createProcReader(tree.root());
    const located = asContainer(locateContainer(500, proc));
    // ... runtime lookups happen; the process exits, PID 500 is reused ...
    await writeCgroup(500, lines('0::/user.slice/user-1000.slice/session-2.scope'));
    expect(() => confirmSameCgroup(500, proc, located.cgroupText)).toThrow('process 500 changed cgroup during attestation (exited and PID reused?)');
    expect(codeThrown(() => confirmSameCgroup(500, proc, located.cgroupText))).toBe('PID_REUSED');
  });

  it('detects a move into another container', async () => {
    await writeCgroup(501, lines(`0::/docker/${ID_A}`));
    const proc = createProcReader(tree.root());
    const located = asContainer(locateContainer(501, proc));
    await writeCgroup(501, lines(`0::/docker/${ID_B}`));
    expect(codeThrown(() => confirmSameCgroup(501, proc, located.cgroupText))).toBe('PID_REUSED');
  });

  it('reports PID_GONE when the process exited', async () => {
    await writeCgroup(502, lines(`0::/docker/${ID_A}`));
    const proc = createProcReader(tree.root());
    const located = asContainer(locateContainer(502, proc));
    await rm(join(tree.root(), '502'), { recursive: true });
    expect(codeThrown(() => confirmSameCgroup(502, proc, located.cgroupText))).toBe('PID_GONE');
  });
});

describe('confirmInContainerCgroup', () => {
  const INIT = 900;
  const WORKLOAD = 901;

  function check(workload: string, init: string | undefined): string | undefined {
    const files: Record<number, string> = { [WORKLOAD]: workload };
    if (init !== undefined) files[INIT] = init;
    const proc = memoryProc(files);
    const located = asContainer(locateContainer(WORKLOAD, proc));
    return codeThrown(() => confirmInContainerCgroup(WORKLOAD, located, INIT, proc));
  }

  it.each([
    ['docker systemd, same scope', `0::/system.slice/docker-${ID_A}.scope`, `0::/system.slice/docker-${ID_A}.scope`],
    [
      'podman with systemd inside: different sub-cgroups of the same container',
      `0::/machine.slice/libpod-${ID_A}.scope/container/system.slice/app.service`,
      `0::/machine.slice/libpod-${ID_A}.scope/container/init.scope`,
    ],
    [
      'cgroup v1 docker, every hierarchy',
      lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/docker/${ID_A}`, '0::/'),
      lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/docker/${ID_A}`, '0::/'),
    ],
    [
      'kubernetes containerd',
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`,
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID_US}.slice/cri-containerd-${ID_A}.scope`,
    ],
  ])('accepts: %s', async (_name, workload, init) => {
    expect(check(workload, init)).toBeUndefined();
  });

  it.each([
    [
      'host user forges a cgroup named after a container (systemd delegation)',
      `0::/user.slice/user-1000.slice/user@1000.service/app.slice/${ID_A}`,
      `0::/system.slice/docker-${ID_A}.scope`,
    ],
    [
      'container forges a nested cgroup named after another container',
      `0::/system.slice/docker-${ID_B}.scope/docker-${ID_A}.scope`,
      `0::/system.slice/docker-${ID_A}.scope`,
    ],
    ['init PID belongs to another container', `0::/system.slice/docker-${ID_A}.scope`, `0::/system.slice/docker-${ID_B}.scope`],
    ['init PID is a host process', `0::/docker/${ID_A}`, '0::/init.scope'],
    [
      'one v1 hierarchy outside the container',
      lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/user.slice/evil/docker/${ID_A}`),
      lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/docker/${ID_A}`),
    ],
    ['init lacks the hierarchy', lines(`12:pids:/docker/${ID_A}`, `1:name=systemd:/docker/${ID_A}`), lines(`1:name=systemd:/docker/${ID_A}`)],
  ])('rejects: %s', async (_name, workload, init) => {
    expect(check(workload, init)).toBe('CONTAINER_NOT_FOUND');
  });

  it('reports PID_GONE when the container init is gone', async () => {
    expect(check(`0::/docker/${ID_A}`, undefined)).toBe('PID_GONE');
  });
});
