//! [`Table`]: the entry point to a Delta table.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tarn_log::{CommitEntry, DeclaredLocations, StoreRegistry, TableLocation};
use tarn_protocol::log_path::Version;

use crate::error::Result;
use crate::ops::{
    CheckpointBuilder, CreateBuilder, DeleteBuilder, RestoreBuilder, UpdateBuilder, WriteBuilder,
};

/// A Delta table at a location. Opening one does no I/O. A `Table` keeps the latest snapshot
/// it loaded and brings it up to date incrementally (reading only newer commits), so it can
/// be kept for the life of a process: every call sees the latest commits, and a writer's
/// per-commit cost does not grow with the length of the log. Clones share that cache.
#[derive(Debug, Clone)]
pub struct Table {
    location: Arc<TableLocation>,
    latest: Arc<Mutex<Option<tarn_log::Snapshot>>>,
}

impl Table {
    /// A table at `uri`: a local path, or a `file://`, `memory://`, `s3://`, `gs://`, `az://`
    /// or `abfss://` URI, with storage options from the environment (`AWS_*`, `GOOGLE_*`,
    /// `AZURE_*`).
    pub async fn open(uri: &str) -> Result<Self> {
        Ok(Self::from_location(TableLocation::parse(uri)?))
    }

    /// Like [`Table::open`], with explicit storage options (object_store config keys such as
    /// `aws_endpoint` or `allow_http`) that take precedence over the environment.
    pub async fn open_with_options(uri: &str, options: &BTreeMap<String, String>) -> Result<Self> {
        Ok(Self::from_location(TableLocation::parse_with_options(
            uri, options,
        )?))
    }

    /// A table at `uri` opened with more than storage options: the locations registered
    /// beside it (where its log may name files besides its root) and whether the locations it
    /// declares itself are trusted. See [`TableBuilder`].
    pub fn builder(uri: &str) -> TableBuilder {
        TableBuilder {
            uri: uri.to_owned(),
            storage_options: BTreeMap::new(),
            stores: StoreRegistry::new(),
            declared: DeclaredLocations::default(),
        }
    }

    /// A table at an already resolved location (e.g. over a custom store).
    pub fn from_location(location: TableLocation) -> Self {
        Self {
            location: Arc::new(location),
            latest: Arc::new(Mutex::new(None)),
        }
    }

    /// Where the table lives.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// Deletes data files a caller wrote for this table but will never commit (work it gave
    /// up on), best effort: a path that does not resolve inside the table is left alone, and
    /// a failed delete is logged; vacuum removes whatever this misses.
    ///
    /// Unlike [`Transaction::abort`](crate::Transaction::abort) this needs no snapshot, so it
    /// works when the table can no longer be read or written by tarn.
    pub async fn delete_uncommitted_files(&self, adds: &[tarn_protocol::actions::Add]) {
        crate::ops::delete_data_files(&self.location, adds).await;
    }

    /// The location, shared.
    pub(crate) fn location_arc(&self) -> &Arc<TableLocation> {
        &self.location
    }

    /// Creates the table: schema, partition columns, properties. See [`CreateBuilder`].
    pub fn create(&self) -> CreateBuilder {
        CreateBuilder::new(self.clone())
    }

    /// Writes rows: append, overwrite, overwrite-where; creates the table if there is none.
    /// See [`WriteBuilder`].
    pub fn write(&self) -> WriteBuilder {
        WriteBuilder::new(self.clone())
    }

    /// Deletes the rows matching a predicate. See [`DeleteBuilder`].
    pub fn delete(&self) -> DeleteBuilder {
        DeleteBuilder::new(self.clone())
    }

    /// Updates the rows matching a predicate. See [`UpdateBuilder`].
    pub fn update(&self) -> UpdateBuilder {
        UpdateBuilder::new(self.clone())
    }

    /// Restores the table to an earlier version. See [`RestoreBuilder`].
    pub fn restore(&self, version: Version) -> RestoreBuilder {
        RestoreBuilder::new(self.clone(), version)
    }

    /// Writes a checkpoint of the latest version. See [`CheckpointBuilder`].
    pub fn checkpoint(&self) -> CheckpointBuilder {
        CheckpointBuilder::new(self.clone())
    }

    /// The latest version of the table.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let cached = self.latest.lock().ok().and_then(|latest| latest.clone());
        let snapshot = match cached {
            Some(cached) => cached.update().await?,
            None => tarn_log::Snapshot::load(Arc::clone(&self.location)).await?,
        };
        if let Ok(mut latest) = self.latest.lock()
            && latest
                .as_ref()
                .is_none_or(|kept| kept.version() <= snapshot.version())
        {
            *latest = Some(snapshot.clone());
        }
        Ok(Snapshot(snapshot))
    }

    /// The table as of `version`.
    pub async fn snapshot_at_version(&self, version: Version) -> Result<Snapshot> {
        Ok(Snapshot(
            tarn_log::Snapshot::load_version(Arc::clone(&self.location), version).await?,
        ))
    }

    /// The table as of `timestamp`: the newest version committed at or before it.
    pub async fn snapshot_at_timestamp(&self, timestamp: DateTime<Utc>) -> Result<Snapshot> {
        Ok(Snapshot(
            tarn_log::Snapshot::load_at_timestamp(Arc::clone(&self.location), timestamp).await?,
        ))
    }

    /// When `version` was committed, as history and time travel see it (in-commit timestamp,
    /// or the commit file's time made monotonic over the log); `None` if its commit file is
    /// gone.
    pub async fn version_timestamp(&self, version: Version) -> Result<Option<DateTime<Utc>>> {
        Ok(tarn_log::version_timestamp(&self.location, version).await?)
    }

    /// Every commit the log still holds, ascending, with its timestamp in milliseconds since
    /// the epoch as history and time travel see it (in-commit timestamp, or the commit file's
    /// time made monotonic over the log). One listing of the log.
    pub async fn commit_timestamps(&self) -> Result<Vec<(Version, i64)>> {
        Ok(tarn_log::commit_timestamps(&self.location).await?)
    }

    /// The actions of the commit of `version`, in file order (`commitInfo` first when the
    /// writer put it there); `None` if the log no longer holds (or never held) that commit
    /// file. Errors name the version and file when it does not parse.
    pub async fn commit_actions(
        &self,
        version: Version,
    ) -> Result<Option<Vec<tarn_protocol::actions::Action>>> {
        Ok(tarn_log::read_commit(&self.location, version).await?)
    }

    /// The commits still in the log, newest first, at most `limit` of them.
    pub async fn history(&self, limit: Option<usize>) -> Result<Vec<CommitEntry>> {
        Ok(tarn_log::history(&self.location, limit).await?)
    }
}

