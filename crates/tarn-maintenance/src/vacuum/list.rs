//! Listing a table's files for a full vacuum: in parallel, one listing per top-level
//! directory, hidden directories skipped.
//!
//! On local disk a listing follows symbolic links, so a link inside the table to a directory
//! elsewhere would make that directory's files look like the table's; deleting one would
//! delete outside the table. Every listed local file's directory is therefore resolved, and
//! files whose real directory is not under the table's real root are left out (and counted).

use std::collections::HashMap;
use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use tarn::TableLocation;

use super::plan::{ListedFile, is_hidden, relative_segments};
use crate::error::{MaintenanceError, Result};

/// Directory listings in flight at once.
const LIST_CONCURRENCY: usize = 8;

/// The files of a table.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Files under the root, hidden directories left out.
    pub(crate) files: Vec<ListedFile>,
    /// Local files left out because a symbolic link leads to them from outside the table.
    pub(super) outside_through_links: usize,
}

/// Lists every file under the table's root outside hidden directories.
pub(crate) async fn list_table(
    location: &TableLocation,
    partition_columns: &[String],
) -> Result<Listing> {
    let store = location.store();
    let root = location.root();
    let storage = |path: &Path, source| MaintenanceError::Storage {
        operation: "listing",
        path: location.display_path(path),
        source,
    };
    let top = store
        .list_with_delimiter(Some(root))
        .await
        .map_err(|e| storage(root, e))?;
    let mut metas: Vec<ObjectMeta> = top.objects;
    let directories: Vec<Path> = top
        .common_prefixes
        .into_iter()
        .filter(|dir| {
            relative_segments(root, dir)
                .is_some_and(|segments| !is_hidden(&[segments[0], "x"], partition_columns))
        })
        .collect();
    let listed: Vec<Vec<ObjectMeta>> = futures::stream::iter(directories)
        .map(|dir| async move {
            store
                .list(Some(&dir))
                .try_collect::<Vec<ObjectMeta>>()
                .await
                .map_err(|e| storage(&dir, e))
        })
        .buffer_unordered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
    metas.extend(listed.into_iter().flatten());
    let mut listing = Listing::default();
    let local = LocalGuard::new(location);
    for meta in metas {
        if let Some(guard) = &local
            && !guard.is_inside(&meta.location)
        {
            listing.outside_through_links += 1;
            continue;
        }
        listing.files.push(ListedFile {
            path: meta.location,
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        });
    }
    Ok(listing)
}

/// Checks that local files are really under the table's root.
struct LocalGuard {
    paths: LocalFileSystem,
    root: PathBuf,
    /// Verdicts by directory.
    seen: std::sync::Mutex<HashMap<PathBuf, bool>>,
}

impl LocalGuard {
    /// A guard for a local table; `None` for object stores.
    fn new(location: &TableLocation) -> Option<Self> {
        if location.url().scheme() != "file" {
            return None;
        }
        let paths = LocalFileSystem::new();
        let root = paths.path_to_filesystem(location.root()).ok()?;
        // A root that cannot be resolved lists nothing anyway.
        let root = std::fs::canonicalize(root).ok()?;
        Some(Self {
            paths,
            root,
            seen: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Whether the file's real directory is under the table's real root.
    fn is_inside(&self, path: &Path) -> bool {
        let Ok(file) = self.paths.path_to_filesystem(path) else {
            return false;
        };
        let Some(dir) = file.parent() else {
            return false;
        };
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(verdict) = seen.get(dir) {
            return *verdict;
        }
        let verdict = std::fs::canonicalize(dir).is_ok_and(|real| real.starts_with(&self.root));
        seen.insert(dir.to_owned(), verdict);
        verdict
    }
}
