// Child-process probes for `npm run bench` (run as separate Node processes so
// that their memory is theirs alone; prints one JSON line):
//
//   node dist-bench/bench/probe.js imports
//     RSS / heap / external after importing each heavy dependency in turn,
//     then the attestor and the plugin layer: what the resident set at start
//     is made of.
//   node dist-bench/bench/probe.js hcl <none|in-process|worker|child> <plugin_data file> <main.js>
//     RSS with grpc-js loaded before and after decoding plugin_data once
//     (js-hcl-parser in process, in a worker_thread that is then terminated,
//     or in a child process as the plugin does), after a full GC.
//   node dist-bench/bench/probe.js dockerode <trimmed|whole>
//     RSS with grpc-js loaded before and after loading dockerode as the
//     product does (without its SSH transport and BuildKit session) or whole,
//     after a full GC.
//   node dist-bench/bench/probe.js attest <product|sync> <plugin_data file> <count> <concurrency> <pid>...
//     `count` attestations in process (no gRPC) over the pids, with the
//     product's ProcReader or a synchronous one (the what-if), and the memory
//     before and after: how much of the growth the /proc read path causes.

// First: the product's proto/ where its compiled modules look for it.
import './lib/proto-dir.js';

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

const mb = (v: number): number => Math.round((v / 1024 / 1024) * 10) / 10;

function usage(label: string): Record<string, number | string> {
  const u = process.memoryUsage();
  return {
    at: label,
    rssMb: mb(u.rss),
    heapTotalMb: mb(u.heapTotal),
    heapUsedMb: mb(u.heapUsed),
    externalMb: mb(u.external),
    arrayBuffersMb: mb(u.arrayBuffers),
  };
}

// dockerode as the product loads it: without its SSH transport and BuildKit
// session (src/runtime/dockerode-unused.ts).
async function loadDockerode(): Promise<unknown> {
  const { skipUnusedDockerodeModules } = await import('../src/runtime/dockerode-unused.js');
  skipUnusedDockerodeModules();
  return import('dockerode');
}

async function imports(): Promise<void> {
  const points = [usage('bare node')];
  const steps: Array<[string, () => Promise<unknown>]> = [
    // What the handshake loads:
    ['@grpc/grpc-js', () => import('@grpc/grpc-js')],
    ['plugin protocol code (proto/generated, protobufjs/minimal)', () => import('../src/plugin/protos.js')],
    ['plugin layer (src/plugin/serve)', () => import('../src/plugin/serve.js')],
    // What Configure loads:
    ['attestor (src/attest, our code)', () => import('../src/attest/attestor.js')],
    [
      '@sigstore/verify + bundle + core + protobuf-specs',
      () => Promise.all([import('@sigstore/verify'), import('@sigstore/bundle'), import('@sigstore/core'), import('@sigstore/protobuf-specs')]),
    ],
    // Loaded on first use:
    ['undici (first registry request)', () => import('undici')],
    ['dockerode (first Docker/Podman call)', loadDockerode],
    ['@grpc/proto-loader (first containerd call)', () => import('@grpc/proto-loader')],
    // Only in the short-lived child that decodes plugin_data:
    ['js-hcl-parser', () => import('js-hcl-parser')],
  ];
  for (const [label, load] of steps) {
    await load();
    points.push(usage(`+ ${label}`));
  }
  process.stdout.write(`${JSON.stringify({ points })}\n`);
}

let gc: (() => void) | undefined;

// Memory usage after a pause and a full GC.
async function settled(label: string): Promise<Record<string, number | string>> {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  await new Promise((r) => setTimeout(r, 300));
  gc();
  await new Promise((r) => setTimeout(r, 300));
  return usage(label);
}

// One probe's answer: memory before and after, and the RSS between them.
function writeDelta(mode: string, before: Record<string, number | string>, after: Record<string, number | string>): void {
  process.stdout.write(`${JSON.stringify({ mode, before, after, deltaRssMb: Math.round((Number(after['rssMb']) - Number(before['rssMb'])) * 10) / 10 })}\n`);
}

async function hcl(mode: string, hclFile: string, mainJs: string): Promise<void> {
  await import('@grpc/grpc-js');
  const text = readFileSync(hclFile, 'utf8');
  const before = await settled('grpc-js loaded');
  if (mode === 'in-process') {
    const { parseHcl } = await import('../src/config/hcl.js');
    parseHcl(text);
  } else if (mode === 'worker') {
    const worker = new Worker(
      "const { parentPort, workerData } = require('node:worker_threads'); parentPort.postMessage(require('js-hcl-parser').parse(workerData));",
      {
        eval: true,
        workerData: text,
      },
    );
    await new Promise((r) => worker.once('message', r));
    await worker.terminate();
  } else if (mode === 'child') {
    const { childHclDecoder } = await import('../src/config/hcl-child.js');
    await childHclDecoder({ file: process.execPath, args: [mainJs] })(text);
  }
  const after = await settled(`decoded (${mode})`);
  writeDelta(mode, before, after);
}

// RSS of a process with grpc-js loaded, before and after loading dockerode as
// the product does (`trimmed`) or whole, after a full GC.
async function dockerode(mode: string): Promise<void> {
  await import('@grpc/grpc-js');
  const before = await settled('grpc-js loaded');
  await (mode === 'trimmed' ? loadDockerode() : import('dockerode'));
  const after = await settled(`dockerode loaded (${mode})`);
  writeDelta(mode, before, after);
}

async function attest(mode: string, hclFile: string, count: number, concurrency: number, pids: number[]): Promise<void> {
  const { buildConfig } = await import('../src/config/build.js');
  const { createAttestor } = await import('../src/app/compose.js');
  const { silentLogger } = await import('../src/log.js');
  const config = buildConfig(readFileSync(hclFile, 'utf8'));
  const attestor = createAttestor(config, silentLogger, {});
  await attestor.ready();
  for (const pid of pids) await attestor.explain(pid, AbortSignal.timeout(30_000));
  const before = usage('warm, before the loop');
  let issued = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < count) {
        const pid = pids[issued++ % pids.length] ?? -1;
        // As the plugin's Attest handler: the warm path, else the checks
        // under an AbortController of their own.
        try {
          if (attestor.attestNow(pid) === undefined) await attestor.attest(pid, new AbortController().signal);
        } catch {
          errors++;
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const after = usage(`after ${count} attestations`);
  const status = readFileSync('/proc/self/status', 'utf8');
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
  process.stdout.write(
    `${JSON.stringify({ mode, nodeFlags: process.execArgv.join(' '), count, concurrency, errors, wallMs: Math.round(wallMs), before, after, peakRssMb: Math.round(hwm * 10) / 10 })}\n`,
  );
}

const [cmd, ...args] = process.argv.slice(2);
const done = (p: Promise<void>): void => {
  p.then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
};
if (cmd === 'imports') done(imports());
else if (cmd === 'hcl') {
  const [mode = 'none', file = '', mainJs = ''] = args;
  done(hcl(mode, file, mainJs));
} else if (cmd === 'dockerode') {
  done(dockerode(args[0] ?? 'trimmed'));
} else if (cmd === 'attest') {
  const [mode = 'product', hcl = '', count = '10000', conc = '16', ...pids] = args;
  done(attest(mode, hcl, Number(count), Number(conc), pids.map(Number)));
} else {
  process.stderr.write(
    'usage: probe.js imports | hcl <none|in-process|worker|child> <hcl> <main.js> | dockerode <trimmed|whole> | attest <product|sync> <hcl> <count> <concurrency> <pid>...\n',
  );
  process.exit(2);
}
