//! Commits: writing the next `_delta_log/<version>.json` so that exactly one writer gets
//! each version, and a transaction lands exactly once (spec/commit-protocol.md).
//!
//! A commit is a put-if-absent (`PutMode::Create`) of the commit file, on every store. When
//! another writer got the version first, the commit reads the winning commits, asks the pure
//! conflict rules ([`tarn_protocol::conflict::check_conflict`]) whether its actions still
//! hold on top of them, and retries at the next free version (rebase) after a jittered
//! exponential backoff. The bytes stay the same unless the table tracks rows: then each
//! attempt gives the new files row ids above the high water mark the winners left, and the
//! version it targets as their default row commit version (`tarn_protocol::row_tracking`). Every commit carries a `commitInfo.txnId`; a commit
//! file holding our own id is our commit, which is how a retry after an ambiguous failure (the
//! put landed but the client saw an error) reports success instead of committing twice.
//!
//! This module decides nothing about conflicts itself and never writes a version other than
//! the next free one. It must never write a commit twice: it only moves past a version after
//! seeing that version's file written by someone else, so at most one of its puts can land.

mod winners;

#[cfg(test)]
mod tests;

use futures::FutureExt;
use futures::future::BoxFuture;
use std::hash::BuildHasher;
use std::time::Duration;

use object_store::{PutMode, PutOptions, PutPayload};
use tarn_protocol::actions::{Action, format_commit};
use tarn_protocol::conflict::{ReadPredicate, TransactionFootprint};
use tarn_protocol::log_path::Version;
use tarn_protocol::row_tracking::RowIdAssigner;

use crate::error::{LogError, LogResult};
use crate::location::TableLocation;
use crate::segment::list_log;
use winners::{CatchUp, catch_up};
pub use winners::{find_commit_by_txn_id, read_commit};

/// How hard a commit tries before giving up.
///
/// The defaults never give up under ordinary contention: a lost race costs one attempt, and
/// after it the commit reads forward to the newest version, so it loses again only if another
/// writer commits in the moment between that read and its next put. 1,000 attempts with a
/// backoff capped at 1 s is far beyond what 8 processes x 50 appends need (a handful of
/// attempts each), while still ending a commit starved by a pathological number of writers.
/// Storage errors (after object_store's own retries) are counted separately: the store being
/// down should fail a commit in seconds, not after a thousand attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOptions {
    max_attempts: u32,
    max_store_errors: u32,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            max_attempts: 1_000,
            max_store_errors: 10,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl CommitOptions {
    /// The defaults: 1,000 attempts, 10 storage errors, backoff from 1 ms up to 1 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives up after this many writes of the commit file (at least 1).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// Gives up after this many storage errors from writes or reads of commit files.
    pub fn with_max_store_errors(mut self, max_store_errors: u32) -> Self {
        self.max_store_errors = max_store_errors;
        self
    }

    /// Backoff after the n-th lost race or storage error: a uniformly random wait up to
    /// `min(max, base * 2^(n-1))` ("full jitter", so racing writers spread out).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max.max(base);
        self
    }

    /// The attempt limit.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The storage error limit.
    pub fn max_store_errors(&self) -> u32 {
        self.max_store_errors
    }

    /// The first backoff's upper bound.
    pub fn base_backoff(&self) -> Duration {
        self.base_backoff
    }

    /// The largest backoff.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The wait before retry number `failures` (1-based), jittered by `seed`.
    fn backoff(&self, failures: u32, seed: u64) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let cap = self
            .base_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);
        let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if cap_nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(seed % (cap_nanos + 1))
    }
}

/// A successful commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The version the commit landed at.
    pub version: Version,
    /// How many times the commit file was written (1 when nobody raced).
    pub attempts: u32,
    /// The other writers' commits checked for conflicts, ascending.
    pub winners_checked: Vec<Version>,
    /// Whether the commit was recognised by its `txnId` after a write that reported an error
    /// (or was retried by the store client) had in fact landed.
    pub recognised_own_commit: bool,
}

