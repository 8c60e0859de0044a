//! A store that records the path of every request made through it, wrapped around a real
//! store, so that a test can assert what was — and what was never — asked for.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// See the module documentation.
#[derive(Debug)]
pub struct RecordingStore {
    inner: Arc<dyn ObjectStore>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl fmt::Display for RecordingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordingStore({})", self.inner)
    }
}

impl RecordingStore {
    /// Records requests made to `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            requests: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Every path (or listing prefix) asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Asserts that every request was for a path under `root` (an object path, no leading
    /// `/`), and that there was at least one.
    #[track_caller]
    pub fn assert_all_under(&self, root: &str) {
        let requests = self.requests();
        assert!(!requests.is_empty(), "no request was recorded");
        let outside: Vec<&String> = requests
            .iter()
            .filter(|path| !(path.as_str() == root || path.starts_with(&format!("{root}/"))))
            .collect();
        assert!(
            outside.is_empty(),
            "requests outside {root}: {outside:?} (all: {requests:?})"
        );
    }

    fn record(&self, path: &Path) {
        self.requests.lock().unwrap().push(path.as_ref().to_owned());
    }
}

#[async_trait]
impl ObjectStore for RecordingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.record(location);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.record(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.record(location);
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.record(location);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let requests = Arc::clone(&self.requests);
        let recorded = locations
            .inspect(move |path| {
                if let Ok(path) = path {
                    requests.lock().unwrap().push(path.as_ref().to_owned());
                }
            })
            .boxed();
        self.inner.delete_stream(recorded)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.record(prefix.unwrap_or(&Path::ROOT));
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.record(prefix.unwrap_or(&Path::ROOT));
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.record(prefix.unwrap_or(&Path::ROOT));
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.record(from);
        self.record(to);
        self.inner.copy_opts(from, to, options).await
    }
}
