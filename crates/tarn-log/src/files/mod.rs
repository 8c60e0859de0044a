//! The active files of a snapshot, held as Arrow columns.
//!
//! A table with a million files is a million `add` actions; holding them as structs costs
//! several allocations each. Here they stay in the columnar form they were decoded into (a
//! checkpoint's `add` column, or batches built from JSON commits), in the canonical schema of
//! [`file_schema`]. Statistics stay as their raw JSON text and are parsed only when asked for,
//! and only the fields asked for.

mod builder;
mod schema;
mod stats;
mod validate;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Int32Array, Int64Array, MapArray, RecordBatch, RecordBatchOptions,
    StringArray, StructArray, new_null_array,
};
use tarn_protocol::actions::{Add, DeletionVectorDescriptor, PartitionValues, dv_unique_id};

pub(crate) use builder::{AddFields, DvFields, FileBatchBuilder};
use schema::col;
pub use schema::file_schema;
pub(crate) use schema::normalize_add_struct;
pub(crate) use stats::{num_records_in_json, num_records_in_literal};
pub(crate) use validate::{AddNumbers, check_file_batch};

/// A column that may be absent: a column that is null in every row of a batch is not stored
/// (deletion vectors, row tracking, clustering and tags are absent from most tables, and even an
/// all-null Arrow array costs its full value buffers).
fn present<T: Array + Clone>(array: &T) -> Option<T> {
    (array.null_count() < array.len()).then(|| array.clone())
}

/// The deletion vector columns of a batch.
#[derive(Debug, Clone)]
struct DvColumns {
    array: StructArray,
    storage_type: StringArray,
    path: StringArray,
    offset: Int32Array,
    size: Int32Array,
    cardinality: Int64Array,
}

impl DvColumns {
    fn is_valid(&self, row: usize) -> bool {
        self.array.is_valid(row)
    }

    fn unique_id(&self, row: usize) -> String {
        dv_unique_id(
            self.storage_type.value(row),
            self.path.value(row),
            self.offset.is_valid(row).then(|| self.offset.value(row)),
        )
    }
}

/// The columns of one batch of files, downcast once; optional columns that are null in every
/// row are dropped (see [`present`]).
#[derive(Debug, Clone)]
struct FileColumns {
    len: usize,
    path: StringArray,
    partition_values: MapArray,
    size: Int64Array,
    modification_time: Int64Array,
    num_records: Int64Array,
    stats: Option<StringArray>,
    tags: Option<MapArray>,
    dv: Option<DvColumns>,
    base_row_id: Option<Int64Array>,
    default_row_commit_version: Option<Int64Array>,
    clustering_provider: Option<StringArray>,
}

impl FileColumns {
    /// Takes apart a batch in the canonical schema. The schema is guaranteed by construction
    /// (every batch is built by [`FileBatchBuilder`] or [`normalize_add_struct`]), so the
    /// downcasts cannot fail on batches from this module.
    fn new(batch: RecordBatch) -> Self {
        let dv = batch.column(col::DELETION_VECTOR).as_struct();
        let mut columns = Self {
            len: batch.num_rows(),
            path: batch.column(col::PATH).as_string::<i32>().clone(),
            partition_values: batch.column(col::PARTITION_VALUES).as_map().clone(),
            size: batch.column(col::SIZE).as_primitive::<Int64Type>().clone(),
            modification_time: batch
                .column(col::MODIFICATION_TIME)
                .as_primitive::<Int64Type>()
                .clone(),
            num_records: batch
                .column(col::NUM_RECORDS)
                .as_primitive::<Int64Type>()
                .clone(),
            stats: present(batch.column(col::STATS).as_string::<i32>()),
            tags: present(batch.column(col::TAGS).as_map()),
            dv: present(dv).map(|array| DvColumns {
                storage_type: array.column(0).as_string::<i32>().clone(),
                path: array.column(1).as_string::<i32>().clone(),
                offset: array.column(2).as_primitive::<Int32Type>().clone(),
                size: array.column(3).as_primitive::<Int32Type>().clone(),
                cardinality: array.column(4).as_primitive::<Int64Type>().clone(),
                array,
            }),
            base_row_id: present(batch.column(col::BASE_ROW_ID).as_primitive::<Int64Type>()),
            default_row_commit_version: present(
                batch
                    .column(col::DEFAULT_ROW_COMMIT_VERSION)
                    .as_primitive::<Int64Type>(),
            ),
            clustering_provider: present(batch.column(col::CLUSTERING_PROVIDER).as_string::<i32>()),
        };
        // The batch's own references must go before shrinking: only uniquely held buffers
        // can be reallocated.
        drop(batch);
        columns.shrink_to_fit();
        columns
    }

