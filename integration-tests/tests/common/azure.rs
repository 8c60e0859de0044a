//! The azurite Azure Blob emulator that `tools/test.sh` starts on 127.0.0.1
//! (`tools/azurite.sh`): its URL and container come from `TARN_TEST_AZURE_URL` and
//! `TARN_TEST_AZURE_CONTAINER`.
//!
//! object_store finds the emulator through `azure_storage_use_emulator` and reads its address
//! from `AZURITE_BLOB_STORAGE_URL` only (not from an option), which the script exports with the
//! same URL; [`azure_options`] checks that they agree, so a test can never talk to a default
//! emulator port. The account and key are azurite's well-known development ones, passed
//! explicitly: no credential discovery.

use std::collections::BTreeMap;

use super::{emulator_env, emulator_url};

const WHAT: &str = "the azurite Azure Blob emulator";
const ALL: &str = "TARN_TEST_AZURE_URL, TARN_TEST_AZURE_CONTAINER and AZURITE_BLOB_STORAGE_URL";

/// Azurite's well-known development account and key.
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The emulator's URL, `http://127.0.0.1:PORT`.
pub fn azure_url() -> String {
    emulator_url("TARN_TEST_AZURE_URL", WHAT, ALL)
}

/// The container `tools/test.sh` created in the emulator.
pub fn azure_container() -> String {
    emulator_env("TARN_TEST_AZURE_CONTAINER", WHAT, ALL)
}

/// Storage options (object_store config keys) for the emulator: emulator mode, the
/// well-known account and key, all explicit.
pub fn azure_options() -> BTreeMap<String, String> {
    let url = azure_url();
    let seen_by_object_store = emulator_url("AZURITE_BLOB_STORAGE_URL", WHAT, ALL);
    assert_eq!(
        seen_by_object_store, url,
        "AZURITE_BLOB_STORAGE_URL (where object_store sends requests) must be \
         TARN_TEST_AZURE_URL"
    );
    [
        ("azure_storage_use_emulator", "true"),
        ("azure_storage_account_name", ACCOUNT),
        ("azure_storage_account_key", KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
