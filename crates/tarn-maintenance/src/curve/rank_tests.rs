//! Ranks preserve each type's order (property tests against a reference comparison), and the
//! edges: extreme values, nulls, empty strings, unsupported types.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    DictionaryArray, Float32Array, Float64Array, Int8Array, Int64Array, LargeStringArray,
    ListArray, StringArray, StringViewArray, TimestampMicrosecondArray, UInt64Array,
};
use proptest::prelude::*;
use proptest::sample::Index;

use super::ColumnRanker;
use crate::error::MaintenanceError;

/// Checks, for a column of `values` ranked from the values at `picks`:
/// - `a < b` gives `rank(a) <= rank(b)` and `a == b` gives equal ranks (nulls first);
/// - ranks are below `2^bits`;
/// - when the sample has at most `2^bits` distinct values, distinct sample values get
///   distinct ranks.
fn check_ranks<T: Clone>(
    values: &[Option<T>],
    picks: &[Index],
    bits: u32,
    array: impl Fn(Vec<Option<T>>) -> ArrayRef,
    compare: impl Fn(&T, &T) -> Ordering,
) -> Result<(), TestCaseError> {
    let order = |a: &Option<T>, b: &Option<T>| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => compare(a, b),
    };
    let sample: Vec<Option<T>> = if values.is_empty() {
        Vec::new()
    } else {
        picks
            .iter()
            .map(|i| values[i.index(values.len())].clone())
            .collect()
    };
    let ranker = ColumnRanker::from_sample("c", &array(sample.clone()), bits).unwrap();
    let ranks = ranker.ranks(&array(values.to_vec())).unwrap();
    prop_assert_eq!(ranks.len(), values.len());
    for (i, a) in values.iter().enumerate() {
        prop_assert!(ranks[i] < 1 << bits, "rank {} at {} bits", ranks[i], bits);
        for (j, b) in values.iter().enumerate() {
            match order(a, b) {
                Ordering::Less => prop_assert!(ranks[i] <= ranks[j], "{i} < {j}, ranks {ranks:?}"),
                Ordering::Equal => prop_assert_eq!(ranks[i], ranks[j], "{} == {}", i, j),
                Ordering::Greater => {}
            }
        }
    }
    let mut distinct = sample.clone();
    distinct.sort_by(order);
    distinct.dedup_by(|a, b| order(a, b) == Ordering::Equal);
    if distinct.len() <= 1 << bits {
        let sample_ranks = ranker.ranks(&array(distinct.clone())).unwrap();
        prop_assert!(
            sample_ranks.windows(2).all(|w| w[0] < w[1]),
            "{} distinct sample values share ranks: {:?}",
            distinct.len(),
            sample_ranks
        );
    }
    Ok(())
}

/// Floats as tarn compares them.
fn float_order(a: f64, b: f64) -> Ordering {
    let normal = |v: f64| {
        if v.is_nan() {
            f64::NAN
        } else if v == 0.0 {
            0.0
        } else {
            v
        }
    };
    normal(a).total_cmp(&normal(b))
}

fn some_of<T: std::fmt::Debug + Clone + 'static>(
    values: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Vec<Option<T>>> {
    prop::collection::vec(prop::option::weighted(0.9, values), 0..60)
}

fn picks() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..40)
}

