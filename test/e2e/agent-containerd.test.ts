// A real spire-agent with the plugin (named "sigstore", as next to SPIRE's
// k8s attestor) issues SVIDs to workloads in containers of the rig's real
// containerd instances: a kubelet-style container (k8s.io, 64-hex ID,
// /kubepods cgroup) and a ctr container (default namespace), whose image is
// signed with the release key, get the SVID whose entry names the signer;
// the same workload from an unsigned image gets none. The Workload API
// client is the static spire-agent inside the image, run as the container's
// first process.

import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { ctrOk, removeContainer, removePodCgroup } from '../support/containerd.js';
import { generateKeyPair, signWithKey } from '../support/cosign.js';
import { ctr, describeWithRig, docker, type RigContainerd } from '../support/rig.js';
import { buildWorkloadImage, pushImage } from '../support/workload-image.js';
import { attestations, releaseKeyLines, joinToken, startSpireAgent, startSpireServer, TRUST_DOMAIN, waitFor } from '../support/spire.js';

import type { KeyPair } from '../support/cosign.js';
import type { SpireAgent, SpireServer } from '../support/spire.js';

describeWithRig(
  'spire-agent attests containerd workloads through the plugin',
  ['spire', 'docker', 'registry', 'cosign', 'containerd', 'containerd2'],
  (rig) => {
    const run = `${process.pid}`;
    const signedRef = `${rig.registry}/ssa-e2e/ctrd-signed-${run}:1`;
    const unsignedRef = `${rig.registry}/ssa-e2e/ctrd-unsigned-${run}:1`;
    let dir: string;
    let server: SpireServer;
    let agents: Record<'containerd' | 'containerd2', SpireAgent>;
    let releaseKey: KeyPair;
    const pods: string[] = [];

    async function agentFor(instance: RigContainerd, name: string, token: string): Promise<SpireAgent> {
      const agent = await startSpireAgent({
        bin: rig.spireAgent,
        dir: join(dir, name),
        server,
        token,
        pluginName: 'sigstore',
        pluginData: [
          `      containerd_socket_path = "unix://${instance.socket}"`,
          `      log_level = "debug"`,
          `      registry "${rig.registry}" {`,
          `        insecure = true`,
          `      }`,
          ...releaseKeyLines(releaseKey.publicKey),
        ].join('\n'),
      });
      chmodSync(join(dir, name), 0o755);
      return agent;
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ssa-e2e-ctrd-'));
      chmodSync(dir, 0o755);
      server = await startSpireServer(rig.spireServer, join(dir, 'server'));
      releaseKey = await generateKeyPair(rig, dir, 'release');
      await buildWorkloadImage(rig, signedRef, `signed-${run}`);
      const signed = await pushImage(rig, signedRef);
      await buildWorkloadImage(rig, unsignedRef, `unsigned-${run}`);
      await pushImage(rig, unsignedRef);
      await signWithKey(rig, `${signedRef.slice(0, signedRef.lastIndexOf(':'))}@${signed}`, releaseKey, 'bundle');
      const c1 = rig.containerd as RigContainerd;
      const c2 = rig.containerd2 as RigContainerd;
      for (const [c, ns] of [
        [c1, 'k8s.io'],
        [c2, 'default'],
      ] as const) {
        for (const ref of [signedRef, unsignedRef]) await ctrOk(c, ['-n', ns, 'images', 'pull', '--plain-http', ref]);
      }
      agents = {
        containerd: await agentFor(c1, 'agent1', await joinToken(server)),
        containerd2: await agentFor(c2, 'agent2', await joinToken(server)),
      };
    }, 300_000);

    afterAll(async () => {
      for (const agent of Object.values(agents ?? {})) await agent.stop();
      await server?.stop();
      for (const pod of pods) removePodCgroup(pod);
      await docker(rig, ['rmi', '-f', signedRef, unsignedRef]);
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    // Entries for both agents' workloads (any agent of the trust domain: the
    // parent is each agent's own ID, so one entry per agent).
    async function entries(spiffeId: string, selector: string): Promise<void> {
      const agentIds = (await server.cli(['agent', 'list'])).match(/spiffe:\/\/\S+\/spire\/agent\/join_token\/\S+/g) ?? [];
      expect(agentIds.length).toBe(2);
      for (const parentId of agentIds) await server.cli(['entry', 'create', '-parentID', parentId, '-spiffeID', spiffeId, '-selector', selector]);
    }

    // Runs the Workload API client as the first process of a new container
    // and returns what it printed.
    async function fetchIn(c: RigContainerd, ns: string, agentDir: string, image: string, kubelet: boolean): Promise<{ code: number; output: string }> {
      const id = kubelet ? randomBytes(32).toString('hex') : `ssa-e2e-${run}-${randomBytes(4).toString('hex')}`;
      const pod = `kubepods/besteffort/pod${randomUUID()}`;
      const cgroup = kubelet ? ['--cgroup', `/${pod}/${id}`] : [];
      if (kubelet) pods.push(pod);
      try {
        const r = await ctr(
          c,
          [
            '-n',
            ns,
            'run',
            '--rm',
            '--mount',
            `type=bind,src=${agentDir},dst=/run/spire,options=rbind:rw`,
            ...cgroup,
            image,
            id,
            '/bin/spire-agent',
            'api',
            'fetch',
            'x509',
            '-socketPath',
            '/run/spire/agent.sock',
            '-timeout',
            '5s',
          ],
          { timeoutMs: 60_000 },
        );
        return { code: r.code, output: r.stdout + r.stderr };
      } finally {
        await removeContainer(c, ns, id);
      }
    }

    const cases = [
      { part: 'containerd', ns: 'k8s.io', kubelet: true, dirName: 'agent1' },
      { part: 'containerd2', ns: 'default', kubelet: false, dirName: 'agent2' },
    ] as const;

    it('issues the release SVID to a signed workload by sigstore:image-signature-key, and none to an unsigned one', async () => {
      await entries(`spiffe://${TRUST_DOMAIN}/ctrd-release`, 'sigstore:image-signature-key:release');
      for (const { part, ns, kubelet, dirName } of cases) {
        const c = rig[part] as RigContainerd;
        let last = { code: -1, output: '' };
        await waitFor(
          `SVID in a ${part} container`,
          async () => {
            last = await fetchIn(c, ns, join(dir, dirName), signedRef, kubelet);
            return /spiffe:\/\/example\.org\/ctrd-release/.test(last.output);
          },
          60_000,
          1_000,
        );
        expect(last.code).toBe(0);
        const selectors = attestations(agents[part].log())
          .flat()
          .map((s) => `${s.type}:${s.value}`);
        expect(selectors).toEqual(expect.arrayContaining(['sigstore:image-signature-key:release', 'sigstore:image_binding:bound']));

        const denied = await fetchIn(c, ns, join(dir, dirName), unsignedRef, kubelet);
        expect(denied.code).not.toBe(0);
        expect(denied.output).not.toMatch(/ctrd-release/);
        // Denied by the agent (the workload ran and asked), not a failed run.
        expect(denied.output).toMatch(/no identity issued/);
      }
    });
  },
);
