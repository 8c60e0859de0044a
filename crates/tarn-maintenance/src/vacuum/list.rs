//! Listing a table's files for a full vacuum: in parallel, one listing per top-level
//! directory, hidden directories skipped.
//!
//! On local disk a listing follows symbolic links, so a link inside the table to a directory
//! elsewhere would make that directory's files look like the table's; deleting one would
//! delete outside the table. Every listed local file's directory is therefore resolved, and
//! files whose real directory is not under the table's real root are left out (and counted).
//!
//! Local tables are walked here rather than through the store's listing ([`LocalWalk`]): the
//! store stats every entry three times and turns every path into a URL and back, which made
//! listing 100,000 files take over half a second; the walk reads each directory once, stats
//! each file once, and names each file from its directory's object path. It lists what the
//! store would: regular files, links followed, `name#123` upload fragments left out, any
//! other kind of entry an error.

use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use tarn::TableLocation;
#[cfg(unix)]
use tarn::log::local_store::NotARegularFile;

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
    #[cfg(unix)]
    if let Some(local) = LocalWalk::new(location) {
        return local.list(metas, directories).await;
    }
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
    listing
        .files
        .extend(metas.into_iter().map(|meta| ListedFile {
            path: meta.location,
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        }));
    Ok(listing)
}

/// A local table's directories walked with the file system's own calls (see the module docs).
#[cfg(unix)]
struct LocalWalk {
    /// The table root with every link resolved.
    real_root: PathBuf,
}

#[cfg(unix)]
impl LocalWalk {
    /// The walk of a local table; `None` for object stores.
    fn new(location: &TableLocation) -> Option<Self> {
        if location.url().scheme() != "file" {
            return None;
        }
        let root = LocalFileSystem::new()
            .path_to_filesystem(location.root())
            .ok()?;
        // A root that cannot be resolved lists nothing anyway.
        let real_root = std::fs::canonicalize(root).ok()?;
        Some(Self { real_root })
    }

    /// The files of `objects` (the root's own files, as listed) and under `directories`
    /// (top-level directories of the root, walked at once on blocking threads).
    async fn list(self, objects: Vec<ObjectMeta>, directories: Vec<Path>) -> Result<Listing> {
        let mut listing = Listing::default();
        listing
            .files
            .extend(objects.into_iter().map(|meta| ListedFile {
                path: meta.location,
                size: meta.size,
                modified_ms: meta.last_modified.timestamp_millis(),
            }));
        let walk = std::sync::Arc::new(self);
        let walked: Vec<Listing> = futures::stream::iter(directories)
            .map(|dir| {
                let walk = std::sync::Arc::clone(&walk);
                async move {
                    let shown = dir.to_string();
                    tokio::task::spawn_blocking(move || walk.walk_top(&dir))
                        .await
                        .map_err(|e| MaintenanceError::Storage {
                            operation: "listing",
                            path: shown,
                            source: object_store::Error::JoinError { source: e },
                        })?
                }
            })
            .buffer_unordered(LOCAL_WALKS)
            .try_collect()
            .await?;
        for part in walked {
            listing.files.extend(part.files);
            listing.outside_through_links += part.outside_through_links;
        }
        Ok(listing)
    }

    /// Every file under the top-level directory `dir` (an object path under the root).
    fn walk_top(&self, dir: &Path) -> Result<Listing> {
        // Resolved through a file in it: a directory's own name need not be a valid file name.
        let fs_dir = LocalFileSystem::new()
            .path_to_filesystem(&dir.clone().join("x"))
            .ok()
            .and_then(|file| file.parent().map(std::path::Path::to_path_buf))
            .ok_or_else(|| MaintenanceError::Storage {
                operation: "listing",
                path: dir.to_string(),
                source: object_store::Error::InvalidPath {
                    source: object_store::path::Error::EmptySegment {
                        path: dir.to_string(),
                    },
                },
            })?;
        let mut listing = Listing::default();
        let mut ancestors = Vec::new();
        self.walk(&fs_dir, dir.clone(), &mut ancestors, &mut listing)
            .map_err(|source| MaintenanceError::Storage {
                operation: "listing",
                path: fs_dir.display().to_string(),
                source,
            })?;
        Ok(listing)
    }

