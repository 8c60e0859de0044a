//! Compaction: `OPTIMIZE`, with optional sorting, Z-ordering, and liquid clustering.
//!
//! [`Optimize`] is a builder; [`Optimize::plan`] reads the latest snapshot and decides, with
//! the pure [`plan_bins`], which files are rewritten together; [`Optimize::execute`] (or
//! [`Optimize::execute_plan`]) rewrites the bins in parallel and commits them in batches with
//! `dataChange = false` (the `execute` module has the commit and conflict rules).
//! Running beside appenders never conflicts with them: a compaction reads exactly its input
//! files (snapshot isolation), so only a concurrent removal of one of them stops its bin.
//! Tiered files (under an archive location the table declares) are never compacted: that
//! would bring archived data back under the table's root.

mod execute;
mod order;
mod plan;

use std::sync::Arc;

use tarn::{Expr, Table};

use crate::error::{MaintenanceError, Result};

pub use execute::{OptimizeMetrics, OptimizeProgress, ProgressFn};
pub use plan::{
    Bin, BinReason, CandidateFile, Layout, OptimizePlan, PartitionFiles, PlanOptions, plan_bins,
};

/// The `clusteringProvider` of files laid out by a clustered table's clustering.
pub const CLUSTERING_PROVIDER: &str = "liquid";

/// The `add` tag naming the clustering run that wrote a file (one id per bin: the files of a
/// run are ordered along one curve together).
pub const CLUSTERING_RUN_TAG: &str = "tarn.clusteringRun";

/// Partial clustering runs a partition keeps before they are clustered again together
/// (see [`plan_bins`]).
pub const DEFAULT_MAX_PARTIAL_RUNS: usize = 4;

/// Data files roll at this size unless the table (`delta.targetFileSize`) or the caller says
/// otherwise.
pub const DEFAULT_TARGET_SIZE: u64 = 128 * 1024 * 1024;

/// Memory a compaction may use for the bins it rewrites at once, unless told otherwise.
pub const DEFAULT_MEMORY_BUDGET: u64 = 1024 * 1024 * 1024;

/// Compacts a table. See the [module docs](self).
///
/// ```no_run
/// # async fn example() -> tarn_maintenance::error::Result<()> {
/// let table = tarn::Table::open("/data/events").await?;
/// let metrics = tarn_maintenance::optimize::Optimize::new(table)
///     .with_filter(tarn::Expr::parse("day >= '2026-01-01'")?)
///     .execute()
///     .await?;
/// println!("{} files in, {} out", metrics.files_removed, metrics.files_added);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Optimize {
    table: Table,
    filter: Option<Expr>,
    target_size: Option<u64>,
    min_file_size: Option<u64>,
    layout: Option<Layout>,
    concurrency: usize,
    memory_budget: u64,
    commit_bytes: Option<u64>,
    progress: Option<ProgressFn>,
    stop: Option<crate::Stop>,
}

impl std::fmt::Debug for Optimize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimize")
            .field("table", &self.table.location().to_string())
            .field("filter", &self.filter)
            .field("target_size", &self.target_size)
            .field("min_file_size", &self.min_file_size)
            .field("layout", &self.layout)
            .field("concurrency", &self.concurrency)
            .field("memory_budget", &self.memory_budget)
            .field("commit_bytes", &self.commit_bytes)
            .finish_non_exhaustive()
    }
}

impl Optimize {
    /// A compaction of `table` with the defaults: bin-packing (or, on a clustered table, its
    /// clustering), every partition, the table's target size.
    pub fn new(table: Table) -> Self {
        Self {
            table,
            filter: None,
            target_size: None,
            min_file_size: None,
            layout: None,
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            commit_bytes: None,
            progress: None,
            stop: None,
        }
    }

    /// Only the files that may hold rows matching `filter` (by partition values and
    /// statistics; typically a predicate on partition columns).
    pub fn with_filter(mut self, filter: Expr) -> Self {
        self.filter = Some(filter);
        self
    }

    /// The size output files roll at (default: `delta.targetFileSize`, else 128 MiB).
    pub fn with_target_size(mut self, bytes: u64) -> Self {
        self.target_size = Some(bytes);
        self
    }

    /// Files smaller than this are compacted (default: 3/4 of the target size).
    pub fn with_min_file_size(mut self, bytes: u64) -> Self {
        self.min_file_size = Some(bytes);
        self
    }

