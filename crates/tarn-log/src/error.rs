//! The error type of `tarn-log`.

use tarn_protocol::ProtocolError;
use tarn_protocol::conflict::ConflictReason;
use tarn_protocol::log_path::Version;

/// Everything that can go wrong reading or writing a Delta transaction log.
///
/// Every variant names what it is about: the table location, the version, the file. The
/// `Display` text is one line meant for an operator, e.g. the CLI's `error: ...` line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A table URI, or a location registered beside a table, cannot be parsed or uses an
    /// unsupported scheme.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// The object store for the URI cannot be configured (bad option, missing setting).
    #[error("cannot configure storage for {uri}: {source}")]
    StoreConfig {
        /// The URI as given.
        uri: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// An option key is not one the store understands.
    #[error("unknown storage option {key:?} for {uri}")]
    UnknownOption {
        /// The URI as given.
        uri: String,
        /// The option key.
        key: String,
    },
    /// There is no Delta table at the location: no `_delta_log`, or no commit in it.
    #[error("not a Delta table: {location} ({reason})")]
    NotATable {
        /// The table location.
        location: String,
        /// What was missing.
        reason: String,
    },
    /// The requested version is not in the table's reconstructable range.
    #[error("version {requested} not found: {location} has versions {earliest}..={latest}")]
    VersionNotFound {
        /// The table location.
        location: String,
        /// The version asked for.
        requested: Version,
        /// The earliest version that can be reconstructed.
        earliest: Version,
        /// The latest version.
        latest: Version,
    },
    /// The requested timestamp is before the earliest reconstructable version.
    #[error(
        "no version at or before {requested}: the earliest version of {location} is {earliest_version} at {earliest}"
    )]
    TimestampTooEarly {
        /// The table location.
        location: String,
        /// The timestamp asked for (RFC 3339).
        requested: String,
        /// Timestamp of the earliest reconstructable version (RFC 3339).
        earliest: String,
        /// The earliest reconstructable version.
        earliest_version: Version,
    },
    /// A commit file is missing from the middle of the log.
    #[error("the log of {location} is missing version {missing} (needed to read version {target})")]
    MissingVersion {
        /// The table location.
        location: String,
        /// The version whose commit file is absent.
        missing: Version,
        /// The version being read.
        target: Version,
    },
    /// A commit file cannot be parsed.
    #[error("corrupt commit file for version {version} ({path}): {reason}")]
    CorruptCommit {
        /// The commit's version.
        version: Version,
        /// The file's path.
        path: String,
        /// What is wrong, including the line number.
        reason: String,
    },
    /// A checkpoint file (or sidecar) cannot be read or does not have the checkpoint schema.
    #[error("corrupt checkpoint for version {version} ({path}): {reason}")]
    CorruptCheckpoint {
        /// The checkpoint's version.
        version: Version,
        /// The file's path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The log does not define the table's protocol or metadata at a version.
    #[error("the log of {location} has no {missing} action at or before version {version}")]
    MissingAction {
        /// The table location.
        location: String,
        /// The version being read.
        version: Version,
        /// `protocol` or `metaData`.
        missing: &'static str,
    },
    /// A checkpoint lacks the protocol or metadata it must contain.
    #[error("checkpoint for version {version} ({path}) has no {missing} action")]
    IncompleteCheckpoint {
        /// The checkpoint's version.
        version: Version,
        /// The checkpoint's path.
        path: String,
        /// `protocol` or `metaData`.
        missing: &'static str,
    },
    /// The table requires something tarn does not support (reader feature or version).
    #[error("cannot read {location} at version {version}: {source}")]
    Unsupported {
        /// The table location.
        location: String,
        /// The version being read.
        version: Version,
        /// What is unsupported.
        #[source]
        source: Box<ProtocolError>,
    },
    /// The table's metadata is invalid (e.g. a schema that does not parse).
    #[error("invalid metadata in {location} at version {version}: {source}")]
    InvalidMetadata {
        /// The table location.
        location: String,
        /// The version being read.
        version: Version,
        /// What is wrong.
        #[source]
        source: Box<ProtocolError>,
    },
    /// A file the log names (a data file, a deletion vector, a checkpoint sidecar) is outside
    /// the table's root and every location registered for the table, or is a relative path
    /// that climbs out with `..`. Nothing was opened (spec/format.md, "File paths").
    #[error(
        "{path} is outside the table {table} and every location registered for it; tarn opens no file there"
    )]
    PathOutsideTable {
        /// The path as the log names it (credentials shown as `***`).
        path: String,
        /// The table location.
        table: String,
    },
    /// A file the log names is on a store (scheme and bucket, container or host) that no
    /// location is registered on for this table. Nothing was opened. If the table's files
    /// are meant to be there, register the location (`StoreRegistry::register`; the CLI's
    /// `--store PREFIX`).
    #[error(
        "{path} is on {store}, where no location is registered for the table {table}; register the location (tarn: --store PREFIX) if the table's files belong there"
    )]
    UnregisteredStore {
        /// The path as the log names it (credentials shown as `***`).
        path: String,
        /// The store: `scheme://authority`.
        store: String,
        /// The table location.
        table: String,
    },
    /// An object store request failed.
    #[error("storage error on {path}: {source}")]
    Storage {
        /// The object's path.
        path: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A concurrent commit makes this transaction invalid (write-serializable conflict rules,
    /// `tarn_protocol::conflict`). Nothing was committed; the caller may re-read the table and
    /// run the transaction again.
    #[error(
        "commit conflict on {location}: version {winning_version} was committed by another writer since version {read_version} was read: {reason}"
    )]
    CommitConflict {
        /// The table location.
        location: String,
        /// The version the transaction read.
        read_version: Version,
        /// The concurrent commit that conflicts.
        winning_version: Version,
        /// Why it conflicts.
        reason: ConflictReason,
    },
    /// Every commit attempt lost the race to another writer. Nothing was committed.
    #[error(
        "gave up committing to {location} after {attempts} attempts: other writers kept taking the next version (last tried {last_version})"
    )]
    CommitAttemptsExhausted {
        /// The table location.
        location: String,
        /// How many times the commit file was written.
        attempts: u32,
        /// The last version tried.
        last_version: Version,
    },
    /// Creating a table where one exists: version 0 is already committed.
    #[error("table already exists: {location} already has a version 0")]
    TableAlreadyExists {
        /// The table location.
        location: String,
    },
    /// Files given to a view of a snapshot (`Snapshot::with_added_files`) cannot be held as
    /// active files.
    #[error("cannot add files to a view of {location}: {reason}")]
    InvalidAddedFiles {
        /// The table location.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The actions given to a commit do not form a valid commit.
    #[error("invalid commit to {location}: {reason}")]
    InvalidCommit {
        /// The table location.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing a commit failed in a way that leaves open whether it landed (a timeout after the
    /// request was sent, say), and retrying could not settle it. Look for the transaction id
    /// in the log (`commit::find_commit_by_txn_id`) before running the transaction again.
    #[error(
        "commit of transaction {txn_id} to {location} at version {version} may or may not have been written: {source}"
    )]
    CommitOutcomeUnknown {
        /// The table location.
        location: String,
        /// The version the commit was written at.
        version: Version,
        /// The transaction's `commitInfo.txnId`.
        txn_id: String,
        /// The last storage error.
        #[source]
        source: Box<object_store::Error>,
    },
    /// The store cannot write an object only if it is absent, which commits rely on.
    #[error(
        "the store of {location} does not support put-if-absent, which commits need (for S3-compatible stores set aws_conditional_put=etag): {source}"
    )]
    PutIfAbsentUnsupported {
        /// The table location.
        location: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A checkpoint could not be encoded (its rows or its Parquet). Store failures while
    /// writing it are [`LogError::Storage`].
    #[error("cannot write checkpoint for version {version} ({path}): {reason}")]
    CheckpointWrite {
        /// The version being checkpointed.
        version: Version,
        /// The checkpoint's path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A background task failed to complete (panicked or was cancelled), or a step inside
    /// one failed where no input was at fault (an Arrow kernel on batches tarn built).
    #[error("internal task failed: {reason}")]
    Task {
        /// What happened.
        reason: String,
        /// The task's or the kernel's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
}

impl LogError {
    pub(crate) fn storage(path: impl std::fmt::Display, source: object_store::Error) -> Self {
        LogError::Storage {
            path: path.to_string(),
            source,
        }
    }
}

impl From<tokio::task::JoinError> for LogError {
    fn from(err: tokio::task::JoinError) -> Self {
        LogError::Task {
            reason: err.to_string(),
            source: Some(Box::new(err)),
        }
    }
}

/// Result alias for this crate.
pub type LogResult<T> = Result<T, LogError>;
