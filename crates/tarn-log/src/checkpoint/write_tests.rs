//! Checkpoint writing: round trips through tarn's own reader (with the commits deleted, so the
//! checkpoint alone defines the table), the Parquet content (`stats_parsed`,
//! `partitionValues_parsed`, tombstones) read back with the parquet crate, `_last_checkpoint`
//! and crash safety, failed writes leaving nothing behind, and every fixture table.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::{DataType as ArrowType, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;
use tarn_protocol::actions::{
    Action, Add, DeletionVectorDescriptor, DomainMetadata, Format, Metadata, Protocol, Remove, Txn,
    format_commit,
};

use super::write::{CheckpointOptions, should_checkpoint, write_checkpoint, write_checkpoint_with};
use crate::location::TableLocation;
use crate::snapshot::{Snapshot, SnapshotOptions};

pub(super) struct TestTable {
    _dir: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) location: Arc<TableLocation>,
}

impl TestTable {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("table");
        fs::create_dir_all(root.join("_delta_log")).unwrap();
        let location = Arc::new(TableLocation::parse(root.to_str().unwrap()).unwrap());
        Self {
            _dir: dir,
            root,
            location,
        }
    }

    pub(super) fn log(&self, name: &str) -> PathBuf {
        self.root.join("_delta_log").join(name)
    }

    pub(super) fn commit(&self, version: u64, actions: &[Action]) {
        fs::write(
            self.log(&format!("{version:020}.json")),
            format_commit(actions).unwrap(),
        )
        .unwrap();
    }

    pub(super) fn delete_commits_through(&self, version: u64) {
        for v in 0..=version {
            let _ = fs::remove_file(self.log(&format!("{v:020}.json")));
        }
    }

    pub(super) async fn snapshot(&self) -> Snapshot {
        Snapshot::load_with(
            Arc::clone(&self.location),
            None,
            SnapshotOptions::with_statistics(),
        )
        .await
        .unwrap()
    }

    pub(super) async fn snapshot_at(&self, version: u64) -> Snapshot {
        Snapshot::load_with(
            Arc::clone(&self.location),
            Some(version),
            SnapshotOptions::with_statistics(),
        )
        .await
        .unwrap()
    }

    /// The checkpoint of `version`, read whole.
    pub(super) fn checkpoint(&self, version: u64) -> RecordBatch {
        read_parquet(&self.log(&format!("{version:020}.checkpoint.parquet")))
    }
}

pub(super) fn read_parquet(path: &FsPath) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// What a snapshot says about the table, in comparable form.
#[derive(Debug, PartialEq)]
pub(super) struct State {
    version: u64,
    files: Vec<Add>,
    protocol: Protocol,
    metadata: Metadata,
    txns: BTreeMap<String, Txn>,
    domains: BTreeMap<String, DomainMetadata>,
}

impl State {
    /// The state with the files' JSON statistics left out, for tables whose checkpoints keep
    /// statistics only as `stats_parsed` (the JSON a reader rebuilds from them is equivalent,
    /// not identical).
    pub(super) fn without_json_stats(mut self) -> Self {
        for file in &mut self.files {
            file.stats = None;
        }
        self
    }
}

pub(super) fn state(snapshot: &Snapshot) -> State {
    let mut files: Vec<Add> = snapshot.files().iter().map(|f| f.to_add()).collect();
    files.sort_by(|a, b| {
        (&a.path, a.deletion_vector.as_ref().map(|d| d.unique_id()))
            .cmp(&(&b.path, b.deletion_vector.as_ref().map(|d| d.unique_id())))
    });
    State {
        version: snapshot.version(),
        files,
        protocol: snapshot.protocol().clone(),
        metadata: snapshot.metadata().clone(),
        txns: snapshot.txns().clone(),
        domains: snapshot.domain_metadata().clone(),
    }
}

pub(super) fn protocol(reader: i32, writer: i32) -> Protocol {
    Protocol {
        min_reader_version: reader,
        min_writer_version: writer,
        reader_features: None,
        writer_features: None,
    }
}

