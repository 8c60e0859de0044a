//! The store registry end to end: a crafted log naming files outside the table
//! (`file:///...`, `/...`, climbing with `..` or its encodings, a sibling directory whose name
//! starts like the table's, a `p` deletion vector) is refused by every operation that reads
//! data — scan, planning a filtered scan (`files --where`), delete, update, restore — with
//! `LogError::PathOutsideTable`, and a store that records every request shows that nothing
//! outside the table's root was asked for. Each crafted path names a real Parquet file (or
//! deletion vector) outside, so a read would succeed if it were allowed.
//!
//! And the other side: files in a second local root read once it is registered, or when the
//! table declares it in `tarn.archive`, and are refused when declared locations are not
//! trusted; on S3, a table in one bucket whose files live in a second bucket.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use object_store::ObjectStore;
use serde_json::{Value, json};
use tarn::deletion_vector::{DeletionVector, DeletionVectorFileBuilder};
use tarn::{Error, Expr, LogError, StoreRegistry, Table, TableLocation, WriteMode};

use crate::common::recording_store::RecordingStore;
use crate::common::{block_on, commit_path, commit_versions, uri};

fn ids(values: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
}

fn read_commit(table: &Path, version: u64) -> Vec<Value> {
    std::fs::read_to_string(commit_path(table, version))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn write_commit(table: &Path, version: u64, actions: &[Value]) {
    let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
    std::fs::write(commit_path(table, version), text).unwrap();
}

/// Replaces the `path` of every add and remove of `version` that names `from`.
fn rename_in_commit(table: &Path, version: u64, from: &str, to: &str) {
    let mut actions = read_commit(table, version);
    for action in &mut actions {
        for kind in ["add", "remove"] {
            if action[kind]["path"].as_str() == Some(from) {
                action[kind]["path"] = Value::from(to);
            }
        }
    }
    write_commit(table, version, &actions);
}

/// The `path` of the first add of `version`.
fn first_add_path(table: &Path, version: u64) -> String {
    read_commit(table, version)
        .iter()
        .find_map(|a| a["add"]["path"].as_str().map(str::to_owned))
        .unwrap()
}

/// The sorted ids of the latest version, or the error.
async fn scan_ids(table: &Table) -> tarn::Result<Vec<i64>> {
    let snapshot = table.snapshot().await?;
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .build()
        .await?
        .execute()
        .try_collect()
        .await?;
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// A table `t` (two appends: ids 1, 2 then 3) beside a directory `t2` — a name that starts
/// like the table's — holding a copy of the table's first data file (`victim.parquet`).
struct Crafted {
    _dir: tempfile::TempDir,
    table: PathBuf,
    outside: PathBuf,
}

impl Crafted {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        let outside = dir.path().join("t2");
        block_on(async {
            let t = Table::open(uri(&table)).await.unwrap();
            t.write().execute_batches(vec![ids(&[1, 2])]).await.unwrap();
            t.write().execute_batches(vec![ids(&[3])]).await.unwrap();
        });
        std::fs::create_dir(&outside).unwrap();
        let data = first_add_path(&table, 0);
        std::fs::copy(table.join(&data), outside.join("victim.parquet")).unwrap();
        Self {
            _dir: dir,
            table,
            outside,
        }
    }

    /// The crafted paths: each names `t2/victim.parquet`.
    fn outside_paths(&self) -> Vec<String> {
        let table = self.table.to_str().unwrap();
        let outside = self.outside.to_str().unwrap();
        vec![
            format!("file://{outside}/victim.parquet"),
            format!("{outside}/victim.parquet"),
            format!("file://{table}/../t2/victim.parquet"),
            format!("file://{table}/%2E%2E/t2/victim.parquet"),
            format!("{table}/x%2F..%2F..%2Ft2/victim.parquet"),
        ]
    }

    /// The table through a recording store, and that store.
    fn recorded(&self) -> (Arc<RecordingStore>, Table) {
        let base = TableLocation::parse(uri(&self.table)).unwrap();
        let recording = RecordingStore::new(Arc::clone(base.store()));
        let location = TableLocation::from_store(
            base.url().clone(),
            Arc::clone(&recording) as Arc<dyn ObjectStore>,
            base.root().clone(),
        );
        (recording, Table::from_location(location))
    }

    fn root(&self) -> String {
        self.table
            .to_str()
            .unwrap()
            .trim_start_matches('/')
            .to_owned()
    }

    fn outside_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect();
        files.sort();
        files
    }
}

