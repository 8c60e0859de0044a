//! Snapshots: the state of a table at one version, built by replaying its log segment.
//!
//! Replay runs newest to oldest: commits are fetched concurrently and parsed on blocking
//! threads, then reduced in order by [`FileReplay`] (which logical files are live) and
//! [`StateReplay`] (protocol, metadata, transactions, domains); the checkpoint comes last and
//! contributes only the files no newer commit mentioned. An incremental [`Snapshot::update`]
//! is the same replay with the previous snapshot in the checkpoint's place.
//!
//! A snapshot is never built for a table whose reader features tarn does not implement: the
//! protocol is checked as soon as the newest one is seen.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::BooleanArray;
use arrow_select::filter::filter_record_batch;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use tarn_protocol::actions::{CommitInfo, DomainMetadata, Metadata, Protocol, Txn};
use tarn_protocol::archive_domain::ArchiveConfiguration;
use tarn_protocol::features::check_log_readable;
use tarn_protocol::log_path::{LogFileKind, Version};
use tarn_protocol::log_segment::{Listed, plan_segment};
use tarn_protocol::replay::{FileReplay, StateReplay};
use tarn_protocol::schema::{ColumnMappingMode, StructType};

use crate::actions_json::{FileAction, ParsedActions, parse_actions};
use crate::checkpoint::read_checkpoint;
use crate::error::{LogError, LogResult};
use crate::files::{ActiveFiles, BatchKeys};
use crate::location::TableLocation;
use crate::segment::{LogFile, LogSegment, list_log, load_segment, segment_error};
use crate::stores::PathResolver;
use crate::timestamps::{read_commit_info, version_at_timestamp};

/// How many commit files to fetch and parse at once.
const COMMIT_CONCURRENCY: usize = 4;

/// Past this many new commits, [`Snapshot::update`] reloads from a newer checkpoint instead of
/// replaying the commits on top of the old state.
const INCREMENTAL_LIMIT: usize = 100;

/// New commits [`Snapshot::update`] looks for by name before it lists the log instead.
const PROBE_LIMIT: usize = 16;

/// Batches of active files an updated snapshot keeps before merging them into one.
const MAX_UPDATE_BATCHES: usize = 32;

/// What a snapshot keeps in memory beyond the essentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotOptions {
    /// Keep every file's per-column statistics (`stats` JSON: min/max/null counts). They are
    /// most of a snapshot's memory and only predicates use them, so they are off by default;
    /// the record count is always kept. See [`Snapshot::with_statistics`].
    pub statistics: bool,
}

impl SnapshotOptions {
    /// Options that keep per-column statistics.
    pub fn with_statistics() -> Self {
        Self { statistics: true }
    }
}

/// The state of a table at one version.
#[derive(Debug, Clone)]
pub struct Snapshot {
    location: Arc<TableLocation>,
    options: SnapshotOptions,
    segment: LogSegment,
    protocol: Protocol,
    metadata: Metadata,
    schema: StructType,
    column_mapping: ColumnMappingMode,
    files: ActiveFiles,
    txns: BTreeMap<String, Txn>,
    domain_metadata: BTreeMap<String, DomainMetadata>,
    commit_info: Option<CommitInfo>,
    timestamp: DateTime<Utc>,
}

/// What the newest-first replay of a list of commits produced.
struct CommitReplay {
    files: FileReplay,
    state: StateReplay,
    adds: ActiveFiles,
    /// The `commitInfo` of the newest commit replayed.
    newest_commit_info: Option<CommitInfo>,
}

impl Snapshot {
    /// Loads the latest version of the table.
    pub async fn load(location: Arc<TableLocation>) -> LogResult<Self> {
        Self::load_with(location, None, SnapshotOptions::default()).await
    }

    /// Loads a given version of the table.
    pub async fn load_version(location: Arc<TableLocation>, version: Version) -> LogResult<Self> {
        Self::load_with(location, Some(version), SnapshotOptions::default()).await
    }

    /// Loads a version of the table (the latest when `None`) with the given options.
    pub async fn load_with(
        location: Arc<TableLocation>,
        version: Option<Version>,
        options: SnapshotOptions,
    ) -> LogResult<Self> {
        let segment = load_segment(&location, version).await?;
        Self::from_segment(location, segment, options).await
    }

