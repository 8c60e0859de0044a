//! The input of the write scenarios: rows produced batch by batch while the writer consumes
//! them, never materialized up front, so a writer's peak memory is its own and not the input's.
//!
//! The rows have the columns of `gen-data`'s tables plus the partition column: `id` (long,
//! 0..rows-1 in order), `user_id` (long, 0..1e6), `amount` (double, whole cents, 1% null),
//! `category` (string, 8 values), `event_time` (timestamp µs UTC, whole milliseconds spread
//! over the day) and `day` (string `YYYY-MM-DD` from 2026-01-01). Two layouts:
//! - [`Layout::Clustered`]: rows are split evenly over the days in day order (the remainder to
//!   the earliest days) and a batch never spans two days, as an ingestion job that writes
//!   events in time order would see them;
//! - [`Layout::Interleaved`]: row `id` is in day `id % days`, so consecutive rows are never in
//!   the same day and every batch spans every day (the worst case for a writer that keeps
//!   few files open). Each day holds the same rows as in the clustered layout's count.
//!
//! Values are a hash (SplitMix64) of the seed and the row's `id`, not a sequential RNG, so any
//! batch can be built on its own and generation costs little next to encoding it. This module
//! decides the rows; it never writes anything.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::error::BenchError;
use crate::gen_data::partition_day;

/// 2026-01-01T00:00:00Z in milliseconds: the first partition day.
const EPOCH_MS: i64 = 1_767_225_600_000;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
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

/// The partition column.
pub(crate) const PARTITION_COLUMN: &str = "day";

/// The table schema of the write scenarios: `gen-data`'s data columns, then `day`.
pub(crate) fn table_schema() -> SchemaRef {
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
        Field::new(PARTITION_COLUMN, DataType::Utf8, true),
    ]))
}

/// How rows are ordered over the days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Layout {
    /// Day after day; a batch never spans two days.
    #[default]
    Clustered,
    /// Row `id` in day `id % days`: every batch spans every day.
    Interleaved,
}

impl Layout {
    /// The layout's name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Layout::Clustered => "clustered",
            Layout::Interleaved => "interleaved",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamSpec {
    /// Rows in total.
    pub(crate) rows: u64,
    /// Partition days.
    pub(crate) days: u64,
    /// Most rows per batch.
    pub(crate) batch_rows: u64,
    /// Seed of the value hash.
    pub(crate) seed: u64,
    /// How rows are ordered over the days.
    pub(crate) layout: Layout,
}

impl StreamSpec {
    /// Rejects parameters that cannot give the promised layout.
    pub(crate) fn validate(&self) -> Result<(), BenchError> {
        let invalid = |name, value: u64, reason| {
            Err(BenchError::InvalidArgument {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if self.days == 0 {
            return invalid("--days", self.days, "at least one day is needed");
        }
        if self.rows < self.days {
            return invalid("--rows", self.rows, "at least one row per day is needed");
        }
        if self.batch_rows == 0 {
            return invalid("--batch-rows", 0, "must be positive");
        }
        if i64::try_from(self.rows).is_err() {
            return invalid("--rows", self.rows, "ids must fit a long");
        }
        Ok(())
    }

    /// Rows of day `index` (0-based).
    pub(crate) fn rows_in_day(&self, index: u64) -> u64 {
        self.rows / self.days + u64::from(index < self.rows % self.days)
    }

    /// The batches, built one at a time as the iterator is advanced.
    pub(crate) fn batches(&self) -> Result<Batches, BenchError> {
        self.validate()?;
        if self.layout == Layout::Interleaved {
            return Ok(Batches::Interleaved(InterleavedBatches {
                spec: *self,
                schema: table_schema(),
                days: (0..self.days)
                    .map(partition_day)
                    .collect::<Result<_, _>>()?,
                next_id: 0,
            }));
        }
        Ok(Batches::Clustered(ClusteredBatches {
            spec: *self,
            schema: table_schema(),
            day_index: 0,
            day: partition_day(0)?,
            row_in_day: 0,
            next_id: 0,
        }))
    }
}

/// The rows of a [`StreamSpec`], batch by batch.
pub(crate) enum Batches {
    /// [`Layout::Clustered`].
    Clustered(ClusteredBatches),
    /// [`Layout::Interleaved`].
    Interleaved(InterleavedBatches),
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, BenchError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Batches::Clustered(batches) => batches.next(),
            Batches::Interleaved(batches) => batches.next(),
        }
    }
}

/// The rows of an interleaved [`StreamSpec`]: ids in order, row `id` in day `id % days`.
pub(crate) struct InterleavedBatches {
    spec: StreamSpec,
    schema: SchemaRef,
    /// Every day's partition value.
    days: Vec<String>,
    next_id: u64,
}

impl Iterator for InterleavedBatches {
    type Item = Result<RecordBatch, BenchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_id >= self.spec.rows {
            return None;
        }
        let count = (self.spec.rows - self.next_id).min(self.spec.batch_rows);
        let first = self.next_id;
        self.next_id += count;
        let batch = interleaved_batch(&self.spec, &self.schema, &self.days, first..first + count)
            .map_err(|source| BenchError::Arrow {
                what: "generated input batch",
                source,
            });
        Some(batch)
    }
}

/// Rows `ids` of an interleaved stream: the same values as [`RowSpan::batch`] gives a row of
/// its id, day `id % days`, its time at its place among its day's rows.
fn interleaved_batch(
    spec: &StreamSpec,
    schema: &SchemaRef,
    days: &[String],
    ids: std::ops::Range<u64>,
) -> Result<RecordBatch, ArrowError> {
    let day_of = |id: u64| id % spec.days;
    let columns = RowValues::new(spec.seed, ids.clone().map(|id| id.cast_signed()));
    let times = TimestampMicrosecondArray::from_iter_values(ids.clone().map(|id| {
        let day = day_of(id);
        let day_start = EPOCH_MS + i64::try_from(day).unwrap_or(0) * DAY_MS;
        let per_day = i64::try_from(spec.rows_in_day(day).max(1)).unwrap_or(i64::MAX);
        let position = i64::try_from(id / spec.days).unwrap_or(0);
        (day_start + position * DAY_MS / per_day) * 1_000
    }))
    .with_timezone("UTC");
    let day_values = StringArray::from_iter_values(ids.map(|id| {
        days.get(usize::try_from(day_of(id)).unwrap_or(0))
            .map_or("", String::as_str)
    }));
    columns.batch(schema, times, day_values)
}

/// The rows of a clustered [`StreamSpec`], batch by batch.
pub(crate) struct ClusteredBatches {
    spec: StreamSpec,
    schema: SchemaRef,
    day_index: u64,
    day: String,
    row_in_day: u64,
    next_id: i64,
}

impl Iterator for ClusteredBatches {
    type Item = Result<RecordBatch, BenchError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut day_rows = self.spec.rows_in_day(self.day_index);
        if self.row_in_day == day_rows {
            self.day_index += 1;
            if self.day_index >= self.spec.days {
                return None;
            }
            self.day = match partition_day(self.day_index) {
                Ok(day) => day,
                Err(err) => return Some(Err(err)),
            };
            self.row_in_day = 0;
            day_rows = self.spec.rows_in_day(self.day_index);
        }
        let count = (day_rows - self.row_in_day).min(self.spec.batch_rows);
        let rows = RowSpan {
            seed: self.spec.seed,
            first_id: self.next_id,
            count: usize::try_from(count).unwrap_or(usize::MAX),
            day_index: self.day_index,
            row_in_day: self.row_in_day,
            rows_in_day: day_rows,
        };
        let batch = rows
            .batch(&self.schema, &self.day)
            .map_err(|source| BenchError::Arrow {
                what: "generated input batch",
                source,
            });
        self.row_in_day += count;
        self.next_id += i64::try_from(count).unwrap_or(i64::MAX);
        Some(batch)
    }
}

