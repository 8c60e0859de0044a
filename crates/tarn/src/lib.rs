//! tarn: a lakehouse storage engine over object stores, in the Delta Lake format.
//!
//! A tarn table is a Delta table: Spark, Trino, DuckDB, Polars and delta-rs read what tarn
//! writes, and tarn reads theirs, including deletion vectors, column mapping and v2
//! checkpoints.
//!
//! ```no_run
//! # async fn example() -> tarn::Result<()> {
//! let table = tarn::Table::open("s3://bucket/events").await?;
//! let snapshot = table.snapshot().await?;
//! println!("version {} has {} files", snapshot.version(), snapshot.num_files());
//! let yesterday = table.snapshot_at_version(snapshot.version().saturating_sub(1)).await?;
//! # let _ = yesterday;
//! # Ok(())
//! # }
//! ```

pub mod deletion_vector;
pub mod error;
pub mod expr;
#[doc(hidden)]
pub mod fuzzing;
pub mod ops;
pub mod scan;
pub mod table;
pub mod transaction;
pub mod write;

pub use error::{BoxError, Error, Result};
pub use expr::Expr;
pub use ops::{WriteBuilder, WriteMode};
pub use scan::{Scan, ScanBuilder, ScanStream};
pub use table::{Snapshot, Table, TableBuilder};
pub use tarn_log as log;
pub use tarn_log::location::redact_uri;
pub use tarn_log::{
    ActiveFiles, CommitEntry, DeclaredLocations, FileView, LogError, PathResolver, ResolvedPath,
    StoreRegistry, TableLocation,
};
pub use tarn_protocol as protocol;
pub use tarn_protocol::log_path::Version;
pub use transaction::{CommitSummary, IsolationLevel, ReadSet, Transaction};
pub use write::{DataWriter, WriteOutput, WriterOptions};
