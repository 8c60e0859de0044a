//! Reading one Parquet checkpoint file (a classic checkpoint, one part of a multi-part one, a
//! v2 top-level file or a sidecar).
//!
//! The projection keeps what a snapshot needs: the `add` fields of the canonical file schema,
//! the record count (from `stats_parsed.numRecords` when present, which is one integer column,
//! else from the JSON `stats`), the JSON stats themselves only when statistics are kept, and
//! the non-file actions. `remove` is never read.
//!
//! Large row groups are read in windows of rows when the file has an offset index, so only the
//! pages of one window are in memory at a time: a 100k-file checkpoint's `stats` column chunk
//! alone is tens of megabytes.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, new_null_array};
use arrow_schema::DataType;
use arrow_select::filter::filter_record_batch;
use futures::StreamExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{ParquetRecordBatchStream, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use tarn_protocol::actions::{
    Action, CheckpointMetadata, DomainMetadata, Metadata, Protocol, Sidecar, Txn,
};
use tarn_protocol::log_path::Version;

use super::read::{PartReader, PartState, corrupt};
use super::rows::{record_counts, stats_parsed_to_json, struct_rows};
use crate::error::LogResult;
use crate::files::{BatchKeys, check_file_batch, normalize_add_struct};
use crate::location::TableLocation;
use crate::parquet_io::{ObjectFileReader, check_byte_ranges};

/// Rows decoded per batch. Small enough to keep a batch of a wide checkpoint in cache-sized
/// memory, large enough that per-batch overhead vanishes.
const BATCH_SIZE: usize = 4096;

/// Rows per window when a row group is read in windows (see the module doc).
const WINDOW_ROWS: usize = 4 * BATCH_SIZE;

/// The `add` fields tarn keeps (the canonical file schema's names).
const ADD_FIELDS: &[&str] = &[
    "path",
    "partitionValues",
    "size",
    "modificationTime",
    "stats",
    "tags",
    "deletionVector",
    "baseRowId",
    "defaultRowCommitVersion",
    "clusteringProvider",
];

/// Top-level non-file action columns.
const NON_FILE_ACTIONS: &[&str] = &[
    "protocol",
    "metaData",
    "txn",
    "domainMetadata",
    "sidecar",
    "checkpointMetadata",
];

/// Whether JSON stats are absent from every row group (a checkpoint written with
/// `delta.checkpoint.writeStatsAsJson=false`), judged from the footer's column statistics.
fn json_stats_absent(metadata: &ParquetMetaData, stats_leaf: Option<usize>) -> bool {
    let Some(leaf) = stats_leaf else {
        return true;
    };
    metadata.row_groups().iter().all(|rg| {
        let column = rg.column(leaf);
        column
            .statistics()
            .and_then(|s| s.null_count_opt())
            .is_some_and(|nulls| i64::try_from(nulls).is_ok_and(|n| n == rg.num_rows()))
    })
}

/// Which leaf columns to decode, decided once per file from its schema and footer.
struct Projection {
    mask: ProjectionMask,
    /// Whether all of `stats_parsed` is read, to rebuild JSON stats from it.
    rebuild_json_from_parsed: bool,
}

fn projection(
    metadata: &ParquetMetaData,
    adds: bool,
    keep_stats: bool,
    non_file_actions: bool,
) -> Projection {
    let descriptor = metadata.file_metadata().schema_descr();
    let mut stats_leaf = None;
    let mut has_stats_parsed = false;
    let mut has_parsed_count = false;
    for (index, column) in descriptor.columns().iter().enumerate() {
        let parts = column.path().parts();
        if parts.len() >= 2 && parts[0] == "add" {
            if parts[1] == "stats" {
                stats_leaf = Some(index);
            } else if parts[1] == "stats_parsed" {
                has_stats_parsed = true;
                has_parsed_count |= parts.get(2).is_some_and(|p| p == "numRecords");
            }
        }
    }
    let json_absent = json_stats_absent(metadata, stats_leaf);
    // JSON stats when they are kept, or when they are the only source of the record count;
    // all of `stats_parsed` only when statistics are kept and there is no JSON; otherwise just
    // `stats_parsed.numRecords`, a single integer column.
    let read_json = stats_leaf.is_some() && !json_absent && (keep_stats || !has_parsed_count);
    let rebuild_json_from_parsed = keep_stats && has_stats_parsed && json_absent;
    let leaves: Vec<usize> = descriptor
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, column)| {
            let parts = column.path().parts();
            match parts.first().map(String::as_str) {
                Some("add") if !adds => false,
                Some("add") => match parts.get(1).map(String::as_str) {
                    Some("stats") => read_json,
                    Some("stats_parsed") => {
                        rebuild_json_from_parsed || parts.get(2).is_some_and(|p| p == "numRecords")
                    }
                    Some(field) => ADD_FIELDS.contains(&field),
                    None => false,
                },
                Some(action) => non_file_actions && NON_FILE_ACTIONS.contains(&action),
                None => false,
            }
        })
        .map(|(index, _)| index)
        .collect();
    Projection {
        mask: ProjectionMask::leaves(descriptor, leaves),
        rebuild_json_from_parsed,
    }
}

