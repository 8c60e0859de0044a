//! Parsing newline-delimited JSON actions (commit files, v2 checkpoint JSON files) into the
//! columnar file state plus the few non-file actions.
//!
//! This is the hot path of opening a table from a long log: a commit of a large write holds
//! thousands of `add` lines. Each line is parsed into borrowed fields (no allocation for
//! strings without escapes) and appended straight into Arrow builders; the rare non-file
//! actions are parsed into their owned [`tarn_protocol::actions`] types.

use std::borrow::Cow;
use std::fmt;

use arrow_array::RecordBatch;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tarn_protocol::actions::{
    CheckpointMetadata, CommitInfo, DomainMetadata, Metadata, Protocol, Sidecar, Txn, dv_unique_id,
};

use crate::files::{AddFields, AddNumbers, DvFields, FileBatchBuilder, num_records_in_literal};

/// A file action of a parsed file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileAction {
    /// An `add`, by its row in [`ParsedActions::adds`].
    Add(usize),
    /// A `remove`, by its logical-file key.
    Remove {
        /// The removed path.
        path: String,
        /// The removed deletion vector's id.
        dv_id: Option<String>,
    },
}

/// The actions of one JSON log file.
#[derive(Debug)]
pub(crate) struct ParsedActions {
    /// Every `add`, in line order, in the canonical file schema.
    pub(crate) adds: RecordBatch,
    /// Every `add` and `remove`, in line order.
    pub(crate) file_actions: Vec<FileAction>,
    /// The last `protocol` action of the file.
    pub(crate) protocol: Option<Protocol>,
    /// The last `metaData` action of the file.
    pub(crate) metadata: Option<Metadata>,
    /// `txn` actions, in line order.
    pub(crate) txns: Vec<Txn>,
    /// `domainMetadata` actions, in line order.
    pub(crate) domain_metadata: Vec<DomainMetadata>,
    /// The `commitInfo` action.
    pub(crate) commit_info: Option<CommitInfo>,
    /// `sidecar` actions (v2 checkpoints only).
    pub(crate) sidecars: Vec<Sidecar>,
    /// The `checkpointMetadata` action (v2 checkpoints only).
    pub(crate) checkpoint_metadata: Option<CheckpointMetadata>,
}

/// A parse failure: the 1-based line and what is wrong.
#[derive(Debug)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Key-value pairs of a JSON object of strings, in document order.
type KvPairs<'a> = Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>;

#[derive(Default)]
struct KvList<'a>(KvPairs<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for KvList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KvVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for KvVisitor<'a> {
            type Value = KvList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(2));
                while let Some(key) = map.next_key::<BorrowedStr<'a>>()? {
                    let value = map.next_value::<Option<BorrowedStr<'a>>>()?;
                    pairs.push((key.0, value.map(|v| v.0)));
                }
                Ok(KvList(pairs))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(KvList(Vec::new()))
            }
        }
        deserializer.deserialize_any(KvVisitor(std::marker::PhantomData))
    }
}

/// A string that borrows from the input when it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = BorrowedStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DvRef<'a> {
    #[serde(borrow)]
    storage_type: Cow<'a, str>,
    #[serde(borrow)]
    path_or_inline_dv: Cow<'a, str>,
    #[serde(default)]
    offset: Option<i32>,
    size_in_bytes: i32,
    cardinality: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddRef<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
    #[serde(borrow, default)]
    partition_values: Option<KvList<'a>>,
    size: i64,
    modification_time: i64,
    /// Kept as the raw JSON string literal: unescaped only when statistics are kept.
    #[serde(borrow, default)]
    stats: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tags: Option<KvList<'a>>,
    #[serde(borrow, default)]
    deletion_vector: Option<DvRef<'a>>,
    #[serde(default)]
    base_row_id: Option<i64>,
    #[serde(default)]
    default_row_commit_version: Option<i64>,
    #[serde(borrow, default)]
    clustering_provider: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveRef<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
    #[serde(borrow, default)]
    deletion_vector: Option<DvRef<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineRef<'a> {
    #[serde(borrow, default)]
    add: Option<AddRef<'a>>,
    #[serde(borrow, default)]
    remove: Option<RemoveRef<'a>>,
    #[serde(borrow, default)]
    protocol: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "metaData")]
    metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    txn: Option<&'a RawValue>,
    #[serde(borrow, default)]
    domain_metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    commit_info: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sidecar: Option<&'a RawValue>,
    #[serde(borrow, default)]
    checkpoint_metadata: Option<&'a RawValue>,
}

fn parse_owned<'a, T: Deserialize<'a>>(raw: &'a RawValue, action: &str) -> Result<T, String> {
    serde_json::from_str(raw.get()).map_err(|e| format!("invalid {action} action: {e}"))
}

