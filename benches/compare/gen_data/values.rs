//! Decides the rows of the generated table and keeps the Delta statistics of each file as its
//! rows are drawn. Every value comes from a per-file seeded RNG and the row's position, never
//! from the clock, so one seed always yields the same rows. No I/O here.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::error::BenchError;

/// Values of the low-cardinality `category` column.
const CATEGORIES: [&str; 8] = [
    "books",
    "electronics",
    "garden",
    "grocery",
    "home",
    "music",
    "sports",
    "toys",
];

/// Milliseconds in a day.
pub(super) const DAY_MS: i64 = 86_400_000;

/// One row in this many has a null `amount`.
const AMOUNT_NULL_ONE_IN: u32 = 100;

/// The Arrow schema of the data files: the table's columns minus the partition column `day`,
/// which lives in the path and the `add` action, as Delta writers do.
pub(super) fn file_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("user_id", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("category", DataType::Utf8, true),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// The table schema as the Delta log's `schemaString` describes it.
pub(super) fn delta_schema() -> serde_json::Value {
    let field = |name: &str, data_type: &str| json!({ "name": name, "type": data_type, "nullable": true, "metadata": {} });
    json!({
        "type": "struct",
        "fields": [
            field("id", "long"),
            field("user_id", "long"),
            field("amount", "double"),
            field("category", "string"),
            field("event_time", "timestamp"),
            field("day", "string"),
        ],
    })
}

/// Where a file's rows sit in its day.
#[derive(Debug, Clone, Copy)]
pub(super) struct DaySpan {
    /// 00:00 UTC of the day, in milliseconds since the epoch.
    pub(super) day_start_ms: i64,
    /// Rows of the whole day.
    pub(super) rows_in_day: u64,
}

/// Draws a file's rows batch by batch and keeps its statistics.
pub(super) struct FileRows {
    rng: ChaCha8Rng,
    span: DaySpan,
    stats: FileStats,
}

/// Min/max/null statistics of one file, plus the sum of its `amount` values.
#[derive(Debug, Clone)]
pub(super) struct FileStats {
    pub(super) rows: u64,
    pub(super) id: Option<(i64, i64)>,
    pub(super) user_id: Option<(i64, i64)>,
    pub(super) amount: Option<(f64, f64)>,
    pub(super) amount_nulls: u64,
    pub(super) amount_sum: f64,
    pub(super) category: Option<(usize, usize)>,
    pub(super) event_time_ms: Option<(i64, i64)>,
}

impl FileRows {
    pub(super) fn new(rng: ChaCha8Rng, span: DaySpan) -> Self {
        Self {
            rng,
            span,
            stats: FileStats {
                rows: 0,
                id: None,
                user_id: None,
                amount: None,
                amount_nulls: 0,
                amount_sum: 0.0,
                category: None,
                event_time_ms: None,
            },
        }
    }

    /// Rows `first_id..first_id + count`, where `first_id` is also the row's place in the
    /// table and `row_in_day` the first row's place in its day.
    pub(super) fn batch(
        &mut self,
        schema: &SchemaRef,
        first_id: i64,
        row_in_day: u64,
        count: usize,
    ) -> Result<RecordBatch, BenchError> {
        let mut ids = Vec::with_capacity(count);
        let mut users = Vec::with_capacity(count);
        let mut amounts = Vec::with_capacity(count);
        let mut categories = Vec::with_capacity(count);
        let mut times = Vec::with_capacity(count);
        let rows_in_day = i64::try_from(self.span.rows_in_day.max(1)).unwrap_or(i64::MAX);
        for (offset, id) in (first_id..).take(count).enumerate() {
            let position = i64::try_from(row_in_day).unwrap_or(i64::MAX)
                + i64::try_from(offset).unwrap_or(i64::MAX);
            let user = self.rng.random_range(0..1_000_000_i64);
            let amount = if self.rng.random_ratio(1, AMOUNT_NULL_ONE_IN) {
                None
            } else {
                Some(cents(self.rng.random_range(0..100_000)))
            };
            let category = self.rng.random_range(0..CATEGORIES.len());
            // Whole milliseconds spread evenly over the day: the millisecond-precision Delta
            // stats are then exact, not truncated.
            let time_ms = self.span.day_start_ms + position * DAY_MS / rows_in_day;

            widen(&mut self.stats.id, id);
            widen(&mut self.stats.user_id, user);
            match amount {
                Some(value) => {
                    widen_f64(&mut self.stats.amount, value);
                    self.stats.amount_sum += value;
                }
                None => self.stats.amount_nulls += 1,
            }
            widen(&mut self.stats.category, category);
            widen(&mut self.stats.event_time_ms, time_ms);

            ids.push(id);
            users.push(user);
            amounts.push(amount);
            categories.push(CATEGORIES[category]);
            times.push(time_ms * 1_000);
        }
        self.stats.rows += u64::try_from(count).unwrap_or(u64::MAX);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(users)),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(StringArray::from(categories)),
            Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
        ];
        RecordBatch::try_new(Arc::clone(schema), columns).map_err(|source| BenchError::Arrow {
            what: "generated batch",
            source,
        })
    }

    /// The statistics of every row drawn so far.
    pub(super) fn stats(&self) -> &FileStats {
        &self.stats
    }
}

