//! Where an absolute URI points: the store that serves it and the normalised path inside it.
//!
//! A Delta log may name files by absolute URI (`add.path`, a `p` deletion vector, a v2
//! checkpoint's sidecar) and tarn's archive tier declares whole locations by URI prefix. To
//! decide whether such a URI is inside the table or a registered location, both sides are
//! first brought to one form, [`StoreLocation`]: the [`StoreKey`] (scheme and authority, the
//! part that picks an object store client) and the path as decoded, normalised segments.
//!
//! Normalising is what makes the comparison mean something. A path is percent-decoded once
//! (`%20` is a space; a decoded `/` separates segments, as it does for object_store), then
//! `.` segments and empty segments are dropped and `..` removes the segment before it. A `..`
//! that would climb above the root of its store is an error, not clamped, so the text in the
//! log never quietly means something else. A prefix matches on whole segments only:
//! `s3://b/arch` contains `s3://b/arch/x` but not `s3://b/archive2/x`.
//!
//! This module never opens anything and never decides *which* locations are allowed; that is
//! the store registry's job (`tarn_log::stores`). It only says where a URI points, so that the
//! place checked and the place later opened are the same list of segments.

use std::fmt;

use url::Url;

use crate::partition::{percent_decode, push_percent};

/// The object store client a URI needs: its scheme and authority (bucket, container, host,
/// with user and port when present; never a password).
///
/// Schemes that object_store serves with the same client are one key: `s3a` is `s3`, `abfs`
/// is `abfss`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    scheme: String,
    authority: String,
}

impl StoreKey {
    /// The key of a parsed URL.
    pub fn of_url(url: &Url) -> Self {
        let scheme = match url.scheme() {
            "s3a" => "s3",
            "abfs" => "abfss",
            other => other,
        };
        let mut authority = String::new();
        if !url.username().is_empty() {
            authority.push_str(url.username());
            authority.push('@');
        }
        authority.push_str(url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            authority.push(':');
            authority.push_str(&port.to_string());
        }
        Self {
            scheme: scheme.to_owned(),
            authority,
        }
    }

    /// The scheme, lower case (`s3`, `file`, `abfss`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The authority: `bucket`, `container@account.dfs.core.windows.net`, `host:port`, or
    /// empty (`file:///...`).
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

/// A normalised place in a store: the store's key and the decoded path segments, none of
/// them empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreLocation {
    store: StoreKey,
    segments: Vec<String>,
}

impl StoreLocation {
    /// The location a URL the caller gave names (a table's URL, a location registered by the
    /// program). The query is ignored (it may hold a SAS token). Lenient where the strict
    /// parse of a log path is not: an escape that does not decode stays as written, and a
    /// `..` above the root stays at the root, because the caller chose this URL.
    pub fn of_url(url: &Url) -> Self {
        let mut segments: Vec<String> = Vec::new();
        for raw in url.path().split('/') {
            let decoded = percent_decode(raw).unwrap_or_else(|_| raw.to_owned());
            for segment in decoded.split('/') {
                match segment {
                    "" | "." => {}
                    ".." => {
                        segments.pop();
                    }
                    other => segments.push(other.to_owned()),
                }
            }
        }
        Self {
            store: StoreKey::of_url(url),
            segments,
        }
    }

