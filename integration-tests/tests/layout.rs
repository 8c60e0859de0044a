//! What each compaction layout does for a range predicate: the files a scan reads before and
//! after bin-packing, `--sort-by a`, `--zorder-by a,b` and liquid clustering by `a, b`, on the
//! same rows (arrived in random order), counted with the public scan plan
//! ([`tarn::Scan::files`]). The rows a predicate returns never change; how many files it reads
//! must drop as far as the layout promises, further than any random layout would. The numbers
//! are printed (`--no-capture`) so they can be quoted.
//!
//! Also: a clustered table tarn wrote is a valid Delta clustered table (protocol, the
//! `delta.clustering` domain, `clusteringProvider` on the files clustering wrote and only on
//! those, statistics for the clustering columns), delta-rs reads it, and clustering is
//! incremental.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use serde_json::Value;
use tarn::{Expr, Table};
use tarn_maintenance::optimize::{BinReason, Layout, Optimize};

use crate::common::python::{assert_rows_eq, canonical_rows, read_with_delta_rs, rows_of};
use crate::common::writes::{assert_no_stray_files, read_log, scan_batches};
use crate::common::{block_on, copy_dir, uri};

/// Rows in the table.
const ROWS: i64 = 60_000;
/// Appends that bring them, each a random slice of the rows.
const APPENDS: i64 = 40;
/// `a` and `b` are uniform in `[0, DOMAIN)`.
const DOMAIN: i64 = 1_000_000;
/// The target size is the table's size divided by this. Files come out at about the target
/// (the writer checks a file's real size before it ends it), and compaction shrinks the
/// table a little: 16 gives some 15 files, enough to see what a layout prunes.
const TARGET_DIVISOR: u64 = 16;

/// SplitMix64, so the data is the same on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, true),
    ]))
}

/// The `APPENDS` batches: rows `0..ROWS` with independent uniform `a` and `b`, shuffled, so
/// every append spans the whole range of both columns.
fn batches(seed: u64) -> Vec<RecordBatch> {
    let mut rng = Rng(seed);
    let mut ids: Vec<i64> = (0..ROWS).collect();
    for i in (1..ids.len()).rev() {
        let j = usize::try_from(rng.below(i as u64 + 1)).unwrap();
        ids.swap(i, j);
    }
    let per = usize::try_from(ROWS / APPENDS).unwrap();
    ids.chunks(per)
        .map(|chunk| {
            let a: Vec<i64> = chunk
                .iter()
                .map(|_| i64::try_from(rng.below(DOMAIN as u64)).unwrap())
                .collect();
            let b: Vec<i64> = chunk
                .iter()
                .map(|_| i64::try_from(rng.below(DOMAIN as u64)).unwrap())
                .collect();
            let notes: Vec<String> = chunk.iter().map(|id| format!("row-{id}")).collect();
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(Int64Array::from(a)),
                    Arc::new(Int64Array::from(b)),
                    Arc::new(Int64Array::from(chunk.to_vec())),
                    Arc::new(StringArray::from(notes)),
                ],
            )
            .unwrap()
        })
        .collect()
}

/// A table of `batches`, one append each: clustered by `a, b` when `clustered`.
async fn build(path: &Path, batches: &[RecordBatch], clustered: bool) -> Table {
    let table = Table::open(uri(path)).await.unwrap();
    let mut create = table.create().with_arrow_schema(&schema()).unwrap();
    if clustered {
        create = create.cluster_by(["a", "b"]);
    }
    create.execute().await.unwrap();
    for batch in batches {
        table
            .write()
            .execute_batches(vec![batch.clone()])
            .await
            .unwrap();
    }
    table
}

/// What a scan with `predicate` plans and returns.
struct Probe {
    files_total: usize,
    files_read: usize,
    rows: Vec<Value>,
}

async fn probe(table: &Table, predicate: &str) -> Probe {
    let snapshot = table.snapshot().await.unwrap();
    let scan = snapshot
        .scan()
        .with_filter(Expr::parse(predicate).unwrap())
        .build()
        .await
        .unwrap();
    let files_read = scan.files().len();
    let batches: Vec<RecordBatch> = scan.execute().try_collect().await.unwrap();
    Probe {
        files_total: snapshot.num_files(),
        files_read,
        rows: canonical_rows(&batches),
    }
}

/// A 5% range of `a` and one of `b`, away from the ends of the domain.
const ON_A: &str = "a >= 400000 AND a < 450000";
const ON_B: &str = "b >= 700000 AND b < 750000";

/// Files read by each predicate, before and after a layout.
struct Measured {
    before: [Probe; 2],
    after: [Probe; 2],
}

