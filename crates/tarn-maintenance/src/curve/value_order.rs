//! The one total order on a column's values that every curve and the linear sort use.
//!
//! Values are compared through `arrow-row` encodings, ascending with nulls first, so that
//! every orderable Arrow type takes the same code path. `arrow-row` orders floats by IEEE 754
//! `totalOrder` (`-0.0 < 0.0`, a NaN with its sign bit set below every number); tarn's
//! expressions compare as Spark does (`-0.0 == 0.0`, every NaN equal and above every number,
//! `tarn::expr`'s float normalisation), so floats are normalised the same way first: `-0.0`
//! becomes `0.0` and every NaN the positive quiet NaN. A file's statistics and a predicate then
//! agree with the order the rows were laid out in.

use arrow_array::ArrayRef;
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

/// Encodes columns as comparable rows after [`tarn::expr::normalize_floats`].
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
    let normal: Vec<ArrayRef> = columns.iter().map(tarn::expr::normalize_floats).collect();
    converter
        .append(rows, &normal)
        .map_err(|source| MaintenanceError::Compute {
            context: context(),
            source,
        })
}
