//! Transactions: the actions of one operation, committed atomically as the next version.
//!
//! Every operation that changes a table — write, delete, update, restore, and whatever a
//! program or `tarn-maintenance` builds (compaction, archiving) — reads a snapshot, works out
//! its actions, and commits them through a [`Transaction`] made from that snapshot
//! ([`crate::Snapshot::transaction`]). The transaction adds the `commitInfo` (operation,
//! parameters, metrics, isolation level, `engineInfo`, a fresh `txnId`) and commits through
//! `tarn_log::commit`: a put-if-absent of the next version, a conflict check against whatever
//! other writers committed meanwhile, and a retry (`spec/commit-protocol.md`). After a commit
//! it writes a checkpoint when `delta.checkpointInterval` says so; a failed checkpoint is
//! logged, never an error, since the commit itself stands.
//!
//! This module decides what a transaction's conflict footprint is: what it declared it read
//! ([`ReadSet`], required), what its actions change, and at which [`IsolationLevel`] it runs
//! (the table's `delta.isolationLevel` for data changes, snapshot isolation for a transaction
//! that changes no data, as Spark records them). It also owns the files the transaction
//! wrote: when the commit definitely failed (a conflict, no attempt left), they are deleted;
//! when its outcome is unknown, they stay, since the commit may have landed.

mod reads;
mod summary;

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};
use tarn_log::commit::{CommitOptions, CommitOutcome};
use tarn_log::{FileView, LogError, TableLocation};
use tarn_protocol::actions::{
    Action, Add, CommitInfo, DomainMetadata, Metadata, Protocol, Remove, Txn,
};
use tarn_protocol::conflict::{ISOLATION_LEVEL_KEY, TransactionFootprint};
use tarn_protocol::log_path::Version;
use tarn_protocol::row_tracking::{
    PRESERVED_TAG, ROW_TRACKING_DOMAIN, RowIdAssigner, RowTracking, parse_high_water_mark,
};
use tarn_protocol::schema::{ColumnMappingMode, StructType};

use crate::error::{Error, Result};

pub(crate) use reads::PredicateReads;
pub use reads::ReadSet;
pub use summary::CommitSummary;
pub use tarn_protocol::conflict::IsolationLevel;

/// `engineInfo` of every commit tarn writes.
pub const ENGINE_INFO: &str = concat!("tarn/", env!("CARGO_PKG_VERSION"));

/// The actions of one operation, to be committed atomically as the next version of a table.
///
/// Made from the snapshot the operation read ([`crate::Snapshot::transaction`]), with what it
/// read declared up front. Add files, remove files, set metadata, domain metadata or an
/// application `txn`, record parameters and metrics, then [`Transaction::commit`].
///
/// ```no_run
/// # async fn example(table: tarn::Table, new_file: tarn::protocol::actions::Add) -> tarn::Result<()> {
/// use tarn::transaction::ReadSet;
/// let snapshot = table.snapshot().await?;
/// let old = snapshot.files().iter().next().expect("a file");
/// // Replace one file by a file this program wrote, changing no rows.
/// let mut tx = snapshot.transaction("OPTIMIZE", ReadSet::files([old.path()]))?;
/// tx.remove_file(&old, false);
/// tx.add_file(new_file);
/// let summary = tx.commit().await?;
/// println!("committed version {:?}", summary.version);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Transaction {
    location: Arc<TableLocation>,
    /// The version read; `None` when the transaction creates the table.
    read_version: Option<Version>,
    /// The table's schema, partition columns and column mapping as read, for evaluating the
    /// read predicate on other writers' files.
    schema: StructType,
    partition_columns: Vec<String>,
    mapping: ColumnMappingMode,
    /// The table's metadata as read; a `metaData` action of the transaction takes precedence.
    read_metadata: Option<Metadata>,
    /// The table's protocol as read; a `protocol` action of the transaction takes precedence.
    read_protocol: Option<Protocol>,
    /// The `delta.rowTracking` domain's configuration as read (the row id high water mark).
    read_row_tracking: Option<String>,
    /// Whether the commit preserved the stable row ids of the rows it copied or updated
    /// (`commitInfo.tags`, recorded on tables that enable row tracking).
    row_ids_preserved: Option<bool>,
    operation: String,
    /// `commitInfo.operationParameters`.
    parameters: Map<String, Value>,
    /// `commitInfo.operationMetrics` beyond those the summary counts.
    metrics: Map<String, Value>,
    /// Every action but `commitInfo`.
    actions: Vec<Action>,
    reads: ReadSet,
    isolation_level: Option<IsolationLevel>,
    summary: CommitSummary,
    /// Files this transaction wrote: deleted when it definitely fails.
    written: Vec<Add>,
    commit_options: CommitOptions,
}

