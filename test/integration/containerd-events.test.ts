// ContainerdClient.watchStarts against the rig's real containerd instances
// (Debian's 1.6, whose Subscribe streams containerd.services.events.v1.Envelope,
// and a 2.x, containerd.types.Envelope): a container ctr starts in a served
// namespace is reported with its ID and namespace, one in a namespace the
// client does not serve is not, and aborting the signal resolves the watch.

import { afterAll, beforeAll, expect, it } from 'vitest';

import { ContainerdClient } from '../../src/runtime/containerd/client.js';
import { ctrOk, removeContainer } from '../support/containerd.js';
import { ctr, describeWithRig, type RigContainerd, type RigContainerdPart } from '../support/rig.js';

import type { ContainerKey } from '../../src/runtime/types.js';

const SERVED = 'default';
const UNSERVED = 'ssa-events-unserved';

for (const part of ['containerd', 'containerd2'] as const satisfies readonly RigContainerdPart[]) {
  describeWithRig(`containerd watchStarts (${part})`, [part, 'registry'], (rig) => {
    const c = rig[part] as RigContainerd;
    const image = rig.registryBusyboxImage ?? '';
    // runc's state is shared by the rig's instances: IDs unique across them.
    const tag = `ssa-ev-${part}-${process.pid}`;
    const endpoint = `unix://${c.socket}`;
    const client = new ContainerdClient(endpoint, [SERVED, 'k8s.io']);
    const watching = new AbortController();
    const seen: ContainerKey[] = [];
    const started: { ns: string; id: string }[] = [];
    let watch: Promise<void> | undefined;

    async function start(ns: string, id: string): Promise<void> {
      started.push({ ns, id });
      await ctrOk(c, ['-n', ns, 'run', '-d', '--null-io', image, id, 'sleep', '600']);
    }
    const seenId = (id: string): ContainerKey | undefined => seen.find((k) => k.id === id);

    beforeAll(async () => {
      for (const ns of [SERVED, UNSERVED]) await ctrOk(c, ['-n', ns, 'images', 'pull', '--plain-http', image]);
      watch = client.watchStarts((key) => seen.push(key), watching.signal);
      // Subscribe says nothing when it is in place: start containers until
      // one is reported, then the stream is live.
      for (let i = 0; ; i++) {
        const id = `${tag}-warm${i}`;
        await start(SERVED, id);
        const deadline = Date.now() + 3_000;
        while (seenId(id) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (seenId(id) !== undefined) break;
        if (i === 4) throw new Error(`watchStarts reported none of 5 containers started on ${endpoint}`);
      }
    }, 120_000);

    afterAll(async () => {
      watching.abort();
      await watch;
      client.close();
      for (const { ns, id } of started) await removeContainer(c, ns, id);
      await ctr(c, ['-n', UNSERVED, 'images', 'rm', image]);
    }, 120_000);

    it('reports a container ctr starts in a served namespace, with its ID and namespace', async () => {
      const id = `${tag}-served`;
      await start(SERVED, id);
      await expect.poll(() => seenId(id), { timeout: 10_000 }).toEqual({ id, namespace: SERVED });
      expect(seen.filter((k) => k.id === id)).toHaveLength(1);
    });

    it('does not report a container started in a namespace the client does not serve', async () => {
      const other = `${tag}-unserved`;
      const after = `${tag}-after`;
      await start(UNSERVED, other);
      // Events arrive in order: once the later start in a served namespace
      // is reported, the earlier one would have been.
      await start(SERVED, after);
      await expect.poll(() => seenId(after), { timeout: 10_000 }).toEqual({ id: after, namespace: SERVED });
      expect(seenId(other)).toBeUndefined();
      expect(seen.filter((k) => k.namespace !== SERVED)).toEqual([]);
    });

    it('aborting the signal resolves the watch (an already aborted one does not subscribe)', async () => {
      const own = new ContainerdClient(endpoint, [SERVED]);
      try {
        const controller = new AbortController();
        const reported: ContainerKey[] = [];
        const running = own.watchStarts((key) => reported.push(key), controller.signal);
        await new Promise((r) => setTimeout(r, 300));
        controller.abort();
        await expect(running).resolves.toBeUndefined();
        await expect(own.watchStarts(() => undefined, AbortSignal.abort())).resolves.toBeUndefined();
      } finally {
        own.close();
      }
    });
  });
}