/// A single batch of `count` rows of day `day_index`, ids from `first_id`: the small appends of
/// `commit-latency` (whose rows are not part of a day-long stream).
pub(crate) fn small_batch(
    seed: u64,
    first_id: i64,
    count: usize,
    day_index: u64,
) -> Result<RecordBatch, BenchError> {
    let day = partition_day(day_index)?;
    let rows = RowSpan {
        seed,
        first_id,
        count,
        day_index,
        row_in_day: 0,
        rows_in_day: u64::try_from(count).unwrap_or(u64::MAX),
    };
    rows.batch(&table_schema(), &day)
        .map_err(|source| BenchError::Arrow {
            what: "generated input batch",
            source,
        })
}

/// Consecutive rows of one day.
struct RowSpan {
    seed: u64,
    first_id: i64,
    count: usize,
    day_index: u64,
    row_in_day: u64,
    rows_in_day: u64,
}

/// The columns that are a hash of the seed and the row's id.
struct RowValues {
    ids: Vec<i64>,
    hashes: Vec<u64>,
}

impl RowValues {
    fn new(seed: u64, ids: impl Iterator<Item = i64>) -> Self {
        let ids: Vec<i64> = ids.collect();
        let hashes = ids
            .iter()
            .map(|&id| split_mix(seed.rotate_left(32) ^ id.cast_unsigned()))
            .collect();
        Self { ids, hashes }
    }

    /// The batch of these rows with their `event_time` and `day` columns.
    fn batch(
        self,
        schema: &SchemaRef,
        times: TimestampMicrosecondArray,
        days: StringArray,
    ) -> Result<RecordBatch, ArrowError> {
        let user_ids: Int64Array = self
            .hashes
            .iter()
            .map(|h| i64::try_from(h % 1_000_000).unwrap_or(0))
            .collect();
        // 1% null, else 0.00..=999.99 in whole cents (exact as doubles).
        let amounts: Float64Array = self
            .hashes
            .iter()
            .map(|h| ((h >> 32) % 100 != 0).then(|| cents((h >> 40) % 100_000)))
            .collect();
        let categories = StringArray::from_iter_values(
            self.hashes
                .iter()
                .map(|h| CATEGORIES[usize::try_from((h >> 20) % 8).unwrap_or(0)]),
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.ids)),
            Arc::new(user_ids),
            Arc::new(amounts),
            Arc::new(categories),
            Arc::new(times),
            Arc::new(days),
        ];
        RecordBatch::try_new(Arc::clone(schema), columns)
    }
}