pub(super) fn metadata(
    schema: serde_json::Value,
    partitions: &[&str],
    config: &[(&str, &str)],
) -> Metadata {
    Metadata {
        id: "5fba94ed-9794-4965-ba6e-6ee3c0d22af9".into(),
        name: None,
        description: None,
        format: Format::default(),
        schema_string: schema.to_string(),
        partition_columns: partitions.iter().map(|p| (*p).to_owned()).collect(),
        created_time: Some(1_700_000_000_000),
        configuration: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

pub(super) fn field(name: &str, ty: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "type": ty, "nullable": true, "metadata": {}})
}

pub(super) fn add(path: &str, stats: Option<&str>) -> Add {
    Add {
        path: path.into(),
        partition_values: BTreeMap::new(),
        size: 100 + path.len() as i64,
        modification_time: 1_700_000_000_000,
        data_change: true,
        stats: stats.map(str::to_owned),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

fn remove(path: &str, deleted_at: i64) -> Remove {
    Remove {
        path: path.into(),
        deletion_timestamp: Some(deleted_at),
        data_change: true,
        extended_file_metadata: Some(true),
        partition_values: Some(BTreeMap::new()),
        size: Some(42),
        stats: Some(r#"{"numRecords":1}"#.into()),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    }
}

fn dv(id: &str, cardinality: i64) -> DeletionVectorDescriptor {
    DeletionVectorDescriptor {
        storage_type: "u".into(),
        path_or_inline_dv: id.into(),
        offset: Some(1),
        size_in_bytes: 36,
        cardinality,
    }
}

/// The row of each `add` path in a checkpoint batch.
fn add_rows(batch: &RecordBatch) -> BTreeMap<String, usize> {
    let add = batch.column_by_name("add").unwrap().as_struct();
    let path = add.column_by_name("path").unwrap().as_string::<i32>();
    (0..batch.num_rows())
        .filter(|row| add.is_valid(*row))
        .map(|row| (path.value(row).to_owned(), row))
        .collect()
}

fn child<'a>(array: &'a StructArray, path: &[&str]) -> &'a dyn Array {
    let mut current = array;
    for (i, name) in path.iter().enumerate() {
        let column = current
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no `{name}` in {:?}", current.fields()));
        if i + 1 == path.len() {
            return column.as_ref();
        }
        current = column.as_struct();
    }
    current
}

fn micros(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

fn days(date: &str) -> i32 {
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn typed_schema() -> serde_json::Value {
    json!({"type": "struct", "fields": [
        field("id", json!("long")),
        field("i", json!("integer")),
        field("sh", json!("short")),
        field("b", json!("byte")),
        field("f", json!("float")),
        field("d", json!("double")),
        field("s", json!("string")),
        field("dt", json!("date")),
        field("ts", json!("timestamp")),
        field("ntz", json!("timestamp_ntz")),
        field("dec", json!("decimal(10,2)")),
        field("flag", json!("boolean")),
        field("bin", json!("binary")),
        field("nested", json!({"type": "struct", "fields": [
            field("x", json!("long")),
            field("y", json!("string")),
        ]})),
        field("arr", json!({"type": "array", "elementType": "integer", "containsNull": true})),
        field("m", json!({"type": "map", "keyType": "string", "valueType": "string", "valueContainsNull": true})),
    ]})
}

const GOOD_STATS: &str = r#"{"numRecords":10,"minValues":{"id":1,"i":-5,"sh":3,"b":-1,"f":1.5,"d":-2.25,"s":"apple","dt":"2024-01-02","ts":"2024-01-02T03:04:05.123Z","ntz":"2024-01-02T03:04:05.123","dec":12.30,"nested":{"x":7,"y":"q"}},"maxValues":{"id":100,"i":5,"sh":300,"b":100,"f":2.5,"d":1e10,"s":"pear","dt":"2024-12-31","ts":"2024-12-31T23:59:59.999Z","ntz":"2024-12-31T23:59:59.999","dec":99999999.99,"nested":{"x":8,"y":"z"}},"nullCount":{"id":0,"i":1,"sh":0,"b":0,"f":0,"d":0,"s":2,"dt":0,"ts":0,"ntz":0,"dec":0,"flag":2,"bin":3,"nested":{"x":0,"y":1},"arr":4,"m":5},"tightBounds":true}"#;
const ODD_STATS: &str = r#"{"numRecords":3,"minValues":{"id":"abc","i":3000000000,"s":5,"dt":"not a date","dec":1.234,"d":"NaN","ts":"2024-01-02T03:04:05.123+01:00","unknown":{"deep":[1,2]},"nested":17},"maxValues":{"id":"42","dec":"12.5","f":1e10},"nullCount":{"id":null,"nested":{"x":"3"}}}"#;
const ESCAPED_STATS: &str = r#"{"numRecords":1,"minValues":{"s":"a\"b\u00e9","nested":{"y":"tab\there"}},"nullCount":{"s":0}}"#;

#[tokio::test]
async fn typed_table_round_trips_and_stats_parsed_is_typed() {
    let table = TestTable::new();
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(typed_schema(), &[], &[])),
        ],
    );
    table.commit(
        1,
        &[
            Action::Add(add("good.parquet", Some(GOOD_STATS))),
            Action::Add(add("odd.parquet", Some(ODD_STATS))),
            Action::Add(add("none.parquet", None)),
            Action::Add(add("broken.parquet", Some("{not json"))),
            Action::Add(add("escaped.parquet", Some(ESCAPED_STATS))),
            Action::Txn(Txn {
                app_id: "app".into(),
                version: 7,
                last_updated: Some(1_700_000_000_123),
            }),
            Action::DomainMetadata(DomainMetadata {
                domain: "tarn.test".into(),
                configuration: r#"{"k":1}"#.into(),
                removed: false,
            }),
        ],
    );
    let mut tagged = add("tagged.parquet", Some(r#"{"numRecords":2}"#));
    tagged.tags = Some(BTreeMap::from([
        ("k".to_owned(), Some("v".to_owned())),
        ("n".to_owned(), None),
    ]));
    tagged.base_row_id = Some(10);
    tagged.default_row_commit_version = Some(2);
    tagged.clustering_provider = Some("liquid".into());
    table.commit(2, &[Action::Add(tagged)]);

    let before = table.snapshot().await;
    let info = write_checkpoint(&before).await.unwrap();
    assert_eq!(info.version, 2);
    assert_eq!(info.add_files, 6);
    assert_eq!(info.tombstones, 0);
    // protocol, metadata, txn, domain metadata, six files
    assert_eq!(info.actions, 10);
    assert!(info.last_checkpoint_updated);

    let hint: serde_json::Value =
        serde_json::from_slice(&fs::read(table.log("_last_checkpoint")).unwrap()).unwrap();
    let file_size = fs::metadata(table.log("00000000000000000002.checkpoint.parquet"))
        .unwrap()
        .len();
    assert_eq!(
        hint,
        json!({"version": 2, "size": 10, "sizeInBytes": file_size, "numOfAddFiles": 6})
    );
    assert_eq!(info.size_in_bytes, file_size);

    table.delete_commits_through(2);
    let after = table.snapshot().await;
    assert_eq!(
        after.segment().checkpoint.as_ref().map(|c| c.version),
        Some(2)
    );
    assert!(after.segment().commits.is_empty());
    assert_eq!(state(&after), state(&before));

    let batch = table.checkpoint(2);
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "txn",
            "add",
            "remove",
            "metaData",
            "protocol",
            "domainMetadata"
        ]
    );
    let rows = add_rows(&batch);
    let add = batch.column_by_name("add").unwrap().as_struct();
    let data_change = add.column_by_name("dataChange").unwrap().as_boolean();
    for row in rows.values() {
        assert!(!data_change.value(*row));
    }
    let stats_json = add.column_by_name("stats").unwrap().as_string::<i32>();
    assert_eq!(stats_json.value(rows["broken.parquet"]), "{not json");
    let parsed = add.column_by_name("stats_parsed").unwrap().as_struct();

    // The layout: bounds only for types that have them, null counts for every leaf.
    let fields = |path: &[&str]| -> Vec<String> {
        child(parsed, path)
            .as_struct()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    let bounded = [
        "id", "i", "sh", "b", "f", "d", "s", "dt", "ts", "ntz", "dec", "nested",
    ];
    assert_eq!(fields(&["minValues"]), bounded);
    assert_eq!(fields(&["maxValues"]), bounded);
    assert_eq!(
        fields(&["nullCount"]),
        [
            "id", "i", "sh", "b", "f", "d", "s", "dt", "ts", "ntz", "dec", "flag", "bin", "nested",
            "arr", "m"
        ]
    );
    assert_eq!(
        child(parsed, &["minValues", "ts"]).data_type(),
        &ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        child(parsed, &["minValues", "ntz"]).data_type(),
        &ArrowType::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(
        child(parsed, &["minValues", "dec"]).data_type(),
        &ArrowType::Decimal128(10, 2)
    );
    assert_eq!(
        child(parsed, &["nullCount", "arr"]).data_type(),
        &ArrowType::Int64
    );

    // Values of the well-formed document, typed.
    let good = rows["good.parquet"];
    let long = |path: &[&str]| child(parsed, path).as_primitive::<Int64Type>().clone();
    assert_eq!(
        child(parsed, &["numRecords"])
            .as_primitive::<Int64Type>()
            .value(good),
        10
    );
    assert_eq!(long(&["minValues", "id"]).value(good), 1);
    assert_eq!(long(&["maxValues", "id"]).value(good), 100);
    assert_eq!(
        child(parsed, &["minValues", "i"])
            .as_primitive::<Int32Type>()
            .value(good),
        -5
    );
    assert_eq!(
        child(parsed, &["maxValues", "sh"])
            .as_primitive::<Int16Type>()
            .value(good),
        300
    );
    assert_eq!(
        child(parsed, &["minValues", "b"])
            .as_primitive::<Int8Type>()
            .value(good),
        -1
    );
    assert_eq!(
        child(parsed, &["minValues", "f"])
            .as_primitive::<Float32Type>()
            .value(good),
        1.5
    );
    assert_eq!(
        child(parsed, &["maxValues", "d"])
            .as_primitive::<Float64Type>()
            .value(good),
        1e10
    );
    assert_eq!(
        child(parsed, &["minValues", "s"])
            .as_string::<i32>()
            .value(good),
        "apple"
    );
    assert_eq!(
        child(parsed, &["maxValues", "dt"])
            .as_primitive::<Date32Type>()
            .value(good),
        days("2024-12-31")
    );
    assert_eq!(
        child(parsed, &["minValues", "ts"])
            .as_primitive::<TimestampMicrosecondType>()
            .value(good),
        micros("2024-01-02T03:04:05.123Z")
    );
    assert_eq!(
        child(parsed, &["minValues", "ntz"])
            .as_primitive::<TimestampMicrosecondType>()
            .value(good),
        micros("2024-01-02T03:04:05.123Z")
    );
    let dec = child(parsed, &["minValues", "dec"]).as_primitive::<Decimal128Type>();
    assert_eq!(dec.value(good), 1230);
    assert_eq!(
        child(parsed, &["maxValues", "dec"])
            .as_primitive::<Decimal128Type>()
            .value(good),
        9_999_999_999
    );
    assert_eq!(long(&["minValues", "nested", "x"]).value(good), 7);
    assert_eq!(long(&["nullCount", "nested", "y"]).value(good), 1);
    assert_eq!(long(&["nullCount", "arr"]).value(good), 4);
    assert_eq!(long(&["nullCount", "m"]).value(good), 5);
    assert_eq!(long(&["nullCount", "bin"]).value(good), 3);
    assert!(child(parsed, &["tightBounds"]).as_boolean().value(good));

    // Values that do not read as their type are nulls; their neighbours are kept.
    let odd = rows["odd.parquet"];
    assert!(parsed.is_valid(odd));
    assert!(long(&["minValues", "id"]).is_null(odd));
    assert_eq!(long(&["maxValues", "id"]).value(odd), 42);
    assert!(child(parsed, &["minValues", "i"]).is_null(odd));
    assert!(child(parsed, &["minValues", "s"]).is_null(odd));
    assert!(child(parsed, &["minValues", "dt"]).is_null(odd));
    assert!(child(parsed, &["minValues", "dec"]).is_null(odd));
    assert_eq!(
        child(parsed, &["maxValues", "dec"])
            .as_primitive::<Decimal128Type>()
            .value(odd),
        1250
    );
    assert!(
        child(parsed, &["minValues", "d"])
            .as_primitive::<Float64Type>()
            .value(odd)
            .is_nan()
    );
    assert_eq!(
        child(parsed, &["maxValues", "f"])
            .as_primitive::<Float32Type>()
            .value(odd),
        1e10
    );
    assert_eq!(
        child(parsed, &["minValues", "ts"])
            .as_primitive::<TimestampMicrosecondType>()
            .value(odd),
        micros("2024-01-02T02:04:05.123Z")
    );
    // `nested` was a number where an object belongs: the struct is null.
    assert!(child(parsed, &["minValues", "nested"]).is_null(odd));
    assert!(child(parsed, &["nullCount", "id"]).is_null(odd));
    assert_eq!(long(&["nullCount", "nested", "x"]).value(odd), 3);
    assert!(child(parsed, &["tightBounds"]).is_null(odd));

    // No stats, and stats that are not JSON: a null row.
    assert!(parsed.is_null(rows["none.parquet"]));
    assert!(parsed.is_null(rows["broken.parquet"]));

    let escaped = rows["escaped.parquet"];
    assert_eq!(
        child(parsed, &["minValues", "s"])
            .as_string::<i32>()
            .value(escaped),
        "a\"bé"
    );
    assert_eq!(
        child(parsed, &["minValues", "nested", "y"])
            .as_string::<i32>()
            .value(escaped),
        "tab\there"
    );
    assert!(child(parsed, &["maxValues"]).is_null(escaped));
}

#[tokio::test]
async fn partitioned_table_writes_typed_partition_values() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [
        field("value", json!("long")),
        field("day", json!("date")),
        field("region", json!("string")),
        field("n", json!("integer")),
    ]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &["day", "region", "n"], &[])),
        ],
    );
    let mut eu = add(
        "day=2024-01-02/region=eu/n=1/a.parquet",
        Some(
            r#"{"numRecords":4,"minValues":{"value":3},"maxValues":{"value":9},"nullCount":{"value":0}}"#,
        ),
    );
    eu.partition_values = BTreeMap::from([
        ("day".to_owned(), Some("2024-01-02".to_owned())),
        ("region".to_owned(), Some("eu".to_owned())),
        ("n".to_owned(), Some("1".to_owned())),
    ]);
    let mut nulls = add("b.parquet", Some(r#"{"numRecords":1}"#));
    nulls.partition_values = BTreeMap::from([
        ("day".to_owned(), None),
        ("region".to_owned(), Some(String::new())),
        ("n".to_owned(), Some("x".to_owned())),
    ]);
    table.commit(1, &[Action::Add(eu), Action::Add(nulls)]);

    let before = table.snapshot().await;
    write_checkpoint(&before).await.unwrap();
    table.delete_commits_through(1);
    assert_eq!(state(&table.snapshot().await), state(&before));

    let batch = table.checkpoint(1);
    let rows = add_rows(&batch);
    let add = batch.column_by_name("add").unwrap().as_struct();
    let parsed = add
        .column_by_name("partitionValues_parsed")
        .unwrap()
        .as_struct();
    let names: Vec<&str> = parsed.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["day", "region", "n"]);
    let eu = rows["day=2024-01-02/region=eu/n=1/a.parquet"];
    assert_eq!(
        parsed.column(0).as_primitive::<Date32Type>().value(eu),
        days("2024-01-02")
    );
    assert_eq!(parsed.column(1).as_string::<i32>().value(eu), "eu");
    assert_eq!(parsed.column(2).as_primitive::<Int32Type>().value(eu), 1);
    let b = rows["b.parquet"];
    assert!(parsed.column(0).is_null(b));
    assert!(parsed.column(1).is_null(b));
    assert!(parsed.column(2).is_null(b));
    // Partition columns have no statistics.
    let stats = add.column_by_name("stats_parsed").unwrap().as_struct();
    let min_names: Vec<String> = child(stats, &["minValues"])
        .as_struct()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(min_names, ["value"]);
}

