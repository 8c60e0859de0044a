//! The `tarn.archive` domain (a `domainMetadata` action): where a tiered table keeps files
//! outside its root, and the archive manifest of the files it detached.
//!
//! Its configuration is a JSON object with two keys (spec/format.md, "tarn extensions"):
//!
//! - `locations`: an array of URI prefixes (`"s3://archive-bucket/events/"`, or a `/`-rooted
//!   path on the table's own store) under which the table's log may name files. A reader that
//!   trusts the table counts them as registered locations for it (spec/format.md, "File
//!   paths").
//! - `detached`: the archive manifest, an array of [`DetachedFile`] records: files that left
//!   the live table (`tarn archive --mode detach`) and live only in an archive location, with
//!   everything needed to bring them back.
//!
//! The manifest is parsed only when asked for ([`ArchiveConfiguration::detached_files`]): a
//! reader resolving paths needs `locations` alone, and a manifest it cannot read (written by a
//! newer tarn) must not stop it from reading the table. Other keys are kept as they are, so a
//! writer that changes one key never drops what it does not understand; so are unknown keys
//! inside a record.
//!
//! This module only reads and writes the configuration; whether declared locations are
//! honoured is the caller's decision (`tarn_log::DeclaredLocations`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actions::{Add, DeletionVectorDescriptor, DomainMetadata};
use crate::error::ProtocolError;
use crate::store_location::{StoreKey, StoreLocation};

/// The domain's name.
pub const ARCHIVE_DOMAIN: &str = "tarn.archive";

/// The configuration key of the archive manifest.
pub const DETACHED_KEY: &str = "detached";

/// One file of the archive manifest: a file that left the live table and lives only in an
/// archive location.
///
/// Keys are camelCase in the JSON; keys this version does not know are kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetachedFile {
    /// The file's `add` as the live table last had it: its path in the table (usually
    /// relative), size, partition values, statistics, tags, deletion vector and row tracking
    /// fields.
    pub add: Add,
    /// Where the data file lives now: an absolute URI under one of the domain's `locations`.
    pub archive_path: String,
    /// The deletion vector of the archived copy, when the file has one stored in a file: a
    /// copy in the archive location, as an absolute (`p`) descriptor with the same offset,
    /// size and cardinality. Absent when the file has no deletion vector or an inline one
    /// (then `add.deletionVector` stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_deletion_vector: Option<DeletionVectorDescriptor>,
    /// When the file was detached, in milliseconds since the epoch (the detaching process's
    /// clock, as its `now`).
    pub detached_at: i64,
    /// The table version the detaching run read. Its commit is the first one after this
    /// version whose `commitInfo.operationParameters.runId` is [`DetachedFile::run_id`].
    pub read_version: u64,
    /// The id of the run that detached the file.
    pub run_id: String,
    /// Why: the rule that selected it (`day < '2026-01-01'`, `older than 90d`).
    pub reason: String,
    /// The storage class the archive copy was written with, if one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Every other key, kept verbatim.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl DetachedFile {
    /// The `add` that brings the file back into the live table from its archive copy: the
    /// recorded `add` with the archive path and deletion vector, as a data change.
    pub fn restored_add(&self) -> Add {
        let mut add = self.add.clone();
        add.path = self.archive_path.clone();
        if let Some(dv) = &self.archive_deletion_vector {
            add.deletion_vector = Some(dv.clone());
        }
        add.data_change = true;
        add
    }
}