impl RowSpan {
    fn batch(&self, schema: &SchemaRef, day: &str) -> Result<RecordBatch, ArrowError> {
        let values = RowValues::new(self.seed, (self.first_id..).take(self.count));
        let day_start = EPOCH_MS + i64::try_from(self.day_index).unwrap_or(0) * DAY_MS;
        let per_day = i64::try_from(self.rows_in_day.max(1)).unwrap_or(i64::MAX);
        let first = i64::try_from(self.row_in_day).unwrap_or(0);
        let times = TimestampMicrosecondArray::from_iter_values(
            (first..)
                .take(self.count)
                .map(|position| (day_start + position * DAY_MS / per_day) * 1_000),
        )
        .with_timezone("UTC");
        let days = StringArray::from_iter_values(std::iter::repeat_n(day, self.count));
        values.batch(schema, times, days)
    }
}

/// SplitMix64's output function: a fixed, well-mixed hash of a 64-bit value.
fn split_mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whole cents as a double.
fn cents(hundredths: u64) -> f64 {
    // Values stay far below 2^53, so the conversion is exact.
    hundredths as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn batches_cover_every_row_once_in_day_order() {
        let spec = StreamSpec {
            rows: 1_003,
            days: 3,
            batch_rows: 100,
            seed: 7,
            layout: Layout::Clustered,
        };
        let mut next_id = 0;
        let mut days_seen: Vec<String> = Vec::new();
        for batch in spec.batches().unwrap() {
            let batch = batch.unwrap();
            assert!(batch.num_rows() <= 100);
            let day = batch.column(5).as_string::<i32>();
            assert_eq!(day.value(0), day.value(day.len() - 1), "one day per batch");
            if days_seen.last().map(String::as_str) != Some(day.value(0)) {
                days_seen.push(day.value(0).to_owned());
            }
            for id in batch.column(0).as_primitive::<Int64Type>().values() {
                assert_eq!(*id, next_id);
                next_id += 1;
            }
        }
        assert_eq!(next_id, 1_003);
        assert_eq!(days_seen, ["2026-01-01", "2026-01-02", "2026-01-03"]);
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let spec = StreamSpec {
            rows: 500,
            days: 2,
            batch_rows: 64,
            seed: 3,
            layout: Layout::Clustered,
        };
        let a: Vec<RecordBatch> = spec.batches().unwrap().map(Result::unwrap).collect();
        let b: Vec<RecordBatch> = spec.batches().unwrap().map(Result::unwrap).collect();
        assert_eq!(a, b);
        let other: Vec<RecordBatch> = StreamSpec { seed: 4, ..spec }
            .batches()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_ne!(a, other);
        let amounts = a[0].column(2);
        assert!(amounts.null_count() < amounts.len());
    }

    #[test]
    fn interleaved_rows_cycle_through_the_days_with_the_same_values() {
        let clustered = StreamSpec {
            rows: 1_003,
            days: 4,
            batch_rows: 100,
            seed: 9,
            layout: Layout::Clustered,
        };
        let interleaved = StreamSpec {
            layout: Layout::Interleaved,
            ..clustered
        };
        let mut rows_per_day = std::collections::BTreeMap::<String, u64>::new();
        let mut next_id = 0;
        let mut batches = 0;
        for batch in interleaved.batches().unwrap() {
            let batch = batch.unwrap();
            batches += 1;
            let day = batch.column(5).as_string::<i32>();
            for (row, id) in batch
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .enumerate()
            {
                assert_eq!(*id, next_id);
                let expected = partition_day((*id as u64) % 4).unwrap();
                assert_eq!(day.value(row), expected);
                *rows_per_day.entry(expected).or_default() += 1;
                next_id += 1;
            }
        }
        assert_eq!((next_id, batches), (1_003, 11));
        // The same rows per day as the clustered layout.
        for (index, (_, rows)) in rows_per_day.iter().enumerate() {
            assert_eq!(*rows, clustered.rows_in_day(index as u64));
        }
        // The same hashed values for the same id.
        let a = clustered.batches().unwrap().next().unwrap().unwrap();
        let b = interleaved.batches().unwrap().next().unwrap().unwrap();
        for column in 0..4 {
            assert_eq!(a.column(column), b.column(column));
        }
    }

    #[test]
    fn small_batches_hold_one_day() {
        let batch = small_batch(1, 40, 10, 4).unwrap();
        assert_eq!(batch.num_rows(), 10);
        assert_eq!(batch.column(5).as_string::<i32>().value(9), "2026-01-05");
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 40);
    }
}
