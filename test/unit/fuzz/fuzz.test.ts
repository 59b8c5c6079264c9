// The short fuzz profile of the unit suite: every target of test/fuzz/ with
// a few hundred inputs (the full budget is `npm run fuzz`). A failure
// prints the shrunk counterexample and the seed to replay it with
// (SSA_FUZZ_SEED=<seed> npm run fuzz).

import { describe, expect, it } from 'vitest';

import { runTarget } from '../../fuzz/harness.js';
import { TARGETS } from '../../fuzz/targets.js';

const RUNS = Number(process.env['SSA_FUZZ_SHORT_RUNS'] ?? 300);

describe('fuzz (short profile)', () => {
  for (const t of TARGETS) {
    it(`${t.name}: ${RUNS} inputs, no unclassified error, hang or partial result`, async () => {
      const result = await runTarget(t, { numRuns: t.async ? Math.ceil(RUNS / 3) : RUNS, seconds: 10 });
      expect(result.failures, `seed ${result.seed}`).toEqual([]);
      expect(result.inputs).toBeGreaterThan(0);
    });
  }
});
