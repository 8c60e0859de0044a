//! Keeping tarn tables healthy, the way a maintenance job runs it beside live writers.
//!
//! Every operation here is builder -> plan -> execute (STYLE.md): the plan is a value computed
//! by pure functions from a snapshot (what will be read, written and committed), printable as
//! a dry run, and executing it reads, writes and commits through `tarn`'s public API only —
//! [`tarn::Snapshot::transaction`], [`tarn::ScanBuilder::with_files`], [`tarn::DataWriter`] —
//! as any program could. The safety rules are `spec/maintenance.md`.
//!
//! - [`optimize`]: compaction (bin-packing), sorting, Z-ordering and liquid clustering;
//! - [`archive`]: lifecycle archiving (tiering and detaching cold files to an archive
//!   location) and bringing archived files back;
//! - [`maintain`]: the maintenance job: a policy of tables, each compacted, checkpointed,
//!   vacuumed and its log cleaned up;
//! - [`vacuum`]: deleting the files no retained version needs (full and lite);
//! - [`cleanup`]: deleting log files no version inside the log retention needs;
//! - [`clustering`]: which columns a clustered table is clustered by;
//! - [`curve`]: orders rows along a space-filling curve (Z-order, Hilbert) over several
//!   columns, for sorted and clustered layouts.

pub mod archive;
pub mod check;
pub mod cleanup;
pub mod clustering;
pub mod curve;
pub mod error;
pub mod maintain;
pub mod optimize;
pub mod stop;
pub mod vacuum;

pub use error::{MaintenanceError, Result};
pub use stop::Stop;
