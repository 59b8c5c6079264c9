// checkTrustedPath against a real file tree, with entries owned by another
// uid (nobody) the way a local attacker would leave them. Needs root (chown).

import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { checkTrustedPath, readTrustedFile } from '../../../src/util/trusted-path.js';
import { describeAsRoot } from '../../support/rig.js';

import type { Server } from 'node:net';

const NOBODY = 65534;

describeAsRoot('checkTrustedPath over a tree with entries owned by nobody', () => {
  let dir: string;
  let server: Server;
  const at = (...parts: string[]): string => join(dir, ...parts);
  const reason = (path: string, kind: Parameters<typeof checkTrustedPath>[1]['kind'], extra: object = {}): string => {
    const result = checkTrustedPath(path, { kind, ...extra });
    return result.ok ? 'ok' : result.reason;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssa-trusted-'));
    chmodSync(dir, 0o755);
    mkdirSync(at('safe'), { mode: 0o755 });
    writeFileSync(at('safe', 'key.pem'), 'k', { mode: 0o644 });
    writeFileSync(at('safe', 'open.pem'), 'k');
    chmodSync(at('safe', 'open.pem'), 0o666);
    writeFileSync(at('safe', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    // A directory others can write to.
    mkdirSync(at('shared'));
    chmodSync(at('shared'), 0o777);
    writeFileSync(at('shared', 'key.pem'), 'k', { mode: 0o644 });
    // A sticky world-writable directory (like /tmp) with entries of both owners.
    mkdirSync(at('sticky'));
    chmodSync(at('sticky'), 0o1777);
    writeFileSync(at('sticky', 'root.pem'), 'k', { mode: 0o644 });
    writeFileSync(at('sticky', 'planted.pem'), 'k', { mode: 0o644 });
    chownSync(at('sticky', 'planted.pem'), NOBODY, NOBODY);
    mkdirSync(at('sticky', 'mine'), { mode: 0o755 });
    mkdirSync(at('sticky', 'theirs'), { mode: 0o755 });
    chownSync(at('sticky', 'theirs'), NOBODY, NOBODY);
    writeFileSync(at('sticky', 'theirs', 'key.pem'), 'k', { mode: 0o644 });
    // Symlinks: a root-owned one into safe/, one into shared/, one owned by nobody.
    symlinkSync(at('safe', 'key.pem'), at('safe', 'link.pem'));
    symlinkSync(at('shared', 'key.pem'), at('safe', 'to-shared.pem'));
    symlinkSync(at('safe', 'key.pem'), at('sticky', 'their-link.pem'));
    lchownSync(at('sticky', 'their-link.pem'), NOBODY, NOBODY);
    symlinkSync('../safe/key.pem', at('safe', 'relative.pem'));
    symlinkSync(at('safe', 'loop'), at('safe', 'loop'));
    // A private cache directory and one that is not private.
    mkdirSync(at('private'), { mode: 0o700 });
    mkdirSync(at('not-private'), { mode: 0o755 });
    // A socket.
    server = createServer();
    await new Promise<void>((ok) => server.listen(at('safe', 'api.sock'), ok));
    chmodSync(at('safe', 'api.sock'), 0o666);
  });

  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts root-owned entries in root-owned directories, through root-owned symlinks', () => {
    expect(reason(at('safe', 'key.pem'), 'file')).toBe('ok');
    expect(reason(at('safe', 'link.pem'), 'file')).toBe('ok');
    expect(reason(at('safe', 'relative.pem'), 'file')).toBe('ok');
    expect(checkTrustedPath(at('safe', 'link.pem'), { kind: 'file' })).toEqual({ ok: true, realPath: at('safe', 'key.pem') });
    expect(reason(at('safe', 'tool'), 'executable')).toBe('ok');
    expect(reason(at('safe', 'api.sock'), 'socket')).toBe('ok');
    expect(reason(at('sticky', 'root.pem'), 'file')).toBe('ok');
    expect(reason(at('private'), 'directory', { private: true })).toBe('ok');
  });

  it('refuses what another user can change', () => {
    expect(reason(at('safe', 'open.pem'), 'file')).toMatch(/open\.pem can be modified by others .*mode 0666/);
    expect(reason(at('shared', 'key.pem'), 'file')).toMatch(/directory .*shared can be modified by others/);
    expect(reason(at('safe', 'to-shared.pem'), 'file')).toMatch(/directory .*shared can be modified by others/);
    expect(reason(at('sticky', 'planted.pem'), 'file')).toMatch(/planted\.pem is owned by uid 65534/);
    expect(reason(at('sticky', 'theirs', 'key.pem'), 'file')).toMatch(/theirs is owned by uid 65534/);
    expect(reason(at('sticky', 'their-link.pem'), 'file')).toMatch(/their-link\.pem is owned by uid 65534/);
    expect(reason(at('not-private'), 'directory', { private: true })).toMatch(/accessible to others \(mode 0755\)/);
    expect(reason(at('sticky'), 'directory')).toMatch(/sticky can be modified by others/);
  });

  it('refuses the wrong kind of entry, missing entries and symlink loops', () => {
    expect(reason(at('safe', 'key.pem'), 'directory')).toMatch(/is not a directory/);
    expect(reason(at('safe', 'key.pem'), 'socket')).toMatch(/is not a socket/);
    expect(reason(at('safe', 'key.pem'), 'executable')).toMatch(/is not an executable file/);
    expect(reason(at('safe', 'key.pem', 'x'), 'file')).toMatch(/key\.pem is not a directory/);
    expect(reason(at('safe', 'missing.pem'), 'file')).toMatch(/missing\.pem does not exist/);
    expect(reason(at('safe', 'loop'), 'file')).toMatch(/too many symbolic links/);
  });

  it('checks what a path ending in .. names, not only /', () => {
    // Not path.join: it would fold the `..` away before the check sees it.
    expect(reason(`${at('sticky', 'mine')}/..`, 'directory')).toMatch(/sticky can be modified by others/);
    expect(reason(`${at('safe')}/..`, 'directory', { private: true })).toMatch(/accessible to others/);
    expect(reason(`${at('safe', 'link.pem')}/..`, 'directory')).toMatch(/is not a directory/);
  });

  it('reads a trusted file, and never one that is missing, planted or others can change', () => {
    const ok = readTrustedFile(at('safe', 'key.pem'), 1024);
    expect(ok.ok && ok.bytes.toString()).toBe('k');
    expect(readTrustedFile(at('safe', 'missing.pem'), 1024)).toMatchObject({ ok: false, problem: 'missing' });
    expect(readTrustedFile(at('sticky', 'planted.pem'), 1024)).toMatchObject({ ok: false, problem: 'untrusted' });
    expect(readTrustedFile(at('safe', 'open.pem'), 1024)).toMatchObject({ ok: false, problem: 'untrusted' });
    expect(readTrustedFile(at('safe', 'key.pem'), 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/larger than 0 bytes/) });
  });

  it('trusts entries of the given uid as well as root', () => {
    expect(reason(at('sticky', 'planted.pem'), 'file', { trustedUid: NOBODY })).toBe('ok');
    expect(reason(at('private'), 'directory', { private: true, trustedUid: NOBODY })).toMatch(/owned by uid 0, not by uid 65534/);
  });
});
