//! A table's files with their statistics, streamed from its log segment while a checkpoint is
//! written, so that they are never all in memory at once.
//!
//! Statistics are most of a snapshot's memory (for 1M files, ~330 of its ~450 MiB), so a
//! checkpoint does not load them: it reads the log segment again, newest commit first (each
//! commit's file actions last line first) and then its checkpoint, and sends each `add` that
//! defines an active file to the writer as soon as its commit is parsed. Which `add` that is
//! depends on what the caller knows ([`Liveness`]):
//!
//! - a snapshot loaded without statistics knows its active files: [`LiveIndex`] finds each
//!   `add` among them and hands each file out once, to its newest `add`, the one the
//!   snapshot's own replay kept; reading stops as soon as every file is found, and fails the
//!   checkpoint if one never is;
//! - without a snapshot, the stream is the replay: [`FileKeys`], its seen-set, keeps the
//!   newest action of each logical file, and remembers which files ended removed, for the
//!   tombstones.
//!
//! Memory: the index (8 to 16 bytes a file) or the seen-set (about 100 bytes a logical file),
//! the commit files fetched ahead (two), the commit being parsed and the batches in the
//! channels. It never decides the checkpoint's content beyond the files' rows; it never writes.

use arrow_array::{BooleanArray, RecordBatch};
use arrow_select::filter::filter_record_batch;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use tarn_protocol::log_path::{CheckpointFormat, CheckpointName, LogFileKind, Version};
use tarn_protocol::log_segment::Listed;

use super::index::LiveIndex;
use super::keys::FileKeys;
use super::parquet::PartAdds;
use super::read::{corrupt, sidecar_path};
use super::state::TableState;
use crate::actions_json::{FileAction, ParsedActions, parse_actions};
use crate::error::{LogError, LogResult};
use crate::files::{ActiveFiles, BatchKeys};
use crate::location::TableLocation;
use crate::segment::LogFile;

/// Commit files fetched at once, ahead of the parser.
const COMMIT_CONCURRENCY: usize = 2;

/// What the file stream sends to the checkpoint's producer.
pub(super) enum FileMessage {
    /// `add` rows of active files, canonical file schema, JSON stats included.
    Files(RecordBatch),
    /// Every active file was sent.
    End,
}

/// Where the file stream sends to.
pub(super) type FileSender = tokio::sync::mpsc::Sender<LogResult<FileMessage>>;

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

/// Which of the log's `add`s define the active files.
pub(super) enum Liveness {
    /// A snapshot's active files.
    Snapshot(ActiveFiles),
    /// The replay of the stream itself.
    Replay,
}

/// What the stream found, once every file was sent.
pub(super) struct Streamed {
    /// Active files sent.
    pub(super) files: u64,
    /// The replay's seen-set (for [`Liveness::Replay`]), for the tombstones.
    pub(super) keys: Option<FileKeys>,
}

/// Reads the table's active files, with their statistics when `keep_stats`, from the log
/// segment of `state` and sends them, then [`FileMessage::End`]; or sends the error that
/// stopped it (and returns `None`).
///
/// Two stages: this task fetches the segment's files (commits newest first, two at a time,
/// then the checkpoint's `add` rows, decoded as they are read), and one blocking thread parses
/// the commits, decides which `add`s define active files and sends those rows on. One thread
/// does all the parsing, so the large short-lived buffers of parsed commits come from one
/// allocator arena, not one per thread of the blocking pool. When the parser stops early (all
/// of a snapshot's files found), the fetcher stops too.
pub(super) async fn stream_files(
    state: &TableState,
    liveness: Liveness,
    keep_stats: bool,
    tx: FileSender,
) -> Option<Streamed> {
    let (raw_tx, raw_rx) = tokio::sync::mpsc::channel::<Raw>(1);
    let version = state.version();
    let shown = state.location().display_path(&state.location().log_file(
        &tarn_protocol::log_path::classic_checkpoint_file_name(version),
    ));
    let parser = tokio::task::spawn_blocking(move || {
        let mut parser = Parser {
            keep_stats,
            version,
            shown,
            sent: 0,
        };
        parser.run(liveness, raw_rx, &tx)
    });
    if let Err(err) = fetch_files(state, &raw_tx).await {
        // The parser is gone only if it already finished or failed.
        let _ = raw_tx.send(Raw::Failed(err)).await;
    }
    drop(raw_tx);
    // A parser that panicked dropped its sender without `End`: the producer reports it.
    parser.await.ok().flatten()
}

/// How the parser decides, per [`Liveness`].
enum Live {
    Index(LiveIndex),
    Replay(FileKeys),
}

