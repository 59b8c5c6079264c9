// The product finds its .proto files relative to its compiled module
// (src/util/protos.ts: PROTO_DIR = <module>/../../proto/), which is the
// repository's proto/ for dist/ but dist-bench/proto/ for the benchmark's own
// build of src/ (dist-bench/src/...). The in-process attestor loads
// containerd's protos from there when it first meets a containerd
// container, and src/plugin/protos.ts imports ../../proto/generated/plugin.js,
// so this module links dist-bench/proto to proto/. ES modules resolve all of
// their imports before any of them runs, so `npm run bench` runs this module
// on its own first; it is also the first import of run.ts and probe.ts. The same for package.json, which
// src/util/version.ts reads as <module>/../../package.json (the plugin
// version the persisted verdicts carry: the fleet phase's restart). Run from
// the sources (not compiled) it does nothing.

import { existsSync, lstatSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { REPO } from './paths.js';

// <build root>/bench/lib/proto-dir.js -> <build root>/proto, the same
// place <build root>/src/util/protos.js resolves ../../proto/ to.
const buildRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const link = join(buildRoot, 'proto');
const target = join(REPO, 'proto');
if (buildRoot !== REPO && !existsSync(join(link, 'containerd'))) {
  // A dangling link or an empty directory from an earlier build: replace it.
  if (existsSync(link) || isLink(link)) rmSync(link, { recursive: true, force: true });
  symlinkSync(relative(buildRoot, target), link, 'dir');
}

const pkgLink = join(buildRoot, 'package.json');
if (buildRoot !== REPO && !existsSync(pkgLink)) {
  if (isLink(pkgLink)) rmSync(pkgLink, { force: true });
  symlinkSync(relative(buildRoot, join(REPO, 'package.json')), pkgLink, 'file');
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
