//! `tarn cat` and `tarn files --where` as other tools drive them: the real executable run
//! against the fixture tables, its output parsed back (CSV, NDJSON, Parquet) and compared,
//! order-insensitively, with the expected data recorded beside the fixtures or with the
//! full output filtered here; the `--explain` plan against `files --where`; and the failure
//! contract (one `error: ...` line, nothing left behind by a failed `--output`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use support::rows::*;
use support::*;

const PARTITIONED: &str = "delta-0.8.0-partitioned";
const DV: &str = "table-with-dv-small";
const MAPPED: &str = "table_with_column_mapping";
/// Every primitive type, nested types, file stats for top-level columns, twelve files.
const TYPES: &str = "delta-1.2.1-only-struct-stats";

/// (fixture, expected-data version, rows) of the tables every format is checked on.
const TABLES: &[(&str, u64, usize)] = &[
    (PARTITIONED, 0, 7),
    (DV, 1, 8),
    (MAPPED, 0, 5),
    (TYPES, 12, 12),
];

/// Runs a command that must succeed; returns stdout and stderr.
fn run_ok(args: &[&str]) -> (String, String) {
    let output = tarn(args);
    assert!(
        output.status.success(),
        "tarn {args:?} exited with {}; stderr: {}",
        output.status,
        stderr(&output)
    );
    (stdout(&output), stderr(&output))
}

fn rows_line(n: usize) -> String {
    format!("{n} {}\n", if n == 1 { "row" } else { "rows" })
}

