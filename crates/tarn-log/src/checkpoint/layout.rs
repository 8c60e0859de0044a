//! The layout of the classic checkpoints tarn writes: the Parquet schema, the writer
//! settings, and the conversion of a table's state (`state::TableState`) and files into
//! checkpoint rows.
//!
//! One action per row, each action type a nullable struct column (PROTOCOL.md, "Checkpoint
//! Schema"): `txn`, `add`, `remove`, `metaData`, `protocol`, `domainMetadata`, and for tables
//! with the `v2Checkpoint` feature `checkpointMetadata` (a classic-named checkpoint following
//! the V2 spec, as delta-kernel writes them). Never `commitInfo` or `cdc`: the protocol keeps
//! them out of checkpoints.
//!
//! `add` rows are a projection of canonical file batches, a snapshot's or streamed from the
//! log (the canonical file schema *is* the `add` action), plus `dataChange = false`,
//! `stats_parsed` and, for partitioned tables, `partitionValues_parsed`. Nothing here turns
//! files into row objects; the few non-file actions go through their serde form, which is
//! their one definition.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, MapArray, RecordBatch, StructArray, new_null_array,
};
use arrow_buffer::BooleanBuffer;
use arrow_json::ReaderBuilder;
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::Serialize;
use tarn_protocol::actions::{CheckpointMetadata, DomainMetadata, Metadata, Protocol, Txn};
use tarn_protocol::features::{TableFeature, effective_writer_features};
use tarn_protocol::schema::DataType;

use super::leaf::{Cell, LeafBuilder, LeafType, parse_text};
use super::state::TableState;
use super::stats_parsed::StatsLayout;
use crate::files::file_schema;

/// Table property: write JSON `stats` (default true).
const WRITE_STATS_AS_JSON_KEY: &str = "delta.checkpoint.writeStatsAsJson";
/// Table property: write `stats_parsed` and `partitionValues_parsed`. The protocol's default
/// is false; tarn writes them unless the table says `false` (DESIGN.md: checkpoints carry
/// `stats_parsed` so scans can prune without parsing JSON).
const WRITE_STATS_AS_STRUCT_KEY: &str = "delta.checkpoint.writeStatsAsStruct";

/// Rows per row group: small enough that the writer's buffered row group stays in the tens
/// of megabytes, large enough for good compression.
pub(super) const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Bytes per row group, for tables with very wide statistics.
const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

fn is_false(state: &TableState, key: &str) -> bool {
    state
        .properties()
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// The type of a field of the canonical file schema.
fn canonical(name: &str) -> Result<ArrowType, ArrowError> {
    Ok(file_schema().field_with_name(name)?.data_type().clone())
}

fn nullable(name: &str, ty: ArrowType) -> Field {
    Field::new(name, ty, true)
}

fn string_list() -> ArrowType {
    ArrowType::List(Arc::new(Field::new("element", ArrowType::Utf8, true)))
}

fn txn_type() -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        nullable("appId", ArrowType::Utf8),
        nullable("version", ArrowType::Int64),
        nullable("lastUpdated", ArrowType::Int64),
    ]))
}

fn metadata_type(map: &ArrowType) -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        nullable("id", ArrowType::Utf8),
        nullable("name", ArrowType::Utf8),
        nullable("description", ArrowType::Utf8),
        nullable(
            "format",
            ArrowType::Struct(Fields::from(vec![
                nullable("provider", ArrowType::Utf8),
                nullable("options", map.clone()),
            ])),
        ),
        nullable("schemaString", ArrowType::Utf8),
        nullable("partitionColumns", string_list()),
        nullable("createdTime", ArrowType::Int64),
        nullable("configuration", map.clone()),
    ]))
}

fn protocol_type() -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        nullable("minReaderVersion", ArrowType::Int32),
        nullable("minWriterVersion", ArrowType::Int32),
        nullable("readerFeatures", string_list()),
        nullable("writerFeatures", string_list()),
    ]))
}

fn domain_metadata_type() -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        nullable("domain", ArrowType::Utf8),
        nullable("configuration", ArrowType::Utf8),
        nullable("removed", ArrowType::Boolean),
    ]))
}

fn checkpoint_metadata_type(map: &ArrowType) -> ArrowType {
    ArrowType::Struct(Fields::from(vec![
        nullable("version", ArrowType::Int64),
        nullable("tags", map.clone()),
    ]))
}

