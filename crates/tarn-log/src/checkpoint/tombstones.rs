//! Tombstones for a checkpoint: the `remove` actions a checkpoint must carry until they expire
//! (PROTOCOL.md, "Add File and Remove File" and "Checkpoints"), so that VACUUM run from the
//! checkpoint still knows which files were removed recently.
//!
//! Snapshots do not keep removes (they would cost every reader memory for the benefit of the
//! occasional checkpoint), so they are collected here, from the same log segment the snapshot
//! was built from: the removes of its commits and of the checkpoint it started from (its
//! `remove` column, its sidecars). A remove is written when
//!
//! - it is the newest remove of its logical file (path and deletion vector id), commits
//!   shadowing the older checkpoint;
//! - the logical file is not active (an `add` after the remove re-added it): per the
//!   snapshot's files, or per the replay that streamed the files into the checkpoint;
//! - it has not expired: its `deletionTimestamp` is after `now` minus
//!   `delta.deletedFileRetentionDuration` (default one week). A remove without a timestamp
//!   counts as removed at the epoch, as Delta-Spark treats it. A retention tarn cannot read
//!   keeps every tombstone: keeping one too many only delays VACUUM.
//!
//! Removes are handled as Arrow columns throughout (JSON lines decoded straight into the
//! checkpoint's `remove` type); memory is proportional to the tombstones kept, not the table.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StructArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Schema, SchemaRef};
use arrow_select::filter::filter;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use tarn_protocol::actions::{Action, Sidecar, action_key, dv_unique_id};
use tarn_protocol::log_path::{CheckpointFormat, CheckpointName, LogFileKind, Version};
use tarn_protocol::log_segment::{CheckpointPlan, Listed};
use tarn_protocol::retention::{
    DEFAULT_DELETED_FILE_RETENTION_MS, DELETED_FILE_RETENTION_KEY, parse_interval_ms,
};

use super::keys::FileKeys;
use super::layout::{decode_json_lines, remove_type};
use super::read::{corrupt, sidecar_path};
use super::rows::struct_rows;
use super::state::TableState;
use crate::error::{LogError, LogResult};
use crate::files::ActiveFiles;
use crate::location::TableLocation;
use crate::parquet_io::ObjectFileReader;
use crate::segment::LogFile;

/// Commit files fetched at once.
const COMMIT_CONCURRENCY: usize = 4;
/// Rows decoded per batch.
const BATCH_ROWS: usize = 8192;

/// The tombstones to write: arrays of the checkpoint's `remove` type, `dataChange = false`.
#[derive(Debug, Default)]
pub(super) struct Tombstones {
    pub(super) arrays: Vec<ArrayRef>,
    pub(super) count: usize,
}

/// The deletion time at or before which a tombstone has expired, or `None` when tombstones
/// must all be kept (a retention tarn cannot read).
pub(super) fn expiry_cutoff(state: &TableState, now_ms: i64) -> Option<i64> {
    let retention = match state.properties().get(DELETED_FILE_RETENTION_KEY) {
        None => DEFAULT_DELETED_FILE_RETENTION_MS,
        Some(text) => match parse_interval_ms(text) {
            Some(ms) => ms,
            None => {
                tracing::warn!(
                    property = DELETED_FILE_RETENTION_KEY,
                    value = %text,
                    "cannot read the tombstone retention; keeping every tombstone"
                );
                return None;
            }
        },
    };
    Some(now_ms.saturating_sub(retention))
}

fn remove_schema() -> Result<SchemaRef, ArrowError> {
    Ok(Arc::new(Schema::new(vec![Field::new(
        "remove",
        remove_type()?,
        true,
    )])))
}

/// The `remove` lines of a JSON log file, and its `sidecar` actions.
fn split_lines(bytes: &[u8]) -> Result<(Vec<u8>, Vec<Sidecar>), String> {
    let mut removes = Vec::new();
    let mut sidecars = Vec::new();
    // Most commits remove nothing: a (vectorised) substring search says so without walking
    // the lines.
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    if !text.contains("\"remove\"") && !text.contains("\"sidecar\"") {
        return Ok((removes, sidecars));
    }
    for line in bytes.split(|b| *b == b'\n') {
        match action_key(line) {
            Some(b"remove") => {
                removes.extend_from_slice(line);
                removes.push(b'\n');
            }
            Some(b"sidecar") => {
                let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
                if let Some(Action::Sidecar(sidecar)) =
                    Action::from_json_line(text).map_err(|e| e.to_string())?
                {
                    sidecars.push(sidecar);
                }
            }
            _ => {}
        }
    }
    Ok((removes, sidecars))
}