impl Measured {
    fn report(&self, layout: &str) {
        for (i, predicate) in [ON_A, ON_B].iter().enumerate() {
            eprintln!(
                "layout {layout:<22} {predicate:<28} files read before {:>2} of {:>2}, after {:>2} \
                 of {:>2}; {} rows",
                self.before[i].files_read,
                self.before[i].files_total,
                self.after[i].files_read,
                self.after[i].files_total,
                self.after[i].rows.len(),
            );
        }
    }

    /// Files read after, as a fraction of the files after.
    fn fraction_after(&self, i: usize) -> f64 {
        self.after[i].files_read as f64 / self.after[i].files_total as f64
    }
}

/// Optimizes `table` with `optimize`, probing both predicates before and after; checks the
/// rows they return and every row of the table are unchanged.
async fn measure(table: &Table, optimize: Optimize) -> Measured {
    let before = [probe(table, ON_A).await, probe(table, ON_B).await];
    let all_before = canonical_rows(&scan_batches(table, None).await);
    let plan = optimize.plan().await.unwrap();
    assert!(!plan.is_empty());
    let metrics = optimize.execute_plan(plan.clone()).await.unwrap();
    eprintln!(
        "  {} bins of {} files ({} bytes, target {}): {} files removed, {} added ({} bytes)",
        plan.bins.len(),
        plan.files_to_rewrite(),
        plan.bytes_to_rewrite(),
        plan.options.target_size,
        metrics.files_removed,
        metrics.files_added,
        metrics.bytes_added,
    );
    assert_eq!(metrics.bins_skipped, 0, "{metrics:?}");
    assert_eq!(
        metrics.files_removed as usize,
        plan.files_to_rewrite(),
        "{metrics:?}"
    );
    let after = [probe(table, ON_A).await, probe(table, ON_B).await];
    for i in 0..2 {
        assert!(!before[i].rows.is_empty());
        assert_rows_eq(&after[i].rows, &before[i].rows, "rows a predicate returns");
    }
    assert_rows_eq(
        &canonical_rows(&scan_batches(table, None).await),
        &all_before,
        "every row of the table",
    );
    Measured { before, after }
}

/// The target size for a table: its size over [`TARGET_DIVISOR`].
async fn target_size(table: &Table) -> u64 {
    let snapshot = table.snapshot().await.unwrap();
    snapshot.files().total_size() / TARGET_DIVISOR
}

#[test]
fn range_predicates_read_fewer_files_after_sorting_z_ordering_and_clustering() {
    let root = tempfile::tempdir().unwrap();
    let data = batches(7);
    block_on(async {
        let base = root.path().join("base");
        build(&base, &data, false).await;
        let target = target_size(&Table::open(uri(&base)).await.unwrap()).await;
        // Each layout on its own copy of the same files.
        let copy = |name: &str| {
            let path = root.path().join(name);
            copy_dir(&base, &path);
            path
        };

        // Bin-packing: the rows keep their arrival order, so every file still spans both
        // columns' whole range and a range predicate reads (nearly) every file.
        let path = copy("binpack");
        let table = Table::open(uri(&path)).await.unwrap();
        let packed = measure(
            &table,
            Optimize::new(table.clone()).with_target_size(target),
        )
        .await;
        packed.report("bin-packing");
        assert_eq!(packed.before[0].files_total, APPENDS as usize);
        assert_eq!(packed.before[0].files_read, APPENDS as usize);
        assert!(
            packed.after[0].files_total < APPENDS as usize,
            "nothing compacted"
        );
        for i in 0..2 {
            assert!(packed.fraction_after(i) >= 0.9, "bin-packing pruned files");
        }

        // Sorted by `a`: a 5% range of `a` reads one or two of ~16 files; `b` gains nothing.
        let path = copy("sorted");
        let table = Table::open(uri(&path)).await.unwrap();
        let sorted = measure(
            &table,
            Optimize::new(table.clone())
                .with_target_size(target)
                .with_sort_by(["a"]),
        )
        .await;
        sorted.report("sort by a");
        assert!(sorted.after[0].files_total >= 8, "too few files to tell");
        assert!(sorted.after[0].files_read <= 2, "sorted by a");
        assert!(sorted.fraction_after(1) >= 0.9, "b is not sorted");

        // Z-ordered by `a, b`: a 5% range of either column reads a fraction of the files (a
        // random layout reads them all). Looser than Hilbert below: a file whose rows cross a
        // jump of the Z curve has statistics spanning a large box.
        let path = copy("zorder");
        let table = Table::open(uri(&path)).await.unwrap();
        let zordered = measure(
            &table,
            Optimize::new(table.clone())
                .with_target_size(target)
                .with_zorder_by(["a", "b"]),
        )
        .await;
        zordered.report("zorder by a, b");
        assert!(zordered.after[0].files_total >= 8, "too few files to tell");
        for i in 0..2 {
            assert!(
                zordered.fraction_after(i) <= 0.6,
                "Z-order by a, b: predicate {i} read {} of {}",
                zordered.after[i].files_read,
                zordered.after[i].files_total
            );
        }

        // Clustered by `a, b` (its own table: a clustered table is created so), the same
        // appends, then the table's own layout: a Hilbert curve over `a, b`.
        let path = root.path().join("clustered");
        let table = build(&path, &data, true).await;
        let clustered = measure(
            &table,
            Optimize::new(table.clone()).with_target_size(target),
        )
        .await;
        clustered.report("clustered by a, b");
        assert_eq!(clustered.before[0].files_read, APPENDS as usize);
        assert!(clustered.after[0].files_total >= 8, "too few files to tell");
        for i in 0..2 {
            assert!(
                clustered.fraction_after(i) <= 0.5,
                "clustered by a, b: predicate {i} read {} of {}",
                clustered.after[i].files_read,
                clustered.after[i].files_total
            );
        }
        for name in ["binpack", "sorted", "zorder", "clustered"] {
            assert_no_stray_files(&root.path().join(name), name);
        }
    });
}

