//! What a vacuum left, read back with code that owes nothing to the engines and checked against
//! the generator's layout (`table`). A vacuum passes only if
//! - every active file is still there and still the file its `add` describes (the log replayed
//!   and every active file's footer read, via `write_engine::verify`), so the table reads the
//!   same rows as before;
//! - every removed file is gone (all their tombstones expired long ago), and nothing else is
//!   left in the table's data directories: the files on disk are exactly the active ones.
//!
//! This module only reads and compares; it never decides what an engine is asked to do.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::table::{ROWS_PER_FILE, VacuumTable};
use crate::child::VacuumReport;
use crate::engine::Engine;
use crate::error::{BenchError, io_error};
use crate::write_engine::verify::delta_table;

/// Checks the vacuumed table at `dir`, generated as `spec`, and says what the vacuum did.
pub(super) fn vacuumed(
    engine: Engine,
    dir: &Path,
    spec: &VacuumTable,
) -> Result<VacuumReport, BenchError> {
    let wrong = |what: String, expected: String, actual: String| BenchError::WrongVacuum {
        engine,
        what,
        expected,
        actual,
    };
    let files = spec.table_files()?;
    let active: BTreeSet<&str> = files
        .iter()
        .filter(|file| !file.removed)
        .map(|file| file.path.as_str())
        .collect();
    let active_count = u64::try_from(active.len()).unwrap_or(u64::MAX);

    let on_disk = delta_table(dir)?;
    if on_disk.files != active_count {
        return Err(wrong(
            "active files in the log".to_owned(),
            active_count.to_string(),
            on_disk.files.to_string(),
        ));
    }
    if on_disk.rows != active_count * ROWS_PER_FILE {
        return Err(wrong(
            "rows in the active files".to_owned(),
            (active_count * ROWS_PER_FILE).to_string(),
            on_disk.rows.to_string(),
        ));
    }

    let left = data_files(dir)?;
    if let Some(kept) = left.iter().find(|path| !active.contains(path.as_str())) {
        return Err(wrong(
            format!("{kept} (removed, tombstone long expired)"),
            "deleted".to_owned(),
            "still on disk".to_owned(),
        ));
    }
    if let Some(missing) = active.iter().find(|path| !left.contains(**path)) {
        return Err(wrong(
            format!("{missing} (active)"),
            "kept".to_owned(),
            "deleted".to_owned(),
        ));
    }
    let last_version = on_disk.last_version.unwrap_or(0);
    Ok(VacuumReport {
        files_before: spec.files,
        files_deleted: spec.files - active_count,
        files_after: active_count,
        commits: last_version.saturating_sub(spec.last_version()),
        last_version,
    })
}

/// The data files under `dir`, relative, `/`-separated: everything but hidden paths (the log,
/// the generator's record).
fn data_files(dir: &Path) -> Result<BTreeSet<String>, BenchError> {
    let mut found = BTreeSet::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((current, prefix)) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(io_error(&current))? {
            let entry = entry.map_err(io_error(&current))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let relative = format!("{prefix}{name}");
            if entry.file_type().map_err(io_error(entry.path()))?.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
            } else {
                found.insert(relative);
            }
        }
    }
    Ok(found)
}
