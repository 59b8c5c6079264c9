// Where the repository is, and the plugin's two entry points: the bin/
// launcher (which needs to be told which Node to run) and the single
// executable.

import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Walks up from this module, so it works from bench/ and from dist-bench/.
// A package.json that is a symbolic link is not the root: it is
// dist-bench/package.json, which lib/proto-dir.ts links to the real one.
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && !lstatSync(pkg).isSymbolicLink() && /"name":\s*"spire-sigstore-attestor"/.test(readFileSync(pkg, 'utf8'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the repository root (package.json of spire-sigstore-attestor)');
}

export const REPO = findRepoRoot();
export const LAUNCHER = join(REPO, 'bin/spire-sigstore-attestor');
export const SEA = join(REPO, 'dist-sea/spire-sigstore-attestor');
export const LAUNCHER_ENV = { SPIRE_SIGSTORE_ATTESTOR_NODE: process.execPath };
