#!/usr/bin/env python3
"""Writes a small Delta table with delta-rs (`deltalake.write_deltalake`) and prints, as
canonical JSON (see canonical.py), what each of its versions holds, for tarn's interop tests
("tables delta-rs writes are read by tarn exactly").

    write_table.py TABLE_URI [--storage-option KEY=VALUE ...]

The table (TABLE_URI must not hold a table yet) has one column of every Delta type delta-rs
writes — byte, short, integer, long, float, double, two decimals, string, binary, boolean, date,
timestamp, timestamp_ntz, a struct, an array and a map — with nulls, NaN, infinities, negative
zero, and non-ASCII text, and is partitioned by a string and a date column, with a null
partition value and one that needs escaping in paths. Its history:

    version 0  create, 12 rows
    version 1  append, 8 rows
    version 2  delete rows matching `id % 3 = 0` (rewrites files; delta-rs writes no deletion
               vectors), then a checkpoint of version 2
    version 3  append, 4 rows (so the log has commits after the checkpoint)

Output: `{"versions": [<canonical table at version 0>, ..., <at version 3>]}`, each read back
through delta-rs at that version. Before printing, the script checks that delta-rs's rows at
every version equal the rows it meant to write (computed here, independently of delta-rs);
a mismatch is an error. Errors go to stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canonical  # noqa: E402
import pyarrow as pa  # noqa: E402
from read_table import finish, parse_option  # noqa: E402

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("region", pa.string()),
        ("day", pa.date32()),
        ("i8", pa.int8()),
        ("i16", pa.int16()),
        ("i32", pa.int32()),
        ("f32", pa.float32()),
        ("f64", pa.float64()),
        ("dec", pa.decimal128(10, 2)),
        ("big_dec", pa.decimal128(38, 6)),
        ("s", pa.string()),
        ("b", pa.binary()),
        ("flag", pa.bool_()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("ntz", pa.timestamp("us")),
        ("st", pa.struct([("x", pa.int32()), ("y", pa.string())])),
        ("arr", pa.list_(pa.int64())),
        ("m", pa.map_(pa.string(), pa.int64())),
    ]
)
PARTITION_BY = ["region", "day"]
REGIONS = ["east", "west", None, "a b/c=d%e"]
FLOATS = [0.5, -0.0, float("nan"), float("inf"), -float("inf"), 1e300, 1 / 3, 0.1]


def make_rows(first_id: int, count: int) -> list[dict]:
    """Rows with ids first_id.. first_id+count-1, every column derived from the id."""
    rows = []
    for i in range(first_id, first_id + count):
        null = i % 7 == 6  # every seventh row has nulls in the nullable value columns
        rows.append(
            {
                "id": i,
                "region": REGIONS[i % len(REGIONS)],
                "day": datetime.date(2024, 2, 28) + datetime.timedelta(days=i % 3),
                "i8": None if null else (i * 37) % 256 - 128,
                "i16": None if null else -(i * 1001),
                "i32": None if null else i * 100_003 - 2**31 + 5,
                "f32": None if null else FLOATS[i % len(FLOATS)],
                "f64": None if null else FLOATS[(i + 3) % len(FLOATS)] * (i + 1),
                "dec": None if null else decimal.Decimal(i * 1234 - 5000).scaleb(-2),
                # From a string: Decimal arithmetic would round to 28 digits.
                "big_dec": None
                if null
                else decimal.Decimal(f"{'-' if i % 2 else ''}{10**31 + i * 1_000_003}E-6"),
                "s": None if null else f"row {i} ✓ ñ 😀",
                "b": None if null else bytes([i % 256, 0, 255, i * 7 % 256]),
                "flag": None if null else i % 2 == 0,
                "ts": None
                if null
                else datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
                + datetime.timedelta(days=i * 400, microseconds=i * 123_457),
                "ntz": None
                if null
                else datetime.datetime(2038, 1, 19, 3, 14, 7)
                + datetime.timedelta(hours=i * 5, microseconds=i),
                "st": None if null else {"x": i, "y": None if i % 2 else f"y{i}"},
                "arr": None if null else [j * i for j in range(i % 4)] + ([None] if i % 5 == 0 else []),
                "m": None if null else [(f"k{j}", None if j == 1 else i + j) for j in range(i % 3)],
            }
        )
    return rows


def table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def canonical_expected(rows: list[dict]) -> list[dict]:
    return canonical.canonical_rows(table_of(rows))


def same_rows(a: list[dict], b: list[dict]) -> bool:
    # NaN is rendered as the string "NaN", so plain equality of canonical rows is exact.
    return [canonical.row_key(r) for r in a] == [canonical.row_key(r) for r in b]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("uri", help="where to create the table")
    parser.add_argument(
        "--storage-option",
        type=parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a delta-rs storage option (repeatable)",
    )
    args = parser.parse_args()
    options = dict(args.storage_option) or None

    from deltalake import DeltaTable, write_deltalake

    expected: list[list[dict]] = []
    try:
        live = make_rows(0, 12)
        write_deltalake(
            args.uri,
            table_of(live),
            partition_by=PARTITION_BY,
            mode="error",
            storage_options=options,
        )
        expected.append(canonical_expected(live))

        added = make_rows(12, 8)
        write_deltalake(args.uri, table_of(added), mode="append", storage_options=options)
        live = live + added
        expected.append(canonical_expected(live))

        dt = DeltaTable(args.uri, storage_options=options)
        dt.delete("id % 3 = 0")
        live = [r for r in live if r["id"] % 3 != 0]
        expected.append(canonical_expected(live))
        DeltaTable(args.uri, storage_options=options).create_checkpoint()

        added = make_rows(20, 4)
        write_deltalake(args.uri, table_of(added), mode="append", storage_options=options)
        live = live + added
        expected.append(canonical_expected(live))

        versions = []
        for version, rows in enumerate(expected):
            described = canonical.describe_table(
                DeltaTable(args.uri, version=version, storage_options=options)
            )
            if described["version"] != version or not same_rows(described["rows"], rows):
                raise AssertionError(
                    f"delta-rs reads version {version} back differently from what was written:\n"
                    f"  read:    {canonical.dumps(described['rows'])}\n"
                    f"  written: {canonical.dumps(rows)}"
                )
            versions.append(described)
    except Exception as err:  # noqa: BLE001 - the message is the point
        sys.stderr.write(f"write_table.py {args.uri}: {type(err).__name__}: {err}\n")
        finish(1)

    sys.stdout.write(canonical.dumps({"versions": versions}) + "\n")
    finish(0)


if __name__ == "__main__":
    main()
