//! `restore-archive`: bringing archived files back into the live table.
//!
//! [`RestoreArchive::plan`] selects, by a predicate (`--where`: files whose partition values
//! and statistics may hold a matching row), the table's **tiered** files (active files under
//! a declared archive location) and its **detached** files (the archive manifest's records).
//! [`RestoreArchive::execute`] then:
//!
//! - copies each tiered file back under the table's root, under a new name beside its
//!   original place (`<dir>/restored-<uuid>-<name>`), verifies the copy, and commits one
//!   `RESTORE ARCHIVE` per batch that swaps the archive URI for the hot path
//!   (`dataChange = false`; same statistics, partition values, deletion vector and row
//!   tracking fields). A new name, never the original one: vacuum may be deleting the
//!   original hot copy at this very moment (it was removed when the file was tiered), and a
//!   copy written to that path could be deleted right after it was committed.
//! - re-adds each detached file from its archive copy (`dataChange = true`, its archived
//!   deletion vector), after applying the deletes committed since it was detached
//!   (the `replay` module); a file some of whose rows those deletes remove is rewritten
//!   under the table's root without them. One commit, reading the whole table (so that a
//!   delete committed meanwhile makes it replay again rather than slip past), that also
//!   removes the records from the manifest. If a commit since the detach makes an exact
//!   restore impossible, nothing is restored and the error names the file and the version.
//!
//! Archive copies are never deleted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{BooleanArray, RecordBatch};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tarn::protocol::actions::{Action, Add};
use tarn::protocol::archive_domain::{ARCHIVE_DOMAIN, DetachedFile};
use tarn::protocol::data_path::{DataFilePath, encode_relative_path};
use tarn::protocol::row_tracking::RowTracking;
use tarn::scan::FilePredicate;
use tarn::{DataWriter, Expr, LogError, ReadSet, Snapshot, Table, WriterOptions};

use super::copy::copy_verified;
use super::placement::{FilePlacements, Placement};
use super::replay::{ReplayRefusal, ReplayStep, ReplayedCommit, plan_replay};
use super::{RESTORE_OPERATION, RUN_ID_PARAMETER, archive_configuration};
use crate::error::{MaintenanceError, Result};

/// How many times a commit is made again after conflicts before the run gives up.
const MAX_COMMIT_ROUNDS: usize = 20;

/// A tiered file to copy back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TieredRestore {
    /// Its path in the log: the archive URI.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The archive location it lives under.
    pub location: String,
    /// Its path below the location (decoded segments): where it came from below the root.
    pub relative: Vec<String>,
    /// Its `add`.
    #[serde(skip)]
    pub add: Add,
}

/// A detached file to re-add.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetachedRestore {
    /// Its path in the table before it was detached.
    pub path: String,
    /// Its archive copy.
    pub archive_path: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was detached (ms since the epoch).
    pub detached_at: i64,
    /// The version that detached it.
    pub detach_version: Option<u64>,
    /// The deletes (and updates) committed since, to apply (check) before it comes back.
    pub replay: Vec<ReplayStep>,
    /// Why it cannot come back exactly, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Its manifest record.
    #[serde(skip)]
    pub record: DetachedFile,
}

/// What a restore will do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestorePlan {
    /// The version planned from.
    pub version: u64,
    /// The predicate, as SQL (resolved against the table).
    #[serde(rename = "where")]
    pub filter: String,
    /// Tiered files to copy back.
    pub tiered: Vec<TieredRestore>,
    /// Detached files to re-add.
    pub detached: Vec<DetachedRestore>,
}

impl RestorePlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.tiered.is_empty() && self.detached.is_empty()
    }

    /// Bytes of the files brought back.
    pub fn bytes(&self) -> u64 {
        self.tiered.iter().map(|t| t.size).sum::<u64>()
            + self.detached.iter().map(|d| d.size).sum::<u64>()
    }

    /// The first detached file that cannot come back exactly, and why.
    pub fn first_refusal(&self) -> Option<(&str, &str)> {
        self.detached
            .iter()
            .find_map(|d| d.refused.as_deref().map(|r| (d.path.as_str(), r)))
    }
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreMetrics {
    /// The version the plan was made from.
    pub read_version: u64,
    /// The versions committed, in order.
    pub versions: Vec<u64>,
    /// Tiered files copied back.
    pub tiered_restored: u64,
    /// Detached files re-added (as they were, or rewritten).
    pub detached_restored: u64,
    /// Detached files rewritten without rows deleted since they were detached.
    pub files_rewritten: u64,
    /// Rows the replayed deletes removed from restored files.
    pub rows_deleted: u64,
    /// Bytes copied back.
    pub bytes_copied: u64,
    /// Commits made again after a concurrent commit conflicted.
    pub commit_retries: u64,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
}

