//! The Delta transaction log over object_store.
//!
//! This crate fetches and stores; the decisions (which files define a version, how actions
//! reconcile, which features are readable) are made by pure functions in `tarn-protocol`.
//!
//! - [`location`]: table URIs to stores (local, memory, S3, GCS, Azure);
//! - [`stores`]: the store registry and the one resolver of every path a log names;
//! - [`local_store`]: the local file system, serving regular files only;
//! - [`segment`]: listing `_delta_log`, the `_last_checkpoint` hint, log segments;
//! - [`mod@commit`]: put-if-absent commits with conflict check, rebase and retry;
//! - [`snapshot`]: replaying a segment into a [`Snapshot`], time travel, incremental update;
//! - checkpoints: [`write_checkpoint`] (classic Parquet, with `stats_parsed`), of a snapshot or,
//!   without loading one, of the latest version ([`write_latest_checkpoint`]), and
//!   [`should_checkpoint`];
//! - [`files`]: the active files as Arrow columns;
//! - [`mod@history`]: commit provenance, newest first;
//! - [`parquet_io`]: Parquet reads straight from a store.

mod actions_json;
mod checkpoint;
pub mod commit;
pub mod error;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod local_store;
pub mod location;
pub mod parquet_io;
pub mod segment;
pub mod snapshot;
pub mod stores;
mod timestamps;

pub use checkpoint::{
    CheckpointInfo, CheckpointOptions, checkpoint_interval, should_checkpoint, write_checkpoint,
    write_checkpoint_with, write_latest_checkpoint, write_latest_checkpoint_with,
};
pub use commit::{CommitOptions, CommitOutcome, commit, new_txn_id, read_commit};
pub use error::{LogError, LogResult};
pub use files::{ActiveFiles, FileView};
pub use history::{CommitEntry, history};
pub use location::TableLocation;
pub use snapshot::{Snapshot, SnapshotOptions, version_range};
pub use stores::{DeclaredLocations, PathResolver, ResolvedPath, StoreRegistry};
pub use timestamps::{commit_timestamps, version_at_timestamp, version_timestamp};
