//! Rows of every Delta type, kept as plain Rust values, for the write tests: a test builds
//! the Arrow batches tarn writes from them ([`batch`]), changes them the way a delete or an
//! update should ([`Row`] fields are public), and renders what the table must then hold in
//! the canonical form of `common::python` ([`expected`]) — independently of tarn's reading.
//!
//! Columns: `id` (long, NOT NULL), the partition candidates `part` (string; values that need
//! Hive and URI escaping, unicode, null), `day` (date, null) and `n` (int, extremes, null),
//! then one column per primitive type (`c_byte` … `c_ntz`, with extremes, NaN, infinities,
//! `-0.0`, subnormals, empty strings and binaries, decimals at full precision, dates and
//! timestamps at the ends of their ranges) and the nested `c_struct` (a struct holding a
//! struct), `c_list` (array of long) and `c_map` (map of string to long), each with nulls at
//! every level.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, MapBuilder, StringBuilder};
use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use serde_json::Value;

use super::python::canonical_rows;

/// Partition values of `part`: Hive-escaped characters (`/`, `=`, `%`, `:`, `#`, `?`), a space,
/// text that looks percent-encoded, unicode, and null.
pub const PARTS: &[Option<&str>] = &[
    Some("a/b"),
    Some("x=y"),
    Some("sp ace"),
    Some("100%"),
    Some("%20"),
    Some("A%2FB"),
    Some("ünï😀"),
    Some("a:b"),
    Some("q?#&"),
    Some("plain"),
    None,
];

/// `2024-02-29` in days since the epoch.
pub const LEAP_DAY: i32 = 19_782;
/// `0001-01-01` in days since the epoch.
pub const FIRST_DAY: i32 = -719_162;
/// `9999-12-31` in days since the epoch.
pub const LAST_DAY: i32 = 2_932_896;

/// The struct column's value: `struct<x: long, s: string, inner: struct<y: double, d: date>>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Nested {
    pub x: Option<i64>,
    pub s: Option<String>,
    pub inner: Option<(Option<f64>, Option<i32>)>,
}

/// One row of the every-type table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub part: Option<String>,
    pub day: Option<i32>,
    pub n: Option<i32>,
    pub c_byte: Option<i8>,
    pub c_short: Option<i16>,
    /// Small values only (|v| < 100), so that `c_int + 100` never overflows.
    pub c_int: Option<i32>,
    pub c_long: Option<i64>,
    pub c_float: Option<f32>,
    pub c_double: Option<f64>,
    pub c_bool: Option<bool>,
    pub c_string: Option<String>,
    pub c_binary: Option<Vec<u8>>,
    /// decimal(10,2), unscaled.
    pub c_dec: Option<i128>,
    /// decimal(38,10), unscaled.
    pub c_bigdec: Option<i128>,
    pub c_date: Option<i32>,
    /// Microseconds since the epoch, UTC.
    pub c_ts: Option<i64>,
    /// Microseconds since the epoch, wall clock.
    pub c_ntz: Option<i64>,
    pub c_struct: Option<Nested>,
    pub c_list: Option<Vec<Option<i64>>>,
    pub c_map: Option<Vec<(String, Option<i64>)>>,
}

fn pick<T: Clone>(values: &[T], i: i64) -> T {
    let len = i64::try_from(values.len()).unwrap();
    values[usize::try_from(i.rem_euclid(len)).unwrap()].clone()
}

const MAX_DEC38: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

