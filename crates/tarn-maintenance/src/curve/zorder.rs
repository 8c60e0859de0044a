//! Z-order (Morton order): the bits of the coordinates interleaved.
//!
//! The key's top bit is coordinate 0's top bit, then coordinate 1's top bit, and so on, then
//! every coordinate's second bit: each group of `dimensions` key bits halves the cell in
//! every dimension, so rows close in key are close in every column. Its weakness is the jump
//! between quadrants (from the end of one to the start of the next, far away), which makes a
//! file cut across a jump span a wide range; Hilbert order has none.

/// Interleaves the low `bits` bits of each coordinate, most significant first, coordinate 0
/// first within each bit level. `coordinates.len() * bits` must be at most 64 (bits above
/// that are shifted out).
pub(crate) fn interleave(coordinates: &[u64], bits: u32) -> u64 {
    let mut key = 0_u64;
    for level in (0..bits).rev() {
        for coordinate in coordinates {
            key = (key << 1) | ((coordinate >> level) & 1);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn bits_alternate_between_coordinates_from_the_top() {
        assert_eq!(interleave(&[0b11, 0b00], 2), 0b1010);
        assert_eq!(interleave(&[0b00, 0b11], 2), 0b0101);
        assert_eq!(interleave(&[0b10, 0b01], 2), 0b1001);
        assert_eq!(interleave(&[0b101, 0b010, 0b111], 3), 0b101_011_101);
        // One coordinate: the coordinate itself.
        assert_eq!(interleave(&[0xDEAD], 16), 0xDEAD);
        // The full 64 bits.
        assert_eq!(interleave(&[u32::MAX.into(), 0], 32), 0xAAAA_AAAA_AAAA_AAAA);
        assert_eq!(interleave(&[0, u32::MAX.into()], 32), 0x5555_5555_5555_5555);
    }

    #[test]
    fn every_cell_gets_its_own_key_and_every_key_a_cell() {
        for (dimensions, bits) in [(2, 1), (2, 3), (2, 4), (3, 2), (3, 3), (4, 2)] {
            let cells = 1_u64 << (dimensions * bits);
            let mut keys = HashSet::new();
            for cell in 0..cells {
                let coordinates: Vec<u64> = (0..dimensions)
                    .map(|d| (cell >> (d * bits)) & ((1 << bits) - 1))
                    .collect();
                let key = interleave(&coordinates, bits as u32);
                assert!(key < cells);
                assert!(keys.insert(key), "{coordinates:?} shares key {key}");
            }
        }
    }

    #[test]
    fn keys_are_monotone_in_each_coordinate() {
        // Growing one coordinate while the others stay put never lowers the key.
        for a in 0..16_u64 {
            for b in 0..16_u64 {
                if a < 15 {
                    assert!(interleave(&[a, b], 4) < interleave(&[a + 1, b], 4));
                }
                if b < 15 {
                    assert!(interleave(&[a, b], 4) < interleave(&[a, b + 1], 4));
                }
            }
        }
    }
}
