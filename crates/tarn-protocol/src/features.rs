//! Table features and protocol versions: which tables tarn may read and write.
//!
//! A table states what a client must understand in its `protocol` action: a reader version
//! (1-3) and writer version (1-7), and from reader 3 / writer 7 a list of named features
//! (PROTOCOL.md, "Table Features"). This module decides, as a pure function of that action,
//! whether tarn may read or write the table. It must never accept a table whose reader
//! features it does not implement: reading such a table could silently return wrong rows.
//! What tarn may write, and the protocol a new table needs, live in `features/write.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::actions::Protocol;
use crate::error::{FeatureUse, ProtocolError};

mod write;

pub use write::{
    APPEND_ONLY_KEY, CHECKPOINT_POLICY_KEY, CONSTRAINTS_PREFIX, ENABLE_CHANGE_DATA_FEED_KEY,
    ENABLE_DELETION_VECTORS_KEY, ENABLE_IN_COMMIT_TIMESTAMPS_KEY, ENABLE_ROW_TRACKING_KEY,
    ENABLE_TYPE_WIDENING_KEY, ENABLE_VARIANT_SHREDDING_KEY, FEATURE_PROPERTY_PREFIX,
    ROW_TRACKING_SUSPENDED_KEY, check_append_only, check_constraints, check_writable,
    is_append_only, protocol_for_new_table,
};

/// A named table feature. Unknown names are kept verbatim so a protocol round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TableFeature {
    /// `appendOnly`
    AppendOnly,
    /// `invariants`
    Invariants,
    /// `checkConstraints`
    CheckConstraints,
    /// `generatedColumns`
    GeneratedColumns,
    /// `allowColumnDefaults`
    AllowColumnDefaults,
    /// `changeDataFeed`
    ChangeDataFeed,
    /// `columnMapping`
    ColumnMapping,
    /// `identityColumns`
    IdentityColumns,
    /// `deletionVectors`
    DeletionVectors,
    /// `rowTracking`
    RowTracking,
    /// `timestampNtz`
    TimestampNtz,
    /// `domainMetadata`
    DomainMetadata,
    /// `v2Checkpoint`
    V2Checkpoint,
    /// `catalogManaged`
    CatalogManaged,
    /// `catalogOwned-preview`
    CatalogOwnedPreview,
    /// `icebergCompatV1`
    IcebergCompatV1,
    /// `icebergCompatV2`
    IcebergCompatV2,
    /// `icebergCompatV3`
    IcebergCompatV3,
    /// `clustering` (liquid clustering)
    Clustering,
    /// `liquid`: the name Databricks Runtime 13 gave clustering while in preview, with the
    /// clustering columns in the `delta.liquid` domain instead of `delta.clustering`.
    LiquidPreview,
    /// `vacuumProtocolCheck`
    VacuumProtocolCheck,
    /// `inCommitTimestamp`
    InCommitTimestamp,
    /// `typeWidening`
    TypeWidening,
    /// `typeWidening-preview`
    TypeWideningPreview,
    /// `variantType`
    VariantType,
    /// `variantType-preview`
    VariantTypePreview,
    /// `variantShredding`
    VariantShredding,
    /// `variantShredding-preview`
    VariantShreddingPreview,
    /// A feature name this version of tarn does not know.
    Unknown(String),
}

/// Every known feature with its protocol name and whether readers must understand it.
const KNOWN: &[(TableFeature, &str, FeatureKind)] = &[
    (
        TableFeature::AppendOnly,
        "appendOnly",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::Invariants,
        "invariants",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::CheckConstraints,
        "checkConstraints",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::GeneratedColumns,
        "generatedColumns",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::AllowColumnDefaults,
        "allowColumnDefaults",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::ChangeDataFeed,
        "changeDataFeed",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::ColumnMapping,
        "columnMapping",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::IdentityColumns,
        "identityColumns",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::DeletionVectors,
        "deletionVectors",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::RowTracking,
        "rowTracking",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::TimestampNtz,
        "timestampNtz",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::DomainMetadata,
        "domainMetadata",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::V2Checkpoint,
        "v2Checkpoint",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::CatalogManaged,
        "catalogManaged",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::CatalogOwnedPreview,
        "catalogOwned-preview",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::IcebergCompatV1,
        "icebergCompatV1",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::IcebergCompatV2,
        "icebergCompatV2",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::IcebergCompatV3,
        "icebergCompatV3",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::Clustering,
        "clustering",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::LiquidPreview,
        "liquid",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::VacuumProtocolCheck,
        "vacuumProtocolCheck",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::InCommitTimestamp,
        "inCommitTimestamp",
        FeatureKind::WriterOnly,
    ),
    (
        TableFeature::TypeWidening,
        "typeWidening",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::TypeWideningPreview,
        "typeWidening-preview",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::VariantType,
        "variantType",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::VariantTypePreview,
        "variantType-preview",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::VariantShredding,
        "variantShredding",
        FeatureKind::ReaderWriter,
    ),
    (
        TableFeature::VariantShreddingPreview,
        "variantShredding-preview",
        FeatureKind::ReaderWriter,
    ),
];

