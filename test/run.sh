#!/usr/bin/env bash
# The test command (`npm test`), complete from a fresh clone in a fresh shell:
#  1. a supported Node.js first on PATH (Node 24 from the npm registry when
#     the machine's is older),
#  2. dependencies from the lockfile (npm ci, when node_modules is missing or
#     older than the lockfile),
#  3. the rig: test/env/up.sh installs and builds what is missing, starts it,
#  4. the plugin, and its single executable (tested too),
#  5. every test: unit, integration, end to end, with coverage and its
#     thresholds (vitest; extra arguments are passed on instead, e.g.
#     `npm test -- --project unit`).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=env/node.sh
source test/env/node.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
test/env/up.sh
npm run -s build:sea
# The whole suite is measured against the coverage thresholds
# (vitest.config.ts); a run narrowed by arguments is not.
if [ "$#" -eq 0 ]; then
  exec node_modules/.bin/vitest run --coverage
fi
exec node_modules/.bin/vitest run "$@"
