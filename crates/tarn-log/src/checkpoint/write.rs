//! Writing classic checkpoints and the `_last_checkpoint` hint.
//!
//! This module decides when a table is due a checkpoint ([`should_checkpoint`]) and the order
//! of a checkpoint write: first `<version>.checkpoint.parquet`, complete, then
//! `_last_checkpoint`. A crash between the two leaves the table readable: readers list the log
//! and verify the hint (see [`crate::segment`]), so a stale or missing hint only costs a longer
//! listing, and a checkpoint is never visible half-written (see `upload`). It never moves the
//! hint backwards: checkpointing an old version leaves a newer hint alone.
//!
//! Memory: beyond the snapshot itself, a checkpoint write holds a few batches of about 8k
//! files, the Parquet writer's open row group (at most 64k rows or 64 MiB) and the upload
//! buffers (8 MiB parts, two in flight), plus the tombstones it carries: a few tens of MiB of
//! heap whatever the table's size. A snapshot loaded without statistics (the usual case) is not
//! reloaded with them: the files' statistics are read again from the log segment while the
//! checkpoint is written (see `stream`), one commit at a time, which adds an index of the
//! active files (8 to 16 bytes a file). The files are never turned into row objects.
//! (Resident memory grows more than the heap: glibc's malloc keeps freed memory in
//! per-thread arenas and raises its mmap threshold as large buffers are freed. Measured on 1M
//! files: a heap peak of ~225 MiB, snapshot included, for ~450 MiB resident.)

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde::Serialize;
use tarn_protocol::ProtocolError;
use tarn_protocol::actions::Metadata;
use tarn_protocol::error::FeatureUse;
use tarn_protocol::features::{
    MAX_WRITER_VERSION, TableFeature, effective_reader_features, effective_writer_features,
};
use tarn_protocol::log_path::{LAST_CHECKPOINT, Version, classic_checkpoint_file_name};

use super::layout::{CheckpointLayout, ROW_GROUP_ROWS};
use super::state::TableState;
use super::stream::{FileMessage, Liveness, stream_files};
use super::tombstones::{Active, Tombstones, collect_candidates, expiry_cutoff, select_tombstones};
use super::upload::{BatchSender, write_parquet};
use crate::error::{LogError, LogResult};
use crate::files::ActiveFiles;
use crate::location::TableLocation;
use crate::segment::read_last_checkpoint;
use crate::snapshot::Snapshot;

/// Table property: commits between checkpoints.
const CHECKPOINT_INTERVAL_KEY: &str = "delta.checkpointInterval";
/// Default of [`CHECKPOINT_INTERVAL_KEY`], as in Delta-Spark.
const DEFAULT_CHECKPOINT_INTERVAL: u64 = 100;
/// Files per `add` batch handed to the Parquet writer.
const BATCH_ROWS: usize = 8192;

/// The table's checkpoint interval: `delta.checkpointInterval` when it is a positive integer,
/// else 100.
pub fn checkpoint_interval(metadata: &Metadata) -> u64 {
    metadata
        .configuration
        .get(CHECKPOINT_INTERVAL_KEY)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|interval| *interval > 0)
        .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL)
}

/// Whether a writer that just committed `version` should write a checkpoint of it: every
/// [`checkpoint_interval`] versions, never at version 0.
pub fn should_checkpoint(version: Version, metadata: &Metadata) -> bool {
    version > 0 && version.is_multiple_of(checkpoint_interval(metadata))
}

/// How to write a checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointOptions {
    now: Option<DateTime<Utc>>,
    row_group_rows: usize,
}

impl Default for CheckpointOptions {
    fn default() -> Self {
        Self {
            now: None,
            row_group_rows: ROW_GROUP_ROWS,
        }
    }
}

