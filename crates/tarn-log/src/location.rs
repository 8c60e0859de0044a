//! Table locations: from a URI (and options) to an object store and the table's root in it.
//!
//! Supported forms: a local path (absolute or relative), `file://`, `memory://`, `s3://` (and
//! `s3a://`), `gs://`, `az://`, `abfs://` and `abfss://`. Cloud stores are configured the way
//! object_store's builders read the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`), then
//! overridden by an explicit options map whose keys are the builders' config keys
//! (`aws_endpoint`, `allow_http`, `google_service_account`, `azure_storage_account_name`, ...).
//!
//! This module never guesses credentials: what object_store's builder does with the
//! configuration it is given is the whole story. Tests must pass explicit dummy credentials so
//! that no builder falls back to the cloud instance-metadata endpoint.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::memory::InMemory;
use object_store::path::Path;
use tarn_protocol::log_path::{LOG_DIR, Version, commit_file_name};
use url::Url;

use crate::error::{LogError, LogResult};
use crate::local_store::RegularFileStore;

/// Where a table lives: the object store holding it and the table's root path in that store.
#[derive(Clone)]
pub struct TableLocation {
    url: Url,
    store: Arc<dyn ObjectStore>,
    root: Path,
}

impl fmt::Debug for TableLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableLocation")
            .field("url", &self.url.as_str())
            .field("root", &self.root.as_ref())
            .finish()
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

/// In-process `memory://` stores, keyed by their host, so that every `Table::open` of the same
/// `memory://name/...` URI in a process sees the same objects.
fn memory_stores() -> &'static Mutex<HashMap<String, Arc<InMemory>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

impl TableLocation {
    /// Resolves a table URI with configuration from the environment only.
    pub fn parse(uri: &str) -> LogResult<Self> {
        Self::parse_with_options(uri, &BTreeMap::new())
    }

    /// Resolves a table URI, with explicit store options taking precedence over the
    /// environment. An option key the store does not understand is an error.
    pub fn parse_with_options(uri: &str, options: &BTreeMap<String, String>) -> LogResult<Self> {
        let url = parse_table_url(uri)?;
        let invalid = |reason: String| LogError::InvalidUri {
            uri: redact_uri(uri),
            reason,
        };
        let config_error = |source| LogError::StoreConfig {
            uri: redact_uri(uri),
            source,
        };
        let unknown = |key: &str| LogError::UnknownOption {
            uri: redact_uri(uri),
            key: key.to_owned(),
        };
        let object_root =
            || Path::from_url_path(url.path()).map_err(|e| invalid(format!("bad path: {e}")));
        let (store, root): (Arc<dyn ObjectStore>, Path) = match url.scheme() {
            "file" => {
                if let Some(key) = options.keys().next() {
                    return Err(unknown(key));
                }
                let path = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local file path".to_owned()))?;
                let root = Path::from_absolute_path(&path)
                    .map_err(|e| invalid(format!("bad local path: {e}")))?;
                (Arc::new(RegularFileStore::new()), root)
            }
            "memory" => {
                if let Some(key) = options.keys().next() {
                    return Err(unknown(key));
                }
                let host = url.host_str().unwrap_or_default().to_owned();
                let store = {
                    let mut stores = memory_stores()
                        .lock()
                        .map_err(|_| invalid("memory store registry poisoned".to_owned()))?;
                    Arc::clone(
                        stores
                            .entry(host)
                            .or_insert_with(|| Arc::new(InMemory::new())),
                    )
                };
                (store, object_root()?)
            }
            "s3" | "s3a" => {
                let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
                for (key, value) in options {
                    let key: AmazonS3ConfigKey = key.parse().map_err(|_| unknown(key))?;
                    builder = builder.with_config(key, value);
                }
                (
                    Arc::new(builder.build().map_err(config_error)?),
                    object_root()?,
                )
            }
            "gs" => {
                let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
                for (key, value) in options {
                    let key: GoogleConfigKey = key.parse().map_err(|_| unknown(key))?;
                    builder = builder.with_config(key, value);
                }
                (
                    Arc::new(builder.build().map_err(config_error)?),
                    object_root()?,
                )
            }
            "az" | "azure" | "abfs" | "abfss" | "adl" => {
                let mut builder = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
                for (key, value) in options {
                    let key: AzureConfigKey = key.parse().map_err(|_| unknown(key))?;
                    builder = builder.with_config(key, value);
                }
                (
                    Arc::new(builder.build().map_err(config_error)?),
                    object_root()?,
                )
            }
            other => {
                return Err(invalid(format!(
                    "unsupported scheme {other:?} (supported: local paths, file, memory, s3, gs, az, abfss)"
                )));
            }
        };
        Ok(Self { url, store, root })
    }

    /// Builds a location from an existing store and a root path in it (for embedding tarn
    /// over a custom or wrapped store, e.g. in tests that inject faults).
    pub fn from_store(url: Url, store: Arc<dyn ObjectStore>, root: Path) -> Self {
        Self { url, store, root }
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
    /// (a data file path from the log after percent-decoding).
    ///
    /// Every store, the local filesystem included, uses a path's segments as the literal
    /// object (or file) name, so the segments are joined as they are: the object read is the
    /// one whose name is the decoded segment, which is what Spark and other writers created.
    /// Only a segment object_store cannot represent literally (`.`, `..`, control characters)
    /// is escaped instead.
    pub fn child_path(&self, relative: &str) -> Path {
        let segments = relative.split('/').filter(|segment| !segment.is_empty());
        let mut joined = self.root.as_ref().to_owned();
        for segment in segments.clone() {
            if !joined.is_empty() {
                joined.push('/');
            }
            joined.push_str(segment);
        }
        Path::parse(&joined).unwrap_or_else(|_| {
            segments.fold(self.root.clone(), |path, segment| path.join(segment))
        })
    }
}

/// Parses a user-given table URI into a URL; local paths become absolute `file://` URLs.
fn parse_table_url(uri: &str) -> LogResult<Url> {
    let invalid = |reason: String| LogError::InvalidUri {
        uri: redact_uri(uri),
        reason,
    };
    if uri.trim().is_empty() {
        return Err(invalid("empty URI".to_owned()));
    }
    let looks_like_url = uri.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
    });
    let mut url = if looks_like_url {
        Url::parse(uri).map_err(|e| invalid(e.to_string()))?
    } else {
        let path = std::path::absolute(uri).map_err(|e| invalid(e.to_string()))?;
        Url::from_directory_path(&path)
            .map_err(|()| invalid("cannot express the path as a URL".to_owned()))?
    };
    // A table is a directory: normalise away a trailing slash so paths join cleanly.
    if url.path().len() > 1 && url.path().ends_with('/') {
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

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
