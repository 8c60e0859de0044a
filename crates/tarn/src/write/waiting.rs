//! Rows of partitions that have no open data file yet, kept until their partition's turn.
//!
//! The rows of every waiting partition in one input batch are gathered into one compact
//! batch (a *run*, grouped by partition), so a thousand tiny partitions cost one batch per
//! input batch, not a thousand, and each partition keeps only a small index entry per run it
//! has rows in. When the writer needs the memory, every waiting row in memory goes to one
//! spill file ([`super::spill`]), each partition's rows together. When a partition's turn
//! comes, [`WaitingRows::take`] hands back its rows in input order (spilled batches first,
//! then its rows in runs) as a [`Backlog`] its file writer replays.
//!
//! Slices of runs are made only as they are gathered into batches ([`Gatherer`]), a batch at
//! a time: a slice costs a few hundred bytes of arrays, more than a row of a tiny partition.
//!
//! This module never decides who waits, or when to spill: the writer does.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use tarn_protocol::actions::PartitionValues;

use super::partition::{Grouping, PartitionGroup};
use super::spill::{SPILL_BATCH_BYTES, SpillRef, SpillWriter, Spilled};
use crate::error::{Error, Result};

/// A [`Gatherer`] hands on its slices once it holds this many, whatever their size: one-row
/// slices of a thousand-partition input would otherwise pile up by the hundred thousand.
const MAX_GATHERED_SLICES: usize = 1024;

/// The rows of waiting partitions. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct WaitingRows {
    /// The data columns' schema, as every run and spill has it.
    schema: SchemaRef,
    spill_directory: PathBuf,
    /// Runs in memory.
    runs: Vec<RecordBatch>,
    /// Memory of the runs and of the partitions' indexes into them.
    memory: usize,
    partitions: HashMap<String, Waiting>,
    spilled_bytes: u64,
}

/// One waiting partition. Its rows, in input order, are its spilled batches, then its
/// pieces of runs.
#[derive(Debug)]
struct Waiting {
    values: PartitionValues,
    spilled: Vec<SpillRef>,
    in_runs: Vec<InRun>,
    /// Arrow memory of its rows, in memory or spilled.
    bytes: u64,
}

impl Waiting {
    /// Memory of the index into runs (its capacity: a vector keeps what it grew to).
    fn index_memory(&self) -> usize {
        self.in_runs.capacity() * std::mem::size_of::<InRun>()
    }
}

/// Rows `offset..offset + len` of run `run`, of about `bytes` bytes. Small, because a
/// partition of a thousand that takes a row or two per input batch holds one per batch.
#[derive(Debug, Clone, Copy)]
struct InRun {
    run: u32,
    offset: u32,
    len: u32,
    bytes: u32,
}

/// Pieces of runs, with the runs they point into.
#[derive(Debug)]
struct RunPieces {
    runs: Vec<RecordBatch>,
    pieces: Vec<InRun>,
}

impl RunPieces {
    /// Gathers the pieces, in order, into batches of about `chunk_bytes` each, handing each
    /// batch and its Arrow memory to `emit`.
    fn gather(
        &self,
        directory: &str,
        chunk_bytes: usize,
        mut emit: impl FnMut(RecordBatch, usize) -> Result<()>,
    ) -> Result<()> {
        let mut gatherer = Gatherer::new(chunk_bytes);
        for piece in &self.pieces {
            let run = self
                .runs
                .get(piece.run as usize)
                .ok_or_else(|| Error::DataFileWrite {
                    path: directory.to_owned(),
                    reason: format!("waiting rows refer to batch {}, which is gone", piece.run),
                    source: None,
                })?;
            let slice = run.slice(piece.offset as usize, piece.len as usize);
            if let Some((batch, bytes)) = gatherer.push(slice, piece.bytes as usize)? {
                emit(batch, bytes)?;
            }
        }
        match gatherer.finish()? {
            Some((batch, bytes)) => emit(batch, bytes),
            None => Ok(()),
        }
    }
}

/// Collects slices and hands them on as one batch once they hold about `chunk_bytes` of
/// Arrow memory (or [`MAX_GATHERED_SLICES`] slices).
#[derive(Debug)]
pub(crate) struct Gatherer {
    chunk_bytes: usize,
    slices: Vec<RecordBatch>,
    bytes: usize,
}