/// Decodes `remove` lines into remove arrays.
fn decode_removes(lines: &[u8]) -> Result<Vec<StructArray>, ArrowError> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let batches = decode_json_lines(remove_schema()?, lines, BATCH_ROWS)?;
    Ok(batches
        .iter()
        .filter_map(|b| b.column(0).as_struct_opt().cloned())
        .collect())
}

async fn get_bytes(location: &TableLocation, path: &Path) -> LogResult<bytes::Bytes> {
    location
        .store()
        .get(path)
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))
}

/// The removes of one commit file.
async fn commit_removes(
    location: &TableLocation,
    commit: &Listed<LogFile>,
) -> LogResult<Vec<StructArray>> {
    let version = commit.name.version;
    let bytes = get_bytes(location, &commit.file.path).await?;
    let shown = location.display_path(&commit.file.path);
    tokio::task::spawn_blocking(move || {
        let (lines, _) = split_lines(&bytes).map_err(|reason| LogError::CorruptCommit {
            version,
            path: shown.clone(),
            reason,
        })?;
        decode_removes(&lines).map_err(|e| LogError::CorruptCommit {
            version,
            path: shown,
            reason: format!("invalid remove action: {e}"),
        })
    })
    .await?
}

/// Converts a checkpoint's `remove` column into the checkpoint `remove` type, through JSON so
/// that other writers' variations (map entry names, extra fields, `stats` and `tags`) all
/// conform.
fn conform_removes(column: &ArrayRef) -> Result<Vec<StructArray>, ArrowError> {
    let Some(nulls) = column.logical_nulls() else {
        return to_removes(Arc::clone(column));
    };
    if nulls.null_count() == column.len() {
        return Ok(Vec::new());
    }
    let present = filter(column, &BooleanArray::new(nulls.inner().clone(), None))?;
    to_removes(present)
}

fn to_removes(column: ArrayRef) -> Result<Vec<StructArray>, ArrowError> {
    if column.is_empty() {
        return Ok(Vec::new());
    }
    let schema = Schema::new(vec![Field::new("remove", column.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![column])?;
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(false)
        .build::<_, arrow_json::writer::LineDelimited>(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    decode_removes(&writer.into_inner())
}

/// The removes (and, for a checkpoint's own files, the sidecars) of one Parquet checkpoint
/// file, reading only those columns.
async fn parquet_removes(
    location: &TableLocation,
    version: Version,
    path: &Path,
    size: u64,
    with_sidecars: bool,
) -> LogResult<(Vec<StructArray>, Vec<Sidecar>)> {
    let shown = location.display_path(path);
    let mut file = ObjectFileReader::new(Arc::clone(location.store()), path.clone(), size);
    let metadata =
        ArrowReaderMetadata::load_async(&mut file, super::parquet::checkpoint_reader_options())
            .await
            .map_err(|e| corrupt(version, &shown, e))?;
    let descriptor = metadata.metadata().file_metadata().schema_descr();
    let leaves: Vec<usize> = descriptor
        .columns()
        .iter()
        .enumerate()
        .filter(
            |(_, c)| match c.path().parts().first().map(String::as_str) {
                Some("remove") => true,
                Some("sidecar") => with_sidecars,
                _ => false,
            },
        )
        .map(|(i, _)| i)
        .collect();
    if leaves.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mask = ProjectionMask::leaves(descriptor, leaves);
    let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, metadata)
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| corrupt(version, &shown, e))?;
    let mut removes = Vec::new();
    let mut sidecars = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| corrupt(version, &shown, e))?;
        if let Some(column) = batch.column_by_name("remove") {
            removes.extend(conform_removes(column).map_err(|e| corrupt(version, &shown, e))?);
        }
        if let Some(column) = batch.column_by_name("sidecar") {
            sidecars.extend(struct_rows::<Sidecar>(column, version, &shown)?);
        }
    }
    Ok((removes, sidecars))
}

