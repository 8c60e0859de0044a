//! The `tarn.archive` domain (a `domainMetadata` action): where a tiered table keeps files
//! outside its root.
//!
//! Its configuration is a JSON object. This version defines one key, `locations`: an array of
//! URI prefixes (`"s3://archive-bucket/events/"`, or a `/`-rooted path on the table's own
//! store) under which the table's log may name files. A reader that trusts the table counts
//! them as registered locations for it (spec/format.md, "File paths"). Other keys (the archive
//! manifest, added later) are kept as they are, so a writer that changes `locations` never
//! drops what it does not understand.
//!
//! This module only reads and writes the configuration; whether declared locations are
//! honoured is the caller's decision (`tarn_log::DeclaredLocations`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actions::DomainMetadata;
use crate::error::ProtocolError;
use crate::store_location::{StoreKey, StoreLocation};

/// The domain's name.
pub const ARCHIVE_DOMAIN: &str = "tarn.archive";

/// The configuration of the `tarn.archive` domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiveConfiguration {
    /// URI prefixes under which the table's files may live, besides its root.
    #[serde(default)]
    pub locations: Vec<String>,
    /// Every other key, kept verbatim.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ArchiveConfiguration {
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
}
