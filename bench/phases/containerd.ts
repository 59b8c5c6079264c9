// 1c / 2b. Warm and cold Attest of containerd containers, next to the Docker
// figures (1 and 2) and measured by the same loops (warmByConcurrency,
// warmInProcessLoop, coldThroughGrpc, coldInProcessSample): for each
// containerd instance of the rig (1.6 and 2.x; an instance that is missing is
// skipped with its reason in figures.containerd.instances), a `ctr run -d
// --null-io` container in the `default` namespace and a kubelet-style one
// (k8s.io, 64-hex ID, /kubepods/besteffort/pod<uid>/<id> cgroup). The images
// are the Docker figures' own (pushed and key-signed by setup), pulled with
// --plain-http from the rig registry: warm on fp-00 (the Docker warm
// container's image), cold on cold-00..09 (one new image and a new Configure
// per sample, as for Docker). The plugin is configured as for Docker plus
// containerd_socket_path and containerd_namespaces.

import { RECENT_REPOINT_NS } from '../../src/runtime/containerd/image-proof.js';
import { buildConfig } from '../../src/config/build.js';
import { silentLogger } from '../../src/log.js';
import { missingParts, type RigContainerd, type RigContainerdPart } from '../../test/support/rig.js';
import type { CtrdContainer, CtrdFixtures } from '../lib/containerd.js';
import { pool } from '../lib/images.js';
import { instrumentedAttestor } from '../lib/inprocess.js';
import { KNOBS } from '../lib/knobs.js';
import { launch, stopPlugin } from '../lib/live.js';
import { isVerifiedBound, load } from '../lib/load.js';
import { LAUNCHER } from '../lib/paths.js';
import { attestCaller, initAndConfigure } from '../lib/plugin.js';
import { progress } from '../lib/progress.js';
import { breakdown, shortKind } from '../lib/registry-log.js';
import { result, row } from '../lib/result.js';
import { round, summarize } from '../lib/stats.js';
import { messageOf } from '../lib/util.js';
import { coldInProcessSample, coldThroughGrpc } from './cold.js';
import { warmByConcurrency, warmInProcessLoop } from './warm.js';

import type { BenchImage } from '../lib/images.js';
import type { World } from '../lib/world.js';

export const CONTAINERD_PARTS = ['containerd', 'containerd2'] as const satisfies readonly RigContainerdPart[];
export const CONTAINERD_NAMESPACES = ['k8s.io', 'default'] as const;

export type Flavor = 'default' | 'kubelet';
const FLAVORS: readonly Flavor[] = ['default', 'kubelet'];
const FLAVOR_LABEL: Record<Flavor, string> = { default: 'ctr run, ns default', kubelet: 'kubelet-style, ns k8s.io' };

export interface CtrdTarget {
  readonly flavor: Flavor;
  readonly warm: CtrdContainer;
  readonly cold: CtrdContainer[];
}

export interface CtrdInstance {
  readonly part: RigContainerdPart;
  readonly c: RigContainerd;
  readonly hcl: string;
  readonly targets: CtrdTarget[];
}

export interface CtrdWorld {
  readonly instances: CtrdInstance[];
}

// figures.containerd: what it is, and one object per instance (filled in by
// set-up, 1c and 2b as they go).
function figure(): { instances: Record<string, Record<string, unknown>> } {
  const f = (result.figures['containerd'] ??= {
    what: "warm and cold Attest of containerd containers, measured as the Docker figures (warmGrpc, warmInProcess, cold: same loops, counts and statistics): per instance a `ctr run -d --null-io` container in namespace default and a kubelet-style one (namespace k8s.io, 64-hex ID, --cgroup /kubepods/besteffort/pod<uid>/<id>) of the Docker figures' own key-signed images pulled with --plain-http from the rig registry (warm: fp-00, the Docker warm image; cold: cold-00..09, a new Configure per sample); plugin_data as for Docker plus containerd_socket_path and containerd_namespaces",
    namespaces: [...CONTAINERD_NAMESPACES],
    instances: {},
  }) as { instances: Record<string, Record<string, unknown>> };
  return f;
}

function instanceFigure(part: RigContainerdPart): Record<string, unknown> {
  return (figure().instances[part] ??= {});
}

function targetFigure(part: RigContainerdPart, flavor: Flavor): Record<string, unknown> {
  const inst = instanceFigure(part);
  return (inst[flavor] ??= {}) as Record<string, unknown>;
}

// "containerd 1.6.20 (ctr run, ns default)": the table's name for a target.
export function targetName(c: RigContainerd, flavor: Flavor): string {
  return `containerd ${c.version} (${FLAVOR_LABEL[flavor]})`;
}