/// The removes of the checkpoint a segment starts from: every part, and their sidecars.
async fn checkpoint_removes(
    location: &TableLocation,
    checkpoint: &CheckpointPlan<LogFile>,
) -> LogResult<Vec<StructArray>> {
    let version = checkpoint.version;
    let mut removes = Vec::new();
    let mut sidecars = Vec::new();
    for part in &checkpoint.parts {
        let json = matches!(
            part.name.kind,
            LogFileKind::Checkpoint(CheckpointName::V2 {
                format: CheckpointFormat::Json,
                ..
            })
        );
        if json {
            let bytes = get_bytes(location, &part.file.path).await?;
            let shown = location.display_path(&part.file.path);
            let (lines, mut found) =
                split_lines(&bytes).map_err(|e| corrupt(version, &shown, e))?;
            removes.extend(decode_removes(&lines).map_err(|e| corrupt(version, &shown, e))?);
            sidecars.append(&mut found);
        } else {
            let (mut part_removes, mut found) =
                parquet_removes(location, version, &part.file.path, part.file.size, true).await?;
            removes.append(&mut part_removes);
            sidecars.append(&mut found);
        }
    }
    for sidecar in &sidecars {
        let path = sidecar_path(location, version, &sidecar.path)?;
        let size = location
            .store()
            .head(&path)
            .await
            .map_err(|e| LogError::storage(location.display_path(&path), e))?
            .size;
        let (mut found, _) = parquet_removes(location, version, &path, size, false).await?;
        removes.append(&mut found);
    }
    Ok(removes)
}

/// The removes of a log segment, newest first: its commits' from the newest, then its
/// checkpoint's (see the module doc); [`select_tombstones`] picks the tombstones among them.
///
/// Boxed so that its `Send`-ness is proven here, for these lifetimes: left to inference, rustc
/// asks for it for every lifetime of the borrowed commits, fails, and callers could not spawn
/// a commit (which may write a checkpoint).
pub(super) fn collect_candidates(state: &TableState) -> BoxFuture<'_, LogResult<Vec<StructArray>>> {
    collect_candidates_inner(state).boxed()
}

async fn collect_candidates_inner(state: &TableState) -> LogResult<Vec<StructArray>> {
    let location = state.location();
    let segment = state.segment();
    // Owned items: a closure over `&Listed` is not `Send` for every lifetime.
    let mut candidates: Vec<StructArray> =
        futures::stream::iter(segment.commits.iter().rev().cloned())
            .map(|commit| async move { commit_removes(location, &commit).await })
            .buffered(COMMIT_CONCURRENCY)
            .try_collect::<Vec<Vec<StructArray>>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
    if let Some(checkpoint) = &segment.checkpoint {
        candidates.extend(checkpoint_removes(location, checkpoint).await?);
    }
    Ok(candidates)
}

/// Which logical files are active, for [`select_tombstones`].
pub(super) enum Active {
    /// The files of a snapshot.
    Files(ActiveFiles),
    /// The seen-set of the replay that streamed the files: a file is active when its newest
    /// action is an `add`.
    Keys(FileKeys),
}

/// Picks the tombstones among the candidates of [`collect_candidates`] (see the module doc).
/// `cutoff` is from [`expiry_cutoff`].
pub(super) async fn select_tombstones(
    state: &TableState,
    candidates: Vec<StructArray>,
    active: Active,
    cutoff: Option<i64>,
) -> LogResult<Tombstones> {
    if candidates.is_empty() {
        return Ok(Tombstones::default());
    }
    let version = state.version();
    let shown = state.location().to_string();
    tokio::task::spawn_blocking(move || {
        select(candidates, active, cutoff).map_err(|e| LogError::CheckpointWrite {
            version,
            path: shown,
            reason: format!("selecting tombstones: {e}"),
        })
    })
    .await?
}

/// A logical file: path and deletion vector id.
type FileKey = (String, Option<String>);

/// The key columns of a remove array.
struct RemoveKeys<'a> {
    array: &'a StructArray,
    path: &'a arrow_array::StringArray,
    timestamp: &'a arrow_array::Int64Array,
    dv: &'a StructArray,
}

impl<'a> RemoveKeys<'a> {
    fn new(array: &'a StructArray) -> Option<Self> {
        let dv = array.column_by_name("deletionVector")?.as_struct_opt()?;
        Some(Self {
            path: array.column_by_name("path")?.as_string_opt::<i32>()?,
            timestamp: array
                .column_by_name("deletionTimestamp")?
                .as_primitive_opt::<Int64Type>()?,
            dv,
            array,
        })
    }

    fn key(&self, row: usize) -> Option<(String, Option<String>)> {
        if !self.array.is_valid(row) || !self.path.is_valid(row) {
            return None;
        }
        let dv = self.dv.is_valid(row).then(|| {
            let storage = self.dv.column(0).as_string::<i32>();
            let path = self.dv.column(1).as_string::<i32>();
            let offset = self.dv.column(2).as_primitive::<Int32Type>();
            dv_unique_id(
                storage.value(row),
                path.value(row),
                offset.is_valid(row).then(|| offset.value(row)),
            )
        });
        Some((self.path.value(row).to_owned(), dv))
    }

