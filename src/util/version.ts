// The package version, read once from package.json next to dist/ or src/
// (in the single-executable build: from its embedded package.json asset).

import { readFileSync } from 'node:fs';
import { getAsset, isSea } from 'node:sea';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const text = isSea() ? getAsset('package.json', 'utf8') : readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    const version = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
    cached = typeof version === 'string' ? version : 'unknown';
  }
  return cached;
}
