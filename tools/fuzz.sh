#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a bounded time.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 300; TARGETs default to every target in fuzz/fuzz_targets/.
# tools/test.sh runs this with 15 seconds per target. The corpus of each target is seeded
# from the fixture tables and fuzz/seeds/ (tools/fuzz_corpus.py) and kept between runs, so
# each run starts from the coverage the last one reached. A crash stops that target (the
# others still run) and the script fails, naming the input libFuzzer saved. Keep every crash
# as a test in the crate that owns the code and under fuzz/seeds/<target>/ (README,
# "Fuzzing").
#
# Environment:
#   TARN_FUZZ_DIR          corpora, crash inputs and logs: <dir>/corpus/<target>/,
#                          <dir>/artifacts/<target>/, <dir>/logs/<target>.log (default:
#                          ../.tarn-fuzz beside the clone)
#   TARN_FUZZ_TARGET_DIR   the build (default: ../.tarn-fuzz-target beside the clone)
#   TARN_TOOLS             where cargo-fuzz is installed, and reused while its version is the
#                          one below (default: ../.tarn-tools beside the clone)
#   TARN_FUZZ_SANITIZER    none (default: builds on the stable toolchain) or address (needs a
#                          nightly toolchain, used as `cargo +nightly`)
#   TARN_FIXTURES          the fixture tables (default: ../shared/fixtures beside the clone)
#   TARN_BOOTSTRAP_PYTHON  the interpreter for tools/fuzz_corpus.py (default: python3)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

seconds="${1:-300}"
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in fuzz/fuzz_targets/*.rs; do
    targets+=("$(basename "$source" .rs)")
  done
fi

cargo_fuzz_version=0.13.2
# A directory beside the clone, created if missing, as an absolute path.
beside() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}
fuzz_dir="$(beside "${TARN_FUZZ_DIR:-$repo/../.tarn-fuzz}")"
target_dir="$(beside "${TARN_FUZZ_TARGET_DIR:-$repo/../.tarn-fuzz-target}")"
tools="$(beside "${TARN_TOOLS:-$repo/../.tarn-tools}")"
fixtures="${TARN_FIXTURES:-$repo/../shared/fixtures}"
python="${TARN_BOOTSTRAP_PYTHON:-python3}"
sanitizer="${TARN_FUZZ_SANITIZER:-none}"
toolchain=()
case "$sanitizer" in
  none) ;;
  address) toolchain=(+nightly) ;;
  *) echo "error: TARN_FUZZ_SANITIZER is none or address, not $sanitizer" >&2; exit 2 ;;
esac

# cargo-fuzz lives outside the clone, so a fresh clone reuses it.
(
  if command -v flock >/dev/null; then flock 9; fi
  if [ "$("$tools/bin/cargo-fuzz" --version 2>/dev/null)" = "cargo-fuzz $cargo_fuzz_version" ]; then
    exit 0
  fi
  echo "installing cargo-fuzz $cargo_fuzz_version into $tools"
  log="$tools/cargo-fuzz-install.log"
  if ! cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --root "$tools" \
      >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: cargo install cargo-fuzz failed" >&2
    exit 1
  fi
) 9>"$tools/.cargo-fuzz.lock"
export PATH="$tools/bin:$PATH"

# cargo fuzz has no --locked: check that fuzz/Cargo.lock is current first.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

build_started=$(date +%s)
# Release with debug assertions and overflow checks: an overflow is a crash too.
cargo "${toolchain[@]}" fuzz build -O --debug-assertions --sanitizer "$sanitizer" \
  --target-dir "$target_dir"
echo "fuzz targets built in $(( $(date +%s) - build_started ))s (sanitizer: $sanitizer)"

echo "seeding the corpora from $fixtures and fuzz/seeds/"
"$python" tools/fuzz_corpus.py "$fixtures" fuzz/seeds "$fuzz_dir/corpus"

host="$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')"
failed=()
for target in "${targets[@]}"; do
  binary="$target_dir/$host/release/$target"
  [ -x "$binary" ] || { echo "error: no fuzz target $target ($binary)" >&2; exit 1; }
  mkdir -p "$fuzz_dir/corpus/$target" "$fuzz_dir/artifacts/$target" "$fuzz_dir/logs"
  log="$fuzz_dir/logs/$target.log"
  # -timeout: an input that takes this long is a hang, reported like a crash.
  if "$binary" "$fuzz_dir/corpus/$target" \
      -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
      -artifact_prefix="$fuzz_dir/artifacts/$target/" -print_final_stats=1 \
      >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    corpus="$(find "$fuzz_dir/corpus/$target" -type f | wc -l)"
    printf '  %-16s %10s runs, %6s/s, corpus %s\n' "$target" "${runs:-?}" "${rate:-?}" "$corpus"
  else
    failed+=("$target")
    echo "  $target FAILED: last lines of $log:" >&2
    grep -v '^#[0-9]' "$log" | tail -n 40 >&2
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "error: fuzz targets failed: ${failed[*]}" >&2
  echo "crash inputs: $fuzz_dir/artifacts/<target>/; reproduce with" >&2
  echo "  $target_dir/$host/release/<target> <input>" >&2
  exit 1
fi
