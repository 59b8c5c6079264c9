// The V8 flags the plugin sets once serving, unless node was given them.

import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { launcherV8Flags, SERVING_V8_FLAGS, servingV8Flags } from '../../src/v8-flags.js';

describe('V8 flags set once serving', () => {
  it('are all set when node was given none of them', () => {
    expect(servingV8Flags([])).toEqual(SERVING_V8_FLAGS);
    expect(servingV8Flags(['--max-semi-space-size=1', '--no-concurrent-recompilation'])).toEqual(SERVING_V8_FLAGS);
    expect(SERVING_V8_FLAGS).toEqual(expect.arrayContaining(['--heap-growing-percent=20', '--wasm-tiering-budget=2147483647']));
  });

  it('leave a flag given on the command line, in either spelling and either sense, to it', () => {
    expect(servingV8Flags(['--heap_growing_percent=0'])).not.toContain('--heap-growing-percent=20');
    expect(servingV8Flags(['--wasm-tiering-budget=13000000'])).toEqual(SERVING_V8_FLAGS.filter((f) => !f.startsWith('--wasm-tiering-budget')));
    // A flag that only starts like one of them is another flag.
    expect(servingV8Flags(['--heap-growing-percent-max=5', '--wasm-tiering'])).toEqual(SERVING_V8_FLAGS);
  });

  it('are flags this Node.js accepts at run time', () => {
    const script = `for (const f of ${JSON.stringify(SERVING_V8_FLAGS)}) require('node:v8').setFlagsFromString(f); console.log('ok');`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('ok');
  });
});

describe("the launcher's V8_FLAGS line", () => {
  it('gives its flags, one word each, and undefined when there is no such line', () => {
    expect(launcherV8Flags("#!/bin/sh\nV8_FLAGS='--a=1  --b'\nexec node $V8_FLAGS main.js\n")).toEqual(['--a=1', '--b']);
    expect(launcherV8Flags("V8_FLAGS=''\n")).toEqual([]);
    expect(launcherV8Flags("#!/bin/sh\n# V8_FLAGS='--a'\nexec node main.js\n")).toBeUndefined();
  });
});
