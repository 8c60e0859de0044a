//! Running an archive plan: copies in parallel, verified, then commits in batches.
//!
//! The location is claimed first (its marker). Copies run a few at a time; each finished copy
//! joins the pending batch, which commits once it holds enough bytes or files, and at the end.
//! A batch commits on top of the latest version, only the files still active exactly as
//! planned (same path, same deletion vector), and retries on a conflict after reading the
//! table (and its `tarn.archive` domain) again. A failure stops the run without committing
//! the pending batch: its copies stay in the archive, where the next run finds and reuses
//! them. A [`Stop`] lets the copies in flight finish, commits them, and starts no other.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tarn::protocol::archive_domain::{ARCHIVE_DOMAIN, DetachedFile};
use tarn::protocol::data_path::DataFilePath;
use tarn::{LogError, ReadSet, Table};

use super::copy::{Copied, LocationMarker, claim_location, copy_verified};
use super::plan::{ArchiveFile, ArchivePlan};
use super::rule::ArchiveMode;
use super::target::ArchiveTarget;
use super::{
    ARCHIVE_OPERATION, RUN_ID_PARAMETER, archive_configuration, archive_resolver,
    resolve_in_archive,
};
use crate::Stop;
use crate::error::{MaintenanceError, Result};

/// How many times a batch is recommitted after conflicts before the run gives up.
const MAX_COMMIT_ROUNDS: usize = 20;

/// What an archive run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveMetrics {
    /// The version the plan was made from.
    pub read_version: u64,
    /// The run's id (`commitInfo.operationParameters.runId` of its commits).
    pub run_id: String,
    /// The versions committed, in order.
    pub versions: Vec<u64>,
    /// Files the plan selected.
    pub files_planned: usize,
    /// Files archived (committed).
    pub files_archived: u64,
    /// Bytes of the files archived.
    pub bytes_archived: u64,
    /// Copies written by this run.
    pub files_copied: u64,
    /// Copies an earlier run had written, found matching and reused.
    pub files_reused: u64,
    /// Deletion vector files copied (or reused) beside detached files.
    pub deletion_vectors_copied: u64,
    /// Files skipped because a concurrent writer removed or changed them.
    pub files_skipped: u64,
    /// Files not started because a stop was requested (the next run archives them).
    pub files_not_started: u64,
    /// Commits made again after a concurrent commit conflicted.
    pub commit_retries: u64,
    /// Wall time, in milliseconds.
    pub duration_ms: u64,
}

/// Progress of a running archive, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveProgress {
    /// Files copied (or reused) so far.
    pub files_done: usize,
    /// Files planned.
    pub files_total: usize,
    /// Bytes copied (or reused) so far.
    pub bytes_done: u64,
    /// Bytes planned.
    pub bytes_total: u64,
    /// Batches committed so far.
    pub commits: usize,
}

/// A callback told of progress.
pub type ArchiveProgressFn = Arc<dyn Fn(ArchiveProgress) + Send + Sync>;

/// How a plan runs.
pub(crate) struct RunOptions {
    pub(crate) concurrency: usize,
    pub(crate) commit_bytes: u64,
    pub(crate) commit_files: usize,
    pub(crate) progress: Option<ArchiveProgressFn>,
    pub(crate) stop: Stop,
}