#[tokio::test]
async fn column_mapping_uses_physical_names() {
    let table = TestTable::new();
    let mapped = |name: &str, id: i64, ty: serde_json::Value| {
        json!({"name": name, "type": ty, "nullable": true, "metadata": {
            "delta.columnMapping.id": id,
            "delta.columnMapping.physicalName": format!("col-{name}"),
        }})
    };
    let schema = json!({"type": "struct", "fields": [
        mapped("a", 1, json!("long")),
        mapped("s", 2, json!({"type": "struct", "fields": [mapped("inner", 3, json!("string"))]})),
        mapped("p", 4, json!("integer")),
    ]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(2, 5)),
            Action::Metadata(metadata(
                schema,
                &["p"],
                &[
                    ("delta.columnMapping.mode", "name"),
                    ("delta.columnMapping.maxColumnId", "4"),
                ],
            )),
        ],
    );
    let mut file = add(
        "x.parquet",
        Some(
            r#"{"numRecords":2,"minValues":{"col-a":5,"col-s":{"col-inner":"k"}},"maxValues":{"col-a":6},"nullCount":{"col-a":0,"col-s":{"col-inner":1}}}"#,
        ),
    );
    file.partition_values = BTreeMap::from([("col-p".to_owned(), Some("12".to_owned()))]);
    table.commit(1, &[Action::Add(file)]);

    let before = table.snapshot().await;
    write_checkpoint(&before).await.unwrap();
    table.delete_commits_through(1);
    assert_eq!(state(&table.snapshot().await), state(&before));

    let batch = table.checkpoint(1);
    let row = add_rows(&batch)["x.parquet"];
    let add = batch.column_by_name("add").unwrap().as_struct();
    let stats = add.column_by_name("stats_parsed").unwrap().as_struct();
    assert_eq!(
        child(stats, &["minValues", "col-a"])
            .as_primitive::<Int64Type>()
            .value(row),
        5
    );
    assert_eq!(
        child(stats, &["minValues", "col-s", "col-inner"])
            .as_string::<i32>()
            .value(row),
        "k"
    );
    assert_eq!(
        child(stats, &["nullCount", "col-s", "col-inner"])
            .as_primitive::<Int64Type>()
            .value(row),
        1
    );
    let partitions = add
        .column_by_name("partitionValues_parsed")
        .unwrap()
        .as_struct();
    assert_eq!(
        partitions
            .column_by_name("col-p")
            .unwrap()
            .as_primitive::<Int32Type>()
            .value(row),
        12
    );
}

