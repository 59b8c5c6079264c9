// The attestation checklist with hand-written fakes for /proc and the
// runtimes: routing by runtime, fail-closed outcomes.

import { describe, expect, it } from 'vitest';

import { createAttestor } from '../../../src/app/compose.js';
import { buildConfig } from '../../../src/config/build.js';
import { AttestorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';

import type { ProcReader } from '../../../src/process/index.js';
import type { RegistryApi } from '../../../src/registry/types.js';
import type { ContainerFacts, ContainerKey, RuntimeClient } from '../../../src/runtime/types.js';
import { TEST_POLICY } from '../../support/policy.js';

const ID = 'c'.repeat(64);
const IMAGE = `sha256:${'d'.repeat(64)}`;

// /proc as a map (pid -> cgroup text); every process started at tick 1
// unless `starts` says otherwise.
function proc(files: Record<number, string | (() => string)>, starts: Record<number, string> = {}): ProcReader {
  const cgroupOf = (pid: number): string => {
    const f = files[pid];
    if (f === undefined) throw new AttestorError('PID_GONE', `process ${pid} no longer exists`);
    return typeof f === 'function' ? f() : f;
  };
  return {
    readCgroup: cgroupOf,
    readStartTime(pid) {
      cgroupOf(pid);
      return starts[pid] ?? '1';
    },
  };
}

function runtime(kind: RuntimeClient['kind'], facts: Partial<ContainerFacts> | undefined): RuntimeClient & { used: number; keys: ContainerKey[] } {
  return {
    kind,
    endpoint: `unix:///${kind}.sock`,
    used: 0,
    keys: [],
    async inspect(key) {
      const { id } = key;
      this.used++;
      this.keys.push(key);
      if (!facts) return undefined;
      return {
        container: { id, imageId: IMAGE, imageRef: 'app:1', labels: {}, env: [], running: true, initPid: 100, ...facts },
        image: { id: IMAGE, repoDigests: [], repoTags: [], os: 'linux', architecture: 'amd64' },
      };
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

  it('gives CRI-O containers, and containerd ones when its socket is not there, no selectors at once', async () => {
    for (const line of [
      `0::/system.slice/cri-containerd-${ID}.scope\n`,
      `0::/system.slice/crio-${ID}.scope\n`,
      '0::/default/app\n',
      `0::/kubepods/pod1/${ID}\n`,
    ]) {
      const docker = runtime('docker', {});
      const containerd = runtime('containerd', {});
      const a = createAttestor(config, silentLogger, {
        proc: proc({ 7: line }),
        docker,
        podman: runtime('podman', {}),
        containerd,
        checkSocket: noSocketCheck,
        socketPresent: () => false,
        registry,
      });
      expect(await a.explain(7, AbortSignal.timeout(1_000))).toMatchObject({ outcome: 'unsupported-runtime', selectors: [] });
      expect([docker.used, containerd.used]).toEqual([0, 0]);
    }
  });

  it('routes containerd forms to containerd, with the namespace a /<namespace>/<id> path names', async () => {
    for (const [line, key] of [
      ['0::/default/app', { id: 'app', namespace: 'default' }],
      [`0::/system.slice/nerdctl-${ID}.scope`, { id: ID }],
      [`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-${ID}.scope`, { id: ID }],
    ] as const) {
      const docker = runtime('docker', {});
      const containerd = runtime('containerd', {});
      const a = createAttestor(config, silentLogger, {
        proc: proc({ 7: `${line}\n`, 100: `${line}\n` }),
        docker,
        podman: runtime('podman', {}),
        containerd,
        checkSocket: noSocketCheck,
        socketPresent: () => true,
        registry,
      });
      expect(await a.attest(7, AbortSignal.timeout(1_000))).toEqual([`image_config_digest:${IMAGE}`, 'image_id:app:1']);
      expect(containerd.keys).toEqual([key]);
      expect(docker.used).toBe(0);
    }
  });

  it('asks containerd, then Docker, for a kubelet cgroupfs container; only the runtimes whose socket is there', async () => {
    const line = `0::/kubepods/besteffort/pod1/${ID}\n`;
    const attestFor = async (present: (path: string) => boolean, containerdKnows: boolean) => {
      const docker = runtime('docker', {});
      const containerd = runtime('containerd', containerdKnows ? {} : undefined);
      const a = createAttestor(config, silentLogger, {
        proc: proc({ 7: line, 100: line }),
        docker,
        podman: runtime('podman', {}),
        containerd,
        checkSocket: noSocketCheck,
        socketPresent: present,
        registry,
        retry: { delaysMs: [] },
      });
      const report = await a.explain(7, AbortSignal.timeout(1_000));
      return { runtime: report.runtime?.runtime, used: [containerd.used, docker.used] };
    };
    expect(await attestFor(() => true, true)).toEqual({ runtime: 'containerd', used: [1, 0] });
    expect(await attestFor(() => true, false)).toEqual({ runtime: 'docker', used: [1, 1] });
    expect(await attestFor((p) => p === '/docker.sock', true)).toEqual({ runtime: 'docker', used: [0, 1] });
  });

  it('serves no containerd namespace at all with containerd_namespaces = []', async () => {
    const containerd = runtime('containerd', {});
    const a = createAttestor(buildConfig(`containerd_namespaces = []\nregistry "docker.io" { binding = "skip" }\n${TEST_POLICY}`), silentLogger, {
      proc: proc({ 7: `0::/system.slice/cri-containerd-${ID}.scope\n` }),
      docker: runtime('docker', {}),
      podman: runtime('podman', {}),
      containerd,
      checkSocket: noSocketCheck,
      socketPresent: () => true,
      registry,
    });
    expect(await a.explain(7, AbortSignal.timeout(1_000))).toMatchObject({ outcome: 'unsupported-runtime', selectors: [] });
    expect(containerd.used).toBe(0);
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

  it('knows the first process by PID and start time: a new container under the same ID, given that PID, gets its own facts', async () => {
    // containerd lets the caller name a container: one deleted and another
    // created under its ID, with another image, within the 30 s the facts
    // are cached; a process of the new one got the old first PID.
    const line = `0::/docker/${ID}\n`;
    const starts: Record<number, string> = { 100: '10' };
    const facts: { -readonly [K in keyof ContainerFacts]?: ContainerFacts[K] } = { imageRef: 'app:1' };
    const docker = runtime('docker', facts);
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: line, 100: line }, starts),
      docker,
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    expect(await a.attest(7, AbortSignal.timeout(1_000))).toContain('image_id:app:1');
    expect(a.attestNow?.(7)).toContain('image_id:app:1');
    facts.imageRef = 'app:2';
    starts[100] = '20';
    expect(a.attestNow?.(7)).toBeUndefined();
    expect(await a.attest(7, AbortSignal.timeout(1_000))).toContain('image_id:app:2');
    expect(docker.used).toBe(2);
    expect(a.attestNow?.(7)).toContain('image_id:app:2');
  });

  it("fails when the container's first process is replaced during the lookups (its ID given to a new container)", async () => {
    const line = `0::/docker/${ID}\n`;
    let reads = 0;
    const starts = {
      get 100(): string {
        // Read when the facts load and when they are confirmed; then, after
        // the image checks, another process has the PID.
        return ++reads <= 2 ? '10' : '20';
      },
    };
    const a = createAttestor(config, silentLogger, {
      proc: proc({ 7: line, 100: line }, starts),
      docker: runtime('docker', {}),
      podman: runtime('podman', {}),
      checkSocket: noSocketCheck,
      registry,
    });
    await expect(a.attest(7, AbortSignal.timeout(1_000))).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    expect(reads).toBe(3);
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
