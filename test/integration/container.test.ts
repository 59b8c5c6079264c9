// PID -> container -> image against the real dockerd and Podman API service
// of the rig: main and child processes, host processes, stopped containers,
// local re-tags, env selectors, untrusted socket directories.

import { mkdtempSync, readFileSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { describeWithRig, run, type Rig, type RunResult } from '../support/rig.js';
import { TEST_POLICY } from '../support/policy.js';
import { attestorFailure } from '../support/errors.js';

type Cli = (args: string[], input?: string) => Promise<RunResult>;

async function ok(p: Promise<RunResult>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

async function waitForChild(pid: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const [child] = childPids(pid);
    if (child !== undefined) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`process ${pid} started no child`);
}

const SKIP_LOCAL = `registry "docker.io" { binding = "skip" }\nregistry "localhost" { binding = "skip" }\n${TEST_POLICY}`;

// The same scenarios for Docker and for Podman's Docker-compatible API.
function runtimeSuite(kind: 'docker' | 'podman', rig: Rig): void {
  const endpoint = kind === 'docker' ? rig.dockerHost : `unix://${rig.podmanSocket ?? ''}`;
  const cli: Cli = (args, input) =>
    run('docker', ['-H', endpoint, ...args], {
      timeoutMs: 120_000,
      env: { DOCKER_CONFIG: join(rig.stateDir, 'docker-config') },
      ...(input === undefined ? {} : { input }),
    });
  const tag = `ssa-it-${kind}-${process.pid}`;
  const image = `${tag}:1`;
  const containers: string[] = [];
  // These images are local only (docker.io/... and Podman's localhost/...):
  // binding to a registry is skipped, so no request leaves the machine.
  const config = buildConfig(`${kind}_socket_path = "${endpoint}"\nenv_selectors = ["APP_ENV"]\n${SKIP_LOCAL}`);
  const attestor = createAttestor(config, silentLogger);
  const explain = (pid: number) => attestor.explain(pid, AbortSignal.timeout(20_000));
  let imageId = '';

  async function start(name: string, extra: string[] = [], cmd: string[] = ['sh', '-c', 'sleep 600 & wait']): Promise<{ id: string; pid: number }> {
    const id = await ok(cli(['run', '-d', '--network', 'none', ...extra, '--name', `${tag}-${name}`, image, ...cmd]));
    containers.push(id);
    const pid = Number(await ok(cli(['inspect', '-f', '{{.State.Pid}}', id])));
    return { id, pid };
  }

  beforeAll(async () => {
    await ok(cli(['build', '-q', '-t', image, '-'], `FROM ${rig.busyboxImage}\nLABEL com.example.team=payments\nENV APP_ENV=prod SECRET_TOKEN=hunter2\n`));
    imageId = await ok(cli(['image', 'inspect', '-f', '{{.Id}}', image]));
  }, 180_000);

  afterAll(async () => {
    if (containers.length > 0) await cli(['rm', '-f', ...containers]);
    await cli(['rmi', '-f', image, `${tag}:other`]);
  });

  it('attests the main process and a child process of a container', async () => {
    const { id, pid } = await start('main');
    const report = await explain(pid);
    expect(report.outcome).toBe('container');
    expect(report.container?.id).toBe(id);
    expect(report.container?.runtimeHint).toBe(kind);
    const expected = [
      `env:APP_ENV=prod`,
      `image_config_digest:${imageId}`,
      // Podman qualifies short names (localhost/<name>).
      `image_id:${kind === 'podman' ? `localhost/${image}` : image}`,
      'label:com.example.team:payments',
    ];
    // Podman's builder adds its own label (io.buildah.version).
    const ours = (selectors: readonly string[]) => selectors.filter((s) => !s.startsWith('label:io.buildah.'));
    expect(ours(report.selectors)).toEqual(expected);
    // Secrets in the environment never become selectors unless listed.
    expect(report.selectors.join()).not.toContain('SECRET_TOKEN');

    const child = await waitForChild(pid);
    expect(ours((await explain(child)).selectors)).toEqual(expected);
  });

  it('gives a host process no selectors', async () => {
    expect(await explain(process.pid)).toEqual({ pid: process.pid, outcome: 'host', selectors: [] });
  });

  it("answers quickly and clearly for a stopped container's old PID", async () => {
    const { id, pid } = await start('stopped');
    await ok(cli(['rm', '-f', id]));
    const started = Date.now();
    const err = await attestorFailure(explain(pid));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(['PID_GONE', 'CONTAINER_NOT_FOUND', 'PID_REUSED']).toContain(err.code);
  });

  it('keeps reporting the image a container runs after a local re-tag', async () => {
    const { pid } = await start('retag');
    await ok(cli(['tag', rig.busyboxImage, image]));
    try {
      const report = await explain(pid);
      expect(report.selectors).toContain(`image_config_digest:${imageId}`);
      expect(report.runtime?.image?.id).toBe(imageId);
    } finally {
      await ok(cli(['build', '-q', '-t', image, '-'], `FROM ${rig.busyboxImage}\nLABEL com.example.team=payments\nENV APP_ENV=prod SECRET_TOKEN=hunter2\n`));
    }
  });
}

describeWithRig('container identity via dockerd', ['docker'], (rig) => {
  runtimeSuite('docker', rig);

  describe('runtime socket trust', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ssa-sock-'));
      chmodSync(dir, 0o777);
      symlinkSync(rig.dockerSocket, join(dir, 'docker.sock'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses a socket in a directory other users can write, unless allowed', async () => {
      const pid = Number(
        await ok(
          run('docker', ['-H', rig.dockerHost, 'run', '-d', '--rm', '--network', 'none', rig.busyboxImage, 'sleep', '60'], { timeoutMs: 60_000 }).then(
            async (r) => ({
              ...r,
              stdout: (await run('docker', ['-H', rig.dockerHost, 'inspect', '-f', '{{.State.Pid}}', r.stdout.trim()])).stdout,
            }),
          ),
        ),
      );
      const refused = createAttestor(buildConfig(`docker_socket_path = "unix://${join(dir, 'docker.sock')}"\n${SKIP_LOCAL}`), silentLogger);
      const err = await attestorFailure(refused.explain(pid, AbortSignal.timeout(10_000)));
      expect(err.code).toBe('RUNTIME_REFUSED');
      expect(err.message).toContain('allow_untrusted_socket_dir');

      const allowed = createAttestor(
        buildConfig(`docker_socket_path = "unix://${join(dir, 'docker.sock')}"\nallow_untrusted_socket_dir = true\n${SKIP_LOCAL}`),
        silentLogger,
      );
      expect((await allowed.explain(pid, AbortSignal.timeout(10_000))).outcome).toBe('container');
    });
  });
});

describeWithRig('container identity via the Podman API', ['podman'], (rig) => {
  runtimeSuite('podman', rig);
});
