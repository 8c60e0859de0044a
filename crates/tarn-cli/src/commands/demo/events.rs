//! The demo's data: deterministic generated events, and what the demo expects of them.
//!
//! Every batch is a pure function of (writer, batch), so the counts the demo checks (rows,
//! `test` events, refunds and their total) are known exactly before anything is written.

use std::sync::Arc;

use arrow_array::{
    Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::NaiveDate;
use tarn::protocol::schema::{DataType as DeltaType, PrimitiveType, StructField, StructType};

/// The days the events fall on: one partition each.
pub(crate) const DAYS: [&str; 5] = [
    "2026-01-05",
    "2026-01-06",
    "2026-01-07",
    "2026-01-08",
    "2026-01-09",
];
/// The day and kind of the demo's pruning scan.
pub(crate) const PROBE_DAY: &str = "2026-01-07";
pub(crate) const PROBE_KIND: &str = "purchase";
/// Users are numbered 1 to [`USERS`]; the compaction step's scan asks for the first
/// [`PROBE_USERS`] of them (5%).
pub(crate) const USERS: u64 = 1000;
pub(crate) const PROBE_USERS: i64 = 50;

/// Event kinds and their weights out of 100.
const KINDS: [(&str, u64); 5] = [
    ("click", 50),
    ("view", 25),
    ("purchase", 12),
    ("refund", 8),
    ("test", 5),
];

/// The table's schema.
pub(crate) fn table_schema() -> StructType {
    let p = |t: PrimitiveType| DeltaType::Primitive(t);
    StructType::new([
        StructField::new("event_id", p(PrimitiveType::String), false),
        StructField::new("day", p(PrimitiveType::Date), false),
        StructField::new("user_id", p(PrimitiveType::Long), true),
        StructField::new("kind", p(PrimitiveType::String), false),
        StructField::new("amount", p(PrimitiveType::Double), true),
        StructField::new("ts", p(PrimitiveType::Timestamp), true),
    ])
}

fn arrow_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("day", DataType::Date32, false),
        Field::new("user_id", DataType::Int64, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// Counts over generated events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) rows: u64,
    pub(crate) tests: u64,
    pub(crate) refunds: u64,
    /// The refunds' amounts, in cents.
    pub(crate) refund_cents: i64,
    /// Purchases on [`PROBE_DAY`].
    pub(crate) probe_rows: u64,
    /// Events of users 1 to [`PROBE_USERS`], and the `test` events among them.
    pub(crate) probe_user_rows: u64,
    pub(crate) probe_user_tests: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.tests += other.tests;
        self.refunds += other.refunds;
        self.refund_cents += other.refund_cents;
        self.probe_rows += other.probe_rows;
        self.probe_user_rows += other.probe_user_rows;
        self.probe_user_tests += other.probe_user_tests;
    }
}

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn days_since_epoch(day: &str) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| i32::try_from((d - epoch).num_days()).unwrap_or(0))
        .unwrap_or(0)
}

/// Batch `batch` of writer `writer` (both 1-based): `rows` events, and their tally.
pub(crate) fn generate(writer: u64, batch: u64, rows: usize) -> (RecordBatch, Tally) {
    let mut rng = Rng(writer * 1_000_003 + batch);
    let mut tally = Tally::default();
    let mut ids = Vec::with_capacity(rows);
    let mut days = Vec::with_capacity(rows);
    let mut users = Vec::with_capacity(rows);
    let mut kinds = Vec::with_capacity(rows);
    let mut amounts = Vec::with_capacity(rows);
    let mut times = Vec::with_capacity(rows);
    for i in 0..rows {
        let day = DAYS[usize::try_from(rng.below(DAYS.len() as u64)).unwrap_or(0)];
        let mut pick = rng.below(100);
        let kind = KINDS
            .iter()
            .find(|(_, weight)| {
                if pick < *weight {
                    true
                } else {
                    pick -= weight;
                    false
                }
            })
            .map_or("click", |(k, _)| *k);
        let cents = match kind {
            "purchase" | "refund" => i64::try_from(100 + rng.below(19_900)).unwrap_or(0),
            _ => 0,
        };
        let day_number = days_since_epoch(day);
        let seconds = i64::try_from(rng.below(86_400)).unwrap_or(0);
        ids.push(format!("w{writer}-b{batch}-{i:04}"));
        days.push(day_number);
        let user = i64::try_from(1 + rng.below(USERS)).unwrap_or(1);
        users.push(user);
        kinds.push(kind);
        amounts.push(cents as f64 / 100.0);
        times.push((i64::from(day_number) * 86_400 + seconds) * 1_000_000);
        tally.rows += 1;
        match kind {
            "test" => tally.tests += 1,
            "refund" => {
                tally.refunds += 1;
                tally.refund_cents += cents;
            }
            _ => {}
        }
        if kind == PROBE_KIND && day == PROBE_DAY {
            tally.probe_rows += 1;
        }
        if user <= PROBE_USERS {
            tally.probe_user_rows += 1;
            if kind == "test" {
                tally.probe_user_tests += 1;
            }
        }
    }
    let batch = RecordBatch::try_new(
        arrow_schema(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(Date32Array::from(days)),
            Arc::new(Int64Array::from(users)),
            Arc::new(StringArray::from(kinds)),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
        ],
    );
    // The columns match the schema by construction; an error here is a bug in this file.
    match batch {
        Ok(batch) => (batch, tally),
        Err(_) => (RecordBatch::new_empty(arrow_schema()), Tally::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_deterministic_and_tallied() {
        let (a, tally) = generate(2, 3, 400);
        let (b, again) = generate(2, 3, 400);
        assert_eq!(a, b);
        assert_eq!(tally, again);
        assert_eq!(a.num_rows(), 400);
        assert_eq!(tally.rows, 400);
        assert!(tally.tests > 0 && tally.refunds > 0 && tally.probe_rows > 0);
        assert!(tally.probe_user_rows > 0 && tally.probe_user_rows < 100);
        let users = a
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|users| {
                users
                    .values()
                    .iter()
                    .filter(|u| **u >= 1 && **u <= PROBE_USERS)
                    .count() as u64
            });
        assert_eq!(users, Some(tally.probe_user_rows));
        let (other, _) = generate(3, 3, 400);
        assert_ne!(a, other);
        let table = tarn::protocol::schema::StructType::try_from(a.schema().as_ref());
        assert_eq!(table.ok(), Some(table_schema()));
    }
}