    /// This snapshot with per-column statistics loaded (a clone if they already are). The
    /// log segment is read again, with the statistics columns this time. If log cleanup
    /// deleted files of that segment since it was listed (a newer checkpoint made them
    /// unnecessary), the version is read from the files that remain, as
    /// [`Snapshot::tombstones`] does.
    pub async fn with_statistics(&self) -> LogResult<Self> {
        if self.options.statistics {
            return Ok(self.clone());
        }
        let options = SnapshotOptions {
            statistics: true,
            ..self.options
        };
        match Self::from_segment(Arc::clone(&self.location), self.segment.clone(), options).await {
            Err(LogError::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Self::load_with(Arc::clone(&self.location), Some(self.version()), options).await,
            other => other,
        }
    }

    /// Whether the files' per-column statistics are loaded.
    pub fn has_statistics(&self) -> bool {
        self.options.statistics
    }

    /// Loads the newest version committed at or before `timestamp` (in-commit timestamps where
    /// the table has them, commit file modification times otherwise).
    pub async fn load_at_timestamp(
        location: Arc<TableLocation>,
        timestamp: DateTime<Utc>,
    ) -> LogResult<Self> {
        let version = version_at_timestamp(&location, timestamp).await?;
        Self::load_version(location, version).await
    }

    /// Builds the snapshot a segment defines.
    pub async fn from_segment(
        location: Arc<TableLocation>,
        segment: LogSegment,
        options: SnapshotOptions,
    ) -> LogResult<Self> {
        let mut replay = replay_commits(&location, &segment.commits, options.statistics).await?;
        if let Some(checkpoint) = &segment.checkpoint {
            let from_checkpoint =
                read_checkpoint(&location, checkpoint, &replay.files, options.statistics).await?;
            let path = checkpoint
                .parts
                .first()
                .map(|p| location.display_path(&p.file.path))
                .unwrap_or_default();
            if from_checkpoint.protocol.is_none() {
                return Err(LogError::IncompleteCheckpoint {
                    version: checkpoint.version,
                    path,
                    missing: "protocol",
                });
            }
            if from_checkpoint.metadata.is_none() {
                return Err(LogError::IncompleteCheckpoint {
                    version: checkpoint.version,
                    path,
                    missing: "metaData",
                });
            }
            if let Some(protocol) = from_checkpoint.protocol
                && replay.state.observe_protocol(protocol)
            {
                check_protocol(&location, segment.version, replay.state.protocol())?;
            }
            if let Some(metadata) = from_checkpoint.metadata {
                replay.state.observe_metadata(metadata);
            }
            for txn in from_checkpoint.txns {
                replay.state.observe_txn(txn);
            }
            for domain in from_checkpoint.domain_metadata {
                replay.state.observe_domain_metadata(domain);
            }
            replay.adds.append(from_checkpoint.adds);
        }
        let replayed_version_commit = segment
            .commits
            .last()
            .is_some_and(|c| c.name.version == segment.version);
        let commit_info = if replayed_version_commit {
            replay.newest_commit_info.take()
        } else if let Some(commit) = &segment.version_commit {
            // The checkpoint is at this version: its commit was not replayed, but its
            // commitInfo (and in-commit timestamp) is still the version's.
            read_commit_info(&location, commit.name.version, &commit.file).await?
        } else {
            None
        };
        let timestamp = snapshot_timestamp(&segment, commit_info.as_ref());
        Self::assemble(location, options, segment, replay, commit_info, timestamp)
    }

    fn assemble(
        location: Arc<TableLocation>,
        options: SnapshotOptions,
        segment: LogSegment,
        replay: CommitReplay,
        commit_info: Option<CommitInfo>,
        timestamp: DateTime<Utc>,
    ) -> LogResult<Self> {
        let version = segment.version;
        let state = replay.state.finish();
        let protocol = state.protocol.ok_or_else(|| LogError::MissingAction {
            location: location.to_string(),
            version,
            missing: "protocol",
        })?;
        check_log_readable(&protocol).map_err(|source| LogError::Unsupported {
            location: location.to_string(),
            version,
            source: Box::new(source),
        })?;
        let metadata = state.metadata.ok_or_else(|| LogError::MissingAction {
            location: location.to_string(),
            version,
            missing: "metaData",
        })?;
        let invalid = |source| LogError::InvalidMetadata {
            location: location.to_string(),
            version,
            source: Box::new(source),
        };
        let schema = StructType::from_json(&metadata.schema_string).map_err(invalid)?;
        let column_mapping =
            ColumnMappingMode::from_configuration(&metadata.configuration).map_err(invalid)?;
        for column in &metadata.partition_columns {
            if schema.field(column).is_none() {
                return Err(invalid(tarn_protocol::ProtocolError::InvalidMetadata {
                    reason: format!("partition column `{column}` is not in the schema"),
                }));
            }
        }
        Ok(Self {
            files: replay.adds,
            options,
            location,
            segment,
            protocol,
            metadata,
            schema,
            column_mapping,
            txns: state.txns,
            domain_metadata: state.domain_metadata,
            commit_info,
            timestamp,
        })
    }

    /// Brings the snapshot up to the latest version, reading only commits newer than it (or,
    /// when many commits and a newer checkpoint exist, reloading from that checkpoint).
    /// Returns a clone of `self` when nothing changed.
    pub async fn update(&self) -> LogResult<Self> {
        let newer = match self.probe_new_commits().await? {
            Some(probed) => probed,
            None => list_log(&self.location, self.version() + 1).await?,
        };
        if newer.is_empty() {
            return Ok(self.clone());
        }
        // Only the commits matter for an incremental update: make them a segment of their own.
        let commits: Vec<Listed<LogFile>> = newer
            .iter()
            .filter(|f| f.name.kind == LogFileKind::Commit)
            .cloned()
            .collect();
        let contiguous = (self.version() + 1..)
            .zip(&commits)
            .all(|(expected, commit)| commit.name.version == expected);
        let has_checkpoint = newer.iter().any(|f| f.name.is_checkpoint());
        // Many new commits with a newer checkpoint: reading the checkpoint is cheaper. New
        // commits that do not follow on (log cleanup removed some after a newer checkpoint):
        // only a fresh load can say whether the table is still readable.
        if (commits.len() > INCREMENTAL_LIMIT && has_checkpoint) || !contiguous {
            return Self::load_with(Arc::clone(&self.location), None, self.options).await;
        }
        let Some(latest) = commits.last().map(|c| c.name.version) else {
            return Ok(self.clone());
        };
        let commits_last = commits.last().cloned();
        let mut replay = replay_commits(&self.location, &commits, self.options.statistics).await?;
        // The previous snapshot is the base: already reconciled, like a checkpoint.
        if replay.state.observe_protocol(self.protocol.clone()) {
            check_protocol(&self.location, latest, replay.state.protocol())?;
        }
        replay.state.observe_metadata(self.metadata.clone());
        for txn in self.txns.values() {
            replay.state.observe_txn(txn.clone());
        }
        for domain in self.domain_metadata.values() {
            replay.state.observe_domain_metadata(domain.clone());
        }
        let mut previous = Vec::new();
        for batch in self.files.batches() {
            let keys = BatchKeys::new(&batch);
            let mask: BooleanArray = (0..batch.num_rows())
                .map(|row| {
                    Some(
                        replay
                            .files
                            .is_unseen(keys.path(row), keys.dv_id(row).as_deref()),
                    )
                })
                .collect();
            let kept = if mask.true_count() == batch.num_rows() {
                batch
            } else {
                filter_record_batch(&batch, &mask).map_err(|e| LogError::Task {
                    reason: format!("filtering previous snapshot: {e}"),
                    source: Some(Box::new(e)),
                })?
            };
            previous.push(kept);
        }
        // One small batch per commit would pile up over a long-lived writer's updates and make
        // each update slower than the last: past a few dozen, they are merged into one.
        if previous.len() > MAX_UPDATE_BATCHES
            && let Some(first) = previous.first()
            && let Ok(merged) = arrow_select::concat::concat_batches(&first.schema(), &previous)
        {
            previous = vec![merged];
        }
        for batch in previous {
            replay.adds.push(batch);
        }
        let segment = LogSegment {
            version: latest,
            checkpoint: self.segment.checkpoint.clone(),
            commits: self
                .segment
                .commits
                .iter()
                .cloned()
                .chain(commits)
                .collect(),
            earliest_version: self.segment.earliest_version,
            latest_version: latest,
            version_commit: commits_last,
        };
        let commit_info = replay.newest_commit_info.take();
        let timestamp = snapshot_timestamp(&segment, commit_info.as_ref());
        Self::assemble(
            Arc::clone(&self.location),
            self.options,
            segment,
            replay,
            commit_info,
            timestamp,
        )
    }

    /// The commits after this snapshot's version, found by asking for each next commit file
    /// by name: one request per new commit plus one, whatever the length of the log (a
    /// listing grows with it, which would make every writer's commit slower as the table
    /// ages). `None` when the next commit is missing (nothing new, or cleaned up: a listing
    /// decides) and after [`PROBE_LIMIT`] new commits (many new commits are better listed,
    /// since a newer checkpoint may make reading them unnecessary).
    async fn probe_new_commits(&self) -> LogResult<Option<Vec<Listed<LogFile>>>> {
        let mut found = Vec::new();
        for version in self.version() + 1.. {
            if found.len() >= PROBE_LIMIT {
                return Ok(None);
            }
            let path = self.location.commit_file(version);
            let meta = match self.location.store().head(&path).await {
                Ok(meta) => meta,
                // No next commit: nothing new, or log cleanup removed it after a newer
                // checkpoint. Only a listing tells which.
                Err(object_store::Error::NotFound { .. }) if found.is_empty() => return Ok(None),
                Err(object_store::Error::NotFound { .. }) => break,
                Err(err) => {
                    return Err(LogError::storage(self.location.display_path(&path), err));
                }
            };
            let Some(name) = meta
                .location
                .filename()
                .and_then(tarn_protocol::log_path::LogFileName::parse)
            else {
                return Ok(None);
            };
            found.push(Listed {
                name,
                file: LogFile {
                    path: meta.location,
                    size: meta.size,
                    last_modified: meta.last_modified,
                },
            });
        }
        Ok(Some(found))
    }

    /// A view of this snapshot in which `adds` are active files too, besides the snapshot's
    /// own: for reading files an operation is about to add back before it commits them (the
    /// files an archive restore brings back, read to apply the deletes committed since they
    /// left the table). Per-column statistics are loaded first if the snapshot lacks them, so
    /// that a scan of the view never reloads it from the log and loses the added files.
    ///
    /// The view is for reading: its version, protocol, metadata and domains are this
    /// snapshot's. The paths of `adds` should not be active already (a path that is would be
    /// listed twice). Errors: `InvalidAddedFiles` if an add cannot be held as a file (an
    /// Arrow error building the batch), and the errors of loading statistics.
    pub async fn with_added_files(&self, adds: &[tarn_protocol::actions::Add]) -> LogResult<Self> {
        let mut view = self.with_statistics().await?;
        let extra = ActiveFiles::from_adds(adds).map_err(|e| LogError::InvalidAddedFiles {
            location: self.location.to_string(),
            reason: e.to_string(),
        })?;
        view.files.append(extra);
        Ok(view)
    }

    /// The table location.
    pub fn location(&self) -> &Arc<TableLocation> {
        &self.location
    }

    /// The snapshot's version.
    pub fn version(&self) -> Version {
        self.segment.version
    }

    /// The log segment the snapshot was built from.
    pub fn segment(&self) -> &LogSegment {
        &self.segment
    }

    /// The table's protocol at this version.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The table's metadata at this version.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The table schema (logical names).
    pub fn schema(&self) -> &StructType {
        &self.schema
    }

    /// Partition columns, by logical name.
    pub fn partition_columns(&self) -> &[String] {
        &self.metadata.partition_columns
    }

    /// The table's column mapping mode.
    pub fn column_mapping_mode(&self) -> ColumnMappingMode {
        self.column_mapping
    }

    /// Partition columns as `(logical name, physical name)`: file actions key partition values
    /// by physical name, which differs from the logical one under column mapping.
    pub fn partition_column_names(&self) -> Vec<(&str, &str)> {
        self.metadata
            .partition_columns
            .iter()
            .map(|logical| {
                let physical = self
                    .schema
                    .field(logical)
                    .map_or(logical.as_str(), |f| f.physical_name(self.column_mapping));
                (logical.as_str(), physical)
            })
            .collect()
    }

    /// Table properties.
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.metadata.configuration
    }

