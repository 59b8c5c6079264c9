#!/usr/bin/env bash
# Stop what test/env/up.sh started: containers on the rig's dockerd and
# podman, then the registries, the podman service and dockerd, found by
# their pid files in $SSA_STATE_DIR. Waits are bounded; a daemon that does
# not stop on TERM within 20 s gets KILL.
#
#   test/env/down.sh           stop; keep data (images, registry blobs) and
#                              the cache (built binaries), so up.sh is fast
#   test/env/down.sh --purge   stop, then delete $SSA_STATE_DIR entirely
#
# It never touches processes it did not start (pids are checked against the
# expected command name) nor the machine's default docker/registry services.

set -euo pipefail

PURGE=
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    *) echo "down.sh: unknown argument '$arg' (usage: down.sh [--purge])" >&2; exit 2 ;;
  esac
done

_tmp="${TMPDIR:-/tmp}"
STATE="${SSA_STATE_DIR:-${_tmp%/}/ssa-rig}"
log() { echo "down.sh: $*" >&2; }

if [ ! -d "$STATE" ]; then
  log "nothing to do: no state dir $STATE"
  exit 0
fi

# Same lock as up.sh's daemon starter, so we don't race a concurrent up.sh
# (bounded: give up waiting after 60 s).
exec 8>>"$STATE/up.lock"
flock -w 60 8 || { log "ERROR: $STATE/up.lock held for 60 s by a running up.sh; try again"; exit 1; }

pid_alive() { # PIDFILE NAME
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

stop_pid() { # PIDFILE NAME LABEL
  local pidfile=$1 name=$2 label=$3 pid i
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  log "[$label] stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "[$label] pid $pid ignored TERM for 20 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# Containers first, while the engines still answer (bounded by timeout).
if pid_alive "$STATE/docker.pid" dockerd; then
  ids=$(timeout 20 docker -H "unix://$STATE/docker.sock" ps -aq 2>/dev/null || true)
  if [ -n "$ids" ]; then
    log "[docker] removing $(echo "$ids" | wc -l) container(s)"
    # shellcheck disable=SC2086
    timeout 60 docker -H "unix://$STATE/docker.sock" rm -f $ids >/dev/null 2>&1 || log "[docker] some containers could not be removed"
  fi
fi
if pid_alive "$STATE/podman.pid" podman; then
  log "[podman] removing containers"
  timeout 60 podman --url "unix://$STATE/podman.sock" rm -a -f >/dev/null 2>&1 || log "[podman] some containers could not be removed"
fi

for pidfile in "$STATE"/registry-*.pid; do
  [ -e "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  stop_pid "$pidfile" docker-registry "$name"
done
stop_pid "$STATE/podman.pid" podman podman
rm -f "$STATE/podman.sock" "$STATE/podman.ok"
# dockerd stops its own containerd on TERM.
stop_pid "$STATE/docker.pid" dockerd docker
rm -f "$STATE/dockerd.launch.pid"
# rig.json would otherwise claim parts that are gone.
rm -f "$STATE/rig.json"

if [ -n "$PURGE" ]; then
  # podman's storage keeps its overlay dir bind-mounted after the service
  # stops, and a killed dockerd may leave overlays: unmount what is under
  # the state dir (deepest first), and never rm -rf across a mount.
  awk -v p="$STATE/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if grep -q " $STATE/" /proc/mounts; then
    log "ERROR: mounts remain under $STATE (see /proc/mounts); not purging"
    exit 1
  fi
  log "purging $STATE"
  rm -rf "$STATE"
fi
log "rig stopped"