/// Whether a feature concerns writers only or readers and writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// Readers may ignore it.
    WriterOnly,
    /// Readers must understand it.
    ReaderWriter,
}

impl TableFeature {
    /// The protocol name of the feature.
    pub fn name(&self) -> &str {
        match self {
            TableFeature::Unknown(name) => name,
            known => KNOWN
                .iter()
                .find(|(feature, _, _)| feature == known)
                .map_or("", |(_, name, _)| name),
        }
    }

    /// Whether readers must understand the feature; `None` for unknown features.
    pub fn kind(&self) -> Option<FeatureKind> {
        KNOWN
            .iter()
            .find(|(feature, _, _)| feature == self)
            .map(|(_, _, kind)| *kind)
    }

    /// Every feature this version of tarn knows, in protocol order.
    pub fn all_known() -> impl Iterator<Item = TableFeature> {
        KNOWN.iter().map(|(feature, _, _)| feature.clone())
    }
}

impl FromStr for TableFeature {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `timestampWithoutTimezone` is the name early writers used for `timestampNtz`.
        if s == "timestampWithoutTimezone" {
            return Ok(TableFeature::TimestampNtz);
        }
        Ok(KNOWN.iter().find(|(_, name, _)| *name == s).map_or_else(
            || TableFeature::Unknown(s.to_owned()),
            |(f, _, _)| f.clone(),
        ))
    }
}

impl fmt::Display for TableFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TableFeature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TableFeature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let Ok(feature) = name.parse();
        Ok(feature)
    }
}

/// Highest reader protocol version tarn implements.
pub const MAX_READER_VERSION: i32 = 3;
/// Highest writer protocol version tarn implements.
pub const MAX_WRITER_VERSION: i32 = 7;

/// Reader features whose effect on the *log* tarn implements: with these, a snapshot (file
/// list, schema, properties, history) is exact. Scans check their own, narrower list.
const LOG_READABLE: &[TableFeature] = &[
    TableFeature::ColumnMapping,
    TableFeature::DeletionVectors,
    TableFeature::TimestampNtz,
    TableFeature::V2Checkpoint,
    TableFeature::VacuumProtocolCheck,
    TableFeature::TypeWidening,
    TableFeature::TypeWideningPreview,
    TableFeature::VariantType,
    TableFeature::VariantTypePreview,
    TableFeature::VariantShredding,
    TableFeature::VariantShreddingPreview,
];

/// Reader features whose effect on *data* tarn's scans implement: with these, rows come back
/// exactly. Variant columns are returned in their binary encoding (a struct of `metadata` and
/// `value`); shredded variants (PROTOCOL.md, "Reader Requirements for Variant Shredding") are
/// reassembled into that encoding by the scan.
const DATA_READABLE: &[TableFeature] = &[
    TableFeature::ColumnMapping,
    TableFeature::DeletionVectors,
    TableFeature::TimestampNtz,
    TableFeature::V2Checkpoint,
    TableFeature::VacuumProtocolCheck,
    TableFeature::TypeWidening,
    TableFeature::TypeWideningPreview,
    TableFeature::VariantType,
    TableFeature::VariantTypePreview,
    TableFeature::VariantShredding,
    TableFeature::VariantShreddingPreview,
];

/// The features a table requires of readers, including those implied by legacy reader
/// versions (reader 2 implies column mapping).
pub fn effective_reader_features(protocol: &Protocol) -> Vec<TableFeature> {
    match protocol.min_reader_version {
        3 => protocol.reader_features.clone().unwrap_or_default(),
        2 => vec![TableFeature::ColumnMapping],
        _ => Vec::new(),
    }
}

