//! Writing rows: append, overwrite, overwrite-where, with idempotent `txn` versions and
//! optional schema evolution. Creates the table when it does not exist.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array as _, RecordBatch};
use arrow_schema::SchemaRef;
use futures::{Stream, StreamExt};
use tarn_log::LogError;
use tarn_log::commit::CommitOptions;
use tarn_protocol::actions::Add;
use tarn_protocol::features::{TableFeature, protocol_for_new_table};
use tarn_protocol::schema::StructType;

use super::check_not_append_only;
use super::create::{max_protocol, new_metadata};
use super::rewrite::{RewriteOutcome, RowChange, delete_data_files, rewrite};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::table::{Snapshot, Table};
use crate::transaction::{CommitSummary, ReadSet, Transaction};
use crate::write::{DataWriter, WriterOptions, merged_schema};

/// What a write does with the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Keep them; add the new rows.
    #[default]
    Append,
    /// Replace them: every row (or, with [`WriteBuilder::replace_where`], the rows matching
    /// the predicate) is removed in the same commit that adds the new rows.
    Overwrite,
}

impl std::fmt::Display for WriteMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteMode::Append => "Append",
            WriteMode::Overwrite => "Overwrite",
        })
    }
}

/// Writes a stream of record batches as one commit. Obtained from [`Table::write`].
///
/// ```no_run
/// # async fn example(batch: arrow_array::RecordBatch) -> tarn::Result<()> {
/// let table = tarn::Table::open("/data/events").await?;
/// let summary = table
///     .write()
///     .with_partition_columns(["day"]) // used only when the write creates the table
///     .with_txn("ingest-7", 42) // skipped if version 42 of `ingest-7` was already committed
///     .execute_batches(vec![batch])
///     .await?;
/// println!("committed version {:?}", summary.version);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WriteBuilder {
    table: Table,
    mode: WriteMode,
    replace_where: Option<Expr>,
    merge_schema: bool,
    type_widening: bool,
    partition_columns: Option<Vec<String>>,
    properties: BTreeMap<String, String>,
    txn: Option<(String, i64)>,
    writer_options: Option<WriterOptions>,
    commit_options: CommitOptions,
}

