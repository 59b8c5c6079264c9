// The V8 flags the launcher (bin/spire-sigstore-attestor) runs Node with:
// its one `V8_FLAGS='...'` line, which scripts/build-sea.mjs also builds into
// the single executable.

import { readFileSync } from 'node:fs';

export function launcherV8Flags(launcher: string): string[] {
  const line = /^V8_FLAGS='([^']*)'$/m.exec(readFileSync(launcher, 'utf8'));
  if (line?.[1] === undefined) throw new Error(`${launcher} has no V8_FLAGS='...' line`);
  return line[1].split(' ').filter((flag) => flag !== '');
}