fn dv_fields<'a>(dv: &'a DvRef<'a>) -> DvFields<'a> {
    DvFields {
        storage_type: &dv.storage_type,
        path_or_inline_dv: &dv.path_or_inline_dv,
        offset: dv.offset,
        size_in_bytes: dv.size_in_bytes,
        cardinality: dv.cardinality,
    }
}

/// Parses a newline-delimited JSON log file. Per-column statistics are kept only when
/// `keep_stats` is set; the record count always is.
pub(crate) fn parse_actions(bytes: &[u8], keep_stats: bool) -> Result<ParsedActions, LineError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LineError {
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
        reason: format!("invalid UTF-8: {e}"),
    })?;
    let mut builder = FileBatchBuilder::new();
    let mut parsed = ParsedActions {
        adds: RecordBatch::new_empty(crate::files::file_schema()),
        file_actions: Vec::new(),
        protocol: None,
        metadata: None,
        txns: Vec::new(),
        domain_metadata: Vec::new(),
        commit_info: None,
        sidecars: Vec::new(),
        checkpoint_metadata: None,
    };
    for (index, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |reason: String| LineError {
            line: index + 1,
            reason,
        };
        let parsed_line: LineRef<'_> =
            serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        if let Some(add) = parsed_line.add {
            let no_pairs = KvPairs::new();
            let raw_stats = add.stats.map(RawValue::get).filter(|raw| *raw != "null");
            let num_records = raw_stats.and_then(num_records_in_literal);
            let stats: Option<String> = match raw_stats {
                Some(raw) if keep_stats => Some(
                    serde_json::from_str(raw)
                        .map_err(|e| err(format!("invalid add.stats: {e}")))?,
                ),
                _ => None,
            };
            AddNumbers {
                size: add.size,
                num_records,
                deletion_vector: add
                    .deletion_vector
                    .as_ref()
                    .map(|dv| (dv.size_in_bytes, dv.cardinality)),
            }
            .check(&add.path)
            .map_err(err)?;
            let fields = AddFields {
                path: &add.path,
                partition_values: add.partition_values.as_ref().map_or(&no_pairs, |kv| &kv.0),
                size: add.size,
                modification_time: add.modification_time,
                stats: stats.as_deref(),
                num_records,
                tags: add.tags.as_ref().map(|kv| kv.0.as_slice()),
                deletion_vector: add.deletion_vector.as_ref().map(dv_fields),
                base_row_id: add.base_row_id,
                default_row_commit_version: add.default_row_commit_version,
                clustering_provider: add.clustering_provider.as_deref(),
            };
            parsed.file_actions.push(FileAction::Add(builder.len()));
            builder
                .append(&fields)
                .map_err(|e| err(format!("invalid add action: {e}")))?;
        }
        if let Some(remove) = parsed_line.remove {
            let dv_id = remove
                .deletion_vector
                .as_ref()
                .map(|dv| dv_unique_id(&dv.storage_type, &dv.path_or_inline_dv, dv.offset));
            parsed.file_actions.push(FileAction::Remove {
                path: remove.path.into_owned(),
                dv_id,
            });
        }
        if let Some(raw) = parsed_line.protocol {
            parsed.protocol = Some(parse_owned(raw, "protocol").map_err(err)?);
        }
        if let Some(raw) = parsed_line.metadata {
            parsed.metadata = Some(parse_owned(raw, "metaData").map_err(err)?);
        }
        if let Some(raw) = parsed_line.txn {
            parsed.txns.push(parse_owned(raw, "txn").map_err(err)?);
        }
        if let Some(raw) = parsed_line.domain_metadata {
            parsed
                .domain_metadata
                .push(parse_owned(raw, "domainMetadata").map_err(err)?);
        }
        if let Some(raw) = parsed_line.commit_info {
            parsed.commit_info = Some(parse_owned(raw, "commitInfo").map_err(err)?);
        }
        if let Some(raw) = parsed_line.sidecar {
            parsed
                .sidecars
                .push(parse_owned(raw, "sidecar").map_err(err)?);
        }
        if let Some(raw) = parsed_line.checkpoint_metadata {
            parsed.checkpoint_metadata = Some(parse_owned(raw, "checkpointMetadata").map_err(err)?);
        }
    }
    parsed.adds = builder.finish().map_err(|e| LineError {
        line: 0,
        reason: format!("cannot assemble add actions: {e}"),
    })?;
    Ok(parsed)
}

