// The plugin's V8 flags: those the launcher gives node (read here from its
// `V8_FLAGS='...'` line, for the single executable's build and the tests),
// and those the plugin sets for itself once it serves (src/start.ts).

// The flags on the `V8_FLAGS='...'` line of the launcher script's text
// (bin/spire-sigstore-attestor); undefined when it has none.
export function launcherV8Flags(launcherText: string): string[] | undefined {
  const line = /^V8_FLAGS='([^']*)'$/m.exec(launcherText);
  return line?.[1]?.split(' ').filter((flag) => flag !== '');
}

// V8 settings applied once serving, not on the command line, where they
// would slow the start; V8 reads each when it next needs it. A value given to
// node on the command line wins. Measured in bench `memory`.
export const SERVING_V8_FLAGS: readonly string[] = [
  // V8's old generation grows by 20% between full GCs instead of its dynamic
  // factor (up to 4x under a steady stream of short-lived gRPC objects), so
  // that a burst of Attests does not leave the heap several times what is
  // live. On the command line: ~20 ms more start (more GCs while the modules
  // load); read at each heap-limit update.
  '--heap-growing-percent=20',
  // undici's HTTP parser is WebAssembly: V8 would tier its hot functions up
  // to TurboFan, about 10 MB of RSS kept for the process's life, for the few
  // requests per image the plugin makes. With this budget (about 2^31 bytes
  // executed per function) they stay in the baseline compiler. On the
  // command line: ~25 ms more start (Node's CommonJS export lexer is
  // WebAssembly too); read when undici's parser is compiled.
  '--wasm-tiering-budget=2147483647',
  // Not set: --no-opt (no TurboFan) keeps about 5 MB less after a burst of
  // Attests, but a Go client's warm Attests/s drop by a quarter (bench
  // `memory` what-ifs and `warm`). Compiler flags like it belong here, not
  // on the launcher's command line: there V8 refuses the code caches that
  // Node's built-in modules ship with (--no-opt: ~20 ms more start).
];

// The V8 flag a command-line argument sets (`--no-opt` and `--opt` are one).
const flagName = (arg: string): string => (arg.split('=')[0] ?? '').replace(/^--(no-)?/, '').replaceAll('_', '-');

// The flags to set once serving: those node was not given on its command line.
export function servingV8Flags(execArgv: readonly string[]): string[] {
  return SERVING_V8_FLAGS.filter((flag) => !execArgv.some((arg) => flagName(arg) === flagName(flag)));
}
