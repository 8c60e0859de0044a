//! A reader: lists a table's history, reads it as of each of its last versions, and scans
//! the latest version with a predicate, printing how many files the predicate pruned.
//!
//! ```sh
//! cargo run -p tarn --example time_travel_reader -- /tmp/events "day = '2026-01-02'"
//! ```

use futures::TryStreamExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .ok_or("usage: time_travel_reader TABLE [PREDICATE]")?;
    let predicate = args.next();

    let table = tarn::Table::open(&uri).await?;
    let latest = table.snapshot().await?;
    println!(
        "{uri}: version {}, {} files",
        latest.version(),
        latest.num_files()
    );

    // Time travel: the row count of the last few versions.
    for entry in table.history(Some(5)).await? {
        let snapshot = table.snapshot_at_version(entry.version).await?;
        let batches: Vec<_> = snapshot
            .scan()
            .build()
            .await?
            .execute()
            .try_collect()
            .await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let operation = entry
            .commit_info
            .as_ref()
            .and_then(|info| info.operation.clone())
            .unwrap_or_default();
        println!("  version {:>4} {operation:<12} {rows} rows", entry.version);
    }

    if let Some(sql) = predicate {
        let scan = latest
            .scan()
            .with_filter(tarn::Expr::parse(&sql)?)
            .build()
            .await?;
        let metrics = scan.metrics();
        let batches: Vec<_> = scan.execute().try_collect().await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let m = metrics.snapshot();
        println!(
            "where {sql}: {rows} rows; files read {} of {}, pruned by partition {}, by stats {}",
            m.files_read, m.files_total, m.files_pruned_by_partition, m.files_pruned_by_stats
        );
    }
    Ok(())
}
