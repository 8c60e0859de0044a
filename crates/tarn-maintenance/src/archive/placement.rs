//! Where a table's files live: under its root (hot), under one of the archive locations it
//! declares, or elsewhere. Pure: paths are compared as normalised locations
//! (`tarn::protocol::store_location`), never opened.

use serde::Serialize;
use tarn::Snapshot;
use tarn::protocol::archive_domain::ArchiveConfiguration;
use tarn::protocol::data_path::DataFilePath;
use tarn::protocol::store_location::StoreLocation;

/// Where one file lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Placement {
    /// Under the table's root.
    Hot {
        /// Its path below the root, decoded segments.
        relative: Vec<String>,
    },
    /// Under an archive location the table declares (`tarn.archive` `locations`).
    Archive {
        /// The location, as a URI.
        location: String,
        /// Its path below the location, decoded segments.
        relative: Vec<String>,
    },
    /// Anywhere else (a location registered by the caller, a shallow clone's source), or a
    /// path that does not parse.
    Elsewhere,
}

impl Placement {
    /// A short label: `hot`, the archive location's URI, or `elsewhere`.
    pub fn label(&self) -> &str {
        match self {
            Placement::Hot { .. } => "hot",
            Placement::Archive { location, .. } => location,
            Placement::Elsewhere => "elsewhere",
        }
    }
}

/// The places a table's files may live: its root and the archive locations it declares.
#[derive(Debug, Clone)]
pub struct FilePlacements {
    root: StoreLocation,
    locations: Vec<StoreLocation>,
}

impl FilePlacements {
    /// The placements of `snapshot`'s table: its root and the locations its `tarn.archive`
    /// domain declares (none if the domain does not parse: such files show as elsewhere).
    pub fn of(snapshot: &Snapshot) -> Self {
        let root = snapshot.location().root_location().clone();
        let locations = ArchiveConfiguration::of_domains(snapshot.domain_metadata())
            .ok()
            .flatten()
            .and_then(|config| config.declared_locations(root.store()).ok())
            .unwrap_or_default();
        Self::new(root, locations)
    }

    /// Placements for a table at `root` declaring `locations`.
    pub fn new(root: StoreLocation, locations: Vec<StoreLocation>) -> Self {
        Self { root, locations }
    }

    /// The table's root.
    pub fn root(&self) -> &StoreLocation {
        &self.root
    }

    /// The declared archive locations.
    pub fn locations(&self) -> &[StoreLocation] {
        &self.locations
    }

    /// Where the file the log names `path_in_log` lives. The longest declared location that
    /// covers it wins, as in path resolution.
    pub fn place(&self, path_in_log: &str) -> Placement {
        match DataFilePath::parse(path_in_log) {
            Ok(DataFilePath::Relative(decoded)) => Placement::Hot {
                relative: decoded
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_owned)
                    .collect(),
            },
            Ok(DataFilePath::Absolute(uri)) => {
                let target = uri.location(self.root.store());
                if let Some(inside) = target.strip_prefix(&self.root) {
                    return Placement::Hot {
                        relative: inside.to_vec(),
                    };
                }
                self.locations
                    .iter()
                    .filter_map(|location| {
                        target
                            .strip_prefix(location)
                            .map(|inside| (location, inside))
                    })
                    .max_by_key(|(location, _)| location.segments().len())
                    .map_or(Placement::Elsewhere, |(location, inside)| {
                        Placement::Archive {
                            location: location.to_uri(),
                            relative: inside.to_vec(),
                        }
                    })
            }
            Err(_) => Placement::Elsewhere,
        }
    }
}

#[cfg(test)]
mod tests {
    use tarn::protocol::store_location::StoreKey;
    use url::Url;

    use super::*;

    fn location(uri: &str) -> StoreLocation {
        StoreLocation::of_url(&Url::parse(uri).unwrap())
    }

    #[test]
    fn files_are_placed_by_their_paths() {
        let placements = FilePlacements::new(
            location("s3://hot/t"),
            vec![location("s3://cold/t"), location("s3://cold/t/deep")],
        );
        assert_eq!(
            placements.place("day=1/a%20b.parquet"),
            Placement::Hot {
                relative: vec!["day=1".into(), "a b.parquet".into()]
            }
        );
        assert_eq!(placements.place("s3://hot/t/x.parquet").label(), "hot");
        assert_eq!(
            placements.place("s3://cold/t/day=1/x.parquet"),
            Placement::Archive {
                location: "s3://cold/t".into(),
                relative: vec!["day=1".into(), "x.parquet".into()]
            }
        );
        // The longest covering location wins.
        assert_eq!(
            placements.place("s3://cold/t/deep/x.parquet").label(),
            "s3://cold/t/deep"
        );
        assert_eq!(
            placements.place("s3://cold/other/x.parquet"),
            Placement::Elsewhere
        );
        assert_eq!(
            placements.place("s3://hot/t2/x.parquet"),
            Placement::Elsewhere
        );
        assert_eq!(placements.place("%zz"), Placement::Elsewhere);
        assert_eq!(
            placements.root().store(),
            &StoreKey::of_url(&Url::parse("s3://hot").unwrap())
        );
    }
}
