//! The canonical Arrow schema of active files, and normalisation of checkpoint `add` columns
//! into it.
//!
//! The columns are the fields of the protocol's `add` action under their protocol names, so a
//! batch of active files *is* the `add` column of a checkpoint: writing a checkpoint later is a
//! projection, not a conversion into row objects. Checkpoints written by other engines differ
//! in details (map entry names, missing optional fields, extra fields such as
//! `deletionVector.maxRowIndex`); [`normalize_add_struct`] reconciles those and rejects
//! anything it cannot read exactly.

use std::sync::{Arc, OnceLock};

use arrow_array::{Array, ArrayRef, MapArray, RecordBatch, StructArray, new_null_array};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

/// Column indexes of the canonical file schema.
pub(crate) mod col {
    pub(crate) const PATH: usize = 0;
    pub(crate) const PARTITION_VALUES: usize = 1;
    pub(crate) const SIZE: usize = 2;
    pub(crate) const MODIFICATION_TIME: usize = 3;
    pub(crate) const STATS: usize = 4;
    pub(crate) const TAGS: usize = 5;
    pub(crate) const DELETION_VECTOR: usize = 6;
    pub(crate) const BASE_ROW_ID: usize = 7;
    pub(crate) const DEFAULT_ROW_COMMIT_VERSION: usize = 8;
    pub(crate) const CLUSTERING_PROVIDER: usize = 9;
    pub(crate) const NUM_RECORDS: usize = 10;
}

/// Field names of the deletion vector struct, in canonical order.
pub(crate) const DV_FIELDS: [&str; 5] = [
    "storageType",
    "pathOrInlineDv",
    "offset",
    "sizeInBytes",
    "cardinality",
];

/// The string-to-string map type used for `partitionValues` and `tags`.
pub(crate) fn string_map_type() -> DataType {
    DataType::Map(string_map_entries(), false)
}

fn string_map_entries() -> FieldRef {
    static ENTRIES: OnceLock<FieldRef> = OnceLock::new();
    Arc::clone(ENTRIES.get_or_init(|| {
        Arc::new(Field::new(
            "key_value",
            DataType::Struct(string_map_kv_fields()),
            false,
        ))
    }))
}

pub(crate) fn string_map_kv_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
    ])
}

/// The deletion vector struct type.
pub(crate) fn dv_fields() -> Fields {
    Fields::from(vec![
        Field::new(DV_FIELDS[0], DataType::Utf8, true),
        Field::new(DV_FIELDS[1], DataType::Utf8, true),
        Field::new(DV_FIELDS[2], DataType::Int32, true),
        Field::new(DV_FIELDS[3], DataType::Int32, true),
        Field::new(DV_FIELDS[4], DataType::Int64, true),
    ])
}

/// The canonical schema of a batch of active files: the `add` action's fields, then the
/// record count.
pub fn file_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("path", DataType::Utf8, true),
            Field::new("partitionValues", string_map_type(), true),
            Field::new("size", DataType::Int64, true),
            Field::new("modificationTime", DataType::Int64, true),
            Field::new("stats", DataType::Utf8, true),
            Field::new("tags", string_map_type(), true),
            Field::new("deletionVector", DataType::Struct(dv_fields()), true),
            Field::new("baseRowId", DataType::Int64, true),
            Field::new("defaultRowCommitVersion", DataType::Int64, true),
            Field::new("clusteringProvider", DataType::Utf8, true),
            // Not an `add` field: the record count, extracted from the statistics so that it
            // survives when the statistics themselves are not kept.
            Field::new("numRecords", DataType::Int64, true),
        ]))
    }))
}

/// Why a checkpoint's `add` column could not be normalised.
#[derive(Debug)]
pub(crate) struct SchemaMismatch(pub(crate) String);

/// Converts the `add` struct column of a checkpoint batch into a canonical file batch. Rows
/// where `add` is null are kept (as all-null rows); the caller filters them out together with
/// the replay mask. `stats` replaces the `stats` column (nulls when statistics are not kept,
/// JSON rebuilt from `stats_parsed` when a checkpoint has only that); `num_records` is the
/// record count column.
pub(crate) fn normalize_add_struct(
    add: &StructArray,
    stats: ArrayRef,
    num_records: ArrayRef,
) -> Result<RecordBatch, SchemaMismatch> {
    let schema = file_schema();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        if name == "stats" {
            columns.push(Arc::clone(&stats));
            continue;
        }
        if name == "numRecords" {
            columns.push(Arc::clone(&num_records));
            continue;
        }
        let column = match add.column_by_name(name) {
            None => new_null_array(field.data_type(), add.len()),
            Some(child) => conform(name, child, field.data_type())?,
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema, columns)
        .map_err(|e| SchemaMismatch(format!("cannot assemble add columns: {e}")))
}

