#!/usr/bin/env bash
# The demo: SPIRE issues SVIDs only to signed (and, where the entry asks, attested) containers, fully offline.
#
#   ./runall.sh          set up what is missing, run the demo, clean up
#   ./runall.sh --keep   leave spire-server, spire-agent and the demo images
#                        running/present afterwards (state: $SSA_STATE_DIR/demo)
#
# Steps: a supported Node.js (Node 24 from the npm registry when the machine's
# is older), npm ci, build (and the single-executable plugin), the test rig
# (private dockerd, registry on 127.0.0.1, spire-server/agent and cosign built
# once from the Go module proxy), then the scenario in test/e2e/demo.test.ts:
# seven workloads in containers ask the Workload API for an X.509-SVID and a
# table says who got one and why. Exit code 0 only when every expectation held.
set -euo pipefail
cd "$(dirname "$0")"

KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "runall.sh: unknown argument '$arg' (usage: ./runall.sh [--keep])" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
step() { echo "runall: [$(( $(date +%s) - started ))s] $*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "runall: missing $1 — $2" >&2; exit 1; }; }

[ "$(id -u)" = 0 ] || { echo "runall: run as root (the demo starts its own dockerd and reads /proc of containers)" >&2; exit 1; }
need npm "install Node.js/npm (any version; Node 24 is provisioned from the npm registry)"
need git "install git"

step "Node.js"
source test/env/node.sh
step "node $(node --version)"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

step "build"
npm run -s build
if npm run -s build:sea >/dev/null 2>&1; then
  step "single-executable plugin: dist-sea/spire-sigstore-attestor, sha256 $(cut -d' ' -f1 dist-sea/spire-sigstore-attestor.sha256 2>/dev/null || sha256sum dist-sea/spire-sigstore-attestor | cut -d' ' -f1)"
else
  rm -f dist-sea/spire-sigstore-attestor
  step "single-executable build not available here; the demo uses bin/spire-sigstore-attestor"
fi

step "test rig (first run builds SPIRE and cosign: several minutes)"
test/env/up.sh

step "demo scenario"
source "${SSA_STATE_DIR:-${TMPDIR:-/tmp}/ssa-rig}/env.sh"
rc=0
SSA_DEMO_KEEP=$KEEP npx vitest run test/e2e/demo.test.ts --reporter=dot >"$SSA_STATE_DIR/demo.log" 2>&1 || rc=$?
grep '^demo:' "$SSA_STATE_DIR/demo.log" || true
echo
if [ -f "$SSA_STATE_DIR/demo/report.txt" ]; then
  cat "$SSA_STATE_DIR/demo/report.txt"
else
  echo "runall: the demo did not get as far as the table; its log:" >&2
  tail -n 40 "$SSA_STATE_DIR/demo.log" >&2
fi
echo
if [ $rc -eq 0 ]; then
  step "every expectation held: SVIDs only for the signed and attested workloads (wall time $(( $(date +%s) - started )) s)"
else
  step "FAILED: some expectation did not hold (details: $SSA_STATE_DIR/demo.log)"
fi
[ $KEEP = 1 ] && echo "runall: --keep: agent socket $SSA_STATE_DIR/demo/agent/agent.sock; stop with test/env/down.sh and kill the spire processes"
exit $rc