impl WriteBuilder {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            mode: WriteMode::Append,
            replace_where: None,
            merge_schema: false,
            type_widening: false,
            partition_columns: None,
            properties: BTreeMap::new(),
            txn: None,
            writer_options: None,
            commit_options: CommitOptions::default(),
        }
    }

    /// Append (the default) or overwrite.
    pub fn with_mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Overwrite only the rows matching `predicate` (e.g. one partition); implies
    /// [`WriteMode::Overwrite`]. Every row written must match it too, or the write fails.
    pub fn replace_where(mut self, predicate: Expr) -> Self {
        self.mode = WriteMode::Overwrite;
        self.replace_where = Some(predicate);
        self
    }

    /// Evolve the table's schema to take the input's: new columns are added (nullable, at
    /// the end) and integer and float columns widened where the input's type is wider.
    pub fn with_merge_schema(mut self, merge: bool) -> Self {
        self.merge_schema = merge;
        self
    }

    /// With [`WriteBuilder::with_merge_schema`], lets a widened column (`integer` to `long`,
    /// `float` to `double`) upgrade the table to the `typeWidening` reader feature, which
    /// readers without type-widening support (delta-rs among them) cannot read. Without it, a
    /// write that would widen a column on a table that does not have the feature yet fails
    /// with [`Error::FeatureUpgradeNotAllowed`] and writes nothing.
    pub fn with_type_widening(mut self, allow: bool) -> Self {
        self.type_widening = allow;
        self
    }

    /// Partition columns for a table this write creates. For an existing table they must be
    /// the table's own (or omitted).
    pub fn with_partition_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.partition_columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// A table property: set when this write creates the table, and on an existing table
    /// changed in the write's own commit (a property the table already has with this value
    /// changes nothing). CHECK constraints (`delta.constraints.*`) and
    /// `delta.columnMapping.mode` cannot change on an existing table: the write fails.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Makes the write idempotent: it commits a `txn` action for `app_id` at `version`, and is
    /// skipped (committing nothing) if the table already has a `txn` of `app_id` at `version`
    /// or later. A streaming writer that restarts and replays its input does not append twice.
    pub fn with_txn(mut self, app_id: impl Into<String>, version: i64) -> Self {
        self.txn = Some((app_id.into(), version));
        self
    }

    /// How the data files are written (defaults from the table's properties).
    pub fn with_writer_options(mut self, options: WriterOptions) -> Self {
        self.writer_options = Some(options);
        self
    }

    /// How the commit retries when other writers commit at the same time.
    pub fn with_commit_options(mut self, options: CommitOptions) -> Self {
        self.commit_options = options;
        self
    }

    /// Writes `batches` (all of them of the same schema) and commits.
    pub async fn execute_batches(self, batches: Vec<RecordBatch>) -> Result<CommitSummary> {
        let Some(first) = batches.first() else {
            return Err(Error::InvalidArgument {
                reason: "nothing to write: no record batches".to_owned(),
            });
        };
        let schema = first.schema();
        self.execute(schema, futures::stream::iter(batches.into_iter().map(Ok)))
            .await
    }

    /// Writes a stream of batches of `schema` and commits. Memory stays bounded by the
    /// writer's open row groups, whatever the stream's length. If the stream yields an error,
    /// the files written so far are deleted and nothing is committed.
    pub async fn execute<S>(self, schema: SchemaRef, batches: S) -> Result<CommitSummary>
    where
        S: Stream<Item = Result<RecordBatch>> + Send,
    {
        let existing = match self.table.snapshot().await {
            Ok(snapshot) => Some(snapshot),
            Err(Error::Log(LogError::NotATable { .. })) => None,
            Err(err) => return Err(err),
        };
        let prepared = match &existing {
            None => self.prepare_new_table(&schema)?,
            Some(snapshot) => {
                if let Some((app_id, version)) = &self.txn
                    && snapshot
                        .txn_version(app_id)
                        .is_some_and(|done| done >= *version)
                {
                    return Ok(CommitSummary::nothing("WRITE"));
                }
                self.prepare_existing(snapshot, &schema)?
            }
        };
        let Prepared {
            mut tx,
            schema: table_schema,
            partition_columns,
            properties,
            replace_where,
        } = prepared;

        let options = match &self.writer_options {
            Some(options) => options.clone(),
            None => WriterOptions::default(),
        };
        let output = write_all(
            tx.location(),
            &table_schema,
            &partition_columns,
            &properties,
            options.clone(),
            replace_where.as_ref(),
            batches,
        )
        .await?;
        let written: Vec<Add> = output.adds;
        tx.summary_mut().rows_written = output.num_rows;
        // New rows get fresh ids; nothing is copied unless an overwrite-where copies below.
        tx.set_row_ids_preserved(true);
        for add in &written {
            tx.add_file(add.clone());
        }

        // What the write replaces.
        if let Some(snapshot) = &existing
            && self.mode == WriteMode::Overwrite
        {
            match &replace_where {
                None => {
                    for file in snapshot.files().iter() {
                        tx.remove_file(&file, true);
                    }
                }
                Some(predicate) => {
                    let outcome: RewriteOutcome =
                        match rewrite(snapshot, predicate, &RowChange::Delete, &options).await {
                            Ok(outcome) => outcome,
                            Err(err) => {
                                tx.abort().await;
                                return Err(err);
                            }
                        };
                    let summary = tx.summary_mut();
                    summary.rows_deleted = outcome.rows_matched;
                    summary.rows_copied = outcome.rows_copied;
                    summary.rows_written += outcome.rows_written;
                    tx.set_row_ids_preserved(outcome.row_ids_preserved);
                    tx.set_reads(ReadSet::Predicate {
                        predicate: predicate.clone(),
                        files: outcome.read_files,
                    });
                    for remove in outcome.removes {
                        tx.remove(remove);
                    }
                    for add in outcome.adds {
                        tx.add_file(add);
                    }
                }
            }
        }
        self.finish_transaction(&mut tx, &partition_columns, replace_where.as_ref());
        let tx = tx.with_commit_options(self.commit_options.clone());
        if existing.is_some() {
            return tx.commit().await;
        }
        // Creating the table: another writer may create it first. Its table takes the rows
        // as an append when it is the table this write would have made.
        let location = Arc::clone(tx.location());
        match tx.commit_keeping_files().await {
            Err(Error::Log(LogError::TableAlreadyExists { .. })) => {
                let joined = self
                    .join_created_table(
                        (&table_schema, &partition_columns, &properties),
                        &schema,
                        &written,
                        output.num_rows,
                    )
                    .await;
                if joined.is_err() {
                    // Before the join's own commit (which cleans up after itself when it
                    // definitely failed), nothing else would delete them.
                    if !matches!(
                        &joined,
                        Err(Error::Log(LogError::CommitOutcomeUnknown { .. }))
                    ) {
                        delete_data_files(&location, &written).await;
                    }
                }
                joined
            }
            Err(err) => {
                if !matches!(&err, Error::Log(LogError::CommitOutcomeUnknown { .. })) {
                    delete_data_files(&location, &written).await;
                }
                Err(err)
            }
            Ok(summary) => Ok(summary),
        }
    }

    /// The actions and parameters every write commits besides its files: the `txn`, the
    /// mode, the partitioning, the replace-where predicate.
    fn finish_transaction(
        &self,
        tx: &mut Transaction,
        partition_columns: &[String],
        replace_where: Option<&Expr>,
    ) {
        if let Some((app_id, version)) = &self.txn {
            tx.set_app_transaction(app_id.clone(), *version);
            tx.parameter("txnAppId", app_id.clone());
            tx.parameter("txnVersion", version.to_string());
        }
        tx.parameter("mode", self.mode.to_string());
        tx.parameter(
            "partitionBy",
            serde_json::to_string(partition_columns).unwrap_or_default(),
        );
        if let Some(predicate) = replace_where {
            tx.parameter("predicate", predicate.to_string());
        }
    }

    /// Another writer created the table while this write was creating it: commits the files
    /// written for the new table to that one instead, as an append (or, for an overwrite, as
    /// an overwrite of what it holds), if the table is the one this write would have created
    /// (same schema, same partition columns, and every CHECK constraint it has also checked
    /// here). Otherwise fails with [`Error::TableCreatedConcurrently`] naming the difference.
    async fn join_created_table(
        &self,
        (created_schema, created_partitions, properties): (
            &StructType,
            &[String],
            &BTreeMap<String, String>,
        ),
        input: &SchemaRef,
        written: &[Add],
        rows: u64,
    ) -> Result<CommitSummary> {
        let snapshot = self.table.snapshot().await?;
        let difference =
            creation_difference(&snapshot, created_schema, created_partitions, properties);
        if let Some(difference) = difference {
            return Err(Error::TableCreatedConcurrently {
                table: self.table.location().to_string(),
                version: snapshot.version(),
                difference,
            });
        }
        if let Some((app_id, version)) = &self.txn
            && snapshot
                .txn_version(app_id)
                .is_some_and(|done| done >= *version)
        {
            delete_data_files(snapshot.location(), written).await;
            return Ok(CommitSummary::nothing("WRITE"));
        }
        let Prepared {
            mut tx,
            partition_columns,
            ..
        } = self.prepare_existing(&snapshot, input)?;
        tx.summary_mut().rows_written = rows;
        for add in written {
            tx.add_file(add.clone());
        }
        if self.mode == WriteMode::Overwrite {
            for file in snapshot.files().iter() {
                tx.remove_file(&file, true);
            }
        }
        self.finish_transaction(&mut tx, &partition_columns, None);
        tx.with_commit_options(self.commit_options.clone())
            .commit()
            .await
    }

    fn prepare_new_table(&self, input: &SchemaRef) -> Result<Prepared> {
        if self.replace_where.is_some() {
            return Err(Error::Log(LogError::NotATable {
                location: self.table.location().to_string(),
                reason: "overwrite-where replaces rows of an existing table; there is no table \
                         to replace rows in"
                    .to_owned(),
            }));
        }
        let schema = StructType::try_from(input.as_ref())?;
        let metadata = new_metadata(
            schema.clone(),
            self.partition_columns.clone().unwrap_or_default(),
            self.properties.clone(),
            None,
            None,
        )?;
        let protocol = protocol_for_new_table(&metadata)?;
        let partition_columns = metadata.partition_columns.clone();
        let properties = metadata.configuration.clone();
        let tx = Transaction::create_table(
            Arc::clone(self.table.location_arc()),
            protocol,
            metadata,
            schema.clone(),
            "WRITE",
        );
        Ok(Prepared {
            tx,
            schema,
            partition_columns,
            properties,
            replace_where: None,
        })
    }

    fn prepare_existing(&self, snapshot: &Snapshot, input: &SchemaRef) -> Result<Prepared> {
        // What an overwrite-where read is narrowed to the files its rewrite read, later.
        let reads = match (&self.mode, &self.replace_where) {
            (WriteMode::Append, _) => ReadSet::Nothing,
            (WriteMode::Overwrite, _) => ReadSet::WholeTable,
        };
        let mut tx = snapshot.transaction("WRITE", reads)?;
        let partition_columns = snapshot.partition_columns().to_vec();
        if let Some(requested) = &self.partition_columns
            && requested != &partition_columns
        {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "the table is partitioned by [{}], not [{}]",
                    partition_columns.join(", "),
                    requested.join(", ")
                ),
            });
        }
        if self.mode == WriteMode::Overwrite {
            check_not_append_only(snapshot.metadata(), "an overwrite")?;
        }
        let mut schema = snapshot.schema().clone();
        let mut metadata = snapshot.metadata().clone();
        if self.merge_schema {
            let mut merged = merged_schema(&schema, input)?;
            if merged != schema {
                // Widened types are recorded per field and need the typeWidening feature.
                if let Some(change) = record_type_changes(&schema, &mut merged)? {
                    let has_feature =
                        tarn_protocol::features::effective_reader_features(snapshot.protocol())
                            .iter()
                            .any(|f| {
                                matches!(
                                    f,
                                    TableFeature::TypeWidening | TableFeature::TypeWideningPreview
                                )
                            });
                    if !has_feature && !self.type_widening {
                        return Err(Error::FeatureUpgradeNotAllowed {
                            feature: "typeWidening".to_owned(),
                            change,
                            unreadable_by: "readers without type-widening support (delta-rs and \
                                            the Python `deltalake` package, Delta Lake before \
                                            3.2 on Spark)"
                                .to_owned(),
                            how_to_allow: "`tarn write --allow-type-widening`, \
                                           `WriteBuilder::with_type_widening(true)`"
                                .to_owned(),
                        });
                    }
                    metadata
                        .configuration
                        .insert("delta.enableTypeWidening".to_owned(), "true".to_owned());
                }
                metadata.schema_string = merged.to_json();
                tx.parameter("mergeSchema", "true");
                schema = merged;
            }
        }
        let changed_properties = self.changed_properties(snapshot)?;
        if !changed_properties.is_empty() {
            tx.parameter(
                "properties",
                serde_json::to_string(&changed_properties).unwrap_or_default(),
            );
            metadata.configuration.extend(changed_properties);
            super::validate_properties(&metadata.configuration, &schema)?;
        }
        if &metadata != snapshot.metadata() {
            let protocol = max_protocol(snapshot.protocol(), &protocol_for_new_table(&metadata)?);
            if &protocol != snapshot.protocol() {
                tx.set_protocol(protocol);
            }
            tx.set_metadata(metadata);
        }
        let replace_where = match &self.replace_where {
            Some(predicate) => {
                predicate.validate(&schema)?;
                Some(predicate.resolve(&schema)?)
            }
            None => None,
        };
        Ok(Prepared {
            tx,
            schema,
            partition_columns,
            properties: snapshot.properties().clone(),
            replace_where,
        })
    }
}

