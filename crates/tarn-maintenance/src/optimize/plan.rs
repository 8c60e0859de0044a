//! What a compaction will rewrite: the pure half of `optimize`.
//!
//! From a table's candidate files, grouped by partition, [`plan_bins`] decides which files are
//! rewritten together (a bin: the files of one output run, all in one partition) and why.
//! It never reads or writes anything; the plan it returns is printed by `--dry-run` and
//! executed bin by bin. The rules:
//!
//! - **Bin-packing** (the default): in each partition, the files smaller than the minimum
//!   size (by default 3/4 of the target) and the files with deletion vectors are packed,
//!   smallest first, into bins of at most the target size. A bin of one file without a
//!   deletion vector would rewrite a file as itself and is dropped: partitions with nothing to
//!   gain are left alone.
//! - **Sorting** (`--sort-by`, `--zorder-by`): every file of a partition is rewritten in the
//!   new order, in bins of at most the sort budget (rows of one bin are ordered together;
//!   a partition larger than the budget is ordered within each bin). A partition of one file
//!   without a deletion vector is left alone.
//! - **Clustering** (a clustered table): the files not yet clustered (no
//!   `clusteringProvider`) are rewritten, ordered along a Hilbert curve over the clustering
//!   columns: each run clusters what arrived since the last, instead of the whole table.
//!   Clustered files that have gained a deletion vector are clustered again with them.
//!   Earlier runs that are still small (partial) are clustered again with the new files once
//!   a partition holds more than `max_partial_runs` of them, since runs over the same key
//!   range overlap: every run is read by a range predicate (see [`clustering_inputs`]).

use serde::{Deserialize, Serialize};

/// One active file, as planning sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateFile {
    /// The path exactly as the log writes it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows in the file before deletion vectors, if the log records them.
    pub records: Option<u64>,
    /// Rows its deletion vector deletes (0 without one).
    pub deleted_rows: u64,
    /// The deletion vector's unique id: a file rewritten concurrently with a new deletion
    /// vector is a different logical file, and its bin must not commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_vector_id: Option<String>,
    /// Whether the table's clustering already wrote it (`clusteringProvider` set).
    pub clustered: bool,
    /// The clustering run that wrote it (its `tarn.clusteringRun` tag): the files one run
    /// wrote are ordered along one curve together. `None` for files clustered by another
    /// engine, which count as one run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clustering_run: Option<String>,
}

/// The candidate files of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionFiles {
    /// Partition values by column (`None` for null); empty for an unpartitioned table.
    pub partition: Vec<(String, Option<String>)>,
    /// Its files.
    pub files: Vec<CandidateFile>,
}

/// How the rows of a bin are laid out in the files that replace it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "columns", rename_all = "kebab-case")]
pub enum Layout {
    /// As they come: files are only packed together.
    BinPack,
    /// Sorted by these columns, lexicographically.
    Sort(Vec<String>),
    /// Ordered along a Z-order curve over these columns.
    ZOrder(Vec<String>),
    /// Ordered along a Hilbert curve over the table's clustering columns, incrementally.
    Cluster(Vec<String>),
}

impl Layout {
    /// The columns the layout orders by (none for bin-packing).
    pub fn columns(&self) -> &[String] {
        match self {
            Layout::BinPack => &[],
            Layout::Sort(columns) | Layout::ZOrder(columns) | Layout::Cluster(columns) => columns,
        }
    }
}

/// The knobs of planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// The size output files roll at, in bytes.
    pub target_size: u64,
    /// Files smaller than this are compacted.
    pub min_file_size: u64,
    /// At most this many input bytes are ordered together (sorting and clustering).
    pub max_sort_bytes: u64,
    /// Clustering: the most partial runs (runs under half of `max_sort_bytes`) a partition
    /// may keep; past it, they are clustered again together with the new files.
    pub max_partial_runs: usize,
    /// The layout.
    pub layout: Layout,
}

/// Why a bin is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinReason {
    /// Small files packed together.
    Compact,
    /// Deletion vectors applied.
    PurgeDeletionVectors,
    /// Rows reordered.
    Reorder,
    /// Files not yet clustered.
    Cluster,
}