/// The `add` actions of a commit.
fn adds(actions: &[Value]) -> Vec<&Value> {
    actions.iter().filter_map(|a| a.get("add")).collect()
}

fn operation(actions: &[Value]) -> &str {
    actions
        .iter()
        .find_map(|a| a.get("commitInfo"))
        .and_then(|i| i["operation"].as_str())
        .unwrap()
}

#[test]
fn a_clustered_table_is_valid_delta_and_clusters_incrementally() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("clustered");
    let data = batches(11);
    block_on(async {
        // Version 0 creates; 1..=3 append; 4 clusters.
        let table = build(&path, &data[..3], true).await;
        let metrics = Optimize::new(table.clone()).execute().await.unwrap();
        assert_eq!(metrics.versions, [4]);
        assert_eq!(metrics.files_removed, 3);

        let log = read_log(table.location()).await;
        // The protocol: writer 7 with `clustering` and `domainMetadata`.
        let protocol = log[&0].iter().find_map(|a| a.get("protocol")).unwrap();
        assert_eq!(protocol["minWriterVersion"], 7);
        let features: BTreeSet<&str> = protocol["writerFeatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(
            features.contains("clustering") && features.contains("domainMetadata"),
            "{protocol}"
        );
        // The domain, with physical column paths (without column mapping, the names).
        let domain = log[&0]
            .iter()
            .filter_map(|a| a.get("domainMetadata"))
            .find(|d| d["domain"] == "delta.clustering")
            .unwrap();
        assert_eq!(domain["removed"], false);
        let configuration: Value =
            serde_json::from_str(domain["configuration"].as_str().unwrap()).unwrap();
        assert_eq!(
            configuration["clusteringColumns"],
            serde_json::json!([["a"], ["b"]])
        );
        let info = log[&0].iter().find_map(|a| a.get("commitInfo")).unwrap();
        assert_eq!(info["operationParameters"]["clusterBy"], "[\"a\",\"b\"]");

        // Appended files are not clustered; every file clustering wrote says so, with the
        // clustering columns' statistics.
        for version in 1..=3 {
            assert_eq!(operation(&log[&version]), "WRITE");
            for add in adds(&log[&version]) {
                assert!(add.get("clusteringProvider").is_none(), "{add}");
            }
        }
        assert_eq!(operation(&log[&4]), "OPTIMIZE");
        let clustered = adds(&log[&4]);
        assert!(!clustered.is_empty());
        for add in &clustered {
            assert_eq!(add["clusteringProvider"], "liquid", "{add}");
            assert_eq!(add["dataChange"], false, "{add}");
            let stats: Value = serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
            assert!(stats["numRecords"].as_u64().unwrap() > 0, "{stats}");
            for column in ["a", "b"] {
                assert!(stats["minValues"][column].is_i64(), "{stats}");
                assert!(stats["maxValues"][column].is_i64(), "{stats}");
                assert_eq!(stats["nullCount"][column], 0, "{stats}");
            }
        }
        let info = log[&4].iter().find_map(|a| a.get("commitInfo")).unwrap();
        assert_eq!(info["operationParameters"]["clusterBy"], "[\"a\",\"b\"]");

        // delta-rs reads the same rows.
        let rows = canonical_rows(&scan_batches(&table, None).await);
        assert_eq!(rows.len(), 3 * usize::try_from(ROWS / APPENDS).unwrap());
        let delta_rs = read_with_delta_rs(uri(&path), None);
        assert_rows_eq(&rows_of(&delta_rs), &rows, "delta-rs, clustered table");

        // Nothing new: nothing to do, nothing committed.
        let plan = Optimize::new(table.clone()).plan().await.unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(
            plan.options.layout,
            Layout::Cluster(vec!["a".into(), "b".into()])
        );
        let again = Optimize::new(table.clone()).execute().await.unwrap();
        assert!(
            again.versions.is_empty() && again.files_removed == 0,
            "{again:?}"
        );
        assert_eq!(table.snapshot().await.unwrap().version(), 4);

        // One more append: only its files are clustered; the clustered ones stay.
        let kept: BTreeSet<String> = clustered
            .iter()
            .map(|a| a["path"].as_str().unwrap().to_owned())
            .collect();
        table
            .write()
            .execute_batches(vec![data[3].clone()])
            .await
            .unwrap();
        let log = read_log(table.location()).await;
        let appended: BTreeSet<String> = adds(&log[&5])
            .iter()
            .map(|a| a["path"].as_str().unwrap().to_owned())
            .collect();
        let plan = Optimize::new(table.clone()).plan().await.unwrap();
        let planned: BTreeSet<String> = plan
            .bins
            .iter()
            .flat_map(|b| b.files.iter().map(|f| f.path.clone()))
            .collect();
        assert_eq!(planned, appended, "only the appended files are clustered");
        assert!(plan.bins.iter().all(|b| b.reason == BinReason::Cluster));
        let metrics = Optimize::new(table.clone())
            .execute_plan(plan)
            .await
            .unwrap();
        assert_eq!(
            metrics.files_removed as usize,
            appended.len(),
            "{metrics:?}"
        );
        let snapshot = table.snapshot().await.unwrap();
        let active: BTreeSet<String> = snapshot
            .files()
            .iter()
            .map(|f| f.path().to_owned())
            .collect();
        assert!(kept.is_subset(&active), "earlier clustered files stay");
        assert!(active.is_disjoint(&appended));
        assert!(
            snapshot
                .files()
                .iter()
                .all(|f| f.clustering_provider() == Some("liquid"))
        );
        // And still the same rows, to delta-rs too.
        let rows = canonical_rows(&scan_batches(&table, None).await);
        assert_eq!(rows.len(), 4 * usize::try_from(ROWS / APPENDS).unwrap());
        let delta_rs = read_with_delta_rs(uri(&path), None);
        assert_rows_eq(
            &rows_of(&delta_rs),
            &rows,
            "delta-rs after incremental clustering",
        );
        assert_no_stray_files(&path, "after clustering");
    });
}