impl CheckpointOptions {
    /// The time tombstones expire against (default: the current time). A tombstone is kept
    /// while its `deletionTimestamp` is later than this minus the table's
    /// `delta.deletedFileRetentionDuration` (default one week).
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Rows per Parquet row group (default 65,536; at least 1).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }
}

/// A checkpoint that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// The table version the checkpoint describes.
    pub version: Version,
    /// The checkpoint file, in the table's store.
    pub path: Path,
    /// Actions (rows) in the checkpoint: the `size` of `_last_checkpoint`.
    pub actions: u64,
    /// Size of the checkpoint file in bytes.
    pub size_in_bytes: u64,
    /// `add` actions in the checkpoint: the table's active files.
    pub add_files: u64,
    /// `remove` actions (unexpired tombstones) in the checkpoint.
    pub tombstones: u64,
    /// Whether `_last_checkpoint` now names this checkpoint (it is left alone when it already
    /// names a newer one).
    pub last_checkpoint_updated: bool,
}

/// The `_last_checkpoint` file (PROTOCOL.md, "Last Checkpoint File Schema"). The optional
/// checksum is not written: readers must accept its absence.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastCheckpoint {
    version: Version,
    size: u64,
    size_in_bytes: u64,
    num_of_add_files: u64,
}

/// Writes a classic Parquet checkpoint of the snapshot's version, then `_last_checkpoint`.
/// See [`write_checkpoint_with`].
pub async fn write_checkpoint(snapshot: &Snapshot) -> LogResult<CheckpointInfo> {
    write_checkpoint_with(snapshot, &CheckpointOptions::default()).await
}

/// Writes `_delta_log/<version>.checkpoint.parquet` for the snapshot's version, then
/// `_delta_log/_last_checkpoint`.
///
/// The checkpoint holds the protocol, metadata, transactions, domain metadata, every active
/// file (with `dataChange = false`, its JSON `stats` and `stats_parsed`, and for partitioned
/// tables `partitionValues_parsed`) and the unexpired tombstones of the snapshot's log
/// segment. The files' JSON statistics are written as they are: from the snapshot when it was
/// loaded with [`crate::SnapshotOptions::with_statistics`], else read again from its log
/// segment as the checkpoint is written (newest commit first, stopping once every active file
/// is found), so they are never all in memory at once.
///
/// Fails with [`LogError::Unsupported`] for a table whose protocol names writer features
/// tarn does not know (a checkpoint could omit what they need), [`LogError::Storage`] when
/// the store fails, [`LogError::CheckpointWrite`] when the file cannot be encoded. When the
/// checkpoint fails nothing is left behind; when only `_last_checkpoint` fails the checkpoint
/// is in place and readers find it by listing.
///
/// The future is `Send` (boxed, so that rustc proves it here for these lifetimes).
pub fn write_checkpoint_with<'a>(
    snapshot: &'a Snapshot,
    options: &'a CheckpointOptions,
) -> BoxFuture<'a, LogResult<CheckpointInfo>> {
    write_checkpoint_inner(snapshot, options).boxed()
}

async fn write_checkpoint_inner(
    snapshot: &Snapshot,
    options: &CheckpointOptions,
) -> LogResult<CheckpointInfo> {
    let files = Files::Snapshot {
        files: snapshot.files().clone(),
        statistics: snapshot.has_statistics(),
    };
    write(&TableState::of_snapshot(snapshot), files, options).await
}

/// Writes a checkpoint of the latest version of the table at `location`, then
/// `_last_checkpoint`, without loading a snapshot. See [`write_latest_checkpoint_with`].
pub fn write_latest_checkpoint(
    location: Arc<TableLocation>,
) -> BoxFuture<'static, LogResult<CheckpointInfo>> {
    async move { write_latest_checkpoint_inner(location, &CheckpointOptions::default()).await }
        .boxed()
}

