//! Scans: from a snapshot to a stream of Arrow record batches.
//!
//! [`ScanBuilder`] takes a projection, a filter and a limit; [`ScanBuilder::build`] plans the
//! files (pruning by partition values and file statistics) and [`Scan::execute`] reads them
//! with bounded concurrency, pruning Parquet row groups by their statistics, skipping rows
//! deleted by deletion vectors, and returning rows in the table's logical schema: logical
//! column names (column mapping), logical types (every timestamp, decimal and integer
//! encoding), partition columns materialized, columns a file lacks as nulls.
//!
//! Pruning never decides which rows are returned, only which are read: every row read is
//! tested against the filter, so a scan returns exactly the rows that satisfy it. Rows come in
//! no particular order.

mod convert;
pub(crate) mod file_predicate;
mod metrics;
mod partition_array;
pub(crate) mod plan;
mod reader;
pub(crate) mod stats;
mod variant;
#[cfg(test)]
mod variant_tests;

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use futures::{Stream, StreamExt, TryStreamExt};
use tarn_protocol::features::check_data_readable;
use tarn_protocol::row_tracking::{MaterializedColumns, RowTracking};
use tarn_protocol::schema::{DataType, StructField};
use tokio::sync::{Semaphore, mpsc};

pub use file_predicate::FilePredicate;
pub use metrics::{ScanMetrics, ScanMetricsSnapshot};
pub use reader::FileTask;
pub use variant::ShreddedVariantError;

use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::table::Snapshot;
use convert::output_field;
use reader::{ReadPlan, WorkColumn, read_file};

/// Files read at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Rows per output batch by default.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// The column of stable row ids a scan [with row tracking](ScanBuilder::with_row_tracking)
/// returns (`long`, never null), named as Spark names the metadata field.
pub const ROW_ID_COLUMN: &str = "_metadata.row_id";

/// The column of stable row commit versions a scan
/// [with row tracking](ScanBuilder::with_row_tracking) returns (`long`, never null).
pub const ROW_COMMIT_VERSION_COLUMN: &str = "_metadata.row_commit_version";

/// Builds a [`Scan`] of a snapshot.
#[derive(Debug, Clone)]
pub struct ScanBuilder {
    snapshot: Snapshot,
    columns: Option<Vec<String>>,
    filter: Option<Expr>,
    limit: Option<usize>,
    files: Option<BTreeSet<String>>,
    concurrency: usize,
    batch_size: usize,
    row_tracking: bool,
}

impl ScanBuilder {
    pub(crate) fn new(snapshot: Snapshot) -> Self {
        Self {
            snapshot,
            columns: None,
            filter: None,
            limit: None,
            files: None,
            concurrency: DEFAULT_CONCURRENCY,
            batch_size: DEFAULT_BATCH_SIZE,
            row_tracking: false,
        }
    }

    /// Returns only these columns (top-level, by logical name), in this order. All columns
    /// in table order by default.
    pub fn with_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Returns only rows that satisfy `filter` (SQL semantics: a null result excludes the row).
    pub fn with_filter(mut self, filter: Expr) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Returns at most `limit` rows, and stops reading once it has them.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Reads only these active files (their paths exactly as the log writes them), with their
    /// deletion vectors applied, as compaction reads its inputs. A path that is not an active
    /// file of the snapshot fails the build ([`Error::InvalidArgument`]). Combines with a
    /// filter, a projection and a limit.
    pub fn with_files<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.files = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Also returns each row's stable row id and row commit version (PROTOCOL.md, "Row
    /// Tracking") as two trailing columns, [`ROW_ID_COLUMN`] and
    /// [`ROW_COMMIT_VERSION_COLUMN`]: the materialized value where a file holds one, else
    /// the file's `baseRowId` plus the row's position in it, and its
    /// `defaultRowCommitVersion`. The build fails ([`Error::Unsupported`]) unless the table
    /// enables row tracking (`delta.enableRowTracking`), since the ids are otherwise not
    /// guaranteed to exist.
    pub fn with_row_tracking(mut self) -> Self {
        self.row_tracking = true;
        self
    }