/// `cat --format csv`: the header and the sorted rows.
fn cat_csv(table: &str, extra: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut args = vec!["cat", table, "--format", "csv"];
    args.extend(extra);
    parse_csv(&tarn_ok(&args))
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// `table_with_column_mapping` read straight from its data files: (company, name) pairs,
/// the company from the file's partition value (physical name in the log), the name from the
/// Parquet column with the physical name.
fn mapped_rows() -> Vec<(String, String)> {
    let table = fixture(MAPPED);
    let mut rows = Vec::new();
    for line in std::fs::read_to_string(commit_file(&table, 0))
        .unwrap()
        .lines()
    {
        let action: Value = serde_json::from_str(line).unwrap();
        let Some(add) = action.get("add") else {
            continue;
        };
        let company = add["partitionValues"]["col-173b4db9-b5ad-427f-9e75-516aae37fbbb"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, batches) = read_parquet(&Path::new(&table).join(add["path"].as_str().unwrap()));
        for name in text_rows(
            &batches,
            Some(&["col-3877fd94-0973-4941-ac6b-646849a1ff65"]),
            "",
        ) {
            rows.push((company.clone(), name[0].clone()));
        }
    }
    assert_eq!(rows.len(), 5);
    rows
}

/// The expected rows of a fixture as sorted text cells (see [`text_rows`]).
///
/// `table_with_column_mapping`'s expected-v0.parquet has `Super Name` all null, which its
/// data files contradict (they hold five names, and the log's stats agree with them); its
/// `Company Very Short` column is checked against the expected file, its names against the
/// data files.
fn expected_text(
    name: &str,
    version: u64,
    columns: Option<&[&str]>,
    null: &str,
) -> Vec<Vec<String>> {
    let batches = expected_batches(name, version);
    if name != MAPPED {
        return text_rows(&batches, columns, null);
    }
    let rows = mapped_rows();
    let mut companies: Vec<Vec<String>> = rows
        .iter()
        .map(|(company, _)| vec![company.clone()])
        .collect();
    companies.sort();
    assert_eq!(
        companies,
        text_rows(&batches, Some(&["Company Very Short"]), null)
    );
    let columns = columns.unwrap_or(&["Company Very Short", "Super Name"]);
    let mut text: Vec<Vec<String>> = rows
        .iter()
        .map(|(company, person)| {
            columns
                .iter()
                .map(|c| match *c {
                    "Company Very Short" => company.clone(),
                    "Super Name" => person.clone(),
                    other => panic!("no column {other}"),
                })
                .collect()
        })
        .collect();
    text.sort();
    text
}

/// The expected rows of a fixture as NDJSON objects (see [`expected_text`] for
/// `table_with_column_mapping`).
fn expected_json(name: &str, version: u64) -> Vec<serde_json::Map<String, Value>> {
    if name != MAPPED {
        return json_rows(&expected_batches(name, version));
    }
    let text: String = mapped_rows()
        .iter()
        .map(|(company, person)| {
            format!(
                "{}\n",
                serde_json::json!({"Company Very Short": company, "Super Name": person})
            )
        })
        .collect();
    parse_ndjson(&text)
}

// ---------------------------------------------------------------------------------------------
// 1. Formats
// ---------------------------------------------------------------------------------------------

#[test]
fn table_format_is_aligned_with_the_row_count_on_stderr() {
    for (name, version, rows) in TABLES {
        let table = fixture(name);
        let (out, err) = run_ok(&["cat", &table]);
        assert_eq!(err, rows_line(*rows), "{name}: stderr");
        assert_eq!(out.lines().count(), rows + 1, "{name}:\n{out}");
        let expected = expected_batches(name, *version);
        let schema = expected[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            out.lines()
                .next()
                .unwrap()
                .split("  ")
                .filter(|s| !s.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>(),
            names,
            "{name}: header"
        );
        if name.contains(' ') || names.iter().any(|n| n.contains(' ')) {
            continue;
        }
        let columns: Vec<(&str, Align)> = schema
            .fields()
            .iter()
            .map(|f| {
                let align = if f.data_type().is_numeric() {
                    Align::Right
                } else {
                    Align::Left
                };
                (f.name().as_str(), align)
            })
            .collect();
        assert_aligned(name, &out, &columns, *rows);
    }
}

#[test]
fn table_cells_are_the_expected_values_with_null_shown_as_null() {
    for name in [PARTITIONED, DV] {
        let version = if name == DV { 1 } else { 0 };
        let (out, _) = run_ok(&["cat", &fixture(name)]);
        let mut got: Vec<Vec<String>> = out
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect();
        got.sort();
        let want: Vec<Vec<String>> = expected_text(name, version, None, "NULL");
        assert_eq!(got, want, "{name}");
    }
    // Version 0 of the DV table, before the delete: ten rows.
    let (out, err) = run_ok(&["cat", &fixture(DV), "--version", "0"]);
    assert_eq!(err, "10 rows\n");
    let mut got: Vec<&str> = out.lines().skip(1).map(str::trim).collect();
    got.sort_unstable();
    let want = text_rows(&expected_batches(DV, 0), None, "NULL");
    assert_eq!(got, want.iter().map(|r| r[0].as_str()).collect::<Vec<_>>());
}

#[test]
fn csv_parses_back_to_the_expected_rows() {
    for (name, version, rows) in TABLES {
        let expected = expected_batches(name, *version);
        let (header, got) = cat_csv(&fixture(name), &[]);
        let schema = expected[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(header, names, "{name}: header");
        assert_eq!(got.len(), *rows, "{name}: rows");
        assert_eq!(
            got,
            expected_text(name, *version, None, ""),
            "{name}: values"
        );
    }
}

#[test]
fn csv_quotes_fields_as_rfc_4180_says() {
    // Column names with spaces are not quoted; values with commas or quotes would be.
    let text = tarn_ok(&["cat", &fixture(MAPPED), "--format", "csv"]);
    assert!(
        text.starts_with("Company Very Short,Super Name\n"),
        "{text}"
    );
    // The nested columns of TYPES are written as their text, quoted where they hold commas.
    let text = tarn_ok(&["cat", &fixture(TYPES), "--format", "csv", "--limit", "1"]);
    let (header, rows) = parse_csv(&text);
    assert_eq!(rows.len(), 1);
    let map = &rows[0][column(&header, "map")];
    assert!(map.starts_with('{') || map.is_empty(), "{map}");
}

#[test]
fn ndjson_parses_back_to_the_expected_rows() {
    for (name, version, rows) in TABLES {
        let expected = expected_batches(name, *version);
        let text = tarn_ok(&["cat", &fixture(name), "--format", "ndjson"]);
        let got = parse_ndjson(&text);
        assert_eq!(got.len(), *rows, "{name}: rows");
        let schema = expected[0].schema();
        for row in &got {
            let keys: Vec<&str> = row.keys().map(String::as_str).collect();
            let mut want: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            want.sort_unstable();
            let mut keys = keys;
            keys.sort_unstable();
            assert_eq!(
                keys, want,
                "{name}: every column, null or not, in every row"
            );
        }
        assert_eq!(got, expected_json(name, *version), "{name}: values");
    }
}

#[test]
fn ndjson_timestamps_are_rfc_3339() {
    let text = tarn_ok(&[
        "cat",
        &fixture(TYPES),
        "--format",
        "ndjson",
        "--columns",
        "timestamp",
    ]);
    let rows = parse_ndjson(&text);
    assert_eq!(rows.len(), 12);
    for row in rows {
        let value = row["timestamp"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(value)
            .unwrap_or_else(|e| panic!("{value} is not RFC 3339: {e}"));
    }
}

#[test]
fn parquet_output_has_the_logical_schema_and_the_expected_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (name, version, rows) in TABLES {
        let path = dir.path().join(format!("{name}.parquet"));
        let output = tarn(&[
            "cat",
            &fixture(name),
            "--format",
            "parquet",
            "--output",
            path.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(
            output.stdout.is_empty() && output.stderr.is_empty(),
            "{name}"
        );
        let (schema, batches) = read_parquet(&path);
        let expected = expected_batches(name, *version);
        let want_names: Vec<String> = expected[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, want_names, "{name}: column names");
        assert_eq!(row_count(&batches), *rows, "{name}: rows");
        assert_eq!(
            text_rows(&batches, None, ""),
            expected_text(name, *version, None, ""),
            "{name}: values"
        );
        let file = std::fs::File::open(&path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let metadata = reader.metadata();
        for row_group in metadata.row_groups() {
            for chunk in row_group.columns() {
                assert!(
                    matches!(chunk.compression(), parquet::basic::Compression::ZSTD(_)),
                    "{name}: {:?}",
                    chunk.compression()
                );
            }
        }
    }
    let names: Vec<String> = read_parquet(&dir.path().join(format!("{MAPPED}.parquet")))
        .0
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["Company Very Short", "Super Name"]);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        TABLES.len(),
        "only the output files, no temporary files"
    );
}

#[test]
fn output_writes_the_same_bytes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = fixture(PARTITIONED);
    for format in ["table", "csv", "ndjson"] {
        let path = dir.path().join(format!("out.{format}"));
        let (out, err) = run_ok(&[
            "cat",
            &table,
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ]);
        assert!(out.is_empty(), "{format}: stdout: {out}");
        let want_err = if format == "table" {
            rows_line(7)
        } else {
            String::new()
        };
        assert_eq!(err, want_err, "{format}");
        let written = std::fs::read_to_string(&path).unwrap();
        let (printed, _) = run_ok(&["cat", &table, "--format", format]);
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&written), sorted(&printed), "{format}");
    }
    // An existing file is replaced.
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "old contents\n").unwrap();
    tarn_ok(&[
        "cat",
        &table,
        "--format",
        "csv",
        "--limit",
        "1",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        parse_csv(&std::fs::read_to_string(&path).unwrap()).1.len(),
        1
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

// ---------------------------------------------------------------------------------------------
// 2. --columns, --limit, --where
// ---------------------------------------------------------------------------------------------

#[test]
fn columns_select_and_order_the_output() {
    let expected = expected_batches(PARTITIONED, 0);
    let (header, rows) = cat_csv(&fixture(PARTITIONED), &["--columns", "day,value"]);
    assert_eq!(header, ["day", "value"]);
    assert_eq!(rows, text_rows(&expected, Some(&["day", "value"]), ""));

    let text = tarn_ok(&[
        "cat",
        &fixture(MAPPED),
        "--format",
        "ndjson",
        "--columns",
        "Super Name",
    ]);
    let rows = parse_ndjson(&text);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.keys().eq(["Super Name"])), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapped.parquet");
    tarn_ok(&[
        "cat",
        &fixture(MAPPED),
        "--columns",
        "Super Name,Company Very Short",
        "--format",
        "parquet",
        "--output",
        path.to_str().unwrap(),
    ]);
    let (schema, batches) = read_parquet(&path);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["Super Name", "Company Very Short"]);
    let columns = ["Super Name", "Company Very Short"];
    assert_eq!(
        text_rows(&batches, Some(&columns), ""),
        expected_text(MAPPED, 0, Some(&columns), "")
    );
}

#[test]
fn limit_returns_exactly_that_many_rows() {
    let table = fixture(PARTITIONED);
    let (_, all) = cat_csv(&table, &[]);
    for (limit, want) in [(0, 0), (1, 1), (3, 3), (7, 7), (100, 7)] {
        let limit_text = limit.to_string();
        let (_, rows) = cat_csv(&table, &["--limit", &limit_text]);
        assert_eq!(rows.len(), want, "--limit {limit}");
        assert!(
            rows.iter().all(|r| all.contains(r)),
            "--limit {limit}: {rows:?}"
        );
        let (_, err) = run_ok(&["cat", &table, "--limit", &limit_text]);
        assert_eq!(err, rows_line(want), "--limit {limit}");
        let text = tarn_ok(&["cat", &table, "--format", "ndjson", "--limit", &limit_text]);
        assert_eq!(parse_ndjson(&text).len(), want, "--limit {limit} ndjson");
    }
    // Rows deleted by the deletion vector never count towards the limit.
    let (_, all) = cat_csv(&fixture(DV), &[]);
    let (_, rows) = cat_csv(&fixture(DV), &["--limit", "8"]);
    assert_eq!(rows, all);
    // With a filter.
    let (_, rows) = cat_csv(&table, &["--where", "year = '2021'", "--limit", "2"]);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r[1] == "2021"), "{rows:?}");
}

