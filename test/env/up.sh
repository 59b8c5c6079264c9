#!/usr/bin/env bash
# Bring up the integration-test rig: real parts, on loopback only.
#
#   test/env/up.sh               install what is missing (Debian packages),
#                                build what is missing (spire-agent,
#                                spire-server, cosign), start everything
#   test/env/up.sh --no-install  start only what is already installed and
#                                built; never runs apt-get or go build (the
#                                test runner's global setup uses this)
#
# What runs, each as our own process with its own socket / port, never the
# machine's default services:
#   - dockerd    on unix://$SSA_STATE_DIR/docker.sock, no bridge, no iptables
#                (containers must be run with --network none)
#   - image      ssa-busybox:1, FROM scratch + Debian's static busybox, built
#                locally: nothing is pulled from anywhere
#   - registry   Debian's docker-registry (distribution) on 127.0.0.1:5055
#   - podman     `podman system service` on unix://$SSA_STATE_DIR/podman.sock
#                (optional: recorded as unavailable if it cannot work)
#   - containerd Debian's containerd 1.6 (/usr/bin/containerd, with its own
#                shim) on $SSA_STATE_DIR/ctrd/containerd.sock, and containerd
#                2.x (built, with its own shim) on
#                $SSA_STATE_DIR/ctrd2/containerd.sock; own root, state and
#                config, CRI disabled, no TCP listeners (optional: recorded
#                as unavailable if they cannot work). Their images come from
#                the registry: ssa-busybox:1 is pushed there as ssa/busybox:1
#   - containerd-cri  a third instance of the same 2.x with the CRI plugin
#                on, for crictl (kubelet-style pods: host network, cgroupfs,
#                no CNI) on $SSA_STATE_DIR/ctrdcri/containerd.sock; its
#                sandbox image is ssa-pause:1 (FROM scratch + busybox
#                sleeping), pushed to the registry as ssa/pause:1 (optional)
#   - binaries   spire-agent / spire-server v1.15.3, cosign, containerd 2.x
#                (containerd, ctr, containerd-shim-runc-v2) and crictl, built
#                from the Go module proxy into $SSA_CACHE_DIR/bin
# and at the end $SSA_STATE_DIR/rig.json (read by test/support/rig.ts) and
# $SSA_STATE_DIR/env.sh (`source` it to use the rig by hand).
#
# Idempotent: when everything is up a re-run only checks, rewrites nothing
# and takes well under 2 s. Safe to run concurrently (locks below).
#
# Environment:
#   SSA_CACHE_DIR      binaries and build dirs
#                      (default ${XDG_CACHE_HOME:-$HOME/.cache}/spire-sigstore-attestor)
#   SSA_STATE_DIR      sockets, data dirs, logs, pid files (default ${TMPDIR:-/tmp}/ssa-rig)
#   SSA_REGISTRY_PORT  port of the plain registry on 127.0.0.1 (default 5055)
#   SSA_COSIGN_VERSION cosign version to build (default below)
#   SSA_CONTAINERD2_VERSION  containerd 2.x version to build (default below)
#   SSA_CRICTL_VERSION crictl (cri-tools) version to build (default below)
#
# Network rule: every server listens on a unix socket or on 127.0.0.1 only,
# and the daemons that could pull images (dockerd, podman, containerd) get an
# HTTP(S) proxy pointing at a closed loopback port, so any accidental pull of
# a non-loopback image fails at once instead of leaving the machine. Only the
# install steps (apt-get, the Go module proxy) talk to the outside.
#
# Stop with test/env/down.sh.

set -euo pipefail

# ---------------------------------------------------------------- settings --

MODE=install
for arg in "$@"; do
  case "$arg" in
    --no-install) MODE=no-install ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "up.sh: unknown argument '$arg' (usage: up.sh [--no-install])" >&2; exit 2 ;;
  esac
done

SSA_CACHE_DIR="${SSA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spire-sigstore-attestor}"
_tmp="${TMPDIR:-/tmp}"
SSA_STATE_DIR="${SSA_STATE_DIR:-${_tmp%/}/ssa-rig}"
SSA_REGISTRY_PORT="${SSA_REGISTRY_PORT:-5055}"
SPIRE_VERSION=v1.15.3
SSA_COSIGN_VERSION="${SSA_COSIGN_VERSION:-v3.1.3}"
BUSYBOX_IMAGE=ssa-busybox:1
# The same image in the rig registry, where the containerd instances pull it.
REGISTRY_BUSYBOX_REPO=ssa/busybox
REGISTRY_BUSYBOX="127.0.0.1:$SSA_REGISTRY_PORT/$REGISTRY_BUSYBOX_REPO:1"
SSA_CONTAINERD2_VERSION="${SSA_CONTAINERD2_VERSION:-v2.4.2}"
SSA_CRICTL_VERSION="${SSA_CRICTL_VERSION:-v1.37.0}"
# The CRI instance's sandbox ("pause") image: built locally, pushed once.
PAUSE_IMAGE=ssa-pause:1
REGISTRY_PAUSE="127.0.0.1:$SSA_REGISTRY_PORT/ssa/pause:1"
APT_PACKAGES=(docker.io docker-registry busybox-static podman)

STATE="$SSA_STATE_DIR"
BIN="$SSA_CACHE_DIR/bin"
DOCKER_SOCK="$STATE/docker.sock"
PODMAN_SOCK="$STATE/podman.sock"
# containerd 2.x: containerd, ctr and containerd-shim-runc-v2 in a folder of
# their own, so 2.x's shim is never on the PATH of Debian's containerd 1.6.
CTRD2_BIN="$BIN/containerd-$SSA_CONTAINERD2_VERSION"
# crictl, relative to $BIN, in a folder of its own (crictl also looks for a
# crictl.yaml next to itself).
CRICTL="cri-tools-$SSA_CRICTL_VERSION/crictl"
CTRDCRI_DIR="$STATE/ctrdcri"
# PATH of Debian's containerd 1.6: system folders only, so its shim is
# Debian's /usr/bin/containerd-shim-runc-v2 and its runc /usr/sbin/runc.
SYSTEM_PATH=/usr/sbin:/usr/bin:/sbin:/bin
# A closed loopback port used as HTTP(S) proxy for dockerd, podman and
# containerd (see "Network rule" above). Go never proxies loopback
# addresses, so the local registries keep working.
DEAD_PROXY=http://127.0.0.1:9

# Parts that could not be brought up: part -> reason (goes into rig.json).
declare -A UNAVAILABLE=()
# containerd instances that are up: key (containerd, containerd2,
# containerdCri) -> their rig.json object.
declare -A CONTAINERD_JSON=()

log() { echo "up.sh: $*" >&2; }
die() { echo "up.sh: ERROR: $*" >&2; exit 1; }

# Unix socket paths are limited to 108 bytes; containerd's socket sits a few
# levels below the state dir, so refuse paths that would break it obscurely.
if [ "${#STATE}" -gt 60 ]; then
  die "SSA_STATE_DIR '$STATE' is too long for unix socket paths (max 60 chars); set SSA_STATE_DIR to a shorter path"
fi

mkdir -p "$STATE" "$BIN"

# Two locks (opened for append: a re-run must not even touch their mtime), so a slow build never blocks a test run that only needs the
# daemons: fd 8 serializes starting daemons (state dir), fd 9 serializes
# apt-get and go builds (cache dir). Daemons are started with both fds closed
# so they never inherit (and keep holding) a lock.
exec 8>>"$STATE/up.lock"
exec 9>>"$SSA_CACHE_DIR/build.lock"

