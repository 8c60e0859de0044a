//! Property tests: what `tarn cat` writes as CSV, NDJSON and Parquet, `tarn write` reads back
//! to exactly the same values, for random tables of every type tarn writes.
//!
//! Each case draws a table schema (every primitive type, decimals of every precision and
//! scale, structs, arrays and maps nested in each other, nullable or not) and rows holding
//! nulls at every level and edge values (NaN, infinities, -0.0, the extreme integers and
//! decimals, dates and timestamps far outside 0000-9999, strings that need quoting, arbitrary
//! Unicode and bytes). The rows go through the very writer `cat` uses
//! ([`Format::writer`] into a [`Sink`] file) and come back through the very reader `write`
//! uses ([`crate::input::read_all`], given the table's schema); the columns must be equal as
//! Arrow compares them: nulls in the same places and values bit for bit (so NaN equals NaN and
//! -0.0 is not 0.0).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, MapArray, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use proptest::collection::vec;
use proptest::prelude::*;
use tarn::protocol::schema::{DataType as DeltaType, StructField, StructType};

use crate::formats::Format;
use crate::sink::Sink;

/// One value of any type, as the test generates it.
#[derive(Debug, Clone)]
enum Value {
    Null,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Decimal(i128),
    Str(String),
    Bin(Vec<u8>),
    Date(i32),
    Micros(i64),
    List(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<Value>),
}

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

fn leaf_type() -> impl Strategy<Value = DeltaType> {
    prop_oneof![
        Just(DeltaType::BOOLEAN),
        Just(DeltaType::BYTE),
        Just(DeltaType::SHORT),
        Just(DeltaType::INTEGER),
        Just(DeltaType::LONG),
        Just(DeltaType::FLOAT),
        Just(DeltaType::DOUBLE),
        Just(DeltaType::STRING),
        Just(DeltaType::BINARY),
        Just(DeltaType::DATE),
        Just(DeltaType::TIMESTAMP),
        Just(DeltaType::TIMESTAMP_NTZ),
        (1u8..=38)
            .prop_flat_map(|precision| (Just(precision), 0..=precision))
            .prop_map(|(precision, scale)| DeltaType::decimal(precision, scale).unwrap()),
    ]
}

fn any_type() -> impl Strategy<Value = DeltaType> {
    leaf_type().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>())
                .prop_map(|(element, contains_null)| DeltaType::array(element, contains_null)),
            (leaf_type(), inner.clone(), any::<bool>())
                .prop_map(|(key, value, contains_null)| DeltaType::map(key, value, contains_null)),
            vec((inner, any::<bool>()), 1..=3).prop_map(|fields| {
                DeltaType::struct_of(
                    fields
                        .into_iter()
                        .enumerate()
                        .map(|(i, (ty, nullable))| StructField::new(format!("f{i}"), ty, nullable)),
                )
            }),
        ]
    })
}