/// The `remove` struct of a checkpoint: a tombstone for VACUUM, without `stats` and `tags`.
pub(super) fn remove_type() -> Result<ArrowType, ArrowError> {
    Ok(ArrowType::Struct(Fields::from(vec![
        nullable("path", ArrowType::Utf8),
        nullable("deletionTimestamp", ArrowType::Int64),
        nullable("dataChange", ArrowType::Boolean),
        nullable("extendedFileMetadata", ArrowType::Boolean),
        nullable("partitionValues", canonical("partitionValues")?),
        nullable("size", ArrowType::Int64),
        nullable("deletionVector", canonical("deletionVector")?),
        nullable("baseRowId", ArrowType::Int64),
        nullable("defaultRowCommitVersion", ArrowType::Int64),
    ])))
}

/// The typed partition values of a partitioned table's files.
#[derive(Debug)]
struct PartitionLayout {
    /// Physical name and type of each partition column.
    columns: Vec<(String, LeafType)>,
    fields: Fields,
}

impl PartitionLayout {
    fn new(state: &TableState) -> Option<Self> {
        let columns: Vec<(String, LeafType)> = state
            .partition_column_names()
            .into_iter()
            .filter_map(
                |(logical, physical)| match &state.schema().field(logical)?.data_type {
                    DataType::Primitive(p) => Some((physical.to_owned(), LeafType::of(*p))),
                    _ => None,
                },
            )
            .collect();
        if columns.is_empty() {
            return None;
        }
        let fields = columns
            .iter()
            .map(|(name, ty)| nullable(name, ty.arrow()))
            .collect();
        Some(Self { columns, fields })
    }

    /// `partitionValues_parsed` of a batch: each value read as its column's type
    /// (PROTOCOL.md, "Partition Value Serialization"); unreadable values are nulls.
    fn parse(&self, partition_values: &MapArray) -> Result<ArrayRef, ArrowError> {
        let rows = partition_values.len();
        let mut builders: Vec<LeafBuilder> = self
            .columns
            .iter()
            .map(|(_, ty)| LeafBuilder::new(*ty, rows))
            .collect();
        let keys = partition_values.keys().as_string::<i32>();
        let values = partition_values.values().as_string::<i32>();
        let offsets = partition_values.value_offsets();
        for row in 0..rows {
            let (start, end) = if partition_values.is_valid(row) {
                (offsets[row] as usize, offsets[row + 1] as usize)
            } else {
                (0, 0)
            };
            for ((name, ty), builder) in self.columns.iter().zip(&mut builders) {
                let raw = (start..end)
                    .find(|i| keys.value(*i) == name)
                    .filter(|i| values.is_valid(*i))
                    .map(|i| values.value(i))
                    .filter(|v| !v.is_empty());
                match (raw, ty) {
                    (None, _) => builder.append_null(),
                    (Some(text), LeafType::String | LeafType::Binary) => {
                        builder.append(&Cell::Str(text.into()));
                    }
                    (Some(text), ty) => builder.append(&parse_text(*ty, text)),
                }
            }
        }
        let mut arrays = Vec::with_capacity(builders.len());
        for builder in &mut builders {
            arrays.push(builder.finish()?);
        }
        Ok(Arc::new(StructArray::try_new(
            self.fields.clone(),
            arrays,
            None,
        )?))
    }
}

/// The schema and row conversions of one table's checkpoint.
#[derive(Debug)]
pub(super) struct CheckpointLayout {
    schema: SchemaRef,
    add_fields: Fields,
    stats_json: bool,
    stats: Option<StatsLayout>,
    partitions: Option<PartitionLayout>,
    v2: bool,
}

/// Names of the top-level columns of actions other than files.
const NON_FILE_COLUMNS: [&str; 5] = [
    "txn",
    "metaData",
    "protocol",
    "domainMetadata",
    "checkpointMetadata",
];