/// The row windows to read a row group in: one window unless the file has an offset index
/// (without one, every window would fetch the whole column chunks again).
fn windows(metadata: &ParquetMetaData, row_group: usize) -> Vec<(usize, usize)> {
    let rows = usize::try_from(metadata.row_group(row_group).num_rows()).unwrap_or(0);
    let indexed = metadata
        .offset_index()
        .and_then(|index| index.get(row_group))
        .is_some_and(|columns| !columns.is_empty());
    if !indexed || rows <= WINDOW_ROWS {
        return vec![(0, rows)];
    }
    (0..rows)
        .step_by(WINDOW_ROWS)
        .map(|start| (start, WINDOW_ROWS.min(rows - start)))
        .collect()
}

pub(super) async fn read_parquet_part(
    reader: PartReader<'_>,
    path: &Path,
    size: u64,
    non_file_actions: bool,
) -> LogResult<PartState> {
    let shown = reader.location.display_path(path);
    let version = reader.version;
    let mut file = ObjectFileReader::new(Arc::clone(reader.location.store()), path.clone(), size);
    let options = checkpoint_reader_options().with_offset_index_policy(PageIndexPolicy::Optional);
    let metadata = ArrowReaderMetadata::load_async(&mut file, options)
        .await
        .map_err(|e| corrupt(version, &shown, e))?;
    check_byte_ranges(metadata.metadata()).map_err(|e| corrupt(version, &shown, e))?;
    let projection = projection(
        metadata.metadata(),
        true,
        reader.keep_stats,
        non_file_actions,
    );

    let mut state = PartState::default();
    for row_group in 0..metadata.metadata().num_row_groups() {
        let windows = windows(metadata.metadata(), row_group);
        let windowed = windows.len() > 1;
        for (start, rows) in windows {
            let mut builder =
                ParquetRecordBatchStreamBuilder::new_with_metadata(file.clone(), metadata.clone())
                    .with_projection(projection.mask.clone())
                    .with_batch_size(BATCH_SIZE)
                    .with_row_groups(vec![row_group]);
            if windowed {
                builder = builder.with_row_selection(RowSelection::from(vec![
                    RowSelector::skip(start),
                    RowSelector::select(rows),
                ]));
            }
            let mut stream = builder.build().map_err(|e| corrupt(version, &shown, e))?;
            while let Some(batch) = next_batch(&mut stream).await {
                let batch = batch.map_err(|e| corrupt(version, &shown, e))?;
                reader.absorb_batch(&batch, &projection, non_file_actions, &shown, &mut state)?;
            }
        }
    }
    Ok(state)
}

impl PartReader<'_> {
    /// Adds one decoded checkpoint batch to the part's state.
    fn absorb_batch(
        &self,
        batch: &RecordBatch,
        projection: &Projection,
        non_file_actions: bool,
        shown: &str,
        state: &mut PartState,
    ) -> LogResult<()> {
        let version = self.version;
        if let Some(add) = batch.column_by_name("add") {
            let (files, is_add) = add_files(add, projection, self.keep_stats, version, shown)?;
            let keys = BatchKeys::new(&files);
            let mask: BooleanArray = (0..files.num_rows())
                .map(|row| {
                    Some(
                        is_add[row]
                            && self
                                .replay
                                .is_unseen(keys.path(row), keys.dv_id(row).as_deref()),
                    )
                })
                .collect();
            let kept = mask.true_count();
            if kept == files.num_rows() {
                state.adds.push(files);
            } else if kept > 0 {
                let files =
                    filter_record_batch(&files, &mask).map_err(|e| corrupt(version, shown, e))?;
                state.adds.push(files);
            }
        }
        if !non_file_actions {
            return Ok(());
        }
        let column = |name: &str| batch.column_by_name(name);
        if let Some(protocol) = column("protocol")
            && let Some(last) = struct_rows::<Protocol>(protocol, version, shown)?.pop()
        {
            state.protocol = Some(last);
        }
        if let Some(metadata) = column("metaData")
            && let Some(last) = struct_rows::<Metadata>(metadata, version, shown)?.pop()
        {
            state.metadata = Some(last);
        }
        if let Some(txn) = column("txn") {
            state.txns.extend(struct_rows::<Txn>(txn, version, shown)?);
        }
        if let Some(domain) = column("domainMetadata") {
            state
                .domain_metadata
                .extend(struct_rows::<DomainMetadata>(domain, version, shown)?);
        }
        if let Some(sidecar) = column("sidecar") {
            state
                .sidecars
                .extend(struct_rows::<Sidecar>(sidecar, version, shown)?);
        }
        if let Some(meta) = column("checkpointMetadata")
            && let Some(last) = struct_rows::<CheckpointMetadata>(meta, version, shown)?.pop()
        {
            state.checkpoint_metadata = Some(last);
        }
        Ok(())
    }
}

