//! Reading checkpoints: classic and multi-part Parquet, v2 (JSON or Parquet, with sidecars).
//!
//! Parquet checkpoints are read with a column projection: the `add` fields tarn keeps, and the
//! non-file actions; never `remove` (tombstones do not affect the active files) nor
//! `stats_parsed` unless a checkpoint has no JSON stats. Rows are filtered against the replay of
//! newer commits as they are decoded, so a checkpoint is never held whole in memory.

use std::sync::Arc;

use arrow_array::BooleanArray;
use arrow_select::filter::filter_record_batch;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use tarn_protocol::actions::{
    CheckpointMetadata, DomainMetadata, Metadata, Protocol, Sidecar, Txn,
};
use tarn_protocol::data_path::DataFilePath;
use tarn_protocol::log_path::{
    CheckpointFormat, CheckpointName, LogFileKind, SIDECAR_DIR, Version,
};
use tarn_protocol::log_segment::CheckpointPlan;
use tarn_protocol::replay::FileReplay;

use super::parquet::read_parquet_part;
use crate::actions_json::parse_actions;
use crate::error::{LogError, LogResult};
use crate::files::{ActiveFiles, BatchKeys};
use crate::location::TableLocation;
use crate::segment::LogFile;
use crate::stores::PathResolver;

/// How many checkpoint parts or sidecars to read at once.
const PART_CONCURRENCY: usize = 8;

/// What a checkpoint contributes to a snapshot.
#[derive(Debug, Default)]
pub(crate) struct CheckpointState {
    /// Live `add` rows (not referenced by any newer commit), canonical schema.
    pub(crate) adds: ActiveFiles,
    /// The checkpoint's protocol.
    pub(crate) protocol: Option<Protocol>,
    /// The checkpoint's metadata.
    pub(crate) metadata: Option<Metadata>,
    /// Application transactions.
    pub(crate) txns: Vec<Txn>,
    /// Domain metadata.
    pub(crate) domain_metadata: Vec<DomainMetadata>,
}

impl CheckpointState {
    fn merge(&mut self, other: PartState) {
        self.adds.append(other.adds);
        if other.protocol.is_some() {
            self.protocol = other.protocol;
        }
        if other.metadata.is_some() {
            self.metadata = other.metadata;
        }
        self.txns.extend(other.txns);
        self.domain_metadata.extend(other.domain_metadata);
    }
}

/// What one checkpoint file holds.
#[derive(Debug, Default)]
pub(super) struct PartState {
    pub(super) adds: ActiveFiles,
    pub(super) protocol: Option<Protocol>,
    pub(super) metadata: Option<Metadata>,
    pub(super) txns: Vec<Txn>,
    pub(super) domain_metadata: Vec<DomainMetadata>,
    pub(super) sidecars: Vec<Sidecar>,
    pub(super) checkpoint_metadata: Option<CheckpointMetadata>,
}

/// What every file of one checkpoint is read with.
#[derive(Clone, Copy)]
pub(super) struct PartReader<'a> {
    pub(super) location: &'a TableLocation,
    pub(super) version: Version,
    pub(super) replay: &'a FileReplay,
    pub(super) keep_stats: bool,
}

/// Reads every file of a checkpoint (and its sidecars), keeping the adds that no newer commit
/// referenced.
///
/// Boxed so that its `Send`-ness is proven here, for these lifetimes: left to inference, rustc
/// asks for it for every lifetime of the borrowed reader, fails, and callers could not spawn
/// a snapshot load or a checkpoint.
pub(crate) fn read_checkpoint<'a>(
    location: &'a TableLocation,
    checkpoint: &'a CheckpointPlan<LogFile>,
    replay: &'a FileReplay,
    keep_stats: bool,
) -> BoxFuture<'a, LogResult<CheckpointState>> {
    read_checkpoint_inner(location, checkpoint, replay, keep_stats).boxed()
}