#[track_caller]
fn assert_outside<T: std::fmt::Debug>(what: &str, crafted: &str, result: tarn::Result<T>) {
    match result {
        Err(Error::Log(LogError::PathOutsideTable { path, table })) => {
            assert_eq!(path, crafted, "{what}");
            assert!(table.ends_with("/t"), "{what}: {table}");
        }
        other => panic!("{what} of {crafted}: expected PathOutsideTable, got {other:?}"),
    }
}

#[test]
fn every_reading_operation_refuses_data_paths_outside_the_table_and_opens_nothing_there() {
    let setup = Crafted::new();
    let original = first_add_path(&setup.table, 0);
    let before = setup.outside_bytes();
    let mut previous = original.clone();
    for crafted in setup.outside_paths() {
        rename_in_commit(&setup.table, 0, &previous, &crafted);
        previous = crafted.clone();
        let (recording, table) = setup.recorded();
        block_on(async {
            assert_outside("scan", &crafted, scan_ids(&table).await);
            let snapshot = table.snapshot().await.unwrap();
            // Planning alone (what `tarn files --where` does) resolves the paths it keeps.
            let planned = snapshot
                .scan()
                .with_filter(Expr::parse("id >= 1").unwrap())
                .build()
                .await;
            assert_outside("planning", &crafted, planned.map(|_| ()));
            let delete = table
                .delete()
                .with_predicate(Expr::parse("id >= 1").unwrap())
                .execute()
                .await;
            assert_outside("delete", &crafted, delete);
            let update = table
                .update()
                .with_predicate(Expr::parse("id >= 1").unwrap())
                .set("id", Expr::parse("id + 10").unwrap())
                .execute()
                .await;
            assert_outside("update", &crafted, update);
        });
        recording.assert_all_under(&setup.root());
        assert_eq!(commit_versions(&setup.table), [0, 1], "{crafted}");
    }
    assert_eq!(setup.outside_bytes(), before);
}

#[test]
fn restore_refuses_to_bring_back_a_file_outside_the_table() {
    let setup = Crafted::new();
    // Version 2 replaces everything: restoring version 0 would bring its files back.
    block_on(async {
        let t = Table::open(uri(&setup.table)).await.unwrap();
        t.write()
            .with_mode(WriteMode::Overwrite)
            .execute_batches(vec![ids(&[9])])
            .await
            .unwrap();
    });
    let original = first_add_path(&setup.table, 0);
    let mut previous = original;
    for crafted in setup.outside_paths() {
        rename_in_commit(&setup.table, 0, &previous, &crafted);
        rename_in_commit(&setup.table, 2, &previous, &crafted);
        previous = crafted.clone();
        let (recording, table) = setup.recorded();
        block_on(async {
            assert_outside("restore", &crafted, table.restore(0).execute().await);
        });
        recording.assert_all_under(&setup.root());
        assert_eq!(commit_versions(&setup.table), [0, 1, 2], "{crafted}");
    }
}

/// Sets the deletion vector of the first add of version 0.
fn set_deletion_vector(
    table: &Path,
    descriptor: &tarn::protocol::actions::DeletionVectorDescriptor,
) {
    let mut actions = read_commit(table, 0);
    let add = actions.iter_mut().find_map(|a| a.get_mut("add")).unwrap();
    add["deletionVector"] = serde_json::to_value(descriptor).unwrap();
    write_commit(table, 0, &actions);
}

#[test]
fn a_deletion_vector_outside_the_table_is_refused_and_never_read() {
    let setup = Crafted::new();
    // A real vector deleting row 0 (id 1), outside the table: were it read, id 1 would vanish.
    let mut builder = DeletionVectorFileBuilder::new();
    let stored = builder
        .push(&DeletionVector::from_rows([0]).unwrap())
        .unwrap();
    let bytes = builder.finish();
    let outside = setup.outside.join("dv.bin");
    let inside = setup.table.join("dv.bin");
    std::fs::write(&outside, &bytes).unwrap();
    std::fs::write(&inside, &bytes).unwrap();
    let table_path = setup.table.to_str().unwrap();
    for crafted in [
        format!("file://{}", outside.to_str().unwrap()),
        outside.to_str().unwrap().to_owned(),
        format!("file://{table_path}/../t2/dv.bin"),
    ] {
        set_deletion_vector(&setup.table, &stored.absolute_descriptor(&crafted));
        let (recording, table) = setup.recorded();
        block_on(async {
            assert_outside("scan", &crafted, scan_ids(&table).await);
        });
        recording.assert_all_under(&setup.root());
    }

    // The same vector inside the table reads: the refusal is about where, not what.
    let uri = format!("file://{}", inside.to_str().unwrap());
    set_deletion_vector(&setup.table, &stored.absolute_descriptor(&uri));
    let (_, table) = setup.recorded();
    assert_eq!(block_on(scan_ids(&table)).unwrap(), [2, 3]);
}

