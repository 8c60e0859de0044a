//! Every type written and read back through tarn's own scan.

use std::sync::Arc;

use arrow_array::Array;
use arrow_array::builder::{Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType as ArrowType, Field, Fields, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{LogicalType, TimeUnit as ParquetTimeUnit, Type as PhysicalType};
use serde_json::json;
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use super::{TestTable, rows, stats_of};
use crate::write::{Compression, WriterOptions, conform_batch};

pub(super) fn all_types_schema() -> StructType {
    StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("b", DeltaType::BYTE, true),
        StructField::new("s", DeltaType::SHORT, true),
        StructField::new("i", DeltaType::INTEGER, true),
        StructField::new("l", DeltaType::LONG, true),
        StructField::new("f", DeltaType::FLOAT, true),
        StructField::new("d", DeltaType::DOUBLE, true),
        StructField::new("bool", DeltaType::BOOLEAN, true),
        StructField::new("bin", DeltaType::BINARY, true),
        StructField::new("dt", DeltaType::DATE, true),
        StructField::new("ts", DeltaType::TIMESTAMP, true),
        StructField::new("ntz", DeltaType::TIMESTAMP_NTZ, true),
        StructField::new("dec", DeltaType::decimal(10, 2).unwrap(), true),
        StructField::new("big", DeltaType::decimal(38, 10).unwrap(), true),
        StructField::new("str", DeltaType::STRING, true),
        StructField::new(
            "st",
            DeltaType::struct_of([
                StructField::new("x", DeltaType::INTEGER, true),
                StructField::new("y", DeltaType::STRING, true),
            ]),
            true,
        ),
        StructField::new("arr", DeltaType::array(DeltaType::INTEGER, true), true),
        StructField::new(
            "m",
            DeltaType::map(DeltaType::STRING, DeltaType::LONG, true),
            true,
        ),
    ])
}

/// Three rows of every type: typical values, extremes, and nulls.
pub(super) fn all_types_batch() -> RecordBatch {
    let st_fields = Fields::from(vec![
        Field::new("x", ArrowType::Int32, true),
        Field::new("y", ArrowType::Utf8, true),
    ]);
    let st = StructArray::try_new(
        st_fields,
        vec![
            Arc::new(Int32Array::from(vec![Some(1), Some(2), None])),
            Arc::new(StringArray::from(vec![Some("a"), None, None])),
        ],
        Some(NullBuffer::from(vec![true, true, false])),
    )
    .unwrap();
    let mut arr = ListBuilder::new(Int32Builder::new());
    arr.append_value([Some(1), None, Some(3)]);
    arr.append_value([]);
    arr.append_null();
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    map.keys().append_value("k1");
    map.values().append_value(10);
    map.keys().append_value("k2");
    map.values().append_null();
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        (
            "b",
            Arc::new(Int8Array::from(vec![Some(-128), Some(127), None])),
        ),
        (
            "s",
            Arc::new(Int16Array::from(vec![Some(-32768), Some(7), None])),
        ),
        (
            "i",
            Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
        ),
        (
            "l",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
        ),
        (
            "f",
            Arc::new(Float32Array::from(vec![Some(1.5), Some(f32::NAN), None])),
        ),
        (
            "d",
            Arc::new(Float64Array::from(vec![
                Some(-0.25),
                Some(f64::INFINITY),
                None,
            ])),
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                Some(b""),
                None,
            ])),
        ),
        (
            "dt",
            Arc::new(Date32Array::from(vec![Some(0), Some(20_460), None])),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_767_780_000_123_456), Some(-1), None])
                    .with_timezone("UTC"),
            ),
        ),
        (
            "ntz",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_767_780_000_000_001),
                Some(253_402_300_799_999_999),
                None,
            ])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(12_345), Some(-99_999_999), None])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
        (
            "big",
            Arc::new(
                Decimal128Array::from(vec![Some(10i128.pow(37) + 7), Some(-1), None])
                    .with_precision_and_scale(38, 10)
                    .unwrap(),
            ),
        ),
        (
            "str",
            Arc::new(StringArray::from(vec![Some("héllo"), Some(""), None])),
        ),
        ("st", Arc::new(st)),
        ("arr", Arc::new(arr.finish())),
        ("m", Arc::new(map.finish())),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

