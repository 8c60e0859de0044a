//! Lifecycle archiving: moving a table's cold files to an archive location (another bucket,
//! container, prefix or storage class), and bringing them back.
//!
//! [`Archive`] is a builder; [`Archive::plan`] reads the latest snapshot and decides, with the
//! pure [`plan_archive`], which files move and where; [`Archive::execute`] (or
//! [`Archive::execute_plan`]) copies them, verifies each copy, and commits. Two modes
//! ([`ArchiveMode`]):
//!
//! - **tier**: one commit per batch removes each hot path and adds its archive URI as an
//!   absolute path with the same statistics, partition values, deletion vector and row
//!   tracking fields, `dataChange = false`. Every version reads the same rows; vacuum later
//!   removes the hot copies.
//! - **detach**: the files leave the live table (`dataChange = true` removes) and are recorded
//!   in the table's archive manifest, the `tarn.archive` domain's `detached` records
//!   ([`tarn::protocol::archive_domain::DetachedFile`]).
//!
//! [`RestoreArchive`] brings archived files back: tiered ones are copied back under the table
//! root, detached ones re-added (with the deletes committed since they left applied first).
//!
//! The rules this module keeps (spec/archive.md):
//!
//! - **Copy, verify, commit; never delete.** Archiving never deletes a file: hot copies age out
//!   through vacuum, archive copies stay. A copy is verified (its size, and MD5 entity tags
//!   where both stores give them) before any commit names it.
//! - **Deterministic copies.** A file's copy is `<location>/<its path below the root>`, so a
//!   run that was stopped finds its copies when it runs again (a matching copy is reused, any
//!   other written again) and every file ends up exactly once: in the table or the manifest,
//!   hot or archived, never both.
//! - **One table per location.** The first run claims the location with a marker object
//!   (`_tarn_archive.json`, the table's id); a location claimed by another table is refused.
//! - **The location is declared** in the `tarn.archive` domain's `locations` by the same
//!   commit as the first files that live there, so readers that trust the table resolve it.
//! - **Concurrent writers win.** A batch commits only the files still active exactly as
//!   planned; a file another writer removed or changed meanwhile is skipped (its copy stays in
//!   the archive, unreferenced). A concurrent change of the `tarn.archive` domain makes the
//!   batch read the manifest again and recommit on top of it, never over it.

mod age;
mod copy;
mod execute;
mod placement;
mod plan;
mod replay;
mod restore;
mod rule;
mod target;

use std::sync::Arc;

use tarn::protocol::archive_domain::ArchiveConfiguration;
use tarn::protocol::data_path::DataFilePath;
use tarn::scan::FilePredicate;
use tarn::{Expr, PathResolver, ResolvedPath, Snapshot, StoreRegistry, Table};

use crate::Stop;
use crate::error::{MaintenanceError, Result};

pub use age::AddedAt;
pub use copy::SINGLE_PUT_LIMIT;
pub use execute::{ArchiveMetrics, ArchiveProgress, ArchiveProgressFn};
pub use placement::{FilePlacements, Placement};
pub use plan::{
    ArchiveFile, ArchivePlan, ArchiveRule, DeletionVectorCopy, PlanFile, PlanInput, SkippedFile,
    plan_archive,
};
pub use replay::{ReplayRefusal, ReplayStep, ReplayedCommit, plan_replay};
pub use restore::{
    DetachedRestore, RestoreArchive, RestoreMetrics, RestorePlan, RestoreProgress, TieredRestore,
};
pub use rule::{Age, ArchiveMode, check_storage_class};
pub use target::{ArchiveTarget, MARKER_NAME};

/// `commitInfo.operation` of an archive commit.
pub const ARCHIVE_OPERATION: &str = "ARCHIVE";

/// `commitInfo.operation` of a commit that brings archived files back.
pub const RESTORE_OPERATION: &str = "RESTORE ARCHIVE";

/// The operation parameter naming the run that committed (`commitInfo.operationParameters`).
pub const RUN_ID_PARAMETER: &str = "runId";

