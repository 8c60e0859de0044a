//! A store that holds one commit at the door: wrapped around a table's real store, it lets
//! everything through except, once armed, the next put-if-absent of a file in `_delta_log`
//! (a commit), which waits until the test releases it. A test arms the gate, starts an
//! operation on the gated table, waits until that operation has read its snapshot, written
//! its data files and reached its commit, lets another writer commit meanwhile, then
//! releases it: a race whose interleaving is certain, not hoped for.
//!
//! It also counts the data files (objects outside `_delta_log`) written through it, so that a
//! test of a failed write can check that files were written before the failure (and then
//! deleted).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tarn::{Table, TableLocation};
use tokio::sync::{Notify, Semaphore};

/// See the module documentation.
#[derive(Debug)]
pub struct GateStore {
    inner: Arc<dyn ObjectStore>,
    armed: AtomicBool,
    /// Signalled when a commit reaches the armed gate.
    reached: Notify,
    /// One permit lets the held commit through.
    release: Semaphore,
    /// Data files started (puts and multipart uploads outside `_delta_log`).
    data_files: AtomicU32,
}

impl fmt::Display for GateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GateStore({})", self.inner)
    }
}

impl GateStore {
    /// Arms the gate: the next commit waits at it.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Waits until a commit is held at the gate.
    pub async fn wait_reached(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(120), self.reached.notified())
            .await
            .expect("no commit reached the gate within two minutes");
    }

    /// Lets the held commit through.
    pub fn release(&self) {
        self.release.add_permits(1);
    }

    /// How many data files were started through this store.
    pub fn data_files_started(&self) -> u32 {
        self.data_files.load(Ordering::SeqCst)
    }
}

/// The table at `uri` (a local path) through a [`GateStore`] over its usual store.
pub fn gated_table(uri: &str) -> (Arc<GateStore>, Table) {
    let base = TableLocation::parse(uri).unwrap();
    let gate = Arc::new(GateStore {
        inner: Arc::clone(base.store()),
        armed: AtomicBool::new(false),
        reached: Notify::new(),
        release: Semaphore::new(0),
        data_files: AtomicU32::new(0),
    });
    let location = TableLocation::from_store(
        base.url().clone(),
        Arc::clone(&gate) as Arc<dyn ObjectStore>,
        base.root().clone(),
    );
    (gate, Table::from_location(location))
}

fn is_data(location: &Path) -> bool {
    !location.as_ref().contains("_delta_log/")
}

fn is_commit(location: &Path) -> bool {
    let text = location.as_ref();
    text.contains("_delta_log/") && text.ends_with(".json")
}

#[async_trait]
impl ObjectStore for GateStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if is_data(location) {
            self.data_files.fetch_add(1, Ordering::SeqCst);
        }
        if opts.mode == PutMode::Create
            && is_commit(location)
            && self.armed.swap(false, Ordering::SeqCst)
        {
            self.reached.notify_one();
            let permit = self.release.acquire().await.unwrap();
            permit.forget();
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if is_data(location) {
            self.data_files.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
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
}
