//! Interop, writes: tables tarn writes are read by delta-rs (the Python `deltalake` package,
//! see `common::python`) with exactly the rows tarn wrote, at every version.
//!
//! The rows come from `common::every_type` (every primitive type, decimals, dates,
//! timestamps with and without a zone, nested struct/list/map, nulls at every level, partition
//! values that need escaping). What each version must hold is computed here, in Rust, from
//! those rows: a delete filters them, an update changes them, an overwrite-where swaps a
//! partition, a restore goes back to an earlier list. Each version is then compared three
//! ways — expected, tarn's scan, delta-rs's reading — and delta-rs also reads the schema.
//!
//! The opposite direction (tables delta-rs writes, with a delete and a checkpoint, read by
//! tarn at every version) is `interop_read::table_written_by_delta_rs_reads_exactly_at_every_version`.

use std::path::Path;

use serde_json::{Value, json};
use tarn::{Expr, Table, WriteMode};

use crate::common::every_type::{Row, batch, expected, rows, schema_pairs};
use crate::common::python::{rows_of, try_read_many_with_delta_rs};
use crate::common::writes::{
    assert_no_stray_files, labelled_difference, latest_version, scan_rows,
};
use crate::common::{block_on, delta_log, uri};

/// One table at one version, and what it must hold.
struct Expectation {
    what: String,
    table: String,
    version: u64,
    rows: Vec<Row>,
}

/// Reads every expectation with delta-rs (one Python process) and with tarn, and compares
/// both with the expected rows; returns every difference found.
fn check_all(expectations: &[Expectation]) -> Vec<String> {
    let requests: Vec<(String, Option<i64>)> = expectations
        .iter()
        .map(|e| (e.table.clone(), Some(i64::try_from(e.version).unwrap())))
        .collect();
    let from_delta_rs = try_read_many_with_delta_rs(&requests);
    let mut problems = Vec::new();
    block_on(async {
        for (e, delta_rs) in expectations.iter().zip(from_delta_rs) {
            let what = format!("{} at v{}", e.what, e.version);
            let want = expected(&e.rows);
            // tarn's own reading.
            let table = Table::open(&e.table).await.unwrap();
            let tarn = scan_rows(&table, Some(e.version)).await;
            problems.extend(labelled_difference(
                &what,
                ("tarn", &tarn),
                ("the expected rows", &want),
            ));
            // delta-rs's.
            let delta_rs = match delta_rs {
                Ok(table) => table,
                Err(error) => {
                    problems.push(format!("{what}: delta-rs failed: {error}"));
                    continue;
                }
            };
            if delta_rs["version"] != json!(e.version) {
                problems.push(format!(
                    "{what}: delta-rs read version {}",
                    delta_rs["version"]
                ));
            }
            if delta_rs["schema"] != schema_pairs() {
                problems.push(format!(
                    "{what}: delta-rs read the schema {}",
                    delta_rs["schema"]
                ));
            }
            problems.extend(labelled_difference(
                &what,
                ("delta-rs", &rows_of(&delta_rs)),
                ("the expected rows", &want),
            ));
        }
    });
    problems
}

fn assert_all_match(expectations: &[Expectation]) {
    let problems = check_all(expectations);
    assert!(
        problems.is_empty(),
        "{} of {} readings differ:\n{}",
        problems.len(),
        expectations.len(),
        problems.join("\n")
    );
}

/// The partition layouts every test runs with.
const LAYOUTS: &[&[&str]] = &[&[], &["part"], &["day"], &["n"], &["day", "part"]];

fn layout_name(layout: &[&str]) -> String {
    if layout.is_empty() {
        "unpartitioned".to_owned()
    } else {
        format!("by {}", layout.join(","))
    }
}

