// The fuzzing harness: what a target is, how one call is judged, and how a
// target is run for a budget of inputs and seconds. Shared by the CLI runner
// (test/fuzz/run.ts, `npm run fuzz`) and the short profile in the unit suite
// (test/unit/fuzz/fuzz.test.ts).
//
// A call passes when it returns a value the target's checks accept, or throws
// one of OUR typed errors (a CodedError subclass with a code the module is
// documented to throw). It fails when it throws anything else (TypeError,
// RangeError, SyntaxError, a foreign library's error...), when its result is
// partial or ill-typed, when a round trip disagrees, or when it takes more
// than CALL_TIME_CAP_MS.

import { performance } from 'node:perf_hooks';

import fc from 'fast-check';

import { CodedError } from '../../src/errors.js';

// A call slower than this is a failure (a hang in the making).
export const CALL_TIME_CAP_MS = 1_000;

// A property violation: what was wrong with a call's outcome.
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export function fail(message: string): never {
  throw new FuzzFailure(message);
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

type ErrorClass = abstract new (...args: never[]) => CodedError<string>;

// Which typed errors a module is documented to throw.
export interface Allowed {
  readonly type: ErrorClass;
  readonly codes: readonly string[];
}

// A bug already found and reported (test/unit/fuzz/regressions.test.ts has
// its counterexample as an `it.fails` test): inputs that hit it are counted,
// not failed, so that the fuzzer keeps looking for new ones.
export interface KnownBug<T> {
  readonly id: string;
  readonly matches: (input: T, failure: unknown) => boolean;
}

export interface FuzzTarget<T> {
  readonly name: string;
  // What is fuzzed, for the report.
  readonly covers: string;
  // Relative share of the full budget's inputs.
  readonly weight: number;
  // Relative time one input takes (default 1): the time budget is shared by
  // weight × cost, so slow targets get the seconds their inputs need.
  readonly cost?: number;
  readonly arbitrary: fc.Arbitrary<T>;
  // One call; throws FuzzFailure (or anything) when a property is violated.
  readonly run: (input: T) => void | Promise<void>;
  readonly known?: readonly KnownBug<T>[];
  // run returns a promise (checked with fc.asyncProperty).
  readonly async?: boolean;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

// A target with its input type erased, for one list of all targets.
export interface AnyTarget {
  readonly name: string;
  readonly covers: string;
  readonly weight: number;
  readonly cost: number;
  readonly arbitrary: fc.Arbitrary<unknown>;
  readonly run: (input: unknown) => void | Promise<void>;
  readonly known: readonly KnownBug<unknown>[];
  readonly async: boolean;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

export function target<T>(t: FuzzTarget<T>): AnyTarget {
  return {
    name: t.name,
    covers: t.covers,
    weight: t.weight,
    cost: t.cost ?? 1,
    arbitrary: t.arbitrary,
    run: (input) => t.run(input as T),
    async: t.async ?? false,
    known: (t.known ?? []).map((k) => ({ id: k.id, matches: (input: unknown, failure: unknown) => k.matches(input as T, failure) })),
    ...(t.setup !== undefined ? { setup: t.setup } : {}),
    ...(t.teardown !== undefined ? { teardown: t.teardown } : {}),
  };
}

function describeError(err: unknown): string {
  if (err instanceof CodedError) return `${err.name}(${err.code}): ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

function judgeError(err: unknown, allowed: readonly Allowed[], what: string): void {
  if (err instanceof FuzzFailure) throw err;
  const code: string | undefined = err instanceof CodedError ? err.code : undefined;
  const ok = code !== undefined && allowed.some((a) => err instanceof a.type && a.codes.includes(code));
  if (!ok) fail(`${what} threw an unclassified or undocumented error: ${describeError(err)}`);
}

function timed(started: number, what: string): void {
  const ms = performance.now() - started;
  if (ms > CALL_TIME_CAP_MS) fail(`${what} took ${ms.toFixed(0)} ms (cap ${CALL_TIME_CAP_MS} ms)`);
}

// Calls `fn`: its value, or undefined when it threw an allowed typed error.
export function outcome<R>(what: string, allowed: readonly Allowed[], fn: () => R): { ok: true; value: R } | { ok: false; error: CodedError<string> } {
  const started = performance.now();
  try {
    const value = fn();
    timed(started, what);
    return { ok: true, value };
  } catch (err) {
    timed(started, what);
    judgeError(err, allowed, what);
    return { ok: false, error: err as CodedError<string> };
  }
}

export async function outcomeAsync<R>(
  what: string,
  allowed: readonly Allowed[],
  fn: () => Promise<R>,
): Promise<{ ok: true; value: R } | { ok: false; error: CodedError<string> }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure(`${what} did not settle within ${CALL_TIME_CAP_MS} ms`)), CALL_TIME_CAP_MS);
  });
  try {
    const value = await Promise.race([fn(), cap]);
    timed(started, what);
    return { ok: true, value };
  } catch (err) {
    timed(started, what);
    judgeError(err, allowed, what);
    return { ok: false, error: err as CodedError<string> };
  } finally {
    clearTimeout(timer);
  }
}

export interface TargetResult {
  readonly name: string;
  readonly covers: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly seed: number;
  readonly interrupted: boolean;
  readonly failures: readonly { readonly counterexample: string; readonly error: string; readonly shrinks: number; readonly path: string | undefined }[];
  // Inputs that hit an already reported bug, by bug id.
  readonly known: Readonly<Record<string, number>>;
}

export interface RunOptions {
  readonly numRuns: number;
  readonly seconds: number;
  readonly seed?: number;
}

// Runs one target: up to numRuns inputs, at most `seconds` seconds.
export async function runTarget(t: AnyTarget, options: RunOptions): Promise<TargetResult> {
  const known: Record<string, number> = {};
  const recognise = (input: unknown, err: unknown): boolean => {
    const bug = t.known.find((k) => k.matches(input, err));
    if (bug === undefined) return false;
    known[bug.id] = (known[bug.id] ?? 0) + 1;
    return true;
  };
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const started = performance.now();
  await t.setup?.();
  let details: fc.RunDetails<[unknown]>;
  try {
    const parameters: fc.Parameters<[unknown]> = {
      numRuns: options.numRuns,
      seed,
      interruptAfterTimeLimit: Math.max(1, Math.round(options.seconds * 1000)),
      markInterruptAsFailure: false,
      endOnFailure: false,
    };
    if (t.async) {
      const property = fc.asyncProperty(t.arbitrary, async (input) => {
        try {
          await t.run(input);
        } catch (err) {
          if (!recognise(input, err)) throw err;
        }
      });
      details = await fc.check(property, parameters);
    } else {
      const property = fc.property(t.arbitrary, (input) => {
        try {
          void t.run(input);
        } catch (err) {
          if (!recognise(input, err)) throw err;
        }
      });
      details = fc.check(property, parameters);
    }
  } finally {
    await t.teardown?.();
  }
  const failures = details.failed
    ? [
        {
          counterexample: details.counterexample === null ? '(none)' : fc.stringify(details.counterexample[0]),
          error: details.errorInstance instanceof Error ? describeError(details.errorInstance) : String(details.errorInstance),
          shrinks: details.numShrinks,
          path: details.counterexamplePath ?? undefined,
        },
      ]
    : [];
  return {
    name: t.name,
    covers: t.covers,
    inputs: details.numRuns,
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    seed,
    interrupted: details.interrupted,
    failures,
    known,
  };
}
