#!/usr/bin/env bash
# The end-to-end demo (signed, unsigned and tampered workloads asking SPIRE
# for SVIDs) arrives with the demo issue. Until then this brings up the rig
# and runs the tests.
set -euo pipefail
cd "$(dirname "$0")"
source test/env/node.sh
npm ci --no-audit --no-fund
test/env/up.sh
npm test
