//! Fresh copies of a generated table for each run of a scenario that changes the table
//! (`optimize`, `vacuum`): every file hard-linked, so a copy costs a directory walk and no
//! data, and an engine deleting a file of the copy (vacuum) leaves the source's file alone.
//! Where links fail (another file system) the file is copied with its modification time, which
//! vacuum decides by. Linking is safe only because no engine rewrites a file in place: they add
//! files and delete files, never change one.

use std::fs::{self, FileTimes};
use std::path::Path;

use crate::error::{BenchError, io_error};

/// Makes `copy` a table with exactly `source`'s files (removing any earlier `copy`).
pub(crate) fn fresh_copy(source: &Path, copy: &Path) -> Result<(), BenchError> {
    if copy.exists() {
        fs::remove_dir_all(copy).map_err(io_error(copy))?;
    }
    let mut pending = vec![(source.to_path_buf(), copy.to_path_buf())];
    while let Some((from, to)) = pending.pop() {
        fs::create_dir_all(&to).map_err(io_error(&to))?;
        for entry in fs::read_dir(&from).map_err(io_error(&from))? {
            let entry = entry.map_err(io_error(&from))?;
            let target = to.join(entry.file_name());
            if entry.file_type().map_err(io_error(entry.path()))?.is_dir() {
                pending.push((entry.path(), target));
            } else if fs::hard_link(entry.path(), &target).is_err() {
                fs::copy(entry.path(), &target).map_err(io_error(&target))?;
                let modified = entry
                    .metadata()
                    .and_then(|metadata| metadata.modified())
                    .map_err(io_error(entry.path()))?;
                fs::File::options()
                    .write(true)
                    .open(&target)
                    .and_then(|file| file.set_times(FileTimes::new().set_modified(modified)))
                    .map_err(io_error(&target))?;
            }
        }
    }
    Ok(())
}
