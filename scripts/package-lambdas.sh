#!/usr/bin/env bash
# Packages KCL's four Lambda functions for the provided.al2023 runtime on x86_64:
# one `cargo lambda build --release` run builds the feature-gated binaries
# kcl-lambda-thumbnails, kcl-lambda-ingest, kcl-lambda-reports and kcl-lambda-http (no dev-dependency is
# compiled) into zips, then each zip is opened and must hold an executable x86_64
# ELF named `bootstrap` that needs no glibc newer than Amazon Linux 2023's (2.34).
#
#   scripts/package-lambdas.sh
#
# Output: $KCL_LAMBDA_DIR (default $CARGO_TARGET_DIR/lambda)/<binary>/bootstrap.zip,
# ready for `aws lambda update-function-code --zip-file fileb://...` or an S3 upload.
# A release build: about 10 minutes cold on two cores; not part of scripts/ci.sh.
#
# cargo-lambda comes from PyPI (with the Zig toolchain it links against an older
# glibc with) into a venv under ${KCL_SERVICES_DIR:-~/.cache/kcl-services}.
#
# arm64 (Graviton, cheaper per GB-second) is the same run with `--arm64` in place of
# `--x86-64`; it needs the Rust target, which this machine cannot download:
#
#   rustup target add aarch64-unknown-linux-gnu
#   cargo lambda build --release --arm64 --output-format zip --disable-optimizations \
#     --features lambda,aws,media,http \
#     --bin kcl-lambda-thumbnails --bin kcl-lambda-ingest --bin kcl-lambda-reports --bin kcl-lambda-http
#
# (then expect e_machine 183, aarch64, below, and create the functions with
# --architectures arm64).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
out="${KCL_LAMBDA_DIR:-$CARGO_TARGET_DIR/lambda}"
dir="${KCL_SERVICES_DIR:-$HOME/.cache/kcl-services}"
venv="$dir/cargo-lambda-venv"
cargo_lambda_version="1.9.2"
bins=(kcl-lambda-thumbnails kcl-lambda-ingest kcl-lambda-reports kcl-lambda-http)

if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -qF "$cargo_lambda_version"; then
  mkdir -p "$dir"
  python3 -m venv "$venv" || {
    echo "python3 -m venv failed: apt-get install python3-venv" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$cargo_lambda_version"
fi
# cargo finds `cargo-lambda` on PATH, and cargo-lambda finds Zig (python-zig) there.
export PATH="$venv/bin:$PATH"
cargo lambda --version

# --disable-optimizations: the project's [profile.release] applies as it is (thin LTO,
# stripped, unwinding kept) instead of cargo-lambda's own, which adds panic=abort: a
# panicking invocation then fails alone rather than killing the warm runtime.
bin_args=()
for b in "${bins[@]}"; do bin_args+=(--bin "$b"); done
for b in "${bins[@]}"; do rm -rf "${out:?}/$b"; done
cargo lambda build --release --x86-64 --output-format zip --disable-optimizations \
  --lambda-dir "$out" --features lambda,aws,media,http "${bin_args[@]}"

python3 - "$out" "${bins[@]}" <<'EOF'
import re, stat, struct, sys, zipfile

out, bins = sys.argv[1], sys.argv[2:]
failed = False
for name in bins:
    path = f"{out}/{name}/bootstrap.zip"
    try:
        z = zipfile.ZipFile(path)
        info = z.getinfo("bootstrap")
        data = z.read(info)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        print(f"FAIL {path}: no bootstrap: {e}")
        failed = True
        continue
    problems = []
    mode = info.external_attr >> 16
    if not (info.create_system == 3 and mode & stat.S_IXUSR and stat.S_ISREG(mode)):
        problems.append(f"not an executable file (mode {oct(mode)}, made on system {info.create_system})")
    if data[:4] != b"\x7fELF":
        problems.append("not an ELF file")
    else:
        ei_class, ei_data = data[4], data[5]
        e_type, e_machine = struct.unpack_from("<HH", data, 16)
        if ei_class != 2 or ei_data != 1:
            problems.append("not a 64-bit little-endian ELF")
        if e_machine != 62:
            problems.append(f"e_machine {e_machine}, not 62 (x86_64)")
        if e_type not in (2, 3):
            problems.append(f"e_type {e_type}: not an executable")
    # Lambda's provided.al2023 has glibc 2.34: no symbol may need a newer one.
    glibc = sorted({tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", data)})
    if glibc and glibc[-1] > (2, 34):
        problems.append("needs glibc " + ".".join(map(str, glibc[-1])) + ", Amazon Linux 2023 has 2.34")
    others = [n for n in z.namelist() if n != "bootstrap"]
    size = f"{len(data) / 1e6:.1f} MB"
    need = ".".join(map(str, glibc[-1])) if glibc else "none"
    if problems:
        print(f"FAIL {path}: " + "; ".join(problems))
        failed = True
    else:
        print(f"ok   {path}: x86_64 ELF bootstrap, {size}, glibc >= {need}" + (f", also {others}" if others else ""))
sys.exit(1 if failed else 0)
EOF
