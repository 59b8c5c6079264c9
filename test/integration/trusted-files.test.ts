// A trust file named in the configuration that does not exist yet, under a
// sticky world-writable directory: a local user races to create it between
// the plugin's check and its read. The plugin must never load their key.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { readTrustedFile } from '../../src/util/trusted-path.js';
import { describeAsRoot } from '../support/rig.js';

const RACE_MS = 3_000;

describeAsRoot('trust files: a file planted between check and read is never read', () => {
  let shared = '';
  beforeAll(() => {
    shared = mkdtempSync(join(tmpdir(), 'ssa-race-'));
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, 'attacker.pub'), 'attacker key', { mode: 0o644 });
  });
  afterAll(() => rmSync(shared, { recursive: true, force: true }));

  it(`reads nothing of the attacker's in ${RACE_MS} ms of racing`, async () => {
    const dir = join(shared, 'keys');
    const script = `end=$(($(date +%s) + ${Math.ceil(RACE_MS / 1000)})); while [ $(date +%s) -lt $end ]; do mkdir -p "$1" && cp "$2" "$1/key.pem"; rm -f "$1/key.pem"; rmdir "$1" 2>/dev/null; done`;
    const attacker = spawn(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', 'sh', '-c', script, 'race', dir, join(shared, 'attacker.pub')],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => attacker.on('exit', resolve));
    const outcomes: Record<string, number> = {};
    const until = Date.now() + RACE_MS;
    for (let i = 0; i < 200_000 && Date.now() < until; i++) {
      const read = readTrustedFile(join(dir, 'key.pem'), 1024);
      const what = read.ok ? `read: ${read.bytes.toString()}` : read.problem;
      outcomes[what] = (outcomes[what] ?? 0) + 1;
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await exited;
    expect(Object.keys(outcomes).filter((k) => k.startsWith('read:'))).toEqual([]);
    // The race did happen: the file was there (and refused) some of the time.
    expect(outcomes['untrusted'] ?? 0).toBeGreaterThan(0);
  });
});
