//! Which tables tarn may write, and which protocol a new table needs.
//!
//! A writer must "implement and respect" every feature a table lists for writers (PROTOCOL.md,
//! "Table Features"), but a feature that is only *supported* and not *active* asks nothing of
//! it ("Supported Features", "Active Features"): a table listing `changeDataFeed` without
//! `delta.enableChangeDataFeed = true` needs no change data files. So [`check_writable`] looks
//! at the protocol *and* the metadata, and refuses a feature only where tarn would have to do
//! something it does not do. It must never accept a table whose active features tarn's writer
//! does not honour: that would write a table other engines then read wrongly.
//!
//! tarn's writer honours: `appendOnly` (through [`check_append_only`]), `checkConstraints`
//! (the writer evaluates [`check_constraints`] on every new row), `deletionVectors` (it
//! creates none and carries existing ones in its removes), `timestampNtz`, `typeWidening`
//! (it never widens a type itself), `domainMetadata`, `vacuumProtocolCheck` (which asks
//! nothing of commits), `variantShredding` (it never shreds, which the protocol always
//! allows), `rowTracking` (every commit assigns row ids where it lands,
//! [`crate::row_tracking`]) and `clustering` with its preview name `liquid` (the clustering
//! domain is only written on creation; files written by clustering carry
//! `clusteringProvider`). It refuses, while they are active: `invariants`,
//! `generatedColumns`, `allowColumnDefaults`, `identityColumns` (when the schema uses them),
//! `changeDataFeed`, `columnMapping`, `inCommitTimestamp`, `icebergCompatV1/V2/V3` (when the
//! table property enables them) and `variantType` (when a column is a variant). It always
//! refuses `v2Checkpoint` (tarn writes classic checkpoints only), catalog-managed tables and
//! unknown features.

use crate::actions::{Action, Metadata, Protocol};
use crate::error::{FeatureUse, ProtocolError};
use crate::features::{
    FeatureKind, MAX_WRITER_VERSION, TableFeature, check_log_readable, effective_reader_features,
    effective_writer_features, validate_protocol,
};
use crate::schema::{COLUMN_MAPPING_MODE_KEY, ColumnMappingMode, DataType, StructType};

/// Table property that makes a table append-only.
pub const APPEND_ONLY_KEY: &str = "delta.appendOnly";
/// Prefix of the table properties holding CHECK constraints (`delta.constraints.<name>`).
pub const CONSTRAINTS_PREFIX: &str = "delta.constraints.";
/// Table property that enables the change data feed.
pub const ENABLE_CHANGE_DATA_FEED_KEY: &str = "delta.enableChangeDataFeed";
/// Table property that enables deletion vectors.
pub const ENABLE_DELETION_VECTORS_KEY: &str = "delta.enableDeletionVectors";
/// Table property that enables in-commit timestamps.
pub const ENABLE_IN_COMMIT_TIMESTAMPS_KEY: &str = "delta.enableInCommitTimestamps";
/// Table property that enables row tracking.
pub const ENABLE_ROW_TRACKING_KEY: &str = "delta.enableRowTracking";
/// Table property that suspends row id assignment on a table supporting row tracking.
pub const ROW_TRACKING_SUSPENDED_KEY: &str = "delta.rowTrackingSuspended";
/// Table property that enables type widening.
pub const ENABLE_TYPE_WIDENING_KEY: &str = "delta.enableTypeWidening";
/// Table property that enables variant shredding.
pub const ENABLE_VARIANT_SHREDDING_KEY: &str = "delta.enableVariantShredding";
/// Table property that selects the checkpoint policy (`classic` or `v2`).
pub const CHECKPOINT_POLICY_KEY: &str = "delta.checkpointPolicy";
/// Prefix of the table properties that ask for a feature explicitly
/// (`delta.feature.<name>` = `supported` or `enabled`, as Spark accepts them).
pub const FEATURE_PROPERTY_PREFIX: &str = "delta.feature.";

/// Column metadata key of an invariant (PROTOCOL.md, "Column Invariants").
const INVARIANTS_KEY: &str = "delta.invariants";
/// Column metadata key of a generation expression (PROTOCOL.md, "Generated Columns").
const GENERATION_EXPRESSION_KEY: &str = "delta.generationExpression";
/// Column metadata key of a default expression (PROTOCOL.md, "Default Columns").
const DEFAULT_KEY: &str = "CURRENT_DEFAULT";
/// Prefix of the column metadata keys of identity columns (PROTOCOL.md, "Identity Columns").
const IDENTITY_PREFIX: &str = "delta.identity.";