/// Writes a checkpoint of the latest version of the table at `location`, then
/// `_last_checkpoint`, without loading a snapshot: the protocol, metadata, transactions and
/// domain metadata are read first, from the non-file actions of the log segment only; then
/// the segment's file actions are replayed (newest first, as a snapshot load does) straight
/// into the checkpoint, each file's statistics written as they are read. The checkpoint is the
/// one [`write_checkpoint_with`] writes for a snapshot of that version, and no more than one
/// commit's files are in memory at a time: the replay keeps only the files' keys.
///
/// Fails as [`write_checkpoint_with`] does, and as loading a snapshot of the latest version
/// would ([`LogError::Unsupported`] for a protocol tarn cannot read, [`LogError::CorruptCommit`]
/// for a malformed log, ...). The future is `Send`.
pub fn write_latest_checkpoint_with(
    location: Arc<TableLocation>,
    options: &CheckpointOptions,
) -> BoxFuture<'_, LogResult<CheckpointInfo>> {
    write_latest_checkpoint_inner(location, options).boxed()
}

async fn write_latest_checkpoint_inner(
    location: Arc<TableLocation>,
    options: &CheckpointOptions,
) -> LogResult<CheckpointInfo> {
    let state = TableState::latest(location).await?;
    write(&state, Files::Latest, options).await
}

/// Where a checkpoint's files come from.
enum Files {
    /// A snapshot's files; `statistics`: whether it was loaded with them.
    Snapshot {
        files: ActiveFiles,
        statistics: bool,
    },
    /// The replay of the log segment.
    Latest,
}

async fn write(
    state: &TableState,
    files: Files,
    options: &CheckpointOptions,
) -> LogResult<CheckpointInfo> {
    check_writable(state)?;
    let version = state.version();
    let location = Arc::clone(state.location());
    let path = location.log_file(&classic_checkpoint_file_name(version));
    let shown = location.display_path(&path);
    let encode_error = |e: ArrowError| LogError::CheckpointWrite {
        version,
        path: shown.clone(),
        reason: e.to_string(),
    };

    let layout = CheckpointLayout::new(state).map_err(encode_error)?;
    let now = options.now.unwrap_or_else(Utc::now).timestamp_millis();
    let non_file = layout.non_file_batch(state).map_err(encode_error)?;
    let keep_stats = layout.needs_statistics();

    // The files come from the snapshot when it holds all they need; else they are read from
    // the log as they are written (see `stream`), never all at once. Which files are active
    // decides which removes are tombstones: known from the snapshot, or once the replay is done.
    let (files_tx, files_rx) = tokio::sync::mpsc::channel::<LogResult<FileMessage>>(2);
    let (active_tx, active_rx) = tokio::sync::oneshot::channel::<Active>();
    let mut active_tx = Some(active_tx);
    let mut snapshot_active = |files: &ActiveFiles| {
        if let Some(tx) = active_tx.take() {
            let _ = tx.send(Active::Files(files.clone()));
        }
    };
    let (source, direct, liveness) = match files {
        Files::Snapshot { files, statistics } if statistics || !keep_stats => {
            snapshot_active(&files);
            let count = files.len() as u64;
            (FileSource::Snapshot(files), Some(count), None)
        }
        Files::Snapshot { files, .. } => {
            snapshot_active(&files);
            let liveness = Liveness::Snapshot(files);
            (FileSource::Log(files_rx), None, Some(liveness))
        }
        Files::Latest => (FileSource::Log(files_rx), None, Some(Liveness::Replay)),
    };
    let stream = async {
        let streamed = stream_files(state, liveness?, keep_stats, files_tx).await?;
        if let (Some(tx), Some(keys)) = (active_tx, streamed.keys) {
            let _ = tx.send(Active::Keys(keys));
        }
        Some(streamed.files)
    };

    // Tombstones are collected (re-reading the segment) while the files are being written:
    // they go last, and the producer waits for them only once the files are out.
    let (tombstones_tx, tombstones_rx) = std::sync::mpsc::sync_channel::<LogResult<Tombstones>>(1);
    let collect = async {
        let tombstones = async {
            let candidates = collect_candidates(state).await?;
            let active = active_rx.await.map_err(|_| LogError::Task {
                reason: "the checkpoint's file stream stopped early".to_owned(),
                source: None,
            })?;
            select_tombstones(state, candidates, active, expiry_cutoff(state, now)).await
        }
        .await;
        // The producer is gone only if the write already failed.
        let _ = tombstones_tx.send(tombstones);
    };

    let schema = Arc::clone(layout.schema());
    let properties = layout.writer_properties(options.row_group_rows);
    let rows = CheckpointRows {
        layout,
        non_file,
        files: source,
        tombstones: tombstones_rx,
        version,
        path: shown.clone(),
    };
    let ((), streamed, written) = futures::join!(
        collect,
        stream,
        write_parquet(&location, &path, version, schema, properties, move |tx| {
            rows.send(tx)
        })
    );
    let (written, tombstone_count) = written?;
    let add_files = direct.or(streamed).ok_or_else(|| LogError::Task {
        reason: "the checkpoint's file stream stopped early".to_owned(),
        source: None,
    })?;
    let mut info = CheckpointInfo {
        version,
        path,
        actions: written.rows as u64,
        size_in_bytes: written.bytes,
        add_files,
        tombstones: tombstone_count,
        last_checkpoint_updated: false,
    };
    info.last_checkpoint_updated = write_last_checkpoint(&location, &info).await?;
    Ok(info)
}

