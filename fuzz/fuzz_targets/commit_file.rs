//! Commit-file parsing: the input is the commit of version 1 of a table whose version 0 is a
//! plain protocol and metadata, read as a snapshot (with statistics) and as history. Every
//! line of the file is parsed, its actions replayed onto version 0 and the result checked;
//! any input must end in a snapshot or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::log::snapshot::SnapshotOptions;
use tarn::log::{Snapshot, history};
use tarn_fuzz::{memory_table, runtime};

const VERSION_0: &str = concat!(
    r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#,
    "\n",
    r#"{"metaData":{"id":"fuzz","format":{"provider":"parquet","options":{}},"#,
    r#""schemaString":"{\"type\":\"struct\",\"fields\":["#,
    r#"{\"name\":\"day\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"#,
    r#"{\"name\":\"value\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"#,
    r#"{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","#,
    r#""partitionColumns":["day"],"configuration":{},"createdTime":0}}"#,
    "\n",
);

fuzz_target!(|data: &[u8]| {
    let location = memory_table(&[
        ("_delta_log/00000000000000000000.json", VERSION_0.as_bytes()),
        ("_delta_log/00000000000000000001.json", data),
    ]);
    runtime().block_on(async {
        if let Ok(snapshot) =
            Snapshot::load_with(location.clone(), None, SnapshotOptions::with_statistics()).await
        {
            let files = snapshot.files();
            let _ = (files.len(), snapshot.txns().len(), snapshot.commit_info());
        }
        let _ = history(&location, None).await;
    });
});
