#!/usr/bin/env node
// Builds dist-sea/spire-sigstore-attestor: one executable file (Node.js
// Single Executable Application) holding the Node runtime that runs this
// script, all of our code and its dependencies, so that SPIRE's
// plugin_checksum (sha256 of the plugin_cmd file) covers everything that runs.
//
//   npm run build:sea        (= npm run build && node scripts/build-sea.mjs)
//
// Steps:
//  1. esbuild bundles dist/main.js (the tsc output) into one CommonJS file:
//     the SEA of Node 24 runs a single CommonJS script (no ESM main, no
//     --build-sea before Node 25.5). `import.meta.url` becomes the file URL of
//     the executable; native addons (ssh2's sshcrypto, cpu-features: optional,
//     loaded in try/catch) are replaced by a stub that throws, so those
//     packages use their pure-JS fallbacks; dockerode's SSH transport and
//     BuildKit session are left out (src/runtime/dockerode-unused.ts).
//  2. What the program reads from files in dev becomes SEA assets:
//     containerd-protos.json (containerd's .proto files parsed by protobufjs
//     at build time, as src/util/protos.ts loads them; the plugin protocol's
//     are compiled code, proto/generated/plugin.js, bundled), package.json (version), seeds.json
//     (@sigstore/tuf: the embedded public-good trusted root).
//  3. `node --experimental-sea-config` writes the preparation blob (no V8 code
//     cache unless SSA_SEA_CODE_CACHE=1: see CODE_CACHE).
//  4. The blob is injected with postject into a copy of process.execPath,
//     which is then checked (`version`, with a NODE_OPTIONS it must ignore)
//     and its sha256 printed and written to
//     dist-sea/spire-sigstore-attestor.sha256 (sha256sum format).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const NAME = 'spire-sigstore-attestor';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const OUT_DIR = join(ROOT, 'dist-sea');
const WORK = join(OUT_DIR, '.work');
const OUTPUT = join(OUT_DIR, NAME);
// A V8 code cache in the blob starts the plugin ~50 ms sooner, but V8 does not
// write it byte-for-byte the same twice, so each build would get a different
// sha256. Off by default: the same sources, lockfile and Node binary give the
// same executable and checksum. SSA_SEA_CODE_CACHE=1 turns it on.
const CODE_CACHE = process.env.SSA_SEA_CODE_CACHE === '1';
const started = performance.now();
const require = createRequire(import.meta.url);

