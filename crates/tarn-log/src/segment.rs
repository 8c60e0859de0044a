//! Finding the log files that define a version: listing `_delta_log`, using the
//! `_last_checkpoint` hint to start the listing late, and verifying the hint against what is
//! actually there.
//!
//! The hint only ever saves work. A missing, stale or corrupt hint, or one that names a
//! checkpoint that is not there (or is incomplete), falls back to a full listing; the choice of
//! checkpoint and commits is always made from the listing by
//! [`tarn_protocol::log_segment::plan_segment`].

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Deserialize;
use tarn_protocol::log_path::{LAST_CHECKPOINT, LogFileName, Version};
use tarn_protocol::log_segment::{CheckpointPlan, Listed, SegmentError, plan_segment};

use crate::error::{LogError, LogResult};
use crate::location::TableLocation;

/// A file in `_delta_log` as listed: where it is, how big, when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Path in the store.
    pub path: Path,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time reported by the store.
    pub last_modified: DateTime<Utc>,
}

/// The files that define one version of a table.
#[derive(Debug, Clone)]
pub struct LogSegment {
    /// The version the segment reconstructs.
    pub version: Version,
    /// The checkpoint the replay starts from, if any.
    pub checkpoint: Option<CheckpointPlan<LogFile>>,
    /// Commits after the checkpoint up to `version`, ascending and contiguous.
    pub commits: Vec<Listed<LogFile>>,
    /// The commit file of `version` itself, when listed (also when the checkpoint is at
    /// `version` and no commit needs replaying).
    pub version_commit: Option<Listed<LogFile>>,
    /// The earliest version reconstructable from the files listed. A listing that started at
    /// the `_last_checkpoint` hint sees nothing older, so this is a lower bound only when the
    /// whole log was listed.
    pub earliest_version: Version,
    /// The newest version in the log when it was listed.
    pub latest_version: Version,
}

/// The `_last_checkpoint` file (PROTOCOL.md, "Last Checkpoint File Schema"). Only the fields
/// tarn uses are read; the rest is ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastCheckpointHint {
    /// The version of the last checkpoint.
    pub version: Version,
    /// Number of actions in the checkpoint.
    #[serde(default)]
    pub size: Option<i64>,
    /// Number of parts of a multi-part checkpoint.
    #[serde(default)]
    pub parts: Option<u32>,
}

/// Reads `_last_checkpoint`. A missing or unreadable hint is `None` (logged), never an error:
/// the log is correct without it.
pub async fn read_last_checkpoint(location: &TableLocation) -> Option<LastCheckpointHint> {
    let path = location.log_file(LAST_CHECKPOINT);
    let bytes = match location.store().get(&path).await {
        Ok(result) => match result.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::warn!(%path, %err, "cannot read _last_checkpoint; listing the whole log");
                return None;
            }
        },
        Err(object_store::Error::NotFound { .. }) => return None,
        Err(err) => {
            tracing::warn!(%path, %err, "cannot read _last_checkpoint; listing the whole log");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(hint) => Some(hint),
        Err(err) => {
            tracing::warn!(%path, %err, "corrupt _last_checkpoint; listing the whole log");
            None
        }
    }
}

