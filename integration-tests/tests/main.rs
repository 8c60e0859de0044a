//! tarn's integration tests: one binary, one module per topic.
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod archive;
mod checkpoints;
mod common;
mod conformance;
mod example_table;
mod fault_injection;
mod fixtures;
mod hostile;
mod interop_read;
mod layout;
mod log_cleanup;
mod negative;
mod optimize;
mod row_tracking;
mod s3_smoke;
mod scan_errors;
mod scan_fixtures;
mod scan_pruning;
mod scan_shredded_variants;
mod store_registry;
mod time_travel;
mod transactions;
mod vacuum;
mod write_concurrency;
mod write_errors;
mod write_interop;