    /// A location from its parts. Segments that are empty, `.` or `..`, or hold a `/`, are
    /// not valid segments; they are dropped or split as [`StoreLocation::of_url`] would.
    pub fn new(store: StoreKey, segments: impl IntoIterator<Item = String>) -> Self {
        let mut normal: Vec<String> = Vec::new();
        for segment in segments {
            for part in segment.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        normal.pop();
                    }
                    other => normal.push(other.to_owned()),
                }
            }
        }
        Self {
            store,
            segments: normal,
        }
    }

    /// The store that serves this location.
    pub fn store(&self) -> &StoreKey {
        &self.store
    }

    /// The decoded path segments, from the store's root.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether `self` is `prefix` or lies under it: the same store, and `prefix`'s segments
    /// are the first segments of `self` (whole segments: `arch` is not a prefix of
    /// `archive2`).
    pub fn starts_with(&self, prefix: &StoreLocation) -> bool {
        self.store == prefix.store && self.segments.starts_with(&prefix.segments)
    }

    /// The segments of `self` below `prefix`, if `self` lies strictly under it (a file in
    /// the prefix, never the prefix itself).
    pub fn strip_prefix(&self, prefix: &StoreLocation) -> Option<&[String]> {
        if self.segments.len() > prefix.segments.len() && self.starts_with(prefix) {
            Some(&self.segments[prefix.segments.len()..])
        } else {
            None
        }
    }

    /// The location as a URI: `scheme://authority/seg/seg`, each segment percent-encoded
    /// where it must be (`%`, `/`, `?`, `#`, spaces, controls), so that parsing it gives this
    /// location back.
    pub fn to_uri(&self) -> String {
        let mut out = self.store.to_string();
        if self.segments.is_empty() {
            out.push('/');
        }
        for segment in &self.segments {
            out.push('/');
            for c in segment.chars() {
                if c.is_control() || c.is_whitespace() || matches!(c, '%' | '/' | '?' | '#') {
                    let mut utf8 = [0u8; 4];
                    for byte in c.encode_utf8(&mut utf8).bytes() {
                        push_percent(&mut out, byte);
                    }
                } else {
                    out.push(c);
                }
            }
        }
        out
    }

    /// The location as an operator would write it: a local path (`/a/b`) for `file://`
    /// without a host, the URI otherwise.
    pub fn to_display(&self) -> String {
        if self.store.scheme == "file" && self.store.authority.is_empty() {
            format!("/{}", self.segments.join("/"))
        } else {
            self.to_uri()
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

/// An absolute path as a log names it: a URI with a scheme (`s3://b/t/x.parquet`,
/// `file:///t/x.parquet`) or a path from the root of the table's own store (`/t/x.parquet`),
/// parsed and normalised, with the text as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsoluteUri {
    text: String,
    /// `None` for a `/`-rooted path: its store is the table's.
    store: Option<StoreKey>,
    segments: Vec<String>,
}

impl AbsoluteUri {
    /// Parses an absolute URI or `/`-rooted path from the log, strictly.
    ///
    /// Errors (the reason, for the caller to wrap): not a URI; a query or fragment (a file is
    /// named by its path alone); control characters or surrounding spaces (a URL parser drops
    /// some of them silently, so the text would not mean what it shows); a path starting with
    /// `//` (it would name a host); escapes that are malformed or not UTF-8; a `..` that
    /// climbs above the store's root; a path naming no file (the store's root).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (store, segments) = parse_strict(text)?;
        if segments.is_empty() {
            return Err("the path names no file (only the root of a store)".to_owned());
        }
        Ok(Self {
            text: text.to_owned(),
            store,
            segments,
        })
    }

    /// The text exactly as written in the log.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a `/`-rooted path (on the table's own store) rather than a URI.
    pub fn is_rooted_path(&self) -> bool {
        self.store.is_none()
    }

    /// Where it points, given the table's store (the store of a `/`-rooted path).
    pub fn location(&self, table_store: &StoreKey) -> StoreLocation {
        StoreLocation {
            store: self.store.clone().unwrap_or_else(|| table_store.clone()),
            segments: self.segments.clone(),
        }
    }
}

impl StoreLocation {
    /// Parses a location prefix that a table declares in its log (an archive location), as
    /// strictly as [`AbsoluteUri::parse`] parses a file's path, except that the prefix may be
    /// the root of a store (`s3://archive-bucket/`). A `/`-rooted prefix is on `table_store`.
    pub fn parse_declared(text: &str, table_store: &StoreKey) -> Result<Self, String> {
        let (store, segments) = parse_strict(text)?;
        Ok(Self {
            store: store.unwrap_or_else(|| table_store.clone()),
            segments,
        })
    }
}

