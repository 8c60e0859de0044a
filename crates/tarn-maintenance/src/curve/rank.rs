//! Per-column ranks: each value mapped to a bucket of its column's sampled quantiles.
//!
//! A curve interleaves bits, so it needs each column's values spread over the whole of
//! `[0, 2^bits)`: raw bit patterns waste the resolution (integers `0..1000` share all their
//! top bits; timestamps of one day share most of theirs). As Spark's Z-order does with
//! `range_partition_id`, values are first replaced by the bucket they fall in among quantile
//! boundaries computed from a sample of the column.
//!
//! The boundaries are distinct sample values, so equal values always share a bucket and the
//! map is monotone (`a <= b` gives `rank(a) <= rank(b)`, nulls lowest). Buckets are filled
//! greedily with an equal share of the sample rows still unassigned, so a value that alone
//! holds half the rows takes one bucket and the other values still share the rest evenly;
//! when the sample has no more distinct values than buckets, each distinct value gets its own.
//! Bucket numbers are then stretched over `[0, 2^bits)`, so that a column with few distinct
//! values weighs as much as the others in the curve's top bits (which decide what lands in
//! which file) instead of only in its lowest ones.

use arrow_array::ArrayRef;
use arrow_row::{Row, RowConverter, Rows};
use arrow_schema::DataType;

use super::validate_bits;
use super::value_order::{encode, row_converter};
use crate::error::{MaintenanceError, Result};

/// Maps one column's values to ranks in `[0, 2^bits)` by the sampled quantiles of the column.
///
/// Monotone in the column's order (ascending, nulls first, floats as tarn compares them:
/// `-0.0 == 0.0`, NaN above every number): `a < b` implies `rank(a) <= rank(b)`, and equal
/// values get equal ranks. Values outside the sample's range get the first or last rank.
#[derive(Debug)]
pub struct ColumnRanker {
    column: String,
    data_type: DataType,
    bits: u32,
    converter: RowConverter,
    /// The first value of every bucket but the first, ascending and distinct.
    boundaries: Rows,
}

impl ColumnRanker {
    /// Computes the boundaries of `2^bits` buckets (at most) from a sample of the column
    /// named `column` (the name is for errors only). The sample may be the whole column.
    ///
    /// Fails for a type that cannot be ordered (nested types) and for `bits` outside
    /// `1..=`[`MAX_BITS_PER_COLUMN`](super::MAX_BITS_PER_COLUMN).
    pub fn from_sample(column: impl Into<String>, sample: &ArrayRef, bits: u32) -> Result<Self> {
        let column = column.into();
        validate_bits(bits)?;
        let data_type = sample.data_type().clone();
        let converter = row_converter(&[(&column, &data_type)], || {
            format!("ranking column `{column}`")
        })?;
        let rows = encode(&converter, std::slice::from_ref(sample), || {
            format!("encoding the sample of column `{column}`")
        })?;
        let mut sorted: Vec<Row<'_>> = rows.iter().collect();
        sorted.sort_unstable();
        let boundaries = choose_boundaries(&sorted, 1 << bits);
        let mut stored = converter.empty_rows(
            boundaries.len(),
            boundaries.iter().map(|r| r.data().len()).sum(),
        );
        for boundary in boundaries {
            stored.push(boundary);
        }
        Ok(Self {
            column,
            data_type,
            bits,
            converter,
            boundaries: stored,
        })
    }

    /// The rank of every value, in `[0, 2^bits)`.
    ///
    /// Fails when `values` has another type than the sample.
    pub fn ranks(&self, values: &ArrayRef) -> Result<Vec<u64>> {
        if values.data_type() != &self.data_type {
            return Err(MaintenanceError::ColumnTypeMismatch {
                column: self.column.clone(),
                expected: self.data_type.clone(),
                found: values.data_type().clone(),
            });
        }
        let rows = encode(&self.converter, std::slice::from_ref(values), || {
            format!("encoding column `{}`", self.column)
        })?;
        let buckets = self.buckets() as u128;
        let span = 1_u128 << self.bits;
        Ok(rows
            .iter()
            .map(|row| {
                let bucket = self.bucket_of(row) as u128;
                // bucket < buckets <= span, so the rank is below span and fits in u64; the
                // stretch keeps distinct buckets distinct since span / buckets >= 1.
                (bucket * span / buckets) as u64
            })
            .collect())
    }

    /// The number of distinct ranks: one more than the number of boundaries, at most
    /// `2^bits`.
    pub fn buckets(&self) -> usize {
        self.boundaries.num_rows() + 1
    }

