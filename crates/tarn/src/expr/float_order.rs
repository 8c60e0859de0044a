//! Floats in the order tarn compares them.
//!
//! tarn compares floats as Spark does: `-0.0 == 0.0`, and every NaN is equal to every other
//! and above every number. Arrow's sort kernels and `arrow-row` order floats by IEEE 754
//! `totalOrder` instead (`-0.0 < 0.0`, a NaN with its sign bit set below every number). Mapping
//! `-0.0` to `0.0` and every NaN to the positive quiet NaN first makes the two orders one, so
//! that expressions, statistics, sorting and curves (`tarn-maintenance`) agree.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef, ArrowNativeTypeOp};
use arrow_schema::DataType;

use super::coerce::{normalize_f32, normalize_f64};

/// `-0.0` as `0.0` and every NaN as the positive quiet NaN, also inside dictionary and
/// run-end encoded arrays, so that `arrow-row`'s total order is tarn's. Other arrays, and
/// float arrays already normal, are returned as they are (no copy).
pub fn normalize_floats(array: &ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Float16 => normalize_primitive::<Float16Type>(array, |v| {
            if v.is_nan() {
                <<Float16Type as ArrowPrimitiveType>::Native>::NAN
            } else if v.to_bits() == NEGATIVE_ZERO_F16 {
                <<Float16Type as ArrowPrimitiveType>::Native>::ZERO
            } else {
                v
            }
        }),
        DataType::Float32 => normalize_primitive::<Float32Type>(array, normalize_f32),
        DataType::Float64 => normalize_primitive::<Float64Type>(array, normalize_f64),
        DataType::Dictionary(_, values) if has_floats(values) => {
            let dictionary = array.as_any_dictionary();
            dictionary.with_values(normalize_floats(dictionary.values()))
        }
        DataType::RunEndEncoded(run_ends, values) if has_floats(values.data_type()) => {
            match run_ends.data_type() {
                DataType::Int16 => normalize_runs::<Int16Type>(array),
                DataType::Int32 => normalize_runs::<Int32Type>(array),
                DataType::Int64 => normalize_runs::<Int64Type>(array),
                // Arrow allows no other run-end type; a foreign one is left for arrow-row
                // to refuse.
                _ => Arc::clone(array),
            }
        }
        _ => Arc::clone(array),
    }
}

/// The bits of the half-precision `-0.0`.
const NEGATIVE_ZERO_F16: u16 = 0x8000;

/// Whether values of this type may hold floats to normalise.
fn has_floats(data_type: &DataType) -> bool {
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => true,
        DataType::Dictionary(_, values) => has_floats(values),
        DataType::RunEndEncoded(_, values) => has_floats(values.data_type()),
        _ => false,
    }
}

/// Applies `normal` to a float array when some value changes under it.
fn normalize_primitive<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    normal: impl Fn(T::Native) -> T::Native,
) -> ArrayRef {
    let floats = array.as_primitive::<T>();
    // `is_eq` compares float bits (`NaN == NaN`, `-0.0 != 0.0`), which is what changes here.
    if floats.values().iter().all(|v| v.is_eq(normal(*v))) {
        Arc::clone(array)
    } else {
        Arc::new(floats.unary::<_, T>(normal))
    }
}

/// A run-end encoded array with its values normalised.
fn normalize_runs<R: arrow_array::types::RunEndIndexType>(array: &ArrayRef) -> ArrayRef {
    let runs = array.as_run::<R>();
    Arc::new(runs.with_values(normalize_floats(runs.values())))
}