/// The canonical file batch of a decoded checkpoint batch's `add` column, one row per row of
/// the batch, and which rows hold an add. The JSON stats are kept when `keep_stats` is set (or
/// rebuilt from `stats_parsed` when the checkpoint has none, as the projection decided).
fn add_files(
    add: &ArrayRef,
    projection: &Projection,
    keep_stats: bool,
    version: Version,
    shown: &str,
) -> LogResult<(RecordBatch, Vec<bool>)> {
    let add = add
        .as_struct_opt()
        .ok_or_else(|| corrupt(version, shown, "`add` column is not a struct"))?;
    let parsed = add.column_by_name("stats_parsed");
    let json = add
        .column_by_name("stats")
        .and_then(|c| c.as_string_opt::<i32>().cloned());
    let num_records = record_counts(add.len(), parsed, json.as_ref());
    let stats: ArrayRef = match (&json, parsed) {
        (_, Some(parsed)) if projection.rebuild_json_from_parsed => {
            stats_parsed_to_json(parsed).map_err(|e| corrupt(version, shown, e))?
        }
        (Some(json), _) if keep_stats => Arc::new(json.clone()),
        _ => new_null_array(&DataType::Utf8, add.len()),
    };
    let files =
        normalize_add_struct(add, stats, num_records).map_err(|e| corrupt(version, shown, e.0))?;
    let keys = BatchKeys::new(&files);
    // A row holds an add when the `add` struct itself is valid: writers declare `add.path`
    // non-nullable, so its child array has no nulls of its own and rows of other actions show
    // up there as empty strings.
    let is_add: Vec<bool> = (0..files.num_rows())
        .map(|row| add.is_valid(row) && keys.is_add(row))
        .collect();
    check_file_batch(&files, &is_add).map_err(|e| corrupt(version, shown, e))?;
    Ok((files, is_add))
}

/// The `add` rows of one Parquet checkpoint file with their JSON statistics, batch by batch,
/// for a checkpoint write that streams a snapshot's files from its log (never the whole file
/// in memory: one window of rows at a time, as [`read_parquet_part`] reads).
pub(super) struct PartAdds {
    file: ObjectFileReader,
    metadata: ArrowReaderMetadata,
    projection: Projection,
    version: Version,
    shown: String,
    /// The row windows still to read: (row group, first row, rows, whether windowed).
    windows: VecDeque<(usize, usize, usize, bool)>,
    stream: Option<ParquetRecordBatchStream<ObjectFileReader>>,
    with_sidecars: bool,
    sidecars: Vec<Sidecar>,
}

impl PartAdds {
    /// Opens the file (reads its footer). `with_sidecars`: also collect its `sidecar` actions
    /// (the top-level file of a V2 checkpoint).
    pub(super) async fn open(
        location: &TableLocation,
        version: Version,
        path: &Path,
        size: u64,
        with_sidecars: bool,
    ) -> LogResult<Self> {
        let shown = location.display_path(path);
        let mut file = ObjectFileReader::new(Arc::clone(location.store()), path.clone(), size);
        let options =
            checkpoint_reader_options().with_offset_index_policy(PageIndexPolicy::Optional);
        let metadata = ArrowReaderMetadata::load_async(&mut file, options)
            .await
            .map_err(|e| corrupt(version, &shown, e))?;
        check_byte_ranges(metadata.metadata()).map_err(|e| corrupt(version, &shown, e))?;
        let projection = projection(metadata.metadata(), true, true, with_sidecars);
        let mut all = VecDeque::new();
        for row_group in 0..metadata.metadata().num_row_groups() {
            let windows = windows(metadata.metadata(), row_group);
            let windowed = windows.len() > 1;
            all.extend(
                windows
                    .into_iter()
                    .map(|(start, rows)| (row_group, start, rows, windowed)),
            );
        }
        Ok(Self {
            file,
            metadata,
            projection,
            version,
            shown,
            windows: all,
            stream: None,
            with_sidecars,
            sidecars: Vec::new(),
        })
    }