# ----------------------------------------------------------------- helpers --

# wait_until SECONDS CMD...: poll CMD every 0.2 s; bounded.
wait_until() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# pid_alive PIDFILE NAME: the pid in PIDFILE runs and its command line
# mentions NAME (guards against a recycled pid).
pid_alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# launch PIDFILE LOGFILE CMD...: start CMD as a daemon in its own session
# (so it survives this script and a test runner killing our process group),
# with no inherited stdio (so callers waiting for our pipes to close don't
# hang) and no lock fds. The pid is written by the process itself just
# before it execs CMD, so PIDFILE is exact.
launch() {
  local pidfile=$1 logfile=$2; shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
  wait_until 5 test -s "$pidfile" || true
}

# stop_pid PIDFILE NAME: TERM, bounded wait, then KILL.
stop_pid() {
  local pidfile=$1 name=$2 pid
  pid_alive "$pidfile" "$name" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  wait_until 20 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

last_lines() { tail -n "${2:-5}" "$1" 2>/dev/null | sed 's/^/    /' >&2 || true; }

json_str() { # JSON string literal (paths and reasons: escape \ " and newlines)
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  printf '"%s"' "$s"
}

# write_if_changed FILE: stdin -> FILE, atomically, only if different (so a
# re-run changes nothing on disk).
write_if_changed() {
  local f=$1 content
  content=$(cat; echo x); content=${content%x}   # keep trailing newlines
  if [ -f "$f" ] && [ "$(cat "$f"; echo x)" = "${content}x" ]; then return 0; fi
  printf '%s' "$content" >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
}

# Go: the go machines have it in /usr/local/go, not always on PATH.
find_go() {
  command -v go >/dev/null 2>&1 && return 0
  [ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH" && return 0
  return 1
}

# ----------------------------------------------------------- Debian pkgs --

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

ensure_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then
    log "[packages] installed: ${APT_PACKAGES[*]}"
    return
  fi
  if [ "$MODE" = no-install ]; then
    log "[packages] missing (not installing, --no-install): ${missing[*]}"
    return
  fi
  flock 9
  log "[packages] installing ${missing[*]} (apt-get update + install)"
  # Keep the packages' maintainer scripts from starting the machine-wide
  # dockerd / docker-registry services: the rig runs its own instances with
  # its own config, and the default ones would listen beyond loopback.
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  local rc=0
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } \
    >"$SSA_CACHE_DIR/apt.log" 2>&1 || rc=$?
  [ -n "$created_policy" ] && rm -f "$policy"
  flock -u 9
  if [ $rc -ne 0 ]; then
    last_lines "$SSA_CACHE_DIR/apt.log" 15
    die "apt-get install ${missing[*]} failed (full log: $SSA_CACHE_DIR/apt.log); fix apt (run as root?) and re-run test/env/up.sh"
  fi
}

# ------------------------------------------------------------------ dockerd --

docker_cli() { DOCKER_CONFIG="$STATE/docker-config" docker -H "unix://$DOCKER_SOCK" "$@"; }
docker_ok() { docker_cli version --format '{{.Server.Version}}'; }
dockerd_ready_or_dead() {
  docker_ok && return 0
  pid_alive "$STATE/docker.pid" dockerd || pid_alive "$STATE/dockerd.launch.pid" dockerd || return 0
  return 1
}

start_dockerd() {
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    UNAVAILABLE[docker]="dockerd/docker not installed (Debian package docker.io) — run test/env/up.sh"
    log "[docker] unavailable: not installed"
    return
  fi
  if pid_alive "$STATE/docker.pid" dockerd && docker_ok >/dev/null 2>&1; then
    log "[docker] dockerd running (pid $(cat "$STATE/docker.pid")) on unix://$DOCKER_SOCK"
    return
  fi
  if pid_alive "$STATE/docker.pid" dockerd; then
    log "[docker] dockerd (pid $(cat "$STATE/docker.pid")) is starting; waiting"
  else
    # Stale leftovers of a dockerd that died: dockerd refuses an existing
    # socket it cannot own and would trip over its old pid file.
    rm -f "$STATE/docker.pid" "$DOCKER_SOCK"
    # Its containerd may outlive it for a moment, or linger as a zombie
    # (PID 1 here may reap late). A new dockerd finding containerd.pid with a
    # pid that kill -0 still accepts adopts that dying containerd and times
    # out. So: let a live one exit (bounded), then kill it, and drop the pid
    # file so dockerd starts a fresh containerd.
    local ctrd="$STATE/docker-exec/containerd/containerd.pid"
    if pid_alive "$ctrd" containerd; then
      log "[docker] waiting for the containerd of a dead dockerd to exit"
      wait_until 10 bash -c "! kill -0 $(cat "$ctrd")" || kill -KILL "$(cat "$ctrd")" 2>/dev/null || true
    fi
    rm -f "$ctrd"
    mkdir -p "$STATE/docker-data" "$STATE/docker-exec" "$STATE/docker-config"
    log "[docker] starting dockerd (log: $STATE/dockerd.log)"
    # --bridge=none: no docker0, so no network for containers at all (run
    #   them with --network none); no iptables/ip6tables/masquerade/forwarding
    #   rules touch the host. (Debian's dockerd 20.10 accepts all of these.)
    # --pidfile: dockerd writes it itself.
    HTTP_PROXY=$DEAD_PROXY HTTPS_PROXY=$DEAD_PROXY NO_PROXY=localhost,127.0.0.0/8,::1 \
    launch "$STATE/dockerd.launch.pid" "$STATE/dockerd.log" \
      dockerd --host "unix://$DOCKER_SOCK" \
        --data-root "$STATE/docker-data" --exec-root "$STATE/docker-exec" \
        --pidfile "$STATE/docker.pid" \
        --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        --ip-forward=false
  fi
  # Bounded wait, cut short if dockerd exits (it logs why).
  if ! wait_until 60 dockerd_ready_or_dead || ! docker_ok >/dev/null 2>&1; then
    last_lines "$STATE/dockerd.log" 10
    UNAVAILABLE[docker]="dockerd did not answer on unix://$DOCKER_SOCK within 60 s (see $STATE/dockerd.log)"
    log "[docker] unavailable: ${UNAVAILABLE[docker]}"
    return
  fi
  rm -f "$STATE/dockerd.launch.pid"   # dockerd wrote docker.pid itself
  log "[docker] dockerd $(docker_ok) up (pid $(cat "$STATE/docker.pid"))"
}

# ---------------------------------------------------------- busybox image --

