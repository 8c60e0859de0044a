//! A long-running writer: streams batches of generated events into a table partitioned by
//! day, one commit per batch, each with an idempotent `txn` version. Killed and restarted, it
//! resumes after the last version the table has for its application id, so no batch is
//! appended twice.
//!
//! ```sh
//! cargo run -p tarn --example streaming_writer -- /tmp/events my-writer 50
//! ```
//!
//! Arguments: table path or URI, application id (default `streaming-writer`), number of
//! batches to write in total (default 20), rows per batch (default 1000).

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .ok_or("usage: streaming_writer TABLE [APP_ID] [BATCHES] [ROWS]")?;
    let app_id = args.next().unwrap_or_else(|| "streaming-writer".to_owned());
    let batches: i64 = args.next().map_or(Ok(20), |s| s.parse())?;
    let rows: i64 = args.next().map_or(Ok(1000), |s| s.parse())?;

    let table = tarn::Table::open(&uri).await?;
    // Where to resume: the last batch this application committed, if the table exists.
    let done = match table.snapshot().await {
        Ok(snapshot) => snapshot.txn_version(&app_id).unwrap_or(-1),
        Err(tarn::Error::Log(tarn::LogError::NotATable { .. })) => -1,
        Err(err) => return Err(err.into()),
    };
    let mut committed = 0;
    for sequence in (done + 1)..batches {
        let batch = events(&app_id, sequence, rows)?;
        let summary = table
            .write()
            .with_partition_columns(["day"])
            .with_txn(app_id.clone(), sequence)
            .execute_batches(vec![batch])
            .await?;
        match summary.version {
            Some(version) => {
                committed += 1;
                println!("{app_id}: batch {sequence} -> version {version}");
            }
            None => println!("{app_id}: batch {sequence} was already committed"),
        }
    }
    println!("{app_id}: committed {committed} batches (resumed after batch {done})");
    Ok(())
}

/// Batch `sequence` of an application: `rows` events with ids unique across batches and
/// applications (`app:sequence:row`), spread over three days.
fn events(app_id: &str, sequence: i64, rows: i64) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("day", DataType::Utf8, false),
        Field::new("sequence", DataType::Int64, false),
        Field::new("value", DataType::Int64, true),
    ]));
    let ids: Vec<String> = (0..rows)
        .map(|r| format!("{app_id}:{sequence}:{r}"))
        .collect();
    let days: Vec<String> = (0..rows)
        .map(|r| format!("2026-01-0{}", 1 + (sequence + r) % 3))
        .collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(days)),
            Arc::new(Int64Array::from(vec![
                sequence;
                usize::try_from(rows).unwrap_or(0)
            ])),
            Arc::new(Int64Array::from_iter(
                (0..rows).map(|r| (r % 7 != 0).then_some(r)),
            )),
        ],
    )
}
