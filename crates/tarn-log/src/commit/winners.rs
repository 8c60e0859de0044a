//! Reading the commits that landed after the version a transaction read: recognising our own
//! commit by `txnId`, and running the conflict rules on everyone else's.

use bytes::Bytes;
use object_store::ObjectStoreExt;
use tarn_protocol::actions::{Action, parse_commit};
use tarn_protocol::conflict::{
    ConflictReason, ReadPredicate, TransactionFootprint, WinningCommit, check_conflict,
};
use tarn_protocol::log_path::Version;
use tarn_protocol::row_tracking::parse_high_water_mark;

use crate::error::{LogError, LogResult};
use crate::local_store::NotARegularFile;
use crate::location::TableLocation;

/// Commits larger than this are parsed on a blocking thread.
const PARSE_INLINE_LIMIT: usize = 256 * 1024;

/// How reading forward ended.
pub(super) enum CatchUp {
    /// At the first version with no commit file.
    Free,
    /// At our own commit.
    Own(Version),
    /// Creating a table, and version 0 is someone else's.
    Exists,
    /// At a commit that conflicts.
    Conflict(Version, ConflictReason),
    /// At a commit that cannot be parsed.
    Corrupt(LogError),
    /// At a storage error (worth retrying).
    Storage(LogError),
}

/// The result of reading forward.
pub(super) struct Caught {
    /// Versions found holding other writers' commits that do not conflict, ascending.
    pub(super) others: Vec<Version>,
    /// The highest row id high water mark those commits set (read only when asked for).
    pub(super) high_water_mark: Option<i64>,
    /// Why reading stopped.
    pub(super) end: CatchUp,
}

/// Reads commits from `from` on until a version is missing, our own commit (`txn_id`) is
/// found, or a commit conflicts with `footprint`. `footprint` is `None` when creating the
/// table, where any other commit at version 0 means the table exists. With
/// `track_row_ids`, the row id high water marks the other commits set are read too (one
/// that does not parse stops the reading as a corrupt commit: ids assigned past it could
/// collide).
pub(super) async fn catch_up(
    location: &TableLocation,
    from: Version,
    txn_id: &str,
    footprint: Option<&TransactionFootprint>,
    reads: &(dyn ReadPredicate + Sync),
    track_row_ids: bool,
) -> Caught {
    let mut others = Vec::new();
    let mut high_water_mark: Option<i64> = None;
    let mut version = from;
    let end = loop {
        let actions = match read_commit_actions(location, version).await {
            Ok(Some(actions)) => actions,
            Ok(None) => break CatchUp::Free,
            Err(error @ LogError::CorruptCommit { .. }) => break CatchUp::Corrupt(error),
            Err(error) => break CatchUp::Storage(error),
        };
        let winner = WinningCommit::from_actions(version, actions);
        if winner.txn_id.as_deref() == Some(txn_id) {
            break CatchUp::Own(version);
        }
        let Some(footprint) = footprint else {
            break CatchUp::Exists;
        };
        if let Err(reason) = check_conflict(footprint, reads, &winner) {
            break CatchUp::Conflict(version, reason);
        }
        if track_row_ids && let Some(configuration) = &winner.row_tracking_configuration {
            match parse_high_water_mark(configuration) {
                Ok(mark) => high_water_mark = Some(high_water_mark.map_or(mark, |m| m.max(mark))),
                Err(error) => {
                    break CatchUp::Corrupt(LogError::CorruptCommit {
                        version,
                        path: location.display_path(&location.commit_file(version)),
                        reason: error.to_string(),
                    });
                }
            }
        }
        others.push(version);
        version += 1;
    };
    Caught {
        others,
        high_water_mark,
        end,
    }
}

/// The actions of a version's commit file, `None` if it does not exist.
async fn read_commit_actions(
    location: &TableLocation,
    version: Version,
) -> LogResult<Option<Vec<Action>>> {
    let path = location.commit_file(version);
    let bytes: Bytes = match location.store().get(&path).await {
        Ok(result) => result
            .bytes()
            .await
            .map_err(|e| LogError::storage(location.display_path(&path), e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        // Something holds the version but cannot be read as a commit: never commit past it.
        Err(e) if NotARegularFile::find(&e).is_some() => {
            return Err(LogError::CorruptCommit {
                version,
                path: location.display_path(&path),
                reason: e.to_string(),
            });
        }
        Err(e) => return Err(LogError::storage(location.display_path(&path), e)),
    };
    let large = bytes.len() > PARSE_INLINE_LIMIT;
    let parse = move || {
        std::str::from_utf8(&bytes)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|text| parse_commit(text).map_err(|e| e.to_string()))
    };
    let parsed = if large {
        tokio::task::spawn_blocking(parse).await?
    } else {
        parse()
    };
    parsed.map(Some).map_err(|reason| LogError::CorruptCommit {
        version,
        path: location.display_path(&path),
        reason,
    })
}

/// The actions of the commit file of `version`, in file order; `None` if the log holds no
/// commit file for it (not written yet, or cleaned up after a checkpoint). For callers that
/// need a commit's own actions rather than a snapshot: the files an archive run added, the
/// predicates of the deletes committed since (`tarn-maintenance`'s archive).
///
/// Errors: `CorruptCommit` naming the version and file when it does not parse (or is not a
/// regular file), storage errors naming the file.
pub async fn read_commit(
    location: &TableLocation,
    version: Version,
) -> LogResult<Option<Vec<Action>>> {
    read_commit_actions(location, version).await
}

/// The version of the commit whose `commitInfo.txnId` is `txn_id`, reading from `from` up to
/// the newest commit; `None` if no commit in that range has it. For a caller that got
/// [`LogError::CommitOutcomeUnknown`] and must find out whether its transaction landed
/// before running it again.
pub async fn find_commit_by_txn_id(
    location: &TableLocation,
    from: Version,
    txn_id: &str,
) -> LogResult<Option<Version>> {
    let mut version = from;
    while let Some(actions) = read_commit_actions(location, version).await? {
        let ours = actions.iter().any(|action| {
            matches!(action, Action::CommitInfo(info) if info.txn_id.as_deref() == Some(txn_id))
        });
        if ours {
            return Ok(Some(version));
        }
        version += 1;
    }
    Ok(None)
}