impl crate::Snapshot {
    /// A transaction on this snapshot: `operation` names it in `commitInfo` (`WRITE`,
    /// `DELETE`, `OPTIMIZE`, ...), `reads` declares what it read, which decides the concurrent
    /// commits it conflicts with.
    ///
    /// Fails if tarn cannot write this table (a writer feature it does not support, or one
    /// in use that it does not honour).
    pub fn transaction(&self, operation: impl Into<String>, reads: ReadSet) -> Result<Transaction> {
        tarn_protocol::features::check_writable(self.protocol(), self.metadata())?;
        let mut tx = Transaction::new(
            Arc::clone(self.location()),
            Some(self.version()),
            self.schema().clone(),
            self.partition_columns().to_vec(),
            self.column_mapping_mode(),
            operation.into(),
            reads,
        );
        tx.read_metadata = Some(self.metadata().clone());
        tx.read_protocol = Some(self.protocol().clone());
        tx.read_row_tracking = self
            .domain_metadata()
            .get(ROW_TRACKING_DOMAIN)
            .filter(|domain| !domain.removed)
            .map(|domain| domain.configuration.clone());
        Ok(tx)
    }
}

impl Transaction {
    pub(crate) fn new(
        location: Arc<TableLocation>,
        read_version: Option<Version>,
        schema: StructType,
        partition_columns: Vec<String>,
        mapping: ColumnMappingMode,
        operation: String,
        reads: ReadSet,
    ) -> Self {
        Self {
            location,
            read_version,
            schema,
            partition_columns,
            mapping,
            read_metadata: None,
            read_protocol: None,
            read_row_tracking: None,
            row_ids_preserved: None,
            summary: CommitSummary::nothing(&operation),
            operation,
            parameters: Map::new(),
            metrics: Map::new(),
            actions: Vec::new(),
            reads,
            isolation_level: None,
            written: Vec::new(),
            commit_options: CommitOptions::default(),
        }
    }

    /// A transaction that creates the table at `location` (commits version 0): its protocol
    /// and metadata are the first actions.
    pub(crate) fn create_table(
        location: Arc<TableLocation>,
        protocol: Protocol,
        metadata: Metadata,
        schema: StructType,
        operation: &str,
    ) -> Self {
        let mut tx = Transaction::new(
            location,
            None,
            schema,
            metadata.partition_columns.clone(),
            ColumnMappingMode::None,
            operation.to_owned(),
            ReadSet::Nothing,
        );
        tx.actions.push(Action::Protocol(protocol));
        tx.actions.push(Action::Metadata(metadata));
        tx
    }

    /// Narrows what the transaction declares it read, once the operation knows (the files
    /// its scan actually read).
    pub(crate) fn set_reads(&mut self, reads: ReadSet) {
        self.reads = reads;
    }

    /// The table location the transaction commits to.
    pub fn location(&self) -> &Arc<TableLocation> {
        &self.location
    }

    /// The version the transaction read (`None` when it creates the table).
    pub fn read_version(&self) -> Option<Version> {
        self.read_version
    }

    /// Adds a data file this transaction wrote, with its `dataChange` flag in `add`. If the
    /// commit definitely fails, the file is deleted.
    pub fn add_file(&mut self, add: Add) -> &mut Self {
        self.written.push(add.clone());
        self.add_existing_file(add)
    }

    /// Adds a file that already belonged to the table's storage before this transaction (a
    /// restored file, an archived copy): counted like any added file, never deleted.
    pub fn add_existing_file(&mut self, add: Add) -> &mut Self {
        self.summary.files_added += 1;
        self.summary.bytes_added += u64::try_from(add.size).unwrap_or(0);
        self.actions.push(Action::Add(add));
        self
    }

