//! Writing small Delta tables by hand, for tests that need data tarn cannot write yet: Parquet
//! data files written with `ArrowWriter` (column statistics on), one `add` per file with its
//! real size, partition values and the `stats` JSON a Delta writer would compute from the data,
//! and a single commit holding `protocol`, `metaData` and the `add`s.
//!
//! Statistics follow the protocol's rules for writers: strings are cut to a 32-character
//! prefix (minimum and maximum alike), timestamps are cut down to milliseconds, float
//! statistics leave NaN out, and a column whose values are all null has a `nullCount` only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value, json};

/// Delta writers cut string statistics to this many characters.
pub const STRING_PREFIX_LENGTH: usize = 32;

/// The directory name Hive-style layouts use for a null partition value.
pub const NULL_PARTITION_DIR: &str = "__HIVE_DEFAULT_PARTITION__";

/// Builds one Delta table version 0 under a directory.
#[derive(Debug)]
pub struct DeltaTableBuilder {
    root: PathBuf,
    protocol: Value,
    schema: Value,
    partition_columns: Vec<String>,
    configuration: Map<String, Value>,
    adds: Vec<Map<String, Value>>,
}

impl DeltaTableBuilder {
    /// A table at `root` with this Delta schema (the `{"type":"struct","fields":[...]}`
    /// JSON) and these (logical) partition columns; protocol 1/2 unless changed.
    pub fn new(root: &Path, schema: Value, partition_columns: &[&str]) -> Self {
        std::fs::create_dir_all(root.join("_delta_log")).unwrap();
        Self {
            root: root.to_owned(),
            protocol: json!({"minReaderVersion": 1, "minWriterVersion": 2}),
            schema,
            partition_columns: partition_columns.iter().map(|c| (*c).to_owned()).collect(),
            configuration: Map::new(),
            adds: Vec::new(),
        }
    }

    /// Replaces the `protocol` action.
    pub fn with_protocol(mut self, protocol: Value) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets one table property of `metaData.configuration`.
    pub fn with_configuration(mut self, key: &str, value: &str) -> Self {
        self.configuration
            .insert(key.to_owned(), Value::String(value.to_owned()));
        self
    }

    /// The table's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `batch` (columns under their physical names) as a Parquet file in the
    /// Hive-style directory of `partition` (physical name, value; `None` is null), with at most
    /// `row_group_rows` rows per row group, and records its `add` with statistics. Returns
    /// the `add` path.
    pub fn write_file(
        &mut self,
        partition: &[(&str, Option<&str>)],
        batch: &RecordBatch,
        row_group_rows: Option<usize>,
    ) -> String {
        let relative = self.next_file_path(partition);
        let size = write_parquet(&self.root.join(&relative), batch, row_group_rows);
        let stats = file_stats(batch);
        self.add_entry(&relative, size, partition, Some(stats));
        relative
    }