# build_busybox_image PART IMAGE CTX LOGFILE: unless dockerd has IMAGE,
# build it from the Dockerfile on stdin in context folder CTX, which holds
# only Debian's static busybox (as `busybox`). On failure UNAVAILABLE[PART]
# says why and it returns 1.
build_busybox_image() {
  local part=$1 image=$2 ctx=$3 logfile=$4 dockerfile
  dockerfile=$(cat)
  if docker_cli image inspect "$image" >/dev/null 2>&1; then
    log "[image] $image present"
    return
  fi
  if ! file_is_static_busybox; then
    UNAVAILABLE[$part]="/bin/busybox missing or not static (Debian package busybox-static) — run test/env/up.sh"
    log "[image] unavailable: ${UNAVAILABLE[$part]}"
    return 1
  fi
  log "[image] building $image from scratch + /bin/busybox"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp /bin/busybox "$ctx/busybox"
  printf '%s\n' "$dockerfile" >"$ctx/Dockerfile"
  # Legacy builder: Debian's docker.io has no buildx, and it needs no network.
  if ! DOCKER_BUILDKIT=0 docker_cli build --network none -t "$image" "$ctx" >"$logfile" 2>&1; then
    last_lines "$logfile" 10
    UNAVAILABLE[$part]="docker build of $image failed (see $logfile)"
    log "[image] unavailable: ${UNAVAILABLE[$part]}"
    return 1
  fi
}

# Debian's static busybox in an otherwise empty image. The RUN step only runs
# busybox itself (--install makes the applet symlinks so
# `docker run ssa-busybox:1 echo hi` works); it has no network.
ensure_busybox_image() {
  [ -z "${UNAVAILABLE[docker]:-}" ] || return 0
  build_busybox_image docker "$BUSYBOX_IMAGE" "$STATE/busybox-ctx" "$STATE/image-build.log" <<'EOF' || true
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
CMD ["sh"]
EOF
}

file_is_static_busybox() {
  [ -x /bin/busybox ] && /bin/busybox true 2>/dev/null && ! ldd /bin/busybox >/dev/null 2>&1
}

# ---------------------------------------------------------------- registry --

# start_registry NAME PORT [EXTRA_YAML]: one docker-registry instance on
# 127.0.0.1:PORT with storage, config, log and pid file under
# $STATE/registry-NAME*. EXTRA_YAML is appended to the config (e.g. an auth:
# section), so more instances (htpasswd, token auth) can be added with other
# names and ports. Restarts the instance if its config changed. Prints
# nothing on stdout; sets UNAVAILABLE[registry-NAME] on failure.
start_registry() {
  local name=$1 port=$2 extra=${3:-}
  local dir="$STATE/registry-$name" pidfile="$STATE/registry-$name.pid" logfile="$STATE/registry-$name.log"
  local key="registry-$name"
  [ "$name" = default ] && key=registry
  if ! command -v docker-registry >/dev/null 2>&1; then
    UNAVAILABLE[$key]="docker-registry not installed (Debian package docker-registry) — run test/env/up.sh"
    log "[$key] unavailable: not installed"
    return
  fi
  mkdir -p "$dir/data"
  # Our own config, not Debian's /etc/docker/registry/config.yml (which
  # listens on :5000 on all interfaces). No debug listener, no notifications,
  # no proxy/pull-through: it never talks to anything.
  write_if_changed "$dir/config.yml" <<EOF
# written by test/env/up.sh — do not edit
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
$extra
EOF
  local running=
  if pid_alive "$pidfile" docker-registry; then
    if [ "$dir/config.yml" -nt "$pidfile" ]; then
      log "[$key] config changed; restarting"
      stop_pid "$pidfile" docker-registry
    else
      running=1
    fi
  fi
  if [ -n "$running" ] && registry_answers "$port"; then
    log "[$key] running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
    return
  fi
  if [ -z "$running" ]; then
    if registry_answers "$port"; then
      UNAVAILABLE[$key]="127.0.0.1:$port is taken by a process up.sh did not start; stop it or set SSA_REGISTRY_PORT"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
    log "[$key] starting docker-registry on 127.0.0.1:$port (log: $logfile)"
    launch "$pidfile" "$logfile" docker-registry serve "$dir/config.yml"
  fi
  if ! wait_until 30 registry_answers "$port"; then
    last_lines "$logfile" 10
    UNAVAILABLE[$key]="docker-registry did not answer on 127.0.0.1:$port within 30 s (see $logfile)"
    log "[$key] unavailable: ${UNAVAILABLE[$key]}"
    return
  fi
  log "[$key] up (pid $(cat "$pidfile")) on 127.0.0.1:$port"
}

# Any HTTP answer on /v2/ counts (200 without auth, 401 with auth).
registry_answers() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/v2/" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != 000 ]
}

# ------------------------------------------------------------------ podman --

