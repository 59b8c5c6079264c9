// Access to the integration-test rig that test/env/up.sh starts (dockerd,
// OCI registry, podman, containerd 1.6 and 2.x, a 2.x with CRI and crictl,
// spire and cosign binaries —
// all on loopback or unix sockets). up.sh describes what it brought up in $SSA_STATE_DIR/rig.json.
//
//   describeWithRig('docker integration', ['docker'], (rig) => {
//     it('runs a container', async () => { await docker(rig, ['ps']); });
//   });
//
// When a part is missing the block is skipped with the reason in its name,
// except in CI (CI=true), where integration tests are mandatory and a
// failing test names what is missing.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'vitest';

export type RigPart = 'docker' | 'registry' | 'spire' | 'cosign' | 'podman' | 'containerd' | 'containerd2' | 'containerdCri';

/**
 * One containerd instance of the rig: its own daemon (never the machine's
 * default one nor dockerd's), images pulled from the rig registry.
 * `containerd` is Debian's 1.6, `containerd2` a 2.x built by up.sh, both with
 * CRI disabled; `containerdCri` the same 2.x with CRI (see RigContainerdCri).
 * runc's state (/run/containerd/runc/<namespace>) is shared by all: use
 * container ids unique across instances.
 */
export interface RigContainerd {
  /** Unix socket path of its gRPC API (`ctr --address`). */
  socket: string;
  /** The ctr binary of the same version. */
  ctr: string;
  /** Daemon version without a leading v or Debian suffix, e.g. "1.6.20", "2.4.2". */
  version: string;
  /** The snapshotter that works on this machine ("overlayfs" or "native"). */
  snapshotter: string;
}

/**
 * The rig's containerd 2.x with the CRI plugin, driven with crictl like a
 * kubelet would: pods share the host's network (no CNI: pod configs must ask
 * for namespace_options.network = 2, NODE), cgroupfs (give pods a
 * linux.cgroup_parent such as /kubepods/besteffort/pod<uid>), CRI's
 * containers in namespace k8s.io. Pod sandboxes run `pauseImage`.
 */
export interface RigContainerdCri extends RigContainerd {
  /** crictl; run it with crictl() below (its --config names this instance). */
  crictl: string;
  /** The pinned sandbox image, in the rig registry (127.0.0.1:PORT/ssa/pause:1). */
  pauseImage: string;
}

/** The rig's containerd instances, by part name. */
export type RigContainerdPart = 'containerd' | 'containerd2' | 'containerdCri';

export interface Rig {
  stateDir: string;
  dockerHost: string;
  dockerSocket: string;
  registry: string;
  busyboxImage: string;
  spireAgent: string;
  spireServer: string;
  // Statically linked spire-agent, for Workload API clients inside FROM-scratch containers.
  spireAgentStatic: string;
  cosign: string | null;
  podmanSocket: string | null;
  // The optional fields below are absent in a rig.json of an older up.sh.
  /** ssa-busybox:1 in the rig registry (127.0.0.1:PORT/ssa/busybox:1), for ctr pulls; null if it could not be pushed. */
  registryBusyboxImage?: string | null;
  containerd?: RigContainerd | null;
  containerd2?: RigContainerd | null;
  containerdCri?: RigContainerdCri | null;
  unavailable: Record<string, string>;
}

const UP_HINT = 'run test/env/up.sh';

