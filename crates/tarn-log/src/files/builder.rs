//! Building canonical file batches from `add` actions parsed out of JSON.

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, Int64Builder, MapBuilder, MapFieldNames, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_schema::{ArrowError, Field};

use super::schema::{dv_fields, file_schema};

/// Key-value pairs of a string map as parsed from JSON, in document order.
pub(crate) type KvPairs<'a> = [(std::borrow::Cow<'a, str>, Option<std::borrow::Cow<'a, str>>)];

/// One `add` as borrowed from a log line; strings borrow from the line when they contain no
/// escapes.
pub(crate) struct AddFields<'a> {
    pub(crate) path: &'a str,
    pub(crate) partition_values:
        &'a [(std::borrow::Cow<'a, str>, Option<std::borrow::Cow<'a, str>>)],
    pub(crate) size: i64,
    pub(crate) modification_time: i64,
    pub(crate) stats: Option<&'a str>,
    pub(crate) num_records: Option<i64>,
    pub(crate) tags: Option<&'a KvPairs<'a>>,
    pub(crate) deletion_vector: Option<DvFields<'a>>,
    pub(crate) base_row_id: Option<i64>,
    pub(crate) default_row_commit_version: Option<i64>,
    pub(crate) clustering_provider: Option<&'a str>,
}

/// A deletion vector descriptor's fields.
pub(crate) struct DvFields<'a> {
    pub(crate) storage_type: &'a str,
    pub(crate) path_or_inline_dv: &'a str,
    pub(crate) offset: Option<i32>,
    pub(crate) size_in_bytes: i32,
    pub(crate) cardinality: i64,
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(
        Some(MapFieldNames {
            entry: "key_value".to_owned(),
            key: "key".to_owned(),
            value: "value".to_owned(),
        }),
        StringBuilder::new(),
        StringBuilder::new(),
    )
    .with_keys_field(Field::new("key", arrow_schema::DataType::Utf8, false))
    .with_values_field(Field::new("value", arrow_schema::DataType::Utf8, true))
}

/// Accumulates `add` actions into one canonical file batch.
pub(crate) struct FileBatchBuilder {
    path: StringBuilder,
    partition_values: MapBuilder<StringBuilder, StringBuilder>,
    size: Int64Builder,
    modification_time: Int64Builder,
    stats: StringBuilder,
    tags: MapBuilder<StringBuilder, StringBuilder>,
    dv_storage_type: StringBuilder,
    dv_path: StringBuilder,
    dv_offset: Int32Builder,
    dv_size: Int32Builder,
    dv_cardinality: Int64Builder,
    dv_valid: BooleanBufferBuilder,
    base_row_id: Int64Builder,
    default_row_commit_version: Int64Builder,
    clustering_provider: StringBuilder,
    num_records: Int64Builder,
    len: usize,
}

impl FileBatchBuilder {
    pub(crate) fn new() -> Self {
        Self {
            path: StringBuilder::new(),
            partition_values: map_builder(),
            size: Int64Builder::new(),
            modification_time: Int64Builder::new(),
            stats: StringBuilder::new(),
            tags: map_builder(),
            dv_storage_type: StringBuilder::new(),
            dv_path: StringBuilder::new(),
            dv_offset: Int32Builder::new(),
            dv_size: Int32Builder::new(),
            dv_cardinality: Int64Builder::new(),
            dv_valid: BooleanBufferBuilder::new(0),
            base_row_id: Int64Builder::new(),
            default_row_commit_version: Int64Builder::new(),
            clustering_provider: StringBuilder::new(),
            num_records: Int64Builder::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn append(&mut self, add: &AddFields<'_>) -> Result<(), ArrowError> {
        self.path.append_value(add.path);
        for (key, value) in add.partition_values {
            self.partition_values.keys().append_value(key);
            self.partition_values
                .values()
                .append_option(value.as_deref());
        }
        self.partition_values.append(true)?;
        self.size.append_value(add.size);
        self.modification_time.append_value(add.modification_time);
        self.stats.append_option(add.stats);
        match add.tags {
            Some(tags) => {
                for (key, value) in tags {
                    self.tags.keys().append_value(key);
                    self.tags.values().append_option(value.as_deref());
                }
                self.tags.append(true)?;
            }
            None => self.tags.append(false)?,
        }
        match &add.deletion_vector {
            Some(dv) => {
                self.dv_storage_type.append_value(dv.storage_type);
                self.dv_path.append_value(dv.path_or_inline_dv);
                self.dv_offset.append_option(dv.offset);
                self.dv_size.append_value(dv.size_in_bytes);
                self.dv_cardinality.append_value(dv.cardinality);
                self.dv_valid.append(true);
            }
            None => {
                self.dv_storage_type.append_null();
                self.dv_path.append_null();
                self.dv_offset.append_null();
                self.dv_size.append_null();
                self.dv_cardinality.append_null();
                self.dv_valid.append(false);
            }
        }
        self.base_row_id.append_option(add.base_row_id);
        self.default_row_commit_version
            .append_option(add.default_row_commit_version);
        self.clustering_provider
            .append_option(add.clustering_provider);
        self.num_records.append_option(add.num_records);
        self.len += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let dv_nulls = NullBuffer::new(self.dv_valid.finish());
        let dv = StructArray::try_new(
            dv_fields(),
            vec![
                Arc::new(self.dv_storage_type.finish()) as ArrayRef,
                Arc::new(self.dv_path.finish()),
                Arc::new(self.dv_offset.finish()),
                Arc::new(self.dv_size.finish()),
                Arc::new(self.dv_cardinality.finish()),
            ],
            Some(dv_nulls),
        )?;
        RecordBatch::try_new(
            file_schema(),
            vec![
                Arc::new(self.path.finish()),
                Arc::new(self.partition_values.finish()),
                Arc::new(self.size.finish()),
                Arc::new(self.modification_time.finish()),
                Arc::new(self.stats.finish()),
                Arc::new(self.tags.finish()),
                Arc::new(dv),
                Arc::new(self.base_row_id.finish()),
                Arc::new(self.default_row_commit_version.finish()),
                Arc::new(self.clustering_provider.finish()),
                Arc::new(self.num_records.finish()),
            ],
        )
    }
}