podman_remote() { podman --url "unix://$PODMAN_SOCK" "$@"; }
podman_ping() { curl -sf -m 2 --unix-socket "$PODMAN_SOCK" http://d/_ping; }

start_podman() {
  if ! command -v podman >/dev/null 2>&1; then
    UNAVAILABLE[podman]="podman not installed (Debian package podman) — run test/env/up.sh"
    log "[podman] unavailable: not installed"
    return
  fi
  # Defaults for every container created through the service, also through
  # its Docker-compatible API: no network; ulimits low enough that runc may
  # set them here (podman's default raises nofile/nproc beyond what this
  # machine allows: "error setting rlimit type 7: operation not permitted");
  # cgroupfs + file events because there is no systemd/journald; and
  # unqualified image names are not resolved to docker.io.
  mkdir -p "$STATE/podman-root" "$STATE/podman-run"
  write_if_changed "$STATE/containers.conf" <<'EOF'
# written by test/env/up.sh — do not edit
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
compat_api_enforce_docker_hub = false
EOF
  local pidfile="$STATE/podman.pid" fresh=
  if pid_alive "$pidfile" podman && [ "$STATE/containers.conf" -nt "$pidfile" ]; then
    log "[podman] config changed; restarting"
    stop_pid "$pidfile" podman
  fi
  if pid_alive "$pidfile" podman && podman_ping >/dev/null 2>&1; then
    log "[podman] service running (pid $(cat "$pidfile")) on unix://$PODMAN_SOCK"
  else
    if ! pid_alive "$pidfile" podman; then
      rm -f "$pidfile" "$PODMAN_SOCK" "$STATE/podman.ok"
      log "[podman] starting podman system service (log: $STATE/podman.log)"
      # Own storage under the state dir, so the rig never touches the
      # machine's /var/lib/containers.
      CONTAINERS_CONF="$STATE/containers.conf" \
      HTTP_PROXY=$DEAD_PROXY HTTPS_PROXY=$DEAD_PROXY NO_PROXY=localhost,127.0.0.0/8,::1 \
      launch "$pidfile" "$STATE/podman.log" \
        podman --root "$STATE/podman-root" --runroot "$STATE/podman-run" \
          system service --time=0 "unix://$PODMAN_SOCK"
      fresh=1
    fi
    if ! wait_until 30 podman_ping; then
      last_lines "$STATE/podman.log" 10
      UNAVAILABLE[podman]="podman system service did not answer on unix://$PODMAN_SOCK within 30 s (see $STATE/podman.log)"
      log "[podman] unavailable: ${UNAVAILABLE[podman]}"
      return
    fi
  fi
  # Check once per service process that a container really runs (the image
  # comes from dockerd, so both engines hold the very same image).
  if [ -z "$fresh" ] && [ "$(cat "$STATE/podman.ok" 2>/dev/null)" = "$(cat "$pidfile")" ]; then
    return
  fi
  if ! podman_remote image exists "$BUSYBOX_IMAGE" 2>/dev/null; then
    if [ -n "${UNAVAILABLE[docker]:-}" ]; then
      UNAVAILABLE[podman]="needs $BUSYBOX_IMAGE from dockerd, which is unavailable"
      log "[podman] unavailable: ${UNAVAILABLE[podman]}"
      return
    fi
    log "[podman] loading $BUSYBOX_IMAGE from dockerd"
    if ! docker_cli save "$BUSYBOX_IMAGE" | podman_remote load >"$STATE/podman-load.log" 2>&1; then
      last_lines "$STATE/podman-load.log"
      UNAVAILABLE[podman]="podman load of $BUSYBOX_IMAGE failed (see $STATE/podman-load.log)"
      log "[podman] unavailable: ${UNAVAILABLE[podman]}"
      return
    fi
  fi
  local out
  if out=$(podman_remote run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
      "$BUSYBOX_IMAGE" echo ok 2>&1) && [ "$out" = ok ]; then
    cat "$pidfile" >"$STATE/podman.ok"
    log "[podman] service up (pid $(cat "$pidfile")); test container ran"
  else
    UNAVAILABLE[podman]="podman cannot run a container here: $(echo "$out" | tail -n 1)"
    log "[podman] unavailable: ${UNAVAILABLE[podman]}"
  fi
}

# -------------------------------------------------------- registry busybox --

# registry_image_once IMAGE REF LOGFILE [PREPARE...]: REF
# (127.0.0.1:PORT/REPO:TAG) is in the rig registry: there already (a re-run
# only asks the registry for the manifest), or dockerd's IMAGE is pushed
# there as REF now, after PREPARE (e.g. building IMAGE) succeeds. Returns 1
# if it is not there.
registry_image_once() {
  local image=$1 ref=$2 logfile=$3 path=${2#*/}
  shift 3
  if registry_has_manifest "${path%:*}" "${path##*:}"; then
    log "[image] $ref present in the registry"
    return
  fi
  [ $# -eq 0 ] || "$@" || return 1
  log "[image] pushing $image to the registry as $ref"
  if docker_cli tag "$image" "$ref" >"$logfile" 2>&1 && docker_cli push "$ref" >>"$logfile" 2>&1; then
    return
  fi
  last_lines "$logfile"
  log "[image] push of $ref failed (see $logfile)"
  return 1
}

# ssa-busybox:1 pushed to the rig registry as $REGISTRY_BUSYBOX_REPO:1, once:
# the containerd instances pull it from there. Sets REGISTRY_BUSYBOX_OK when
# it is there.
REGISTRY_BUSYBOX_OK=
ensure_registry_busybox() {
  [ -z "${UNAVAILABLE[docker]:-}" ] && [ -z "${UNAVAILABLE[registry]:-}" ] || return 0
  if registry_image_once "$BUSYBOX_IMAGE" "$REGISTRY_BUSYBOX" "$STATE/registry-busybox-push.log"; then
    REGISTRY_BUSYBOX_OK=1
  fi
}

# The CRI instance's sandbox image, $PAUSE_IMAGE: what a pod's sandbox
# container runs (CRI pulls it for every new pod, the kubelet way: from a
# registry, here the rig's; CRI's "pinned" images are never collected). All it
# does is sleep. Built only while the registry lacks it (the one in dockerd
# is kept); sets REGISTRY_PAUSE_OK when it is there.
REGISTRY_PAUSE_OK=
build_pause_image() {
  build_busybox_image containerdCri "$PAUSE_IMAGE" "$STATE/pause-ctx" "$STATE/pause-build.log" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
ENTRYPOINT ["/bin/busybox", "sleep", "inf"]
EOF
}
ensure_registry_pause() {
  [ -z "${UNAVAILABLE[docker]:-}" ] && [ -z "${UNAVAILABLE[registry]:-}" ] || return 0
  if registry_image_once "$PAUSE_IMAGE" "$REGISTRY_PAUSE" "$STATE/registry-pause-push.log" build_pause_image; then
    REGISTRY_PAUSE_OK=1
  fi
}

registry_has_manifest() { # REPO TAG
  curl -sf -o /dev/null -m 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$SSA_REGISTRY_PORT/v2/$1/manifests/$2"
}

# -------------------------------------------------------------- containerd --

# Three instances, each our own daemon (never the machine's /run/containerd
# one nor dockerd's): socket, root, state and config under one folder; CRI
# disabled but in the third (tests make "pods" with `ctr run --cgroup`, or
# with crictl there); no debug or metrics listener, no NRI socket, no drop-in
# config imports; the dead proxy like dockerd. Each runs its own shim:
# containerd looks the shim up on its PATH first, and 2.x's PATH starts with
# its own binaries' folder while 1.6's holds only the system folders.
#   containerd     Debian's 1.6 (/usr/bin/containerd, /usr/bin/ctr) in $STATE/ctrd
#   containerd2    2.x built by ensure_containerd2 (in $CTRD2_BIN) in $STATE/ctrd2
#   containerdCri  the same 2.x with CRI, in $STATE/ctrdcri (see start_containerd_cri)
# Shared with any other containerd, as usual: runc's state in
# /run/containerd/runc/<namespace>/<id> and the shims' sockets in
# /run/containerd/s (named by a hash of our socket path and the container),
# so tests use container ids unique across all instances.

# ctrd_config KEY DIR: the instance's config file on stdout.
ctrd_config() {
  local key=$1 dir=$2
  echo '# written by test/env/up.sh — do not edit'
  # 2.x: version 3, never 4: 2.4 ignores a version 4 file's [grpc] address
  # and would serve on the machine's /run/containerd/containerd.sock.
  case $key in
    containerd)
      echo 'version = 2'
      echo 'disabled_plugins = ["io.containerd.grpc.v1.cri"]' ;;
    containerd2)
      # CRI is three plugins, and the pod sandbox controller needs them; NRI
      # would listen on /var/run/nri/nri.sock.
      echo 'version = 3'
      echo 'disabled_plugins = ["io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.nri.v1.nri"]' ;;
    containerdCri)
      echo 'version = 3'
      echo 'disabled_plugins = ["io.containerd.nri.v1.nri"]' ;;
  esac
  cat <<EOF
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
imports = []

[grpc]
  address = "$dir/containerd.sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
  [ "$key" = containerd ] && return 0
  # 2.x: image verifier plugins from our (empty) folder, not /opt/containerd.
  printf '\n[plugins."io.containerd.image-verifier.v1.bindir"]\n  bin_dir = "%s/image-verifier"\n' "$dir"
  # 2.x: `ctr images pull` unpacks in the daemon (transfer service), only
  # into snapshotters listed here (the default lists overlayfs alone);
  # optional: one that failed to load is left out instead of failing pulls.
  local snap arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  for snap in overlayfs native; do
    printf '\n[[plugins."io.containerd.transfer.v1.local".unpack_config]]\n  platform = "linux/%s"\n  snapshotter = "%s"\n  differ = "walking"\n  optional = true\n' "$arch" "$snap"
  done
  [ "$key" = containerdCri ] || return 0
  # CRI, the way a kubelet node without CNI can use it: pods share the host's
  # network (no CNI config in our empty folders), cgroupfs (no systemd). The
  # sandbox image is pinned, from the rig registry over plain HTTP
  # (certs.d/<host>/hosts.toml); the stream server (exec/attach/port-forward)
  # on loopback, any port; CDI specs and network namespace mounts in our
  # folders, not /etc/cdi, /var/run/cdi or /var/run/netns.
  # restrict_oom_score_adj: CRI gives sandboxes oom_score_adj -998, and even
  # root may not lower it here (no CAP_SYS_RESOURCE): keep what we have.
  cat <<EOF

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "$(cri_snapshotter)"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$REGISTRY_PAUSE"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$dir/certs.d"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = ["$dir/cdi"]
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$dir/cni/bin"]
    conf_dir = "$dir/cni/net.d"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
}

