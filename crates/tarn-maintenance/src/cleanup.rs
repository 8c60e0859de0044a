//! Log cleanup: deleting the log files no version inside `delta.logRetentionDuration` needs.
//!
//! Every version committed inside the window (default 30 days) stays readable, and so does
//! the newest version committed before it, which time travel to any instant of the window may
//! resolve to: call it the oldest kept version `r`. Reading `r` needs a checkpoint at or before
//! it and the commits after that checkpoint, so the files that can go are those of versions
//! below the newest complete checkpoint `c <= r`: commits, checkpoints, checksums and log
//! compactions. When that checkpoint lies far below `r` (or there is none), a checkpoint of
//! `r` is written first, so that everything below `r` can go. Nothing goes whose own
//! modification time is inside the window, `_last_checkpoint` and directories under
//! `_delta_log` are never touched, and `delta.enableExpiredLogCleanup = false` turns it all
//! off. A table with detached files (its archive manifest) also keeps every commit from the
//! one that detached the oldest of them: `restore-archive` replays the deletes committed
//! since (spec/archive.md).
//!
//! [`LogCleanup::plan`] decides with the pure [`plan_log_cleanup`]; [`LogCleanup::execute`]
//! writes the checkpoint (if the plan says so), then deletes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use serde::Serialize;
use tarn::log::segment::{LogFile, list_log};
use tarn::protocol::log_path::LogFileKind;
use tarn::protocol::log_segment::{Listed, plan_segment};
use tarn::protocol::retention::Retention;
use tarn::{Table, Version};

use crate::error::{MaintenanceError, Result};

/// A checkpoint of the oldest kept version is written first when the newest checkpoint at or
/// before it is at least this many versions older (or there is none).
pub const CHECKPOINT_GAP: Version = 10;

/// A log file to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogDeletion {
    /// The file's name in `_delta_log`.
    pub name: String,
    /// Its path in the table's store.
    #[serde(skip)]
    pub path: Path,
    /// The version it belongs to.
    pub version: Version,
    /// Its size in bytes.
    pub size: u64,
}

/// What a log cleanup will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogCleanupPlan {
    /// The latest version when planned.
    pub version: Version,
    /// The time planned for, ms since the epoch.
    pub now_ms: i64,
    /// `delta.logRetentionDuration`, in ms.
    pub retention_ms: i64,
    /// `delta.enableExpiredLogCleanup`: when false, the plan does nothing.
    pub enabled: bool,
    /// The oldest version that stays readable (`None`: every version is inside the window).
    pub oldest_kept: Option<Version>,
    /// The first commit after the oldest detached file's detaching run read the table, kept
    /// (and every later one) for `restore-archive`, when it is older than the window's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_for_archive: Option<Version>,
    /// A checkpoint of this version is written before anything is deleted.
    pub write_checkpoint: Option<Version>,
    /// The checkpoint every deleted file is older than.
    pub keep_from_checkpoint: Option<Version>,
    /// The files to delete, oldest first.
    pub deletions: Vec<LogDeletion>,
}

impl LogCleanupPlan {
    /// Bytes the plan deletes.
    pub fn bytes_to_delete(&self) -> u64 {
        self.deletions.iter().map(|d| d.size).sum()
    }
}

/// What a log cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogCleanupMetrics {
    /// Files deleted (or already gone).
    pub files_deleted: usize,
    /// Bytes deleted.
    pub bytes_deleted: u64,
    /// The version of the checkpoint written first, if one was.
    pub checkpoint_written: Option<Version>,
}