/// Reads only the `commitInfo` of a commit file (history, timestamps): stops at the first
/// `commitInfo` line, which writers put first.
pub(crate) fn parse_commit_info(bytes: &[u8]) -> Result<Option<CommitInfo>, LineError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CommitInfoLine<'a> {
        #[serde(borrow, default)]
        commit_info: Option<&'a RawValue>,
    }
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let err = |reason: String| LineError {
            line: index + 1,
            reason,
        };
        let parsed: CommitInfoLine<'_> =
            serde_json::from_slice(line).map_err(|e| err(e.to_string()))?;
        if let Some(raw) = parsed.commit_info {
            return parse_owned(raw, "commitInfo").map(Some).map_err(err);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::ActiveFiles;

    const COMMIT: &str = concat!(
        r#"{"commitInfo":{"timestamp":1,"operation":"WRITE","inCommitTimestamp":5}}"#,
        "\n",
        r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#,
        "\n",
        r#"{"add":{"path":"day=2026-01-07/a%20b.parquet","partitionValues":{"day":"2026-01-07","x":null},"size":10,"modificationTime":2,"dataChange":true,"stats":"{\"numRecords\":3}"}}"#,
        "\n",
        r#"{"remove":{"path":"old.parquet","deletionTimestamp":3,"dataChange":true,"deletionVector":{"storageType":"u","pathOrInlineDv":"ab","offset":1,"sizeInBytes":4,"cardinality":1}}}"#,
        "\n",
        r#"{"add":{"path":"b.parquet","partitionValues":{},"size":20,"modificationTime":2,"dataChange":true,"tags":{"k":"v"},"deletionVector":{"storageType":"i","pathOrInlineDv":"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L","sizeInBytes":40,"cardinality":6}}}"#,
        "\n",
        r#"{"txn":{"appId":"app","version":7}}"#,
        "\n",
    );

    #[test]
    fn parses_adds_into_columns_and_keeps_line_order() {
        let parsed = parse_actions(COMMIT.as_bytes(), true).unwrap();
        assert_eq!(parsed.adds.num_rows(), 2);
        assert_eq!(
            parsed.file_actions,
            vec![
                FileAction::Add(0),
                FileAction::Remove {
                    path: "old.parquet".into(),
                    dv_id: Some("uab@1".into())
                },
                FileAction::Add(1),
            ]
        );
        assert_eq!(parsed.commit_info.unwrap().in_commit_timestamp, Some(5));
        assert_eq!(parsed.txns.len(), 1);
        let files = ActiveFiles::from_batches([parsed.adds]);
        let first = files.iter().next().unwrap();
        assert_eq!(first.path(), "day=2026-01-07/a%20b.parquet");
        assert_eq!(first.partition_value("day"), Some(Some("2026-01-07")));
        assert_eq!(first.partition_value("x"), Some(None));
        assert_eq!(first.partition_value("nope"), None);
        assert_eq!(first.num_records(), Some(3));
        assert!(first.tags().is_none());
        let second = files.iter().nth(1).unwrap();
        assert_eq!(second.deletion_vector_cardinality(), Some(6));
        assert_eq!(
            second.tags().unwrap().collect::<Vec<_>>(),
            vec![("k", Some("v"))]
        );
        assert_eq!(files.num_records(), None);
        let add = second.to_add();
        assert_eq!(add.deletion_vector.unwrap().offset, None);
    }

    #[test]
    fn statistics_are_dropped_unless_kept_but_the_record_count_stays() {
        let parsed = parse_actions(COMMIT.as_bytes(), false).unwrap();
        let files = ActiveFiles::from_batches([parsed.adds]);
        let first = files.iter().next().unwrap();
        assert_eq!(first.stats(), None);
        assert_eq!(first.num_records(), Some(3));
        let kept = parse_actions(COMMIT.as_bytes(), true).unwrap();
        let files = ActiveFiles::from_batches([kept.adds]);
        assert_eq!(
            files.iter().next().unwrap().stats(),
            Some(r#"{"numRecords":3}"#)
        );
    }

    #[test]
    fn truncated_line_reports_its_number() {
        let text = format!("{}\n{{\"add\":{{\"path\":\"x\"", r#"{"commitInfo":{}}"#);
        let err = parse_actions(text.as_bytes(), true).unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn add_missing_size_is_an_error() {
        let err = parse_actions(
            br#"{"add":{"path":"x","modificationTime":1,"dataChange":true}}"#,
            true,
        )
        .unwrap_err();
        assert!(err.reason.contains("size"), "{}", err.reason);
    }

    #[test]
    fn commit_info_only() {
        let info = parse_commit_info(COMMIT.as_bytes()).unwrap().unwrap();
        assert_eq!(info.operation.as_deref(), Some("WRITE"));
        assert!(
            parse_commit_info(b"{\"txn\":{\"appId\":\"a\",\"version\":1}}\n")
                .unwrap()
                .is_none()
        );
    }
}
