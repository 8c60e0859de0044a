#!/usr/bin/env bash
# The one test command: builds tarn and runs every test, from a fresh clone.
#
#   tools/test.sh            build, lint, and run the whole suite
#
# Environment:
#   CARGO_TARGET_DIR   build output (default: ../.tarn-target beside the clone, via
#                      .cargo/config.toml, so a fresh clone reuses earlier builds)
#   TARN_SKIP_LINT=1   skip `cargo fmt --check` and clippy
#   TARN_SKIP_FUZZ=1   skip the fuzz step (tools/fuzz.sh; its own variables apply)
#   TARN_FUZZ_SECONDS  how long the fuzz step runs each target (default: 15)
#   TARN_VENV          the Python venv for the interop reader and the emulators' tools
#                      (default: ../.tarn-venv beside the clone; reused while tools/interop/
#                      requirements.txt and the Python version are unchanged)
#   TARN_BOOTSTRAP_PYTHON  the interpreter that creates the venv (default: python3)
#   TARN_AZURITE_DIR   npm azurite, the Azure Blob emulator (default: ../.tarn-azurite beside
#                      the clone; reused while its version and node's are unchanged)
#
# The tests get, from here (every emulator on 127.0.0.1, in memory, started while tarn builds
# and stopped when the script exits; tools/emulators.sh):
#   TARN_PYTHON            the venv's python, with deltalake (delta-rs) and pyarrow, which
#                          runs tools/interop/*.py
#   TARN_TEST_S3_ENDPOINT  http://127.0.0.1:PORT, a moto S3 server, with this bucket created
#   TARN_TEST_S3_BUCKET    and this second one (tables whose files live in another bucket)
#   TARN_TEST_S3_ARCHIVE_BUCKET
#   TARN_TEST_AZURE_URL    http://127.0.0.1:PORT, an azurite Blob server (its well-known
#   TARN_TEST_AZURE_CONTAINER  account), with this container created; AZURITE_BLOB_STORAGE_URL
#                          is the same URL, where object_store looks for the emulator
#   TARN_TEST_GCS_URL      http://127.0.0.1:PORT, a fake-gcs-server (reads only: it cannot
#   TARN_TEST_GCS_BUCKET   take object_store's writes), with this bucket created
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=tools/emulators.sh
. "$repo/tools/emulators.sh"
trap emulators_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

step "python tools (delta-rs reader; moto, azure-storage-blob, fake-gcs-server for the emulators)"
# The venv lives outside the clone so that a fresh clone reuses it; a stamp of the
# requirements and the interpreter version decides whether to reinstall.
python="${TARN_BOOTSTRAP_PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "error: $python not found (needed for the interop tests)" >&2; exit 1; }
requirements="$repo/tools/interop/requirements.txt"
venv="${TARN_VENV:-$repo/../.tarn-venv}"
mkdir -p "$(dirname "$venv")"
venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"
stamp="$("$python" -c 'import hashlib, sys; print(hashlib.sha256((sys.version + open(sys.argv[1]).read()).encode()).hexdigest())' "$requirements")"
(
  # One installer at a time when several clones share the venv.
  if command -v flock >/dev/null; then flock 9; fi
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.tarn-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "reusing $venv"
    exit 0
  fi
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "error: $venv exists and is not a Python venv; set TARN_VENV elsewhere" >&2
    exit 1
  fi
  echo "installing tools/interop/requirements.txt into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  log="$venv/.tarn-install.log"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$requirements" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: pip install -r tools/interop/requirements.txt failed" >&2
    exit 1
  fi
  echo "$stamp" >"$venv/.tarn-stamp"
) 9>"$venv.lock"
export TARN_PYTHON="$venv/bin/python"
"$TARN_PYTHON" -c 'import deltalake, pyarrow; print("deltalake", deltalake.__version__, "pyarrow", pyarrow.__version__)'

step "azure emulator (npm azurite)"
azurite_dir="${TARN_AZURITE_DIR:-$repo/../.tarn-azurite}"
mkdir -p "$azurite_dir"
azurite_dir="$(cd "$azurite_dir" && pwd)"
azurite_install "$azurite_dir"

step "emulators (S3, Azure Blob, GCS), started while tarn builds"
emulators_launch "$TARN_PYTHON" "$azurite_dir"

step "build"
cargo build --workspace --all-targets --locked

step "tests"
waited=$(date +%s)
emulators_ready
echo "emulators ready (waited $(( $(date +%s) - waited ))s after the build):"
echo "  moto S3 at $TARN_TEST_S3_ENDPOINT, buckets $TARN_TEST_S3_BUCKET and $TARN_TEST_S3_ARCHIVE_BUCKET"
echo "  azurite at $TARN_TEST_AZURE_URL, container $TARN_TEST_AZURE_CONTAINER"
echo "  fake-gcs-server at $TARN_TEST_GCS_URL, bucket $TARN_TEST_GCS_BUCKET"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --doc --locked
else
  cargo test --workspace --locked --no-fail-fast
fi
emulators_stop

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

if [ "${TARN_SKIP_FUZZ:-0}" != "1" ]; then
  step "fuzz (every target for ${TARN_FUZZ_SECONDS:-15}s)"
  tools/fuzz.sh "${TARN_FUZZ_SECONDS:-15}"
fi

printf '\nall tests passed in %ss\n' "$(( $(date +%s) - started ))"