    /// The tombstones this version carries that were removed after `cutoff_ms` (milliseconds
    /// since the epoch): the newest `remove` of each file that is no longer active. With
    /// `cutoff_ms` = now minus the table's `delta.deletedFileRetentionDuration`
    /// ([`tarn_protocol::retention::Retention::deleted_file_cutoff`]), these are the retained
    /// tombstones, those a checkpoint carries and vacuum must keep the files of; with `None`,
    /// every tombstone still in the log segment. Read from the log (snapshots do not keep
    /// removes). The caller decides the cutoff: nothing here reads a clock.
    ///
    /// If log cleanup deleted files of the segment this snapshot was read from (it was read
    /// before a newer checkpoint made them unnecessary), the version is read again from the
    /// files that remain.
    pub async fn tombstones(
        &self,
        cutoff_ms: Option<i64>,
    ) -> LogResult<Vec<tarn_protocol::actions::Remove>> {
        match crate::checkpoint::tombstones_after(self, cutoff_ms).await {
            Err(LogError::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            }) => {
                let fresh =
                    Snapshot::load_version(Arc::clone(&self.location), self.version()).await?;
                crate::checkpoint::tombstones_after(&fresh, cutoff_ms).await
            }
            other => other,
        }
    }

    /// The active files.
    pub fn files(&self) -> &ActiveFiles {
        &self.files
    }

    /// The newest `txn` of each application.
    pub fn txns(&self) -> &BTreeMap<String, Txn> {
        &self.txns
    }

    /// The version an application last committed through `txn`, if any.
    pub fn txn_version(&self, app_id: &str) -> Option<i64> {
        self.txns.get(app_id).map(|t| t.version)
    }

    /// Domain metadata, by domain (removed domains excluded).
    pub fn domain_metadata(&self) -> &BTreeMap<String, DomainMetadata> {
        &self.domain_metadata
    }

    /// The resolver for every path this version's log names: the table's root, the locations
    /// registered with its [`TableLocation`], and the locations the table declares in its
    /// `tarn.archive` domain as of this version, if the location trusts them.
    pub fn path_resolver(&self) -> PathResolver {
        PathResolver::with_archive_configuration(
            Arc::clone(&self.location),
            self.version(),
            ArchiveConfiguration::of_domains(&self.domain_metadata),
        )
    }

    /// The `commitInfo` of the snapshot's version, when the commit file was read (it is not
    /// when the snapshot version is a checkpoint with no commit replayed after it).
    pub fn commit_info(&self) -> Option<&CommitInfo> {
        self.commit_info.as_ref()
    }

    /// When the snapshot's version was committed: its in-commit timestamp if it has one,
    /// else the modification time of its commit (or checkpoint) file, as the store reports it.
    /// History and time travel make file times monotonic over the whole log, which needs a
    /// full listing; [`crate::version_timestamp`] gives that value.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }
}