    fn expired(&self, row: usize, cutoff: Option<i64>) -> bool {
        let deleted = if self.timestamp.is_valid(row) {
            self.timestamp.value(row)
        } else {
            0
        };
        cutoff.is_some_and(|cutoff| deleted <= cutoff)
    }
}

/// Picks the tombstones among candidate removes given newest first.
fn select(
    candidates: Vec<StructArray>,
    active: Active,
    cutoff: Option<i64>,
) -> Result<Tombstones, ArrowError> {
    let missing = || ArrowError::SchemaError("remove array without its key columns".to_owned());
    let mut seen: HashSet<(String, Option<String>)> = HashSet::new();
    let mut masks: Vec<Vec<bool>> = Vec::with_capacity(candidates.len());
    for array in &candidates {
        let keys = RemoveKeys::new(array).ok_or_else(missing)?;
        let mask = (0..array.len())
            .map(|row| {
                keys.key(row)
                    .is_some_and(|key| !keys.expired(row, cutoff) && seen.insert(key))
            })
            .collect();
        masks.push(mask);
    }
    // A tombstone whose logical file is active again was undone by a newer add.
    let mut is_active: Box<dyn FnMut(&FileKey) -> bool> = match active {
        Active::Files(files) => {
            let paths: HashSet<&str> = seen.iter().map(|(path, _)| path.as_str()).collect();
            let mut active: HashSet<(String, Option<String>)> = HashSet::new();
            for file in files.iter() {
                if paths.contains(file.path()) {
                    let key = (file.path().to_owned(), file.deletion_vector_id());
                    if seen.contains(&key) {
                        active.insert(key);
                    }
                }
            }
            Box::new(move |key| active.contains(key))
        }
        Active::Keys(mut keys) => Box::new(move |(path, dv)| keys.is_added(path, dv.as_deref())),
    };
    let mut tombstones = Tombstones::default();
    for (array, mut mask) in candidates.into_iter().zip(masks) {
        if mask.iter().any(|keep| *keep) {
            let keys = RemoveKeys::new(&array).ok_or_else(missing)?;
            for (row, keep) in mask.iter_mut().enumerate() {
                if *keep && keys.key(row).is_some_and(|key| is_active(&key)) {
                    *keep = false;
                }
            }
        }
        let mask = BooleanArray::from(mask);
        let kept = mask.true_count();
        if kept == 0 {
            continue;
        }
        let array: ArrayRef = Arc::new(array);
        let filtered = if kept == array.len() {
            array
        } else {
            filter(&array, &mask)?
        };
        tombstones.count += kept;
        tombstones.arrays.push(without_data_change(filtered)?);
    }
    Ok(tombstones)
}

/// The tombstones of `snapshot` removed after `cutoff_ms` (milliseconds since the epoch; every
/// tombstone the log segment holds when `None`): the newest `remove` of each logical file that
/// is not active, as a checkpoint of the snapshot would carry them (`dataChange = false`).
/// Read from the snapshot's log segment, which holds no tombstone a checkpoint in it dropped.
pub(crate) async fn tombstones_after(
    snapshot: &crate::Snapshot,
    cutoff_ms: Option<i64>,
) -> LogResult<Vec<tarn_protocol::actions::Remove>> {
    let state = TableState::of_snapshot(snapshot);
    let candidates = collect_candidates(&state).await?;
    let cutoff = cutoff_ms;
    let tombstones = select_tombstones(
        &state,
        candidates,
        Active::Files(snapshot.files().clone()),
        cutoff,
    )
    .await?;
    let shown = state.location().to_string();
    let mut removes = Vec::with_capacity(tombstones.count);
    for array in &tombstones.arrays {
        removes.extend(struct_rows::<tarn_protocol::actions::Remove>(
            array,
            state.version(),
            &shown,
        )?);
    }
    Ok(removes)
}

/// Sets `dataChange = false`: a tombstone in a checkpoint changes no data by itself, which is
/// how Delta-Spark writes them.
fn without_data_change(array: ArrayRef) -> Result<ArrayRef, ArrowError> {
    let Some(array) = array.as_struct_opt() else {
        return Err(ArrowError::SchemaError("remove is not a struct".to_owned()));
    };
    let (fields, mut columns, nulls) = array.clone().into_parts();
    let len = array.len();
    for (field, column) in fields.iter().zip(columns.iter_mut()) {
        if field.name() == "dataChange" && field.data_type() == &ArrowType::Boolean {
            *column = Arc::new(BooleanArray::new(BooleanBuffer::new_unset(len), None));
        }
    }
    Ok(Arc::new(StructArray::try_new(fields, columns, nulls)?))
}
