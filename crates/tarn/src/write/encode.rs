//! Parquet encoding of one data file, with its columns encoded on several threads at once.
//!
//! Encoding (dictionary building, page compression) is most of the cost of a write, and it
//! is independent per column. A [`ColumnEncoder`] keeps one Parquet column writer per leaf
//! column and, for each batch, lets up to `threads` scoped threads take columns from a shared
//! queue, the costliest columns (by the time they took so far) first. Row groups end, as with
//! the parquet crate's `ArrowWriter`, at a row limit or at an estimated byte limit; the
//! encoded bytes collect in memory until the caller takes them with
//! [`ColumnEncoder::take_encoded`].
//!
//! The file it produces is what `ArrowWriter` would produce from the same batches: the same
//! schema conversion, the embedded Arrow schema, the same writer properties. This module never
//! does I/O.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Batches with fewer rows than this are encoded on the calling thread alone: below it,
/// starting threads costs more than it saves.
const MIN_PARALLEL_ROWS: usize = 4096;

/// Encodes record batches into one Parquet file held in memory. See the [module docs](self).
pub(crate) struct ColumnEncoder {
    file: SerializedFileWriter<Vec<u8>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The column writers of the row group in progress, one per leaf column.
    columns: Option<Vec<ArrowColumnWriter>>,
    /// Time spent encoding each leaf column so far: the costliest start first.
    cost: Vec<Duration>,
    /// Rows in the row group in progress.
    rows: usize,
    max_rows: usize,
    max_bytes: usize,
    threads: usize,
    /// The estimates of the row groups ended so far, just before they ended, and the bytes
    /// they took once encoded: how much the estimate overstates (pages are compressed only
    /// when they end, so a plain column's estimate counts its values uncompressed).
    flushed: (usize, usize),
}

