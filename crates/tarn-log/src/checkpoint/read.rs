//! Reading checkpoints: classic and multi-part Parquet, v2 (JSON or Parquet, with sidecars).
//!
//! Parquet checkpoints are read with a column projection: the `add` fields tarn keeps, and the
//! non-file actions; never `remove` (tombstones do not affect the active files) nor
//! `stats_parsed` unless a checkpoint has no JSON stats. Rows are filtered against the replay of
//! newer commits as they are decoded, so a checkpoint is never held whole in memory.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, StructArray};
use arrow_schema::{Field, Schema};
use arrow_select::filter::{filter, filter_record_batch};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::file::metadata::ParquetMetaData;
use serde::de::DeserializeOwned;
use tarn_protocol::actions::{
    CheckpointMetadata, DomainMetadata, Metadata, Protocol, Sidecar, Txn,
};
use tarn_protocol::log_path::{
    CheckpointFormat, CheckpointName, LogFileKind, SIDECAR_DIR, Version,
};
use tarn_protocol::log_segment::CheckpointPlan;
use tarn_protocol::replay::FileReplay;

use crate::actions_json::parse_actions;
use crate::error::{LogError, LogResult};
use crate::files::{BatchKeys, normalize_add_struct};
use crate::location::TableLocation;
use crate::parquet_io::ObjectFileReader;
use crate::segment::LogFile;

/// Rows decoded per batch. Small enough to keep a batch of a wide checkpoint in cache-sized
/// memory, large enough that per-batch overhead vanishes.
const BATCH_SIZE: usize = 8192;

/// How many checkpoint parts or sidecars to read at once.
const PART_CONCURRENCY: usize = 8;

/// What a checkpoint contributes to a snapshot.
#[derive(Debug, Default)]
pub(crate) struct CheckpointState {
    /// Live `add` rows (not referenced by any newer commit), canonical schema.
    pub(crate) adds: Vec<RecordBatch>,
    /// The checkpoint's protocol.
    pub(crate) protocol: Option<Protocol>,
    /// The checkpoint's metadata.
    pub(crate) metadata: Option<Metadata>,
    /// Application transactions.
    pub(crate) txns: Vec<Txn>,
    /// Domain metadata.
    pub(crate) domain_metadata: Vec<DomainMetadata>,
}

impl CheckpointState {
    fn merge(&mut self, other: PartState) {
        self.adds.extend(other.adds);
        if other.protocol.is_some() {
            self.protocol = other.protocol;
        }
        if other.metadata.is_some() {
            self.metadata = other.metadata;
        }
        self.txns.extend(other.txns);
        self.domain_metadata.extend(other.domain_metadata);
    }
}

/// What one checkpoint file holds.
#[derive(Debug, Default)]
struct PartState {
    adds: Vec<RecordBatch>,
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    txns: Vec<Txn>,
    domain_metadata: Vec<DomainMetadata>,
    sidecars: Vec<Sidecar>,
    checkpoint_metadata: Option<CheckpointMetadata>,
}

