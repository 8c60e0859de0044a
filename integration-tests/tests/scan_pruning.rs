//! Pruning never loses a row: for predicates on partition and data columns, the rows a scan
//! returns equal a brute-force filter written here in plain Rust (not with tarn's `Expr`),
//! every file holding a matching row is kept, and where statistics decide cleanly (partition
//! values, narrow ranges over sorted ids) the files kept are exactly the matching ones.
//! Row-group pruning reduces the rows read; files without statistics are never pruned by
//! them; column-mapped tables prune by physical statistics keys; deletion vectors stay applied
//! with filters and limits; limits return exactly that many rows and stop reading early.
//!
//! This file holds the tests on the hand-written sample table (`common::sample_table`);
//! `cases` the predicates and their plain-Rust meaning, `tables` the tests on other
//! hand-written tables (row groups, column mapping, deletion vectors, limits, timestamp
//! statistics with offsets), `fixture_sweep` the same check over every fixture table.

use std::collections::BTreeSet;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use futures::TryStreamExt;
use tarn::scan::ScanMetricsSnapshot;
use tarn::{Expr, Snapshot, Table};

use crate::common::sample_table::{
    FILES, NO_STATS_FILES, NULL_NAME_FILE, Row, StoredRow, canonical, file_index, rows_in_file,
    rows_of, write_sample_table,
};
use crate::common::{block_on, uri};

mod cases;
mod fixture_sweep;
mod tables;

use cases::{Expect, cases};

// ---------------------------------------------------------------------------------------------
// Scanning.

async fn open(table: &Path) -> Snapshot {
    Table::open(uri(table))
        .await
        .unwrap()
        .snapshot()
        .await
        .unwrap()
}

/// What one filtered scan did.
struct Outcome {
    kept: Vec<String>,
    batches: Vec<RecordBatch>,
    metrics: ScanMetricsSnapshot,
}

async fn scan(snapshot: &Snapshot, filter: Option<&str>, limit: Option<usize>) -> Outcome {
    let mut builder = snapshot.scan();
    if let Some(sql) = filter {
        let expr = Expr::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        builder = builder.with_filter(expr);
    }
    if let Some(limit) = limit {
        builder = builder.with_limit(limit);
    }
    let scan = builder
        .build()
        .await
        .unwrap_or_else(|e| panic!("{filter:?}: {e}"));
    let kept = scan
        .files()
        .iter()
        .map(|f| f.log_path().to_owned())
        .collect();
    let metrics = scan.metrics();
    let batches: Vec<RecordBatch> = scan
        .execute()
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{filter:?}: {e}"));
    Outcome {
        kept,
        batches,
        metrics: metrics.snapshot(),
    }
}

/// The ids of a scan's output, sorted.
fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Which columns a predicate reads: partition columns only, data columns only, or both.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Partition,
    Data,
    Mixed,
}

fn kind(sql: &str) -> Kind {
    let columns = Expr::parse(sql).unwrap().referenced_columns();
    let partition = columns
        .iter()
        .filter(|c| c[0] == "day" || c[0] == "region")
        .count();
    match partition {
        0 => Kind::Data,
        n if n == columns.len() => Kind::Partition,
        _ => Kind::Mixed,
    }
}

