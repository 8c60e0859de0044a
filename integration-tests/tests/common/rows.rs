//! Comparing query results order-insensitively, by value.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, TimeUnit};

/// Casts representation differences away: timestamps to microseconds (instants compared in
/// UTC), dictionaries and views and large offsets to their plain forms, recursively.
fn normal_type(data_type: &DataType) -> DataType {
    let field = |f: &Arc<Field>| Arc::new(Field::new(f.name(), normal_type(f.data_type()), true));
    match data_type {
        DataType::Timestamp(_, tz) => {
            DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "UTC".into()))
        }
        DataType::Dictionary(_, value) => normal_type(value),
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::LargeList(f) | DataType::List(f) => DataType::List(field(f)),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => {
            let DataType::Struct(kv) = f.data_type() else {
                return data_type.clone();
            };
            let entries = DataType::Struct(
                vec![
                    Field::new("key", normal_type(kv[0].data_type()), false),
                    Field::new("value", normal_type(kv[1].data_type()), true),
                ]
                .into(),
            );
            DataType::Map(Arc::new(Field::new("entries", entries, false)), *sorted)
        }
        other => other.clone(),
    }
}

fn normalize(array: &ArrayRef) -> ArrayRef {
    let target = normal_type(array.data_type());
    if &target == array.data_type() {
        Arc::clone(array)
    } else {
        arrow_cast::cast(array, &target)
            .unwrap_or_else(|e| panic!("cannot normalise {} to {target}: {e}", array.data_type()))
    }
}

/// Every row of the batches as text cells (column order as given), sorted.
pub fn canonical_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = arrow_cast::display::FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let columns: Vec<ArrayRef> = batch.columns().iter().map(normalize).collect();
        let formatters: Vec<_> = columns
            .iter()
            .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    rows.sort();
    rows
}

/// The column names of batches (from the first batch's schema).
pub fn column_names(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Total rows.
pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Reads a whole Parquet file.
pub fn read_parquet(path: &std::path::Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Keeps the named columns of each batch, in that order.
pub fn project(batches: &[RecordBatch], names: &[String]) -> Vec<RecordBatch> {
    batches
        .iter()
        .map(|b| {
            let indexes: Vec<usize> = names
                .iter()
                .map(|n| {
                    b.schema()
                        .index_of(n)
                        .unwrap_or_else(|_| panic!("no column {n}"))
                })
                .collect();
            b.project(&indexes).unwrap()
        })
        .collect()
}