/// Runs `plan` on `table`.
pub(crate) async fn run(
    table: &Table,
    plan: ArchivePlan,
    options: RunOptions,
) -> Result<ArchiveMetrics> {
    let started = Instant::now();
    let mut metrics = ArchiveMetrics {
        read_version: plan.version,
        run_id: uuid::Uuid::new_v4().to_string(),
        files_planned: plan.files.len(),
        ..ArchiveMetrics::default()
    };
    if plan.is_empty() {
        return Ok(metrics);
    }
    let snapshot = table.snapshot().await?;
    let location = tarn::StoreRegistry::normalize(&plan.location)?;
    let target = ArchiveTarget::new(location);
    let config = archive_configuration(&snapshot)?;
    let archive = archive_resolver(&snapshot, &config, &target)?;
    let marker = resolve_in_archive(&archive, &target.marker_path())?;
    claim_location(
        &marker,
        &target.uri(),
        &LocationMarker {
            table_id: snapshot.metadata().id.clone(),
            table: snapshot.location().to_string(),
        },
    )
    .await?;
    let source = snapshot.path_resolver();
    let mut progress = ArchiveProgress {
        files_done: 0,
        files_total: plan.files.len(),
        bytes_done: 0,
        bytes_total: plan.bytes(),
        commits: 0,
    };
    let storage_class = plan.storage_class.clone();
    let mut copies = futures::stream::iter(plan.files.iter().cloned().map(|file| {
        let (source, archive) = (source.clone(), archive.clone());
        let storage_class = storage_class.clone();
        let stop = options.stop.clone();
        async move {
            // A stop lets the copies in flight finish and commit, and starts no other.
            if stop.is_requested() {
                return Ok(None);
            }
            let copied = copy_file(&source, &archive, &file, storage_class.as_deref()).await?;
            Ok::<_, MaintenanceError>(Some((file, copied)))
        }
    }))
    .buffer_unordered(options.concurrency.max(1));
    let batch = Batch {
        plan: &plan,
        target: &target,
    };
    let mut pending: Vec<ArchiveFile> = Vec::new();
    let mut pending_bytes = 0u64;
    while let Some(done) = copies.next().await {
        let Some((file, copied)) = done? else {
            metrics.files_not_started += 1;
            continue;
        };
        match copied.data {
            Copied::Reused => metrics.files_reused += 1,
            Copied::Written => metrics.files_copied += 1,
        }
        metrics.deletion_vectors_copied += u64::from(copied.deletion_vector);
        progress.files_done += 1;
        progress.bytes_done += file.size;
        pending_bytes += file.size;
        pending.push(file);
        if pending_bytes >= options.commit_bytes || pending.len() >= options.commit_files {
            batch
                .commit(table, std::mem::take(&mut pending), &mut metrics)
                .await?;
            pending_bytes = 0;
            progress.commits += 1;
        }
        if let Some(report) = &options.progress {
            report(progress);
        }
    }
    drop(copies);
    if !pending.is_empty() {
        batch.commit(table, pending, &mut metrics).await?;
        progress.commits += 1;
        if let Some(report) = &options.progress {
            report(progress);
        }
    }
    metrics.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(metrics)
}

/// What copying one file did.
struct FileCopied {
    data: Copied,
    deletion_vector: bool,
}

/// Copies a file (and, when detaching, its deletion vector file) into the archive, verified.
async fn copy_file(
    source: &tarn::PathResolver,
    archive: &tarn::PathResolver,
    file: &ArchiveFile,
    storage_class: Option<&str>,
) -> Result<FileCopied> {
    let from = source
        .resolve(&DataFilePath::parse(&file.path).map_err(tarn::Error::from)?)
        .map_err(tarn::Error::from)?;
    let to = resolve_in_archive(archive, &file.archive_path)?;
    let data = copy_verified(&from, &to, Some(file.size), storage_class).await?;
    let mut deletion_vector = false;
    if let (Some(copy), Some(dv)) = (&file.deletion_vector, &file.add.deletion_vector) {
        let from = tarn::deletion_vector::descriptor_object_path(source, dv)?.ok_or_else(|| {
            MaintenanceError::CopyMismatch {
                from: file.path.clone(),
                to: copy.archive_path.clone(),
                reason: "the deletion vector has no file to copy".to_owned(),
            }
        })?;
        let to = resolve_in_archive(archive, &copy.archive_path)?;
        copy_verified(&from, &to, None, storage_class).await?;
        deletion_vector = true;
    }
    Ok(FileCopied {
        data,
        deletion_vector,
    })
}

/// Commits batches of copied files.
struct Batch<'a> {
    plan: &'a ArchivePlan,
    target: &'a ArchiveTarget,
}