/// `cat --where` against the full output filtered here.
fn check_where(name: &str, predicate: &str, keep: impl Fn(&[String], &[String]) -> bool) {
    let table = fixture(name);
    let (header, all) = cat_csv(&table, &[]);
    let want: Vec<Vec<String>> = all.into_iter().filter(|r| keep(&header, r)).collect();
    let (got_header, got) = cat_csv(&table, &["--where", predicate]);
    assert_eq!(got_header, header);
    assert_eq!(got, want, "{name} --where {predicate}");
    let text = tarn_ok(&["cat", &table, "--format", "ndjson", "--where", predicate]);
    assert_eq!(
        parse_ndjson(&text).len(),
        want.len(),
        "{name} --where {predicate}"
    );
    let (_, err) = run_ok(&["cat", &table, "--where", predicate]);
    assert_eq!(err, rows_line(want.len()));
}

#[test]
fn where_keeps_exactly_the_rows_the_predicate_selects() {
    let cell = |header: &[String], row: &[String], name: &str| row[column(header, name)].clone();
    check_where(PARTITIONED, "year = '2021'", |h, r| {
        cell(h, r, "year") == "2021"
    });
    check_where(PARTITIONED, "year = '2020' AND month = '2'", |h, r| {
        cell(h, r, "year") == "2020" && cell(h, r, "month") == "2"
    });
    check_where(PARTITIONED, "day = '4' OR day = '20'", |h, r| {
        ["4", "20"].contains(&cell(h, r, "day").as_str())
    });
    // A data predicate, alone and with a partition predicate.
    let (header, all) = cat_csv(&fixture(PARTITIONED), &[]);
    let some_value = all[0][column(&header, "value")].clone();
    check_where(PARTITIONED, &format!("value = '{some_value}'"), |h, r| {
        cell(h, r, "value") == some_value
    });
    check_where(
        PARTITIONED,
        &format!("value <> '{some_value}' AND year = '2020'"),
        |h, r| cell(h, r, "value") != some_value && cell(h, r, "year") == "2020",
    );
    let int = |h: &[String], r: &[String], name: &str| cell(h, r, name).parse::<i64>().unwrap();
    check_where(DV, "value > 3", |h, r| int(h, r, "value") > 3);
    check_where(DV, "value % 2 = 0", |h, r| int(h, r, "value") % 2 == 0);
    check_where(DV, "value > 100", |_, _| false);
    check_where(TYPES, "integer >= 5 AND integer < 9", |h, r| {
        (5..9).contains(&int(h, r, "integer"))
    });
    check_where(MAPPED, "\"Company Very Short\" IS NOT NULL", |h, r| {
        !cell(h, r, "Company Very Short").is_empty()
    });
}

