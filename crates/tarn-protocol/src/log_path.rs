//! The names of the files in `_delta_log`.
//!
//! This module decides which bare file names in a table's `_delta_log` directory are protocol
//! files, what version and kind each one is, and how tarn spells the names it writes
//! (PROTOCOL.md, "Delta Log Entries", "Checkpoints", "Checkpoint Naming Scheme", "Log Compaction
//! Files", "Version Checksum File", "Last Checkpoint File"):
//!
//! | kind | name |
//! | --- | --- |
//! | commit | `<v>.json` |
//! | classic checkpoint | `<v>.checkpoint.parquet` |
//! | multi-part checkpoint | `<v>.checkpoint.<part>.<num_parts>.parquet` |
//! | UUID-named (v2) checkpoint | `<v>.checkpoint.<uuid>.json` or `.parquet` |
//! | log compaction | `<start>.<end>.compacted.json` |
//! | version checksum | `<v>.crc` |
//!
//! Versions are zero-padded to 20 digits and checkpoint part numbers to 10; a name with any
//! other digit count is not a protocol name. Parsing is total and never panics: anything else
//! (`_last_checkpoint`, Hadoop `.crc` side files, writers' temporary files, directories such as
//! `_sidecars/` and `_staged_commits/`) is simply not a [`LogFileName`].
//!
//! This module never touches storage and never decides which files make up a snapshot; that is
//! [`crate::log_segment`]'s job.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::ProtocolError;

/// A table version: the number of a commit in the log.
pub type Version = u64;

/// The log directory under the table root.
pub const LOG_DIR: &str = "_delta_log";

/// The last-checkpoint hint file inside [`LOG_DIR`] (PROTOCOL.md, "Last Checkpoint File").
pub const LAST_CHECKPOINT: &str = "_last_checkpoint";

/// The directory inside [`LOG_DIR`] holding v2 checkpoint sidecar files (PROTOCOL.md,
/// "Sidecar Files").
pub const SIDECAR_DIR: &str = "_sidecars";

/// Digits of a zero-padded version in a log file name.
const VERSION_DIGITS: usize = 20;
/// Digits of a zero-padded multi-part checkpoint part number or part count.
const PART_DIGITS: usize = 10;
/// Length of a hyphenated UUID.
const UUID_LEN: usize = 36;

/// A parsed protocol file name from `_delta_log`.
///
/// Ordering: by [`version`](Self::version) first, then by [`kind`](Self::kind) in the order
/// documented on [`LogFileKind`], which for different kinds is the lexicographic order of the
/// file names, i.e. the order in which an object store lists them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogFileName {
    /// The version the file belongs to; for a log compaction file, its start version.
    pub version: Version,
    /// What the file is.
    pub kind: LogFileKind,
}

/// What a `_delta_log` file is.
///
/// Kinds of the same version order as their file names sort lexicographically:
/// compacted ranges (by end version), then checkpoints, then the checksum (`.crc`), then the
/// commit (`.json`). So a checkpoint sorts before the commit of its own version; a lister that
/// wants "everything after the checkpoint at `v`" skips the commit at `v` explicitly.
///
/// Checkpoints of one version order among themselves as: classic, then multi-part grouped by
/// part count and then by part number (so the parts of one multi-part checkpoint are adjacent),
/// then UUID-named by UUID text and format. This is a listing order only; it says nothing about
/// which checkpoint a reader should prefer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogFileKind {
    /// `<v>.json`: the commit of version `v`.
    Commit,
    /// A checkpoint of the table state at version `v`.
    Checkpoint(CheckpointName),
    /// `<v>.<end>.compacted.json`: the reconciled actions of commits `v..=end`.
    CompactedCommits {
        /// The last version the compaction covers; always greater than the start version.
        end: Version,
    },
    /// `<v>.crc`: the version checksum file of version `v`.
    Checksum,
}

