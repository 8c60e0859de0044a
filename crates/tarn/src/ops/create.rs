//! Creating a table: the first commit (protocol and metadata), or a replacement of an
//! existing table's schema and contents.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tarn_log::LogError;
use tarn_log::commit::CommitOptions;
use tarn_protocol::actions::{Metadata, Protocol};
use tarn_protocol::features::{TableFeature, protocol_for_new_table};
use tarn_protocol::schema::{DataType as DeltaType, StructType};

use super::validate_properties;
use crate::error::{Error, Result};
use crate::table::Table;
use crate::transaction::{CommitSummary, ReadSet, Transaction};

/// Builds a new table. Obtained from [`Table::create`].
///
/// ```no_run
/// # async fn example() -> tarn::Result<()> {
/// use tarn::protocol::schema::{DataType, PrimitiveType, StructField, StructType};
/// let table = tarn::Table::open("/data/events").await?;
/// let schema = StructType::new([
///     StructField::new("day", DataType::Primitive(PrimitiveType::Date), false),
///     StructField::new("value", DataType::Primitive(PrimitiveType::Long), true),
/// ]);
/// table.create().with_schema(schema).partition_by(["day"]).execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CreateBuilder {
    table: Table,
    schema: Option<StructType>,
    partition_columns: Vec<String>,
    properties: BTreeMap<String, String>,
    name: Option<String>,
    description: Option<String>,
    replace: bool,
    clustering_columns: Vec<String>,
    commit_options: CommitOptions,
}

/// The domain naming a clustered table's clustering columns (PROTOCOL.md, "Clustered Table").
pub const CLUSTERING_DOMAIN: &str = "delta.clustering";

/// The domain Databricks Runtime's preview of clustering (writer feature `liquid`) keeps the
/// clustering columns in.
pub const LIQUID_PREVIEW_DOMAIN: &str = "delta.liquid";

