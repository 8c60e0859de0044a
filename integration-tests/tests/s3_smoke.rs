//! S3, through the moto emulator `tools/test.sh` starts (`common::s3`): a log written to the
//! bucket through `TableLocation` opens as a table; delta-rs reads the same table through the
//! same options; and a table delta-rs writes to S3 reads the same in tarn, at every version.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::json;
use tarn::Table;
use tarn::protocol::actions::{Action, Format, Metadata, Protocol, format_commit};
use tarn_log::TableLocation;

use crate::common::block_on;
use crate::common::python::{
    assert_rows_eq, canonical_rows, read_with_delta_rs_options, rows_of, schema_pairs,
    write_with_delta_rs,
};
use crate::common::s3::{s3_options, s3_table_uri};

const SCHEMA: &str = r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}},{"name":"name","type":"string","nullable":true,"metadata":{}},{"name":"day","type":"date","nullable":true,"metadata":{}}]}"#;

fn version_zero() -> Vec<Action> {
    vec![
        Action::Protocol(Protocol {
            min_reader_version: 1,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }),
        Action::Metadata(Metadata {
            id: "5fba94ed-9794-4965-ba6e-6ee3c0d22af9".to_owned(),
            name: None,
            description: None,
            format: Format::default(),
            schema_string: SCHEMA.to_owned(),
            partition_columns: vec!["day".to_owned()],
            created_time: Some(1_700_000_000_000),
            configuration: BTreeMap::new(),
        }),
    ]
}

#[test]
fn s3_smoke() {
    let options = s3_options();
    let uri = s3_table_uri("s3-smoke");
    block_on(async {
        let location = TableLocation::parse_with_options(&uri, &options).unwrap();
        let commit = format_commit(&version_zero()).unwrap();
        location
            .store()
            .put(
                &location.commit_file(0),
                PutPayload::from(commit.into_bytes()),
            )
            .await
            .unwrap();

        let table = Table::open_with_options(&uri, &options).await.unwrap();
        let snapshot = table.snapshot().await.unwrap();
        assert_eq!(snapshot.version(), 0);
        assert_eq!(snapshot.num_files(), 0);
        assert_eq!(snapshot.partition_columns(), ["day"]);
        assert_eq!(
            schema_pairs(snapshot.schema()),
            json!([["id", "long"], ["name", "string"], ["day", "date"]])
        );
        let batches: Vec<_> = snapshot
            .scan()
            .build()
            .await
            .unwrap()
            .execute()
            .try_collect()
            .await
            .unwrap();
        assert!(canonical_rows(&batches).is_empty());

        // delta-rs, through the same options, sees the same table.
        let delta_rs = read_with_delta_rs_options(&uri, None, &options);
        assert_eq!(delta_rs["version"], json!(0));
        assert_eq!(delta_rs["num_rows"], json!(0));
        assert_eq!(delta_rs["schema"], schema_pairs(snapshot.schema()));
    });
}

#[test]
fn table_written_by_delta_rs_to_s3_reads_exactly() {
    let options = s3_options();
    let uri = s3_table_uri("written-by-delta-rs");
    let written = write_with_delta_rs(&uri, &options);
    let versions = written["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 4);
    block_on(async {
        let table = Table::open_with_options(&uri, &options).await.unwrap();
        for (v, expected) in versions.iter().enumerate() {
            let snapshot = table
                .snapshot_at_version(u64::try_from(v).unwrap())
                .await
                .unwrap();
            assert_eq!(schema_pairs(snapshot.schema()), expected["schema"], "v{v}");
            let batches: Vec<_> = snapshot
                .scan()
                .build()
                .await
                .unwrap()
                .execute()
                .try_collect()
                .await
                .unwrap();
            assert_rows_eq(
                &canonical_rows(&batches),
                &rows_of(expected),
                &format!("v{v}"),
            );
        }
        assert_eq!(table.snapshot().await.unwrap().version(), 3);
    });
}

/// The credentials a table is opened with never reach its log: not in `commitInfo`, not in
/// any other action, not in a checkpoint.
#[test]
fn credentials_never_reach_the_log() {
    const SECRET: &str = "SecretNeverLogged42";
    let uri = s3_table_uri("secret-free");
    let mut options = s3_options();
    options.insert("aws_secret_access_key".to_owned(), SECRET.to_owned());
    block_on(async {
        let table = Table::open_with_options(&uri, &options).await.unwrap();
        let schema =
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "id",
                arrow_schema::DataType::Int64,
                true,
            )]));
        let batch = arrow_array::RecordBatch::try_new(
            schema,
            vec![std::sync::Arc::new(arrow_array::Int64Array::from(vec![
                1, 2,
            ]))],
        )
        .unwrap();
        table.write().execute_batches(vec![batch]).await.unwrap();
        table.checkpoint().execute().await.unwrap();
        // An error about the table names it without the secret too.
        let err = table.snapshot_at_version(99).await.unwrap_err().to_string();
        assert!(!err.contains(SECRET), "{err}");
        let location = TableLocation::parse_with_options(&uri, &options).unwrap();
        let objects: Vec<_> = location
            .store()
            .list(Some(location.root()))
            .try_collect()
            .await
            .unwrap();
        assert!(objects.len() >= 3, "{objects:?}");
        for object in objects {
            let bytes = location
                .store()
                .get(&object.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{} holds the secret",
                object.location
            );
        }
    });
}