/// Whether a table property is set to `true` (Delta booleans are matched ignoring case).
fn property_is_true(metadata: &Metadata, key: &str) -> bool {
    metadata
        .configuration
        .get(key)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// The first column (as a dotted field path) whose metadata has a key matching `matches`.
fn column_with_key(schema: &StructType, matches: &dyn Fn(&str) -> bool) -> Option<String> {
    fn in_type(data_type: &DataType, path: &str, matches: &dyn Fn(&str) -> bool) -> Option<String> {
        match data_type {
            DataType::Primitive(_) | DataType::Variant => None,
            DataType::Array(array) => in_type(&array.element_type, path, matches),
            DataType::Map(map) => in_type(&map.key_type, path, matches)
                .or_else(|| in_type(&map.value_type, path, matches)),
            DataType::Struct(inner) => in_struct(inner, path, matches),
        }
    }
    fn in_struct(
        struct_type: &StructType,
        parent: &str,
        matches: &dyn Fn(&str) -> bool,
    ) -> Option<String> {
        struct_type.fields.iter().find_map(|field| {
            let path = if parent.is_empty() {
                field.name.clone()
            } else {
                format!("{parent}.{}", field.name)
            };
            if field.metadata.keys().any(|key| matches(key)) {
                return Some(path);
            }
            in_type(&field.data_type, &path, matches)
        })
    }
    in_struct(schema, "", matches)
}

/// The first column (as a dotted field path) whose type contains a type matching `matches`.
fn column_with_type(schema: &StructType, matches: &dyn Fn(&DataType) -> bool) -> Option<String> {
    fn contains(data_type: &DataType, matches: &dyn Fn(&DataType) -> bool) -> bool {
        matches(data_type)
            || match data_type {
                DataType::Primitive(_) | DataType::Variant => false,
                DataType::Array(array) => contains(&array.element_type, matches),
                DataType::Map(map) => {
                    contains(&map.key_type, matches) || contains(&map.value_type, matches)
                }
                DataType::Struct(_) => false,
            }
    }
    fn in_struct(
        struct_type: &StructType,
        parent: &str,
        matches: &dyn Fn(&DataType) -> bool,
    ) -> Option<String> {
        struct_type.fields.iter().find_map(|field| {
            let path = if parent.is_empty() {
                field.name.clone()
            } else {
                format!("{parent}.{}", field.name)
            };
            if contains(&field.data_type, matches) {
                return Some(path);
            }
            nested_structs(&field.data_type)
                .into_iter()
                .find_map(|inner| in_struct(inner, &path, matches))
        })
    }
    /// The struct types directly reachable from a type (through arrays and maps).
    fn nested_structs(data_type: &DataType) -> Vec<&StructType> {
        match data_type {
            DataType::Primitive(_) | DataType::Variant => Vec::new(),
            DataType::Struct(inner) => vec![inner.as_ref()],
            DataType::Array(array) => nested_structs(&array.element_type),
            DataType::Map(map) => {
                let mut out = nested_structs(&map.key_type);
                out.extend(nested_structs(&map.value_type));
                out
            }
        }
    }
    in_struct(schema, "", matches)
}

fn is_timestamp_ntz(data_type: &DataType) -> bool {
    *data_type == DataType::TIMESTAMP_NTZ
}

fn is_variant(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Variant)
}

/// The table's schema, parsed from its metadata.
fn schema_of(metadata: &Metadata) -> Result<StructType, ProtocolError> {
    StructType::from_json(&metadata.schema_string)
}

/// Why an active feature stops tarn from writing, or `None` when tarn honours it (or it is
/// not active). Features tarn never writes are answered by the caller.
fn active_use(
    feature: &TableFeature,
    metadata: &Metadata,
    schema: &StructType,
) -> Result<Option<String>, ProtocolError> {
    let property =
        |key: &str| property_is_true(metadata, key).then(|| format!("table property {key} = true"));
    let column_key = |key: &'static str, what: &str| {
        column_with_key(schema, &|k| k == key)
            .map(|column| format!("column `{column}` has {what} ({key})"))
    };
    Ok(match feature {
        TableFeature::Invariants => column_key(INVARIANTS_KEY, "an invariant"),
        TableFeature::GeneratedColumns => {
            column_key(GENERATION_EXPRESSION_KEY, "a generation expression")
        }
        TableFeature::AllowColumnDefaults => column_key(DEFAULT_KEY, "a default value"),
        TableFeature::IdentityColumns => {
            column_with_key(schema, &|k| k.starts_with(IDENTITY_PREFIX))
                .map(|column| format!("column `{column}` is an identity column"))
        }
        TableFeature::ChangeDataFeed => property(ENABLE_CHANGE_DATA_FEED_KEY),
        TableFeature::InCommitTimestamp => property(ENABLE_IN_COMMIT_TIMESTAMPS_KEY),
        TableFeature::IcebergCompatV1 => property("delta.enableIcebergCompatV1"),
        TableFeature::IcebergCompatV2 => property("delta.enableIcebergCompatV2"),
        TableFeature::IcebergCompatV3 => property("delta.enableIcebergCompatV3"),
        TableFeature::ColumnMapping => {
            match ColumnMappingMode::from_configuration(&metadata.configuration)? {
                ColumnMappingMode::None => None,
                mode => Some(format!("table property {COLUMN_MAPPING_MODE_KEY} = {mode}")),
            }
        }
        TableFeature::VariantType | TableFeature::VariantTypePreview => {
            column_with_type(schema, &is_variant)
                .map(|column| format!("column `{column}` is a variant"))
        }
        _ => None,
    })
}

