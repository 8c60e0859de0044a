//! The archive location of a run: normalised, checked against the table, and the place each
//! file's copy goes. Pure; nothing here opens a store.
//!
//! A file's copy mirrors its path below the table root under the location
//! (`<location>/<path below the root>`): deterministic, so a run that was stopped finds its
//! own copies when it runs again, and a file is never copied to two places.

use tarn::protocol::data_path::encode_relative_path;
use tarn::protocol::store_location::StoreLocation;

/// Where a run archives to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveTarget {
    location: StoreLocation,
}

impl ArchiveTarget {
    /// The target at `location`, already normalised (`tarn::StoreRegistry::normalize`).
    pub fn new(location: StoreLocation) -> Self {
        Self { location }
    }

    /// The location.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The location as a URI (`s3://archive/events`, `file:///mnt/cold/events`).
    pub fn uri(&self) -> String {
        self.location.to_uri()
    }

    /// Why the location cannot hold the archive of the table at `root`, if it cannot: it is
    /// the table's root, inside it (the copies would be files of the table that the log does
    /// not name, for vacuum to delete), or it holds the table (a copy could land inside the
    /// table's root).
    pub fn check_against(&self, root: &StoreLocation) -> Result<(), String> {
        if self.location.segments().is_empty() && self.location.store() == root.store() {
            return Err(format!(
                "it is the root of the table's own store {}; archive to a directory or prefix of \
                 its own",
                root.store()
            ));
        }
        if &self.location == root {
            return Err("it is the table's own root".to_owned());
        }
        if self.location.starts_with(root) {
            return Err(format!(
                "it is inside the table's root {}; copies there would be files of the table its \
                 log does not name",
                root.to_display()
            ));
        }
        if root.starts_with(&self.location) {
            return Err(format!(
                "it holds the table's root {}; copies could land inside the table",
                root.to_display()
            ));
        }
        Ok(())
    }

    /// The URI of the copy of a file at `relative` (decoded segments) below the table root.
    pub fn archive_path(&self, relative: &[String]) -> String {
        let mut uri = self.location.to_uri();
        if !uri.ends_with('/') {
            uri.push('/');
        }
        uri.push_str(&encode_relative_path(&relative.join("/")));
        uri
    }

    /// The URI of the marker object that claims the location for one table
    /// (`<location>/_tarn_archive.json`).
    pub fn marker_path(&self) -> String {
        self.archive_path(&[MARKER_NAME.to_owned()])
    }
}

/// The name of the object that claims an archive location for one table.
pub const MARKER_NAME: &str = "_tarn_archive.json";

#[cfg(test)]
mod tests {
    use tarn::protocol::data_path::DataFilePath;
    use url::Url;

    use super::*;

    fn location(uri: &str) -> StoreLocation {
        StoreLocation::of_url(&Url::parse(uri).unwrap())
    }

    #[test]
    fn copies_mirror_the_path_below_the_root() {
        let target = ArchiveTarget::new(location("s3://cold/events"));
        let uri = target.archive_path(&["day=2026-01-01 10:00".into(), "a?b#c%.parquet".into()]);
        assert_eq!(
            uri,
            "s3://cold/events/day=2026-01-01%2010%3A00/a%3Fb%23c%25.parquet"
        );
        // The log reads it back as the same place.
        let DataFilePath::Absolute(parsed) = DataFilePath::parse(&uri).unwrap() else {
            panic!("not absolute")
        };
        let back = parsed.location(target.location().store());
        assert_eq!(
            back.strip_prefix(target.location()).unwrap(),
            ["day=2026-01-01 10:00", "a?b#c%.parquet"]
        );
        let local = ArchiveTarget::new(location("file:///mnt/cold"));
        assert_eq!(
            local.archive_path(&["x.parquet".into()]),
            "file:///mnt/cold/x.parquet"
        );
        assert_eq!(local.marker_path(), "file:///mnt/cold/_tarn_archive.json");
    }

    #[test]
    fn locations_overlapping_the_table_are_refused() {
        let root = location("s3://hot/data/events");
        for (bad, why) in [
            ("s3://hot/data/events", "own root"),
            ("s3://hot/data/events/archive", "inside the table"),
            ("s3://hot/data", "holds the table"),
            ("s3://hot/", "root of the table's own store"),
        ] {
            let err = ArchiveTarget::new(location(bad))
                .check_against(&root)
                .unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        for good in [
            "s3://cold/",
            "s3://hot/data/events2",
            "s3://hot/archive/events",
            "file:///data/events",
        ] {
            ArchiveTarget::new(location(good))
                .check_against(&root)
                .unwrap();
        }
    }
}
