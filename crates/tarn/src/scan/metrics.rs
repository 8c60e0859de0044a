//! Counters a scan keeps while it plans and runs (`tarn cat --explain` prints them).

use std::sync::atomic::{AtomicU64, Ordering};

/// What a scan pruned and read. Planning fills the file counts; reading fills the rest as it
/// goes, so the numbers are final once the scan's stream has ended.
#[derive(Debug, Default)]
pub struct ScanMetrics {
    files_total: AtomicU64,
    files_pruned_by_partition: AtomicU64,
    files_pruned_by_stats: AtomicU64,
    files_skipped_by_limit: AtomicU64,
    files_read: AtomicU64,
    row_groups_total: AtomicU64,
    row_groups_pruned: AtomicU64,
    rows_read: AtomicU64,
}

/// A point-in-time copy of [`ScanMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanMetricsSnapshot {
    /// Active files in the snapshot.
    pub files_total: u64,
    /// Files skipped because their partition values cannot match the filter.
    pub files_pruned_by_partition: u64,
    /// Files skipped because their column statistics cannot match the filter.
    pub files_pruned_by_stats: u64,
    /// Files not needed because earlier files already hold the limit's rows.
    pub files_skipped_by_limit: u64,
    /// Files read to the end.
    pub files_read: u64,
    /// Row groups in the files opened.
    pub row_groups_total: u64,
    /// Row groups skipped because their Parquet statistics cannot match the filter.
    pub row_groups_pruned: u64,
    /// Rows decoded (after deletion vectors, before the filter).
    pub rows_read: u64,
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl ScanMetrics {
    pub(crate) fn set_files(
        &self,
        total: usize,
        by_partition: usize,
        by_stats: usize,
        by_limit: usize,
    ) {
        add(&self.files_total, total);
        add(&self.files_pruned_by_partition, by_partition);
        add(&self.files_pruned_by_stats, by_stats);
        add(&self.files_skipped_by_limit, by_limit);
    }

    /// A fresh set of counters with this one's planning counts (files), no reading counts.
    pub(crate) fn planned_copy(&self) -> Self {
        let copy = Self::default();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        copy.files_total
            .store(get(&self.files_total), Ordering::Relaxed);
        copy.files_pruned_by_partition
            .store(get(&self.files_pruned_by_partition), Ordering::Relaxed);
        copy.files_pruned_by_stats
            .store(get(&self.files_pruned_by_stats), Ordering::Relaxed);
        copy.files_skipped_by_limit
            .store(get(&self.files_skipped_by_limit), Ordering::Relaxed);
        copy
    }

    pub(crate) fn add_row_groups(&self, total: usize, pruned: usize) {
        add(&self.row_groups_total, total);
        add(&self.row_groups_pruned, pruned);
    }

    pub(crate) fn add_rows_read(&self, rows: usize) {
        add(&self.rows_read, rows);
    }

    pub(crate) fn add_file_read(&self) {
        add(&self.files_read, 1);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ScanMetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ScanMetricsSnapshot {
            files_total: get(&self.files_total),
            files_pruned_by_partition: get(&self.files_pruned_by_partition),
            files_pruned_by_stats: get(&self.files_pruned_by_stats),
            files_skipped_by_limit: get(&self.files_skipped_by_limit),
            files_read: get(&self.files_read),
            row_groups_total: get(&self.row_groups_total),
            row_groups_pruned: get(&self.row_groups_pruned),
            rows_read: get(&self.rows_read),
        }
    }
}
