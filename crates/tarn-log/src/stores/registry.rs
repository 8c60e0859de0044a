//! [`StoreRegistry`]: URI prefixes and the object stores that serve them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use tarn_protocol::store_location::{StoreKey, StoreLocation};

use super::build::{build_store, parse_location_url};
use crate::error::LogResult;
use crate::location::redact_uri;

/// Locations besides a table's root under which its log may name files, each with the store
/// that serves it.
///
/// A prefix is a URI (`s3://archive-bucket/events/`, `gs://b/p`, `memory://name/p`) or a
/// local path (`/mnt/archive`); trailing slashes do not matter, and it covers the files below
/// it on whole path segments (`s3://b/arch` covers `s3://b/arch/x`, not `s3://b/archive2/x`).
/// When prefixes nest, the longest one that covers a path serves it. A store is addressed with
/// a file's full path in it (the object key, or the absolute local path), as the stores
/// object_store builds for a URI are.
///
/// ```
/// # fn example() -> tarn_log::LogResult<()> {
/// use std::collections::BTreeMap;
/// let mut stores = tarn_log::StoreRegistry::new();
/// let options = BTreeMap::from([("aws_region".to_owned(), "eu-west-1".to_owned())]);
/// stores.register("s3://archive-bucket/events/", &options)?;
/// let table = tarn_log::TableLocation::parse("s3://bucket/events")?.with_stores(stores);
/// # let _ = table;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct StoreRegistry {
    entries: Vec<Registered>,
}

/// One registered location.
#[derive(Clone)]
pub(crate) struct Registered {
    /// The prefix, normalised.
    pub(crate) prefix: StoreLocation,
    pub(crate) store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for StoreRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|entry| redact_uri(&entry.prefix.to_uri())),
            )
            .finish()
    }
}

impl StoreRegistry {
    /// An empty registry: only the table's root will be readable.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `prefix` with a store built from `options` (object_store config keys, over
    /// the environment), exactly as a table at that URI would be opened. Registering a prefix
    /// again replaces it.
    ///
    /// Errors: the prefix is not a valid URI or path (`InvalidUri`), an option the store does
    /// not understand (`UnknownOption`), or the store cannot be configured (`StoreConfig`).
    /// Building a store does no I/O.
    pub fn register(&mut self, prefix: &str, options: &BTreeMap<String, String>) -> LogResult<()> {
        let url = parse_location_url(prefix)?;
        let (store, _) = build_store(prefix, &url, options)?;
        self.insert(StoreLocation::of_url(&url), store);
        Ok(())
    }

    /// The location `prefix` names, normalised exactly as [`StoreRegistry::register`] takes
    /// it: a local path becomes absolute (`file://`), trailing slashes do not matter, and the
    /// path is decoded into segments. Errors (`InvalidUri`) as `register`. No I/O.
    pub fn normalize(prefix: &str) -> LogResult<StoreLocation> {
        let url = parse_location_url(prefix)?;
        Ok(StoreLocation::of_url(&url))
    }

    /// Registers `prefix` with a store the caller built (a custom store, or one wrapped to
    /// record or inject faults). The store is addressed with each file's full path, as in
    /// [`StoreRegistry`]; its reads are checked for length
    /// ([`VerifiedStore`](super::VerifiedStore)). Errors (`InvalidUri`) if the prefix is not a
    /// valid URI or path.
    pub fn register_store(&mut self, prefix: &str, store: Arc<dyn ObjectStore>) -> LogResult<()> {
        let url = parse_location_url(prefix)?;
        self.insert(
            StoreLocation::of_url(&url),
            super::VerifiedStore::wrap(store),
        );
        Ok(())
    }

    fn insert(&mut self, prefix: StoreLocation, store: Arc<dyn ObjectStore>) {
        self.entries.retain(|entry| entry.prefix != prefix);
        self.entries.push(Registered { prefix, store });
    }

    /// The registered prefixes, normalised, as URIs (credentials in them shown as `***`).
    pub fn prefixes(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|entry| redact_uri(&entry.prefix.to_uri()))
            .collect()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry whose prefix covers `location` (strictly: a file below it), the longest if
    /// several do.
    pub(crate) fn find(&self, location: &StoreLocation) -> Option<&Registered> {
        self.entries
            .iter()
            .filter(|entry| location.strip_prefix(&entry.prefix).is_some())
            .max_by_key(|entry| entry.prefix.segments().len())
    }

    /// Whether any location is registered on `store`.
    pub(crate) fn has_store(&self, store: &StoreKey) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.prefix.store() == store)
    }
}
