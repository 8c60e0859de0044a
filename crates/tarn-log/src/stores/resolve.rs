//! [`PathResolver`]: the one place a path named in a log becomes a store and an object path,
//! or an error that names it. See the [module rules](super).

use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;
use tarn_protocol::ProtocolError;
use tarn_protocol::archive_domain::{ARCHIVE_DOMAIN, ArchiveConfiguration};
use tarn_protocol::data_path::DataFilePath;
use tarn_protocol::log_path::Version;
use tarn_protocol::store_location::StoreLocation;

use crate::error::{LogError, LogResult};
use crate::location::{TableLocation, join_segments, redact_uri};

/// Whether the locations a table declares in its own log (the `tarn.archive` domain's
/// `locations`) count as registered for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeclaredLocations {
    /// They do, with the table's own storage options unless the caller registered the
    /// location itself: a tiered table reads without further configuration.
    #[default]
    Trust,
    /// They do not: a path under one is refused like a path under any unregistered
    /// location. For tables from sources you do not trust, whose log could declare any place.
    Refuse,
}

/// A file a log names, resolved: the store to open it with, its path in that store, and how
/// to name it to an operator.
#[derive(Clone)]
pub struct ResolvedPath {
    store: Arc<dyn ObjectStore>,
    path: Path,
    display: String,
    in_table: bool,
}

impl fmt::Debug for ResolvedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedPath")
            .field("store", &self.store.to_string())
            .field("path", &self.path.as_ref())
            .field("display", &self.display)
            .field("in_table", &self.in_table)
            .finish()
    }
}

impl ResolvedPath {
    /// The store that serves the file.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The file's path in [`ResolvedPath::store`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as an operator would name it: an absolute local path, or a URI.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Whether the file is under the table's root, in the table's own store.
    pub fn is_in_table(&self) -> bool {
        self.in_table
    }
}

/// The locations a table declares, as its snapshot read them.
#[derive(Debug, Clone)]
enum Declared {
    /// Declared locations are not consulted (none declared, or not trusted).
    None,
    Locations(Vec<StoreLocation>),
    /// The `tarn.archive` configuration does not parse: an error when it would be needed.
    Invalid {
        version: Version,
        reason: String,
    },
}

/// Resolves every path a table's log names: data files, deletion vector files, sidecars. Made
/// by a snapshot (`Snapshot::path_resolver`, which knows the locations the table declares) or
/// from a location alone ([`PathResolver::for_location`]). Resolving does no I/O.
#[derive(Debug, Clone)]
pub struct PathResolver {
    location: Arc<TableLocation>,
    declared: Declared,
}

impl PathResolver {
    /// A resolver for the table's root and its registered locations only (no declared ones).
    pub fn for_location(location: Arc<TableLocation>) -> Self {
        Self {
            location,
            declared: Declared::None,
        }
    }

    /// A resolver that also admits the locations the table declares in its `tarn.archive`
    /// domain configuration `archive` (as of `version`), if the location trusts them.
    pub fn with_archive_configuration(
        location: Arc<TableLocation>,
        version: Version,
        archive: Result<Option<ArchiveConfiguration>, ProtocolError>,
    ) -> Self {
        if location.declared_locations() == DeclaredLocations::Refuse {
            return Self::for_location(location);
        }
        let table_store = location.root_location().store().clone();
        let declared = match archive.and_then(|config| {
            config
                .map(|c| c.declared_locations(&table_store))
                .transpose()
        }) {
            Ok(Some(locations)) if !locations.is_empty() => Declared::Locations(locations),
            Ok(_) => Declared::None,
            Err(err) => Declared::Invalid {
                version,
                reason: match err {
                    ProtocolError::InvalidDomainMetadata { reason, .. } => reason,
                    other => other.to_string(),
                },
            },
        };
        Self { location, declared }
    }

    /// The table location this resolver works for.
    pub fn location(&self) -> &Arc<TableLocation> {
        &self.location
    }