/// A fresh transaction id for `commitInfo.txnId` (a random UUID).
pub fn new_txn_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Commits `actions` as the next version of the table.
///
/// `read_version` is the version the transaction read; `None` creates the table (version 0),
/// failing with [`LogError::TableAlreadyExists`] if the log already holds any commit or
/// checkpoint, or another writer's commit takes version 0 first.
/// `footprint` and `reads` describe what the transaction depends on; the parts of the
/// footprint that follow from the actions (removed paths, metadata and protocol changes,
/// `txn` application ids, domains) are added from the actions, so a footprint can only make
/// the check stricter. Its `read_version` must equal `read_version` when committing to an
/// existing table.
///
/// The actions must hold exactly one `commitInfo` with a non-empty `txnId` unique to this
/// transaction ([`new_txn_id`]); it is written as the first line, as in-commit timestamps
/// require and as Spark writes it. A table creation must hold `protocol` and `metaData`.
/// Checking that the table is writable ([`tarn_protocol::features::check_writable`]) and that
/// `txn` versions are fresh is the caller's job, against the snapshot it read; a concurrent
/// protocol, metadata or same-application `txn` change conflicts here.
///
/// `row_ids` is given when the table (as this commit leaves it) asks writers to assign row
/// ids ([`tarn_protocol::row_tracking::RowTracking::assigns_row_ids`]), starting from the
/// high water mark of the version read; each attempt assigns them where it lands.
///
/// Errors: [`LogError::CommitConflict`] naming the winning version and the reason,
/// [`LogError::CommitAttemptsExhausted`], [`LogError::CommitOutcomeUnknown`] when writes kept
/// failing in a way that leaves open whether one landed, [`LogError::PutIfAbsentUnsupported`],
/// [`LogError::InvalidCommit`], and storage or corrupt-commit errors from reading winners.
///
/// The future is boxed so that rustc proves it `Send` here, for these lifetimes: left to
/// inference through the retry loop's borrowed state, it asks for every lifetime and fails,
/// and callers could not spawn a commit.
pub fn commit<'a>(
    location: &'a TableLocation,
    read_version: Option<Version>,
    actions: Vec<Action>,
    footprint: &'a TransactionFootprint,
    reads: &'a (dyn ReadPredicate + Sync),
    row_ids: Option<RowIdAssigner>,
    options: &'a CommitOptions,
) -> BoxFuture<'a, LogResult<CommitOutcome>> {
    commit_inner(
        location,
        read_version,
        actions,
        footprint,
        reads,
        row_ids,
        options,
    )
    .boxed()
}

async fn commit_inner(
    location: &TableLocation,
    read_version: Option<Version>,
    actions: Vec<Action>,
    footprint: &TransactionFootprint,
    reads: &(dyn ReadPredicate + Sync),
    row_ids: Option<RowIdAssigner>,
    options: &CommitOptions,
) -> LogResult<CommitOutcome> {
    let invalid = |reason: String| LogError::InvalidCommit {
        location: location.to_string(),
        reason,
    };
    let txn_id = validate_actions(&actions, read_version).map_err(invalid)?;
    if let Some(read) = read_version
        && footprint.read_version != read
    {
        return Err(invalid(format!(
            "the footprint says version {} was read, the commit says {read}",
            footprint.read_version
        )));
    }
    if read_version.is_none() && !list_log(location, 0).await?.is_empty() {
        // A table whose early commits were cleaned up after a checkpoint has no version 0
        // file for put-if-absent to collide with.
        return Err(LogError::TableAlreadyExists {
            location: location.to_string(),
        });
    }
    let footprint = effective_footprint(footprint, read_version.unwrap_or(0), &actions);
    let first_version = read_version.map_or(0, |v| v + 1);
    let mut payload = Payload::new(commit_info_first(actions), row_ids);
    // Shape errors (a file without a row count on a table that tracks rows) fail here,
    // before anything is written.
    payload.for_version(first_version).map_err(invalid)?;
    let mut attempt = Attempt {
        location,
        read_version,
        txn_id: &txn_id,
        footprint: &footprint,
        reads,
        options,
        version: first_version,
        last_tried: first_version,
        attempts: 0,
        store_errors: 0,
        losses: 0,
        winners_checked: Vec::new(),
        unresolved: None,
    };
    attempt.run(&mut payload).await
}

