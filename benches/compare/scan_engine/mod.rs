//! How each engine scans a table: tarn through its scan API, the deltalake crate through
//! DataFusion (its only scan path), and "raw parquet" straight from the data files. All three
//! return every column of the matching rows as Arrow batches, which the caller's [`Tally`]
//! counts and sums the same way, so no engine can skip the work of materializing its rows.
//!
//! This module decides what each engine is asked to do and what it reports back (rows, and
//! how many files, row groups and rows it decoded); it never times anything and never decides
//! what the right answer is: that comes from the generator's manifest.

mod with_delta_rs;
mod with_parquet;
mod with_tarn;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::BenchError;

/// Rows per batch for every engine (tarn's and DataFusion's default).
pub(crate) const BATCH_SIZE: usize = 8192;

/// Files one engine reads at once where the harness chooses (tarn's default).
pub(crate) const CONCURRENCY: usize = 4;

/// Which rows a scan returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Every row.
    All,
    /// Rows of one partition: `day = '<day>'`.
    Day(String),
    /// Rows with `id BETWEEN from AND to`.
    IdRange {
        /// Smallest id returned.
        from: i64,
        /// Largest id returned.
        to: i64,
    },
}

impl Selection {
    /// The filter as SQL, as tarn and DataFusion both read it; `None` for every row.
    pub(crate) fn sql(&self) -> Option<String> {
        match self {
            Selection::All => None,
            Selection::Day(day) => Some(format!("day = '{day}'")),
            Selection::IdRange { from, to } => Some(format!("id BETWEEN {from} AND {to}")),
        }
    }
}

/// On the command line: `all`, `day=2026-01-06` or `id=3700000..3799999`.
impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::All => f.write_str("all"),
            Selection::Day(day) => write!(f, "day={day}"),
            Selection::IdRange { from, to } => write!(f, "id={from}..{to}"),
        }
    }
}

impl FromStr for Selection {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "all" {
            return Ok(Selection::All);
        }
        if let Some(day) = text.strip_prefix("day=") {
            return Ok(Selection::Day(day.to_owned()));
        }
        let range = text
            .strip_prefix("id=")
            .and_then(|range| range.split_once(".."))
            .and_then(|(from, to)| Some((from.parse().ok()?, to.parse().ok()?)));
        match range {
            Some((from, to)) => Ok(Selection::IdRange { from, to }),
            None => Err(format!(
                "`{text}` is not a selection: use all, day=YYYY-MM-DD or id=FROM..TO"
            )),
        }
    }
}

/// What the caller computes from the returned rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Rows returned.
    pub(crate) rows: u64,
    /// Sum of the non-null `amount` values returned.
    pub(crate) amount_sum: f64,
    /// Smallest `id` returned.
    pub(crate) id_min: Option<i64>,
    /// Largest `id` returned.
    pub(crate) id_max: Option<i64>,
}

impl Tally {
    /// Folds in one batch: counts its rows, sums `amount`, tracks the `id` range.
    pub(crate) fn add(&mut self, batch: &RecordBatch) -> Result<(), BenchError> {
        self.rows += u64::try_from(batch.num_rows()).unwrap_or(u64::MAX);
        let column = |name: &'static str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| BenchError::MissingColumn {
                    column: name,
                    schema: batch.schema().to_string(),
                })
        };
        let amount = column("amount")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| wrong_type("amount", batch))?;
        if let Some(sum) = arrow::compute::sum(amount) {
            self.amount_sum += sum;
        }
        let id = column("id")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| wrong_type("id", batch))?;
        if id.null_count() < id.len() {
            let (lo, hi) = (arrow::compute::min(id), arrow::compute::max(id));
            self.id_min = self.id_min.into_iter().chain(lo).min();
            self.id_max = self.id_max.into_iter().chain(hi).max();
        }
        Ok(())
    }

    /// Folds in another tally (of disjoint rows).
    pub(crate) fn merge(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.amount_sum += other.amount_sum;
        self.id_min = self.id_min.into_iter().chain(other.id_min).min();
        self.id_max = self.id_max.into_iter().chain(other.id_max).max();
    }
}

fn wrong_type(column: &'static str, batch: &RecordBatch) -> BenchError {
    BenchError::MissingColumn {
        column,
        schema: batch.schema().to_string(),
    }
}

/// How much of the table an engine read, as far as it tells. `None` when it does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReadCounts {
    /// Data files opened.
    pub(crate) files: Option<u64>,
    /// Row groups decoded.
    pub(crate) row_groups: Option<u64>,
    /// Rows decoded (before the row filter).
    pub(crate) rows_decoded: Option<u64>,
}

/// What a finished scan saw.
pub(crate) struct ScanOutcome {
    /// What the returned rows add up to.
    pub(crate) tally: Tally,
    /// How much the engine read to return them.
    pub(crate) read: ReadCounts,
    /// The engine's tables and plans, kept alive so that freeing them falls outside the timed
    /// region.
    pub(crate) _state: Box<dyn std::any::Any>,
}

/// Scans the table at `dir` with `engine`, returning every column of the selected rows.
pub(crate) async fn scan(
    engine: Engine,
    dir: &Path,
    selection: &Selection,
) -> Result<ScanOutcome, BenchError> {
    match engine {
        Engine::Tarn => with_tarn::scan(dir, selection).await,
        Engine::Deltalake => with_delta_rs::scan(dir, selection).await,
        Engine::RawParquet => with_parquet::scan(dir, selection).await,
        Engine::InputOnly => Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "input-only writes nothing and has nothing to scan",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn selections_round_trip_through_text() {
        for selection in [
            Selection::All,
            Selection::Day("2026-01-06".to_owned()),
            Selection::IdRange {
                from: 3_700_000,
                to: 3_799_999,
            },
        ] {
            assert_eq!(selection.to_string().parse::<Selection>(), Ok(selection));
        }
        assert!("id=1..x".parse::<Selection>().is_err());
        assert_eq!(
            Selection::IdRange { from: 1, to: 2 }.sql().as_deref(),
            Some("id BETWEEN 1 AND 2")
        );
    }

    #[test]
    fn tally_counts_sums_and_ranges() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Float64, true),
        ]));
        let batch = |ids: Vec<i64>, amounts: Vec<Option<f64>>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(Float64Array::from(amounts)),
                ],
            )
            .unwrap()
        };
        let mut tally = Tally::default();
        tally
            .add(&batch(vec![5, 3], vec![Some(1.5), None]))
            .unwrap();
        let mut other = Tally::default();
        other.add(&batch(vec![9], vec![Some(2.0)])).unwrap();
        tally.merge(&other);
        assert_eq!(tally.rows, 3);
        assert!((tally.amount_sum - 3.5).abs() < 1e-12);
        assert_eq!((tally.id_min, tally.id_max), (Some(3), Some(9)));
    }
}
