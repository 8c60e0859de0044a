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
    /// No snapshot is loaded: the log's non-file actions are read first, then its file actions
    /// are replayed straight into the checkpoint, each file's statistics written as they are
    /// read (see [`tarn_log::write_latest_checkpoint`]), so the files are never all in memory.
    pub async fn execute(self) -> Result<CheckpointSummary> {
        let location = std::sync::Arc::clone(self.table.location_arc());
        let info = tarn_log::write_latest_checkpoint(location).await?;
        Ok(CheckpointSummary {
            version: info.version,
            num_files: info.add_files,
            size_bytes: info.size_in_bytes,
        })
    }
}