impl Gatherer {
    /// An empty gatherer of batches of about `chunk_bytes`.
    pub(crate) fn new(chunk_bytes: usize) -> Self {
        Self {
            chunk_bytes,
            slices: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a slice of `bytes` bytes; returns the gathered batch, with its memory, once the
    /// slices are enough.
    pub(crate) fn push(
        &mut self,
        slice: RecordBatch,
        bytes: usize,
    ) -> Result<Option<(RecordBatch, usize)>> {
        self.slices.push(slice);
        self.bytes += bytes;
        if self.bytes >= self.chunk_bytes || self.slices.len() >= MAX_GATHERED_SLICES {
            self.finish()
        } else {
            Ok(None)
        }
    }

    /// The slices gathered so far as one batch, if any.
    pub(crate) fn finish(&mut self) -> Result<Option<(RecordBatch, usize)>> {
        let bytes = std::mem::take(&mut self.bytes);
        let batch = match self.slices.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            [first, ..] => arrow_select::concat::concat_batches(&first.schema(), &self.slices)
                .map_err(|source| Error::Compute {
                    context: "gathering a waiting partition's rows".to_owned(),
                    source,
                })?,
        };
        self.slices.clear();
        Ok(Some((batch, bytes)))
    }
}

/// A waiting partition's rows, handed to its file writer.
#[derive(Debug)]
pub(crate) struct Backlog {
    directory: String,
    spilled: Vec<SpillRef>,
    in_memory: RunPieces,
}

impl Backlog {
    /// Hands every row on, in input order: each spilled batch as it was written (with its
    /// Arrow memory when it was written: a batch read back shares one buffer between its
    /// arrays, which [`RecordBatch::get_array_memory_size`] counts once per array), then
    /// the rows in memory gathered into batches of about `chunk_bytes`.
    pub(crate) fn replay(
        self,
        chunk_bytes: usize,
        mut emit: impl FnMut(RecordBatch, usize) -> Result<()>,
    ) -> Result<()> {
        for spilled in &self.spilled {
            emit(spilled.read()?, spilled.bytes)?;
        }
        self.in_memory.gather(&self.directory, chunk_bytes, emit)
    }
}

/// Rows gathered for a spill; see [`WaitingRows::start_spill`].
#[derive(Debug)]
pub(crate) struct SpillJob {
    directory: PathBuf,
    schema: SchemaRef,
    runs: Vec<RecordBatch>,
    partitions: Vec<(String, Vec<InRun>)>,
}

impl SpillJob {
    /// Writes the spill file, each partition's rows as consecutive batches. Blocks: run it
    /// on a blocking thread.
    pub(crate) fn run(self) -> Result<(Vec<String>, Spilled)> {
        let mut writer = SpillWriter::create(&self.directory, &self.schema)?;
        let mut directories = Vec::with_capacity(self.partitions.len());
        let mut in_memory = RunPieces {
            runs: self.runs,
            pieces: Vec::new(),
        };
        for (directory, pieces) in self.partitions {
            writer.start_group();
            in_memory.pieces = pieces;
            in_memory.gather(&directory, SPILL_BATCH_BYTES, |batch, bytes| {
                writer.write(&batch, bytes)
            })?;
            directories.push(directory);
        }
        Ok((directories, writer.finish()?))
    }
}

impl WaitingRows {
    /// No rows waiting. Spills go to `spill_directory`; every run and spill has `schema`.
    pub(crate) fn new(schema: SchemaRef, spill_directory: PathBuf) -> Self {
        Self {
            schema,
            spill_directory,
            runs: Vec::new(),
            memory: 0,
            partitions: HashMap::new(),
            spilled_bytes: 0,
        }
    }

    /// Memory held by waiting rows (spilled rows are not in memory).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory
    }

    /// Bytes written to spill files so far.
    pub(crate) fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    /// Partitions with rows waiting.
    pub(crate) fn len(&self) -> usize {
        self.partitions.len()
    }