/// Checks the newest protocol as soon as it is known, so an unsupported table fails with the
/// feature's name rather than with whatever reading it further would trip over.
fn check_protocol(
    location: &TableLocation,
    version: Version,
    protocol: Option<&Protocol>,
) -> LogResult<()> {
    match protocol {
        Some(protocol) => check_log_readable(protocol).map_err(|source| LogError::Unsupported {
            location: location.to_string(),
            version,
            source: Box::new(source),
        }),
        None => Ok(()),
    }
}

fn snapshot_timestamp(segment: &LogSegment, commit_info: Option<&CommitInfo>) -> DateTime<Utc> {
    if let Some(ict) = commit_info.and_then(|c| c.in_commit_timestamp)
        && let Some(ts) = DateTime::from_timestamp_millis(ict)
    {
        return ts;
    }
    segment
        .version_commit
        .as_ref()
        .map(|c| c.file.last_modified)
        .or_else(|| {
            segment
                .checkpoint
                .as_ref()
                .and_then(|c| c.parts.first())
                .map(|p| p.file.last_modified)
        })
        .unwrap_or_default()
}

/// Fetches and parses one commit file.
async fn read_commit(
    location: &TableLocation,
    commit: &Listed<LogFile>,
    keep_stats: bool,
) -> LogResult<(Version, ParsedActions)> {
    let version = commit.name.version;
    let path = commit.file.path.clone();
    let bytes = location
        .store()
        .get(&path)
        .await
        .map_err(|e| LogError::storage(location.display_path(&path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(&path), e))?;
    let parsed = tokio::task::spawn_blocking(move || parse_actions(&bytes, keep_stats))
        .await?
        .map_err(|e| LogError::CorruptCommit {
            version,
            path: location.display_path(&path),
            reason: e.to_string(),
        })?;
    Ok((version, parsed))
}

/// Replays commits (given ascending) newest first.
///
/// Boxed so that its `Send`-ness is proven here, for these lifetimes: left to inference, rustc
/// asks for it for every lifetime (the buffered stream of futures borrowing `location`), fails,
/// and callers could not spawn their futures.
fn replay_commits<'a>(
    location: &'a TableLocation,
    commits: &'a [Listed<LogFile>],
    keep_stats: bool,
) -> BoxFuture<'a, LogResult<CommitReplay>> {
    async move {
        let mut replay = CommitReplay {
            files: FileReplay::new(),
            state: StateReplay::new(),
            adds: ActiveFiles::default(),
            newest_commit_info: None,
        };
        let newest = commits.last().map(|c| c.name.version);
        let mut stream = futures::stream::iter(commits.iter().rev().cloned())
            .map(|commit| async move { read_commit(location, &commit, keep_stats).await })
            .buffered(COMMIT_CONCURRENCY);
        while let Some((version, parsed)) = stream.try_next().await? {
            if Some(version) == newest {
                replay.newest_commit_info = parsed.commit_info.clone();
            }
            apply_commit(location, newest.unwrap_or(version), &mut replay, parsed)?;
        }
        Ok(replay)
    }
    .boxed()
}