/// The features a table requires of writers, including those implied by legacy writer
/// versions (PROTOCOL.md, "Writer Version Requirements").
pub fn effective_writer_features(protocol: &Protocol) -> Vec<TableFeature> {
    if protocol.min_writer_version >= 7 {
        return protocol.writer_features.clone().unwrap_or_default();
    }
    let mut features = Vec::new();
    let v = protocol.min_writer_version;
    if v >= 2 {
        features.extend([TableFeature::AppendOnly, TableFeature::Invariants]);
    }
    if v >= 3 {
        features.push(TableFeature::CheckConstraints);
    }
    if v >= 4 {
        features.extend([TableFeature::ChangeDataFeed, TableFeature::GeneratedColumns]);
    }
    if v >= 5 {
        features.push(TableFeature::ColumnMapping);
    }
    if v >= 6 {
        features.push(TableFeature::IdentityColumns);
    }
    features
}

/// Checks that the protocol action is well formed: versions in range, feature lists present
/// exactly where the versions call for them.
pub fn validate_protocol(protocol: &Protocol) -> Result<(), ProtocolError> {
    if protocol.min_reader_version < 1 || protocol.min_writer_version < 1 {
        return Err(ProtocolError::InvalidProtocol {
            reason: format!(
                "protocol versions must be at least 1, found reader {} / writer {}",
                protocol.min_reader_version, protocol.min_writer_version
            ),
        });
    }
    if protocol.min_reader_version == 3 && protocol.min_writer_version != 7 {
        return Err(ProtocolError::InvalidProtocol {
            reason: format!(
                "reader version 3 requires writer version 7, found {}",
                protocol.min_writer_version
            ),
        });
    }
    if protocol.min_reader_version == 3 && protocol.reader_features.is_none() {
        return Err(ProtocolError::InvalidProtocol {
            reason: "reader version 3 requires a readerFeatures list".to_owned(),
        });
    }
    if protocol.min_writer_version == 7 && protocol.writer_features.is_none() {
        return Err(ProtocolError::InvalidProtocol {
            reason: "writer version 7 requires a writerFeatures list".to_owned(),
        });
    }
    if let (Some(readers), Some(writers)) = (&protocol.reader_features, &protocol.writer_features)
        && let Some(missing) = readers.iter().find(|f| !writers.contains(f))
    {
        return Err(ProtocolError::InvalidProtocol {
            reason: format!("reader feature `{missing}` is not listed in writerFeatures"),
        });
    }
    Ok(())
}

/// Checks that tarn can build an exact snapshot (files, schema, properties) of a table with
/// this protocol. Fails on a reader version outside 1..=3 and on any reader feature tarn does
/// not implement, naming it. Writer-side inconsistencies are left to [`validate_protocol`],
/// which writers call: a reader has no reason to refuse a table it can read exactly.
pub fn check_log_readable(protocol: &Protocol) -> Result<(), ProtocolError> {
    if protocol.min_reader_version > MAX_READER_VERSION {
        return Err(ProtocolError::UnsupportedProtocolVersion {
            version: protocol.min_reader_version,
            supported: MAX_READER_VERSION,
            usage: FeatureUse::Read,
        });
    }
    if protocol.min_reader_version < 1 {
        return Err(ProtocolError::InvalidProtocol {
            reason: format!(
                "reader version must be at least 1, found {}",
                protocol.min_reader_version
            ),
        });
    }
    for feature in effective_reader_features(protocol) {
        if !LOG_READABLE.contains(&feature) {
            return Err(ProtocolError::UnsupportedFeature {
                feature: feature.name().to_owned(),
                usage: FeatureUse::Read,
            });
        }
    }
    Ok(())
}

