//! Checkpoints: reading every kind the protocol defines (classic, multi-part, v2 with
//! sidecars, in JSON or Parquet), and writing classic Parquet checkpoints.

#[cfg(test)]
mod corrupt_tests;
mod index;
mod keys;
mod layout;
mod leaf;
mod parquet;
mod read;
mod rows;
mod state;
mod stats_parsed;
mod stream;
#[cfg(test)]
mod stream_tests;
mod tombstones;
mod upload;
mod write;
#[cfg(test)]
mod write_safety_tests;
#[cfg(test)]
mod write_tests;

pub(crate) use read::read_checkpoint;
pub(crate) use stats_parsed::stats_parsed_of;
pub(crate) use tombstones::tombstones_after;
pub use write::{
    CheckpointInfo, CheckpointOptions, checkpoint_interval, should_checkpoint, write_checkpoint,
    write_checkpoint_with, write_latest_checkpoint, write_latest_checkpoint_with,
};
