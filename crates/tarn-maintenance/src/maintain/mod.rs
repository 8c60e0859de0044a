//! The maintenance job: a policy of tables, each compacted, archived (when the policy names
//! archive rules for it), checkpointed, vacuumed and its log cleaned up, in that order, from
//! cron or as a service.
//!
//! [`Maintainer`] runs a [`Policy`] once ([`Maintainer::run_once`]); a service calls it on a
//! schedule. Each operation is one of this crate's (they commit on their own), so a run
//! that stops halfway leaves every table consistent, and the next run carries on. One
//! table's failure does not stop the others: every table and operation gets a [`Record`],
//! and the [`RunReport`] says which tables failed. A [`Stop`] (a signal handler's) ends the
//! run between commits; each table's time budget does the same for that table.
//!
//! Scaling out needs no scheduler of its own: with [`Shard`] `K/N`, a maintainer takes only
//! the tables whose URI hashes to `K` of `N` (FNV-1a, stable across versions and machines), so
//! `N` replicas given the same policy share its tables without talking to each other.

pub mod policy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tarn::Table;

use crate::Stop;
use crate::archive::Archive;
use crate::cleanup::LogCleanup;
use crate::error::MaintenanceError;
use crate::optimize::Optimize;
use crate::vacuum::{Vacuum, VacuumMode};
pub use policy::{
    ArchivePolicy, CompactPolicy, Policy, PolicyError, TablePolicy, VacuumPolicy, parse_policy,
};

/// One maintenance operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Opening the table.
    Open,
    /// Compaction (with the table's clustering, or the policy's sorting).
    Compact,
    /// Lifecycle archiving, rule by rule (only for tables whose policy names rules).
    Archive,
    /// A checkpoint, when one is due.
    Checkpoint,
    /// Vacuum.
    Vacuum,
    /// Log cleanup.
    LogCleanup,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Operation::Open => "open",
            Operation::Compact => "compact",
            Operation::Archive => "archive",
            Operation::Checkpoint => "checkpoint",
            Operation::Vacuum => "vacuum",
            Operation::LogCleanup => "log-cleanup",
        })
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It ran to the end (possibly with nothing to do).
    Done,
    /// A dry run: the detail is the plan.
    Planned,
    /// It did not run: turned off for the table, or the table's time budget was spent, or a
    /// stop was requested.
    Skipped,
    /// It stopped early, cleanly, at a stop or the end of the time budget; what it committed
    /// stands.
    Stopped,
    /// It failed: the error says why.
    Failed,
}

/// What one operation on one table did.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The table, as the policy names it.
    pub table: String,
    /// The operation.
    pub operation: Operation,
    /// How it ended.
    pub status: Status,
    /// One line for an operator.
    pub message: String,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
    /// The operation's metrics (or its plan, in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Every table's operations, in order.
    pub records: Vec<Record>,
    /// Tables run (after sharding).
    pub tables: usize,
    /// Tables where an operation failed.
    pub failed_tables: Vec<String>,
    /// Whether a stop ended the run early.
    pub stopped: bool,
}

/// This replica's share of a policy's tables: those whose URI hashes to `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    /// Shard `index` of `count` (`0 <= index < count`).
    pub fn new(index: u64, count: u64) -> Result<Self, MaintenanceError> {
        if count == 0 || index >= count {
            return Err(MaintenanceError::InvalidArgument {
                argument: "shard",
                reason: format!(
                    "{index}/{count}: want K/N with 0 <= K < N (K counts from 0, as a \
                     Kubernetes indexed Job's completion index does)"
                ),
            });
        }
        Ok(Self { index, count })
    }

    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Self, MaintenanceError> {
        let invalid = || MaintenanceError::InvalidArgument {
            argument: "shard",
            reason: format!("{text:?}: want K/N, e.g. 0/3"),
        };
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index = index.trim().parse().map_err(|_| invalid())?;
        let count = count.trim().parse().map_err(|_| invalid())?;
        Self::new(index, count)
    }

    /// Whether the table at `uri` belongs to this shard.
    pub fn owns(&self, uri: &str) -> bool {
        fnv1a(uri.as_bytes()) % self.count == self.index
    }
}

