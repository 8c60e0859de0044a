"""Canonical JSON for Delta table contents, shared by read_table.py and write_table.py.

The same rendering is implemented in Rust by integration-tests/tests/common/python.rs
(`canonical_rows`), so that rows read by delta-rs and rows read by tarn compare as JSON values.
Any change here must be made there too.

A table renders as

    {"version": V, "num_rows": N, "schema": [[name, type], ...], "rows": [{col: value}, ...]}

- "schema" holds the Delta (not Arrow) type of each top-level column, written the way tarn's
  `tarn_protocol::schema::DataType` displays: `long`, `decimal(10,2)`, `timestamp_ntz`,
  `array<long>`, `map<string, long>`, `struct<a: long, b: string>`.
- "rows" holds one object per row, keyed by column name, sorted by the compact JSON text of the
  row with sorted keys (the Rust side re-sorts with its own key; see python.rs).

Values:
- null -> null; booleans -> true/false; integers (any width) -> JSON integers; strings as is.
- floats (float32 widened to float64 exactly) -> strings: the shortest digits that round-trip,
  in scientific form `<digits>e<exponent>` with one digit before the point and no `+` or
  padding, e.g. "1.5e0", "1e-1", "-2.25e10", "0e0", "-0e0"; NaN -> "NaN", infinities ->
  "inf" / "-inf". (Rust's `format!("{:e}", x)` prints exactly this; strings avoid any JSON
  float parsing or printing difference between the two languages.)
- decimals -> strings with exactly `scale` digits after the point, e.g. "-0.05", "12.30".
- dates -> "YYYY-MM-DD".
- timestamps -> "YYYY-MM-DDTHH:MM:SS.ffffff" (microseconds; nine digits if a nanosecond
  timestamp has sub-microsecond digits), with a "Z" suffix when the type has a time zone (the
  instant is shown in UTC) and no suffix for timestamps without one.
- binary -> lowercase hex.
- structs -> objects keyed by field name; lists -> arrays; maps -> arrays of [key, value]
  pairs in stored order.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math

import pyarrow as pa
import pyarrow.types as pat

EPOCH_DATE = datetime.date(1970, 1, 1)
EPOCH = datetime.datetime(1970, 1, 1)
NANOS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def render_float(x: float | None):
    """A float as the canonical string described in the module doc."""
    if x is None:
        return None
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    sign, digits, exponent = _shortest(x).as_tuple()
    prefix = "-" if sign else ""
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    if digits == [0]:
        return f"{prefix}0e0"
    scientific = exponent + len(digits) - 1
    mantissa = str(digits[0])
    if len(digits) > 1:
        mantissa += "." + "".join(str(d) for d in digits[1:])
    return f"{prefix}{mantissa}e{scientific}"


def _shortest(x: float) -> decimal.Decimal:
    """The shortest decimal that round-trips to `x`, nearest to it; of two equally near, the one
    of larger magnitude (Rust's choice; Python's repr() takes the even one)."""
    shortest = decimal.Decimal(repr(x))
    sign, digits, exponent = shortest.as_tuple()
    step = decimal.Decimal((sign, (1,), exponent))
    other = shortest + step  # same length, one unit further from zero
    if float(other) == x:
        exact = decimal.Decimal(x)
        if abs(exact - other) == abs(exact - shortest):
            return other
    return shortest


def render_decimal(d: decimal.Decimal | None):
    if d is None:
        return None
    # pyarrow gives a Decimal with exponent -scale, so "f" prints exactly `scale` digits.
    return format(d, "f")


def render_date(days: int) -> str:
    d = EPOCH_DATE + datetime.timedelta(days=days)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def render_timestamp(value: int, unit: str, has_tz: bool) -> str:
    nanos = value * NANOS_PER_UNIT[unit]
    micros, sub_micro = divmod(nanos, 1000)
    t = EPOCH + datetime.timedelta(microseconds=micros)
    text = (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond:06d}"
    )
    if sub_micro:
        text += f"{sub_micro:03d}"
    return text + ("Z" if has_tz else "")


def _valid(array: pa.Array) -> list[bool]:
    return array.is_valid().to_pylist()


def column_values(array) -> list:
    """The canonical values of one Arrow array (or chunked array), row by row."""
    if isinstance(array, pa.ChunkedArray):
        out: list = []
        for chunk in array.chunks:
            out.extend(column_values(chunk))
        return out
    t = array.type
    if pat.is_dictionary(t):
        return column_values(array.dictionary_decode())
    if pat.is_null(t):
        return [None] * len(array)
    if pat.is_boolean(t) or pat.is_integer(t):
        return array.to_pylist()
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return array.to_pylist()
    if pat.is_floating(t):
        if pat.is_float16(t):
            array = array.cast(pa.float32())
        return [render_float(x) for x in array.to_pylist()]
    if pat.is_decimal(t):
        return [render_decimal(d) for d in array.to_pylist()]
    if (
        pat.is_binary(t)
        or pat.is_large_binary(t)
        or pat.is_binary_view(t)
        or pat.is_fixed_size_binary(t)
    ):
        return [None if b is None else b.hex() for b in array.to_pylist()]
    if pat.is_date32(t):
        return [None if d is None else render_date(d) for d in array.cast(pa.int32()).to_pylist()]
    if pat.is_date64(t):
        millis = array.cast(pa.int64()).to_pylist()
        return [None if m is None else render_date(m // 86_400_000) for m in millis]
    if pat.is_timestamp(t):
        has_tz = t.tz is not None
        raw = array.cast(pa.int64()).to_pylist()
        return [None if v is None else render_timestamp(v, t.unit, has_tz) for v in raw]
    if pat.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        children = [column_values(child) for child in array.flatten()]
        return [
            {name: child[row] for name, child in zip(names, children)} if ok else None
            for row, ok in enumerate(_valid(array))
        ]
    if pat.is_map(t):
        entries = array.values  # struct<key, value>, the whole child
        keys, items = (column_values(child) for child in entries.flatten())
        offsets = array.offsets.to_pylist()
        return [
            [[keys[i], items[i]] for i in range(offsets[row], offsets[row + 1])] if ok else None
            for row, ok in enumerate(_valid(array))
        ]
    if pat.is_list(t) or pat.is_large_list(t):
        values = column_values(array.values)
        offsets = array.offsets.to_pylist()
        return [
            values[offsets[row] : offsets[row + 1]] if ok else None
            for row, ok in enumerate(_valid(array))
        ]
    if pat.is_fixed_size_list(t):
        values = column_values(array.values)  # ignores the array's offset
        size = t.list_size
        start = array.offset
        return [
            values[(start + row) * size : (start + row + 1) * size] if ok else None
            for row, ok in enumerate(_valid(array))
        ]
    raise TypeError(f"no canonical form for Arrow type {t}")


def canonical_rows(table: pa.Table) -> list[dict]:
    """Every row of the table as a canonical object, sorted by its JSON text."""
    columns = {name: column_values(table.column(name)) for name in table.column_names}
    rows = [
        {name: values[row] for name, values in columns.items()} for row in range(table.num_rows)
    ]
    rows.sort(key=row_key)
    return rows


def row_key(row) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def delta_type(t) -> str:
    """A Delta schema JSON type as tarn's `DataType` displays it."""
    if isinstance(t, str):
        if t.startswith("decimal"):
            return t.replace(" ", "")
        return t
    kind = t["type"]
    if kind == "array":
        return f"array<{delta_type(t['elementType'])}>"
    if kind == "map":
        return f"map<{delta_type(t['keyType'])}, {delta_type(t['valueType'])}>"
    if kind == "struct":
        fields = ", ".join(f"{f['name']}: {delta_type(f['type'])}" for f in t["fields"])
        return f"struct<{fields}>"
    raise TypeError(f"unknown Delta type {t!r}")


def schema_pairs(schema_json: str) -> list[list[str]]:
    """[[name, type], ...] of a Delta schema JSON string's top-level fields."""
    schema = json.loads(schema_json)
    return [[f["name"], delta_type(f["type"])] for f in schema["fields"]]


def describe_table(dt) -> dict:
    """The canonical form of a deltalake.DeltaTable at its loaded version."""
    data = dt.to_pyarrow_table()
    return {
        "version": dt.version(),
        "num_rows": data.num_rows,
        "schema": schema_pairs(dt.schema().to_json()),
        "rows": canonical_rows(data),
    }


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