/// Reads every file of a checkpoint (and its sidecars), keeping the adds that no newer commit
/// referenced.
pub(crate) async fn read_checkpoint(
    location: &TableLocation,
    checkpoint: &CheckpointPlan<LogFile>,
    replay: &FileReplay,
) -> LogResult<CheckpointState> {
    let version = checkpoint.version;
    let parts: Vec<PartState> = futures::stream::iter(checkpoint.parts.iter())
        .map(|part| async move {
            let format = match &part.name.kind {
                LogFileKind::Checkpoint(CheckpointName::V2 {
                    format: CheckpointFormat::Json,
                    ..
                }) => CheckpointFormat::Json,
                _ => CheckpointFormat::Parquet,
            };
            read_part(
                location,
                version,
                &part.file.path,
                part.file.size,
                format,
                replay,
                true,
            )
            .await
        })
        .buffered(PART_CONCURRENCY)
        .try_collect()
        .await?;

    let mut state = CheckpointState::default();
    let mut sidecars = Vec::new();
    for (mut part, file) in parts.into_iter().zip(&checkpoint.parts) {
        if let Some(meta) = &part.checkpoint_metadata
            && u64::try_from(meta.version).ok() != Some(version)
        {
            return Err(corrupt(
                version,
                &location.display_path(&file.file.path),
                format!("checkpointMetadata names version {}", meta.version),
            ));
        }
        sidecars.append(&mut part.sidecars);
        state.merge(part);
    }
    let sidecar_parts: Vec<PartState> = futures::stream::iter(sidecars.iter())
        .map(|sidecar| async move {
            let path = sidecar_path(location, &sidecar.path)?;
            // The size recorded in the sidecar action is not trusted for locating the footer:
            // one HEAD per sidecar is cheap, and a wrong size would make a readable file look
            // corrupt.
            let size = location
                .store()
                .head(&path)
                .await
                .map_err(|e| LogError::storage(location.display_path(&path), e))?
                .size;
            read_part(
                location,
                version,
                &path,
                size,
                CheckpointFormat::Parquet,
                replay,
                false,
            )
            .await
        })
        .buffered(PART_CONCURRENCY)
        .try_collect()
        .await?;
    for part in sidecar_parts {
        state.merge(part);
    }
    Ok(state)
}

/// Resolves a sidecar's path: relative to `_delta_log/_sidecars/`, or an absolute URI in the
/// table's own store.
fn sidecar_path(location: &TableLocation, sidecar: &str) -> LogResult<Path> {
    if sidecar.contains("://") {
        let url = url::Url::parse(sidecar).map_err(|e| LogError::CorruptCheckpoint {
            version: 0,
            path: sidecar.to_owned(),
            reason: format!("sidecar path is not a valid URI: {e}"),
        })?;
        return Path::from_url_path(url.path()).map_err(|e| LogError::CorruptCheckpoint {
            version: 0,
            path: sidecar.to_owned(),
            reason: format!("sidecar path: {e}"),
        });
    }
    Ok(location.log_dir().join(SIDECAR_DIR).join(sidecar))
}

async fn read_part(
    location: &TableLocation,
    version: Version,
    path: &Path,
    size: u64,
    format: CheckpointFormat,
    replay: &FileReplay,
    non_file_actions: bool,
) -> LogResult<PartState> {
    match format {
        CheckpointFormat::Json => read_json_part(location, version, path, replay).await,
        CheckpointFormat::Parquet => {
            read_parquet_part(location, version, path, size, replay, non_file_actions).await
        }
    }
}

async fn read_json_part(
    location: &TableLocation,
    version: Version,
    path: &Path,
    replay: &FileReplay,
) -> LogResult<PartState> {
    let shown = location.display_path(path);
    let bytes = location
        .store()
        .get(path)
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?;
    let parsed = tokio::task::spawn_blocking(move || parse_actions(&bytes))
        .await?
        .map_err(|e| LogError::CorruptCheckpoint {
            version,
            path: location.display_path(path),
            reason: e.to_string(),
        })?;
    let keys = BatchKeys::new(&parsed.adds);
    let mask: BooleanArray = (0..parsed.adds.num_rows())
        .map(|row| Some(replay.is_unseen(keys.path(row), keys.dv_id(row).as_deref())))
        .collect();
    let adds = filter_record_batch(&parsed.adds, &mask).map_err(|e| corrupt(version, &shown, e))?;
    Ok(PartState {
        adds: vec![adds],
        protocol: parsed.protocol,
        metadata: parsed.metadata,
        txns: parsed.txns,
        domain_metadata: parsed.domain_metadata,
        sidecars: parsed.sidecars,
        checkpoint_metadata: parsed.checkpoint_metadata,
    })
}

