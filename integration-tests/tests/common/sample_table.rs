//! The partitioned sample table of the pruning tests, written by hand with its rows kept in
//! memory as plain Rust values, and the conversion of scan output back into those values.
//!
//! The table is partitioned by `day` (date) and `region` (string; `eu`, `us` and null), two
//! files per partition, 18 files in all, with data columns `id` (long, sorted across files and
//! contiguous within each), `value` (double: nulls, a NaN in files 4 and 9, a `-0.0`), `name`
//! (string: nulls, files 5 and 11 hold names longer than the 32-character statistics prefix,
//! one longer than Parquet's 64-byte statistics limit, file 16 only nulls), `ts` (timestamp
//! with microseconds: the last row of each file falls in the same millisecond as the first row
//! of the next) and `amount` (decimal(10,2), ascending across files). Files 10 (null region)
//! and 13 (`eu`) have no statistics in their `add`. Every file has row groups of 8 rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::json;

use super::delta_table::DeltaTableBuilder;

/// The partition days.
pub const DAYS: [&str; 3] = ["2026-01-05", "2026-01-06", "2026-01-07"];
/// The partition regions (null included).
pub const REGIONS: [Option<&str>; 3] = [Some("eu"), Some("us"), None];
/// Number of data files.
pub const FILES: usize = 18;
/// Files whose `add` has no `stats`.
pub const NO_STATS_FILES: [usize; 2] = [10, 13];
/// Files holding a NaN `value`.
pub const NAN_FILES: [usize; 2] = [4, 9];
/// Files whose names are longer than the statistics prefix.
pub const LONG_NAME_FILES: [usize; 2] = [5, 11];
/// The file whose names are all null.
pub const NULL_NAME_FILE: usize = 16;
/// Exactly 32 characters: the statistics of files 5 and 11 record it as min and max.
pub const LONG_PREFIX: &str = "a-very-long-customer-name-prefix";
/// Rows per row group in every file.
pub const ROW_GROUP_ROWS: usize = 8;

/// One row of the sample table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Days since the epoch.
    pub day: i32,
    pub region: Option<String>,
    pub id: i64,
    pub value: Option<f64>,
    pub name: Option<String>,
    /// Microseconds since the epoch, UTC.
    pub ts: Option<i64>,
    /// Hundredths.
    pub amount: Option<i128>,
}

/// A row and the file it is stored in.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub file: usize,
    pub row: Row,
}

/// Days since the epoch of `YYYY-MM-DD`.
pub fn day_number(text: &str) -> i32 {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    i32::try_from((date - epoch).num_days()).unwrap()
}

/// 2026-01-07T10:00:00Z in microseconds.
pub fn ts_base() -> i64 {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 7)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

/// Rows in file `k`.
pub fn rows_in_file(k: usize) -> usize {
    20 + (k % 3) * 5
}

/// The partition values of file `k`: (day, region).
pub fn partition_of(k: usize) -> (&'static str, Option<&'static str>) {
    (DAYS[k / 6], REGIONS[(k % 6) / 2])
}

/// The `ts` of row `r` of file `k` (when not null): rows 300 µs apart from 123 µs into the
/// file's 10 ms slot, except the last row, which is 100 µs into the next file's slot, in the
/// same millisecond as that file's first row.
pub fn ts_of(k: usize, r: usize) -> i64 {
    let k = i64::try_from(k).unwrap();
    let r_i = i64::try_from(r).unwrap();
    if r == rows_in_file(usize::try_from(k).unwrap()) - 1 {
        ts_base() + (k + 1) * 10_000 + 100
    } else {
        ts_base() + k * 10_000 + 123 + r_i * 300
    }
}

