import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { MAX_CGROUP_BYTES } from '../../../src/process/cgroup.js';
import { assertValidPid, createProcReader, startTimeOfStat } from '../../../src/process/procfs.js';
import { codeThrown } from '../../support/errors.js';
import { ID_A, lines, procFixtureTree } from './fixtures.js';

const tree = procFixtureTree('ssa-procfs-');
const fixture = tree.writeCgroup;

describe('createProcReader', () => {
  it('reads <root>/<pid>/cgroup', async () => {
    const text = lines(`0::/system.slice/docker-${ID_A}.scope`);
    await fixture(4242, text);
    expect(createProcReader(tree.root()).readCgroup(4242)).toBe(text);
  });

  it('reads a file of exactly the cap', async () => {
    const text = `0::/${'a'.repeat(MAX_CGROUP_BYTES - 5)}\n`;
    await fixture(7, text);
    expect(createProcReader(tree.root()).readCgroup(7)).toHaveLength(MAX_CGROUP_BYTES);
  });

  it('refuses a file over the cap', async () => {
    await fixture(7, Buffer.alloc(MAX_CGROUP_BYTES + 1, 0x61));
    const read = (): string => createProcReader(tree.root()).readCgroup(7);
    expect(read).toThrow(/larger than 65536 bytes/);
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(7))).toBe('PROC_UNREADABLE');
  });

  it('refuses a much larger file without reading it all', async () => {
    await fixture(8, Buffer.alloc(16 * 1024 * 1024, 0x61));
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(8))).toBe('PROC_UNREADABLE');
  });

  it('maps a missing process to PID_GONE', async () => {
    const read = (): string => createProcReader(tree.root()).readCgroup(99999);
    expect(read).toThrow('process 99999 no longer exists');
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(99999))).toBe('PID_GONE');
  });

  it('maps a process directory without a cgroup file to PID_GONE', async () => {
    await mkdir(join(tree.root(), '55'));
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(55))).toBe('PID_GONE');
  });

  it('maps an unreadable cgroup file to PROC_UNREADABLE', async () => {
    // We run as root, so chmod 000 would not stop the read: a directory where
    // the file should be (EISDIR) does.
    await mkdir(join(tree.root(), '66', 'cgroup'), { recursive: true });
    const read = (): string => createProcReader(tree.root()).readCgroup(66);
    expect(read).toThrow(/^cannot read .*66\/cgroup: /);
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(66))).toBe('PROC_UNREADABLE');
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects pid %s', async (pid) => {
    expect(codeThrown(() => createProcReader(tree.root()).readCgroup(pid))).toBe('PID_INVALID');
    expect(() => assertValidPid(pid)).toThrow(AttestorError);
  });

  it('reads the real /proc/self/cgroup of the test process', async () => {
    const text = createProcReader().readCgroup(process.pid);
    expect(text.length).toBeGreaterThan(0);
    expect(text).toMatch(/^\d+:[^:\n]*:\//);
  });
});

// A /proc/<pid>/stat line with `comm` and, as field 22, `start`.
const statLine = (pid: number, comm: string, start: string): string =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 ${start} 2998272 395 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

describe('start time (field 22 of /proc/<pid>/stat)', () => {
  it('reads it from <root>/<pid>/stat', async () => {
    await mkdir(join(tree.root(), '4243'), { recursive: true });
    await writeFile(join(tree.root(), '4243', 'stat'), statLine(4243, 'sleep', '3683402'));
    expect(createProcReader(tree.root()).readStartTime(4243)).toBe('3683402');
  });

  it('counts fields after the last parenthesis: a command name may hold spaces and parentheses', () => {
    expect(startTimeOfStat(9, statLine(9, 'a) R 1 2 (b', '77'))).toBe('77');
    expect(startTimeOfStat(9, statLine(9, ') ) )', '78'))).toBe('78');
  });

  it.each([
    ['no command name', '9 sleep S 1 2 3'],
    ['too few fields', '9 (sleep) S 1 2 3\n'],
    ['not a number', statLine(9, 'sleep', '12x')],
    ['empty', ''],
  ])('refuses a stat line with %s (PROC_UNREADABLE)', (_, text) => {
    expect(codeThrown(() => startTimeOfStat(9, text))).toBe('PROC_UNREADABLE');
  });

  it('maps a missing process to PID_GONE', () => {
    expect(codeThrown(() => createProcReader(tree.root()).readStartTime(99998))).toBe('PID_GONE');
  });

  it('tells two real processes apart, and is the same for one process on every read', async () => {
    const proc = createProcReader();
    const self = proc.readStartTime(process.pid);
    expect(self).toMatch(/^[0-9]+$/);
    expect(proc.readStartTime(process.pid)).toBe(self);
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? -1;
      expect(Number(proc.readStartTime(pid))).toBeGreaterThan(Number(self));
    } finally {
      child.kill();
    }
  });
});