/// Files rewritten together into new files of their partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bin {
    /// The partition.
    pub partition: Vec<(String, Option<String>)>,
    /// The input files.
    pub files: Vec<CandidateFile>,
    /// Their total size.
    pub input_bytes: u64,
    /// Why.
    pub reason: BinReason,
}

/// What a compaction will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptimizePlan {
    /// The version planned from.
    pub version: u64,
    /// The options planned with.
    pub options: PlanOptions,
    /// Partitions whose files were considered.
    pub partitions_considered: usize,
    /// Files considered.
    pub files_considered: usize,
    /// The bins, partition by partition.
    pub bins: Vec<Bin>,
}

impl OptimizePlan {
    /// The plan of these bins only (by their index in [`bins`](Self::bins)), in the order
    /// given: one task of an orchestrator that runs a plan bin by bin, since each bin commits
    /// on its own. An index out of range or given twice is an error naming it.
    pub fn select_bins(&self, indexes: &[usize]) -> Result<OptimizePlan, String> {
        let mut bins = Vec::with_capacity(indexes.len());
        let mut seen = std::collections::HashSet::new();
        for &index in indexes {
            let bin = self.bins.get(index).ok_or_else(|| {
                format!(
                    "bin {index} is not in the plan, which has {} (0 to {})",
                    self.bins.len(),
                    self.bins.len().saturating_sub(1)
                )
            })?;
            if !seen.insert(index) {
                return Err(format!("bin {index} is listed twice"));
            }
            bins.push(bin.clone());
        }
        Ok(OptimizePlan {
            bins,
            ..self.clone()
        })
    }

    /// Files the plan rewrites.
    pub fn files_to_rewrite(&self) -> usize {
        self.bins.iter().map(|b| b.files.len()).sum()
    }

    /// Bytes the plan reads.
    pub fn bytes_to_rewrite(&self) -> u64 {
        self.bins.iter().map(|b| b.input_bytes).sum()
    }

    /// Partitions the plan rewrites something in.
    pub fn partitions_to_rewrite(&self) -> usize {
        let mut seen: Vec<&Vec<(String, Option<String>)>> = Vec::new();
        for bin in &self.bins {
            if !seen.contains(&&bin.partition) {
                seen.push(&bin.partition);
            }
        }
        seen.len()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }
}

/// Plans the bins of a compaction of `partitions` at `version` (see the module doc).
pub fn plan_bins(
    version: u64,
    partitions: Vec<PartitionFiles>,
    options: PlanOptions,
) -> OptimizePlan {
    let partitions_considered = partitions.len();
    let files_considered = partitions.iter().map(|p| p.files.len()).sum();
    let mut partitions = partitions;
    partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
    let mut bins = Vec::new();
    for partition in partitions {
        let PartitionFiles {
            partition: values,
            mut files,
        } = partition;
        // A stable order: the same table gives the same plan.
        files.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.path.cmp(&b.path)));
        match &options.layout {
            Layout::BinPack => pack(&values, files, &options, &mut bins),
            Layout::Sort(_) | Layout::ZOrder(_) => {
                let has_dv = files.iter().any(|f| f.deleted_rows > 0);
                if files.len() >= 2 || has_dv {
                    chunk(
                        &values,
                        files,
                        options.max_sort_bytes,
                        BinReason::Reorder,
                        &mut bins,
                    );
                }
            }
            Layout::Cluster(_) => {
                let inputs = clustering_inputs(files, &options);
                if !inputs.is_empty() {
                    chunk(
                        &values,
                        inputs,
                        options.max_sort_bytes,
                        BinReason::Cluster,
                        &mut bins,
                    );
                }
            }
        }
    }
    OptimizePlan {
        version,
        options,
        partitions_considered,
        files_considered,
        bins,
    }
}