    /// Releases spare capacity: builders grow their buffers by doubling, and a snapshot lives
    /// long enough for the slack to matter. Buffers shared with other arrays are left alone.
    fn shrink_to_fit(&mut self) {
        self.path.shrink_to_fit();
        self.partition_values.shrink_to_fit();
        self.size.shrink_to_fit();
        self.modification_time.shrink_to_fit();
        self.num_records.shrink_to_fit();
        if let Some(a) = &mut self.stats {
            a.shrink_to_fit();
        }
        if let Some(a) = &mut self.tags {
            a.shrink_to_fit();
        }
        if let Some(a) = &mut self.base_row_id {
            a.shrink_to_fit();
        }
        if let Some(a) = &mut self.default_row_commit_version {
            a.shrink_to_fit();
        }
        if let Some(a) = &mut self.clustering_provider {
            a.shrink_to_fit();
        }
    }

    /// The batch in the canonical schema, with null arrays for the columns not stored.
    fn to_batch(&self) -> RecordBatch {
        let schema = file_schema();
        let or_nulls = |array: Option<ArrayRef>, column: usize| {
            array.unwrap_or_else(|| new_null_array(schema.field(column).data_type(), self.len))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.path.clone()),
            Arc::new(self.partition_values.clone()),
            Arc::new(self.size.clone()),
            Arc::new(self.modification_time.clone()),
            or_nulls(
                self.stats.clone().map(|a| Arc::new(a) as ArrayRef),
                col::STATS,
            ),
            or_nulls(
                self.tags.clone().map(|a| Arc::new(a) as ArrayRef),
                col::TAGS,
            ),
            or_nulls(
                self.dv
                    .as_ref()
                    .map(|dv| Arc::new(dv.array.clone()) as ArrayRef),
                col::DELETION_VECTOR,
            ),
            or_nulls(
                self.base_row_id.clone().map(|a| Arc::new(a) as ArrayRef),
                col::BASE_ROW_ID,
            ),
            or_nulls(
                self.default_row_commit_version
                    .clone()
                    .map(|a| Arc::new(a) as ArrayRef),
                col::DEFAULT_ROW_COMMIT_VERSION,
            ),
            or_nulls(
                self.clustering_provider
                    .clone()
                    .map(|a| Arc::new(a) as ArrayRef),
                col::CLUSTERING_PROVIDER,
            ),
            Arc::new(self.num_records.clone()),
        ];
        RecordBatch::try_new_with_options(
            schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(self.len)),
        )
        .unwrap_or_else(|_| RecordBatch::new_empty(file_schema()))
    }

    /// Memory held by the stored columns, in bytes.
    fn memory_size(&self) -> usize {
        let optional = |a: Option<&dyn Array>| a.map_or(0, |a| a.get_array_memory_size());
        self.path.get_array_memory_size()
            + self.partition_values.get_array_memory_size()
            + self.size.get_array_memory_size()
            + self.modification_time.get_array_memory_size()
            + self.num_records.get_array_memory_size()
            + optional(self.stats.as_ref().map(|a| a as &dyn Array))
            + optional(self.tags.as_ref().map(|a| a as &dyn Array))
            + optional(self.dv.as_ref().map(|d| &d.array as &dyn Array))
            + optional(self.base_row_id.as_ref().map(|a| a as &dyn Array))
            + optional(
                self.default_row_commit_version
                    .as_ref()
                    .map(|a| a as &dyn Array),
            )
            + optional(self.clustering_provider.as_ref().map(|a| a as &dyn Array))
    }

    fn optional_value<T: arrow_array::ArrowPrimitiveType>(
        array: Option<&arrow_array::PrimitiveArray<T>>,
        row: usize,
    ) -> Option<T::Native> {
        array.filter(|a| a.is_valid(row)).map(|a| a.value(row))
    }
}

