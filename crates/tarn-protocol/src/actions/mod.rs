//! The actions of the Delta transaction log, as plain serde types.
//!
//! Each line of a commit file (`_delta_log/<version>.json`) is one JSON object with exactly one
//! key naming the action (`add`, `remove`, `metaData`, ...). Checkpoints hold the same actions as
//! one column per action type. These types mirror the protocol's field names exactly (see
//! PROTOCOL.md, "Actions") so that a round trip through them loses nothing a Delta reader needs.
//!
//! Unknown fields are ignored on read, and unknown action types are skipped: the protocol lets
//! newer writers add both, and readers that refuse them would break on every new Delta release.
//! What a table *requires* of a reader is stated by its protocol action, checked in
//! [`crate::features`], not by the presence of unknown keys here.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ProtocolError;
use crate::features::TableFeature;

/// Map of partition column (physical name) to its serialized value; `None` is a null value.
pub type PartitionValues = BTreeMap<String, Option<String>>;

/// Free-form string tags carried by file actions.
pub type Tags = BTreeMap<String, Option<String>>;

/// The `protocol` action: the reader and writer versions (and, from reader 3 / writer 7, the
/// named features) a client must support to read or write the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Minimum reader protocol version (1, 2 or 3).
    pub min_reader_version: i32,
    /// Minimum writer protocol version (1 to 7).
    pub min_writer_version: i32,
    /// Named reader features; present only when `min_reader_version` is 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<TableFeature>>,
    /// Named writer features; present only when `min_writer_version` is 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<TableFeature>>,
}

/// The `format` field of [`Metadata`]: the data file format and its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Always `parquet` for Delta tables.
    pub provider: String,
    /// Format options; empty in practice.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl Default for Format {
    fn default() -> Self {
        Self {
            provider: "parquet".to_owned(),
            options: BTreeMap::new(),
        }
    }
}

/// The `metaData` action: the table's identity, schema, partitioning and properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Unique table id (a UUID in practice).
    pub id: String,
    /// Optional user-facing name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional user-facing description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Data file format.
    #[serde(default)]
    pub format: Format,
    /// The table schema as Delta schema JSON (see [`crate::schema`]). Read leniently (absent
    /// means empty) so that an old, superseded metadata action without a schema does not make
    /// later versions unreadable; an empty schema fails when the snapshot parses it.
    #[serde(default)]
    pub schema_string: String,
    /// Partition columns, by logical name, in partition order.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Creation time in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
    /// Table properties (`delta.*` and user keys). Null values, which some writers emit, are
    /// dropped on read.
    #[serde(default, deserialize_with = "deserialize_string_map_skip_nulls")]
    pub configuration: BTreeMap<String, String>,
}

/// Where a deletion vector is stored (PROTOCOL.md, "Deletion Vector Descriptor Schema").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeletionVectorStorage {
    /// `u`: a file in the table directory named from a (prefixed) base85-encoded UUID.
    RelativeUuid,
    /// `i`: the bitmap itself, base85-encoded, inline in the descriptor.
    Inline,
    /// `p`: an absolute path.
    AbsolutePath,
}

impl DeletionVectorStorage {
    /// The one-letter code used in the log.
    pub fn code(self) -> &'static str {
        match self {
            Self::RelativeUuid => "u",
            Self::Inline => "i",
            Self::AbsolutePath => "p",
        }
    }

    /// Parses the one-letter code used in the log.
    pub fn from_code(code: &str) -> Result<Self, ProtocolError> {
        match code {
            "u" => Ok(Self::RelativeUuid),
            "i" => Ok(Self::Inline),
            "p" => Ok(Self::AbsolutePath),
            other => Err(ProtocolError::InvalidDeletionVector {
                reason: format!("unknown storage type {other:?} (expected u, i or p)"),
            }),
        }
    }
}