/// How tarn's writer stands towards a feature.
enum WriteSupport {
    /// Honoured whether active or not.
    Always,
    /// Honoured only while not active (see [`active_use`]).
    WhileInactive,
    /// Never written.
    Never,
}

fn write_support(feature: &TableFeature) -> WriteSupport {
    match feature {
        TableFeature::AppendOnly
        | TableFeature::CheckConstraints
        | TableFeature::DeletionVectors
        | TableFeature::TimestampNtz
        | TableFeature::TypeWidening
        | TableFeature::TypeWideningPreview
        | TableFeature::DomainMetadata
        | TableFeature::VacuumProtocolCheck => WriteSupport::Always,
        // PROTOCOL.md, "Writer Requirements for Clustered Table": the clustering columns are
        // kept in the `delta.clustering` domain (tarn never rewrites it but on creation), and
        // files written by clustering carry `clusteringProvider` (tarn-maintenance does);
        // other writes may add unclustered files.
        TableFeature::Clustering | TableFeature::LiquidPreview => WriteSupport::Always,
        // PROTOCOL.md, "Writer Requirements for Row Tracking": every commit assigns
        // `baseRowId` and `defaultRowCommitVersion` to its new files and raises the high
        // water mark where it lands (tarn-log's commit, through `row_tracking`); rewrites
        // either preserve stable ids in the materialized columns or say they did not
        // (`delta.rowTracking.preserved`).
        TableFeature::RowTracking => WriteSupport::Always,
        // PROTOCOL.md, "Writer Requirements for Variant Shredding": with shredding enabled a
        // writer *may* shred and is "free to write variant columns in the unshredded format";
        // without it, it must write them unshredded. tarn never shreds, so it meets both
        // cases. (Writing a variant column at all is still refused through `variantType`.)
        TableFeature::VariantShredding | TableFeature::VariantShreddingPreview => {
            WriteSupport::Always
        }
        TableFeature::Invariants
        | TableFeature::GeneratedColumns
        | TableFeature::AllowColumnDefaults
        | TableFeature::IdentityColumns
        | TableFeature::ChangeDataFeed
        | TableFeature::ColumnMapping
        | TableFeature::InCommitTimestamp
        | TableFeature::IcebergCompatV1
        | TableFeature::IcebergCompatV2
        | TableFeature::IcebergCompatV3
        | TableFeature::VariantType
        | TableFeature::VariantTypePreview => WriteSupport::WhileInactive,
        TableFeature::V2Checkpoint
        | TableFeature::CatalogManaged
        | TableFeature::CatalogOwnedPreview
        | TableFeature::Unknown(_) => WriteSupport::Never,
    }
}

