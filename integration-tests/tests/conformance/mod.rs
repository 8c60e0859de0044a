//! One table suite, run unchanged against every store (STYLE.md 8), the way object_store's
//! `integration.rs` runs every backend through one set of functions: each function here takes
//! a [`TestStore`] — fresh table URIs and the storage options to open them with — and
//! exercises one part of a table's life through tarn's and tarn_maintenance's public API,
//! opening new handles to read back what it wrote.
//!
//! | store | emulator (started by `tools/test.sh`) | runs |
//! | --- | --- | --- |
//! | `memory://` | — | the whole suite, read half included |
//! | local disk | — | the whole suite |
//! | S3 (`s3://`) | moto, requests serialised (`tools/moto.sh`) | the whole suite |
//! | Azure Blob (`az://`) | azurite (`tools/azurite.sh`) | the whole suite |
//! | GCS (`gs://`) | fake-gcs-server (`tools/fake_gcs.sh`) | the read half only ([`reads`]) |
//!
//! fake-gcs-server cannot take object_store's writes (it has no XML-API `PUT`), so GCS gets
//! a table the write half built on local disk, uploaded through the emulator's JSON API, and
//! must read it exactly as local disk does. A cloud test whose emulator is not running fails
//! naming `tools/test.sh`; it never passes by skipping.
//!
//! To add a part of the suite: write `pub async fn name(store: &TestStore)` in the module of
//! its topic and list it in [`for_every_writable_store!`]; every store then runs it.

mod archive;
mod changes;
mod concurrency;
mod data;
mod maintenance;
mod reads;
mod store;
mod write_read;

pub use store::TestStore;

/// One `#[test]` per suite function for a store, in a module named after the store
/// (`conformance::s3::optimize_then_vacuum`...), so that a failure names both.
macro_rules! for_every_writable_store {
    ($($store:ident),* $(,)?) => {$(
        mod $store {
            use super::*;

            fn store() -> TestStore {
                TestStore::$store()
            }

            #[test]
            fn create_write_read() {
                crate::common::block_on(write_read::create_write_read(&store()));
            }

            #[test]
            fn time_travel() {
                crate::common::block_on(write_read::time_travel(&store()));
            }

            #[test]
            fn delete_update_restore() {
                crate::common::block_on(changes::delete_update_restore(&store()));
            }

            #[test]
            fn optimize_then_vacuum() {
                crate::common::block_on(maintenance::optimize_then_vacuum(&store()));
            }

            #[test]
            fn checkpoint_and_log_cleanup() {
                crate::common::block_on(maintenance::checkpoint_and_log_cleanup(&store()));
            }

            #[test]
            fn check_healthy() {
                crate::common::block_on(maintenance::check_healthy(&store()));
            }

            #[test]
            fn concurrent_appends() {
                crate::common::block_on(concurrency::concurrent_appends(&store()));
            }

            #[test]
            fn archive_tier() {
                crate::common::block_on(archive::archive_tier(&store()));
            }

            #[test]
            fn archive_detach_restore() {
                crate::common::block_on(archive::archive_detach_restore(&store()));
            }

            #[test]
            fn reference_table_reads_the_same() {
                crate::common::block_on(reads::reference_table_reads_the_same(&store()));
            }
        }
    )*};
}

for_every_writable_store!(memory, local, s3, azure);

mod gcs {
    use super::*;

    #[test]
    fn reference_table_reads_the_same() {
        crate::common::block_on(reads::reference_table_reads_the_same(&TestStore::gcs()));
    }
}