impl CreateBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            schema: None,
            clustering_columns: Vec::new(),
            partition_columns: Vec::new(),
            properties: BTreeMap::new(),
            name: None,
            description: None,
            replace: false,
            commit_options: CommitOptions::default(),
        }
    }

    /// The table's schema (required).
    pub fn with_schema(mut self, schema: StructType) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The table's schema from an Arrow schema.
    pub fn with_arrow_schema(mut self, schema: &arrow_schema::Schema) -> Result<Self> {
        self.schema = Some(StructType::try_from(schema)?);
        Ok(self)
    }

    /// Partition columns, in order (top-level columns of primitive type).
    pub fn partition_by<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.partition_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Makes a clustered table (Delta's liquid clustering) clustered by these columns:
    /// top-level columns with statistics, not partition columns (a clustered table is not
    /// partitioned). Its compaction orders rows along a Hilbert curve over them
    /// (`tarn-maintenance`). Adds the `clustering` and `domainMetadata` writer features.
    pub fn cluster_by<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.clustering_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// A table property (`delta.*` settings such as `delta.checkpointInterval`,
    /// `delta.constraints.<name>`, or any user key).
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The table's user-facing name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The table's user-facing description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Replace an existing table: its schema, partitioning and properties are replaced and
    /// all of its rows removed, in one commit. Without this, creating over an existing table
    /// is an error.
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// How the commit retries when other writers commit at the same time.
    pub fn with_commit_options(mut self, options: CommitOptions) -> Self {
        self.commit_options = options;
        self
    }

    /// Commits the new table.
    pub async fn execute(self) -> Result<CommitSummary> {
        let schema = self.schema.clone().ok_or_else(|| Error::InvalidArgument {
            reason: "creating a table needs a schema".to_owned(),
        })?;
        let metadata = new_metadata(
            schema.clone(),
            self.partition_columns.clone(),
            self.properties.clone(),
            self.name.clone(),
            self.description.clone(),
        )?;
        let existing = match self.table.snapshot().await {
            Ok(snapshot) => Some(snapshot),
            Err(Error::Log(LogError::NotATable { .. })) => None,
            Err(err) => return Err(err),
        };
        let mut protocol = protocol_for_new_table(&metadata)?;
        let clustering = self.clustering_domain(&schema)?;
        if clustering.is_some() {
            protocol = max_protocol(
                &protocol,
                &Protocol {
                    min_reader_version: 1,
                    min_writer_version: 7,
                    reader_features: None,
                    writer_features: Some(vec![
                        TableFeature::DomainMetadata,
                        TableFeature::Clustering,
                    ]),
                },
            );
        }
        let mut tx = match &existing {
            None => Transaction::create_table(
                Arc::clone(self.table.location_arc()),
                protocol,
                metadata.clone(),
                schema,
                "CREATE TABLE",
            ),
            Some(snapshot) if self.replace => {
                let mut tx =
                    snapshot.transaction("CREATE OR REPLACE TABLE", ReadSet::WholeTable)?;
                super::check_not_append_only(snapshot.metadata(), "replacing the table")?;
                for file in snapshot.files().iter() {
                    tx.remove_file(&file, true);
                }
                // A protocol never goes down: readers of the old table must keep refusing what
                // they could not read.
                tx.set_protocol(max_protocol(snapshot.protocol(), &protocol));
                tx.set_metadata(metadata.clone());
                tx
            }
            Some(snapshot) => {
                return Err(Error::TableExists {
                    table: self.table.location().to_string(),
                    version: snapshot.version(),
                });
            }
        };
        tx.parameter(
            "partitionBy",
            serde_json::to_string(&metadata.partition_columns).unwrap_or_default(),
        );
        tx.parameter(
            "properties",
            serde_json::to_string(&metadata.configuration).unwrap_or_default(),
        );
        if let Some(snapshot) = &existing {
            // A replacement is clustered exactly as it says: the old table's clustering
            // columns do not carry over (the protocol keeps its features; without the domain
            // the table is not clustered).
            for domain in [CLUSTERING_DOMAIN, LIQUID_PREVIEW_DOMAIN] {
                let live = snapshot
                    .domain_metadata()
                    .get(domain)
                    .is_some_and(|d| !d.removed);
                let set_again = domain == CLUSTERING_DOMAIN && clustering.is_some();
                if live && !set_again {
                    tx.remove_domain_metadata(domain);
                }
            }
        }
        if let Some(configuration) = clustering {
            tx.parameter(
                "clusterBy",
                serde_json::to_string(&self.clustering_columns).unwrap_or_default(),
            );
            tx.set_domain_metadata(CLUSTERING_DOMAIN, configuration);
        }
        tx.with_commit_options(self.commit_options).commit().await
    }

    /// The `delta.clustering` domain's configuration, if the table is clustered; checks the
    /// clustering columns.
    fn clustering_domain(&self, schema: &StructType) -> Result<Option<String>> {
        if self.clustering_columns.is_empty() {
            return Ok(None);
        }
        if !self.partition_columns.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "a clustered table cannot also be partitioned; cluster by the partition \
                         columns instead"
                    .to_owned(),
            });
        }
        let mut columns = Vec::new();
        for name in &self.clustering_columns {
            let position = schema
                .fields
                .iter()
                .position(|f| &f.name == name)
                .ok_or_else(|| Error::InvalidArgument {
                    reason: format!("clustering column `{name}` is not a column of the table"),
                })?;
            let field = &schema.fields[position];
            if !matches!(field.data_type, DeltaType::Primitive(_)) {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "clustering column `{name}` has type {}; clustering columns must be of a \
                         primitive type",
                        field.data_type
                    ),
                });
            }
            if !crate::write::column_has_stats(&schema.fields, &self.properties, name)? {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "clustering column `{name}` (column {}) gets no statistics under the \
                         table's delta.dataSkippingStatsColumns or \
                         delta.dataSkippingNumIndexedCols; clustering needs them: list it there",
                        position + 1
                    ),
                });
            }
            if columns.contains(&vec![name.clone()]) {
                return Err(Error::InvalidArgument {
                    reason: format!("clustering column `{name}` is listed twice"),
                });
            }
            columns.push(vec![name.clone()]);
        }
        Ok(Some(
            serde_json::json!({ "clusteringColumns": columns }).to_string(),
        ))
    }
}

