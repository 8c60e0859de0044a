//! The data writer's decisions, as plain functions of plain numbers: how many files may be
//! open for a memory budget, when a partition the input moved past is finished, what to
//! release when the writer holds too much, and in which order waiting partitions get their
//! files.
//!
//! Nothing here holds rows or does I/O; the writer (`mod.rs`) acts on the answers. The rule
//! every answer keeps: a partition's file is never finished because other partitions need
//! room. Room is made by ending a row group, by spilling waiting rows to local disk, or by
//! letting a partition wait for its turn.

/// A partition whose rows came at a steady pace is one the input moved past once no rows
/// came for this many times its usual gap between batches.
const IDLE_GAP_FACTOR: u64 = 16;

/// A partition is never finished as idle before this many rows went elsewhere (unless
/// [`super::WriterOptions::with_idle_file_rows`] says fewer): finishing it too early risks a
/// second file when its rows come back.
pub(crate) const MIN_IDLE_ROWS: u64 = 64 * 1024;

/// The part of the memory budget the writer plans to hold in what it counts: three quarters.
/// The last quarter is headroom for memory the writer holds but cannot count exactly: the
/// rows in flight (see [`super::WriterOptions`]) and, above all, the allocator's slack, memory
/// freed by the encoding threads that the allocator keeps rather than returns (with glibc's
/// per-thread arenas, 10-20% of the peak on the interleaved write benchmark, varying from run
/// to run), so that the process's resident memory, not only the writer's count, stays within
/// the budget.
pub(crate) fn planned_budget(budget: usize) -> usize {
    budget - budget / 4
}

/// How the writer's memory budget is shared between open files and rows.
///
/// Each open file reserves one upload part of the budget: a file's encoded bytes collect in
/// memory up to one part before they leave for storage, and a file cannot give them back
/// without being finished. Open files may reserve at most half of the budget, which caps how
/// many can be open; what the open files do not reserve is for rows (row groups being
/// encoded and rows waiting for their partition's turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemoryPlan {
    /// The whole budget, in bytes.
    pub(crate) budget: usize,
    /// Bytes reserved for each open file's upload buffer.
    pub(crate) upload_reserve: usize,
    /// Files written at once, at most.
    pub(crate) max_open_files: usize,
}

impl MemoryPlan {
    /// The plan for a writer with `budget` bytes whose files upload in parts of
    /// `upload_part_size` bytes and roll at `target_file_size`, with at most `max_open_files`
    /// files open (fewer if the budget cannot reserve a part for each).
    pub(crate) fn new(
        budget: usize,
        upload_part_size: usize,
        target_file_size: u64,
        max_open_files: usize,
    ) -> Self {
        let budget = budget.max(2);
        // A file smaller than a part never holds more than itself (plus the slice that takes
        // it past the target, which the target does not bound; the part size does).
        let target = usize::try_from(target_file_size).unwrap_or(usize::MAX);
        let upload_reserve = upload_part_size.min(target).clamp(1, budget / 2);
        let affordable = (budget / 2 / upload_reserve).max(1);
        Self {
            budget,
            upload_reserve,
            max_open_files: max_open_files.clamp(1, affordable),
        }
    }

    /// Bytes reserved by `files` open files.
    pub(crate) fn reserved(&self, files: usize) -> usize {
        files.saturating_mul(self.upload_reserve)
    }

    /// Bytes left for rows while `files` files are open.
    pub(crate) fn row_budget(&self, files: usize) -> usize {
        self.budget.saturating_sub(self.reserved(files)).max(1)
    }

    /// The most a partition whose backlog is being replayed may hold in its row group in
    /// progress, when `waiting` bytes of rows still wait in memory and up to
    /// `max_open_files` partitions replay at once: the rows' share of the budget, split
    /// evenly.
    pub(crate) fn replay_row_group_limit(&self, waiting: usize) -> usize {
        let free = self.row_budget(self.max_open_files).saturating_sub(waiting);
        (free / self.max_open_files).max(1)
    }

