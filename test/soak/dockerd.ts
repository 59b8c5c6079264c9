// A dockerd of the soak's own (socket, data and exec roots in the soak's
// temp dir, no bridge, no iptables, a dead HTTP proxy like the rig's), so
// that restarting it mid-run disturbs nobody else's containers.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { alive } from '../support/processes.js';
import { waitFor } from '../support/spire.js';
import { run } from '../support/rig.js';

const DEAD_PROXY = 'http://127.0.0.1:9';

export interface PrivateDockerd {
  readonly host: string;
  readonly socket: string;
  readonly logFile: string;
  pid(): number;
  // Stops (SIGTERM) and starts it again; resolves with how long it was down.
  restart(): Promise<number>;
  stop(): Promise<void>;
}

export async function startDockerd(dir: string): Promise<PrivateDockerd> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const execRoot = join(dir, 'x');
  const logFile = join(dir, 'dockerd.log');
  let child: ChildProcess | undefined;

  const ok = async (): Promise<boolean> =>
    (await run('docker', ['-H', host, 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).catch(() => undefined))?.code === 0;

  const launch = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    const args = ['--host', host, '--data-root', join(dir, 'data'), '--exec-root', execRoot, '--pidfile', join(dir, 'docker.pid')];
    args.push('--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false');
    const c = spawn('dockerd', args, {
      stdio: ['ignore', log, log],
      env: { ...process.env, HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, NO_PROXY: 'localhost,127.0.0.0/8,::1' },
    });
    closeSync(log);
    child = c;
    await waitFor(
      'private dockerd',
      async () => {
        if (c.exitCode !== null) throw new Error(`dockerd exited (${c.exitCode}); see ${logFile}`);
        return ok();
      },
      60_000,
      250,
    );
  };

  const halt = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    // Its containerd must be gone too before a new dockerd starts.
    let containerd = 0;
    try {
      containerd = Number(readFileSync(join(execRoot, 'containerd', 'containerd.pid'), 'utf8').trim());
    } catch {
      // none yet
    }
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    if (containerd > 0) {
      await waitFor('the private dockerd containerd to exit', () => !alive(containerd), 15_000).catch(() => {
        if (alive(containerd)) process.kill(containerd, 'SIGKILL');
      });
    }
  };

  await launch();
  return {
    host,
    socket,
    logFile,
    pid: () => child?.pid ?? -1,
    restart: async () => {
      const started = Date.now();
      await halt();
      await launch();
      return Date.now() - started;
    },
    stop: halt,
  };
}