/** $SSA_STATE_DIR, defaulting like up.sh: ${TMPDIR:-/tmp}/ssa-rig. */
export function rigStateDir(): string {
  const fromEnv = process.env['SSA_STATE_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const tmp = process.env['TMPDIR'];
  return join(tmp !== undefined && tmp !== '' ? tmp : '/tmp', 'ssa-rig');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

function strOrNull(o: Record<string, unknown>, key: string): string | null | undefined {
  const v = o[key];
  if (v === null) return null;
  return typeof v === 'string' ? v : undefined;
}

// A containerd object of rig.json: the object, null, or undefined if absent or malformed.
function containerdOrNull(o: Record<string, unknown>, key: string): RigContainerd | null | undefined {
  const v = o[key];
  if (v === null) return null;
  if (!isRecord(v)) return undefined;
  const socket = str(v, 'socket');
  const ctr = str(v, 'ctr');
  const version = str(v, 'version');
  const snapshotter = str(v, 'snapshotter');
  if (socket === undefined || ctr === undefined || version === undefined || snapshotter === undefined) return undefined;
  return { socket, ctr, version, snapshotter };
}

// The containerdCri object of rig.json: a containerd object with crictl and pauseImage.
function containerdCriOrNull(o: Record<string, unknown>): RigContainerdCri | null | undefined {
  const c = containerdOrNull(o, 'containerdCri');
  if (c === null || c === undefined) return c;
  const v = o['containerdCri'] as Record<string, unknown>;
  const crictl = str(v, 'crictl');
  const pauseImage = str(v, 'pauseImage');
  if (crictl === undefined || pauseImage === undefined) return undefined;
  return { ...c, crictl, pauseImage };
}

/** Reads $SSA_STATE_DIR/rig.json; undefined if absent or malformed (optional fields: left out if malformed). */
export function loadRig(): Rig | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(rigStateDir(), 'rig.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(raw)) return undefined;
  const stateDir = str(raw, 'stateDir');
  const dockerHost = str(raw, 'dockerHost');
  const dockerSocket = str(raw, 'dockerSocket');
  const registry = str(raw, 'registry');
  const busyboxImage = str(raw, 'busyboxImage');
  const spireAgent = str(raw, 'spireAgent');
  const spireServer = str(raw, 'spireServer');
  const spireAgentStatic = str(raw, 'spireAgentStatic');
  const cosign = strOrNull(raw, 'cosign');
  const podmanSocket = strOrNull(raw, 'podmanSocket');
  const unavailableRaw = raw['unavailable'];
  if (
    stateDir === undefined ||
    dockerHost === undefined ||
    dockerSocket === undefined ||
    registry === undefined ||
    busyboxImage === undefined ||
    spireAgent === undefined ||
    spireServer === undefined ||
    spireAgentStatic === undefined ||
    cosign === undefined ||
    podmanSocket === undefined ||
    !isRecord(unavailableRaw)
  ) {
    return undefined;
  }
  const unavailable: Record<string, string> = {};
  for (const [k, v] of Object.entries(unavailableRaw)) {
    if (typeof v === 'string') unavailable[k] = v;
  }
  const optional: Pick<Rig, 'registryBusyboxImage' | 'containerd' | 'containerd2' | 'containerdCri'> = {};
  const registryBusyboxImage = strOrNull(raw, 'registryBusyboxImage');
  if (registryBusyboxImage !== undefined) optional.registryBusyboxImage = registryBusyboxImage;
  for (const key of ['containerd', 'containerd2'] as const) {
    const c = containerdOrNull(raw, key);
    if (c !== undefined) optional[key] = c;
  }
  const cri = containerdCriOrNull(raw);
  if (cri !== undefined) optional.containerdCri = cri;
  return {
    ...optional,
    stateDir,
    dockerHost,
    dockerSocket,
    registry,
    busyboxImage,
    spireAgent,
    spireServer,
    spireAgentStatic,
    cosign,
    podmanSocket,
    unavailable,
  };
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return false;
  }
  return isFile(path);
}

/** The pid in stateDir/file is a live process. */
function pidAlive(stateDir: string, file: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(stateDir, file), 'utf8').trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else; still alive.
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
}

