//! Transactions: the actions of one operation, committed atomically as the next version.
//!
//! Every write operation (create, write, delete, update, restore) reads a snapshot, works out
//! its actions, and hands them to `Transaction::commit`, which adds the `commitInfo`
//! (operation, parameters, metrics, `engineInfo`, a fresh `txnId`) and commits through
//! `tarn_log::commit`: a put-if-absent of the next version, a conflict check against whatever
//! other writers committed meanwhile, and a retry. After a commit it writes a checkpoint when
//! `delta.checkpointInterval` says so; a failed checkpoint is logged, never an error, since the
//! commit itself stands.
//!
//! What a transaction read decides which concurrent commits conflict with it: a blind append
//! reads nothing; an overwrite reads the whole table; a delete, an update and an
//! overwrite-where read the rows their predicate selects (`PredicateReads`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};
use tarn_log::TableLocation;
use tarn_log::commit::{CommitOptions, CommitOutcome};
use tarn_protocol::actions::{Action, Add, CommitInfo, Remove};
use tarn_protocol::conflict::{ReadPredicate, ReadScope, TransactionFootprint};
use tarn_protocol::log_path::Version;
use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, StructType};

use crate::error::Result;
use crate::expr::Expr;
use crate::scan::plan::stats_columns;
use crate::scan::stats::{BoundsView, StatsColumn, file_bounds};

/// `engineInfo` of every commit tarn writes.
pub const ENGINE_INFO: &str = concat!("tarn/", env!("CARGO_PKG_VERSION"));

/// What a committed operation did. Counters an operation does not use are zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitSummary {
    /// The version committed; `None` when there was nothing to commit (an idempotent write
    /// whose `txn` version was already committed, a delete that matched no rows).
    pub version: Option<Version>,
    /// The operation, as `commitInfo.operation` records it (`WRITE`, `DELETE`, ...).
    pub operation: String,
    /// Data files added.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
    /// Bytes in the files added.
    pub bytes_added: u64,
    /// Rows written in new files (including rows a rewrite carried over).
    pub rows_written: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Rows updated.
    pub rows_updated: u64,
    /// Rows copied unchanged into rewritten files.
    pub rows_copied: u64,
    /// Put attempts the commit took (1 when no other writer got in the way).
    pub attempts: u32,
    /// Whether a checkpoint was written after the commit.
    pub checkpoint_written: bool,
}

impl CommitSummary {
    /// A summary of an operation that committed nothing.
    pub(crate) fn nothing(operation: &str) -> Self {
        Self {
            operation: operation.to_owned(),
            ..Self::default()
        }
    }

    /// The summary as `commitInfo.operationMetrics` (string values, as Spark writes them).
    fn operation_metrics(&self) -> Map<String, Value> {
        let mut metrics = Map::new();
        let mut put = |key: &str, value: u64| {
            metrics.insert(key.to_owned(), Value::String(value.to_string()));
        };
        put("numAddedFiles", self.files_added);
        put("numRemovedFiles", self.files_removed);
        put("numOutputBytes", self.bytes_added);
        put("numOutputRows", self.rows_written);
        if self.operation == "DELETE" {
            put("numDeletedRows", self.rows_deleted);
            put("numCopiedRows", self.rows_copied);
        }
        if self.operation == "UPDATE" {
            put("numUpdatedRows", self.rows_updated);
            put("numCopiedRows", self.rows_copied);
        }
        metrics
    }
}

/// What a transaction read of the table, for conflict detection.
#[derive(Debug, Clone)]
pub(crate) enum Reads {
    /// Nothing: a blind append.
    Nothing,
    /// Every row.
    WholeTable,
    /// The rows a predicate (resolved against the table schema) may select.
    Predicate(Expr),
}

/// The actions of one operation, ready to commit.
#[derive(Debug)]
pub(crate) struct Transaction {
    pub(crate) location: Arc<TableLocation>,
    /// The version the transaction read; `None` when it creates the table.
    pub(crate) read_version: Option<Version>,
    /// The schema, partition columns and column mapping of the table as read (or created),
    /// for evaluating the read predicate on other writers' files.
    pub(crate) schema: StructType,
    pub(crate) partition_columns: Vec<String>,
    pub(crate) mapping: ColumnMappingMode,
    pub(crate) operation: &'static str,
    /// `commitInfo.operationParameters`.
    pub(crate) parameters: Map<String, Value>,
    /// Every action but `commitInfo`.
    pub(crate) actions: Vec<Action>,
    pub(crate) reads: Reads,
    pub(crate) summary: CommitSummary,
    /// The table's metadata as read (to decide on a checkpoint without reloading); the
    /// transaction's own `metaData` action, if any, takes precedence.
    pub(crate) read_metadata: Option<tarn_protocol::actions::Metadata>,
}

impl Transaction {
    pub(crate) fn new(
        location: Arc<TableLocation>,
        read_version: Option<Version>,
        schema: StructType,
        partition_columns: Vec<String>,
        mapping: ColumnMappingMode,
        operation: &'static str,
    ) -> Self {
        Self {
            location,
            read_version,
            schema,
            partition_columns,
            mapping,
            operation,
            parameters: Map::new(),
            actions: Vec::new(),
            reads: Reads::Nothing,
            summary: CommitSummary::nothing(operation),
            read_metadata: None,
        }
    }

    /// Records an operation parameter (as a string, the way Spark writes them).
    pub(crate) fn parameter(&mut self, key: &str, value: impl Into<String>) {
        self.parameters
            .insert(key.to_owned(), Value::String(value.into()));
    }