    /// Whether the rows waiting in memory should go to disk before the waiting partitions
    /// are written at the end: when they would leave less than half the rows' share to the
    /// row groups of the files being written from them.
    pub(crate) fn spill_before_replay(&self, waiting: usize) -> bool {
        waiting > self.row_budget(self.max_open_files) / 2
    }
}

/// When a partition took rows, on the writer's clock (rows accepted so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Activity {
    /// The clock when the partition first took rows in its current file.
    first: u64,
    /// The clock when it last took rows.
    last: u64,
    /// Batches it took rows from.
    batches: u64,
}

impl Activity {
    /// A partition that took rows from the batch that set the clock to `now`.
    pub(crate) fn new(now: u64) -> Self {
        Self {
            first: now,
            last: now,
            batches: 1,
        }
    }

    /// Records rows taken from the batch that set the clock to `now`.
    pub(crate) fn touch(&mut self, now: u64) {
        if now != self.last {
            self.last = now;
            self.batches += 1;
        }
    }

    /// Whether the input moved past this partition by `now`: it took no rows while
    /// `idle_file_rows` rows went elsewhere, or, sooner, while [`MIN_IDLE_ROWS`] rows and
    /// [`IDLE_GAP_FACTOR`] times its average gap between batches went elsewhere. Input
    /// clustered by partition gives gaps of about one batch, so its partitions finish soon
    /// after the input leaves them; interleaved input gives steady gaps that a pause of 16
    /// times their length practically never follows by chance.
    pub(crate) fn is_idle(&self, now: u64, idle_file_rows: u64) -> bool {
        let idle = now.saturating_sub(self.last);
        let adaptive = match self.batches.checked_sub(1) {
            Some(gaps) if gaps > 0 => ((self.last - self.first) / gaps)
                .saturating_mul(IDLE_GAP_FACTOR)
                .max(MIN_IDLE_ROWS),
            _ => MIN_IDLE_ROWS,
        };
        idle >= adaptive.min(idle_file_rows)
    }
}

/// What to release when the writer holds more than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relief {
    /// Within budget: nothing.
    None,
    /// Write the rows waiting in memory to a spill file.
    SpillWaiting,
    /// End the row group in progress of the open file at this index.
    FlushRowGroup(usize),
}

/// What to release when `waiting` bytes of rows wait in memory and the open files' row
/// groups in progress hold `row_groups` bytes each, against `row_budget` bytes for rows.
///
/// The larger side gives way: waiting rows go to disk all at once when they hold at least as
/// much as the row groups together (so a spill file is never small), else the largest row
/// group ends (so row groups stay as large as the budget allows).
pub(crate) fn relieve(row_budget: usize, waiting: usize, row_groups: &[usize]) -> Relief {
    let encoding: usize = row_groups.iter().sum();
    if waiting.saturating_add(encoding) <= row_budget {
        return Relief::None;
    }
    let largest = row_groups
        .iter()
        .enumerate()
        .filter(|(_, bytes)| **bytes > 0)
        .max_by_key(|(_, bytes)| **bytes)
        .map(|(index, _)| index);
    match largest {
        _ if waiting > 0 && waiting >= encoding => Relief::SpillWaiting,
        Some(index) => Relief::FlushRowGroup(index),
        None if waiting > 0 => Relief::SpillWaiting,
        None => Relief::None,
    }
}