/// The bytes of the commit file, for the version a put targets.
struct Payload {
    actions: Vec<Action>,
    /// Set when the table tracks rows: the bytes then depend on the version.
    row_ids: Option<RowIdAssigner>,
    /// The bytes last formatted, and the version they were formatted for.
    formatted: Option<(Version, PutPayload)>,
}

impl Payload {
    fn new(actions: Vec<Action>, row_ids: Option<RowIdAssigner>) -> Self {
        Self {
            actions,
            row_ids,
            formatted: None,
        }
    }

    /// Takes in a high water mark that commits which landed first set.
    fn observe_high_water_mark(&mut self, mark: i64) {
        if let Some(assigner) = &mut self.row_ids
            && assigner.high_water_mark().is_none_or(|known| mark > known)
        {
            assigner.observe(mark);
            self.formatted = None;
        }
    }

    /// The bytes to put at `version`.
    fn for_version(&mut self, version: Version) -> Result<PutPayload, String> {
        match &self.formatted {
            Some((formatted_for, bytes)) if self.row_ids.is_none() || *formatted_for == version => {
                return Ok(bytes.clone());
            }
            _ => {}
        }
        let text = match &self.row_ids {
            None => format_commit(&self.actions),
            Some(assigner) => {
                let assigned = assigner
                    .assign(&self.actions, version)
                    .map_err(|e| e.to_string())?;
                format_commit(&assigned)
            }
        }
        .map_err(|e| e.to_string())?;
        let bytes = PutPayload::from(text);
        self.formatted = Some((version, bytes.clone()));
        Ok(bytes)
    }

    fn tracks_row_ids(&self) -> bool {
        self.row_ids.is_some()
    }
}

/// The state of one commit's retry loop.
struct Attempt<'a> {
    location: &'a TableLocation,
    read_version: Option<Version>,
    txn_id: &'a str,
    footprint: &'a TransactionFootprint,
    reads: &'a (dyn ReadPredicate + Sync),
    options: &'a CommitOptions,
    /// The version the next put targets.
    version: Version,
    /// The version of the last put.
    last_tried: Version,
    attempts: u32,
    store_errors: u32,
    losses: u32,
    winners_checked: Vec<Version>,
    /// The error of a put at `version` that may still land: set while nobody is known to hold
    /// `version`, cleared once someone does.
    unresolved: Option<object_store::Error>,
}

/// What to do after reading the log forward.
enum Next {
    /// Put at `self.version` (updated).
    Retry,
    /// Our own commit is at this version.
    Done(Version),
}