#[tokio::test]
async fn every_type_reads_back_exactly() {
    let table = TestTable::new(all_types_schema(), &[]);
    let batch = all_types_batch();
    let output = table
        .write(WriterOptions::new(), std::slice::from_ref(&batch))
        .await;
    assert_eq!(output.num_rows, 3);
    assert_eq!(output.num_files, 1);
    let add = &output.adds[0];
    assert!(add.path.starts_with("part-00000-"), "{}", add.path);
    assert!(add.path.ends_with("-c000.zstd.parquet"), "{}", add.path);
    assert!(add.data_change);
    assert!(add.partition_values.is_empty());
    let on_disk = std::fs::metadata(table.path().join(&add.path))
        .unwrap()
        .len();
    assert_eq!(add.size as u64, on_disk);
    assert_eq!(output.num_bytes, on_disk);
    // Timestamps are INT64 microseconds, adjusted to UTC only for `timestamp`.
    let file = std::fs::File::open(table.path().join(&add.path)).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let metadata = reader.metadata().file_metadata();
    assert!(
        metadata.created_by().unwrap().starts_with("tarn "),
        "{:?}",
        metadata.created_by()
    );
    for (name, utc) in [("ts", true), ("ntz", false)] {
        let column = metadata
            .schema_descr()
            .columns()
            .iter()
            .find(|c| c.name() == name)
            .unwrap()
            .clone();
        assert_eq!(column.physical_type(), PhysicalType::INT64);
        assert_eq!(
            column.logical_type_ref(),
            Some(&LogicalType::timestamp(utc, ParquetTimeUnit::MICROS))
        );
    }
    table.commit(&output.adds);
    let expected = rows(&[conform_batch(&table.schema, &batch).unwrap()]);
    assert_eq!(table.read_rows().await, expected);
}

#[tokio::test]
async fn every_partition_type_reads_back_exactly() {
    let schema = all_types_schema();
    // Every primitive column but binary (whose bytes here are not UTF-8) is a partition column.
    let partition_columns = [
        "b", "s", "i", "l", "f", "d", "bool", "dt", "ts", "ntz", "dec", "big", "str",
    ];
    let table = TestTable::new(schema, &partition_columns);
    let batch = all_types_batch();
    let output = table
        .write(WriterOptions::new(), std::slice::from_ref(&batch))
        .await;
    assert_eq!(output.num_files, 3);
    table.commit(&output.adds);
    let mut expected = rows(&[conform_batch(&table.schema, &batch).unwrap()]);
    // An empty string is a null partition value: Delta cannot store the difference.
    for row in &mut expected {
        *row = row.replace("str: \"\"", "str: NULL");
    }
    expected.sort();
    assert_eq!(table.read_rows().await, expected);
    let nulls = output
        .adds
        .iter()
        .find(|a| a.partition_values.get("i") == Some(&None))
        .unwrap();
    assert!(nulls.partition_values.values().all(Option::is_none));
    assert!(
        nulls
            .path
            .starts_with("b=__HIVE_DEFAULT_PARTITION__/s=__HIVE_DEFAULT_PARTITION__/"),
        "{}",
        nulls.path
    );
    let first = output
        .adds
        .iter()
        .find(|a| a.partition_values.get("i") == Some(&Some(i32::MIN.to_string())))
        .unwrap();
    let values = &first.partition_values;
    assert_eq!(values["ts"].as_deref(), Some("2026-01-07T10:00:00.123456Z"));
    assert_eq!(values["ntz"].as_deref(), Some("2026-01-07 10:00:00.000001"));
    assert_eq!(values["dt"].as_deref(), Some("1970-01-01"));
    assert_eq!(values["dec"].as_deref(), Some("123.45"));
    assert_eq!(values["f"].as_deref(), Some("1.5"));
    assert_eq!(values["bool"].as_deref(), Some("true"));
    assert_eq!(values["str"].as_deref(), Some("héllo"));
    // Partition columns are not stored in the data files.
    let file = std::fs::File::open(
        table.path().join(
            tarn_protocol::data_path::DataFilePath::parse(&first.path)
                .unwrap()
                .as_str(),
        ),
    )
    .unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let names: Vec<&String> = reader.schema().fields().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["id", "bin", "st", "arr", "m"]);
}

