//! A snapshot's files with their statistics, read again from its log segment while a
//! checkpoint is written, for a snapshot loaded without them.
//!
//! Statistics are most of a snapshot's memory (for 1M files, ~330 of its ~450 MiB), so a
//! checkpoint does not load them all at once: it reads the snapshot's log segment again,
//! newest commit first and then its checkpoint, and sends each `add` that defines one of the
//! snapshot's active files to the writer as soon as its commit is parsed. The snapshot says
//! which files are active: [`LiveIndex`] finds a file by path and deletion vector among them,
//! and hands out each one once, to its newest `add`, the same `add` the snapshot's own replay
//! kept (newest first, last line of a commit first). Reading stops as soon as every active
//! file is found, and fails the checkpoint if one is never found.
//!
//! Memory: the index (8 to 16 bytes a file, plus a bit), the commit files fetched ahead
//! (two), the commit being parsed and the batches in the channels. It never decides the
//! checkpoint's content beyond the files' rows; it never writes.

use std::hash::{BuildHasher, RandomState};

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray, StructArray};
use arrow_select::filter::filter_record_batch;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use tarn_protocol::actions::dv_unique_id;
use tarn_protocol::log_path::{CheckpointFormat, CheckpointName, LogFileKind, Version};
use tarn_protocol::log_segment::Listed;

use super::parquet::PartAdds;
use super::read::{corrupt, sidecar_path};
use crate::actions_json::{FileAction, ParsedActions, parse_actions};
use crate::error::{LogError, LogResult};
use crate::files::{ActiveFiles, BatchKeys};
use crate::location::TableLocation;
use crate::segment::LogFile;
use crate::snapshot::Snapshot;

/// Commit files fetched at once, ahead of the parser.
const COMMIT_CONCURRENCY: usize = 2;
/// An empty slot of the index.
const EMPTY: u32 = u32::MAX;

/// What the file stream sends to the checkpoint's producer.
pub(super) enum FileMessage {
    /// `add` rows of active files, canonical file schema, JSON stats included.
    Files(RecordBatch),
    /// Every active file was sent.
    End,
}

/// Where the file stream sends to.
pub(super) type FileSender = tokio::sync::mpsc::Sender<LogResult<FileMessage>>;

/// The key columns of one batch of the snapshot's files.
struct Keys {
    path: StringArray,
    /// The deletion vector struct, only for batches where some file has one.
    dv: Option<StructArray>,
}

impl Keys {
    fn dv_id(&self, row: usize) -> Option<String> {
        let dv = self.dv.as_ref().filter(|dv| dv.is_valid(row))?;
        let offsets = dv.column(2).as_primitive::<Int32Type>();
        Some(dv_unique_id(
            dv.column(0).as_string::<i32>().value(row),
            dv.column(1).as_string::<i32>().value(row),
            offsets.is_valid(row).then(|| offsets.value(row)),
        ))
    }
}

/// The snapshot's active files by logical-file key (path and deletion vector id): an
/// open-addressing table of file ordinals, and which files were already handed out.
pub(super) struct LiveIndex {
    keys: Vec<Keys>,
    /// The ordinal of each batch's first file.
    starts: Vec<usize>,
    slots: Vec<u32>,
    claimed: Vec<u64>,
    unclaimed: usize,
    hasher: RandomState,
}