    /// Reads at most `concurrency` files at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Decodes at most `batch_size` rows per batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Checks the projection and filter against the table and plans the files to read.
    /// Loads the files' column statistics first when the filter needs them.
    pub async fn build(self) -> Result<Scan> {
        check_data_readable(self.snapshot.protocol())?;
        let schema = self.snapshot.schema().clone();
        let partition_columns: Vec<String> = self.snapshot.partition_columns().to_vec();
        let mut output_names: Vec<String> = Vec::new();
        for name in self
            .columns
            .clone()
            .unwrap_or_else(|| schema.fields.iter().map(|f| f.name.clone()).collect())
        {
            // Column names resolve as in expressions: exactly, else ignoring ASCII case.
            let resolved = schema.field(&name).or_else(|| {
                schema
                    .fields
                    .iter()
                    .find(|f| f.name.eq_ignore_ascii_case(&name))
            });
            match resolved {
                Some(field) => output_names.push(field.name.clone()),
                None => {
                    return Err(Error::InvalidArgument {
                        reason: format!(
                            "no column `{name}` in the table; its columns are: {}",
                            schema
                                .fields
                                .iter()
                                .map(|f| f.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        // Resolved against the schema: column names spelled as the table has them (so they
        // find their statistics and batch columns), literals typed as their columns.
        let filter = match &self.filter {
            Some(filter) => {
                filter.validate(&schema)?;
                Some(filter.resolve(&schema)?)
            }
            None => None,
        };
        let mut needed: BTreeSet<&str> = output_names.iter().map(String::as_str).collect();
        let referenced = filter
            .as_ref()
            .map(Expr::referenced_columns)
            .unwrap_or_default();
        for path in &referenced {
            if let Some(first) = path.first() {
                needed.insert(first);
            }
        }
        let mut work_columns: Vec<WorkColumn> = schema
            .fields
            .iter()
            .filter(|f| needed.contains(f.name.as_str()))
            .map(|f| {
                if partition_columns.contains(&f.name) {
                    WorkColumn::Partition(f.clone())
                } else {
                    WorkColumn::Data(f.clone())
                }
            })
            .collect();
        let row_tracking = if self.row_tracking {
            let materialized = self.row_tracking_columns()?;
            for (name, column) in [
                (
                    ROW_ID_COLUMN,
                    WorkColumn::RowId as fn(StructField) -> WorkColumn,
                ),
                (ROW_COMMIT_VERSION_COLUMN, WorkColumn::RowCommitVersion),
            ] {
                work_columns.push(column(StructField::new(name, DataType::LONG, false)));
                output_names.push(name.to_owned());
            }
            Some(materialized)
        } else {
            None
        };
        let work_fields = work_columns
            .iter()
            .map(|c| {
                output_field(c.field()).map_err(|e| Error::Unsupported {
                    what: format!("reading column `{}`: {}", c.name(), e.reason()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let work_schema = Arc::new(Schema::new(work_fields));
        let output_indexes: Vec<usize> = output_names
            .iter()
            .filter_map(|name| work_columns.iter().position(|c| c.name() == name))
            .collect();
        let output_schema =
            Arc::new(
                work_schema
                    .project(&output_indexes)
                    .map_err(|source| Error::Compute {
                        context: "projecting the output columns".to_owned(),
                        source,
                    })?,
            );

        let mode = self.snapshot.column_mapping_mode();
        let file_predicate = filter
            .as_ref()
            .map(|filter| FilePredicate::new(filter.clone(), &schema, &partition_columns, mode));
        let needs_stats = file_predicate
            .as_ref()
            .is_some_and(|p| !p.stats_columns().is_empty());
        let snapshot = if !needs_stats || self.snapshot.has_statistics() {
            self.snapshot.clone()
        } else {
            self.snapshot.with_statistics().await?
        };
        let partition_names: Vec<(String, String)> = snapshot
            .partition_column_names()
            .into_iter()
            .map(|(l, p)| (l.to_owned(), p.to_owned()))
            .collect();
        let resolver = snapshot.path_resolver();
        let mut file_plan = plan::plan_files(
            snapshot.files(),
            &resolver,
            &work_columns,
            &partition_names,
            file_predicate.as_ref(),
            self.files.as_ref(),
        )?;
        // Without a filter, a limit needs only as many files as cover it; a file whose row
        // count is unknown ends the count (everything up to it, and it, is kept).
        if let (Some(limit), None) = (self.limit, &filter) {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut covered = 0i64;
            let mut keep = file_plan.tasks.len();
            for (index, task) in file_plan.tasks.iter().enumerate() {
                let Some(records) = task.num_records else {
                    break;
                };
                covered += records - task.deletion_vector.as_ref().map_or(0, |dv| dv.cardinality);
                if covered >= limit {
                    keep = index + 1;
                    break;
                }
            }
            file_plan.skipped_by_limit = file_plan.tasks.len() - keep;
            file_plan.tasks.truncate(keep);
        }
        let metrics = Arc::new(ScanMetrics::default());
        metrics.set_files(
            file_plan.total,
            file_plan.pruned_by_partition,
            file_plan.pruned_by_stats,
            file_plan.skipped_by_limit,
        );
        Ok(Scan {
            read_plan: Arc::new(ReadPlan {
                resolver,
                mode,
                work_columns,
                work_schema,
                output_indexes,
                output_schema,
                filter,
                batch_size: self.batch_size,
                row_tracking,
            }),
            tasks: file_plan.tasks,
            metrics,
            limit: self.limit,
            concurrency: self.concurrency,
        })
    }
}

impl ScanBuilder {
    /// The materialized row tracking columns, failing unless the table enables row tracking
    /// and its schema leaves the names of the returned columns free.
    fn row_tracking_columns(&self) -> Result<MaterializedColumns> {
        let state = RowTracking::of(self.snapshot.protocol(), self.snapshot.metadata())?;
        let Some(columns) = state.materialized_columns() else {
            return Err(Error::Unsupported {
                what: "reading row ids of a table that does not enable row tracking \
                       (delta.enableRowTracking)"
                    .to_owned(),
            });
        };
        for name in [ROW_ID_COLUMN, ROW_COMMIT_VERSION_COLUMN] {
            if self.snapshot.schema().field(name).is_some() {
                return Err(Error::Unsupported {
                    what: format!("reading row ids of a table with a column named `{name}`"),
                });
            }
        }
        Ok(columns.clone())
    }
}

/// A planned scan.
#[derive(Debug)]
pub struct Scan {
    read_plan: Arc<ReadPlan>,
    tasks: Vec<FileTask>,
    metrics: Arc<ScanMetrics>,
    limit: Option<usize>,
    concurrency: usize,
}

impl Scan {
    /// The schema of the batches the scan returns.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.read_plan.output_schema)
    }

    /// The files the scan will read (after pruning).
    pub fn files(&self) -> &[FileTask] {
        &self.tasks
    }

    /// The scan's counters, updated as it runs.
    pub fn metrics(&self) -> Arc<ScanMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Reads the footers of the files to plan (not their data) and returns the counters:
    /// files pruned by partition values and statistics, and row groups pruned by Parquet
    /// statistics.
    pub async fn explain(&self) -> Result<ScanMetricsSnapshot> {
        // Counted apart from the scan's own metrics, so explaining and then executing a scan
        // does not count its row groups twice.
        let metrics = Arc::new(self.metrics.planned_copy());
        futures::stream::iter(self.tasks.iter().cloned())
            .map(|task| {
                reader::explain_file(Arc::clone(&self.read_plan), task, Arc::clone(&metrics))
            })
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(metrics.snapshot())
    }

    /// Reads one planned file (one of [`Scan::files`]) on a spawned task, returning its
    /// batches through a small channel, so a caller can rewrite a file while it is read
    /// without holding the file in memory. The channel ends after the first error.
    pub(crate) fn read_task(&self, task: FileTask) -> mpsc::Receiver<Result<RecordBatch>> {
        let (sender, receiver) = mpsc::channel::<Result<RecordBatch>>(2);
        let plan = Arc::clone(&self.read_plan);
        let metrics = Arc::clone(&self.metrics);
        tokio::spawn(async move {
            let batches = sender.clone();
            let result = read_file_guarded(plan, task, metrics, move |batch| {
                let batches = batches.clone();
                async move { batches.send(Ok(batch)).await.is_ok() }
            })
            .await;
            if let Err(err) = result {
                let _closed = sender.send(Err(err)).await;
            }
        });
        receiver
    }

    /// Reads the files, at most `concurrency` at once, as a stream of batches. The stream ends
    /// after the first error it yields. Must be polled inside a Tokio runtime.
    pub fn execute(self) -> ScanStream {
        let capacity = self.concurrency * 2;
        let (sender, receiver) = mpsc::channel::<Result<RecordBatch>>(capacity);
        let emitted = Arc::new(AtomicUsize::new(0));
        let limit = self.limit;
        let driver_emitted = Arc::clone(&emitted);
        let semaphore = Arc::new(Semaphore::new(self.concurrency));
        let schema = Arc::clone(&self.read_plan.output_schema);
        let plan = self.read_plan;
        let metrics = Arc::clone(&self.metrics);
        tokio::spawn(async move {
            for task in self.tasks {
                if sender.is_closed()
                    || limit.is_some_and(|l| driver_emitted.load(Ordering::Relaxed) >= l)
                {
                    break;
                }
                let Ok(permit) = Arc::clone(&semaphore).acquire_owned().await else {
                    break;
                };
                let sender = sender.clone();
                let plan = Arc::clone(&plan);
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    let batches = sender.clone();
                    let result = read_file_guarded(plan, task, metrics, move |batch| {
                        let batches = batches.clone();
                        async move { batches.send(Ok(batch)).await.is_ok() }
                    })
                    .await;
                    if let Err(err) = result {
                        let _closed = sender.send(Err(err)).await;
                    }
                    drop(permit);
                });
            }
        });
        ScanStream {
            receiver,
            limit,
            emitted,
            done: false,
            schema,
        }
    }
}

/// [`read_file`], with a panic while reading turned into [`Error::CorruptDataFile`] naming
/// the file. The Parquet decoder panics on some corrupt files where it should return an
/// error; in a spawned reading task such a panic would only end the task, the scan's stream
/// would end as if every file had been read, and the caller would get fewer rows and no
/// error.
async fn read_file_guarded<F, Fut>(
    plan: Arc<ReadPlan>,
    task: FileTask,
    metrics: Arc<ScanMetrics>,
    send: F,
) -> Result<()>
where
    F: FnMut(RecordBatch) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    use futures::FutureExt;
    let path = task.display_path().to_owned();
    match std::panic::AssertUnwindSafe(read_file(plan, task, metrics, send))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => Err(Error::CorruptDataFile {
            path,
            reason: tarn_log::parquet_io::decoder_panic_reason(panic.as_ref()),
            source: None,
        }),
    }
}

/// The batches of a running [`Scan`]. Dropping it stops the scan.
#[derive(Debug)]
pub struct ScanStream {
    receiver: mpsc::Receiver<Result<RecordBatch>>,
    limit: Option<usize>,
    emitted: Arc<AtomicUsize>,
    done: bool,
    schema: SchemaRef,
}

impl ScanStream {
    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn finish(&mut self) {
        self.done = true;
        // Closing the channel tells the readers to stop.
        self.receiver.close();
    }
}

impl Stream for ScanStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.receiver.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => {
                self.finish();
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(Some(Ok(batch))) => {
                let Some(limit) = self.limit else {
                    return Poll::Ready(Some(Ok(batch)));
                };
                let emitted = self.emitted.load(Ordering::Relaxed);
                let remaining = limit.saturating_sub(emitted);
                let batch = if batch.num_rows() >= remaining {
                    self.finish();
                    batch.slice(0, remaining)
                } else {
                    batch
                };
                self.emitted.fetch_add(batch.num_rows(), Ordering::Relaxed);
                if batch.num_rows() == 0 {
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(batch)))
            }
        }
    }
}