/// Row `id`: every value a deterministic function of the id, cycling through the special
/// values of each type at different periods so that rows combine them differently.
pub fn row(id: i64) -> Row {
    let long_text = "long-".repeat(30) + &id.to_string();
    Row {
        id,
        part: pick(PARTS, id).map(str::to_owned),
        day: pick(
            &[
                Some(0),
                Some(-1),
                Some(LEAP_DAY),
                None,
                Some(FIRST_DAY),
                Some(LAST_DAY),
            ],
            id / 2,
        ),
        n: pick(
            &[
                Some(-1),
                Some(0),
                Some(i32::MAX),
                Some(i32::MIN),
                None,
                Some(42),
            ],
            id / 3,
        ),
        c_byte: pick(&[Some(i8::MIN), Some(i8::MAX), None, Some(0), Some(7)], id),
        c_short: pick(&[Some(i16::MAX), None, Some(i16::MIN), Some(-3)], id),
        c_int: (id % 6 != 5).then(|| i32::try_from((id * 7) % 20).unwrap() - 5),
        c_long: pick(&[Some(i64::MIN), Some(i64::MAX), None, Some(id * 1000)], id),
        c_float: pick(
            &[
                Some(0.1f32),
                Some(-0.0),
                Some(f32::NAN),
                Some(f32::INFINITY),
                Some(f32::NEG_INFINITY),
                None,
                Some(1.5e-40),
                Some(f32::MAX),
            ],
            id,
        ),
        c_double: pick(
            &[
                Some(1e308),
                Some(5e-324),
                None,
                Some(f64::NAN),
                Some(-0.0),
                Some(0.1 + 0.2),
                Some(f64::NEG_INFINITY),
            ],
            id,
        ),
        c_bool: pick(&[Some(true), Some(false), None], id),
        c_string: pick(
            &[
                Some(String::new()),
                Some("ñ 😀".to_owned()),
                Some("\"quoted\"\n\ttab".to_owned()),
                None,
                Some("a\\b".to_owned()),
                Some(long_text),
                Some(format!("s{id}")),
            ],
            id,
        ),
        c_binary: pick(
            &[Some(vec![]), Some(vec![0]), Some(vec![255, 0, 1]), None],
            id,
        ),
        c_dec: pick(
            &[
                Some(-9_999_999_999),
                Some(9_999_999_999),
                Some(0),
                Some(-5),
                None,
                Some(i128::from(id) * 101),
            ],
            id,
        ),
        c_bigdec: pick(
            &[
                Some(MAX_DEC38),
                Some(-MAX_DEC38),
                Some(1),
                None,
                Some(i128::from(id) * 10_000_000_000 + 12_345),
            ],
            id,
        ),
        c_date: pick(
            &[
                Some(FIRST_DAY),
                Some(LAST_DAY),
                Some(0),
                None,
                Some(LEAP_DAY),
            ],
            id,
        ),
        c_ts: pick(
            &[
                Some(-62_135_596_800_000_000),
                Some(253_402_300_799_999_999),
                Some(0),
                Some(1),
                Some(-1),
                None,
                Some(1_700_000_000_123_456),
            ],
            id,
        ),
        c_ntz: pick(
            &[
                Some(1_700_000_000_123_456),
                None,
                Some(-1),
                Some(86_400_000_000 + 7),
                Some(253_402_300_799_999_999),
            ],
            id,
        ),
        c_struct: (id % 7 != 3).then(|| Nested {
            x: (id % 4 != 0).then_some(id),
            s: (id % 3 != 0).then(|| format!("n{id}")),
            inner: (id % 5 != 0).then(|| {
                (
                    (id % 2 == 0).then(|| id as f64 / 4.0),
                    Some(i32::try_from(id).unwrap()),
                )
            }),
        }),
        c_list: match id % 6 {
            1 => None,
            2 => Some(vec![]),
            k => Some((0..k).map(|j| (j != 1).then_some(j * id)).collect()),
        },
        c_map: match id % 5 {
            4 => None,
            0 => Some(vec![]),
            k => Some(
                (0..k)
                    .map(|j| (format!("k{j}"), (j != 1).then_some(id + j)))
                    .collect(),
            ),
        },
    }
}

/// Rows `ids`.
pub fn rows(ids: std::ops::Range<i64>) -> Vec<Row> {
    ids.map(row).collect()
}

fn nested_fields() -> Fields {
    Fields::from(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("inner", DataType::Struct(inner_fields()), true),
    ])
}

fn inner_fields() -> Fields {
    Fields::from(vec![
        Field::new("y", DataType::Float64, true),
        Field::new("d", DataType::Date32, true),
    ])
}

fn decimal(values: Vec<Option<i128>>, precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(precision, scale)
            .unwrap(),
    )
}