/// Where the producer gets the active files from.
enum FileSource {
    /// The snapshot holds them, statistics included.
    Snapshot(ActiveFiles),
    /// They are read from the log while the checkpoint is written (see `stream`).
    Log(tokio::sync::mpsc::Receiver<LogResult<FileMessage>>),
}

impl FileSource {
    /// Calls `each` with every batch of files, until it returns `Ok(false)`.
    fn for_each(self, mut each: impl FnMut(RecordBatch) -> LogResult<bool>) -> LogResult<()> {
        match self {
            FileSource::Snapshot(files) => {
                for batch in files.batches() {
                    if !each(batch)? {
                        break;
                    }
                }
                Ok(())
            }
            FileSource::Log(mut rx) => loop {
                match rx.blocking_recv() {
                    Some(Ok(FileMessage::Files(batch))) => {
                        if !each(batch)? {
                            return Ok(());
                        }
                    }
                    Some(Ok(FileMessage::End)) => return Ok(()),
                    Some(Err(err)) => return Err(err),
                    // Without `End`, the file list is incomplete: never write it.
                    None => {
                        return Err(LogError::Task {
                            reason: "the checkpoint's file stream stopped early".to_owned(),
                            source: None,
                        });
                    }
                }
            },
        }
    }
}

/// Everything a checkpoint's rows are made from, for the producer thread.
struct CheckpointRows {
    layout: CheckpointLayout,
    non_file: RecordBatch,
    files: FileSource,
    tombstones: Receiver<LogResult<Tombstones>>,
    version: Version,
    path: String,
}

