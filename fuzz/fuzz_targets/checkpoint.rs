//! Checkpoint reading: the input is the classic Parquet checkpoint of version 1 (no commits
//! after it), read as a snapshot with statistics: the Parquet footer and pages, the action
//! columns, `stats` or `stats_parsed`, protocol and metadata. Any input must end in a
//! snapshot or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::log::Snapshot;
use tarn::log::snapshot::SnapshotOptions;
use tarn_fuzz::{memory_table, runtime};

fuzz_target!(|data: &[u8]| {
    let location = memory_table(&[("_delta_log/00000000000000000001.checkpoint.parquet", data)]);
    runtime().block_on(async {
        if let Ok(snapshot) =
            Snapshot::load_with(location, None, SnapshotOptions::with_statistics()).await
        {
            let _ = (snapshot.files().len(), snapshot.domain_metadata().len());
        }
    });
});
