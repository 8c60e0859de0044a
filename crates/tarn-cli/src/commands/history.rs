//! `tarn history`: the commits of a table, newest first.

use serde_json::{Value, json};
use tarn::CommitEntry;

use crate::output::{Align, TextTable, format_millis};

/// The `history --json` document: an array, newest first.
pub(crate) fn history_json(entries: &[CommitEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|entry| {
                let info = entry.commit_info.as_ref();
                json!({
                    "version": entry.version,
                    "timestamp": entry.timestamp,
                    "operation": info.and_then(|i| i.operation.clone()),
                    "operationParameters": info.and_then(|i| i.operation_parameters.clone()),
                    "operationMetrics": info.and_then(|i| i.operation_metrics.clone()),
                    "engineInfo": info.and_then(|i| i.engine_info.clone()),
                })
            })
            .collect(),
    )
}

/// The human-readable history.
pub(crate) fn history_text(entries: &[CommitEntry]) -> String {
    let mut table = TextTable::new(&[
        ("VERSION", Align::Right),
        ("TIMESTAMP", Align::Left),
        ("OPERATION", Align::Left),
        ("ENGINE", Align::Left),
        ("PARAMETERS", Align::Left),
    ]);
    for entry in entries {
        let info = entry.commit_info.as_ref();
        let parameters = info
            .and_then(|i| i.operation_parameters.as_ref())
            .filter(|p| !p.is_empty())
            .map(|p| Value::Object(p.clone()).to_string())
            .unwrap_or_default();
        table.push(vec![
            entry.version.to_string(),
            format_millis(entry.timestamp),
            info.and_then(|i| i.operation.clone())
                .unwrap_or_else(|| "-".into()),
            info.and_then(|i| i.engine_info.clone())
                .unwrap_or_else(|| "-".into()),
            parameters,
        ]);
    }
    table.render()
}
