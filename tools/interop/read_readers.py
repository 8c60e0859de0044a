#!/usr/bin/env python3
"""Reads a Delta table with each of delta-rs's Python readers and prints, per reader, the
canonical table (see canonical.py) or the reader's error, for tarn's tiered-table tests:
which readers resolve absolute `add` paths (files in an archive location).

    read_readers.py TABLE_URI [--storage-option KEY=VALUE ...]

Prints one JSON object: {"query_builder": {"table": ...} | {"error": "..."},
"to_pyarrow_table": ..., "to_pyarrow_dataset": ...}. `query_builder` is delta-rs's
DataFusion reader (`deltalake.QueryBuilder`, `SELECT * FROM t`); the other two are its
pyarrow readers. Exits 0 unless the table cannot be opened at all.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canonical  # noqa: E402


def parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def finish(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def describe(dt, data) -> dict:
    return {
        "version": dt.version(),
        "num_rows": data.num_rows,
        "schema": canonical.schema_pairs(dt.schema().to_json()),
        "rows": canonical.canonical_rows(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("uri")
    parser.add_argument(
        "--storage-option", type=parse_option, action="append", default=[], metavar="KEY=VALUE"
    )
    args = parser.parse_args()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder

    try:
        dt = DeltaTable(args.uri, storage_options=dict(args.storage_option) or None)
    except Exception as err:  # noqa: BLE001 - the message is the point
        sys.stderr.write(f"delta-rs could not open {args.uri}: {type(err).__name__}: {err}\n")
        finish(1)

    readers = {
        "query_builder": lambda: pa.table(
            QueryBuilder().register("t", dt).execute("SELECT * FROM t").read_all()
        ),
        "to_pyarrow_table": lambda: dt.to_pyarrow_table(),
        "to_pyarrow_dataset": lambda: dt.to_pyarrow_dataset().to_table(),
    }
    results = {}
    for name, read in readers.items():
        try:
            results[name] = {"table": describe(dt, read())}
        except Exception as err:  # noqa: BLE001 - reported per reader
            results[name] = {"error": f"{type(err).__name__}: {err}"}
    sys.stdout.write(canonical.dumps(results) + "\n")
    finish(0)


if __name__ == "__main__":
    main()
