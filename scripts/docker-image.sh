#!/usr/bin/env bash
# Builds KCL's container image (deploy/docker/Dockerfile) with podman, on a bookworm
# base made here by debootstrap from Debian's mirror (no registry needed), then runs
# it once: the health check must pass, the binary must find all its libraries, and
# SIGTERM must stop it cleanly. Needs root (debootstrap, podman's storage).
#
#   scripts/docker-image.sh [path/to/kcl]     # default: $CARGO_TARGET_DIR/release/kcl
#
# Without a binary it builds one: cargo build --release --bin kcl --features
# $KCL_FEATURES (default cli,aws,tesseract). Result: localhost/kcl:latest; push it
# with `podman push localhost/kcl:latest docker://<registry>/kcl:<version>`.
#
# Made once and reused: the base image localhost/kcl-debian-bookworm:latest
# (KCL_REBUILD_BASE=1 makes it again, e.g. for security updates).
#
# Works around two limits of sandboxes without systemd and with cgroup v1 (both
# found here): crun refuses cgroup "hybrid mode" and podman's default rlimits are
# above what the process may set, so containers run with runc
# (KCL_PODMAN_RUNTIME) and explicit --ulimit values; podman's periodic health checks
# need systemd, so the script runs the check itself (`podman healthcheck run`).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "scripts/docker-image.sh needs root (debootstrap, podman)" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
base="localhost/kcl-debian-bookworm:latest"
image="${KCL_IMAGE:-localhost/kcl:latest}"
runtime="${KCL_PODMAN_RUNTIME:-runc}"
# Debian's mirror as this machine's apt is configured (KCL_DEBIAN_MIRROR overrides).
apt_uris() { grep -hoE 'https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true; }
mirror="${KCL_DEBIAN_MIRROR:-$(apt_uris | grep -v security | head -1)}"
security="${KCL_DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep security | head -1)}"
[ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt: set KCL_DEBIAN_MIRROR" >&2; exit 1; }
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v "$runtime" >/dev/null || missing+=("$runtime")
if [ ${#missing[@]} != 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
podman --version

bin="${1:-$CARGO_TARGET_DIR/release/kcl}"
if [ ! -x "$bin" ]; then
  [ $# = 0 ] || { echo "$bin: not an executable" >&2; exit 1; }
  cargo build --release --bin kcl --features "${KCL_FEATURES:-cli,aws,tesseract}"
fi

work="$(mktemp -d /var/tmp/kcl-image.XXXXXX)"
name="kcl-image-check-$$"
volume="kcl-image-check-$$"
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "${KCL_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
  echo "==> debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  cat >"$work/root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
EOF
  [ -z "$security" ] || echo "deb $security bookworm-security main" >>"$work/root/etc/apt/sources.list"
  chroot "$work/root" apt-get clean
  rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin "$work/root/var/log/"*.log
  tar -C "$work/root" --numeric-owner -c . | podman import --message "debootstrap --variant=minbase bookworm" - "$base"
  rm -rf "$work/root"
fi

echo "==> podman build $image (kcl from $bin)"
mkdir "$work/context"
cp deploy/docker/Dockerfile "$work/context/"
install -m 0755 "$bin" "$work/context/kcl"
podman build --format docker --runtime "$runtime" "${limits[@]}" --pull=never \
  --build-arg "BASE=$base" -t "$image" "$work/context"

echo "==> the binary's libraries"
if podman run --rm --no-healthcheck --runtime "$runtime" "${limits[@]}" --entrypoint ldd "$image" /usr/local/bin/kcl | tee "$work/ldd" | grep 'not found'; then
  echo "the image lacks libraries the binary needs" >&2
  exit 1
fi
podman run --rm --no-healthcheck --runtime "$runtime" "${limits[@]}" --entrypoint tesseract "$image" --list-langs 2>&1 | grep -qx por

echo "==> run, health check, stop"
podman volume create "$volume" >/dev/null
podman run -d --name "$name" --runtime "$runtime" "${limits[@]}" -v "$volume:/var/lib/kcl" "$image" >/dev/null 2>&1
healthy=""
for _ in $(seq 60); do
  if podman healthcheck run "$name" >/dev/null 2>&1; then healthy=1; break; fi
  [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || break
  sleep 1
done
if [ -z "$healthy" ]; then
  podman logs "$name" >&2 || true
  echo "the container never passed its health check" >&2
  exit 1
fi
echo "healthy: $(podman inspect -f '{{.Config.User}} {{.State.Health.Status}}' "$name")"
start=$(date +%s)
podman stop -t 30 "$name" >/dev/null 2>&1
code="$(podman inspect -f '{{.State.ExitCode}}' "$name")"
echo "stopped in $(($(date +%s) - start)) s, exit code $code"
podman logs "$name" 2>&1 | tail -5
[ "$code" = 0 ] || { echo "SIGTERM did not stop KCL cleanly (exit code $code)" >&2; exit 1; }
podman image ls "$image"
