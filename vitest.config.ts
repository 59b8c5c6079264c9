import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests share one dockerd/registry; keep files in one process
    // at a time so they do not trip over each other's containers.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
