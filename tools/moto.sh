#!/usr/bin/env bash
# The moto S3 emulator for tarn's tests, on 127.0.0.1 only.
#
# Sourced by tools/emulators.sh, which calls (with the interop venv's python):
#
#   moto_launch PYTHON    starts moto (tools/interop/moto_serial.py, requests one at a time) on
#                         127.0.0.1:<free port> in the background and returns at once
#   moto_ready            waits until it answers, creates the buckets, and exports
#                         TARN_TEST_S3_ENDPOINT=http://127.0.0.1:PORT, TARN_TEST_S3_BUCKET and
#                         TARN_TEST_S3_ARCHIVE_BUCKET (a second bucket: tables whose files
#                         live in another bucket); if moto did not come up (another process
#                         took the port), starts it again on another port, 3 attempts in all
#   moto_start PYTHON     both
#   moto_stop             stops it (safe to call twice, or when it never started)
#
# Run directly, it starts moto in the foreground for a manual test session:
#
#   tools/moto.sh [PYTHON]    prints the exports to paste into another shell; Ctrl-C stops it
#
# PYTHON defaults to $TARN_PYTHON. The buckets are TARN_TEST_S3_BUCKET (default tarn-test) and
# TARN_TEST_S3_ARCHIVE_BUCKET (default tarn-test-archive).
# moto's request log goes to a temporary file, printed if moto fails to start.

_moto_pid=""
_moto_log=""
_moto_watchdog=""
_moto_port=""
_moto_python=""

moto_launch() {
  _moto_python="${1:-${TARN_PYTHON:-}}"
  if [ -z "$_moto_python" ] || [ ! -x "$_moto_python" ]; then
    echo "moto_launch: no Python with moto installed (give the venv's python, or set TARN_PYTHON)" >&2
    return 1
  fi
  local interop
  interop="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/interop"
  _moto_log="$(mktemp "${TMPDIR:-/tmp}/tarn-moto.XXXXXX")"
  # A free port now; another process could take it before moto binds, hence moto_ready's retries.
  _moto_port="$("$_moto_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # Through moto_serial.py: moto's own server races conditional puts (see that file).
  "$_moto_python" "$interop/moto_serial.py" 127.0.0.1 "$_moto_port" >"$_moto_log" 2>&1 &
  _moto_pid=$!
}

moto_ready() {
  local interop bucket archive_bucket attempt python="$_moto_python"
  interop="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/interop"
  bucket="${TARN_TEST_S3_BUCKET:-tarn-test}"
  archive_bucket="${TARN_TEST_S3_ARCHIVE_BUCKET:-tarn-test-archive}"
  for attempt in 1 2 3; do
    if [ -z "$_moto_pid" ]; then
      moto_launch "$python" || return 1
    fi
    if "$python" "$interop/s3_bucket.py" --endpoint "http://127.0.0.1:$_moto_port" \
        --bucket "$bucket" --timeout 30 \
        && "$python" "$interop/s3_bucket.py" --endpoint "http://127.0.0.1:$_moto_port" \
          --bucket "$archive_bucket" --timeout 30 \
        && kill -0 "$_moto_pid" 2>/dev/null; then
      export TARN_TEST_S3_ENDPOINT="http://127.0.0.1:$_moto_port"
      export TARN_TEST_S3_BUCKET="$bucket"
      export TARN_TEST_S3_ARCHIVE_BUCKET="$archive_bucket"
      # If this shell dies without running its traps (SIGKILL), stop moto anyway.
      local shell_pid=$$ moto_pid=$_moto_pid
      ( while kill -0 "$shell_pid" 2>/dev/null && kill -0 "$moto_pid" 2>/dev/null; do
          sleep 2
        done
        kill "$moto_pid" 2>/dev/null ) >/dev/null 2>&1 &
      _moto_watchdog=$!
      return 0
    fi
    echo "moto did not start on port $_moto_port (attempt $attempt); its log:" >&2
    tail -n 20 "$_moto_log" >&2
    moto_stop
  done
  return 1
}

moto_start() {
  moto_launch "${1:-}" && moto_ready
}

moto_stop() {
  if [ -n "$_moto_watchdog" ]; then
    kill "$_moto_watchdog" 2>/dev/null || true
    wait "$_moto_watchdog" 2>/dev/null || true
    _moto_watchdog=""
  fi
  if [ -n "$_moto_pid" ]; then
    kill "$_moto_pid" 2>/dev/null || true
    wait "$_moto_pid" 2>/dev/null || true
    _moto_pid=""
  fi
  if [ -n "$_moto_log" ]; then
    rm -f "$_moto_log"
    _moto_log=""
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap moto_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  moto_start "${1:-}"
  echo "export TARN_TEST_S3_ENDPOINT=$TARN_TEST_S3_ENDPOINT"
  echo "export TARN_TEST_S3_BUCKET=$TARN_TEST_S3_BUCKET"
  echo "export TARN_TEST_S3_ARCHIVE_BUCKET=$TARN_TEST_S3_ARCHIVE_BUCKET"
  echo "moto is running (pid $_moto_pid); Ctrl-C stops it" >&2
  wait "$_moto_pid"
fi
