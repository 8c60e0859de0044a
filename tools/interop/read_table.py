#!/usr/bin/env python3
"""Reads a Delta table with delta-rs (the Python `deltalake` package) and prints it as
canonical JSON (see canonical.py) on stdout, for tarn's interop tests.

    read_table.py TABLE_URI [--version N] [--storage-option KEY=VALUE ...]
    read_table.py --batch < requests.json

TABLE_URI is a local path or a URI delta-rs understands (s3://bucket/prefix, ...). Storage
options are passed to delta-rs as given, e.g. for the moto S3 emulator:
`--storage-option aws_endpoint=http://127.0.0.1:PORT --storage-option allow_http=true
--storage-option aws_access_key_id=test --storage-option aws_secret_access_key=test
--storage-option aws_region=us-east-1`.

On failure delta-rs's error goes to stderr and the exit status is 1.

--batch reads a JSON array of requests `{"uri": ..., "version": N or null,
"storage_options": {...}}` from stdin and prints a JSON array with, for each request in
order, `{"table": <canonical table>}` or `{"error": "<exception type>: <message>"}`; it exits 0
unless the requests themselves are malformed. One process for many tables saves the
interpreter and import start-up per table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canonical  # noqa: E402


def read(uri: str, version: int | None, storage_options: dict[str, str] | None) -> dict:
    from deltalake import DeltaTable

    dt = DeltaTable(uri, version=version, storage_options=storage_options or None)
    return canonical.describe_table(dt)


def parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def finish(code: int) -> None:
    # delta-rs's runtime can abort the interpreter during shutdown ("terminate called without
    # an active exception"); leave without running finalizers once the output is written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("uri", nargs="?", help="table path or URI")
    parser.add_argument("--version", type=int, default=None, help="version to read")
    parser.add_argument(
        "--storage-option",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a delta-rs storage option (repeatable)",
    )
    parser.add_argument(
        "--batch", action="store_true", help="read a JSON array of requests from stdin"
    )
    args = parser.parse_args()

    if args.batch:
        if args.uri is not None:
            parser.error("--batch takes no TABLE_URI")
        requests = json.load(sys.stdin)
        results = []
        for request in requests:
            try:
                table = read(
                    request["uri"], request.get("version"), request.get("storage_options")
                )
                results.append({"table": table})
            except Exception as err:  # noqa: BLE001 - reported per request
                results.append({"error": f"{type(err).__name__}: {err}"})
        sys.stdout.write(canonical.dumps(results) + "\n")
        finish(0)

    if args.uri is None:
        parser.error("TABLE_URI is required")
    try:
        table = read(args.uri, args.version, dict(args.storage_option))
    except Exception as err:  # noqa: BLE001 - the message is the point
        sys.stderr.write(f"delta-rs could not read {args.uri}: {type(err).__name__}: {err}\n")
        finish(1)
    sys.stdout.write(canonical.dumps(table) + "\n")
    finish(0)


if __name__ == "__main__":
    main()