// ---------------------------------------------------------------------------------------------
// 3. --explain and files --where
// ---------------------------------------------------------------------------------------------

fn listed_paths(args: &[&str]) -> BTreeSet<String> {
    tarn_json(args)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn explain_counts_pruned_files_and_agrees_with_files_where() {
    let table = fixture(PARTITIONED);
    let all = listed_paths(&["files", &table, "--json"]);
    for predicate in [
        "year = '2021'",
        "year = '2020' AND month = '2'",
        "day = '1'",
    ] {
        let plan = tarn_json(&["cat", &table, "--where", predicate, "--explain", "--json"]);
        let kept = listed_paths(&["files", &table, "--where", predicate, "--json"]);
        assert_eq!(plan["files_total"], all.len(), "{predicate}: {plan}");
        assert!(
            plan["files_pruned_by_partition"].as_u64().unwrap() > 0,
            "{predicate}: {plan}"
        );
        assert_eq!(plan["files_to_read"], kept.len(), "{predicate}: {plan}");
        let pruned = plan["files_pruned_by_partition"].as_u64().unwrap()
            + plan["files_pruned_by_stats"].as_u64().unwrap();
        assert_eq!(
            pruned as usize + kept.len(),
            all.len(),
            "{predicate}: {plan}"
        );
        assert!(
            plan["row_groups_total"].as_u64().unwrap() >= kept.len() as u64,
            "{predicate}: {plan}"
        );
        assert!(kept.is_subset(&all));
        // The kept files are those whose rows `cat --where` returns: their partitions.
        let (header, rows) = cat_csv(&table, &["--where", predicate]);
        let year = column(&header, "year");
        let partitions: BTreeSet<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "year={}/month={}/day={}/",
                    r[year],
                    r[year + 1],
                    r[year + 2]
                )
            })
            .collect();
        let kept_partitions: BTreeSet<String> = kept
            .iter()
            .map(|p| p[..p.rfind('/').unwrap() + 1].to_owned())
            .collect();
        assert_eq!(partitions, kept_partitions, "{predicate}");
        // The text plan says the same.
        let text = tarn_ok(&["cat", &table, "--where", predicate, "--explain"]);
        let value = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().last())
                .unwrap_or_else(|| panic!("no {key} line:\n{text}"))
                .to_owned()
        };
        assert_eq!(value("Files in snapshot"), all.len().to_string(), "{text}");
        assert_eq!(value("Files to read"), kept.len().to_string(), "{text}");
        assert_eq!(
            value("Pruned by partition values"),
            plan["files_pruned_by_partition"].to_string(),
            "{text}"
        );
        assert_eq!(
            value("Row groups in them"),
            plan["row_groups_total"].to_string(),
            "{text}"
        );
    }
    // No filter: nothing pruned.
    let plan = tarn_json(&["cat", &table, "--explain", "--json"]);
    assert_eq!(plan["files_to_read"], all.len());
    assert_eq!(plan["files_pruned_by_partition"], 0);
    assert_eq!(plan["files_pruned_by_stats"], 0);
}