impl WriteBuilder {
    /// The properties this write sets that the table does not already have with that value.
    /// A property that cannot change in a write is refused: a CHECK constraint (every existing
    /// row would have to be checked first) and the column mapping mode (every column would
    /// need a physical name).
    fn changed_properties(&self, snapshot: &Snapshot) -> Result<BTreeMap<String, String>> {
        let current = &snapshot.metadata().configuration;
        let mut changed = BTreeMap::new();
        for (key, value) in &self.properties {
            if current.get(key) == Some(value) {
                continue;
            }
            let refused = if key.starts_with(crate::write::CONSTRAINT_KEY_PREFIX) {
                Some(
                    "a CHECK constraint cannot be added or changed by a write: the table's \
                      existing rows would have to be checked against it first",
                )
            } else if key == "delta.columnMapping.mode" {
                Some("the column mapping mode of an existing table cannot be changed by a write")
            } else if key == tarn_protocol::features::ENABLE_ROW_TRACKING_KEY
                || key == tarn_protocol::features::ROW_TRACKING_SUSPENDED_KEY
                || key.starts_with("delta.rowTracking.")
            {
                Some(
                    "row tracking cannot be switched on or off, or its columns renamed, by a \
                     write: every existing file would first need row ids; create the table \
                     with it instead",
                )
            } else {
                None
            };
            if let Some(reason) = refused {
                return Err(Error::InvalidArgument {
                    reason: format!("table property {key}={value:?}: {reason}"),
                });
            }
            changed.insert(key.clone(), value.clone());
        }
        Ok(changed)
    }
}