/// Lists the protocol files directly under `_delta_log` whose version is at least `from`,
/// sorted by name (version, then kind).
pub async fn list_log(location: &TableLocation, from: Version) -> LogResult<Vec<Listed<LogFile>>> {
    let log_dir = location.log_dir();
    let store = location.store();
    let stream = if from == 0 {
        store.list(Some(&log_dir))
    } else {
        // Keys sort by their zero-padded version; `~` sorts after every suffix of version
        // `from - 1`, so the listing starts at the first file of version `from`.
        let offset = log_dir.clone().join(format!("{:020}.~", from - 1).as_str());
        store.list_with_offset(Some(&log_dir), &offset)
    };
    let depth = log_dir.parts().count() + 1;
    let metas: Vec<object_store::ObjectMeta> = match stream.try_collect().await {
        Ok(metas) => metas,
        Err(err) => {
            // A local table path that is a file fails to list with ENOTDIR: say what it is.
            if let Some(reason) = local_not_a_directory(location) {
                return Err(LogError::NotATable {
                    location: location.to_string(),
                    reason,
                });
            }
            return Err(LogError::storage(location.display_path(&log_dir), err));
        }
    };
    let mut files: Vec<Listed<LogFile>> = metas
        .into_iter()
        .filter(|meta| meta.location.parts().count() == depth)
        .filter_map(|meta| {
            let name = LogFileName::parse(meta.location.filename()?)?;
            (name.version >= from).then_some(Listed {
                name,
                file: LogFile {
                    path: meta.location,
                    size: meta.size,
                    last_modified: meta.last_modified,
                },
            })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Lists the log and builds the segment for `target` (the latest version when `None`).
pub async fn load_segment(
    location: &TableLocation,
    target: Option<Version>,
) -> LogResult<LogSegment> {
    let hint = read_last_checkpoint(location).await;
    let start = hint
        .as_ref()
        .map(|h| h.version)
        .filter(|v| target.is_none_or(|t| *v <= t));
    if let Some(start) = start {
        let files = list_log(location, start).await?;
        if let Ok(plan) = plan_segment(&files, target)
            && plan.checkpoint.as_ref().is_some_and(|c| c.version >= start)
        {
            return Ok(into_segment(plan));
        }
        tracing::info!(
            hint = start,
            "_last_checkpoint names a checkpoint that is missing or incomplete; listing the whole log"
        );
    }
    let files = list_log(location, 0).await?;
    plan_segment(&files, target)
        .map(into_segment)
        .map_err(|err| segment_error(location, err))
}

fn into_segment(plan: tarn_protocol::log_segment::SegmentPlan<LogFile>) -> LogSegment {
    LogSegment {
        version: plan.version,
        checkpoint: plan.checkpoint,
        commits: plan.commits,
        version_commit: plan.version_commit,
        earliest_version: plan.earliest_version,
        latest_version: plan.latest_version,
    }
}

pub(crate) fn segment_error(location: &TableLocation, err: SegmentError) -> LogError {
    let location_text = location.to_string();
    match err {
        SegmentError::Empty => LogError::NotATable {
            reason: not_a_table_reason(location),
            location: location_text,
        },
        SegmentError::VersionNotFound {
            requested,
            earliest,
            latest,
        } => LogError::VersionNotFound {
            location: location_text,
            requested,
            earliest,
            latest,
        },
        SegmentError::MissingVersion { missing, target } => LogError::MissingVersion {
            location: location_text,
            missing,
            target,
        },
        SegmentError::NoStartingPoint { oldest_commit } => LogError::NotATable {
            location: location_text,
            reason: format!(
                "the log starts at version {oldest_commit} and has no checkpoint to start from"
            ),
        },
    }
}

/// For a local table whose path (or `_delta_log`) exists but is not a directory, says so.
fn local_not_a_directory(location: &TableLocation) -> Option<String> {
    let path = location.url().to_file_path().ok()?;
    if path.exists() && !path.is_dir() {
        return Some("the path is a file, not a directory".to_owned());
    }
    let log = path.join(tarn_protocol::log_path::LOG_DIR);
    (log.exists() && !log.is_dir()).then(|| "_delta_log is a file, not a directory".to_owned())
}

/// Explains an empty listing as precisely as the store allows.
fn not_a_table_reason(location: &TableLocation) -> String {
    if location.url().scheme() == "file"
        && let Ok(path) = location.url().to_file_path()
    {
        if !path.exists() {
            return "the path does not exist".to_owned();
        }
        if !path.is_dir() {
            return "the path is a file, not a directory".to_owned();
        }
        if !path.join(tarn_protocol::log_path::LOG_DIR).is_dir() {
            return "no _delta_log directory".to_owned();
        }
    }
    "no commit or checkpoint in _delta_log".to_owned()
}
