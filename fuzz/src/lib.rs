//! What the fuzz targets share: a runtime for the async log readers and tables in a fresh
//! in-memory store.
//!
//! Every target must only ever see errors, never a panic, an abort or a stack overflow;
//! libFuzzer turns a panic anywhere (also on a runtime or parser thread) into a crash.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tarn::log::TableLocation;
use url::Url;

/// A single-threaded runtime, built once: building one per input would cost more than most
/// inputs take to read.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
    })
}

/// A table at `memory:///table` in a store of its own holding `files` (paths relative to the
/// table root). The store is dropped with the location, so nothing accumulates across inputs.
pub fn memory_table(files: &[(&str, &[u8])]) -> Arc<TableLocation> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let root = Path::from("table");
    runtime().block_on(async {
        for (relative, bytes) in files {
            let path = Path::from(format!("table/{relative}"));
            store
                .put(&path, Bytes::copy_from_slice(bytes).into())
                .await
                .unwrap_or_else(|e| panic!("in-memory put of {path} failed: {e}"));
        }
    });
    let url = Url::parse("memory:///table").unwrap_or_else(|e| panic!("bad table url: {e}"));
    Arc::new(TableLocation::from_store(url, store, root))
}
