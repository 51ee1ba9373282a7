#!/usr/bin/env bash
# The main job in one command (`npm start`):
#   1. a reachable Docker daemon (scripts/ensure-docker.sh starts one, or says how);
#   2. the packaged .vsix (`npm run package`: esbuild bundles + vsce);
#   3. a copy of sample/ built once (BuildKit), so there is a cache to predict against, then one source file edited;
#   4. VS Code (code-server, installed by scripts/ensure-code-server.sh) with Layer Lens installed, opened on that
#      copy: its URL is printed, and it runs until Ctrl-C. On the sample's Dockerfile you see the inlay hints, the
#      `COPY . .` miss with its reason (src/app.py changed) in the hover, and diagnostics with quick fixes.
#
# Usage: npm start [-- OPTIONS]   or   bash scripts/start.sh [OPTIONS]
#   --analyze-only, --no-open   the terminal only: `layerlens analyze` on the edited copy (extra arguments go to it)
#   --exit-after-ready          check the whole path (install, code-server answers) then stop and exit 0
#   --port N                    code-server's port on 127.0.0.1 (default: LAYERLENS_PORT, else a free port)
# Environment: LAYERLENS_DEMO_DIR (work folder, default a new temp folder; removed on exit unless it was given),
#   LAYERLENS_DEMO_TAG (image tag, default layerlens/sample:latest), LAYERLENS_E2E_HOME (where code-server lives).
#
# The line `Layer Lens is ready: URL` is printed once code-server answers; tests wait for it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

mode=open
port="${LAYERLENS_PORT:-}"
analyze_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --analyze-only | --no-open) mode=analyze ;;
    --exit-after-ready) mode=check ;;
    --port) port="${2:?--port needs a number}"; shift ;;
    --port=*) port="${1#--port=}" ;;
    *) analyze_args+=("$1") ;;
  esac
  shift
done
if [ "$mode" != analyze ] && [ "${#analyze_args[@]}" -gt 0 ]; then
  echo "start.sh: unknown option(s): ${analyze_args[*]} (only --analyze-only passes options to layerlens analyze)" >&2
  exit 2
fi

say() { echo "==> $*"; }
TAG="${LAYERLENS_DEMO_TAG:-layerlens/sample:latest}"
DOCKER=/usr/bin/docker

if ! bash scripts/ensure-docker.sh; then
  cat >&2 <<'EOF'