/// The naming scheme of a checkpoint file (PROTOCOL.md, "Checkpoint Naming Scheme").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckpointName {
    /// `<v>.checkpoint.parquet`; its content follows either the v1 or the v2 spec.
    Classic,
    /// `<v>.checkpoint.<part>.<num_parts>.parquet`: one part of a (deprecated) multi-part v1
    /// checkpoint. Parts count from 1; `1 <= part <= num_parts`.
    MultiPart {
        /// This file's part number, from 1.
        part: u32,
        /// How many parts the checkpoint has.
        num_parts: u32,
    },
    /// `<v>.checkpoint.<uuid>.json|parquet`: a UUID-named v2 checkpoint.
    V2 {
        /// The UUID exactly as it appears in the name (hyphenated, 36 characters).
        uuid: String,
        /// Whether the top-level checkpoint file is JSON or Parquet.
        format: CheckpointFormat,
    },
}

/// The file format of a UUID-named v2 checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckpointFormat {
    /// Newline-delimited JSON actions, like a commit.
    Json,
    /// Parquet, one column per action type.
    Parquet,
}

impl CheckpointFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            CheckpointFormat::Json => "json",
            CheckpointFormat::Parquet => "parquet",
        }
    }
}

impl LogFileName {
    /// Parses a bare file name (no directory) from `_delta_log`.
    ///
    /// Returns `None` for anything that is not exactly one of the protocol's names: wrong digit
    /// counts, non-digit versions, a compaction whose end is not after its start, a multi-part
    /// number outside `1..=num_parts`, a v2 checkpoint whose middle is not a hyphenated UUID,
    /// hidden or temporary files, `_last_checkpoint` and subdirectories.
    pub fn parse(file_name: &str) -> Option<LogFileName> {
        let (version, rest) = split_number(file_name, VERSION_DIGITS)?;
        let rest = rest.strip_prefix('.')?;
        let kind = match rest {
            "json" => LogFileKind::Commit,
            "crc" => LogFileKind::Checksum,
            _ => {
                if let Some(checkpoint) = rest.strip_prefix("checkpoint.") {
                    LogFileKind::Checkpoint(parse_checkpoint(checkpoint)?)
                } else {
                    let (end, tail) = split_number(rest, VERSION_DIGITS)?;
                    if tail != ".compacted.json" || end <= version {
                        return None;
                    }
                    LogFileKind::CompactedCommits { end }
                }
            }
        };
        Some(LogFileName { version, kind })
    }

    /// The canonical file name (no directory); [`parse`](Self::parse) of it gives `self` back.
    pub fn file_name(&self) -> String {
        let v = self.version;
        match &self.kind {
            LogFileKind::Commit => commit_file_name(v),
            LogFileKind::Checksum => checksum_file_name(v),
            LogFileKind::CompactedCommits { end } => compacted_file_name(v, *end),
            LogFileKind::Checkpoint(CheckpointName::Classic) => classic_checkpoint_file_name(v),
            LogFileKind::Checkpoint(CheckpointName::MultiPart { part, num_parts }) => {
                multipart_checkpoint_file_name(v, *part, *num_parts)
            }
            LogFileKind::Checkpoint(CheckpointName::V2 { uuid, format }) => {
                v2_checkpoint_file_name(v, uuid, *format)
            }
        }
    }

    /// Whether this is a commit (`<v>.json`).
    pub fn is_commit(&self) -> bool {
        self.kind == LogFileKind::Commit
    }

    /// Whether this is a checkpoint file of any naming scheme (including one part of a
    /// multi-part checkpoint).
    pub fn is_checkpoint(&self) -> bool {
        matches!(self.kind, LogFileKind::Checkpoint(_))
    }

    /// Whether this is a log compaction file.
    pub fn is_compacted(&self) -> bool {
        matches!(self.kind, LogFileKind::CompactedCommits { .. })
    }

    /// Whether this is a version checksum file.
    pub fn is_checksum(&self) -> bool {
        self.kind == LogFileKind::Checksum
    }
}

impl fmt::Display for LogFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

impl FromStr for LogFileName {
    type Err = ProtocolError;

    /// Like [`LogFileName::parse`], with an error naming the rejected name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogFileName::parse(s)
            .ok_or_else(|| ProtocolError::InvalidLogFileName { name: s.to_owned() })
    }
}