async fn read_checkpoint_inner(
    location: &TableLocation,
    checkpoint: &CheckpointPlan<LogFile>,
    replay: &FileReplay,
    keep_stats: bool,
) -> LogResult<CheckpointState> {
    let version = checkpoint.version;
    let reader = PartReader {
        location,
        version,
        replay,
        keep_stats,
    };
    // Owned items: a closure over references would make the future not `Send` for every
    // lifetime, and callers could not spawn it.
    let parts: Vec<PartState> = futures::stream::iter(checkpoint.parts.iter().cloned())
        .map(|part| async move {
            let format = match &part.name.kind {
                LogFileKind::Checkpoint(CheckpointName::V2 {
                    format: CheckpointFormat::Json,
                    ..
                }) => CheckpointFormat::Json,
                _ => CheckpointFormat::Parquet,
            };
            reader
                .read_part(&part.file.path, part.file.size, format, true)
                .await
        })
        .buffered(PART_CONCURRENCY)
        .try_collect()
        .await?;

    let mut state = CheckpointState::default();
    let mut sidecars = Vec::new();
    for (mut part, file) in parts.into_iter().zip(&checkpoint.parts) {
        if let Some(meta) = &part.checkpoint_metadata
            && u64::try_from(meta.version).ok() != Some(version)
        {
            return Err(corrupt(
                version,
                &location.display_path(&file.file.path),
                format!("checkpointMetadata names version {}", meta.version),
            ));
        }
        sidecars.append(&mut part.sidecars);
        state.merge(part);
    }
    let sidecar_parts: Vec<PartState> = futures::stream::iter(sidecars.iter().cloned())
        .map(|sidecar| async move {
            let path = sidecar_path(location, version, &sidecar.path)?;
            // The size recorded in the sidecar action is not trusted for locating the footer:
            // one HEAD per sidecar is cheap, and a wrong size would make a readable file look
            // corrupt.
            let size = location
                .store()
                .head(&path)
                .await
                .map_err(|e| LogError::storage(location.display_path(&path), e))?
                .size;
            reader
                .read_part(&path, size, CheckpointFormat::Parquet, false)
                .await
        })
        .buffered(PART_CONCURRENCY)
        .try_collect()
        .await?;
    for part in sidecar_parts {
        state.merge(part);
    }
    Ok(state)
}

/// Resolves a sidecar's path: a file name in `_delta_log/_sidecars/`, or an absolute URI
/// (or `/`-rooted path) inside the table's root. Sidecars are part of the log, so a
/// registered or declared location does not count for them: anywhere else is
/// `PathOutsideTable` (or `UnregisteredStore`), and nothing is opened there.
pub(super) fn sidecar_path(
    location: &TableLocation,
    version: Version,
    sidecar: &str,
) -> LogResult<Path> {
    if !(sidecar.contains("://") || sidecar.starts_with('/')) {
        return Ok(location.log_dir().join(SIDECAR_DIR).join(sidecar));
    }
    let path = DataFilePath::parse(sidecar)
        .map_err(|e| corrupt(version, sidecar, format!("sidecar path: {e}")))?;
    PathResolver::for_location(Arc::new(location.clone()))
        .resolve_in_table(&path)
        .map(|resolved| resolved.path().clone())
}

impl PartReader<'_> {
    async fn read_part(
        self,
        path: &Path,
        size: u64,
        format: CheckpointFormat,
        non_file_actions: bool,
    ) -> LogResult<PartState> {
        match format {
            CheckpointFormat::Json => read_json_part(self, path).await,
            CheckpointFormat::Parquet => {
                read_parquet_part(self, path, size, non_file_actions).await
            }
        }
    }
}

async fn read_json_part(reader: PartReader<'_>, path: &Path) -> LogResult<PartState> {
    let PartReader {
        location,
        version,
        replay,
        keep_stats,
    } = reader;
    let shown = location.display_path(path);
    let bytes = location
        .store()
        .get(path)
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?
        .bytes()
        .await
        .map_err(|e| LogError::storage(location.display_path(path), e))?;
    let parsed = tokio::task::spawn_blocking(move || parse_actions(&bytes, keep_stats))
        .await?
        .map_err(|e| LogError::CorruptCheckpoint {
            version,
            path: location.display_path(path),
            reason: e.to_string(),
        })?;
    let keys = BatchKeys::new(&parsed.adds);
    let mask: BooleanArray = (0..parsed.adds.num_rows())
        .map(|row| Some(replay.is_unseen(keys.path(row), keys.dv_id(row).as_deref())))
        .collect();
    let mut adds = ActiveFiles::default();
    adds.push(filter_record_batch(&parsed.adds, &mask).map_err(|e| corrupt(version, &shown, e))?);
    Ok(PartState {
        adds,
        protocol: parsed.protocol,
        metadata: parsed.metadata,
        txns: parsed.txns,
        domain_metadata: parsed.domain_metadata,
        sidecars: parsed.sidecars,
        checkpoint_metadata: parsed.checkpoint_metadata,
    })
}

pub(super) fn corrupt(version: Version, path: &str, reason: impl std::fmt::Display) -> LogError {
    LogError::CorruptCheckpoint {
        version,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}