impl ColumnEncoder {
    /// An encoder of batches of `schema` with `properties`, on up to `threads` threads.
    pub(crate) fn new(
        schema: SchemaRef,
        properties: WriterProperties,
        threads: usize,
    ) -> Result<Self> {
        let max_rows = properties.max_row_group_row_count().unwrap_or(usize::MAX);
        let max_bytes = properties.max_row_group_bytes().unwrap_or(usize::MAX);
        // `ArrowWriter` converts the schema and embeds it as the parquet crate does; take its
        // file writer and column-writer factory and drive them here.
        let (file, factory) =
            ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(properties))?
                .into_serialized_writer()?;
        Ok(Self {
            file,
            factory,
            schema,
            columns: None,
            cost: Vec::new(),
            rows: 0,
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.max(1),
            threads: threads.max(1),
            flushed: (0, 0),
        })
    }

    /// Whether a batch of `rows` rows is encoded on more than one thread.
    pub(crate) fn is_parallel_for(&self, rows: usize) -> bool {
        self.threads > 1 && rows >= MIN_PARALLEL_ROWS
    }

    /// Encodes `batch`, ending row groups at the row and byte limits.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut batch = batch.clone();
        while batch.num_rows() > 0 {
            let rows = self.rows_that_fit(batch.num_rows());
            if rows == 0 {
                self.flush()?;
                continue;
            }
            self.encode(&batch.slice(0, rows))?;
            batch = batch.slice(rows, batch.num_rows() - rows);
            if self.rows >= self.max_rows || self.in_progress_size() >= self.max_bytes {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// How many of `rows` more rows the row group in progress takes: up to the row limit, and
    /// up to the byte limit at the average encoded row size so far.
    fn rows_that_fit(&self, rows: usize) -> usize {
        let fit = rows.min(self.max_rows - self.rows.min(self.max_rows));
        let bytes = self.in_progress_size();
        if self.rows > 0 && bytes >= self.max_bytes {
            return 0;
        }
        match bytes.checked_div(self.rows).filter(|per_row| *per_row > 0) {
            Some(per_row) => fit.min((self.max_bytes - bytes) / per_row),
            None => fit,
        }
    }

    /// Ends the row group in progress (if it has rows), appending it to the file.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let Some(columns) = self.columns.take() else {
            return Ok(());
        };
        let rows = std::mem::take(&mut self.rows);
        let estimate = Self::estimate(&columns);
        let before = self.file.bytes_written();
        let threads = self.threads;
        let chunks: Vec<ArrowColumnChunk> =
            self.run_parallel(columns, threads, |column| column.close())?;
        if rows == 0 {
            return Ok(());
        }
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.flushed.0 += estimate;
        self.flushed.1 += self.file.bytes_written() - before;
        Ok(())
    }

    /// Ends the last row group and writes the footer.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.flush()?;
        self.file.finish()?;
        self.file.flush()?;
        Ok(())
    }

    /// Takes the bytes encoded so far (whole row groups, and after [`finish`](Self::finish),
    /// the footer), in file order.
    pub(crate) fn take_encoded(&mut self) -> Vec<u8> {
        std::mem::take(self.file.inner_mut())
    }

    /// Bytes of complete row groups (and the header) produced so far, whether or not
    /// [`take_encoded`](Self::take_encoded) has returned them yet.
    pub(crate) fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// The expected encoded size of the row group in progress, as the column writers
    /// estimate it (their buffered pages uncompressed).
    pub(crate) fn in_progress_size(&self) -> usize {
        self.columns
            .as_ref()
            .map_or(0, |columns| Self::estimate(columns))
    }

    /// The size the row group in progress is expected to take in the file: its estimate,
    /// scaled by how much the estimates of the row groups ended before overstated them.
    pub(crate) fn expected_in_progress_size(&self) -> usize {
        let estimate = self.in_progress_size();
        match self.flushed {
            (estimated, written) if estimated > written => {
                (estimate as u128 * written as u128 / estimated as u128) as usize
            }
            _ => estimate,
        }
    }

    fn estimate(columns: &[ArrowColumnWriter]) -> usize {
        columns
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .sum()
    }

    /// Memory held by the row group in progress.
    pub(crate) fn memory_size(&self) -> usize {
        self.columns.as_ref().map_or(0, |columns| {
            columns.iter().map(ArrowColumnWriter::memory_size).sum()
        })
    }

    /// Encodes rows into the row group in progress (starting one if needed).
    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut leaves: Vec<ArrowLeafColumn> = Vec::new();
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, array)?);
        }
        let columns = match self.columns.take() {
            Some(columns) => columns,
            None => self
                .factory
                .create_column_writers(self.file.flushed_row_groups().len())?,
        };
        if columns.len() != leaves.len() {
            return Err(ParquetError::General(format!(
                "{} leaf columns for {} column writers",
                leaves.len(),
                columns.len()
            )));
        }
        let threads = if self.is_parallel_for(batch.num_rows()) {
            self.threads
        } else {
            1
        };
        let work: Vec<(ArrowColumnWriter, ArrowLeafColumn)> =
            columns.into_iter().zip(leaves).collect();
        // After an error the row group's writers are gone: the caller abandons the file.
        let columns = self.run_parallel(work, threads, |(mut column, leaf)| {
            column.write(&leaf).map(|()| column)
        })?;
        self.columns = Some(columns);
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Runs `job` on every item (one per leaf column), costliest column first, with up to
    /// `threads` threads taking items from a shared queue. Results come back in column order.
    fn run_parallel<T: Send, R: Send>(
        &mut self,
        items: Vec<T>,
        threads: usize,
        job: impl Fn(T) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let count = items.len();
        if self.cost.len() != count {
            self.cost = vec![Duration::ZERO; count];
        }
        let threads = threads.min(count).max(1);
        if threads == 1 {
            let mut results = Vec::with_capacity(count);
            for (index, item) in items.into_iter().enumerate() {
                let start = Instant::now();
                results.push(job(item)?);
                self.cost[index] += start.elapsed();
            }
            return Ok(results);
        }
        let mut queue: Vec<(usize, T)> = items.into_iter().enumerate().collect();
        // Cheapest first, so that popping from the end takes the costliest first.
        queue.sort_by_key(|(index, _)| self.cost[*index]);
        let queue = Mutex::new(queue);
        let take = || queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let worker = || {
            let mut done: Vec<(usize, Result<R>, Duration)> = Vec::new();
            while let Some((index, item)) = take() {
                let start = Instant::now();
                let result = job(item);
                done.push((index, result, start.elapsed()));
            }
            done
        };
        let mut finished: Vec<(usize, Result<R>, Duration)> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
            let mut finished = worker();
            for helper in helpers {
                match helper.join() {
                    Ok(done) => finished.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            finished
        });
        finished.sort_by_key(|(index, _, _)| *index);
        let mut results = Vec::with_capacity(count);
        for (index, result, elapsed) in finished {
            self.cost[index] += elapsed;
            results.push(result?);
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{ArrayRef, Int64Array, StringArray, StructArray};
    use arrow_schema::{DataType, Field, Fields, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn schema() -> SchemaRef {
        let inner = Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Utf8, true),
        ]);
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("nested", DataType::Struct(inner), true),
        ]))
    }

    fn batch(start: i64, rows: usize) -> RecordBatch {
        let ids: Vec<i64> = (start..start + rows as i64).collect();
        let names: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 7 != 0).then(|| format!("name-{}", i % 100)))
            .collect();
        let x: ArrayRef = Arc::new(Int64Array::from_iter(
            ids.iter().map(|i| (i % 3 != 0).then_some(i * 2)),
        ));
        let y: ArrayRef = Arc::new(StringArray::from_iter(
            ids.iter().map(|i| Some(format!("y{}", i % 11))),
        ));
        let DataType::Struct(fields) = schema().field(2).data_type().clone() else {
            unreachable!()
        };
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(StructArray::new(fields, vec![x, y], None)),
            ],
        )
        .unwrap()
    }

    fn properties() -> WriterProperties {
        WriterProperties::builder()
            .set_max_row_group_row_count(Some(7000))
            .build()
    }

    fn encode(threads: usize, batches: &[RecordBatch]) -> Bytes {
        let mut encoder = ColumnEncoder::new(schema(), properties(), threads).unwrap();
        let mut out = Vec::new();
        for batch in batches {
            encoder.write(batch).unwrap();
            out.extend(encoder.take_encoded());
        }
        encoder.finish().unwrap();
        out.extend(encoder.take_encoded());
        Bytes::from(out)
    }

    fn read(file: Bytes) -> (Vec<usize>, Vec<RecordBatch>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let row_groups = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| rg.num_rows() as usize)
            .collect();
        let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
        (row_groups, batches)
    }

    /// Encoding on several threads gives the file `ArrowWriter` gives: the same rows, the same
    /// row groups, the same schema.
    #[test]
    fn parallel_encoding_matches_arrow_writer() {
        let batches: Vec<RecordBatch> = [(0, 5000), (5000, 6000), (11000, 100), (11100, 9000)]
            .into_iter()
            .map(|(start, rows)| batch(start, rows))
            .collect();
        let mut reference = ArrowWriter::try_new(Vec::new(), schema(), Some(properties())).unwrap();
        for batch in &batches {
            reference.write(batch).unwrap();
        }
        let reference = Bytes::from(reference.into_inner().unwrap());
        let (reference_groups, reference_rows) = read(reference);
        assert_eq!(reference_groups, [7000, 7000, 6100]);
        for threads in [1, 2, 4] {
            let (groups, rows) = read(encode(threads, &batches));
            assert_eq!(groups, reference_groups, "{threads} threads");
            let expected =
                arrow_select::concat::concat_batches(&schema(), &reference_rows).unwrap();
            let actual = arrow_select::concat::concat_batches(&schema(), &rows).unwrap();
            assert_eq!(actual, expected, "{threads} threads");
        }
    }

    #[test]
    fn row_groups_end_at_the_byte_limit() {
        let properties = WriterProperties::builder()
            .set_max_row_group_bytes(Some(16 * 1024))
            .build();
        let mut encoder = ColumnEncoder::new(schema(), properties, 2).unwrap();
        for n in 0..10 {
            encoder.write(&batch(n * 5000, 5000)).unwrap();
        }
        encoder.finish().unwrap();
        let (groups, rows) = read(Bytes::from(encoder.take_encoded()));
        assert!(groups.len() > 3, "{groups:?}");
        assert_eq!(groups.iter().sum::<usize>(), 50_000);
        assert_eq!(
            rows.iter().map(RecordBatch::num_rows).sum::<usize>(),
            50_000
        );
    }

    #[test]
    fn an_empty_file_is_valid() {
        let mut encoder = ColumnEncoder::new(schema(), properties(), 2).unwrap();
        encoder.finish().unwrap();
        let (groups, rows) = read(Bytes::from(encoder.take_encoded()));
        assert!(groups.is_empty());
        assert!(rows.is_empty());
    }
}
