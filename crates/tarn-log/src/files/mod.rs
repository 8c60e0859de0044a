//! The active files of a snapshot, held as Arrow columns.
//!
//! A table with a million files is a million `add` actions; holding them as structs costs
//! several allocations each. Here they stay in the columnar form they were decoded into (a
//! checkpoint's `add` column, or batches built from JSON commits), in the canonical schema of
//! [`file_schema`]. Statistics stay as their raw JSON text and are parsed only when asked for,
//! and only the fields asked for.

mod builder;
mod schema;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, Int32Array, Int64Array, MapArray, RecordBatch, StringArray, StructArray};
use serde::Deserialize;
use tarn_protocol::actions::{Add, DeletionVectorDescriptor, PartitionValues, dv_unique_id};

pub(crate) use builder::{AddFields, DvFields, FileBatchBuilder};
use schema::col;
pub use schema::file_schema;
pub(crate) use schema::normalize_add_struct;

/// Typed views of one canonical file batch's columns, downcast once.
#[derive(Debug, Clone)]
struct FileColumns {
    batch: RecordBatch,
    path: StringArray,
    partition_values: MapArray,
    size: Int64Array,
    modification_time: Int64Array,
    stats: StringArray,
    tags: MapArray,
    dv: StructArray,
    dv_storage_type: StringArray,
    dv_path: StringArray,
    dv_offset: Int32Array,
    dv_size: Int32Array,
    dv_cardinality: Int64Array,
    base_row_id: Int64Array,
    default_row_commit_version: Int64Array,
    clustering_provider: StringArray,
}

impl FileColumns {
    /// Downcasts the columns of a batch in the canonical schema. The schema is checked by
    /// construction (every batch is built by [`FileBatchBuilder`] or
    /// [`normalize_add_struct`]), so this cannot fail on batches from this module.
    fn new(batch: RecordBatch) -> Self {
        let dv = batch.column(col::DELETION_VECTOR).as_struct().clone();
        Self {
            path: batch.column(col::PATH).as_string::<i32>().clone(),
            partition_values: batch.column(col::PARTITION_VALUES).as_map().clone(),
            size: batch.column(col::SIZE).as_primitive::<Int64Type>().clone(),
            modification_time: batch
                .column(col::MODIFICATION_TIME)
                .as_primitive::<Int64Type>()
                .clone(),
            stats: batch.column(col::STATS).as_string::<i32>().clone(),
            tags: batch.column(col::TAGS).as_map().clone(),
            dv_storage_type: dv.column(0).as_string::<i32>().clone(),
            dv_path: dv.column(1).as_string::<i32>().clone(),
            dv_offset: dv.column(2).as_primitive::<Int32Type>().clone(),
            dv_size: dv.column(3).as_primitive::<Int32Type>().clone(),
            dv_cardinality: dv.column(4).as_primitive::<Int64Type>().clone(),
            dv,
            base_row_id: batch
                .column(col::BASE_ROW_ID)
                .as_primitive::<Int64Type>()
                .clone(),
            default_row_commit_version: batch
                .column(col::DEFAULT_ROW_COMMIT_VERSION)
                .as_primitive::<Int64Type>()
                .clone(),
            clustering_provider: batch
                .column(col::CLUSTERING_PROVIDER)
                .as_string::<i32>()
                .clone(),
            batch,
        }
    }
}

/// The active files of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct ActiveFiles {
    batches: Vec<FileColumns>,
    len: usize,
}

impl ActiveFiles {
    /// Collects canonical file batches (empty batches are dropped).
    pub(crate) fn from_batches(batches: impl IntoIterator<Item = RecordBatch>) -> Self {
        let batches: Vec<FileColumns> = batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(FileColumns::new)
            .collect();
        let len = batches.iter().map(|b| b.batch.num_rows()).sum();
        Self { batches, len }
    }

    /// Number of active files.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no active file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The files as Arrow batches in the schema of [`file_schema`].
    pub fn batches(&self) -> impl Iterator<Item = &RecordBatch> {
        self.batches.iter().map(|b| &b.batch)
    }

    /// Iterates over the files.
    pub fn iter(&self) -> impl Iterator<Item = FileView<'_>> {
        self.batches.iter().flat_map(|columns| {
            (0..columns.batch.num_rows()).map(move |row| FileView { columns, row })
        })
    }

    /// Total size of the files in bytes.
    pub fn total_size(&self) -> i64 {
        self.batches
            .iter()
            .map(|b| b.size.iter().flatten().sum::<i64>())
            .sum()
    }

    /// Total number of records according to file statistics, minus rows deleted by deletion
    /// vectors; `None` when any file lacks a `numRecords` statistic.
    pub fn num_records(&self) -> Option<i64> {
        self.iter().try_fold(0i64, |total, file| {
            let records = file.num_records()?;
            Some(total + records - file.deletion_vector_cardinality().unwrap_or(0))
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

    /// The raw `stats` JSON, if the writer recorded statistics.
    pub fn stats(&self) -> Option<&'a str> {
        let stats = &self.columns.stats;
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
        let tags = &self.columns.tags;
        tags.is_valid(self.row).then(|| map_entries(tags, self.row))
    }

    /// Whether the file has a deletion vector.
    pub fn has_deletion_vector(&self) -> bool {
        self.columns.dv.is_valid(self.row)
    }

    /// The deletion vector descriptor, if the file has one.
    pub fn deletion_vector(&self) -> Option<DeletionVectorDescriptor> {
        let c = self.columns;
        let row = self.row;
        self.has_deletion_vector()
            .then(|| DeletionVectorDescriptor {
                storage_type: c.dv_storage_type.value(row).to_owned(),
                path_or_inline_dv: c.dv_path.value(row).to_owned(),
                offset: c.dv_offset.is_valid(row).then(|| c.dv_offset.value(row)),
                size_in_bytes: c.dv_size.value(row),
                cardinality: c.dv_cardinality.value(row),
            })
    }

    /// Number of rows the deletion vector removes, if the file has one.
    pub fn deletion_vector_cardinality(&self) -> Option<i64> {
        let c = self.columns;
        (self.has_deletion_vector() && c.dv_cardinality.is_valid(self.row))
            .then(|| c.dv_cardinality.value(self.row))
    }

    /// The deletion vector's `uniqueId`, if the file has one.
    pub fn deletion_vector_id(&self) -> Option<String> {
        let c = self.columns;
        let row = self.row;
        self.has_deletion_vector().then(|| {
            dv_unique_id(
                c.dv_storage_type.value(row),
                c.dv_path.value(row),
                c.dv_offset.is_valid(row).then(|| c.dv_offset.value(row)),
            )
        })
    }

    /// The `numRecords` statistic (rows in the Parquet file, before deletion vectors), parsed
    /// from the stats JSON without parsing the per-column statistics.
    pub fn num_records(&self) -> Option<i64> {
        #[derive(Deserialize)]
        struct NumRecords {
            #[serde(rename = "numRecords")]
            num_records: Option<i64>,
        }
        serde_json::from_str::<NumRecords>(self.stats()?)
            .ok()?
            .num_records
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
            base_row_id: c
                .base_row_id
                .is_valid(row)
                .then(|| c.base_row_id.value(row)),
            default_row_commit_version: c
                .default_row_commit_version
                .is_valid(row)
                .then(|| c.default_row_commit_version.value(row)),
            clustering_provider: c
                .clustering_provider
                .is_valid(row)
                .then(|| c.clustering_provider.value(row).to_owned()),
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