# The snapshotter CRI unpacks images into (fixed in its config, unlike
# ctr's --snapshotter): overlayfs where the kernel has overlay, else native.
# The smoke test (start_containerd) then proves it works.
cri_snapshotter() { if grep -qw overlay /proc/filesystems; then echo overlayfs; else echo native; fi; }

ctrd_ok() { "$1" --address "$2" version; }   # CTR SOCK
ctrd_ready_or_dead() { # CTR SOCK PIDFILE NAME [FORBIDDEN]: FORBIDDEN counts as dead
  ctrd_ok "$1" "$2" && return 0
  [ -z "${5:-}" ] || [ ! -e "$5" ] || return 0
  pid_alive "$3" "$4" || return 0
  return 1
}

# The machine's default containerd socket. An instance of ours must never
# serve there (a config its containerd does not apply would make it): one
# that appears while we start an instance (it was not there before) is
# ours, and that instance is stopped.
DEFAULT_CTRD_SOCK=/run/containerd/containerd.sock

# ctrd_smoke CTR SOCK SNAPSHOTTER LOGFILE: pull the registry's busybox with
# that snapshotter and run `echo ok` in it.
ctrd_smoke() {
  local c=("$1" --address "$2" -n default) snap=$3 logfile=$4 out
  "${c[@]}" tasks delete --force up-smoke >/dev/null 2>&1 || true
  "${c[@]}" containers delete up-smoke >/dev/null 2>&1 || true
  echo "--- $snap" >>"$logfile"
  timeout 60 "${c[@]}" images pull --plain-http --snapshotter "$snap" "$REGISTRY_BUSYBOX" \
    </dev/null >>"$logfile" 2>&1 || return 1
  out=$(timeout 30 "${c[@]}" run --rm --snapshotter "$snap" "$REGISTRY_BUSYBOX" up-smoke echo ok \
    </dev/null 2>>"$logfile") || return 1
  [ "$out" = ok ]
}