impl Live {
    /// Which `add`s of a commit define active files, given its file actions.
    fn commit(&mut self, adds: &RecordBatch, actions: &[FileAction]) -> Vec<bool> {
        let keys = BatchKeys::new(adds);
        let mut keep = vec![false; adds.num_rows()];
        // Newest line first, as a snapshot's replay.
        for action in actions.iter().rev() {
            match (action, &mut *self) {
                (FileAction::Add(row), Live::Index(index)) => {
                    keep[*row] = index.claim(keys.path(*row), keys.dv_id(*row).as_deref());
                }
                (FileAction::Add(row), Live::Replay(seen)) => {
                    keep[*row] = seen.record(keys.path(*row), keys.dv_id(*row).as_deref(), true);
                }
                (FileAction::Remove { path, dv_id }, Live::Replay(seen)) => {
                    seen.record(path, dv_id.as_deref(), false);
                }
                (FileAction::Remove { .. }, Live::Index(_)) => {}
            }
        }
        keep
    }

    /// Which rows of a checkpoint (already reconciled) define active files.
    fn checkpoint(&mut self, adds: &RecordBatch) -> Vec<bool> {
        let keys = BatchKeys::new(adds);
        (0..adds.num_rows())
            .map(|row| {
                let (path, dv_id) = (keys.path(row), keys.dv_id(row));
                match self {
                    Live::Index(index) => index.claim(path, dv_id.as_deref()),
                    // Live unless a commit named the file.
                    Live::Replay(seen) => seen.is_unseen(path, dv_id.as_deref()),
                }
            })
            .collect()
    }

    /// Whether every active file was found (only a snapshot's index knows).
    fn complete(&self) -> bool {
        matches!(self, Live::Index(index) if index.unclaimed() == 0)
    }
}

/// The parser thread.
struct Parser {
    keep_stats: bool,
    version: Version,
    shown: String,
    sent: u64,
}

impl Parser {
    /// Sends the active files, then [`FileMessage::End`], or the error that stopped it.
    fn run(
        &mut self,
        liveness: Liveness,
        mut raw: tokio::sync::mpsc::Receiver<Raw>,
        tx: &FileSender,
    ) -> Option<Streamed> {
        let outcome = self.parse(liveness, &mut raw, tx);
        // Stops the fetcher.
        drop(raw);
        match outcome {
            Ok(Some(live)) => {
                // The receiver is gone only if the write already failed.
                tx.blocking_send(Ok(FileMessage::End)).ok()?;
                Some(Streamed {
                    files: self.sent,
                    keys: match live {
                        Live::Replay(seen) => Some(seen),
                        Live::Index(_) => None,
                    },
                })
            }
            Ok(None) => None,
            Err(err) => {
                let _ = tx.blocking_send(Err(err));
                None
            }
        }
    }

    /// `None` when the producer is gone.
    fn parse(
        &mut self,
        liveness: Liveness,
        raw: &mut tokio::sync::mpsc::Receiver<Raw>,
        tx: &FileSender,
    ) -> LogResult<Option<Live>> {
        let mut live = match liveness {
            Liveness::Snapshot(files) => {
                Live::Index(LiveIndex::new(&files).map_err(|reason| self.error(reason))?)
            }
            Liveness::Replay => Live::Replay(FileKeys::new()),
        };
        while !live.complete() {
            let (files, keep) = match raw.blocking_recv() {
                None => break,
                Some(Raw::Failed(err)) => return Err(err),
                Some(Raw::Commit {
                    version,
                    path,
                    bytes,
                }) => {
                    let actions = parse_actions(&bytes, self.keep_stats).map_err(|e| {
                        LogError::CorruptCommit {
                            version,
                            path,
                            reason: e.to_string(),
                        }
                    })?;
                    drop(bytes);
                    let keep = live.commit(&actions.adds, &actions.file_actions);
                    (actions.adds, keep)
                }
                Some(Raw::Adds(files)) => {
                    let keep = live.checkpoint(&files);
                    (files, keep)
                }
            };
            let mask = BooleanArray::from(keep);
            let kept = mask.true_count();
            let files = match kept {
                0 => continue,
                n if n == files.num_rows() => files,
                _ => filter_record_batch(&files, &mask).map_err(|e| LogError::Task {
                    reason: format!("filtering checkpoint files: {e}"),
                    source: Some(Box::new(e)),
                })?,
            };
            self.sent += kept as u64;
            if tx.blocking_send(Ok(FileMessage::Files(files))).is_err() {
                return Ok(None);
            }
        }
        if let Live::Index(index) = &live
            && index.unclaimed() > 0
        {
            return Err(self.error(format!(
                "{} active files have no add action in the log segment of version {}",
                index.unclaimed(),
                self.version
            )));
        }
        Ok(Some(live))
    }

    fn error(&self, reason: String) -> LogError {
        LogError::CheckpointWrite {
            version: self.version,
            path: self.shown.clone(),
            reason,
        }
    }
}

/// Fetches the segment's commits (newest first) and its checkpoint's `add` rows for the
/// parser, until it stops taking them.
async fn fetch_files(state: &TableState, raw: &tokio::sync::mpsc::Sender<Raw>) -> LogResult<()> {
    let location = state.location().as_ref();
    let segment = state.segment();
    let version = state.version();
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
        let path = sidecar_path(location, checkpoint.version, &sidecar.path)?;
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