/// A deletion vector descriptor, attached to `add` and `remove` actions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVectorDescriptor {
    /// `u`, `i` or `p`; see [`DeletionVectorStorage`].
    pub storage_type: String,
    /// The encoded UUID (with optional random prefix), the inline bitmap, or the absolute path.
    pub path_or_inline_dv: String,
    /// Byte offset of the vector inside its file; absent for inline vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// Size of the serialized vector in bytes.
    pub size_in_bytes: i32,
    /// Number of rows the vector marks as deleted.
    pub cardinality: i64,
}

impl DeletionVectorDescriptor {
    /// The storage kind named by `storage_type`.
    pub fn storage(&self) -> Result<DeletionVectorStorage, ProtocolError> {
        DeletionVectorStorage::from_code(&self.storage_type)
    }

    /// The protocol's `uniqueId`: `storageType || pathOrInlineDv`, plus `@offset` when an
    /// offset is present. Together with the file path it identifies a logical file.
    pub fn unique_id(&self) -> String {
        dv_unique_id(&self.storage_type, &self.path_or_inline_dv, self.offset)
    }
}

/// Builds a deletion vector `uniqueId` from its parts (see
/// [`DeletionVectorDescriptor::unique_id`]); used where the parts come from columnar data.
pub fn dv_unique_id(storage_type: &str, path_or_inline_dv: &str, offset: Option<i32>) -> String {
    match offset {
        Some(offset) => format!("{storage_type}{path_or_inline_dv}@{offset}"),
        None => format!("{storage_type}{path_or_inline_dv}"),
    }
}

/// The `add` action: a data file (and optional deletion vector) that is part of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// Relative (URL-encoded) or absolute URI of the data file.
    pub path: String,
    /// Partition values by physical partition column name.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// File size in bytes.
    pub size: i64,
    /// Modification time in milliseconds since the epoch.
    pub modification_time: i64,
    /// Whether the file changes the table's data (false for compaction).
    pub data_change: bool,
    /// Per-file statistics as a JSON string (PROTOCOL.md, "Per-file Statistics").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// The rows of the file that are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// Row tracking: the first row id of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Row tracking: the commit version that first added the file's rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
    /// Clustered tables: the clustering implementation that laid out the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering_provider: Option<String>,
}

/// The `remove` action: a logical file that is no longer part of the table (a tombstone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    /// Path of the removed file, as in its `add`.
    pub path: String,
    /// When the file was removed, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    /// Whether the removal changes the table's data.
    pub data_change: bool,
    /// Whether the fields below were filled in from the `add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    /// Partition values of the removed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<PartitionValues>,
    /// Size of the removed file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Statistics of the removed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// Tags of the removed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// The deletion vector of the logical file being removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorDescriptor>,
    /// Row tracking: the first row id of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_row_id: Option<i64>,
    /// Row tracking: the commit version that first added the file's rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_row_commit_version: Option<i64>,
}

/// The `cdc` action: a change data file for this version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddCdcFile {
    /// Path of the change data file.
    pub path: String,
    /// Partition values by physical partition column name.
    #[serde(default)]
    pub partition_values: PartitionValues,
    /// File size in bytes.
    pub size: i64,
    /// Always false for change data files.
    #[serde(default)]
    pub data_change: bool,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// The `txn` action: the latest version an application committed (idempotent writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    /// Application id.
    pub app_id: String,
    /// The application's own version counter.
    pub version: i64,
    /// When the transaction was committed, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<i64>,
}

/// The `commitInfo` action: provenance of a commit. Only a few fields have protocol meaning
/// (`inCommitTimestamp`); the rest is informational and kept verbatim in `other`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// Wall-clock time of the commit in milliseconds since the epoch, as the writer saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The monotonic commit timestamp, present when the `inCommitTimestamp` feature is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_commit_timestamp: Option<i64>,
    /// Operation name, e.g. `WRITE`, `DELETE`, `OPTIMIZE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Operation parameters. Spark writes string values; other writers write JSON values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    /// Operation metrics (row and file counts, durations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_metrics: Option<serde_json::Map<String, serde_json::Value>>,
    /// The writing engine, e.g. `tarn/0.1.0` or `Apache-Spark/3.5.0 Delta-Lake/3.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_info: Option<String>,
    /// A unique id of the transaction; tarn uses it to recognise its own commits on retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn_id: Option<String>,
    /// The version the transaction read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_version: Option<i64>,
    /// Isolation level the transaction ran at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_level: Option<String>,
    /// Whether the commit only appended data without reading the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_blind_append: Option<bool>,
    /// Any other fields, kept verbatim.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `domainMetadata` action: configuration owned by a named domain (e.g. `delta.clustering`
