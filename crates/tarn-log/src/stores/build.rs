//! Building an object store for a URI and its options: the one place that turns
//! configuration into a client, used for a table's own store ([`crate::TableLocation`]) and
//! for every location registered beside it ([`super::StoreRegistry`]).
//!
//! Cloud stores are configured the way object_store's builders read the environment (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`), then overridden by an explicit options map whose keys are the
//! builders' config keys (`aws_endpoint`, `allow_http`, `google_service_account`,
//! `azure_storage_account_name`, ...). This never guesses credentials: what object_store's
//! builder does with the configuration it is given is the whole story. Building a store does
//! no I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::memory::InMemory;
use object_store::path::Path;
use url::Url;

use crate::error::{LogError, LogResult};
use crate::local_store::RegularFileStore;
use crate::location::redact_uri;
use crate::stores::VerifiedStore;

/// In-process `memory://` stores, keyed by their host, so that every use of the same
/// `memory://name/...` URI in a process sees the same objects.
fn memory_stores() -> &'static Mutex<HashMap<String, Arc<dyn ObjectStore>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The store serving `url` (as [`parse_location_url`] made it), its reads checked for
/// length ([`VerifiedStore`]), and the URL's path in it.
/// `uri` is the text the caller gave, for errors. An option key the store does not
/// understand is an error; local and memory stores take no options.
pub(crate) fn build_store(
    uri: &str,
    url: &Url,
    options: &BTreeMap<String, String>,
) -> LogResult<(Arc<dyn ObjectStore>, Path)> {
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
    match url.scheme() {
        "file" => {
            if let Some(key) = options.keys().next() {
                return Err(unknown(key));
            }
            let path = url
                .to_file_path()
                .map_err(|()| invalid("not a local file path".to_owned()))?;
            let root = Path::from_absolute_path(&path)
                .map_err(|e| invalid(format!("bad local path: {e}")))?;
            Ok((VerifiedStore::wrap(Arc::new(RegularFileStore::new())), root))
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
                        .or_insert_with(|| VerifiedStore::wrap(Arc::new(InMemory::new()))),
                )
            };
            Ok((store, object_root()?))
        }
        "s3" | "s3a" => {
            let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let key: AmazonS3ConfigKey = key.parse().map_err(|_| unknown(key))?;
                builder = builder.with_config(key, value);
            }
            Ok((
                VerifiedStore::wrap(Arc::new(builder.build().map_err(config_error)?)),
                object_root()?,
            ))
        }
        "gs" => {
            let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let key: GoogleConfigKey = key.parse().map_err(|_| unknown(key))?;
                builder = builder.with_config(key, value);
            }
            Ok((
                VerifiedStore::wrap(Arc::new(builder.build().map_err(config_error)?)),
                object_root()?,
            ))
        }
        "az" | "azure" | "abfs" | "abfss" | "adl" => {
            let mut builder = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let key: AzureConfigKey = key.parse().map_err(|_| unknown(key))?;
                builder = builder.with_config(key, value);
            }
            Ok((
                VerifiedStore::wrap(Arc::new(builder.build().map_err(config_error)?)),
                object_root()?,
            ))
        }
        other => Err(invalid(format!(
            "unsupported scheme {other:?} (supported: local paths, file, memory, s3, gs, az, abfss)"
        ))),
    }
}

/// Parses a user-given table or location URI into a URL; local paths become absolute
/// `file://` URLs. A trailing slash is dropped: a location is a directory.
pub(crate) fn parse_location_url(uri: &str) -> LogResult<Url> {
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
    if url.path().len() > 1 && url.path().ends_with('/') {
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
    }
    Ok(url)
}