/// Checks that tarn may commit to a table with this protocol and metadata.
///
/// Pass the metadata the commit leaves the table with: a commit that changes metadata (say,
/// sets `delta.enableChangeDataFeed`) must be checked against its new metadata.
///
/// Fails on a malformed protocol ([`validate_protocol`]), a writer version above 7, anything
/// [`check_log_readable`] refuses (writers read the log), a feature tarn never writes
/// ([`ProtocolError::UnsupportedFeature`] with [`FeatureUse::Write`]) and a feature that is
/// active in a way tarn does not honour ([`ProtocolError::UnsupportedActiveFeature`]); both
/// errors name the feature. Features implied by legacy writer versions (writer 4 implies
/// `changeDataFeed` and `generatedColumns`, ...) are judged like listed ones: a writer-4 table
/// without `delta.enableChangeDataFeed = true` or generation expressions is writable.
pub fn check_writable(protocol: &Protocol, metadata: &Metadata) -> Result<(), ProtocolError> {
    validate_protocol(protocol)?;
    if protocol.min_writer_version > MAX_WRITER_VERSION {
        return Err(ProtocolError::UnsupportedProtocolVersion {
            version: protocol.min_writer_version,
            supported: MAX_WRITER_VERSION,
            usage: FeatureUse::Write,
        });
    }
    check_log_readable(protocol)?;
    let schema = schema_of(metadata)?;
    let mut features = effective_writer_features(protocol);
    for feature in effective_reader_features(protocol) {
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    for feature in &features {
        match write_support(feature) {
            WriteSupport::Always => {}
            WriteSupport::Never => {
                return Err(ProtocolError::UnsupportedFeature {
                    feature: feature.name().to_owned(),
                    usage: FeatureUse::Write,
                });
            }
            WriteSupport::WhileInactive => {
                if let Some(because) = active_use(feature, metadata, &schema)? {
                    return Err(ProtocolError::UnsupportedActiveFeature {
                        feature: feature.name().to_owned(),
                        because,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Whether the table is append-only: `delta.appendOnly = true`.
///
/// The protocol honours the property only where the `appendOnly` feature is supported
/// (writer 2 to 6, or listed at writer 7); tarn honours it whatever the protocol says, since
/// the table's owner asked for it and refusing a removal is the safe side.
pub fn is_append_only(metadata: &Metadata) -> bool {
    property_is_true(metadata, APPEND_ONLY_KEY)
}

/// Checks that a commit's actions respect an append-only table (PROTOCOL.md, "Append-only
/// Tables"): no `remove` with `dataChange = true`. Rearranging data (removes with
/// `dataChange = false`, as compaction writes) is allowed. Does nothing on other tables.
pub fn check_append_only(metadata: &Metadata, actions: &[Action]) -> Result<(), ProtocolError> {
    if !is_append_only(metadata) {
        return Ok(());
    }
    match actions.iter().find_map(|action| match action {
        Action::Remove(remove) if remove.data_change => Some(&remove.path),
        _ => None,
    }) {
        Some(path) => Err(ProtocolError::AppendOnlyViolation { path: path.clone() }),
        None => Ok(()),
    }
}

/// The table's CHECK constraints (PROTOCOL.md, "CHECK Constraints"): `(name, SQL expression)`
/// from the `delta.constraints.<name>` table properties, in name order.
pub fn check_constraints(metadata: &Metadata) -> impl Iterator<Item = (&str, &str)> {
    metadata.configuration.iter().filter_map(|(key, value)| {
        key.strip_prefix(CONSTRAINTS_PREFIX)
            .map(|name| (name, value.as_str()))
    })
}

/// A feature a new table needs, with the legacy protocol versions that imply it (`None` when
/// only table features can express it).
struct Needed {
    feature: TableFeature,
    legacy: Option<(i32, i32)>,
}

/// The features a new table with this metadata uses, each once, in discovery order.
fn needed_features(metadata: &Metadata) -> Result<Vec<Needed>, ProtocolError> {
    let schema = schema_of(metadata)?;
    let mut needed: Vec<Needed> = Vec::new();
    let mut need = |feature: TableFeature, legacy: Option<(i32, i32)>| {
        if !needed.iter().any(|n| n.feature == feature) {
            needed.push(Needed { feature, legacy });
        }
    };
    let has_key = |key: &'static str| column_with_key(&schema, &|k| k == key).is_some();

    if property_is_true(metadata, APPEND_ONLY_KEY) {
        need(TableFeature::AppendOnly, Some((1, 2)));
    }
    if has_key(INVARIANTS_KEY) {
        need(TableFeature::Invariants, Some((1, 2)));
    }
    if check_constraints(metadata).next().is_some() {
        need(TableFeature::CheckConstraints, Some((1, 3)));
    }
    if property_is_true(metadata, ENABLE_CHANGE_DATA_FEED_KEY) {
        need(TableFeature::ChangeDataFeed, Some((1, 4)));
    }
    if has_key(GENERATION_EXPRESSION_KEY) {
        need(TableFeature::GeneratedColumns, Some((1, 4)));
    }
    if ColumnMappingMode::from_configuration(&metadata.configuration)? != ColumnMappingMode::None {
        need(TableFeature::ColumnMapping, Some((2, 5)));
    }
    if column_with_key(&schema, &|k| k.starts_with(IDENTITY_PREFIX)).is_some() {
        need(TableFeature::IdentityColumns, Some((1, 6)));
    }
    if column_with_type(&schema, &is_timestamp_ntz).is_some() {
        need(TableFeature::TimestampNtz, None);
    }
    if column_with_type(&schema, &is_variant).is_some() {
        need(TableFeature::VariantType, None);
    }
    if has_key(DEFAULT_KEY) {
        need(TableFeature::AllowColumnDefaults, None);
    }
    if property_is_true(metadata, ENABLE_DELETION_VECTORS_KEY) {
        need(TableFeature::DeletionVectors, None);
    }
    if property_is_true(metadata, ENABLE_IN_COMMIT_TIMESTAMPS_KEY) {
        need(TableFeature::InCommitTimestamp, None);
    }
    if property_is_true(metadata, ENABLE_TYPE_WIDENING_KEY) {
        need(TableFeature::TypeWidening, None);
    }
    if property_is_true(metadata, ENABLE_ROW_TRACKING_KEY) {
        need(TableFeature::RowTracking, None);
        need(TableFeature::DomainMetadata, None);
    }
    if property_is_true(metadata, ENABLE_VARIANT_SHREDDING_KEY) {
        need(TableFeature::VariantShredding, None);
        need(TableFeature::VariantType, None);
    }
    for n in 1..=3 {
        if property_is_true(metadata, &format!("delta.enableIcebergCompatV{n}")) {
            let feature = match n {
                1 => TableFeature::IcebergCompatV1,
                2 => TableFeature::IcebergCompatV2,
                _ => TableFeature::IcebergCompatV3,
            };
            need(feature, None);
        }
    }
    if metadata
        .configuration
        .get(CHECKPOINT_POLICY_KEY)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("v2"))
    {
        need(TableFeature::V2Checkpoint, None);
    }
    for (key, value) in &metadata.configuration {
        let Some(name) = key.strip_prefix(FEATURE_PROPERTY_PREFIX) else {
            continue;
        };
        let value_ok = ["supported", "enabled"]
            .iter()
            .any(|v| value.trim().eq_ignore_ascii_case(v));
        let Ok(feature) = name.parse::<TableFeature>();
        if !value_ok || feature.kind().is_none() {
            return Err(ProtocolError::InvalidTableProperty {
                property: key.clone(),
                value: value.clone(),
                reason: if value_ok {
                    format!("`{name}` is not a table feature tarn knows")
                } else {
                    "expected `supported` or `enabled`".to_owned()
                },
            });
        }
        // Asked for explicitly: listed as a table feature even where a legacy version implies it.
        need(feature, None);
    }
    Ok(needed)
}

/// The protocol a new table with this metadata must have: the lowest legacy versions that
/// imply every feature it uses, or reader 3 / writer 7 with explicit feature lists when a
/// feature exists only as a table feature.
///
/// A plain table gets reader 1 / writer 2 (as Spark and delta-rs create them); CHECK
/// constraints need writer 3; change data feed or generated columns writer 4; column mapping
/// reader 2 / writer 5; identity columns writer 6. Anything else (a `timestamp_ntz` or
/// `variant` column, `delta.enableDeletionVectors`, `delta.enableInCommitTimestamps`, a
/// `delta.feature.<name>` property, ...) needs writer 7. At writer 7 the legacy features a
/// writer-2 table always supports (`appendOnly`, `invariants`) are listed too, as Spark does,
/// so that the table keeps the guarantees a reader-1/writer-2 table gives, followed by every
/// used feature; reader-writer features are also listed as reader features, under reader 3
/// (PROTOCOL.md, "Table Features for New and Existing Tables").
///
/// This says what the metadata requires, not what tarn can write: follow it with
/// [`check_writable`]. Fails when the schema does not parse or a feature property is invalid.
pub fn protocol_for_new_table(metadata: &Metadata) -> Result<Protocol, ProtocolError> {
    let needed = needed_features(metadata)?;
    if needed.iter().all(|n| n.legacy.is_some()) {
        let (reader, writer) = needed
            .iter()
            .filter_map(|n| n.legacy)
            .fold((1, 2), |(r, w), (nr, nw)| (r.max(nr), w.max(nw)));
        return Ok(Protocol {
            min_reader_version: reader,
            min_writer_version: writer,
            reader_features: None,
            writer_features: None,
        });
    }
    let mut writer_features = vec![TableFeature::AppendOnly, TableFeature::Invariants];
    for n in &needed {
        if !writer_features.contains(&n.feature) {
            writer_features.push(n.feature.clone());
        }
    }
    let reader_features: Vec<TableFeature> = writer_features
        .iter()
        .filter(|f| f.kind() == Some(FeatureKind::ReaderWriter))
        .cloned()
        .collect();
    Ok(if reader_features.is_empty() {
        Protocol {
            min_reader_version: 1,
            min_writer_version: 7,
            reader_features: None,
            writer_features: Some(writer_features),
        }
    } else {
        Protocol {
            min_reader_version: 3,
            min_writer_version: 7,
            reader_features: Some(reader_features),
            writer_features: Some(writer_features),
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::actions::Remove;

    fn metadata_with(schema: &str, configuration: &[(&str, &str)]) -> Metadata {
        Metadata {
            id: "test".to_owned(),
            name: None,
            description: None,
            format: crate::actions::Format::default(),
            schema_string: schema.to_owned(),
            partition_columns: Vec::new(),
            created_time: None,
            configuration: configuration
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    const PLAIN: &str =
        r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}"#;

    fn schema_with_field_metadata(key: &str, value: &str) -> String {
        format!(
            r#"{{"type":"struct","fields":[{{"name":"s","type":{{"type":"struct","fields":[{{"name":"x","type":"integer","nullable":true,"metadata":{{"{key}":{value}}}}}]}},"nullable":true,"metadata":{{}}}}]}}"#
        )
    }

    fn schema_with_type(type_json: &str) -> String {
        format!(
            r#"{{"type":"struct","fields":[{{"name":"id","type":"long","nullable":true,"metadata":{{}}}},{{"name":"t","type":{type_json},"nullable":true,"metadata":{{}}}}]}}"#
        )
    }

    fn protocol(r: i32, w: i32, rf: Option<&[&str]>, wf: Option<&[&str]>) -> Protocol {
        let parse = |names: &[&str]| names.iter().map(|n| n.parse().unwrap()).collect();
        Protocol {
            min_reader_version: r,
            min_writer_version: w,
            reader_features: rf.map(parse),
            writer_features: wf.map(parse),
        }
    }

    fn refused_feature(result: Result<(), ProtocolError>) -> String {
        match result {
            Err(ProtocolError::UnsupportedFeature { feature, usage }) => {
                assert_eq!(usage, FeatureUse::Write);
                feature
            }
            Err(ProtocolError::UnsupportedActiveFeature { feature, .. }) => feature,
            other => panic!("expected a refused feature, got {other:?}"),
        }
    }

    #[test]
    fn legacy_versions_without_active_features_are_writable() {
        let plain = metadata_with(PLAIN, &[]);
        for w in 1..=6 {
            check_writable(&protocol(1, w, None, None), &plain).unwrap();
        }
        check_writable(&protocol(2, 5, None, None), &plain).unwrap();
        check_writable(&protocol(2, 6, None, None), &plain).unwrap();
    }

    #[test]
    fn writer_versions_above_seven_are_refused() {
        assert!(matches!(
            check_writable(&protocol(1, 8, None, None), &metadata_with(PLAIN, &[])),
            Err(ProtocolError::UnsupportedProtocolVersion {
                version: 8,
                usage: FeatureUse::Write,
                ..
            })
        ));
    }

    #[test]
    fn legacy_writer_four_refuses_change_data_feed_only_when_enabled() {
        let p = protocol(1, 4, None, None);
        let cdf = metadata_with(PLAIN, &[(ENABLE_CHANGE_DATA_FEED_KEY, "true")]);
        assert_eq!(refused_feature(check_writable(&p, &cdf)), "changeDataFeed");
        let off = metadata_with(PLAIN, &[(ENABLE_CHANGE_DATA_FEED_KEY, "false")]);
        check_writable(&p, &off).unwrap();
        // The same property on a writer-2 table is not in force (the protocol does not
        // support the feature there).
        check_writable(&protocol(1, 2, None, None), &cdf).unwrap();
    }

    #[test]
    fn generated_columns_are_refused_only_with_a_generation_expression() {
        let p = protocol(1, 4, None, None);
        let generated = metadata_with(
            &schema_with_field_metadata("delta.generationExpression", r#""id + 1""#),
            &[],
        );
        match check_writable(&p, &generated) {
            Err(ProtocolError::UnsupportedActiveFeature { feature, because }) => {
                assert_eq!(feature, "generatedColumns");
                assert!(because.contains("`s.x`"), "{because}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let w7 = protocol(1, 7, None, Some(&["generatedColumns"]));
        check_writable(&w7, &metadata_with(PLAIN, &[])).unwrap();
        assert_eq!(
            refused_feature(check_writable(&w7, &generated)),
            "generatedColumns"
        );
    }

    #[test]
    fn invariants_are_refused_only_when_a_column_has_one() {
        let p = protocol(1, 2, None, None);
        let with = metadata_with(
            &schema_with_field_metadata(
                "delta.invariants",
                r#""{\"expression\":{\"expression\":\"x > 3\"}}""#,
            ),
            &[],
        );
        assert_eq!(refused_feature(check_writable(&p, &with)), "invariants");
        check_writable(&p, &metadata_with(PLAIN, &[])).unwrap();
    }

    #[test]
    fn column_mapping_is_refused_only_in_name_or_id_mode() {
        let p = protocol(2, 5, None, None);
        let name = metadata_with(PLAIN, &[(COLUMN_MAPPING_MODE_KEY, "name")]);
        match check_writable(&p, &name) {
            Err(ProtocolError::UnsupportedActiveFeature { feature, because }) => {
                assert_eq!(feature, "columnMapping");
                assert!(because.contains("name"), "{because}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let none = metadata_with(PLAIN, &[(COLUMN_MAPPING_MODE_KEY, "none")]);
        check_writable(&p, &none).unwrap();
        let p3 = protocol(3, 7, Some(&["columnMapping"]), Some(&["columnMapping"]));
        assert_eq!(
            refused_feature(check_writable(
                &p3,
                &metadata_with(PLAIN, &[(COLUMN_MAPPING_MODE_KEY, "id")])
            )),
            "columnMapping"
        );
    }

    #[test]
    fn identity_columns_are_refused_only_when_used() {
        let p = protocol(1, 6, None, None);
        check_writable(&p, &metadata_with(PLAIN, &[])).unwrap();
        let identity = metadata_with(
            &schema_with_field_metadata("delta.identity.start", "1"),
            &[],
        );
        assert_eq!(
            refused_feature(check_writable(&p, &identity)),
            "identityColumns"
        );
    }

    #[test]
    fn supported_writer_features_are_writable() {
        let p = protocol(
            3,
            7,
            Some(&[
                "deletionVectors",
                "timestampNtz",
                "typeWidening",
                "vacuumProtocolCheck",
            ]),
            Some(&[
                "appendOnly",
                "invariants",
                "checkConstraints",
                "deletionVectors",
                "timestampNtz",
                "typeWidening",
                "domainMetadata",
                "vacuumProtocolCheck",
                "changeDataFeed",
                "inCommitTimestamp",
                "generatedColumns",
                "identityColumns",
                "allowColumnDefaults",
            ]),
        );
        let metadata = metadata_with(
            &schema_with_type(r#""timestamp_ntz""#),
            &[
                (APPEND_ONLY_KEY, "true"),
                ("delta.constraints.positive", "id > 0"),
                (ENABLE_DELETION_VECTORS_KEY, "true"),
            ],
        );
        check_writable(&p, &metadata).unwrap();
    }

    #[test]
    fn never_written_features_are_refused_by_name() {
        let plain = metadata_with(PLAIN, &[]);
        for (rf, wf, name) in [
            (
                Some(&["v2Checkpoint"][..]),
                &["v2Checkpoint"][..],
                "v2Checkpoint",
            ),
            (
                None,
                &["someFutureWriterFeature"][..],
                "someFutureWriterFeature",
            ),
        ] {
            let p = protocol(if rf.is_some() { 3 } else { 1 }, 7, rf, Some(wf));
            assert_eq!(refused_feature(check_writable(&p, &plain)), name);
        }
        // A reader feature tarn cannot read is refused as a reader feature.
        let p = protocol(3, 7, Some(&["futureReader"]), Some(&["futureReader"]));
        assert!(matches!(
            check_writable(&p, &plain),
            Err(ProtocolError::UnsupportedFeature {
                usage: FeatureUse::Read,
                ..
            })
        ));
    }

    #[test]
    fn property_gated_writer_seven_features() {
        let ict = protocol(1, 7, None, Some(&["inCommitTimestamp"]));
        check_writable(&ict, &metadata_with(PLAIN, &[])).unwrap();
        assert_eq!(
            refused_feature(check_writable(
                &ict,
                &metadata_with(PLAIN, &[(ENABLE_IN_COMMIT_TIMESTAMPS_KEY, "true")])
            )),
            "inCommitTimestamp"
        );
        // Row tracking is honoured whether active or suspended: commits assign row ids.
        let rows = protocol(1, 7, None, Some(&["rowTracking", "domainMetadata"]));
        check_writable(&rows, &metadata_with(PLAIN, &[])).unwrap();
        check_writable(
            &rows,
            &metadata_with(PLAIN, &[(ROW_TRACKING_SUSPENDED_KEY, "true")]),
        )
        .unwrap();
        let variant = protocol(3, 7, Some(&["variantType"]), Some(&["variantType"]));
        check_writable(&variant, &metadata_with(PLAIN, &[])).unwrap();
        assert_eq!(
            refused_feature(check_writable(
                &variant,
                &metadata_with(&schema_with_type(r#""variant""#), &[])
            )),
            "variantType"
        );
    }

    #[test]
    fn variant_shredding_asks_nothing_of_a_writer_that_never_shreds() {
        for shredding in ["variantShredding", "variantShredding-preview"] {
            let features = ["variantType", shredding];
            let p = protocol(3, 7, Some(&features), Some(&features));
            // Enabled or not, unshredded files are allowed: no variant column, nothing to refuse.
            check_writable(&p, &metadata_with(PLAIN, &[])).unwrap();
            check_writable(
                &p,
                &metadata_with(PLAIN, &[(ENABLE_VARIANT_SHREDDING_KEY, "true")]),
            )
            .unwrap();
            // A variant column is still refused, through `variantType`.
            assert_eq!(
                refused_feature(check_writable(
                    &p,
                    &metadata_with(
                        &schema_with_type(r#""variant""#),
                        &[(ENABLE_VARIANT_SHREDDING_KEY, "true")]
                    )
                )),
                "variantType"
            );
        }
        // A new table asking for shredding gets both features and is writable.
        let metadata = metadata_with(PLAIN, &[(ENABLE_VARIANT_SHREDDING_KEY, "true")]);
        let p = protocol_for_new_table(&metadata).unwrap();
        check_writable(&p, &metadata).unwrap();
    }

    #[test]
    fn malformed_protocol_is_refused() {
        assert!(matches!(
            check_writable(&protocol(1, 7, None, None), &metadata_with(PLAIN, &[])),
            Err(ProtocolError::InvalidProtocol { .. })
        ));
    }

    fn remove(path: &str, data_change: bool) -> Action {
        Action::Remove(Remove {
            path: path.to_owned(),
            deletion_timestamp: Some(1),
            data_change,
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
        })
    }

    #[test]
    fn append_only_refuses_data_changing_removes() {
        let append_only = metadata_with(PLAIN, &[(APPEND_ONLY_KEY, "TRUE")]);
        assert!(is_append_only(&append_only));
        match check_append_only(&append_only, &[remove("a", false), remove("b", true)]) {
            Err(ProtocolError::AppendOnlyViolation { path }) => assert_eq!(path, "b"),
            other => panic!("unexpected {other:?}"),
        }
        check_append_only(&append_only, &[remove("a", false)]).unwrap();
        let normal = metadata_with(PLAIN, &[(APPEND_ONLY_KEY, "false")]);
        assert!(!is_append_only(&normal));
        check_append_only(&normal, &[remove("b", true)]).unwrap();
    }

    #[test]
    fn constraints_are_listed_by_name() {
        let metadata = metadata_with(
            PLAIN,
            &[
                ("delta.constraints.positive", "id > 0"),
                ("delta.constraints.small", "id < 10"),
                ("delta.appendOnly", "true"),
            ],
        );
        let listed: Vec<_> = check_constraints(&metadata).collect();
        assert_eq!(listed, vec![("positive", "id > 0"), ("small", "id < 10")]);
    }

    #[test]
    fn new_plain_tables_are_reader_one_writer_two() {
        let p = protocol_for_new_table(&metadata_with(PLAIN, &[])).unwrap();
        assert_eq!(p, protocol(1, 2, None, None));
        let append_only =
            protocol_for_new_table(&metadata_with(PLAIN, &[(APPEND_ONLY_KEY, "true")])).unwrap();
        assert_eq!(append_only, protocol(1, 2, None, None));
        check_writable(&p, &metadata_with(PLAIN, &[])).unwrap();
    }

    #[test]
    fn new_tables_with_constraints_are_writer_three() {
        let metadata = metadata_with(PLAIN, &[("delta.constraints.positive", "id > 0")]);
        let p = protocol_for_new_table(&metadata).unwrap();
        assert_eq!(p, protocol(1, 3, None, None));
        check_writable(&p, &metadata).unwrap();
    }

    #[test]
    fn new_tables_with_legacy_features_take_the_lowest_implying_versions() {
        let cdf = metadata_with(PLAIN, &[(ENABLE_CHANGE_DATA_FEED_KEY, "true")]);
        assert_eq!(
            protocol_for_new_table(&cdf).unwrap(),
            protocol(1, 4, None, None)
        );
        let mapped = metadata_with(PLAIN, &[(COLUMN_MAPPING_MODE_KEY, "name")]);
        assert_eq!(
            protocol_for_new_table(&mapped).unwrap(),
            protocol(2, 5, None, None)
        );
        let identity = metadata_with(&schema_with_field_metadata("delta.identity.step", "1"), &[]);
        assert_eq!(
            protocol_for_new_table(&identity).unwrap(),
            protocol(1, 6, None, None)
        );
    }

    #[test]
    fn new_tables_with_timestamp_ntz_list_features_explicitly() {
        let metadata = metadata_with(&schema_with_type(r#""timestamp_ntz""#), &[]);
        let p = protocol_for_new_table(&metadata).unwrap();
        assert_eq!(
            p,
            protocol(
                3,
                7,
                Some(&["timestampNtz"]),
                Some(&["appendOnly", "invariants", "timestampNtz"])
            )
        );
        validate_protocol(&p).unwrap();
        check_writable(&p, &metadata).unwrap();

        // Nested inside an array of structs, with constraints: checkConstraints is listed too.
        let nested = metadata_with(
            &schema_with_type(
                r#"{"type":"array","elementType":{"type":"struct","fields":[{"name":"ts","type":"timestamp_ntz","nullable":true,"metadata":{}}]},"containsNull":true}"#,
            ),
            &[("delta.constraints.positive", "id > 0")],
        );
        let p = protocol_for_new_table(&nested).unwrap();
        assert_eq!(
            p,
            protocol(
                3,
                7,
                Some(&["timestampNtz"]),
                Some(&[
                    "appendOnly",
                    "invariants",
                    "checkConstraints",
                    "timestampNtz"
                ])
            )
        );
        check_writable(&p, &nested).unwrap();
    }

    #[test]
    fn new_tables_with_writer_only_table_features_stay_reader_one() {
        let metadata = metadata_with(PLAIN, &[("delta.feature.domainMetadata", "supported")]);
        assert_eq!(
            protocol_for_new_table(&metadata).unwrap(),
            protocol(
                1,
                7,
                None,
                Some(&["appendOnly", "invariants", "domainMetadata"])
            )
        );
        let dv = metadata_with(PLAIN, &[(ENABLE_DELETION_VECTORS_KEY, "true")]);
        assert_eq!(
            protocol_for_new_table(&dv).unwrap(),
            protocol(
                3,
                7,
                Some(&["deletionVectors"]),
                Some(&["appendOnly", "invariants", "deletionVectors"])
            )
        );
    }

    #[test]
    fn new_table_protocol_then_writability_refuses_what_tarn_cannot_write() {
        let cdf = metadata_with(PLAIN, &[(ENABLE_CHANGE_DATA_FEED_KEY, "true")]);
        let p = protocol_for_new_table(&cdf).unwrap();
        assert_eq!(refused_feature(check_writable(&p, &cdf)), "changeDataFeed");
    }

    #[test]
    fn bad_feature_properties_are_named() {
        for (key, value) in [
            ("delta.feature.noSuchFeature", "supported"),
            ("delta.feature.domainMetadata", "maybe"),
        ] {
            match protocol_for_new_table(&metadata_with(PLAIN, &[(key, value)])) {
                Err(ProtocolError::InvalidTableProperty { property, .. }) => {
                    assert_eq!(property, key)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