/// A table `t` whose one data file (ids 1, 2, 3) lives in `archive/` beside it, named in the
/// log by its absolute `file://` URI.
struct Archived {
    _dir: tempfile::TempDir,
    table: PathBuf,
    archive: PathBuf,
}

impl Archived {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t");
        let archive = dir.path().join("archive");
        block_on(async {
            let t = Table::open(uri(&table)).await.unwrap();
            t.write()
                .execute_batches(vec![ids(&[1, 2, 3])])
                .await
                .unwrap();
        });
        std::fs::create_dir(&archive).unwrap();
        let data = first_add_path(&table, 0);
        std::fs::rename(table.join(&data), archive.join("part.parquet")).unwrap();
        let absolute = format!("file://{}/part.parquet", archive.to_str().unwrap());
        rename_in_commit(&table, 0, &data, &absolute);
        Self {
            _dir: dir,
            table,
            archive,
        }
    }

    /// Declares `locations` in a `tarn.archive` domain, added to version 0.
    fn declare(&self, locations: &[String]) {
        let mut actions = read_commit(&self.table, 0);
        actions.push(json!({"domainMetadata": {
            "domain": "tarn.archive",
            "configuration": json!({"locations": locations, "manifest": {"later": true}}).to_string(),
            "removed": false,
        }}));
        write_commit(&self.table, 0, &actions);
    }

    fn archive_uri(&self) -> String {
        format!("file://{}/", self.archive.to_str().unwrap())
    }
}

#[test]
fn files_in_a_second_local_root_read_once_it_is_registered() {
    let setup = Archived::new();
    block_on(async {
        let table = Table::open(uri(&setup.table)).await.unwrap();
        let err = scan_ids(&table).await.unwrap_err();
        assert!(
            matches!(err, Error::Log(LogError::PathOutsideTable { .. })),
            "{err}"
        );

        let mut stores = StoreRegistry::new();
        stores
            .register(setup.archive.to_str().unwrap(), &BTreeMap::new())
            .unwrap();
        let table = Table::builder(uri(&setup.table))
            .with_stores(stores)
            .open()
            .await
            .unwrap();
        assert_eq!(scan_ids(&table).await.unwrap(), [1, 2, 3]);

        // A store the caller built: every read of the archived file goes through it.
        let recording = RecordingStore::new(Arc::clone(
            TableLocation::parse(uri(&setup.archive)).unwrap().store(),
        ));
        let mut stores = StoreRegistry::new();
        stores
            .register_store(
                &setup.archive_uri(),
                Arc::clone(&recording) as Arc<dyn ObjectStore>,
            )
            .unwrap();
        let table = Table::builder(uri(&setup.table))
            .with_stores(stores)
            .open()
            .await
            .unwrap();
        assert_eq!(scan_ids(&table).await.unwrap(), [1, 2, 3]);
        recording.assert_all_under(setup.archive.to_str().unwrap().trim_start_matches('/'));
    });
}

#[test]
fn a_declared_archive_location_reads_without_registration_unless_untrusted() {
    let setup = Archived::new();
    setup.declare(&[setup.archive_uri()]);
    block_on(async {
        let table = Table::open(uri(&setup.table)).await.unwrap();
        assert_eq!(scan_ids(&table).await.unwrap(), [1, 2, 3]);
        let untrusted = Table::builder(uri(&setup.table))
            .untrusted()
            .open()
            .await
            .unwrap();
        let err = scan_ids(&untrusted).await.unwrap_err();
        assert!(
            matches!(err, Error::Log(LogError::PathOutsideTable { .. })),
            "{err}"
        );
        // Untrusted, the caller may still register the location itself.
        let mut stores = StoreRegistry::new();
        stores
            .register(&setup.archive_uri(), &BTreeMap::new())
            .unwrap();
        let registered = Table::builder(uri(&setup.table))
            .untrusted()
            .with_stores(stores)
            .open()
            .await
            .unwrap();
        assert_eq!(scan_ids(&registered).await.unwrap(), [1, 2, 3]);
    });
}

