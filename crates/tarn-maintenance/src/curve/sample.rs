//! Which rows a column's rank boundaries are computed from.
//!
//! The choice is pseudo-random but fixed (a constant seed): the same input is laid out the
//! same way every time, so a rerun of a compaction, a test, or a dry run agrees with the real
//! one. Random rather than every n-th row, so that data with a period (a sequence of
//! repeating patterns, rows written in rounds) cannot alias with the stride.

/// The default number of rows sampled per column: two per bucket at
/// [`DEFAULT_BITS_PER_COLUMN`](super::DEFAULT_BITS_PER_COLUMN) bits, so the top of the curve (what
/// splits rows among files) follows the true quantiles closely, while encoding and sorting
/// the sample stays a few milliseconds per column.
pub const DEFAULT_SAMPLE_ROWS: usize = 1 << 17;

/// The rows to sample among `total` rows: every row when `total <= wanted`, otherwise
/// `wanted` rows drawn uniformly with replacement, in ascending order.
pub(crate) fn sample_positions(total: usize, wanted: usize) -> Vec<usize> {
    if total <= wanted {
        return (0..total).collect();
    }
    let mut random = SplitMix64(SEED);
    let mut positions: Vec<usize> = (0..wanted)
        .map(|_| random.below(total as u64) as usize)
        .collect();
    positions.sort_unstable();
    positions
}

/// Any fixed value will do; this one is the first 64 bits of the golden ratio's fraction.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Vigna's SplitMix64: a tiny, well-mixed generator, enough to pick sample rows (no
/// cryptographic or statistical-test quality is needed, only no visible pattern).
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, bound)` (Lemire's multiply-shift; its bias, below `bound / 2^64`, is
    /// irrelevant for sampling). `bound` must not be zero.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_inputs_are_taken_whole() {
        assert_eq!(sample_positions(5, 10), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_positions(0, 10), Vec::<usize>::new());
    }

    #[test]
    fn large_inputs_are_sampled_in_range_and_reproducibly() {
        let positions = sample_positions(1_000_000, 1000);
        assert_eq!(positions.len(), 1000);
        assert!(positions.windows(2).all(|w| w[0] <= w[1]));
        assert!(positions.iter().all(|&p| p < 1_000_000));
        assert_eq!(positions, sample_positions(1_000_000, 1000));
        // Spread over the whole input, not bunched at one end.
        let first_half = positions.iter().filter(|&&p| p < 500_000).count();
        assert!((400..600).contains(&first_half), "{first_half}");
    }
}