impl CheckpointLayout {
    pub(super) fn new(state: &TableState) -> Result<Self, ArrowError> {
        let stats_json = !is_false(state, WRITE_STATS_AS_JSON_KEY);
        let as_struct = !is_false(state, WRITE_STATS_AS_STRUCT_KEY);
        let stats = as_struct.then(|| {
            StatsLayout::new(
                state.schema(),
                state.partition_columns(),
                state.column_mapping_mode(),
                state.properties(),
            )
        });
        let partitions = as_struct.then(|| PartitionLayout::new(state)).flatten();
        let v2 = effective_writer_features(state.protocol()).contains(&TableFeature::V2Checkpoint);

        let map = canonical("partitionValues")?;
        let mut add = vec![
            nullable("path", ArrowType::Utf8),
            nullable("partitionValues", map.clone()),
            nullable("size", ArrowType::Int64),
            nullable("modificationTime", ArrowType::Int64),
            nullable("dataChange", ArrowType::Boolean),
        ];
        if stats_json {
            add.push(nullable("stats", ArrowType::Utf8));
        }
        add.extend([
            nullable("tags", canonical("tags")?),
            nullable("deletionVector", canonical("deletionVector")?),
            nullable("baseRowId", ArrowType::Int64),
            nullable("defaultRowCommitVersion", ArrowType::Int64),
            nullable("clusteringProvider", ArrowType::Utf8),
        ]);
        if let Some(partitions) = &partitions {
            add.push(nullable(
                "partitionValues_parsed",
                ArrowType::Struct(partitions.fields.clone()),
            ));
        }
        if let Some(stats) = &stats {
            add.push(nullable("stats_parsed", stats.data_type()));
        }
        let add_fields = Fields::from(add);
        let mut columns = vec![
            nullable("txn", txn_type()),
            nullable("add", ArrowType::Struct(add_fields.clone())),
            nullable("remove", remove_type()?),
            nullable("metaData", metadata_type(&map)),
            nullable("protocol", protocol_type()),
            nullable("domainMetadata", domain_metadata_type()),
        ];
        if v2 {
            columns.push(nullable(
                "checkpointMetadata",
                checkpoint_metadata_type(&map),
            ));
        }
        Ok(Self {
            schema: Arc::new(Schema::new(columns)),
            add_fields,
            stats_json,
            stats,
            partitions,
            v2,
        })
    }

    /// The checkpoint's Arrow schema.
    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the files' JSON statistics are needed (to write them, or to parse them).
    pub(super) fn needs_statistics(&self) -> bool {
        self.stats_json || self.stats.is_some()
    }

    /// Writer settings: Snappy (what Delta-Spark writes, and fast to read back); row groups
    /// bounded in rows and bytes; min/max per column chunk, not per page (readers skip row
    /// groups of a checkpoint, never pages); dictionaries only for the columns that repeat
    /// (partition values, tags, flags), not for the per-file values that never do.
    pub(super) fn writer_properties(&self, row_group_rows: usize) -> WriterProperties {
        let path =
            |parts: &[&str]| ColumnPath::new(parts.iter().map(|p| (*p).to_owned()).collect());
        let mut repeating = vec![
            path(&["add", "partitionValues", "key_value", "key"]),
            path(&["add", "partitionValues", "key_value", "value"]),
            path(&["add", "tags", "key_value", "key"]),
            path(&["add", "tags", "key_value", "value"]),
            path(&["add", "deletionVector", "storageType"]),
            path(&["add", "clusteringProvider"]),
            path(&["remove", "partitionValues", "key_value", "key"]),
            path(&["remove", "partitionValues", "key_value", "value"]),
        ];
        if let Some(partitions) = &self.partitions {
            for (name, _) in &partitions.columns {
                repeating.push(path(&["add", "partitionValues_parsed", name]));
            }
        }
        let mut builder = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_dictionary_enabled(false)
            .set_created_by(format!("tarn {}", env!("CARGO_PKG_VERSION")));
        for column in repeating {
            builder = builder.set_column_dictionary_enabled(column, true);
        }
        builder.build()
    }

    /// A checkpoint batch holding `column` in the column named `name` and nulls elsewhere.
    fn batch_with(
        &self,
        columns: &[(&str, ArrayRef)],
        rows: usize,
    ) -> Result<RecordBatch, ArrowError> {
        let arrays = self
            .schema
            .fields()
            .iter()
            .map(|field| {
                columns
                    .iter()
                    .find(|(name, _)| name == field.name())
                    .map(|(_, array)| Arc::clone(array))
                    .unwrap_or_else(|| new_null_array(field.data_type(), rows))
            })
            .collect();
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
    }

