//! Reading Parquet files straight from an object store.
//!
//! parquet 59.2 deprecated its `ParquetObjectReader`; this is tarn's own small
//! [`AsyncFileReader`] over `object_store`, shared by checkpoint reads and table scans. It reads
//! the footer with one suffix request (sized by a hint, so small files need a single request)
//! and column chunks with coalesced range requests.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::{ParquetError, Result as ParquetResult};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// How many bytes to fetch from the end of a file on the first footer read. Checkpoint and
/// data file footers of a few hundred columns fit; larger footers take one more request.
const FOOTER_HINT: usize = 64 * 1024;

/// An [`AsyncFileReader`] for one object of a store.
#[derive(Debug, Clone)]
pub struct ObjectFileReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl ObjectFileReader {
    /// A reader for `path`, whose size in bytes is known (from a listing or the log).
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        Self { store, path, size }
    }

    /// The object's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn to_parquet_error(err: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(err))
}

impl AsyncFileReader for ObjectFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, ParquetResult<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(to_parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, ParquetResult<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(to_parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, ParquetResult<Arc<ParquetMetaData>>> {
        async move {
            let mut reader = ParquetMetaDataReader::new().with_prefetch_hint(Some(FOOTER_HINT));
            if let Some(options) = options {
                reader = reader
                    .with_metadata_options(Some(options.metadata_options().clone()))
                    .with_column_index_policy(options.column_index_policy())
                    .with_offset_index_policy(options.offset_index_policy());
            }
            let size = self.size;
            let metadata = reader.load_and_finish(self, size).await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}
/// Checks the byte ranges of a file's footer that the Parquet reader takes as given (and
/// asserts on, or subtracts without checking): every column chunk's start and length must not
/// be negative, and every page of the offset index (page locations) must lie inside its
/// column chunk, after the page before it. Call it on metadata loaded with the offset index,
/// before reading any page: a corrupt footer is then an error naming the column chunk or
/// page, not a panic or a read of the wrong bytes.
pub fn check_byte_ranges(metadata: &ParquetMetaData) -> ParquetResult<()> {
    let corrupt = |reason: String| Err(ParquetError::General(reason));
    let index = metadata.offset_index();
    if let Some(index) = index
        && !index.is_empty()
        && index.len() != metadata.num_row_groups()
    {
        return corrupt(format!(
            "the offset index has {} row groups, the file {}",
            index.len(),
            metadata.num_row_groups()
        ));
    }
    for (row_group, group) in metadata.row_groups().iter().enumerate() {
        let pages = index.and_then(|index| index.get(row_group));
        if let Some(pages) = pages
            && pages.len() > group.columns().len()
        {
            return corrupt(format!(
                "the offset index of row group {row_group} has more columns than the row group"
            ));
        }
        for (column, chunk) in group.columns().iter().enumerate() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let (Ok(start), Ok(len)) =
                (u64::try_from(start), u64::try_from(chunk.compressed_size()))
            else {
                return corrupt(format!(
                    "column {column} of row group {row_group} starts at byte {start} and has {} \
                     bytes",
                    chunk.compressed_size()
                ));
            };
            let end = start.saturating_add(len);
            let Some(locations) = pages.and_then(|pages| pages.get(column)) else {
                continue;
            };
            let mut previous_end = start;
            for (page, location) in locations.page_locations().iter().enumerate() {
                let page_start = u64::try_from(location.offset).ok();
                let page_end = page_start
                    .zip(u64::try_from(location.compressed_page_size).ok())
                    .and_then(|(s, size)| s.checked_add(size));
                match (page_start, page_end) {
                    (Some(page_start), Some(page_end))
                        if page_start >= previous_end && page_end <= end =>
                    {
                        previous_end = page_end;
                    }
                    _ => {
                        return corrupt(format!(
                            "the offset index puts page {page} of column {column} in row group \
                             {row_group} at bytes {}+{}, outside its column chunk (bytes \
                             {start}..{end}) or before the page ahead of it",
                            location.offset, location.compressed_page_size
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// What to say of a panic the Parquet decoder raised on a file (it panics on some corrupt
/// files where it should return an error; readers catch it and report the file as corrupt).
pub fn decoder_panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("the Parquet decoder failed on this file: {message}")
}
