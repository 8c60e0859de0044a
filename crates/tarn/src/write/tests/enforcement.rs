//! Schema enforcement, schema merging, NOT NULL and CHECK constraints through the writer.

use std::sync::Arc;

use arrow_array::cast::AsArray;

use arrow_array::builder::{Int32Builder, ListBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Date64Array, Decimal128Array, Float32Array, Int8Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StringViewArray, StructArray,
    TimestampMillisecondArray, TimestampNanosecondArray, UInt32Array,
};
use arrow_schema::{DataType as ArrowType, Field, Fields, Schema, TimeUnit};
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use super::TestTable;
use crate::error::Error;
use crate::write::{WriterOptions, conform_batch, merged_schema};

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("value", DeltaType::INTEGER, true),
    ])
}

fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// A table schema, input columns, and the column and reason the mismatch must name.
type MismatchCase<'a> = (StructType, Vec<(&'a str, ArrayRef)>, &'a str, &'a str);

fn mismatch(err: Error) -> (String, String) {
    match err {
        Error::SchemaMismatch { column, reason } => (column, reason),
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
}

#[test]
fn every_mismatch_names_the_column_and_the_reason() {
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    let cases: Vec<MismatchCase<'_>> = vec![
        (
            schema(),
            vec![("value", Arc::new(Int32Array::from(vec![1])))],
            "id",
            "missing column (it is NOT NULL",
        ),
        (
            schema(),
            vec![
                ("id", Arc::new(StringArray::from(vec!["1"]))),
                ("value", Arc::new(Int32Array::from(vec![1]))),
            ],
            "id",
            "expected long, found string",
        ),
        (
            schema(),
            vec![
                ("id", Arc::clone(&ids)),
                ("value", Arc::new(Int64Array::from(vec![1]))),
            ],
            "value",
            "expected integer, found long",
        ),
        (
            schema(),
            vec![
                ("id", Arc::clone(&ids)),
                ("value", Arc::new(Int32Array::from(vec![1]))),
                ("extra", Arc::new(Int32Array::from(vec![1]))),
            ],
            "extra",
            "unexpected column",
        ),
        (
            StructType::new([StructField::new("t", DeltaType::TIMESTAMP, true)]),
            vec![("t", Arc::new(TimestampMillisecondArray::from(vec![1])))],
            "t",
            "expected timestamp, found timestamp_ntz",
        ),
        (
            StructType::new([StructField::new("t", DeltaType::TIMESTAMP_NTZ, true)]),
            vec![(
                "t",
                Arc::new(TimestampMillisecondArray::from(vec![1]).with_timezone("UTC")),
            )],
            "t",
            "expected timestamp_ntz, found timestamp",
        ),
        (
            StructType::new([StructField::new("t", DeltaType::TIMESTAMP, true)]),
            vec![(
                "t",
                Arc::new(TimestampNanosecondArray::from(vec![1_000, 1_001]).with_timezone("UTC")),
            )],
            "t",
            "sub-microsecond",
        ),
        (
            StructType::new([StructField::new("d", DeltaType::DATE, true)]),
            vec![("d", Arc::new(Date64Array::from(vec![86_400_000, 1])))],
            "d",
            "not a whole day",
        ),
        (
            StructType::new([StructField::new(
                "d",
                DeltaType::decimal(10, 2).unwrap(),
                true,
            )]),
            vec![(
                "d",
                Arc::new(
                    Decimal128Array::from(vec![1])
                        .with_precision_and_scale(10, 4)
                        .unwrap(),
                ),
            )],
            "d",
            "expected decimal(10,2), found decimal(10,4)",
        ),
        (
            StructType::new([StructField::new("f", DeltaType::FLOAT, true)]),
            vec![("f", Arc::new(arrow_array::Float64Array::from(vec![1.0])))],
            "f",
            "expected float, found double",
        ),
    ];
    for (table, columns, column, reason) in cases {
        let (found_column, found_reason) =
            mismatch(conform_batch(&table, &batch_of(columns)).unwrap_err());
        assert_eq!(found_column, column, "{reason}");
        assert!(
            found_reason.contains(reason),
            "{column}: `{found_reason}` lacks `{reason}`"
        );
    }
}

#[test]
fn a_missing_nullable_column_is_filled_with_nulls() {
    let batch = conform_batch(
        &schema(),
        &batch_of(vec![("id", Arc::new(Int64Array::from(vec![1, 2])))]),
    )
    .unwrap();
    assert_eq!(batch.num_columns(), 2);
    assert_eq!(batch.schema().field(1).name(), "value");
    assert_eq!(batch.column(1).null_count(), 2);
}