/// Progress of a running restore, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreProgress {
    /// Files done (copied back, or read for replay).
    pub files_done: usize,
    /// Files planned.
    pub files_total: usize,
}

/// Brings archived files back: tiered files are copied back under the table's root, detached
/// ones re-added once the deletes committed since they left are applied (the
/// [`archive`](crate::archive) module docs; spec/archive.md, "Restore").
#[derive(Clone)]
pub struct RestoreArchive {
    table: Table,
    filter: Expr,
    concurrency: usize,
    progress: Option<Arc<dyn Fn(RestoreProgress) + Send + Sync>>,
}

impl std::fmt::Debug for RestoreArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreArchive")
            .field("table", &self.table.location().to_string())
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl RestoreArchive {
    /// Brings back the archived files of `table` that may hold rows matching `filter` (by
    /// partition values and statistics; `true` brings back everything).
    pub fn new(table: Table, filter: Expr) -> Self {
        Self {
            table,
            filter,
            concurrency: 4,
            progress: None,
        }
    }

    /// Copies at once (default 4).
    pub fn with_concurrency(mut self, copies: usize) -> Self {
        self.concurrency = copies.max(1);
        self
    }

    /// Reports progress as files are brought back.
    pub fn with_progress(
        mut self,
        progress: impl Fn(RestoreProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Plans the restore on the latest version (what `--dry-run` prints): selects the files
    /// and reads the commits since each detach to decide what to replay. Writes nothing.
    pub async fn plan(&self) -> Result<RestorePlan> {
        let snapshot = self.table.snapshot().await?.with_statistics().await?;
        plan_restore(&self.table, &snapshot, &self.filter).await
    }

    /// Plans and executes the restore. Refuses, restoring nothing, if a selected detached
    /// file cannot come back exactly.
    pub async fn execute(self) -> Result<RestoreMetrics> {
        let started = Instant::now();
        let plan = self.plan().await?;
        let mut metrics = RestoreMetrics {
            read_version: plan.version,
            ..RestoreMetrics::default()
        };
        if let Some((path, reason)) = plan.first_refusal() {
            let others = plan.detached.iter().filter(|d| d.refused.is_some()).count() - 1;
            let mut reason = reason.to_owned();
            if others > 0 {
                reason.push_str(&format!(
                    " ({others} more selected files are refused too; nothing was restored)"
                ));
            } else {
                reason.push_str("; nothing was restored");
            }
            return Err(MaintenanceError::RestoreRefused {
                path: path.to_owned(),
                reason,
            });
        }
        let total = plan.tiered.len() + plan.detached.len();
        let mut done = 0usize;
        if !plan.tiered.is_empty() {
            self.restore_tiered(plan.tiered.clone(), &mut metrics, &mut done, total)
                .await?;
        }
        if !plan.detached.is_empty() {
            self.restore_detached(&mut metrics).await?;
            done = total;
            self.report(done, total);
        }
        metrics.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(metrics)
    }

    fn report(&self, files_done: usize, files_total: usize) {
        if let Some(progress) = &self.progress {
            progress(RestoreProgress {
                files_done,
                files_total,
            });
        }
    }

    /// Copies tiered files back and swaps them in, in one commit.
    async fn restore_tiered(
        &self,
        files: Vec<TieredRestore>,
        metrics: &mut RestoreMetrics,
        done: &mut usize,
        total: usize,
    ) -> Result<()> {
        let snapshot = self.table.snapshot().await?;
        let resolver = snapshot.path_resolver();
        let mut copies = futures::stream::iter(files.into_iter().map(|file| {
            let resolver = resolver.clone();
            async move {
                let relative = restored_name(&file.relative);
                let from = resolver
                    .resolve(&DataFilePath::parse(&file.path).map_err(tarn::Error::from)?)
                    .map_err(tarn::Error::from)?;
                let to = resolver
                    .resolve(&DataFilePath::Relative(relative.clone()))
                    .map_err(tarn::Error::from)?;
                // A fresh name: nothing is there to reuse.
                copy_verified(&from, &to, Some(file.size), None).await?;
                Ok::<_, MaintenanceError>((file, relative))
            }
        }))
        .buffer_unordered(self.concurrency);
        let mut copied: Vec<(TieredRestore, String)> = Vec::new();
        while let Some(result) = copies.next().await {
            let (file, relative) = result?;
            metrics.bytes_copied += file.size;
            copied.push((file, relative));
            *done += 1;
            self.report(*done, total);
        }
        drop(copies);
        for round in 0..MAX_COMMIT_ROUNDS {
            let snapshot = self.table.snapshot().await?;
            let active: HashMap<&str, Option<String>> = snapshot
                .files()
                .iter()
                .map(|f| (f.path(), f.deletion_vector_id()))
                .collect();
            let (valid, stale): (Vec<_>, Vec<_>) = copied.into_iter().partition(|(file, _)| {
                active.get(file.path.as_str())
                    == Some(&file.add.deletion_vector.as_ref().map(|dv| dv.unique_id()))
            });
            drop(active);
            if !stale.is_empty() {
                // Their copies are no file's: vacuum removes them.
                tracing::info!(
                    files = stale.len(),
                    "a concurrent commit moved tiered files"
                );
            }
            if valid.is_empty() {
                return Ok(());
            }
            let paths: HashSet<&str> = valid.iter().map(|(f, _)| f.path.as_str()).collect();
            let mut tx =
                snapshot.transaction(RESTORE_OPERATION, ReadSet::files(paths.iter().copied()))?;
            for view in snapshot.files().iter().filter(|f| paths.contains(f.path())) {
                tx.remove_file(&view, false);
            }
            for (file, relative) in &valid {
                let mut add = file.add.clone();
                add.path = encode_relative_path(relative);
                add.data_change = false;
                tx.add_existing_file(add);
            }
            tx.set_row_ids_preserved(true);
            tx.parameter(
                "predicate",
                serde_json::to_string(&[self.filter.to_string()]).unwrap_or_default(),
            );
            tx.parameter("mode", "tier");
            match tx.commit().await {
                Ok(summary) => {
                    metrics.versions.extend(summary.version);
                    metrics.tiered_restored += valid.len() as u64;
                    return Ok(());
                }
                Err(tarn::Error::Log(LogError::CommitConflict { .. }))
                    if round + 1 < MAX_COMMIT_ROUNDS =>
                {
                    metrics.commit_retries += 1;
                    copied = valid;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Re-adds detached files (rewriting those the replayed deletes reach), in one commit
    /// that reads the whole table; planned again from scratch after a conflict.
    async fn restore_detached(&self, metrics: &mut RestoreMetrics) -> Result<()> {
        for round in 0..MAX_COMMIT_ROUNDS {
            let snapshot = self.table.snapshot().await?.with_statistics().await?;
            let mut plan = plan_restore(&self.table, &snapshot, &self.filter).await?;
            plan.tiered.clear();
            if let Some((path, reason)) = plan.first_refusal() {
                return Err(MaintenanceError::RestoreRefused {
                    path: path.to_owned(),
                    reason: format!("{reason}; nothing more was restored"),
                });
            }
            if plan.detached.is_empty() {
                return Ok(());
            }
            let mut tx = snapshot.transaction(RESTORE_OPERATION, ReadSet::WholeTable)?;
            let mut rows_deleted = 0u64;
            let mut files_rewritten = 0u64;
            let outcome: Result<()> = async {
                for file in &plan.detached {
                    match replay_file(&snapshot, file).await? {
                        Replayed::AsIs => {
                            tx.add_existing_file(file.record.restored_add());
                        }
                        Replayed::Rewritten { adds, deleted } => {
                            rows_deleted += deleted;
                            files_rewritten += 1;
                            for add in adds {
                                tx.add_file(add);
                            }
                        }
                    }
                }
                Ok(())
            }
            .await;
            if let Err(err) = outcome {
                tx.abort().await;
                return Err(err);
            }
            let mut config = archive_configuration(&snapshot)?;
            let restored: HashSet<(&str, &str)> = plan
                .detached
                .iter()
                .map(|d| (d.record.add.path.as_str(), d.record.archive_path.as_str()))
                .collect();
            let manifest: Vec<DetachedFile> = config
                .detached_files()
                .map_err(tarn::Error::from)?
                .into_iter()
                .filter(|r| !restored.contains(&(r.add.path.as_str(), r.archive_path.as_str())))
                .collect();
            config
                .set_detached_files(&manifest)
                .map_err(tarn::Error::from)?;
            tx.set_domain_metadata(ARCHIVE_DOMAIN, config.to_configuration());
            tx.parameter(
                "predicate",
                serde_json::to_string(&[self.filter.to_string()]).unwrap_or_default(),
            );
            tx.parameter("mode", "detach");
            tx.metric("numRestoredFiles", plan.detached.len());
            tx.metric("numReplayedDeletedRows", rows_deleted);
            match tx.commit().await {
                Ok(summary) => {
                    metrics.versions.extend(summary.version);
                    metrics.detached_restored += plan.detached.len() as u64;
                    metrics.files_rewritten += files_rewritten;
                    metrics.rows_deleted += rows_deleted;
                    return Ok(());
                }
                // The rewritten files were deleted by the failed commit; plan again.
                Err(tarn::Error::Log(LogError::CommitConflict { .. }))
                    if round + 1 < MAX_COMMIT_ROUNDS =>
                {
                    metrics.commit_retries += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

/// `<dir>/restored-<uuid>-<name>` for a file that lived at `relative` below the root.
fn restored_name(relative: &[String]) -> String {
    let (name, dirs) = relative
        .split_last()
        .map_or(("file", &[][..]), |(name, dirs)| (name.as_str(), dirs));
    let mut segments: Vec<String> = dirs.to_vec();
    segments.push(format!("restored-{}-{name}", uuid::Uuid::new_v4().simple()));
    segments.join("/")
}

/// Plans a restore of `snapshot` (with statistics).
async fn plan_restore(table: &Table, snapshot: &Snapshot, filter: &Expr) -> Result<RestorePlan> {
    tarn::protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())
        .map_err(tarn::Error::from)?;
    let predicate = FilePredicate::for_snapshot(filter, snapshot)?;
    let placements = FilePlacements::of(snapshot);
    let mut tiered = Vec::new();
    for file in snapshot.files().iter() {
        if let Placement::Archive { location, relative } = placements.place(file.path()) {
            let add = file.to_add();
            if predicate.may_match_add(&add) {
                tiered.push(TieredRestore {
                    path: add.path.clone(),
                    size: u64::try_from(add.size).unwrap_or(0),
                    location,
                    relative,
                    add,
                });
            }
        }
    }
    tiered.sort_by(|a, b| a.path.cmp(&b.path));
    let config = archive_configuration(snapshot)?;
    let records: Vec<DetachedFile> = config
        .detached_files()
        .map_err(tarn::Error::from)?
        .into_iter()
        .filter(|r| predicate.may_match_add(&r.add))
        .collect();
    let detached = plan_detached(table, snapshot, records).await?;
    Ok(RestorePlan {
        version: snapshot.version(),
        filter: predicate.predicate().to_string(),
        tiered,
        detached,
    })
}

/// For each detached record: the commit that detached it, the deletes to replay since, or
/// why it cannot come back exactly.
async fn plan_detached(
    table: &Table,
    snapshot: &Snapshot,
    records: Vec<DetachedFile>,
) -> Result<Vec<DetachedRestore>> {
    let mut commits = CommitCache::new(table, snapshot.version());
    let active: HashSet<&str> = snapshot.files().iter().map(|f| f.path()).collect();
    let physical_partitions: BTreeMap<&str, ()> = snapshot
        .partition_column_names()
        .into_iter()
        .map(|(_, physical)| (physical, ()))
        .collect();
    let mut detach_versions: HashMap<String, Result<u64, ReplayRefusal>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let detach_version = match detach_versions.get(&record.run_id) {
            Some(found) => found.clone(),
            None => {
                let found = commits
                    .find_run(&record.run_id, record.read_version)
                    .await?;
                detach_versions.insert(record.run_id.clone(), found.clone());
                found
            }
        };
        let mut restore = DetachedRestore {
            path: record.add.path.clone(),
            archive_path: record.archive_path.clone(),
            size: u64::try_from(record.add.size).unwrap_or(0),
            detached_at: record.detached_at,
            detach_version: detach_version.as_ref().ok().copied(),
            replay: Vec::new(),
            refused: None,
            record,
        };
        let keys: BTreeMap<&str, ()> = restore
            .record
            .add
            .partition_values
            .keys()
            .map(|k| (k.as_str(), ()))
            .collect();
        if active.contains(restore.record.add.path.as_str())
            || active.contains(restore.record.archive_path.as_str())
        {
            restore.refused = Some(
                "the file is in the live table again (a RESTORE or another writer brought it \
                 back); bringing its archive copy back too would duplicate its rows"
                    .to_owned(),
            );
        } else if keys != physical_partitions {
            restore.refused = Some(
                "the table's partition columns changed since it was detached; its partition \
                 values no longer fit the table"
                    .to_owned(),
            );
        } else {
            match detach_version {
                Err(refusal) => restore.refused = Some(refusal.reason),
                Ok(version) => match commits.range(version + 1).await? {
                    Err(refusal) => restore.refused = Some(describe(&refusal)),
                    Ok(later) => match plan_replay(&later) {
                        Ok(steps) => {
                            restore.replay = steps;
                            if let Some(bad) = unusable_step(snapshot, &restore.replay) {
                                restore.refused = Some(bad);
                            }
                        }
                        Err(refusal) => restore.refused = Some(describe(&refusal)),
                    },
                },
            }
        }
        out.push(restore);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn describe(refusal: &ReplayRefusal) -> String {
    format!(
        "version {} was committed after it was detached and {}",
        refusal.version, refusal.reason
    )
}

/// A replay step whose predicate does not fit the table as it is now (a column dropped),
/// named.
fn unusable_step(snapshot: &Snapshot, steps: &[ReplayStep]) -> Option<String> {
    steps.iter().find_map(|step| {
        FilePredicate::for_snapshot(step.expr(), snapshot)
            .err()
            .map(|e| {
                format!(
                    "version {} was committed after it was detached, and its predicate does not \
                     fit the table now: {e}",
                    step.version()
                )
            })
    })
}

/// Commits read once for every record that needs them.
struct CommitCache<'a> {
    table: &'a Table,
    latest: u64,
    read: HashMap<u64, Option<Arc<Vec<Action>>>>,
}

impl<'a> CommitCache<'a> {
    fn new(table: &'a Table, latest: u64) -> Self {
        Self {
            table,
            latest,
            read: HashMap::new(),
        }
    }

    async fn get(&mut self, version: u64) -> Result<Option<Arc<Vec<Action>>>> {
        if let Some(found) = self.read.get(&version) {
            return Ok(found.clone());
        }
        let actions = self.table.commit_actions(version).await?.map(Arc::new);
        self.read.insert(version, actions.clone());
        Ok(actions)
    }

    /// The version of the commit of run `run_id`, searched from `read_version + 1`.
    async fn find_run(
        &mut self,
        run_id: &str,
        read_version: u64,
    ) -> Result<Result<u64, ReplayRefusal>> {
        for version in read_version + 1..=self.latest {
            let Some(actions) = self.get(version).await? else {
                return Ok(Err(ReplayRefusal {
                    version,
                    reason: format!(
                        "the log no longer holds version {version} (log cleanup removed it), so \
                         the commit that detached the file and the deletes since cannot be \
                         checked"
                    ),
                }));
            };
            let ours = actions.iter().any(|action| {
                matches!(action, Action::CommitInfo(info)
                    if info.operation_parameters.as_ref()
                        .and_then(|p| p.get(RUN_ID_PARAMETER))
                        .and_then(serde_json::Value::as_str) == Some(run_id))
            });
            if ours {
                return Ok(Ok(version));
            }
        }
        Ok(Err(ReplayRefusal {
            version: read_version,
            reason: format!(
                "no commit after version {read_version} is the one that detached it (run \
                 {run_id}); the manifest does not match the log"
            ),
        }))
    }

    /// The commits from `from` to the latest, or the first one missing.
    async fn range(&mut self, from: u64) -> Result<Result<Vec<ReplayedCommit>, ReplayRefusal>> {
        let mut out = Vec::new();
        for version in from..=self.latest {
            match self.get(version).await? {
                Some(actions) => out.push(ReplayedCommit {
                    version,
                    actions: actions.as_ref().clone(),
                }),
                None => {
                    return Ok(Err(ReplayRefusal {
                        version,
                        reason: "is no longer in the log (log cleanup removed it): the deletes \
                                 it may hold cannot be applied"
                            .to_owned(),
                    }));
                }
            }
        }
        Ok(Ok(out))
    }
}

/// What replaying the deletes did to one detached file.
enum Replayed {
    /// No delete reaches it: it comes back as it is.
    AsIs,
    /// Deletes removed rows: these files replace it.
    Rewritten { adds: Vec<Add>, deleted: u64 },
}

/// Applies a detached file's replay steps: reads it only when a step may reach its rows.
async fn replay_file(snapshot: &Snapshot, file: &DetachedRestore) -> Result<Replayed> {
    let add = file.record.restored_add();
    let mut reaching = Vec::new();
    for step in &file.replay {
        let predicate = FilePredicate::for_snapshot(step.expr(), snapshot)?;
        if predicate.may_match_add(&add) {
            reaching.push((step, predicate.predicate().clone()));
        }
    }
    if reaching.is_empty() {
        return Ok(Replayed::AsIs);
    }
    let materialized = RowTracking::of(snapshot.protocol(), snapshot.metadata())
        .map_err(tarn::Error::from)?
        .materialized_columns()
        .cloned();
    let view = snapshot
        .with_added_files(std::slice::from_ref(&add))
        .await?;
    let mut scan = view.scan().with_files([add.path.clone()]);
    let mut options = WriterOptions::new().with_data_change(true);
    if let Some(columns) = materialized {
        scan = scan.with_row_tracking();
        options = options.with_row_tracking_columns(columns);
    }
    let scan = scan.build().await?;
    let mut writer = DataWriter::new(
        Arc::clone(snapshot.location()),
        snapshot.schema(),
        snapshot.partition_columns(),
        snapshot.properties(),
        options,
    )?;
    let result: Result<u64> = async {
        let mut deleted = 0u64;
        let mut batches = scan.execute();
        while let Some(mut batch) = batches.try_next().await? {
            for (step, expr) in &reaching {
                let hit = matching_rows(&batch, expr, &file.path)?;
                match step {
                    ReplayStep::Update {
                        version, predicate, ..
                    } if hit.true_count() > 0 => {
                        return Err(MaintenanceError::RestoreRefused {
                            path: file.path.clone(),
                            reason: format!(
                                "version {version} updated {} of its rows ({predicate}) after \
                                 it was detached; tarn cannot apply the update to them, and \
                                 bringing them back unchanged would be wrong; nothing was \
                                 restored",
                                hit.true_count()
                            ),
                        });
                    }
                    ReplayStep::Update { .. } => {}
                    ReplayStep::Delete { .. } => {
                        deleted += hit.true_count() as u64;
                        let keep: BooleanArray =
                            hit.iter().map(|value| Some(value != Some(true))).collect();
                        batch = arrow_select::filter::filter_record_batch(&batch, &keep).map_err(
                            |source| MaintenanceError::Compute {
                                context: format!("removing deleted rows of {}", file.path),
                                source,
                            },
                        )?;
                    }
                }
            }
            if batch.num_rows() > 0 {
                writer.write(&batch).await?;
            }
        }
        Ok(deleted)
    }
    .await;
    let deleted = match result {
        Ok(deleted) => deleted,
        Err(err) => {
            writer.abort().await;
            return Err(err);
        }
    };
    if deleted == 0 {
        writer.abort().await;
        return Ok(Replayed::AsIs);
    }
    let output = writer.finish().await?;
    Ok(Replayed::Rewritten {
        adds: output.adds,
        deleted,
    })
}

/// The rows of `batch` for which `expr` is true (null where it is null).
fn matching_rows(batch: &RecordBatch, expr: &Expr, path: &str) -> Result<BooleanArray> {
    let result = expr
        .evaluate_predicate(batch)
        .map_err(|e| MaintenanceError::RestoreRefused {
            path: path.to_owned(),
            reason: format!("cannot evaluate {expr} on its rows: {e}; nothing was restored"),
        })?;
    Ok(result)
}
