//! The `path` field of `add`, `remove` and `cdc` actions.
//!
//! PROTOCOL.md ("Add File and Remove File") makes `path` a URI (RFC 2396): either relative to
//! the table root, which must be percent-decoded to get the file's path, or absolute. This
//! module decides which of the two a path is, what file a relative one names, and how tarn
//! encodes the relative paths it writes so Delta-Spark (which reads them with
//! `new Path(new URI(path))`) finds the same file.
//!
//! Two encodings stack for a partitioned file. The partition directory is Hive-escaped
//! ([`crate::partition::escape_partition_path`]: `A/A` -> `x=A%2FA`, the directory's real name
//! on storage) and the result is URI-encoded here (`x=A%252FA/part-0.parquet` in the log). So a
//! `%` in a decoded path is a literal character of the file name, never something to decode
//! again.
//!
//! This module never joins a path to a table location and never touches storage; it only says
//! what the string in the log means. An absolute URI keeps its text as written and is parsed
//! and normalised ([`AbsoluteUri`]), for the store registry (`tarn_log::stores`) to decide
//! whether it may be opened and through which store.

use crate::error::ProtocolError;
use crate::partition::{percent_decode, push_percent};
pub use crate::store_location::AbsoluteUri;

/// Where a data file named in the log lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataFilePath {
    /// Relative to the table root: the decoded path, `/`-separated, e.g.
    /// `date=2020-01-01 12%3A00/part-0.parquet` (`%3A` here is part of the directory's name).
    /// Never empty, never starting with `/`, never containing a `..` segment.
    Relative(String),
    /// An absolute URI as it appears in the log, parsed: one with a scheme
    /// (`s3://bucket/t/part-0.parquet`, `file:///tmp/t/part-0.parquet`,
    /// `abfss://c@a.dfs.core.windows.net/t/part-0.parquet`) or a path from the root of the
    /// table's file system (`/mnt/t/part-0.parquet`). Shallow clones and tarn's archive tier
    /// write these.
    Absolute(AbsoluteUri),
}

impl DataFilePath {
    /// Classifies and, for a relative path, percent-decodes the `path` of a file action.
    ///
    /// A path is absolute when it starts with an RFC 2396 scheme (`letter *(letter / digit /
    /// "+" / "-" / ".") ":"`) or with `/`. A relative path is decoded once (`%XX` -> byte,
    /// UTF-8); characters that should have been encoded but were not (a space, `#`, non-ASCII
    /// text) are taken literally, since some writers leave them raw.
    ///
    /// An absolute path is parsed and normalised by [`AbsoluteUri::parse`] (percent-decoded
    /// once, `.` and `..` segments applied); whether it may be opened is not decided here.
    ///
    /// Errors: an empty path; a `%` not followed by two hex digits; escapes that are not UTF-8;
    /// a relative path that decodes to an absolute one (`%2Ftmp/x`) or climbs out of the table
    /// with a `..` segment — tarn never resolves a file outside the table root from a relative
    /// path; an absolute one that is not a URI, has a query or fragment, climbs above its
    /// store's root or names no file.
    pub fn parse(path_in_log: &str) -> Result<Self, ProtocolError> {
        let invalid = |reason: &str| ProtocolError::InvalidDataFilePath {
            path: path_in_log.to_owned(),
            reason: reason.to_owned(),
        };
        if path_in_log.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if path_in_log.starts_with('/') || has_scheme(path_in_log) {
            return AbsoluteUri::parse(path_in_log)
                .map(DataFilePath::Absolute)
                .map_err(|reason| invalid(&reason));
        }
        let decoded = percent_decode(path_in_log).map_err(|reason| invalid(&reason))?;
        if decoded.starts_with('/') {
            return Err(invalid(
                "a relative path must not decode to an absolute one",
            ));
        }
        if decoded.split('/').any(|segment| segment == "..") {
            return Err(invalid(
                "a relative path must not leave the table root with `..`",
            ));
        }
        Ok(DataFilePath::Relative(decoded))
    }

    /// Whether this is an absolute URI.
    pub fn is_absolute(&self) -> bool {
        matches!(self, DataFilePath::Absolute(_))
    }

    /// The decoded relative path or the absolute URI.
    pub fn as_str(&self) -> &str {
        match self {
            DataFilePath::Relative(path) => path,
            DataFilePath::Absolute(uri) => uri.as_str(),
        }
    }

    /// The string to write into an action's `path`: a relative path encoded with
    /// [`encode_relative_path`], an absolute URI as is. [`parse`](Self::parse) of it gives
    /// `self` back.
    pub fn to_path_in_log(&self) -> String {
        match self {
            DataFilePath::Relative(path) => encode_relative_path(path),
            DataFilePath::Absolute(uri) => uri.as_str().to_owned(),
        }
    }
}

