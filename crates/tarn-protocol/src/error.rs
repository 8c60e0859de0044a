//! The error type of `tarn-protocol`.

/// Whether a feature is needed to read or to write a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureUse {
    /// Needed by readers (and therefore by writers too).
    Read,
    /// Needed by writers only.
    Write,
}

impl std::fmt::Display for FeatureUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FeatureUse::Read => "reader",
            FeatureUse::Write => "writer",
        })
    }
}

/// Everything that can go wrong when interpreting Delta protocol data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A log line is not a valid action.
    #[error("invalid action: {reason}")]
    InvalidAction {
        /// What is wrong.
        reason: String,
    },
    /// A line of a commit file is not a valid action.
    #[error("invalid action on line {line}: {reason}")]
    InvalidCommitLine {
        /// 1-based line number in the commit file.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A deletion vector descriptor is malformed.
    #[error("invalid deletion vector: {reason}")]
    InvalidDeletionVector {
        /// What is wrong.
        reason: String,
    },
    /// The table needs a protocol feature this version of tarn does not support.
    #[error("unsupported {usage} feature `{feature}`")]
    UnsupportedFeature {
        /// The feature name as it appears in the protocol action.
        feature: String,
        /// Whether reading or writing needs it.
        usage: FeatureUse,
    },
    /// The table lists a writer feature that is active in a way tarn's writer does not honour
    /// (e.g. `changeDataFeed` with `delta.enableChangeDataFeed = true`), so tarn must not write.
    #[error("unsupported writer feature `{feature}` is in use: {because}")]
    UnsupportedActiveFeature {
        /// The feature name as it appears in the protocol action.
        feature: String,
        /// What makes it active (the table property or column).
        because: String,
    },
    /// A commit to an append-only table (`delta.appendOnly = true`) removes data.
    #[error(
        "the table is append-only (delta.appendOnly = true): cannot remove {path} with dataChange = true"
    )]
    AppendOnlyViolation {
        /// The path of the first data-changing remove.
        path: String,
    },
    /// The table needs a protocol version this version of tarn does not support.
    #[error("unsupported {usage} protocol version {version} (tarn supports up to {supported})")]
    UnsupportedProtocolVersion {
        /// The version the table requires.
        version: i32,
        /// The highest version tarn supports.
        supported: i32,
        /// Reader or writer version.
        usage: FeatureUse,
    },
    /// The protocol action itself is inconsistent (e.g. reader features without reader v3).
    #[error("invalid protocol action: {reason}")]
    InvalidProtocol {
        /// What is wrong.
        reason: String,
    },
    /// A schema string or Arrow schema cannot be interpreted.
    #[error("invalid schema: {reason}")]
    InvalidSchema {
        /// What is wrong.
        reason: String,
    },
    /// A type cannot be represented on the other side of a conversion.
    #[error("unsupported type {data_type}: {reason}")]
    UnsupportedType {
        /// The type, as text.
        data_type: String,
        /// Why it is unsupported.
        reason: String,
    },
    /// A file name in `_delta_log` is not one the protocol defines.
    #[error("not a Delta log file name: {name:?}")]
    InvalidLogFileName {
        /// The offending name.
        name: String,
    },
    /// A partition value does not parse as its column's type.
    #[error(
        "invalid value {value:?} for partition column `{column}` of type {data_type}: {reason}"
    )]
    InvalidPartitionValue {
        /// Partition column name.
        column: String,
        /// The serialized value.
        value: String,
        /// The column's type, as text.
        data_type: String,
        /// What is wrong.
        reason: String,
    },
    /// Table metadata is inconsistent (e.g. a partition column missing from the schema).
    #[error("invalid table metadata: {reason}")]
    InvalidMetadata {
        /// What is wrong.
        reason: String,
    },
    /// A table property (a `configuration` entry of `metaData`) has a value the protocol does
    /// not allow, e.g. `delta.columnMapping.mode` = `names`.
    #[error("invalid value {value:?} for table property `{property}`: {reason}")]
    InvalidTableProperty {
        /// The property key.
        property: String,
        /// The value found.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A partition value cannot be written in the form the protocol stores, e.g. a binary value
    /// that is not UTF-8 (partition values are JSON strings).
    #[error("partition value {value} of type {data_type} cannot be serialized: {reason}")]
    UnserializablePartitionValue {
        /// The value, as text (binary as hex).
        value: String,
        /// The value's type, as text.
        data_type: String,
        /// Why it cannot be serialized.
        reason: String,
    },
    /// A Hive-style partition directory segment (`col=value`) is not validly escaped.
    #[error("invalid partition path segment {segment:?}: {reason}")]
    InvalidPartitionPath {
        /// The offending segment.
        segment: String,
        /// What is wrong.
        reason: String,
    },
    /// The `path` of an add, remove or cdc action is not a usable URI.
    #[error("invalid data file path {path:?}: {reason}")]
    InvalidDataFilePath {
        /// The path exactly as it appears in the log.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration of a `domainMetadata` domain tarn reads (e.g. `tarn.archive`) does
    /// not have the form the domain defines.
    #[error("invalid configuration of domain `{domain}`: {reason}")]
    InvalidDomainMetadata {
        /// The domain's name.
        domain: String,
        /// What is wrong.
        reason: String,
    },
    /// A file cannot be given row ids on a table that tracks rows (PROTOCOL.md, "Row
    /// Tracking"), e.g. its `add` does not say how many rows it holds.
    #[error("cannot assign row ids to {path:?}: {reason}")]
    RowIdAssignment {
        /// The file's path as in its `add` (empty when the commit as a whole is at fault).
        path: String,
        /// Why.
        reason: String,
    },
}