/// or tarn's `tarn.archive`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainMetadata {
    /// Domain name; `delta.*` domains are reserved for the protocol.
    pub domain: String,
    /// The domain's configuration, usually a JSON document serialized as a string.
    pub configuration: String,
    /// True when this action removes the domain.
    #[serde(default)]
    pub removed: bool,
}

/// The `sidecar` action of a v2 checkpoint: a file holding part of the checkpoint's file actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// Path of the sidecar file, relative to `_delta_log/_sidecars/` or absolute.
    pub path: String,
    /// Size of the sidecar file in bytes.
    pub size_in_bytes: i64,
    /// Modification time in milliseconds since the epoch.
    pub modification_time: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// The `checkpointMetadata` action of a v2 checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointMetadata {
    /// The table version the checkpoint describes.
    pub version: i64,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// One action of the log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// `protocol`
    Protocol(Protocol),
    /// `metaData`
    Metadata(Metadata),
    /// `add`
    Add(Add),
    /// `remove`
    Remove(Remove),
    /// `cdc`
    Cdc(AddCdcFile),
    /// `txn`
    Txn(Txn),
    /// `commitInfo`
    CommitInfo(CommitInfo),
    /// `domainMetadata`
    DomainMetadata(DomainMetadata),
    /// `sidecar`
    Sidecar(Sidecar),
    /// `checkpointMetadata`
    CheckpointMetadata(CheckpointMetadata),
}

/// The wire shape of one log line: an object with one key per action type. Deserializing into
/// a struct of options (rather than an externally tagged enum) ignores action types this
/// version does not know, as the protocol requires of readers.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<Protocol>,
    #[serde(default, rename = "metaData", skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    add: Option<Add>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remove: Option<Remove>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cdc: Option<AddCdcFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    txn: Option<Txn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit_info: Option<CommitInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    domain_metadata: Option<DomainMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sidecar: Option<Sidecar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint_metadata: Option<CheckpointMetadata>,
}

impl ActionLine {
    fn into_action(self) -> Result<Option<Action>, usize> {
        let mut found: Vec<Action> = Vec::with_capacity(1);
        if let Some(a) = self.protocol {
            found.push(Action::Protocol(a));
        }
        if let Some(a) = self.metadata {
            found.push(Action::Metadata(a));
        }
        if let Some(a) = self.add {
            found.push(Action::Add(a));
        }
        if let Some(a) = self.remove {
            found.push(Action::Remove(a));
        }
        if let Some(a) = self.cdc {
            found.push(Action::Cdc(a));
        }
        if let Some(a) = self.txn {
            found.push(Action::Txn(a));
        }
        if let Some(a) = self.commit_info {
            found.push(Action::CommitInfo(a));
        }
        if let Some(a) = self.domain_metadata {
            found.push(Action::DomainMetadata(a));
        }
        if let Some(a) = self.sidecar {
            found.push(Action::Sidecar(a));
        }
        if let Some(a) = self.checkpoint_metadata {
            found.push(Action::CheckpointMetadata(a));
        }
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => Err(n),
        }
    }
}

