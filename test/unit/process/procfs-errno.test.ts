// Errors that cannot be produced with a real file tree when running as root
// (EACCES, EPERM) or only by racing a process exit (ESRCH): inject them.

import { afterEach, describe, expect, it, vi } from 'vitest';

import { AttestorError } from '../../../src/errors.js';

import type * as fs from 'node:fs';

const openMock = vi.hoisted(() => ({ error: undefined as NodeJS.ErrnoException | undefined }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    openSync: (...args: Parameters<typeof real.openSync>) => {
      if (openMock.error !== undefined) throw openMock.error;
      return real.openSync(...args);
    },
  };
});

const { createProcReader } = await import('../../../src/process/procfs.js');

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

afterEach(() => {
  openMock.error = undefined;
});

describe('createProcReader errno mapping', () => {
  it.each([
    ['ENOENT', 'PID_GONE'],
    ['ESRCH', 'PID_GONE'],
    ['EACCES', 'PROC_UNREADABLE'],
    ['EPERM', 'PROC_UNREADABLE'],
    ['EIO', 'PROC_UNREADABLE'],
  ])('%s -> %s', async (code, expected) => {
    openMock.error = errno(code);
    let err: unknown;
    try {
      createProcReader('/nonexistent-root').readCgroup(123);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AttestorError);
    expect((err as AttestorError).code).toBe(expected);
    expect((err as AttestorError).cause).toBe(openMock.error);
  });
});