/// How a table another writer created differs from the one a write would have created
/// (schema, partition columns, or a CHECK constraint it has that the write did not check),
/// or `None` when the write's files fit it.
fn creation_difference(
    snapshot: &Snapshot,
    schema: &StructType,
    partition_columns: &[String],
    properties: &BTreeMap<String, String>,
) -> Option<String> {
    if snapshot.partition_columns() != partition_columns {
        return Some(format!(
            "partition columns [{}] where this write has [{}]",
            snapshot.partition_columns().join(", "),
            partition_columns.join(", ")
        ));
    }
    if let Some(difference) = schema_difference(snapshot.schema(), schema) {
        return Some(difference);
    }
    let prefix = crate::write::CONSTRAINT_KEY_PREFIX;
    for (key, value) in snapshot.properties() {
        if key.starts_with(prefix) && properties.get(key) != Some(value) {
            return Some(format!(
                "the CHECK constraint {}: {value}, which this write did not check",
                &key[prefix.len()..]
            ));
        }
    }
    None
}

/// The first difference between two schemas, described: a missing or extra column, or a
/// column whose type, nullability or metadata differs.
fn schema_difference(theirs: &StructType, ours: &StructType) -> Option<String> {
    for (i, field) in theirs.fields.iter().enumerate() {
        let Some(mine) = ours.fields.get(i) else {
            return Some(format!(
                "a column `{}` this write does not have",
                field.name
            ));
        };
        if mine.name != field.name {
            return Some(format!(
                "column {} named `{}` where this write has `{}`",
                i + 1,
                field.name,
                mine.name
            ));
        }
        if mine.data_type != field.data_type {
            return Some(format!(
                "column `{}` of type {} where this write has {}",
                field.name, field.data_type, mine.data_type
            ));
        }
        if mine.nullable != field.nullable {
            let null = |n: bool| if n { "nullable" } else { "NOT NULL" };
            return Some(format!(
                "column `{}` {} where this write has it {}",
                field.name,
                null(field.nullable),
                null(mine.nullable)
            ));
        }
        if mine.metadata != field.metadata {
            return Some(format!(
                "column `{}` with other metadata (column mapping, invariants or type changes)",
                field.name
            ));
        }
    }
    ours.fields
        .get(theirs.fields.len())
        .map(|extra| format!("no column `{}`, which this write has", extra.name))
}