/// Parses an absolute URI or a `/`-rooted path (store `None`) strictly: see
/// [`AbsoluteUri::parse`].
///
/// The URL parser picks the scheme and authority, but the segments come from the path exactly
/// as written: RFC 3986 parsing would remove dot segments (`%2E%2E` included) and stop at the
/// root, so a path that climbs out would quietly mean another one instead of being refused.
fn parse_strict(text: &str) -> Result<(Option<StoreKey>, Vec<String>), String> {
    if text.chars().any(|c| c.is_ascii_control()) || text.trim() != text {
        return Err("a file URI has no control characters or surrounding spaces".to_owned());
    }
    if text.contains(['?', '#']) {
        return Err(
            "a file URI has no query or fragment (`?`, `#`); encode them as %3F and %23 if they \
             are part of the name"
                .to_owned(),
        );
    }
    if text.starts_with("//") {
        return Err("a path starting with `//` names a host; write the full URI".to_owned());
    }
    if text.starts_with('/') {
        return Ok((None, strict_segments(text)?));
    }
    let url = Url::parse(text).map_err(|e| format!("not a valid URI: {e}"))?;
    // `scheme:` then either `//authority/path` or the path itself (`dbfs:/mnt/x`).
    let rest = text.split_once(':').map_or("", |(_, rest)| rest);
    let path = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map_or("", |at| &after[at..]),
        None => rest,
    };
    Ok((Some(StoreKey::of_url(&url)), strict_segments(path)?))
}

