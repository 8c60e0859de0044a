//! The moto S3 emulator that `tools/test.sh` starts on 127.0.0.1 (`tools/moto.sh`): its
//! endpoint and buckets come from `TARN_TEST_S3_ENDPOINT`, `TARN_TEST_S3_BUCKET` and
//! `TARN_TEST_S3_ARCHIVE_BUCKET` (a second bucket, for tables whose files live elsewhere).
//!
//! Every option object_store needs is passed explicitly — endpoint, plain HTTP, dummy keys and
//! a region — so that no test falls back to credential discovery (the cloud instance-metadata
//! address is outside this machine and no test may reach it). The same map works for delta-rs
//! (`read_with_delta_rs_options`), which takes object_store's config keys too.

use std::collections::BTreeMap;

fn required_env(name: &str) -> String {
    super::emulator_env(
        name,
        "the moto S3 emulator",
        "TARN_TEST_S3_ENDPOINT, TARN_TEST_S3_BUCKET and TARN_TEST_S3_ARCHIVE_BUCKET",
    )
}

/// The emulator's endpoint, `http://127.0.0.1:PORT`.
pub fn s3_endpoint() -> String {
    let endpoint = required_env("TARN_TEST_S3_ENDPOINT");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "TARN_TEST_S3_ENDPOINT={endpoint}: tests may only reach 127.0.0.1"
    );
    endpoint
}

/// The bucket `tools/test.sh` created in the emulator.
pub fn s3_bucket() -> String {
    required_env("TARN_TEST_S3_BUCKET")
}

/// The second bucket `tools/test.sh` created in the emulator.
pub fn s3_archive_bucket() -> String {
    required_env("TARN_TEST_S3_ARCHIVE_BUCKET")
}

/// Storage options (object_store config keys) for the emulator: endpoint, `allow_http`, dummy
/// credentials and region, all explicit.
pub fn s3_options() -> BTreeMap<String, String> {
    [
        ("aws_endpoint", s3_endpoint()),
        ("allow_http", "true".to_owned()),
        ("aws_access_key_id", "test".to_owned()),
        ("aws_secret_access_key", "test".to_owned()),
        ("aws_region", "us-east-1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A fresh table URI in the emulator's bucket, `s3://<bucket>/<name>-<unique>`: unique per
/// call within a run and across runs sharing an emulator, so tests never see each other's
/// objects.
pub fn s3_table_uri(name: &str) -> String {
    format!("s3://{}/{}", s3_bucket(), super::unique_name(name))
}
