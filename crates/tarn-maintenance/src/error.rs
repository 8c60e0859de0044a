//! The error type of `tarn-maintenance`.

use arrow_schema::{ArrowError, DataType};

/// Everything that can go wrong planning or running a maintenance operation.
///
/// The `Display` text is one line naming the cause and what it concerns (column, argument),
/// suitable for an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaintenanceError {
    /// Reading or writing the table failed.
    #[error(transparent)]
    Tarn(#[from] tarn::Error),
    /// An Arrow kernel failed (row encoding, interleaving rows, building a batch).
    #[error("{context}: {source}")]
    Compute {
        /// What was being computed, naming the column when there is one.
        context: String,
        /// The Arrow error.
        #[source]
        source: ArrowError,
    },
    /// A column's type has no total order that a sort key can use (lists, structs, maps,
    /// unions).
    #[error("column `{column}` has type {data_type}, which cannot be ordered for clustering")]
    UnsupportedColumn {
        /// The column's name.
        column: String,
        /// Its Arrow type.
        data_type: DataType,
    },
    /// A column named for sorting or clustering is not in the data.
    #[error("column `{column}` is not in the data")]
    MissingColumn {
        /// The column's name.
        column: String,
    },
    /// A column's values have another type than the sample its ranks were computed from.
    #[error("column `{column}` has type {found}, but its ranks were computed for {expected}")]
    ColumnTypeMismatch {
        /// The column's name.
        column: String,
        /// The type of the sample.
        expected: DataType,
        /// The type of the values.
        found: DataType,
    },
    /// An archive location cannot hold this table's archive: it overlaps the table, belongs to
    /// another table, is not a directory, or cannot be reached.
    #[error("cannot archive to {location}: {reason}")]
    ArchiveLocation {
        /// The location, as given or normalised.
        location: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing an object failed (an archive copy, a marker, a file copied back).
    #[error("{operation} {path}: {source}")]
    Storage {
        /// What was being done: `reading`, `writing`, `checking`.
        operation: &'static str,
        /// The object or prefix concerned, as an operator would name it.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A copy does not match its source after it was written, or a source does not match
    /// what the log says of it.
    #[error("copy of {from} to {to} failed verification: {reason}")]
    CopyMismatch {
        /// The source.
        from: String,
        /// The copy.
        to: String,
        /// What differs.
        reason: String,
    },
    /// `restore-archive` cannot bring a detached file back exactly, so it brings back none.
    #[error("cannot restore {path} from the archive: {reason}")]
    RestoreRefused {
        /// The file, as the manifest names it.
        path: String,
        /// Why, naming the version at fault.
        reason: String,
    },
    /// A vacuum was asked to keep less history than the table promises its readers.
    #[error(
        "a retention of {requested} is shorter than the table's delta.deletedFileRetentionDuration \
         ({table}): files that versions within it still need would be deleted, breaking time \
         travel and any reader still on them; pass --force (with_force) if that is what you want"
    )]
    RetentionTooShort {
        /// The retention asked for.
        requested: String,
        /// The table's.
        table: String,
    },
    /// A lite vacuum needs every commit since the last vacuum, and the log no longer has them.
    #[error(
        "a lite vacuum of {table} reads every commit since the last vacuum, but the log starts \
         at version {from} (older commits were cleaned up before a vacuum dealt with them): \
         run a full vacuum once (`--mode full`)"
    )]
    LiteNeedsLog {
        /// The table.
        table: String,
        /// The oldest commit in the log.
        from: tarn::Version,
    },
    /// The caller asked for something that cannot be done: no columns, too many, a bit width
    /// out of range.
    #[error("invalid {argument}: {reason}")]
    InvalidArgument {
        /// The argument at fault.
        argument: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

impl From<tarn::expr::ExprError> for MaintenanceError {
    fn from(err: tarn::expr::ExprError) -> Self {
        MaintenanceError::Tarn(err.into())
    }
}

impl From<tarn::LogError> for MaintenanceError {
    fn from(err: tarn::LogError) -> Self {
        MaintenanceError::Tarn(err.into())
    }
}

/// `Result` with [`MaintenanceError`].
pub type Result<T, E = MaintenanceError> = std::result::Result<T, E>;
