// The whole attestor against containers that containerd's own CRI plugin
// runs, made the way a kubelet makes them: the rig's containerd 2.x with CRI
// (containerdCri), driven with crictl: images pulled through CRI, a pod
// sandbox per pod (the pause image) under /kubepods/besteffort/pod<uid>
// (cgroupfs), each container created from the image ID (sha256:<config>)
// like the kubelet does, in containerd namespace k8s.io. A signed image gets
// binding and signer selectors, an unsigned one binding selectors only, the
// pod's sandbox never the signer selectors of the image next to it, and a
// stopped container none.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createAttestor } from '../../src/app/compose.js';
import { buildConfig } from '../../src/config/build.js';
import { AttestorError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { crictl, ctr, describeWithRig, docker, type RigContainerdCri } from '../support/rig.js';
import { crictlInspect, crictlOk, crictlPid, KubeletPods, type KubeletPod } from '../support/containerd.js';
import { generateKeyPair, signWithKey } from '../support/cosign.js';
import { attestorFailure } from '../support/errors.js';
import { dockerOk, pushImage } from '../support/workload-image.js';

import type { AttestReport } from '../../src/attest/attestor.js';
import type { KeyPair } from '../support/cosign.js';

const signatureSelectors = (r: AttestReport): string[] => r.selectors.filter((s) => s.startsWith('image-signature'));

interface PushedImage {
  ref: string;
  digest: string;
  // sha256:<config>, as dockerd and CRI both call it.
  id: string;
}

describeWithRig('attest containerd CRI containers (crictl pods, like a kubelet)', ['containerdCri', 'docker', 'registry', 'cosign'], (rig) => {
  const c = rig.containerdCri as RigContainerdCri;
  const tag = `cri-${process.pid}`;
  const repo = `${rig.registry}/ssa-cri/app-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'ssa-cri-'));
  const kubelet = new KubeletPods(c, dir);
  const images: Record<string, PushedImage> = {};
  const pods: Record<string, KubeletPod> = {};
  const containers: Record<string, string> = {};
  const pids: Record<string, number> = {};
  let key: KeyPair;

  const config = (): string =>
    `containerd_socket_path = "unix://${c.socket}"\ncontainerd_namespaces = ["k8s.io"]\nregistry "${rig.registry}" { insecure = true }\n` +
    `key {\n name = "release"\n path = "${key.publicKey}"\n}\nrequire_tlog = false\noffline = true\npersist_verdicts = false\n`;
  // A fresh attestor each time: nothing cached from an earlier answer.
  const explain = (pid: number): Promise<AttestReport> => createAttestor(buildConfig(config()), silentLogger).explain(pid, AbortSignal.timeout(30_000));

  // Built with a layer of its own, pushed, pulled through CRI.
  async function push(name: string): Promise<void> {
    const ref = `${repo}:${name}`;
    await dockerOk(
      rig,
      ['build', '-q', '--network', 'none', '-t', ref, '-'],
      `FROM ${rig.busyboxImage}\nRUN echo ${name}-${tag} >/name\nLABEL app=${name}-${tag}\n`,
    );
    const digest = await pushImage(rig, ref);
    const id = await dockerOk(rig, ['image', 'inspect', '-f', '{{.Id}}', ref]);
    images[name] = { ref, digest, id };
    await crictlOk(c, ['pull', ref]);
  }

  // A pod in Kubernetes namespace "payments" with one container `app` running the image.
  async function start(name: string): Promise<void> {
    const image = images[name] as PushedImage;
    const pod = await kubelet.runPod('payments', `${name}-${tag}`);
    pods[name] = pod;
    const id = await kubelet.startContainer(pod, 'app', image.id, image.ref, ['/bin/sleep', '600']);
    containers[name] = id;
    pids[name] = await crictlPid(c, 'inspect', id);
  }

  beforeAll(async () => {
    key = await generateKeyPair(rig, dir, 'release');
    await push('signed');
    await push('unsigned');
    await signWithKey(rig, `${repo}@${images['signed']?.digest}`, key, 'bundle');
    await start('signed');
    await start('unsigned');
  }, 300_000);

  afterAll(async () => {
    await kubelet.remove();
    for (const image of Object.values(images)) await crictl(c, ['rmi', image.ref, image.id]);
    await docker(rig, ['rmi', '-f', ...Object.values(images).map((i) => i.ref)]);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('CRI pulled the images under the IDs dockerd gave them', async () => {
    for (const image of Object.values(images)) {
      const status = (await crictlInspect(c, 'inspecti', image.ref))['status'] as { id?: string; repoDigests?: string[] };
      expect(status.id).toBe(image.id);
      expect(status.repoDigests).toContain(`${repo}@${image.digest}`);
    }
  });

  it("a container created from the image ID (as the kubelet does) keeps the image's name in containerd's record", async () => {
    const r = await ctr(c, ['-n', 'k8s.io', 'containers', 'info', containers['signed'] ?? '']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { Image?: string }).Image).toBe(images['signed']?.ref);
    const status = (await crictlInspect(c, 'inspect', containers['signed'] ?? ''))['status'] as { image?: { image?: string } };
    expect(status.image?.image).toBe(images['signed']?.ref);
  });

  it('a CRI container of an image signed with a cosign v3 bundle: k8s.io, binding and signer selectors', async () => {
    const image = images['signed'] as PushedImage;
    const report = await explain(pids['signed'] ?? -1);
    expect(report.container).toMatchObject({ runtimeHint: 'kubernetes', id: containers['signed'] });
    expect(report.runtime).toMatchObject({ runtime: 'containerd', container: { namespace: 'k8s.io', id: containers['signed'] } });
    expect(report.selectors).toEqual(
      expect.arrayContaining([
        'image_binding:bound',
        `image_digest:${image.digest}`,
        `image_config_digest:${image.id}`,
        `image_id:${image.ref}`,
        `image_repository:${repo}`,
        'label:io.kubernetes.pod.namespace:payments',
        'label:io.kubernetes.container.name:app',
      ]),
    );
    expect(signatureSelectors(report)).toEqual(['image-signature-key:release', 'image-signature:verified']);
  });

  it('a CRI container of an unsigned image: binding selectors, no signer selectors', async () => {
    const image = images['unsigned'] as PushedImage;
    const report = await explain(pids['unsigned'] ?? -1);
    expect(report.runtime).toMatchObject({ runtime: 'containerd', container: { namespace: 'k8s.io', id: containers['unsigned'] } });
    expect(report.selectors).toEqual(expect.arrayContaining(['image_binding:bound', `image_digest:${image.digest}`, `image_config_digest:${image.id}`]));
    expect(signatureSelectors(report)).toEqual([]);
  });

  it("the pod's sandbox (pause) process is the sandbox container, never the signed image next to it", async () => {
    const pod = pods['signed'] as KubeletPod;
    const pid = await crictlPid(c, 'inspectp', pod.id);
    const report = await explain(pid).catch((err: unknown) => err);
    // Failing closed would do too; what it may never do is pass as the app.
    if (report instanceof AttestorError) return;
    const r = report as AttestReport;
    expect(r.runtime?.container.id).toBe(pod.id);
    expect(r.selectors).toContain('label:io.cri-containerd.kind:sandbox');
    expect(r.selectors).not.toContain(`image_digest:${images['signed']?.digest}`);
    expect(signatureSelectors(r)).toEqual([]);
  });

  it('a stopped CRI container fails closed', async () => {
    const pod = pods['signed'] as KubeletPod;
    const image = images['signed'] as PushedImage;
    const id = await kubelet.startContainer(pod, 'stopped', image.id, image.ref, ['/bin/sleep', '600']);
    const pid = await crictlPid(c, 'inspect', id);
    expect(signatureSelectors(await explain(pid))).toHaveLength(2);
    await crictlOk(c, ['stop', '--timeout', '0', id]);
    await expect.poll(async () => (await attestorFailure(explain(pid))).code, { timeout: 10_000 }).toMatch(/^(PID_GONE|CONTAINER_NOT_FOUND)$/);
  });
  it('the tag pulled again after the container started (it now names another image) changes nothing, even for a plugin started since: CRI recorded the image ID', async () => {
    const image = images['signed'] as PushedImage;
    const before = await explain(pids['signed'] ?? -1);
    // Another build pushed under the same tag, and pulled by CRI (as a
    // kubelet does for a new pod with imagePullPolicy: Always).
    await dockerOk(rig, ['build', '-q', '--network', 'none', '-t', image.ref, '-'], `FROM ${rig.busyboxImage}\nRUN echo moved-${tag} >/name\n`);
    await pushImage(rig, image.ref);
    await crictlOk(c, ['pull', image.ref]);
    const moved = (await crictlInspect(c, 'inspecti', image.ref))['status'] as { id?: string };
    expect(moved.id).not.toBe(image.id);
    const after = await explain(pids['signed'] ?? -1);
    expect(after.runtime?.container.imageId).toBe(image.id);
    expect(after.selectors).toEqual(before.selectors);
    expect(signatureSelectors(after)).toEqual(['image-signature-key:release', 'image-signature:verified']);
    images['moved'] = { ref: image.ref, digest: '', id: moved.id ?? '' };
  });
});