    /// The rows of the actions other than files: protocol, metadata, transactions, domain
    /// metadata and, for V2-spec checkpoints, the checkpoint metadata.
    pub(super) fn non_file_batch(&self, state: &TableState) -> Result<RecordBatch, ArrowError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        enum Row<'a> {
            Protocol(&'a Protocol),
            #[serde(rename = "metaData")]
            Metadata(&'a Metadata),
            Txn(&'a Txn),
            DomainMetadata(&'a DomainMetadata),
            CheckpointMetadata(CheckpointMetadata),
        }
        let mut rows = vec![
            Row::Protocol(state.protocol()),
            Row::Metadata(state.metadata()),
        ];
        rows.extend(state.txns().values().map(Row::Txn));
        rows.extend(state.domain_metadata().values().map(Row::DomainMetadata));
        if self.v2 {
            rows.push(Row::CheckpointMetadata(CheckpointMetadata {
                version: i64::try_from(state.version()).unwrap_or(i64::MAX),
                tags: None,
            }));
        }
        let mut json = Vec::new();
        for row in &rows {
            serde_json::to_writer(&mut json, row)
                .map_err(|e| ArrowError::JsonError(e.to_string()))?;
            json.push(b'\n');
        }
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .filter(|f| NON_FILE_COLUMNS.contains(&f.name().as_str()))
            .map(|f| f.as_ref().clone())
            .collect();
        let decoded = decode_json_lines(Arc::new(Schema::new(fields)), &json, rows.len())?;
        let batch = arrow_select::concat::concat_batches(
            &decoded
                .first()
                .map_or_else(|| Arc::new(Schema::empty()), |b| b.schema()),
            &decoded,
        )?;
        let columns: Vec<(&str, ArrayRef)> = NON_FILE_COLUMNS
            .iter()
            .filter_map(|name| Some((*name, Arc::clone(batch.column_by_name(name)?))))
            .collect();
        self.batch_with(&columns, rows.len())
    }

    /// The `add` rows of a canonical file batch.
    pub(super) fn add_batch(&self, files: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let rows = files.num_rows();
        let column = |name: &str| {
            files
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| ArrowError::SchemaError(format!("file batch has no `{name}`")))
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.add_fields.len());
        for field in &self.add_fields {
            let array = match field.name().as_str() {
                "dataChange" => Arc::new(BooleanArray::new(BooleanBuffer::new_unset(rows), None)),
                "stats_parsed" => match &self.stats {
                    Some(layout) => {
                        let stats = column("stats")?;
                        let stats = stats.as_string::<i32>();
                        let mut builder = layout.builder(rows);
                        for row in 0..rows {
                            builder.append(stats.is_valid(row).then(|| stats.value(row)));
                        }
                        builder.finish()?
                    }
                    None => new_null_array(field.data_type(), rows),
                },
                "partitionValues_parsed" => match &self.partitions {
                    Some(partitions) => partitions.parse(column("partitionValues")?.as_map())?,
                    None => new_null_array(field.data_type(), rows),
                },
                name => column(name)?,
            };
            arrays.push(array);
        }
        let add = StructArray::try_new(self.add_fields.clone(), arrays, None)?;
        self.batch_with(&[("add", Arc::new(add))], rows)
    }

    /// The `remove` rows of tombstones (already in the checkpoint's `remove` type).
    pub(super) fn remove_batch(&self, removes: ArrayRef) -> Result<RecordBatch, ArrowError> {
        let rows = removes.len();
        self.batch_with(&[("remove", removes)], rows)
    }
}

/// Decodes newline-delimited JSON into batches of `schema`, ignoring fields the schema does
/// not name.
pub(super) fn decode_json_lines(
    schema: SchemaRef,
    json: &[u8],
    batch_rows: usize,
) -> Result<Vec<RecordBatch>, ArrowError> {
    let mut decoder = ReaderBuilder::new(schema)
        .with_batch_size(batch_rows.max(1))
        .with_strict_mode(false)
        .build_decoder()?;
    let mut batches = Vec::new();
    let mut rest = json;
    while !rest.is_empty() {
        let consumed = decoder.decode(rest)?;
        rest = &rest[consumed..];
        if consumed == 0 {
            // A full batch: take it and go on. Nothing flushed means no progress is possible.
            match decoder.flush()? {
                Some(batch) => batches.push(batch),
                None => break,
            }
        }
    }
    if let Some(batch) = decoder.flush()? {
        batches.push(batch);
    }
    Ok(batches)
}
