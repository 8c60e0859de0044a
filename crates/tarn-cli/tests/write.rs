//! The write commands as scripts drive them: `create`, `write` (Parquet, CSV, NDJSON; append,
//! overwrite, replace-where, merge-schema, idempotent txn), `delete`, `update`, `restore` and
//! `checkpoint`, run as the real binary against tables in temporary directories. Every
//! result is checked by reading the table back (`describe --json`, `cat --format ndjson`);
//! every failure must exit non-zero with one `error:` line naming the cause and leave the
//! table's version (and its data files) as they were.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use support::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Every row of the table (latest, or `--version`), as JSON objects sorted by `id`.
fn rows(table: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["cat", table, "--format", "ndjson"];
    args.extend_from_slice(extra);
    let mut rows: Vec<Value> = tarn_ok(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|r| r["id"].as_i64());
    rows
}

fn version(table: &str) -> u64 {
    describe(table)["version"].as_u64().unwrap()
}

/// The Parquet data files under the table directory (partition directories included).
fn data_files(table: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == "_delta_log" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(table), &mut out);
    out.sort();
    out
}

/// Runs a command that must fail; checks that the table's version and data files did not
/// change; returns the error message.
fn fails_unchanged(table: &str, args: &[&str]) -> String {
    let before = (version(table), data_files(table));
    let message = tarn_err(args);
    assert_eq!(
        (version(table), data_files(table)),
        before,
        "tarn {args:?} failed ({message}) but changed the table"
    );
    message
}

const COMMIT_KEYS: &[(&str, Kind)] = &[
    ("version", Kind::IntegerOrNull),
    ("operation", Kind::Str),
    ("files_added", Kind::Unsigned),
    ("files_removed", Kind::Unsigned),
    ("rows_written", Kind::Unsigned),
    ("rows_deleted", Kind::Unsigned),
    ("rows_updated", Kind::Unsigned),
    ("rows_copied", Kind::Unsigned),
    ("bytes_added", Kind::Unsigned),
    ("attempts", Kind::Unsigned),
    ("message", Kind::Str),
];

fn commit_json(args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let value = tarn_json(&args);
    let problems = type_problems(&format!("{args:?}"), &value, COMMIT_KEYS);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(value["checkpoint_written"].is_boolean(), "{value}");
    value
}

const EVENTS_SCHEMA: &str = r#"{"id": "long not null", "day": "date", "kind": "string", "amount": "double", "ts": "timestamp"}"#;

fn events_table(ws: &Workspace, constraint: Option<&str>) -> String {
    let table = ws.path("events");
    let mut args = vec![
        "create",
        table.as_str(),
        "--schema",
        EVENTS_SCHEMA,
        "--partition-by",
        "day",
    ];
    let property;
    if let Some(c) = constraint {
        property = format!("delta.constraints.positive={c}");
        args.extend(["--property", property.as_str()]);
    }
    tarn_ok(&args);
    table
}

const EVENTS_CSV: &str = "id,day,kind,amount,ts\n\
    1,2026-01-01,click,,2026-01-01 10:00:00\n\
    2,2026-01-01,buy,12.5,2026-01-01T11:30:00Z\n\
    3,2026-01-02,\"refund, late\",4.25,\n";

fn event(id: i64, day: &str, kind: &str, amount: Option<f64>, ts: Option<&str>) -> Value {
    json!({"id": id, "day": day, "kind": kind, "amount": amount, "ts": ts})
}

fn events_csv_rows() -> Vec<Value> {
    vec![
        event(1, "2026-01-01", "click", None, Some("2026-01-01T10:00:00Z")),
        event(
            2,
            "2026-01-01",
            "buy",
            Some(12.5),
            Some("2026-01-01T11:30:00Z"),
        ),
        event(3, "2026-01-02", "refund, late", Some(4.25), None),
    ]
}

// ---------------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------------

