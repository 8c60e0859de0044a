//! Checkpoint shapes no fixture has: multi-part checkpoints (complete and incomplete) and
//! checkpoints that carry statistics only as `stats_parsed`. Each is made by rewriting a real
//! checkpoint and must give exactly the snapshot the original gives.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray, new_null_array};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tarn::{Snapshot, Table};

use crate::common::{block_on, copy_dir, fixture_copy};

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    reader.map(Result::unwrap).collect()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let schema = batches[0].schema();
    let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
}

/// The logical files of a snapshot with their record counts.
fn file_set(snapshot: &Snapshot) -> BTreeSet<(String, Option<String>, Option<i64>)> {
    snapshot
        .files()
        .iter()
        .map(|f| (f.path().to_owned(), f.deletion_vector_id(), f.num_records()))
        .collect()
}

fn load(path: &Path) -> Snapshot {
    block_on(async {
        Table::open(path.to_str().unwrap())
            .await
            .unwrap()
            .snapshot()
            .await
            .unwrap()
    })
}

fn example_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("events");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/events"),
        &table,
    );
    (dir, table)
}

/// Splits the classic checkpoint at version 4 of the example table into `parts` parts.
fn split_checkpoint(table: &Path, parts: usize) {
    let log = table.join("_delta_log");
    let classic = log.join("00000000000000000004.checkpoint.parquet");
    let batches = read_parquet(&classic);
    let all = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    let rows = all.num_rows();
    let per_part = rows.div_ceil(parts);
    for part in 0..parts {
        let start = (part * per_part).min(rows);
        let len = per_part.min(rows - start);
        let name = format!(
            "00000000000000000004.checkpoint.{:010}.{:010}.parquet",
            part + 1,
            parts
        );
        write_parquet(&log.join(name), &[all.slice(start, len)]);
    }
    std::fs::remove_file(classic).unwrap();
    std::fs::write(
        log.join("_last_checkpoint"),
        format!(r#"{{"version":4,"size":{rows},"parts":{parts}}}"#),
    )
    .unwrap();
}

#[test]
fn multi_part_checkpoint_reads_like_the_classic_one() {
    let (_dir, original) = example_copy();
    let expected = load(&original);
    for parts in [2, 3] {
        let (_dir, table) = example_copy();
        split_checkpoint(&table, parts);
        let snapshot = load(&table);
        let checkpoint = snapshot.segment().checkpoint.as_ref().unwrap();
        assert_eq!(checkpoint.version, 4);
        assert_eq!(checkpoint.parts.len(), parts);
        assert_eq!(snapshot.version(), expected.version());
        assert_eq!(file_set(&snapshot), file_set(&expected));
        assert_eq!(snapshot.metadata(), expected.metadata());
        assert_eq!(snapshot.protocol(), expected.protocol());
    }
}

#[test]
fn incomplete_multi_part_checkpoint_is_not_used() {
    let (_dir, original) = example_copy();
    let expected = load(&original);
    let (_dir, table) = example_copy();
    split_checkpoint(&table, 3);
    std::fs::remove_file(
        table.join("_delta_log/00000000000000000004.checkpoint.0000000002.0000000003.parquet"),
    )
    .unwrap();
    let snapshot = load(&table);
    assert!(
        snapshot.segment().checkpoint.is_none(),
        "must replay the JSON log instead"
    );
    assert_eq!(file_set(&snapshot), file_set(&expected));
}

/// Replaces `add.stats` with nulls in every sidecar of a v2 checkpoint table, leaving only
/// `add.stats_parsed`.
fn null_json_stats(parquet: &Path) {
    let batches = read_parquet(parquet);
    let rewritten: Vec<RecordBatch> = batches
        .iter()
        .map(|batch| {
            let index = batch.schema().index_of("add").unwrap();
            let add = batch
                .column(index)
                .as_any()
                .downcast_ref::<StructArray>()
                .unwrap();
            let (fields, mut children, nulls) = add.clone().into_parts();
            let stats = fields.iter().position(|f| f.name() == "stats").unwrap();
            children[stats] = new_null_array(fields[stats].data_type(), add.len());
            let add = StructArray::new(fields, children, nulls);
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            columns[index] = Arc::new(add);
            RecordBatch::try_new(batch.schema(), columns).unwrap()
        })
        .collect();
    write_parquet(parquet, &rewritten);
}

#[test]
fn checkpoint_with_only_stats_parsed_keeps_statistics() {
    let (_dir, original) = fixture_copy("checkpoint-v2-table");
    let expected = load(&original);
    assert_eq!(expected.files().num_records(), Some(44));

    let (_dir, table) = fixture_copy("checkpoint-v2-table");
    let sidecars = table.join("_delta_log/_sidecars");
    for entry in std::fs::read_dir(&sidecars).unwrap() {
        null_json_stats(&entry.unwrap().path());
    }
    // Only the commit after the checkpoint has JSON stats now; the rest must come from
    // stats_parsed.
    let snapshot = load(&table);
    assert_eq!(snapshot.files().num_records(), Some(44));
    let stats_fields = |s: &Snapshot| -> BTreeSet<(String, Option<i64>)> {
        s.files()
            .iter()
            .map(|f| (f.path().to_owned(), f.num_records()))
            .collect()
    };
    assert_eq!(stats_fields(&snapshot), stats_fields(&expected));
    // By default only the record counts are kept; with statistics, the JSON rebuilt from
    // stats_parsed carries the column statistics too.
    assert!(snapshot.files().iter().all(|f| f.stats().is_none()));
    let snapshot = block_on(snapshot.with_statistics()).unwrap();
    assert_eq!(stats_fields(&snapshot), stats_fields(&expected));
    for file in snapshot.files().iter() {
        let stats: serde_json::Value = serde_json::from_str(file.stats().unwrap()).unwrap();
        assert!(stats["minValues"]["id"].is_number(), "{stats}");
        assert!(stats["maxValues"]["id"].is_number(), "{stats}");
    }
}
