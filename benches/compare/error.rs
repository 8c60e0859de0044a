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

    /// The tarn library returned an error.
    #[error("tarn: {0}")]
    Tarn(#[from] tarn::Error),

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
