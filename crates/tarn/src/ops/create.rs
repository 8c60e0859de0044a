//! Creating a table: the first commit (protocol and metadata), or a replacement of an
//! existing table's schema and contents.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tarn_log::LogError;
use tarn_log::commit::CommitOptions;
use tarn_protocol::actions::{Action, Metadata, Protocol};
use tarn_protocol::features::protocol_for_new_table;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, StructType};

use super::{remove_file, validate_properties};
use crate::error::{Error, Result};
use crate::table::Table;
use crate::transaction::{CommitSummary, Reads, Transaction};

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
    commit_options: CommitOptions,
}

impl CreateBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            schema: None,
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
        let location = Arc::clone(self.table.location_arc());
        let mut protocol = protocol_for_new_table(&metadata)?;
        let mut tx = match &existing {
            None => Transaction::new(
                location,
                None,
                schema,
                metadata.partition_columns.clone(),
                ColumnMappingMode::None,
                "CREATE TABLE",
            ),
            Some(snapshot) if self.replace => {
                tarn_protocol::features::check_writable(snapshot.protocol(), snapshot.metadata())?;
                super::check_not_append_only(snapshot.metadata(), "replacing the table")?;
                // A protocol never goes down: readers of the old table must keep refusing what
                // they could not read.
                protocol = max_protocol(snapshot.protocol(), &protocol);
                let mut tx = Transaction::new(
                    location,
                    Some(snapshot.version()),
                    snapshot.schema().clone(),
                    snapshot.partition_columns().to_vec(),
                    snapshot.column_mapping_mode(),
                    "CREATE OR REPLACE TABLE",
                );
                tx.reads = Reads::WholeTable;
                let removes = snapshot
                    .files()
                    .iter()
                    .map(|f| remove_file(&f, true))
                    .collect();
                tx.remove_files(removes);
                tx
            }
            Some(snapshot) => {
                return Err(Error::TableExists {
                    table: self.table.location().url().to_string(),
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
        tx.actions.push(Action::Protocol(protocol));
        tx.actions.push(Action::Metadata(metadata));
        tx.commit(&self.commit_options).await
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
        return Err(Error::InvalidArgument {
            reason: format!(
                "delta.columnMapping.mode={mode}: tarn does not write tables with column mapping \
                 yet"
            ),
        });
    }
    validate_properties(&properties, &schema)?;
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

/// The smallest protocol that asks for at least everything `a` and `b` ask for.
pub(crate) fn max_protocol(a: &Protocol, b: &Protocol) -> Protocol {
    let merge = |x: &Option<Vec<_>>, y: &Option<Vec<_>>| match (x, y) {
        (None, None) => None,
        (x, y) => {
            let mut all: Vec<tarn_protocol::features::TableFeature> = Vec::new();
            for feature in x.iter().flatten().chain(y.iter().flatten()) {
                if !all.contains(feature) {
                    all.push(feature.clone());
                }
            }
            Some(all)
        }
    };
    Protocol {
        min_reader_version: a.min_reader_version.max(b.min_reader_version),
        min_writer_version: a.min_writer_version.max(b.min_writer_version),
        reader_features: merge(&a.reader_features, &b.reader_features),
        writer_features: merge(&a.writer_features, &b.writer_features),
    }
}