#[tokio::test]
async fn codecs_are_configurable() {
    for (compression, suffix) in [
        (Compression::Snappy, ".snappy.parquet"),
        (Compression::Uncompressed, "-c000.parquet"),
        (Compression::Gzip(6), ".gz.parquet"),
        (Compression::Lz4Raw, ".lz4raw.parquet"),
        (Compression::Zstd(9), ".zstd.parquet"),
    ] {
        let table = TestTable::new(all_types_schema(), &[]);
        let output = table
            .write(
                WriterOptions::new().with_compression(compression),
                &[all_types_batch()],
            )
            .await;
        assert!(
            output.adds[0].path.ends_with(suffix),
            "{}",
            output.adds[0].path
        );
        table.commit(&output.adds);
        assert_eq!(table.read_rows().await.len(), 3);
    }
}

#[tokio::test]
async fn column_mapping_writes_physical_names_and_field_ids() {
    let mapped = |name: &str, ty: DeltaType, id: i64| {
        StructField::new(name, ty, true).with_metadata([
            ("delta.columnMapping.id", json!(id)),
            (
                "delta.columnMapping.physicalName",
                json!(format!("col-{id}")),
            ),
        ])
    };
    let schema = StructType::new([
        mapped("id", DeltaType::LONG, 1),
        mapped(
            "nested",
            DeltaType::struct_of([mapped("inner", DeltaType::STRING, 3)]),
            2,
        ),
        mapped("part", DeltaType::STRING, 4),
    ]);
    let table = TestTable::with_configuration(
        schema,
        &["part"],
        &[
            ("delta.columnMapping.mode", "name"),
            ("delta.columnMapping.maxColumnId", "4"),
        ],
    );
    let inner = StructArray::from(vec![(
        Arc::new(Field::new("inner", ArrowType::Utf8, true)),
        Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef,
    )]);
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", ArrowType::Int64, true),
            Field::new("nested", inner.data_type().clone(), true),
            Field::new("part", ArrowType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(inner),
            Arc::new(StringArray::from(vec!["p", "p"])),
        ],
    )
    .unwrap();
    let output = table
        .write(WriterOptions::new(), std::slice::from_ref(&batch))
        .await;
    let add = &output.adds[0];
    assert_eq!(
        add.partition_values.get("col-4"),
        Some(&Some("p".to_owned()))
    );
    assert!(add.path.starts_with("col-4=p/"), "{}", add.path);
    let stats = stats_of(add);
    assert_eq!(stats["minValues"]["col-1"], json!(1));
    assert_eq!(stats["maxValues"]["col-2"]["col-3"], json!("y"));
    let file = std::fs::File::open(table.path().join(&add.path)).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let file_schema = reader.schema();
    assert_eq!(file_schema.field(0).name(), "col-1");
    assert_eq!(
        file_schema.field(0).metadata().get("PARQUET:field_id"),
        Some(&"1".to_owned())
    );
    let ArrowType::Struct(children) = file_schema.field(1).data_type() else {
        panic!("not a struct");
    };
    assert_eq!(children[0].name(), "col-3");
    assert_eq!(
        children[0].metadata().get("PARQUET:field_id"),
        Some(&"3".to_owned())
    );
    table.commit(&output.adds);
    assert_eq!(
        table.read_rows().await,
        vec![
            r#"{id: 1, nested: {inner: "x"}, part: "p"}"#,
            r#"{id: 2, nested: {inner: "y"}, part: "p"}"#,
        ]
    );
}

#[tokio::test]
async fn empty_input_writes_nothing() {
    let table = TestTable::new(all_types_schema(), &[]);
    let empty = all_types_batch().slice(0, 0);
    let output = table.write(WriterOptions::new(), &[empty]).await;
    assert_eq!(output.num_files, 0);
    assert_eq!(output.num_rows, 0);
    assert!(table.data_files().is_empty());
}