/// The configuration of the `tarn.archive` domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveConfiguration {
    /// URI prefixes under which the table's files may live, besides its root.
    #[serde(default)]
    pub locations: Vec<String>,
    /// Every other key, kept verbatim (the manifest, `detached`, among them: see
    /// [`ArchiveConfiguration::detached_files`]).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ArchiveConfiguration {
    /// The archive manifest: the files the table detached, oldest first. Errors
    /// (`InvalidDomainMetadata`) if `detached` is not an array of records.
    pub fn detached_files(&self) -> Result<Vec<DetachedFile>, ProtocolError> {
        match self.other.get(DETACHED_KEY) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| invalid(format!("the archive manifest (`{DETACHED_KEY}`): {e}"))),
        }
    }

    /// How many files the manifest records, without parsing the records (0 when there is no
    /// manifest or it is not an array).
    pub fn detached_count(&self) -> usize {
        self.other
            .get(DETACHED_KEY)
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len)
    }

    /// Replaces the archive manifest (an empty one removes the key).
    pub fn set_detached_files(&mut self, files: &[DetachedFile]) -> Result<(), ProtocolError> {
        if files.is_empty() {
            self.other.remove(DETACHED_KEY);
            return Ok(());
        }
        let value = serde_json::to_value(files)
            .map_err(|e| invalid(format!("cannot write the archive manifest: {e}")))?;
        self.other.insert(DETACHED_KEY.to_owned(), value);
        Ok(())
    }

    /// Parses a configuration string. Errors (`InvalidDomainMetadata`) if it is not a JSON
    /// object or `locations` is not an array of strings; the locations themselves are checked
    /// by [`ArchiveConfiguration::declared_locations`].
    pub fn parse(configuration: &str) -> Result<Self, ProtocolError> {
        serde_json::from_str(configuration).map_err(|e| invalid(e.to_string()))
    }

    /// The configuration of the domain among a snapshot's domains; `None` when the table has
    /// no (live) `tarn.archive` domain.
    pub fn of_domains(
        domains: &BTreeMap<String, DomainMetadata>,
    ) -> Result<Option<Self>, ProtocolError> {
        match domains.get(ARCHIVE_DOMAIN) {
            Some(domain) if !domain.removed => Self::parse(&domain.configuration).map(Some),
            _ => Ok(None),
        }
    }

    /// The JSON text of the configuration, for a `domainMetadata` action.
    pub fn to_configuration(&self) -> String {
        // A map of strings and JSON values always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The declared locations, parsed and normalised; a `/`-rooted one is on `table_store`.
    /// Errors (`InvalidDomainMetadata`) name the first location that is not an absolute URI
    /// or `/`-rooted path, or that has a query, or climbs above its store's root.
    pub fn declared_locations(
        &self,
        table_store: &StoreKey,
    ) -> Result<Vec<StoreLocation>, ProtocolError> {
        self.locations
            .iter()
            .map(|text| {
                let absolute = text.starts_with('/') || text.contains("://");
                if !absolute {
                    return Err(invalid(format!(
                        "location {text:?} is not an absolute URI or a `/`-rooted path"
                    )));
                }
                StoreLocation::parse_declared(text, table_store)
                    .map_err(|reason| invalid(format!("location {text:?}: {reason}")))
            })
            .collect()
    }
}