impl Action {
    /// Parses one line of a commit file. Returns `Ok(None)` for a blank line or an action type
    /// this version does not know.
    pub fn from_json_line(line: &str) -> Result<Option<Self>, ProtocolError> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let wire: ActionLine =
            serde_json::from_str(line).map_err(|source| ProtocolError::InvalidAction {
                reason: source.to_string(),
            })?;
        wire.into_action()
            .map_err(|n| ProtocolError::InvalidAction {
                reason: format!("a log line must hold one action, this one holds {n}"),
            })
    }

    /// Serializes the action as one log line (without the trailing newline).
    pub fn to_json_line(&self) -> Result<String, ProtocolError> {
        let mut wire = ActionLine::default();
        match self.clone() {
            Action::Protocol(a) => wire.protocol = Some(a),
            Action::Metadata(a) => wire.metadata = Some(a),
            Action::Add(a) => wire.add = Some(a),
            Action::Remove(a) => wire.remove = Some(a),
            Action::Cdc(a) => wire.cdc = Some(a),
            Action::Txn(a) => wire.txn = Some(a),
            Action::CommitInfo(a) => wire.commit_info = Some(a),
            Action::DomainMetadata(a) => wire.domain_metadata = Some(a),
            Action::Sidecar(a) => wire.sidecar = Some(a),
            Action::CheckpointMetadata(a) => wire.checkpoint_metadata = Some(a),
        }
        serde_json::to_string(&wire).map_err(|source| ProtocolError::InvalidAction {
            reason: source.to_string(),
        })
    }

    /// The protocol's name of this action type (`add`, `metaData`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Protocol(_) => "protocol",
            Action::Metadata(_) => "metaData",
            Action::Add(_) => "add",
            Action::Remove(_) => "remove",
            Action::Cdc(_) => "cdc",
            Action::Txn(_) => "txn",
            Action::CommitInfo(_) => "commitInfo",
            Action::DomainMetadata(_) => "domainMetadata",
            Action::Sidecar(_) => "sidecar",
            Action::CheckpointMetadata(_) => "checkpointMetadata",
        }
    }
}

/// Parses a whole commit file (newline-delimited JSON). Errors carry the 1-based line number.
pub fn parse_commit(text: &str) -> Result<Vec<Action>, ProtocolError> {
    parse_lines(text, |_| true)
}

/// Parses the lines of a commit file that `wanted` picks. Errors carry the 1-based line
/// number.
fn parse_lines(text: &str, wanted: impl Fn(&str) -> bool) -> Result<Vec<Action>, ProtocolError> {
    let mut actions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if !wanted(line) {
            continue;
        }
        match Action::from_json_line(line) {
            Ok(Some(action)) => actions.push(action),
            Ok(None) => {}
            Err(ProtocolError::InvalidAction { reason }) => {
                return Err(ProtocolError::InvalidCommitLine {
                    line: index + 1,
                    reason,
                });
            }
            Err(other) => return Err(other),
        }
    }
    Ok(actions)
}

/// Parses the actions of a commit file whose type is one of `kinds` (protocol names, as
/// [`Action::kind`] gives them), skipping the other lines unparsed: a reader that needs the
/// `remove`s of a commit need not decode its `add`s and their statistics. A line is judged by
/// its first key ([`action_key`]); a line whose key is not plain text (escaped) is skipped,
/// so a caller gets at most the actions it asked for. Errors carry the 1-based line number.
pub fn parse_commit_actions(text: &str, kinds: &[&str]) -> Result<Vec<Action>, ProtocolError> {
    parse_lines(text, |line| {
        action_key(line.as_bytes())
            .is_some_and(|key| kinds.iter().any(|kind| kind.as_bytes() == key))
    })
}

/// The first key of a JSON object line, unescaped bytes as written (`remove` in
/// `{"remove":{...}}`): in a commit file, the type of the line's action. `None` when the line
/// is not an object starting with a key.
pub fn action_key(line: &[u8]) -> Option<&[u8]> {
    let skip = |from: usize| {
        line.get(from..)?
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|p| p + from)
    };
    let open = skip(0)?;
    if line[open] != b'{' {
        return None;
    }
    let quote = skip(open + 1)?;
    if line[quote] != b'"' {
        return None;
    }
    let start = quote + 1;
    let len = line[start..].iter().position(|b| *b == b'"')?;
    Some(&line[start..start + len])
}

/// Serializes actions as a commit file: one line per action, each ending in a newline.
pub fn format_commit(actions: &[Action]) -> Result<String, ProtocolError> {
    let mut out = String::new();
    for action in actions {
        out.push_str(&action.to_json_line()?);
        out.push('\n');
    }
    Ok(out)
}

fn deserialize_string_map_skip_nulls<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Option<String>>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

