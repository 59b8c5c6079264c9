// vitest globalSetup: make sure the integration-test rig runs before any
// test file is collected, by running `test/env/up.sh --no-install` (starts
// daemons that are installed and built; never installs or builds).
//
// It never fails the run: if up.sh fails, its stderr is printed and the
// tests that need a missing part skip (or fail in CI) with the reason, via
// describeWithRig in ./rig.ts. The daemons are left running afterwards
// (test/env/down.sh stops them).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const UP_SH = fileURLToPath(new URL('../env/up.sh', import.meta.url));
const TIMEOUT_MS = 120_000;

export default async function setup(): Promise<void> {
  const started = Date.now();
  const { code, stderr, timedOut } = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve) => {
    // Detached: its own process group, so on timeout we kill up.sh and
    // its helpers, but not the daemons (they run in their own sessions).
    const child = spawn('bash', [UP_SH, '--no-install'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let err = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: `${err}\n${e.message}`, timedOut: false });
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stderr: err, timedOut });
    });
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (code === 0) {
    if (process.env['SSA_RIG_VERBOSE'] === '1') process.stderr.write(stderr);
    process.stderr.write(`global-setup: test rig up (${secs} s)\n`);
    return;
  }
  const why = timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : `exited with ${code ?? 'spawn error'}`;
  process.stderr.write(
    `global-setup: test/env/up.sh --no-install ${why}; integration tests needing missing parts will skip ` + `(or fail in CI). Its output:\n${stderr}\n`,
  );
}
