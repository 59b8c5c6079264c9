#!/usr/bin/env bash
# Stop what test/env/up.sh started: containers on the rig's dockerd and
# podman, the containerd instances (1.6 in $SSA_STATE_DIR/ctrd, 2.x in
# $SSA_STATE_DIR/ctrd2, 2.x with CRI in $SSA_STATE_DIR/ctrdcri, its pods
# first) with their containers and shims, then the
# registries, the podman service and dockerd, found by their pid files in
# $SSA_STATE_DIR. Waits are bounded; a daemon that does
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

# running PID: the process exists and has not exited (PID 1 here may reap
# late, and a zombie still answers kill -0).
running() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
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
  for _ in $(seq 1 100); do running "$pid" || break; sleep 0.2; done
  if running "$pid"; then
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

# containerd: tasks and containers first (through the daemon's own ctr, next
# to its binary), then the daemon. A shim outlives its daemon; one whose
# daemon died before its containers is found by our socket after -address
# on its command line: its container is deleted with runc (state in the
# shims' default runc root, /run/containerd/runc/<namespace>; processes
# killed if that fails), then the shim is stopped.
shim_arg() { # FLAG ARGS...: the value after FLAG in ARGS
  local flag=$1; shift
  while [ $# -gt 1 ]; do
    [ "$1" = "$flag" ] && { echo "$2"; return; }
    shift
  done
}

stop_containerd() { # SUBDIR LABEL
  local dir="$STATE/$1" label=$2
  local pidfile="$dir/containerd.pid" sock="$dir/containerd.sock" name="containerd --config $dir/config.toml"
  local ctr ns id n=0 p args i f kids child shim_ns shim_id
  if pid_alive "$pidfile" "$name"; then
    ctr="$(dirname "$(readlink "/proc/$(cat "$pidfile")/exe")")/ctr"
    if [ -x "$ctr" ]; then
      for ns in $(timeout 10 "$ctr" --address "$sock" namespaces ls -q 2>/dev/null); do
        for id in $(timeout 10 "$ctr" --address "$sock" -n "$ns" containers ls -q 2>/dev/null); do
          # --force kills a running task first.
          timeout 20 "$ctr" --address "$sock" -n "$ns" tasks delete --force "$id" >/dev/null 2>&1 || true
          timeout 20 "$ctr" --address "$sock" -n "$ns" containers delete "$id" >/dev/null 2>&1 || true
          n=$((n + 1))
        done
      done
      [ "$n" -eq 0 ] || log "[$label] removed $n container(s)"
    fi
  fi
  stop_pid "$pidfile" "$name" "$label"
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/exe" 2>/dev/null)" in */containerd-shim-runc-v2) ;; *) continue ;; esac
    mapfile -d '' args <"$p/cmdline" 2>/dev/null || continue
    for ((i = 0; i + 1 < ${#args[@]}; i++)); do
      if [ "${args[i]}" = -address ] && [ "${args[i + 1]}" = "$sock" ]; then
        shim_ns=$(shim_arg -namespace "${args[@]}") shim_id=$(shim_arg -id "${args[@]}")
        log "[$label] stopping orphaned shim ${p#/proc/} and its container $shim_ns/$shim_id"
        if ! { [ -n "$shim_ns" ] && [ -n "$shim_id" ] \
            && timeout 20 runc --root "/run/containerd/runc/$shim_ns" delete --force "$shim_id" >/dev/null 2>&1; }; then
          for f in "$p"/task/*/children; do
            read -r -a kids <"$f" 2>/dev/null || true
            for child in "${kids[@]}"; do kill -KILL "$child" 2>/dev/null || true; done
          done
        fi
        kill -TERM "${p#/proc/}" 2>/dev/null || true
        break
      fi
    done
  done
  rm -f "$sock" "$sock.ttrpc" "$dir/ok" "$dir/cri-ok"
}

# The CRI instance's pods, through CRI (crictl next to its socket, linked
# there by up.sh): stopped, then removed with their containers.
stop_cri_pods() { # SUBDIR LABEL
  local dir="$STATE/$1" label=$2 c ids
  pid_alive "$dir/containerd.pid" "containerd --config $dir/config.toml" && [ -x "$dir/crictl" ] || return 0
  c=("$dir/crictl" --config "$dir/crictl.yaml")
  ids=$(timeout 20 "${c[@]}" pods -q 2>/dev/null) || return 0
  [ -n "$ids" ] || return 0
  log "[$label] stopping and removing $(echo "$ids" | wc -l) pod(s)"
  # shellcheck disable=SC2086
  timeout 60 "${c[@]}" stopp $ids >/dev/null 2>&1 || log "[$label] some pods could not be stopped"
  timeout 60 "${c[@]}" rmp -a -f >/dev/null 2>&1 || log "[$label] some pods could not be removed"
}
stop_cri_pods ctrdcri containerdCri
stop_containerd ctrdcri containerdCri
stop_containerd ctrd2 containerd2
stop_containerd ctrd containerd

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
