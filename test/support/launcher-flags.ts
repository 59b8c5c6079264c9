// The V8 flags the launcher (bin/spire-sigstore-attestor) runs Node with:
// its one `V8_FLAGS='...'` line, which scripts/build-sea.mjs also builds into
// the single executable.

import { readFileSync } from 'node:fs';

import { launcherV8Flags as flagsOf } from '../../src/v8-flags.js';

export function launcherV8Flags(launcher: string): string[] {
  const flags = flagsOf(readFileSync(launcher, 'utf8'));
  if (flags === undefined) throw new Error(`${launcher} has no V8_FLAGS='...' line`);
  return flags;
}
