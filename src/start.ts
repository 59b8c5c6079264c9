// Started by spire-agent (the go-plugin magic cookie is in the environment)
// it serves the plugin protocol; started by a person it is a small CLI.
// Loaded by main.ts once the Node.js version is known to be supported.

import { fileURLToPath } from 'node:url';
import { isSea } from 'node:sea';
import { setFlagsFromString } from 'node:v8';

import { enablePrivateCompileCache } from './compile-cache.js';
import { messageOf } from './errors.js';
import { childHclDecoder, isHclChildLaunch, runHclChild } from './config/hcl-child.js';
import { isPluginLaunch } from './plugin/handshake.js';
import { servingV8Flags } from './v8-flags.js';

import type { AttestorService } from './app/service.js';
import type { CompileCacheOutcome } from './compile-cache.js';
import type { HostMetricsSink } from './plugin/host.js';
import type { SelfCommand } from './config/hcl-child.js';
import type { HclogLogger } from './plugin/hclog.js';

// This program, to start again as a child: the single executable, or the
// node binary running us with our own main.js (never a lookup on PATH).
function selfCommand(): SelfCommand {
  return isSea() ? { file: process.execPath, args: [] } : { file: process.execPath, args: [fileURLToPath(new URL('./main.js', import.meta.url))] };
}

// The handshake is written before Configure, so only the protocol layer
// (grpc-js, our .proto files) loads before it; the product (configuration
// parser, runtime and registry clients, sigstore-js) loads at the first
// Configure or Validate, and once.
function lazyProduct(log: HclogLogger): () => Promise<AttestorService> {
  let loading: Promise<AttestorService> | undefined;
  return () =>
    (loading ??= Promise.all([import('./app/service.js'), import('./app/compose.js')]).then(
      ([{ AttestorService }, { createAttestor }]) =>
        new AttestorService({
          log,
          createAttestor: (config, logger, metrics) => createAttestor(config, logger, { metrics }),
          onLogLevel: (level) => log.setLevel(level),
          decodeHcl: childHclDecoder(selfCommand()),
        }),
    ));
}

async function runPlugin(compileCache: CompileCacheOutcome | undefined): Promise<void> {
  const [{ servePlugin }, { HclogLogger }] = await Promise.all([import('./plugin/serve.js'), import('./plugin/hclog.js')]);
  const log = new HclogLogger({ level: 'info' });
  // Dependencies that print go to stderr as debug lines, never stdout.
  console.log = console.info = console.debug = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  if (compileCache?.enabled === false) log.warn('starting without the compile cache', { reason: compileCache.reason });
  const product = lazyProduct(log);
  // Nothing to close before the product has loaded. The metrics sink comes
  // with Init, before the first Configure loads the product.
  let loaded: AttestorService | undefined;
  let metrics: HostMetricsSink | undefined;
  const service = async (): Promise<AttestorService> => {
    if (loaded) return loaded;
    loaded = await product();
    loaded.useMetrics(metrics);
    return loaded;
  };
  const host = {
    configure: async (text: string) => (await service()).configure(text),
    validate: async (text: string) => (await service()).validate(text),
    attest: (pid: number, signal: AbortSignal) => (loaded ? loaded.attest(pid, signal) : service().then((s) => s.attest(pid, signal))),
    attestNow: (pid: number) => loaded?.attestNow(pid),
    useMetrics: (sink: HostMetricsSink | undefined) => {
      metrics = sink;
      loaded?.useMetrics(sink);
    },
    close: async () => loaded?.close(),
  };
  await servePlugin({ host, log, env: process.env });
  for (const flag of servingV8Flags(process.execArgv)) setFlagsFromString(flag);
}

async function main(): Promise<void> {
  // Spawn -> handshake is dominated by compiling our modules and their
  // dependencies; Node's on-disk compile cache halves it for every start
  // after the first. Only in a directory of our own (see compile-cache.ts);
  // the single executable has everything compiled in already.
  const compileCache = isSea() ? undefined : enablePrivateCompileCache(fileURLToPath(new URL('../.compile-cache', import.meta.url)));
  if (compileCache?.enabled === 'unsafe') {
    // Fail closed: what we run may already have been read from there.
    const message = `refusing to start: ${compileCache.reason}; unset NODE_COMPILE_CACHE (the launcher does)`;
    process.stderr.write(isPluginLaunch(process.env) ? `${JSON.stringify({ '@level': 'error', '@message': message })}\n` : `error: ${message}\n`);
    process.exit(isPluginLaunch(process.env) ? 1 : 2);
  }
  if (isHclChildLaunch(process.env)) {
    process.exitCode = await runHclChild().catch((err: unknown) => {
      process.stderr.write(`${messageOf(err)}\n`);
      return 1;
    });
    return;
  }
  if (isPluginLaunch(process.env)) {
    try {
      await runPlugin(compileCache);
    } catch (err) {
      process.stderr.write(`${JSON.stringify({ '@level': 'error', '@message': `plugin failed to start: ${messageOf(err)}` })}\n`);
      process.exit(1);
    }
    return;
  }
  const { runCli } = await import('./cli/run.js');
  const code = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}

void main();