impl Attempt<'_> {
    async fn run(&mut self, payload: &mut Payload) -> LogResult<CommitOutcome> {
        // After a lost race the log is read forward again just before the next put, so the
        // put targets the newest free version even if more commits landed during the backoff.
        let mut catch_up_first = false;
        loop {
            if catch_up_first {
                catch_up_first = false;
                match self.read_forward(payload).await {
                    Ok(Next::Retry) => {}
                    Ok(Next::Done(version)) => return Ok(self.outcome(version, true)),
                    Err(StepError::Fatal(e)) => return Err(e),
                    Err(StepError::Storage(e)) => {
                        self.store_error(e)?;
                        catch_up_first = true;
                        self.sleep(self.store_errors).await;
                        continue;
                    }
                }
            }
            if self.attempts >= self.options.max_attempts {
                return Err(self.give_up());
            }
            let bytes = payload
                .for_version(self.version)
                .map_err(|reason| LogError::InvalidCommit {
                    location: self.location.to_string(),
                    reason,
                })
                .map_err(|e| self.unresolved_or(e))?;
            self.attempts += 1;
            self.last_tried = self.version;
            let path = self.location.commit_file(self.version);
            let put = self
                .location
                .store()
                .put_opts(&path, bytes, PutOptions::from(PutMode::Create))
                .await;
            match put {
                Ok(_) => return Ok(self.outcome(self.version, false)),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    // Someone holds the version: possibly us (an earlier put, or the store
                    // client's own retry of this one, that landed).
                    match self.read_forward(payload).await {
                        Ok(Next::Retry) => {}
                        Ok(Next::Done(version)) => return Ok(self.outcome(version, true)),
                        Err(StepError::Fatal(e)) => return Err(e),
                        Err(StepError::Storage(e)) => self.store_error(e)?,
                    }
                    self.losses += 1;
                    self.sleep(self.losses).await;
                    catch_up_first = true;
                }
                Err(
                    source @ (object_store::Error::NotImplemented { .. }
                    | object_store::Error::NotSupported { .. }),
                ) => {
                    return Err(self.unresolved_or(LogError::PutIfAbsentUnsupported {
                        location: self.location.to_string(),
                        source,
                    }));
                }
                Err(
                    source @ (object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
                    | object_store::Error::InvalidPath { .. }
                    | object_store::Error::UnknownConfigurationKey { .. }),
                ) => {
                    return Err(self.unresolved_or(LogError::storage(
                        self.location.display_path(&path),
                        source,
                    )));
                }
                Err(source) => {
                    // The put may or may not have landed: read the version back.
                    tracing::debug!(
                        version = self.version,
                        error = %source,
                        "commit write failed; reading the version back"
                    );
                    self.unresolved = Some(source);
                    self.store_errors += 1;
                    match self.read_forward(payload).await {
                        Ok(Next::Retry) => {}
                        Ok(Next::Done(version)) => return Ok(self.outcome(version, true)),
                        Err(StepError::Fatal(e)) => return Err(e),
                        Err(StepError::Storage(_)) => {}
                    }
                    if self.store_errors > self.options.max_store_errors {
                        return Err(self.give_up());
                    }
                    self.sleep(self.store_errors).await;
                }
            }
        }
    }

    /// Reads the commits from `self.version` on: our own → done; others → conflict check,
    /// then `self.version` moves past them.
    async fn read_forward(&mut self, payload: &mut Payload) -> Result<Next, StepError> {
        let footprint = self.read_version.map(|_| self.footprint);
        let caught = catch_up(
            self.location,
            self.version,
            self.txn_id,
            footprint,
            self.reads,
            payload.tracks_row_ids(),
        )
        .await;
        if let Some(mark) = caught.high_water_mark {
            payload.observe_high_water_mark(mark);
        }
        self.winners_checked.extend(&caught.others);
        if let Some(last) = caught.others.last() {
            // Someone else holds every version up to `last`: no put of ours below can land.
            self.version = last + 1;
            self.unresolved = None;
        }
        match caught.end {
            CatchUp::Free => Ok(Next::Retry),
            CatchUp::Own(version) => Ok(Next::Done(version)),
            CatchUp::Exists => Err(StepError::Fatal(LogError::TableAlreadyExists {
                location: self.location.to_string(),
            })),
            CatchUp::Conflict(winning_version, reason) => {
                Err(StepError::Fatal(LogError::CommitConflict {
                    location: self.location.to_string(),
                    read_version: self.footprint.read_version,
                    winning_version,
                    reason,
                }))
            }
            CatchUp::Corrupt(error) => Err(StepError::Fatal(error)),
            CatchUp::Storage(error) => Err(StepError::Storage(error)),
        }
    }

    /// Counts a storage error from reading the log; fails once there were too many.
    fn store_error(&mut self, error: LogError) -> LogResult<()> {
        self.store_errors += 1;
        if self.store_errors > self.options.max_store_errors {
            return Err(self.unresolved_or(error));
        }
        tracing::debug!(%error, "reading commits failed; retrying");
        Ok(())
    }

    /// `error`, unless a put may still land, which makes the outcome unknown.
    fn unresolved_or(&mut self, error: LogError) -> LogError {
        match self.unresolved.take() {
            Some(source) => LogError::CommitOutcomeUnknown {
                location: self.location.to_string(),
                version: self.version,
                txn_id: self.txn_id.to_owned(),
                source: Box::new(source),
            },
            None => error,
        }
    }

    fn give_up(&mut self) -> LogError {
        let exhausted = LogError::CommitAttemptsExhausted {
            location: self.location.to_string(),
            attempts: self.attempts,
            last_version: self.last_tried,
        };
        self.unresolved_or(exhausted)
    }

    async fn sleep(&self, failures: u32) {
        let seed = std::hash::RandomState::new().hash_one((self.txn_id, failures, self.version));
        let wait = self.options.backoff(failures, seed);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn outcome(&mut self, version: Version, recognised_own_commit: bool) -> CommitOutcome {
        CommitOutcome {
            version,
            attempts: self.attempts,
            winners_checked: std::mem::take(&mut self.winners_checked),
            recognised_own_commit,
        }
    }
}

