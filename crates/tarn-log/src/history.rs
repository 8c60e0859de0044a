//! Table history: the commits of a table, newest first, with their provenance.

use futures::{StreamExt, TryStreamExt};
use tarn_protocol::actions::CommitInfo;
use tarn_protocol::log_path::Version;

use crate::error::{LogError, LogResult};
use crate::location::TableLocation;
use crate::segment::list_log;
use crate::timestamps::{CommitTimeline, read_commit_info};

/// How many commit files to read at once.
const HISTORY_CONCURRENCY: usize = 16;

/// One commit of the table's history.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitEntry {
    /// The commit's version.
    pub version: Version,
    /// When it was committed, in milliseconds since the epoch: the in-commit timestamp if the
    /// commit has one, else the (monotonic) modification time of the commit file.
    pub timestamp: i64,
    /// The commit's `commitInfo`, if the writer recorded one.
    pub commit_info: Option<CommitInfo>,
}

/// The commits still in the log, newest first, at most `limit` of them.
pub async fn history(
    location: &TableLocation,
    limit: Option<usize>,
) -> LogResult<Vec<CommitEntry>> {
    let files = list_log(location, 0).await?;
    let timeline = CommitTimeline::new(location, &files).await?;
    // A table whose commits were all cleaned up after a checkpoint has an empty history; a
    // directory with neither commits nor checkpoints is not a table.
    tarn_protocol::log_segment::plan_segment(&files, None)
        .map_err(|e| crate::segment::segment_error(location, e))?;
    let commits = crate::timestamps::file_time_timestamps(&files);
    let take = limit.unwrap_or(usize::MAX);
    let timeline = &timeline;
    futures::stream::iter(commits.into_iter().rev().take(take))
        .map(|(version, _, file)| async move {
            let commit_info = read_commit_info(location, version, file).await?;
            let timestamp = match commit_info.as_ref().and_then(|c| c.in_commit_timestamp) {
                Some(ict) => ict,
                None => timeline
                    .timestamp_of(location, version)
                    .await?
                    .unwrap_or_else(|| file.last_modified.timestamp_millis()),
            };
            Ok::<_, LogError>(CommitEntry {
                version,
                timestamp,
                commit_info,
            })
        })
        .buffered(HISTORY_CONCURRENCY)
        .try_collect()
        .await
}