/// A table schema; the first column's name needs quoting in CSV.
fn table_schema() -> impl Strategy<Value = StructType> {
    vec((any_type(), any::<bool>()), 1..=5).prop_map(|columns| {
        StructType::new(columns.into_iter().enumerate().map(|(i, (ty, nullable))| {
            let name = if i == 0 {
                "first, \"quoted\" column".to_owned()
            } else {
                format!("c{i}")
            };
            StructField::new(name, ty, nullable)
        }))
    })
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// The canonical NaN, the only one text can name.
fn canonical_f64(v: f64) -> f64 {
    if v.is_nan() { f64::NAN } else { v }
}

fn canonical_f32(v: f32) -> f32 {
    if v.is_nan() { f32::NAN } else { v }
}

/// Days of 0000-01-01 and 9999-12-31.
const DAY_RANGE: std::ops::RangeInclusive<i32> = -719_528..=2_932_896;
/// Microseconds of 0000-01-01T00:00:00 and 9999-12-31T23:59:59.999999.
const MICROS_RANGE: std::ops::RangeInclusive<i64> =
    -62_167_219_200_000_000..=253_402_300_799_999_999;

fn value(data_type: &DataType, nullable: bool) -> BoxedStrategy<Value> {
    let present: BoxedStrategy<Value> = match data_type {
        DataType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        DataType::Int8 => prop_oneof![Just(i8::MIN), Just(i8::MAX), any::<i8>()]
            .prop_map(Value::I8)
            .boxed(),
        DataType::Int16 => prop_oneof![Just(i16::MIN), Just(i16::MAX), any::<i16>()]
            .prop_map(Value::I16)
            .boxed(),
        DataType::Int32 => prop_oneof![Just(i32::MIN), Just(i32::MAX), any::<i32>()]
            .prop_map(Value::I32)
            .boxed(),
        DataType::Int64 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), any::<i64>()]
            .prop_map(Value::I64)
            .boxed(),
        DataType::Float32 => prop_oneof![
            Just(f32::NAN),
            Just(f32::INFINITY),
            Just(f32::NEG_INFINITY),
            Just(-0.0f32),
            Just(f32::MAX),
            Just(f32::MIN_POSITIVE),
            Just(1e-45f32),
            Just(0.1f32),
            any::<f32>(),
        ]
        .prop_map(|v| Value::F32(canonical_f32(v)))
        .boxed(),
        DataType::Float64 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(0.1),
            any::<f64>(),
        ]
        .prop_map(|v| Value::F64(canonical_f64(v)))
        .boxed(),
        DataType::Decimal128(precision, _) => {
            let max = 10i128.pow(u32::from(*precision)) - 1;
            prop_oneof![Just(max), Just(-max), Just(0), -max..=max]
                .prop_map(Value::Decimal)
                .boxed()
        }
        DataType::Utf8 => prop_oneof![
            Just(String::new()),
            Just("NaN".to_owned()),
            Just("null".to_owned()),
            "[ ,\"\n\r\ta-z{}\\[\\]:]{0,8}",
            any::<String>(),
        ]
        .prop_map(Value::Str)
        .boxed(),
        DataType::Binary => vec(any::<u8>(), 0..6).prop_map(Value::Bin).boxed(),
        DataType::Date32 => prop_oneof![Just(i32::MIN), Just(i32::MAX), DAY_RANGE, any::<i32>()]
            .prop_map(Value::Date)
            .boxed(),
        DataType::Timestamp(_, _) => {
            prop_oneof![Just(i64::MIN), Just(i64::MAX), MICROS_RANGE, any::<i64>()]
                .prop_map(Value::Micros)
                .boxed()
        }
        DataType::List(element) => vec(value(element.data_type(), element.is_nullable()), 0..4)
            .prop_map(Value::List)
            .boxed(),
        DataType::Map(entries, _) => {
            let (key, item) = entry_fields(entries.data_type());
            vec(
                (
                    value(key.data_type(), false),
                    value(item.data_type(), item.is_nullable()),
                ),
                0..4,
            )
            .prop_map(|mut entries| {
                // Keys are unique, as in a Delta map.
                let mut seen = std::collections::HashSet::new();
                entries.retain(|(key, _)| seen.insert(format!("{key:?}")));
                Value::Map(entries)
            })
            .boxed()
        }
        DataType::Struct(fields) => fields
            .iter()
            .map(|f| value(f.data_type(), f.is_nullable()))
            .collect::<Vec<_>>()
            .prop_map(Value::Struct)
            .boxed(),
        other => panic!("tarn does not write {other}"),
    };
    if nullable {
        prop_oneof![1 => Just(Value::Null), 4 => present].boxed()
    } else {
        present
    }
}

fn entry_fields(entries: &DataType) -> (&Field, &Field) {
    match entries {
        DataType::Struct(fields) if fields.len() == 2 => (&fields[0], &fields[1]),
        other => panic!("map entries are {other}"),
    }
}