#[test]
fn nested_mismatches_name_the_path() {
    let table = StructType::new([StructField::new(
        "s",
        DeltaType::struct_of([
            StructField::new("a", DeltaType::INTEGER, true),
            StructField::new("b", DeltaType::STRING, true),
        ]),
        true,
    )]);
    let s = StructArray::from(vec![(
        Arc::new(Field::new("a", ArrowType::Int32, true)),
        Arc::new(Int32Array::from(vec![1])) as ArrayRef,
    )]);
    // A nullable field the input lacks is filled with nulls; a NOT NULL one is refused.
    let filled = conform_batch(&table, &batch_of(vec![("s", Arc::new(s.clone()))])).unwrap();
    let filled = filled.column(0).as_struct();
    assert_eq!(filled.column_by_name("b").unwrap().null_count(), 1);
    assert_eq!(filled.column_by_name("a").unwrap().null_count(), 0);
    let strict = StructType::new([StructField::new(
        "s",
        DeltaType::struct_of([
            StructField::new("a", DeltaType::INTEGER, true),
            StructField::new("b", DeltaType::STRING, false),
        ]),
        true,
    )]);
    let (column, reason) =
        mismatch(conform_batch(&strict, &batch_of(vec![("s", Arc::new(s))])).unwrap_err());
    assert_eq!(column, "s.b");
    assert!(
        reason.starts_with("missing column (it is NOT NULL"),
        "{reason}"
    );
    let lists = StructType::new([StructField::new(
        "l",
        DeltaType::array(DeltaType::INTEGER, true),
        true,
    )]);
    let mut builder = ListBuilder::new(arrow_array::builder::StringBuilder::new());
    builder.append_value([Some("x")]);
    let (column, reason) = mismatch(
        conform_batch(&lists, &batch_of(vec![("l", Arc::new(builder.finish()))])).unwrap_err(),
    );
    assert_eq!(column, "l.element");
    assert_eq!(reason, "expected integer, found string");
}

#[test]
fn lossless_inputs_are_converted() {
    let table = StructType::new([
        StructField::new("ID", DeltaType::LONG, false),
        StructField::new("s", DeltaType::STRING, true),
        StructField::new("v", DeltaType::STRING, true),
        StructField::new("dict", DeltaType::STRING, true),
        StructField::new("t", DeltaType::TIMESTAMP, true),
        StructField::new("n", DeltaType::TIMESTAMP, true),
        StructField::new("dec", DeltaType::decimal(12, 4).unwrap(), true),
        StructField::new("wide", DeltaType::decimal(12, 2).unwrap(), true),
        StructField::new("d", DeltaType::DOUBLE, true),
        StructField::new("u", DeltaType::LONG, true),
        StructField::new("b", DeltaType::SHORT, true),
        StructField::new("l", DeltaType::array(DeltaType::LONG, true), true),
        StructField::new("nothing", DeltaType::STRING, true),
    ]);
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("x");
    let mut list = ListBuilder::new(Int32Builder::new());
    list.append_value([Some(7)]);
    let input = batch_of(vec![
        // Column names match ignoring case; the output uses the table's spelling.
        ("id", Arc::new(arrow_array::Int32Array::from(vec![1]))),
        ("s", Arc::new(LargeStringArray::from(vec!["large"]))),
        ("v", Arc::new(StringViewArray::from(vec!["view"]))),
        ("dict", Arc::new(dict.finish())),
        (
            "t",
            Arc::new(TimestampMillisecondArray::from(vec![1_500]).with_timezone("+02:00")),
        ),
        (
            "n",
            Arc::new(TimestampNanosecondArray::from(vec![3_000]).with_timezone("UTC")),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![123])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
        ),
        ("wide", Arc::new(Int32Array::from(vec![42]))),
        ("d", Arc::new(Float32Array::from(vec![0.5]))),
        ("u", Arc::new(UInt32Array::from(vec![u32::MAX]))),
        ("b", Arc::new(Int8Array::from(vec![-1]))),
        ("l", Arc::new(list.finish())),
        ("nothing", Arc::new(arrow_array::NullArray::new(1))),
    ]);
    let out = conform_batch(&table, &input).unwrap();
    let expected = crate::write::enforce::logical_schema(&table, false).unwrap();
    assert_eq!(out.schema(), expected);
    assert_eq!(out.schema().field(0).name(), "ID");
    let rendered = super::rows(&[out]);
    assert_eq!(
        rendered,
        vec![
            "{ID: 1, s: \"large\", v: \"view\", dict: \"x\", t: 1970-01-01T00:00:01.500Z, \
             n: 1970-01-01T00:00:00.000003Z, dec: 1.2300, wide: 42.00, d: 0.5, u: 4294967295, \
             b: -1, l: [7], nothing: NULL}"
        ]
    );
}