impl CheckpointRows {
    /// Sends the rows: the non-file actions, the files in batches of about [`BATCH_ROWS`],
    /// the tombstones. Returns the number of tombstones, or stops early (with `Ok`) when the
    /// encoder is gone: it failed, and its error is the one reported.
    fn send(self, tx: &BatchSender) -> LogResult<u64> {
        let CheckpointRows {
            layout,
            non_file,
            files,
            tombstones,
            version,
            path,
        } = self;
        if tx.send(non_file).is_err() {
            return Ok(0);
        }
        let error = |e: ArrowError| LogError::CheckpointWrite {
            version,
            path: path.clone(),
            reason: e.to_string(),
        };
        let send_files = |files: RecordBatch| -> LogResult<bool> {
            let batch = layout.add_batch(&files).map_err(error)?;
            Ok(tx.send(batch).is_ok())
        };
        let mut pending = Pending::default();
        let mut open = true;
        files.for_each(|batch| {
            // Large batches go out in slices; small ones are gathered first.
            if batch.num_rows() >= BATCH_ROWS / 2 {
                let mut offset = 0;
                while offset < batch.num_rows() {
                    let len = BATCH_ROWS.min(batch.num_rows() - offset);
                    if !send_files(batch.slice(offset, len))? {
                        open = false;
                        return Ok(false);
                    }
                    offset += len;
                }
                return Ok(true);
            }
            pending.push(batch);
            if pending.rows >= BATCH_ROWS {
                let files = pending.take().map_err(error)?;
                if !send_files(files)? {
                    open = false;
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if !open {
            return Ok(0);
        }
        if pending.rows > 0 {
            let files = pending.take().map_err(error)?;
            if !send_files(files)? {
                return Ok(0);
            }
        }
        let tombstones = tombstones.recv().map_err(|_| LogError::Task {
            reason: "tombstone collection stopped".to_owned(),
            source: None,
        })??;
        for removes in tombstones.arrays {
            let batch = layout.remove_batch(removes).map_err(error)?;
            if tx.send(batch).is_err() {
                return Ok(0);
            }
        }
        Ok(tombstones.count as u64)
    }
}

/// File batches waiting to fill one `add` batch.
#[derive(Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    rows: usize,
}

impl Pending {
    fn push(&mut self, batch: RecordBatch) {
        self.rows += batch.num_rows();
        self.batches.push(batch);
    }

    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        let mut batches = std::mem::take(&mut self.batches);
        if batches.len() == 1
            && let Some(batch) = batches.pop()
        {
            return Ok(batch);
        }
        arrow_select::concat::concat_batches(&crate::files::file_schema(), &batches)
    }
}

/// Writes `_last_checkpoint` for `info` unless it already names a newer checkpoint.
async fn write_last_checkpoint(location: &TableLocation, info: &CheckpointInfo) -> LogResult<bool> {
    if read_last_checkpoint(location)
        .await
        .is_some_and(|hint| hint.version > info.version)
    {
        return Ok(false);
    }
    let hint = LastCheckpoint {
        version: info.version,
        size: info.actions,
        size_in_bytes: info.size_in_bytes,
        num_of_add_files: info.add_files,
    };
    let path = location.log_file(LAST_CHECKPOINT);
    let json = serde_json::to_vec(&hint).map_err(|e| LogError::CheckpointWrite {
        version: info.version,
        path: location.display_path(&path),
        reason: e.to_string(),
    })?;
    location
        .store()
        .put(&path, PutPayload::from(json))
        .await
        .map_err(|e| LogError::storage(location.display_path(&path), e))?;
    Ok(true)
}

/// Refuses tables whose checkpoints tarn may get wrong: a writer version above 7, or a
/// feature tarn does not know (it could need checkpoint content tarn does not write).
fn check_writable(state: &TableState) -> LogResult<()> {
    let protocol = state.protocol();
    let unsupported = |source: ProtocolError| LogError::Unsupported {
        location: state.location().to_string(),
        version: state.version(),
        source: Box::new(source),
    };
    if protocol.min_writer_version > MAX_WRITER_VERSION {
        return Err(unsupported(ProtocolError::UnsupportedProtocolVersion {
            version: protocol.min_writer_version,
            supported: MAX_WRITER_VERSION,
            usage: FeatureUse::Write,
        }));
    }
    let features = effective_writer_features(protocol)
        .into_iter()
        .chain(effective_reader_features(protocol));
    for feature in features {
        if let TableFeature::Unknown(name) = feature {
            return Err(unsupported(ProtocolError::UnsupportedFeature {
                feature: name,
                usage: FeatureUse::Write,
            }));
        }
    }
    Ok(())
}
