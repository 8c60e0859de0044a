//! `--store`, `--store-option` and `--untrusted`: the locations besides a table's root where
//! its log may name files, turned into the library's store registry.
//!
//! `--store PREFIX` registers a location reached with the table's own `-o` options (another
//! bucket of the same account, a second local directory). `--store-option PREFIX KEY=VALUE`
//! gives a location options of its own instead (another account, another endpoint); the
//! prefix and the option are two arguments because a prefix may itself hold `=` (a Hive
//! partition directory). `--untrusted` refuses the locations a table declares in its own log.
//! This module only collects; what a prefix covers is the library's decision.

use std::collections::BTreeMap;

use tarn::{DeclaredLocations, StoreRegistry};

use crate::CliError;

/// The registry the flags describe. `table_options` are the `-o` options; `store_options`
/// is the flat list of `--store-option` values, `PREFIX KEY=VALUE` pairs.
pub(crate) fn registry(
    stores: &[String],
    store_options: &[String],
    table_options: &BTreeMap<String, String>,
) -> Result<StoreRegistry, CliError> {
    let mut own: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (index, pair) in store_options.chunks(2).enumerate() {
        let [prefix, option] = pair else {
            return Err(CliError::Usage(
                "--store-option takes two values: PREFIX KEY=VALUE".to_owned(),
            ));
        };
        // Not quoted back: a malformed option may be a secret with its key missing.
        let (key, value) = option
            .split_once('=')
            .map(|(key, value)| (key.trim(), value))
            .filter(|(key, _)| !key.is_empty())
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--store-option {} (for {}) is not PREFIX KEY=VALUE",
                    index + 1,
                    tarn_log::location::redact_uri(prefix)
                ))
            })?;
        own.entry(prefix.as_str())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }
    let mut registry = StoreRegistry::new();
    for prefix in stores {
        if !own.contains_key(prefix.as_str()) {
            registry
                .register(prefix, table_options)
                .map_err(tarn::Error::from)?;
        }
    }
    for (prefix, options) in &own {
        registry
            .register(prefix, options)
            .map_err(tarn::Error::from)?;
    }
    Ok(registry)
}

/// What `--untrusted` says about the locations a table declares.
pub(crate) fn declared_locations(untrusted: bool) -> DeclaredLocations {
    if untrusted {
        DeclaredLocations::Refuse
    } else {
        DeclaredLocations::Trust
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn stores_and_their_options() {
        let registry = registry(
            &strings(&["memory://args-a/x/", "memory://args-b/y"]),
            &strings(&[]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            registry.prefixes(),
            ["memory://args-a/x", "memory://args-b/y"]
        );
        // An S3 location with options of its own; a prefix with `=` in it.
        let registry = registry_with_options();
        assert_eq!(registry.prefixes(), ["s3://archive/day=1"]);
    }

    fn registry_with_options() -> StoreRegistry {
        registry(
            &strings(&["s3://archive/day=1/"]),
            &strings(&[
                "s3://archive/day=1/",
                "aws_region=us-east-1",
                "s3://archive/day=1/",
                "aws_access_key_id=test",
                "s3://archive/day=1/",
                "aws_secret_access_key=test",
                "s3://archive/day=1/",
                "aws_endpoint=http://127.0.0.1:1",
            ]),
            // The table's options would not do for S3: they are not used for this prefix.
            &BTreeMap::from([("azure_storage_account_name".to_owned(), "a".to_owned())]),
        )
        .unwrap()
    }

    #[test]
    fn malformed_options_are_usage_errors_that_do_not_quote_the_value() {
        let err = registry(
            &[],
            &strings(&["s3://archive/", "SECRETVALUE"]),
            &BTreeMap::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not PREFIX KEY=VALUE"), "{err}");
        assert!(!err.contains("SECRETVALUE"), "{err}");
        let err = registry(&[], &strings(&["s3://archive/"]), &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("two values"), "{err}");
    }

    #[test]
    fn an_option_the_store_lacks_is_named() {
        let err = registry(
            &strings(&["s3://archive/"]),
            &[],
            &BTreeMap::from([("azure_storage_account_name".to_owned(), "a".to_owned())]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("azure_storage_account_name"), "{err}");
    }
}