/// The checkpoint to write first and the files to delete, for a listing of `_delta_log`
/// where `oldest_kept` must stay readable and files modified after `cutoff_ms` stay. See the
/// [module docs](self).
pub fn plan_log_cleanup(
    files: &[Listed<LogFile>],
    oldest_kept: Version,
    cutoff_ms: i64,
) -> (Option<Version>, Option<Version>, Vec<LogDeletion>) {
    let newest_checkpoint = plan_segment(files, Some(oldest_kept))
        .ok()
        .and_then(|segment| segment.checkpoint.map(|c| c.version));
    let write = match newest_checkpoint {
        Some(c) if c == oldest_kept || oldest_kept - c < CHECKPOINT_GAP => None,
        None if oldest_kept == 0 => None,
        _ => Some(oldest_kept),
    };
    let Some(keep_from) = write.or(newest_checkpoint) else {
        return (None, None, Vec::new());
    };
    let deletions = files
        .iter()
        .filter(|f| f.name.version < keep_from)
        .filter(|f| f.file.last_modified.timestamp_millis() <= cutoff_ms)
        .filter(|f| match f.name.kind {
            LogFileKind::Commit | LogFileKind::Checkpoint(_) | LogFileKind::Checksum => true,
            LogFileKind::CompactedCommits { end } => end < keep_from,
        })
        .filter_map(|f| {
            Some(LogDeletion {
                name: f.file.path.filename()?.to_owned(),
                path: f.file.path.clone(),
                version: f.name.version,
                size: f.file.size,
            })
        })
        .collect();
    (write, Some(keep_from), deletions)
}

/// Deletes expired log files. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct LogCleanup {
    table: Table,
    now_ms: Option<i64>,
}

impl LogCleanup {
    /// A cleanup of `table`'s log with its `delta.logRetentionDuration`.
    pub fn new(table: Table) -> Self {
        Self {
            table,
            now_ms: None,
        }
    }