#[cfg(test)]
mod roundtrip_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_from_lines() {
        assert_eq!(
            action_key(br#"{"remove":{"path":"a"}}"#),
            Some(&b"remove"[..])
        );
        assert_eq!(action_key(br#"  { "add" : {}}"#), Some(&b"add"[..]));
        assert_eq!(action_key(b""), None);
        assert_eq!(action_key(b"   "), None);
        assert_eq!(action_key(b"{"), None);
        assert_eq!(action_key(b"{\"unterminated"), None);
        assert_eq!(action_key(b"[1]"), None);
        assert_eq!(action_key(b"{}"), None);
    }

    #[test]
    fn only_the_actions_asked_for_are_parsed() {
        let text = concat!(
            r#"{"commitInfo":{"operation":"DELETE"}}"#,
            "\n",
            r#"{"add":{"path":"a.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}"#,
            "\n",
            // Not parsed: a broken add does not fail a reader of removes.
            r#"{"add":{"path":"#,
            "\n",
            r#"{"remove":{"path":"b.parquet","deletionTimestamp":5,"dataChange":true}}"#,
            "\n",
            // An escaped key is not taken for the action it spells.
            r#"{"\u0072emove":{"path":"c.parquet","dataChange":true}}"#,
            "\n",
        );
        let actions = parse_commit_actions(text, &["remove", "commitInfo"]).unwrap();
        let kinds: Vec<&str> = actions.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["commitInfo", "remove"]);
        let Action::Remove(remove) = &actions[1] else {
            panic!("expected a remove");
        };
        assert_eq!(remove.path, "b.parquet");
        // A wanted line that does not parse is an error naming its line.
        let broken = "{\"remove\":{\"path\":1}}\n";
        let err = parse_commit_actions(&format!("\n{broken}"), &["remove"]).unwrap_err();
        assert!(
            matches!(err, ProtocolError::InvalidCommitLine { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn parses_spark_add_with_dv() {
        let line = r#"{"add":{"path":"part-00000.parquet","partitionValues":{},"size":635,"modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":10}","tags":{"INSERTION_TIME":"1"},"deletionVector":{"storageType":"u","pathOrInlineDv":"vBn[lx{q8@P<9BNH/isA","offset":1,"sizeInBytes":36,"cardinality":2}}}"#;
        let Some(Action::Add(add)) = Action::from_json_line(line).unwrap() else {
            panic!("expected an add");
        };
        let dv = add.deletion_vector.as_ref().unwrap();
        assert_eq!(dv.storage().unwrap(), DeletionVectorStorage::RelativeUuid);
        assert_eq!(dv.unique_id(), "uvBn[lx{q8@P<9BNH/isA@1");
        assert_eq!(add.stats.as_deref(), Some(r#"{"numRecords":10}"#));
    }

    #[test]
    fn unknown_action_and_fields_are_ignored() {
        assert_eq!(
            Action::from_json_line(r#"{"futureAction":{"x":1}}"#).unwrap(),
            None
        );
        let line = r#"{"txn":{"appId":"a","version":3,"newField":true}}"#;
        assert!(matches!(
            Action::from_json_line(line).unwrap(),
            Some(Action::Txn(Txn { version: 3, .. }))
        ));
    }

    #[test]
    fn two_actions_on_one_line_is_an_error() {
        let line = r#"{"txn":{"appId":"a","version":3},"commitInfo":{}}"#;
        assert!(Action::from_json_line(line).is_err());
    }

    #[test]
    fn truncated_line_reports_line_number() {
        let text = "{\"commitInfo\":{}}\n{\"add\":{\"path\":\"a\"";
        match parse_commit(text) {
            Err(ProtocolError::InvalidCommitLine { line, .. }) => assert_eq!(line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn metadata_configuration_drops_nulls() {
        let line = r#"{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":[],"configuration":{"a":"1","b":null}}}"#;
        let Some(Action::Metadata(m)) = Action::from_json_line(line).unwrap() else {
            panic!("expected metadata");
        };
        assert_eq!(m.configuration.len(), 1);
    }
}
