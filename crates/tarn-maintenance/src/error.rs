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

impl From<tarn::LogError> for MaintenanceError {
    fn from(err: tarn::LogError) -> Self {
        MaintenanceError::Tarn(err.into())
    }
}

/// `Result` with [`MaintenanceError`].
pub type Result<T, E = MaintenanceError> = std::result::Result<T, E>;
