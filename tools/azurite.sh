#!/usr/bin/env bash
# The azurite Azure Blob emulator for tarn's tests, on 127.0.0.1 only, in memory.
#
# Sourced by tools/emulators.sh, which calls:
#
#   azurite_install DIR   installs npm azurite@$AZURITE_VERSION into DIR (outside the clone,
#                         default ../.tarn-azurite beside it), or reuses it while the version
#                         and node's are unchanged (a stamp file records both)
#   azurite_launch DIR    starts azurite-blob from DIR on 127.0.0.1:<free port> in the
#                         background (in memory, telemetry off) and returns at once
#   azurite_ready PYTHON  waits until it answers, creates the container with PYTHON (the
#                         interop venv's, which has azure-storage-blob), and exports
#                         TARN_TEST_AZURE_URL=http://127.0.0.1:PORT, TARN_TEST_AZURE_CONTAINER
#                         and AZURITE_BLOB_STORAGE_URL (the same URL: object_store reads the
#                         emulator's address from that variable only); if azurite did not come
#                         up, starts it again on another port, 3 attempts in all
#   azurite_start DIR PYTHON   launch and ready
#   azurite_stop          stops it (safe to call twice, or when it never started)
#
# Run directly, it starts azurite in the foreground for a manual test session:
#
#   tools/azurite.sh [DIR [PYTHON]]   prints the exports to paste into another shell
#
# PYTHON defaults to $TARN_PYTHON. The container is TARN_TEST_AZURE_CONTAINER (default
# tarn-test). The account is azurite's well-known development one.

AZURITE_VERSION="3.37.0"

_azurite_pid=""
_azurite_log=""
_azurite_watchdog=""
_azurite_port=""
_azurite_dir=""

azurite_install() {
  local dir="$1" stamp
  command -v npm >/dev/null && command -v node >/dev/null || {
    echo "error: node and npm are needed for the Azure Blob emulator (Debian: apt-get install nodejs npm)" >&2
    return 1
  }
  mkdir -p "$dir"
  stamp="azurite@$AZURITE_VERSION node $(node --version)"
  (
    # One installer at a time when several clones share the directory.
    if command -v flock >/dev/null; then flock 9; fi
    if [ -x "$dir/node_modules/.bin/azurite-blob" ] && [ "$(cat "$dir/.tarn-stamp" 2>/dev/null)" = "$stamp" ]; then
      echo "reusing $dir ($stamp)"
      exit 0
    fi
    echo "installing azurite@$AZURITE_VERSION into $dir"
    rm -rf "$dir/node_modules" "$dir/package.json" "$dir/package-lock.json" "$dir/.tarn-stamp"
    local log="$dir/.tarn-install.log"
    if ! npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
        "azurite@$AZURITE_VERSION" >"$log" 2>&1; then
      cat "$log" >&2
      echo "error: npm install azurite@$AZURITE_VERSION failed" >&2
      exit 1
    fi
    echo "$stamp" >"$dir/.tarn-stamp"
  ) 9>"$dir.lock"
}

azurite_launch() {
  _azurite_dir="${1:-$_azurite_dir}"
  local bin="$_azurite_dir/node_modules/.bin/azurite-blob"
  if [ ! -x "$bin" ]; then
    echo "azurite_launch: no $bin (run azurite_install first)" >&2
    return 1
  fi
  _azurite_log="$(mktemp "${TMPDIR:-/tmp}/tarn-azurite.XXXXXX")"
  # A free port now; another process could take it before azurite binds, hence the retries.
  _azurite_port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
  # In memory (nothing written to the working directory), no telemetry (no traffic beyond
  # 127.0.0.1), any API version (the Python client's may be newer than this azurite's).
  "$bin" --blobHost 127.0.0.1 --blobPort "$_azurite_port" --inMemoryPersistence \
    --skipApiVersionCheck --disableTelemetry --disableProductStyleUrl --silent \
    >"$_azurite_log" 2>&1 &
  _azurite_pid=$!
}

azurite_ready() {
  local python="${1:-${TARN_PYTHON:-}}" interop container attempt
  interop="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/interop"
  container="${TARN_TEST_AZURE_CONTAINER:-tarn-test}"
  if [ -z "$python" ] || [ ! -x "$python" ]; then
    echo "azurite_ready: no Python with azure-storage-blob (give the venv's python, or set TARN_PYTHON)" >&2
    return 1
  fi
  for attempt in 1 2 3; do
    if [ -z "$_azurite_pid" ]; then
      azurite_launch || return 1
    fi
    if "$python" "$interop/azure_container.py" --url "http://127.0.0.1:$_azurite_port" \
        --container "$container" --timeout 30 \
        && kill -0 "$_azurite_pid" 2>/dev/null; then
      export TARN_TEST_AZURE_URL="http://127.0.0.1:$_azurite_port"
      export TARN_TEST_AZURE_CONTAINER="$container"
      export AZURITE_BLOB_STORAGE_URL="$TARN_TEST_AZURE_URL"
      # If this shell dies without running its traps (SIGKILL), stop azurite anyway.
      local shell_pid=$$ azurite_pid=$_azurite_pid
      ( while kill -0 "$shell_pid" 2>/dev/null && kill -0 "$azurite_pid" 2>/dev/null; do
          sleep 2
        done
        kill "$azurite_pid" 2>/dev/null ) >/dev/null 2>&1 &
      _azurite_watchdog=$!
      return 0
    fi
    echo "azurite did not start on port $_azurite_port (attempt $attempt); its log:" >&2
    tail -n 20 "$_azurite_log" >&2
    azurite_stop
  done
  return 1
}

azurite_start() {
  azurite_launch "${1:-}" && azurite_ready "${2:-}"
}

azurite_stop() {
  if [ -n "$_azurite_watchdog" ]; then
    kill "$_azurite_watchdog" 2>/dev/null || true
    wait "$_azurite_watchdog" 2>/dev/null || true
    _azurite_watchdog=""
  fi
  if [ -n "$_azurite_pid" ]; then
    kill "$_azurite_pid" 2>/dev/null || true
    wait "$_azurite_pid" 2>/dev/null || true
    _azurite_pid=""
  fi
  if [ -n "$_azurite_log" ]; then
    rm -f "$_azurite_log"
    _azurite_log=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap azurite_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  dir="${1:-${TARN_AZURITE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../.tarn-azurite}}"
  azurite_install "$dir"
  azurite_start "$dir" "${2:-}"
  echo "export TARN_TEST_AZURE_URL=$TARN_TEST_AZURE_URL"
  echo "export TARN_TEST_AZURE_CONTAINER=$TARN_TEST_AZURE_CONTAINER"
  echo "export AZURITE_BLOB_STORAGE_URL=$AZURITE_BLOB_STORAGE_URL"
  echo "azurite is running (pid $_azurite_pid); Ctrl-C stops it" >&2
  wait "$_azurite_pid"
fi