/// Batches commit once their copies reach this many bytes, unless told otherwise.
pub const DEFAULT_COMMIT_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// Batches commit once they hold this many files, unless told otherwise.
pub const DEFAULT_COMMIT_FILES: usize = 5_000;

/// Archives a table's files. See the [module docs](self).
///
/// ```no_run
/// # async fn example() -> tarn_maintenance::error::Result<()> {
/// use tarn_maintenance::archive::{Age, Archive, ArchiveMode};
/// let table = tarn::Table::open("s3://hot/events").await?;
/// let metrics = Archive::new(table, "s3://cold/events")
///     .with_filter(tarn::Expr::parse("day < '2026-01-01'")?)
///     .with_mode(ArchiveMode::Tier)
///     .with_storage_class("GLACIER_IR")
///     .execute()
///     .await?;
/// println!("{} files archived", metrics.files_archived);
/// # let _ = Age::parse("90d");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Archive {
    table: Table,
    location: String,
    filter: Option<Expr>,
    older_than: Option<Age>,
    mode: ArchiveMode,
    storage_class: Option<String>,
    now: Option<i64>,
    concurrency: usize,
    commit_bytes: u64,
    commit_files: usize,
    progress: Option<ArchiveProgressFn>,
    stop: Stop,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("table", &self.table.location().to_string())
            .field("location", &tarn::redact_uri(&self.location))
            .field("filter", &self.filter)
            .field("older_than", &self.older_than)
            .field("mode", &self.mode)
            .field("storage_class", &self.storage_class)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// An archive run of `table` to `location` (a URI or local path) in `tier` mode. A rule
    /// ([`Archive::with_filter`], [`Archive::with_older_than`]) is required.
    pub fn new(table: Table, location: impl Into<String>) -> Self {
        Self {
            table,
            location: location.into(),
            filter: None,
            older_than: None,
            mode: ArchiveMode::Tier,
            storage_class: None,
            now: None,
            concurrency: 4,
            commit_bytes: DEFAULT_COMMIT_BYTES,
            commit_files: DEFAULT_COMMIT_FILES,
            progress: None,
            stop: Stop::new(),
        }
    }

    /// Files whose partition values prove every row matches `filter`, a predicate on
    /// partition columns only (a file moves whole: only partition values are constant over
    /// a file, so only they decide exactly which rows move).
    pub fn with_filter(mut self, filter: Expr) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Files added to the table (by the commit that added them) at least `age` before now.
    pub fn with_older_than(mut self, age: Age) -> Self {
        self.older_than = Some(age);
        self
    }

    /// The mode (default: tier).
    pub fn with_mode(mut self, mode: ArchiveMode) -> Self {
        self.mode = mode;
        self
    }

    /// The storage class of the copies (`GLACIER_IR`, `COLDLINE`, `Cool`...): checked
    /// against the location's store when planning.
    pub fn with_storage_class(mut self, class: impl Into<String>) -> Self {
        self.storage_class = Some(class.into());
        self
    }

    /// The time the rule is applied at, in milliseconds since the epoch (default: the clock
    /// when planning).
    pub fn at(mut self, now_ms: i64) -> Self {
        self.now = Some(now_ms);
        self
    }

    /// Copies at once (default 4).
    pub fn with_concurrency(mut self, copies: usize) -> Self {
        self.concurrency = copies.max(1);
        self
    }

    /// Commit a batch once its copies reach this many bytes or files (defaults: 10 GiB, 5,000
    /// files), so that a long run keeps its progress as it goes.
    pub fn with_commit_every(mut self, bytes: u64, files: usize) -> Self {
        self.commit_bytes = bytes.max(1);
        self.commit_files = files.max(1);
        self
    }

    /// Stops the run once `stop` is requested: the copies in flight finish and commit, no
    /// other starts ([`ArchiveMetrics::files_not_started`] counts them; the next run archives
    /// them).
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Reports progress as copies finish and batches commit.
    pub fn with_progress(
        mut self,
        progress: impl Fn(ArchiveProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Plans the run on the latest version without changing anything (what `--dry-run`
    /// prints). Reads the log (and, for `--older-than`, the commits since the cutoff) and the
    /// location's marker; writes nothing.
    pub async fn plan(&self) -> Result<ArchivePlan> {
        if self.filter.is_none() && self.older_than.is_none() {
            return Err(MaintenanceError::InvalidArgument {
                argument: "rule",
                reason: "an archive run needs a rule: a predicate on partition columns \
                         (--where) or an age (--older-than), or both"
                    .to_owned(),
            });
        }
        let snapshot = self.table.snapshot().await?.with_statistics().await?;
        tarn::protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())
            .map_err(tarn::Error::from)?;
        let target = self.target(&snapshot)?;
        let storage_class = self
            .storage_class
            .as_deref()
            .map(|class| check_storage_class(target.location().store().scheme(), class))
            .transpose()
            .map_err(|reason| MaintenanceError::InvalidArgument {
                argument: "storage class",
                reason,
            })?;
        let predicate = self
            .filter
            .as_ref()
            .map(|filter| partition_predicate(filter, &snapshot))
            .transpose()?;
        let config = archive_configuration(&snapshot)?;
        let declared = is_declared(&config, &snapshot, &target)?;
        // The location must be this table's (or no table's yet).
        let resolver = archive_resolver(&snapshot, &config, &target)?;
        let marker = resolve_in_archive(&resolver, &target.marker_path())?;
        if let Some(found) = copy::read_marker(&marker).await?
            && let Some(reason) = copy::marker_conflict(&found, &snapshot.metadata().id)
        {
            return Err(MaintenanceError::ArchiveLocation {
                location: target.uri(),
                reason,
            });
        }
        let now = self
            .now
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let placements = FilePlacements::of(&snapshot);
        let ages = match self.older_than {
            Some(age) => {
                let hot: Vec<age::AgeQuery<'_>> = snapshot
                    .files()
                    .iter()
                    .filter(|f| matches!(placements.place(f.path()), Placement::Hot { .. }))
                    .map(|f| age::AgeQuery {
                        path: f.path(),
                        default_row_commit_version: f.default_row_commit_version(),
                        modification_time: f.modification_time(),
                    })
                    .collect();
                let cutoff = now.saturating_sub(age.as_millis());
                age::added_at(&self.table, &snapshot, &hot, cutoff).await?
            }
            None => Default::default(),
        };
        let files = snapshot
            .files()
            .iter()
            .map(|f| PlanFile {
                added_at: ages.get(f.path()).copied(),
                add: f.to_add(),
            })
            .collect();
        Ok(plan_archive(PlanInput {
            version: snapshot.version(),
            placements: &placements,
            files,
            target: &target,
            declared,
            mode: self.mode,
            storage_class,
            predicate: predicate.as_ref(),
            older_than: self.older_than,
            now,
        }))
    }

    /// Plans and executes the run.
    pub async fn execute(self) -> Result<ArchiveMetrics> {
        let plan = self.plan().await?;
        self.execute_plan(plan).await
    }

    /// Executes a plan made by [`Archive::plan`]: copies, verifies, commits in batches.
    pub async fn execute_plan(self, plan: ArchivePlan) -> Result<ArchiveMetrics> {
        execute::run(
            &self.table,
            plan,
            execute::RunOptions {
                concurrency: self.concurrency,
                commit_bytes: self.commit_bytes,
                commit_files: self.commit_files,
                progress: self.progress.clone(),
                stop: self.stop.clone(),
            },
        )
        .await
    }

    /// The location, normalised and checked against the table.
    fn target(&self, snapshot: &Snapshot) -> Result<ArchiveTarget> {
        let refuse = |reason: String| MaintenanceError::ArchiveLocation {
            location: tarn::redact_uri(&self.location),
            reason,
        };
        let location =
            StoreRegistry::normalize(&self.location).map_err(|e| refuse(e.to_string()))?;
        let target = ArchiveTarget::new(location);
        target
            .check_against(snapshot.location().root_location())
            .map_err(refuse)?;
        if target.location().store().scheme() == "file" {
            let path = std::path::PathBuf::from(target.location().to_display());
            if let Ok(meta) = std::fs::metadata(&path)
                && !meta.is_dir()
            {
                return Err(refuse("it is a file, not a directory".to_owned()));
            }
        }
        Ok(target)
    }
}

/// The oldest commit `restore-archive` may need to read for the table's detached files: the
/// first after the version the oldest detaching run read (its own commit is at or after it),
/// `None` when nothing is detached. Log cleanup keeps the log from there on.
pub fn oldest_commit_for_restore(snapshot: &Snapshot) -> Result<Option<u64>> {
    let config = archive_configuration(snapshot)?;
    if config.detached_count() == 0 {
        return Ok(None);
    }
    Ok(config
        .detached_files()
        .map_err(tarn::Error::from)?
        .iter()
        .map(|record| record.read_version + 1)
        .min())
}

/// `filter` made for the snapshot, refused unless it names partition columns only.
fn partition_predicate(filter: &Expr, snapshot: &Snapshot) -> Result<FilePredicate> {
    let predicate = FilePredicate::for_snapshot(filter, snapshot)?;
    let partitions = snapshot.partition_columns();
    let others: Vec<String> = predicate
        .predicate()
        .referenced_columns()
        .into_iter()
        .map(|path| path.join("."))
        .filter(|name| !partitions.contains(name))
        .collect();
    if !others.is_empty() {
        return Err(MaintenanceError::InvalidArgument {
            argument: "--where",
            reason: format!(
                "archiving moves whole files, so its predicate may name partition columns only \
                 ({}); {} {} not: use --older-than, or partition the table by what you archive by",
                if partitions.is_empty() {
                    "the table has none".to_owned()
                } else {
                    partitions.join(", ")
                },
                others.join(", "),
                if others.len() == 1 { "is" } else { "are" }
            ),
        });
    }
    Ok(predicate)
}

/// The table's `tarn.archive` configuration (an empty one when it has none).
pub(crate) fn archive_configuration(snapshot: &Snapshot) -> Result<ArchiveConfiguration> {
    Ok(ArchiveConfiguration::of_domains(snapshot.domain_metadata())
        .map_err(tarn::Error::from)?
        .unwrap_or_default())
}

/// Whether the configuration declares the target location already.
fn is_declared(
    config: &ArchiveConfiguration,
    snapshot: &Snapshot,
    target: &ArchiveTarget,
) -> Result<bool> {
    let declared = config
        .declared_locations(snapshot.location().root_location().store())
        .map_err(tarn::Error::from)?;
    Ok(declared.iter().any(|l| l == target.location()))
}

/// The resolver for paths in the archive: the table's, with the target declared (as it will
/// be once the first batch commits). A location the caller registered wins, as for readers.
pub(crate) fn archive_resolver(
    snapshot: &Snapshot,
    config: &ArchiveConfiguration,
    target: &ArchiveTarget,
) -> Result<PathResolver> {
    let mut config = config.clone();
    config.locations.push(target.uri());
    Ok(PathResolver::with_archive_configuration(
        Arc::clone(snapshot.location()),
        snapshot.version(),
        Ok(Some(config)),
    ))
}

/// Resolves a path in the archive location; one that would land in the table's root is a
/// location error (the location overlaps the table).
pub(crate) fn resolve_in_archive(resolver: &PathResolver, uri: &str) -> Result<ResolvedPath> {
    let path = DataFilePath::parse(uri).map_err(tarn::Error::from)?;
    let resolved = resolver.resolve(&path).map_err(tarn::Error::from)?;
    if resolved.is_in_table() {
        return Err(MaintenanceError::ArchiveLocation {
            location: uri.to_owned(),
            reason: "it resolves inside the table's root".to_owned(),
        });
    }
    Ok(resolved)
}