#[test]
fn explain_and_files_where_prune_by_file_statistics() {
    let table = fixture(TYPES);
    let all = listed_paths(&["files", &table, "--json"]);
    let plan = tarn_json(&[
        "cat",
        &table,
        "--where",
        "integer >= 10",
        "--explain",
        "--json",
    ]);
    let kept = listed_paths(&["files", &table, "--where", "integer >= 10", "--json"]);
    assert_eq!(plan["files_total"], all.len());
    assert!(
        plan["files_pruned_by_stats"].as_u64().unwrap() > 0,
        "{plan}"
    );
    assert_eq!(plan["files_pruned_by_partition"], 0, "{plan}");
    assert_eq!(plan["files_to_read"], kept.len(), "{plan}");
    assert!(!kept.is_empty() && kept.len() < all.len(), "{kept:?}");
    let (_, rows) = cat_csv(&table, &["--where", "integer >= 10"]);
    assert!(rows.len() <= kept.len(), "one row per file in this table");
    // DV table: the stats say 0..=9.
    let plan = tarn_json(&[
        "cat",
        &fixture(DV),
        "--where",
        "value > 100",
        "--explain",
        "--json",
    ]);
    assert_eq!(plan["files_pruned_by_stats"], 1, "{plan}");
    assert_eq!(plan["files_to_read"], 0, "{plan}");
}