/// The files of one partition a clustering run orders together.
///
/// Incremental, like a size-tiered LSM tree: files not yet clustered always go in; the files
/// earlier runs clustered stay as they are, except *partial* runs (under half the sort
/// budget, so more runs of their size would overlap over the same key range): when the new
/// run would leave more than `max_partial_runs` of them, they are clustered again together
/// with the new files. A range predicate then reads files from at most that many partial
/// runs plus the full ones, and each byte is rewritten a bounded number of times.
fn clustering_inputs(files: Vec<CandidateFile>, options: &PlanOptions) -> Vec<CandidateFile> {
    // A clustered file with a deletion vector is clustered again: its deleted rows go, and
    // its live rows join the new run.
    let (clustered, mut inputs): (Vec<CandidateFile>, Vec<CandidateFile>) = files
        .into_iter()
        .partition(|f| f.clustered && f.deletion_vector_id.is_none());
    let mut runs: std::collections::BTreeMap<Option<String>, (u64, Vec<CandidateFile>)> =
        std::collections::BTreeMap::new();
    for file in clustered {
        let run = runs.entry(file.clustering_run.clone()).or_default();
        run.0 = run.0.saturating_add(file.size);
        run.1.push(file);
    }
    let partial: Vec<Vec<CandidateFile>> = runs
        .into_values()
        .filter(|(bytes, _)| *bytes < options.max_sort_bytes / 2)
        .map(|(_, files)| files)
        .collect();
    let runs_after = partial.len() + usize::from(!inputs.is_empty());
    if runs_after > options.max_partial_runs.max(1) {
        inputs.extend(partial.into_iter().flatten());
        inputs.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.path.cmp(&b.path)));
    }
    inputs
}

/// Bin-packs the small files and the files with deletion vectors of one partition, smallest
/// first, into bins of at most the target size.
fn pack(
    partition: &[(String, Option<String>)],
    files: Vec<CandidateFile>,
    options: &PlanOptions,
    bins: &mut Vec<Bin>,
) {
    let mut current: Vec<CandidateFile> = Vec::new();
    let mut bytes = 0u64;
    let mut close = |current: &mut Vec<CandidateFile>, bytes: &mut u64| {
        let files = std::mem::take(current);
        let purge = files.iter().any(|f| f.deleted_rows > 0);
        // One file without deletion vector would be rewritten as itself.
        if files.len() >= 2 || purge {
            bins.push(Bin {
                partition: partition.to_vec(),
                input_bytes: *bytes,
                reason: if files.len() == 1 {
                    BinReason::PurgeDeletionVectors
                } else {
                    BinReason::Compact
                },
                files,
            });
        }
        *bytes = 0;
    };
    for file in files
        .into_iter()
        .filter(|f| f.size < options.min_file_size || f.deleted_rows > 0)
    {
        if !current.is_empty() && bytes.saturating_add(file.size) > options.target_size {
            close(&mut current, &mut bytes);
        }
        bytes = bytes.saturating_add(file.size);
        current.push(file);
    }
    if !current.is_empty() {
        close(&mut current, &mut bytes);
    }
}