function step(message) {
  process.stderr.write(`build-sea: [${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

// The V8 flags of the launcher script: its one `V8_FLAGS='...'` line
// (src/v8-flags.ts reads it).
async function launcherV8Flags() {
  const { launcherV8Flags: flagsOf } = await import(pathToFileURL(join(DIST, 'v8-flags.js')).href);
  const flags = flagsOf(readFileSync(join(ROOT, 'bin', NAME), 'utf8'));
  if (flags === undefined) fail(`bin/${NAME} has no V8_FLAGS='...' line`);
  return flags;
}

function fail(message) {
  process.stderr.write(`build-sea: ${message}\n`);
  process.exit(1);
}

const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) fail(`needs Node.js ^22.22.2 || ^24.15.0 || >=26 to build (this is ${process.version}); source test/env/node.sh`);
if (!process.config.variables.single_executable_application) fail(`${process.execPath} was built without SEA support`);
try {
  statSync(join(DIST, 'main.js'));
} catch {
  fail('dist/main.js is missing: run `npm run build` first (or `npm run build:sea`, which does)');
}

rmSync(WORK, { recursive: true, force: true });
rmSync(OUTPUT, { force: true });
rmSync(`${OUTPUT}.sha256`, { force: true });
mkdirSync(WORK, { recursive: true });

// 1. Bundle.
step(`bundling dist/main.js with esbuild`);
const esbuild = await import('esbuild');
const META_URL = '__ssaImportMetaUrl';
const nativeAddonStub = {
  name: 'native-addon-stub',
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-addon-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'native-addon-stub' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`native addon ${args.path} is not part of the single executable`)});`,
      loader: 'js',
    }));
  },
};
// dockerode's SSH transport and BuildKit session: the same stand-ins as the
// resolution hook the launcher's code installs (src/runtime/dockerode-unused.ts).
const { unusedModule } = await import(pathToFileURL(join(DIST, 'runtime', 'dockerode-unused.js')).href);
const unusedDockerodeModules = {
  name: 'unused-dockerode-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\// }, (args) => {
      const unused = unusedModule(args.path, args.importer);
      return unused === undefined
        ? undefined
        : { path: `${relative(ROOT, args.importer)}:${args.path}`, namespace: 'unused-dockerode-module', pluginData: unused };
    });
    build.onLoad({ filter: /.*/, namespace: 'unused-dockerode-module' }, (args) => ({ contents: args.pluginData.source, loader: 'js' }));
  },
};
// The blob records the main script's path as given (stack traces show it): keep
// it relative, and all paths in the bundle relative to the repo, so that the
// executable does not depend on where the repo is checked out.
const bundleFile = join(WORK, `${NAME}.cjs`);
const result = await esbuild.build({
  entryPoints: [join(DIST, 'main.js')],
  outfile: bundleFile,
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'silent',
  define: { 'import.meta.url': META_URL },
  // In a SEA, __filename is process.execPath.
  banner: { js: `"use strict";var ${META_URL}=require("node:url").pathToFileURL(__filename).href;` },
  plugins: [nativeAddonStub, unusedDockerodeModules],
});
for (const w of result.warnings) {
  const where = w.location ? `${w.location.file}:${w.location.line}: ` : '';
  process.stderr.write(`build-sea: esbuild warning: ${where}${w.text}\n`);
}
writeFileSync(join(WORK, 'meta.json'), JSON.stringify(result.metafile));
const bundled = readFileSync(bundleFile, 'utf8');
// Inside the SEA, require() loads built-in modules only: whatever the bundle
// still requires must be one, or an optional package required in try/catch.
const OPTIONAL_EXTERNALS = new Set(['supports-color']); // debug's colours
const externals = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !isBuiltin(i.path) && !OPTIONAL_EXTERNALS.has(i.path));
if (externals.length > 0) fail(`the bundle loads from files: ${externals.map((i) => `${i.kind} ${i.path}`).join(', ')}`);
if (/\bimport\.meta\b/.test(bundled)) fail('the bundle still uses import.meta');
step(`bundle: ${(bundled.length / 1024 / 1024).toFixed(2)} MiB from ${Object.keys(result.metafile.inputs).length} modules`);

// 2. Assets.
step('preparing assets (proto sets, package.json, seeds.json)');
const protoUtil = await import(pathToFileURL(join(DIST, 'util', 'protos.js')).href);
const protoLoader = require('@grpc/proto-loader');
// Load the files exactly as @grpc/proto-loader's loadSync does, keep the
// parsed protobufjs root as JSON: one asset per proto set.
const { loadProtosWithOptionsSync } = require('@grpc/proto-loader/build/src/util.js');
const protoSets = [{ module: 'runtime/containerd/protos.js', set: 'CONTAINERD_PROTOS', services: 'CONTAINERD_SERVICE', messages: 'CONTAINERD_MESSAGE' }];
const protobuf = require('protobufjs');
const protoAssets = {};
for (const entry of protoSets) {
  const mod = await import(pathToFileURL(join(DIST, entry.module)).href);
  const set = mod[entry.set];
  const options = { ...protoUtil.PROTO_LOAD_OPTIONS, includeDirs: [protoUtil.PROTO_DIR] };
  const root = loadProtosWithOptionsSync([...set.files], options);
  const protoJson = JSON.stringify(root.toJSON());
  // The embedded form must give the same services and messages as the files.
  const fromFiles = protoLoader.loadSync([...set.files], options);
  const fromJson = protoLoader.fromJSON(JSON.parse(protoJson), protoUtil.PROTO_LOAD_OPTIONS);
  const shape = (def) =>
    Object.fromEntries(
      Object.entries(def).map(([name, d]) =>
        'format' in d
          ? [name, { format: d.format, type: d.type }]
          : [
              name,
              Object.fromEntries(
                Object.entries(d).map(([m, md]) => [m, [md.path, md.requestStream, md.responseStream, md.requestType.type.name, md.responseType.type.name]]),
              ),
            ],
      ),
    );
  if (!isDeepStrictEqual(shape(fromFiles), shape(fromJson))) fail(`${set.asset} does not reproduce the .proto files`);
  for (const name of Object.values(mod[entry.services])) {
    if (!(name in fromJson)) fail(`${set.asset} lacks service ${name}`);
  }
  // Messages decoded from an Any (src/util/protos.ts messageDecoder reads the
  // asset with protobufjs itself).
  const asRoot = protobuf.Root.fromJSON(JSON.parse(protoJson));
  for (const name of entry.messages === undefined ? [] : Object.values(mod[entry.messages])) {
    try {
      asRoot.lookupType(name);
    } catch {
      fail(`${set.asset} lacks message ${name}`);
    }
  }
  protoAssets[set.asset] = protoJson;
}
const assets = {
  ...Object.fromEntries(Object.keys(protoAssets).map((name) => [name, join(WORK, name)])),
  'package.json': join(ROOT, 'package.json'),
  'seeds.json': require.resolve('@sigstore/tuf/seeds.json'),
};
for (const [name, json] of Object.entries(protoAssets)) writeFileSync(assets[name], json);