    /// Walks `dir` (object path `object`), links followed; `ancestors` are the (device,
    /// inode) of the directories above, so that a link back up is an error, not a loop.
    fn walk(
        &self,
        dir: &std::path::Path,
        object: Path,
        ancestors: &mut Vec<(u64, u64)>,
        listing: &mut Listing,
    ) -> object_store::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let io = |path: &std::path::Path, err: std::io::Error| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: format!("{}: {err}", path.display()).into(),
        };
        let meta = std::fs::metadata(dir).map_err(|e| io(dir, e))?;
        let id = (meta.dev(), meta.ino());
        if ancestors.contains(&id) {
            return Err(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: format!("{}: a link leads back to a directory above", dir.display()).into(),
            });
        }
        // Whether the files here are the table's: the directory's real location decides.
        let inside = std::fs::canonicalize(dir).is_ok_and(|real| real.starts_with(&self.real_root));
        ancestors.push(id);
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: format!("{}: the name is not UTF-8", path.display()).into(),
                });
            };
            let file_type = entry.file_type().map_err(|e| io(&path, e))?;
            let followed = if file_type.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(target) => Some(target),
                    Err(_) => return Err(NotARegularFile::new(path, file_type).into_store_error()),
                }
            } else {
                None
            };
            let kind = followed
                .as_ref()
                .map_or(file_type, std::fs::Metadata::file_type);
            // Named as the store names it: the file name as it is, not percent-encoded
            // (its listing decodes the URL it made from the file system path).
            let child = Path::parse(format!("{object}/{name}"))
                .map_err(|source| object_store::Error::InvalidPath { source })?;
            if kind.is_dir() {
                self.walk(&path, child, ancestors, listing)?;
            } else if kind.is_file() {
                if is_upload_fragment(name) {
                    continue;
                }
                let meta = match followed {
                    Some(meta) => meta,
                    None => match entry.metadata() {
                        Ok(meta) => meta,
                        // Deleted since the directory was read: not there to vacuum.
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(err) => return Err(io(&path, err)),
                    },
                };
                if !inside {
                    listing.outside_through_links += 1;
                    continue;
                }
                let modified_ms = meta
                    .modified()
                    .ok()
                    .map(chrono::DateTime::<chrono::Utc>::from)
                    .map_or(0, |t| t.timestamp_millis());
                listing.files.push(ListedFile {
                    path: child,
                    size: meta.len(),
                    modified_ms,
                });
            } else {
                return Err(NotARegularFile::new(path, kind).into_store_error());
            }
        }
        ancestors.pop();
        Ok(())
    }
}

/// Top-level directories walked at once.
#[cfg(unix)]
const LOCAL_WALKS: usize = 4;

/// Whether a file name is that of a part of an upload in progress (`name#12`), which the
/// local store never lists.
#[cfg(unix)]
fn is_upload_fragment(name: &str) -> bool {
    name.split_once('#')
        .is_some_and(|(_, suffix)| !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use super::*;

    /// `(path, size)` of every file the local walk lists under `root`, and of every file the
    /// store's own listing gives.
    async fn both(root: &std::path::Path) -> (BTreeSet<(String, u64)>, BTreeSet<(String, u64)>) {
        let location = TableLocation::parse(root.to_str().unwrap()).unwrap();
        let walked = list_table(&location, &[]).await.unwrap();
        let walked = walked
            .files
            .into_iter()
            .map(|f| (f.path.to_string(), f.size))
            .collect();
        let listed: Vec<ObjectMeta> = location
            .store()
            .list(Some(location.root()))
            .try_collect()
            .await
            .unwrap();
        let listed = listed
            .into_iter()
            .map(|m| (m.location.to_string(), m.size))
            .collect();
        (walked, listed)
    }

    #[tokio::test]
    async fn the_walk_names_files_as_the_store_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("table");
        for (path, bytes) in [
            ("part-0.parquet", 1),
            ("day=2026-01-01/part-1.parquet", 2),
            ("day=50%25/part-2.parquet", 3),
            ("day=with space/Zürich ☃.parquet", 4),
            ("day=a%3Ab/x=1/part-3.parquet", 5),
            ("day=q#1/part-4.parquet", 6),
            ("day=z/odd[name]{1}^`|\"<>.parquet", 7),
            // An upload in progress: never listed.
            ("day=z/part-5.parquet#1", 8),
            ("_delta_log/00000000000000000000.json", 9),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, vec![0u8; bytes]).unwrap();
        }
        let (walked, listed) = both(&root).await;
        // The walk leaves hidden top-level directories to the store's listing of the root
        // (they are not walked), so compare what it lists with the store's files outside
        // them.
        let listed: BTreeSet<_> = listed
            .into_iter()
            .filter(|(path, _)| !path.contains("/_delta_log/"))
            .collect();
        assert_eq!(walked, listed);
        assert_eq!(walked.len(), 7, "{walked:?}");
    }

    #[tokio::test]
    async fn fifos_dangling_links_and_link_loops_are_errors() {
        for case in ["fifo", "dangling", "loop"] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("table");
            let day = root.join("day=a");
            std::fs::create_dir_all(&day).unwrap();
            std::fs::write(day.join("part-0.parquet"), b"x").unwrap();
            match case {
                "fifo" => assert!(
                    std::process::Command::new("mkfifo")
                        .arg(day.join("pipe.parquet"))
                        .status()
                        .unwrap()
                        .success()
                ),
                "dangling" => {
                    std::os::unix::fs::symlink(root.join("nothing"), day.join("gone.parquet"))
                        .unwrap();
                }
                _ => std::os::unix::fs::symlink(&root, day.join("up")).unwrap(),
            }
            let location = TableLocation::parse(root.to_str().unwrap()).unwrap();
            let err = list_table(&location, &[]).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    MaintenanceError::Storage {
                        operation: "listing",
                        ..
                    }
                ),
                "{case}: {err}"
            );
            if case != "loop" {
                let MaintenanceError::Storage { source, .. } = &err else {
                    unreachable!()
                };
                assert!(
                    tarn::log::local_store::NotARegularFile::find(source).is_some(),
                    "{case}: {err}"
                );
            }
        }
    }
}