/// How to open a table: its URI, storage options, registered locations and trust in the
/// locations it declares. Obtained from [`Table::builder`].
///
/// ```no_run
/// # async fn example() -> tarn::Result<()> {
/// use std::collections::BTreeMap;
/// use tarn::{StoreRegistry, Table};
///
/// let options = BTreeMap::from([("aws_region".to_owned(), "eu-west-1".to_owned())]);
/// let mut stores = StoreRegistry::new();
/// // The archive bucket, reached with the table's options.
/// stores.register("s3://archive-bucket/events/", &options)?;
/// let table = Table::builder("s3://bucket/events")
///     .with_storage_options(options)
///     .with_stores(stores)
///     .open()
///     .await?;
/// # let _ = table;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TableBuilder {
    uri: String,
    storage_options: BTreeMap<String, String>,
    stores: StoreRegistry,
    declared: DeclaredLocations,
}

impl std::fmt::Debug for TableBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Option values may be credentials: only their keys are shown.
        f.debug_struct("TableBuilder")
            .field("uri", &tarn_log::location::redact_uri(&self.uri))
            .field("storage_options", &self.storage_options.keys())
            .field("stores", &self.stores)
            .field("declared", &self.declared)
            .finish()
    }
}

impl TableBuilder {
    /// Storage options for the table's store (object_store config keys such as
    /// `aws_endpoint`), over the environment. Locations the table declares are reached with
    /// them too.
    pub fn with_storage_options(mut self, options: BTreeMap<String, String>) -> Self {
        self.storage_options = options;
        self
    }

    /// The locations besides the table's root where its log may name files.
    pub fn with_stores(mut self, stores: StoreRegistry) -> Self {
        self.stores = stores;
        self
    }

    /// Whether the locations the table declares (`tarn.archive`) count as registered.
    pub fn with_declared_locations(mut self, declared: DeclaredLocations) -> Self {
        self.declared = declared;
        self
    }

    /// For a table from a source you do not trust: the locations it declares are refused
    /// like any unregistered location, so its log can name files only under its root and
    /// the locations registered here.
    pub fn untrusted(self) -> Self {
        self.with_declared_locations(DeclaredLocations::Refuse)
    }

    /// Opens the table (no I/O yet). Errors as [`Table::open_with_options`].
    pub async fn open(self) -> Result<Table> {
        let location = TableLocation::parse_with_options(&self.uri, &self.storage_options)?
            .with_stores(self.stores)
            .with_declared_locations(self.declared);
        Ok(Table::from_location(location))
    }
}

/// The state of a table at one version: protocol, metadata, schema and active files.
///
/// Dereferences to [`tarn_log::Snapshot`], which holds the log-level state.
#[derive(Debug, Clone)]
pub struct Snapshot(tarn_log::Snapshot);

impl Snapshot {
    /// Number of active files.
    pub fn num_files(&self) -> usize {
        self.0.files().len()
    }

    /// Brings the snapshot up to the table's latest version, reading only newer commits.
    pub async fn update(&self) -> Result<Snapshot> {
        Ok(Snapshot(self.0.update().await?))
    }

    /// This snapshot with every file's per-column statistics loaded (min/max/null counts).
    /// Snapshots keep only record counts by default; statistics are read again from the log
    /// when something (a predicate) needs them.
    pub async fn with_statistics(&self) -> Result<Snapshot> {
        Ok(Snapshot(self.0.with_statistics().await?))
    }

    /// A view of this snapshot in which `adds` are active files as well, for reading files an
    /// operation is about to add back before it commits them (scan them with
    /// [`crate::ScanBuilder::with_files`]). Statistics are loaded first when missing. The
    /// view is for reading only: commit against the snapshot itself.
    pub async fn with_added_files(&self, adds: &[tarn_protocol::actions::Add]) -> Result<Snapshot> {
        Ok(Snapshot(self.0.with_added_files(adds).await?))
    }

    /// A scan of this snapshot: add a projection, filter and limit, then build and execute.
    pub fn scan(&self) -> crate::scan::ScanBuilder {
        crate::scan::ScanBuilder::new(self.clone())
    }

    /// The log-level snapshot.
    pub fn log_snapshot(&self) -> &tarn_log::Snapshot {
        &self.0
    }
}

impl Deref for Snapshot {
    type Target = tarn_log::Snapshot;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