/// A transaction with everything but the data.
struct Prepared {
    tx: Transaction,
    schema: StructType,
    partition_columns: Vec<String>,
    properties: BTreeMap<String, String>,
    replace_where: Option<Expr>,
}

/// Streams `batches` through a [`DataWriter`]; on any error deletes what it wrote.
async fn write_all<S>(
    location: &Arc<tarn_log::TableLocation>,
    schema: &StructType,
    partition_columns: &[String],
    properties: &BTreeMap<String, String>,
    options: WriterOptions,
    replace_where: Option<&Expr>,
    batches: S,
) -> Result<crate::write::WriteOutput>
where
    S: Stream<Item = Result<RecordBatch>> + Send,
{
    let mut writer = DataWriter::new(
        Arc::clone(location),
        schema,
        partition_columns,
        properties,
        options,
    )?;
    let mut batches = std::pin::pin!(batches);
    let mut rows_before = 0u64;
    while let Some(batch) = batches.next().await {
        let step = async {
            let batch = batch?;
            if let Some(predicate) = replace_where {
                check_replace_where(predicate, &batch, rows_before)?;
            }
            writer.write(&batch).await?;
            Ok::<u64, Error>(u64::try_from(batch.num_rows()).unwrap_or(0))
        }
        .await;
        match step {
            Ok(rows) => rows_before += rows,
            Err(err) => {
                writer.abort().await;
                return Err(err);
            }
        }
    }
    writer.finish().await
}