function partReason(rig: Rig, part: RigPart): string | undefined {
  const recorded = rig.unavailable[part];
  if (recorded !== undefined) return `${part} unavailable: ${recorded}`;
  switch (part) {
    case 'docker':
      if (!isSocket(rig.dockerSocket) || !pidAlive(rig.stateDir, 'docker.pid')) {
        return `dockerd not running (no live daemon on ${rig.dockerSocket}) — ${UP_HINT}`;
      }
      return undefined;
    case 'registry':
      if (!pidAlive(rig.stateDir, 'registry-default.pid')) {
        return `registry not running on ${rig.registry} — ${UP_HINT}`;
      }
      return undefined;
    case 'spire':
      for (const bin of [rig.spireAgent, rig.spireServer, rig.spireAgentStatic]) {
        if (!isExecutable(bin)) return `spire binary missing: ${bin} — ${UP_HINT}`;
      }
      return undefined;
    case 'cosign':
      if (rig.cosign === null) return `cosign not built — ${UP_HINT}`;
      if (!isExecutable(rig.cosign)) return `cosign binary missing: ${rig.cosign} — ${UP_HINT}`;
      return undefined;
    case 'podman':
      if (rig.podmanSocket === null) return `podman unavailable — ${UP_HINT}`;
      if (!isSocket(rig.podmanSocket) || !pidAlive(rig.stateDir, 'podman.pid')) {
        return `podman service not running (no live service on ${rig.podmanSocket}) — ${UP_HINT}`;
      }
      return undefined;
    case 'containerd':
    case 'containerd2':
      return containerdReason(rig, part, rig[part]);
    case 'containerdCri': {
      const c = rig.containerdCri;
      const reason = containerdReason(rig, part, c);
      if (reason !== undefined || c === undefined || c === null) return reason;
      if (!isExecutable(c.crictl)) return `crictl binary missing: ${c.crictl} — ${UP_HINT}`;
      if (!isFile(crictlConfig(c))) return `crictl config missing: ${crictlConfig(c)} — ${UP_HINT}`;
      return undefined;
    }
  }
}

function containerdReason(rig: Rig, part: RigContainerdPart, c: RigContainerd | null | undefined): string | undefined {
  if (c === undefined || c === null) return `${part} unavailable — ${UP_HINT}`;
  // up.sh keeps each instance's pid file next to its socket ($STATE/ctrd, $STATE/ctrd2, $STATE/ctrdcri).
  if (!isSocket(c.socket) || !pidAlive(dirname(c.socket), 'containerd.pid')) {
    return `${part} not running (no live daemon on ${c.socket}) — ${UP_HINT}`;
  }
  if (!isExecutable(c.ctr)) return `ctr binary missing: ${c.ctr} — ${UP_HINT}`;
  if (rig.registryBusyboxImage === undefined || rig.registryBusyboxImage === null) {
    return `${part}: no busybox image in the rig registry (registryBusyboxImage) — ${UP_HINT}`;
  }
  return undefined;
}

/** Human-readable reasons why the given parts can't be used; [] if all are there. */
export function missingParts(rig: Rig | undefined, parts: readonly RigPart[]): string[] {
  if (rig === undefined) {
    return [`test rig not set up (no ${join(rigStateDir(), 'rig.json')}) — ${UP_HINT}`];
  }
  const reasons: string[] = [];
  for (const part of parts) {
    const reason = partReason(rig, part);
    if (reason !== undefined) reasons.push(reason);
  }
  return reasons;
}

/**
 * describe() that needs rig parts. All present: a normal describe with the
 * rig. Missing in CI: one failing test naming them. Missing elsewhere: a
 * skipped block whose name carries the reason (the body is not run).
 */
export function describeWithRig(name: string, parts: readonly RigPart[], body: (rig: Rig) => void): void {
  const rig = loadRig();
  const reasons = missingParts(rig, parts);
  describeRequiring(name, `test rig part(s) ${parts.join(', ')}`, rig !== undefined && reasons.length === 0 ? undefined : reasons.join('; '), () => {
    if (rig !== undefined) body(rig);
  });
}

/** describe() for tests that play a local attacker: they need root and the unprivileged uid `nobody`. */
export function describeAsRoot(name: string, body: () => void): void {
  const why = process.getuid?.() !== 0 ? 'not running as root' : spawnSync('id', ['-u', 'nobody']).status !== 0 ? 'no user nobody' : undefined;
  describeRequiring(name, 'root and the user nobody', why, body);
}