/// FNV-1a, 64 bits: a fixed, portable hash (std's hashers may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A callback for each record as it is made.
pub type RecordFn = Arc<dyn Fn(&Record) + Send + Sync>;

/// Runs a policy. See the [module docs](self).
#[derive(Clone)]
pub struct Maintainer {
    policy: Policy,
    shard: Option<Shard>,
    dry_run: bool,
    stop: Stop,
    on_record: Option<RecordFn>,
    /// Storage options every table gets under its own (`storage_options` in the policy).
    storage_options: std::collections::BTreeMap<String, String>,
    /// Locations registered beside every table.
    stores: Option<tarn::log::StoreRegistry>,
    /// Whether locations a table declares are trusted.
    declared: Option<tarn::log::DeclaredLocations>,
}

impl std::fmt::Debug for Maintainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintainer")
            .field("policy", &self.policy)
            .field("shard", &self.shard)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl Maintainer {
    /// A maintainer of every table of `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            shard: None,
            dry_run: false,
            stop: Stop::new(),
            on_record: None,
            storage_options: std::collections::BTreeMap::new(),
            stores: None,
            declared: None,
        }
    }

    /// Storage options for every table (the command line's `-o`); a table's own
    /// `storage_options` in the policy win over them, key by key.
    pub fn with_storage_options(
        mut self,
        options: std::collections::BTreeMap<String, String>,
    ) -> Self {
        self.storage_options = options;
        self
    }

    /// Locations registered beside every table (the command line's `--store`), so that
    /// files a table names there (an archive in another bucket) can be read.
    pub fn with_stores(mut self, stores: tarn::log::StoreRegistry) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Whether the locations each table declares are trusted (the command line's
    /// `--untrusted` refuses them).
    pub fn with_declared_locations(mut self, declared: tarn::log::DeclaredLocations) -> Self {
        self.declared = Some(declared);
        self
    }

    /// Only this shard's tables.
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Plans every operation and changes nothing; the records carry the plans.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Stops the run between commits once `stop` is requested.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Calls `f` with each record as soon as it is made (for streaming output).
    pub fn on_record(mut self, f: impl Fn(&Record) + Send + Sync + 'static) -> Self {
        self.on_record = Some(Arc::new(f));
        self
    }

    /// The tables this maintainer runs: the policy's, in order, this shard's only.
    pub fn tables(&self) -> impl Iterator<Item = &TablePolicy> {
        self.policy
            .tables
            .iter()
            .filter(|t| self.shard.is_none_or(|shard| shard.owns(&t.uri)))
    }

    /// Runs every table once.
    pub async fn run_once(&self) -> RunReport {
        let mut report = RunReport::default();
        for table in self.tables() {
            if self.stop.is_requested() {
                report.stopped = true;
                break;
            }
            report.tables += 1;
            let failed = self.run_table(table, &mut report.records).await;
            if failed {
                report.failed_tables.push(table.uri.clone());
            }
        }
        report.stopped |= self.stop.is_requested();
        report
    }

    /// Runs one table's operations; returns whether one failed.
    async fn run_table(&self, policy: &TablePolicy, records: &mut Vec<Record>) -> bool {
        let started = Instant::now();
        let record = |records: &mut Vec<Record>, record: Record| {
            if let Some(f) = &self.on_record {
                f(&record);
            }
            records.push(record);
        };
        let mut options = self.storage_options.clone();
        options.extend(policy.storage_options.clone());
        let mut builder = Table::builder(&policy.uri).with_storage_options(options);
        if let Some(stores) = &self.stores {
            builder = builder.with_stores(stores.clone());
        }
        if let Some(declared) = self.declared {
            builder = builder.with_declared_locations(declared);
        }
        let opened = builder.open().await;
        // A table whose log cannot be read fails once, here, not once per operation.
        let opened = match opened {
            Ok(table) => table.snapshot().await.map(|_| table),
            Err(err) => Err(err),
        };
        let table = match opened {
            Ok(table) => table,
            Err(err) => {
                let error = MaintenanceError::from(err);
                record(records, failed(policy, Operation::Open, started, &error));
                return true;
            }
        };
        // This table's stop: the run's, or the end of its time budget.
        let table_stop = Stop::new();
        let deadline = policy.time_budget.map(|budget| started + budget);
        let watcher = tokio::spawn(watch(self.stop.clone(), table_stop.clone(), deadline));
        let mut any_failed = false;
        let mut operations = vec![Operation::Compact];
        // Archiving runs only where the policy asks: most tables have no record of it.
        if !policy.archive.is_empty() {
            operations.push(Operation::Archive);
        }
        operations.extend([
            Operation::Checkpoint,
            Operation::Vacuum,
            Operation::LogCleanup,
        ]);
        for operation in operations {
            let op_started = Instant::now();
            let skip = if !self.enabled(policy, operation) {
                Some("off in the policy".to_owned())
            } else if self.stop.is_requested() {
                Some("stopping".to_owned())
            } else if table_stop.is_requested() || deadline.is_some_and(|d| Instant::now() >= d) {
                Some(format!(
                    "the table's time budget ({}) is spent",
                    describe(policy.time_budget.unwrap_or_default())
                ))
            } else {
                None
            };
            if let Some(reason) = skip {
                record(
                    records,
                    Record {
                        table: policy.uri.clone(),
                        operation,
                        status: Status::Skipped,
                        message: format!("{operation} skipped: {reason}"),
                        duration_ms: 0,
                        detail: None,
                    },
                );
                continue;
            }
            let outcome = self
                .run_operation(&table, policy, operation, &table_stop)
                .await;
            let entry = match outcome {
                Ok((status, message, detail)) => Record {
                    table: policy.uri.clone(),
                    operation,
                    status,
                    message,
                    duration_ms: elapsed_ms(op_started),
                    detail,
                },
                Err(error) => {
                    any_failed = true;
                    failed(policy, operation, op_started, &error)
                }
            };
            record(records, entry);
        }
        watcher.abort();
        any_failed
    }

    fn enabled(&self, policy: &TablePolicy, operation: Operation) -> bool {
        match operation {
            Operation::Open => true,
            Operation::Compact => policy.compact.is_some(),
            Operation::Archive => !policy.archive.is_empty(),
            Operation::Checkpoint => policy.checkpoint,
            Operation::Vacuum => policy.vacuum.is_some(),
            Operation::LogCleanup => policy.log_cleanup,
        }
    }

    async fn run_operation(
        &self,
        table: &Table,
        policy: &TablePolicy,
        operation: Operation,
        stop: &Stop,
    ) -> Result<(Status, String, Option<Value>), MaintenanceError> {
        let json = |value: &dyn erased::ToJson| Some(value.to_json());
        match operation {
            Operation::Open => Ok((Status::Done, "opened".to_owned(), None)),
            Operation::Compact => {
                let settings = policy.compact.clone().unwrap_or_default();
                let mut optimize = Optimize::new(table.clone()).with_stop(stop.clone());
                if let Some(size) = settings.target_size {
                    optimize = optimize.with_target_size(size);
                }
                if let Some(memory) = settings.memory {
                    optimize = optimize.with_memory_budget(memory);
                }
                if let Some(filter) = &settings.filter {
                    optimize = optimize.with_filter(tarn::Expr::parse(filter)?);
                }
                if !settings.sort_by.is_empty() {
                    optimize = optimize.with_sort_by(settings.sort_by.clone());
                }
                if !settings.zorder_by.is_empty() {
                    optimize = optimize.with_zorder_by(settings.zorder_by.clone());
                }
                let plan = optimize.plan().await?;
                if self.dry_run {
                    let message = format!(
                        "would rewrite {} files ({} bytes) in {} bins",
                        plan.files_to_rewrite(),
                        plan.bytes_to_rewrite(),
                        plan.bins.len()
                    );
                    return Ok((Status::Planned, message, json(&plan)));
                }
                let metrics = optimize.execute_plan(plan).await?;
                let status = if metrics.bins_not_started > 0 {
                    Status::Stopped
                } else {
                    Status::Done
                };
                let message = format!(
                    "{} files rewritten as {}{}",
                    metrics.files_removed,
                    metrics.files_added,
                    if metrics.bins_not_started > 0 {
                        format!("; {} bins left for the next run", metrics.bins_not_started)
                    } else {
                        String::new()
                    }
                );
                Ok((status, message, json(&metrics)))
            }
            Operation::Archive => self.archive(table, policy, stop).await,
            Operation::Checkpoint => {
                let snapshot = table.snapshot().await?;
                let interval = tarn::log::checkpoint_interval(snapshot.metadata());
                let last = tarn::log::segment::read_last_checkpoint(table.location())
                    .await
                    .map(|hint| hint.version);
                let due = match last {
                    Some(last) => snapshot.version().saturating_sub(last) >= interval,
                    None => snapshot.version() + 1 >= interval,
                };
                if !due {
                    let message = format!(
                        "not due: version {}, last checkpoint {}, interval {interval}",
                        snapshot.version(),
                        last.map_or("none".to_owned(), |v| v.to_string())
                    );
                    return Ok((Status::Done, message, None));
                }
                if self.dry_run {
                    let message =
                        format!("would write a checkpoint of version {}", snapshot.version());
                    return Ok((Status::Planned, message, None));
                }
                let summary = table.checkpoint().execute().await?;
                let message = format!(
                    "wrote a checkpoint of version {} ({} files)",
                    summary.version, summary.num_files
                );
                Ok((Status::Done, message, None))
            }
            Operation::Vacuum => {
                let settings = policy.vacuum.unwrap_or(VacuumPolicy {
                    mode: VacuumMode::Lite,
                    retain_ms: None,
                    force: false,
                });
                let vacuum = |mode| {
                    let mut vacuum = Vacuum::new(table.clone())
                        .with_mode(mode)
                        .with_force(settings.force)
                        .with_stop(stop.clone());
                    if let Some(ms) = settings.retain_ms {
                        vacuum = vacuum.with_retention_ms(ms);
                    }
                    vacuum
                };
                let mut note = String::new();
                let (vacuum, plan) = match vacuum(settings.mode).plan().await {
                    Err(MaintenanceError::LiteNeedsLog { from, .. }) => {
                        note = format!(
                            " (full: the log starts at version {from}, after the last vacuum)"
                        );
                        let full = vacuum(VacuumMode::Full);
                        let plan = full.plan().await?;
                        (full, plan)
                    }
                    Err(err) => return Err(err),
                    Ok(plan) => (vacuum(settings.mode), plan),
                };
                if self.dry_run {
                    let message = format!(
                        "would delete {} files ({} bytes){note}",
                        plan.deletions.len(),
                        plan.bytes_to_delete()
                    );
                    return Ok((Status::Planned, message, json(&plan)));
                }
                let planned = plan.deletions.len();
                let metrics = vacuum.execute_plan(plan).await?;
                let status = if metrics.stopped {
                    Status::Stopped
                } else {
                    Status::Done
                };
                let message = format!(
                    "deleted {} of {planned} files ({} bytes){note}",
                    metrics.files_deleted, metrics.bytes_deleted
                );
                Ok((status, message, json(&metrics)))
            }
            Operation::LogCleanup => {
                let cleanup = LogCleanup::new(table.clone());
                let plan = cleanup.plan().await?;
                if self.dry_run {
                    let message = format!("would delete {} log files", plan.deletions.len());
                    return Ok((Status::Planned, message, json(&plan)));
                }
                let metrics = cleanup.execute_plan(plan).await?;
                let message = format!("deleted {} log files", metrics.files_deleted);
                Ok((Status::Done, message, json(&metrics)))
            }
        }
    }
}