/// Makes `array` (the checkpoint's child `name`) have exactly type `target`.
fn conform(name: &str, array: &ArrayRef, target: &DataType) -> Result<ArrayRef, SchemaMismatch> {
    if array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    match (array.data_type(), target) {
        (DataType::Map(_, _), DataType::Map(_, _)) => conform_string_map(name, array),
        (DataType::Struct(_), DataType::Struct(target_fields)) => {
            let source = array
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| SchemaMismatch(format!("`add.{name}` is not a struct array")))?;
            let mut children = Vec::with_capacity(target_fields.len());
            for field in target_fields {
                let child = match source.column_by_name(field.name()) {
                    None => new_null_array(field.data_type(), source.len()),
                    Some(child) => conform(field.name(), child, field.data_type())?,
                };
                children.push(child);
            }
            let conformed =
                StructArray::try_new(target_fields.clone(), children, source.nulls().cloned())
                    .map_err(|e| SchemaMismatch(format!("`add.{name}`: {e}")))?;
            Ok(Arc::new(conformed))
        }
        (found, expected) => Err(SchemaMismatch(format!(
            "`add.{name}` has type {found}, expected {expected}"
        ))),
    }
}

/// Rebuilds a map whose entries use other field names (`entries`, `key_value`, `map`) or
/// nullability flags, keeping the data buffers.
fn conform_string_map(name: &str, array: &ArrayRef) -> Result<ArrayRef, SchemaMismatch> {
    let map = array
        .as_any()
        .downcast_ref::<MapArray>()
        .ok_or_else(|| SchemaMismatch(format!("`add.{name}` is not a map array")))?;
    if map.key_type() != &DataType::Utf8 || map.value_type() != &DataType::Utf8 {
        return Err(SchemaMismatch(format!(
            "`add.{name}` must map strings to strings, found {} -> {}",
            map.key_type(),
            map.value_type()
        )));
    }
    let entries = StructArray::try_new(
        string_map_kv_fields(),
        vec![Arc::clone(map.keys()), Arc::clone(map.values())],
        None,
    )
    .map_err(|e| SchemaMismatch(format!("`add.{name}` entries: {e}")))?;
    let rebuilt = MapArray::try_new(
        string_map_entries(),
        map.offsets().clone(),
        entries,
        map.nulls().cloned(),
        false,
    )
    .map_err(|e| SchemaMismatch(format!("`add.{name}`: {e}")))?;
    Ok(Arc::new(rebuilt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
    use arrow_array::{Int32Array, Int64Array, StringArray};

    #[test]
    fn checkpoint_add_with_other_map_names_and_missing_fields_normalises() {
        let mut pv = MapBuilder::new(
            Some(MapFieldNames {
                entry: "entries".into(),
                key: "key".into(),
                value: "value".into(),
            }),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        pv.keys().append_value("day");
        pv.values().append_value("2026-01-07");
        pv.append(true).unwrap();
        pv.append(false).unwrap();
        let pv: ArrayRef = Arc::new(pv.finish());
        let dv = StructArray::from(vec![
            (
                Arc::new(Field::new("storageType", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("u"), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("pathOrInlineDv", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("abc"), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("offset", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("sizeInBytes", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![Some(36), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("cardinality", DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![Some(2), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("maxRowIndex", DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![Some(9), None])) as ArrayRef,
            ),
        ]);
        let add = StructArray::from(vec![
            (
                Arc::new(Field::new("path", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("a.parquet"), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("partitionValues", pv.data_type().clone(), true)),
                pv,
            ),
            (
                Arc::new(Field::new("size", DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![Some(10), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("deletionVector", dv.data_type().clone(), true)),
                Arc::new(dv) as ArrayRef,
            ),
        ]);
        let batch = normalize_add_struct(
            &add,
            new_null_array(&DataType::Utf8, 2),
            new_null_array(&DataType::Int64, 2),
        )
        .unwrap();
        assert_eq!(batch.schema(), file_schema());
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(col::STATS).null_count(), 2);
        let dv = batch
            .column(col::DELETION_VECTOR)
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap();
        assert_eq!(dv.num_columns(), 5);
    }

    #[test]
    fn wrong_type_is_rejected_with_field_name() {
        let add = StructArray::from(vec![(
            Arc::new(Field::new("size", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )]);
        let err = normalize_add_struct(
            &add,
            new_null_array(&DataType::Utf8, 1),
            new_null_array(&DataType::Int64, 1),
        )
        .unwrap_err();
        assert!(err.0.contains("add.size"), "{}", err.0);
    }
}
