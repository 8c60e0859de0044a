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
    },
    /// A deletion vector cannot be loaded: missing file, bad checksum, bad encoding.
    #[error("cannot load deletion vector {path}: {reason}")]
    DeletionVector {
        /// The deletion vector file (or `inline` for inline vectors).
        path: String,
        /// What is wrong.
        reason: String,
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
    /// An argument is not valid for this table (an unknown column, a negative limit).
    #[error("{reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
