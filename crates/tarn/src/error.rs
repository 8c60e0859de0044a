//! The error type of `tarn`.

use tarn_log::LogError;
use tarn_protocol::ProtocolError;

use crate::expr::ExprError;

/// Everything that can go wrong using a tarn table.
///
/// The `Display` text is one line naming the cause and what it concerns (table, version,
/// file, feature, expression position), suitable for an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the transaction log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Protocol data is invalid or unsupported.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// An expression (a `--where` predicate, a projection) is invalid.
    #[error(transparent)]
    Expression(#[from] ExprError),
    /// A data file the log references does not exist.
    #[error("data file not found: {path}")]
    MissingDataFile {
        /// The file's path or URI.
        path: String,
    },
    /// A data file cannot be read as Parquet, or does not match the table schema.
    #[error("cannot read data file {path}: {reason}")]
    CorruptDataFile {
        /// The file's path or URI.
        path: String,
        /// What is wrong.
        reason: String,
        /// The Parquet, Arrow or storage error behind it, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A shredded variant column of a data file cannot be reassembled into its variant
    /// values: a malformed layout, or values the shredding spec forbids.
    #[error("cannot read data file {path}: shredded variant column `{column}`: {source}")]
    ShreddedVariant {
        /// The file's path or URI.
        path: String,
        /// The table column (a dotted path for nested fields, `a.element` / `m.value` inside
        /// arrays and maps).
        column: String,
        /// What is wrong with it.
        #[source]
        source: crate::scan::ShreddedVariantError,
    },
    /// A deletion vector cannot be loaded: missing file, bad checksum, bad encoding.
    #[error("cannot load deletion vector {path}: {reason}")]
    DeletionVector {
        /// The deletion vector file (or `inline` for inline vectors).
        path: String,
        /// What is wrong.
        reason: String,
        /// The error behind it (storage, decoding), when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// An object store request failed.
    #[error("storage error on {path}: {source}")]
    Storage {
        /// The object's path or URI.
        path: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A table already exists where one was to be created.
    #[error(
        "a table already exists at {table} (version {version}); ask to replace it (`--replace`)"
    )]
    TableExists {
        /// The table's location.
        table: String,
        /// Its latest version.
        version: tarn_protocol::log_path::Version,
    },
    /// A write that was creating a table found another writer had created it first, with a
    /// table the write's files do not fit. Nothing was committed.
    #[error(
        "another writer created the table at {table} first (version {version}), with {difference}; \
         nothing was written"
    )]
    TableCreatedConcurrently {
        /// The table's location.
        table: String,
        /// The version the table had when the write looked.
        version: tarn_protocol::log_path::Version,
        /// How that table differs from the one the write would have created.
        difference: String,
    },
    /// A row written by an overwrite-where does not match the predicate it replaces.
    #[error(
        "row {row} of the input does not match the replace-where predicate `{predicate}`: {values}"
    )]
    ReplaceWhereMismatch {
        /// The predicate.
        predicate: String,
        /// The row's position in the input (0-based).
        row: u64,
        /// The row's values.
        values: String,
    },
    /// Data to write does not fit the table schema: a missing or unexpected column, or a type
    /// that does not convert to the column's type without loss. Nothing of the batch was
    /// written.
    #[error("the data does not match the table schema: column `{column}`: {reason}")]
    SchemaMismatch {
        /// The column (a dotted path for nested fields, `a.element` / `m.key` / `m.value`
        /// inside arrays and maps).
        column: String,
        /// What is wrong: `missing column`, `expected long, found string`, ...
        reason: String,
    },
    /// Data to write has a null in a non-nullable column. Nothing of the batch was written.
    #[error("row {row} has a null in non-nullable column `{column}`")]
    NotNullViolation {
        /// The column (a dotted path for nested fields).
        column: String,
        /// The first offending row, rendered as `{id: 3, value: NULL}`.
        row: String,
    },
    /// Data to write breaks a CHECK constraint (`delta.constraints.<name>`). Nothing of the
    /// batch was written.
    #[error("row {row} violates CHECK constraint `{name}`: {expression}")]
    ConstraintViolation {
        /// The constraint's name.
        name: String,
        /// The constraint's SQL text.
        expression: String,
        /// The first offending row, rendered as `{id: 3, value: -1}`.
        row: String,
    },
    /// Data to write breaks a column invariant (`delta.invariants`): the expression is false
    /// or null. Nothing of the batch was written.
    #[error("row {row} violates the invariant of column `{column}`: {expression}")]
    InvariantViolation {
        /// The column carrying the invariant.
        column: String,
        /// The invariant's SQL text.
        expression: String,
        /// The first offending row.
        row: String,
    },
    /// A table constraint or invariant cannot be enforced: it does not parse, names an
    /// unknown column, or is not a boolean expression.
    #[error("{constraint} cannot be enforced (`{expression}`): {source}")]
    InvalidConstraint {
        /// Which constraint: "CHECK constraint `name`" or "the invariant of column `c`".
        constraint: String,
        /// Its SQL text.
        expression: String,
        /// Why.
        #[source]
        source: Box<ExprError>,
    },
    /// A data file could not be encoded or finished.
    #[error("cannot write data file {path}: {reason}")]
    DataFileWrite {
        /// The file's path or URI.
        path: String,
        /// What went wrong.
        reason: String,
        /// The Parquet, storage or task error behind it, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// Rows waiting for their partition's data file could not be spilled to, or read back
    /// from, a temporary file in the writer's local spill directory (full disk, missing or
    /// unwritable directory).
    #[error("spill file in {directory}: {reason}: {source}")]
    Spill {
        /// The spill directory ([`crate::WriterOptions::with_spill_directory`]).
        directory: String,
        /// What the writer was doing.
        reason: String,
        /// The I/O or Arrow IPC error.
        #[source]
        source: BoxError,
    },
    /// An Arrow compute kernel failed on data tarn had already accepted: a bug or a limit,
    /// not the caller's mistake.
    #[error("{context}: {source}")]
    Compute {
        /// What tarn was doing.
        context: String,
        /// The kernel's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The table or the request needs something this version of tarn does not do (writing
    /// column-mapped tables, a partition column of a nested type, a deletion vector over
    /// 2 GiB).
    #[error("not supported by tarn: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// The operation would remove data from a table whose `delta.appendOnly` is `true`.
    #[error(
        "{operation} would remove data files, but the table is append-only (delta.appendOnly=true)"
    )]
    TableIsAppendOnly {
        /// The operation: `DELETE`, `UPDATE`, `an overwrite`, ...
        operation: String,
    },
    /// The stream of batches given to a write yielded an error (the caller's input failed or
    /// was cancelled). Nothing was committed, and the files written were deleted.
    #[error("the input failed: {source}")]
    Input {
        /// The caller's error.
        #[source]
        source: BoxError,
    },
    /// The operation would add a table feature that some readers cannot read, and the caller
    /// did not allow it. Nothing was written.
    #[error(
        "{change} needs the `{feature}` table feature, which {unreadable_by} cannot read; \
         allow the upgrade explicitly ({how_to_allow}) if every reader of this table supports it"
    )]
    FeatureUpgradeNotAllowed {
        /// The feature the change needs.
        feature: String,
        /// What needs it: `widening column `n` from integer to long`.
        change: String,
        /// Readers known to refuse a table with the feature.
        unreadable_by: String,
        /// How to allow it.
        how_to_allow: String,
    },
    /// An argument is not valid for this table (an unknown column, a negative limit).
    #[error("{reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
}

/// A boxed error of any kind, the source of variants whose cause varies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
