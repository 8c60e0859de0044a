//! The stores the suite runs against: each gives fresh table URIs and the storage options to
//! open them with, exactly as a user's program would (`Table::open_with_options`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use tarn::Table;

use crate::common::azure::{azure_container, azure_options};
use crate::common::gcs::{gcs_bucket, gcs_options, upload_dir};
use crate::common::s3::{s3_bucket, s3_options};
use crate::common::unique_name;

/// How a table written elsewhere gets into a store.
enum Upload {
    /// Through object_store, as tarn writes.
    ObjectStore,
    /// Through fake-gcs-server's JSON upload API (`common::gcs::upload_dir`), under this
    /// prefix of the bucket: the emulator cannot take object_store's writes.
    GcsJsonApi { prefix: &'static str },
}

/// One store under test: where its tables go and how to open them.
pub struct TestStore {
    /// `memory`, `local`, `s3`, `azure` or `gcs`, for messages.
    pub name: &'static str,
    /// The URI every table of this run goes under, without a trailing `/`.
    root: String,
    options: BTreeMap<String, String>,
    upload: Upload,
    /// The local store's directory, removed when the store is dropped.
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    fn new(name: &'static str, root: String, options: BTreeMap<String, String>) -> Self {
        Self {
            name,
            root,
            options,
            upload: Upload::ObjectStore,
            _dir: None,
        }
    }

    /// `memory://`: object_store's in-memory store, one per URL host in the process.
    pub fn memory() -> Self {
        Self::new(
            "memory",
            format!("memory://{}", unique_name("conformance")),
            BTreeMap::new(),
        )
    }

    /// A directory on local disk.
    pub fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap().to_owned();
        Self {
            _dir: Some(dir),
            ..Self::new("local", root, BTreeMap::new())
        }
    }

    /// S3 through the moto emulator (`common::s3`).
    pub fn s3() -> Self {
        Self::new(
            "s3",
            format!("s3://{}/conformance", s3_bucket()),
            s3_options(),
        )
    }

    /// Azure Blob through the azurite emulator (`common::azure`).
    pub fn azure() -> Self {
        Self::new(
            "azure",
            format!("az://{}/conformance", azure_container()),
            azure_options(),
        )
    }

    /// GCS through fake-gcs-server (`common::gcs`): reads only, tables uploaded through the
    /// emulator's JSON API.
    pub fn gcs() -> Self {
        Self {
            upload: Upload::GcsJsonApi {
                prefix: "conformance",
            },
            ..Self::new(
                "gcs",
                format!("gs://{}/conformance", gcs_bucket()),
                gcs_options(),
            )
        }
    }

    /// A URI no table of any run has used, for a table called `name`.
    pub fn table_uri(&self, name: &str) -> String {
        format!("{}/{}", self.root, unique_name(name))
    }

    /// The URI of a table at `path` below this store's root (for tables put there by other
    /// means, e.g. uploaded).
    pub fn uri_of(&self, path: &str) -> String {
        format!("{}/{path}", self.root)
    }

    /// Opens the table at `uri` with this store's options: a new handle, sharing nothing with
    /// the handles opened before (but the store itself, for `memory://`).
    pub async fn open(&self, uri: &str) -> Table {
        Table::open_with_options(uri, &self.options)
            .await
            .unwrap_or_else(|e| panic!("{}: open {uri}: {e}", self.name))
    }

    /// Copies every file under the local directory `dir` to `path` below this store's root
    /// (where [`TestStore::uri_of`] finds it); returns the number of objects.
    pub async fn upload_dir(&self, dir: &Path, path: &str) -> usize {
        match self.upload {
            Upload::GcsJsonApi { prefix } => upload_dir(dir, &format!("{prefix}/{path}")),
            Upload::ObjectStore => {
                let table = self.open(&self.uri_of(path)).await;
                let location = table.location();
                let mut count = 0;
                for entry in walkdir(dir) {
                    let relative = entry.strip_prefix(dir).unwrap().to_str().unwrap();
                    let object = ObjectPath::from(format!("{}/{relative}", location.root()));
                    let bytes = std::fs::read(&entry).unwrap();
                    location
                        .store()
                        .put(&object, PutPayload::from(bytes))
                        .await
                        .unwrap_or_else(|e| panic!("{}: put {object}: {e}", self.name));
                    count += 1;
                }
                count
            }
        }
    }
}

/// Every file under `dir`, recursively.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}
