//! Spill files: rows waiting for their partition's data file, written to local disk in
//! Arrow's IPC file format and read back, batch by batch, when the partition's turn comes.
//!
//! This module decides how spilled rows are laid out (each partition's rows of one spill as
//! consecutive batches, of about [`SPILL_BATCH_BYTES`] each, so reading one partition back
//! never decodes another's) and how a spill file lives and dies. A spill file is created unnamed
//! ([`tempfile::tempfile_in`]: `O_TMPFILE` on Linux, a file removed right after it is
//! created elsewhere on Unix, one deleted on close on Windows), so it has no name anyone
//! could find or leave behind: its space returns to the file system when the last
//! [`SpillRef`] into it is dropped, whether the write finished, failed, was aborted or the
//! process died. It never decides what to spill or when: that is the writer's.
//!
//! Every function here blocks (file I/O): call them on a blocking thread.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_ipc::MetadataVersion;
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_schema::SchemaRef;

use crate::error::{BoxError, Error, Result};

/// Spilled rows are written in batches of about this many bytes of Arrow memory (one slice
/// more at most): reading a batch back holds little more than that.
pub(crate) const SPILL_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// One spill file, open for reading. Dropped (and its space freed) with the last
/// [`SpillRef`] into it.
pub(crate) struct SpillFile {
    directory: PathBuf,
    reader: Mutex<FileReader<BufReader<File>>>,
}

impl std::fmt::Debug for SpillFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpillFile")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

/// One batch of spilled rows.
#[derive(Debug, Clone)]
pub(crate) struct SpillRef {
    file: Arc<SpillFile>,
    index: usize,
    /// The batch's Arrow memory when it was written.
    pub(crate) bytes: usize,
}

impl SpillRef {
    /// Reads the batch back.
    pub(crate) fn read(&self) -> Result<RecordBatch> {
        let mut reader = self
            .file
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let read = |reader: &mut FileReader<BufReader<File>>| {
            reader.set_index(self.index)?;
            reader.next().transpose()
        };
        match read(&mut reader) {
            Ok(Some(batch)) => Ok(batch),
            Ok(None) => Err(spill_error(
                &self.file.directory,
                "reading spilled rows back",
                format!("batch {} is missing", self.index).into(),
            )),
            Err(err) => Err(spill_error(
                &self.file.directory,
                "reading spilled rows back",
                Box::new(err),
            )),
        }
    }
}

/// The outcome of a [`SpillWriter`].
#[derive(Debug)]
pub(crate) struct Spilled {
    /// For each group written, in order, its batches.
    pub(crate) batches: Vec<Vec<SpillRef>>,
    /// Bytes of the spill file.
    pub(crate) file_bytes: u64,
}

/// A spill file being written: groups of batches (one group per partition), then
/// [`finish`](SpillWriter::finish) opens it for reading.
pub(crate) struct SpillWriter {
    directory: PathBuf,
    writer: FileWriter<BufWriter<File>>,
    /// Per group, its batches' indexes in the file and Arrow memory.
    layout: Vec<Vec<(usize, usize)>>,
    next_index: usize,
}

impl SpillWriter {
    /// Starts a new spill file of batches of `schema` in `directory`.
    pub(crate) fn create(directory: &Path, schema: &SchemaRef) -> Result<Self> {
        let file = tempfile::tempfile_in(directory)
            .map_err(|e| spill_error(directory, "creating a spill file", e.into()))?;
        // 8-byte alignment: spilled batches are often small, and 64-byte padding of every
        // buffer would add up. Reading needs no particular alignment.
        let options = IpcWriteOptions::try_new(8, false, MetadataVersion::V5)
            .map_err(|e| spill_error(directory, "configuring a spill file", e.into()))?;
        let writer = FileWriter::try_new_with_options(BufWriter::new(file), schema, options)
            .map_err(|e| spill_error(directory, "writing spilled rows", e.into()))?;
        Ok(Self {
            directory: directory.to_owned(),
            writer,
            layout: Vec::new(),
            next_index: 0,
        })
    }

    /// Starts the next group.
    pub(crate) fn start_group(&mut self) {
        self.layout.push(Vec::new());
    }

    /// Appends a batch, of `bytes` bytes of Arrow memory, to the group in progress.
    pub(crate) fn write(&mut self, batch: &RecordBatch, bytes: usize) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| spill_error(&self.directory, "writing spilled rows", e.into()))?;
        if self.layout.is_empty() {
            self.start_group();
        }
        if let Some(group) = self.layout.last_mut() {
            group.push((self.next_index, bytes));
        }
        self.next_index += 1;
        Ok(())
    }

    /// Completes the file and opens it for reading.
    pub(crate) fn finish(self) -> Result<Spilled> {
        let directory = self.directory;
        let fail = |reason: &str, err: BoxError| spill_error(&directory, reason, err);
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| fail("finishing a spill file", e.into()))?
            .into_inner()
            .map_err(|e| fail("finishing a spill file", e.into_error().into()))?;
        let file_bytes = file
            .seek(SeekFrom::End(0))
            .map_err(|e| fail("finishing a spill file", e.into()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| fail("reopening a spill file", e.into()))?;
        let reader = FileReader::try_new(BufReader::new(file), None)
            .map_err(|e| fail("reopening a spill file", e.into()))?;
        let file = Arc::new(SpillFile {
            directory: directory.clone(),
            reader: Mutex::new(reader),
        });
        let batches = self
            .layout
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .map(|(index, bytes)| SpillRef {
                        file: Arc::clone(&file),
                        index,
                        bytes,
                    })
                    .collect()
            })
            .collect();
        Ok(Spilled {
            batches,
            file_bytes,
        })
    }
}

fn spill_error(directory: &Path, reason: &str, source: BoxError) -> Error {
    Error::Spill {
        directory: directory.display().to_string(),
        reason: reason.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(start: i64, rows: usize) -> RecordBatch {
        let ids: Vec<i64> = (start..start + rows as i64).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("name-{i}")).collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("name", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn groups_read_back_in_order_and_alone() {
        let dir = tempfile::tempdir().unwrap();
        let whole = batch(0, 1000);
        let mut writer = SpillWriter::create(dir.path(), &whole.schema()).unwrap();
        writer.start_group();
        writer.write(&whole.slice(0, 10), 100).unwrap();
        writer.write(&whole.slice(500, 5), 50).unwrap();
        writer.start_group();
        writer.start_group();
        writer.write(&whole.slice(10, 490), 4900).unwrap();
        let spilled = writer.finish().unwrap();
        assert!(spilled.file_bytes > 0);
        assert_eq!(
            spilled.batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 0, 1]
        );
        // Read out of order: each batch is found by its index.
        assert_eq!(spilled.batches[2][0].read().unwrap(), whole.slice(10, 490));
        assert_eq!(spilled.batches[2][0].bytes, 4900);
        assert_eq!(spilled.batches[0][1].read().unwrap(), whole.slice(500, 5));
        assert_eq!(spilled.batches[0][0].read().unwrap(), whole.slice(0, 10));
        // The file has no name: the directory stays empty.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_directory_is_a_spill_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let Err(err) = SpillWriter::create(&missing, &batch(0, 1).schema()) else {
            panic!("a spill file in a missing directory");
        };
        assert!(matches!(err, Error::Spill { .. }), "{err:?}");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
