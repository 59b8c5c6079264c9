// Ends the test output with one plain line, "N passed, N failed, N skipped",
// that any CI log reader understands, plus the reason of every skipped suite
// (a missing real part), so a skip is never silent.

import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skipReasons = new Set<string>();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          const suite = test.parent.type === 'suite' ? test.parent.name : test.module.moduleId;
          if (suite.includes('[skipped')) skipReasons.add(suite);
        }
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    for (const reason of skipReasons) process.stdout.write(`skipped suite: ${reason}\n`);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
