//! The one total order on a column's values that every curve and the linear sort use.
//!
//! Values are compared through `arrow-row` encodings, ascending with nulls first, so that
//! every orderable Arrow type takes the same code path. `arrow-row` orders floats by IEEE 754
//! `totalOrder` (`-0.0 < 0.0`, a NaN with its sign bit set below every number); tarn's
//! expressions compare as Spark does (`-0.0 == 0.0`, every NaN equal and above every number,
//! `tarn::expr`'s float normalisation), so floats are normalised the same way first: `-0.0`
//! becomes `0.0` and every NaN the positive quiet NaN. A file's statistics and a predicate then
//! agree with the order the rows were laid out in.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef, ArrowNativeTypeOp};
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::{DataType, SortOptions};

use crate::error::{MaintenanceError, Result};

/// Whether values of `data_type` can be ranked: every type without children (numbers,
/// decimals, dates, times, timestamps, durations, intervals, strings, binary, booleans,
/// nulls), also dictionary- or run-end-encoded. Lists, structs, maps and unions are refused:
/// `arrow-row` orders them, but no range predicate, and so no file skipping, uses that order.
pub(crate) fn is_orderable(data_type: &DataType) -> bool {
    !data_type.is_nested()
}

/// Refuses a column whose type [`is_orderable`] rejects, naming it.
pub(crate) fn check_orderable(column: &str, data_type: &DataType) -> Result<()> {
    if is_orderable(data_type) {
        Ok(())
    } else {
        Err(MaintenanceError::UnsupportedColumn {
            column: column.to_owned(),
            data_type: data_type.clone(),
        })
    }
}

/// The sort field of one column: ascending, nulls first.
pub(crate) fn sort_field(data_type: &DataType) -> SortField {
    SortField::new_with_options(
        data_type.clone(),
        SortOptions {
            descending: false,
            nulls_first: true,
        },
    )
}

/// A row converter for columns of these types, in this order.
pub(crate) fn row_converter(
    columns: &[(&str, &DataType)],
    context: impl FnOnce() -> String,
) -> Result<RowConverter> {
    for (name, data_type) in columns {
        check_orderable(name, data_type)?;
    }
    let fields = columns.iter().map(|(_, t)| sort_field(t)).collect();
    RowConverter::new(fields).map_err(|source| MaintenanceError::Compute {
        context: context(),
        source,
    })
}

/// Encodes columns as comparable rows after [`normalize_floats`].
pub(crate) fn encode(
    converter: &RowConverter,
    columns: &[ArrayRef],
    context: impl FnOnce() -> String,
) -> Result<Rows> {
    let mut rows = converter.empty_rows(0, 0);
    encode_into(converter, &mut rows, columns, context)?;
    Ok(rows)
}

/// [`encode`], appending to `rows`.
pub(crate) fn encode_into(
    converter: &RowConverter,
    rows: &mut Rows,
    columns: &[ArrayRef],
    context: impl FnOnce() -> String,
) -> Result<()> {
    let normal: Vec<ArrayRef> = columns.iter().map(normalize_floats).collect();
    converter
        .append(rows, &normal)
        .map_err(|source| MaintenanceError::Compute {
            context: context(),
            source,
        })
}

/// `-0.0` as `0.0` and every NaN as the positive quiet NaN, also inside dictionary and
/// run-end encoded arrays, so that `arrow-row`'s total order is tarn's. Other arrays, and
/// float arrays already normal, are returned as they are (no copy).
pub(crate) fn normalize_floats(array: &ArrayRef) -> ArrayRef {
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
        DataType::Float32 => normalize_primitive::<Float32Type>(array, |v| {
            if v.is_nan() {
                f32::NAN
            } else if v == 0.0 {
                0.0
            } else {
                v
            }
        }),
        DataType::Float64 => normalize_primitive::<Float64Type>(array, |v| {
            if v.is_nan() {
                f64::NAN
            } else if v == 0.0 {
                0.0
            } else {
                v
            }
        }),
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