#[test]
fn every_type_and_partitioning_reads_the_same_in_delta_rs() {
    let dir = tempfile::tempdir().unwrap();
    let mut expectations = Vec::new();
    block_on(async {
        for (i, layout) in LAYOUTS.iter().enumerate() {
            let path = dir.path().join(format!("t{i}"));
            let table = Table::open(uri(&path)).await.unwrap();
            let first = rows(0..66);
            let created = table
                .write()
                .with_partition_columns(layout.iter().copied())
                .execute_batches(vec![batch(&first)])
                .await
                .unwrap();
            assert_eq!(created.version, Some(0));
            assert_eq!(created.rows_written, 66);
            // A second commit of two batches.
            let second = rows(66..100);
            table
                .write()
                .execute_batches(vec![batch(&second[..10]), batch(&second[10..])])
                .await
                .unwrap();
            let snapshot = table.snapshot().await.unwrap();
            assert_eq!(snapshot.partition_columns(), *layout);
            assert_eq!(
                crate::common::python::schema_pairs(snapshot.schema()),
                schema_pairs()
            );
            // timestamp_ntz needs the table feature (reader 3, writer 7).
            assert_eq!(snapshot.protocol().min_reader_version, 3);
            assert_eq!(snapshot.protocol().min_writer_version, 7);
            let what = layout_name(layout);
            expectations.push(Expectation {
                what: what.clone(),
                table: uri(&path).to_owned(),
                version: 0,
                rows: first.clone(),
            });
            let mut all = first;
            all.extend(second);
            expectations.push(Expectation {
                what,
                table: uri(&path).to_owned(),
                version: 1,
                rows: all,
            });
            assert_no_stray_files(&path, &layout_name(layout));
        }
    });
    assert_all_match(&expectations);
}

#[test]
fn partition_directories_are_hive_escaped_and_values_kept_raw_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("escaped");
    block_on(async {
        let table = Table::open(uri(&path)).await.unwrap();
        table
            .write()
            .with_partition_columns(["part"])
            .execute_batches(vec![batch(&rows(0..22))])
            .await
            .unwrap();
    });
    let adds: Vec<Value> = crate::common::writes::commit_actions(&path, 0)
        .into_iter()
        .filter_map(|a| a.get("add").cloned())
        .collect();
    let values: std::collections::BTreeSet<Option<String>> = adds
        .iter()
        .map(|a| a["partitionValues"]["part"].as_str().map(str::to_owned))
        .collect();
    let want: std::collections::BTreeSet<Option<String>> = crate::common::every_type::PARTS
        .iter()
        .map(|p| p.map(str::to_owned))
        .collect();
    assert_eq!(values, want, "partitionValues hold the raw values");
    // The directory of `a/b` is `part=a%2Fb` on disk (one directory level, `/` escaped).
    assert!(path.join("part=a%2Fb").is_dir());
    assert!(path.join("part=x%3Dy").is_dir());
    assert!(path.join("part=__HIVE_DEFAULT_PARTITION__").is_dir());
    assert_no_stray_files(&path, "escaped partitions");
}

/// Replays a list of operations on a table with tarn, keeping what each version must hold.
struct History {
    path: std::path::PathBuf,
    table: Table,
    states: Vec<Vec<Row>>,
    what: String,
}

impl History {
    fn current(&self) -> Vec<Row> {
        self.states.last().cloned().unwrap_or_default()
    }

    fn committed(&mut self, summary: &tarn::CommitSummary, rows: Vec<Row>) {
        let version = summary.version.expect("the operation committed nothing");
        assert_eq!(
            version,
            u64::try_from(self.states.len()).unwrap(),
            "{}: versions are consecutive",
            self.what
        );
        self.states.push(rows);
        assert_no_stray_files(&self.path, &format!("{} at v{version}", self.what));
    }

    fn expectations(&self) -> Vec<Expectation> {
        self.states
            .iter()
            .enumerate()
            .map(|(v, rows)| Expectation {
                what: self.what.clone(),
                table: uri(&self.path).to_owned(),
                version: u64::try_from(v).unwrap(),
                rows: rows.clone(),
            })
            .collect()
    }
}