Layer Lens needs a Docker daemon. Start one, then run `npm start` again:
  - Docker Desktop: start it;   - Linux: `sudo systemctl start docker` (or `sudo dockerd &`);
  - a remote daemon: `export DOCKER_HOST=ssh://user@host` (or tcp://host:2376 with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
EOF
  exit 1
fi

if [ -n "${LAYERLENS_DEMO_DIR:-}" ]; then
  work="$LAYERLENS_DEMO_DIR"
  mkdir -p "$work"
  keep_work=1
else
  work="$(mktemp -d -t layerlens-demo.XXXXXX)"
  keep_work=0
fi
cs_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$cs_pid" ] && kill -0 "$cs_pid" 2>/dev/null; then
    echo "==> stopping code-server (pid $cs_pid)"
    kill -TERM "$cs_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$cs_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$cs_pid" 2>/dev/null || true
    wait "$cs_pid" 2>/dev/null || true
  fi
  if [ "$keep_work" -eq 0 ]; then rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

sample="$work/sample"
rm -rf "$sample"
mkdir -p "$sample"
cp -a sample/. "$sample/"

say "making the sample's base image (layerlens/busybox:1, from the static busybox)"
bash scripts/make-base-image.sh layerlens/busybox:1

say "building the sample once (BuildKit), so there is a cache to predict against: $TAG"
DOCKER_BUILDKIT=1 "$DOCKER" build --network none -q -t "$TAG" "$sample" >/dev/null
say "editing src/app.py: the next build must re-copy the sources and re-run the install"
echo 'print("edited after the build")' >>"$sample/src/app.py"

if [ "$mode" = analyze ]; then
  # bin/layerlens.js runs the compiled sources (out/); the editor path below needs only the esbuild bundles.
  npm run --silent build
  DOCKER_BUILDKIT=1 node bin/layerlens.js analyze "$sample/Dockerfile" "${analyze_args[@]}"
  echo "(the sample is in $sample)"
  keep_work=1
  exit 0
fi

say "packaging the extension (npm run package)"
vsix="$work/layer-lens.vsix"
if ! npm run --silent package -- --out "$vsix" >"$work/package.log" 2>&1; then
  cat "$work/package.log" >&2
  exit 1
fi
echo "    $vsix ($(($(stat -c %s "$vsix") / 1024)) KiB)"

say "making sure code-server, Node 24 and Chromium are installed (scripts/ensure-code-server.sh; ~5 min the first time)"
bash scripts/ensure-code-server.sh >"$work/ensure-code-server.log" 2>&1 || { cat "$work/ensure-code-server.log" >&2; exit 1; }
if [ -n "${LAYERLENS_E2E_HOME:-}" ]; then e2e_home="$LAYERLENS_E2E_HOME"
elif [ "$(id -u)" -eq 0 ]; then e2e_home=/opt/layerlens-e2e
else e2e_home="$HOME/.cache/layerlens-e2e"; fi
node24="$e2e_home/node24/bin/node"
entry="$e2e_home/code-server-${LAYERLENS_CODE_SERVER_VERSION:-4.139.1}/node_modules/code-server/out/node/entry.js"

# code-server's own folders (as test/e2e/codeServer.ts does): nothing is written to the user's VS Code or ~/.config.
cs="$work/code-server"
mkdir -p "$cs/home" "$cs/user-data/User" "$cs/extensions" "$cs/tmp"
printf 'auth: none\ncert: false\n' >"$cs/config.yaml"
cat >"$cs/user-data/User/settings.json" <<'EOF'
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.tips.enabled": false,
  "chat.disableAIFeatures": true,
  "editor.inlayHints.enabled": "on",
  "editor.hover.delay": 300
}
EOF
cs_env=(env HOME="$cs/home" XDG_CONFIG_HOME="$cs/home/.config" XDG_DATA_HOME="$cs/home/.local/share"
  XDG_CACHE_HOME="$cs/home/.cache" XDG_STATE_HOME="$cs/home/.local/state" TMPDIR="$cs/tmp"
  LAYERLENS_E2E_SANDBOX="$cs" DOCKER_BUILDKIT=1)
cs_args=("$entry" --config "$cs/config.yaml" --user-data-dir "$cs/user-data" --extensions-dir "$cs/extensions")

say "installing the .vsix into code-server"
"${cs_env[@]}" "$node24" "${cs_args[@]}" --install-extension "$vsix" >"$cs/install.log" 2>&1 || { cat "$cs/install.log" >&2; exit 1; }

if [ -z "$port" ]; then
  port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
fi

# code-server's parent and child processes must shake hands within 10 s ("error timed out" otherwise); on a busy
# machine the child can take longer to load, so an exit before answering is retried twice.
start_code_server() {
  "${cs_env[@]}" "$node24" "${cs_args[@]}" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry \
    --disable-update-check --disable-workspace-trust --disable-getting-started-override "$sample" >>"$cs/code-server.log" 2>&1 &
  cs_pid=$!
  local deadline=$((SECONDS + 90))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do
    if ! kill -0 "$cs_pid" 2>/dev/null; then
      wait "$cs_pid" 2>/dev/null || true
      cs_pid=""
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$cs/code-server.log" >&2
      echo "code-server did not answer on port $port within 90 s" >&2
      exit 1
    fi
    sleep 0.2
  done
}
for attempt in 1 2 3; do
  say "starting code-server on 127.0.0.1:$port (attempt $attempt of 3)"
  if start_code_server; then break; fi
  tail -n 5 "$cs/code-server.log" >&2
  if [ "$attempt" -eq 3 ]; then
    echo "code-server exited before answering, three times (log: $cs/code-server.log)" >&2
    exit 1
  fi
  echo "code-server exited before answering; starting it again" >&2
done

folder="$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$sample")"
url="http://127.0.0.1:$port/?folder=$folder"
echo
echo "Layer Lens is ready: $url"
echo "  Open it in a browser, then open Dockerfile: hints on every line, hover COPY . . for why it rebuilds,"
echo "  the lightbulb on COPY . . for the reorder quick fix. (sample: $sample; log: $cs/code-server.log)"
if [ "$mode" = check ]; then
  exit 0
fi
echo "  Press Ctrl-C to stop."
wait "$cs_pid"
