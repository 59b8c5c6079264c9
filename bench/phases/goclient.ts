// 1 (continued). Warm Attest from a Go gRPC client, as spire-agent calls the
// plugin: bench/go/attestload (google.golang.org/grpc, one ClientConn, no
// generated code) run against the same plugin process and container as the
// grpc-js figure, at each of KNOBS.goClientConcurrency. The client is a
// separate process: this one waits (idle) while it runs, so the plugin and
// the Go client share the machine's cores.
//
// The binary is built on demand into the rig's cache folder
// (${SSA_CACHE_DIR:-~/.cache/spire-sigstore-attestor}/bin/attestload, next
// to spire-agent and cosign), once: a stamp next to it (the hash of the
// module's files and the Go version) says when it must be rebuilt.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

import { KNOBS } from '../lib/knobs.js';
import { VERIFIED_BOUND_SELECTORS } from '../lib/load.js';
import { REPO } from '../lib/paths.js';
import { cpuMsOf, type Plugin } from '../lib/plugin.js';
import { progress } from '../lib/progress.js';
import { row } from '../lib/result.js';
import { round, type Summary } from '../lib/stats.js';

const run = promisify(execFile);

const SRC = join(REPO, 'bench/go/attestload');
const SRC_FILES = ['main.go', 'go.mod', 'go.sum'];
// The gRPC module the client is built with (bench/go/attestload/go.mod).
const GRPC_GO = /^require google\.golang\.org\/grpc (v\S+)$/m;

// As test/env/up.sh: $SSA_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/spire-sigstore-attestor.
function cacheBinDir(): string {
  const cache = process.env['SSA_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'spire-sigstore-attestor');
  return join(cache, 'bin');
}

export const ATTESTLOAD = join(cacheBinDir(), 'attestload');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// `go` on PATH, else /usr/local/go/bin/go (where the go machines have it).
function findGo(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'go'))) return join(dir, 'go');
  }
  return executable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

export interface AttestloadBuild {
  path: string;
  built: boolean;
  buildMs?: number;
  goVersion: string;
  grpcGo: string;
}

