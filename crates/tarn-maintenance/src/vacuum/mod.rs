//! Vacuum: deleting the files no retained version needs.
//!
//! [`Vacuum`] is a builder; [`Vacuum::plan`] reads the latest snapshot, the commits since the
//! last vacuum and (in `full` mode) a listing of the table, and decides with the pure
//! functions of [`plan`] which files go; [`Vacuum::execute`] (or
//! [`Vacuum::execute_plan`]) records a `VACUUM START` commit, deletes the files in batches,
//! and records `VACUUM END` with what it did, as Spark does. The rules are in the
//! [`plan`] module and spec/maintenance.md.
//!
//! A vacuum never deletes anything outside the table's root (archive copies elsewhere are
//! not its business), never touches `_delta_log` or other hidden paths, and on local disk
//! never follows a symbolic link out of the table. It checks that tarn may write the table
//! first, as `vacuumProtocolCheck` asks of every vacuum.

mod commits;
mod list;

pub(crate) use list::list_table;
pub mod plan;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use serde::Serialize;
use tarn::protocol::data_path::DataFilePath;
use tarn::protocol::retention::Retention;
use tarn::{PathResolver, ReadSet, Table, Version};

use crate::error::{MaintenanceError, Result};
pub use plan::{
    CommittedRemove, Cutoffs, DeletionReason, ListedFile, MIN_ORPHAN_AGE_MS, PlannedDeletion,
    VacuumMode, is_hidden, plan_full, plan_lite, vacuumed_through,
};

/// `operationMetrics` key of a `VACUUM END` commit naming the version up to which every
/// tombstone has been dealt with (where the next lite vacuum starts reading).
pub const VACUUMED_THROUGH_METRIC: &str = "vacuumedThroughVersion";

/// Files deleted per request (S3 deletes up to 1,000 objects in one request).
const DELETE_BATCH: usize = 1000;

/// Delete requests in flight at once.
const DELETE_CONCURRENCY: usize = 8;

/// Progress of a running vacuum, reported after each batch of deletions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VacuumProgress {
    /// Files deleted so far.
    pub files_deleted: usize,
    /// Files the plan deletes.
    pub files_total: usize,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(VacuumProgress) + Send + Sync>;

/// What a vacuum will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VacuumPlan {
    /// The version planned from.
    pub version: Version,
    /// Full or lite.
    pub mode: VacuumMode,
    /// The time the plan was made for, ms since the epoch.
    pub now_ms: i64,
    /// The retention used, in ms.
    pub retention_ms: i64,
    /// The table's own retention (`delta.deletedFileRetentionDuration`), in ms.
    pub table_retention_ms: i64,
    /// The cutoffs derived from them.
    pub cutoffs: Cutoffs,
    /// The first version whose commit was read for tombstones (the one after the last
    /// vacuum's `vacuumedThroughVersion`, or the oldest commit in the log).
    pub commits_from: Version,
    /// Files listed under the table's root (full mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_listed: Option<usize>,
    /// Files the retained versions reference.
    pub files_referenced: usize,
    /// Listed files skipped because they are reached through a symbolic link that leads out
    /// of the table (local disk, full mode).
    pub files_outside_through_links: usize,
    /// The files to delete, by path.
    pub deletions: Vec<PlannedDeletion>,
    /// After the vacuum, every tombstone in commits up to this version is dealt with.
    pub vacuumed_through: Version,
    /// The `vacuumedThroughVersion` the last vacuum recorded, if the log still has it.
    pub previous_vacuumed_through: Option<Version>,
}

/// A vacuum that deletes nothing records itself only when it moves `vacuumedThroughVersion`
/// this many versions past the last one recorded (so that a lite vacuum's next read stays
/// short), or when no record of the last one is left.
pub const MIN_RECORDED_ADVANCE: Version = 100;

impl VacuumPlan {
    /// Whether executing the plan would delete nothing and record nothing worth two commits:
    /// no deletions, and `vacuumed_through` fewer than [`MIN_RECORDED_ADVANCE`] versions
    /// past where the commits were read from.
    ///
    /// A vacuum is never idle when the log no longer shows where the last one ended (none
    /// ran, or log cleanup removed its record): recording that is what lets the next lite
    /// vacuum run.
    pub fn is_idle(&self) -> bool {
        let Some(previous) = self.previous_vacuumed_through else {
            return false;
        };
        self.deletions.is_empty()
            && self.commits_from <= previous.saturating_add(1)
            && self.vacuumed_through < previous.saturating_add(MIN_RECORDED_ADVANCE)
    }

    /// Bytes the plan deletes (where sizes are known).
    pub fn bytes_to_delete(&self) -> u64 {
        self.deletions.iter().filter_map(|d| d.size).sum()
    }
}

