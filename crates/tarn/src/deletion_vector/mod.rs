//! Deletion vectors: which rows of a data file are deleted (PROTOCOL.md, "Deletion Vectors",
//! "Deletion Vector Format", "Deletion Vector File Storage Format").
//!
//! This module decides what a deletion vector descriptor means — which object or inline text
//! holds the bitmap ([`descriptor_object_path`], [`descriptor_relative_path`]), how the bytes
//! are framed and checksummed ([`DeletionVectorFileBuilder`]), how the 64-bit Roaring bitmap is
//! encoded ([`DeletionVector::serialize_bitmap`]) — and loads it
//! ([`load_deletion_vector`]).
//!
//! It must never silently return fewer deleted rows than the log recorded: every load checks
//! the size prefix, the CRC-32, the magic number, the bitmap's structure and the cardinality,
//! and any mismatch is an [`Error::DeletionVector`](crate::Error::DeletionVector) naming the
//! file and the check — a scan that gets an error fails instead of resurrecting deleted rows.
//! It never reads a deletion vector from outside the table and its registered locations: the
//! file is resolved by the table's [`PathResolver`](tarn_log::PathResolver), as data files are.
//!
//! ```no_run
//! # async fn example(snapshot: &tarn::Snapshot,
//! #     descriptor: &tarn::protocol::actions::DeletionVectorDescriptor) -> tarn::Result<()> {
//! use tarn::deletion_vector::load_deletion_vector;
//!
//! let deleted = load_deletion_vector(&snapshot.path_resolver(), descriptor).await?;
//! let live_rows = (0..10u64).filter(|row| !deleted.contains(*row)).count();
//! # let _ = live_rows;
//! # Ok(())
//! # }
//! ```

mod bitmap;
mod descriptor;
mod file_format;
mod load;
pub mod z85;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod load_tests;

pub use bitmap::{DeletionVector, MAX_ROW_INDEX, PORTABLE_MAGIC};
pub use descriptor::{
    ENCODED_UUID_LEN, decode_relative_id, descriptor_absolute_url, descriptor_object_path,
    descriptor_relative_path, descriptor_uuid, encode_relative_id, relative_file_path,
};
pub use file_format::{DeletionVectorFileBuilder, FILE_FORMAT_VERSION, StoredDeletionVector};
pub use load::load_deletion_vector;
