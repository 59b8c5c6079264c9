// Progress lines on stderr, stamped with the time since the bench started;
// the same clock gives the run's duration in the JSON. result.ts imports this
// module, so the clock starts before the record is made and `durationS`
// includes its machine() probes.

import { round } from './stats.js';

const benchStart = performance.now();

export function progress(message: string): void {
  process.stderr.write(`bench [${((performance.now() - benchStart) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
}

// Seconds since the bench started, as `durationS` records them.
export function elapsedS(): number {
  return round((performance.now() - benchStart) / 1000, 1);
}