fn struct_column(rows: &[Row]) -> ArrayRef {
    let get = |f: &dyn Fn(&Nested) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter()
            .map(|r| r.c_struct.as_ref().and_then(f))
            .collect()
    };
    let inner_of = |r: &Row| r.c_struct.as_ref().and_then(|s| s.inner);
    let inner = StructArray::try_new(
        inner_fields(),
        vec![
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|r| inner_of(r).and_then(|i| i.0))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Date32Array::from(
                rows.iter()
                    .map(|r| inner_of(r).and_then(|i| i.1))
                    .collect::<Vec<_>>(),
            )),
        ],
        Some(NullBuffer::from(
            rows.iter()
                .map(|r| inner_of(r).is_some())
                .collect::<Vec<_>>(),
        )),
    )
    .unwrap();
    Arc::new(
        StructArray::try_new(
            nested_fields(),
            vec![
                Arc::new(Int64Array::from(get(&|s| s.x))),
                Arc::new(StringArray::from(
                    rows.iter()
                        .map(|r| r.c_struct.as_ref().and_then(|s| s.s.clone()))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(inner),
            ],
            Some(NullBuffer::from(
                rows.iter()
                    .map(|r| r.c_struct.is_some())
                    .collect::<Vec<_>>(),
            )),
        )
        .unwrap(),
    )
}

fn map_column(rows: &[Row]) -> ArrayRef {
    let mut maps = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for row in rows {
        for (key, value) in row.c_map.iter().flatten() {
            maps.keys().append_value(key);
            maps.values().append_option(*value);
        }
        maps.append(row.c_map.is_some()).unwrap();
    }
    Arc::new(maps.finish())
}

/// The rows as one record batch.
pub fn batch(rows: &[Row]) -> RecordBatch {
    let col = |f: &dyn Fn(&Row) -> Option<i64>| rows.iter().map(f).collect::<Vec<_>>();
    let columns: Vec<(&str, ArrayRef, bool)> = vec![
        (
            "id",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            )),
            false,
        ),
        (
            "part",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.part.clone()).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "day",
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.day).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "n",
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.n).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_byte",
            Arc::new(Int8Array::from(
                rows.iter().map(|r| r.c_byte).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_short",
            Arc::new(Int16Array::from(
                rows.iter().map(|r| r.c_short).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_int",
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.c_int).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_long",
            Arc::new(Int64Array::from(col(&|r| r.c_long))),
            true,
        ),
        (
            "c_float",
            Arc::new(Float32Array::from(
                rows.iter().map(|r| r.c_float).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_double",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.c_double).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_bool",
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.c_bool).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_string",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.c_string.clone()).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_binary",
            Arc::new(BinaryArray::from(
                rows.iter()
                    .map(|r| r.c_binary.as_deref())
                    .collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_dec",
            decimal(rows.iter().map(|r| r.c_dec).collect(), 10, 2),
            true,
        ),
        (
            "c_bigdec",
            decimal(rows.iter().map(|r| r.c_bigdec).collect(), 38, 10),
            true,
        ),
        (
            "c_date",
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.c_date).collect::<Vec<_>>(),
            )),
            true,
        ),
        (
            "c_ts",
            Arc::new(TimestampMicrosecondArray::from(col(&|r| r.c_ts)).with_timezone("UTC")),
            true,
        ),
        (
            "c_ntz",
            Arc::new(TimestampMicrosecondArray::from(col(&|r| r.c_ntz))),
            true,
        ),
        ("c_struct", struct_column(rows), true),
        (
            "c_list",
            Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(
                rows.iter().map(|r| r.c_list.clone()),
            )),
            true,
        ),
        ("c_map", map_column(rows), true),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array, nullable)| Field::new(*name, array.data_type().clone(), *nullable))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a, _)| a).collect(),
    )
    .unwrap()
}

/// What a table holding exactly `rows` must read as: canonical rows sorted by key.
pub fn expected(rows: &[Row]) -> Vec<Value> {
    if rows.is_empty() {
        return Vec::new();
    }
    canonical_rows(&[batch(rows)])
}

/// The Delta types of the columns, as `schema_pairs` renders a table schema.
pub fn schema_pairs() -> Value {
    serde_json::json!([
        ["id", "long"],
        ["part", "string"],
        ["day", "date"],
        ["n", "integer"],
        ["c_byte", "byte"],
        ["c_short", "short"],
        ["c_int", "integer"],
        ["c_long", "long"],
        ["c_float", "float"],
        ["c_double", "double"],
        ["c_bool", "boolean"],
        ["c_string", "string"],
        ["c_binary", "binary"],
        ["c_dec", "decimal(10,2)"],
        ["c_bigdec", "decimal(38,10)"],
        ["c_date", "date"],
        ["c_ts", "timestamp"],
        ["c_ntz", "timestamp_ntz"],
        [
            "c_struct",
            "struct<x: long, s: string, inner: struct<y: double, d: date>>"
        ],
        ["c_list", "array<long>"],
        ["c_map", "map<string, long>"]
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cover_every_special_value() {
        let rows = rows(0..420);
        let b = batch(&rows);
        assert_eq!(b.num_rows(), 420);
        assert_eq!(b.schema().fields().len(), 21);
        for part in PARTS {
            assert!(rows.iter().any(|r| r.part.as_deref() == *part));
        }
        assert!(rows.iter().any(|r| r.c_float.is_some_and(f32::is_nan)));
        assert!(
            rows.iter()
                .any(|r| r.c_struct.as_ref().is_some_and(|s| s.inner.is_none()))
        );
        assert!(rows.iter().all(|r| r.c_int.is_none_or(|v| v.abs() < 100)));
    }
}