/// Every row an overwrite-where writes must match its predicate: otherwise the commit would
/// add rows outside the range it replaces.
fn check_replace_where(predicate: &Expr, batch: &RecordBatch, rows_before: u64) -> Result<()> {
    let mask = predicate.evaluate_predicate(batch)?;
    let bad = (0..mask.len()).find(|&i| !(mask.is_valid(i) && mask.value(i)));
    match bad {
        None => Ok(()),
        Some(row) => Err(Error::ReplaceWhereMismatch {
            predicate: predicate.to_string(),
            row: rows_before + u64::try_from(row).unwrap_or(0),
            values: crate::write::constraints::render_row(batch, row),
        }),
    }
}

/// Records in `new` the type changes from `old` (the protocol's `delta.typeChanges` field
/// metadata, appended to any earlier history). Returns the first change, described
/// (`widening column `n` from integer to long`), if any type changed. Changes inside arrays
/// and maps are refused: tarn records type changes of struct fields only.
fn record_type_changes(old: &StructType, new: &mut StructType) -> Result<Option<String>> {
    use tarn_protocol::schema::DataType as DeltaType;
    let mut changed = None;
    for field in &mut new.fields {
        let Some(before) = old.field(&field.name) else {
            continue;
        };
        match (&before.data_type, &mut field.data_type) {
            (a, b) if a == &*b => {}
            (DeltaType::Struct(a), DeltaType::Struct(b)) => {
                if let Some(inner) = record_type_changes(a, b)? {
                    changed.get_or_insert(inner);
                }
            }
            (DeltaType::Primitive(from), DeltaType::Primitive(to)) => {
                let entry = serde_json::json!({
                    "fromType": from.to_string(),
                    "toType": to.to_string(),
                });
                let history = field
                    .metadata
                    .entry("delta.typeChanges".to_owned())
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                match history {
                    serde_json::Value::Array(list) => list.push(entry),
                    other => *other = serde_json::Value::Array(vec![entry]),
                }
                changed.get_or_insert_with(|| {
                    format!("widening column `{}` from {from} to {to}", field.name)
                });
            }
            (from, to) => {
                return Err(Error::SchemaMismatch {
                    column: field.name.clone(),
                    reason: format!(
                        "cannot widen {from} to {to}: tarn widens primitive columns and struct \
                         fields, not array elements or map keys and values"
                    ),
                });
            }
        }
    }
    Ok(changed)
}