# start_containerd KEY DIR DAEMON CTR DAEMON_PATH: one instance (see above),
# restarted if its config changed. A daemon that was not yet checked is
# smoke-tested once (its pid goes into DIR/ok), which also picks the
# snapshotter: overlayfs, else native. Sets CONTAINERD_JSON[KEY] or
# UNAVAILABLE[KEY].
start_containerd() {
  local key=$1 dir=$2 daemon=$3 ctr=$4 daemon_path=$5
  local sock="$dir/containerd.sock" pidfile="$dir/containerd.pid" logfile="$dir/containerd.log"
  local cfg="$dir/config.toml" okfile="$dir/ok"
  local name="containerd --config $cfg"   # its command line (for pid_alive)
  if ! PATH=$daemon_path command -v runc >/dev/null 2>&1; then
    UNAVAILABLE[$key]="runc not found on $daemon_path (Debian package runc, installed with docker.io) — run test/env/up.sh"
    log "[$key] unavailable: ${UNAVAILABLE[$key]}"
    return
  fi
  mkdir -p "$dir"
  ctrd_config "$key" "$dir" | write_if_changed "$cfg"
  if pid_alive "$pidfile" "$name" && [ "$cfg" -nt "$pidfile" ]; then
    log "[$key] config changed; restarting"
    stop_pid "$pidfile" "$name"
  fi
  if ! pid_alive "$pidfile" "$name" || ! ctrd_ok "$ctr" "$sock" >/dev/null 2>&1; then
    local forbidden=
    if ! pid_alive "$pidfile" "$name"; then
      rm -f "$pidfile" "$sock" "$sock.ttrpc" "$okfile"
      mkdir -p "$dir/root" "$dir/state" "$dir/tmp"
      [ -e "$DEFAULT_CTRD_SOCK" ] || forbidden=$DEFAULT_CTRD_SOCK
      log "[$key] starting $daemon (log: $logfile)"
      launch "$pidfile" "$logfile" env PATH="$daemon_path" \
        HTTP_PROXY=$DEAD_PROXY HTTPS_PROXY=$DEAD_PROXY NO_PROXY=localhost,127.0.0.0/8,::1 \
        "$daemon" --config "$cfg"
    fi
    wait_until 30 ctrd_ready_or_dead "$ctr" "$sock" "$pidfile" "$name" ${forbidden:+"$forbidden"} || true
    if [ -n "$forbidden" ] && [ -e "$forbidden" ]; then
      stop_pid "$pidfile" "$name"
      UNAVAILABLE[$key]="$daemon served on the machine's default $forbidden, not on $sock: it ignored $cfg's [grpc] address (config version?); stopped it"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
    if ! ctrd_ok "$ctr" "$sock" >/dev/null 2>&1; then
      last_lines "$logfile" 10
      UNAVAILABLE[$key]="$daemon did not answer on $sock within 30 s (see $logfile)"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
  fi
  local pid ok snap="" version
  pid=$(cat "$pidfile")
  ok=$(cat "$okfile" 2>/dev/null) || true
  if [ "${ok%% *}" = "$pid" ] && [ -n "${ok#* }" ] && [ "${ok#* }" != "$ok" ]; then
    snap=${ok#* }
  else
    if [ -z "$REGISTRY_BUSYBOX_OK" ]; then
      UNAVAILABLE[$key]="needs $REGISTRY_BUSYBOX in the rig registry, which could not be pushed (docker or registry unavailable?)"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
    local s
    : >"$dir/smoke.log"
    for s in overlayfs native; do
      if ctrd_smoke "$ctr" "$sock" "$s" "$dir/smoke.log"; then snap=$s; break; fi
    done
    if [ -z "$snap" ]; then
      UNAVAILABLE[$key]="containerd cannot run a container here with the overlayfs or native snapshotter: $(grep -v '^---' "$dir/smoke.log" | tail -n 1) (see $dir/smoke.log)"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
    echo "$pid $snap" >"$okfile"
    log "[$key] pulled $REGISTRY_BUSYBOX and ran a test container (snapshotter $snap)"
  fi
  version=$("$daemon" --version 2>/dev/null | awk '{print $3}')
  version=${version#v}; version=${version%%~*}   # v2.4.2 -> 2.4.2, 1.6.20~ds1 -> 1.6.20
  CONTAINERD_JSON[$key]="{\"socket\": $(json_str "$sock"), \"ctr\": $(json_str "$ctr"), \"version\": $(json_str "$version"), \"snapshotter\": $(json_str "$snap")}"
  log "[$key] containerd $version running (pid $pid) on $sock"
}

# Debian's containerd 1.6 (package containerd, installed with docker.io).
start_containerd1() {
  if [ ! -x /usr/bin/containerd ] || [ ! -x /usr/bin/ctr ]; then
    UNAVAILABLE[containerd]="Debian's containerd not installed (/usr/bin/containerd, /usr/bin/ctr; installed with docker.io) — run test/env/up.sh"
    log "[containerd] unavailable: not installed"
    return
  fi
  start_containerd containerd "$STATE/ctrd" /usr/bin/containerd /usr/bin/ctr "$SYSTEM_PATH"
}

# containerd 2.x, built by ensure_containerd2.
start_containerd2() {
  [ -z "${UNAVAILABLE[containerd2]:-}" ] || return 0
  start_containerd containerd2 "$STATE/ctrd2" "$CTRD2_BIN/containerd" "$CTRD2_BIN/ctr" "$CTRD2_BIN:$SYSTEM_PATH"
}

# containerd 2.x with CRI, for crictl (built by ensure_crictl): containerd2's
# binaries in $CTRDCRI_DIR, with crictl.yaml (crictl --config) and a crictl
# link (for down.sh) next to its socket. Beyond start_containerd's smoke
# test, once per daemon (its pid goes into cri-ok): a pod sandbox runs, which
# pulls $REGISTRY_PAUSE, and is removed.
start_containerd_cri() {
  local key=containerdCri dir=$CTRDCRI_DIR pid
  [ -z "${UNAVAILABLE[$key]:-}" ] || return 0   # no crictl or pause image
  if ! containerd2_built; then
    UNAVAILABLE[$key]="needs containerd $SSA_CONTAINERD2_VERSION built in $CTRD2_BIN (see containerd2)"
    log "[$key] unavailable: ${UNAVAILABLE[$key]}"
    return
  fi
  if [ -z "$REGISTRY_PAUSE_OK" ]; then
    UNAVAILABLE[$key]="needs $REGISTRY_PAUSE in the rig registry, which could not be pushed (docker or registry unavailable?)"
    log "[$key] unavailable: ${UNAVAILABLE[$key]}"
    return
  fi
  local host="127.0.0.1:$SSA_REGISTRY_PORT"
  mkdir -p "$dir/certs.d/$host" "$dir/cni/bin" "$dir/cni/net.d" "$dir/cdi" "$dir/image-verifier"
  printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$host" "$host" \
    | write_if_changed "$dir/certs.d/$host/hosts.toml"
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\ndebug: false\npull-image-on-create: false\n' \
    "$dir/containerd.sock" "$dir/containerd.sock" | write_if_changed "$dir/crictl.yaml"
  [ "$(readlink "$dir/crictl" 2>/dev/null)" = "$BIN/$CRICTL" ] || ln -sfn "$BIN/$CRICTL" "$dir/crictl"
  start_containerd "$key" "$dir" "$CTRD2_BIN/containerd" "$CTRD2_BIN/ctr" "$CTRD2_BIN:$SYSTEM_PATH"
  [ -n "${CONTAINERD_JSON[$key]:-}" ] || return 0
  pid=$(cat "$dir/containerd.pid")
  if [ "$(cat "$dir/cri-ok" 2>/dev/null)" != "$pid" ]; then
    : >"$dir/cri-smoke.log"
    if ! cri_smoke "$dir" "$dir/cri-smoke.log"; then
      unset "CONTAINERD_JSON[$key]"
      UNAVAILABLE[$key]="CRI cannot run a pod sandbox here: $(tail -n 1 "$dir/cri-smoke.log") (see $dir/cri-smoke.log)"
      log "[$key] unavailable: ${UNAVAILABLE[$key]}"
      return
    fi
    echo "$pid" >"$dir/cri-ok"
    log "[$key] ran a pod sandbox from $REGISTRY_PAUSE"
  fi
  CONTAINERD_JSON[$key]="${CONTAINERD_JSON[$key]%\}}, \"crictl\": $(json_str "$BIN/$CRICTL"), \"pauseImage\": $(json_str "$REGISTRY_PAUSE")}"
}

# cri_smoke DIR LOGFILE: with crictl, run a pod sandbox the kubelet's way
# (host network, cgroupfs under a cgroup parent of its own), then remove it
# and that cgroup parent.
cri_smoke() {
  local dir=$1 logfile=$2 cg=/ssa-up-smoke id rc=0 h
  local c=("$dir/crictl" --config "$dir/crictl.yaml")
  printf '{"metadata": {"name": "up-smoke", "namespace": "ssa-rig", "uid": "ssa-up-smoke", "attempt": 0},\n "linux": {"cgroup_parent": "%s", "security_context": {"namespace_options": {"network": 2}}}}\n' "$cg" \
    | write_if_changed "$dir/smoke-pod.json"
  for id in $(timeout 30 "${c[@]}" pods -q --name up-smoke 2>>"$logfile"); do
    timeout 30 "${c[@]}" rmp -f "$id" >>"$logfile" 2>&1 || true
  done
  if id=$(timeout 120 "${c[@]}" runp "$dir/smoke-pod.json" 2>>"$logfile"); then
    { timeout 30 "${c[@]}" stopp "$id" && timeout 30 "${c[@]}" rmp "$id"; } >>"$logfile" 2>&1 || rc=1
  else
    rc=1
  fi
  for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ ! -d "$h$cg" ] || rmdir "$h$cg" 2>/dev/null || true
  done
  return $rc
}

# ---------------------------------------------------------------- go tools --

# binary_ok NAME VERSION CMD...: $BIN/NAME exists and CMD (its version
# command) succeeds and mentions VERSION (without the leading v).
binary_ok() {
  local name=$1 version=$2; shift 2
  [ -x "$BIN/$name" ] || return 1
  local out
  out=$("$BIN/$name" "$@" 2>&1) || return 1
  grep -q -- "${version#v}" <<<"$out"
}

# go_build NAME PKG MODDIR GOMOD_BODY LDFLAGS: build Go package PKG into
# $BIN/NAME (NAME may be DIR/FILE; the log is MODDIR/build-FILE.log) in a
# throw-away module MODDIR whose go.mod requires the tool's module at a
# fixed version. Why not `go install PKG@VERSION`: that asks the
# proxy for /@v/list, which the proxy here answers with 403; a go.mod with
# an explicit require only fetches .info/.mod/.zip of named versions.
go_build() {
  local name=$1 pkg=$2 moddir=$3 gomod=$4 ldflags=$5
  mkdir -p "$moddir"
  local gover
  gover=$(go env GOVERSION); gover=${gover#go}
  # A go.mod that only changes when the tool version or Go changes, so Go's
  # caches stay valid; GOTOOLCHAIN=local: never download another toolchain.
  printf 'module %sbuild\n\ngo %s\n\n%s\n' "$(basename "$moddir")" "$gover" "$gomod" | write_if_changed "$moddir/go.mod"
  local start=$SECONDS rc=0 buildlog="$moddir/build-${name##*/}.log"
  log "[$name] building $pkg (log: $buildlog; several minutes when cold)"
  # -s -w: no symbol/DWARF tables, as in the upstream release builds.
  (cd "$moddir" && GOTOOLCHAIN=local go build -mod=mod -trimpath -ldflags "-s -w $ldflags" \
      -o "$BIN/$name.partial" "$pkg") >"$buildlog" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    rm -f "$BIN/$name.partial"
    last_lines "$buildlog" 8
    return 1
  fi
  mv -f "$BIN/$name.partial" "$BIN/$name"
  log "[$name] built in $((SECONDS - start)) s"
}

# The throw-away module all spire binaries are built in.
# spire-server (its unused EJBCA upstream-authority plugin) imports
# github.com/Keyfactor/ejbca-go-client-sdk, whose required v1.1.0 zip the
# Go module proxy refuses (403 "This module version is not available").
# v1.0.2 is served and still has every symbol that plugin uses, so pin it
# with a replace. spire-agent does not import it at all.
SPIRE_GOMOD="require github.com/spiffe/spire $SPIRE_VERSION

replace github.com/Keyfactor/ejbca-go-client-sdk => github.com/Keyfactor/ejbca-go-client-sdk v1.0.2"
# Stamp the version like spire's Makefile does for releases: without the
# "v" (spire-server semver-parses it at start-up and panics on "v1.15.3").
SPIRE_LDFLAGS="-X github.com/spiffe/spire/pkg/common/version.gittag=${SPIRE_VERSION#v}"

ensure_spire() {
  local ok=1 b
  for b in spire-agent spire-server; do binary_ok "$b" "$SPIRE_VERSION" --version || ok=; done
  if [ -n "$ok" ]; then
    log "[spire] spire-agent and spire-server $SPIRE_VERSION present in $BIN"
    return
  fi
  if [ "$MODE" = no-install ]; then
    UNAVAILABLE[spire]="spire-agent/spire-server $SPIRE_VERSION not built in $BIN — run test/env/up.sh"
    log "[spire] unavailable: ${UNAVAILABLE[spire]}"
    return
  fi
  find_go || die "Go is needed to build spire (looked on PATH and in /usr/local/go/bin); install Go >= 1.26 and re-run test/env/up.sh"
  flock 9
  for b in spire-agent spire-server; do
    binary_ok "$b" "$SPIRE_VERSION" --version && continue   # built meanwhile
    if ! go_build "$b" "github.com/spiffe/spire/cmd/$b" "$SSA_CACHE_DIR/build/spire" "$SPIRE_GOMOD" "$SPIRE_LDFLAGS" \
        || ! binary_ok "$b" "$SPIRE_VERSION" --version; then
      flock -u 9
      die "go build of $b $SPIRE_VERSION failed (see $SSA_CACHE_DIR/build/spire/build-$b.log); the Go module proxy must be reachable"
    fi
  done
  flock -u 9
}

# A statically linked spire-agent (CGO_ENABLED=0) for workloads *inside*
# test containers: images are FROM scratch, so the workload's Workload API
# client (`spire-agent api fetch x509`) must not need a libc.
ensure_spire_static() {
  local name=spire-agent-static
  if binary_ok "$name" "$SPIRE_VERSION" --version; then
    log "[spire] $name present in $BIN"
    return
  fi
  if [ "$MODE" = no-install ]; then
    UNAVAILABLE[spire]="$name $SPIRE_VERSION not built in $BIN — run test/env/up.sh"
    log "[spire] unavailable: ${UNAVAILABLE[spire]}"
    return
  fi
  find_go || die "Go is needed to build spire"
  flock 9
  if ! binary_ok "$name" "$SPIRE_VERSION" --version; then
    CGO_ENABLED=0 go_build "$name" github.com/spiffe/spire/cmd/spire-agent "$SSA_CACHE_DIR/build/spire" "$SPIRE_GOMOD" "$SPIRE_LDFLAGS" \
      && binary_ok "$name" "$SPIRE_VERSION" --version \
      || { flock -u 9; die "static build of spire-agent failed (see $SSA_CACHE_DIR/build/spire/build-$name.log)"; }
  fi
  flock -u 9
}

# optional_build_gate PART FAILEDFILE NOTBUILT: for an optional part that is
# not built yet, return 0 when it should be built now; otherwise (an earlier
# build failed, or --no-install) record why it stays unavailable and return 1.
optional_build_gate() {
  local part=$1 failed=$2
  if [ -f "$failed" ]; then
    UNAVAILABLE[$part]="$(cat "$failed") (delete $failed to retry)"
  elif [ "$MODE" = no-install ]; then
    UNAVAILABLE[$part]="$3 — run test/env/up.sh"
  else
    return 0
  fi
  log "[$part] unavailable: ${UNAVAILABLE[$part]}"
  return 1
}

# The first line of a failed go build's LOGFILE that says why.
build_error() { grep -m1 -E 'error|Forbidden|cannot|requires go' "$1" || tail -n 1 "$1"; }

# ensure_go_tool PART NAME VERSION VERSIONARG MODULE PKG LDFLAGS: an
# optional tool, package PKG of Go module MODULE at VERSION, built into
# $BIN/NAME (go_build, in $SSA_CACHE_DIR/build/<NAME's file name>) unless
# `$BIN/NAME VERSIONARG` reports VERSION already. PART is what stays
# unavailable without it. A failed build is recorded (with its reason) and
# not retried on every run; delete the FAILED file to retry.
ensure_go_tool() {
  local part=$1 name=$2 version=$3 varg=$4 module=$5 pkg=$6 ldflags=$7
  local tool=${2##*/}
  local moddir="$SSA_CACHE_DIR/build/$tool"
  local failed="$moddir/FAILED-$version"
  if binary_ok "$name" "$version" "$varg"; then
    log "[$part] $tool $version present in $(dirname "$BIN/$name")"
    return
  fi
  optional_build_gate "$part" "$failed" "$tool $version not built in $(dirname "$BIN/$name")" || return 0
  find_go || die "Go is needed to build $tool (looked on PATH and in /usr/local/go/bin)"
  flock 9
  if ! binary_ok "$name" "$version" "$varg"; then
    if ! go_build "$name" "$pkg" "$moddir" "require $module $version" "$ldflags" \
        || ! binary_ok "$name" "$version" "$varg"; then
      echo "go build of $tool $version failed: $(build_error "$moddir/build-$tool.log")" >"$failed"
      UNAVAILABLE[$part]="$(cat "$failed")"
      log "[$part] unavailable: ${UNAVAILABLE[$part]}"
    fi
  fi
  flock -u 9
}

# cosign is optional for now.
ensure_cosign() {
  local major=${SSA_COSIGN_VERSION%%.*}   # v3
  local modpath=github.com/sigstore/cosign
  [ "$major" = v0 ] || [ "$major" = v1 ] || modpath="$modpath/$major"
  ensure_go_tool cosign cosign "$SSA_COSIGN_VERSION" version "$modpath" "$modpath/cmd/cosign" \
    "-X sigstore.dev/release-utils/version.gitVersion=$SSA_COSIGN_VERSION"
}

# crictl (cri-tools), for the containerdCri part: static, about 1 min when
# cold on 2 cores.
ensure_crictl() {
  CGO_ENABLED=0 ensure_go_tool containerdCri "$CRICTL" "$SSA_CRICTL_VERSION" --version sigs.k8s.io/cri-tools \
    sigs.k8s.io/cri-tools/cmd/crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=$SSA_CRICTL_VERSION"
}

# containerd 2.x is optional too: containerd, ctr and its own
# containerd-shim-runc-v2 from one module version, static (CGO_ENABLED=0:
# only the btrfs snapshotter needs cgo), into $CTRD2_BIN. A failed build is
# recorded and not retried on every run; delete the FAILED file to retry.
# About 2 min when cold (empty Go caches) on 2 cores.
CTRD2_MOD=github.com/containerd/containerd/v2
containerd2_built() {
  local d=${CTRD2_BIN#"$BIN/"} v=$SSA_CONTAINERD2_VERSION
  binary_ok "$d/containerd" "$v" --version && binary_ok "$d/ctr" "$v" --version \
    && binary_ok "$d/containerd-shim-runc-v2" "$v" -v
}

ensure_containerd2() {
  local moddir="$SSA_CACHE_DIR/build/containerd2" v=$SSA_CONTAINERD2_VERSION failed
  failed="$moddir/FAILED-$v"
  if containerd2_built; then
    log "[containerd2] containerd $v present in $CTRD2_BIN"
    return
  fi
  optional_build_gate containerd2 "$failed" "containerd $v not built in $CTRD2_BIN" || return 0
  find_go || die "Go is needed to build containerd $v (looked on PATH and in /usr/local/go/bin)"
  flock 9
  if ! containerd2_built; then
    local b start=$SECONDS d=${CTRD2_BIN#"$BIN/"}
    local ldflags="-X $CTRD2_MOD/version.Version=$v -X $CTRD2_MOD/version.Package=$CTRD2_MOD"
    mkdir -p "$CTRD2_BIN" "$moddir"
    for b in containerd ctr containerd-shim-runc-v2; do
      binary_ok "$d/$b" "$v" "$([ $b = containerd-shim-runc-v2 ] && echo -v || echo --version)" && continue
      if ! CGO_ENABLED=0 go_build "$d/$b" "$CTRD2_MOD/cmd/$b" "$moddir" "require $CTRD2_MOD $v" "$ldflags"; then
        echo "go build of containerd $v ($b) failed: $(build_error "$moddir/build-$b.log")" >"$failed"
        break
      fi
    done
    if [ ! -f "$failed" ] && ! containerd2_built; then
      echo "containerd $v was built but its binaries do not report version $v" >"$failed"
    fi
    if [ -f "$failed" ]; then
      UNAVAILABLE[containerd2]="$(cat "$failed")"
      log "[containerd2] unavailable: ${UNAVAILABLE[containerd2]}"
    else
      log "[containerd2] containerd $v built in $((SECONDS - start)) s"
    fi
  fi
  flock -u 9
}

# ------------------------------------------------------------------ output --

write_outputs() {
  local cosign=null podman=null k first=1 unavailable='{'
  local regbusybox=null ctrd=${CONTAINERD_JSON[containerd]:-null} ctrd2=${CONTAINERD_JSON[containerd2]:-null}
  local ctrdcri=${CONTAINERD_JSON[containerdCri]:-null}
  [ -z "${UNAVAILABLE[cosign]:-}" ] && [ -x "$BIN/cosign" ] && cosign=$(json_str "$BIN/cosign")
  [ -z "${UNAVAILABLE[podman]:-}" ] && podman=$(json_str "$PODMAN_SOCK")
  [ -n "$REGISTRY_BUSYBOX_OK" ] && regbusybox=$(json_str "$REGISTRY_BUSYBOX")
  for k in $(printf '%s\n' "${!UNAVAILABLE[@]}" | sort); do
    [ -n "$first" ] || unavailable+=', '
    first=
    unavailable+="$(json_str "$k"): $(json_str "${UNAVAILABLE[$k]}")"
  done
  unavailable+='}'
  write_if_changed "$STATE/rig.json" <<EOF
{
  "stateDir": $(json_str "$STATE"),
  "dockerHost": $(json_str "unix://$DOCKER_SOCK"),
  "dockerSocket": $(json_str "$DOCKER_SOCK"),
  "registry": $(json_str "127.0.0.1:$SSA_REGISTRY_PORT"),
  "busyboxImage": $(json_str "$BUSYBOX_IMAGE"),
  "spireAgent": $(json_str "$BIN/spire-agent"),
  "spireServer": $(json_str "$BIN/spire-server"),
  "spireAgentStatic": $(json_str "$BIN/spire-agent-static"),
  "cosign": $cosign,
  "podmanSocket": $podman,
  "registryBusyboxImage": $regbusybox,
  "containerd": $ctrd,
  "containerd2": $ctrd2,
  "containerdCri": $ctrdcri,
  "unavailable": $unavailable
}
EOF
  write_if_changed "$STATE/env.sh" <<EOF
# written by test/env/up.sh — source it to use the test rig by hand
export SSA_STATE_DIR='$STATE'
export DOCKER_HOST='unix://$DOCKER_SOCK'
export DOCKER_CONFIG='$STATE/docker-config'
export SSA_REGISTRY='127.0.0.1:$SSA_REGISTRY_PORT'
export SSA_BUSYBOX_IMAGE='$BUSYBOX_IMAGE'
export SPIRE_AGENT='$BIN/spire-agent'
export SPIRE_SERVER='$BIN/spire-server'
export COSIGN='$([ "$cosign" = null ] || echo "$BIN/cosign")'
# podman --remote / podman --url use this
export CONTAINER_HOST='$([ "$podman" = null ] || echo "unix://$PODMAN_SOCK")'
export SSA_REGISTRY_BUSYBOX_IMAGE='$([ "$regbusybox" = null ] || echo "$REGISTRY_BUSYBOX")'
# ctr uses CONTAINERD_ADDRESS (the rig's containerd 1.6); for containerd 2.x:
#   "\$SSA_CTR2" --address "\$SSA_CONTAINERD2_ADDRESS" ...
export CONTAINERD_ADDRESS='$([ "$ctrd" = null ] || echo "$STATE/ctrd/containerd.sock")'
export SSA_CONTAINERD2_ADDRESS='$([ "$ctrd2" = null ] || echo "$STATE/ctrd2/containerd.sock")'
export SSA_CTR2='$([ "$ctrd2" = null ] || echo "$CTRD2_BIN/ctr")'
# crictl against the rig's containerd 2.x with CRI (CRI_CONFIG_FILE names
# its socket): "\$SSA_CRICTL" pods; its ctr: "\$SSA_CTR2" --address "\$SSA_CONTAINERD_CRI_ADDRESS"
export SSA_CONTAINERD_CRI_ADDRESS='$([ "$ctrdcri" = null ] || echo "$CTRDCRI_DIR/containerd.sock")'
export SSA_CRICTL='$([ "$ctrdcri" = null ] || echo "$BIN/$CRICTL")'
export CRI_CONFIG_FILE='$([ "$ctrdcri" = null ] || echo "$CTRDCRI_DIR/crictl.yaml")'
case ":\$PATH:" in *':$BIN:'*) ;; *) export PATH='$BIN':"\$PATH" ;; esac
EOF
}

# -------------------------------------------------------------------- main --

log "mode=$MODE state=$STATE cache=$SSA_CACHE_DIR"
ensure_packages

flock 8   # one starter of daemons at a time
start_dockerd
ensure_busybox_image
start_registry default "$SSA_REGISTRY_PORT"
start_podman
ensure_registry_busybox
ensure_registry_pause
start_containerd1
flock -u 8

ensure_spire
ensure_spire_static
ensure_cosign
ensure_containerd2
ensure_crictl

flock 8
start_containerd2
start_containerd_cri
write_outputs
flock -u 8

required_missing=()
for part in docker registry spire; do
  [ -z "${UNAVAILABLE[$part]:-}" ] || required_missing+=("$part: ${UNAVAILABLE[$part]}")
done
if [ ${#required_missing[@]} -gt 0 ]; then
  for m in "${required_missing[@]}"; do log "MISSING $m"; done
  die "rig incomplete (details in $STATE/rig.json)"
fi
optional=""
for part in podman cosign containerd containerd2 containerdCri; do [ -z "${UNAVAILABLE[$part]:-}" ] || optional+=" $part"; done
log "rig ready: $STATE/rig.json${optional:+ (unavailable:$optional)}"
