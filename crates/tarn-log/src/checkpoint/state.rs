//! The table state a checkpoint is written from: version, log segment, protocol, metadata,
//! schema, transactions and domain metadata; everything but the files.
//!
//! It comes from a snapshot, or, for a checkpoint of the latest version written without a
//! snapshot, from a scan of the log segment that reads only the non-file actions: in commits,
//! every line whose action is not `add`, `remove`, `cdc` or `commitInfo` (told by its first key,
//! without parsing the rest of the line); in a checkpoint, its non-file columns. The files
//! themselves are then streamed by the write (see `stream`). This module decides what state a
//! checkpoint needs and checks it as a snapshot load would (readable protocol, a metadata
//! whose schema parses and names its partition columns); it never reads a file action.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use tarn_protocol::ProtocolError;
use tarn_protocol::actions::{Action, DomainMetadata, Metadata, Protocol, Txn, action_key};
use tarn_protocol::features::check_log_readable;
use tarn_protocol::log_path::{CheckpointFormat, CheckpointName, LogFileKind, Version};
use tarn_protocol::replay::StateReplay;
use tarn_protocol::schema::{ColumnMappingMode, StructType};

use super::parquet::read_non_file_actions;
use super::read::corrupt;
use crate::error::{LogError, LogResult};
use crate::location::TableLocation;
use crate::segment::{LogSegment, load_segment};
use crate::snapshot::Snapshot;

/// Commit files fetched at once by the scan.
const COMMIT_CONCURRENCY: usize = 4;

/// What a checkpoint is written from, besides the files.
#[derive(Debug, Clone)]
pub(super) struct TableState {
    location: Arc<TableLocation>,
    segment: LogSegment,
    protocol: Protocol,
    metadata: Metadata,
    schema: StructType,
    column_mapping: ColumnMappingMode,
    txns: BTreeMap<String, Txn>,
    domain_metadata: BTreeMap<String, DomainMetadata>,
}

impl TableState {
    /// The state of a snapshot.
    pub(super) fn of_snapshot(snapshot: &Snapshot) -> Self {
        Self {
            location: Arc::clone(snapshot.location()),
            segment: snapshot.segment().clone(),
            protocol: snapshot.protocol().clone(),
            metadata: snapshot.metadata().clone(),
            schema: snapshot.schema().clone(),
            column_mapping: snapshot.column_mapping_mode(),
            txns: snapshot.txns().clone(),
            domain_metadata: snapshot.domain_metadata().clone(),
        }
    }

    /// The state of the table's latest version, from its non-file actions (see the module
    /// doc).
    pub(super) async fn latest(location: Arc<TableLocation>) -> LogResult<Self> {
        let segment = load_segment(&location, None).await?;
        let mut replay = StateReplay::new();
        let loc = location.as_ref();
        let mut commits = futures::stream::iter(segment.commits.iter().rev().cloned())
            .map(|commit| async move {
                let version = commit.name.version;
                let path = commit.file.path;
                let bytes = get_bytes(loc, &path).await?;
                let shown = loc.display_path(&path);
                tokio::task::spawn_blocking(move || non_file_lines(&bytes))
                    .await?
                    .map_err(|reason| LogError::CorruptCommit {
                        version,
                        path: shown,
                        reason,
                    })
            })
            .buffered(COMMIT_CONCURRENCY);
        while let Some(actions) = commits.try_next().await? {
            // Newest line first.
            for action in actions.iter().rev() {
                replay.observe(action);
            }
        }
        drop(commits);
        if let Some(checkpoint) = &segment.checkpoint {
            let version = checkpoint.version;
            let mut found = (false, false);
            for part in &checkpoint.parts {
                let path = &part.file.path;
                let shown = location.display_path(path);
                let json = matches!(
                    &part.name.kind,
                    LogFileKind::Checkpoint(CheckpointName::V2 {
                        format: CheckpointFormat::Json,
                        ..
                    })
                );
                let actions = if json {
                    let bytes = get_bytes(&location, path).await?;
                    non_file_lines(&bytes).map_err(|e| corrupt(version, &shown, e))?
                } else {
                    read_non_file_actions(&location, version, path, part.file.size).await?
                };
                for action in &actions {
                    found.0 |= matches!(action, Action::Protocol(_));
                    found.1 |= matches!(action, Action::Metadata(_));
                    replay.observe(action);
                }
            }
            let shown = checkpoint
                .parts
                .first()
                .map(|p| location.display_path(&p.file.path))
                .unwrap_or_default();
            for (present, missing) in [(found.0, "protocol"), (found.1, "metaData")] {
                if !present {
                    return Err(LogError::IncompleteCheckpoint {
                        version,
                        path: shown.clone(),
                        missing,
                    });
                }
            }
        }
        Self::assemble(location, segment, replay)
    }

