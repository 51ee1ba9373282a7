#!/usr/bin/env bash
# Make sure a Docker daemon that Layer Lens' real-daemon tests can use is installed and answering.
#
# Idempotent:
#   - installs the Debian packages docker.io and busybox-static only when one of them is missing;
#   - starts dockerd only when nothing answers GET /_ping on the socket (a daemon that already answers
#     is never restarted, whoever started it);
#   - if a dockerd process exists but does not answer yet, waits for it instead of starting a second one.
#
# Environment (all optional):
#   LAYERLENS_DOCKER_SOCK        socket to check/serve   (default /var/run/docker.sock)
#   LAYERLENS_DOCKERD_DATA_ROOT  dockerd --data-root      (default /var/lib/layerlens-dockerd)
#   LAYERLENS_DOCKERD_LOG        dockerd log file         (default /tmp/layerlens-dockerd.log)
#   LAYERLENS_DOCKERD_TIMEOUT    seconds to wait for /_ping (default 30)
#   LAYERLENS_DOCKERD_EXTRA_ARGS extra dockerd flags, split on spaces (e.g. --pidfile/--exec-root for a
#                                second daemon beside the default one)
#
# Exit status: 0 when the daemon answers /_ping, non-zero (with a message on stderr) otherwise.
set -euo pipefail

SOCK="${LAYERLENS_DOCKER_SOCK:-/var/run/docker.sock}"
DATA_ROOT="${LAYERLENS_DOCKERD_DATA_ROOT:-/var/lib/layerlens-dockerd}"
LOG="${LAYERLENS_DOCKERD_LOG:-/tmp/layerlens-dockerd.log}"
TIMEOUT="${LAYERLENS_DOCKERD_TIMEOUT:-30}"
read -r -a EXTRA_ARGS <<<"${LAYERLENS_DOCKERD_EXTRA_ARGS:-}"
LOCK="${TMPDIR:-/tmp}/layerlens-ensure-docker.lock"

say() { echo "[ensure-docker] $*"; }
die() { echo "[ensure-docker] ERROR: $*" >&2; exit 1; }

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# GET /_ping on the unix socket; prints nothing, succeeds only on the body "OK".
ping_daemon() {
  [ -S "$SOCK" ] || return 1
  local body=""
  if command -v curl >/dev/null 2>&1; then
    body="$(curl -s --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null || true)"
  elif command -v node >/dev/null 2>&1; then
    body="$(SOCK="$SOCK" node -e '
      const r = require("http").get({ socketPath: process.env.SOCK, path: "/_ping", timeout: 3000 }, (res) => {
        let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => process.stdout.write(b));
      });
      r.on("timeout", () => r.destroy()); r.on("error", () => {});' 2>/dev/null || true)"
  else
    /usr/bin/docker -H "unix://$SOCK" version >/dev/null 2>&1 && body="OK"
  fi
  [ "$body" = "OK" ]
}

# dockerd processes that serve (or are about to serve) our socket: their command line names $SOCK or
# $DATA_ROOT, or, for the default socket, they give no -H/--host at all (so they listen on the default).
dockerd_pids() {
  local pid args
  for pid in $(pgrep -x dockerd 2>/dev/null || true); do
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [ -n "$args" ] || continue
    if [[ "$args" == *"$SOCK"* || "$args" == *"$DATA_ROOT"* ]]; then
      echo "$pid"
    elif [ "$SOCK" = /var/run/docker.sock ] && [[ " $args" != *" -H"* && " $args" != *" --host"* ]]; then
      echo "$pid"
    fi
  done
}