/// Cuts the files of one partition into bins of at most `max_bytes` (at least one file each).
fn chunk(
    partition: &[(String, Option<String>)],
    files: Vec<CandidateFile>,
    max_bytes: u64,
    reason: BinReason,
    bins: &mut Vec<Bin>,
) {
    let mut current: Vec<CandidateFile> = Vec::new();
    let mut bytes = 0u64;
    for file in files {
        if !current.is_empty() && bytes.saturating_add(file.size) > max_bytes {
            bins.push(Bin {
                partition: partition.to_vec(),
                files: std::mem::take(&mut current),
                input_bytes: bytes,
                reason,
            });
            bytes = 0;
        }
        bytes = bytes.saturating_add(file.size);
        current.push(file);
    }
    if !current.is_empty() {
        bins.push(Bin {
            partition: partition.to_vec(),
            files: current,
            input_bytes: bytes,
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn file(path: &str, size_mib: u64) -> CandidateFile {
        CandidateFile {
            path: path.to_owned(),
            size: size_mib * MIB,
            records: Some(size_mib * 1000),
            deleted_rows: 0,
            deletion_vector_id: None,
            clustered: false,
            clustering_run: None,
        }
    }

    fn partition(day: &str, files: Vec<CandidateFile>) -> PartitionFiles {
        PartitionFiles {
            partition: vec![("day".to_owned(), Some(day.to_owned()))],
            files,
        }
    }

    fn options(layout: Layout) -> PlanOptions {
        PlanOptions {
            target_size: 128 * MIB,
            min_file_size: 96 * MIB,
            max_sort_bytes: 256 * MIB,
            max_partial_runs: 4,
            layout,
        }
    }

    fn paths(bin: &Bin) -> Vec<&str> {
        bin.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn small_files_are_packed_up_to_the_target_size_per_partition() {
        let plan = plan_bins(
            7,
            vec![
                partition(
                    "a",
                    vec![
                        file("a1", 40),
                        file("a2", 50),
                        file("a3", 60),
                        file("a4", 100),
                        file("a5", 10),
                    ],
                ),
                partition("b", vec![file("b1", 10), file("b2", 10)]),
            ],
            options(Layout::BinPack),
        );
        // a4 is large enough; the rest, smallest first: 10+40+50 = 100 <= 128, then 60.
        let bins: Vec<Vec<&str>> = plan.bins.iter().map(paths).collect();
        assert_eq!(bins, [vec!["a5", "a1", "a2"], vec!["b1", "b2"]]);
        // a3 alone would be rewritten as itself: dropped.
        assert_eq!(plan.files_to_rewrite(), 5);
        assert_eq!(plan.bytes_to_rewrite(), 120 * MIB);
        assert_eq!(plan.partitions_to_rewrite(), 2);
        assert!(plan.bins.iter().all(|b| b.input_bytes <= 128 * MIB));
        assert_eq!(plan.version, 7);
        assert_eq!((plan.partitions_considered, plan.files_considered), (2, 7));
    }

    #[test]
    fn partitions_with_nothing_to_gain_are_left_alone() {
        let plan = plan_bins(
            1,
            vec![
                partition("big", vec![file("x", 100), file("y", 120)]),
                partition("single", vec![file("s", 5)]),
                partition("empty", vec![]),
            ],
            options(Layout::BinPack),
        );
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_file_with_a_deletion_vector_is_rewritten_even_alone() {
        let mut with_dv = file("dv", 100);
        with_dv.deleted_rows = 3;
        let plan = plan_bins(
            1,
            vec![partition("a", vec![with_dv])],
            options(Layout::BinPack),
        );
        assert_eq!(plan.bins.len(), 1);
        assert_eq!(plan.bins[0].reason, BinReason::PurgeDeletionVectors);
    }

    #[test]
    fn sorting_rewrites_whole_partitions_within_the_sort_budget() {
        let plan = plan_bins(
            1,
            vec![
                partition("a", vec![file("a1", 100), file("a2", 120), file("a3", 90)]),
                partition("b", vec![file("b1", 300)]),
            ],
            options(Layout::ZOrder(vec!["x".into(), "y".into()])),
        );
        let bins: Vec<Vec<&str>> = plan.bins.iter().map(paths).collect();
        // 90 + 100 = 190 <= 256, then 120; `b` has one file and nothing to reorder across.
        assert_eq!(bins, [vec!["a3", "a1"], vec!["a2"]]);
        assert!(plan.bins.iter().all(|b| b.reason == BinReason::Reorder));
    }

    #[test]
    fn a_plan_survives_json_and_its_bins_can_be_selected() {
        let plan = plan_bins(
            3,
            vec![
                partition("a", vec![file("a1", 1), file("a2", 2)]),
                partition("b", vec![file("b1", 1), file("b2", 2)]),
            ],
            options(Layout::ZOrder(vec!["x".into(), "y".into()])),
        );
        assert_eq!(plan.bins.len(), 2);
        let text = serde_json::to_string(&plan).unwrap();
        let back: OptimizePlan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
        let one = plan.select_bins(&[1]).unwrap();
        assert_eq!(one.bins, vec![plan.bins[1].clone()]);
        assert_eq!((one.version, &one.options), (plan.version, &plan.options));
        assert!(plan.select_bins(&[2]).unwrap_err().contains("bin 2"));
        assert!(plan.select_bins(&[0, 0]).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_clustered_file_with_a_deletion_vector_is_clustered_again() {
        let mut done = file("done", 100);
        done.clustered = true;
        done.clustering_run = Some("r0".into());
        let mut deleted = done.clone();
        deleted.path = "deleted".into();
        deleted.deletion_vector_id = Some("dv".into());
        deleted.deleted_rows = 10;
        let plan = plan_bins(
            1,
            vec![partition("", vec![done.clone(), deleted.clone()])],
            options(Layout::Cluster(vec!["x".into()])),
        );
        assert_eq!(plan.bins.len(), 1);
        assert_eq!(paths(&plan.bins[0]), ["deleted"]);
        assert_eq!(plan.bins[0].reason, BinReason::Cluster);
        // With new files, it joins their run.
        let plan = plan_bins(
            2,
            vec![partition("", vec![done, deleted, file("new", 5)])],
            options(Layout::Cluster(vec!["x".into()])),
        );
        let all: Vec<&str> = plan.bins.iter().flat_map(paths).collect();
        assert_eq!(all, ["new", "deleted"]);
    }

    #[test]
    fn clustering_rewrites_only_the_files_not_yet_clustered() {
        let mut done = file("done", 100);
        done.clustered = true;
        let plan = plan_bins(
            1,
            vec![partition(
                "",
                vec![done.clone(), file("new1", 5), file("new2", 6)],
            )],
            options(Layout::Cluster(vec!["x".into()])),
        );
        assert_eq!(plan.bins.len(), 1);
        assert_eq!(paths(&plan.bins[0]), ["new1", "new2"]);
        // Nothing new: nothing to do.
        let plan = plan_bins(
            2,
            vec![partition("", vec![done])],
            options(Layout::Cluster(vec!["x".into()])),
        );
        assert!(plan.is_empty());
    }

    #[test]
    fn partial_clustering_runs_are_merged_once_there_are_too_many() {
        let clustered = |path: &str, mib: u64, run: &str| {
            let mut f = file(path, mib);
            f.clustered = true;
            f.clustering_run = Some(run.to_owned());
            f
        };
        // Runs under half the 256 MiB sort budget are partial; `full` (200 MiB) is not.
        let existing = vec![
            clustered("full-1", 100, "full"),
            clustered("full-2", 100, "full"),
            clustered("r1", 10, "r1"),
            clustered("r2", 10, "r2"),
            clustered("r3", 10, "r3"),
        ];
        let cluster = |files: Vec<CandidateFile>| {
            plan_bins(
                1,
                vec![partition("", files)],
                options(Layout::Cluster(vec!["x".into()])),
            )
        };
        // Three partial runs and a new one make four: only the new file is clustered.
        let mut files = existing.clone();
        files.push(file("new", 1));
        let plan = cluster(files);
        assert_eq!(plan.bins.len(), 1);
        assert_eq!(paths(&plan.bins[0]), ["new"]);
        // A fourth partial run and a new one make five: the partial runs go in with it; the
        // full run stays.
        let mut files = existing.clone();
        files.push(clustered("r4", 10, "r4"));
        files.push(file("new", 1));
        let plan = cluster(files);
        let rewritten: Vec<&str> = plan.bins.iter().flat_map(paths).collect();
        assert_eq!(rewritten, ["new", "r1", "r2", "r3", "r4"]);
        // Files another engine clustered (no run tag) count as one run.
        let mut foreign = file("foreign", 10);
        foreign.clustered = true;
        let plan = cluster(vec![foreign.clone(), foreign.clone(), file("new", 1)]);
        assert_eq!(plan.files_to_rewrite(), 1);
        // Nothing new and few partial runs: nothing to do, however often it runs.
        assert!(cluster(existing).is_empty());
    }

    #[test]
    fn the_plan_prints_as_json() {
        let plan = plan_bins(
            3,
            vec![partition("a", vec![file("a1", 1), file("a2", 2)])],
            options(Layout::Sort(vec!["x".into()])),
        );
        let json = serde_json::to_value(&plan).unwrap_or_default();
        assert_eq!(json["version"], 3);
        assert_eq!(json["options"]["layout"]["kind"], "sort");
        assert_eq!(json["bins"][0]["files"][0]["path"], "a1");
        assert_eq!(json["bins"][0]["reason"], "reorder");
    }
}
