//! Table locations: from a URI (and options) to an object store and the table's root in it,
//! with the locations registered beside it.
//!
//! Supported forms: a local path (absolute or relative), `file://`, `memory://`, `s3://` (and
//! `s3a://`), `gs://`, `az://`, `abfs://` and `abfss://`. How a URI and its options become a
//! store is [`crate::stores`]' job; this module keeps the result, the table's root, and the
//! table's store registry ([`StoreRegistry`]) through which every path its log names is
//! resolved ([`crate::stores::PathResolver`]).
//!
//! This module never guesses credentials: what object_store's builder does with the
//! configuration it is given is the whole story. Tests must pass explicit dummy credentials so
//! that no builder falls back to the cloud instance-metadata endpoint.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::path::Path;
use tarn_protocol::log_path::{LOG_DIR, Version, commit_file_name};
use tarn_protocol::store_location::{StoreKey, StoreLocation};
use url::Url;

use crate::error::LogResult;
use crate::stores::build::{build_store, parse_location_url};
use crate::stores::{DeclaredLocations, StoreRegistry, VerifiedStore};

/// Where a table lives: the object store holding it and the table's root path in that store.
///
/// It also carries what decides which other files the table's log may name: the table's
/// [`StoreRegistry`], whether the locations the table itself declares are trusted
/// ([`DeclaredLocations`]), and the table's storage options, with which the stores of
/// declared locations are built.
#[derive(Clone)]
pub struct TableLocation {
    url: Url,
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The root as a normalised location, for deciding what is inside the table.
    root_location: StoreLocation,
    stores: Arc<StoreRegistry>,
    declared: DeclaredLocations,
    /// The table's own storage options (secrets among them: never shown).
    options: Arc<BTreeMap<String, String>>,
    /// Stores built for locations the table declares, by store; shared by clones.
    declared_stores: Arc<Mutex<HashMap<StoreKey, Arc<dyn ObjectStore>>>>,
}

impl fmt::Debug for TableLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableLocation")
            .field("url", &redact_uri(self.url.as_str()))
            .field("root", &self.root.as_ref())
            .field("stores", &self.stores)
            .field("declared", &self.declared)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for TableLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.url.scheme() == "file" {
            match self.url.to_file_path() {
                Ok(path) => write!(f, "{}", path.display()),
                Err(()) => f.write_str(self.url.as_str()),
            }
        } else {
            f.write_str(&redact_uri(self.url.as_str()))
        }
    }
}

/// A URI as it may be shown: a password in it (`s3://key:secret@bucket`) and the values of its
/// query (`?sv=...&sig=...`, an Azure SAS token) replaced by `***`. Text that is not a URL is
/// returned as it is. Every error and message tarn makes about a table URI shows it this way.
pub fn redact_uri(uri: &str) -> String {
    let Ok(mut url) = Url::parse(uri) else {
        return uri.to_owned();
    };
    // Nothing to hide: the text as given, not as the URL parser would rewrite it (it removes
    // `..` segments, which an error about a path must show as written).
    if url.password().is_none() && url.query().is_none() {
        return uri.to_owned();
    }
    if url.password().is_some() {
        let _unchanged_on_error = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(key, _)| key.into_owned()).collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|key| (key.as_str(), "***")));
    }
    url.to_string()
}

impl TableLocation {
    /// Resolves a table URI with configuration from the environment only.
    pub fn parse(uri: &str) -> LogResult<Self> {
        Self::parse_with_options(uri, &BTreeMap::new())
    }

    /// Resolves a table URI, with explicit store options taking precedence over the
    /// environment. An option key the store does not understand is an error.
    pub fn parse_with_options(uri: &str, options: &BTreeMap<String, String>) -> LogResult<Self> {
        let url = parse_location_url(uri)?;
        let (store, root) = build_store(uri, &url, options)?;
        let mut location = Self::from_verified_store(url, store, root);
        location.options = Arc::new(options.clone());
        Ok(location)
    }

    /// Builds a location from an existing store and a root path in it (for embedding tarn
    /// over a custom or wrapped store, e.g. in tests that inject faults).
    ///
    /// `url` says where the table is (it decides which absolute paths in the log are inside
    /// the table); `root` is that place as a path in `store`. No other location is
    /// registered; locations the table declares are trusted and built without options.
    ///
    /// Every read through `store` is checked for length ([`VerifiedStore`]).
    pub fn from_store(url: Url, store: Arc<dyn ObjectStore>, root: Path) -> Self {
        Self::from_verified_store(url, VerifiedStore::wrap(store), root)
    }

