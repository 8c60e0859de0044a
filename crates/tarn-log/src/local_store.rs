//! The local file system as an object store that serves regular files only.
//!
//! object_store's `LocalFileSystem` opens whatever a path names: a FIFO blocks the reader
//! forever, a symbolic link to `/dev/zero` reads as an empty object, and its listings skip
//! such entries silently, so a table whose commit file is not a regular file reads as if
//! that version did not exist and a writer commits past it. [`RegularFileStore`] wraps it and
//! decides one thing: an entry that is neither a regular file nor a directory (a FIFO, a
//! socket, a device, a dangling symbolic link) is an error, [`NotARegularFile`], whether it is
//! read, inspected or met while listing. Everything else is `LocalFileSystem`'s own behaviour.
//!
//! It never follows a decision of its own beyond that check: writes, deletes, copies and
//! renames go straight through (deletes of many files in batches, for speed; the files
//! deleted and the errors are `LocalFileSystem`'s).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// The name object_store errors carry for this store.
const STORE: &str = "LocalFileSystem";

/// An object path names something on the local file system that is not a regular file.
#[derive(Debug, thiserror::Error)]
#[error("{path} is not a regular file (it is {kind})")]
pub struct NotARegularFile {
    /// The file system path.
    pub path: PathBuf,
    /// What it is instead: `a FIFO`, `a character device`, `a dangling symbolic link`, ...
    pub kind: &'static str,
}

impl NotARegularFile {
    /// The `NotARegularFile` inside an object_store error, if that is what it is.
    pub fn find(error: &object_store::Error) -> Option<&NotARegularFile> {
        match error {
            object_store::Error::Generic { source, .. } => source.downcast_ref(),
            _ => None,
        }
    }

    /// The entry at `path`, whose type (as a directory entry or `symlink_metadata` gives
    /// it, not following a link) is `file_type`: a link here is a dangling one.
    pub fn new(path: PathBuf, file_type: std::fs::FileType) -> Self {
        Self {
            path,
            kind: describe(file_type),
        }
    }

    /// The object_store error this store reports it as (found again by [`Self::find`]).
    pub fn into_store_error(self) -> object_store::Error {
        object_store::Error::Generic {
            store: STORE,
            source: Box::new(self),
        }
    }
}

/// What a non-regular, non-directory file system entry is, for [`NotARegularFile`].
fn describe(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_symlink() {
        return "a dangling symbolic link";
    }
    "not a file"
}

/// Checks one path: `Ok` for a regular file, a directory or nothing at all (the wrapped
/// store reports those as it always does), the error otherwise.
fn check_path(path: PathBuf) -> Result<(), NotARegularFile> {
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() || meta.is_dir() => Ok(()),
        Ok(meta) => Err(NotARegularFile {
            kind: describe(meta.file_type()),
            path,
        }),
        Err(_) => match std::fs::symlink_metadata(&path) {
            // A link whose target is missing.
            Ok(meta) if meta.file_type().is_symlink() => Err(NotARegularFile {
                kind: describe(meta.file_type()),
                path,
            }),
            // Absent (or unreadable): the wrapped store's error says which.
            _ => Ok(()),
        },
    }
}

/// The first entry under `root` (all levels when `recursive`, else its direct children) that
/// is neither a regular file nor a directory. Symbolic links are followed, as the wrapped
/// store's listing follows them. A missing `root` has no such entry.
fn first_irregular(root: PathBuf, recursive: bool) -> Option<NotARegularFile> {
    let walk = walkdir::WalkDir::new(root)
        .min_depth(1)
        .max_depth(if recursive { usize::MAX } else { 1 })
        .follow_links(true);
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            // A dangling link fails to resolve; anything else (a vanished directory, a loop)
            // is left to the wrapped store's listing to report.
            Err(err) => {
                let path = err.path().map(PathBuf::from)?;
                match std::fs::symlink_metadata(&path) {
                    Ok(meta)
                        if meta.file_type().is_symlink() && std::fs::metadata(&path).is_err() =>
                    {
                        return Some(NotARegularFile {
                            kind: describe(meta.file_type()),
                            path,
                        });
                    }
                    _ => continue,
                }
            }
        };
        let file_type = entry.file_type();
        if !file_type.is_file() && !file_type.is_dir() {
            return Some(NotARegularFile {
                kind: describe(file_type),
                path: entry.into_path(),
            });
        }
    }
    None
}

/// Paths unlinked by one blocking task of [`RegularFileStore::delete_stream`].
const DELETE_BATCH: usize = 256;
/// Batches of [`RegularFileStore::delete_stream`] unlinked at once.
const DELETE_BATCHES_AT_ONCE: usize = 4;

