//! The generator's own record of what it wrote: every data file with its day, size, row count,
//! `id` range, row-group count and the sum of its `amount` values. The scan scenarios take their
//! ground truth from here (never from an engine), and the raw-parquet engine lists its files
//! from here, as a reader that knows the layout would. This module decides the manifest's shape
//! and location; it never generates values.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, io_error};

/// The manifest's file name in the table directory. The leading underscore keeps it out of
/// what Delta readers treat as table content.
pub(crate) const MANIFEST_FILE: &str = "_bench_manifest.json";

/// Everything the generator wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// Rows in the table.
    pub(crate) rows: u64,
    /// Partition days.
    pub(crate) days: u64,
    /// Seed of the value generator.
    pub(crate) seed: u64,
    /// Most rows in one data file.
    pub(crate) rows_per_file: u64,
    /// Most rows in one Parquet row group.
    pub(crate) row_group_rows: u64,
    /// Whether each file was committed in an append of its own (absent in manifests written
    /// before the option existed: one commit).
    #[serde(default)]
    pub(crate) commit_per_file: bool,
    /// Sum of every non-null `amount`, added in row order.
    pub(crate) amount_sum: f64,
    /// The data files, in `id` order.
    pub(crate) files: Vec<ManifestFile>,
}

/// One data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ManifestFile {
    /// Path relative to the table root, as in the `add` action.
    pub(crate) path: String,
    /// The `day` partition value.
    pub(crate) day: String,
    /// File size in bytes.
    pub(crate) size: u64,
    /// Rows in the file.
    pub(crate) rows: u64,
    /// Smallest `id` in the file (ids are contiguous: the file holds `id_min..=id_max`).
    pub(crate) id_min: i64,
    /// Largest `id` in the file.
    pub(crate) id_max: i64,
    /// Parquet row groups in the file.
    pub(crate) row_groups: u64,
    /// Sum of the file's non-null `amount` values, in row order.
    pub(crate) amount_sum: f64,
}

impl Manifest {
    /// Reads the manifest of the table at `dir`.
    pub(crate) fn read(dir: &Path) -> Result<Self, BenchError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| BenchError::Deserialize {
            what: "bench manifest",
            path,
            source,
        })
    }

    /// Writes the manifest into the table at `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), BenchError> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_vec_pretty(self).map_err(|source| BenchError::Serialize {
            what: "bench manifest",
            source,
        })?;
        fs::write(&path, text).map_err(io_error(&path))
    }

    /// Whether the table was generated with these parameters.
    pub(crate) fn matches(&self, spec: &super::DataSpec) -> bool {
        self.rows == spec.rows
            && self.days == spec.days
            && self.seed == spec.seed
            && self.rows_per_file == spec.rows_per_file
            && self.row_group_rows == spec.row_group_rows
            && self.commit_per_file == spec.commit_per_file
    }

    /// Files of one partition day.
    pub(crate) fn files_of_day<'a>(
        &'a self,
        day: &'a str,
    ) -> impl Iterator<Item = &'a ManifestFile> {
        self.files.iter().filter(move |f| f.day == day)
    }

    /// Files holding at least one `id` in `from..=to`.
    pub(crate) fn files_with_ids(&self, from: i64, to: i64) -> impl Iterator<Item = &ManifestFile> {
        self.files
            .iter()
            .filter(move |f| f.id_min <= to && f.id_max >= from)
    }
}
