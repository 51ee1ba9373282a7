#!/usr/bin/env bash
# The main job in one command (`npm start`): a reachable Docker daemon, the sample project built once, then
# Layer Lens's prediction for every line of its Dockerfile after a source edit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-docker.sh
npm run --silent build
bash scripts/make-base-image.sh layerlens/busybox:1
work="$(mktemp -d -t layerlens-sample.XXXXXX)"
cp -a sample/. "$work/"
echo "==> building the sample once (BuildKit), so there is a cache to predict against"
DOCKER_BUILDKIT=1 /usr/bin/docker build --network none -q -t layerlens/sample:latest "$work" >/dev/null
echo "==> editing src/app.py, then asking Layer Lens what the next build will do"
echo 'print("edited")' >> "$work/src/app.py"
node bin/layerlens.js analyze "$work/Dockerfile" "$@"
echo "(the sample is in $work)"