#[test]
fn files_where_lists_only_the_kept_files() {
    let table = fixture(PARTITIONED);
    let files = tarn_json(&["files", &table, "--where", "year = '2020'", "--json"]);
    let files = files.as_array().unwrap();
    let all = tarn_json(&["files", &table, "--json"]);
    let want: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["partition_values"]["year"] == "2020")
        .collect();
    assert!(!want.is_empty() && want.len() < all.as_array().unwrap().len());
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        want,
        "same entries as the full listing"
    );
    let text = tarn_ok(&["files", &table, "--where", "year = '2020'"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), want.len() + 2, "{text}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("{} files", want.len())),
        "{text}"
    );
    // Time travel and a filter: version 0 of the DV table has no deletion vector.
    let files = tarn_json(&[
        "files",
        &fixture(DV),
        "--version",
        "0",
        "--where",
        "value < 5",
        "--json",
    ]);
    assert_eq!(files.as_array().unwrap().len(), 1);
    assert_eq!(files[0]["deletion_vector_cardinality"], Value::Null);
    let files = tarn_json(&["files", &fixture(DV), "--where", "value > 100", "--json"]);
    assert_eq!(files, Value::Array(vec![]));
}

#[test]
fn pruned_files_are_never_opened() {
    // Delete the data file of a partition the predicate excludes: the scan still succeeds.
    let (_dir, table) = copy_fixture(PARTITIONED);
    let files = tarn_json(&["files", &table, "--where", "year = '2020'", "--json"]);
    for file in files.as_array().unwrap() {
        std::fs::remove_file(Path::new(&table).join(file["path"].as_str().unwrap())).unwrap();
    }
    let (_, rows) = cat_csv(&table, &["--where", "year = '2021'"]);
    assert!(!rows.is_empty());
    tarn_json(&[
        "cat",
        &table,
        "--where",
        "year = '2021'",
        "--explain",
        "--json",
    ]);
}

// ---------------------------------------------------------------------------------------------
// 4. Many rows: streaming and a closed pipe
// ---------------------------------------------------------------------------------------------

#[test]
fn table_format_streams_past_the_sizing_rows() {
    let dir = many_rows_table(25_000);
    let table = dir.path().to_str().unwrap();
    let (out, err) = run_ok(&["cat", table, "--limit", "5000"]);
    assert_eq!(err, "5000 rows\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5001);
    // The first thousand rows size the columns.
    assert_aligned(
        "many rows",
        &out,
        &[("id", Align::Right), ("name", Align::Left)],
        1000,
    );
    let ids: BTreeSet<i64> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 5000);
    assert!(ids.iter().all(|id| (0..25_000).contains(id)));
    let (_, rows) = cat_csv(table, &[]);
    assert_eq!(rows.len(), 25_000);
}