    /// Removes an active file of the snapshot: the `remove` action carries its size,
    /// partition values, statistics (when the snapshot holds them), tags, deletion vector and
    /// row tracking fields, so that other engines' conflict checks and tombstone readers see
    /// what was removed. `data_change` is `false` for a rewrite that changes no rows.
    pub fn remove_file(&mut self, file: &FileView<'_>, data_change: bool) -> &mut Self {
        self.remove(remove_action(file, data_change))
    }

    /// Adds a `remove` action as given.
    pub fn remove(&mut self, remove: Remove) -> &mut Self {
        self.summary.files_removed += 1;
        self.summary.bytes_removed += remove
            .size
            .and_then(|size| u64::try_from(size).ok())
            .unwrap_or(0);
        self.actions.push(Action::Remove(remove));
        self
    }

    /// Replaces the table's metadata (schema, partitioning, properties) in this commit.
    pub fn set_metadata(&mut self, metadata: Metadata) -> &mut Self {
        self.actions.retain(|a| !matches!(a, Action::Metadata(_)));
        self.actions.push(Action::Metadata(metadata));
        self
    }

    /// Replaces the table's protocol in this commit (it must not go down: readers of the old
    /// table must keep refusing what they could not read).
    pub fn set_protocol(&mut self, protocol: Protocol) -> &mut Self {
        self.actions.retain(|a| !matches!(a, Action::Protocol(_)));
        self.actions.push(Action::Protocol(protocol));
        self
    }

    /// Sets a metadata domain's configuration (`domainMetadata`). A concurrent commit that
    /// writes the same domain conflicts.
    pub fn set_domain_metadata(
        &mut self,
        domain: impl Into<String>,
        configuration: impl Into<String>,
    ) -> &mut Self {
        self.actions.push(Action::DomainMetadata(DomainMetadata {
            domain: domain.into(),
            configuration: configuration.into(),
            removed: false,
        }));
        self
    }

    /// Removes a metadata domain.
    pub fn remove_domain_metadata(&mut self, domain: impl Into<String>) -> &mut Self {
        self.actions.push(Action::DomainMetadata(DomainMetadata {
            domain: domain.into(),
            configuration: String::new(),
            removed: true,
        }));
        self
    }

    /// Records that this commit is `version` of application `app_id` (a `txn` action), for
    /// idempotent writers. Checking that `version` is newer than the table's is the caller's
    /// job; two commits of the same application racing conflict.
    pub fn set_app_transaction(&mut self, app_id: impl Into<String>, version: i64) -> &mut Self {
        self.actions.push(Action::Txn(Txn {
            app_id: app_id.into(),
            version,
            last_updated: Some(Utc::now().timestamp_millis()),
        }));
        self
    }

    /// Records an operation parameter (`commitInfo.operationParameters`, a string, the way
    /// Spark writes them).
    pub fn parameter(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.parameters
            .insert(key.to_owned(), Value::String(value.into()));
        self
    }

    /// Records an operation metric (`commitInfo.operationMetrics`) beyond the file, byte and
    /// row counts the summary keeps.
    pub fn metric(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.metrics
            .insert(key.to_owned(), Value::String(value.to_string()));
        self
    }

    /// Records whether the transaction preserved the stable row ids (and row commit versions)
    /// of every row it copied or updated: `true` when it copied none or wrote them to the
    /// materialized columns, `false` when copies got fresh ids. Written as
    /// `commitInfo.tags["delta.rowTracking.preserved"]` on tables that enable row tracking
    /// (PROTOCOL.md, "Writer Requirements for Row Tracking").
    pub fn set_row_ids_preserved(&mut self, preserved: bool) -> &mut Self {
        self.row_ids_preserved = Some(preserved);
        self
    }

    /// The counts the commit will report (and record as metrics): set the row counts here.
    pub fn summary_mut(&mut self) -> &mut CommitSummary {
        &mut self.summary
    }

