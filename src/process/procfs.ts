// The only code in the attestor that reads /proc. Everything else gets a
// ProcReader, so tests can point it at a fixture tree.
//
// Only /proc/<pid>/cgroup and /proc/<pid>/stat are read; see cgroup.ts for
// why mountinfo is not.

import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { AttestorError, messageOf } from '../errors.js';
import { MAX_CGROUP_BYTES } from './cgroup.js';

export interface ProcReader {
  /**
   * The text of `<root>/<pid>/cgroup`, at most MAX_CGROUP_BYTES bytes.
   * Synchronous: procfs is kernel memory, and the warm attestation path
   * answers without waiting on anything (see readCapped).
   */
  readCgroup(pid: number): string;
  /**
   * The start time of process `pid` (field 22 of `<root>/<pid>/stat`, clock
   * ticks after boot, as digits): with the PID, it names one process for
   * the life of the system, where a PID alone is reused once it exits.
   */
  readStartTime(pid: number): string;
}

// /proc/<pid>/stat is one line of 52 fields, the longest a 64-byte command
// name and 50 numbers of at most 20 digits.
const MAX_STAT_BYTES = 4096;
const START_TIME_FIELD = 22;

/**
 * Throws AttestorError('PID_INVALID') unless `pid` is a positive safe integer.
 * (AttestRequest.pid is an int32, so 0 and negatives do reach us.)
 */
export function assertValidPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new AttestorError('PID_INVALID', `invalid pid ${String(pid)}: must be a positive integer`);
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code: unknown = err.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function mapReadError(pid: number, file: string, err: unknown): AttestorError {
  const code = errnoCode(err);
  // ESRCH: the process exited between open() and read().
  if (code === 'ENOENT' || code === 'ESRCH') {
    return new AttestorError('PID_GONE', `process ${pid} no longer exists`, { cause: err });
  }
  const reason = messageOf(err);
  return new AttestorError('PROC_UNREADABLE', `cannot read ${file}: ${reason}`, { cause: err });
}

// One buffer for every read: reads are synchronous, so never shared.
let scratch: Buffer | undefined;

/**
 * Read at most `limit + 1` bytes of a file. procfs files report size 0, so
 * this reads until EOF rather than trusting stat(). Synchronous on purpose:
 * procfs is served from kernel memory (no disk), and a synchronous read costs
 * ~20 us where the thread-pool round trips of fs/promises cost ~250 us on the
 * hot path of every attestation.
 */
function readCapped(file: string, limit: number): Buffer {
  if (scratch === undefined || scratch.length < limit + 1) scratch = Buffer.allocUnsafe(limit + 1);
  const buf = scratch;
  const fd = openSync(file, 'r');
  try {
    let filled = 0;
    while (filled < limit + 1) {
      const bytesRead = readSync(fd, buf, filled, limit + 1 - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    // Copy out: the scratch buffer is reused by the next read.
    return Buffer.from(buf.subarray(0, filled));
  } finally {
    closeSync(fd);
  }
}

// The text of `<root>/<pid>/<name>`, refused past `limit` bytes.
function readProcFile(root: string, pid: number, name: string, limit: number): string {
  assertValidPid(pid);
  const file = join(root, String(pid), name);
  let data: Buffer;
  try {
    data = readCapped(file, limit);
  } catch (err) {
    throw mapReadError(pid, file, err);
  }
  if (data.length > limit) {
    throw new AttestorError('PROC_UNREADABLE', `${file} is larger than ${limit} bytes; refusing to read it`);
  }
  return data.toString('utf8');
}

/**
 * Field 22 (starttime) of a /proc/<pid>/stat line. The command name (field
 * 2, in parentheses) may hold spaces and parentheses itself: the fields
 * counted are those after its last `)`.
 */
export function startTimeOfStat(pid: number, text: string): string {
  const nameEnd = text.lastIndexOf(')');
  if (nameEnd >= 0) {
    // After the name: field 3 (state) onwards.
    const fields = text
      .slice(nameEnd + 1)
      .trim()
      .split(' ');
    const value = fields[START_TIME_FIELD - 3];
    if (value !== undefined && /^[0-9]{1,20}$/.test(value)) return value;
  }
  throw new AttestorError('PROC_UNREADABLE', `cannot read the start time of process ${pid}: unexpected /proc/${pid}/stat`);
}

/** A ProcReader over a procfs mount (`/proc`) or a fixture tree laid out like one. */
export function createProcReader(root = '/proc'): ProcReader {
  return {
    readCgroup: (pid) => readProcFile(root, pid, 'cgroup', MAX_CGROUP_BYTES),
    readStartTime: (pid) => startTimeOfStat(pid, readProcFile(root, pid, 'stat', MAX_STAT_BYTES)),
  };
}