/// Whether `path` starts with `scheme ":"`, where a scheme is a letter followed by letters,
/// digits, `+`, `-` or `.` (RFC 2396, section 3.1).
fn has_scheme(path: &str) -> bool {
    let Some((scheme, _)) = path.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Percent-encodes a decoded relative path (`/`-separated, relative to the table root) for an
/// action's `path`, the way Hadoop's `Path.toUri` does for Delta-Spark.
///
/// Encoded, as `%XX` of their UTF-8 bytes: control characters, spaces (any Unicode space
/// separator), `"`, `#`, `%`, `<`, `>`, `?`, `[`, `\`, `]`, `^`, `` ` ``, `{`, `|`, `}`, and a
/// `:` in the first segment (which would otherwise read as a URI scheme). Other characters,
/// non-ASCII letters included, stay as they are, as Spark leaves them. The input must be a
/// relative path as [`DataFilePath::Relative`] holds it; [`DataFilePath::parse`] of the result
/// gives it back.
pub fn encode_relative_path(decoded: &str) -> String {
    let mut out = String::with_capacity(decoded.len() + 8);
    let mut first_segment = true;
    for c in decoded.chars() {
        if c == '/' {
            first_segment = false;
        }
        if must_encode(c) || (first_segment && c == ':') {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                push_percent(&mut out, byte);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that may not appear raw in the path of a URI (java.net.URI's rules, which Hadoop
/// applies): outside ASCII, only controls and spaces.
fn must_encode(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_control()
            || matches!(
                c,
                ' ' | '"'
                    | '#'
                    | '%'
                    | '<'
                    | '>'
                    | '?'
                    | '['
                    | '\\'
                    | ']'
                    | '^'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
            )
    } else {
        c.is_control() || c.is_whitespace()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;

    fn relative(path: &str) -> DataFilePath {
        DataFilePath::Relative(path.to_owned())
    }

    #[test]
    fn relative_paths_are_decoded_once() {
        let cases = [
            ("part-00000.parquet", "part-00000.parquet"),
            (
                "date=2020-01-01%2012%253A00/part.parquet",
                "date=2020-01-01 12%3A00/part.parquet",
            ),
            (
                "x=A%252FA/part-00007.c000.snappy.parquet",
                "x=A%2FA/part-00007.c000.snappy.parquet",
            ),
            ("x=B%2520B/part-00015.parquet", "x=B%20B/part-00015.parquet"),
            (
                "test%25file%25prefix-part-00000.parquet",
                "test%file%prefix-part-00000.parquet",
            ),
            ("city=M%C3%BCnchen/p.parquet", "city=München/p.parquet"),
            ("city=München/p.parquet", "city=München/p.parquet"),
            ("a b#c/p.parquet", "a b#c/p.parquet"),
            ("p=a%7Db/p.parquet", "p=a}b/p.parquet"),
            ("./p.parquet", "./p.parquet"),
            ("a/b:c/p.parquet", "a/b:c/p.parquet"),
            ("1a:b/p.parquet", "1a:b/p.parquet"),
        ];
        for (in_log, decoded) in cases {
            assert_eq!(
                DataFilePath::parse(in_log).unwrap(),
                relative(decoded),
                "{in_log}"
            );
        }
    }

    #[test]
    fn absolute_uris_are_kept_as_written() {
        for uri in [
            "s3://bucket/table/part-0.parquet",
            "s3a://bucket/table/a%20b.parquet",
            "file:///tmp/table/part-0.parquet",
            "file:/tmp/table/part-0.parquet",
            "abfss://container@account.dfs.core.windows.net/t/part-0.parquet",
            "gs://bucket/t/part-0.parquet",
            "hdfs://namenode:8020/t/part-0.parquet",
            "dbfs:/mnt/t/part-0.parquet",
            "/mnt/t/part-0.parquet",
            "C:/t/part-0.parquet",
            "x+y.z-w:opaque",
        ] {
            let parsed = DataFilePath::parse(uri).unwrap();
            assert_eq!(parsed.as_str(), uri);
            assert!(parsed.is_absolute());
            assert_eq!(parsed.to_path_in_log(), uri);
        }
    }

    #[test]
    fn rejects_broken_paths() {
        for path in [
            "",
            "a%2",
            "a%zz/p.parquet",
            "%",
            "a%FF.parquet",
            "%2Ftmp/p.parquet",
            "../p.parquet",
            "a/../../p.parquet",
            "a/%2E%2E/p.parquet",
            "s3://b/t/%2E%2E%2F%2E%2E%2F%2E%2E%2Fx",
            "/t/x?y",
            "s3://b/",
        ] {
            assert!(
                matches!(
                    DataFilePath::parse(path),
                    Err(ProtocolError::InvalidDataFilePath { path: p, .. }) if p == path
                ),
                "{path:?}"
            );
        }
    }

    #[test]
    fn encodes_like_spark() {
        let cases = [
            ("part-0.parquet", "part-0.parquet"),
            ("x=A%2FA/p.parquet", "x=A%252FA/p.parquet"),
            ("x=B%20B/p.parquet", "x=B%2520B/p.parquet"),
            ("p=hello world/p.parquet", "p=hello%20world/p.parquet"),
            ("p=a}b/p.parquet", "p=a%7Db/p.parquet"),
            ("p=a<b>c|d/p.parquet", "p=a%3Cb%3Ec%7Cd/p.parquet"),
            ("p=a@b!c(d)/p.parquet", "p=a@b!c(d)/p.parquet"),
            ("p=a&b+c$d;e,f/p.parquet", "p=a&b+c$d;e,f/p.parquet"),
            ("p=München/p.parquet", "p=München/p.parquet"),
            ("p=\u{a0}/p.parquet", "p=%C2%A0/p.parquet"),
            ("a:b/c:d.parquet", "a%3Ab/c:d.parquet"),
            (
                "p=2024-06-15 12%3A30%3A45/f",
                "p=2024-06-15%2012%253A30%253A45/f",
            ),
        ];
        for (decoded, in_log) in cases {
            assert_eq!(encode_relative_path(decoded), in_log, "{decoded}");
            assert_eq!(DataFilePath::parse(in_log).unwrap(), relative(decoded));
        }
    }

    fn fixture_tables() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tables")
    }

    /// `(action, path)` of every add, remove and cdc action in a table's JSON commits.
    fn file_action_paths(table: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(table.join("_delta_log")) else {
            return out;
        };
        let mut commits: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.len() == 25 && name.ends_with(".json") && !name.starts_with('.')
            })
            .collect();
        commits.sort();
        for commit in commits {
            let text = std::fs::read_to_string(&commit).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let action: serde_json::Value = serde_json::from_str(line).unwrap();
                for kind in ["add", "remove", "cdc"] {
                    if let Some(path) = action[kind]["path"].as_str() {
                        out.push((kind.to_owned(), path.to_owned()));
                    }
                }
            }
        }
        out
    }

    /// Every file action path in every fixture parses; relative ones re-encode to exactly what
    /// Spark, Databricks and delta-rs wrote; and where a table ships its data files, every
    /// added file's decoded path exists.
    #[test]
    fn fixture_paths() {
        let Ok(tables) = std::fs::read_dir(fixture_tables()) else {
            eprintln!("fixtures not found; skipping");
            return;
        };
        let mut checked = 0;
        let mut existing = BTreeMap::new();
        for table in tables {
            let table = table.unwrap().path();
            let paths = file_action_paths(&table);
            let mut adds = Vec::new();
            for (kind, in_log) in &paths {
                let parsed = DataFilePath::parse(in_log)
                    .unwrap_or_else(|e| panic!("{}: {kind} {in_log}: {e}", table.display()));
                assert_eq!(parsed.to_path_in_log(), *in_log, "{}", table.display());
                checked += 1;
                if let (DataFilePath::Relative(decoded), "add") = (&parsed, kind.as_str()) {
                    adds.push(table.join(decoded));
                }
            }
            let found = adds.iter().filter(|p| p.is_file()).count();
            if found > 0 {
                let missing: Vec<_> = adds.iter().filter(|p| !p.is_file()).collect();
                assert!(missing.is_empty(), "missing data files: {missing:?}");
                existing.insert(table.file_name().unwrap().to_owned(), found);
            }
        }
        assert!(checked > 300, "only {checked} paths checked");
        for (table, min) in [
            ("delta-0.8.0-special-partition", 2),
            ("simple_table", 30),
            ("partition-type-primitives", 16),
            ("delta-0.8.0-null-partition", 2),
        ] {
            let found = existing
                .get(std::ffi::OsStr::new(table))
                .copied()
                .unwrap_or(0);
            assert!(found >= min, "{table}: {found} data files found");
        }
    }

    /// A relative path as [`DataFilePath::Relative`] holds it: non-empty segments of arbitrary
    /// text without `/`, none of them `..`.
    fn arb_relative_path() -> impl Strategy<Value = String> {
        let segment = "[^/]{1,12}".prop_filter("`..` is not allowed", |s| s != "..");
        proptest::collection::vec(segment, 1..5).prop_map(|segments| segments.join("/"))
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(decoded in arb_relative_path()) {
            let in_log = encode_relative_path(&decoded);
            prop_assert_eq!(DataFilePath::parse(&in_log).ok(), Some(DataFilePath::Relative(decoded)));
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = DataFilePath::parse(&text);
        }

        #[test]
        fn encoded_paths_are_plain_uri_text(decoded in arb_relative_path()) {
            let in_log = encode_relative_path(&decoded);
            prop_assert!(!in_log.chars().any(|c| must_encode(c) && c != '%'));
        }
    }
}
