//! Shredded variant columns scan to their variant values.
//!
//! The `spark-shredded-variant-preview-delta` fixture has variants at every nesting (top
//! level, in an array, a struct, a map, an array of structs, a struct of an array), but Spark
//! wrote all of its files unshredded. These tests rewrite its data files with shredded
//! variants, each file shredded its own way, and check that tarn scans the rewritten table to
//! the fixture's expected rows (from delta_kernel):
//!
//! - file 0: objects shredded, field `key` as int64 (the data holds int8);
//! - file 1: objects shredded, `key` as int8;
//! - file 2: shredded as int64, which no value is, so every value stays in `value`;
//! - file 3: only the top-level column `v` shredded, the others unshredded in the same file.
//!
//! Variants are compared by value, not by bytes: a value shredded in a wider integer type
//! legitimately comes back as that wider variant integer (the shredding spec maps each
//! `typed_value` type to one variant type), so both sides are decoded and rendered by
//! [`canonical_variants`], where integers of every width read alike and objects list their
//! fields by name. Any other difference (a field, an element, a null, a string) still fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int32Array, Int64Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use futures::TryStreamExt;
use parquet_variant_compute::{VariantArray, shred_variant};
use serde_json::{Value, json};
use tarn::protocol::schema::StructType;
use tarn::{Error, Table};

use crate::common::delta_table::DeltaTableBuilder;
use crate::common::rows::{canonical_rows, read_parquet};
use crate::common::variants::{canonical_variants, map_variants};
use crate::common::{block_on, fixture_table, fixtures_dir, uri};

const FIXTURE: &str = "spark-shredded-variant-preview-delta";

/// The fixture's schema JSON, protocol, and the data files each version adds.
struct FixtureLog {
    schema: Value,
    protocol: Value,
    adds: Vec<Vec<String>>,
}

fn fixture_log() -> FixtureLog {
    let log = fixture_table(FIXTURE).join("_delta_log");
    let mut schema = Value::Null;
    let mut protocol = Value::Null;
    let mut adds = Vec::new();
    for version in 0..=2 {
        let text = std::fs::read_to_string(log.join(format!("{version:020}.json"))).unwrap();
        let mut added = Vec::new();
        for line in text.lines() {
            let action: Value = serde_json::from_str(line).unwrap();
            if let Some(metadata) = action.get("metaData") {
                schema = serde_json::from_str(metadata["schemaString"].as_str().unwrap()).unwrap();
            }
            if let Some(p) = action.get("protocol") {
                protocol = p.clone();
            }
            if let Some(add) = action.get("add") {
                // The log's paths are URIs: `%25` is a literal `%` in the file name.
                added.push(add["path"].as_str().unwrap().replace("%25", "%"));
            }
        }
        adds.push(added);
    }
    FixtureLog {
        schema,
        protocol,
        adds,
    }
}

/// The `typed_value` type file `file` shreds column `column` with, or `None` (unshredded).
fn shredding(file: usize, column: &str) -> Option<DataType> {
    let object_with_key =
        |key: DataType| DataType::Struct(vec![Field::new("key", key, true)].into());
    match (file, column) {
        (_, "id") => None,
        (0, _) => Some(object_with_key(DataType::Int64)),
        (1, _) => Some(object_with_key(DataType::Int8)),
        (2, _) => Some(DataType::Int64),
        (_, "v") => Some(object_with_key(DataType::Int8)),
        _ => None,
    }
}

fn shred(variants: &StructArray, as_type: &DataType) -> ArrayRef {
    let array = VariantArray::try_new(variants).unwrap();
    Arc::new(shred_variant(&array, as_type).unwrap().into_inner())
}

