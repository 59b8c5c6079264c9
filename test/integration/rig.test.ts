// Smoke test of the test rig itself (test/env/up.sh): every part answers.

import { expect, it } from 'vitest';
import { describeWithRig, docker, run } from '../support/rig.js';

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
