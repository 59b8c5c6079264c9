// The sweep of socket directories that killed plugins left behind: removes
// exactly the dead ones of ours, nothing that could belong to anyone else.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createSocketLocation } from '../../../src/plugin/handshake.js';
import { sweepStaleSocketDirs } from '../../../src/plugin/stale-sockets.js';

const DEAD = 999_999_999;
const isAlive = (pid: number): boolean => pid !== DEAD;

let parent: string;
const servers: Server[] = [];

beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'ssa-sweep-'));
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  rmSync(parent, { recursive: true, force: true });
});

// A socket file at `path`: listening (a live plugin) or not (a killed one's).
async function socketAt(path: string, listening: boolean): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  if (listening) {
    servers.push(server);
    return;
  }
  // close() unlinks the file; a killed process leaves it: a child that
  // listens and then SIGKILLs itself.
  await new Promise((r) => server.close(r));
  const script = `require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`;
  const child = spawnSync(process.execPath, ['-e', script, path], { timeout: 10_000 });
  if (child.signal !== 'SIGKILL' || !existsSync(path)) throw new Error(`could not leave a socket at ${path}: ${child.stderr.toString()}`);
}

async function pluginDir(name: string, socket: 'dead' | 'live' | 'none' = 'dead', mode = 0o700): Promise<string> {
  const dir = join(parent, name);
  mkdirSync(dir);
  chmodSync(dir, mode);
  if (socket !== 'none') await socketAt(join(dir, 'plugin.sock'), socket === 'live');
  return dir;
}

describe('sweepStaleSocketDirs', () => {
  it('removes the directory and socket of a dead plugin, and an empty one', async () => {
    const dead = await pluginDir(`ssa-plugin-${DEAD}-Ab12Cd`);
    const empty = await pluginDir(`ssa-plugin-${DEAD}-zzzzzz`, 'none');
    const r = await sweepStaleSocketDirs(parent, { isAlive });
    expect(r.removed.sort()).toEqual([dead, empty].sort());
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(empty)).toBe(false);
  });

  it('keeps what could be anyone else’s, or alive', async () => {
    const kept = {
      alive: await pluginDir(`ssa-plugin-${process.ppid}-aaaaaa`),
      listening: await pluginDir(`ssa-plugin-${DEAD}-bbbbbb`, 'live'),
      mode: await pluginDir(`ssa-plugin-${DEAD}-cccccc`, 'dead', 0o755),
      oldName: await pluginDir('ssa-plugin-dddddd'),
      otherName: await pluginDir(`other-${DEAD}-eeeeee`),
    };
    const extra = await pluginDir(`ssa-plugin-${DEAD}-ffffff`);
    writeFileSync(join(extra, 'note'), 'x');
    const notSocket = await pluginDir(`ssa-plugin-${DEAD}-gggggg`, 'none');
    writeFileSync(join(notSocket, 'plugin.sock'), 'not a socket');
    // A symlink with our name to a directory that looks stale: never followed.
    const target = await pluginDir(`target-${DEAD}-hhhhhh`);
    const link = join(parent, `ssa-plugin-${DEAD}-iiiiii`);
    symlinkSync(target, link);
    const file = join(parent, `ssa-plugin-${DEAD}-jjjjjj`);
    writeFileSync(file, '');

    const r = await sweepStaleSocketDirs(parent, { isAlive });
    expect(r.removed).toEqual([]);
    for (const path of [...Object.values(kept), extra, notSocket, target, link, file]) expect(existsSync(path)).toBe(true);
    expect(existsSync(join(target, 'plugin.sock'))).toBe(true);
    const reasons = Object.fromEntries(r.kept.map((k) => [k.dir, k.reason]));
    expect(reasons[kept.alive]).toBe('owner process alive');
    expect(reasons[kept.listening]).toBe('socket not refusing connections');
    expect(reasons[kept.mode]).toBe('not mode 0700');
    expect(reasons[extra]).toBe('holds other files');
    expect(reasons[notSocket]).toBe('plugin.sock is not a socket');
    expect(reasons[link]).toBe('not a directory');
  });

  it.runIf(process.getuid?.() === 0)('keeps the directory of another user', async () => {
    const dir = await pluginDir(`ssa-plugin-${DEAD}-kkkkkk`);
    chownSync(dir, 65534, 65534);
    const r = await sweepStaleSocketDirs(parent, { isAlive });
    expect(r.removed).toEqual([]);
    expect(r.kept).toEqual([{ dir, reason: 'another owner' }]);
  });

  it('never removes the socket directory of the running plugin itself', async () => {
    const location = createSocketLocation({ PLUGIN_UNIX_SOCKET_DIR: parent });
    expect(location.parent).toBe(parent);
    expect(location.dir).toMatch(new RegExp(`/ssa-plugin-${process.pid}-[A-Za-z0-9]{6}$`));
    await socketAt(location.path, false);
    const r = await sweepStaleSocketDirs(parent, { isAlive: (pid) => pid !== process.pid });
    expect(r.kept).toEqual([{ dir: location.dir, reason: 'ours' }]);
  });
});