/// A string map's entries as the borrowed pairs [`AddFields`] takes.
fn string_pairs(
    map: &PartitionValues,
) -> Vec<(std::borrow::Cow<'_, str>, Option<std::borrow::Cow<'_, str>>)> {
    map.iter()
        .map(|(k, v)| {
            (
                std::borrow::Cow::Borrowed(k.as_str()),
                v.as_deref().map(std::borrow::Cow::Borrowed),
            )
        })
        .collect()
}

/// The active files of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct ActiveFiles {
    batches: Vec<FileColumns>,
    len: usize,
}

impl ActiveFiles {
    /// Collects canonical file batches (empty batches are dropped).
    #[cfg(test)]
    pub(crate) fn from_batches(batches: impl IntoIterator<Item = RecordBatch>) -> Self {
        let mut files = Self::default();
        for batch in batches {
            files.push(batch);
        }
        files
    }

    /// Active files made from `add` actions (for a view of a snapshot with files added: see
    /// `Snapshot::with_added_files`). Record counts are read from each add's statistics.
    pub(crate) fn from_adds(adds: &[Add]) -> Result<Self, arrow_schema::ArrowError> {
        let mut builder = FileBatchBuilder::new();
        for add in adds {
            let partition_values = string_pairs(&add.partition_values);
            let tags = add.tags.as_ref().map(string_pairs);
            builder.append(&AddFields {
                path: &add.path,
                partition_values: &partition_values,
                size: add.size,
                modification_time: add.modification_time,
                stats: add.stats.as_deref(),
                num_records: add.stats.as_deref().and_then(num_records_in_json),
                tags: tags.as_deref(),
                deletion_vector: add.deletion_vector.as_ref().map(|dv| DvFields {
                    storage_type: &dv.storage_type,
                    path_or_inline_dv: &dv.path_or_inline_dv,
                    offset: dv.offset,
                    size_in_bytes: dv.size_in_bytes,
                    cardinality: dv.cardinality,
                }),
                base_row_id: add.base_row_id,
                default_row_commit_version: add.default_row_commit_version,
                clustering_provider: add.clustering_provider.as_deref(),
            })?;
        }
        let mut files = Self::default();
        files.push(builder.finish()?);
        Ok(files)
    }

    /// Adds a canonical file batch, storing it compactly right away so that replay never
    /// holds more than one uncompacted batch.
    pub(crate) fn push(&mut self, batch: RecordBatch) {
        if batch.num_rows() > 0 {
            self.len += batch.num_rows();
            self.batches.push(FileColumns::new(batch));
        }
    }

    /// Moves every file of `other` into `self`.
    pub(crate) fn append(&mut self, other: ActiveFiles) {
        self.len += other.len;
        self.batches.extend(other.batches);
    }

    /// Number of active files.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no active file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The files as Arrow batches in the schema of [`file_schema`] (assembled on each call:
    /// columns that are null throughout a batch are not stored and come back as null arrays).
    pub fn batches(&self) -> impl Iterator<Item = RecordBatch> + '_ {
        self.batches.iter().map(FileColumns::to_batch)
    }

    /// Iterates over the files.
    pub fn iter(&self) -> impl Iterator<Item = FileView<'_>> {
        self.batches
            .iter()
            .flat_map(|columns| (0..columns.len).map(move |row| FileView { columns, row }))
    }

    /// Memory held by the file columns, in bytes.
    pub fn memory_size(&self) -> usize {
        self.batches.iter().map(FileColumns::memory_size).sum()
    }

    /// Total size of the files in bytes (saturating at `u64::MAX`, which only a corrupt log
    /// reaches: sizes are checked to be non-negative when files are loaded).
    pub fn total_size(&self) -> u64 {
        self.iter().fold(0u64, |total, file| {
            total.saturating_add(u64::try_from(file.size()).unwrap_or(0))
        })
    }

    /// Total number of records according to file statistics, minus rows deleted by deletion
    /// vectors; `None` when any file lacks a `numRecords` statistic. Saturates at `u64::MAX`
    /// (record counts and cardinalities are checked when files are loaded: neither is
    /// negative and no deletion vector deletes more rows than its file has).
    pub fn num_records(&self) -> Option<u64> {
        self.iter().try_fold(0u64, |total, file| {
            let records = file.num_records()?;
            let live = records.saturating_sub(file.deletion_vector_cardinality().unwrap_or(0));
            Some(total.saturating_add(u64::try_from(live).unwrap_or(0)))
        })
    }
}