/// What a vacuum did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VacuumMetrics {
    /// The version vacuumed.
    pub version: Version,
    /// Files deleted (or already gone).
    pub files_deleted: usize,
    /// Bytes deleted (where sizes were known).
    pub bytes_deleted: u64,
    /// The versions of the `VACUUM START` and `VACUUM END` commits; `None` when the plan was
    /// idle ([`VacuumPlan::is_idle`]) and nothing was committed.
    pub start_version: Option<Version>,
    /// See `start_version`.
    pub end_version: Option<Version>,
    /// Whether a stop ended the deletions before every planned file was deleted.
    pub stopped: bool,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Deletes the files no retained version of a table needs. See the [module docs](self).
///
/// ```no_run
/// # async fn example() -> tarn_maintenance::Result<()> {
/// use tarn_maintenance::vacuum::{Vacuum, VacuumMode};
/// let table = tarn::Table::open("/data/events").await?;
/// let plan = Vacuum::new(table.clone()).with_mode(VacuumMode::Lite).plan().await?;
/// println!("{} files to delete", plan.deletions.len());
/// let metrics = Vacuum::new(table).execute_plan(plan).await?;
/// println!("deleted {}", metrics.files_deleted);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Vacuum {
    table: Table,
    mode: VacuumMode,
    retention_ms: Option<i64>,
    force: bool,
    now_ms: Option<i64>,
    progress: Option<ProgressFn>,
    stop: Option<crate::Stop>,
}