    /// Keeps the rows of `groups` of `grouping` until their partitions' turn.
    pub(crate) fn add(&mut self, grouping: &Grouping, groups: Vec<PartitionGroup>) -> Result<()> {
        if groups.is_empty() {
            return Ok(());
        }
        let run = grouping.rows_of_all(&groups)?;
        let run_rows = run.num_rows().max(1);
        let run_bytes = run.get_array_memory_size();
        let index = u32::try_from(self.runs.len()).map_err(|_| too_many("batches"))?;
        let mut offset = 0usize;
        for group in groups {
            let len = group.num_rows(grouping);
            let bytes = run_bytes.saturating_mul(len) / run_rows;
            let piece = InRun {
                run: index,
                offset: u32::try_from(offset).map_err(|_| too_many("rows in a batch"))?,
                len: u32::try_from(len).map_err(|_| too_many("rows in a batch"))?,
                bytes: u32::try_from(bytes).map_err(|_| too_many("bytes in a batch"))?,
            };
            offset += len;
            let waiting = self
                .partitions
                .entry(group.directory)
                .or_insert_with(|| Waiting {
                    values: group.values,
                    spilled: Vec::new(),
                    in_runs: Vec::new(),
                    bytes: 0,
                });
            let before = waiting.index_memory();
            waiting.in_runs.push(piece);
            waiting.bytes += bytes as u64;
            self.memory += waiting.index_memory() - before;
        }
        self.memory += run_bytes;
        self.runs.push(run);
        Ok(())
    }

    /// Hands over the rows of partition `directory`, with its partition values, if any wait.
    ///
    /// The runs they point into stay counted in [`memory_bytes`](Self::memory_bytes) until
    /// every partition in them is handed over or spilled: other partitions' rows share them.
    pub(crate) fn take(&mut self, directory: &str) -> Option<(PartitionValues, Backlog)> {
        let mut waiting = self.partitions.remove(directory)?;
        self.memory = self.memory.saturating_sub(waiting.index_memory());
        // Only the runs this partition has rows in, renumbered.
        let mut runs: Vec<RecordBatch> = Vec::new();
        let mut last: Option<u32> = None;
        for piece in &mut waiting.in_runs {
            if last != Some(piece.run) {
                last = Some(piece.run);
                if let Some(run) = self.runs.get(piece.run as usize) {
                    runs.push(run.clone());
                }
            }
            piece.run = u32::try_from(runs.len().saturating_sub(1)).unwrap_or(u32::MAX);
        }
        if self.partitions.is_empty() {
            self.release_runs();
        }
        let backlog = Backlog {
            directory: directory.to_owned(),
            spilled: waiting.spilled,
            in_memory: RunPieces {
                runs,
                pieces: waiting.in_runs,
            },
        };
        Some((waiting.values, backlog))
    }

    /// The waiting partitions in the order they get their files at the end of the input.
    pub(crate) fn turn_order(&self) -> Vec<String> {
        let mut entries: Vec<(&String, u64)> =
            self.partitions.iter().map(|(d, w)| (d, w.bytes)).collect();
        // Directory order first, so that ties are broken the same way every run.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let sizes: Vec<u64> = entries.iter().map(|(_, bytes)| *bytes).collect();
        super::schedule::turn_order(&sizes)
            .into_iter()
            .map(|i| entries[i].0.clone())
            .collect()
    }

    /// Takes every waiting row in memory for a spill file; [`finish_spill`](Self::finish_spill)
    /// records where they went. Until then those rows are in neither place: a failed spill
    /// loses them, and the write must fail.
    pub(crate) fn start_spill(&mut self) -> Option<SpillJob> {
        let mut directories: Vec<String> = self
            .partitions
            .iter()
            .filter(|(_, waiting)| !waiting.in_runs.is_empty())
            .map(|(directory, _)| directory.clone())
            .collect();
        if directories.is_empty() {
            return None;
        }
        directories.sort();
        let partitions = directories
            .into_iter()
            .map(|directory| {
                let pieces = match self.partitions.get_mut(&directory) {
                    // Gives the index's memory back: the next rows may be a long way off.
                    Some(waiting) => std::mem::take(&mut waiting.in_runs),
                    None => Vec::new(),
                };
                (directory, pieces)
            })
            .collect();
        let runs = std::mem::take(&mut self.runs);
        self.release_runs();
        Some(SpillJob {
            directory: self.spill_directory.clone(),
            schema: self.schema.clone(),
            runs,
            partitions,
        })
    }