fn invalid(reason: String) -> ProtocolError {
    ProtocolError::InvalidDomainMetadata {
        domain: ARCHIVE_DOMAIN.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    fn table_store() -> StoreKey {
        StoreKey::of_url(&Url::parse("s3://table-bucket/t").unwrap())
    }

    #[test]
    fn locations_parse_and_unknown_keys_are_kept() {
        let text =
            r#"{"locations":["s3://archive-bucket/events/","/cold/t"],"manifest":{"files":[1]}}"#;
        let config = ArchiveConfiguration::parse(text).unwrap();
        assert_eq!(config.locations.len(), 2);
        assert!(config.other.contains_key("manifest"));
        let declared = config.declared_locations(&table_store()).unwrap();
        assert_eq!(declared[0].to_uri(), "s3://archive-bucket/events");
        assert_eq!(declared[1].to_uri(), "s3://table-bucket/cold/t");
        let again = ArchiveConfiguration::parse(&config.to_configuration()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn no_locations_key_is_no_locations() {
        let config = ArchiveConfiguration::parse(r#"{"manifest":[]}"#).unwrap();
        assert!(config.locations.is_empty());
    }

    #[test]
    fn malformed_configurations_are_named() {
        for bad in [
            "not json",
            "[1]",
            r#"{"locations":"s3://a/"}"#,
            r#"{"locations":[1]}"#,
        ] {
            let err = ArchiveConfiguration::parse(bad).unwrap_err();
            assert!(
                matches!(&err, ProtocolError::InvalidDomainMetadata { domain, .. } if domain == ARCHIVE_DOMAIN),
                "{bad}: {err}"
            );
        }
        for bad in [
            "relative/dir",
            "s3://a/x?y=1",
            "/a/%2E%2E/%2E%2E",
            "//host/x",
        ] {
            let config = ArchiveConfiguration {
                locations: vec![bad.to_owned()],
                ..ArchiveConfiguration::default()
            };
            let err = config.declared_locations(&table_store()).unwrap_err();
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn a_removed_domain_declares_nothing() {
        let mut domains = BTreeMap::new();
        domains.insert(
            ARCHIVE_DOMAIN.to_owned(),
            DomainMetadata {
                domain: ARCHIVE_DOMAIN.to_owned(),
                configuration: r#"{"locations":["s3://a/"]}"#.to_owned(),
                removed: true,
            },
        );
        assert_eq!(ArchiveConfiguration::of_domains(&domains).unwrap(), None);
        domains.get_mut(ARCHIVE_DOMAIN).unwrap().removed = false;
        assert!(
            ArchiveConfiguration::of_domains(&domains)
                .unwrap()
                .is_some()
        );
    }

    fn detached(path: &str) -> DetachedFile {
        DetachedFile {
            add: Add {
                path: path.to_owned(),
                partition_values: Default::default(),
                size: 10,
                modification_time: 1,
                data_change: true,
                stats: Some(r#"{"numRecords":2}"#.to_owned()),
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            },
            archive_path: format!("s3://archive/t/{path}"),
            archive_deletion_vector: None,
            detached_at: 5,
            read_version: 3,
            run_id: "run".to_owned(),
            reason: "day < '2026-01-01'".to_owned(),
            storage_class: Some("GLACIER_IR".to_owned()),
            other: serde_json::Map::new(),
        }
    }

    #[test]
    fn the_manifest_round_trips_and_keeps_unknown_keys() {
        let mut config = ArchiveConfiguration {
            locations: vec!["s3://archive/t".to_owned()],
            ..ArchiveConfiguration::default()
        };
        assert!(config.detached_files().unwrap().is_empty());
        config
            .set_detached_files(&[detached("a.parquet"), detached("b.parquet")])
            .unwrap();
        let text = config.to_configuration();
        assert!(
            text.contains(r#""archivePath":"s3://archive/t/a.parquet""#),
            "{text}"
        );
        assert!(text.contains(r#""detachedAt":5"#), "{text}");
        // A newer writer's key inside a record survives a rewrite by this version.
        let text = text.replacen(r#""runId":"run""#, r#""runId":"run","future":[1]"#, 1);
        let again = ArchiveConfiguration::parse(&text).unwrap();
        assert_eq!(again.detached_count(), 2);
        let files = again.detached_files().unwrap();
        assert_eq!(files[1].add.path, "b.parquet");
        assert_eq!(files[0].other["future"], serde_json::json!([1]));
        let mut rewritten = again.clone();
        rewritten.set_detached_files(&files[..1]).unwrap();
        assert!(rewritten.to_configuration().contains(r#""future":[1]"#));
        let restored = files[0].restored_add();
        assert_eq!(restored.path, "s3://archive/t/a.parquet");
        assert!(restored.data_change);
        // An empty manifest removes the key.
        rewritten.set_detached_files(&[]).unwrap();
        assert!(!rewritten.to_configuration().contains(DETACHED_KEY));
    }

    #[test]
    fn a_malformed_manifest_does_not_hide_the_locations() {
        let config =
            ArchiveConfiguration::parse(r#"{"locations":["s3://a/t"],"detached":[{"add":1}]}"#)
                .unwrap();
        assert_eq!(config.locations, ["s3://a/t"]);
        assert_eq!(config.detached_count(), 1);
        let err = config.detached_files().unwrap_err().to_string();
        assert!(err.contains("archive manifest"), "{err}");
    }
}