    /// The ranks' width: ranks are below `2^bits`.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The column's name, as given.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The bucket of a value: how many boundaries are at or below it.
    fn bucket_of(&self, row: Row<'_>) -> usize {
        let (mut low, mut high) = (0, self.boundaries.num_rows());
        while low < high {
            let middle = low + (high - low) / 2;
            if self.boundaries.row(middle) <= row {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }
}

/// The first value of every bucket after the first, from the sorted sample: at most
/// `buckets - 1` distinct values, ascending.
///
/// Greedy: a bucket closes once it holds its fair share of the rows not yet assigned (the
/// rest divided by the buckets left), so a heavy value spends one bucket and the share is
/// recomputed for the others; and every distinct value starts its own bucket once there are
/// as many buckets left as distinct values.
fn choose_boundaries<'a>(sorted: &[Row<'a>], buckets: u64) -> Vec<Row<'a>> {
    // Distinct values with their counts.
    let mut distinct: Vec<(Row<'a>, u64)> = Vec::new();
    for row in sorted {
        match distinct.last_mut() {
            Some((last, count)) if last == row => *count += 1,
            _ => distinct.push((*row, 1)),
        }
    }
    let mut boundaries = Vec::new();
    let mut unassigned = sorted.len() as u64;
    let mut buckets_left = buckets;
    let mut in_bucket = 0_u64;
    for (i, (value, count)) in distinct.iter().enumerate() {
        let values_left = (distinct.len() - i) as u64;
        // The open bucket is full when it holds unassigned / buckets_left rows.
        let full = u128::from(in_bucket) * u128::from(buckets_left) >= u128::from(unassigned);
        let room_for_each = values_left < buckets_left;
        if in_bucket > 0 && buckets_left > 1 && (full || room_for_each) {
            boundaries.push(*value);
            unassigned -= in_bucket;
            buckets_left -= 1;
            in_bucket = 0;
        }
        in_bucket += count;
    }
    boundaries
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int32Array, StringArray};

    use super::*;
    use crate::curve::MAX_BITS_PER_COLUMN;

    fn ranker(sample: ArrayRef, bits: u32) -> ColumnRanker {
        ColumnRanker::from_sample("c", &sample, bits).unwrap()
    }

    #[test]
    fn few_distinct_values_get_a_bucket_each_stretched_over_the_range() {
        let sample: ArrayRef = Arc::new(Int32Array::from(vec![5, 1, 3, 3, 1]));
        let r = ranker(sample, 4);
        assert_eq!(r.buckets(), 3);
        let values: ArrayRef = Arc::new(Int32Array::from(vec![0, 1, 2, 3, 4, 5, 6]));
        // Buckets 0, 1, 2 stretched by 16 / 3.
        assert_eq!(r.ranks(&values).unwrap(), vec![0, 0, 0, 5, 5, 10, 10]);
    }

    #[test]
    fn many_distinct_values_fill_the_buckets_evenly() {
        let sample: ArrayRef = Arc::new(Int32Array::from_iter_values(0..1000));
        let r = ranker(Arc::clone(&sample), 4);
        assert_eq!(r.buckets(), 16);
        let ranks = r.ranks(&sample).unwrap();
        for rank in 0..16 {
            let n = ranks.iter().filter(|&&x| x == rank).count();
            assert!((62..=63).contains(&n), "rank {rank}: {n} values");
        }
    }

    #[test]
    fn a_heavy_value_takes_one_bucket_and_the_rest_still_spread() {
        // Half the rows hold 0; the others are 1..=500.
        let values: Vec<i32> = std::iter::repeat_n(0, 500).chain(1..=500).collect();
        let sample: ArrayRef = Arc::new(Int32Array::from(values));
        let r = ranker(Arc::clone(&sample), 3);
        assert_eq!(r.buckets(), 8);
        let ranks = r.ranks(&sample).unwrap();
        assert!(ranks[..500].iter().all(|&x| x == 0));
        for rank in 1..8 {
            let n = ranks.iter().filter(|&&x| x == rank).count();
            assert!((70..=73).contains(&n), "rank {rank}: {n} values");
        }
    }

    #[test]
    fn an_empty_sample_ranks_everything_zero() {
        let sample: ArrayRef = Arc::new(StringArray::from(Vec::<&str>::new()));
        let r = ranker(sample, 8);
        let values: ArrayRef = Arc::new(StringArray::from(vec!["", "a", "zz"]));
        assert_eq!(r.ranks(&values).unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn floats_rank_as_tarn_compares_them() {
        let sample: ArrayRef = Arc::new(Float64Array::from(vec![
            -f64::NAN,
            f64::NAN,
            -0.0,
            0.0,
            f64::NEG_INFINITY,
            f64::INFINITY,
            -1.0,
            1.0,
        ]));
        let r = ranker(Arc::clone(&sample), 8);
        // -inf, -1, 0, 1, inf, NaN: -0.0 and 0.0 are one value, and so are both NaNs.
        assert_eq!(r.buckets(), 6);
        let ranks = r.ranks(&sample).unwrap();
        assert_eq!(ranks[0], ranks[1], "NaNs of either sign are equal");
        assert_eq!(ranks[2], ranks[3], "-0.0 == 0.0");
        assert!(ranks[0] > ranks[5], "NaN above infinity");
        assert!(ranks[4] < ranks[6] && ranks[6] < ranks[2] && ranks[2] < ranks[7]);
    }

    #[test]
    fn values_of_another_type_are_refused() {
        let r = ranker(Arc::new(Int32Array::from(vec![1])), 4);
        let values: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
        let err = r.ranks(&values).unwrap_err();
        assert!(
            matches!(err, MaintenanceError::ColumnTypeMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn bits_out_of_range_are_refused() {
        let sample: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        for bits in [0, MAX_BITS_PER_COLUMN + 1] {
            let err = ColumnRanker::from_sample("c", &sample, bits).unwrap_err();
            assert!(
                matches!(err, MaintenanceError::InvalidArgument { .. }),
                "{err}"
            );
        }
    }
}