#[test]
fn a_declared_location_covers_whole_segments_only() {
    let setup = Archived::new();
    // `.../arch` is a prefix of `.../archive` as text, not as a directory.
    let narrower = format!(
        "file://{}",
        setup.archive.to_str().unwrap().trim_end_matches("ive")
    );
    setup.declare(&[narrower]);
    block_on(async {
        let table = Table::open(uri(&setup.table)).await.unwrap();
        let err = scan_ids(&table).await.unwrap_err();
        assert!(
            matches!(err, Error::Log(LogError::PathOutsideTable { .. })),
            "{err}"
        );
    });
}

mod s3 {
    //! On S3 (moto): a table in one bucket whose data file lives in a second bucket.

    use object_store::ObjectStoreExt;
    use object_store::path::Path as ObjectPath;

    use super::*;
    use crate::common::s3::{s3_archive_bucket, s3_options, s3_table_uri};

    /// Writes a table (ids 1, 2, 3), moves its data file to the archive bucket and names it
    /// there by absolute URI. Returns the table URI and the file's archive URI.
    async fn archived_table(declare: bool) -> (String, String) {
        let options = s3_options();
        let table_uri = s3_table_uri("store-registry");
        let table = Table::open_with_options(&table_uri, &options)
            .await
            .unwrap();
        table
            .write()
            .execute_batches(vec![ids(&[1, 2, 3])])
            .await
            .unwrap();
        let location = TableLocation::parse_with_options(&table_uri, &options).unwrap();
        let commit_file = location.commit_file(0);
        let text = location
            .store()
            .get(&commit_file)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut actions: Vec<Value> = std::str::from_utf8(&text)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let relative = actions
            .iter()
            .find_map(|a| a["add"]["path"].as_str().map(str::to_owned))
            .unwrap();

        let prefix = table_uri.rsplit('/').next().unwrap().to_owned();
        let archive_prefix = format!("s3://{}/{prefix}/", s3_archive_bucket());
        let archive = TableLocation::parse_with_options(&archive_prefix, &options).unwrap();
        let archived = ObjectPath::from(format!("{prefix}/part.parquet"));
        let bytes = location
            .store()
            .get(&location.child_path(&relative))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        archive.store().put(&archived, bytes.into()).await.unwrap();
        location
            .store()
            .delete(&location.child_path(&relative))
            .await
            .unwrap();
        let archived_uri = format!("s3://{}/{archived}", s3_archive_bucket());
        for action in &mut actions {
            if action["add"]["path"].as_str() == Some(relative.as_str()) {
                action["add"]["path"] = Value::from(archived_uri.as_str());
            }
        }
        if declare {
            actions.push(json!({"domainMetadata": {
                "domain": "tarn.archive",
                "configuration": json!({"locations": [archive_prefix]}).to_string(),
                "removed": false,
            }}));
        }
        let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
        location
            .store()
            .put(&commit_file, text.into_bytes().into())
            .await
            .unwrap();
        (table_uri, archived_uri)
    }

    #[test]
    fn files_in_a_second_bucket_read_once_registered_and_are_refused_otherwise() {
        block_on(async {
            let options = s3_options();
            let (table_uri, archived_uri) = archived_table(false).await;
            let table = Table::open_with_options(&table_uri, &options)
                .await
                .unwrap();
            match scan_ids(&table).await {
                Err(Error::Log(LogError::UnregisteredStore { path, store, .. })) => {
                    assert_eq!(path, archived_uri);
                    assert_eq!(store, format!("s3://{}", s3_archive_bucket()));
                }
                other => panic!("expected UnregisteredStore, got {other:?}"),
            }
            let mut stores = StoreRegistry::new();
            stores
                .register(&format!("s3://{}/", s3_archive_bucket()), &options)
                .unwrap();
            let table = Table::builder(&table_uri)
                .with_storage_options(options.clone())
                .with_stores(stores)
                .open()
                .await
                .unwrap();
            assert_eq!(scan_ids(&table).await.unwrap(), [1, 2, 3]);
        });
    }

    #[test]
    fn a_declared_second_bucket_reads_with_the_table_options_unless_untrusted() {
        block_on(async {
            let options = s3_options();
            let (table_uri, _) = archived_table(true).await;
            let table = Table::open_with_options(&table_uri, &options)
                .await
                .unwrap();
            assert_eq!(scan_ids(&table).await.unwrap(), [1, 2, 3]);
            let untrusted = Table::builder(&table_uri)
                .with_storage_options(options.clone())
                .untrusted()
                .open()
                .await
                .unwrap();
            let err = scan_ids(&untrusted).await.unwrap_err();
            assert!(
                matches!(err, Error::Log(LogError::UnregisteredStore { .. })),
                "{err}"
            );
        });
    }
}