# --- 1. packages ---------------------------------------------------------------------------------
install_packages() {
  local missing=()
  pkg_installed docker.io || missing+=(docker.io)
  pkg_installed busybox-static || missing+=(busybox-static)
  if [ "${#missing[@]}" -eq 0 ]; then
    say "packages present: docker.io busybox-static"
    return 0
  fi
  say "installing missing packages: ${missing[*]} (apt-get update + apt-get install -y docker.io busybox-static)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's maintainer scripts from starting a stock daemon (default data root, iptables):
  # this script starts its own below. Only add a policy-rc.d when none exists, and remove it afterwards.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
  fi
  local rc=0
  as_root flock -w 900 /tmp/layerlens-apt.lock apt-get update -q || rc=$?
  if [ "$rc" -eq 0 ]; then
    as_root flock -w 900 /tmp/layerlens-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      docker.io busybox-static || rc=$?
  fi
  if [ "$added_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
  [ "$rc" -eq 0 ] || die "apt-get failed (exit $rc) installing docker.io busybox-static"
  pkg_installed docker.io && pkg_installed busybox-static || die "docker.io/busybox-static still not installed"
  say "installed: $(dpkg-query -W -f='${Package} ${Version}  ' docker.io busybox-static)"
}

# --- 2. daemon -----------------------------------------------------------------------------------
wait_for_ping() {
  local deadline=$((SECONDS + TIMEOUT)) pid="${1:-}"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ping_daemon; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 2
    fi
    sleep 0.25
  done
  return 1
}

fail_with_log() {
  echo "[ensure-docker] ERROR: $1" >&2
  if [ -f "$LOG" ]; then
    echo "[ensure-docker] last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
  fi
  exit 1
}

start_daemon() {
  if ping_daemon; then
    say "daemon already answers on $SOCK (not restarting)"
    return 0
  fi
  local existing
  existing="$(dockerd_pids | tr '\n' ' ')"
  if [ -n "${existing// /}" ]; then
    say "dockerd already running (pid ${existing% }) but not answering yet; waiting up to ${TIMEOUT}s"
    wait_for_ping || fail_with_log "dockerd (pid ${existing% }) is running but $SOCK did not answer /_ping within ${TIMEOUT}s"
    say "daemon answers on $SOCK"
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found (is docker.io installed?)"
  [ "$(id -u)" -eq 0 ] || die "no daemon answers on $SOCK and starting dockerd needs root"
  mkdir -p "$DATA_ROOT" "$(dirname "$SOCK")"
  say "starting: dockerd --data-root $DATA_ROOT --iptables=false --bridge=none -H unix://$SOCK ${EXTRA_ARGS[*]-} (log: $LOG)"
  {
    echo "===== $(date -u +%FT%TZ) started by scripts/ensure-docker.sh ====="
  } >>"$LOG"
  # setsid: the daemon must outlive this script and its caller's process group (CI, npm, a terminal).
  # 9>&-: it must not inherit the lock's file descriptor (it would hold the lock for its lifetime).
  setsid dockerd --data-root "$DATA_ROOT" --iptables=false --bridge=none -H "unix://$SOCK" \
    ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} </dev/null >>"$LOG" 2>&1 9>&- &
  local pid=$! rc=0
  wait_for_ping "$pid" || rc=$?
  case "$rc" in
    0) ;;
    2) fail_with_log "dockerd (pid $pid) exited before answering /_ping on $SOCK" ;;
    *) fail_with_log "dockerd (pid $pid) did not answer /_ping on $SOCK within ${TIMEOUT}s (still running; left as is)" ;;
  esac
  say "daemon answers on $SOCK (dockerd pid $pid, ready after ${SECONDS}s of this script)"
}

main() {
  # Serialise concurrent runs (two test processes, a developer and a script) on one machine.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK"
    flock -w $((TIMEOUT + 600)) 9 || die "could not take $LOCK"
  fi
  install_packages
  start_daemon
  local v
  v="$(/usr/bin/docker -H "unix://$SOCK" version --format '{{.Client.Version}} / server {{.Server.Version}}' 2>/dev/null || true)"
  say "ready: /usr/bin/docker ${v:-?}"
}

main "$@"
