//! The demo's directory: created if absent, reused only if a previous demo made it.
//!
//! The demo must never delete user data. It writes a marker file, [`MARKER`], into the
//! directory it uses; a later run may replace the demo's table (`events`) only in a
//! directory holding that marker, and only if `events` is a Delta table (has `_delta_log`).
//! Anything else in the directory is left alone. A directory that is neither new, empty,
//! nor a previous demo's is refused.

use std::path::Path;

use crate::CliError;

/// The marker file a demo leaves in its directory.
pub(crate) const MARKER: &str = ".tarn-demo";
/// The demo table's directory name.
pub(crate) const TABLE_DIR: &str = "events";
/// The directory beside the table that receives its archived files.
pub(crate) const ARCHIVE_DIR: &str = "events-archive";

/// What preparing the directory did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// The directory was new or empty.
    Fresh,
    /// A previous demo's table was removed.
    ReplacedPreviousDemo,
}

fn io_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::DemoIo {
        path: path.display().to_string(),
        source,
    }
}

fn refuse(path: &Path, reason: impl Into<String>) -> CliError {
    CliError::DemoDirectory {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Makes `dir` ready for a demo table at `dir/events`.
pub(crate) fn prepare(dir: &Path) -> Result<Prepared, CliError> {
    let prepared = match std::fs::metadata(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
            Prepared::Fresh
        }
        Err(err) => return Err(io_error(dir, err)),
        Ok(meta) if !meta.is_dir() => return Err(refuse(dir, "it is not a directory")),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
            if entries.next().is_none() {
                Prepared::Fresh
            } else if !dir.join(MARKER).is_file() {
                return Err(refuse(
                    dir,
                    format!(
                        "it is not empty and no previous `tarn demo` made it (there is no \
                         {MARKER} file); give a new or empty directory"
                    ),
                ));
            } else {
                let table = dir.join(TABLE_DIR);
                if table.exists() {
                    if !table.join("_delta_log").is_dir() {
                        return Err(refuse(
                            dir,
                            format!(
                                "{} is not a Delta table (no _delta_log); move it away",
                                table.display()
                            ),
                        ));
                    }
                    std::fs::remove_dir_all(&table).map_err(|e| io_error(&table, e))?;
                }
                let archive = dir.join(ARCHIVE_DIR);
                if archive.exists() {
                    if !archive
                        .join(tarn_maintenance::archive::MARKER_NAME)
                        .is_file()
                    {
                        return Err(refuse(
                            dir,
                            format!(
                                "{} is not the demo's archive location (no {}); move it away",
                                archive.display(),
                                tarn_maintenance::archive::MARKER_NAME
                            ),
                        ));
                    }
                    std::fs::remove_dir_all(&archive).map_err(|e| io_error(&archive, e))?;
                }
                Prepared::ReplacedPreviousDemo
            }
        }
    };
    std::fs::write(
        dir.join(MARKER),
        "Made by `tarn demo`. Running it again here replaces the `events` table and its \
         `events-archive` (and nothing else).\n",
    )
    .map_err(|e| io_error(dir, e))?;
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn new_empty_and_previous_demo_directories_are_used() {
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("a/b");
        assert_eq!(prepare(&new).unwrap(), Prepared::Fresh);
        assert!(new.join(MARKER).is_file());

        std::fs::create_dir_all(new.join("events/_delta_log")).unwrap();
        std::fs::write(new.join("notes.txt"), "mine").unwrap();
        assert_eq!(prepare(&new).unwrap(), Prepared::ReplacedPreviousDemo);
        assert!(!new.join("events").exists());
        assert_eq!(
            std::fs::read_to_string(new.join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn user_data_is_never_touched() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("data.csv"), "x").unwrap();
        let err = prepare(root.path()).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
        assert!(root.path().join("data.csv").is_file());
        assert!(!root.path().join(MARKER).exists());

        // A marker, but `events` is not a table: refused, kept.
        std::fs::write(root.path().join(MARKER), "").unwrap();
        std::fs::create_dir(root.path().join("events")).unwrap();
        std::fs::write(root.path().join("events/keep"), "x").unwrap();
        let err = prepare(root.path()).unwrap_err().to_string();
        assert!(err.contains("not a Delta table"), "{err}");
        assert!(root.path().join("events/keep").is_file());

        let file = root.path().join("data.csv");
        let err = prepare(&file).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn only_the_demos_own_archive_location_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(MARKER), "").unwrap();
        let archive = root.path().join(ARCHIVE_DIR);
        std::fs::create_dir(&archive).unwrap();
        std::fs::write(archive.join("mine.parquet"), "x").unwrap();
        let err = prepare(root.path()).unwrap_err().to_string();
        assert!(err.contains("not the demo's archive location"), "{err}");
        assert!(archive.join("mine.parquet").is_file());

        std::fs::write(archive.join(tarn_maintenance::archive::MARKER_NAME), "{}").unwrap();
        assert_eq!(
            prepare(root.path()).unwrap(),
            Prepared::ReplacedPreviousDemo
        );
        assert!(!archive.exists());
    }
}