#[test]
fn a_closed_stdout_pipe_ends_cat_quietly() {
    let dir = many_rows_table(200_000);
    let table = dir.path().to_str().unwrap();
    for format in ["table", "csv", "ndjson"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tarn"))
            .args(["cat", table, "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        {
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            reader.read_line(&mut first).unwrap();
        } // Dropping the reader closes the pipe, like `| head -1`.
        assert!(!first.is_empty());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!err.contains("panicked"), "{format}: panicked: {err}");
        assert!(err.is_empty(), "{format}: wrote to stderr: {err}");
        assert!(status.success(), "{format}: {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bad_expression_names_its_position() {
    let table = fixture(PARTITIONED);
    for command in ["cat", "files"] {
        let message = tarn_err(&[command, &table, "--where", "value = = 3"]);
        assert!(message.contains("column 9"), "{command}: {message}");
        assert!(message.contains("line 1"), "{command}: {message}");
    }
    let message = tarn_err(&["cat", &table, "--where", "year = '2021' AND\n  )"]);
    assert!(
        message.contains("line 2") && message.contains("column 3"),
        "{message}"
    );
}

#[test]
fn an_unknown_column_is_named() {
    let table = fixture(PARTITIONED);
    let message = tarn_err(&["cat", &table, "--columns", "value,nosuch"]);
    assert!(message.contains("nosuch"), "{message}");
    for command in ["cat", "files"] {
        let message = tarn_err(&[command, &table, "--where", "nosuch = 1"]);
        assert!(message.contains("nosuch"), "{command}: {message}");
    }
    let message = tarn_err(&["cat", &table, "--where", "value = 1", "--explain"]);
    assert!(
        message.contains("value"),
        "a string column compared with a number: {message}"
    );
}

#[test]
fn a_missing_data_file_is_named_and_leaves_no_output_file() {
    let (dir, table) = copy_fixture(PARTITIONED);
    let files = tarn_json(&["files", &table, "--json"]);
    let victim = files[0]["path"].as_str().unwrap().to_owned();
    std::fs::remove_file(Path::new(&table).join(&victim)).unwrap();
    let file_name = victim.rsplit('/').next().unwrap();
    let message = tarn_err(&["cat", &table]);
    assert!(message.contains(file_name), "{message}");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for format in ["csv", "ndjson", "parquet", "table"] {
        let path = out_dir.join(format!("rows.{format}"));
        let message = tarn_err(&[
            "cat",
            &table,
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ]);
        assert!(message.contains(file_name), "{format}: {message}");
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{format}: left behind {left:?}");
    }
    // A missing deletion vector file is named too.
    let (_dv_dir, dv_table) = copy_fixture(DV);
    let dv_file = std::fs::read_dir(&dv_table)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("deletion_vector_"))
        .unwrap();
    std::fs::remove_file(Path::new(&dv_table).join(&dv_file)).unwrap();
    let message = tarn_err(&["cat", &dv_table]);
    assert!(message.contains(&dv_file), "{message}");
}

#[test]
fn parquet_needs_an_output_file() {
    let message = tarn_err(&["cat", &fixture(DV), "--format", "parquet"]);
    assert!(message.contains("--output"), "{message}");
}

#[test]
fn an_unwritable_output_fails_before_reading_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let table = fixture(PARTITIONED);
    for target in [
        dir.path().join("no/such/dir/out.csv"),
        blocker.join("out.csv"),
        dir.path().to_path_buf(),
    ] {
        let target = target.to_str().unwrap();
        for format in ["csv", "parquet"] {
            let message = tarn_err(&["cat", &table, "--format", format, "--output", target]);
            assert!(
                message.contains(target) && message.starts_with("cannot write"),
                "{target}: {message}"
            );
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["a-file"]);
}

#[test]
fn cat_usage_errors_are_one_line() {
    let table = fixture(DV);
    for args in [
        vec!["cat", table.as_str(), "--json"],
        vec!["cat", table.as_str(), "--explain", "--format", "csv"],
        vec!["cat", table.as_str(), "--explain", "--output", "x.csv"],
        vec!["cat", table.as_str(), "--format", "xml"],
        vec!["cat", table.as_str(), "--limit", "-1"],
        vec![
            "cat",
            table.as_str(),
            "--version",
            "1",
            "--timestamp",
            "2024-01-01",
        ],
        vec!["cat"],
    ] {
        tarn_err(&args);
    }
    assert!(!Path::new("x.csv").exists());
}

#[test]
fn row_ids_print_beside_the_rows_of_a_table_that_tracks_them() {
    let table = fixture("table_with_liquid_clustering");
    let (header, rows) = cat_csv(&table, &["--row-ids"]);
    assert_eq!(
        header,
        ["id", "_metadata.row_id", "_metadata.row_commit_version"]
    );
    // Databricks gave the file holding id i the baseRowId i, at version 0.
    let expected: Vec<Vec<String>> = (0..10)
        .map(|i| vec![i.to_string(), i.to_string(), "0".to_owned()])
        .collect();
    let mut rows = rows;
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert_eq!(rows, expected);

    let output = tarn(&["cat", &fixture(PARTITIONED), "--row-ids"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("delta.enableRowTracking"),
        "{}",
        stderr(&output)
    );
}