/// One active file, borrowed from the columnar state.
#[derive(Debug, Clone, Copy)]
pub struct FileView<'a> {
    columns: &'a FileColumns,
    row: usize,
}

fn map_entries<'a>(
    map: &'a MapArray,
    row: usize,
) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
    let offsets = map.value_offsets();
    let (start, end) = if map.is_null(row) {
        (0, 0)
    } else {
        (offsets[row] as usize, offsets[row + 1] as usize)
    };
    let keys = map.keys().as_string::<i32>();
    let values = map.values().as_string::<i32>();
    (start..end).map(move |i| (keys.value(i), values.is_valid(i).then(|| values.value(i))))
}

impl<'a> FileView<'a> {
    /// The `path` field as written in the log (a URL-encoded relative path or an absolute URI).
    pub fn path(&self) -> &'a str {
        self.columns.path.value(self.row)
    }

    /// File size in bytes.
    pub fn size(&self) -> i64 {
        self.columns.size.value(self.row)
    }

    /// Modification time in milliseconds since the epoch.
    pub fn modification_time(&self) -> i64 {
        self.columns.modification_time.value(self.row)
    }

    /// The raw `stats` JSON, if the writer recorded statistics and the snapshot keeps them
    /// (see [`crate::Snapshot::with_statistics`]).
    pub fn stats(&self) -> Option<&'a str> {
        let stats = self.columns.stats.as_ref()?;
        stats.is_valid(self.row).then(|| stats.value(self.row))
    }

    /// Partition values keyed by physical column name; `None` values are nulls.
    pub fn partition_values(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        map_entries(&self.columns.partition_values, self.row)
    }

    /// The value of one partition column (by physical name): `None` if the file has no entry
    /// for it, `Some(None)` for a null value.
    pub fn partition_value(&self, physical_name: &str) -> Option<Option<&'a str>> {
        self.partition_values()
            .find(|(key, _)| *key == physical_name)
            .map(|(_, value)| value)
    }

    /// The file's tags, if any.
    pub fn tags(&self) -> Option<impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a> {
        let tags = self.columns.tags.as_ref()?;
        tags.is_valid(self.row).then(|| map_entries(tags, self.row))
    }

    /// The deletion vector columns, if this file has a deletion vector.
    fn dv(&self) -> Option<&'a DvColumns> {
        self.columns.dv.as_ref().filter(|dv| dv.is_valid(self.row))
    }

    /// Whether the file has a deletion vector.
    pub fn has_deletion_vector(&self) -> bool {
        self.dv().is_some()
    }

    /// The deletion vector descriptor, if the file has one.
    pub fn deletion_vector(&self) -> Option<DeletionVectorDescriptor> {
        let row = self.row;
        self.dv().map(|dv| DeletionVectorDescriptor {
            storage_type: dv.storage_type.value(row).to_owned(),
            path_or_inline_dv: dv.path.value(row).to_owned(),
            offset: dv.offset.is_valid(row).then(|| dv.offset.value(row)),
            size_in_bytes: dv.size.value(row),
            cardinality: dv.cardinality.value(row),
        })
    }

    /// Number of rows the deletion vector removes, if the file has one.
    pub fn deletion_vector_cardinality(&self) -> Option<i64> {
        let row = self.row;
        self.dv()
            .filter(|dv| dv.cardinality.is_valid(row))
            .map(|dv| dv.cardinality.value(row))
    }

    /// The deletion vector's `uniqueId`, if the file has one.
    pub fn deletion_vector_id(&self) -> Option<String> {
        self.dv().map(|dv| dv.unique_id(self.row))
    }

    /// The `clusteringProvider` of the file's `add` (`liquid` for a file a clustered table's
    /// clustering wrote), if any.
    pub fn clustering_provider(&self) -> Option<&'a str> {
        let provider = self.columns.clustering_provider.as_ref()?;
        provider
            .is_valid(self.row)
            .then(|| provider.value(self.row))
    }

    /// The `numRecords` statistic: rows in the Parquet file, before deletion vectors. Kept
    /// for every file whether or not the other statistics are.
    pub fn num_records(&self) -> Option<i64> {
        let n = &self.columns.num_records;
        n.is_valid(self.row).then(|| n.value(self.row))
    }

    /// The `baseRowId` of the file's `add` (row tracking): the fresh row id of its first row.
    pub fn base_row_id(&self) -> Option<i64> {
        FileColumns::optional_value(self.columns.base_row_id.as_ref(), self.row)
    }

    /// The `defaultRowCommitVersion` of the file's `add` (row tracking): the version that
    /// first committed it.
    pub fn default_row_commit_version(&self) -> Option<i64> {
        FileColumns::optional_value(self.columns.default_row_commit_version.as_ref(), self.row)
    }

    /// The file as an owned `add` action.
    pub fn to_add(&self) -> Add {
        let c = self.columns;
        let row = self.row;
        let owned = |(k, v): (&str, Option<&str>)| (k.to_owned(), v.map(str::to_owned));
        Add {
            path: self.path().to_owned(),
            partition_values: self
                .partition_values()
                .map(owned)
                .collect::<PartitionValues>(),
            size: self.size(),
            modification_time: self.modification_time(),
            data_change: true,
            stats: self.stats().map(str::to_owned),
            tags: self.tags().map(|tags| tags.map(owned).collect()),
            deletion_vector: self.deletion_vector(),
            base_row_id: FileColumns::optional_value(c.base_row_id.as_ref(), row),
            default_row_commit_version: FileColumns::optional_value(
                c.default_row_commit_version.as_ref(),
                row,
            ),
            clustering_provider: c
                .clustering_provider
                .as_ref()
                .filter(|a| a.is_valid(row))
                .map(|a| a.value(row).to_owned()),
        }
    }
}

