//! The grid a curve fills, and the keys of its cells.

use super::hilbert::hilbert_index;
use super::zorder::interleave;
use super::{Curve, DEFAULT_BITS_PER_COLUMN, validate_bits};
use crate::error::{MaintenanceError, Result};

/// The grid a curve runs through: `dimensions` coordinates (column ranks) of `bits` bits
/// each, at most 64 bits in all, so that every key is one `u64`.
///
/// Why 64 bits are enough: what a layout needs from a curve is to split rows among files,
/// and `F` files use only about `log2(F)` of the key's top bits (a few hundred files: under
/// 10 bits); the bits below only order rows inside a file. With at most
/// [`DEFAULT_BITS_PER_COLUMN`] bits per column the ranks are also no finer than the sampled
/// quantiles can be. A fixed-width integer key also sorts much faster than bytes would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    dimensions: usize,
    bits: u32,
}

impl Grid {
    /// A grid of `dimensions` coordinates of `bits` bits each: at least one dimension, `bits`
    /// in `1..=`[`MAX_BITS_PER_COLUMN`](super::MAX_BITS_PER_COLUMN), `dimensions * bits <= 64`.
    pub fn new(dimensions: usize, bits: u32) -> Result<Self> {
        validate_bits(bits)?;
        if dimensions == 0 || dimensions as u64 * u64::from(bits) > 64 {
            return Err(MaintenanceError::InvalidArgument {
                argument: "curve dimensions",
                reason: format!(
                    "{dimensions} columns of {bits} bits each do not fit a 64-bit key \
                     (at least one column, and at most 64 bits in all)"
                ),
            });
        }
        Ok(Self { dimensions, bits })
    }

    /// The grid for `columns` columns: `min(16, 64 / columns)` bits each (16 bits for up to
    /// four columns, 8 for eight, 1 for 64), at most 64 columns.
    pub fn for_columns(columns: usize) -> Result<Self> {
        match columns {
            1..=64 => {
                // At most 64 / 1 = 64 before the min, so the cast is lossless.
                let bits = (64 / columns).min(DEFAULT_BITS_PER_COLUMN as usize) as u32;
                Self::new(columns, bits)
            }
            _ => Err(MaintenanceError::InvalidArgument {
                argument: "curve columns",
                reason: format!("{columns} columns; a curve orders 1 to 64"),
            }),
        }
    }

    /// The number of coordinates.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The bits of each coordinate: coordinates are below `2^bits`.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The key of the cell at `coordinates` on `curve`, in `[0, 2^(dimensions * bits))`.
    ///
    /// - [`Curve::Linear`]: the coordinates concatenated, coordinate 0 most significant
    ///   (lexicographic order of the ranks);
    /// - [`Curve::ZOrder`]: their bits interleaved, from the top, coordinate 0 first;
    /// - [`Curve::Hilbert`]: the Hilbert index (Skilling's transposition).
    ///
    /// `coordinates` should hold `dimensions` values below `2^bits`: only the low `bits`
    /// bits of each count, missing coordinates count as 0 and extra ones are ignored (a key
    /// is computed per row, where a `Result` would cost more than the check is worth).
    pub fn key(&self, curve: Curve, coordinates: &[u64]) -> u64 {
        let mut cell = [0_u64; 64];
        let mask = u64::MAX >> (64 - self.bits);
        for (slot, coordinate) in cell.iter_mut().zip(coordinates) {
            *slot = coordinate & mask;
        }
        let cell = &cell[..self.dimensions];
        match curve {
            Curve::Linear => cell
                .iter()
                // dimensions * bits <= 64, so a shift by `bits` of the partial key never
                // overflows what remains to fill (and bits <= 32 < 64).
                .fold(0, |key, coordinate| (key << self.bits) | coordinate),
            Curve::ZOrder => interleave(cell, self.bits),
            Curve::Hilbert => hilbert_index(cell, self.bits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_per_column_shrink_with_the_columns() {
        let bits = |n| Grid::for_columns(n).unwrap().bits();
        assert_eq!(bits(1), 16);
        assert_eq!(bits(4), 16);
        assert_eq!(bits(5), 12);
        assert_eq!(bits(8), 8);
        assert_eq!(bits(64), 1);
        assert!(Grid::for_columns(0).is_err());
        assert!(Grid::for_columns(65).is_err());
        assert!(Grid::new(3, 22).is_err());
        assert!(Grid::new(2, 32).is_ok());
    }

    #[test]
    fn keys_per_curve() {
        let grid = Grid::new(2, 2).unwrap();
        assert_eq!(grid.key(Curve::Linear, &[1, 2]), 0b0110);
        assert_eq!(grid.key(Curve::ZOrder, &[1, 2]), 0b0110);
        assert_eq!(grid.key(Curve::ZOrder, &[2, 1]), 0b1001);
        assert_eq!(grid.key(Curve::Hilbert, &[1, 0]), 1);
        // Only the low bits count.
        assert_eq!(
            grid.key(Curve::Linear, &[5, 6]),
            grid.key(Curve::Linear, &[1, 2])
        );
        let full = Grid::new(2, 32).unwrap();
        assert_eq!(full.key(Curve::Linear, &[u64::MAX, u64::MAX]), u64::MAX);
    }
}