/// A table and rows for it.
fn table_and_rows() -> impl Strategy<Value = (StructType, Vec<Vec<Value>>)> {
    table_schema().prop_flat_map(|table| {
        let schema = Schema::try_from(&table).unwrap();
        let row: Vec<BoxedStrategy<Value>> = schema
            .fields()
            .iter()
            .map(|f| value(f.data_type(), f.is_nullable()))
            .collect();
        (Just(table), vec(row, 0..6))
    })
}

// ---------------------------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------------------------

/// The value a non-nullable child holds under a null parent (Arrow wants one there).
fn filler(data_type: &DataType) -> Value {
    match data_type {
        DataType::Boolean => Value::Bool(false),
        DataType::Int8 => Value::I8(0),
        DataType::Int16 => Value::I16(0),
        DataType::Int32 => Value::I32(0),
        DataType::Int64 => Value::I64(0),
        DataType::Float32 => Value::F32(0.0),
        DataType::Float64 => Value::F64(0.0),
        DataType::Decimal128(_, _) => Value::Decimal(0),
        DataType::Utf8 => Value::Str(String::new()),
        DataType::Binary => Value::Bin(Vec::new()),
        DataType::Date32 => Value::Date(0),
        DataType::Timestamp(_, _) => Value::Micros(0),
        DataType::List(_) => Value::List(Vec::new()),
        DataType::Map(_, _) => Value::Map(Vec::new()),
        DataType::Struct(fields) => {
            Value::Struct(fields.iter().map(|f| filler(f.data_type())).collect())
        }
        other => panic!("tarn does not write {other}"),
    }
}

fn nulls(values: &[Value]) -> Option<NullBuffer> {
    let valid: Vec<bool> = values.iter().map(|v| !matches!(v, Value::Null)).collect();
    valid.contains(&false).then(|| NullBuffer::from(valid))
}

macro_rules! leaf {
    ($values:expr, $array:ty, $variant:ident) => {
        Arc::new(<$array>::from(
            $values
                .iter()
                .map(|v| match v {
                    Value::$variant(x) => Some(x.clone()),
                    Value::Null => None,
                    other => panic!("{other:?} in a {} column", stringify!($variant)),
                })
                .collect::<Vec<_>>(),
        )) as ArrayRef
    };
}