impl Maintainer {
    /// Runs a table's archive rules in order; a stop ends the rule in flight after its
    /// commit and starts no other.
    async fn archive(
        &self,
        table: &Table,
        policy: &TablePolicy,
        stop: &Stop,
    ) -> Result<(Status, String, Option<Value>), MaintenanceError> {
        let mut details = Vec::with_capacity(policy.archive.len());
        let mut messages = Vec::with_capacity(policy.archive.len());
        let mut status = if self.dry_run {
            Status::Planned
        } else {
            Status::Done
        };
        for rule in &policy.archive {
            if stop.is_requested() {
                status = Status::Stopped;
                messages.push(format!("{}: not started", rule.to));
                continue;
            }
            let mut archive = Archive::new(table.clone(), rule.to.clone())
                .with_mode(rule.mode)
                .with_stop(stop.clone());
            if let Some(filter) = &rule.filter {
                archive = archive.with_filter(tarn::Expr::parse(filter)?);
            }
            if let Some(age) = rule.older_than {
                archive = archive.with_older_than(age);
            }
            if let Some(class) = &rule.storage_class {
                archive = archive.with_storage_class(class.clone());
            }
            let plan = archive.plan().await?;
            if self.dry_run {
                messages.push(format!(
                    "would archive {} files ({} bytes) to {} ({})",
                    plan.files.len(),
                    plan.bytes(),
                    plan.location,
                    plan.mode.as_str()
                ));
                details.push(serde_json::to_value(&plan).unwrap_or(Value::Null));
                continue;
            }
            let location = plan.location.clone();
            let metrics = archive.execute_plan(plan).await?;
            if metrics.files_not_started > 0 {
                status = Status::Stopped;
            }
            messages.push(format!(
                "{} files ({} bytes) archived to {location} ({}){}",
                metrics.files_archived,
                metrics.bytes_archived,
                rule.mode.as_str(),
                if metrics.files_not_started > 0 {
                    format!("; {} left for the next run", metrics.files_not_started)
                } else {
                    String::new()
                }
            ));
            details.push(serde_json::to_value(&metrics).unwrap_or(Value::Null));
        }
        Ok((status, messages.join("; "), Some(Value::Array(details))))
    }
}