    /// [`TableLocation::from_store`] for a store already wrapped in [`VerifiedStore`].
    fn from_verified_store(url: Url, store: Arc<dyn ObjectStore>, root: Path) -> Self {
        Self {
            root_location: StoreLocation::of_url(&url),
            url,
            store,
            root,
            stores: Arc::new(StoreRegistry::new()),
            declared: DeclaredLocations::default(),
            options: Arc::new(BTreeMap::new()),
            declared_stores: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// This location with `stores` as the locations registered beside the table (replacing
    /// any registered before). The table's root is always a location of its own.
    pub fn with_stores(mut self, stores: StoreRegistry) -> Self {
        self.stores = Arc::new(stores);
        self
    }

    /// This location with locations the table declares (`tarn.archive`) trusted or refused.
    /// Refuse them for a table from a source you do not trust: its log could otherwise name
    /// any file under a location it declares itself.
    pub fn with_declared_locations(mut self, declared: DeclaredLocations) -> Self {
        self.declared = declared;
        self
    }

    /// The locations registered beside the table.
    pub fn stores(&self) -> &StoreRegistry {
        &self.stores
    }

    /// Whether locations the table declares are trusted.
    pub fn declared_locations(&self) -> DeclaredLocations {
        self.declared
    }

    /// The table's root as a normalised location.
    pub fn root_location(&self) -> &StoreLocation {
        &self.root_location
    }

    /// The store for a location the table declares: built once per store (bucket,
    /// container, host) with the table's own storage options, then shared by every path on it.
    pub(crate) fn declared_store(&self, prefix: &StoreLocation) -> LogResult<Arc<dyn ObjectStore>> {
        let key = prefix.store().clone();
        if let Ok(stores) = self.declared_stores.lock()
            && let Some(store) = stores.get(&key)
        {
            return Ok(Arc::clone(store));
        }
        let uri = prefix.to_uri();
        let url = parse_location_url(&uri)?;
        let (store, _) = build_store(&uri, &url, &self.options)?;
        if let Ok(mut stores) = self.declared_stores.lock() {
            stores.insert(key, Arc::clone(&store));
        }
        Ok(store)
    }

    /// The table URL (a `file://` URL for local paths).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The object store holding the table.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The table's root path inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of the `_delta_log` directory.
    pub fn log_dir(&self) -> Path {
        self.root.clone().join(LOG_DIR)
    }

    /// Path of a file directly under `_delta_log`.
    pub fn log_file(&self, file_name: &str) -> Path {
        self.log_dir().join(file_name)
    }

    /// Path of the commit file of a version.
    pub fn commit_file(&self, version: Version) -> Path {
        self.log_file(&commit_file_name(version))
    }

    /// An object path as an operator would write it: an absolute local path for `file://`
    /// tables, a full URI otherwise. Used in error messages.
    pub fn display_path(&self, path: &Path) -> String {
        match self.url.scheme() {
            "file" => format!("/{path}"),
            scheme => match self.url.host_str() {
                Some(host) => format!("{scheme}://{host}/{path}"),
                None => format!("{scheme}:///{path}"),
            },
        }
    }

    /// After deleting objects of a local table (the files of a write that did not commit):
    /// removes the directories they leave empty, from each one's directory up to, never
    /// including, the table root. Object stores have no directories; for them this does
    /// nothing. A directory another writer has just put a file in is not empty and stays.
    pub fn remove_empty_directories<'a>(&self, deleted: impl IntoIterator<Item = &'a Path>) {
        if self.url.scheme() != "file" {
            return;
        }
        let root = std::path::PathBuf::from(format!("/{}", self.root));
        let mut seen = std::collections::BTreeSet::new();
        for path in deleted {
            let mut dir = std::path::PathBuf::from(format!("/{path}"));
            while dir.pop() && dir.starts_with(&root) && dir != root {
                if !seen.insert(dir.clone()) || std::fs::remove_dir(&dir).is_err() {
                    break;
                }
            }
        }
    }

    /// Path of an object relative to the table root, given as decoded `/`-separated segments
    /// (a data file path from the log after percent-decoding). Empty segments are skipped.
    ///
    /// Every store, the local filesystem included, uses a path's segments as the literal
    /// object (or file) name, so the segments are joined as they are: the object read is the
    /// one whose name is the decoded segment, which is what Spark and other writers created.
    /// Only a segment object_store cannot represent literally (`.`, `..`, control characters)
    /// is escaped instead. This joins; it does not decide what may be opened: paths from a log
    /// go through [`crate::stores::PathResolver`], which refuses `..`.
    pub fn child_path(&self, relative: &str) -> Path {
        join_segments(&self.root, relative.split('/'))
    }
}

/// `base` joined with the non-empty `segments`, each taken literally where object_store can
/// represent it and escaped where it cannot (see [`TableLocation::child_path`]).
pub(crate) fn join_segments<'a>(
    base: &Path,
    segments: impl Iterator<Item = &'a str> + Clone,
) -> Path {
    let segments = segments.filter(|segment| !segment.is_empty());
    let mut joined = base.as_ref().to_owned();
    for segment in segments.clone() {
        if !joined.is_empty() {
            joined.push('/');
        }
        joined.push_str(segment);
    }
    Path::parse(&joined)
        .unwrap_or_else(|_| segments.fold(base.clone(), |path, segment| path.join(segment)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LogError;

    #[test]
    fn local_paths_become_file_urls() {
        let loc = TableLocation::parse("/tmp/some/table/").unwrap();
        assert_eq!(loc.url().as_str(), "file:///tmp/some/table");
        assert_eq!(loc.root().as_ref(), "tmp/some/table");
        assert_eq!(
            loc.commit_file(3).as_ref(),
            "tmp/some/table/_delta_log/00000000000000000003.json"
        );
        assert_eq!(loc.to_string(), "/tmp/some/table");
    }

    #[test]
    fn relative_paths_resolve_against_cwd() {
        let loc = TableLocation::parse("rel/table").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert!(loc.url().path().starts_with(cwd.to_str().unwrap()));
    }

    #[test]
    fn memory_urls_share_a_store_per_host() {
        let a = TableLocation::parse("memory://shared-test/t1").unwrap();
        let b = TableLocation::parse("memory://shared-test/t2").unwrap();
        assert!(Arc::ptr_eq(a.store(), b.store()));
        assert_eq!(a.root().as_ref(), "t1");
    }

    #[test]
    fn s3_with_explicit_options() {
        let options = BTreeMap::from([
            ("aws_access_key_id".to_owned(), "test".to_owned()),
            ("aws_secret_access_key".to_owned(), "test".to_owned()),
            ("aws_region".to_owned(), "us-east-1".to_owned()),
            ("aws_endpoint".to_owned(), "http://127.0.0.1:1".to_owned()),
            ("allow_http".to_owned(), "true".to_owned()),
        ]);
        let loc = TableLocation::parse_with_options("s3://bucket/prefix/table", &options).unwrap();
        assert_eq!(loc.root().as_ref(), "prefix/table");
    }

    #[test]
    fn uris_are_shown_without_their_secrets() {
        assert_eq!(
            redact_uri("s3://AKIA:SECRET@bucket/t"),
            "s3://AKIA:***@bucket/t"
        );
        assert_eq!(
            redact_uri("az://container/t?sv=2020-01-01&sig=SECRET%2Fx"),
            "az://container/t?sv=***&sig=***"
        );
        assert_eq!(redact_uri("/local/path?not=a&url"), "/local/path?not=a&url");
        let err = TableLocation::parse("https://acct.blob.core.windows.net/c/t?sig=SECRET")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        let options = BTreeMap::from([("azure_storage_account_name".to_owned(), "a".to_owned())]);
        if let Ok(location) = TableLocation::parse_with_options("az://c/t?sig=SECRET", &options) {
            assert!(!location.to_string().contains("SECRET"));
        }
    }

    #[test]
    fn unknown_option_is_named() {
        let options = BTreeMap::from([("no_such_option".to_owned(), "x".to_owned())]);
        match TableLocation::parse_with_options("s3://bucket/t", &options) {
            Err(LogError::UnknownOption { key, .. }) => assert_eq!(key, "no_such_option"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unsupported_scheme_is_an_error() {
        assert!(matches!(
            TableLocation::parse("ftp://host/table"),
            Err(LogError::InvalidUri { .. })
        ));
    }

    #[test]
    fn child_paths_join_segments() {
        let loc = TableLocation::parse("memory://child-test/t").unwrap();
        assert_eq!(
            loc.child_path("a=1/b=x%3Ay/part-0.parquet").as_ref(),
            "t/a=1/b=x%3Ay/part-0.parquet"
        );
        let local = TableLocation::parse("/tmp/t").unwrap();
        assert_eq!(
            local.child_path("a=1/b=x%3Ay/part-0.parquet").as_ref(),
            "tmp/t/a=1/b=x%3Ay/part-0.parquet"
        );
    }
}
