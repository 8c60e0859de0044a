//! Commit timestamps and time travel by timestamp (PROTOCOL.md, "In-Commit Timestamps").
//!
//! A version's timestamp is its `commitInfo.inCommitTimestamp` when the table had in-commit
//! timestamps enabled at that version, and otherwise the modification time of its commit file.
//! File modification times can go backwards (clock skew, copied tables), so like Spark's
//! history manager tarn makes them monotonic: a commit whose file time is not after its
//! predecessor's counts as one millisecond later. In-commit timestamps are monotonic by
//! protocol.
//!
//! In-commit timestamps are enabled from some version onwards; commits from then on carry the
//! timestamp in their first action. tarn finds that version by binary search over commit
//! files, so resolving a timestamp costs one listing plus O(log n) small reads.

use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;
use tarn_protocol::actions::CommitInfo;
use tarn_protocol::log_path::{LogFileKind, Version};
use tarn_protocol::log_segment::{Listed, plan_segment};

use crate::actions_json::parse_commit_info;
use crate::error::{LogError, LogResult};
use crate::location::TableLocation;
use crate::segment::{LogFile, list_log, segment_error};

/// Reads the `commitInfo` of one commit file.
pub(crate) async fn read_commit_info(
    location: &TableLocation,
    version: Version,
    file: &LogFile,
) -> LogResult<Option<CommitInfo>> {
    let bytes = location
        .store()
        .get(&file.path)
        .await
        .map_err(|e| LogError::storage(location.display_path(&file.path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(&file.path), e))?;
    parse_commit_info(&bytes).map_err(|e| LogError::CorruptCommit {
        version,
        path: location.display_path(&file.path),
        reason: e.to_string(),
    })
}

/// The commits of a listing, ascending, each with its monotonic file-time timestamp (ms).
pub(crate) fn file_time_timestamps(files: &[Listed<LogFile>]) -> Vec<(Version, i64, &LogFile)> {
    let mut out: Vec<(Version, i64, &LogFile)> = Vec::new();
    for file in files.iter().filter(|f| f.name.kind == LogFileKind::Commit) {
        let raw = file.file.last_modified.timestamp_millis();
        let adjusted = match out.last() {
            Some((_, previous, _)) if raw <= *previous => previous + 1,
            _ => raw,
        };
        out.push((file.name.version, adjusted, &file.file));
    }
    out
}

/// Timestamps of a table's commits, combining file times and in-commit timestamps.
pub(crate) struct CommitTimeline<'a> {
    /// Commits ascending with their file-time timestamps.
    commits: Vec<(Version, i64, &'a LogFile)>,
    /// Index into `commits` of the first commit with an in-commit timestamp, if any.
    ict_start: Option<usize>,
}

impl<'a> CommitTimeline<'a> {
    /// Builds the timeline of a listing, reading commit files to find where in-commit
    /// timestamps start.
    pub(crate) async fn new(
        location: &TableLocation,
        files: &'a [Listed<LogFile>],
    ) -> LogResult<Self> {
        let commits = file_time_timestamps(files);
        let ict_start = find_ict_start(location, &commits).await?;
        Ok(Self { commits, ict_start })
    }

    /// The timestamp (ms) of the commit at `index` in the timeline.
    async fn timestamp_at(&self, location: &TableLocation, index: usize) -> LogResult<i64> {
        let (version, file_time, file) = self.commits[index];
        if self.ict_start.is_some_and(|start| index >= start)
            && let Some(ict) = read_commit_info(location, version, file)
                .await?
                .and_then(|c| c.in_commit_timestamp)
        {
            return Ok(ict);
        }
        Ok(file_time)
    }

    /// The timestamp (ms) of a version, if it is in the timeline.
    pub(crate) async fn timestamp_of(
        &self,
        location: &TableLocation,
        version: Version,
    ) -> LogResult<Option<i64>> {
        match self.commits.binary_search_by_key(&version, |(v, _, _)| *v) {
            Ok(index) => Ok(Some(self.timestamp_at(location, index).await?)),
            Err(_) => Ok(None),
        }
    }

    /// The newest version at or after `earliest` whose timestamp is at or before `ts`.
    async fn latest_at_or_before(
        &self,
        location: &TableLocation,
        earliest: Version,
        ts: i64,
    ) -> LogResult<Option<Version>> {
        let first = self.commits.partition_point(|(v, _, _)| *v < earliest);
        let (mut lo, mut hi) = (first, self.commits.len());
        // Invariant: every index < lo is at or before ts; every index >= hi is after it.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp_at(location, mid).await? <= ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok((lo > first).then(|| self.commits[lo - 1].0))
    }
}

/// Finds the first commit with an in-commit timestamp, assuming (as the protocol does) that
/// once enabled they stay enabled: checks the newest commit, then binary-searches.
async fn find_ict_start(
    location: &TableLocation,
    commits: &[(Version, i64, &LogFile)],
) -> LogResult<Option<usize>> {
    let has_ict = |index: usize| async move {
        let (version, _, file) = commits[index];
        Ok::<bool, LogError>(
            read_commit_info(location, version, file)
                .await?
                .is_some_and(|c| c.in_commit_timestamp.is_some()),
        )
    };
    let Some(last) = commits.len().checked_sub(1) else {
        return Ok(None);
    };
    if !has_ict(last).await? {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0, last);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if has_ict(mid).await? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(Some(lo))
}

/// The timestamp of `version` as time travel and history see it: its in-commit timestamp, or
/// its commit file's time made monotonic over the whole log. `None` when the log holds no
/// commit file for the version (a table whose history before a checkpoint was cleaned up).
/// This lists the whole log; [`crate::Snapshot::timestamp`] is the cheap, unadjusted value.
pub async fn version_timestamp(
    location: &TableLocation,
    version: Version,
) -> LogResult<Option<DateTime<Utc>>> {
    let files = list_log(location, 0).await?;
    let timeline = CommitTimeline::new(location, &files).await?;
    Ok(timeline
        .timestamp_of(location, version)
        .await?
        .and_then(DateTime::from_timestamp_millis))
}

/// Every commit the log still holds, ascending, with its timestamp in milliseconds as history
/// and time travel see it (in-commit timestamp, or the commit file's time made monotonic over
/// the log). One listing; commit files are read only where in-commit timestamps are enabled.
pub async fn commit_timestamps(location: &TableLocation) -> LogResult<Vec<(Version, i64)>> {
    let files = list_log(location, 0).await?;
    let timeline = CommitTimeline::new(location, &files).await?;
    let mut out = Vec::with_capacity(timeline.commits.len());
    for index in 0..timeline.commits.len() {
        out.push((
            timeline.commits[index].0,
            timeline.timestamp_at(location, index).await?,
        ));
    }
    Ok(out)
}

/// The newest reconstructable version committed at or before `timestamp`.
pub async fn version_at_timestamp(
    location: &TableLocation,
    timestamp: DateTime<Utc>,
) -> LogResult<Version> {
    let files = list_log(location, 0).await?;
    let plan = plan_segment(&files, None).map_err(|e| segment_error(location, e))?;
    let timeline = CommitTimeline::new(location, &files).await?;
    let ts = timestamp.timestamp_millis();
    if let Some(version) = timeline
        .latest_at_or_before(location, plan.earliest_version, ts)
        .await?
    {
        return Ok(version);
    }
    let earliest_ts = timeline
        .timestamp_of(location, plan.earliest_version)
        .await?
        .and_then(DateTime::from_timestamp_millis)
        .or_else(|| {
            plan.checkpoint
                .as_ref()
                .and_then(|c| c.parts.first())
                .map(|p| p.file.last_modified)
        })
        .unwrap_or_default();
    Err(LogError::TimestampTooEarly {
        location: location.to_string(),
        requested: timestamp.to_rfc3339(),
        earliest: earliest_ts.to_rfc3339(),
        earliest_version: plan.earliest_version,
    })
}