    /// Adds data files, counting them in the summary.
    pub(crate) fn add_files(&mut self, adds: Vec<Add>) {
        for add in adds {
            self.summary.files_added += 1;
            self.summary.bytes_added += u64::try_from(add.size).unwrap_or(0);
            self.actions.push(Action::Add(add));
        }
    }

    /// Removes data files, counting them in the summary.
    pub(crate) fn remove_files(&mut self, removes: Vec<Remove>) {
        for remove in removes {
            self.summary.files_removed += 1;
            self.actions.push(Action::Remove(remove));
        }
    }

    /// Commits the transaction as the next version, retrying as the options allow, then
    /// writes a checkpoint if one is due.
    pub(crate) async fn commit(mut self, options: &CommitOptions) -> Result<CommitSummary> {
        let footprint = self.footprint();
        let txn_id = uuid::Uuid::new_v4().to_string();
        let commit_info = CommitInfo {
            timestamp: Some(Utc::now().timestamp_millis()),
            operation: Some(self.operation.to_owned()),
            operation_parameters: Some(std::mem::take(&mut self.parameters)),
            operation_metrics: Some(self.summary.operation_metrics()),
            engine_info: Some(ENGINE_INFO.to_owned()),
            txn_id: Some(txn_id),
            read_version: self.read_version.and_then(|v| i64::try_from(v).ok()),
            isolation_level: Some("WriteSerializable".to_owned()),
            is_blind_append: Some(matches!(self.reads, Reads::Nothing) && self.only_adds()),
            ..CommitInfo::default()
        };
        // commitInfo first, as Spark and delta-rs write it.
        let mut actions = Vec::with_capacity(self.actions.len() + 1);
        actions.push(Action::CommitInfo(commit_info));
        actions.append(&mut self.actions);

        let metadata = actions
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Metadata(m) => Some(m.clone()),
                _ => None,
            })
            .or(self.read_metadata.take());
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
            options,
        )
        .await?;
        let mut summary = self.summary;
        summary.version = Some(outcome.version);
        summary.attempts = outcome.attempts;
        summary.checkpoint_written =
            checkpoint_if_due(&self.location, outcome.version, metadata.as_ref()).await;
        Ok(summary)
    }

    fn only_adds(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a, Action::Add(_) | Action::Txn(_)))
    }

    fn footprint(&self) -> TransactionFootprint {
        let mut footprint = TransactionFootprint::blind_append(self.read_version.unwrap_or(0));
        footprint.read_scope = match self.reads {
            Reads::Nothing => ReadScope::Nothing,
            Reads::WholeTable | Reads::Predicate(_) => ReadScope::Predicate,
        };
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

/// Writes a checkpoint of `version` if the table's `delta.checkpointInterval` makes it due.
/// Returns whether one was written; failures are logged, not returned: the commit stands and
/// readers simply replay more JSON. `metadata` is the table's metadata as of the commit when
/// known, so that the common case (no checkpoint due) reads nothing.
async fn checkpoint_if_due(
    location: &Arc<TableLocation>,
    version: Version,
    metadata: Option<&tarn_protocol::actions::Metadata>,
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

/// Whether another writer's files could hold rows a transaction read: its predicate
/// evaluated on the files' partition values and statistics, `true` whenever unsure.
pub(crate) struct PredicateReads {
    predicate: Option<Expr>,
    whole_table: bool,
    /// Partition columns: (logical name, physical name, type).
    partitions: Vec<(String, String, tarn_protocol::schema::PrimitiveType)>,
    stats: Vec<StatsColumn>,
}

impl PredicateReads {
    fn new(
        reads: &Reads,
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMappingMode,
    ) -> Self {
        let partitions = partition_columns
            .iter()
            .filter_map(|name| {
                let field = schema.field(name)?;
                let DeltaType::Primitive(ty) = field.data_type else {
                    return None;
                };
                Some((name.clone(), field.physical_name(mapping).to_owned(), ty))
            })
            .collect();
        let (predicate, whole_table) = match reads {
            Reads::Nothing => (None, false),
            Reads::WholeTable => (None, true),
            Reads::Predicate(expr) => (Some(expr.clone()), false),
        };
        let stats = predicate
            .as_ref()
            .map(|p| stats_columns(p, schema, partition_columns, mapping))
            .unwrap_or_default();
        Self {
            predicate,
            whole_table,
            partitions,
            stats,
        }
    }

    fn may_match(
        &self,
        partition_values: Option<&BTreeMap<String, Option<String>>>,
        stats: Option<&str>,
    ) -> bool {
        let Some(predicate) = &self.predicate else {
            return self.whole_table;
        };
        let mut view: BoundsView = file_bounds(stats, None, &self.stats);
        if let Some(values) = partition_values {
            for (logical, physical, ty) in &self.partitions {
                let raw = values.get(physical).and_then(|v| v.as_deref());
                match parse_partition_value(logical, raw, *ty) {
                    Ok(value) => view.add_partition_value(logical, &value),
                    Err(_) => return true,
                }
            }
        }
        predicate.could_match(&view)
    }
}

impl ReadPredicate for PredicateReads {
    fn may_match_added(&self, add: &Add) -> bool {
        self.may_match(Some(&add.partition_values), add.stats.as_deref())
    }

    fn may_match_removed(&self, remove: &Remove) -> bool {
        self.may_match(remove.partition_values.as_ref(), remove.stats.as_deref())
    }
}