/// Checks a schema, partition columns and properties, and builds the table's metadata.
pub(crate) fn new_metadata(
    schema: StructType,
    partition_columns: Vec<String>,
    properties: BTreeMap<String, String>,
    name: Option<String>,
    description: Option<String>,
) -> Result<Metadata> {
    if schema.fields.is_empty() {
        return Err(Error::InvalidArgument {
            reason: "a table needs at least one column".to_owned(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for field in &schema.fields {
        if !seen.insert(field.name.to_lowercase()) {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "column `{}` appears twice (names are case-insensitive)",
                    field.name
                ),
            });
        }
    }
    for column in &partition_columns {
        let field = schema.field(column).ok_or_else(|| Error::InvalidArgument {
            reason: format!(
                "partition column `{column}` is not in the schema; its columns are: {}",
                schema
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        if !matches!(field.data_type, DeltaType::Primitive(_)) {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "partition column `{column}` has type {}, but partition columns must be of a \
                     primitive type",
                    field.data_type
                ),
            });
        }
    }
    if partition_columns.len() == schema.fields.len() {
        return Err(Error::InvalidArgument {
            reason: "every column is a partition column; a table needs at least one data column"
                .to_owned(),
        });
    }
    if let Some(mode) = properties.get("delta.columnMapping.mode")
        && mode != "none"
    {
        return Err(Error::Unsupported {
            what: format!("creating a table with column mapping (delta.columnMapping.mode={mode})"),
        });
    }
    validate_properties(&properties, &schema)?;
    let properties = name_row_tracking_columns(properties, &schema)?;
    Ok(Metadata {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        format: Default::default(),
        schema_string: schema.to_json(),
        partition_columns,
        created_time: Some(Utc::now().timestamp_millis()),
        configuration: properties,
    })
}

/// A new table that enables row tracking (`delta.enableRowTracking`) needs the names of its
/// hidden materialized row id and row commit version columns (PROTOCOL.md, "Writer
/// Requirements for Row Tracking"): they are chosen here, as Spark chooses them, unless the
/// properties already name them; a name may not be a column of the schema.
fn name_row_tracking_columns(
    mut properties: BTreeMap<String, String>,
    schema: &StructType,
) -> Result<BTreeMap<String, String>> {
    use tarn_protocol::features::ENABLE_ROW_TRACKING_KEY;
    use tarn_protocol::row_tracking::{
        MATERIALIZED_ROW_COMMIT_VERSION_COLUMN_KEY, MATERIALIZED_ROW_ID_COLUMN_KEY,
    };
    let enabled = properties
        .get(ENABLE_ROW_TRACKING_KEY)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !enabled {
        return Ok(properties);
    }
    for (key, prefix) in [
        (MATERIALIZED_ROW_ID_COLUMN_KEY, "_row-id-col-"),
        (
            MATERIALIZED_ROW_COMMIT_VERSION_COLUMN_KEY,
            "_row-commit-version-col-",
        ),
    ] {
        let name = properties
            .entry(key.to_owned())
            .or_insert_with(|| format!("{prefix}{}", uuid::Uuid::new_v4()));
        if name.is_empty()
            || schema
                .fields
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name))
        {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "table property {key}={name:?}: the hidden row tracking column needs a \
                     name that no column of the table has"
                ),
            });
        }
    }
    Ok(properties)
}

/// The smallest protocol that asks for at least everything `a` and `b` ask for. Where the
/// result lists features (reader 3, writer 7), it lists every feature either protocol
/// requires, those implied by legacy versions included: upgrading a writer-4 table to writer
/// 7 must keep `checkConstraints`, `generatedColumns` and the rest it already demanded.
pub(crate) fn max_protocol(a: &Protocol, b: &Protocol) -> Protocol {
    use tarn_protocol::features::{effective_reader_features, effective_writer_features};
    let union = |x: Vec<TableFeature>, y: Vec<TableFeature>| {
        let mut all: Vec<TableFeature> = Vec::new();
        for feature in x.into_iter().chain(y) {
            if !all.contains(&feature) {
                all.push(feature);
            }
        }
        all
    };
    let min_reader_version = a.min_reader_version.max(b.min_reader_version);
    let min_writer_version = a.min_writer_version.max(b.min_writer_version);
    Protocol {
        min_reader_version,
        min_writer_version,
        reader_features: (min_reader_version >= 3)
            .then(|| union(effective_reader_features(a), effective_reader_features(b))),
        writer_features: (min_writer_version >= 7)
            .then(|| union(effective_writer_features(a), effective_writer_features(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(reader: i32, writer: i32, r: &[TableFeature], w: &[TableFeature]) -> Protocol {
        Protocol {
            min_reader_version: reader,
            min_writer_version: writer,
            reader_features: (reader >= 3).then(|| r.to_vec()),
            writer_features: (writer >= 7).then(|| w.to_vec()),
        }
    }

    #[test]
    fn an_upgrade_to_table_features_keeps_what_legacy_versions_implied() {
        use TableFeature as F;
        let legacy = protocol(1, 4, &[], &[]);
        let widening = protocol(
            3,
            7,
            &[F::TypeWidening],
            &[F::AppendOnly, F::Invariants, F::TypeWidening],
        );
        let merged = max_protocol(&legacy, &widening);
        assert_eq!(
            (merged.min_reader_version, merged.min_writer_version),
            (3, 7)
        );
        assert_eq!(merged.reader_features, Some(vec![F::TypeWidening]));
        let writer = merged.writer_features.unwrap();
        for feature in [
            F::AppendOnly,
            F::Invariants,
            F::CheckConstraints,
            F::ChangeDataFeed,
            F::GeneratedColumns,
            F::TypeWidening,
        ] {
            assert!(
                writer.contains(&feature),
                "{feature:?} missing from {writer:?}"
            );
        }
        // Legacy with legacy stays legacy.
        let merged = max_protocol(&protocol(1, 2, &[], &[]), &protocol(1, 3, &[], &[]));
        assert_eq!(merged, protocol(1, 3, &[], &[]));
        // Column mapping's legacy reader 2 becomes the listed feature.
        let merged = max_protocol(&protocol(2, 5, &[], &[]), &widening);
        assert!(merged.reader_features.unwrap().contains(&F::ColumnMapping));
    }
}