fn special_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::ANY,
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        -3.0..3.0_f64,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn int64_ranks_keep_order(
        v in some_of(prop_oneof![any::<i64>(), -4_i64..4, Just(i64::MIN), Just(i64::MAX)]),
        p in picks(), bits in 1_u32..=8,
    ) {
        check_ranks(&v, &p, bits, |v| Arc::new(Int64Array::from(v)), Ord::cmp)?;
    }

    #[test]
    fn int8_and_uint64_ranks_keep_order(
        v in some_of(any::<i8>()), w in some_of(prop_oneof![any::<u64>(), Just(u64::MAX)]),
        p in picks(), bits in 1_u32..=8,
    ) {
        check_ranks(&v, &p, bits, |v| Arc::new(Int8Array::from(v)), Ord::cmp)?;
        check_ranks(&w, &p, bits, |v| Arc::new(UInt64Array::from(v)), Ord::cmp)?;
    }

    #[test]
    fn float_ranks_keep_tarns_order(
        v in some_of(special_f64()), p in picks(), bits in 1_u32..=8,
    ) {
        check_ranks(&v, &p, bits, |v| Arc::new(Float64Array::from(v)), |a, b| float_order(*a, *b))?;
        let narrow: Vec<Option<f32>> = v.iter().map(|x| x.map(|x| x as f32)).collect();
        check_ranks(
            &narrow, &p, bits,
            |v| Arc::new(Float32Array::from(v)),
            |a, b| float_order(f64::from(*a), f64::from(*b)),
        )?;
    }

    #[test]
    fn decimal_date_and_timestamp_ranks_keep_order(
        d in some_of(-10_i128.pow(20)..10_i128.pow(20)),
        days in some_of(any::<i32>()),
        micros in some_of(prop_oneof![any::<i64>(), Just(0_i64)]),
        p in picks(), bits in 1_u32..=8,
    ) {
        check_ranks(&d, &p, bits, |v| {
            Arc::new(Decimal128Array::from(v).with_precision_and_scale(38, 4).unwrap())
        }, Ord::cmp)?;
        check_ranks(&days, &p, bits, |v| Arc::new(Date32Array::from(v)), Ord::cmp)?;
        check_ranks(&micros, &p, bits, |v| {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
        }, Ord::cmp)?;
    }

    #[test]
    fn string_ranks_keep_byte_order(
        v in some_of(prop_oneof![".{0,6}", "[ab]{0,3}", Just(String::new())]),
        p in picks(), bits in 1_u32..=8,
    ) {
        let cmp = |a: &String, b: &String| a.as_bytes().cmp(b.as_bytes());
        check_ranks(&v, &p, bits, |v| Arc::new(StringArray::from(v)), cmp)?;
        check_ranks(&v, &p, bits, |v| Arc::new(LargeStringArray::from(v)), cmp)?;
        check_ranks(&v, &p, bits, |v| Arc::new(StringViewArray::from(v)), cmp)?;
        check_ranks(&v, &p, bits, |v| {
            Arc::new(v.iter().map(|s| s.as_deref()).collect::<DictionaryArray<Int32Type>>())
        }, cmp)?;
    }

    #[test]
    fn binary_and_boolean_ranks_keep_order(
        v in some_of(prop::collection::vec(any::<u8>(), 0..5)),
        flags in some_of(any::<bool>()),
        p in picks(), bits in 1_u32..=4,
    ) {
        check_ranks(&v, &p, bits, |v| Arc::new(BinaryArray::from_iter(v)), Ord::cmp)?;
        check_ranks(&v, &p, bits, |v| Arc::new(BinaryViewArray::from_iter(v)), Ord::cmp)?;
        check_ranks(&flags, &p, bits, |v| Arc::new(BooleanArray::from(v)), Ord::cmp)?;
    }
}

#[test]
fn extremes_nulls_and_empty_strings_take_the_ends() {
    let sample: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(i64::MAX),
        None,
        Some(0),
        Some(i64::MIN),
    ]));
    let r = ColumnRanker::from_sample("c", &sample, 2).unwrap();
    // Four distinct values, four buckets: null, MIN, 0, MAX.
    assert_eq!(r.ranks(&sample).unwrap(), vec![3, 0, 2, 1]);

    let sample: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a"),
        Some(""),
        None,
        Some("\0"),
    ]));
    let r = ColumnRanker::from_sample("s", &sample, 2).unwrap();
    // null < "" < "\0" < "a".
    assert_eq!(r.ranks(&sample).unwrap(), vec![3, 1, 0, 2]);

    // Nulls absent from the sample rank with the smallest value; values beyond the sample's
    // range take the first and last ranks.
    let sample: ArrayRef = Arc::new(Int64Array::from(vec![10, 20, 30, 40]));
    let r = ColumnRanker::from_sample("c", &sample, 2).unwrap();
    let values: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(i64::MIN), Some(i64::MAX)]));
    assert_eq!(r.ranks(&values).unwrap(), vec![0, 0, 3]);
}

#[test]
fn a_constant_column_ranks_zero_and_a_two_valued_one_splits_at_the_top_bit() {
    let sample: ArrayRef = Arc::new(Int64Array::from(vec![7; 100]));
    let r = ColumnRanker::from_sample("c", &sample, 16).unwrap();
    assert_eq!(r.buckets(), 1);
    assert!(r.ranks(&sample).unwrap().iter().all(|&x| x == 0));

    let sample: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
    let r = ColumnRanker::from_sample("flag", &sample, 16).unwrap();
    assert_eq!(r.ranks(&sample).unwrap(), vec![1 << 15, 0, 1 << 15]);
}

#[test]
fn nested_columns_are_refused_by_name() {
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1)]),
    ]));
    let err = ColumnRanker::from_sample("tags", &list, 8).unwrap_err();
    assert!(
        matches!(&err, MaintenanceError::UnsupportedColumn { column, .. } if column == "tags"),
        "{err}"
    );
    assert!(err.to_string().contains("`tags`"), "{err}");
}