impl Batch<'_> {
    /// Commits `files` on top of the latest version (see the module doc).
    async fn commit(
        &self,
        table: &Table,
        files: Vec<ArchiveFile>,
        metrics: &mut ArchiveMetrics,
    ) -> Result<()> {
        let plan = self.plan;
        let mut files = files;
        for round in 0..MAX_COMMIT_ROUNDS {
            let snapshot = table.snapshot().await?;
            let active: HashMap<&str, Option<String>> = snapshot
                .files()
                .iter()
                .map(|f| (f.path(), f.deletion_vector_id()))
                .collect();
            let (valid, stale): (Vec<ArchiveFile>, Vec<ArchiveFile>) = files
                .into_iter()
                .partition(|f| active.get(f.path.as_str()) == Some(&f.deletion_vector_id()));
            drop(active);
            for file in &stale {
                tracing::info!(
                    path = %file.path,
                    "a concurrent commit removed or changed this file; it stays where it is"
                );
            }
            metrics.files_skipped += stale.len() as u64;
            if valid.is_empty() {
                return Ok(());
            }
            let paths: HashSet<&str> = valid.iter().map(|f| f.path.as_str()).collect();
            let mut tx =
                snapshot.transaction(ARCHIVE_OPERATION, ReadSet::files(paths.iter().copied()))?;
            let data_change = plan.mode == ArchiveMode::Detach;
            for view in snapshot.files().iter().filter(|f| paths.contains(f.path())) {
                tx.remove_file(&view, data_change);
            }
            let mut config = archive_configuration(&snapshot)?;
            let mut domain_changed = false;
            let declared = config
                .declared_locations(snapshot.location().root_location().store())
                .map_err(tarn::Error::from)?;
            if !declared.iter().any(|l| l == self.target.location()) {
                config.locations.push(self.target.uri());
                domain_changed = true;
            }
            match plan.mode {
                ArchiveMode::Tier => {
                    for file in &valid {
                        let mut add = file.add.clone();
                        add.path = file.archive_path.clone();
                        add.data_change = false;
                        // An existing file: the transaction never deletes it.
                        tx.add_existing_file(add);
                    }
                    tx.set_row_ids_preserved(true);
                }
                ArchiveMode::Detach => {
                    let mut manifest = config.detached_files().map_err(tarn::Error::from)?;
                    let detached_at = chrono::Utc::now().timestamp_millis();
                    for file in &valid {
                        manifest.push(DetachedFile {
                            add: file.add.clone(),
                            archive_path: file.archive_path.clone(),
                            archive_deletion_vector: file
                                .deletion_vector
                                .as_ref()
                                .map(|copy| copy.descriptor.clone()),
                            detached_at,
                            read_version: snapshot.version(),
                            run_id: metrics.run_id.clone(),
                            reason: plan.rule.describe(),
                            storage_class: plan.storage_class.clone(),
                            other: serde_json::Map::new(),
                        });
                    }
                    config
                        .set_detached_files(&manifest)
                        .map_err(tarn::Error::from)?;
                    domain_changed = true;
                }
            }
            if domain_changed {
                tx.set_domain_metadata(ARCHIVE_DOMAIN, config.to_configuration());
            }
            tx.parameter("mode", plan.mode.as_str());
            tx.parameter("location", plan.location.clone());
            if let Some(class) = &plan.storage_class {
                tx.parameter("storageClass", class.clone());
            }
            if let Some(filter) = &plan.rule.filter {
                tx.parameter(
                    "predicate",
                    serde_json::to_string(&[filter]).unwrap_or_default(),
                );
            }
            if let Some(age) = plan.rule.older_than {
                tx.parameter("olderThan", age.to_string());
            }
            tx.parameter(RUN_ID_PARAMETER, metrics.run_id.clone());
            match tx.commit().await {
                Ok(summary) => {
                    if let Some(version) = summary.version {
                        metrics.versions.push(version);
                    }
                    metrics.files_archived += valid.len() as u64;
                    metrics.bytes_archived += valid.iter().map(|f| f.size).sum::<u64>();
                    return Ok(());
                }
                Err(tarn::Error::Log(LogError::CommitConflict { .. }))
                    if round + 1 < MAX_COMMIT_ROUNDS =>
                {
                    metrics.commit_retries += 1;
                    files = valid;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}
