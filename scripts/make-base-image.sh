#!/usr/bin/env bash
# Makes a local base image from the static busybox binary (busybox-static), since there is no registry here.
# Usage: scripts/make-base-image.sh TAG   (does nothing when TAG exists)
set -euo pipefail
tag="${1:-layerlens/busybox:1}"
docker_cli="${LAYERLENS_DOCKER_CLI:-/usr/bin/docker}"
if "$docker_cli" image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
busybox="${LAYERLENS_BUSYBOX:-/bin/busybox}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
tar -C "$root" -c . | "$docker_cli" import - "$tag" >/dev/null
echo "made base image $tag"
