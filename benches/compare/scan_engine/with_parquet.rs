//! "Raw parquet": the floor for a Delta scan. It reads no Delta log at all: it lists the data
//! files from the generator's manifest and reads them with the parquet crate's async reader over
//! object_store (the I/O path tarn uses), `CONCURRENCY` files at once, every data column, in
//! batches of `BATCH_SIZE`.
//!
//! What it reads for each selection is what a reader that knows the layout would read:
//! - every row: every file, every row group;
//! - one day: the files of that day's partition directory (from the manifest), every row group,
//!   no row filter (every row of the partition matches);
//! - an `id` range: the files whose `id` range (from the manifest) overlaps it, and in them
//!   only the row groups whose Parquet `id` statistics overlap it; the rows read are then
//!   filtered to the range with Arrow kernels, so it returns exactly the matching rows.
//!
//! It returns the five data columns; the partition column `day` is known per file and not
//! materialized as an Arrow column.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::compute::kernels::{boolean, cmp};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
// Deprecated since parquet 59.2 in favour of readers each user writes; it is still the parquet
// crate's own object_store reader, which is what this baseline is meant to use.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use super::{BATCH_SIZE, CONCURRENCY, ReadCounts, ScanOutcome, Selection, Tally};
use crate::error::{BenchError, io_error};
use crate::gen_data::{Manifest, ManifestFile};

/// What one file contributed.
struct FileResult {
    tally: Tally,
    row_groups: u64,
    rows_decoded: u64,
}

pub(super) async fn scan(dir: &Path, selection: &Selection) -> Result<ScanOutcome, BenchError> {
    let manifest = Manifest::read(dir)?;
    let root = dir.canonicalize().map_err(io_error(dir))?;
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(&root).map_err(|source| {
            BenchError::ObjectStore {
                path: root.display().to_string(),
                source,
            }
        })?);
    let files: Vec<ManifestFile> = match selection {
        Selection::All => manifest.files.clone(),
        Selection::Day(day) => manifest.files_of_day(day).cloned().collect(),
        Selection::IdRange { from, to } => manifest.files_with_ids(*from, *to).cloned().collect(),
    };
    let file_count = u64::try_from(files.len()).unwrap_or(u64::MAX);
    let results: Vec<FileResult> = futures::stream::iter(files)
        .map(|file| {
            let store = Arc::clone(&store);
            let selection = selection.clone();
            // Spawned, so files decode on every worker thread, as tarn's and DataFusion's do.
            let path = file.path.clone();
            async move {
                tokio::spawn(read_file(store, file, selection))
                    .await
                    .map_err(|source| BenchError::ReadTask { path, source })?
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut tally = Tally::default();
    let (mut row_groups, mut rows_decoded) = (0, 0);
    for result in &results {
        tally.merge(&result.tally);
        row_groups += result.row_groups;
        rows_decoded += result.rows_decoded;
    }
    Ok(ScanOutcome {
        tally,
        read: ReadCounts {
            files: Some(file_count),
            row_groups: Some(row_groups),
            rows_decoded: Some(rows_decoded),
        },
        _state: Box::new(manifest),
    })
}

async fn read_file(
    store: Arc<dyn ObjectStore>,
    file: ManifestFile,
    selection: Selection,
) -> Result<FileResult, BenchError> {
    let parquet_error = |source| BenchError::Parquet {
        path: file.path.clone(),
        source,
    };
    let location = ObjectPath::parse(&file.path).map_err(|source| BenchError::ObjectPath {
        path: file.path.clone(),
        source,
    })?;
    #[allow(deprecated)]
    let reader = ParquetObjectReader::new(store, location).with_file_size(file.size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(parquet_error)?
        .with_batch_size(BATCH_SIZE);
    let metadata = Arc::clone(builder.metadata());
    let row_groups: Vec<usize> = match &selection {
        Selection::IdRange { from, to } => row_groups_with_ids(&metadata, *from, *to),
        Selection::All | Selection::Day(_) => (0..metadata.num_row_groups()).collect(),
    };
    let rows_decoded: i64 = row_groups
        .iter()
        .map(|&i| metadata.row_group(i).num_rows())
        .sum();
    let row_group_count = u64::try_from(row_groups.len()).unwrap_or(u64::MAX);
    let mut stream = builder
        .with_row_groups(row_groups)
        .build()
        .map_err(parquet_error)?;
    let mut tally = Tally::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(parquet_error)?;
        match &selection {
            Selection::IdRange { from, to } => tally.add(&filter_ids(&batch, *from, *to)?)?,
            Selection::All | Selection::Day(_) => tally.add(&batch)?,
        }
    }
    Ok(FileResult {
        tally,
        row_groups: row_group_count,
        rows_decoded: u64::try_from(rows_decoded).unwrap_or(0),
    })
}

/// Row groups whose `id` statistics overlap `from..=to`; a row group without statistics is
/// kept.
fn row_groups_with_ids(metadata: &ParquetMetaData, from: i64, to: i64) -> Vec<usize> {
    let id_column = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|column| column.name() == "id");
    (0..metadata.num_row_groups())
        .filter(|&i| {
            let stats = id_column.and_then(|c| metadata.row_group(i).column(c).statistics());
            match stats {
                Some(Statistics::Int64(values)) => match (values.min_opt(), values.max_opt()) {
                    (Some(&min), Some(&max)) => min <= to && max >= from,
                    _ => true,
                },
                _ => true,
            }
        })
        .collect()
}

/// The rows of `batch` with `from <= id <= to`.
fn filter_ids(batch: &RecordBatch, from: i64, to: i64) -> Result<RecordBatch, BenchError> {
    let arrow_error = |source| BenchError::Arrow {
        what: "id range filter",
        source,
    };
    let id = batch
        .column_by_name("id")
        .ok_or_else(|| BenchError::MissingColumn {
            column: "id",
            schema: batch.schema().to_string(),
        })?;
    let low = cmp::gt_eq(id, &Int64Array::new_scalar(from)).map_err(arrow_error)?;
    let high = cmp::lt_eq(id, &Int64Array::new_scalar(to)).map_err(arrow_error)?;
    let keep = boolean::and(&low, &high).map_err(arrow_error)?;
    arrow::compute::filter_record_batch(batch, &keep).map_err(arrow_error)
}
