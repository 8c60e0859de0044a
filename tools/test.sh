#!/usr/bin/env bash
# The one test command: builds tarn and runs every test, from a fresh clone.
#
#   tools/test.sh            build, lint, and run the whole suite
#
# Environment:
#   CARGO_TARGET_DIR   build output (default: ../.tarn-target beside the clone, via
#                      .cargo/config.toml, so a fresh clone reuses earlier builds)
#   TARN_SKIP_LINT=1   skip `cargo fmt --check` and clippy
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "toolchain"
cargo --version
rustc --version

if [ "${TARN_SKIP_LINT:-0}" != "1" ]; then
  step "format check"
  cargo fmt --all -- --check
  step "clippy (warnings are errors)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "build"
cargo build --workspace --all-targets --locked

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --doc --locked
else
  cargo test --workspace --locked --no-fail-fast
fi

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

printf '\nall tests passed in %ss\n' "$(( $(date +%s) - started ))"
