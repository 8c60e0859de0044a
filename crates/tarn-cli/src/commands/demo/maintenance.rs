//! The demo's maintenance step: what a vacuum would delete with no retention at all, a vacuum
//! with the table's retention (which keeps every file the last 7 days of versions need, so
//! the time travel above keeps working), and an integrity check, through the code behind
//! `tarn vacuum` and `tarn check`.
//!
//! What is checked: the files a zero-retention vacuum would delete are exactly the files the
//! delete, the update and the compaction removed (nothing the latest version reads, nothing
//! no commit named); the vacuum with the table's retention deletes nothing and records its
//! start and end; the check finds every file the latest version references, as logged, and
//! no orphan.

use tarn::Table;
use tarn_maintenance::check::{Check, CheckReport};
use tarn_maintenance::vacuum::{DeletionReason, Vacuum, VacuumMetrics};

use super::{check, check_eq};
use crate::CliError;

/// What the maintenance step did.
#[derive(Debug)]
pub(crate) struct Maintenance {
    /// Files a vacuum with `--retain 0h --force` would delete.
    pub(crate) would_delete: u64,
    /// Their bytes.
    pub(crate) would_delete_bytes: u64,
    /// The vacuum with the table's retention.
    pub(crate) vacuum: VacuumMetrics,
    /// The check after it.
    pub(crate) check: CheckReport,
}

/// Runs the step on a table whose commits removed `removed_files` files in all.
pub(crate) async fn run(table: &Table, removed_files: u64) -> Result<Maintenance, CliError> {
    let step = "vacuum and check";
    let plan = Vacuum::new(table.clone())
        .with_retention_ms(0)
        .with_force(true)
        .plan()
        .await?;
    let orphans = plan
        .deletions
        .iter()
        .filter(|d| d.reason == DeletionReason::Orphan)
        .count();
    check_eq(step, 0, orphans as u64)?;
    let would_delete = plan.deletions.len() as u64;
    check_eq(step, removed_files, would_delete)?;

    let vacuum = Vacuum::new(table.clone()).execute().await?;
    check_eq(step, 0, vacuum.files_deleted as u64)?;
    check(
        step,
        "VACUUM START and VACUUM END commits",
        vacuum.start_version.is_some() && vacuum.end_version.is_some(),
        || format!("{:?} and {:?}", vacuum.start_version, vacuum.end_version),
    )?;

    let report = Check::new(table.clone()).execute().await?;
    check(step, "a healthy table", report.is_healthy(), || {
        format!("{:?}", report.problems)
    })?;
    let snapshot = table.snapshot().await?;
    check_eq(step, snapshot.num_files() as u64, report.files_checked)?;
    check_eq(
        step,
        0,
        report.orphans.as_ref().map_or(u64::MAX, |o| o.files),
    )?;
    Ok(Maintenance {
        would_delete,
        would_delete_bytes: plan.bytes_to_delete(),
        vacuum,
        check: report,
    })
}