/// The paths, deletion vector ids and data-change flags of a checkpoint's tombstones.
fn tombstones(batch: &RecordBatch) -> Vec<(String, Option<String>, bool, i64)> {
    let remove = batch.column_by_name("remove").unwrap().as_struct();
    let path = remove.column_by_name("path").unwrap().as_string::<i32>();
    let data_change = remove.column_by_name("dataChange").unwrap().as_boolean();
    let size = remove
        .column_by_name("size")
        .unwrap()
        .as_primitive::<Int64Type>();
    let dv = remove.column_by_name("deletionVector").unwrap().as_struct();
    let dv_path = dv
        .column_by_name("pathOrInlineDv")
        .unwrap()
        .as_string::<i32>();
    let mut found: Vec<_> = (0..batch.num_rows())
        .filter(|row| remove.is_valid(*row))
        .map(|row| {
            (
                path.value(row).to_owned(),
                dv.is_valid(row).then(|| dv_path.value(row).to_owned()),
                data_change.value(row),
                size.value(row),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn tombstones_are_kept_until_they_expire_and_carried_forward() {
    let table = TestTable::new();
    let now = DateTime::parse_from_rfc3339("2026-01-10T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let recent = now.timestamp_millis() - 3_600_000;
    let old = now.timestamp_millis() - 30 * 24 * 3_600_000;
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &[], &[])),
        ],
    );
    table.commit(
        1,
        &[
            Action::Add(add("f1", Some(r#"{"numRecords":1}"#))),
            Action::Add(add("f2", Some(r#"{"numRecords":5}"#))),
            Action::Add(add("f3", Some(r#"{"numRecords":1}"#))),
            Action::Add(add("f4", Some(r#"{"numRecords":1}"#))),
        ],
    );
    let mut f2_dv = add("f2", Some(r#"{"numRecords":5}"#));
    f2_dv.deletion_vector = Some(dv("dv-one", 2));
    table.commit(
        2,
        &[
            Action::Remove(remove("f1", recent)),
            Action::Remove(remove("f2", recent)),
            Action::Add(f2_dv.clone()),
            Action::Remove(remove("f3", old)),
            Action::Remove(remove("f4", recent)),
        ],
    );
    table.commit(3, &[Action::Add(add("f4", Some(r#"{"numRecords":1}"#)))]);

    let options = CheckpointOptions::default().with_now(now);
    let at3 = table.snapshot().await;
    let info = write_checkpoint_with(&at3, &options).await.unwrap();
    assert_eq!(info.tombstones, 2);
    assert_eq!(info.add_files, 2);
    assert_eq!(info.actions, 2 + 2 + 2);
    // f1 and f2 without its DV are tombstones; f3 expired; f4 was added back.
    assert_eq!(
        tombstones(&table.checkpoint(3)),
        [
            ("f1".to_owned(), None, false, 42),
            ("f2".to_owned(), None, false, 42)
        ]
    );
    table.delete_commits_through(3);
    assert_eq!(state(&table.snapshot().await), state(&at3));

    // The next checkpoint takes tombstones from the previous one (its commits are gone).
    let mut f2_dv_two = add("f2", Some(r#"{"numRecords":5}"#));
    f2_dv_two.deletion_vector = Some(dv("dv-two", 3));
    let mut f2_dv_removed = remove("f2", recent);
    f2_dv_removed.deletion_vector = f2_dv.deletion_vector.clone();
    table.commit(
        4,
        &[
            Action::Add(add("f1", Some(r#"{"numRecords":1}"#))),
            Action::Remove(f2_dv_removed),
            Action::Add(f2_dv_two),
            Action::Remove(remove("f4", recent)),
        ],
    );
    let at4 = table.snapshot().await;
    assert_eq!(
        at4.segment().checkpoint.as_ref().map(|c| c.version),
        Some(3)
    );
    write_checkpoint_with(&at4, &options).await.unwrap();
    assert_eq!(
        tombstones(&table.checkpoint(4)),
        [
            ("f2".to_owned(), None, false, 42),
            ("f2".to_owned(), Some("dv-one".to_owned()), false, 42),
            ("f4".to_owned(), None, false, 42),
        ]
    );
    table.delete_commits_through(4);
    let reloaded = table.snapshot().await;
    assert_eq!(state(&reloaded), state(&at4));
    let dv_ids: Vec<Option<String>> = reloaded
        .files()
        .iter()
        .map(|f| f.deletion_vector_id())
        .collect();
    assert!(dv_ids.contains(&Some("udv-two@1".to_owned())), "{dv_ids:?}");

    // A week later every tombstone has expired; a retention of a year keeps them.
    let later = now + chrono::Duration::days(8);
    let info = write_checkpoint_with(&reloaded, &options.clone().with_now(later))
        .await
        .unwrap();
    assert_eq!(info.tombstones, 0);
    assert!(tombstones(&table.checkpoint(4)).is_empty());
}

#[tokio::test]
async fn retention_property_and_unreadable_retention() {
    let table = TestTable::new();
    let ten_days_ago = Utc::now().timestamp_millis() - 10 * 24 * 3_600_000;
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    let with_retention = |value: &str| {
        Action::Metadata(metadata(
            schema.clone(),
            &[],
            &[("delta.deletedFileRetentionDuration", value)],
        ))
    };
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            with_retention("a fortnight"),
        ],
    );
    table.commit(1, &[Action::Add(add("f1", None))]);
    table.commit(2, &[Action::Remove(remove("f1", ten_days_ago))]);
    // A retention tarn cannot read keeps every tombstone (a week would have dropped this one).
    let info = write_checkpoint(&table.snapshot().await).await.unwrap();
    assert_eq!(info.tombstones, 1);
    table.commit(3, &[with_retention("interval 30 days")]);
    let info = write_checkpoint(&table.snapshot().await).await.unwrap();
    assert_eq!(info.tombstones, 1);
    table.commit(4, &[with_retention("interval 2 days")]);
    let info = write_checkpoint(&table.snapshot().await).await.unwrap();
    assert_eq!(info.tombstones, 0);
}

#[tokio::test]
async fn empty_table_round_trips() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &[], &[])),
        ],
    );
    let before = table.snapshot().await;
    let info = write_checkpoint(&before).await.unwrap();
    assert_eq!((info.actions, info.add_files, info.tombstones), (2, 0, 0));
    table.delete_commits_through(0);
    let after = table.snapshot().await;
    assert!(after.files().is_empty());
    assert_eq!(state(&after), state(&before));
}

#[tokio::test]
async fn snapshot_without_statistics_gets_them_from_the_log() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &[], &[])),
            Action::Add(add(
                "a",
                Some(r#"{"numRecords":3,"minValues":{"v":1},"maxValues":{"v":2}}"#),
            )),
        ],
    );
    let plain = Snapshot::load(Arc::clone(&table.location)).await.unwrap();
    assert!(!plain.has_statistics());
    write_checkpoint(&plain).await.unwrap();
    table.delete_commits_through(0);
    let after = table.snapshot().await;
    assert_eq!(
        after.files().iter().next().and_then(|f| f.stats()),
        Some(r#"{"numRecords":3,"minValues":{"v":1},"maxValues":{"v":2}}"#)
    );
}

#[tokio::test]
async fn small_row_groups_round_trip() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    table.commit(
        0,
        &[
            Action::Protocol(protocol(1, 2)),
            Action::Metadata(metadata(schema, &[], &[])),
        ],
    );
    for version in 1..=7 {
        let stats = format!(r#"{{"numRecords":{version},"minValues":{{"v":{version}}}}}"#);
        table.commit(
            version,
            &[Action::Add(add(&format!("part-{version}"), Some(&stats)))],
        );
    }
    let before = table.snapshot().await;
    let options = CheckpointOptions::default().with_row_group_rows(2);
    write_checkpoint_with(&before, &options).await.unwrap();
    let file = fs::File::open(table.log("00000000000000000007.checkpoint.parquet")).unwrap();
    let metadata = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(metadata.num_row_groups(), 5);
    table.delete_commits_through(7);
    assert_eq!(state(&table.snapshot().await), state(&before));
}

#[tokio::test]
async fn v2_checkpoint_tables_get_checkpoint_metadata() {
    let table = TestTable::new();
    let schema = json!({"type": "struct", "fields": [field("v", json!("long"))]});
    let mut protocol = protocol(3, 7);
    protocol.reader_features = Some(vec!["v2Checkpoint".parse().unwrap()]);
    protocol.writer_features = Some(vec!["v2Checkpoint".parse().unwrap()]);
    table.commit(
        0,
        &[
            Action::Protocol(protocol),
            Action::Metadata(metadata(schema, &[], &[("delta.checkpointPolicy", "v2")])),
            Action::Add(add("a", Some(r#"{"numRecords":1}"#))),
        ],
    );
    let before = table.snapshot().await;
    let info = write_checkpoint(&before).await.unwrap();
    assert_eq!(info.actions, 4);
    let batch = table.checkpoint(0);
    let meta = batch
        .column_by_name("checkpointMetadata")
        .unwrap()
        .as_struct();
    assert_eq!(meta.len() - meta.null_count(), 1);
    let protocol = batch.column_by_name("protocol").unwrap().as_struct();
    assert_eq!(protocol.len() - protocol.null_count(), 1);
    table.delete_commits_through(0);
    assert_eq!(state(&table.snapshot().await), state(&before));
}

#[test]
fn checkpoint_interval_decides() {
    let schema = json!({"type": "struct", "fields": []});
    let default = metadata(schema.clone(), &[], &[]);
    assert!(!should_checkpoint(0, &default));
    assert!(!should_checkpoint(99, &default));
    assert!(should_checkpoint(100, &default));
    assert!(should_checkpoint(200, &default));
    let ten = metadata(schema.clone(), &[], &[("delta.checkpointInterval", "10")]);
    assert!(should_checkpoint(10, &ten));
    assert!(!should_checkpoint(15, &ten));
    for bad in ["0", "-5", "ten"] {
        let bad = metadata(schema.clone(), &[], &[("delta.checkpointInterval", bad)]);
        assert!(should_checkpoint(100, &bad));
        assert!(!should_checkpoint(10, &bad));
    }
}
