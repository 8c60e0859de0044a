//! Laying out the rows of a bin: sorted by columns, or along a Z-order or Hilbert curve.

use arrow_array::RecordBatch;

use super::plan::Layout;
use crate::curve::{Curve, CurveSort};
use crate::error::Result;

/// Rows per batch handed to the writer after reordering.
const OUTPUT_ROWS: usize = 8192;

/// The rows of `batches` in the layout's order, in batches of at most [`OUTPUT_ROWS`].
pub(crate) fn order_rows(batches: &[RecordBatch], layout: &Layout) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let curve = match layout {
        Layout::BinPack => return Ok(batches.to_vec()),
        Layout::Sort(_) => Curve::Linear,
        Layout::ZOrder(_) => Curve::ZOrder,
        Layout::Cluster(_) => Curve::Hilbert,
    };
    let ordered = CurveSort::new(curve, layout.columns()).sort(&first.schema(), batches)?;
    let mut out = Vec::with_capacity(ordered.num_rows().div_ceil(OUTPUT_ROWS));
    let mut offset = 0;
    while offset < ordered.num_rows() {
        let len = OUTPUT_ROWS.min(ordered.num_rows() - offset);
        out.push(ordered.slice(offset, len));
        offset += len;
    }
    Ok(out)
}
