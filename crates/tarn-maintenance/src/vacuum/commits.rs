//! Reading the tombstones committed since the last vacuum.
//!
//! Commits are read newest first, a few at a time, until the last `VACUUM END` that tarn
//! recorded with [`VACUUMED_THROUGH_METRIC`](super::VACUUMED_THROUGH_METRIC), then on down to
//! the version after the one it names; without one, down to the oldest commit in the log.
//! So a vacuum reads what was committed since the previous one, whatever the table's size.

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use tarn::log::segment::list_log;
use tarn::protocol::actions::{Action, CommitInfo, parse_commit_actions};
use tarn::protocol::log_path::LogFileKind;
use tarn::{PathResolver, TableLocation, Version};

use super::plan::CommittedRemove;
use super::{VACUUMED_THROUGH_METRIC, deletion_vector_in_table, in_table};
use crate::error::{MaintenanceError, Result};

/// Commit files read at once.
const READ_CONCURRENCY: usize = 16;

/// The tombstones found, and how far back they go.
#[derive(Debug)]
pub(super) struct CommitScan {
    /// The removes (and the deletion vector files they drop) of the commits read, inside the
    /// table's root.
    pub(super) removes: Vec<CommittedRemove>,
    /// The oldest version read.
    pub(super) from: Version,
    /// The `vacuumedThroughVersion` of the last vacuum, if one was found.
    pub(super) previous_through: Option<Version>,
}

/// Reads the removes of the commits after the last vacuum, up to `latest`.
pub(super) async fn read_removes(
    location: &TableLocation,
    resolver: &PathResolver,
    latest: Version,
) -> Result<CommitScan> {
    let listed = list_log(location, 0).await?;
    let mut commits: Vec<(Version, object_store::path::Path)> = listed
        .into_iter()
        .filter(|f| f.name.kind == LogFileKind::Commit && f.name.version <= latest)
        .map(|f| (f.name.version, f.file.path))
        .collect();
    commits.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    let oldest = commits.last().map_or(latest, |(version, _)| *version);
    let mut reads = futures::stream::iter(commits)
        .map(|(version, path)| read_actions(location, version, path, &["remove", "commitInfo"]))
        .buffered(READ_CONCURRENCY);
    let mut removes = Vec::new();
    let mut previous_through = None;
    let mut from = oldest;
    while let Some((version, actions)) = reads.try_next().await? {
        if let Some(through) = previous_through
            && version <= through
        {
            break;
        }
        from = version;
        for action in actions {
            match action {
                Action::Remove(remove) => {
                    let found = |path| CommittedRemove {
                        version,
                        path,
                        deletion_timestamp: remove.deletion_timestamp,
                        size: None,
                    };
                    // A path that does not parse names nothing vacuum may delete.
                    if let Ok(Some(path)) = in_table(resolver, &remove.path) {
                        let mut file = found(path);
                        file.size = remove.size.and_then(|s| u64::try_from(s).ok());
                        removes.push(file);
                    }
                    if let Some(dv) = &remove.deletion_vector
                        && let Ok(Some(path)) = deletion_vector_in_table(resolver, dv)
                    {
                        removes.push(found(path));
                    }
                }
                Action::CommitInfo(info) if previous_through.is_none() => {
                    previous_through = vacuumed_through(&info);
                }
                _ => {}
            }
        }
    }
    Ok(CommitScan {
        removes,
        from,
        previous_through,
    })
}

/// The actions of types `kinds` of the commit file of `version`; the other lines (the adds
/// and their statistics, most of the bytes, when only removes matter) are never decoded.
async fn read_actions(
    location: &TableLocation,
    version: Version,
    path: object_store::path::Path,
    kinds: &'static [&'static str],
) -> Result<(Version, Vec<Action>)> {
    let storage = |source| MaintenanceError::Storage {
        operation: "reading",
        path: location.display_path(&path),
        source,
    };
    let bytes = location
        .store()
        .get(&path)
        .await
        .map_err(storage)?
        .bytes()
        .await
        .map_err(storage)?;
    let shown = location.display_path(&path);
    // Decoded on a blocking thread: the commits read at once decode on as many cores.
    let parsed = tokio::task::spawn_blocking(move || {
        std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| parse_commit_actions(text, kinds).map_err(|e| e.to_string()))
    })
    .await
    .map_err(|e| corrupt(version, shown.clone(), &e))?;
    let actions = parsed.map_err(|e| corrupt(version, shown, &e))?;
    Ok((version, actions))
}

/// The `vacuumedThroughVersion` of a completed `VACUUM END` commit tarn recorded.
fn vacuumed_through(info: &CommitInfo) -> Option<Version> {
    if info.operation.as_deref() != Some("VACUUM END") {
        return None;
    }
    let completed = info
        .operation_parameters
        .as_ref()
        .and_then(|p| p.get("status"))
        .and_then(|s| s.as_str())
        == Some("COMPLETED");
    let through = info
        .operation_metrics
        .as_ref()?
        .get(VACUUMED_THROUGH_METRIC)?
        .as_str()?
        .parse()
        .ok()?;
    completed.then_some(through)
}

fn corrupt(version: Version, path: String, reason: &dyn std::fmt::Display) -> MaintenanceError {
    MaintenanceError::Tarn(tarn::Error::Log(tarn::LogError::CorruptCommit {
        version,
        path,
        reason: reason.to_string(),
    }))
}

/// The files (and deletion vector files) the commits after `after` add, inside the table's
/// root.
pub(super) async fn read_adds(
    location: &TableLocation,
    resolver: &PathResolver,
    after: Version,
) -> Result<std::collections::HashSet<object_store::path::Path>> {
    let listed = list_log(location, after + 1).await?;
    let commits: Vec<(Version, object_store::path::Path)> = listed
        .into_iter()
        .filter(|f| f.name.kind == LogFileKind::Commit)
        .map(|f| (f.name.version, f.file.path))
        .collect();
    let mut added = std::collections::HashSet::new();
    let mut reads = futures::stream::iter(commits)
        .map(|(version, path)| read_actions(location, version, path, &["add"]))
        .buffered(READ_CONCURRENCY);
    while let Some((_, actions)) = reads.try_next().await? {
        for action in actions {
            if let Action::Add(add) = action {
                if let Ok(Some(path)) = in_table(resolver, &add.path) {
                    added.insert(path);
                }
                if let Some(dv) = &add.deletion_vector
                    && let Ok(Some(path)) = deletion_vector_in_table(resolver, dv)
                {
                    added.insert(path);
                }
            }
        }
    }
    Ok(added)
}