    /// Checks the replayed state as a snapshot load does.
    fn assemble(
        location: Arc<TableLocation>,
        segment: LogSegment,
        replay: StateReplay,
    ) -> LogResult<Self> {
        let version = segment.version;
        let state = replay.finish();
        let missing = |missing| LogError::MissingAction {
            location: location.to_string(),
            version,
            missing,
        };
        let protocol = state.protocol.ok_or_else(|| missing("protocol"))?;
        check_log_readable(&protocol).map_err(|source| LogError::Unsupported {
            location: location.to_string(),
            version,
            source: Box::new(source),
        })?;
        let metadata = state.metadata.ok_or_else(|| missing("metaData"))?;
        let invalid = |source| LogError::InvalidMetadata {
            location: location.to_string(),
            version,
            source: Box::new(source),
        };
        let schema = StructType::from_json(&metadata.schema_string).map_err(invalid)?;
        let column_mapping =
            ColumnMappingMode::from_configuration(&metadata.configuration).map_err(invalid)?;
        for column in &metadata.partition_columns {
            if schema.field(column).is_none() {
                return Err(invalid(ProtocolError::InvalidMetadata {
                    reason: format!("partition column `{column}` is not in the schema"),
                }));
            }
        }
        Ok(Self {
            location,
            segment,
            protocol,
            metadata,
            schema,
            column_mapping,
            txns: state.txns,
            domain_metadata: state.domain_metadata,
        })
    }

    /// The table location.
    pub(super) fn location(&self) -> &Arc<TableLocation> {
        &self.location
    }

    /// The version.
    pub(super) fn version(&self) -> Version {
        self.segment.version
    }

    /// The log segment of the version.
    pub(super) fn segment(&self) -> &LogSegment {
        &self.segment
    }

    /// The protocol.
    pub(super) fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// The metadata.
    pub(super) fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The schema (logical names).
    pub(super) fn schema(&self) -> &StructType {
        &self.schema
    }

    /// Partition columns, by logical name.
    pub(super) fn partition_columns(&self) -> &[String] {
        &self.metadata.partition_columns
    }

    /// The column mapping mode.
    pub(super) fn column_mapping_mode(&self) -> ColumnMappingMode {
        self.column_mapping
    }

    /// Partition columns as `(logical name, physical name)`.
    pub(super) fn partition_column_names(&self) -> Vec<(&str, &str)> {
        self.metadata
            .partition_columns
            .iter()
            .map(|logical| {
                let physical = self
                    .schema
                    .field(logical)
                    .map_or(logical.as_str(), |f| f.physical_name(self.column_mapping));
                (logical.as_str(), physical)
            })
            .collect()
    }

    /// Table properties.
    pub(super) fn properties(&self) -> &BTreeMap<String, String> {
        &self.metadata.configuration
    }

    /// The newest `txn` of each application.
    pub(super) fn txns(&self) -> &BTreeMap<String, Txn> {
        &self.txns
    }

    /// The domain metadata.
    pub(super) fn domain_metadata(&self) -> &BTreeMap<String, DomainMetadata> {
        &self.domain_metadata
    }
}

/// The non-file actions of a JSON log file, in line order. Lines whose first key names a file
/// action or `commitInfo` are skipped unparsed; every other line is parsed (a malformed one is
/// an error, as in a snapshot load).
pub(super) fn non_file_lines(bytes: &[u8]) -> Result<Vec<Action>, String> {
    let mut actions = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if matches!(
            action_key(line),
            Some(b"add" | b"remove" | b"cdc" | b"commitInfo")
        ) {
            continue;
        }
        let text = std::str::from_utf8(line).map_err(|e| format!("line {}: {e}", index + 1))?;
        if let Some(action) =
            Action::from_json_line(text).map_err(|e| format!("line {}: {e}", index + 1))?
        {
            actions.push(action);
        }
    }
    Ok(actions)
}

async fn get_bytes(location: &TableLocation, path: &Path) -> LogResult<bytes::Bytes> {
    location
        .store()
        .get(path)
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))
}
