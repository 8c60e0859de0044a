//! Checkpoints: reading every kind the protocol defines (classic, multi-part, v2 with
//! sidecars, in JSON or Parquet).

mod read;

pub(crate) use read::read_checkpoint;
