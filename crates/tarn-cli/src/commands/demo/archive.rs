//! The demo's archiving step: the oldest day is tiered to a second directory beside the table
//! (the archive location), through the code behind `tarn archive`; then the next day is
//! detached from the live table and brought back with `restore-archive`.
//!
//! What is checked: the tier run archives exactly the files of that day and every version
//! still reads the same rows (the latest is compared with the version before the run); the
//! detach run makes the live table lack exactly that day's rows; the restore brings every one
//! of them back; and the integrity check finds the table healthy after each.

use tarn::Table;
use tarn_maintenance::archive::{Archive, ArchiveMode, RestoreArchive};
use tarn_maintenance::check::Check;

use super::{check, check_eq, count_rows};
use crate::CliError;
use crate::commands::parse_filter;

/// The day tiered: every file of it moves.
pub(crate) const TIER_DAY: &str = "2026-01-05";
/// The day detached, then restored.
pub(crate) const DETACH_DAY: &str = "2026-01-06";

fn day_predicate(day: &str) -> String {
    format!("day = '{day}'")
}

/// What the archiving step did.
#[derive(Debug)]
pub(crate) struct Archiving {
    pub(crate) location: String,
    pub(crate) tiered_files: u64,
    pub(crate) tiered_bytes: u64,
    pub(crate) tier_version: u64,
    pub(crate) detached_files: u64,
    pub(crate) detached_rows: u64,
    pub(crate) detach_version: u64,
    pub(crate) restored_files: u64,
    pub(crate) restore_version: u64,
    pub(crate) rows: u64,
}

impl Archiving {
    /// The version the step ended at.
    pub(crate) fn version(&self) -> u64 {
        self.restore_version
    }
}

/// Files of the latest version named by absolute URI: those living in the archive location.
async fn tiered_files(table: &Table) -> Result<u64, CliError> {
    let snapshot = table.snapshot().await?;
    Ok(snapshot
        .files()
        .iter()
        .filter(|f| f.path().contains("://"))
        .count() as u64)
}

/// Files and live rows (records less deletion vectors) of one day in the latest version.
async fn day_files(table: &Table, day: &str) -> Result<(u64, u64), CliError> {
    let snapshot = table.snapshot().await?;
    let mut files = 0;
    let mut rows = 0;
    for file in snapshot.files().iter() {
        if file
            .partition_values()
            .any(|(k, v)| k == "day" && v == Some(day))
        {
            files += 1;
            let records = u64::try_from(file.num_records().unwrap_or(0)).unwrap_or(0);
            let deleted =
                u64::try_from(file.deletion_vector_cardinality().unwrap_or(0)).unwrap_or(0);
            rows += records.saturating_sub(deleted);
        }
    }
    Ok((files, rows))
}

async fn healthy(table: &Table, step: &'static str) -> Result<(), CliError> {
    let report = Check::new(table.clone())
        .with_orphans(false)
        .execute()
        .await?;
    check(step, "a healthy table", report.is_healthy(), || {
        format!("{:?}", report.problems)
    })
}

/// Runs the step; `location` is the archive directory's path.
pub(crate) async fn run(table: &Table, location: &str) -> Result<Archiving, CliError> {
    let step = "archive";
    let (rows, refunds) = count_rows(table, None).await?;
    let snapshot = table.snapshot().await?;
    let (in_tiered_day, _) = day_files(table, TIER_DAY).await?;
    let tier = Archive::new(table.clone(), location)
        .with_filter(parse_filter(&day_predicate(TIER_DAY))?)
        .execute()
        .await?;
    check_eq(step, in_tiered_day, tier.files_archived)?;
    let tier_version = tier.versions.last().copied().unwrap_or(snapshot.version());
    let (after_rows, after_refunds) = count_rows(table, None).await?;
    check_eq(step, rows, after_rows)?;
    check_eq(step, refunds, after_refunds)?;
    // The version before still reads the same (its files are the hot copies).
    let (before_rows, _) = count_rows(table, Some(snapshot.version())).await?;
    check_eq(step, rows, before_rows)?;
    check_eq(step, tier.files_archived, tiered_files(table).await?)?;
    healthy(table, step).await?;

    // Detach the next day: its rows leave the live table.
    let (in_detached_day, day_rows) = day_files(table, DETACH_DAY).await?;
    let detach = Archive::new(table.clone(), location)
        .with_filter(parse_filter(&day_predicate(DETACH_DAY))?)
        .with_mode(ArchiveMode::Detach)
        .execute()
        .await?;
    check_eq(step, in_detached_day, detach.files_archived)?;
    let detach_version = detach.versions.last().copied().unwrap_or(tier_version);
    let (live_rows, _) = count_rows(table, None).await?;
    check_eq(step, rows - day_rows, live_rows)?;
    healthy(table, step).await?;

    let restored = RestoreArchive::new(table.clone(), parse_filter(&day_predicate(DETACH_DAY))?)
        .execute()
        .await?;
    check_eq(step, in_detached_day, restored.detached_restored)?;
    let restore_version = restored.versions.last().copied().unwrap_or(detach_version);
    let (final_rows, final_refunds) = count_rows(table, None).await?;
    check_eq(step, rows, final_rows)?;
    check_eq(step, refunds, final_refunds)?;
    healthy(table, step).await?;
    Ok(Archiving {
        location: location.to_owned(),
        tiered_files: tier.files_archived,
        tiered_bytes: tier.bytes_archived,
        tier_version,
        detached_files: detach.files_archived,
        detached_rows: day_rows,
        detach_version,
        restored_files: restored.detached_restored,
        restore_version,
        rows: final_rows,
    })
}