/// Applies one commit's actions to the replay, newest line first.
fn apply_commit(
    location: &TableLocation,
    target: Version,
    replay: &mut CommitReplay,
    parsed: ParsedActions,
) -> LogResult<()> {
    if let Some(protocol) = parsed.protocol
        && replay.state.observe_protocol(protocol)
    {
        check_protocol(location, target, replay.state.protocol())?;
    }
    if let Some(metadata) = parsed.metadata {
        replay.state.observe_metadata(metadata);
    }
    for txn in parsed.txns.into_iter().rev() {
        replay.state.observe_txn(txn);
    }
    for domain in parsed.domain_metadata.into_iter().rev() {
        replay.state.observe_domain_metadata(domain);
    }
    let keys = BatchKeys::new(&parsed.adds);
    let mut keep = vec![false; parsed.adds.num_rows()];
    for action in parsed.file_actions.iter().rev() {
        match action {
            FileAction::Add(row) => {
                keep[*row] = replay
                    .files
                    .record(keys.path(*row), keys.dv_id(*row).as_deref());
            }
            FileAction::Remove { path, dv_id } => {
                replay.files.record(path, dv_id.as_deref());
            }
        }
    }
    if keep.iter().any(|k| *k) {
        let mask = BooleanArray::from(keep);
        let kept = if mask.true_count() == parsed.adds.num_rows() {
            parsed.adds
        } else {
            filter_record_batch(&parsed.adds, &mask).map_err(|e| LogError::Task {
                reason: format!("filtering commit adds: {e}"),
                source: Some(Box::new(e)),
            })?
        };
        replay.adds.push(kept);
    }
    Ok(())
}

/// Lists the log and returns the versions it can reconstruct, `(earliest, latest)`.
pub async fn version_range(location: &TableLocation) -> LogResult<(Version, Version)> {
    let files = list_log(location, 0).await?;
    let plan = plan_segment(&files, None).map_err(|e| segment_error(location, e))?;
    Ok((plan.earliest_version, plan.latest_version))
}
