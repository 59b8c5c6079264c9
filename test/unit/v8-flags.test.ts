// The V8 flags the plugin sets once serving, unless node was given them.

import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { SERVING_V8_FLAGS, servingV8Flags } from '../../src/v8-flags.js';

describe('V8 flags set once serving', () => {
  it('are all set when node was given none of them', () => {
    expect(servingV8Flags([])).toEqual(SERVING_V8_FLAGS);
    expect(servingV8Flags(['--max-semi-space-size=1', '--no-concurrent-recompilation'])).toEqual(SERVING_V8_FLAGS);
    expect(SERVING_V8_FLAGS).toEqual(expect.arrayContaining(['--no-opt', '--heap-growing-percent=20']));
  });

  it('leave a flag given on the command line, in either spelling and either sense, to it', () => {
    expect(servingV8Flags(['--opt'])).not.toContain('--no-opt');
    expect(servingV8Flags(['--no-opt'])).not.toContain('--no-opt');
    expect(servingV8Flags(['--heap_growing_percent=0'])).not.toContain('--heap-growing-percent=20');
    expect(servingV8Flags(['--wasm-tiering-budget=13000000'])).toEqual(SERVING_V8_FLAGS.filter((f) => !f.startsWith('--wasm-tiering-budget')));
    // A flag that only starts like one of them is another flag.
    expect(servingV8Flags(['--optimize-for-size'])).toEqual(SERVING_V8_FLAGS);
  });

  it('are flags this Node.js accepts, and --no-opt set at run time stops TurboFan', () => {
    const script = (flags: readonly string[]): string => `
      const v8 = require('node:v8');
      for (const f of ${JSON.stringify(flags)}) v8.setFlagsFromString(f);
      function hot(x) { let s = 0; for (let i = 0; i < 100; i++) s += (x * i) % 7; return s; }
      let t = 0; for (let i = 0; i < 2e6; i++) t += hot(i);
      console.log(t > 0);`;
    const out = execFileSync(process.execPath, ['--trace-opt', '-e', script(SERVING_V8_FLAGS)], { encoding: 'utf8' });
    expect(out.trim().endsWith('true')).toBe(true);
    expect(out).not.toMatch(/target TURBOFAN/);
    // The same loop without them reaches TurboFan: the check can fail.
    const control = execFileSync(process.execPath, ['--trace-opt', '-e', script([])], { encoding: 'utf8' });
    expect(control).toMatch(/target TURBOFAN/);
  });
});
