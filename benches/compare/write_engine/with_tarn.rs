//! tarn's write: `Table::open`, then `write().with_partition_columns(["day"]).execute(schema,
//! stream)`, which creates the table in the same commit. Default writer options: zstd level 3,
//! 128 MiB target files, bounded buffers.

use std::path::Path;

use super::WriteOutcome;
use crate::engine::table_url;
use crate::error::BenchError;
use crate::gen_stream::{PARTITION_COLUMN, StreamSpec, table_schema};

pub(super) async fn write(dir: &Path, spec: &StreamSpec) -> Result<WriteOutcome, BenchError> {
    let table = tarn::Table::open(table_url(dir)?.as_str()).await?;
    let batches = spec.batches()?.map(|batch| {
        batch.map_err(|err| tarn::Error::InvalidArgument {
            reason: format!("input generator: {err}"),
        })
    });
    let summary = table
        .write()
        .with_partition_columns([PARTITION_COLUMN])
        .execute(table_schema(), futures::stream::iter(batches))
        .await?;
    Ok(WriteOutcome {
        _state: Box::new((table, summary)),
    })
}