/// Create, append, delete (data predicate; whole partition), update (data column; partition
/// column), overwrite-where, restore, checkpoints (every 3 commits and on demand), append,
/// full overwrite — on a table laid out as `layout`.
async fn run_operations(dir: &Path, layout: &[&str]) -> History {
    let path = dir.join("ops");
    let table = Table::open(uri(&path)).await.unwrap();
    let mut h = History {
        path,
        table,
        states: Vec::new(),
        what: format!("operations {}", layout_name(layout)),
    };

    // v0: create with automatic checkpoints every 3 versions.
    let rows0 = rows(0..60);
    let s = h
        .table
        .write()
        .with_partition_columns(layout.iter().copied())
        .with_property("delta.checkpointInterval", "3")
        .execute_batches(vec![batch(&rows0)])
        .await
        .unwrap();
    h.committed(&s, rows0);

    // v1: append.
    let more = rows(60..90);
    let s = h
        .table
        .write()
        .execute_batches(vec![batch(&more)])
        .await
        .unwrap();
    let mut now = h.current();
    now.extend(more);
    h.committed(&s, now);

    // v2: delete on a data column (rows with a null c_int stay).
    let s = h
        .table
        .delete()
        .with_predicate(Expr::parse("c_int > 5").unwrap())
        .execute()
        .await
        .unwrap();
    let mut now = h.current();
    let before = now.len();
    now.retain(|r| r.c_int.is_none_or(|v| v <= 5));
    assert_eq!(s.rows_deleted, u64::try_from(before - now.len()).unwrap());
    h.committed(&s, now);

    // v3: delete a whole partition value (null partition values stay). Checkpoint due.
    let s = h
        .table
        .delete()
        .with_predicate(Expr::parse("part = 'a/b'").unwrap())
        .execute()
        .await
        .unwrap();
    assert!(s.checkpoint_written, "delta.checkpointInterval=3 at v3");
    let mut now = h.current();
    now.retain(|r| r.part.as_deref() != Some("a/b"));
    h.committed(&s, now);

    // v4: update data columns of some rows.
    let s = h
        .table
        .update()
        .with_predicate(Expr::parse("id < 30 AND c_bool = true").unwrap())
        .set_sql("c_int = c_int + 100")
        .unwrap()
        .set_sql("c_string = 'updated'")
        .unwrap()
        .execute()
        .await
        .unwrap();
    let mut now = h.current();
    let mut updated = 0;
    for r in &mut now {
        if r.id < 30 && r.c_bool == Some(true) {
            r.c_int = r.c_int.map(|v| v + 100);
            r.c_string = Some("updated".to_owned());
            updated += 1;
        }
    }
    assert_eq!(s.rows_updated, updated);
    h.committed(&s, now);

    // v5: move rows to a new partition value that needs escaping.
    let s = h
        .table
        .update()
        .with_predicate(Expr::parse("n IS NULL").unwrap())
        .set_sql("part = 'moved/x=1 %'")
        .unwrap()
        .execute()
        .await
        .unwrap();
    let mut now = h.current();
    for r in now.iter_mut().filter(|r| r.n.is_none()) {
        r.part = Some("moved/x=1 %".to_owned());
    }
    h.committed(&s, now);

    // v6: overwrite-where one value of `part`. Checkpoint due.
    let replacement: Vec<Row> = rows(1000..1020)
        .into_iter()
        .map(|mut r| {
            r.part = Some("x=y".to_owned());
            r
        })
        .collect();
    let s = h
        .table
        .write()
        .replace_where(Expr::parse("part = 'x=y'").unwrap())
        .execute_batches(vec![batch(&replacement)])
        .await
        .unwrap();
    assert!(s.checkpoint_written, "delta.checkpointInterval=3 at v6");
    let mut now = h.current();
    now.retain(|r| r.part.as_deref() != Some("x=y"));
    now.extend(replacement);
    h.committed(&s, now);

    // v7: restore to v1, then a checkpoint on demand.
    let s = h.table.restore(1).execute().await.unwrap();
    let now = h.states[1].clone();
    h.committed(&s, now);
    let checkpoint = h.table.checkpoint().execute().await.unwrap();
    assert_eq!(checkpoint.version, 7);

    // v8: append after the checkpoint.
    let more = rows(2000..2010);
    let s = h
        .table
        .write()
        .execute_batches(vec![batch(&more)])
        .await
        .unwrap();
    let mut now = h.current();
    now.extend(more);
    h.committed(&s, now);

    // v9: full overwrite. Checkpoint due.
    let fresh = rows(3000..3007);
    let s = h
        .table
        .write()
        .with_mode(WriteMode::Overwrite)
        .execute_batches(vec![batch(&fresh)])
        .await
        .unwrap();
    assert!(s.checkpoint_written, "delta.checkpointInterval=3 at v9");
    h.committed(&s, fresh);

    for v in [3, 6, 7, 9] {
        let checkpoint = delta_log(&h.path).join(format!("{v:020}.checkpoint.parquet"));
        assert!(checkpoint.exists(), "{} is missing", checkpoint.display());
    }
    assert_eq!(latest_version(&h.path), Some(9));
    h
}

fn operations_read_the_same_in_delta_rs(layout: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let history = block_on(run_operations(dir.path(), layout));
    assert_all_match(&history.expectations());
}

#[test]
fn operations_on_an_unpartitioned_table_read_the_same_in_delta_rs() {
    operations_read_the_same_in_delta_rs(&[]);
}

#[test]
fn operations_on_a_table_partitioned_by_a_string_read_the_same_in_delta_rs() {
    operations_read_the_same_in_delta_rs(&["part"]);
}

#[test]
fn operations_on_a_table_partitioned_by_date_and_int_read_the_same_in_delta_rs() {
    operations_read_the_same_in_delta_rs(&["day", "n"]);
}