impl LiveIndex {
    /// Indexes the files. Fails only for more files than a `u32` counts.
    pub(super) fn new(files: &ActiveFiles) -> Result<Self, String> {
        let len = files.len();
        if u32::try_from(len).map_or(true, |n| n == EMPTY) {
            return Err(format!(
                "{len} active files are more than a checkpoint index holds"
            ));
        }
        let mut keys = Vec::new();
        let mut starts = Vec::new();
        let mut start = 0;
        for batch in files.batches() {
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| format!("the snapshot's files have no `{name}` column"))
            };
            let path = column("path")?.as_string::<i32>().clone();
            let dv = column("deletionVector")?.as_struct().clone();
            let dv = (dv.null_count() < dv.len()).then_some(dv);
            starts.push(start);
            start += batch.num_rows();
            keys.push(Keys { path, dv });
        }
        let capacity = (len.max(8) * 2).next_power_of_two();
        let mut index = Self {
            keys,
            starts,
            slots: vec![EMPTY; capacity],
            claimed: vec![0; len.div_ceil(64)],
            unclaimed: len,
            hasher: RandomState::new(),
        };
        let mask = capacity - 1;
        for (batch, keys) in index.keys.iter().enumerate() {
            for row in 0..keys.path.len() {
                let ordinal = index.starts[batch] + row;
                let mut slot = (index.hasher.hash_one(keys.path.value(row)) as usize) & mask;
                while index.slots[slot] != EMPTY {
                    slot = (slot + 1) & mask;
                }
                // Fits: checked against u32 above.
                index.slots[slot] = ordinal as u32;
            }
        }
        Ok(index)
    }

    /// Active files not handed out yet.
    pub(super) fn unclaimed(&self) -> usize {
        self.unclaimed
    }

    /// Whether `(path, dv_id)` is an active file not handed out yet; hands it out if so.
    pub(super) fn claim(&mut self, path: &str, dv_id: Option<&str>) -> bool {
        let mask = self.slots.len() - 1;
        let mut slot = (self.hasher.hash_one(path) as usize) & mask;
        loop {
            let ordinal = self.slots[slot];
            if ordinal == EMPTY {
                return false;
            }
            let ordinal = ordinal as usize;
            let batch = self.starts.partition_point(|start| *start <= ordinal) - 1;
            let row = ordinal - self.starts[batch];
            let keys = &self.keys[batch];
            if keys.path.value(row) == path && keys.dv_id(row).as_deref() == dv_id {
                let (word, bit) = (ordinal / 64, 1_u64 << (ordinal % 64));
                if self.claimed[word] & bit != 0 {
                    return false;
                }
                self.claimed[word] |= bit;
                self.unclaimed -= 1;
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// What the fetcher hands the parser thread.
enum Raw {
    /// A commit file's bytes, to parse.
    Commit {
        version: Version,
        path: String,
        bytes: bytes::Bytes,
    },
    /// `add` rows of a checkpoint file (canonical file schema, stats kept).
    Adds(RecordBatch),
    /// Fetching stopped on this error.
    Failed(LogError),
}

/// Reads the snapshot's files with their statistics from its log segment and sends them, then
/// [`FileMessage::End`]; or sends the error that stopped it.
///
/// Two stages: this task fetches the segment's files (commits newest first, two at a time,
/// then the checkpoint's `add` rows, decoded as they are read), and one blocking thread parses
/// the commits, claims their `add`s in the index and sends the claimed rows on. One thread
/// does all the parsing, so the large short-lived buffers of parsed commits come from one
/// allocator arena, not one per thread of the blocking pool. The parser stops once every
/// active file is claimed, which stops the fetcher.
pub(super) async fn stream_files(snapshot: &Snapshot, shown: &str, tx: FileSender) {
    let (raw_tx, raw_rx) = tokio::sync::mpsc::channel::<Raw>(1);
    let files = snapshot.files().clone();
    let version = snapshot.version();
    let path = shown.to_owned();
    let parser =
        tokio::task::spawn_blocking(move || parse_files(&files, raw_rx, &tx, version, path));
    if let Err(err) = fetch_files(snapshot, &raw_tx).await {
        // The parser is gone only if it already finished or failed.
        let _ = raw_tx.send(Raw::Failed(err)).await;
    }
    drop(raw_tx);
    // A parser that panicked dropped its sender without `End`: the producer reports it.
    let _ = parser.await;
}

/// The parser thread: claims every active file's newest `add` and sends the claimed rows, then
/// [`FileMessage::End`], or the error that stopped it.
fn parse_files(
    files: &ActiveFiles,
    mut raw: tokio::sync::mpsc::Receiver<Raw>,
    tx: &FileSender,
    version: Version,
    shown: String,
) {
    let outcome = claim_files(files, &mut raw, tx, version, &shown);
    // Stops the fetcher.
    drop(raw);
    let message = match outcome {
        Ok(true) => Ok(FileMessage::End),
        Ok(false) => return,
        Err(err) => Err(err),
    };
    // The receiver is gone only if the write already failed.
    let _ = tx.blocking_send(message);
}

/// `Ok(false)` when the producer is gone.
fn claim_files(
    files: &ActiveFiles,
    raw: &mut tokio::sync::mpsc::Receiver<Raw>,
    tx: &FileSender,
    version: Version,
    shown: &str,
) -> LogResult<bool> {
    let mut index = LiveIndex::new(files).map_err(|reason| LogError::CheckpointWrite {
        version,
        path: shown.to_owned(),
        reason,
    })?;
    while index.unclaimed() > 0 {
        let (files, keep) = match raw.blocking_recv() {
            None => {
                return Err(LogError::CheckpointWrite {
                    version,
                    path: shown.to_owned(),
                    reason: format!(
                        "{} active files have no add action in the log segment of version \
                         {version}",
                        index.unclaimed()
                    ),
                });
            }
            Some(Raw::Failed(err)) => return Err(err),
            Some(Raw::Commit {
                version: commit,
                path,
                bytes,
            }) => {
                let actions = parse_actions(&bytes, true).map_err(|e| LogError::CorruptCommit {
                    version: commit,
                    path,
                    reason: e.to_string(),
                })?;
                drop(bytes);
                let keys = BatchKeys::new(&actions.adds);
                let mut keep = vec![false; actions.adds.num_rows()];
                // Newest line first, as the snapshot's replay.
                for action in actions.file_actions.iter().rev() {
                    if let FileAction::Add(row) = action {
                        keep[*row] = index.claim(keys.path(*row), keys.dv_id(*row).as_deref());
                    }
                }
                (actions.adds, keep)
            }
            Some(Raw::Adds(files)) => {
                let keys = BatchKeys::new(&files);
                let keep = (0..files.num_rows())
                    .map(|row| index.claim(keys.path(row), keys.dv_id(row).as_deref()))
                    .collect();
                (files, keep)
            }
        };
        let mask = BooleanArray::from(keep);
        let files = match mask.true_count() {
            0 => continue,
            n if n == files.num_rows() => files,
            _ => filter_record_batch(&files, &mask).map_err(|e| LogError::Task {
                reason: format!("filtering checkpoint files: {e}"),
            })?,
        };
        if tx.blocking_send(Ok(FileMessage::Files(files))).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Fetches the segment's commits (newest first) and its checkpoint's `add` rows for the
/// parser, until it stops taking them.
async fn fetch_files(snapshot: &Snapshot, raw: &tokio::sync::mpsc::Sender<Raw>) -> LogResult<()> {
    let location = snapshot.location().as_ref();
    let segment = snapshot.segment();
    let version = snapshot.version();
    // Owned items: a closure over references would make the future not `Send` for every
    // lifetime.
    let commits: Vec<Listed<LogFile>> = segment
        .commits
        .iter()
        .filter(|c| c.name.version <= version)
        .rev()
        .cloned()
        .collect();
    let mut fetched = futures::stream::iter(commits)
        .map(|commit| async move {
            let bytes = get_bytes(location, &commit.file.path).await?;
            Ok::<_, LogError>(Raw::Commit {
                version: commit.name.version,
                path: location.display_path(&commit.file.path),
                bytes,
            })
        })
        .buffered(COMMIT_CONCURRENCY);
    while let Some(commit) = fetched.try_next().await? {
        if raw.send(commit).await.is_err() {
            return Ok(());
        }
    }
    drop(fetched);
    let Some(checkpoint) = &segment.checkpoint else {
        return Ok(());
    };
    let mut sidecars = Vec::new();
    for part in &checkpoint.parts {
        let json = matches!(
            &part.name.kind,
            LogFileKind::Checkpoint(CheckpointName::V2 {
                format: CheckpointFormat::Json,
                ..
            })
        );
        if json {
            let actions =
                read_json_checkpoint(location, checkpoint.version, &part.file.path).await?;
            sidecars.extend(actions.sidecars.iter().cloned());
            if raw.send(Raw::Adds(actions.adds)).await.is_err() {
                return Ok(());
            }
        } else {
            let mut adds = PartAdds::open(
                location,
                checkpoint.version,
                &part.file.path,
                part.file.size,
                true,
            )
            .await?;
            while let Some(files) = adds.next().await? {
                if raw.send(Raw::Adds(files)).await.is_err() {
                    return Ok(());
                }
            }
            sidecars.extend(adds.take_sidecars());
        }
    }
    for sidecar in sidecars {
        let path = sidecar_path(location, &sidecar.path)?;
        let size = location
            .store()
            .head(&path)
            .await
            .map_err(|e| LogError::storage(location.display_path(&path), e))?
            .size;
        let mut adds = PartAdds::open(location, checkpoint.version, &path, size, false).await?;
        while let Some(files) = adds.next().await? {
            if raw.send(Raw::Adds(files)).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
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

/// Fetches and parses a JSON (V2) checkpoint file, statistics kept.
async fn read_json_checkpoint(
    location: &TableLocation,
    version: Version,
    path: &Path,
) -> LogResult<ParsedActions> {
    let bytes = get_bytes(location, path).await?;
    tokio::task::spawn_blocking(move || parse_actions(&bytes, true))
        .await?
        .map_err(|e| corrupt(version, &location.display_path(path), e))
}