impl FileStats {
    /// The `stats` JSON of the file's `add` action (PROTOCOL.md "Per-file Statistics").
    pub(super) fn delta_stats(&self) -> Result<String, BenchError> {
        let (id_min, id_max) = self.id.unwrap_or_default();
        let (user_min, user_max) = self.user_id.unwrap_or_default();
        let (cat_min, cat_max) = self.category.unwrap_or_default();
        let (time_min, time_max) = self.event_time_ms.unwrap_or_default();
        let mut min_values = json!({
            "id": id_min,
            "user_id": user_min,
            "category": CATEGORIES[cat_min],
            "event_time": timestamp_stat(time_min)?,
        });
        let mut max_values = json!({
            "id": id_max,
            "user_id": user_max,
            "category": CATEGORIES[cat_max],
            "event_time": timestamp_stat(time_max)?,
        });
        // An all-null column has no min or max.
        if let Some((amount_min, amount_max)) = self.amount {
            min_values["amount"] = json!(amount_min);
            max_values["amount"] = json!(amount_max);
        }
        let stats = json!({
            "numRecords": self.rows,
            "minValues": min_values,
            "maxValues": max_values,
            "nullCount": {
                "id": 0,
                "user_id": 0,
                "amount": self.amount_nulls,
                "category": 0,
                "event_time": 0,
            },
        });
        serde_json::to_string(&stats).map_err(|source| BenchError::Serialize {
            what: "file statistics",
            source,
        })
    }
}

fn widen<T: Copy + Ord>(range: &mut Option<(T, T)>, value: T) {
    *range = Some(match *range {
        None => (value, value),
        Some((lo, hi)) => (lo.min(value), hi.max(value)),
    });
}

fn widen_f64(range: &mut Option<(f64, f64)>, value: f64) {
    *range = Some(match *range {
        None => (value, value),
        Some((lo, hi)) => (lo.min(value), hi.max(value)),
    });
}

/// Whole cents as a double.
fn cents(hundredths: i64) -> f64 {
    // Values stay far below 2^53, so the conversion is exact.
    hundredths as f64 / 100.0
}

/// A timestamp statistic: ISO-8601 UTC with milliseconds, the form Spark writes.
fn timestamp_stat(epoch_ms: i64) -> Result<String, BenchError> {
    let at =
        chrono::DateTime::from_timestamp_millis(epoch_ms).ok_or(BenchError::InvalidArgument {
            name: "--days",
            value: epoch_ms.to_string(),
            reason: "timestamp out of range",
        })?;
    Ok(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn batches_carry_contiguous_ids_and_matching_stats() {
        let schema = file_schema();
        let span = DaySpan {
            day_start_ms: 1_767_225_600_000,
            rows_in_day: 1_000,
        };
        let mut rows = FileRows::new(ChaCha8Rng::seed_from_u64(1), span);
        let a = rows.batch(&schema, 500, 0, 300).unwrap();
        let b = rows.batch(&schema, 800, 300, 200).unwrap();
        assert_eq!(a.num_rows() + b.num_rows(), 500);
        let stats = rows.stats();
        assert_eq!(stats.rows, 500);
        assert_eq!(stats.id, Some((500, 999)));
        let (first, last) = stats.event_time_ms.unwrap();
        assert_eq!(first, span.day_start_ms);
        assert!(last < span.day_start_ms + DAY_MS / 2);
        let json: serde_json::Value = serde_json::from_str(&stats.delta_stats().unwrap()).unwrap();
        assert_eq!(json["numRecords"], 500);
        assert_eq!(json["minValues"]["id"], 500);
        assert_eq!(json["maxValues"]["id"], 999);
        assert_eq!(json["minValues"]["event_time"], "2026-01-01T00:00:00.000Z");
        assert_eq!(json["nullCount"]["amount"], stats.amount_nulls);
    }
}
