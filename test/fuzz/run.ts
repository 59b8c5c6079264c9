// `npm run fuzz`: every target of targets.ts with the full budget, each in a
// worker thread under a watchdog (a call that never returns cannot stall the
// run: the worker is terminated and the target reported as hung). Writes the
// JSON report to stdout and to fuzz-results/latest.json.
//
//   SSA_FUZZ_RUNS     total inputs over all targets (default 1000000),
//                     shared by weight
//   SSA_FUZZ_SECONDS  total time budget in seconds (default 540), shared by
//                     weight; a target stops at its share even short of its runs
//   SSA_FUZZ_TARGETS  comma-separated target names (default: all)
//   SSA_FUZZ_SEED     base seed, to replay a reported run
//   SSA_FUZZ_JOBS     targets run at once (default: CPU count)
//   SSA_FUZZ_OUT      report path (default fuzz-results/latest.json)
//
// Exit code 1 when a target failed (known bugs excepted, see targets.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { envNumber } from '../support/processes.js';
import { runTarget } from './harness.js';
import { ROOT } from './seeds.js';
import { TARGETS } from './targets.js';

import type { TargetResult } from './harness.js';

interface Job {
  readonly name: string;
  readonly numRuns: number;
  readonly seconds: number;
  readonly seed: number;
}

// Grace on top of a target's time share before the watchdog fires.
const WATCHDOG_GRACE_S = 60;

function plan(): Job[] {
  const totalRuns = envNumber('SSA_FUZZ_RUNS', 1_000_000);
  const totalSeconds = envNumber('SSA_FUZZ_SECONDS', 540);
  const jobs = Math.max(1, Math.floor(envNumber('SSA_FUZZ_JOBS', availableParallelism())));
  const wanted = (process.env['SSA_FUZZ_TARGETS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = wanted.filter((w) => !TARGETS.some((t) => t.name === w));
  if (unknown.length > 0) throw new Error(`unknown fuzz targets: ${unknown.join(', ')} (have ${TARGETS.map((t) => t.name).join(', ')})`);
  const chosen = wanted.length === 0 ? TARGETS : TARGETS.filter((t) => wanted.includes(t.name));
  const weights = chosen.reduce((sum, t) => sum + t.weight, 0);
  const costs = chosen.reduce((sum, t) => sum + t.weight * t.cost, 0);
  const baseSeed = envNumber('SSA_FUZZ_SEED', (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0 || 1);
  // Wall-clock budget: jobs run side by side, so each gets its weight ×
  // cost share of jobs × seconds (capped at the whole budget).
  return chosen.map((t, i) => ({
    name: t.name,
    numRuns: Math.max(1, Math.ceil((totalRuns * t.weight) / weights)),
    seconds: Math.min(totalSeconds, (totalSeconds * Math.min(jobs, chosen.length) * t.weight * t.cost) / costs),
    seed: (baseSeed + i * 7919) >>> 0,
  }));
}

function runInWorker(job: Job): Promise<TargetResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    let settled = false;
    const done = (result: TargetResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      resolve(result);
    };
    const broken = (error: string): TargetResult => ({
      name: job.name,
      covers: TARGETS.find((t) => t.name === job.name)?.covers ?? '',
      inputs: 0,
      seconds: (Date.now() - started) / 1000,
      seed: job.seed,
      interrupted: true,
      failures: [{ counterexample: `(replay: SSA_FUZZ_TARGETS=${job.name} SSA_FUZZ_SEED=${job.seed})`, error, shrinks: 0, path: undefined }],
      known: {},
    });
    const watchdog = setTimeout(
      () => {
        void worker.terminate();
        done(broken(`hang: no result within ${Math.round(job.seconds + WATCHDOG_GRACE_S)} s (a call never returned)`));
      },
      (job.seconds + WATCHDOG_GRACE_S) * 1000,
    );
    worker.once('message', (result: TargetResult) => {
      done(result);
      void worker.terminate();
    });
    worker.once('error', (err: Error) => done(broken(`worker crashed: ${err.message}`)));
    worker.once('exit', (code) => done(broken(`worker exited with code ${code} before reporting`)));
  });
}

async function main(): Promise<void> {
  const jobs = plan();
  const parallel = Math.max(1, Math.floor(envNumber('SSA_FUZZ_JOBS', availableParallelism())));
  const started = Date.now();
  const results: TargetResult[] = new Array<TargetResult>(jobs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i] as Job;
      const result = await runInWorker(job);
      results[i] = result;
      process.stderr.write(
        `fuzz ${result.name}: ${result.inputs} inputs, ${result.failures.length} failures, ${Object.values(result.known).reduce((a, b) => a + b, 0)} known-bug hits, ${result.seconds} s\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, lane));
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    budget: { runs: envNumber('SSA_FUZZ_RUNS', 1_000_000), seconds: envNumber('SSA_FUZZ_SECONDS', 540), jobs: parallel },
    totals: {
      inputs: results.reduce((s, r) => s + r.inputs, 0),
      failures: results.reduce((s, r) => s + r.failures.length, 0),
      knownBugHits: results.reduce((s, r) => s + Object.values(r.known).reduce((a, b) => a + b, 0), 0),
      seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    },
    targets: results,
  };
  const out = process.env['SSA_FUZZ_OUT'] ?? join(ROOT, 'fuzz-results', 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(out, text);
  process.stdout.write(text);
  process.exitCode = report.totals.failures > 0 ? 1 : 0;
}

async function worker(job: Job): Promise<void> {
  const t = TARGETS.find((x) => x.name === job.name);
  if (t === undefined) throw new Error(`no target ${job.name}`);
  const result = await runTarget(t, { numRuns: job.numRuns, seconds: job.seconds, seed: job.seed });
  parentPort?.postMessage(result);
}

if (isMainThread) {
  await main();
} else {
  await worker(workerData as Job);
}