// plugin_data: the Docker figures' plus this instance's socket and namespaces.
export function containerdHcl(w: World, c: RigContainerd): string {
  return [w.hcl, `containerd_socket_path = "unix://${c.socket}"`, `containerd_namespaces = [${CONTAINERD_NAMESPACES.map((n) => `"${n}"`).join(', ')}]`].join(
    '\n',
  );
}

// Pulls the images into both namespaces of each instance that is there and
// starts the containers. An instance that is missing, or whose set-up fails,
// is left out with its reason (a failure is also an error of the run).
export async function containerdSetup(w: World, fx: CtrdFixtures): Promise<CtrdWorld> {
  const warmImage = w.footprint[0]?.image;
  if (!warmImage) throw new Error('no warm image');
  const coldImages = w.cold.map((c) => c.image);
  const images: BenchImage[] = [warmImage, ...coldImages];
  const instances: CtrdInstance[] = [];
  const setupRecord: Record<string, unknown> = {};
  for (const part of CONTAINERD_PARTS) {
    const c = w.rig[part];
    const missing = missingParts(w.rig, [part]);
    const fig = instanceFigure(part);
    if (!c || missing.length > 0) {
      const reason = missing.join('; ') || `${part} not in rig.json`;
      fig['skipped'] = reason;
      setupRecord[part] = { skipped: reason };
      progress(`containerd set-up: ${part} skipped: ${reason}`);
      continue;
    }
    Object.assign(fig, { version: c.version, socket: c.socket, ctr: c.ctr, snapshotter: c.snapshotter });
    const t0 = performance.now();
    try {
      await pool(
        CONTAINERD_NAMESPACES.flatMap((ns) => images.map((img) => ({ ns, img }))),
        4,
        ({ ns, img }) => fx.pull(c, ns, img),
      );
      const pullMs = performance.now() - t0;
      // The image proof refuses a container created within 10 s of its
      // image name's last update when other configs share its layers (the
      // bench images differ only in labels): the name may have been
      // re-pointed meanwhile. A kubelet's CRI containers are pinned by
      // ImageRef instead; ctr ones wait here, as they would on a node where
      // the image was pulled a while before.
      await new Promise((resolve) => setTimeout(resolve, Number(RECENT_REPOINT_NS / 1_000_000n) + 500));
      const t1 = performance.now();
      const targets: CtrdTarget[] = [];
      for (const flavor of FLAVORS) {
        const start = (img: BenchImage, name: string): Promise<CtrdContainer> =>
          flavor === 'default' ? fx.run(part, c, 'default', img, name) : fx.kubelet(part, c, img);
        const warm = await start(warmImage, 'warm');
        const cold = await pool(coldImages, 4, (img) => start(img, img.name));
        targets.push({ flavor, warm, cold });
        targetFigure(part, flavor)['container'] = { namespace: warm.namespace, id: warm.id, ...(warm.pod ? { cgroup: `/${warm.pod}/${warm.id}` } : {}) };
      }
      const runMs = performance.now() - t1;
      instances.push({ part, c, hcl: containerdHcl(w, c), targets });
      setupRecord[part] = {
        version: c.version,
        imagesPulled: images.length * CONTAINERD_NAMESPACES.length,
        containers: targets.reduce((a, t) => a + 1 + t.cold.length, 0),
        pullMs: round(pullMs, 0),
        runMs: round(runMs, 0),
      };
    } catch (err) {
      const reason = `set-up failed: ${messageOf(err)}`;
      fig['skipped'] = reason;
      setupRecord[part] = { skipped: reason };
      result.errors.push({ phase: `containerd set-up (${part})`, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      progress(`containerd set-up: ${part} ${reason}`);
    }
  }
  result.setup['containerd'] = setupRecord;
  return { instances };
}

// Runs `fn` for every target of every instance; a failure is recorded on the
// target (`error`) and in the run's errors, and the others go on.
async function eachTarget(
  ctrd: CtrdWorld,
  what: string,
  fn: (inst: CtrdInstance, t: CtrdTarget, fig: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  if (ctrd.instances.length === 0) progress(`${what}: no containerd instance (see figures.containerd.instances)`);
  for (const inst of ctrd.instances) {
    for (const t of inst.targets) {
      const fig = targetFigure(inst.part, t.flavor);
      try {
        await fn(inst, t, fig);
      } catch (err) {
        const e = messageOf(err);
        fig[`${what}Error`] = e;
        result.errors.push({ phase: `${what} ${targetName(inst.c, t.flavor)}`, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        progress(`${what} ${targetName(inst.c, t.flavor)} FAILED: ${e}`);
      }
    }
  }
}

// 1c. Warm: through gRPC (one plugin process per instance, launcher) at N =
// 1, 16, 128 after the first call and the warm-up; then in process.
export async function containerdWarmPhase(ctrd: CtrdWorld): Promise<void> {
  for (const inst of ctrd.instances) {
    const plugin = await launch(LAUNCHER);
    try {
      await initAndConfigure(plugin, inst.hcl);
      const attest = attestCaller(plugin);
      await eachTarget({ instances: [inst] }, 'warm', async (_, t, fig) => {
        const pid = t.warm.pid;
        const first = await attest(pid);
        if (!isVerifiedBound(first.selector_values)) throw new Error(`unexpected selectors for ${t.warm.id}: ${first.selector_values.join(' ')}`);
        await load(attest, [pid], KNOBS.warmupCalls, 16, KNOBS.phaseCapMs);
        const perN = await warmByConcurrency(plugin, attest, pid, (n) => `warm Attest gRPC, N=${n}, ${targetName(inst.c, t.flavor)}`);
        fig['selectors'] = first.selector_values;
        fig['warmGrpc'] = {
          what: `as figures.warmGrpc.byConcurrency, on ${t.warm.image.tag} in containerd ${inst.c.version} (${FLAVOR_LABEL[t.flavor]})`,
          pid,
          byConcurrency: perN,
        };
      });
    } finally {
      await stopPlugin(plugin);
    }
  }
  await eachTarget(ctrd, 'warmInProcess', async (inst, t, fig) => {
    const config = buildConfig(inst.hcl);
    const ia = instrumentedAttestor(config, silentLogger);
    try {
      await ia.attestor.ready();
      const first = await ia.attestor.explain(t.warm.pid, AbortSignal.timeout(30_000));
      if (!isVerifiedBound(first.selectors) || first.runtime?.runtime !== 'containerd') {
        throw new Error(`in process: unexpected answer for ${t.warm.id}: runtime ${first.runtime?.runtime ?? '-'}, selectors ${first.selectors.join(' ')}`);
      }
      ia.recorder.take();
      const until = performance.now() + KNOBS.phaseCapMs;
      const { total, proc, procCalls, other } = warmInProcessLoop(ia, t.warm.pid, until);
      const totalS = summarize(total);
      row(`warm Attest in-process, ${targetName(inst.c, t.flavor)}`, 'ms', totalS, `${procCalls[0] ?? '?'} /proc reads per Attest`);
      fig['warmInProcess'] = {
        what: 'as figures.warmInProcess (totalMs, procReadsMs, procReadsPerAttest, restOfPipelineMs)',
        totalMs: totalS,
        procReadsMs: summarize(proc),
        procReadsPerAttest: summarize(procCalls),
        restOfPipelineMs: summarize(other),
      };
    } finally {
      await ia.registry.close();
      await ia.attestor.close();
    }
  });
}

// 2b. Cold: through gRPC, a new Configure before each of the cold samples
// (one new image each); then in process, a new attestor each.
export async function containerdColdPhase(w: World, ctrd: CtrdWorld): Promise<void> {
  await eachTarget(ctrd, 'cold', async (inst, t, fig) => {
    const name = targetName(inst.c, t.flavor);
    const { grpcLat, configureLat, perImage } = await coldThroughGrpc(inst.hcl, t.cold, w.regLog);
    const counts = perImage.map((l) => l.length);
    const grpcS = summarize(grpcLat);
    row(`cold Attest gRPC, ${name}`, 'ms', grpcS, `${summarize(counts).median} registry requests: ${(perImage[0] ?? []).map(shortKind).join(', ')}`);

    const config = buildConfig(inst.hcl);
    const samples = [];
    for (const c of t.cold) samples.push(await coldInProcessSample(config, c));
    const inS = summarize(samples.map((s) => s.latencyMs));
    const inspectS = summarize(samples.map((s) => s.runtimeMs));
    row(`cold Attest in-process, ${name}`, 'ms', inS);
    row(`  containerd inspect time, ${name}`, 'ms', inspectS, 'container, task, snapshot, image, content: one inspection');
    fig['cold'] = {
      what: `as figures.cold (through gRPC a new Configure before each sample; then in process a new attestor each), ${t.cold.length} images, one container each, in containerd ${inst.c.version} (${FLAVOR_LABEL[t.flavor]})`,
      grpcMs: grpcS,
      grpcSamplesMs: grpcLat.map((v) => round(v, 3)),
      configureMs: summarize(configureLat),
      registryRequestsAtRegistry: summarize(counts),
      registryRequestBreakdown: breakdown(perImage[0] ?? []),
      inProcess: {
        latencyMs: inS,
        registryRequestsClientStats: summarize(samples.map((s) => s.requests)),
        registrySequentialDepth: summarize(samples.map((s) => s.depth)),
        registryMs: summarize(samples.map((s) => s.registryMs)),
        containerdInspectMs: inspectS,
        procReadsMs: summarize(samples.map((s) => s.procMs)),
        restMs: summarize(samples.map((s) => s.restMs)),
        callsFirstSample: samples[0]?.kinds,
      },
    };
  });
}
