//! How each engine writes the generated input stream as a table partitioned by `day`: tarn
//! through its write builder, the deltalake crate through its streaming `RecordBatchWriter`,
//! and "raw parquet" with one `ArrowWriter` per day and no Delta log. Every engine writes zstd
//! level 3 pages (tarn's default codec, set explicitly on the others). `input-only` drains the
//! same stream and writes nothing: the generator's own share of time and memory.
//!
//! This module decides what each engine is asked to do; it never times anything, and what was
//! written is checked afterwards by `verify`, from the files on disk, not from the engine.

pub(crate) mod with_delta_rs;
mod with_parquet;
mod with_tarn;

pub(crate) mod verify;

use std::path::Path;

use parquet::basic::{Compression, ZstdLevel};

use crate::engine::Engine;
use crate::error::BenchError;
use crate::gen_stream::{Layout, StreamSpec};

/// The zstd level of every engine's data files: tarn's default.
pub(crate) const ZSTD_LEVEL: i32 = 3;

/// The Parquet codec of every engine's data files.
fn compression() -> Result<Compression, BenchError> {
    let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|source| BenchError::Parquet {
        path: format!("zstd level {ZSTD_LEVEL}"),
        source,
    })?;
    Ok(Compression::ZSTD(level))
}

/// What a finished write leaves behind.
pub(crate) struct WriteOutcome {
    /// The engine's table and writer state, kept alive so that freeing them falls outside the
    /// timed region.
    pub(crate) _state: Box<dyn std::any::Any>,
}

/// Writes the rows of `spec` into a new table at `dir` (an existing, empty directory).
pub(crate) async fn write(
    engine: Engine,
    dir: &Path,
    spec: &StreamSpec,
) -> Result<WriteOutcome, BenchError> {
    match engine {
        Engine::Tarn => with_tarn::write(dir, spec).await,
        Engine::Deltalake => with_delta_rs::write(dir, spec).await,
        Engine::RawParquet if spec.layout == Layout::Interleaved => {
            Err(BenchError::InvalidArgument {
                name: "--layout",
                value: spec.layout.name().to_owned(),
                reason: "raw-parquet writes one day at a time: it needs --layout clustered",
            })
        }
        Engine::RawParquet => with_parquet::write(dir, spec),
        Engine::InputOnly => {
            let mut rows = 0_usize;
            for batch in spec.batches()? {
                rows += std::hint::black_box(batch?).num_rows();
            }
            Ok(WriteOutcome {
                _state: Box::new(rows),
            })
        }
    }
}