fn batch_of(columns: Vec<(String, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c)| Field::new(name, c.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, c)| c).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Every column of `batch` (in `schema`'s order) with its variants rewritten.
fn rewrite_variants(
    batch: &RecordBatch,
    schema: &StructType,
    rewrite: &dyn Fn(&str, &StructArray) -> ArrayRef,
) -> RecordBatch {
    batch_of(
        schema
            .fields
            .iter()
            .map(|f| {
                let column = batch.column_by_name(&f.name).unwrap();
                let mapped = map_variants(column, &f.data_type, &|v| rewrite(&f.name, v));
                (f.name.clone(), mapped)
            })
            .collect(),
    )
}

/// A copy of the fixture's first `versions` versions as one commit of shredded data files.
fn shredded_copy(root: &Path, versions: usize) -> PathBuf {
    let log = fixture_log();
    let schema = StructType::from_json(&log.schema.to_string()).unwrap();
    let mut builder = DeltaTableBuilder::new(root, log.schema.clone(), &[])
        .with_protocol(log.protocol.clone())
        .with_configuration("delta.enableVariantShredding", "true");
    let files = log.adds.iter().take(versions).flatten();
    for (index, path) in files.enumerate() {
        for batch in read_parquet(&fixture_table(FIXTURE).join(path)) {
            let shredded = rewrite_variants(&batch, &schema, &|column, variants| match shredding(
                index, column,
            ) {
                Some(as_type) => shred(variants, &as_type),
                None => Arc::new(variants.clone()),
            });
            let layout = format!("{:?}", shredded.schema());
            assert!(layout.contains("typed_value"), "file {index}: {layout}");
            builder.write_file(&[], &shredded, None);
        }
    }
    builder.commit()
}

/// Rows with every variant as canonical text.
fn canonical(batches: &[RecordBatch], schema: &StructType) -> Vec<Vec<String>> {
    let mapped: Vec<RecordBatch> = batches
        .iter()
        .map(|b| rewrite_variants(b, schema, &|_, v| canonical_variants(v)))
        .collect();
    canonical_rows(&mapped)
}

async fn scan(table: &Path) -> tarn::Result<Vec<RecordBatch>> {
    let snapshot = Table::open(uri(table)).await?.snapshot().await?;
    snapshot.scan().build().await?.execute().try_collect().await
}

#[test]
fn the_shredded_variant_fixture_rewritten_shredded_scans_to_its_expected_rows() {
    let log = fixture_log();
    let schema = StructType::from_json(&log.schema.to_string()).unwrap();
    for (versions, expected_file) in [(3, "expected-v2.parquet"), (1, "expected-v0.parquet")] {
        let dir = tempfile::tempdir().unwrap();
        let table = shredded_copy(&dir.path().join("shredded"), versions);
        let actual = block_on(scan(&table)).unwrap();
        let expected = read_parquet(
            &fixtures_dir()
                .join("expected")
                .join(FIXTURE)
                .join(expected_file),
        );
        let actual_rows = canonical(&actual, &schema);
        let expected_rows = canonical(&expected, &schema);
        assert_eq!(actual_rows.len(), expected_rows.len(), "{expected_file}");
        for (a, e) in actual_rows.iter().zip(&expected_rows) {
            assert_eq!(a, e, "{expected_file}");
        }
    }
}

#[test]
fn a_malformed_shredded_file_fails_naming_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
        {"name": "v", "type": "variant", "nullable": true, "metadata": {}},
    ]});
    let features = ["variantType", "variantShredding"];
    let mut builder = DeltaTableBuilder::new(&dir.path().join("broken"), schema, &[])
        .with_protocol(json!({
            "minReaderVersion": 3, "minWriterVersion": 7,
            "readerFeatures": features, "writerFeatures": features,
        }));
    // A shredded group whose `value` holds integers instead of variant binaries.
    let metadata: &[u8] = &[0x01, 0x00, 0x00];
    let variant = StructArray::new(
        Fields::from(vec![
            Field::new("metadata", DataType::Binary, false),
            Field::new("value", DataType::Int32, true),
            Field::new("typed_value", DataType::Int64, true),
        ]),
        vec![
            Arc::new(BinaryArray::from(vec![metadata; 2])),
            Arc::new(Int32Array::from(vec![None, Some(3)])),
            Arc::new(Int64Array::from(vec![Some(1), None])),
        ],
        None,
    );
    let batch = batch_of(vec![
        (
            "id".to_owned(),
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        ),
        ("v".to_owned(), Arc::new(variant)),
    ]);
    let path = builder.write_file(&[], &batch, None);
    let table = builder.commit();
    match block_on(scan(&table)) {
        Err(Error::ShreddedVariant {
            path: file,
            column,
            source,
        }) => {
            assert!(file.ends_with(&path), "{file}");
            assert_eq!(column, "v");
            assert!(source.to_string().contains("value"), "{source}");
        }
        other => panic!("expected a shredded variant error, got {other:?}"),
    }
}
