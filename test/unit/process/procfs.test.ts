import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { MAX_CGROUP_BYTES } from '../../../src/process/cgroup.js';
import { assertValidPid, createProcReader } from '../../../src/process/procfs.js';
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
