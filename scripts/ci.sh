#!/usr/bin/env bash
# The full check, as CI runs it: format, lints, every test with every feature,
# doc tests, a smoke run of the server example, and schemathesis against the
# server's OpenAPI document. Installs what it needs.
#
#   scripts/ci.sh
#
# The cargo target dir lives outside the clone (CARGO_TARGET_DIR, default
# ~/.cache/kcl-target) so repeated runs reuse the build.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
export KCL_TEST_REQUIRE_ALL=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1
# Tesseract's OpenMP threads must be off before the library loads (in-process engines
# run one per worker thread); see docs/ocr.md.
export OMP_THREAD_LIMIT=1

step() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# Debian packages, as root or through sudo.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

step "toolchain and system packages"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
need="1.95"
have="$(rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "KCL needs Rust $need or newer; this machine has $have (rustup update)"; exit 1
fi
if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
cargo --version
missing=()
command -v cc >/dev/null || missing+=(build-essential) # the bundled SQLite is C
command -v curl >/dev/null || missing+=(curl)
# aws-lc-sys (rustls under `aws`) builds with cc here but falls back to cmake.
command -v cmake >/dev/null || missing+=(cmake)
command -v python3 >/dev/null || missing+=(python3 python3-venv) # the moto emulator
# Tesseract for the `tesseract` feature (leptess builds its bindings with clang).
[ -e /usr/include/tesseract/baseapi.h ] || missing+=(libtesseract-dev)
[ -e /usr/include/leptonica/allheaders.h ] || missing+=(libleptonica-dev)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-eng)
command -v clang >/dev/null || missing+=(clang libclang-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
# Chromium and its WebDriver for the browser tests (tests/e2e_browser.rs).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# Chromium's own words in other languages: the browser test's pt-BR browser.
[ -e /usr/lib/chromium/locales/pt-BR.pak ] || missing+=(chromium-l10n)
# HAProxy, the real reverse proxy in front of KCL in tests/trusted_proxies.rs.
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"

step "services (PostgreSQL, Redis, both again with TLS only, a PostgreSQL primary + standby pair, the moto AWS emulator)"
if [ -z "${KCL_TEST_POSTGRES_URL:-}" ] || [ -z "${KCL_TEST_REDIS_URL:-}" ] || [ -z "${KCL_TEST_AWS_ENDPOINT:-}" ] \
  || [ -z "${KCL_TEST_POSTGRES_TLS_URL:-}" ] || [ -z "${KCL_TEST_REDIS_TLS_URL:-}" ] \
  || [ -z "${KCL_TEST_POSTGRES_REPLICA_URL:-}" ]; then
  command -v psql >/dev/null || apt_install postgresql-client
  eval "$(scripts/services.sh start)"
  trap 'scripts/services.sh stop' EXIT
fi
echo "KCL_TEST_POSTGRES_URL=$KCL_TEST_POSTGRES_URL KCL_TEST_REDIS_URL=$KCL_TEST_REDIS_URL KCL_TEST_AWS_ENDPOINT=$KCL_TEST_AWS_ENDPOINT"
echo "KCL_TEST_POSTGRES_TLS_URL=$KCL_TEST_POSTGRES_TLS_URL KCL_TEST_REDIS_TLS_URL=$KCL_TEST_REDIS_TLS_URL KCL_TEST_TLS_CA=$KCL_TEST_TLS_CA"

step "fmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-features --all-targets -- -D warnings

step "deploy files (systemd units, Dockerfile)"
scripts/check-deploy.sh

step "feature sets (a bare build, and each adapter alone)"
cargo check --quiet -p kcl --no-default-features
cargo check --quiet -p kcl --no-default-features --features local
cargo check --quiet -p kcl --no-default-features --features http
cargo check --quiet -p kcl-media --no-default-features

step "docs (warnings denied) and the crates as they would be published"
# Broken intra-doc links or bad doc markup fail here, not on docs.rs.
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --all-features
# Each crate packaged as crates.io would take it (manifest, README, licence, the
# files it includes) and built from its package with its default features, against
# the others' packages. Cargo takes a package of a registry as immutable: an earlier
# run's kcl-core 0.1.0, unpacked (`registry/src/-<hash>/`) and built, would stand in
# for today's. So the packages build in a target dir of their own, whose KCL crates
# (and only those: their dependencies stay cached) go first with the unpacked
# sources (~8 min the first time on 2 cores, ~3 min after).
publish_target="$CARGO_TARGET_DIR/publish-check"
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/kcl-* "$publish_target/package"
rm -rf "$publish_target"/debug/.fingerprint/kcl-* "$publish_target"/debug/deps/libkcl_* "$publish_target"/debug/deps/kcl_*
CARGO_TARGET_DIR="$publish_target" cargo publish --workspace --dry-run --quiet

step "tests (all features, doc tests included)"
cargo test --workspace --all-features

step "AWS stack (cfn-lint, checkov, promtool, the rehearsal on a private moto)"
scripts/check-aws-stack.sh

step "fuzz (every cargo-fuzz target for 20 s, from the committed seeds; scripts/fuzz.sh 600 before a release)"
KCL_FUZZ_CORPUS=fresh scripts/fuzz.sh 20

step "server smoke test"
scripts/smoke-server.sh

step "schemathesis against the running server's OpenAPI document"
scripts/schemathesis.sh

step "done"