// Builds bench/go/attestload into the cache folder unless the binary there
// matches the sources (the stamp). As up.sh builds spire and cosign:
// GOTOOLCHAIN=local (never another toolchain), -mod=mod, -trimpath,
// -ldflags "-s -w"; the module proxy is whatever GOPROXY says. Built to a
// .partial file and renamed, so a failed build never leaves a broken binary.
export async function ensureAttestload(): Promise<AttestloadBuild> {
  const grpcGo = GRPC_GO.exec(readFileSync(join(SRC, 'go.mod'), 'utf8'))?.[1] ?? '?';
  const go = findGo();
  if (!go) {
    if (executable(ATTESTLOAD)) return { path: ATTESTLOAD, built: false, goVersion: 'no go toolchain: binary used as found', grpcGo };
    throw new Error('no Go toolchain (go on PATH or /usr/local/go/bin/go) to build bench/go/attestload');
  }
  const env = { ...process.env, GOTOOLCHAIN: 'local' };
  const goVersion = (await run(go, ['env', 'GOVERSION'], { env, timeout: 30_000 })).stdout.trim();
  const hash = createHash('sha256').update(goVersion);
  for (const f of SRC_FILES) hash.update(`\0${f}\0`).update(readFileSync(join(SRC, f)));
  const stamp = hash.digest('hex');
  const stampFile = `${ATTESTLOAD}.stamp`;
  if (executable(ATTESTLOAD) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) {
    return { path: ATTESTLOAD, built: false, goVersion, grpcGo };
  }
  mkdirSync(cacheBinDir(), { recursive: true });
  const partial = `${ATTESTLOAD}.partial`;
  progress(`building ${SRC} -> ${ATTESTLOAD} (${goVersion}, grpc-go ${grpcGo})`);
  const t0 = performance.now();
  try {
    await run(go, ['build', '-mod=mod', '-buildvcs=false', '-trimpath', '-ldflags', '-s -w', '-o', partial, '.'], {
      cwd: SRC,
      env,
      timeout: 300_000,
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (err) {
    rmSync(partial, { force: true });
    const e = err as { stderr?: string; message?: string };
    throw new Error(`go build of bench/go/attestload failed: ${(e.stderr ?? e.message ?? String(err)).slice(-2_000)}`);
  }
  renameSync(partial, ATTESTLOAD);
  writeFileSync(stampFile, `${stamp}\n`);
  return { path: ATTESTLOAD, built: true, buildMs: round(performance.now() - t0, 0), goVersion, grpcGo };
}

// What attestload prints (one JSON object).
export interface AttestloadRun {
  rpc: string;
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  concurrency: number;
  warmup: number;
  unexpected: number;
  firstError?: string;
  selectors?: string[];
  stoppedBy: string;
  clientCpuMs: number;
  clientCpuMsPerAttest: number;
  goVersion: string;
  gomaxprocs: number;
}

export async function runAttestload(
  bin: string,
  socketPath: string,
  pid: number,
  concurrency: number,
  rpc: 'attest' | 'health' = 'attest',
): Promise<AttestloadRun> {
  const args = [
    '-rpc',
    rpc,
    '-socket',
    socketPath,
    '-pid',
    String(pid),
    '-concurrency',
    String(concurrency),
    '-count',
    String(KNOBS.goClientCalls),
    '-duration',
    `${KNOBS.goClientCapS}s`,
    '-warmup',
    String(KNOBS.goClientWarmupCalls),
    '-expect',
    VERIFIED_BOUND_SELECTORS.join(','),
  ];
  // Warm-up and measured loop are each capped at goClientCapS: the process
  // cap leaves room for both and for a slow start.
  const { stdout } = await run(bin, args, { timeout: (2 * KNOBS.goClientCapS + 30) * 1000, maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as AttestloadRun;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

// figures.warmGoClient: the Go client on `plugin` (already configured and
// warm) attesting `pid`; grpcJs is figures.warmGrpc.byConcurrency of the
// same process, for the comparison.
export async function goClientFigure(plugin: Plugin, pid: number, grpcJs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const build = await ensureAttestload();
  const perN: Record<string, unknown> = {};
  let best: { n: number; perS: number } | undefined;
  for (const n of KNOBS.goClientConcurrency) {
    const loadBefore = loadAverage();
    const cpu0 = cpuMsOf(plugin.pid);
    const r = await runAttestload(build.path, plugin.socketPath, pid, n);
    const pluginCpu = cpuMsOf(plugin.pid) - cpu0;
    // The plugin's CPU over the whole client run: the first call, the warm-up and the measured calls.
    const calls = r.requests + r.errors + r.warmup;
    const latencyMs: Summary = { samples: r.requests, median: r.p50Ms, p99: r.p99Ms, min: r.minMs, max: r.maxMs, mean: r.meanMs };
    perN[`N=${n}`] = {
      latencyMs,
      throughputPerS: r.perSecond,
      wallMs: round(r.seconds * 1000, 1),
      completed: r.requests,
      errors: r.errors,
      firstError: r.firstError,
      unexpectedSelectors: r.unexpected,
      stoppedBy: r.stoppedBy,
      warmupCalls: r.warmup,
      pluginCpuMsPerAttest: round(pluginCpu / Math.max(1, calls), 4),
      clientCpuMsPerAttest: r.clientCpuMsPerAttest,
      loadAverageBefore: loadBefore,
    };
    row(`warm Attest Go gRPC client, N=${n}`, 'ms', latencyMs, `${r.perSecond} Attests/s${r.errors > 0 ? `, ${r.errors} errors` : ''}`);
    if (r.errors === 0 && r.unexpected === 0 && (best === undefined || r.perSecond > best.perS)) best = { n, perS: r.perSecond };
  }
  // The gRPC ceiling from the same client: Health/Check (no attestation
  // work) at the highest N, and the plugin's CPU per call.
  const hn = Math.max(...KNOBS.goClientConcurrency);
  const hc0 = cpuMsOf(plugin.pid);
  const h = await runAttestload(build.path, plugin.socketPath, pid, hn, 'health');
  const hcPlugin = cpuMsOf(plugin.pid) - hc0;
  const healthCeiling = {
    what: `Health/Check (no attestation work) from the same Go client, N=${hn}, same counts and caps`,
    latencyMs: { samples: h.requests, median: h.p50Ms, p99: h.p99Ms, min: h.minMs, max: h.maxMs, mean: h.meanMs } satisfies Summary,
    throughputPerS: h.perSecond,
    errors: h.errors,
    firstError: h.firstError,
    pluginCpuMsPerCall: round(hcPlugin / Math.max(1, h.requests + h.errors + h.warmup), 4),
    clientCpuMsPerCall: h.clientCpuMsPerAttest,
  };
  row(`gRPC ceiling, Go client: Health/Check, N=${hn}`, 'ms', healthCeiling.latencyMs, `${h.perSecond} calls/s`);
  const grpcJsBest = Object.entries(grpcJs).reduce<{ n: number; perS: number } | undefined>((b, [k, v]) => {
    const perS = (v as { throughputPerS?: unknown }).throughputPerS;
    return typeof perS === 'number' && (b === undefined || perS > b.perS) ? { n: Number(k.slice(2)), perS } : b;
  }, undefined);
  return {
    what: `Attest{pid} from bench/go/attestload (google.golang.org/grpc ${build.grpcGo}, ${build.goVersion}: one ClientConn on the plugin's unix socket, as go-plugin gives spire-agent; raw-bytes codec, hand-encoded AttestRequest), same plugin process and container as warmGrpc, after the grpc-js runs; per N: ${KNOBS.goClientWarmupCalls} warm-up calls, then up to ${KNOBS.goClientCalls} calls or ${KNOBS.goClientCapS} s; every answer checked for the verified-and-bound selectors`,
    pid,
    client: build,
    byConcurrency: perN,
    bestThroughputPerS: best?.perS,
    bestN: best?.n,
    grpcJsBestThroughputPerS: grpcJsBest?.perS,
    grpcJsBestN: grpcJsBest?.n,
    goOverGrpcJs: best && grpcJsBest ? round(best.perS / grpcJsBest.perS, 2) : undefined,
    grpcCeiling: healthCeiling,
    note: `the Go client and the plugin share this machine's ${cpus().length} cores (the bench process waits); load average before each run in loadAverageBefore`,
  };
}
