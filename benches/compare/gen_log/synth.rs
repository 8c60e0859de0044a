//! Decides the content of the synthetic table: its schema, the files each commit adds, and their
//! statistics. Every value comes from the seeded RNG or from fixed constants, never from the clock
//! or the environment, so one seed always yields byte-identical logs. No I/O here.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::actions::{
    Action, Add, ColumnValues, CommitInfo, FileStats, Format, Metadata, NullCounts, Protocol,
};
use crate::error::BenchError;

/// 2026-01-01T00:00:00Z in milliseconds: the table's creation time and its first partition day.
const EPOCH_MS: i64 = 1_767_225_600_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Values of the `category` column, kept sorted so a min/max pair is just two indices.
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

/// The engine name written into every `commitInfo`.
const ENGINE_INFO: &str = "tarn-benches/gen-log";

/// Draws the values of the log; holds the RNG and the running `id` counter.
pub(super) struct Synth {
    rng: ChaCha8Rng,
    next_id: i64,
}

impl Synth {
    pub(super) fn new(rng: ChaCha8Rng) -> Self {
        Self { rng, next_id: 0 }
    }

    /// Rows in the files appended so far (ids are handed out 0, 1, ... with no gap).
    pub(super) fn rows_so_far(&self) -> u64 {
        u64::try_from(self.next_id).unwrap_or(0)
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    /// The actions of version 0: commitInfo, protocol (reader 1, writer 2), metaData.
    pub(super) fn create_table(&mut self) -> Result<Vec<Action>, BenchError> {
        let schema = json!({
            "type": "struct",
            "fields": [
                field("id", "long"),
                field("user_id", "integer"),
                field("amount", "double"),
                field("category", "string"),
                field("event_time", "timestamp"),
                field("day", "string"),
            ],
        });
        let schema_string =
            serde_json::to_string(&schema).map_err(|source| BenchError::Serialize {
                what: "schema",
                source,
            })?;
        let commit_info = CommitInfo {
            timestamp: EPOCH_MS,
            operation: "CREATE TABLE".to_owned(),
            operation_parameters: BTreeMap::from([
                ("partitionBy".to_owned(), r#"["day"]"#.to_owned()),
                ("description".to_owned(), "null".to_owned()),
                ("isManaged".to_owned(), "false".to_owned()),
                ("properties".to_owned(), "{}".to_owned()),
            ]),
            read_version: None,
            isolation_level: "Serializable".to_owned(),
            is_blind_append: true,
            operation_metrics: BTreeMap::new(),
            engine_info: ENGINE_INFO.to_owned(),
            txn_id: self.uuid(),
        };
        let metadata = Metadata {
            id: self.uuid(),
            format: Format {
                provider: "parquet".to_owned(),
                options: BTreeMap::new(),
            },
            schema_string,
            partition_columns: vec!["day".to_owned()],
            configuration: BTreeMap::new(),
            created_time: EPOCH_MS,
        };
        Ok(vec![
            Action::CommitInfo(commit_info),
            Action::Protocol(Protocol {
                min_reader_version: 1,
                min_writer_version: 2,
            }),
            Action::Metadata(metadata),
        ])
    }

    /// The actions of commit `version` (>= 1): a blind append of `num_files` files.
    ///
    /// Commit `v` lands on day `v - 1` (one append a day); one file in eight carries the previous
    /// day's late data, so partitions are not all written by a single commit.
    pub(super) fn append(
        &mut self,
        version: u64,
        num_files: u64,
    ) -> Result<Vec<Action>, BenchError> {
        let day_index = i64::try_from(version).unwrap_or(i64::MAX).saturating_sub(1);
        let commit_ms = EPOCH_MS + day_index * DAY_MS + 23 * HOUR_MS;
        let mut adds = Vec::with_capacity(usize::try_from(num_files).unwrap_or(0));
        let mut rows = 0_i64;
        let mut bytes = 0_i64;
        for part in 0..num_files {
            let late = day_index > 0 && self.rng.random_ratio(1, 8);
            let file_day = if late { day_index - 1 } else { day_index };
            let (add, num_records) = self.add(part, file_day, commit_ms)?;
            bytes += add.size;
            rows += num_records;
            adds.push(Action::Add(add));
        }
        let commit_info = CommitInfo {
            timestamp: commit_ms,
            operation: "WRITE".to_owned(),
            operation_parameters: BTreeMap::from([
                ("mode".to_owned(), "Append".to_owned()),
                ("partitionBy".to_owned(), r#"["day"]"#.to_owned()),
            ]),
            read_version: Some(version - 1),
            isolation_level: "Serializable".to_owned(),
            is_blind_append: true,
            operation_metrics: BTreeMap::from([
                ("numFiles".to_owned(), num_files.to_string()),
                ("numOutputRows".to_owned(), rows.to_string()),
                ("numOutputBytes".to_owned(), bytes.to_string()),
            ]),
            engine_info: ENGINE_INFO.to_owned(),
            txn_id: self.uuid(),
        };
        let mut actions = Vec::with_capacity(adds.len() + 1);
        actions.push(Action::CommitInfo(commit_info));
        actions.extend(adds);
        Ok(actions)
    }

    /// One `add` and its row count.
    fn add(&mut self, part: u64, day_index: i64, commit_ms: i64) -> Result<(Add, i64), BenchError> {
        let day_start_ms = EPOCH_MS + day_index * DAY_MS;
        let day = partition_day(day_index)?;
        let num_records = self.rng.random_range(50_000..1_000_000_i64);

        let id_min = self.next_id;
        self.next_id += num_records;
        let user_min = self.rng.random_range(0..1_000_i32);
        let amount_min_cents = self.rng.random_range(0..1_000);
        let (cat_lo, cat_hi) = self.index_pair(CATEGORIES.len());
        let first_event_ms = day_start_ms + self.rng.random_range(0..12 * HOUR_MS);
        let last_event_ms = first_event_ms + self.rng.random_range(HOUR_MS..12 * HOUR_MS);

        let stats = FileStats {
            num_records,
            min_values: ColumnValues {
                id: id_min,
                user_id: user_min,
                amount: cents(amount_min_cents),
                category: CATEGORIES[cat_lo].to_owned(),
                event_time: timestamp_stat(first_event_ms)?,
            },
            max_values: ColumnValues {
                id: self.next_id - 1,
                user_id: user_min + self.rng.random_range(1..1_000_000),
                amount: cents(amount_min_cents + self.rng.random_range(10_000..1_000_000)),
                category: CATEGORIES[cat_hi].to_owned(),
                event_time: timestamp_stat(last_event_ms)?,
            },
            null_count: NullCounts {
                id: 0,
                user_id: 0,
                amount: self.rng.random_range(0..100),
                category: self.rng.random_range(0..10),
                event_time: 0,
            },
        };
        let stats = serde_json::to_string(&stats).map_err(|source| BenchError::Serialize {
            what: "file statistics",
            source,
        })?;
        let add = Add {
            path: format!(
                "day={day}/part-{part:05}-{uuid}.c000.zstd.parquet",
                uuid = self.uuid()
            ),
            partition_values: BTreeMap::from([("day".to_owned(), day)]),
            size: self.rng.random_range(16 << 20..128 << 20),
            modification_time: commit_ms - self.rng.random_range(0..60_000),
            data_change: true,
            stats,
        };
        Ok((add, num_records))
    }

    /// Two indices `lo <= hi` below `len`.
    fn index_pair(&mut self, len: usize) -> (usize, usize) {
        let a = self.rng.random_range(0..len);
        let b = self.rng.random_range(0..len);
        (a.min(b), a.max(b))
    }
}

fn field(name: &str, data_type: &str) -> serde_json::Value {
    json!({ "name": name, "type": data_type, "nullable": true, "metadata": {} })
}

/// Whole cents as a double, so stats print as short decimals like `12.34`.
fn cents(hundredths: i64) -> f64 {
    // Values stay far below 2^53, so the conversion is exact.
    hundredths as f64 / 100.0
}

/// `day` partition value for a day index counted from 2026-01-01, as `YYYY-MM-DD`.
fn partition_day(day_index: i64) -> Result<String, BenchError> {
    let invalid = || BenchError::InvalidArgument {
        name: "--commits",
        value: day_index.to_string(),
        reason: "partition day out of the calendar range",
    };
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or_else(invalid)?;
    let days = u64::try_from(day_index).map_err(|_| invalid())?;
    let date = first
        .checked_add_days(Days::new(days))
        .ok_or_else(invalid)?;
    Ok(date.format("%Y-%m-%d").to_string())
}

/// A timestamp statistic: ISO-8601 UTC with milliseconds, the form Spark writes.
fn timestamp_stat(epoch_ms: i64) -> Result<String, BenchError> {
    let at = DateTime::from_timestamp_millis(epoch_ms).ok_or(BenchError::InvalidArgument {
        name: "--commits",
        value: epoch_ms.to_string(),
        reason: "timestamp out of range",
    })?;
    Ok(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_days_count_from_new_year() {
        assert_eq!(partition_day(0).unwrap(), "2026-01-01");
        assert_eq!(partition_day(6).unwrap(), "2026-01-07");
        assert_eq!(partition_day(365).unwrap(), "2027-01-01");
    }

    #[test]
    fn timestamp_stats_have_millisecond_precision() {
        assert_eq!(
            timestamp_stat(EPOCH_MS + 1_234).unwrap(),
            "2026-01-01T00:00:01.234Z"
        );
    }
}
