// Smoke test of the test rig itself (test/env/up.sh): every part answers.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { removeContainer, removePodCgroup, taskPid } from '../support/containerd.js';
import { ctr, describeWithRig, docker, run, type RigContainerd, type RigContainerdPart } from '../support/rig.js';

describeWithRig('rig: docker', ['docker'], (rig) => {
  it('runs the busybox image without network', async () => {
    const r = await docker(rig, ['run', '--rm', '--network', 'none', rig.busyboxImage, 'echo', 'hi']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi\n');
  });

  it('passes stdin through', async () => {
    const r = await docker(rig, ['run', '--rm', '-i', '--network', 'none', rig.busyboxImage, 'cat'], {
      input: 'from stdin',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('from stdin');
  });
});

describeWithRig('rig: registry', ['registry'], (rig) => {
  it('answers the OCI distribution /v2/ endpoint on loopback', async () => {
    expect(rig.registry).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${rig.registry}/v2/`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
  });
});

describeWithRig('rig: spire', ['spire'], (rig) => {
  for (const which of ['spireAgent', 'spireServer'] as const) {
    it(`${which} prints version 1.15.3`, async () => {
      const r = await run(rig[which], ['--version'], { timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      // spire prints its version on stderr
      expect(r.stdout + r.stderr).toContain('1.15.3');
    });
  }
});

describeWithRig('rig: cosign', ['cosign'], (rig) => {
  it('prints its version', async () => {
    const r = await run(rig.cosign ?? 'cosign', ['version'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/GitVersion:\s+v\d+\.\d+\.\d+/);
  });
});

describeWithRig('rig: podman', ['podman'], (rig) => {
  it('runs the busybox image through the Docker-compatible API of the podman service', async () => {
    const host = `unix://${rig.podmanSocket ?? ''}`;
    const r = await run('docker', ['-H', host, 'run', '--rm', '--network', 'none', rig.busyboxImage, 'echo', 'hi-podman'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi-podman\n');
  });
});

// /proc/PID/cgroup lines; every hierarchy (v1 controllers and the v2 "0::" line) shows the container's path.
function expectCgroup(pid: number, path: string): void {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(/^\d+:[^:]*:/);
  expect(lines.map((l) => l.replace(/^\d+:[^:]*:/, ''))).toEqual(lines.map(() => path));
}

for (const part of ['containerd', 'containerd2'] as const satisfies readonly RigContainerdPart[]) {
  describeWithRig(`rig: ${part}`, [part, 'registry'], (rig) => {
    const c = rig[part] as RigContainerd;
    const image = rig.registryBusyboxImage ?? '';
    const expectedMajor = part === 'containerd' ? '1.' : '2.';

    it(`is containerd ${expectedMajor}x with its own ctr`, async () => {
      expect(c.version.startsWith(expectedMajor)).toBe(true);
      const r = await ctr(c, ['version']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Version:  ${part === 'containerd2' ? 'v' : ''}${c.version}`);
    });

    it('pulls from the rig registry and runs a container in cgroup /default/<id>, with a bind mount', async () => {
      const pull = await ctr(c, ['images', 'pull', '--plain-http', image]);
      expect(pull.stderr.replace(/^.*DEPRECATION.*cgroup v1.*\n/gm, '')).toBe('');
      expect(pull.code).toBe(0);
      const id = `ssa-rig-${part}-${randomBytes(4).toString('hex')}`;
      const host = mkdtempSync(join(tmpdir(), 'ssa-rig-ctr-'));
      try {
        const r = await ctr(c, [
          'run',
          '-d',
          '--null-io',
          '--mount',
          `type=bind,src=${host},dst=/host,options=rbind:rw`,
          image,
          id,
          'sh',
          '-c',
          'echo written >/host/out; exec sleep 30',
        ]);
        expect(r.code, r.stderr).toBe(0);
        const pid = await taskPid(c, 'default', id);
        expectCgroup(pid, `/default/${id}`);
        await expect.poll(() => readFileSync(join(host, 'out'), 'utf8'), { timeout: 5_000 }).toBe('written\n');
      } finally {
        await removeContainer(c, 'default', id);
        rmSync(host, { recursive: true, force: true });
      }
      const left = await ctr(c, ['containers', 'ls', '-q']);
      expect(left.stdout.split('\n')).not.toContain(id);
    });

    it('runs a container in namespace k8s.io under a kubepods cgroup (--cgroup), as the kubelet lays them out', async () => {
      const pull = await ctr(c, ['-n', 'k8s.io', 'images', 'pull', '--plain-http', image]);
      expect(pull.code, pull.stderr).toBe(0);
      const id = randomBytes(32).toString('hex');
      const pod = `pod${randomUUID()}`;
      const cgroup = `/kubepods/besteffort/${pod}/${id}`;
      try {
        const r = await ctr(c, ['-n', 'k8s.io', 'run', '-d', '--null-io', '--cgroup', cgroup, image, id, 'sleep', '30']);
        expect(r.code, r.stderr).toBe(0);
        expectCgroup(await taskPid(c, 'k8s.io', id), cgroup);
      } finally {
        await removeContainer(c, 'k8s.io', id);
        removePodCgroup(`kubepods/besteffort/${pod}`);
      }
    });
  });
}