fn corrupt(version: Version, path: &str, reason: impl std::fmt::Display) -> LogError {
    LogError::CorruptCheckpoint {
        version,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// The `add` fields tarn keeps (the canonical file schema's names).
const ADD_FIELDS: &[&str] = &[
    "path",
    "partitionValues",
    "size",
    "modificationTime",
    "stats",
    "tags",
    "deletionVector",
    "baseRowId",
    "defaultRowCommitVersion",
    "clusteringProvider",
];

/// Top-level non-file action columns.
const NON_FILE_ACTIONS: &[&str] = &[
    "protocol",
    "metaData",
    "txn",
    "domainMetadata",
    "sidecar",
    "checkpointMetadata",
];

/// Whether JSON stats are absent from every row group (a checkpoint written with
/// `delta.checkpoint.writeStatsAsJson=false`), judged from the footer's column statistics.
fn json_stats_absent(metadata: &ParquetMetaData, stats_leaf: Option<usize>) -> bool {
    let Some(leaf) = stats_leaf else {
        return true;
    };
    metadata.row_groups().iter().all(|rg| {
        let column = rg.column(leaf);
        column
            .statistics()
            .and_then(|s| s.null_count_opt())
            .is_some_and(|nulls| i64::try_from(nulls).is_ok_and(|n| n == rg.num_rows()))
    })
}

async fn read_parquet_part(
    location: &TableLocation,
    version: Version,
    path: &Path,
    size: u64,
    replay: &FileReplay,
    non_file_actions: bool,
) -> LogResult<PartState> {
    let shown = location.display_path(path);
    let reader = ObjectFileReader::new(Arc::clone(location.store()), path.clone(), size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| corrupt(version, &shown, e))?;

    let descriptor = builder.parquet_schema();
    let mut stats_leaf = None;
    let mut has_stats_parsed = false;
    for (index, column) in descriptor.columns().iter().enumerate() {
        let parts = column.path().parts();
        if parts.len() >= 2 && parts[0] == "add" {
            if parts[1] == "stats" {
                stats_leaf = Some(index);
            } else if parts[1] == "stats_parsed" {
                has_stats_parsed = true;
            }
        }
    }
    let use_stats_parsed = has_stats_parsed && json_stats_absent(builder.metadata(), stats_leaf);
    let leaves: Vec<usize> = descriptor
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, column)| {
            let parts = column.path().parts();
            match parts.first().map(String::as_str) {
                Some("add") => parts.get(1).is_some_and(|field| {
                    ADD_FIELDS.contains(&field.as_str())
                        || (use_stats_parsed && field == "stats_parsed")
                }),
                Some(action) => non_file_actions && NON_FILE_ACTIONS.contains(&action),
                None => false,
            }
        })
        .map(|(index, _)| index)
        .collect();
    let mask = ProjectionMask::leaves(descriptor, leaves);
    let mut stream = builder
        .with_projection(mask)
        .with_batch_size(BATCH_SIZE)
        .build()
        .map_err(|e| corrupt(version, &shown, e))?;

    let mut state = PartState::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| corrupt(version, &shown, e))?;
        if let Some(add) = batch.column_by_name("add") {
            let add = add
                .as_struct_opt()
                .ok_or_else(|| corrupt(version, &shown, "`add` column is not a struct"))?;
            let stats = if use_stats_parsed {
                add.column_by_name("stats_parsed")
                    .map(stats_parsed_to_json)
                    .transpose()
                    .map_err(|e| corrupt(version, &shown, e))?
            } else {
                None
            };
            let files =
                normalize_add_struct(add, stats).map_err(|e| corrupt(version, &shown, e.0))?;
            let keys = BatchKeys::new(&files);
            // A row holds an add when the `add` struct itself is valid: writers declare
            // `add.path` non-nullable, so its child array has no nulls of its own and rows of
            // other actions show up there as empty strings.
            let mask: BooleanArray = (0..files.num_rows())
                .map(|row| {
                    Some(
                        add.is_valid(row)
                            && keys.is_add(row)
                            && replay.is_unseen(keys.path(row), keys.dv_id(row).as_deref()),
                    )
                })
                .collect();
            if mask.true_count() > 0 {
                let kept =
                    filter_record_batch(&files, &mask).map_err(|e| corrupt(version, &shown, e))?;
                state.adds.push(kept);
            }
        }
        if !non_file_actions {
            continue;
        }
        let column = |name: &str| batch.column_by_name(name);
        if let Some(protocol) = column("protocol")
            && let Some(last) = struct_rows::<Protocol>(protocol, version, &shown)?.pop()
        {
            state.protocol = Some(last);
        }
        if let Some(metadata) = column("metaData")
            && let Some(last) = struct_rows::<Metadata>(metadata, version, &shown)?.pop()
        {
            state.metadata = Some(last);
        }
        if let Some(txn) = column("txn") {
            state.txns.extend(struct_rows::<Txn>(txn, version, &shown)?);
        }
        if let Some(domain) = column("domainMetadata") {
            state
                .domain_metadata
                .extend(struct_rows::<DomainMetadata>(domain, version, &shown)?);
        }
        if let Some(sidecar) = column("sidecar") {
            state
                .sidecars
                .extend(struct_rows::<Sidecar>(sidecar, version, &shown)?);
        }
        if let Some(meta) = column("checkpointMetadata")
            && let Some(last) = struct_rows::<CheckpointMetadata>(meta, version, &shown)?.pop()
        {
            state.checkpoint_metadata = Some(last);
        }
    }
    Ok(state)
}