// The mandatory-in-CI / skipped-with-a-reason rule for one requirement.
function describeRequiring(name: string, needs: string, why: string | undefined, body: () => void): void {
  if (why === undefined) {
    describe(name, body);
    return;
  }
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      it(`needs ${needs}`, () => {
        throw new Error(`integration tests are mandatory in CI, but: ${why}`);
      });
    });
    return;
  }
  describe.skip(`${name} [skipped: ${why}]`, () => {
    it(`needs ${needs}`, () => {});
  });
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Runs a command; resolves with its exit code, rejects on spawn error or timeout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms; stderr: ${stderr.trim()}`));
        return;
      }
      resolve({ stdout, stderr, code: code ?? (signal !== null ? 128 : 1) });
    });
    // A child that exits without reading stdin must not crash us (EPIPE).
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** input and timeout of one rig tool's run (docker, ctr, crictl). */
export interface ToolOptions {
  input?: string;
  timeoutMs?: number;
}

function withEnv(env: Record<string, string>, opts: ToolOptions): RunOptions {
  const runOpts: RunOptions = { env };
  if (opts.input !== undefined) runOpts.input = opts.input;
  if (opts.timeoutMs !== undefined) runOpts.timeoutMs = opts.timeoutMs;
  return runOpts;
}

/**
 * Runs the docker CLI against the rig's own dockerd (never the machine's
 * default one), with the rig's DOCKER_CONFIG so logins made by tests stay in
 * the rig. Bounded by timeoutMs (default 60 s).
 */
export function docker(rig: Rig, args: string[], opts: ToolOptions = {}): Promise<RunResult> {
  // -H wins over DOCKER_HOST / DOCKER_CONTEXT from the environment.
  return run('docker', ['-H', rig.dockerHost, ...args], withEnv({ DOCKER_CONFIG: join(rig.stateDir, 'docker-config') }, opts));
}

/**
 * Runs one rig containerd instance's own ctr against its own socket (never
 * the machine's default containerd), bounded by timeoutMs (default 60 s).
 * CONTAINERD_NAMESPACE defaults to "default" and CONTAINERD_SNAPSHOTTER to
 * the snapshotter that works here (both beat the caller's environment; -n
 * and --snapshotter still win). containerd 2.x's ctr prints a cgroup v1
 * deprecation warning on stderr on hosts like this one: don't expect an
 * empty stderr.
 */
export function ctr(instance: RigContainerd, args: string[], opts: ToolOptions = {}): Promise<RunResult> {
  const env = { CONTAINERD_NAMESPACE: 'default', CONTAINERD_SNAPSHOTTER: instance.snapshotter };
  return run(instance.ctr, ['--address', instance.socket, ...args], withEnv(env, opts));
}

// up.sh writes crictl's config (both endpoints = the instance's socket, 30 s timeout) next to the socket.
function crictlConfig(instance: RigContainerdCri): string {
  return join(dirname(instance.socket), 'crictl.yaml');
}

/**
 * Runs crictl against the rig's CRI instance only (never /etc/crictl.yaml nor
 * the machine's default endpoints: --config names the rig's file), bounded
 * by timeoutMs (default 60 s). Pod and container configs are file paths
 * (JSON), as for a kubelet-less crictl: `crictl runp pod.json`,
 * `crictl create <pod> ctr.json pod.json`.
 */
export function crictl(instance: RigContainerdCri, args: string[], opts: ToolOptions = {}): Promise<RunResult> {
  // CONTAINER_RUNTIME_ENDPOINT / IMAGE_SERVICE_ENDPOINT from the caller would override the config.
  const env = { CONTAINER_RUNTIME_ENDPOINT: `unix://${instance.socket}`, IMAGE_SERVICE_ENDPOINT: `unix://${instance.socket}` };
  return run(instance.crictl, ['--config', crictlConfig(instance), ...args], withEnv(env, opts));
}
