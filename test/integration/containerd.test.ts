// The whole attestor against the rig's real containerd instances (Debian's
// 1.6 and a 2.x built from source): ctr containers in the default namespace
// and kubelet-style ones (64-hex ID, k8s.io, /kubepods/... cgroup), images
// pulled from the rig registry and signed there with real cosign (legacy
// `.sig` and v3 bundles). Unsigned images get container and binding
// selectors only; an image imported locally under the pushed name gets none
// under `require`; re-pointing the name after the container started changes
// nothing for a plugin that proved the image before, and fails closed for
// one that did not; a stopped container and a host process get none.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { ctrOk, removeContainer, removePodCgroup, runDetached } from '../support/containerd.js';
import { generateKeyPair, signWithKey } from '../support/cosign.js';
import { moveIntoCgroupsOf, spawnAsPid } from '../support/pid-reuse.js';
import { alive } from '../support/processes.js';
import { attestorFailure } from '../support/errors.js';
import { describeWithRig, docker, type Rig, type RigContainerd, type RigContainerdPart } from '../support/rig.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { KeyPair } from '../support/cosign.js';

async function dockerOk(rig: Rig, args: string[], input?: string): Promise<string> {
  const r = await docker(rig, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const signatureSelectors = (r: AttestReport): string[] => r.selectors.filter((s) => s.startsWith('image-signature'));

for (const part of ['containerd', 'containerd2'] as const satisfies readonly RigContainerdPart[]) {
  describeWithRig(`attest containerd containers (${part})`, [part, 'docker', 'registry', 'cosign'], (rig) => {
    const c = rig[part] as RigContainerd;
    const tag = `${part}-${process.pid}`;
    const repo = `${rig.registry}/ssa-ctrd/app-${tag}`;
    const dir = mkdtempSync(join(tmpdir(), 'ssa-ctrd-'));
    const started: { ns: string; id: string }[] = [];
    const pods: string[] = [];
    const digests: Record<string, string> = {};
    const configs: Record<string, string> = {};
    const pids: Record<string, number> = {};
    let key: KeyPair;
    const IMAGES = ['legacy', 'bundle', 'unsigned', 'retag', 'shared', 'twin', 'victim'];

    const config = (extra = ''): string =>
      `containerd_socket_path = "unix://${c.socket}"\nregistry "${rig.registry}" { insecure = true }\n${extra}` +
      `key {\n name = "release"\n path = "${key.publicKey}"\n}\nrequire_tlog = false\noffline = true\npersist_verdicts = false\n`;
    // A fresh attestor each time: nothing cached from an earlier answer.
    const explain = (pid: number, extra = ''): Promise<AttestReport> =>
      createAttestor(buildConfig(config(extra)), silentLogger).explain(pid, AbortSignal.timeout(30_000));

    // Build (a layer of its own, unless `from` names an image whose layers
    // to share), push, and remember digest and config digest of `${repo}:${name}`.
    async function push(name: string, from?: string): Promise<void> {
      const ref = `${repo}:${name}`;
      const dockerfile = from === undefined ? `FROM ${rig.busyboxImage}\nRUN echo ${name}-${tag} >/name\n` : `FROM ${from}\n`;
      await dockerOk(rig, ['build', '-q', '--network', 'none', '-t', ref, '-'], `${dockerfile}LABEL app=${name}-${tag}\n`);
      await dockerOk(rig, ['push', '-q', ref]);
      const repoDigest = await dockerOk(rig, ['image', 'inspect', '-f', '{{index .RepoDigests 0}}', ref]);
      digests[name] = repoDigest.slice(repoDigest.indexOf('@') + 1);
      configs[name] = await dockerOk(rig, ['image', 'inspect', '-f', '{{.Id}}', ref]);
    }

    async function start(ns: string, image: string, name: string, options: string[] = [], id = `ssa-it-${tag}-${name}`): Promise<number> {
      started.push({ ns, id });
      const pid = await runDetached(c, ns, image, id, ['sleep', '600'], options);
      pids[name] = pid;
      return pid;
    }

    beforeAll(async () => {
      key = await generateKeyPair(rig, dir, 'release');
      for (const name of ['legacy', 'bundle', 'unsigned', 'retag', 'shared']) await push(name);
      await push('twin', `${repo}:shared`);
      await signWithKey(rig, `${repo}@${digests['legacy']}`, key, 'legacy');
      await signWithKey(rig, `${repo}@${digests['bundle']}`, key, 'bundle');
      await signWithKey(rig, `${repo}@${digests['retag']}`, key, 'bundle');
      for (const ns of ['default', 'k8s.io']) {
        for (const name of ['legacy', 'bundle', 'unsigned', 'retag', 'shared']) await ctrOk(c, ['-n', ns, 'images', 'pull', '--plain-http', `${repo}:${name}`]);
      }
      // Tampered: a different local image saved under the pushed name
      // `:victim` (signed in the registry) and imported into containerd.
      await push('victim');
      await signWithKey(rig, `${repo}@${digests['victim']}`, key, 'legacy');
      await dockerOk(rig, ['build', '-q', '--network', 'none', '-t', `${repo}:victim`, '-'], `FROM ${rig.busyboxImage}\nRUN echo forged >/name\n`);
      await dockerOk(rig, ['save', '-o', join(dir, 'victim.tar'), `${repo}:victim`]);
      await ctrOk(c, ['-n', 'default', 'images', 'import', join(dir, 'victim.tar')]);

      await start('default', `${repo}:legacy`, 'legacy');
      await start('default', `${repo}:unsigned`, 'unsigned');
      await start('default', `${repo}:victim`, 'victim');
      await start('default', `${repo}:retag`, 'retag');
      await start('default', `${repo}:shared`, 'shared');
      // An image with the same layers and another config, pulled after.
      await ctrOk(c, ['-n', 'default', 'images', 'pull', '--plain-http', `${repo}:twin`]);
      const id = randomBytes(32).toString('hex');
      const pod = `kubepods/besteffort/pod${randomUUID()}`;
      pods.push(pod);
      await start('k8s.io', `${repo}:bundle`, 'kubelet', ['--cgroup', `/${pod}/${id}`, '--label', 'io.kubernetes.pod.namespace=payments'], id);
    }, 300_000);

    afterAll(async () => {
      for (const { ns, id } of started) await removeContainer(c, ns, id);
      for (const pod of pods) removePodCgroup(pod);
      for (const ns of ['default', 'k8s.io']) {
        await ctrOk(c, ['-n', ns, 'images', 'rm', ...IMAGES.map((n) => `${repo}:${n}`)]).catch(() => undefined);
      }
      await docker(rig, ['rmi', '-f', ...IMAGES.map((n) => `${repo}:${n}`)]);
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    it('a ctr container (default namespace) signed with a legacy .sig: binding and signer selectors', async () => {
      const report = await explain(pids['legacy'] ?? -1);
      expect(report.runtime).toMatchObject({ runtime: 'containerd', container: { namespace: 'default', id: `ssa-it-${tag}-legacy` } });
      expect(report.selectors).toEqual(
        expect.arrayContaining([
          'image_binding:bound',
          `image_config_digest:${configs['legacy']}`,
          `image_digest:${digests['legacy']}`,
          `image_id:${repo}:legacy`,
          `image_repository:${repo}`,
          `label:app:legacy-${tag}`,
        ]),
      );
      expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    });

    it('a kubelet-style container (k8s.io, 64-hex ID, /kubepods cgroup) signed with a cosign v3 bundle', async () => {
      const report = await explain(pids['kubelet'] ?? -1);
      expect(report.container).toMatchObject({ runtimeHint: 'kubernetes' });
      expect(report.runtime).toMatchObject({ runtime: 'containerd', container: { namespace: 'k8s.io' } });
      expect(report.selectors).toEqual(expect.arrayContaining([`image_digest:${digests['bundle']}`, 'label:io.kubernetes.pod.namespace:payments']));
      expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    });

    it('the signer selectors are the ones the same image gets under Docker (entries do not depend on the runtime)', async () => {
      const viaContainerd = await explain(pids['legacy'] ?? -1);
      const id = await dockerOk(rig, ['run', '-d', '--network', 'none', `${repo}:legacy`, 'sleep', '600']);
      try {
        const pid = Number(await dockerOk(rig, ['inspect', '-f', '{{.State.Pid}}', id]));
        const viaDocker = await createAttestor(buildConfig(`docker_socket_path = "${rig.dockerHost}"\n${config()}`), silentLogger).explain(
          pid,
          AbortSignal.timeout(30_000),
        );
        const common = (r: AttestReport) => r.selectors.filter((s) => !s.startsWith('label:io.containerd.') && !s.startsWith('image_id:'));
        expect(common(viaContainerd)).toEqual(common(viaDocker));
      } finally {
        await docker(rig, ['rm', '-f', id]);
      }
    });

    it('an unsigned image: container and binding selectors, no signer selectors', async () => {
      const report = await explain(pids['unsigned'] ?? -1);
      expect(report.selectors).toContain('image_binding:bound');
      expect(report.selectors).toContain(`image_config_digest:${configs['unsigned']}`);
      expect(signatureSelectors(report)).toEqual([]);
    });

    it('an image imported locally under the pushed (signed) name is not bound: none under require', async () => {
      const err = await attestorFailure(explain(pids['victim'] ?? -1));
      expect(err.code).toBe('NOT_BOUND');
    });

    it('re-pointing the name after the container started (tag --force, import) does not change the selectors', async () => {
      // One attestor, as the plugin is: it proved the image when the
      // workload first asked. (containerd may collect the original image's
      // content once nothing names it; a plugin started after that fails
      // closed for this container, see the README.)
      const attestor = createAttestor(buildConfig(config()), silentLogger);
      const explainHere = () => attestor.explain(pids['retag'] ?? -1, AbortSignal.timeout(30_000));
      try {
        const before = await explainHere();
        expect(signatureSelectors(before)).toEqual(['image-signature-key:release', 'image-signature:verified']);
        await ctrOk(c, ['-n', 'default', 'images', 'tag', '--force', `${repo}:unsigned`, `${repo}:retag`]);
        // Past the attestor's 30 s container cache: the facts are read anew.
        const later = Date.now() + 31_000;
        const clock = vi.spyOn(Date, 'now').mockImplementation(() => later);
        try {
          const afterTag = await explainHere();
          expect(afterTag.selectors).toEqual(before.selectors);
          expect(afterTag.runtime?.container.imageId).toBe(configs['retag']);
        } finally {
          clock.mockRestore();
        }
        await ctrOk(c, ['-n', 'default', 'images', 'import', '--index-name', `${repo}:retag`, join(dir, 'victim.tar')]);
        expect((await explainHere()).selectors).toEqual(before.selectors);
        // A plugin started after the re-point cannot tell which image the
        // name pointed to: it fails closed.
        const fresh = await attestorFailure(explain(pids['retag'] ?? -1));
        expect(fresh.code).toBe('IMAGE_NOT_FOUND');
        expect(fresh.message).toMatch(/re-pointed after the container was created/);
      } finally {
        await attestor.close();
      }
    });

    it('re-pointing the name to another image with the same layers (another config) fails closed, never reports that image', async () => {
      const before = await explain(pids['shared'] ?? -1);
      expect(before.runtime?.container.imageId).toBe(configs['shared']);
      await ctrOk(c, ['-n', 'default', 'images', 'tag', '--force', `${repo}:twin`, `${repo}:shared`]);
      const err = await attestorFailure(explain(pids['shared'] ?? -1));
      expect(err.code).toBe('IMAGE_NOT_FOUND');
    });

    it("a container ID given to a new container of another image, where the first one's PID went to a process, gets only its own selectors", async () => {
      // ctr (like any containerd client) names its containers: the signed
      // one is deleted, an unsigned one created under its ID within the 30 s
      // the plugin keeps container facts, and a process in it is given the
      // PID of the first one's first process. The PID alone would vouch for
      // the old facts: the start time does not.
      const attestor = createAttestor(buildConfig(config()), silentLogger);
      const id = `ssa-it-${tag}-reused`;
      try {
        const first = await start('default', `${repo}:legacy`, 'reused-first', [], id);
        expect(signatureSelectors(await attestor.explain(first, AbortSignal.timeout(30_000)))).toEqual([
          'image-signature-key:release',
          'image-signature:verified',
        ]);
        await removeContainer(c, 'default', id);
        await vi.waitFor(() => expect(alive(first)).toBe(false), { timeout: 10_000 });
        const second = await start('default', `${repo}:unsigned`, 'reused-second', [], id);
        const impostor = await spawnAsPid(first);
        try {
          moveIntoCgroupsOf(first, second);
          expect(attestor.attestNow?.(first)).toBeUndefined();
          const report = await attestor.explain(first, AbortSignal.timeout(30_000));
          expect(report.runtime?.container.initPid).toBe(second);
          expect(report.selectors).toContain(`image_digest:${digests['unsigned']}`);
          expect(report.selectors).not.toContain(`image_digest:${digests['legacy']}`);
          expect(signatureSelectors(report)).toEqual([]);
        } finally {
          impostor.kill('SIGKILL');
        }
      } finally {
        await attestor.close();
      }
    }, 120_000);

    it('a namespace the plugin does not serve is not a container it describes', async () => {
      const report = await explain(pids['legacy'] ?? -1, 'containerd_namespaces = ["k8s.io"]\n');
      expect(report).toMatchObject({ outcome: 'host', selectors: [] });
    });

    it('a host process gets no selectors', async () => {
      expect(await explain(process.pid)).toMatchObject({ outcome: 'host', selectors: [] });
    });

    it('a stopped container fails closed', async () => {
      const pid = await start('default', `${repo}:legacy`, 'stopped');
      expect(signatureSelectors(await explain(pid))).toHaveLength(2);
      await ctrOk(c, ['-n', 'default', 'tasks', 'kill', '-s', 'SIGKILL', `ssa-it-${tag}-stopped`]);
      await expect.poll(async () => (await attestorFailure(explain(pid))).code, { timeout: 10_000 }).toMatch(/^(PID_GONE|CONTAINER_NOT_FOUND)$/);
    });
  });
}
