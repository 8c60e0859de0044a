//! Tests of the data writer: files written to a local temporary table, committed by hand as
//! version 0, and read back with tarn's own scan.

mod enforcement;
mod interleaved;
mod layout;
mod roundtrip;
mod stats;

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use futures::TryStreamExt;
use serde_json::Value;
use tarn_log::TableLocation;
use tarn_protocol::actions::{Action, Add, Format, Metadata, Protocol};
use tarn_protocol::features::TableFeature;
use tarn_protocol::schema::StructType;
use tempfile::TempDir;

use super::{DataWriter, WriteOutput, WriterOptions};
use crate::table::Table;

/// A table directory with its location.
pub(super) struct TestTable {
    pub(super) dir: TempDir,
    pub(super) location: Arc<TableLocation>,
    pub(super) schema: StructType,
    pub(super) partition_columns: Vec<String>,
    pub(super) configuration: BTreeMap<String, String>,
}

impl TestTable {
    pub(super) fn new(schema: StructType, partition_columns: &[&str]) -> Self {
        Self::with_configuration(schema, partition_columns, &[])
    }

    pub(super) fn with_configuration(
        schema: StructType,
        partition_columns: &[&str],
        configuration: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = Arc::new(TableLocation::parse(dir.path().to_str().unwrap()).unwrap());
        Self {
            dir,
            location,
            schema,
            partition_columns: partition_columns.iter().map(|s| (*s).to_owned()).collect(),
            configuration: configuration
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    pub(super) fn path(&self) -> &FsPath {
        self.dir.path()
    }

    pub(super) fn writer(&self, options: WriterOptions) -> DataWriter {
        DataWriter::new(
            Arc::clone(&self.location),
            &self.schema,
            &self.partition_columns,
            &self.configuration,
            options,
        )
        .unwrap()
    }

    /// Writes `batches` with `options` and returns what the writer reports.
    pub(super) async fn write(
        &self,
        options: WriterOptions,
        batches: &[RecordBatch],
    ) -> WriteOutput {
        let mut writer = self.writer(options);
        for batch in batches {
            writer.write(batch).await.unwrap();
        }
        writer.finish().await.unwrap()
    }

    /// Commits version 0: protocol, metadata and `adds`.
    pub(super) fn commit(&self, adds: &[Add]) {
        let features = vec![TableFeature::TimestampNtz, TableFeature::ColumnMapping];
        let mut actions = vec![
            Action::Protocol(Protocol {
                min_reader_version: 3,
                min_writer_version: 7,
                reader_features: Some(features.clone()),
                writer_features: Some(features),
            }),
            Action::Metadata(Metadata {
                id: "00000000-0000-0000-0000-000000000001".to_owned(),
                name: None,
                description: None,
                format: Format::default(),
                schema_string: self.schema.to_json(),
                partition_columns: self.partition_columns.clone(),
                created_time: Some(0),
                configuration: self.configuration.clone(),
            }),
        ];
        actions.extend(adds.iter().cloned().map(Action::Add));
        let log = self.path().join("_delta_log");
        std::fs::create_dir_all(&log).unwrap();
        let text: String = actions
            .iter()
            .map(|a| a.to_json_line().unwrap() + "\n")
            .collect();
        std::fs::write(log.join("00000000000000000000.json"), text).unwrap();
    }

    /// Every row of the committed table, rendered (see [`rows`]), sorted.
    pub(super) async fn read_rows(&self) -> Vec<String> {
        rows(&self.read(None).await)
    }

    /// The committed table's batches, optionally filtered.
    pub(super) async fn read(&self, filter: Option<&str>) -> Vec<RecordBatch> {
        let table = Table::open(self.path().to_str().unwrap()).await.unwrap();
        let snapshot = table.snapshot().await.unwrap();
        let mut scan = snapshot.scan();
        if let Some(filter) = filter {
            scan = scan.with_filter(crate::Expr::parse(filter).unwrap());
        }
        scan.build()
            .await
            .unwrap()
            .execute()
            .try_collect()
            .await
            .unwrap()
    }

    /// Every regular file under the table directory, relative, outside `_delta_log`.
    pub(super) fn data_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.path(), self.path(), &mut out);
        out.retain(|p| !p.starts_with("_delta_log"));
        out.sort();
        out
    }
}

fn walk(root: &FsPath, dir: &FsPath, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// Each row as `{a: 1, b: "x"}`, sorted, for order-insensitive comparison.
pub(super) fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::new()
        .with_null("NULL")
        .with_quoted_strings(true);
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter<'_>> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .zip(&formatters)
                .map(|(f, fmt)| format!("{}: {}", f.name(), fmt.value(row)))
                .collect();
            out.push(format!("{{{}}}", cells.join(", ")));
        }
    }
    out.sort();
    out
}

/// The parsed `stats` of an add.
pub(super) fn stats_of(add: &Add) -> Value {
    serde_json::from_str(add.stats.as_deref().unwrap()).unwrap()
}

/// Total rows across batches.
pub(super) fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