/// Checks that tarn's scans return a table's rows exactly: [`check_log_readable`], and every
/// reader feature affects data in a way scans implement. Fails naming the first feature that
/// does not.
pub fn check_data_readable(protocol: &Protocol) -> Result<(), ProtocolError> {
    check_log_readable(protocol)?;
    for feature in effective_reader_features(protocol) {
        if !DATA_READABLE.contains(&feature) {
            return Err(ProtocolError::UnsupportedFeature {
                feature: feature.name().to_owned(),
                usage: FeatureUse::Read,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(r: i32, w: i32, rf: Option<&[&str]>, wf: Option<&[&str]>) -> Protocol {
        let parse = |names: &[&str]| names.iter().map(|n| n.parse().unwrap()).collect();
        Protocol {
            min_reader_version: r,
            min_writer_version: w,
            reader_features: rf.map(parse),
            writer_features: wf.map(parse),
        }
    }

    #[test]
    fn names_round_trip() {
        for feature in TableFeature::all_known() {
            let parsed: TableFeature = feature.name().parse().unwrap();
            assert_eq!(parsed, feature);
            let json = serde_json::to_string(&feature).unwrap();
            assert_eq!(
                serde_json::from_str::<TableFeature>(&json).unwrap(),
                feature
            );
        }
        let unknown: TableFeature = "someFutureFeature".parse().unwrap();
        assert_eq!(unknown, TableFeature::Unknown("someFutureFeature".into()));
        assert_eq!(unknown.name(), "someFutureFeature");
        assert_eq!(unknown.kind(), None);
    }

    #[test]
    fn legacy_alias_for_timestamp_ntz() {
        let f: TableFeature = "timestampWithoutTimezone".parse().unwrap();
        assert_eq!(f, TableFeature::TimestampNtz);
    }

    #[test]
    fn unknown_reader_feature_is_refused_by_name() {
        let p = protocol(3, 7, Some(&["futureThing"]), Some(&["futureThing"]));
        match check_log_readable(&p) {
            Err(ProtocolError::UnsupportedFeature { feature, usage }) => {
                assert_eq!(feature, "futureThing");
                assert_eq!(usage, FeatureUse::Read);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn catalog_managed_is_refused() {
        let p = protocol(3, 7, Some(&["catalogManaged"]), Some(&["catalogManaged"]));
        assert!(check_log_readable(&p).is_err());
    }

    #[test]
    fn known_reader_features_and_legacy_versions_are_readable() {
        for r in 1..=2 {
            for w in 1..=6 {
                check_log_readable(&protocol(r, w, None, None)).unwrap();
            }
        }
        let p = protocol(
            3,
            7,
            Some(&["deletionVectors", "columnMapping", "v2Checkpoint"]),
            Some(&[
                "deletionVectors",
                "columnMapping",
                "v2Checkpoint",
                "appendOnly",
            ]),
        );
        check_log_readable(&p).unwrap();
    }

    #[test]
    fn shredded_variants_are_readable_in_the_log_and_in_scans() {
        for name in ["variantShredding", "variantShredding-preview"] {
            let p = protocol(
                3,
                7,
                Some(&["variantType", name]),
                Some(&["variantType", name]),
            );
            check_log_readable(&p).unwrap();
            check_data_readable(&p).unwrap();
        }
        let dv = protocol(3, 7, Some(&["deletionVectors"]), Some(&["deletionVectors"]));
        check_data_readable(&dv).unwrap();
    }

    #[test]
    fn catalog_managed_tables_are_refused_by_scans_too() {
        let p = protocol(3, 7, Some(&["catalogManaged"]), Some(&["catalogManaged"]));
        match check_data_readable(&p) {
            Err(ProtocolError::UnsupportedFeature { feature, usage }) => {
                assert_eq!(feature, "catalogManaged");
                assert_eq!(usage, FeatureUse::Read);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reader_version_four_is_refused() {
        assert!(matches!(
            check_log_readable(&protocol(4, 7, None, Some(&[]))),
            Err(ProtocolError::UnsupportedProtocolVersion { version: 4, .. })
        ));
    }

    #[test]
    fn malformed_protocols_are_rejected() {
        assert!(validate_protocol(&protocol(3, 7, None, Some(&[]))).is_err());
        assert!(validate_protocol(&protocol(3, 5, Some(&[]), None)).is_err());
        assert!(validate_protocol(&protocol(1, 7, None, None)).is_err());
        assert!(validate_protocol(&protocol(0, 2, None, None)).is_err());
        assert!(
            validate_protocol(&protocol(
                3,
                7,
                Some(&["deletionVectors"]),
                Some(&["appendOnly"])
            ))
            .is_err()
        );
    }

    #[test]
    fn legacy_writer_versions_imply_features() {
        let w4 = effective_writer_features(&protocol(1, 4, None, None));
        assert!(w4.contains(&TableFeature::ChangeDataFeed));
        assert!(!w4.contains(&TableFeature::ColumnMapping));
        assert_eq!(
            effective_reader_features(&protocol(2, 5, None, None)),
            vec![TableFeature::ColumnMapping]
        );
    }
}
