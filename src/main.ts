// Entry point. It imports nothing, so that on an unsupported Node.js it can
// still say so: ES module imports are linked before any code runs, and an
// older Node fails on a missing built-in export with a SyntaxError instead.
// The rest of the program (start.ts) is loaded only after the check.

// What @sigstore/verify and its siblings declare (engines).
const SUPPORTED = '^22.22.2 || ^24.15.0 || >=26.0.0';
const EXIT_USAGE = 2;

function supported(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  const atLeast = (m: number, p: number): boolean => minor > m || (minor === m && patch >= p);
  return (major === 22 && atLeast(22, 2)) || (major === 24 && atLeast(15, 0)) || major >= 26;
}

if (supported(process.versions.node)) {
  void import('./start.js');
} else {
  process.stderr.write(
    `spire-sigstore-attestor needs Node.js ${SUPPORTED} (Node.js 24 LTS recommended); this is ${process.version}. ` +
      'Point SPIRE_SIGSTORE_ATTESTOR_NODE at a supported node binary, or use the single executable.\n',
  );
  process.exitCode = EXIT_USAGE;
}