/// Why reading the log forward stopped early.
enum StepError {
    /// Ends the commit (conflict, corrupt winner, table exists).
    Fatal(LogError),
    /// A storage error worth retrying.
    Storage(LogError),
}

/// Checks the shape of a commit; returns its `txnId`.
fn validate_actions(actions: &[Action], read_version: Option<Version>) -> Result<String, String> {
    let mut txn_id = None;
    let mut commit_infos = 0;
    for action in actions {
        match action {
            Action::CommitInfo(info) => {
                commit_infos += 1;
                txn_id = info.txn_id.clone();
            }
            Action::Sidecar(_) | Action::CheckpointMetadata(_) => {
                return Err(format!(
                    "a `{}` action belongs in checkpoints, not commits",
                    action.kind()
                ));
            }
            _ => {}
        }
    }
    if commit_infos != 1 {
        return Err(format!(
            "a commit needs exactly one commitInfo action, found {commit_infos}"
        ));
    }
    let txn_id = txn_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| "the commitInfo action has no txnId".to_owned())?;
    if read_version.is_none() {
        for (kind, present) in [
            (
                "protocol",
                actions.iter().any(|a| matches!(a, Action::Protocol(_))),
            ),
            (
                "metaData",
                actions.iter().any(|a| matches!(a, Action::Metadata(_))),
            ),
        ] {
            if !present {
                return Err(format!("creating a table needs a {kind} action"));
            }
        }
    }
    Ok(txn_id)
}

/// The caller's footprint plus what the actions themselves change.
fn effective_footprint(
    given: &TransactionFootprint,
    read_version: Version,
    actions: &[Action],
) -> TransactionFootprint {
    let mut footprint = given.clone();
    footprint.read_version = read_version;
    for action in actions {
        match action {
            Action::Remove(remove) => {
                footprint.removed_paths.insert(remove.path.clone());
            }
            Action::Metadata(_) => footprint.changes_metadata = true,
            Action::Protocol(_) => footprint.changes_protocol = true,
            Action::Txn(txn) => {
                footprint.txn_app_ids.insert(txn.app_id.clone());
            }
            Action::DomainMetadata(domain) => {
                footprint.domains.insert(domain.domain.clone());
            }
            _ => {}
        }
    }
    footprint
}

/// The actions with `commitInfo` moved to the front, the rest in order.
fn commit_info_first(actions: Vec<Action>) -> Vec<Action> {
    let (mut ordered, rest): (Vec<Action>, Vec<Action>) = actions
        .into_iter()
        .partition(|a| matches!(a, Action::CommitInfo(_)));
    ordered.extend(rest);
    ordered
}
