//! The harness's one error type. Every variant names the file, engine or value it is about, so a
//! failed benchmark run says what went wrong without a debugger.

use std::path::PathBuf;

use crate::engine::Engine;

/// Everything that can stop a `compare` command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum BenchError {
    /// Reading or writing a file or directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory being touched.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Serialising an action or a report to JSON failed.
    #[error("could not serialise {what} to JSON: {source}")]
    Serialize {
        /// What was being serialised.
        what: &'static str,
        /// The underlying error.
        source: serde_json::Error,
    },

    /// Reading a JSON file written by the harness failed.
    #[error("could not read {what} from {path}: {source}")]
    Deserialize {
        /// What was being read.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },

    /// `gen-log` refuses to write into a directory that already holds a Delta log.
    #[error("{path} already contains a _delta_log; pick an empty or new directory")]
    LogExists {
        /// The table directory.
        path: PathBuf,
    },

    /// A generator or scenario parameter is out of range.
    #[error("invalid argument {name} = {value}: {reason}")]
    InvalidArgument {
        /// The flag.
        name: &'static str,
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// A table path could not be turned into a `file://` URL.
    #[error("cannot express {path} as a file:// URL")]
    TableUrl {
        /// The table directory.
        path: PathBuf,
    },

    /// Starting the tokio runtime failed.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),

    /// The deltalake crate returned an error.
    #[error("deltalake: {0}")]
    Deltalake(#[from] deltalake::DeltaTableError),

    /// DataFusion (the deltalake crate's scan engine) returned an error.
    #[error("datafusion: {0}")]
    DataFusion(#[from] deltalake::datafusion::error::DataFusionError),

    /// Writing or reading a Parquet data file failed.
    #[error("parquet error on {path}: {source}")]
    Parquet {
        /// The data file, relative to the table root.
        path: String,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },

    /// An Arrow kernel or batch constructor failed.
    #[error("arrow error in {what}: {source}")]
    Arrow {
        /// What was being computed.
        what: &'static str,
        /// The underlying error.
        source: arrow::error::ArrowError,
    },

    /// Setting up the object store of the raw-parquet reader failed.
    #[error("object store at {path}: {source}")]
    ObjectStore {
        /// The table root.
        path: String,
        /// The underlying error.
        source: object_store::Error,
    },

    /// A manifest path is not a valid object store path.
    #[error("data file path {path} is not a valid object path: {source}")]
    ObjectPath {
        /// The path as the manifest has it.
        path: String,
        /// The underlying error.
        source: object_store::path::Error,
    },

    /// A spawned file reader panicked or was cancelled.
    #[error("the reader of {path} did not finish: {source}")]
    ReadTask {
        /// The data file.
        path: String,
        /// The underlying error.
        source: tokio::task::JoinError,
    },

    /// A scan returned batches without a column the harness tallies, or of another type.
    #[error("scan output has no {column} column of the generated type; its schema: {schema}")]
    MissingColumn {
        /// The column.
        column: &'static str,
        /// The schema of the batch.
        schema: String,
    },

    /// A table in the work directory was generated with other parameters.
    #[error(
        "{path} holds a table generated with other parameters; remove it or use another --work-dir"
    )]
    StaleTable {
        /// The table directory.
        path: PathBuf,
    },

    /// The tarn library returned an error.
    #[error("tarn: {0}")]
    Tarn(#[from] tarn::Error),

    /// tarn's maintenance crate (compaction, vacuum) returned an error.
    #[error("tarn-maintenance: {0}")]
    Maintenance(#[from] tarn_maintenance::MaintenanceError),

    /// An engine opened a snapshot that does not match what the generator wrote.
    #[error("{engine} saw {what} = {actual}, expected {expected}")]
    WrongSnapshot {
        /// The engine that opened the table.
        engine: Engine,
        /// `version` or `num_files`.
        what: &'static str,
        /// What the generator wrote.
        expected: u64,
        /// What the engine reported.
        actual: u64,
    },

    /// An engine's scan returned something other than the generator's ground truth.
    #[error("{engine} scan of {selection}: {what} = {actual}, expected {expected}")]
    WrongScan {
        /// The engine that scanned.
        engine: Engine,
        /// The selection, as on the command line.
        selection: String,
        /// `rows`, `amount sum`, `min id` or `max id`.
        what: &'static str,
        /// The ground truth.
        expected: String,
        /// What the engine returned.
        actual: String,
    },

    /// The write input broke the order the raw-parquet writer relies on: one day per batch,
    /// days in order.
    #[error("input batch for day {day} is out of day order or spans several days")]
    InputOrder {
        /// The day of the offending batch.
        day: String,
    },

    /// A data file does not hold what its `add` action says.
    #[error("{file}: the log says {what} = {logged}, the file has {actual}")]
    LogMismatch {
        /// The data file, relative to the table root.
        file: String,
        /// `numRecords` or `size`.
        what: String,
        /// What the `add` action says.
        logged: String,
        /// What the file holds.
        actual: u64,
    },

    /// What an engine wrote or committed is not what it was given.
    #[error("{engine} wrote {what} = {actual}, expected {expected}")]
    WrongWrite {
        /// The engine that wrote.
        engine: Engine,
        /// `rows`, `version`, `data files`...
        what: &'static str,
        /// What it was given.
        expected: u64,
        /// What the files on disk hold.
        actual: u64,
    },

    /// A compacted table does not hold what it held before, or was not compacted as asked.
    #[error("{engine} compaction: {what} = {actual}, expected {expected}")]
    WrongCompaction {
        /// The engine that compacted.
        engine: Engine,
        /// What is wrong, naming the partition or file when there is one.
        what: String,
        /// What the source table and the target size call for.
        expected: String,
        /// What the table holds afterwards.
        actual: String,
    },

    /// A vacuumed table kept a file it should have deleted, lost one it needed, or no longer
    /// matches its log.
    #[error("{engine} vacuum: {what}: expected {expected}, found {actual}")]
    WrongVacuum {
        /// The engine that vacuumed.
        engine: Engine,
        /// What is wrong, naming the file when there is one.
        what: String,
        /// What the generated table calls for.
        expected: String,
        /// What the table holds afterwards.
        actual: String,
    },

    /// `/proc/self/status` has no `VmHWM` line (not Linux, or an unexpected format).
    #[error("no VmHWM line in /proc/self/status")]
    NoPeakRss,

    /// Spawning a child process failed.
    #[error("cannot run child {command}: {source}")]
    ChildSpawn {
        /// The command line of the child.
        command: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Shorthand for an I/O error on a path.
pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BenchError {
    let path = path.into();
    move |source| BenchError::Io { path, source }
}
