//! The Delta Lake protocol as pure data and functions.
//!
//! This crate decides; it never fetches or stores. Everything here is a plain function over
//! plain data so it can be tested exhaustively without a store:
//!
//! - [`actions`]: every log action with its exact JSON form;
//! - [`schema`]: Delta schema JSON and its mapping to Arrow;
//! - [`features`]: protocol versions and named table features, and what tarn supports;
//! - [`log_path`]: the names of commit, checkpoint, compaction and checksum files;
//! - [`log_segment`]: which checkpoint and commits define a version;
//! - [`replay`]: reconciling actions newest-first into the state of a version;
//! - [`conflict`]: whether a transaction may commit after concurrent commits;
//! - [`partition`]: partition values, their types and their path encoding;
//! - [`retention`]: how long removed files and log files are kept, and what has expired;
//! - [`row_tracking`]: row ids and row commit versions, assigned where a commit lands;
//! - [`data_path`] and [`store_location`]: what a file path in the log names, normalised;
//! - [`archive_domain`]: the `tarn.archive` domain's configuration (declared locations).
//!
//! The protocol is PROTOCOL.md in the public `delta-io/delta` repository; section names in the
//! docs below refer to it.

pub mod actions;
pub mod archive_domain;
pub mod conflict;
pub mod data_path;
pub mod error;
pub mod features;
pub mod log_path;
pub mod log_segment;
pub mod partition;
pub mod replay;
pub mod retention;
pub mod row_tracking;
pub mod scalar;
pub mod schema;
pub mod size;
pub mod store_location;

pub use error::ProtocolError;