    /// Writes arbitrary bytes as a data file in the directory of `partition` and records an
    /// `add` with the given statistics and the bytes' length as its size. Returns the path.
    pub fn write_raw_file(
        &mut self,
        partition: &[(&str, Option<&str>)],
        bytes: &[u8],
        stats: Option<Value>,
    ) -> String {
        let relative = self.next_file_path(partition);
        let path = self.root.join(&relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        self.add_entry(&relative, bytes.len() as u64, partition, stats);
        relative
    }

    /// The `add` action of a file written earlier, to change it before the commit (drop its
    /// `stats`, attach a `deletionVector`, falsify its `size`).
    pub fn add_mut(&mut self, path: &str) -> &mut Map<String, Value> {
        self.adds
            .iter_mut()
            .find(|add| add["path"] == path)
            .unwrap_or_else(|| panic!("no add for {path}"))
    }

    /// Writes a deletion vector file (storage type `u`, no prefix) marking `rows` of the file
    /// at `path` as deleted, attaches its descriptor to the file's `add`, and returns the
    /// vector file's path.
    pub fn attach_deletion_vector(&mut self, path: &str, rows: &[u64], uuid_byte: u8) -> PathBuf {
        use tarn::deletion_vector::{
            DeletionVector, DeletionVectorFileBuilder, decode_relative_id, relative_file_path, z85,
        };
        let vector = DeletionVector::from_rows(rows.iter().copied()).unwrap();
        let mut file = DeletionVectorFileBuilder::new();
        let stored = file.push(&vector).unwrap();
        let id = z85::encode_padded(&[uuid_byte; 16]);
        let (_, uuid) = decode_relative_id(&id).unwrap();
        let dv_path = self.root.join(relative_file_path("", &uuid));
        std::fs::write(&dv_path, file.finish()).unwrap();
        let descriptor = stored.relative_descriptor("", &uuid);
        self.add_mut(path).insert(
            "deletionVector".into(),
            serde_json::to_value(&descriptor).unwrap(),
        );
        dv_path
    }

    /// Writes `_delta_log/00000000000000000000.json` and returns the table root.
    pub fn commit(self) -> PathBuf {
        let metadata = json!({
            "id": "0f6a41b2-7d3c-4e59-9d0e-3b1c2a4f5e6d",
            "format": {"provider": "parquet", "options": {}},
            "schemaString": self.schema.to_string(),
            "partitionColumns": self.partition_columns,
            "configuration": self.configuration,
            "createdTime": 1_767_780_000_000i64,
        });
        let mut lines = vec![
            json!({"commitInfo": {"timestamp": 1_767_780_000_000i64, "operation": "WRITE"}}),
            json!({"protocol": self.protocol}),
            json!({"metaData": metadata}),
        ];
        lines.extend(self.adds.into_iter().map(|add| json!({ "add": add })));
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        std::fs::write(self.root.join("_delta_log/00000000000000000000.json"), text).unwrap();
        self.root
    }

    fn next_file_path(&self, partition: &[(&str, Option<&str>)]) -> String {
        let mut path = String::new();
        for (column, value) in partition {
            path.push_str(column);
            path.push('=');
            path.push_str(value.unwrap_or(NULL_PARTITION_DIR));
            path.push('/');
        }
        path.push_str(&format!(
            "part-{:05}-5d3c1a2b-test-c000.snappy.parquet",
            self.adds.len()
        ));
        path
    }

    fn add_entry(
        &mut self,
        relative: &str,
        size: u64,
        partition: &[(&str, Option<&str>)],
        stats: Option<Value>,
    ) {
        let partition_values: BTreeMap<&str, Option<&str>> = partition.iter().copied().collect();
        let mut add = Map::new();
        add.insert("path".into(), json!(relative));
        add.insert("partitionValues".into(), json!(partition_values));
        add.insert("size".into(), json!(size));
        add.insert("modificationTime".into(), json!(1_767_780_000_000i64));
        add.insert("dataChange".into(), json!(true));
        if let Some(stats) = stats {
            add.insert("stats".into(), Value::String(stats.to_string()));
        }
        self.adds.push(add);
    }
}

/// Writes a Parquet file (page-level statistics, the default) and returns its size.
pub fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: Option<usize>) -> u64 {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(row_group_rows)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// The Delta `stats` of a batch: `numRecords`, and per top-level column (by the batch's
/// column names, which are the physical names) `nullCount` and, where some value is not null,
/// `minValues` and `maxValues`.
pub fn file_stats(batch: &RecordBatch) -> Value {
    let mut min_values = Map::new();
    let mut max_values = Map::new();
    let mut null_count = Map::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        null_count.insert(field.name().clone(), json!(column.null_count()));
        if let Some((min, max)) = column_bounds(column.as_ref()) {
            min_values.insert(field.name().clone(), min);
            max_values.insert(field.name().clone(), max);
        }
    }
    json!({
        "numRecords": batch.num_rows(),
        "minValues": min_values,
        "maxValues": max_values,
        "nullCount": null_count,
    })
}

fn min_max<T: PartialOrd + Copy>(values: impl Iterator<Item = T>) -> Option<(T, T)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((if v < lo { v } else { lo }, if v > hi { v } else { hi })),
    })
}

macro_rules! primitive_bounds {
    ($array:expr, $type:ty) => {
        min_max($array.as_primitive::<$type>().iter().flatten()).map(|(a, b)| (json!(a), json!(b)))
    };
}

