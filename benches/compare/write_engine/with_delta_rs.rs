//! The deltalake crate's streaming write, as its `recordbatch-writer` example does it: create
//! the table (`DeltaTable::create()` with the columns and the `day` partition column), then a
//! `RecordBatchWriter::for_table` with zstd level 3 writer properties, `write` every batch as it
//! is generated, and one `flush_and_commit`. The writer streams each partition's file to storage
//! as batches arrive, so, like tarn's, its memory does not grow with the input; its other entry
//! point, `DeltaTable::write(batches)`, collects every batch into a DataFusion `MemTable` first.
//! Creating the table is one more commit than tarn's, inside the timed region.

use std::path::Path;

use deltalake::kernel::{DataType, StructField};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use parquet::file::properties::WriterProperties;

use super::{WriteOutcome, compression};
use crate::engine::table_url;
use crate::error::BenchError;
use crate::gen_stream::{PARTITION_COLUMN, StreamSpec};

pub(super) async fn write(dir: &Path, spec: &StreamSpec) -> Result<WriteOutcome, BenchError> {
    let mut table = create(dir).await?;
    let mut writer =
        RecordBatchWriter::for_table(&table)?.with_writer_properties(writer_properties()?);
    for batch in spec.batches()? {
        writer.write(batch?).await?;
    }
    writer.flush_and_commit(&mut table).await?;
    Ok(WriteOutcome {
        _state: Box::new((table, writer)),
    })
}

/// Creates the (empty) table at `dir`: the generator's columns, partitioned by `day`.
pub(crate) async fn create(dir: &Path) -> Result<deltalake::DeltaTable, BenchError> {
    let table = deltalake::DeltaTable::try_from_url(table_url(dir)?).await?;
    Ok(table
        .create()
        .with_columns(columns())
        .with_partition_columns([PARTITION_COLUMN])
        .await?)
}

/// The Delta columns of `gen_stream::table_schema`.
fn columns() -> Vec<StructField> {
    vec![
        StructField::new("id", DataType::LONG, true),
        StructField::new("user_id", DataType::LONG, true),
        StructField::new("amount", DataType::DOUBLE, true),
        StructField::new("category", DataType::STRING, true),
        StructField::new("event_time", DataType::TIMESTAMP, true),
        StructField::new(PARTITION_COLUMN, DataType::STRING, true),
    ]
}

/// Writer properties of every deltalake writer here: zstd level 3, the rest deltalake's own
/// defaults.
pub(crate) fn writer_properties() -> Result<WriterProperties, BenchError> {
    Ok(WriterProperties::builder()
        .set_compression(compression()?)
        .build())
}
