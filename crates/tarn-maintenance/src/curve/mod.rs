//! Sort keys along space-filling curves over several columns, for clustered layouts.
//!
//! Compaction writes rows in the order this module decides, then cuts them into files; a
//! range predicate then reads only the files whose min/max statistics overlap it. Sorting by
//! one column serves predicates on that column only. A curve through the space of several
//! columns keeps rows that are close in *every* column close in the order, so each file
//! covers a small box and predicates on any of the columns skip most files:
//! `tarn optimize --zorder-by a,b` uses [`Curve::ZOrder`], Delta liquid clustering orders
//! along [`Curve::Hilbert`].
//!
//! How a key is made, for each row:
//! 1. each column's value becomes a rank in `[0, 2^bits)` by binary search among quantile
//!    boundaries sampled from that column ([`ColumnRanker`]), so every column spreads over
//!    the whole range whatever its type, scale or skew;
//! 2. the ranks are the coordinates of a cell of a [`Grid`], and the key is the cell's
//!    position along the curve: bits interleaved for Z-order, Skilling's Hilbert index;
//! 3. [`CurveSort`] samples, ranks and sorts record batches by key, ties in input order.
//!
//! Values compare as tarn's expressions compare them (nulls first, `-0.0 == 0.0`, NaN above
//! every number), for every column type without children.
//!
//! Pure: no I/O, no async, no clock; the sample is pseudo-random with a fixed seed, so the
//! same input always gets the same order.

mod grid;
mod hilbert;
#[cfg(test)]
mod layout_tests;
mod rank;
#[cfg(test)]
mod rank_tests;
mod sample;
mod sort;
mod value_order;
mod zorder;

pub use grid::Grid;
pub use rank::ColumnRanker;
pub use sample::DEFAULT_SAMPLE_ROWS;
pub use sort::CurveSort;

use crate::error::{MaintenanceError, Result};

/// The order rows are laid out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// Lexicographic by the columns, the first most significant: `ORDER BY a, b`. Serves
    /// predicates on the first column (and on the second within equal firsts).
    Linear,
    /// Z-order (Morton): the columns' rank bits interleaved. Serves predicates on any of the
    /// columns; what `OPTIMIZE ... ZORDER BY` does.
    ZOrder,
    /// The Hilbert curve through the columns' ranks: like Z-order, but consecutive keys are
    /// always neighbouring cells, so files cover tighter boxes. What liquid clustering does.
    Hilbert,
}

/// The bits per column a [`Grid::for_columns`] uses when 64 bits allow: 65,536 ranks, finer
/// than any file layout needs (see [`Grid`]).
pub const DEFAULT_BITS_PER_COLUMN: u32 = 16;

/// The widest rank a [`ColumnRanker`] or a [`Grid`] accepts.
pub const MAX_BITS_PER_COLUMN: u32 = 32;

/// Refuses a rank width outside `1..=MAX_BITS_PER_COLUMN`.
fn validate_bits(bits: u32) -> Result<()> {
    if (1..=MAX_BITS_PER_COLUMN).contains(&bits) {
        Ok(())
    } else {
        Err(MaintenanceError::InvalidArgument {
            argument: "bits per column",
            reason: format!("{bits}; it must be between 1 and {MAX_BITS_PER_COLUMN}"),
        })
    }
}