/// The order in which waiting partitions, of `sizes` bytes each, get their files at the end
/// of the input: largest first, so the longest writes start early and the last ones to
/// start are short; ties in input order.
pub(crate) fn turn_order(sizes: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn open_files_reserve_at_most_half_the_budget() {
        // The defaults: 256 MiB, 10 MiB parts, 128 MiB files.
        let plan = MemoryPlan::new(256 * MIB, 10 * MIB, 128 << 20, 128);
        assert_eq!(plan.upload_reserve, 10 * MIB);
        assert_eq!(plan.max_open_files, 12);
        assert!(plan.reserved(plan.max_open_files) <= plan.budget / 2);
        assert_eq!(plan.row_budget(12), 136 * MIB);
        // Small files reserve only their size.
        let small = MemoryPlan::new(256 * MIB, 10 * MIB, MIB as u64, 128);
        assert_eq!((small.upload_reserve, small.max_open_files), (MIB, 128));
        // An explicit limit below what the budget affords is kept.
        assert_eq!(
            MemoryPlan::new(256 * MIB, 10 * MIB, 128 << 20, 3).max_open_files,
            3
        );
        // A budget smaller than a part still lets one file be written.
        let tiny = MemoryPlan::new(MIB, 10 * MIB, 128 << 20, 16);
        assert_eq!((tiny.upload_reserve, tiny.max_open_files), (MIB / 2, 1));
        assert_eq!(tiny.row_budget(1), MIB / 2);
    }

    #[test]
    fn replay_shares_what_waiting_rows_leave() {
        let plan = MemoryPlan::new(256 * MIB, 10 * MIB, 128 << 20, 128);
        assert_eq!(plan.replay_row_group_limit(0), 136 * MIB / 12);
        assert_eq!(plan.replay_row_group_limit(100 * MIB), 3 * MIB);
        assert_eq!(plan.replay_row_group_limit(500 * MIB), 1);
        assert!(!plan.spill_before_replay(68 * MIB));
        assert!(plan.spill_before_replay(68 * MIB + 1));
    }

    #[test]
    fn clustered_partitions_go_idle_soon_after_the_input_leaves_them() {
        // Four consecutive batches of 8192 rows, then the input moves on: idle after 16
        // batches of other partitions.
        let mut activity = Activity::new(8192);
        for n in 2..=4 {
            activity.touch(n * 8192);
        }
        let last = 4 * 8192;
        assert!(!activity.is_idle(last + 16 * 8192 - 1, 1 << 20));
        assert!(activity.is_idle(last + 16 * 8192, 1 << 20));
        // Small batches: the minimum wait.
        let mut small = Activity::new(100);
        small.touch(200);
        assert!(!small.is_idle(200 + MIN_IDLE_ROWS - 1, 1 << 20));
        assert!(small.is_idle(200 + MIN_IDLE_ROWS, 1 << 20));
        // A partition seen in one batch only waits the minimum.
        let once = Activity::new(100);
        assert!(!once.is_idle(100 + MIN_IDLE_ROWS - 1, 1 << 20));
        assert!(once.is_idle(100 + MIN_IDLE_ROWS, 1 << 20));
        // The option is an upper bound of the wait.
        assert!(once.is_idle(1600, 1500));
    }

    #[test]
    fn interleaved_partitions_with_wide_gaps_are_not_idle_after_one_gap() {
        // A partition taking rows every 100k rows (one of many sparse partitions).
        let mut activity = Activity::new(100_000);
        for n in 2..=10 {
            activity.touch(n * 100_000);
        }
        let last = 1_000_000;
        assert!(!activity.is_idle(last + 1_500_000, u64::MAX));
        assert!(activity.is_idle(last + 1_600_000, u64::MAX));
        // The option still bounds it.
        assert!(activity.is_idle(last + (1 << 20), 1 << 20));
        // Taking rows twice from one batch counts once.
        let mut twice = Activity::new(10);
        twice.touch(10);
        assert_eq!(twice, Activity::new(10));
    }

    #[test]
    fn the_larger_side_gives_way() {
        assert_eq!(relieve(100, 40, &[30, 30]), Relief::None);
        // Waiting rows outweigh the row groups: spill them.
        assert_eq!(relieve(100, 60, &[30, 20]), Relief::SpillWaiting);
        // Row groups outweigh waiting rows: end the largest.
        assert_eq!(relieve(100, 30, &[20, 50, 10]), Relief::FlushRowGroup(1));
        assert_eq!(relieve(100, 0, &[0, 101]), Relief::FlushRowGroup(1));
        // Nothing to end: spill, or nothing at all.
        assert_eq!(relieve(1, 5, &[0, 0]), Relief::SpillWaiting);
        assert_eq!(relieve(0, 0, &[0]), Relief::None);
    }

    #[test]
    fn largest_waiting_partitions_go_first() {
        assert_eq!(turn_order(&[5, 9, 5, 1, 9]), [1, 4, 0, 2, 3]);
        assert!(turn_order(&[]).is_empty());
    }
}