#[test]
fn nulls_in_non_nullable_columns_are_rejected() {
    let input = batch_of(vec![
        ("id", Arc::new(Int64Array::from(vec![Some(1), None]))),
        (
            "value",
            Arc::new(Int32Array::from(vec![Some(10), Some(20)])),
        ),
    ]);
    match conform_batch(&schema(), &input).unwrap_err() {
        Error::NotNullViolation { column, row } => {
            assert_eq!(column, "id");
            assert_eq!(row, "{id: NULL, value: 20}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn merged_schemas() {
    let table = StructType::new([
        StructField::new("id", DeltaType::INTEGER, false),
        StructField::new("f", DeltaType::FLOAT, true),
        StructField::new(
            "s",
            DeltaType::struct_of([StructField::new("x", DeltaType::BYTE, true)]),
            true,
        ),
        StructField::new("keep", DeltaType::STRING, true),
    ]);
    let input = Schema::new(vec![
        Field::new("ID", ArrowType::Int64, false),
        Field::new("f", ArrowType::Float64, true),
        Field::new(
            "s",
            ArrowType::Struct(Fields::from(vec![
                Field::new("x", ArrowType::Int16, true),
                Field::new("y", ArrowType::Utf8, false),
            ])),
            true,
        ),
        Field::new("new", ArrowType::Date32, false),
    ]);
    let merged = merged_schema(&table, &input).unwrap();
    let expected = StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("f", DeltaType::DOUBLE, true),
        StructField::new(
            "s",
            DeltaType::struct_of([
                StructField::new("x", DeltaType::SHORT, true),
                StructField::new("y", DeltaType::STRING, true),
            ]),
            true,
        ),
        StructField::new("keep", DeltaType::STRING, true),
        StructField::new("new", DeltaType::DATE, true),
    ]);
    assert_eq!(merged, expected);
    // Narrower or same-kind encodings keep the table's type.
    let narrower = Schema::new(vec![
        Field::new("id", ArrowType::Int8, false),
        Field::new("keep", ArrowType::LargeUtf8, true),
    ]);
    assert_eq!(merged_schema(&table, &narrower).unwrap(), table);
    let incompatible = Schema::new(vec![Field::new("keep", ArrowType::Int64, true)]);
    let (column, reason) = mismatch(merged_schema(&table, &incompatible).unwrap_err());
    assert_eq!(column, "keep");
    assert_eq!(reason, "expected string, found long");
    let timestamps = Schema::new(vec![Field::new(
        "f",
        ArrowType::Timestamp(TimeUnit::Microsecond, None),
        true,
    )]);
    assert!(merged_schema(&table, &timestamps).is_err());
}

#[tokio::test]
async fn a_rejected_batch_writes_nothing_and_the_writer_goes_on() {
    let table = TestTable::with_configuration(
        schema(),
        &[],
        &[("delta.constraints.positive", "value > 0")],
    );
    let mut writer = table.writer(WriterOptions::new());
    let good = batch_of(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2]))),
        ("value", Arc::new(Int32Array::from(vec![Some(5), Some(6)]))),
    ]);
    writer.write(&good).await.unwrap();
    let bad = batch_of(vec![
        ("id", Arc::new(Int64Array::from(vec![3, 4]))),
        ("value", Arc::new(Int32Array::from(vec![Some(7), Some(-1)]))),
    ]);
    match writer.write(&bad).await.unwrap_err() {
        Error::ConstraintViolation {
            name,
            expression,
            row,
        } => {
            assert_eq!(name, "positive");
            assert_eq!(expression, "value > 0");
            assert_eq!(row, "{id: 4, value: -1}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Unknown is a violation too, as Delta's writers have it (not SQL's CHECK).
    let unknown = batch_of(vec![
        ("id", Arc::new(Int64Array::from(vec![5, 6]))),
        ("value", Arc::new(Int32Array::from(vec![Some(8), None]))),
    ]);
    match writer.write(&unknown).await.unwrap_err() {
        Error::ConstraintViolation { name, row, .. } => {
            assert_eq!(name, "positive");
            assert_eq!(row, "{id: 6, value: NULL}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let wrong = batch_of(vec![
        ("id", Arc::new(Int64Array::from(vec![9]))),
        ("value", Arc::new(Int32Array::from(vec![9]))),
        ("extra", Arc::new(Int32Array::from(vec![9]))),
    ]);
    assert!(matches!(
        writer.write(&wrong).await.unwrap_err(),
        Error::SchemaMismatch { .. }
    ));
    let output = writer.finish().await.unwrap();
    assert_eq!(output.num_rows, 2);
    table.commit(&output.adds);
    assert_eq!(
        table.read_rows().await,
        vec!["{id: 1, value: 5}", "{id: 2, value: 6}"]
    );
}

#[tokio::test]
async fn invalid_constraints_fail_the_writer() {
    let table = TestTable::with_configuration(
        schema(),
        &[],
        &[("delta.constraints.broken", "no_such_column > 1")],
    );
    let err = crate::write::DataWriter::new(
        Arc::clone(&table.location),
        &table.schema,
        &table.partition_columns,
        &table.configuration,
        WriterOptions::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConstraint { constraint, .. } if constraint.contains("broken")),
        "{err}"
    );
    assert!(err.to_string().contains("no_such_column"), "{err}");
}
