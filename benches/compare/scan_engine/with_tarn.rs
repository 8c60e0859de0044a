//! tarn's scan: open the table, take the latest snapshot, build a scan with the filter parsed
//! from the same SQL text DataFusion gets, and drain its stream. Read counts come from the
//! scan's own metrics.

use std::path::Path;

use futures::StreamExt;

use super::{BATCH_SIZE, CONCURRENCY, ReadCounts, ScanOutcome, Selection, Tally};
use crate::engine::table_url;
use crate::error::BenchError;

pub(super) async fn scan(dir: &Path, selection: &Selection) -> Result<ScanOutcome, BenchError> {
    let table = tarn::Table::open(table_url(dir)?.as_str()).await?;
    let snapshot = table.snapshot().await?;
    let mut builder = snapshot
        .scan()
        .with_batch_size(BATCH_SIZE)
        .with_concurrency(CONCURRENCY);
    if let Some(sql) = selection.sql() {
        let filter = tarn::Expr::parse(&sql).map_err(tarn::Error::from)?;
        builder = builder.with_filter(filter);
    }
    let scan = builder.build().await?;
    let metrics = scan.metrics();
    let mut stream = scan.execute();
    let mut tally = Tally::default();
    while let Some(batch) = stream.next().await {
        tally.add(&batch?)?;
    }
    let m = metrics.snapshot();
    Ok(ScanOutcome {
        tally,
        read: ReadCounts {
            files: Some(m.files_read),
            row_groups: Some(m.row_groups_total.saturating_sub(m.row_groups_pruned)),
            rows_decoded: Some(m.rows_read),
        },
        _state: Box::new((table, snapshot)),
    })
}