#[test]
fn files_kept_and_rows_returned_match_a_brute_force_filter() {
    let dir = tempfile::tempdir().unwrap();
    let (table, stored) = write_sample_table(dir.path());
    let all_rows: Vec<Row> = stored.iter().map(|s| s.row.clone()).collect();
    let with_stats: BTreeSet<usize> = (0..FILES).filter(|k| !NO_STATS_FILES.contains(k)).collect();
    let no_stats: BTreeSet<usize> = NO_STATS_FILES.into_iter().collect();
    let mut problems = Vec::new();
    let mut exact_cases = 0;
    block_on(async {
        let snapshot = open(&table).await;
        // The unfiltered scan returns what was written.
        let everything = scan(&snapshot, None, None).await;
        assert_eq!(
            canonical(&rows_of(&everything.batches)),
            canonical(&all_rows)
        );
        for case in cases() {
            let sql = case.sql.as_str();
            let expected: Vec<&StoredRow> = stored
                .iter()
                .filter(|s| (case.matches)(&s.row) == Some(true))
                .collect();
            let expected_rows: Vec<Row> = expected.iter().map(|s| s.row.clone()).collect();
            let matching: BTreeSet<usize> = expected.iter().map(|s| s.file).collect();
            let outcome = scan(&snapshot, Some(sql), None).await;
            let kept: BTreeSet<usize> = outcome.kept.iter().map(|p| file_index(p)).collect();
            let m = outcome.metrics;

            // (a) Exactly the rows a brute-force filter selects.
            let actual = canonical(&rows_of(&outcome.batches));
            let wanted = canonical(&expected_rows);
            if actual != wanted {
                let missing: Vec<_> = wanted.iter().filter(|r| !actual.contains(r)).collect();
                let extra: Vec<_> = actual.iter().filter(|r| !wanted.contains(r)).collect();
                problems.push(format!(
                    "{sql}: {} rows, expected {}; missing {missing:?}; extra {extra:?}",
                    actual.len(),
                    wanted.len()
                ));
            }
            // (b) Never a wrong skip.
            let wrongly_skipped: Vec<_> = matching.difference(&kept).collect();
            if !wrongly_skipped.is_empty() {
                problems.push(format!(
                    "{sql}: files {wrongly_skipped:?} hold matching rows but were skipped"
                ));
            }
            if m.files_total != FILES as u64
                || m.files_pruned_by_partition + m.files_pruned_by_stats + kept.len() as u64
                    != FILES as u64
                || m.files_read > kept.len() as u64
            {
                problems.push(format!("{sql}: inconsistent counters {m:?}, kept {kept:?}"));
            }
            let kind = kind(sql);
            // Files without statistics are never pruned by statistics (unless the predicate
            // is never true at all).
            if kind == Kind::Data
                && !matches!(case.expect, Expect::ExactKeepingNoStats(_))
                && !no_stats.is_subset(&kept)
            {
                problems.push(format!(
                    "{sql}: files without statistics {:?} were skipped",
                    no_stats.difference(&kept).collect::<Vec<_>>()
                ));
            }
            // (c) Exactly the matching files where statistics decide cleanly.
            let no_stats_kept: BTreeSet<usize> = match (case.expect, &kind) {
                (Expect::NoWrongSkip, _) => continue,
                (Expect::ExactKeepingNoStats(files), _) => files.iter().copied().collect(),
                (Expect::Exact, Kind::Data) => no_stats.clone(),
                (Expect::Exact, Kind::Partition) => {
                    no_stats.intersection(&matching).copied().collect()
                }
                (Expect::Exact, Kind::Mixed) => panic!("{sql}: say which files are kept"),
            };
            exact_cases += 1;
            let expected_kept: BTreeSet<usize> = matching
                .intersection(&with_stats)
                .copied()
                .chain(no_stats_kept)
                .collect();
            if kept != expected_kept {
                problems.push(format!(
                    "{sql}: kept files {kept:?}, expected exactly {expected_kept:?}"
                ));
                continue;
            }
            let pruned = (FILES - kept.len()) as u64;
            // A predicate no row can satisfy is decided before statistics are consulted.
            let kind = match case.expect {
                Expect::ExactKeepingNoStats(_) => Kind::Mixed,
                _ => kind,
            };
            let counters_ok = match kind {
                Kind::Partition => {
                    m.files_pruned_by_partition == pruned && m.files_pruned_by_stats == 0
                }
                Kind::Data => m.files_pruned_by_partition == 0 && m.files_pruned_by_stats == pruned,
                Kind::Mixed => m.files_pruned_by_partition + m.files_pruned_by_stats == pruned,
            };
            if !counters_ok {
                problems.push(format!("{sql}: {pruned} files pruned, counters {m:?}"));
            }
        }
    });
    assert!(exact_cases >= 30, "{exact_cases}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn partition_equality_and_narrow_id_ranges_prune_to_the_exact_files() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = write_sample_table(dir.path());
    block_on(async {
        let snapshot = open(&table).await;
        // Day 2026-01-06 is files 6..=11; file 10 (null region, no statistics) among them.
        let day = scan(&snapshot, Some("day = '2026-01-06'"), None).await;
        let kept: Vec<usize> = day.kept.iter().map(|p| file_index(p)).collect();
        assert_eq!(kept, (6..=11).collect::<Vec<_>>());
        assert_eq!(day.metrics.files_pruned_by_partition, 12);
        assert_eq!(day.metrics.files_pruned_by_stats, 0);
        assert_eq!(
            rows_of(&day.batches).len(),
            (6..=11).map(rows_in_file).sum::<usize>()
        );
        // Ids 305..=310 are in file 3 only; the files without statistics are read, and their
        // row groups pruned by the Parquet statistics.
        let ids = scan(&snapshot, Some("id BETWEEN 305 AND 310"), None).await;
        let kept: Vec<usize> = ids.kept.iter().map(|p| file_index(p)).collect();
        assert_eq!(kept, [3, 10, 13]);
        assert_eq!(ids.metrics.files_pruned_by_stats, 15);
        assert_eq!(ids.metrics.files_pruned_by_partition, 0);
        let mut ids_read: Vec<i64> = rows_of(&ids.batches).iter().map(|r| r.id).collect();
        ids_read.sort_unstable();
        assert_eq!(ids_read, (305..=310).collect::<Vec<_>>());
        // Rows 5..=10 of file 3 lie in its row groups 0 and 1: 16 rows; nothing else is read.
        assert_eq!(ids.metrics.rows_read, 16, "{:?}", ids.metrics);
        assert!(
            ids.metrics.row_groups_pruned >= 1 + 4 + 4,
            "{:?}",
            ids.metrics
        );
    });
}

#[test]
fn files_without_statistics_are_never_pruned_by_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (table, stored) = write_sample_table(dir.path());
    block_on(async {
        let snapshot = open(&table).await;
        for (sql, want) in [
            ("id = 5", vec![5]),
            ("id = 1305", vec![1305]),
            ("id = 1005", vec![1005]),
            ("id = 1099", vec![]),
            ("amount > 9999.00", vec![]),
            ("name = 'name-01301'", vec![1301]),
        ] {
            let outcome = scan(&snapshot, Some(sql), None).await;
            let kept: BTreeSet<usize> = outcome.kept.iter().map(|p| file_index(p)).collect();
            assert!(kept.contains(&10) && kept.contains(&13), "{sql}: {kept:?}");
            let mut ids: Vec<i64> = rows_of(&outcome.batches).iter().map(|r| r.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, want, "{sql}");
        }
    });
    assert!(stored.iter().any(|s| s.file == 13 && s.row.id == 1305));
    assert_eq!(NULL_NAME_FILE, 16);
}

/// A partition value is known from the log whether or not the file has statistics: file 10
/// (region null, no `stats`, so no `numRecords`) holds no row with a non-null region.
#[test]
fn a_null_partition_value_rules_out_a_file_without_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = write_sample_table(dir.path());
    block_on(async {
        let snapshot = open(&table).await;
        let mut problems = Vec::new();
        for (sql, want) in [
            ("region = 'eu' AND id = 1305", vec![13]),
            ("region = 'eu'", vec![0, 1, 6, 7, 12, 13]),
            (
                "region IS NOT NULL AND day = '2026-01-06'",
                vec![6, 7, 8, 9],
            ),
            ("region IS NULL AND day = '2026-01-06'", vec![10, 11]),
        ] {
            let outcome = scan(&snapshot, Some(sql), None).await;
            let kept: Vec<usize> = outcome.kept.iter().map(|p| file_index(p)).collect();
            if kept != want {
                problems.push(format!("{sql}: kept {kept:?}, expected {want:?}"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}
