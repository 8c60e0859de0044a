//! Where files go and how big they get: partition directories, rolling, the open-file limit,
//! bounded buffers, abort.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use tarn_protocol::data_path::DataFilePath;
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use super::{TestTable, row_count, stats_of};
use crate::write::WriterOptions;

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("name", DeltaType::STRING, true),
        StructField::new("p", DeltaType::STRING, true),
    ])
}

fn batch(ids: Vec<i64>, names: Vec<String>, parts: Vec<Option<String>>) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", ArrowType::Int64, false),
            Field::new("name", ArrowType::Utf8, true),
            Field::new("p", ArrowType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(parts)),
        ],
    )
    .unwrap()
}

/// Batch `n` of a stream: `rows` rows with ids `n * rows ..`, names that do not compress away,
/// and `partitions` partition values.
fn stream_batch(n: usize, rows: usize, partitions: usize) -> RecordBatch {
    let start = (n * rows) as i64;
    let ids: Vec<i64> = (start..start + rows as i64).collect();
    let names = ids
        .iter()
        .map(|id| {
            format!(
                "name-{:016x}",
                (*id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
        .collect();
    let parts = ids
        .iter()
        .map(|id| Some(format!("part{}", *id as usize % partitions)))
        .collect();
    batch(ids, names, parts)
}

#[tokio::test]
async fn partition_values_are_escaped_in_directories_and_encoded_in_paths() {
    let table = TestTable::new(schema(), &["p"]);
    let values = [
        Some("a/b"),
        Some("x=y"),
        Some("50%"),
        Some("with space"),
        Some("Zürich ☃"),
        Some("colon:here"),
        None,
        Some(""),
    ];
    let input = batch(
        (0..values.len() as i64).collect(),
        values.iter().map(|_| "n".to_owned()).collect(),
        values.iter().map(|v| v.map(str::to_owned)).collect(),
    );
    let output = table.write(WriterOptions::new(), &[input]).await;
    // Null and empty share the default partition, hence one file for both.
    assert_eq!(output.num_files, 7);
    let directories: BTreeSet<String> = table
        .data_files()
        .iter()
        .map(|f| f.rsplit_once('/').unwrap().0.to_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "p=a%2Fb",
        "p=x%3Dy",
        "p=50%25",
        "p=with space",
        "p=Zürich ☃",
        "p=colon%3Ahere",
        "p=__HIVE_DEFAULT_PARTITION__",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(directories, expected);
    let in_log: BTreeSet<String> = output
        .adds
        .iter()
        .map(|a| a.path.rsplit_once('/').unwrap().0.to_owned())
        .collect();
    let expected_in_log: BTreeSet<String> = [
        "p=a%252Fb",
        "p=x%253Dy",
        "p=50%2525",
        "p=with%20space",
        "p=Zürich%20☃",
        "p=colon%253Ahere",
        "p=__HIVE_DEFAULT_PARTITION__",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(in_log, expected_in_log);
    for add in &output.adds {
        // The log path decodes to the file on disk.
        let decoded = DataFilePath::parse(&add.path).unwrap();
        assert!(
            table.path().join(decoded.as_str()).is_file(),
            "{}",
            add.path
        );
        let value = add.partition_values.get("p").unwrap();
        if add.path.starts_with("p=__HIVE") {
            assert_eq!(value, &None);
            assert_eq!(stats_of(add)["numRecords"], 2);
        } else {
            assert!(value.is_some());
        }
    }
    table.commit(&output.adds);
    let rows = table.read_rows().await;
    for value in ["a/b", "x=y", "50%", "with space", "Zürich ☃", "colon:here"] {
        assert!(
            rows.iter().any(|r| r.contains(&format!("p: \"{value}\""))),
            "{value} not in {rows:?}"
        );
    }
    assert_eq!(rows.iter().filter(|r| r.ends_with("p: NULL}")).count(), 2);
}

#[tokio::test]
async fn files_roll_at_the_target_size_and_buffers_stay_bounded() {
    let table = TestTable::new(schema(), &["p"]);
    let budget = 256 * 1024;
    let mut writer = table.writer(
        WriterOptions::new()
            .with_target_file_size(64 * 1024)
            .with_max_row_group_bytes(32 * 1024)
            .with_max_buffered_bytes(budget),
    );
    let batches = 200;
    let rows_per_batch = 1000;
    let mut max_buffered = 0;
    for n in 0..batches {
        writer
            .write(&stream_batch(n, rows_per_batch, 4))
            .await
            .unwrap();
        let buffered = writer.buffered_bytes();
        max_buffered = max_buffered.max(buffered);
        assert!(buffered <= budget, "batch {n}: {buffered} bytes buffered");
        assert!(writer.open_files() <= 4);
    }
    assert!(max_buffered > 0);
    let output = writer.finish().await.unwrap();
    let total_rows = (batches * rows_per_batch) as u64;
    assert_eq!(output.num_rows, total_rows);
    assert!(
        output.num_files > 8,
        "expected rolled files, got {}",
        output.num_files
    );
    let records: i64 = output
        .adds
        .iter()
        .map(|a| stats_of(a)["numRecords"].as_i64().unwrap())
        .sum();
    assert_eq!(records as u64, total_rows);
    // A file ends at the first slice that takes it past the target: never far beyond it.
    for add in &output.adds {
        assert!(
            add.size < 4 * 64 * 1024,
            "{} is {} bytes",
            add.path,
            add.size
        );
    }
    let on_disk = table.data_files();
    assert_eq!(on_disk.len(), output.num_files);
    table.commit(&output.adds);
    let read = table.read(None).await;
    assert_eq!(row_count(&read) as u64, total_rows);
    // Statistics written while streaming prune correctly: ids are spread over files in order.
    let filtered = table.read(Some("id >= 199500")).await;
    assert_eq!(row_count(&filtered), 500);
}

/// More partitions than open files: the partitions that find no free slot wait, and each
/// partition still gets exactly one file.
#[tokio::test]
async fn many_partitions_with_few_open_files() {
    let table = TestTable::new(schema(), &["p"]);
    let mut writer = table.writer(WriterOptions::new().with_max_open_files(2));
    for n in 0..10 {
        writer.write(&stream_batch(n, 100, 7)).await.unwrap();
        assert!(writer.open_files() <= 2);
        assert_eq!(writer.waiting_partitions(), 5);
    }
    let output = writer.finish().await.unwrap();
    assert_eq!(output.num_files, 7);
    table.commit(&output.adds);
    let rows = table.read_rows().await;
    assert_eq!(rows.len(), 1000);
    let ids: BTreeSet<String> = rows
        .iter()
        .map(|r| r.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1000);
}

#[tokio::test]
async fn unpartitioned_files_roll_by_row_slices() {
    let table = TestTable::new(
        StructType::new([
            StructField::new("id", DeltaType::LONG, false),
            StructField::new("name", DeltaType::STRING, true),
        ]),
        &[],
    );
    let input = stream_batch(0, 50_000, 1);
    let input = input.project(&[0, 1]).unwrap();
    let output = table
        .write(
            WriterOptions::new()
                .with_target_file_size(1)
                .with_max_row_group_rows(1000),
            &[input],
        )
        .await;
    // A target of one byte: every slice (at most max_row_group_rows rows) is its own file.
    assert_eq!(output.num_files, 50);
    let names: Vec<&str> = output.adds.iter().map(|a| a.path.as_str()).collect();
    assert!(names.iter().all(|n| n.starts_with("part-000")), "{names:?}");
    table.commit(&output.adds);
    assert_eq!(row_count(&table.read(None).await), 50_000);
}

#[tokio::test]
async fn abort_deletes_every_file_written() {
    let table = TestTable::new(schema(), &["p"]);
    let mut writer = table.writer(
        WriterOptions::new()
            .with_target_file_size(16 * 1024)
            .with_max_open_files(3),
    );
    for n in 0..20 {
        writer.write(&stream_batch(n, 1000, 5)).await.unwrap();
    }
    assert!(
        !table.data_files().is_empty(),
        "files were written before abort"
    );
    writer.abort().await;
    assert_eq!(table.data_files(), Vec::<String>::new());
}

#[tokio::test]
async fn bad_writer_arguments() {
    let schema = StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new(
            "s",
            DeltaType::struct_of([StructField::new("x", DeltaType::INTEGER, true)]),
            true,
        ),
    ]);
    for (partitions, expected) in [
        (vec!["nope"], "partition column `nope`"),
        (vec!["s"], "must be primitive"),
        (vec!["id", "id"], "listed twice"),
    ] {
        let table = TestTable::new(schema.clone(), &partitions);
        let err = crate::write::DataWriter::new(
            Arc::clone(&table.location),
            &table.schema,
            &table.partition_columns,
            &table.configuration,
            WriterOptions::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    let only = StructType::new([StructField::new("p", DeltaType::STRING, true)]);
    let table = TestTable::new(only, &["p"]);
    let err = crate::write::DataWriter::new(
        Arc::clone(&table.location),
        &table.schema,
        &table.partition_columns,
        &table.configuration,
        WriterOptions::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("every column"), "{err}");
}

/// `rows` rows of 1 KiB of pseudo-random (incompressible) bytes each.
fn noise_batch(first_id: i64, rows: usize) -> RecordBatch {
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ first_id as u64;
    let values: Vec<Vec<u8>> = (0..rows)
        .map(|_| {
            (0..1024)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        })
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(
                first_id..first_id + rows as i64,
            )) as arrow_array::ArrayRef,
        ),
        (
            "payload",
            Arc::new(arrow_array::BinaryArray::from_iter_values(values)) as arrow_array::ArrayRef,
        ),
    ])
    .unwrap()
}

fn noise_schema() -> StructType {
    StructType::new([
        StructField::new("id", DeltaType::LONG, false),
        StructField::new("payload", DeltaType::BINARY, true),
    ])
}

#[tokio::test]
async fn large_files_upload_in_parts() {
    let table = TestTable::new(noise_schema(), &[]);
    let options = WriterOptions::new()
        .with_upload_part_size(5 * 1024 * 1024)
        .with_max_row_group_bytes(1024 * 1024)
        .with_max_concurrent_uploads(2);
    let batches: Vec<RecordBatch> = (0..12).map(|n| noise_batch(n * 1024, 1024)).collect();
    let output = table.write(options, &batches).await;
    assert_eq!(output.num_files, 1);
    let add = &output.adds[0];
    // 12 MiB of noise: more than two parts.
    assert!(add.size > 11 * 1024 * 1024, "{}", add.size);
    let on_disk = std::fs::metadata(table.path().join(&add.path))
        .unwrap()
        .len();
    assert_eq!(add.size as u64, on_disk);
    assert_eq!(table.data_files(), vec![add.path.clone()]);
    table.commit(&output.adds);
    assert_eq!(row_count(&table.read(None).await), 12 * 1024);
    assert_eq!(row_count(&table.read(Some("id >= 12000")).await), 288);
}

#[tokio::test]
async fn abort_discards_a_multipart_upload_in_progress() {
    let table = TestTable::new(noise_schema(), &[]);
    let mut writer = table.writer(
        WriterOptions::new()
            .with_upload_part_size(5 * 1024 * 1024)
            .with_max_row_group_bytes(1024 * 1024),
    );
    for n in 0..8 {
        writer.write(&noise_batch(n * 1024, 1024)).await.unwrap();
    }
    assert_eq!(writer.open_files(), 1);
    // The open file is past its first part: its upload has started.
    assert!(!table.data_files().is_empty(), "no upload in progress");
    writer.abort().await;
    assert_eq!(table.data_files(), Vec::<String>::new());
}

#[test]
fn writers_can_move_between_tasks() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<crate::write::DataWriter>();
}

/// Input clustered by partition (each batch one partition, partitions in order): a partition
/// the input has moved past is finished once `idle_file_rows` rows went elsewhere, so few
/// files stay open, and each partition still gets one file.
#[tokio::test]
async fn partitions_the_input_moved_past_are_finished() {
    let table = TestTable::new(schema(), &["p"]);
    let mut writer = table.writer(WriterOptions::new().with_idle_file_rows(1500));
    let mut max_open = 0;
    let partitions = 6;
    for part in 0..partitions {
        for n in 0..4 {
            let start = (part * 4 + n) * 500;
            let ids: Vec<i64> = (start..start + 500).map(|i| i as i64).collect();
            let names = ids.iter().map(|i| format!("n{i}")).collect();
            let parts = vec![Some(format!("part{part}")); ids.len()];
            writer.write(&batch(ids, names, parts)).await.unwrap();
            max_open = max_open.max(writer.open_files());
        }
    }
    // A partition stays open until 1500 rows (three batches) of the next went by.
    assert_eq!(max_open, 2);
    let output = writer.finish().await.unwrap();
    assert_eq!(output.num_files, partitions);
    assert_eq!(output.num_rows, (partitions * 4 * 500) as u64);
    table.commit(&output.adds);
    assert_eq!(row_count(&table.read(None).await), partitions * 4 * 500);
}

/// A partition whose rows come back after it was finished gets a second file, and no row is
/// lost or written twice.
#[tokio::test]
async fn a_partition_that_comes_back_gets_a_new_file() {
    let table = TestTable::new(schema(), &["p"]);
    let mut writer = table.writer(WriterOptions::new().with_idle_file_rows(100));
    let order = ["a", "b", "a"];
    for (n, part) in order.iter().enumerate() {
        let ids: Vec<i64> = (0..200).map(|i| (n * 200 + i) as i64).collect();
        let names = ids.iter().map(|i| format!("n{i}")).collect();
        writer
            .write(&batch(ids, names, vec![Some((*part).to_owned()); 200]))
            .await
            .unwrap();
    }
    let output = writer.finish().await.unwrap();
    let in_a = output
        .adds
        .iter()
        .filter(|a| a.path.starts_with("p=a/"))
        .count();
    assert_eq!((output.num_files, in_a), (3, 2));
    table.commit(&output.adds);
    let rows = table.read_rows().await;
    let ids: BTreeSet<String> = rows
        .iter()
        .map(|r| r.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!((rows.len(), ids.len()), (600, 600));
}

/// The encoder's thread count changes nothing in what is written.
#[tokio::test]
async fn encoding_threads_do_not_change_the_rows() {
    let mut results = Vec::new();
    for threads in [1, 3] {
        let table = TestTable::new(schema(), &["p"]);
        let batches: Vec<RecordBatch> = (0..6).map(|n| stream_batch(n, 5000, 3)).collect();
        let output = table
            .write(
                WriterOptions::new().with_encoding_threads(threads),
                &batches,
            )
            .await;
        table.commit(&output.adds);
        let mut rows = table.read_rows().await;
        rows.sort();
        results.push((output.num_files, rows));
    }
    assert_eq!(results[0].0, 3);
    assert_eq!(results[0].1.len(), 30_000);
    assert_eq!(results[0], results[1]);
}

/// Row groups far smaller than the encoder's output buffer still count towards the file size:
/// with a target of one byte, every row group is a file.
#[tokio::test]
async fn tiny_row_groups_still_roll_files() {
    let table = TestTable::new(schema(), &["p"]);
    let output = table
        .write(
            WriterOptions::new()
                .with_target_file_size(1)
                .with_max_row_group_rows(4),
            &[stream_batch(0, 40, 1)],
        )
        .await;
    assert_eq!((output.num_files, output.num_rows), (10, 40));
    table.commit(&output.adds);
    assert_eq!(row_count(&table.read(None).await), 40);
}

#[tokio::test]
async fn unique_columns_are_written_plain_and_repeating_ones_with_a_dictionary() {
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let table = TestTable::new(schema(), &[]);
    let rows = 20_000usize;
    let input = batch(
        (0..rows as i64).collect(),
        (0..rows).map(|i| format!("name-{}", i % 7)).collect(),
        (0..rows).map(|i| Some(format!("p{}", i % 3))).collect(),
    );
    let output = table
        .write(WriterOptions::new(), std::slice::from_ref(&input))
        .await;
    table.commit(&output.adds);
    let file = std::fs::File::open(table.path().join(&output.adds[0].path)).unwrap();
    let reader = SerializedFileReader::new(file).unwrap();
    let row_group = reader.metadata().row_group(0);
    let has_dictionary = |column: usize| {
        row_group
            .column(column)
            .encodings()
            .any(|e| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY))
    };
    assert!(!has_dictionary(0), "the unique id column has a dictionary");
    assert!(
        has_dictionary(1),
        "the 7-valued name column has no dictionary"
    );
    assert!(has_dictionary(2), "the 3-valued p column has no dictionary");
    assert_eq!(table.read_rows().await, super::rows(&[input]));
}