/// Converts the non-null rows of a struct column of a checkpoint into action structs, through
/// their JSON form (these columns hold a handful of rows; the JSON route keeps one definition
/// of every action's shape: the serde types).
fn struct_rows<T: DeserializeOwned>(
    column: &ArrayRef,
    version: Version,
    shown: &str,
) -> LogResult<Vec<T>> {
    let Some(present) = non_null_rows(column) else {
        return Ok(Vec::new());
    };
    let json = struct_to_json_lines(&present).map_err(|e| corrupt(version, &shown, e))?;
    json.lines()
        .map(|line| serde_json::from_str(line).map_err(|e| corrupt(version, &shown, e)))
        .collect()
}

/// The non-null rows of a struct column, or `None` if there are none.
fn non_null_rows(column: &ArrayRef) -> Option<StructArray> {
    if column.null_count() == column.len() {
        return None;
    }
    let present = match column.logical_nulls() {
        Some(nulls) => {
            let mask = BooleanArray::new(nulls.inner().clone(), None);
            filter(column, &mask).ok()?
        }
        None => Arc::clone(column),
    };
    present.as_struct_opt().cloned()
}

/// Writes the rows of a struct array (with no null rows) as JSON lines, omitting null fields.
fn struct_to_json_lines(array: &StructArray) -> Result<String, arrow_schema::ArrowError> {
    let (fields, columns, _) = array.clone().into_parts();
    let fields: Vec<Field> = fields
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(false)
        .build::<_, arrow_json::writer::LineDelimited>(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    String::from_utf8(writer.into_inner())
        .map_err(|e| arrow_schema::ArrowError::JsonError(e.to_string()))
}

/// Rebuilds JSON `stats` from a checkpoint's `stats_parsed` struct, row for row.
fn stats_parsed_to_json(parsed: &ArrayRef) -> Result<ArrayRef, arrow_schema::ArrowError> {
    let Some(present) = non_null_rows(parsed) else {
        return Ok(arrow_array::new_null_array(
            &arrow_schema::DataType::Utf8,
            parsed.len(),
        ));
    };
    let json = struct_to_json_lines(&present)?;
    let mut lines = json.lines();
    let mut out = arrow_array::builder::StringBuilder::with_capacity(parsed.len(), json.len());
    for row in 0..parsed.len() {
        if parsed.is_valid(row) {
            out.append_option(lines.next());
        } else {
            out.append_null();
        }
    }
    let strings: StringArray = out.finish();
    Ok(Arc::new(strings))
}
