//! The k-dimensional Hilbert curve, by John Skilling's transposition method ("Programming the
//! Hilbert curve", AIP Conference Proceedings 707, 2004).
//!
//! Skilling's insight is that the Hilbert index, written with its bits dealt round-robin to
//! the `k` dimensions (the "transpose", the same dealing Z-order uses), is reached from the
//! coordinates in place with `O(k * bits)` XORs: walking the bit levels from the top, each
//! level's reflections and axis swaps, which orient every sub-cube so that its curve enters
//! where the previous one left, are undone on the lower bits; a Gray code then turns the
//! corner sequence into index digits. Unlike Z-order, consecutive indices are always
//! adjacent cells, so a run of keys (a file) is a compact blob with no long jumps.
//!
//! This implementation follows the paper's description; the curve starts at the origin and,
//! at every level, ends at the cell next to it along dimension 0.

use super::zorder::interleave;

/// The most dimensions a 64-bit index can have (one bit each).
const MAX_DIMENSIONS: usize = 64;

/// The Hilbert index of the cell at `coordinates`, each below `2^bits`, in `k * bits` bits
/// (`k` = `coordinates.len()`, at most 64 in all; coordinates past the 64th are ignored).
pub(crate) fn hilbert_index(coordinates: &[u64], bits: u32) -> u64 {
    let k = coordinates.len().min(MAX_DIMENSIONS);
    if k == 0 || bits == 0 {
        return 0;
    }
    let mut buffer = [0_u64; MAX_DIMENSIONS];
    let x = &mut buffer[..k];
    x.copy_from_slice(&coordinates[..k]);
    to_transpose(x, bits);
    interleave(x, bits)
}

/// Skilling's `AxestoTranspose`: replaces the coordinates with the transposed Hilbert index.
fn to_transpose(x: &mut [u64], bits: u32) {
    let k = x.len();
    let top = 1_u64 << (bits - 1);
    // Undo the orientation of each level, from the top: at level `q`, a coordinate whose bit
    // is set reflects the lower bits of dimension 0; one whose bit is clear swaps its lower
    // bits with dimension 0's.
    let mut q = top;
    while q > 1 {
        let lower = q - 1;
        for i in 0..k {
            if x[i] & q != 0 {
                x[0] ^= lower;
            } else {
                let swap = (x[0] ^ x[i]) & lower;
                x[0] ^= swap;
                x[i] ^= swap;
            }
        }
        q >>= 1;
    }
    // Gray-encode across the dimensions...
    for i in 1..k {
        x[i] ^= x[i - 1];
    }
    // ...and down the levels, carried by the last dimension.
    let mut flip = 0;
    let mut q = top;
    while q > 1 {
        if x[k - 1] & q != 0 {
            flip ^= q - 1;
        }
        q >>= 1;
    }
    for coordinate in x.iter_mut() {
        *coordinate ^= flip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of a `dimensions`-cube of side `2^bits`, in Hilbert order; asserts that the
    /// index is a bijection onto `[0, 2^(dimensions * bits))`.
    fn cells_in_order(dimensions: usize, bits: u32) -> Vec<Vec<u64>> {
        let cells = 1_usize << (dimensions as u32 * bits);
        let mut by_index: Vec<Option<Vec<u64>>> = vec![None; cells];
        for cell in 0..cells as u64 {
            let coordinates: Vec<u64> = (0..dimensions)
                .map(|d| (cell >> (d as u32 * bits)) & ((1 << bits) - 1))
                .collect();
            let index = hilbert_index(&coordinates, bits) as usize;
            assert!(index < cells, "{coordinates:?} -> {index} out of range");
            let slot = &mut by_index[index];
            assert!(
                slot.is_none(),
                "{coordinates:?} and {slot:?} share index {index}"
            );
            *slot = Some(coordinates);
        }
        by_index.into_iter().map(|c| c.unwrap()).collect()
    }

    fn manhattan(a: &[u64], b: &[u64]) -> u64 {
        a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).sum()
    }

    #[test]
    fn bijection_and_unit_steps_exhaustively() {
        for (dimensions, bits) in [
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4),
            (3, 1),
            (3, 2),
            (3, 3),
            (4, 2),
        ] {
            let order = cells_in_order(dimensions, bits);
            for (i, pair) in order.windows(2).enumerate() {
                assert_eq!(
                    manhattan(&pair[0], &pair[1]),
                    1,
                    "{dimensions}D, {bits} bits: index {i} at {:?}, {} at {:?}",
                    pair[0],
                    i + 1,
                    pair[1]
                );
            }
            // Starts at the origin, ends next to it along dimension 0.
            let side = (1 << bits) - 1;
            let mut end = vec![0; dimensions];
            end[0] = side;
            assert_eq!(order[0], vec![0; dimensions]);
            assert_eq!(order[order.len() - 1], end);
        }
    }

    #[test]
    fn known_small_curves() {
        // 2D, 1 bit: the U from the origin up dimension 1, across, and down.
        let u: Vec<Vec<u64>> = vec![vec![0, 0], vec![0, 1], vec![1, 1], vec![1, 0]];
        assert_eq!(cells_in_order(2, 1), u);
        // 2D, 2 bits, worked by hand: the first quadrant is the U turned to leave along
        // dimension 1, the last turned to end at (3, 0).
        #[rustfmt::skip]
        let expected: Vec<Vec<u64>> = [
            (0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (0, 3), (1, 3), (1, 2),
            (2, 2), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1), (2, 0), (3, 0),
        ]
        .iter()
        .map(|&(a, b)| vec![a, b])
        .collect();
        assert_eq!(cells_in_order(2, 2), expected);
        // 3D, 1 bit: the Gray code.
        #[rustfmt::skip]
        let gray: Vec<Vec<u64>> = [
            [0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1], [1, 0, 0],
        ]
        .iter()
        .map(|c| c.to_vec())
        .collect();
        assert_eq!(cells_in_order(3, 1), gray);
    }

    #[test]
    fn top_digits_follow_the_one_bit_curve() {
        // Self-similarity: the top `k` bits of the index name the sub-cube, in the order of
        // the 1-bit curve, whatever the resolution.
        for bits in 2..=6 {
            for a in 0..(1_u64 << bits) {
                for b in [0, 1, (1 << bits) - 1, a / 2] {
                    let top = hilbert_index(&[a, b], bits) >> (2 * (bits - 1));
                    let coarse = hilbert_index(&[a >> (bits - 1), b >> (bits - 1)], 1);
                    assert_eq!(top, coarse, "{a}, {b} at {bits} bits");
                }
            }
        }
    }

    #[test]
    fn one_dimension_is_the_identity() {
        for x in 0..256 {
            assert_eq!(hilbert_index(&[x], 8), x);
        }
    }

    #[test]
    fn sixty_four_bits_are_usable() {
        let corner = hilbert_index(&[u32::MAX.into(), 0], 32);
        assert_eq!(corner, u64::MAX, "the last cell");
        assert_eq!(hilbert_index(&[0, 0], 32), 0);
        let ones = vec![1; 64];
        assert!(hilbert_index(&ones, 1) > 0);
    }
}
