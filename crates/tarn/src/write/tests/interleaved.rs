//! Input that interleaves more partitions than files can be open: one file per partition
//! (or exactly what the target size makes), memory within the budget, spill files that never
//! outlive the writer.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use super::{TestTable, stats_of};
use crate::Error;
use crate::write::{DataWriter, WriteOutput, WriterOptions};

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("day", DeltaType::LONG, false),
        StructField::new("name", DeltaType::STRING, true),
    ])
}

/// Rows `start..start + rows` of the interleaved input: row `i` is in partition
/// `day = i % days`, with a name that does not compress away.
fn interleaved(start: usize, rows: usize, days: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + rows).map(|i| i as i64).collect();
    let day: Vec<i64> = ids.iter().map(|i| i % days as i64).collect();
    let names: Vec<String> = ids
        .iter()
        .map(|i| format!("n{:016x}", (*i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("day", ArrowType::Int64, false),
            Field::new("name", ArrowType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(day)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

/// What a write of the interleaved input saw along the way.
struct Observed {
    output: WriteOutput,
    max_buffered: usize,
    max_open: usize,
    spilled: u64,
}

/// Writes `rows` interleaved rows over `days` partitions in batches of `batch_rows`,
/// asserting after every batch that the writer is within its plan for `budget` and that no
/// spill file is visible in `spill_dir`.
async fn write_interleaved(
    table: &TestTable,
    options: WriterOptions,
    budget: usize,
    spill_dir: &Path,
    (rows, days, batch_rows): (usize, usize, usize),
) -> Observed {
    let mut writer = table.writer(
        options
            .with_max_buffered_bytes(budget)
            .with_spill_directory(spill_dir),
    );
    let (mut max_buffered, mut max_open) = (0, 0);
    for start in (0..rows).step_by(batch_rows) {
        writer
            .write(&interleaved(start, batch_rows.min(rows - start), days))
            .await
            .unwrap();
        let buffered = writer.buffered_bytes();
        // What it counts stays within three quarters: the rest is the allocator's headroom.
        assert!(
            buffered <= budget - budget / 4,
            "row {start}: {buffered} bytes buffered"
        );
        max_buffered = max_buffered.max(buffered);
        max_open = max_open.max(writer.open_files());
        assert_eq!(entries(spill_dir), 0, "a spill file has a name");
    }
    let spilled = writer.spilled_bytes();
    let output = writer.finish().await.unwrap();
    Observed {
        output,
        max_buffered,
        max_open,
        spilled,
    }
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// The ids read back from the committed table, sorted.
async fn ids_read_back(table: &TestTable) -> Vec<i64> {
    let mut ids: Vec<i64> = table
        .read(None)
        .await
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name("id").unwrap();
            column.as_primitive::<Int64Type>().values().to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Files per partition directory, with their sizes.
fn files_by_partition(output: &WriteOutput) -> BTreeMap<String, Vec<i64>> {
    let mut by_partition: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for add in &output.adds {
        let (directory, _) = add.path.rsplit_once('/').unwrap();
        by_partition
            .entry(directory.to_owned())
            .or_default()
            .push(add.size);
    }
    by_partition
}

/// The DESIGN.md scenario, small: every row's partition differs from the previous row's, 40
/// partitions, a budget that fits a few open files and not the waiting rows. Each partition
/// gets exactly one file, every row comes back, and the writer's accounting never passes the
/// budget.
#[tokio::test]
async fn forty_interleaved_partitions_get_one_file_each_within_the_budget() {
    let table = TestTable::new(schema(), &["day"]);
    let spill = tempfile::tempdir().unwrap();
    let budget = 4 << 20;
    let rows = 200_000;
    let observed = write_interleaved(
        &table,
        // 256 KiB files: 8 open files reserve half the budget.
        WriterOptions::new().with_target_file_size(256 << 10),
        budget,
        spill.path(),
        (rows, 40, 8192),
    )
    .await;
    assert!(observed.max_open <= 8, "{} files open", observed.max_open);
    assert!(observed.max_buffered > budget / 2);
    assert!(observed.spilled > 0, "the waiting rows were never spilled");
    let output = observed.output;
    assert_eq!(output.num_rows, rows as u64);
    let by_partition = files_by_partition(&output);
    assert_eq!(by_partition.len(), 40);
    for (directory, files) in &by_partition {
        assert_eq!(files.len(), 1, "{directory}: {files:?}");
    }
    assert_eq!(entries(spill.path()), 0);
    table.commit(&output.adds);
    assert_eq!(
        ids_read_back(&table).await,
        (0..rows as i64).collect::<Vec<_>>()
    );
}

/// With a target far below a partition's data, each partition's files are what the target
/// size makes: every file but the last of its partition reached the target (as the writer
/// estimates encoded sizes, so within a few percent; none was finished early), whether the
/// partition streamed or waited.
#[tokio::test]
async fn interleaved_partitions_roll_only_at_the_target_size() {
    let table = TestTable::new(schema(), &["day"]);
    let spill = tempfile::tempdir().unwrap();
    let target = 24 << 10;
    let rows = 200_000;
    let observed = write_interleaved(
        &table,
        WriterOptions::new()
            .with_target_file_size(target)
            .with_max_row_group_bytes(8 << 10)
            .with_max_open_files(8),
        2 << 20,
        spill.path(),
        (rows, 40, 8192),
    )
    .await;
    assert!(observed.spilled > 0);
    let output = observed.output;
    for (directory, mut files) in files_by_partition(&output) {
        assert!(files.len() > 1, "{directory}: {files:?}");
        files.sort_unstable();
        // The smallest may be the last; every other one reached the target.
        assert!(
            files[1..]
                .iter()
                .all(|size| *size >= target as i64 * 9 / 10),
            "{directory}: {files:?}"
        );
    }
    let records: i64 = output
        .adds
        .iter()
        .map(|a| stats_of(a)["numRecords"].as_i64().unwrap())
        .sum();
    assert_eq!(records, rows as i64);
    table.commit(&output.adds);
    assert_eq!(
        ids_read_back(&table).await,
        (0..rows as i64).collect::<Vec<_>>()
    );
}

/// Thousands of tiny partitions, far more than files can be open, in a small budget: one
/// file each, every row back, the accounting within the budget throughout.
#[tokio::test]
async fn five_thousand_tiny_partitions_within_the_budget() {
    let table = TestTable::new(schema(), &["day"]);
    let spill = tempfile::tempdir().unwrap();
    let rows = 20_000;
    let observed = write_interleaved(
        &table,
        WriterOptions::new(),
        1 << 20,
        spill.path(),
        (rows, 5000, 2048),
    )
    .await;
    assert!(observed.spilled > 0);
    let output = observed.output;
    assert_eq!(output.num_files, 5000);
    assert_eq!(files_by_partition(&output).len(), 5000);
    assert_eq!(entries(spill.path()), 0);
    table.commit(&output.adds);
    assert_eq!(
        ids_read_back(&table).await,
        (0..rows as i64).collect::<Vec<_>>()
    );
}

/// A writer with spilled rows and finished files, at the point of giving up.
async fn writer_mid_write(table: &TestTable, spill_dir: &Path) -> DataWriter {
    let mut writer = table.writer(
        WriterOptions::new()
            .with_target_file_size(16 << 10)
            .with_max_buffered_bytes(1 << 20)
            .with_spill_directory(spill_dir),
    );
    for start in (0..100_000).step_by(4096) {
        writer.write(&interleaved(start, 4096, 40)).await.unwrap();
    }
    assert!(writer.spilled_bytes() > 0, "nothing was spilled");
    assert!(writer.waiting_partitions() > 0);
    assert!(!table.data_files().is_empty(), "no file was written yet");
    writer
}

/// Descriptors this process holds open into `dir` (the unnamed spill files, on Linux).
fn open_files_in(dir: &Path) -> usize {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

#[tokio::test]
async fn abort_leaves_no_data_file_and_no_spill_file() {
    let table = TestTable::new(schema(), &["day"]);
    let spill = tempfile::tempdir().unwrap();
    let writer = writer_mid_write(&table, spill.path()).await;
    if cfg!(target_os = "linux") {
        assert!(open_files_in(spill.path()) > 0, "no spill file is open");
    }
    writer.abort().await;
    assert_eq!(table.data_files(), Vec::<String>::new());
    assert_eq!(entries(spill.path()), 0);
    // The spill files are closed, so their space is back.
    assert_eq!(open_files_in(spill.path()), 0);
}

#[tokio::test]
async fn a_dropped_writer_leaves_no_data_file_and_no_spill_file() {
    let table = TestTable::new(schema(), &["day"]);
    let spill = tempfile::tempdir().unwrap();
    let writer = writer_mid_write(&table, spill.path()).await;
    drop(writer);
    assert_eq!(open_files_in(spill.path()), 0);
    assert_eq!(entries(spill.path()), 0);
    // The abort runs in the background: wait for it (not a timing assertion: the deadline
    // only keeps a broken clean-up from hanging the test).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !table.data_files().is_empty() {
        assert!(
            Instant::now() < deadline,
            "still there: {:?}",
            table.data_files()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A spill directory that cannot be written fails the write with an error naming it, and
/// the abort that follows leaves nothing behind.
#[tokio::test]
async fn a_spill_that_fails_is_an_error_naming_the_directory() {
    let table = TestTable::new(schema(), &["day"]);
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("no-such-dir");
    let mut writer = table.writer(
        WriterOptions::new()
            .with_target_file_size(16 << 10)
            .with_max_buffered_bytes(1 << 20)
            .with_spill_directory(&missing),
    );
    let mut failure = None;
    for start in (0..200_000).step_by(4096) {
        if let Err(err) = writer.write(&interleaved(start, 4096, 40)).await {
            failure = Some(err);
            break;
        }
    }
    let err = failure.expect("the write needed to spill");
    assert!(matches!(err, Error::Spill { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    writer.abort().await;
    assert_eq!(table.data_files(), Vec::<String>::new());
}