/// The JSON min and max of a column as a Delta writer records them, or `None`.
fn column_bounds(array: &dyn Array) -> Option<(Value, Value)> {
    match array.data_type() {
        DataType::Int8 => primitive_bounds!(array, Int8Type),
        DataType::Int16 => primitive_bounds!(array, Int16Type),
        DataType::Int32 => primitive_bounds!(array, Int32Type),
        DataType::Int64 => primitive_bounds!(array, Int64Type),
        DataType::Float32 => min_max(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .flatten()
                .filter(|v| !v.is_nan()),
        )
        .map(|(a, b)| (json!(a), json!(b))),
        DataType::Float64 => min_max(
            array
                .as_primitive::<Float64Type>()
                .iter()
                .flatten()
                .filter(|v| !v.is_nan()),
        )
        .map(|(a, b)| (json!(a), json!(b))),
        DataType::Date32 => min_max(array.as_primitive::<Date32Type>().iter().flatten())
            .map(|(a, b)| (json!(date_text(a)), json!(date_text(b)))),
        DataType::Timestamp(TimeUnit::Microsecond, _) => min_max(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .flatten(),
        )
        .map(|(a, b)| {
            (
                json!(timestamp_millis_text(a)),
                json!(timestamp_millis_text(b)),
            )
        }),
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            min_max(array.as_primitive::<Decimal128Type>().iter().flatten())
                .map(|(a, b)| (decimal_json(a, scale), decimal_json(b, scale)))
        }
        DataType::Utf8 => {
            let strings = array.as_string::<i32>();
            let min = strings.iter().flatten().min()?;
            let max = strings.iter().flatten().max()?;
            Some((json!(string_prefix(min)), json!(string_prefix(max))))
        }
        _ => None,
    }
}

/// The first 32 characters of a string statistic.
pub fn string_prefix(value: &str) -> String {
    value.chars().take(STRING_PREFIX_LENGTH).collect()
}

/// A date (days since the epoch) as `YYYY-MM-DD`.
pub fn date_text(days: i32) -> String {
    (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days.into()))
        .format("%Y-%m-%d")
        .to_string()
}

/// A timestamp statistic: the instant cut down to milliseconds, in UTC, as Delta-Spark writes
/// it (`2026-01-07T10:00:00.123Z`).
pub fn timestamp_millis_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros.div_euclid(1000) * 1000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A timestamp as a SQL literal's text with all six fractional digits, in UTC.
pub fn timestamp_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// A decimal's unscaled value as its exact text (`-12.05` for -1205 at scale 2).
pub fn decimal_text(unscaled: i128, scale: i8) -> String {
    let scale = usize::try_from(scale).unwrap();
    let digits = format!("{:0>width$}", unscaled.unsigned_abs(), width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// A decimal statistic as a JSON number, as Delta writers record decimals.
fn decimal_json(unscaled: i128, scale: i8) -> Value {
    let value: f64 = decimal_text(unscaled, scale).parse().unwrap();
    json!(value)
}

/// An Arrow field with a Parquet field id (column mapping writes field ids into data files).
pub fn field_with_id(name: &str, data_type: DataType, id: i64) -> Arc<arrow_schema::Field> {
    Arc::new(
        arrow_schema::Field::new(name, data_type, true).with_metadata(
            [(
                parquet::arrow::PARQUET_FIELD_ID_META_KEY.to_owned(),
                id.to_string(),
            )]
            .into(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_is_exact() {
        assert_eq!(decimal_text(-1205, 2), "-12.05");
        assert_eq!(decimal_text(7, 2), "0.07");
        assert_eq!(decimal_text(-7, 2), "-0.07");
        assert_eq!(decimal_text(12345, 0), "12345");
    }

    #[test]
    fn timestamp_statistics_are_cut_down_to_milliseconds() {
        assert_eq!(timestamp_millis_text(1_500), "1970-01-01T00:00:00.001Z");
        assert_eq!(timestamp_millis_text(-1_500), "1969-12-31T23:59:59.998Z");
        assert_eq!(timestamp_text(1_500), "1970-01-01 00:00:00.001500");
    }
}
