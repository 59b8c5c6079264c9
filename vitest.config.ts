import { defineConfig } from 'vitest/config';

// Two projects: unit tests start nothing (no daemons, no rig), integration
// and end-to-end tests get the rig from the global setup and run one file at
// a time, since they share one dockerd, registry and Podman service.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // From the whole suite (unit + integration + e2e) on 2026-12-01:
      // statements 82.2 %, branches 78.1 %, functions 78.9 %, lines 84.4 %.
      // Functions sit one point below: timing decides a few retry paths.
      // Raise them as tests are added; never lower them.
      thresholds: { statements: 84, branches: 80, functions: 82, lines: 86 },
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/support/no-network.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