/// Unlinks each path in order; the result of each, as `LocalFileSystem::delete` reports it.
fn delete_batch(
    store: &LocalFileSystem,
    batch: Vec<object_store::Result<Path>>,
) -> Vec<object_store::Result<Path>> {
    batch
        .into_iter()
        .map(|location| {
            let location = location?;
            let path = filesystem_path(store, &location)?;
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(location),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    Err(object_store::Error::NotFound {
                        path: path.display().to_string(),
                        source: Box::new(err),
                    })
                }
                Err(err) => Err(object_store::Error::Generic {
                    store: STORE,
                    source: Box::new(std::io::Error::new(
                        err.kind(),
                        format!("deleting {}: {err}", path.display()),
                    )),
                }),
            }
        })
        .collect()
}

/// The file system path of `location`, as `store.path_to_filesystem` gives it. That goes
/// through a URL (percent-encoding each part, then decoding the whole); for a path of letters,
/// digits and `/._=-` alone, which neither step changes, it is the path itself under `/`,
/// without the round trip (a third of the time of deleting a file).
fn filesystem_path(store: &LocalFileSystem, location: &Path) -> object_store::Result<PathBuf> {
    let raw = location.as_ref();
    let plain = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'=' | b'-'));
    if plain {
        Ok(PathBuf::from(format!("/{raw}")))
    } else {
        store.path_to_filesystem(location)
    }
}

/// Runs a blocking file system check off the async threads when there is a runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> object_store::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|join| object_store::Error::Generic {
                store: STORE,
                source: Box::new(join),
            }),
        Err(_) => Ok(f()),
    }
}

/// `LocalFileSystem` serving regular files only; see the module documentation.
#[derive(Debug)]
pub struct RegularFileStore {
    inner: LocalFileSystem,
}

impl RegularFileStore {
    /// The local file system, with object paths taken as absolute file system paths.
    pub fn new() -> Self {
        Self {
            inner: LocalFileSystem::new(),
        }
    }

    /// Fails if `location` names an entry that is not a regular file or a directory.
    async fn check(&self, location: &Path) -> object_store::Result<()> {
        let path = self.inner.path_to_filesystem(location)?;
        blocking(move || check_path(path))
            .await?
            .map_err(NotARegularFile::into_store_error)
    }

    /// Fails if an entry under `prefix` is not a regular file or a directory.
    async fn check_listing(
        root: object_store::Result<PathBuf>,
        recursive: bool,
    ) -> object_store::Result<()> {
        let root = root?;
        match blocking(move || first_irregular(root, recursive)).await? {
            None => Ok(()),
            Some(irregular) => Err(irregular.into_store_error()),
        }
    }

    fn listing_root(&self, prefix: Option<&Path>) -> object_store::Result<PathBuf> {
        self.inner
            .path_to_filesystem(prefix.unwrap_or(&Path::default()))
    }

    /// `inner`, after the check of the entries under `prefix`.
    fn checked_stream(
        &self,
        prefix: Option<&Path>,
        inner: BoxStream<'static, object_store::Result<ObjectMeta>>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let check = Self::check_listing(self.listing_root(prefix), true);
        futures::stream::once(async move { check.await.map(|()| inner) })
            .try_flatten()
            .boxed()
    }
}