/// The decoded, normalised segments of a URL path (percent-encoded text), strictly: escapes
/// must decode to UTF-8 and `..` must not climb above the root.
fn strict_segments(path: &str) -> Result<Vec<String>, String> {
    let mut segments: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let decoded = percent_decode(raw)?;
        // A decoded `/` separates segments, as object_store reads it.
        for segment in decoded.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err("a `..` segment climbs above the root of the store".to_owned());
                    }
                }
                other => segments.push(other.to_owned()),
            }
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn location(uri: &str) -> StoreLocation {
        StoreLocation::of_url(&Url::parse(uri).unwrap())
    }

    fn parsed(text: &str) -> StoreLocation {
        let table = StoreKey::of_url(&Url::parse("file:///").unwrap());
        AbsoluteUri::parse(text).unwrap().location(&table)
    }

    #[test]
    fn store_keys_name_scheme_and_authority() {
        let key = |uri: &str| StoreKey::of_url(&Url::parse(uri).unwrap()).to_string();
        assert_eq!(key("s3://bucket/a"), "s3://bucket");
        assert_eq!(key("s3a://bucket/a"), "s3://bucket");
        assert_eq!(key("S3://bucket/a"), "s3://bucket");
        assert_eq!(key("s3://key:secret@bucket/a"), "s3://key@bucket");
        assert_eq!(
            key("abfs://c@acct.dfs.core.windows.net/t"),
            "abfss://c@acct.dfs.core.windows.net"
        );
        assert_eq!(key("file:///tmp/t"), "file://");
        assert_eq!(key("file://localhost/tmp/t"), "file://");
        assert_eq!(key("hdfs://nn:8020/t"), "hdfs://nn:8020");
        assert_ne!(key("memory://a/t"), key("memory://b/t"));
    }

    #[test]
    fn paths_are_decoded_once_and_normalised() {
        assert_eq!(parsed("s3://b/t/a%20b/x").segments(), ["t", "a b", "x"]);
        // Decoded once: `%2520` is the three characters `%20`.
        assert_eq!(parsed("s3://b/t/a%2520b").segments(), ["t", "a%20b"]);
        assert_eq!(parsed("s3://b/t/./x//y/").segments(), ["t", "x", "y"]);
        assert_eq!(parsed("s3://b/t/u/../x").segments(), ["t", "x"]);
        // Encoded dots are dots, and an encoded `/` separates segments.
        assert_eq!(parsed("s3://b/t/u/%2E%2E/x").segments(), ["t", "x"]);
        assert_eq!(parsed("s3://b/t/u/%2e%2E/x").segments(), ["t", "x"]);
        assert_eq!(
            parsed("file:///tmp/t/x%2F..%2F..%2F..%2Fetc/passwd").segments(),
            ["etc", "passwd"]
        );
        assert_eq!(
            parsed("/tmp/t/../other/x").segments(),
            ["tmp", "other", "x"]
        );
        assert_eq!(
            parsed("/tmp/t/a%20b.parquet").segments(),
            ["tmp", "t", "a b.parquet"]
        );
        assert_eq!(parsed("/tmp/t/a\\b").segments(), ["tmp", "t", "a\\b"]);
    }

    #[test]
    fn rooted_paths_take_the_table_store() {
        let table = StoreKey::of_url(&Url::parse("s3://bucket/t").unwrap());
        let path = AbsoluteUri::parse("/t/x.parquet").unwrap();
        assert!(path.is_rooted_path());
        assert_eq!(path.location(&table).to_uri(), "s3://bucket/t/x.parquet");
        assert_eq!(path.as_str(), "/t/x.parquet");
        let uri = AbsoluteUri::parse("s3://other/t/x.parquet").unwrap();
        assert!(!uri.is_rooted_path());
        assert_eq!(uri.location(&table).to_uri(), "s3://other/t/x.parquet");
    }

    #[test]
    fn strict_parse_refuses_what_cannot_name_one_file() {
        for bad in [
            "s3://b/%2E%2E%2F%2E%2E%2Fx",
            "s3://b/a%2F..%2F..%2Fx",
            "/a/%2E%2E/%2E%2E/x",
            "s3://b/x?versionId=1",
            "s3://b/x#frag",
            "s3://b/",
            "file:///",
            "//host/x",
            "s3://b/%FF.parquet",
            "s3://b/%zz",
            "s3://[bad/x",
            "file:///tmp/t/../../../../etc/passwd",
            "s3://bu\tcket/x",
            " s3://b/x",
            "/tmp/a\nb",
        ] {
            assert!(AbsoluteUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dot_dot_inside_the_store_is_applied_then_checked_by_prefix() {
        let table = location("file:///tmp/t");
        let outside = parsed("file:///tmp/t/../../etc/passwd");
        assert_eq!(outside.segments(), ["etc", "passwd"]);
        assert!(!outside.starts_with(&table));
        let inside = parsed("file:///tmp/t/x/../y.parquet");
        assert!(inside.starts_with(&table));
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let prefix = location("s3://b/arch");
        assert!(parsed("s3://b/arch/x").starts_with(&prefix));
        assert!(parsed("s3a://b/arch/x").starts_with(&prefix));
        assert!(!parsed("s3://b/archive2/x").starts_with(&prefix));
        assert!(!parsed("s3://c/arch/x").starts_with(&prefix));
        assert!(!parsed("gs://b/arch/x").starts_with(&prefix));
        assert_eq!(
            parsed("s3://b/arch/y/x").strip_prefix(&prefix),
            Some(&["y".to_owned(), "x".to_owned()][..])
        );
        assert_eq!(parsed("s3://b/arch").strip_prefix(&prefix), None);
        // A trailing slash does not change a prefix.
        assert_eq!(location("s3://b/arch/"), prefix);
        // Percent-encoding does not either.
        assert!(parsed("s3://b/%61rch/x").starts_with(&prefix));
    }

    #[test]
    fn lenient_locations_of_caller_urls() {
        assert_eq!(location("s3://b/t?sig=secret").segments(), ["t"]);
        assert_eq!(
            location("file:///tmp/a%20b/t").segments(),
            ["tmp", "a b", "t"]
        );
        assert_eq!(location("file:///").segments(), Vec::<String>::new());
        assert_eq!(
            StoreLocation::new(
                StoreKey::of_url(&Url::parse("s3://b").unwrap()),
                ["a/b".to_owned(), ".".to_owned(), "c".to_owned()]
            )
            .segments(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn display_forms() {
        assert_eq!(parsed("file:///tmp/a%20b/x").to_display(), "/tmp/a b/x");
        assert_eq!(
            parsed("file:///tmp/a%20b/x").to_uri(),
            "file:///tmp/a%20b/x"
        );
        assert_eq!(parsed("s3://b/a%25b%3Fc").to_display(), "s3://b/a%25b%3Fc");
        assert_eq!(location("s3://b").to_uri(), "s3://b/");
    }

    proptest! {
        #[test]
        fn to_uri_parses_back(segments in proptest::collection::vec("[^/]{1,8}", 1..4)) {
            let store = StoreKey::of_url(&Url::parse("s3://bucket").unwrap());
            let location = StoreLocation::new(store.clone(), segments);
            if !location.segments().is_empty() {
                let back = AbsoluteUri::parse(&location.to_uri());
                prop_assert_eq!(back.map(|b| b.location(&store)), Ok(location));
            }
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = AbsoluteUri::parse(&text);
        }

        #[test]
        fn a_parsed_location_never_holds_dot_segments(text in "(s3://b|/)[a-z./%2E]{0,20}") {
            if let Ok(uri) = AbsoluteUri::parse(&text) {
                let store = StoreKey::of_url(&Url::parse("s3://b").unwrap());
                let location = uri.location(&store);
                prop_assert!(location.segments().iter().all(|s| !s.is_empty() && s != "." && s != ".."));
            }
        }
    }
}