// 3. Preparation blob.
step(`writing the SEA blob with ${process.execPath} (${process.version}), code cache ${CODE_CACHE ? 'on' : 'off'}`);
const blobFile = join(WORK, 'sea-prep.blob');
const seaConfig = {
  main: relative(WORK, bundleFile),
  output: relative(WORK, blobFile),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: CODE_CACHE,
  // NODE_OPTIONS (e.g. --require of a file) would run code the checksum does
  // not cover: ignore it, and take no Node.js options from the command line.
  // The launcher's V8 settings (bin/spire-sigstore-attestor says why).
  execArgv: await launcherV8Flags(),
  execArgvExtension: 'none',
  assets: Object.fromEntries(Object.entries(assets).map(([key, file]) => [key, relative(WORK, file)])),
};
const seaConfigFile = join(WORK, 'sea-config.json');
writeFileSync(seaConfigFile, `${JSON.stringify(seaConfig, null, 2)}\n`);
const blob = spawnSync(process.execPath, ['--experimental-sea-config', seaConfigFile], { cwd: WORK, encoding: 'utf8' });
if (blob.status !== 0) fail(`node --experimental-sea-config failed (${blob.status}): ${blob.stderr}${blob.stdout}`);

// 4. Inject into a copy of this node binary.
step('injecting the blob into a copy of the node binary (postject)');
const tmp = `${OUTPUT}.partial`;
copyFileSync(process.execPath, tmp);
chmodSync(tmp, 0o755);
{
  // postject (LIEF) prints harmless "Can't find string offset for section
  // name '.note...'" lines to stderr on ELF; keep our output readable.
  const inj = spawnSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(require.resolve('postject'))}).inject(process.argv[1], 'NODE_SEA_BLOB', require('node:fs').readFileSync(process.argv[2]), { sentinelFuse: ${JSON.stringify(SEA_FUSE)} }).catch((e) => { console.error(e); process.exit(1); })`,
      tmp,
      blobFile,
    ],
    { encoding: 'utf8' },
  );
  if (inj.status !== 0) fail(`postject failed (${inj.status}): ${inj.stderr}${inj.stdout}`);
}
renameSync(tmp, OUTPUT);

// Smoke check: the executable runs our code, reads its assets, and ignores
// NODE_OPTIONS (a --require of a missing file would make it fail to start).
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const check = spawnSync(OUTPUT, ['version'], {
  encoding: 'utf8',
  env: { ...process.env, WorkloadAttestor: '', NODE_OPTIONS: `--require ${join(WORK, 'no-such-file.cjs')}` },
});
if (check.status !== 0 || !check.stdout.includes(pkg.version)) {
  fail(`${relative(ROOT, OUTPUT)} version failed (${check.status}): ${check.stdout}${check.stderr}`);
}

const digest = createHash('sha256').update(readFileSync(OUTPUT)).digest('hex');
writeFileSync(`${OUTPUT}.sha256`, `${digest}  ${NAME}\n`);
rmSync(WORK, { recursive: true, force: true });
const size = statSync(OUTPUT).size;
step(`done: ${relative(ROOT, OUTPUT)}, ${(size / 1024 / 1024).toFixed(1)} MiB, Node ${process.version}`);
process.stdout.write(`${digest}  ${relative(ROOT, OUTPUT)}\n`);
