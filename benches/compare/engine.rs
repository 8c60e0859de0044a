//! The engines under comparison and the one call each makes to open a table's latest snapshot.
//! This module decides what "opened" means for each engine (the cheapest honest way to know the
//! version and the active-file count); it must never time or report anything itself. Scans live
//! in `scan_engine`.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use url::Url;

use crate::error::BenchError;

/// A Delta implementation measured by `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Engine {
    /// This project.
    Tarn,
    /// The deltalake crate (delta-rs), the baseline.
    Deltalake,
    /// The table's data files read directly with the parquet crate, listed from the generator's
    /// manifest: the floor a Delta reader could reach; for writes, the parquet crate's
    /// `ArrowWriter` writing the same batches with no log: the floor a Delta writer could
    /// reach. Scans and writes only.
    RawParquet,
    /// Generates a write scenario's input and writes nothing: the input's own time and memory,
    /// for reference. Writes only.
    InputOnly,
}

impl Engine {
    /// The engines that open snapshots, in report order.
    pub(crate) const SNAPSHOT: [Engine; 2] = [Engine::Tarn, Engine::Deltalake];
    /// The engines that write checkpoints, in report order.
    pub(crate) const CHECKPOINT: [Engine; 2] = [Engine::Tarn, Engine::Deltalake];
    /// The engines that scan, in report order.
    pub(crate) const SCAN: [Engine; 3] = [Engine::Tarn, Engine::Deltalake, Engine::RawParquet];
    /// The engines of the `write` scenario, in report order.
    pub(crate) const WRITE: [Engine; 4] = [
        Engine::Tarn,
        Engine::Deltalake,
        Engine::RawParquet,
        Engine::InputOnly,
    ];
    /// The engines that commit to a Delta log, in report order.
    pub(crate) const COMMIT: [Engine; 2] = [Engine::Tarn, Engine::Deltalake];
    /// The engines that compact tables, in report order.
    pub(crate) const OPTIMIZE: [Engine; 2] = [Engine::Tarn, Engine::Deltalake];
    /// The engines that vacuum tables, in report order.
    pub(crate) const VACUUM: [Engine; 2] = [Engine::Tarn, Engine::Deltalake];

    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Engine::Tarn => "tarn",
            Engine::Deltalake => "deltalake",
            Engine::RawParquet => "raw-parquet",
            Engine::InputOnly => "input-only",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an engine saw when it opened the latest snapshot.
pub(crate) struct OpenedSnapshot {
    /// The snapshot's table version.
    pub(crate) version: u64,
    /// Active (added, not removed) files in the snapshot.
    pub(crate) num_files: u64,
    /// The engine's table and snapshot, kept alive so that freeing them falls outside the timed
    /// region and their memory is still resident when the child reads its peak RSS.
    pub(crate) _state: Box<dyn std::any::Any>,
}

/// Opens the latest snapshot of the table at `dir` and counts its active files.
pub(crate) async fn open_latest(engine: Engine, dir: &Path) -> Result<OpenedSnapshot, BenchError> {
    match engine {
        Engine::Tarn => open_tarn(dir).await,
        Engine::Deltalake => open_deltalake(dir).await,
        Engine::RawParquet | Engine::InputOnly => Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "only tarn and deltalake open snapshots",
        }),
    }
}

/// `deltalake::open_table` loads the snapshot eagerly: every active file's row lives in the
/// table state afterwards, so counting is a sum over the loaded batches.
async fn open_deltalake(dir: &Path) -> Result<OpenedSnapshot, BenchError> {
    let table = deltalake::open_table(table_url(dir)?).await?;
    let state = table.snapshot()?;
    let version = state.version();
    let num_files = count(state.log_data().num_files());
    Ok(OpenedSnapshot {
        version,
        num_files,
        _state: Box::new(table),
    })
}

async fn open_tarn(dir: &Path) -> Result<OpenedSnapshot, BenchError> {
    let table = tarn::Table::open(table_url(dir)?.as_str()).await?;
    let snapshot = table.snapshot().await?;
    Ok(OpenedSnapshot {
        version: snapshot.version(),
        num_files: count(snapshot.num_files()),
        _state: Box::new((table, snapshot)),
    })
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `file://` URL of a local table directory (absolute, with the trailing slash object stores
/// need to treat it as a prefix).
pub(crate) fn table_url(dir: &Path) -> Result<Url, BenchError> {
    let absolute = dir.canonicalize().map_err(crate::error::io_error(dir))?;
    Url::from_directory_path(&absolute).map_err(|()| BenchError::TableUrl { path: absolute })
}