    /// The next batch of `add` rows (canonical file schema, JSON stats kept); `None` at the end.
    pub(super) async fn next(&mut self) -> LogResult<Option<RecordBatch>> {
        loop {
            if self.stream.is_none() {
                let Some((row_group, start, rows, windowed)) = self.windows.pop_front() else {
                    return Ok(None);
                };
                let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(
                    self.file.clone(),
                    self.metadata.clone(),
                )
                .with_projection(self.projection.mask.clone())
                .with_batch_size(BATCH_SIZE)
                .with_row_groups(vec![row_group]);
                if windowed {
                    builder = builder.with_row_selection(RowSelection::from(vec![
                        RowSelector::skip(start),
                        RowSelector::select(rows),
                    ]));
                }
                self.stream = Some(
                    builder
                        .build()
                        .map_err(|e| corrupt(self.version, &self.shown, e))?,
                );
            }
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            let Some(batch) = next_batch(stream).await else {
                self.stream = None;
                continue;
            };
            let batch = batch.map_err(|e| corrupt(self.version, &self.shown, e))?;
            if self.with_sidecars
                && let Some(sidecar) = batch.column_by_name("sidecar")
            {
                self.sidecars
                    .extend(struct_rows::<Sidecar>(sidecar, self.version, &self.shown)?);
            }
            let Some(add) = batch.column_by_name("add") else {
                continue;
            };
            let (files, is_add) =
                add_files(add, &self.projection, true, self.version, &self.shown)?;
            let mask = BooleanArray::from(is_add);
            let files = match mask.true_count() {
                0 => continue,
                n if n == files.num_rows() => files,
                _ => filter_record_batch(&files, &mask)
                    .map_err(|e| corrupt(self.version, &self.shown, e))?,
            };
            return Ok(Some(files));
        }
    }

    /// The `sidecar` actions read so far (all of them once [`PartAdds::next`] returned `None`).
    pub(super) fn take_sidecars(&mut self) -> Vec<Sidecar> {
        std::mem::take(&mut self.sidecars)
    }
}

/// The non-file actions (`protocol`, `metaData`, `txn`, `domainMetadata`) of one Parquet
/// checkpoint file, reading only their columns.
pub(super) async fn read_non_file_actions(
    location: &TableLocation,
    version: Version,
    path: &Path,
    size: u64,
) -> LogResult<Vec<Action>> {
    let shown = location.display_path(path);
    let mut file = ObjectFileReader::new(Arc::clone(location.store()), path.clone(), size);
    let metadata = ArrowReaderMetadata::load_async(&mut file, checkpoint_reader_options())
        .await
        .map_err(|e| corrupt(version, &shown, e))?;
    let projection = projection(metadata.metadata(), false, false, true);
    let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, metadata)
        .with_projection(projection.mask)
        .with_batch_size(BATCH_SIZE)
        .build()
        .map_err(|e| corrupt(version, &shown, e))?;
    let mut actions = Vec::new();
    while let Some(batch) = next_batch(&mut stream).await {
        let batch = batch.map_err(|e| corrupt(version, &shown, e))?;
        let column = |name: &str| batch.column_by_name(name);
        if let Some(protocol) = column("protocol") {
            actions.extend(
                struct_rows::<Protocol>(protocol, version, &shown)?
                    .into_iter()
                    .map(Action::Protocol),
            );
        }
        if let Some(metadata) = column("metaData") {
            actions.extend(
                struct_rows::<Metadata>(metadata, version, &shown)?
                    .into_iter()
                    .map(Action::Metadata),
            );
        }
        if let Some(txn) = column("txn") {
            actions.extend(
                struct_rows::<Txn>(txn, version, &shown)?
                    .into_iter()
                    .map(Action::Txn),
            );
        }
        if let Some(domain) = column("domainMetadata") {
            actions.extend(
                struct_rows::<DomainMetadata>(domain, version, &shown)?
                    .into_iter()
                    .map(Action::DomainMetadata),
            );
        }
    }
    Ok(actions)
}

/// The next batch of a checkpoint stream. The Parquet decoder panics on some corrupt files
/// (parquet 59.3 unwraps "Not all children array length are the same" while reading a map,
/// map_array.rs) where it should return an error: such a panic becomes an error here, so
/// a corrupt checkpoint is `CorruptCheckpoint`, never a crash.
async fn next_batch(
    stream: &mut ParquetRecordBatchStream<ObjectFileReader>,
) -> Option<Result<RecordBatch, parquet::errors::ParquetError>> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(stream.next())
        .catch_unwind()
        .await
    {
        Ok(next) => next,
        Err(panic) => Some(Err(parquet::errors::ParquetError::General(
            crate::parquet_io::decoder_panic_reason(panic.as_ref()),
        ))),
    }
}

/// How checkpoints are opened: from their Parquet schema alone. The Arrow schema a writer may
/// embed (`ARROW:schema`) is skipped: tarn reads checkpoints by the protocol's column names
/// and types, and decoding that IPC message panics on some corrupt footers (arrow-ipc 59.3,
/// convert.rs) where it should fail.
pub(crate) fn checkpoint_reader_options() -> ArrowReaderOptions {
    ArrowReaderOptions::new().with_skip_arrow_metadata(true)
}
