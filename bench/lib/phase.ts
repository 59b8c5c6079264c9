// Runs one phase: a failure is recorded in the JSON's `errors` and the run
// goes on with the next phase.

import { progress } from './progress.js';
import { result } from './result.js';
import { messageOf } from './util.js';

// SSA_BENCH_ONLY=1,2,4b (phase number prefixes) runs only those phases
// (development aid; setup always runs).
const ONLY = (process.env['SSA_BENCH_ONLY'] ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter((x) => x !== '');

export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  const id = name.split(' ')[0]?.replace(/\.$/, '') ?? '';
  if (ONLY.length > 0 && !name.startsWith('setup') && !ONLY.some((o) => id === o || id.startsWith(o))) {
    progress(`${name}: skipped (SSA_BENCH_ONLY)`);
    return undefined;
  }
  progress(`${name}`);
  try {
    return await fn();
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    result.errors.push({ phase: name, error });
    progress(`${name} FAILED: ${messageOf(err)}`);
    return undefined;
  }
}