#[test]
fn clustering_columns_must_get_statistics() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        async fn create(
            path: std::path::PathBuf,
            stats: &str,
        ) -> tarn::Result<tarn::CommitSummary> {
            let table = Table::open(uri(&path)).await.unwrap();
            table
                .create()
                .with_arrow_schema(&schema())
                .unwrap()
                .with_property("delta.dataSkippingStatsColumns", stats)
                .cluster_by(["a"])
                .execute()
                .await
        }
        let refused = create(dir.path().join("without"), "b, id")
            .await
            .unwrap_err();
        assert!(
            matches!(refused, tarn::Error::InvalidArgument { .. }),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("`a`"), "{refused}");
        assert!(
            !dir.path().join("without/_delta_log").exists(),
            "a refused create must write nothing"
        );
        create(dir.path().join("with"), "id, a").await.unwrap();
    });
}

#[test]
fn replacing_a_clustered_table_without_cluster_by_unclusters_it() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let table = build(dir.path(), &batches(7)[..2], true).await;
        let clustered = table.snapshot().await.unwrap();
        assert_eq!(
            tarn_maintenance::clustering::clustering_columns(&clustered).unwrap(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        table
            .create()
            .with_arrow_schema(&schema())
            .unwrap()
            .replace(true)
            .execute()
            .await
            .unwrap();
        let replaced = table.snapshot().await.unwrap();
        assert_eq!(
            tarn_maintenance::clustering::clustering_columns(&replaced).unwrap(),
            None
        );
        let domain = replaced.domain_metadata().get(tarn::ops::CLUSTERING_DOMAIN);
        assert!(domain.is_none_or(|d| d.removed), "{domain:?}");
        // And a replacement clustered by other columns is clustered by those.
        table
            .create()
            .with_arrow_schema(&schema())
            .unwrap()
            .replace(true)
            .cluster_by(["id"])
            .execute()
            .await
            .unwrap();
        let again = table.snapshot().await.unwrap();
        assert_eq!(
            tarn_maintenance::clustering::clustering_columns(&again).unwrap(),
            Some(vec!["id".to_owned()])
        );
    });
}
