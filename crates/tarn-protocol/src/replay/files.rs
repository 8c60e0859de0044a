//! The seen-set of logical files: which `(path, deletionVector.uniqueId)` keys a newer action
//! has already referenced.
//!
//! Keys are stored exactly (never as hashes, whose collisions would silently drop a live file),
//! one heap allocation per distinct logical file and none per lookup.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// Separates the path from the deletion vector id inside a stored key. `0xFF` never occurs in
/// UTF-8, so it cannot occur in either part and the encoding is injective for any strings.
const DV_SEPARATOR: u8 = 0xFF;

/// The newest-first seen-set of logical files (PROTOCOL.md, "Action Reconciliation": "keep only
/// the newest reference for each logical file").
///
/// A logical file is identified by its `path` and the `uniqueId` of its deletion vector (see
/// [`crate::actions::dv_unique_id`]); `None` is the file without a deletion vector, a different
/// logical file from any `Some`. Paths are compared byte for byte, exactly as they appear in the
/// log.
///
/// Feed it commits newest first, and each commit's file actions in *reverse line order* through
/// [`record`](Self::record); then check the rows of the checkpoint (already reconciled) with
/// [`is_unseen`](Self::is_unseen).
#[derive(Debug, Default, Clone)]
pub struct FileReplay {
    seen: HashSet<StoredKey>,
}

impl FileReplay {
    /// An empty seen-set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty seen-set with room for `capacity` logical files before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: HashSet::with_capacity(capacity),
        }
    }

    /// Records a file action (`add` or `remove`) read from a *commit* and says whether it is the
    /// newest reference to its logical file: `true` means an `add` is live (or a `remove` is a
    /// live tombstone), `false` means a newer action already referenced the same file and this
    /// one must be dropped.
    ///
    /// Allocates only when the logical file is new to the set.
    pub fn record(&mut self, path: &str, dv_unique_id: Option<&str>) -> bool {
        let probe = Probe { path, dv_unique_id };
        if self.seen.contains(&probe as &dyn LogicalFileKey) {
            return false;
        }
        self.seen.insert(StoredKey::new(path, dv_unique_id));
        true
    }

    /// Whether no recorded commit action referenced this logical file; for rows of a
    /// *checkpoint*, which is already reconciled, so nothing is inserted. An unseen checkpoint
    /// `add` is live and an unseen checkpoint `remove` is a live tombstone.
    pub fn is_unseen(&self, path: &str, dv_unique_id: Option<&str>) -> bool {
        let probe = Probe { path, dv_unique_id };
        !self.seen.contains(&probe as &dyn LogicalFileKey)
    }

    /// The number of distinct logical files recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no logical file has been recorded.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Reserves room for at least `additional` more logical files.
    pub fn reserve(&mut self, additional: usize) {
        self.seen.reserve(additional);
    }
}

/// A view of a logical file key as its two parts, shared by the stored form and the borrowed
/// probe so that a lookup needs no allocation: the set hashes and compares both through this
/// trait object (the `Borrow` contract requires they hash and compare identically).
trait LogicalFileKey {
    fn parts(&self) -> (&[u8], Option<&[u8]>);
}

impl Hash for dyn LogicalFileKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn LogicalFileKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn LogicalFileKey + '_ {}

/// A borrowed key, used for lookups.
struct Probe<'a> {
    path: &'a str,
    dv_unique_id: Option<&'a str>,
}

impl LogicalFileKey for Probe<'_> {
    fn parts(&self) -> (&[u8], Option<&[u8]>) {
        (self.path.as_bytes(), self.dv_unique_id.map(str::as_bytes))
    }
}

/// An owned key: the path's bytes, then, when there is a deletion vector, [`DV_SEPARATOR`] and
/// the id's bytes. One exact-size allocation, 16 bytes inline.
#[derive(Clone)]
struct StoredKey(Box<[u8]>);

impl StoredKey {
    fn new(path: &str, dv_unique_id: Option<&str>) -> Self {
        let bytes = match dv_unique_id {
            None => Box::from(path.as_bytes()),
            Some(dv) => {
                let mut bytes = Vec::with_capacity(path.len() + 1 + dv.len());
                bytes.extend_from_slice(path.as_bytes());
                bytes.push(DV_SEPARATOR);
                bytes.extend_from_slice(dv.as_bytes());
                bytes.into_boxed_slice()
            }
        };
        Self(bytes)
    }
}

impl LogicalFileKey for StoredKey {
    fn parts(&self) -> (&[u8], Option<&[u8]>) {
        // Ids are usually shorter than paths, so search from the end.
        match self.0.iter().rposition(|&b| b == DV_SEPARATOR) {
            Some(at) => (&self.0[..at], Some(&self.0[at + 1..])),
            None => (&self.0, None),
        }
    }
}

impl<'a> Borrow<dyn LogicalFileKey + 'a> for StoredKey {
    fn borrow(&self) -> &(dyn LogicalFileKey + 'a) {
        self
    }
}

impl Hash for StoredKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn LogicalFileKey).hash(state);
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for StoredKey {}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, dv) = self.parts();
        f.debug_tuple("StoredKey")
            .field(&String::from_utf8_lossy(path))
            .field(&dv.map(String::from_utf8_lossy))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reference_wins() {
        let mut files = FileReplay::new();
        assert!(files.record("a.parquet", None));
        assert!(!files.record("a.parquet", None));
        assert!(files.record("a.parquet", Some("u1234")));
        assert!(!files.record("a.parquet", Some("u1234")));
        assert!(files.record("a.parquet", Some("u1234@7")));
        assert_eq!(files.len(), 3);
    }

    #[test]
    fn is_unseen_does_not_insert() {
        let mut files = FileReplay::with_capacity(4);
        assert!(files.is_empty());
        assert!(files.is_unseen("a", None));
        assert!(files.is_unseen("a", None));
        assert_eq!(files.len(), 0);
        files.record("a", Some("x"));
        assert!(files.is_unseen("a", None));
        assert!(!files.is_unseen("a", Some("x")));
        assert!(files.is_unseen("a", Some("y")));
    }

    #[test]
    fn keys_that_concatenate_alike_stay_distinct() {
        let mut files = FileReplay::new();
        let keys: [(&str, Option<&str>); 7] = [
            ("ab", None),
            ("a", Some("b")),
            ("a\u{0}b", None),
            ("a\u{ff}b", None),
            ("a", Some("")),
            ("", Some("a")),
            ("", None),
        ];
        for (path, dv) in keys {
            assert!(files.record(path, dv), "{path:?} {dv:?} reported as seen");
        }
        for (path, dv) in keys {
            assert!(!files.is_unseen(path, dv));
            assert!(!files.record(path, dv));
        }
        assert_eq!(files.len(), keys.len());
    }

    #[test]
    fn survives_growth() {
        let mut files = FileReplay::new();
        for i in 0..2_000 {
            let dv = (i % 3 == 0).then(|| format!("u{i}"));
            assert!(files.record(&format!("part-{i}.parquet"), dv.as_deref()));
        }
        for i in 0..2_000 {
            let dv = (i % 3 == 0).then(|| format!("u{i}"));
            assert!(!files.is_unseen(&format!("part-{i}.parquet"), dv.as_deref()));
            assert!(files.is_unseen(&format!("part-{i}.parquet"), Some("other")));
        }
        assert_eq!(files.len(), 2_000);
    }
}