    /// Runs at `level` instead of the default: the table's `delta.isolationLevel` when the
    /// transaction changes data, [`IsolationLevel::SnapshotIsolation`] when it changes none.
    pub fn with_isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation_level = Some(level);
        self
    }

    /// How the commit retries when other writers commit at the same time.
    pub fn with_commit_options(mut self, options: CommitOptions) -> Self {
        self.commit_options = options;
        self
    }

    /// The actions so far (without `commitInfo`).
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Whether the transaction has no action to commit.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The files this transaction wrote (deleted if it definitely fails).
    pub fn written_files(&self) -> &[Add] {
        &self.written
    }

    /// Deletes the files this transaction wrote, committing nothing.
    pub async fn abort(self) {
        crate::ops::delete_data_files(&self.location, &self.written).await;
    }

    /// Commits the transaction as the next version, retrying on top of other writers'
    /// commits as the conflict rules allow, then writes a checkpoint if one is due.
    ///
    /// When the commit definitely did not land (a conflict, no attempt left, a table created
    /// by someone else), the files the transaction wrote are deleted before the error is
    /// returned; when its outcome is unknown ([`LogError::CommitOutcomeUnknown`]) they stay.
    pub async fn commit(self) -> Result<CommitSummary> {
        let location = Arc::clone(&self.location);
        let written = self.written.clone();
        match self.commit_keeping_files().await {
            Ok(summary) => Ok(summary),
            Err(err) => {
                if definitely_not_committed(&err) {
                    crate::ops::delete_data_files(&location, &written).await;
                }
                Err(err)
            }
        }
    }

    /// [`Transaction::commit`] without deleting the written files on failure: for a caller
    /// that will commit them in another transaction (a write that lost the race to create a
    /// table appends them to the winner's).
    pub(crate) async fn commit_keeping_files(mut self) -> Result<CommitSummary> {
        let metadata = self
            .actions
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Metadata(m) => Some(m.clone()),
                _ => None,
            })
            .or_else(|| self.read_metadata.clone());
        let protocol = self
            .actions
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Protocol(p) => Some(p.clone()),
                _ => None,
            })
            .or_else(|| self.read_protocol.clone());
        let row_tracking = match (&protocol, &metadata) {
            (Some(protocol), Some(metadata)) => RowTracking::of(protocol, metadata)?,
            _ => RowTracking::Unsupported,
        };
        let row_ids = if row_tracking.assigns_row_ids() {
            let mark = self
                .read_row_tracking
                .as_deref()
                .map(parse_high_water_mark)
                .transpose()?;
            Some(RowIdAssigner::new(mark))
        } else {
            None
        };
        let isolation_level = self.isolation_level(metadata.as_ref())?;
        let footprint = self.footprint(isolation_level);
        let txn_id = uuid::Uuid::new_v4().to_string();
        let mut operation_metrics = self.summary.operation_metrics();
        operation_metrics.extend(std::mem::take(&mut self.metrics));
        let commit_info = CommitInfo {
            timestamp: Some(Utc::now().timestamp_millis()),
            operation: Some(self.operation.clone()),
            operation_parameters: Some(std::mem::take(&mut self.parameters)),
            operation_metrics: Some(operation_metrics),
            engine_info: Some(ENGINE_INFO.to_owned()),
            txn_id: Some(txn_id),
            read_version: self.read_version.and_then(|v| i64::try_from(v).ok()),
            isolation_level: Some(isolation_level.as_str().to_owned()),
            is_blind_append: Some(matches!(self.reads, ReadSet::Nothing) && self.only_adds()),
            other: commit_info_tags(&row_tracking, self.row_ids_preserved),
            ..CommitInfo::default()
        };
        // commitInfo first, as Spark and delta-rs write it.
        let mut actions = Vec::with_capacity(self.actions.len() + 1);
        actions.push(Action::CommitInfo(commit_info));
        actions.append(&mut self.actions);
        if let Some(metadata) = &metadata {
            tarn_protocol::features::check_append_only(metadata, &actions)?;
        }
        let reads = PredicateReads::new(
            &self.reads,
            &self.schema,
            &self.partition_columns,
            self.mapping,
        );
        let outcome: CommitOutcome = tarn_log::commit::commit(
            &self.location,
            self.read_version,
            actions,
            &footprint,
            &reads,
            row_ids,
            &self.commit_options,
        )
        .await?;
        let mut summary = self.summary;
        summary.version = Some(outcome.version);
        summary.attempts = outcome.attempts;
        summary.checkpoint_written =
            checkpoint_if_due(&self.location, outcome.version, metadata.as_ref()).await;
        Ok(summary)
    }

    /// The level the transaction runs at: as set, or snapshot isolation when it changes no
    /// data (and no metadata), or the table's `delta.isolationLevel`.
    fn isolation_level(&self, metadata: Option<&Metadata>) -> Result<IsolationLevel> {
        if let Some(level) = self.isolation_level {
            return Ok(level);
        }
        let changes_data = self.actions.iter().any(|a| match a {
            Action::Add(add) => add.data_change,
            Action::Remove(remove) => remove.data_change,
            Action::Metadata(_) | Action::Protocol(_) => true,
            _ => false,
        });
        if !changes_data {
            return Ok(IsolationLevel::SnapshotIsolation);
        }
        let property = metadata.and_then(|m| m.configuration.get(ISOLATION_LEVEL_KEY));
        Ok(IsolationLevel::from_table_property(
            property.map(String::as_str),
        )?)
    }

    fn only_adds(&self) -> bool {
        self.actions.iter().all(|a| {
            matches!(a, Action::Add(add) if add.data_change) || matches!(a, Action::Txn(_))
        })
    }

    fn footprint(&self, isolation_level: IsolationLevel) -> TransactionFootprint {
        let (scope, read_files) = self.reads.scope();
        let mut footprint = TransactionFootprint::reading(
            self.read_version.unwrap_or(0),
            scope,
            read_files,
            isolation_level,
        );
        for action in &self.actions {
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
}

/// `commitInfo.tags`: whether row ids were preserved, on a table that enables row tracking.
fn commit_info_tags(row_tracking: &RowTracking, preserved: Option<bool>) -> Map<String, Value> {
    let mut other = Map::new();
    if let (Some(_), Some(preserved)) = (row_tracking.materialized_columns(), preserved) {
        let mut tags = Map::new();
        tags.insert(
            PRESERVED_TAG.to_owned(),
            Value::String(preserved.to_string()),
        );
        other.insert("tags".to_owned(), Value::Object(tags));
    }
    other
}

/// Whether a failed commit certainly did not land, so that the files it wrote may go.
fn definitely_not_committed(err: &Error) -> bool {
    matches!(
        err,
        Error::Log(
            LogError::CommitConflict { .. }
                | LogError::CommitAttemptsExhausted { .. }
                | LogError::TableAlreadyExists { .. }
                | LogError::InvalidCommit { .. }
        ) | Error::Protocol(_)
    )
}

/// The `remove` action that takes an active file out of the table, with everything its `add`
/// said about it (`extendedFileMetadata`).
pub(crate) fn remove_action(file: &FileView<'_>, data_change: bool) -> Remove {
    let add = file.to_add();
    Remove {
        path: add.path,
        deletion_timestamp: Some(Utc::now().timestamp_millis()),
        data_change,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values),
        size: Some(add.size),
        stats: add.stats,
        tags: add.tags,
        deletion_vector: add.deletion_vector,
        base_row_id: add.base_row_id,
        default_row_commit_version: add.default_row_commit_version,
    }
}