#[test]
fn create_takes_a_delta_schema_file_partition_columns_and_properties() {
    let ws = Workspace::new();
    let schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": false, "metadata": {}},
        {"name": "day", "type": "date", "nullable": true, "metadata": {}},
        {"name": "tags", "type": {"type": "array", "elementType": "string", "containsNull": true},
         "nullable": true, "metadata": {}},
    ]});
    let schema_file = ws.file("schema.json", &schema.to_string());
    let table = ws.path("t");
    let out = commit_json(&[
        "create",
        &table,
        "--schema",
        &schema_file,
        "--partition-by",
        "day",
        "--property",
        "delta.checkpointInterval=5",
        "--property",
        "delta.constraints.positive=id > 0",
        "--property",
        "owner=data team",
    ]);
    assert_eq!(out["version"], 0);
    assert_eq!(out["operation"], "CREATE TABLE");
    let got = describe(&table);
    assert_eq!(got["version"], 0);
    assert_eq!(got["schema"], schema);
    assert_eq!(got["partition_columns"], json!(["day"]));
    assert_eq!(
        got["properties"],
        json!({"delta.checkpointInterval": "5", "delta.constraints.positive": "id > 0",
               "owner": "data team"})
    );
    // A CHECK constraint needs writer version 3.
    assert_eq!(got["min_reader_version"], 1);
    assert_eq!(got["min_writer_version"], 3);
    assert_eq!(got["num_rows"], 0);

    // Text output, short inline form; an existing table is refused by name.
    let short = ws.path("short");
    let text = tarn_ok(&[
        "create",
        &short,
        "--schema",
        r#"{"b": "string", "a": "decimal(10,2) not null"}"#,
    ]);
    assert_eq!(
        text,
        "committed version 0: created a table with 2 columns\n"
    );
    let got = describe(&short);
    let names: Vec<&str> = got["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(got["schema"]["fields"][1]["type"], "decimal(10,2)");
    assert_eq!(got["schema"]["fields"][1]["nullable"], false);
    let err = fails_unchanged(&short, &["create", &short, "--schema", r#"{"x": "long"}"#]);
    assert!(err.contains("a table already exists"), "{err}");
}

#[test]
fn create_errors_name_the_cause() {
    let ws = Workspace::new();
    let table = ws.path("t");
    for (schema, extra, expected) in [
        (r#"{"id": "lung"}"#, None, "unknown type `lung`"),
        ("{not json", None, "not JSON"),
        ("missing.json", None, "cannot read schema file missing.json"),
        (r#"{"id": "long"}"#, Some("nope"), "partition column `nope`"),
    ] {
        let mut args = vec!["create", table.as_str(), "--schema", schema];
        if let Some(p) = extra {
            args.extend(["--partition-by", p]);
        }
        let err = tarn_err(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!Path::new(&table).join("_delta_log").exists());
    }
    let err = tarn_err(&[
        "create",
        &table,
        "--schema",
        r#"{"id": "long"}"#,
        "--property",
        "delta.constraints.c=nosuch > 1",
    ]);
    assert!(err.contains("nosuch"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// write: formats
// ---------------------------------------------------------------------------------------------

#[test]
fn write_csv_creates_the_table_from_the_input_and_appends() {
    let ws = Workspace::new();
    let csv = ws.file("events.csv", EVENTS_CSV);
    let table = ws.path("events");
    let out = commit_json(&["write", &table, &csv, "--partition-by", "day"]);
    assert_eq!(out["version"], 0);
    assert_eq!(out["operation"], "WRITE");
    assert_eq!(out["created_table"], true);
    assert_eq!(out["rows_written"], 3);
    assert_eq!(out["files_added"], 2); // two days
    assert_eq!(out["files_removed"], 0);
    assert_eq!(out["attempts"], 1);
    let got = describe(&table);
    assert_eq!(got["partition_columns"], json!(["day"]));
    let types: Vec<(&str, &str)> = got["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "long"),
            ("day", "date"),
            ("kind", "string"),
            ("amount", "double"),
            ("ts", "timestamp")
        ]
    );
    assert_eq!(rows(&table, &[]), events_csv_rows());

    // Append in text mode: the line says what was committed.
    let more = ws.file(
        "more.csv",
        "id,day,kind,amount,ts\n4,2026-01-03,view,0.5,\n",
    );
    let text = tarn_ok(&["write", &table, &more]);
    assert_eq!(
        text,
        "committed version 1: 1 file added, 0 removed, 1 row written\n"
    );
    let mut expected = events_csv_rows();
    expected.push(event(4, "2026-01-03", "view", Some(0.5), None));
    assert_eq!(rows(&table, &[]), expected);
    assert_eq!(rows(&table, &["--version", "0"]), events_csv_rows());
}

#[test]
fn write_csv_and_ndjson_take_the_types_of_an_existing_table() {
    let ws = Workspace::new();
    let table = events_table(&ws, None);
    // Columns in another order, and one spelled in another case.
    let csv = ws.file(
        "in.csv",
        "TS,id,day,kind,amount\n2026-01-05T00:00:00Z,10,2026-01-05,a,1\n,11,2026-01-05,b,2\n",
    );
    tarn_ok(&["write", &table, &csv]);
    let ndjson = ws.file(
        "in.ndjson",
        "{\"id\": 12, \"day\": \"2026-01-06\", \"kind\": \"c\", \"amount\": 3, \"ts\": \"2026-01-06T01:02:03Z\"}\n\
         \n\
         {\"kind\": \"d\", \"day\": \"2026-01-06\", \"id\": 13}\n",
    );
    let out = commit_json(&["write", &table, &ndjson]);
    assert_eq!(out["version"], 2);
    assert_eq!(out["rows_written"], 2);
    assert_eq!(
        rows(&table, &[]),
        vec![
            event(
                10,
                "2026-01-05",
                "a",
                Some(1.0),
                Some("2026-01-05T00:00:00Z")
            ),
            event(11, "2026-01-05", "b", Some(2.0), None),
            event(
                12,
                "2026-01-06",
                "c",
                Some(3.0),
                Some("2026-01-06T01:02:03Z")
            ),
            event(13, "2026-01-06", "d", None, None),
        ]
    );
    // The schema did not change.
    let fields = describe(&table)["schema"]["fields"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(fields, 5);
}

#[test]
fn write_parquet_from_cat_output_round_trips() {
    let ws = Workspace::new();
    let source = ws.path("source");
    tarn_ok(&[
        "write",
        &source,
        &ws.file("e.csv", EVENTS_CSV),
        "--partition-by",
        "day",
    ]);
    let parquet = ws.path("copy.parquet");
    tarn_ok(&["cat", &source, "--format", "parquet", "--output", &parquet]);
    let copy = ws.path("copy");
    let out = commit_json(&["write", &copy, &parquet, "--partition-by", "day,kind"]);
    assert_eq!(out["rows_written"], 3);
    assert_eq!(out["files_added"], 3);
    assert_eq!(describe(&copy)["partition_columns"], json!(["day", "kind"]));
    assert_eq!(rows(&copy, &[]), events_csv_rows());
    assert_eq!(describe(&copy)["schema"], describe(&source)["schema"]);

    // --format overrides the extension.
    let renamed = ws.path("copy.bin");
    std::fs::copy(&parquet, &renamed).unwrap();
    let err = tarn_err(&["write", &copy, &renamed]);
    assert!(err.contains("--format"), "{err}");
    tarn_ok(&["write", &copy, &renamed, "--format", "parquet"]);
    assert_eq!(describe(&copy)["num_rows"], 6);
}

#[test]
fn several_input_files_make_one_commit_and_must_have_the_same_columns() {
    let ws = Workspace::new();
    let table = ws.path("t");
    let a = ws.file("a.csv", "id,v\n1,x\n2,y\n");
    let b = ws.file("b.csv", "id,v\n3,z\n");
    let out = commit_json(&["write", &table, &a, &b]);
    assert_eq!(
        (out["version"].as_u64(), out["rows_written"].as_u64()),
        (Some(0), Some(3))
    );
    let ids: Vec<i64> = rows(&table, &[])
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);

    let c = ws.file("c.csv", "id,w\n4,q\n");
    let err = fails_unchanged(&table, &["write", &table, &a, &c]);
    assert!(err.contains("c.csv") && err.contains("a.csv"), "{err}");
    assert!(err.contains("[id, w]") && err.contains("[id, v]"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// write: modes
// ---------------------------------------------------------------------------------------------

#[test]
fn overwrite_replace_where_and_merge_schema() {
    let ws = Workspace::new();
    let table = ws.path("t");
    tarn_ok(&[
        "write",
        &table,
        &ws.file("e.csv", EVENTS_CSV),
        "--partition-by",
        "day",
    ]);

    // Replace one day: rows of other days stay.
    let day1 = ws.file("day1.csv", "id,day,kind,amount,ts\n7,2026-01-01,new,1,\n");
    let out = commit_json(&[
        "write",
        &table,
        &day1,
        "--replace-where",
        "day = DATE '2026-01-01'",
    ]);
    assert_eq!(out["version"], 1);
    assert_eq!(out["rows_deleted"], 2);
    assert_eq!(out["files_removed"], 1);
    assert_eq!(out["mode"], "overwrite");
    assert_eq!(
        rows(&table, &[]),
        vec![
            event(3, "2026-01-02", "refund, late", Some(4.25), None),
            event(7, "2026-01-01", "new", Some(1.0), None),
        ]
    );

    // A row outside the predicate fails the whole write.
    let wrong = ws.file(
        "wrong.csv",
        "id,day,kind,amount,ts\n8,2026-01-01,x,1,\n9,2026-01-09,y,1,\n",
    );
    let err = fails_unchanged(
        &table,
        &[
            "write",
            &table,
            &wrong,
            "--replace-where",
            "day = '2026-01-01'",
        ],
    );
    assert!(
        err.contains("does not match the replace-where predicate"),
        "{err}"
    );
    let err = tarn_err(&[
        "write",
        &table,
        &wrong,
        "--replace-where",
        "day = '2026-01-01'",
        "--mode",
        "append",
    ]);
    assert!(err.contains("--mode append"), "{err}");

    // Merge a new column in: old rows read it as null.
    let extra = ws.file(
        "extra.ndjson",
        "{\"id\": 20, \"day\": \"2026-01-02\", \"kind\": \"k\", \"note\": \"hello\"}\n",
    );
    let err = fails_unchanged(&table, &["write", &table, &extra]);
    assert!(err.contains("column `note`"), "{err}");
    tarn_ok(&["write", &table, &extra, "--merge-schema"]);
    let got = rows(&table, &[]);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["note"], Value::Null);
    assert_eq!(got[2]["note"], "hello");
    let last = describe(&table)["schema"]["fields"][5].clone();
    assert_eq!(
        (last["name"].as_str(), last["type"].as_str()),
        (Some("note"), Some("string"))
    );

    // Overwrite everything.
    let one = ws.file(
        "one.csv",
        "id,day,kind,amount,ts,note\n99,2026-02-01,z,,,\n",
    );
    let out = commit_json(&["write", &table, &one, "--mode", "overwrite"]);
    assert_eq!(out["rows_written"], 1);
    assert_eq!(out["files_removed"], 3);
    let got = rows(&table, &[]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], 99);
    // Time travel still sees the replaced rows.
    assert_eq!(rows(&table, &["--version", "0"]), events_csv_rows());
}

#[test]
fn a_write_with_a_committed_txn_version_commits_nothing() {
    let ws = Workspace::new();
    let table = ws.path("t");
    let csv = ws.file("a.csv", "id\n1\n");
    let first = commit_json(&["write", &table, &csv, "--txn", "loader:7"]);
    assert_eq!(first["version"], 0);
    for txn in ["loader:7", "loader:3"] {
        let again = commit_json(&["write", &table, &csv, "--txn", txn]);
        assert_eq!(again["version"], Value::Null, "{again}");
        assert_eq!(again["files_added"], 0);
        assert!(
            again["message"]
                .as_str()
                .unwrap()
                .starts_with("nothing committed"),
            "{again}"
        );
    }
    let text = tarn_ok(&["write", &table, &csv, "--txn", "loader:7"]);
    assert_eq!(
        text,
        "nothing committed: version 7 of transaction \"loader\" is already committed\n"
    );
    let next = commit_json(&["write", &table, &csv, "--txn", "loader:8"]);
    assert_eq!(next["version"], 1);
    assert_eq!(describe(&table)["num_rows"], 2);
    let err = tarn_err(&["write", &table, &csv, "--txn", "loader"]);
    assert!(err.contains("APP_ID:VERSION"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// delete, update, restore, checkpoint
// ---------------------------------------------------------------------------------------------

#[test]
fn delete_update_restore_and_checkpoint() {
    let ws = Workspace::new();
    let table = ws.path("t");
    tarn_ok(&[
        "write",
        &table,
        &ws.file("e.csv", EVENTS_CSV),
        "--partition-by",
        "day",
    ]);

    let out = commit_json(&["delete", &table, "--where", "amount > 10"]);
    assert_eq!(out["version"], 1);
    assert_eq!(out["operation"], "DELETE");
    assert_eq!(out["rows_deleted"], 1);
    assert_eq!(out["predicate"], "amount > 10");
    let none = commit_json(&["delete", &table, "--where", "id > 100"]);
    assert_eq!(none["version"], Value::Null);
    assert_eq!(version(&table), 1);
    let ids: Vec<i64> = rows(&table, &[])
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3]);

    let out = commit_json(&[
        "update",
        &table,
        "--set",
        "amount = 1",
        "--set",
        "kind = 'seen'",
        "--where",
        "day = DATE '2026-01-01'",
    ]);
    assert_eq!(out["version"], 2);
    assert_eq!(out["operation"], "UPDATE");
    assert_eq!(out["rows_updated"], 1);
    let got = rows(&table, &[]);
    assert_eq!(
        got[0],
        event(
            1,
            "2026-01-01",
            "seen",
            Some(1.0),
            Some("2026-01-01T10:00:00Z")
        )
    );
    assert_eq!(got[1], events_csv_rows()[2]);

    let text = tarn_ok(&["update", &table, "--set", "amount = amount * 2"]);
    assert!(text.starts_with("committed version 3: "), "{text}");
    assert!(text.contains("2 rows updated"), "{text}");
    let amounts: Vec<Value> = rows(&table, &[])
        .iter()
        .map(|r| r["amount"].clone())
        .collect();
    assert_eq!(amounts, [json!(2.0), json!(8.5)]);

    let out = commit_json(&["restore", &table, "--version", "0"]);
    assert_eq!(out["version"], 4);
    assert_eq!(out["operation"], "RESTORE");
    assert_eq!(out["restored_version"], 0);
    assert_eq!(rows(&table, &[]), events_csv_rows());
    let err = fails_unchanged(&table, &["restore", &table, "--version", "9"]);
    assert!(err.contains("version 9"), "{err}");

    let out = tarn_json(&["checkpoint", &table, "--json"]);
    assert_eq!(out["version"], 4);
    assert_eq!(out["num_files"], describe(&table)["num_files"]);
    let checkpoint = Path::new(&table).join("_delta_log/00000000000000000004.checkpoint.parquet");
    assert_eq!(
        std::fs::metadata(&checkpoint).unwrap().len(),
        out["size_bytes"].as_u64().unwrap()
    );
    let last: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&table).join("_delta_log/_last_checkpoint")).unwrap(),
    )
    .unwrap();
    assert_eq!(last["version"], 4);
    let text = tarn_ok(&["checkpoint", &table]);
    assert!(
        text.starts_with("wrote a checkpoint of version 4: 2 files, "),
        "{text}"
    );
    // Still reads the same through the checkpoint.
    assert_eq!(rows(&table, &[]), events_csv_rows());

    let err = tarn_err(&["delete", &table]);
    assert!(err.contains("--where") && err.contains("--all"), "{err}");
    let out = commit_json(&["delete", &table, "--all"]);
    assert_eq!(out["rows_deleted"], 3);
    assert_eq!(describe(&table)["num_rows"], 0);
}

// ---------------------------------------------------------------------------------------------
// Failures: one line, the cause named, the table untouched
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_input_fails_naming_the_cause_and_leaves_the_table_unchanged() {
    let ws = Workspace::new();
    // A NULL makes a constraint unknown, which fails it: the nullable column says so.
    let table = events_table(&ws, Some("amount >= 0 OR amount IS NULL"));
    tarn_ok(&["write", &table, &ws.file("ok.csv", EVENTS_CSV)]);

    // A CSV value that does not parse: file, line (header is line 1), column, value.
    let bad = ws.file(
        "bad.csv",
        "id,day,kind,amount,ts\n5,2026-01-01,a,1,\n6,2026-13-45,b,2,\n",
    );
    let err = fails_unchanged(&table, &["write", &table, &bad]);
    assert_eq!(
        err,
        format!(
            "{bad}, line 3: cannot read \"2026-13-45\" in column `day` as date: month 13 is not \
             between 1 and 12"
        )
    );
    // A ragged CSV row.
    let ragged = ws.file("ragged.csv", "id,day,kind,amount,ts\n5,2026-01-01\n");
    let err = fails_unchanged(&table, &["write", &table, &ragged]);
    assert!(err.contains(&ragged) && err.contains("CSV"), "{err}");

    // An NDJSON line that does not parse, and one with a value of the wrong type.
    let broken = ws.file(
        "broken.ndjson",
        "{\"id\": 5, \"day\": \"2026-01-01\", \"kind\": \"a\"}\n{\"id\": \n",
    );
    let err = fails_unchanged(&table, &["write", &table, &broken]);
    assert!(err.starts_with(&format!("{broken}, line 2")), "{err}");
    let typed = ws.file(
        "typed.ndjson",
        "{\"id\": 5, \"day\": \"2026-01-01\", \"kind\": \"a\"}\n\
         {\"id\": 6, \"day\": \"2026-01-01\", \"kind\": \"b\"}\n\
         {\"id\": \"seven\", \"day\": \"2026-01-01\", \"kind\": \"c\"}\n",
    );
    let err = fails_unchanged(&table, &["write", &table, &typed]);
    assert!(err.starts_with(&format!("{typed}, line 3: ")), "{err}");
    assert!(err.contains("seven"), "{err}");

    // Schema mismatch: a column the table does not have.
    let other = ws.file(
        "other.csv",
        "id,day,kind,amount,ts,color\n5,2026-01-01,a,1,,red\n",
    );
    let err = fails_unchanged(&table, &["write", &table, &other]);
    assert!(
        err.contains("does not match the table schema") && err.contains("`color`"),
        "{err}"
    );
    // A type that cannot hold the table's values.
    let text_ids = ws.file("ids.parquet.csv", "id,day,kind\nabc,2026-01-01,a\n");
    let err = fails_unchanged(&table, &["write", &table, &text_ids, "--format", "csv"]);
    assert!(
        err.contains("column `id`") && err.contains("\"abc\""),
        "{err}"
    );

    // CHECK constraint and NOT NULL.
    let negative = ws.file("neg.csv", "id,day,kind,amount,ts\n5,2026-01-01,a,-3,\n");
    let err = fails_unchanged(&table, &["write", &table, &negative]);
    assert!(
        err.contains("violates CHECK constraint `positive`"),
        "{err}"
    );
    assert!(err.contains("-3"), "{err}");
    let null_amount = ws.file(
        "nullamount.csv",
        "id,day,kind,amount,ts\n6,2026-01-01,a,,\n",
    );
    let strict_ws = Workspace::new();
    let strict = events_table(&strict_ws, Some("amount >= 0"));
    let err = fails_unchanged(&strict, &["write", &strict, &null_amount]);
    assert!(
        err.contains("violates CHECK constraint `positive`") && err.contains("amount: NULL"),
        "{err}"
    );
    let null_id = ws.file("null.csv", "id,day,kind,amount,ts\n,2026-01-01,a,1,\n");
    let err = fails_unchanged(&table, &["write", &table, &null_id]);
    assert!(err.contains("non-nullable column `id`"), "{err}");
    let err = fails_unchanged(&table, &["update", &table, "--set", "amount = -1"]);
    assert!(
        err.contains("violates CHECK constraint `positive`"),
        "{err}"
    );

    // Missing and unreadable input files.
    let err = fails_unchanged(&table, &["write", &table, &ws.path("nothere.csv")]);
    assert!(
        err.contains("nothere.csv") && err.contains("No such file"),
        "{err}"
    );
    let garbage = ws.file("garbage.parquet", "not parquet at all");
    let err = fails_unchanged(&table, &["write", &table, &garbage]);
    assert!(
        err.contains("garbage.parquet") && err.contains("Parquet"),
        "{err}"
    );

    // Invalid predicates and assignments.
    let err = fails_unchanged(&table, &["delete", &table, "--where", "nosuch = 1"]);
    assert!(err.contains("nosuch"), "{err}");
    let err = fails_unchanged(&table, &["update", &table, "--set", "nosuch = 1"]);
    assert!(err.contains("nosuch"), "{err}");
    assert_eq!(rows(&table, &[]), events_csv_rows());
}

#[test]
fn replace_where_on_a_path_that_is_not_a_table_fails() {
    let ws = Workspace::new();
    let path = ws.path("empty");
    let csv = ws.file("a.csv", "id\n1\n");
    let err = tarn_err(&["write", &path, &csv, "--replace-where", "id = 1"]);
    assert!(err.contains("there is no table"), "{err}");
    assert!(!Path::new(&path).join("_delta_log").exists());
    for args in [
        vec!["delete", path.as_str(), "--all"],
        vec!["update", path.as_str(), "--set", "id = 2"],
        vec!["restore", path.as_str(), "--version", "0"],
        vec!["checkpoint", path.as_str()],
    ] {
        let err = tarn_err(&args);
        assert!(
            err.to_lowercase().contains("not a delta table"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_table_needing_a_writer_feature_tarn_lacks_is_refused_by_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("future");
    write_commit(
        &table,
        0,
        &[
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 7,
                "writerFeatures": ["someFutureWriterFeature", "domainMetadata"]}}),
            metadata_action(&[]),
        ],
    );
    let table = table.to_str().unwrap().to_owned();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "id,city\n1,Oslo\n").unwrap();
    let csv = csv.to_str().unwrap();
    for args in [
        vec!["write", table.as_str(), csv],
        vec!["write", table.as_str(), csv, "--mode", "overwrite"],
        vec!["delete", table.as_str(), "--all"],
        vec!["update", table.as_str(), "--set", "id = 2"],
    ] {
        let err = fails_unchanged(&table, &args);
        assert!(err.contains("someFutureWriterFeature"), "{args:?}: {err}");
    }
    let err = tarn_err(&[
        "create",
        &table,
        "--schema",
        r#"{"id": "long"}"#,
        "--replace",
    ]);
    assert!(err.contains("someFutureWriterFeature"), "{err}");
    assert_eq!(version(&table), 0);
}

// ---------------------------------------------------------------------------------------------
// Racing creators
// ---------------------------------------------------------------------------------------------

#[test]
fn six_writers_started_at_once_on_a_path_with_no_table_all_land() {
    let ws = Workspace::new();
    let table = ws.path("raced");
    let input = ws.file("rows.csv", "id,day,kind\n1,2026-01-01,a\n2,2026-01-02,b\n");
    for round in 0..3 {
        let table = format!("{table}-{round}");
        let writers: Vec<std::process::Child> = (0..6)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_tarn"))
                    .args(["write", &table, &input, "--partition-by", "day", "--json"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut versions = Vec::new();
        for writer in writers {
            let output = writer.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: a writer failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
            versions.push(summary["version"].as_u64().unwrap());
        }
        versions.sort_unstable();
        assert_eq!(versions, (0..6).collect::<Vec<u64>>(), "round {round}");
        let described = describe(&table);
        assert_eq!(described["version"], 5);
        assert_eq!(described["num_rows"], 12);
        assert_eq!(described["partition_columns"], json!(["day"]));
    }
}

#[test]
fn huge_and_deep_where_expressions_answer_or_fail_cleanly() {
    let ws = Workspace::new();
    let table = events_table(&ws, None);
    tarn_ok(&["write", &table, &ws.file("ok.csv", EVENTS_CSV)]);
    // A 300-term OR answers.
    let or: Vec<String> = (0..300).map(|i| format!("id = {i}")).collect();
    let out = tarn_ok(&[
        "cat",
        &table,
        "--where",
        &or.join(" OR "),
        "--format",
        "csv",
    ]);
    assert_eq!(out.lines().count(), 4, "{out}");
    // Deep nesting and a 200-term sum are an error, never a crash.
    let deep = format!("{}id = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let sum = format!("{} > 0", vec!["id"; 200].join(" + "));
    for filter in [deep, sum] {
        for command in [
            vec!["cat", table.as_str(), "--where", &filter],
            vec!["files", table.as_str(), "--where", &filter],
            vec!["delete", table.as_str(), "--where", &filter],
        ] {
            let err = tarn_err(&command);
            assert!(err.contains("levels deep"), "{err}");
        }
    }
    assert_eq!(describe(&table)["version"], 1);
}

#[test]
fn a_file_without_a_nullable_column_fills_it_with_nulls_in_every_format() {
    let ws = Workspace::new();
    let table = events_table(&ws, None);
    let csv = ws.file("no-amount.csv", "id,day,kind,ts\n7,2026-01-03,a,\n");
    let ndjson = ws.file(
        "no-amount.ndjson",
        "{\"id\": 8, \"day\": \"2026-01-03\", \"kind\": \"b\"}\n",
    );
    tarn_ok(&["write", &table, &csv]);
    tarn_ok(&["write", &table, &ndjson, "--merge-schema"]);
    tarn_ok(&["write", &table, &csv, "--merge-schema"]);
    let rows = rows(&table, &[]);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["amount"].is_null()), "{rows:?}");
    // A NOT NULL column cannot be left out.
    let no_id = ws.file("no-id.csv", "day,kind\n2026-01-03,a\n");
    let err = tarn_err(&["write", &table, &no_id]);
    assert!(err.contains("`id`") && err.contains("NOT NULL"), "{err}");
}

#[cfg(unix)]
#[test]
fn input_that_is_not_a_regular_file_is_refused_at_once() {
    let ws = Workspace::new();
    let fifo = ws.path("in.csv");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for input in [fifo.as_str(), "/dev/zero", "/dev/null"] {
        let err = tarn_err(&["write", &ws.path("t"), input, "--format", "csv"]);
        assert!(err.contains("not a regular file"), "{input}: {err}");
    }
    assert!(!std::path::Path::new(&ws.path("t")).exists());
}