    /// Plans for this time (ms since the epoch) instead of the clock's.
    pub fn with_now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// Decides what to delete; changes nothing.
    pub async fn plan(&self) -> Result<LogCleanupPlan> {
        let snapshot = self.table.snapshot().await?;
        tarn::protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())
            .map_err(tarn::Error::from)?;
        let retention =
            Retention::from_configuration(snapshot.properties()).map_err(tarn::Error::from)?;
        let now_ms = self.now_ms.unwrap_or_else(|| Utc::now().timestamp_millis());
        let mut plan = LogCleanupPlan {
            version: snapshot.version(),
            now_ms,
            retention_ms: retention.log_ms,
            enabled: retention.expired_log_cleanup,
            oldest_kept: None,
            kept_for_archive: None,
            write_checkpoint: None,
            keep_from_checkpoint: None,
            deletions: Vec::new(),
        };
        if !plan.enabled {
            return Ok(plan);
        }
        let cutoff_ms = retention.log_cutoff(now_ms);
        let location = snapshot.location();
        let Some(cutoff) = DateTime::<Utc>::from_timestamp_millis(cutoff_ms) else {
            return Ok(plan);
        };
        let mut oldest_kept = match tarn::log::version_at_timestamp(location, cutoff).await {
            Ok(version) => version.min(snapshot.version()),
            // Every version is newer than the cutoff: nothing has expired.
            Err(tarn::LogError::TimestampTooEarly { .. }) => return Ok(plan),
            Err(err) => return Err(err.into()),
        };
        // restore-archive reads the commits from the one that detached a file on.
        if let Some(needed) = crate::archive::oldest_commit_for_restore(&snapshot)?
            && needed < oldest_kept
        {
            oldest_kept = needed;
            plan.kept_for_archive = Some(needed);
        }
        let files = list_log(location, 0).await?;
        let (write, keep_from, deletions) = plan_log_cleanup(&files, oldest_kept, cutoff_ms);
        plan.oldest_kept = Some(oldest_kept);
        plan.write_checkpoint = write;
        plan.keep_from_checkpoint = keep_from;
        plan.deletions = deletions;
        Ok(plan)
    }

    /// Plans and executes the cleanup.
    pub async fn execute(self) -> Result<LogCleanupMetrics> {
        let plan = self.plan().await?;
        self.execute_plan(plan).await
    }

    /// Writes the plan's checkpoint, if any, then deletes its files. Nothing is deleted if
    /// the checkpoint cannot be written.
    pub async fn execute_plan(&self, plan: LogCleanupPlan) -> Result<LogCleanupMetrics> {
        let mut metrics = LogCleanupMetrics::default();
        let location = Arc::new(self.table.location().clone());
        if let Some(version) = plan.write_checkpoint {
            let snapshot =
                tarn::log::Snapshot::load_version(Arc::clone(&location), version).await?;
            let written = tarn::log::write_checkpoint(&snapshot).await?;
            metrics.checkpoint_written = Some(written.version);
        }
        let store = Arc::clone(location.store());
        let paths: Vec<Path> = plan.deletions.iter().map(|d| d.path.clone()).collect();
        let deleted: Vec<Path> = store
            .delete_stream(futures::stream::iter(paths).map(Ok).boxed())
            .map(|result| match result {
                Ok(path) => Ok(path),
                Err(object_store::Error::NotFound { path, .. }) => Ok(Path::from(path)),
                Err(source) => Err(MaintenanceError::Storage {
                    operation: "deleting log files of",
                    path: location.to_string(),
                    source,
                }),
            })
            .try_collect()
            .await?;
        metrics.files_deleted = deleted.len();
        metrics.bytes_deleted = plan.bytes_to_delete();
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn::protocol::log_path::LogFileName;

    const DAY: i64 = 24 * 3600 * 1000;

    fn listed(name: &str, modified_ms: i64) -> Listed<LogFile> {
        Listed {
            name: LogFileName::parse(name).unwrap(),
            file: LogFile {
                path: Path::from(format!("t/_delta_log/{name}")),
                size: 100,
                last_modified: DateTime::from_timestamp_millis(modified_ms).unwrap(),
            },
        }
    }

    fn commit(version: Version, modified_ms: i64) -> Listed<LogFile> {
        listed(&format!("{version:020}.json"), modified_ms)
    }

    fn checkpoint(version: Version, modified_ms: i64) -> Listed<LogFile> {
        listed(&format!("{version:020}.checkpoint.parquet"), modified_ms)
    }

    fn names(deletions: &[LogDeletion]) -> Vec<Version> {
        deletions.iter().map(|d| d.version).collect()
    }

    #[test]
    fn files_below_the_newest_checkpoint_at_or_before_the_oldest_kept_version_go() {
        // Commits 0..=24 a day apart; checkpoints at 10 and 20.
        let mut files: Vec<Listed<LogFile>> = (0..25).map(|v| commit(v, v as i64 * DAY)).collect();
        files.push(checkpoint(10, 10 * DAY));
        files.push(checkpoint(20, 20 * DAY));
        files.push(listed(&format!("{:020}.crc", 5), 5 * DAY));
        files.sort_by(|a, b| a.name.cmp(&b.name));
        // Version 15 must stay readable: checkpoint 10 and the commits after it stay.
        let (write, keep, deletions) = plan_log_cleanup(&files, 15, 15 * DAY);
        assert_eq!((write, keep), (None, Some(10)));
        assert_eq!(
            names(&deletions),
            (0..10)
                .flat_map(|v| if v == 5 { vec![5, 5] } else { vec![v] })
                .collect::<Vec<_>>()
        );
        // A file modified inside the window stays, whatever its version says.
        let mut late = files.clone();
        late[3] = commit(3, 30 * DAY);
        let (_, _, deletions) = plan_log_cleanup(&late, 15, 15 * DAY);
        assert!(!names(&deletions).contains(&3));
    }

    #[test]
    fn a_checkpoint_is_written_first_when_the_newest_is_far_below() {
        let files: Vec<Listed<LogFile>> = (0..40).map(|v| commit(v, v as i64 * DAY)).collect();
        // No checkpoint at all: one of version 35 is written, everything below it goes.
        let (write, keep, deletions) = plan_log_cleanup(&files, 35, 35 * DAY);
        assert_eq!((write, keep), (Some(35), Some(35)));
        assert_eq!(names(&deletions), (0..35).collect::<Vec<_>>());
        // A checkpoint a few versions below is good enough.
        let mut near = files.clone();
        near.push(checkpoint(30, 30 * DAY));
        near.sort_by(|a, b| a.name.cmp(&b.name));
        let (write, keep, _) = plan_log_cleanup(&near, 35, 35 * DAY);
        assert_eq!((write, keep), (None, Some(30)));
        // Nothing before version 0.
        assert_eq!(plan_log_cleanup(&files, 0, 0), (None, None, Vec::new()));
    }
}