/// Writes a checkpoint of `version` if the table's `delta.checkpointInterval` makes it due.
/// Returns whether one was written; failures are logged, not returned: the commit stands and
/// readers simply replay more JSON. `metadata` is the table's metadata as of the commit when
/// known, so that the common case (no checkpoint due) reads nothing.
async fn checkpoint_if_due(
    location: &Arc<TableLocation>,
    version: Version,
    metadata: Option<&Metadata>,
) -> bool {
    if metadata.is_some_and(|m| !tarn_log::should_checkpoint(version, m)) {
        return false;
    }
    // Without statistics: the checkpoint writer streams each file's `stats` from the log as
    // it writes, rather than holding every file's statistics in the snapshot at once.
    let snapshot = match tarn_log::Snapshot::load_with(
        Arc::clone(location),
        Some(version),
        tarn_log::SnapshotOptions::default(),
    )
    .await
    {
        Ok(snapshot) => snapshot,
        Err(err) => {
            tracing::warn!(version, error = %err, "cannot load the committed version to checkpoint it");
            return false;
        }
    };
    if !tarn_log::should_checkpoint(version, snapshot.metadata()) {
        return false;
    }
    match tarn_log::write_checkpoint(&snapshot).await {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(version, error = %err, "checkpoint failed; the commit stands");
            false
        }
    }
}
