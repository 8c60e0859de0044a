//! Checkpoints: reading every kind the protocol defines (classic, multi-part, v2 with
//! sidecars, in JSON or Parquet).

mod parquet;
mod read;
mod rows;

pub(crate) use read::read_checkpoint;