impl PartialOrd for LogFileName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LogFileName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version
            .cmp(&other.version)
            .then_with(|| self.kind.cmp(&other.kind))
    }
}

impl LogFileKind {
    /// Rank among kinds of one version; matches the lexicographic order of the name suffixes
    /// (`.<digits>.compacted.json` < `.checkpoint.` < `.crc` < `.json`).
    fn rank(&self) -> u8 {
        match self {
            LogFileKind::CompactedCommits { .. } => 0,
            LogFileKind::Checkpoint(_) => 1,
            LogFileKind::Checksum => 2,
            LogFileKind::Commit => 3,
        }
    }
}

impl PartialOrd for LogFileKind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LogFileKind {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (
                LogFileKind::CompactedCommits { end: a },
                LogFileKind::CompactedCommits { end: b },
            ) => a.cmp(b),
            (LogFileKind::Checkpoint(a), LogFileKind::Checkpoint(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl CheckpointName {
    fn rank(&self) -> u8 {
        match self {
            CheckpointName::Classic => 0,
            CheckpointName::MultiPart { .. } => 1,
            CheckpointName::V2 { .. } => 2,
        }
    }
}

impl PartialOrd for CheckpointName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CheckpointName {
    /// Classic, then multi-part by `(num_parts, part)`, then v2 by `(uuid, format)`.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (
                CheckpointName::MultiPart {
                    part: pa,
                    num_parts: na,
                },
                CheckpointName::MultiPart {
                    part: pb,
                    num_parts: nb,
                },
            ) => na.cmp(nb).then(pa.cmp(pb)),
            (
                CheckpointName::V2 {
                    uuid: ua,
                    format: fa,
                },
                CheckpointName::V2 {
                    uuid: ub,
                    format: fb,
                },
            ) => ua.cmp(ub).then(fa.cmp(fb)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// `<v>.json`, the commit of version `v`.
pub fn commit_file_name(version: Version) -> String {
    format!("{version:020}.json")
}

/// `<v>.checkpoint.parquet`, the classic checkpoint of version `v`.
pub fn classic_checkpoint_file_name(version: Version) -> String {
    format!("{version:020}.checkpoint.parquet")
}

/// `<v>.checkpoint.<part>.<num_parts>.parquet`, one part of a multi-part checkpoint.
///
/// The protocol numbers parts from 1. tarn reads multi-part checkpoints but, following the
/// protocol's deprecation, does not write them; this exists for tests and tools.
pub fn multipart_checkpoint_file_name(version: Version, part: u32, num_parts: u32) -> String {
    format!("{version:020}.checkpoint.{part:010}.{num_parts:010}.parquet")
}

/// `<v>.checkpoint.<uuid>.<json|parquet>`, a UUID-named v2 checkpoint.
pub fn v2_checkpoint_file_name(version: Version, uuid: &str, format: CheckpointFormat) -> String {
    format!("{version:020}.checkpoint.{uuid}.{}", format.extension())
}

/// `<start>.<end>.compacted.json`, the log compaction of commits `start..=end`.
///
/// The protocol requires `end > start`; a name built otherwise does not parse back.
pub fn compacted_file_name(start: Version, end: Version) -> String {
    format!("{start:020}.{end:020}.compacted.json")
}

/// `<v>.crc`, the version checksum file of version `v`.
pub fn checksum_file_name(version: Version) -> String {
    format!("{version:020}.crc")
}

/// Splits exactly `digits` leading ASCII digits off `s` and parses them, rejecting a longer run
/// of digits (a 21-digit version is not a 20-digit one) and values that overflow.
fn split_number<T: FromStr>(s: &str, digits: usize) -> Option<(T, &str)> {
    let head = s.get(..digits)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = &s[digits..];
    if rest.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, rest))
}

/// Parses what follows `<v>.checkpoint.`.
fn parse_checkpoint(rest: &str) -> Option<CheckpointName> {
    if rest == "parquet" {
        return Some(CheckpointName::Classic);
    }
    if let Some((part, tail)) = split_number::<u32>(rest, PART_DIGITS) {
        let tail = tail.strip_prefix('.')?;
        let (num_parts, tail) = split_number::<u32>(tail, PART_DIGITS)?;
        if tail != ".parquet" || part == 0 || part > num_parts {
            return None;
        }
        return Some(CheckpointName::MultiPart { part, num_parts });
    }
    let uuid = rest.get(..UUID_LEN)?;
    let format = match &rest[UUID_LEN..] {
        ".json" => CheckpointFormat::Json,
        ".parquet" => CheckpointFormat::Parquet,
        _ => return None,
    };
    if !is_hyphenated_uuid(uuid) {
        return None;
    }
    Some(CheckpointName::V2 {
        uuid: uuid.to_owned(),
        format,
    })
}

/// `8-4-4-4-12` hex digits, either case.
fn is_hyphenated_uuid(s: &str) -> bool {
    s.len() == UUID_LEN
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use proptest::prelude::*;

    use super::*;

    const UUID: &str = "80a083e8-7026-4e79-81be-64bd76c43a11";

    fn name(version: Version, kind: LogFileKind) -> LogFileName {
        LogFileName { version, kind }
    }

    #[test]
    fn parses_every_kind() {
        let cases = [
            ("00000000000000000000.json", name(0, LogFileKind::Commit)),
            (
                "00000000000000000042.checkpoint.parquet",
                name(42, LogFileKind::Checkpoint(CheckpointName::Classic)),
            ),
            (
                "00000000000000000010.checkpoint.0000000002.0000000003.parquet",
                name(
                    10,
                    LogFileKind::Checkpoint(CheckpointName::MultiPart {
                        part: 2,
                        num_parts: 3,
                    }),
                ),
            ),
            (
                "00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json",
                name(
                    10,
                    LogFileKind::Checkpoint(CheckpointName::V2 {
                        uuid: UUID.to_owned(),
                        format: CheckpointFormat::Json,
                    }),
                ),
            ),
            (
                "00000000000000000020.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.parquet",
                name(
                    20,
                    LogFileKind::Checkpoint(CheckpointName::V2 {
                        uuid: UUID.to_owned(),
                        format: CheckpointFormat::Parquet,
                    }),
                ),
            ),
            (
                "00000000000000000004.00000000000000000006.compacted.json",
                name(4, LogFileKind::CompactedCommits { end: 6 }),
            ),
            ("00000000000000000007.crc", name(7, LogFileKind::Checksum)),
            (
                "18446744073709551615.json",
                name(u64::MAX, LogFileKind::Commit),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(LogFileName::parse(text), Some(expected.clone()), "{text}");
            assert_eq!(expected.file_name(), text);
            assert_eq!(text.parse::<LogFileName>().ok(), Some(expected));
        }
    }

    #[test]
    fn rejects_non_protocol_names() {
        for text in [
            "",
            "_last_checkpoint",
            "_sidecars",
            "_commits/",
            "_staged_commits",
            ".00000000000000000001.json.tmp",
            ".00000000000000000001.json.crc",
            "..00000000000000000000.json.c6b312ca-665d-46ab-93a9-9f87ad2baa92.tmp.crc",
            ".00000000000000000003.checkpoint.parquet.crc",
            "00000000000000000001.json.tmp",
            "00000000000000000001.json.crc",
            "0000000000000000001.json",
            "000000000000000000001.json",
            "1.json",
            "+0000000000000000001.json",
            "0000000000000000000a.json",
            "18446744073709551616.json",
            "00000000000000000001.JSON",
            "00000000000000000001.json ",
            "00000000000000000001",
            "00000000000000000001.",
            "00000000000000000001.checkpoint",
            "00000000000000000001.checkpoint.",
            "00000000000000000001.checkpoint.json",
            "00000000000000000001.checkpoint.parquet.tmp",
            "00000000000000000001.checkpoint.0000000000.0000000003.parquet",
            "00000000000000000001.checkpoint.0000000004.0000000003.parquet",
            "00000000000000000001.checkpoint.000000001.0000000003.parquet",
            "00000000000000000001.checkpoint.0000000001.0000000003.json",
            "00000000000000000001.checkpoint.0000000001.parquet",
            "00000000000000000001.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.avro",
            "00000000000000000001.checkpoint.80a083e87026-4e79-81be-64bd76c43a11-.json",
            "00000000000000000001.checkpoint.not-a-uuid-at-all-but-thirty-six-ch.json",
            "00000000000000000001.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a1.json",
            "00000000000000000006.00000000000000000006.compacted.json",
            "00000000000000000006.00000000000000000004.compacted.json",
            "00000000000000000004.00000000000000000006.compacted.parquet",
            "00000000000000000004.0000000000000000006.compacted.json",
            // A staged commit lives in `_staged_commits/`, never in `_delta_log` itself.
            "00000000000000000001.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
            // A sidecar lives in `_sidecars/`.
            "3a0d65cd-4056-49b8-937b-95f9e3ee90e5.parquet",
        ] {
            assert_eq!(LogFileName::parse(text), None, "{text:?}");
            assert!(matches!(
                text.parse::<LogFileName>(),
                Err(ProtocolError::InvalidLogFileName { name }) if name == text
            ));
        }
    }

    #[test]
    fn orders_by_version_then_listing_order() {
        let texts = [
            "00000000000000000005.00000000000000000007.compacted.json",
            "00000000000000000005.00000000000000000009.compacted.json",
            "00000000000000000005.checkpoint.parquet",
            "00000000000000000005.checkpoint.0000000001.0000000002.parquet",
            "00000000000000000005.checkpoint.0000000002.0000000002.parquet",
            "00000000000000000005.checkpoint.0000000001.0000000003.parquet",
            "00000000000000000005.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json",
            "00000000000000000005.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.parquet",
            "00000000000000000005.crc",
            "00000000000000000005.json",
            "00000000000000000006.json",
            "00000000000000000010.json",
        ];
        let expected: Vec<LogFileName> =
            texts.iter().filter_map(|t| LogFileName::parse(t)).collect();
        assert_eq!(expected.len(), texts.len());
        let mut shuffled = expected.clone();
        shuffled.reverse();
        shuffled.swap(0, 5);
        shuffled.sort();
        assert_eq!(shuffled, expected);
    }

    #[test]
    fn predicates() {
        let commit = name(1, LogFileKind::Commit);
        assert!(commit.is_commit() && !commit.is_checkpoint());
        let cp = name(1, LogFileKind::Checkpoint(CheckpointName::Classic));
        assert!(cp.is_checkpoint() && !cp.is_commit());
        assert!(name(1, LogFileKind::CompactedCommits { end: 2 }).is_compacted());
        assert!(name(1, LogFileKind::Checksum).is_checksum());
        assert_eq!(commit.to_string(), "00000000000000000001.json");
    }

    fn fixture_tables() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tables")
    }

    /// Every file in every fixture `_delta_log` either is a protocol name that formats back to
    /// itself or is one of the known non-protocol files.
    #[test]
    fn fixture_log_directories() {
        let Ok(tables) = std::fs::read_dir(fixture_tables()) else {
            eprintln!("fixtures not found; skipping");
            return;
        };
        let mut parsed = 0;
        let mut v2 = 0;
        for table in tables {
            let log = table.unwrap().path().join(LOG_DIR);
            let Ok(entries) = std::fs::read_dir(&log) else {
                continue;
            };
            for entry in entries {
                let file_name = entry.unwrap().file_name().into_string().unwrap();
                match LogFileName::parse(&file_name) {
                    Some(n) => {
                        assert_eq!(n.file_name(), file_name);
                        parsed += 1;
                        if matches!(n.kind, LogFileKind::Checkpoint(CheckpointName::V2 { .. })) {
                            v2 += 1;
                        }
                    }
                    None => assert!(
                        file_name.starts_with('.')
                            || file_name.starts_with('_')
                            || file_name.ends_with(".tmp"),
                        "{}: unexpected non-protocol file {file_name}",
                        log.display()
                    ),
                }
            }
        }
        assert!(parsed > 100, "only {parsed} log files parsed");
        assert_eq!(v2, 2, "checkpoint-v2-table has two UUID-named checkpoints");
    }

    fn arb_name() -> impl Strategy<Value = LogFileName> {
        let version = prop_oneof![0..1000u64, any::<u64>()];
        let uuid = any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string());
        let format = prop_oneof![
            Just(CheckpointFormat::Json),
            Just(CheckpointFormat::Parquet)
        ];
        let single = (
            version.clone(),
            prop_oneof![
                Just(LogFileKind::Commit),
                Just(LogFileKind::Checksum),
                Just(LogFileKind::Checkpoint(CheckpointName::Classic)),
                (1..=u32::MAX)
                    .prop_flat_map(|num_parts| (1..=num_parts, Just(num_parts)))
                    .prop_map(|(part, num_parts)| {
                        LogFileKind::Checkpoint(CheckpointName::MultiPart { part, num_parts })
                    }),
                (uuid, format).prop_map(|(uuid, format)| {
                    LogFileKind::Checkpoint(CheckpointName::V2 { uuid, format })
                }),
            ],
        )
            .prop_map(|(version, kind)| name(version, kind));
        let compacted = (version.clone(), version).prop_filter_map(
            "a compaction ends after it starts",
            |(a, b)| {
                (a != b).then(|| name(a.min(b), LogFileKind::CompactedCommits { end: a.max(b) }))
            },
        );
        prop_oneof![4 => single, 1 => compacted]
    }

    /// Strings that look like log names: digits, dots and the protocol's words, mixed.
    fn almost_names() -> impl Strategy<Value = String> {
        proptest::string::string_regex(
            "[0-9]{0,22}(\\.(json|crc|checkpoint|parquet|compacted|[0-9]{8,22}|[0-9a-f-]{30,40}|tmp)){0,5}",
        )
        .unwrap()
    }

    /// What the protocol calls a `_delta_log` file name, checked independently of the parser:
    /// split on dots and match the shapes of the naming table in the module docs.
    fn well_formed(s: &str) -> bool {
        let parts: Vec<&str> = s.split('.').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(parts[0], 20) {
            return false;
        }
        let Ok(v) = parts[0].parse::<u64>() else {
            return false;
        };
        match &parts[1..] {
            ["json"] | ["crc"] | ["checkpoint", "parquet"] => true,
            ["checkpoint", p, n, "parquet"] if digits(p, 10) && digits(n, 10) => {
                match (p.parse::<u32>(), n.parse::<u32>()) {
                    (Ok(p), Ok(n)) => p >= 1 && p <= n,
                    _ => false,
                }
            }
            ["checkpoint", u, "json" | "parquet"] => {
                u.len() == 36 && uuid::Uuid::try_parse(u).is_ok()
            }
            [e, "compacted", "json"] if digits(e, 20) => e.parse::<u64>().is_ok_and(|e| e > v),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(n in arb_name()) {
            let text = n.file_name();
            prop_assert_eq!(LogFileName::parse(&text), Some(n));
        }

        #[test]
        fn parse_of_arbitrary_text_never_panics(s in any::<String>()) {
            let parsed = LogFileName::parse(&s);
            prop_assert_eq!(parsed.is_some(), well_formed(&s));
        }

        #[test]
        fn parse_accepts_only_well_formed_names(s in almost_names()) {
            match LogFileName::parse(&s) {
                Some(n) => {
                    prop_assert!(well_formed(&s), "{s:?} accepted");
                    prop_assert_eq!(n.file_name(), s);
                }
                None => prop_assert!(!well_formed(&s), "{s:?} rejected"),
            }
        }

        #[test]
        fn order_follows_file_names_across_kinds(a in arb_name(), b in arb_name()) {
            let same_checkpoint_class = matches!(
                (&a.kind, &b.kind),
                (LogFileKind::Checkpoint(_), LogFileKind::Checkpoint(_))
            );
            if !same_checkpoint_class {
                prop_assert_eq!(a.cmp(&b), a.file_name().cmp(&b.file_name()));
            }
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        }
    }
}