    /// Sort rows by these columns within each partition.
    pub fn with_sort_by<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.layout = Some(Layout::Sort(columns.into_iter().map(Into::into).collect()));
        self
    }

    /// Order rows along a Z-order curve over these columns within each partition.
    pub fn with_zorder_by<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.layout = Some(Layout::ZOrder(
            columns.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Stops cleanly when `stop` is requested: the bins running finish and commit, no new one
    /// starts ([`OptimizeMetrics::bins_not_started`] counts them).
    pub fn with_stop(mut self, stop: crate::Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Bins rewritten at once (default: the machine's cores, at most 4).
    pub fn with_concurrency(mut self, bins: usize) -> Self {
        self.concurrency = bins.max(1);
        self
    }

    /// Memory for the bins rewritten at once: writer buffers, and the rows of a bin being
    /// reordered (default 1 GiB).
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes.max(1);
        self
    }

    /// Commit a batch once its bins' input reaches this many bytes (default: ten times the
    /// target size), so that progress is kept as the run goes.
    pub fn with_commit_bytes(mut self, bytes: u64) -> Self {
        self.commit_bytes = Some(bytes.max(1));
        self
    }

    /// Reports progress as bins finish and batches commit.
    pub fn with_progress(
        mut self,
        progress: impl Fn(OptimizeProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Plans the compaction of the latest version without changing anything (what
    /// `--dry-run` prints).
    pub async fn plan(&self) -> Result<OptimizePlan> {
        let snapshot = self.table.snapshot().await?;
        // A plan is only worth showing if it can be carried out: a table tarn cannot write
        // (a writer feature it does not honour) fails here, in `--dry-run` too.
        tarn::protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())
            .map_err(tarn::Error::from)?;
        let layout = self.layout(&snapshot)?;
        for column in layout.columns() {
            if snapshot.schema().field(column).is_none() {
                return Err(MaintenanceError::InvalidArgument {
                    argument: "column to order by",
                    reason: format!(
                        "cannot order by `{column}`: no such column; the table's columns are: {}",
                        snapshot
                            .schema()
                            .fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            if snapshot.partition_columns().contains(column) {
                return Err(MaintenanceError::InvalidArgument {
                    argument: "column to order by",
                    reason: format!(
                        "cannot order by `{column}`: it is a partition column, constant within \
                         each partition"
                    ),
                });
            }
        }
        let target_size = match self.target_size {
            Some(size) => size,
            None => match snapshot.properties().get(tarn::write::TARGET_FILE_SIZE_KEY) {
                Some(text) => tarn::protocol::size::parse_byte_size(text).map_err(|reason| {
                    tarn::Error::Protocol(tarn::protocol::ProtocolError::InvalidTableProperty {
                        property: tarn::write::TARGET_FILE_SIZE_KEY.to_owned(),
                        value: text.clone(),
                        reason,
                    })
                })?,
                None => DEFAULT_TARGET_SIZE,
            },
        };
        // Which files: all, or those the filter may match.
        let chosen: Option<std::collections::HashSet<String>> = match &self.filter {
            None => None,
            Some(filter) => {
                let scan = snapshot.scan().with_filter(filter.clone()).build().await?;
                Some(
                    scan.files()
                        .iter()
                        .map(|t| t.log_path().to_owned())
                        .collect(),
                )
            }
        };
        let names: Vec<(String, String)> = snapshot
            .partition_column_names()
            .into_iter()
            .map(|(logical, physical)| (logical.to_owned(), physical.to_owned()))
            .collect();
        let mut partitions: Vec<PartitionFiles> = Vec::new();
        let mut index: std::collections::HashMap<Vec<(String, Option<String>)>, usize> =
            std::collections::HashMap::new();
        // Tiered files stay where they are: compacting them would copy archived data back
        // under the table's root (spec/archive.md).
        let placements = crate::archive::FilePlacements::of(&snapshot);
        for file in snapshot.files().iter() {
            if chosen.as_ref().is_some_and(|c| !c.contains(file.path())) {
                continue;
            }
            if matches!(
                placements.place(file.path()),
                crate::archive::Placement::Archive { .. }
            ) {
                continue;
            }
            let key: Vec<(String, Option<String>)> = names
                .iter()
                .map(|(logical, physical)| {
                    (
                        logical.clone(),
                        file.partition_value(physical).flatten().map(str::to_owned),
                    )
                })
                .collect();
            let slot = *index.entry(key.clone()).or_insert_with(|| {
                partitions.push(PartitionFiles {
                    partition: key,
                    files: Vec::new(),
                });
                partitions.len() - 1
            });
            partitions[slot].files.push(CandidateFile {
                path: file.path().to_owned(),
                size: u64::try_from(file.size()).unwrap_or(0),
                records: file.num_records().and_then(|n| u64::try_from(n).ok()),
                deleted_rows: file
                    .deletion_vector_cardinality()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                deletion_vector_id: file.deletion_vector_id(),
                clustered: file.clustering_provider().is_some(),
                clustering_run: file.tags().and_then(|mut tags| {
                    tags.find(|(key, _)| *key == CLUSTERING_RUN_TAG)
                        .and_then(|(_, value)| value.map(str::to_owned))
                }),
            });
        }
        let options = PlanOptions {
            target_size,
            min_file_size: self.min_file_size.unwrap_or(target_size / 4 * 3),
            max_sort_bytes: self.sort_bytes(),
            max_partial_runs: DEFAULT_MAX_PARTIAL_RUNS,
            layout,
        };
        Ok(plan_bins(snapshot.version(), partitions, options))
    }

    /// Plans and executes the compaction.
    pub async fn execute(self) -> Result<OptimizeMetrics> {
        let plan = self.plan().await?;
        self.execute_plan(plan).await
    }

    /// Executes a plan made by [`Optimize::plan`] (possibly in another process: a plan is
    /// data, and each batch of bins commits on its own).
    ///
    /// A plan read back from JSON is checked as it runs: the table must still be writable,
    /// a bin naming a file that is not active at the plan's version fails, and a bin whose
    /// files a later commit removed or changed is skipped.
    pub async fn execute_plan(self, plan: OptimizePlan) -> Result<OptimizeMetrics> {
        if !plan.is_empty() {
            let latest = self.table.snapshot().await?;
            tarn::protocol::features::check_writable(latest.protocol(), latest.metadata())
                .map_err(tarn::Error::from)?;
        }
        let mut parameters = vec![(
            "targetSize".to_owned(),
            plan.options.target_size.to_string(),
        )];
        if let Some(filter) = &self.filter {
            parameters.push(("predicate".to_owned(), json_list(&[filter.to_string()])));
        }
        match &plan.options.layout {
            Layout::BinPack => {}
            Layout::Sort(columns) => {
                parameters.push(("sortBy".to_owned(), json_list(columns)));
            }
            Layout::ZOrder(columns) => {
                parameters.push(("zOrderBy".to_owned(), json_list(columns)));
            }
            Layout::Cluster(columns) => {
                parameters.push(("clusterBy".to_owned(), json_list(columns)));
            }
        }
        let concurrency = self.concurrency;
        let options = execute::RunOptions {
            concurrency,
            commit_bytes: self
                .commit_bytes
                .unwrap_or(plan.options.target_size.saturating_mul(10)),
            writer_buffer_bytes: usize::try_from(self.memory_budget / concurrency as u64 / 2)
                .unwrap_or(usize::MAX)
                .max(1 << 20),
            progress: self.progress.clone(),
            parameters,
            stop: self.stop.clone(),
        };
        execute::run(&self.table, plan, options).await
    }

    /// The layout: as asked, else the table's clustering, else bin-packing.
    fn layout(&self, snapshot: &tarn::Snapshot) -> Result<Layout> {
        if let Some(layout) = &self.layout {
            if let Some(columns) = crate::clustering::clustering_columns(snapshot)? {
                return Err(MaintenanceError::InvalidArgument {
                    argument: "layout",
                    reason: format!(
                        "the table is clustered by [{}]; its layout is its clustering, so it \
                         cannot be sorted or Z-ordered by [{}]",
                        columns.join(", "),
                        layout.columns().join(", ")
                    ),
                });
            }
            return Ok(layout.clone());
        }
        Ok(match crate::clustering::clustering_columns(snapshot)? {
            Some(columns) => Layout::Cluster(columns),
            None => Layout::BinPack,
        })
    }

    /// Input bytes ordered together: a share of the memory budget per bin at once, with room
    /// for Parquet's compression (decoded rows take several times their file's size).
    fn sort_bytes(&self) -> u64 {
        (self.memory_budget / self.concurrency as u64 / 8).max(1 << 20)
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}