/// Sets `table_stop` when the run's `stop` is requested or `deadline` passes.
async fn watch(stop: Stop, table_stop: Stop, deadline: Option<Instant>) {
    loop {
        if stop.is_requested() || deadline.is_some_and(|d| Instant::now() >= d) {
            table_stop.request();
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn failed(
    policy: &TablePolicy,
    operation: Operation,
    started: Instant,
    error: &MaintenanceError,
) -> Record {
    Record {
        table: policy.uri.clone(),
        operation,
        status: Status::Failed,
        message: format!("{operation} failed: {error}"),
        duration_ms: elapsed_ms(started),
        detail: Some(serde_json::json!({ "error": error.to_string() })),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn describe(duration: Duration) -> String {
    crate::vacuum::describe_retention(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

/// Serializing the different metrics and plans through one function.
mod erased {
    /// A value that serializes to JSON.
    pub(super) trait ToJson {
        fn to_json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_tables_without_overlap_and_stably() {
        let uris: Vec<String> = (0..200).map(|i| format!("s3://lake/table-{i}")).collect();
        let shards: Vec<Shard> = (0..3).map(|k| Shard::new(k, 3).unwrap()).collect();
        for uri in &uris {
            let owners = shards.iter().filter(|s| s.owns(uri)).count();
            assert_eq!(owners, 1, "{uri}");
        }
        // Each shard gets a fair share.
        for shard in &shards {
            let owned = uris.iter().filter(|u| shard.owns(u)).count();
            assert!((40..=95).contains(&owned), "{owned}");
        }
        // FNV-1a of a fixed string: the same on every machine and release.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Shard::parse(" 1/3 ").unwrap(), Shard::new(1, 3).unwrap());
        for bad in ["3/3", "1", "a/3", "1/0", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