impl Default for RegularFileStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RegularFileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegularFileStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for RegularFileStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(location).await?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(location).await?;
        self.inner.get_ranges(location, ranges).await
    }

    /// Deletes in batches: each batch of paths ready on the stream (up to 256) is unlinked
    /// in order on one blocking thread, a few batches at once.
    /// `LocalFileSystem` sends every path to a blocking thread of its own; for a vacuum of
    /// 90,000 files the thread hand-offs, not the unlinks, were most of the time. Results
    /// come back in the order of the paths, a missing file as `NotFound`, as before.
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let inner = self.inner.clone();
        locations
            .ready_chunks(DELETE_BATCH)
            .map(move |batch| {
                let inner = inner.clone();
                async move {
                    match blocking(move || delete_batch(&inner, batch)).await {
                        Ok(results) => results,
                        Err(lost) => vec![Err(lost)],
                    }
                }
            })
            .buffered(DELETE_BATCHES_AT_ONCE)
            .flat_map(futures::stream::iter)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let inner = self.inner.list(prefix);
        self.checked_stream(prefix, inner)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let inner = self.inner.list_with_offset(prefix, offset);
        self.checked_stream(prefix, inner)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        Self::check_listing(self.listing_root(prefix), false).await?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use object_store::ObjectStoreExt;

    use super::*;

    fn object_path(path: &std::path::Path) -> Path {
        Path::from_absolute_path(path).unwrap()
    }

    fn mkfifo(path: &std::path::Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn plain_paths_map_to_the_file_system_as_the_store_maps_them() {
        let store = LocalFileSystem::new();
        for raw in [
            "tmp/t/day=2026-01-01/part-00000-0a1b-c000.zstd.parquet",
            "tmp/t/_delta_log/00000000000000000001.json",
            "a",
            "tmp/t/day=50%25/x.parquet",
            "tmp/t/day=with space/Zürich ☃.parquet",
            "tmp/t/odd[name]{1}^`|\"<>.parquet",
            "tmp/t/a%3Ab/x.parquet",
        ] {
            let location = Path::parse(raw).unwrap();
            assert_eq!(
                filesystem_path(&store, &location).unwrap(),
                store.path_to_filesystem(&location).unwrap(),
                "{raw}"
            );
        }
        // What the store refuses, it still refuses.
        let fragment = Path::parse("tmp/t/part-1.parquet#12").unwrap();
        assert!(filesystem_path(&store, &fragment).is_err());
    }

    #[tokio::test]
    async fn deleting_many_files_reports_each_in_order_and_missing_ones_as_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = RegularFileStore::new();
        // Several batches' worth, with files missing at the start, across a batch boundary
        // and at the end.
        let count = DELETE_BATCH * 3 + 17;
        let missing = [0, DELETE_BATCH - 1, DELETE_BATCH, count - 1];
        let mut locations = Vec::new();
        for i in 0..count {
            let path = dir.path().join(format!("part-{i:05}.parquet"));
            if !missing.contains(&i) {
                std::fs::write(&path, b"x").unwrap();
            }
            locations.push(object_path(&path));
        }
        let keep = dir.path().join("keep.parquet");
        std::fs::write(&keep, b"x").unwrap();
        let input = futures::stream::iter(locations.clone().into_iter().map(Ok)).boxed();
        let results: Vec<_> = store.delete_stream(input).collect().await;
        assert_eq!(results.len(), count);
        for (i, (result, location)) in results.iter().zip(&locations).enumerate() {
            match result {
                Ok(deleted) => {
                    assert!(
                        !missing.contains(&i),
                        "{i} was missing yet reported deleted"
                    );
                    assert_eq!(deleted, location);
                }
                Err(object_store::Error::NotFound { path, .. }) => {
                    assert!(missing.contains(&i), "{i}: {path}");
                    assert!(path.ends_with(&format!("part-{i:05}.parquet")), "{path}");
                }
                Err(other) => panic!("{i}: {other}"),
            }
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only keep.parquet stays");
        assert!(keep.exists());
        // An error in the input stream comes back in its place.
        let input = futures::stream::iter([
            Err(object_store::Error::Precondition {
                path: "input".to_owned(),
                source: "refused upstream".into(),
            }),
            Ok(object_path(&keep)),
        ])
        .boxed();
        let results: Vec<_> = store.delete_stream(input).collect().await;
        assert!(matches!(
            &results[0],
            Err(object_store::Error::Precondition { path, .. }) if path == "input"
        ));
        assert!(results[1].is_ok());
        assert!(!keep.exists());
    }

    #[tokio::test]
    async fn a_fifo_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("00000000000000000001.json");
        mkfifo(&fifo);
        let store = RegularFileStore::new();
        let location = object_path(&fifo);
        for result in [
            store.get(&location).await.map(|_| ()),
            store.get_range(&location, 0..4).await.map(|_| ()),
            store.head(&location).await.map(|_| ()),
        ] {
            let err = result.unwrap_err();
            let found = NotARegularFile::find(&err).expect("a NotARegularFile error");
            assert_eq!(found.kind, "a FIFO");
            assert_eq!(found.path, fifo);
        }
    }

    #[tokio::test]
    async fn links_to_devices_and_dangling_links_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let dangling = dir.path().join("gone.json");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        let store = RegularFileStore::new();
        let err = store.get(&object_path(&zero)).await.unwrap_err();
        assert_eq!(
            NotARegularFile::find(&err).unwrap().kind,
            "a character device"
        );
        let err = store.get(&object_path(&dangling)).await.unwrap_err();
        assert_eq!(
            NotARegularFile::find(&err).unwrap().kind,
            "a dangling symbolic link"
        );
    }

    #[tokio::test]
    async fn listings_report_what_they_would_have_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("_delta_log");
        std::fs::create_dir(&log).unwrap();
        std::fs::write(log.join("00000000000000000000.json"), b"{}").unwrap();
        let store = RegularFileStore::new();
        let prefix = object_path(&log);
        let listed: Vec<ObjectMeta> = store.list(Some(&prefix)).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(store.list_with_delimiter(Some(&prefix)).await.is_ok());

        mkfifo(&log.join("00000000000000000001.json"));
        let err = store
            .list(Some(&prefix))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(NotARegularFile::find(&err).unwrap().kind, "a FIFO");
        let offset = prefix.clone().join("00000000000000000000.json");
        let err = store
            .list_with_offset(Some(&prefix), &offset)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(NotARegularFile::find(&err).is_some());
        let err = store.list_with_delimiter(Some(&prefix)).await.unwrap_err();
        assert!(NotARegularFile::find(&err).is_some());
    }

    #[tokio::test]
    async fn regular_files_read_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        std::fs::write(&file, b"hello").unwrap();
        let store = RegularFileStore::new();
        let location = object_path(&file);
        let bytes = store.get(&location).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], b"hello");
        assert!(matches!(
            store.get(&object_path(&dir.path().join("missing"))).await,
            Err(object_store::Error::NotFound { .. })
        ));
    }
}