    /// Records where a spill put the rows [`start_spill`](Self::start_spill) took.
    pub(crate) fn finish_spill(&mut self, partitions: Vec<String>, spilled: Spilled) {
        self.spilled_bytes += spilled.file_bytes;
        for (directory, batches) in partitions.into_iter().zip(spilled.batches) {
            if let Some(waiting) = self.partitions.get_mut(&directory) {
                waiting.spilled.extend(batches);
            }
        }
    }

    /// Drops every waiting row (an abandoned write); spill files go with their last reference.
    pub(crate) fn clear(&mut self) {
        self.partitions.clear();
        self.release_runs();
    }

    /// Drops the runs, once no partition's index points into them.
    fn release_runs(&mut self) {
        self.runs.clear();
        self.memory = self.partitions.values().map(Waiting::index_memory).sum();
    }
}

fn too_many(what: &str) -> Error {
    Error::Unsupported {
        what: format!("more than 2^32 {what} waiting in one write"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use tarn_protocol::schema::PrimitiveType;

    use super::super::partition::{PartitionColumn, group};
    use super::*;

    fn input(ids: std::ops::Range<i64>, partitions: i64) -> RecordBatch {
        let parts: Vec<String> = ids
            .clone()
            .map(|i| format!("p{}", i % partitions))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("p", DataType::Utf8, false),
                Field::new("id", DataType::Int64, false),
            ])),
            vec![
                Arc::new(StringArray::from(parts)),
                Arc::new(Int64Array::from_iter_values(ids)),
            ],
        )
        .unwrap()
    }

    fn grouping(batch: &RecordBatch) -> Grouping {
        let column = PartitionColumn {
            index: 0,
            physical_name: "p".into(),
            data_type: PrimitiveType::String,
        };
        group(batch, &[column], &[1]).unwrap()
    }

    fn ids(backlog: Backlog) -> Vec<i64> {
        let mut out = Vec::new();
        backlog
            .replay(1 << 20, |batch, _| {
                out.extend(batch.column(0).as_primitive::<Int64Type>().values());
                Ok(())
            })
            .unwrap();
        out
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
    }

    /// Rows come back in input order, whether they stayed in memory or were spilled in
    /// between, and memory is accounted until the last partition is handed over.
    #[test]
    fn rows_come_back_in_input_order_across_spills() {
        let dir = tempfile::tempdir().unwrap();
        let mut waiting = WaitingRows::new(schema(), dir.path().to_owned());
        let first = input(0..30, 3);
        let g = grouping(&first);
        let groups = g.groups.clone();
        waiting.add(&g, groups).unwrap();
        assert!(waiting.memory_bytes() > 0);
        let job = waiting.start_spill().unwrap();
        assert_eq!(waiting.memory_bytes(), 0);
        let (partitions, spilled) = job.run().unwrap();
        waiting.finish_spill(partitions, spilled);
        assert!(waiting.spilled_bytes() > 0);
        // The spill file has no name.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let second = input(30..60, 3);
        let g = grouping(&second);
        let groups = g.groups.clone();
        waiting.add(&g, groups).unwrap();
        assert_eq!(waiting.len(), 3);
        assert_eq!(waiting.turn_order(), ["p=p0", "p=p1", "p=p2"]);
        let (values, backlog) = waiting.take("p=p1").unwrap();
        assert_eq!(values.get("p"), Some(&Some("p1".to_owned())));
        let expected: Vec<i64> = (0..60).filter(|i| i % 3 == 1).collect();
        assert_eq!(ids(backlog), expected);
        assert!(waiting.memory_bytes() > 0);
        assert!(waiting.take("p=p1").is_none());
        waiting.take("p=p0").unwrap();
        waiting.take("p=p2").unwrap();
        assert_eq!((waiting.len(), waiting.memory_bytes()), (0, 0));
    }

    #[test]
    fn nothing_to_spill_is_no_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut waiting = WaitingRows::new(schema(), dir.path().to_owned());
        assert!(waiting.start_spill().is_none());
        let batch = input(0..4, 2);
        let g = grouping(&batch);
        let groups = g.groups.clone();
        waiting.add(&g, groups).unwrap();
        let (partitions, spilled) = waiting.start_spill().unwrap().run().unwrap();
        waiting.finish_spill(partitions, spilled);
        // Everything is on disk already.
        assert!(waiting.start_spill().is_none());
        assert_eq!(waiting.len(), 2);
    }
}