/// The logical-file keys of a canonical batch's rows: path and deletion vector id.
pub(crate) struct BatchKeys<'a> {
    path: &'a StringArray,
    dv: &'a StructArray,
    dv_storage_type: &'a StringArray,
    dv_path: &'a StringArray,
    dv_offset: &'a Int32Array,
}

impl<'a> BatchKeys<'a> {
    /// Downcasts the key columns of a batch in the canonical schema.
    pub(crate) fn new(batch: &'a RecordBatch) -> Self {
        let dv = batch.column(col::DELETION_VECTOR).as_struct();
        Self {
            path: batch.column(col::PATH).as_string::<i32>(),
            dv_storage_type: dv.column(0).as_string::<i32>(),
            dv_path: dv.column(1).as_string::<i32>(),
            dv_offset: dv.column(2).as_primitive::<Int32Type>(),
            dv,
        }
    }

    /// Whether the row holds an `add` (checkpoint rows of other actions have a null path).
    pub(crate) fn is_add(&self, row: usize) -> bool {
        self.path.is_valid(row)
    }

    /// The row's path.
    pub(crate) fn path(&self, row: usize) -> &'a str {
        self.path.value(row)
    }

    /// The row's deletion vector id, if it has a deletion vector.
    pub(crate) fn dv_id(&self, row: usize) -> Option<String> {
        self.dv.is_valid(row).then(|| {
            dv_unique_id(
                self.dv_storage_type.value(row),
                self.dv_path.value(row),
                self.dv_offset
                    .is_valid(row)
                    .then(|| self.dv_offset.value(row)),
            )
        })
    }
}
