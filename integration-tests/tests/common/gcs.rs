//! The fake-gcs-server GCS emulator that `tools/test.sh` starts on 127.0.0.1
//! (`tools/fake_gcs.sh`), for reads only: its URL and bucket come from `TARN_TEST_GCS_URL` and
//! `TARN_TEST_GCS_BUCKET`.
//!
//! The emulator cannot take object_store's writes (it lacks the XML-API PUT object_store
//! uses), so a table reaches it through its JSON upload API ([`upload_dir`]) and tarn reads it
//! over `gs://`. The options give object_store a service-account key that points it at the
//! emulator with OAuth disabled: no credential discovery, no metadata server.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::python::{interop_script, python_command};
use super::{emulator_env, emulator_url};

const WHAT: &str = "the fake-gcs-server GCS emulator";
const ALL: &str = "TARN_TEST_GCS_URL and TARN_TEST_GCS_BUCKET";

/// The emulator's URL, `http://127.0.0.1:PORT`.
pub fn gcs_url() -> String {
    emulator_url("TARN_TEST_GCS_URL", WHAT, ALL)
}

/// The bucket `tools/test.sh` created in the emulator.
pub fn gcs_bucket() -> String {
    emulator_env("TARN_TEST_GCS_BUCKET", WHAT, ALL)
}

/// Storage options (object_store config keys) for the emulator: a service-account key naming
/// the emulator as the base URL, with OAuth disabled.
pub fn gcs_options() -> BTreeMap<String, String> {
    let key = json!({
        "gcs_base_url": gcs_url(),
        "disable_oauth": true,
        "client_email": "",
        "private_key": "",
        "private_key_id": "",
    });
    BTreeMap::from([("google_service_account_key".to_owned(), key.to_string())])
}

/// Uploads every file under `dir` to the emulator's bucket under `prefix`, through the JSON
/// upload API (`tools/interop/gcs_upload.py`); returns the number of objects.
pub fn upload_dir(dir: &Path, prefix: &str) -> usize {
    let output = python_command()
        .arg(interop_script("gcs_upload.py"))
        .args([
            "--url",
            &gcs_url(),
            "--bucket",
            &gcs_bucket(),
            "--prefix",
            prefix,
        ])
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gcs_upload.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
