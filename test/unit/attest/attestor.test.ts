// The attestation checklist with hand-written fakes for /proc and the
// runtimes: routing by runtime, fail-closed outcomes.

import { describe, expect, it } from 'vitest';

import { createAttestor } from '../../../src/app/compose.js';
import { buildConfig } from '../../../src/config/build.js';
import { AttestorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';

import type { ProcReader } from '../../../src/process/index.js';
import type { RegistryApi } from '../../../src/registry/types.js';
import type { ContainerFacts, RuntimeClient } from '../../../src/runtime/types.js';
import { TEST_POLICY } from '../../support/policy.js';

const ID = 'c'.repeat(64);
const IMAGE = `sha256:${'d'.repeat(64)}`;

function proc(files: Record<number, string | (() => string)>): ProcReader {
  return {
    async readCgroup(pid) {
      const f = files[pid];
      if (f === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
      return typeof f === 'function' ? f() : f;
    },
  };
}

function runtime(kind: 'docker' | 'podman', facts: Partial<ContainerFacts> | undefined): RuntimeClient & { used: number } {
  return {
    kind,
    endpoint: `unix:///${kind}.sock`,
    used: 0,
    async inspectContainer(id) {
      this.used++;
      if (!facts) return undefined;
      return { id, imageId: IMAGE, imageRef: 'app:1', labels: {}, env: [], running: true, initPid: 100, ...facts };
    },
    async inspectImage(id) {
      return { id, repoDigests: [], repoTags: [], os: 'linux', architecture: 'amd64' };
    },
  };
}

// app:1 is docker.io/library/app: binding skipped, so no registry is needed
// (the binding rules have their own tests).
const config = buildConfig(`registry "docker.io" { binding = "skip" }\n${TEST_POLICY}`);
const noSocketCheck = async () => undefined;
const registry: RegistryApi = {
  resolve: () => Promise.reject(new Error('registry must not be called')),
  getManifest: () => Promise.reject(new Error('registry must not be called')),
  referrers: () => Promise.reject(new Error('registry must not be called')),
  getBlob: () => Promise.reject(new Error('registry must not be called')),
};

describe('PipelineAttestor', () => {
  it('routes a docker cgroup to the Docker API and returns its selectors', async () => {
    const docker = runtime('docker', {});
    const podman = runtime('podman', {});
    const line = `0::/system.slice/docker-${ID}.scope\n`;
    const a = createAttestor(config, silentLogger, { proc: proc({ 7: line, 100: line }), docker, podman, checkSocket: noSocketCheck, registry });
    expect(await a.attest(7, AbortSignal.timeout(1_000))).toEqual([`image_config_digest:${IMAGE}`, 'image_id:app:1']);
    expect([docker.used, podman.used]).toEqual([1, 0]);
  });

  it('routes a libpod cgroup to the Podman API', async () => {
    const docker = runtime('docker', {});
    const podman = runtime('podman', {});
    const line = `0::/libpod_parent/libpod-${ID}\n`;
    const a = createAttestor(config, silentLogger, { proc: proc({ 7: line, 100: line }), docker, podman, checkSocket: noSocketCheck, registry });
    await a.attest(7, AbortSignal.timeout(1_000));
    expect([docker.used, podman.used]).toEqual([0, 1]);
  });

  it('gives containerd and CRI-O containers no selectors (not served yet)', async () => {
    const docker = runtime('docker', {});
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: `0::/system.slice/cri-containerd-${ID}.scope\n` }),
      docker,
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    expect(await a.explain(7, AbortSignal.timeout(1_000))).toMatchObject({ outcome: 'unsupported-runtime', selectors: [] });
    expect(docker.used).toBe(0);
  });

  it('fails when the workload is not in the cgroup of the container it names', async () => {
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: `0::/user.slice/user-1000.slice/${ID}\n`, 100: `0::/system.slice/docker-${ID}.scope\n` }),
      docker: runtime('docker', {}),
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    await expect(a.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('fails when the PID changes cgroup during the lookups', async () => {
    let reads = 0;
    const line = `0::/docker/${ID}\n`;
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: () => (++reads === 1 ? line : '0::/init.scope\n'), 100: line }),
      docker: runtime('docker', {}),
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    await expect(a.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'PID_REUSED' });
  });

  it('fails for a container that is not running', async () => {
    const line = `0::/docker/${ID}\n`;
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: line }),
      docker: runtime('docker', { running: false, initPid: 0 }),
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    await expect(a.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('fails when the runtime socket is refused, before asking the runtime', async () => {
    const docker = runtime('docker', {});
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: `0::/docker/${ID}\n` }),
      docker,
      podman: runtime('podman', {}),
      registry,
      checkSocket: async () => {
        throw new AttestorError('RUNTIME_REFUSED', 'refused');
      },
    });
    await expect(a.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'RUNTIME_REFUSED' });
    expect(docker.used).toBe(0);
  });
});