/// The rows of file `k`.
pub fn file_rows(k: usize) -> Vec<Row> {
    let (day, region) = partition_of(k);
    let n = rows_in_file(k);
    (0..n)
        .map(|r| {
            let id = i64::try_from(k * 100 + r).unwrap();
            let value = if r % 11 == 3 {
                None
            } else if NAN_FILES.contains(&k) && r == 7 {
                Some(f64::NAN)
            } else {
                let v = id as f64 * 0.25 - 50.0;
                Some(if v == 0.0 { -0.0 } else { v })
            };
            let name = if k == NULL_NAME_FILE || r % 13 == 5 {
                None
            } else if k == 11 && r == 2 {
                Some(format!("{LONG_PREFIX}-{}-{id:05}", "x".repeat(50)))
            } else if LONG_NAME_FILES.contains(&k) {
                Some(format!("{LONG_PREFIX}-{id:05}"))
            } else {
                Some(format!("name-{id:05}"))
            };
            let ts = (r % 17 != 9).then(|| ts_of(k, r));
            let amount =
                (r % 19 != 4).then(|| i128::try_from(k * 10_000 + r * 37).unwrap() - 50_000);
            Row {
                day: day_number(day),
                region: region.map(str::to_owned),
                id,
                value,
                name,
                ts,
                amount,
            }
        })
        .collect()
}

/// The data columns of rows as a batch (partition columns are not stored in files).
pub fn data_batch(rows: &[Row]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("value", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("amount", DataType::Decimal128(10, 2), true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.value))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.name.clone()))),
        Arc::new(
            TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.ts)).with_timezone("UTC"),
        ),
        Arc::new(
            Decimal128Array::from_iter(rows.iter().map(|r| r.amount))
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// The Delta schema of the sample table.
pub fn schema_json() -> serde_json::Value {
    let field =
        |name: &str, ty: &str| json!({"name": name, "type": ty, "nullable": true, "metadata": {}});
    json!({"type": "struct", "fields": [
        field("day", "date"),
        field("region", "string"),
        field("id", "long"),
        field("value", "double"),
        field("name", "string"),
        field("ts", "timestamp"),
        field("amount", "decimal(10,2)"),
    ]})
}

/// Writes the sample table under `dir` and returns its root and every row with its file.
pub fn write_sample_table(dir: &Path) -> (PathBuf, Vec<StoredRow>) {
    let mut builder =
        DeltaTableBuilder::new(&dir.join("sample"), schema_json(), &["day", "region"]);
    let mut stored = Vec::new();
    for k in 0..FILES {
        let rows = file_rows(k);
        let (day, region) = partition_of(k);
        let path = builder.write_file(
            &[("day", Some(day)), ("region", region)],
            &data_batch(&rows),
            Some(ROW_GROUP_ROWS),
        );
        assert_eq!(file_index(&path), k);
        if NO_STATS_FILES.contains(&k) {
            builder.add_mut(&path).remove("stats");
        }
        stored.extend(rows.into_iter().map(|row| StoredRow { file: k, row }));
    }
    (builder.commit(), stored)
}

/// The file number of a data file path written by [`DeltaTableBuilder`] (`.../part-00007-...`).
pub fn file_index(path: &str) -> usize {
    let name = path.rsplit('/').next().unwrap();
    name["part-".len().."part-".len() + 5].parse().unwrap()
}

/// Scan output of the sample table (all columns) as rows.
pub fn rows_of(batches: &[RecordBatch]) -> Vec<Row> {
    let mut rows = Vec::new();
    for batch in batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name} in {:?}", batch.schema()))
        };
        assert_eq!(
            column("ts").data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let day = column("day").as_primitive::<Date32Type>();
        let region = column("region").as_string::<i32>();
        let id = column("id").as_primitive::<Int64Type>();
        let value = column("value").as_primitive::<Float64Type>();
        let name = column("name").as_string::<i32>();
        let ts = column("ts").as_primitive::<TimestampMicrosecondType>();
        let amount = column("amount").as_primitive::<Decimal128Type>();
        for i in 0..batch.num_rows() {
            rows.push(Row {
                day: day.value(i),
                region: region.is_valid(i).then(|| region.value(i).to_owned()),
                id: id.value(i),
                value: value.is_valid(i).then(|| value.value(i)),
                name: name.is_valid(i).then(|| name.value(i).to_owned()),
                ts: ts.is_valid(i).then(|| ts.value(i)),
                amount: amount.is_valid(i).then(|| amount.value(i)),
            });
        }
    }
    rows
}

/// Rows as comparable text, sorted by id (ids are unique): NaN and `-0.0` print as such.
pub fn canonical(rows: &[Row]) -> Vec<String> {
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by_key(|r| r.id);
    rows.iter().map(|r| format!("{r:?}")).collect()
}