impl std::fmt::Debug for Vacuum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vacuum")
            .field("table", &self.table.location().to_string())
            .field("mode", &self.mode)
            .field("retention_ms", &self.retention_ms)
            .field("force", &self.force)
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl Vacuum {
    /// A full vacuum of `table` with the table's retention.
    pub fn new(table: Table) -> Self {
        Self {
            table,
            mode: VacuumMode::Full,
            retention_ms: None,
            force: false,
            now_ms: None,
            progress: None,
            stop: None,
        }
    }

    /// Full (list the table) or lite (read the log only).
    pub fn with_mode(mut self, mode: VacuumMode) -> Self {
        self.mode = mode;
        self
    }

    /// Keeps what versions of the last `ms` milliseconds need, instead of the table's
    /// `delta.deletedFileRetentionDuration`. Shorter than the table's is refused unless
    /// [`Vacuum::with_force`].
    pub fn with_retention_ms(mut self, ms: i64) -> Self {
        self.retention_ms = Some(ms);
        self
    }

    /// Allows a retention shorter than the table's: time travel to the versions in between
    /// stops working, and readers still reading them fail.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Plans for this time (ms since the epoch) instead of the clock's.
    pub fn with_now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// Reports progress after each batch of deletions.
    pub fn with_progress(
        mut self,
        progress: impl Fn(VacuumProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Stops cleanly when `stop` is requested: the batches of deletions in flight finish, no
    /// new one starts, and `VACUUM END` says `STOPPED` (so the next lite vacuum starts where
    /// this one did).
    pub fn with_stop(mut self, stop: crate::Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Decides what to delete; deletes nothing.
    pub async fn plan(&self) -> Result<VacuumPlan> {
        let snapshot = self.table.snapshot().await?;
        // PROTOCOL.md, "VACUUM Protocol Check": a vacuum checks the writer protocol.
        tarn::protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())
            .map_err(tarn::Error::from)?;
        let table_retention = Retention::from_configuration(snapshot.properties())
            .map_err(tarn::Error::from)?
            .deleted_file_ms;
        let retention_ms = self.retention_ms.unwrap_or(table_retention);
        if retention_ms < 0 {
            return Err(MaintenanceError::InvalidArgument {
                argument: "retention",
                reason: format!("{retention_ms} ms is negative"),
            });
        }
        if retention_ms < table_retention && !self.force {
            return Err(MaintenanceError::RetentionTooShort {
                requested: describe_retention(retention_ms),
                table: describe_retention(table_retention),
            });
        }
        let now_ms = self.now_ms.unwrap_or_else(|| Utc::now().timestamp_millis());
        let cutoffs = Cutoffs::new(now_ms, retention_ms);
        let location = snapshot.location();
        let resolver = snapshot.path_resolver();
        let scan = commits::read_removes(location, &resolver, snapshot.version()).await?;
        // Lite needs every commit since the last vacuum: the first time, the whole log; after
        // that, from the version after the one the last vacuum dealt with.
        let first_needed = scan.previous_through.map_or(0, |through| through + 1);
        if self.mode == VacuumMode::Lite && scan.from > first_needed {
            return Err(MaintenanceError::LiteNeedsLog {
                table: location.to_string(),
                from: scan.from,
            });
        }
        let referenced = referenced_files(&snapshot, &resolver, cutoffs).await?;
        let partition_columns: Vec<String> = snapshot
            .partition_column_names()
            .into_iter()
            .map(|(_, physical)| physical.to_owned())
            .collect();
        let root = location.root().clone();
        let (deletions, files_listed, outside) = match self.mode {
            VacuumMode::Lite => (
                plan_lite(
                    &root,
                    &scan.removes,
                    &referenced,
                    &partition_columns,
                    cutoffs,
                ),
                None,
                0,
            ),
            VacuumMode::Full => {
                let listing = list::list_table(location, &partition_columns).await?;
                let count = listing.files.len() + listing.outside_through_links;
                let deletions = plan_full(
                    &root,
                    listing.files,
                    &referenced,
                    &scan.removes,
                    &partition_columns,
                    cutoffs,
                );
                (deletions, Some(count), listing.outside_through_links)
            }
        };
        Ok(VacuumPlan {
            version: snapshot.version(),
            mode: self.mode,
            now_ms,
            retention_ms,
            table_retention_ms: table_retention,
            cutoffs,
            commits_from: scan.from,
            files_listed,
            files_referenced: referenced.len(),
            files_outside_through_links: outside,
            vacuumed_through: vacuumed_through(snapshot.version(), &scan.removes, cutoffs),
            previous_vacuumed_through: scan.previous_through,
            deletions,
        })
    }

    /// Plans and executes the vacuum.
    pub async fn execute(self) -> Result<VacuumMetrics> {
        let plan = self.plan().await?;
        self.execute_plan(plan).await
    }

    /// Executes a plan: `VACUUM START`, the deletions in batches, `VACUUM END`. A deletion
    /// that fails ends the vacuum with the error after recording `VACUUM END` with status
    /// `FAILED` (the files deleted so far stay deleted: none was needed).
    ///
    /// Commits that landed after the plan's version are read first, and a planned file that
    /// one of them adds again (a restore of an old version, say) is kept: a plan executed late
    /// never deletes a file the table has taken back.
    pub async fn execute_plan(&self, mut plan: VacuumPlan) -> Result<VacuumMetrics> {
        let started = Instant::now();
        let mut metrics = VacuumMetrics {
            version: plan.version,
            ..VacuumMetrics::default()
        };
        let snapshot = self.table.snapshot().await?;
        if snapshot.version() > plan.version {
            let taken_back =
                commits::read_adds(snapshot.location(), &snapshot.path_resolver(), plan.version)
                    .await?;
            plan.deletions
                .retain(|deletion| !taken_back.contains(&deletion.object));
        }
        if plan.is_idle() {
            // Nothing to delete and little to record: two commits saying so would only grow
            // the log (a maintenance job vacuums every few minutes).
            metrics.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            return Ok(metrics);
        }
        metrics.start_version = self.record_start(&plan).await?;
        let result = self.delete(&plan, &mut metrics).await;
        let status = match &result {
            Err(_) => "FAILED",
            Ok(()) if metrics.files_deleted < plan.deletions.len() => {
                metrics.stopped = true;
                "STOPPED"
            }
            Ok(()) => "COMPLETED",
        };
        let end = self.record_end(&plan, &metrics, status).await;
        result?;
        metrics.end_version = end?;
        metrics.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(metrics)
    }

    async fn record_start(&self, plan: &VacuumPlan) -> Result<Option<Version>> {
        let snapshot = self.table.snapshot().await?;
        let mut tx = snapshot.transaction("VACUUM START", ReadSet::Nothing)?;
        tx.parameter("retentionCheckEnabled", (!self.force).to_string());
        tx.parameter(
            "defaultRetentionMillis",
            plan.table_retention_ms.to_string(),
        );
        tx.parameter("specifiedRetentionMillis", plan.retention_ms.to_string());
        tx.parameter("vacuumType", plan.mode.to_string().to_uppercase());
        tx.metric("numFilesToDelete", plan.deletions.len());
        tx.metric("sizeOfDataToDelete", plan.bytes_to_delete());
        Ok(tx.commit().await?.version)
    }

    async fn record_end(
        &self,
        plan: &VacuumPlan,
        metrics: &VacuumMetrics,
        status: &str,
    ) -> Result<Option<Version>> {
        let snapshot = self.table.snapshot().await?;
        let mut tx = snapshot.transaction("VACUUM END", ReadSet::Nothing)?;
        tx.parameter("status", status);
        tx.metric("numDeletedFiles", metrics.files_deleted);
        tx.metric("numVacuumedDirectories", 0);
        if status == "COMPLETED" {
            tx.metric(VACUUMED_THROUGH_METRIC, plan.vacuumed_through);
        }
        Ok(tx.commit().await?.version)
    }

    async fn delete(&self, plan: &VacuumPlan, metrics: &mut VacuumMetrics) -> Result<()> {
        let location = self.table.location();
        let store = Arc::clone(location.store());
        let total = plan.deletions.len();
        let stop = self.stop.clone();
        let mut batches = futures::stream::iter(plan.deletions.chunks(DELETE_BATCH))
            .take_while(move |_| {
                futures::future::ready(!stop.as_ref().is_some_and(crate::Stop::is_requested))
            })
            .map(|batch| {
                let store = Arc::clone(&store);
                async move {
                    let paths: Vec<Path> = batch.iter().map(|d| d.object.clone()).collect();
                    let deleted = store
                        .delete_stream(futures::stream::iter(paths).map(Ok).boxed())
                        .map(|result| match result {
                            Ok(path) => Ok(path),
                            // Already gone (another vacuum got there first): nothing to do.
                            Err(object_store::Error::NotFound { path, .. }) => Ok(Path::from(path)),
                            Err(err) => Err(err),
                        })
                        .try_collect::<Vec<Path>>()
                        .await;
                    (batch, deleted)
                }
            })
            .buffer_unordered(DELETE_CONCURRENCY);
        while let Some((batch, deleted)) = batches.next().await {
            let deleted = deleted.map_err(|source| MaintenanceError::Storage {
                operation: "deleting",
                path: location.display_path(&batch[0].object),
                source,
            })?;
            location.remove_empty_directories(&deleted);
            metrics.files_deleted += batch.len();
            metrics.bytes_deleted += batch.iter().filter_map(|d| d.size).sum::<u64>();
            if let Some(report) = &self.progress {
                report(VacuumProgress {
                    files_deleted: metrics.files_deleted,
                    files_total: total,
                });
            }
        }
        Ok(())
    }
}

/// The files inside the table's root that the latest version or a retained tombstone names,
/// with their deletion vector files.
async fn referenced_files(
    snapshot: &tarn::Snapshot,
    resolver: &PathResolver,
    cutoffs: Cutoffs,
) -> Result<HashSet<Path>> {
    let mut referenced = HashSet::with_capacity(snapshot.num_files());
    for file in snapshot.files().iter() {
        if let Some(path) = in_table(resolver, file.path())? {
            referenced.insert(path);
        }
        if let Some(dv) = file.deletion_vector()
            && let Some(path) = deletion_vector_in_table(resolver, &dv)?
        {
            referenced.insert(path);
        }
    }
    for remove in snapshot.tombstones(Some(cutoffs.expired_ms)).await? {
        if let Some(path) = in_table(resolver, &remove.path)? {
            referenced.insert(path);
        }
        if let Some(dv) = &remove.deletion_vector
            && let Some(path) = deletion_vector_in_table(resolver, dv)?
        {
            referenced.insert(path);
        }
    }
    Ok(referenced)
}

/// The object path of a data file the log names, if it is inside the table's root. A path
/// that does not parse is an error: among the files a version references, it fails the
/// vacuum (the file it was meant to name could otherwise be deleted); among the removed
/// ones, it is skipped (a file vacuum cannot name, it does not delete).
pub(crate) fn in_table(resolver: &PathResolver, path_in_log: &str) -> Result<Option<Path>> {
    let parsed = DataFilePath::parse(path_in_log).map_err(tarn::Error::from)?;
    Ok(resolver
        .resolve_in_table(&parsed)
        .ok()
        .map(|resolved| resolved.path().clone()))
}

/// The object path of a deletion vector's file, if it has one inside the table's root.
pub(crate) fn deletion_vector_in_table(
    resolver: &PathResolver,
    descriptor: &tarn::protocol::actions::DeletionVectorDescriptor,
) -> Result<Option<Path>> {
    match tarn::deletion_vector::descriptor_object_path(resolver, descriptor) {
        Ok(Some(resolved)) if resolved.is_in_table() => Ok(Some(resolved.path().clone())),
        Ok(_) => Ok(None),
        // Outside the table and its locations: never a file vacuum would delete.
        Err(tarn::Error::Log(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A duration in ms as an operator writes it (`7d`, `36h`, `90m`, `15s`, `250ms`).
pub fn describe_retention(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (24 * 3600 * 1000, "d"),
        (3600 * 1000, "h"),
        (60 * 1000, "m"),
        (1000, "s"),
    ];
    for (size, unit) in UNITS {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    if ms == 0 {
        "0h".to_owned()
    } else {
        format!("{ms}ms")
    }
}
