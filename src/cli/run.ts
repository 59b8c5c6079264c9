// CLI mode: what the binary does when a person (not spire-agent) runs it.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { createAttestor } from '../app/compose.js';
import { buildConfig } from '../config/build.js';
import { ERROR_CODES, isAttestorError, messageOf } from '../errors.js';
import { silentLogger } from '../log.js';
import { HELP } from './help.js';
import { humanReport, verifyBundleFile, verifyInRegistry } from './verify.js';
import { packageVersion } from '../util/version.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const ATTEST_TIMEOUT_MS = 30_000;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

class UsageError extends Error {}

async function readConfigText(file: string | undefined): Promise<string> {
  if (file === undefined) return '';
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --config file ${file}: ${messageOf(err)}`);
  }
}

async function attestCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { pid: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const pid = Number(values.pid);
  if (values.pid === undefined || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new UsageError('attest needs --pid <positive integer>');
  }
  const config = buildConfig(await readConfigText(values.config), { oneShot: true });
  const attestor = createAttestor(config, silentLogger);
  try {
    const report = await attestor.explain(pid, AbortSignal.timeout(ATTEST_TIMEOUT_MS));
    if (values.json) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      io.out(report.selectors.length === 0 ? `pid ${pid}: no selectors (${report.outcome})\n` : `${report.selectors.join('\n')}\n`);
    }
    return EXIT.ok;
  } finally {
    await attestor.close();
  }
}

async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, bundle: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [image, ...extra] = positionals;
  if (image === undefined || extra.length > 0) throw new UsageError('verify needs exactly one <image-ref>');
  const config = buildConfig(await readConfigText(values.config), { oneShot: true });
  const result =
    values.bundle !== undefined
      ? await verifyBundleFile(config, image, values.bundle)
      : await verifyInRegistry(config, image, AbortSignal.timeout(ATTEST_TIMEOUT_MS));
  io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : humanReport(result));
  return result.verified ? EXIT.ok : EXIT.failed;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'version':
      case '--version':
        io.out(`spire-sigstore-attestor ${packageVersion()}\n`);
        return EXIT.ok;
      case 'attest':
        return await attestCommand(rest, io);
      case 'verify':
        return await verifyCommand(rest, io);
      default:
        throw new UsageError(`unknown command "${command}" (see --help)`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (isAttestorError(err)) {
      io.err(`error [${err.code}]: ${err.message}\n`);
      return ERROR_CODES[err.code].exit;
    }
    io.err(`error: ${messageOf(err)}\n`);
    return EXIT.failed;
  }
}