    /// Resolves a path from the log (already parsed by [`DataFilePath::parse`]).
    ///
    /// Errors: `PathOutsideTable` for a relative path with a `..` segment (or naming no file)
    /// and for a place outside the table's root and every location; `UnregisteredStore` for
    /// a store no location is registered on; `InvalidMetadata` if the path would need the
    /// table's declared locations and their configuration does not parse; `StoreConfig` or
    /// `UnknownOption` if the store of a declared location cannot be built.
    pub fn resolve(&self, path: &DataFilePath) -> LogResult<ResolvedPath> {
        let table = &self.location;
        let uri = match path {
            DataFilePath::Relative(relative) => return self.resolve_relative(relative),
            DataFilePath::Absolute(uri) => uri,
        };
        let target = uri.location(table.root_location().store());
        if let Some(inside) = target.strip_prefix(table.root_location()) {
            return Ok(self.in_table(inside));
        }
        if let Some(entry) = table.stores().find(&target) {
            return Ok(elsewhere(Arc::clone(&entry.store), &target));
        }
        match &self.declared {
            Declared::None => {}
            Declared::Locations(locations) => {
                let covering = locations
                    .iter()
                    .filter(|prefix| target.strip_prefix(prefix).is_some())
                    .max_by_key(|prefix| prefix.segments().len());
                if let Some(prefix) = covering {
                    let store = table.declared_store(prefix)?;
                    return Ok(elsewhere(store, &target));
                }
            }
            Declared::Invalid { version, reason } => {
                return Err(LogError::InvalidMetadata {
                    location: table.to_string(),
                    version: *version,
                    source: Box::new(ProtocolError::InvalidDomainMetadata {
                        domain: ARCHIVE_DOMAIN.to_owned(),
                        reason: reason.clone(),
                    }),
                });
            }
        }
        Err(self.refusal(path.as_str(), &target))
    }

    /// Resolves a path that must be inside the table's root (a checkpoint sidecar): a
    /// registered or declared location does not count. Errors as [`PathResolver::resolve`].
    pub fn resolve_in_table(&self, path: &DataFilePath) -> LogResult<ResolvedPath> {
        match path {
            DataFilePath::Relative(relative) => self.resolve_relative(relative),
            DataFilePath::Absolute(uri) => {
                let table = &self.location;
                let target = uri.location(table.root_location().store());
                match target.strip_prefix(table.root_location()) {
                    Some(inside) => Ok(self.in_table(inside)),
                    None => Err(self.outside(uri.as_str())),
                }
            }
        }
    }

    /// A relative path: decoded segments under the root, `.` and empty ones skipped, `..`
    /// refused (never normalised away: a relative path has no business going up).
    fn resolve_relative(&self, relative: &str) -> LogResult<ResolvedPath> {
        let segments: Vec<&str> = relative
            .split('/')
            .filter(|segment| !segment.is_empty() && *segment != ".")
            .collect();
        if segments.is_empty() || segments.contains(&"..") {
            return Err(self.outside(relative));
        }
        let table = &self.location;
        let path = join_segments(table.root(), segments.iter().copied());
        Ok(ResolvedPath {
            store: Arc::clone(table.store()),
            display: table.display_path(&path),
            path,
            in_table: true,
        })
    }

    fn in_table(&self, inside: &[String]) -> ResolvedPath {
        let table = &self.location;
        let path = join_segments(table.root(), inside.iter().map(String::as_str));
        ResolvedPath {
            store: Arc::clone(table.store()),
            display: table.display_path(&path),
            path,
            in_table: true,
        }
    }

    /// Why `target` (named `as_written` in the log) is refused: outside every location on a
    /// store tarn knows for this table, or on a store nothing is registered on.
    fn refusal(&self, as_written: &str, target: &StoreLocation) -> LogError {
        let table = &self.location;
        let store = target.store();
        let declared_there = match &self.declared {
            Declared::Locations(locations) => locations.iter().any(|l| l.store() == store),
            Declared::None | Declared::Invalid { .. } => false,
        };
        if store == table.root_location().store()
            || table.stores().has_store(store)
            || declared_there
        {
            self.outside(as_written)
        } else {
            LogError::UnregisteredStore {
                path: redact_uri(as_written),
                store: redact_uri(&store.to_string()),
                table: table.to_string(),
            }
        }
    }

    fn outside(&self, as_written: &str) -> LogError {
        LogError::PathOutsideTable {
            path: redact_uri(as_written),
            table: self.location.to_string(),
        }
    }
}

/// A file in a registered or declared location: addressed with its full path in the store.
fn elsewhere(store: Arc<dyn ObjectStore>, target: &StoreLocation) -> ResolvedPath {
    ResolvedPath {
        path: join_segments(&Path::ROOT, target.segments().iter().map(String::as_str)),
        display: redact_uri(&target.to_display()),
        store,
        in_table: false,
    }
}
