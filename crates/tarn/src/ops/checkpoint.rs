//! Writing a checkpoint on demand.

use crate::error::Result;
use crate::table::Table;

/// Writes a checkpoint of the table's latest version. Obtained from [`Table::checkpoint`].
#[derive(Debug)]
pub struct CheckpointBuilder {
    table: Table,
}

/// What a checkpoint wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointSummary {
    /// The version checkpointed.
    pub version: tarn_protocol::log_path::Version,
    /// Active files in the checkpoint.
    pub num_files: u64,
    /// Size of the checkpoint file in bytes.
    pub size_bytes: u64,
}

impl CheckpointBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self { table }
    }

    /// Writes the checkpoint and then `_last_checkpoint`.
    ///
    /// The table's snapshot (kept between calls, without statistics) says which files are
    /// active; their statistics are read from the log as the checkpoint is written, never all
    /// held at once.
    pub async fn execute(self) -> Result<CheckpointSummary> {
        let snapshot = self.table.snapshot().await?;
        let info = tarn_log::write_checkpoint(snapshot.log_snapshot()).await?;
        Ok(CheckpointSummary {
            version: snapshot.version(),
            num_files: u64::try_from(snapshot.num_files()).unwrap_or(0),
            size_bytes: info.size_in_bytes,
        })
    }
}