/// The Arrow array of `values`, all of `data_type`.
fn build(values: &[Value], data_type: &DataType) -> ArrayRef {
    match data_type {
        DataType::Boolean => leaf!(values, BooleanArray, Bool),
        DataType::Int8 => leaf!(values, Int8Array, I8),
        DataType::Int16 => leaf!(values, Int16Array, I16),
        DataType::Int32 => leaf!(values, Int32Array, I32),
        DataType::Int64 => leaf!(values, Int64Array, I64),
        DataType::Float32 => leaf!(values, Float32Array, F32),
        DataType::Float64 => leaf!(values, Float64Array, F64),
        DataType::Date32 => leaf!(values, Date32Array, Date),
        DataType::Utf8 => leaf!(values, StringArray, Str),
        DataType::Binary => {
            let bytes: Vec<Option<&[u8]>> = values
                .iter()
                .map(|v| match v {
                    Value::Bin(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect();
            Arc::new(BinaryArray::from(bytes))
        }
        DataType::Decimal128(precision, scale) => {
            let array = leaf!(values, Decimal128Array, Decimal);
            let array = array.as_any().downcast_ref::<Decimal128Array>().unwrap();
            Arc::new(
                array
                    .clone()
                    .with_precision_and_scale(*precision, *scale)
                    .unwrap(),
            )
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            let array = leaf!(values, TimestampMicrosecondArray, Micros);
            let array = array
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap();
            Arc::new(array.clone().with_timezone_opt(zone.clone()))
        }
        DataType::List(element) => {
            let mut lengths = Vec::with_capacity(values.len());
            let mut children = Vec::new();
            for v in values {
                match v {
                    Value::List(items) => {
                        lengths.push(items.len());
                        children.extend(items.iter().cloned());
                    }
                    _ => lengths.push(0),
                }
            }
            Arc::new(ListArray::new(
                Arc::clone(element),
                OffsetBuffer::from_lengths(lengths),
                build(&children, element.data_type()),
                nulls(values),
            ))
        }
        DataType::Map(entries, sorted) => {
            let (key, item) = entry_fields(entries.data_type());
            let mut lengths = Vec::with_capacity(values.len());
            let (mut keys, mut items) = (Vec::new(), Vec::new());
            for v in values {
                match v {
                    Value::Map(pairs) => {
                        lengths.push(pairs.len());
                        for (k, i) in pairs {
                            keys.push(k.clone());
                            items.push(i.clone());
                        }
                    }
                    _ => lengths.push(0),
                }
            }
            let DataType::Struct(entry_fields) = entries.data_type() else {
                unreachable!()
            };
            let entry_array = StructArray::new(
                entry_fields.clone(),
                vec![
                    build(&keys, key.data_type()),
                    build(&items, item.data_type()),
                ],
                None,
            );
            Arc::new(MapArray::new(
                Arc::clone(entries),
                OffsetBuffer::from_lengths(lengths),
                entry_array,
                nulls(values),
                *sorted,
            ))
        }
        DataType::Struct(fields) => {
            let children = fields
                .iter()
                .enumerate()
                .map(|(i, field)| {
                    let column: Vec<Value> = values
                        .iter()
                        .map(|v| match v {
                            Value::Struct(members) => members[i].clone(),
                            _ if field.is_nullable() => Value::Null,
                            _ => filler(field.data_type()),
                        })
                        .collect();
                    build(&column, field.data_type())
                })
                .collect();
            Arc::new(StructArray::new(fields.clone(), children, nulls(values)))
        }
        other => panic!("tarn does not write {other}"),
    }
}

fn batch_of(table: &StructType, rows: &[Vec<Value>]) -> RecordBatch {
    let schema = Arc::new(Schema::try_from(table).unwrap());
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let column: Vec<Value> = rows.iter().map(|row| row[i].clone()).collect();
            build(&column, field.data_type())
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The round trip
// ---------------------------------------------------------------------------------------------

/// Writes `batch` as `cat` does (in two batches, to cross a batch boundary) and reads it back
/// as `write` does into a table of schema `table`.
fn round_trip(
    format: Format,
    table: &StructType,
    batch: &RecordBatch,
) -> Result<Vec<RecordBatch>, String> {
    let dir = tempfile::tempdir().unwrap();
    let extension = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
        Format::Parquet => "parquet",
        Format::Table => panic!("the text table is not read back"),
    };
    let path = dir.path().join(format!("rows.{extension}"));
    let sink = Sink::file(&path).unwrap();
    let mut writer = format
        .writer(batch.schema(), sink)
        .map_err(|e| e.to_string())?;
    let half = batch.num_rows() / 2;
    for part in [
        batch.slice(0, half),
        batch.slice(half, batch.num_rows() - half),
    ] {
        writer.write(&part).map_err(|e| e.to_string())?;
        writer.sink().end_batch().map_err(|e| e.to_string())?;
    }
    writer
        .finish()
        .and_then(Sink::commit)
        .map_err(|e| e.to_string())?;
    crate::input::read_all(std::slice::from_ref(&path), Some(table)).map_err(|e| {
        let text = std::fs::read(&path).unwrap_or_default();
        format!("{e}\nfile:\n{}", String::from_utf8_lossy(&text))
    })
}

/// Fails with a description unless `decoded` holds the rows of `original`.
fn check_same(format: Format, original: &RecordBatch, decoded: &[RecordBatch]) {
    let rows: usize = decoded.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, original.num_rows(), "{format:?}: row count");
    let Some(first) = decoded.iter().find(|b| b.num_rows() > 0) else {
        return;
    };
    assert_eq!(
        decoded.iter().filter(|b| b.num_rows() > 0).count(),
        1,
        "{format:?}: the test expects one batch"
    );
    assert_eq!(first.num_columns(), original.num_columns());
    for (i, field) in original.schema().fields().iter().enumerate() {
        let (want, got) = (original.column(i), first.column(i));
        assert_eq!(
            got.data_type(),
            want.data_type(),
            "{format:?}: type of `{}`",
            field.name()
        );
        assert!(
            got.as_ref() == want.as_ref(),
            "{format:?}: column `{}` differs\n want: {want:?}\n  got: {got:?}",
            field.name()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cat_output_reads_back_to_the_same_values((table, rows) in table_and_rows()) {
        let batch = batch_of(&table, &rows);
        for format in [Format::Csv, Format::Ndjson, Format::Parquet] {
            match round_trip(format, &table, &batch) {
                Ok(decoded) => check_same(format, &batch, &decoded),
                Err(err) => panic!("{format:?}: {err}\nschema: {:?}", batch.schema()),
            }
        }
    }
}

/// One row of every leaf type at its extremes, and one of nulls, always checked (the
/// property test reaches them only by chance).
#[test]
fn every_leaf_type_at_its_extremes_reads_back() {
    let leaves = [
        DeltaType::BOOLEAN,
        DeltaType::BYTE,
        DeltaType::SHORT,
        DeltaType::INTEGER,
        DeltaType::LONG,
        DeltaType::FLOAT,
        DeltaType::DOUBLE,
        DeltaType::decimal(38, 0).unwrap(),
        DeltaType::decimal(38, 38).unwrap(),
        DeltaType::decimal(10, 2).unwrap(),
        DeltaType::STRING,
        DeltaType::BINARY,
        DeltaType::DATE,
        DeltaType::TIMESTAMP,
        DeltaType::TIMESTAMP_NTZ,
    ];
    let table = StructType::new(
        leaves
            .iter()
            .enumerate()
            .map(|(i, ty)| StructField::new(format!("c{i}"), ty.clone(), true)),
    );
    let max38 = 10i128.pow(38) - 1;
    let rows = vec![
        vec![
            Value::Bool(true),
            Value::I8(i8::MIN),
            Value::I16(i16::MAX),
            Value::I32(i32::MIN),
            Value::I64(i64::MIN),
            Value::F32(f32::NAN),
            Value::F64(f64::NEG_INFINITY),
            Value::Decimal(-max38),
            Value::Decimal(max38),
            Value::Decimal(-1),
            Value::Str("say \"hi\",\r\n  ".to_owned()),
            Value::Bin(vec![0, 0xff, b'"', b',', b'\n']),
            Value::Date(i32::MIN),
            Value::Micros(i64::MIN),
            Value::Micros(i64::MAX),
        ],
        vec![
            Value::Bool(false),
            Value::I8(i8::MAX),
            Value::I16(i16::MIN),
            Value::I32(i32::MAX),
            Value::I64(i64::MAX),
            Value::F32(-0.0),
            Value::F64(5e-324),
            Value::Decimal(0),
            Value::Decimal(1),
            Value::Decimal(99_999_999),
            Value::Str(String::new()),
            Value::Bin(Vec::new()),
            Value::Date(i32::MAX),
            Value::Micros(-1),
            Value::Micros(1),
        ],
        vec![Value::Null; leaves.len()],
    ];
    let batch = batch_of(&table, &rows);
    for format in [Format::Csv, Format::Ndjson, Format::Parquet] {
        match round_trip(format, &table, &batch) {
            Ok(decoded) => check_same(format, &batch, &decoded),
            Err(err) => panic!("{format:?}: {err}"),
        }
    }
}
