//! The row tracking columns of a rewrite that preserves stable row ids
//! ([`WriterOptions::with_row_tracking_columns`](super::WriterOptions::with_row_tracking_columns)):
//! taken out of each batch before it is checked against the table, and put back after, so
//! that they travel with their rows into the hidden materialized columns.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};

use crate::error::{Error, Result};

/// Takes the row tracking columns out of a batch: the rest, and the two columns as longs.
pub(super) fn split_row_tracking(
    batch: &RecordBatch,
) -> Result<(RecordBatch, [arrow_array::ArrayRef; 2])> {
    use crate::scan::{ROW_COMMIT_VERSION_COLUMN, ROW_ID_COLUMN};
    let mut found: [Option<arrow_array::ArrayRef>; 2] = [None, None];
    let mut rest = Vec::with_capacity(batch.num_columns());
    for (index, field) in batch.schema().fields().iter().enumerate() {
        let slot = match field.name().as_str() {
            ROW_ID_COLUMN => 0,
            ROW_COMMIT_VERSION_COLUMN => 1,
            _ => {
                rest.push(index);
                continue;
            }
        };
        if field.data_type() != &arrow_schema::DataType::Int64 {
            return Err(Error::SchemaMismatch {
                column: field.name().clone(),
                reason: format!(
                    "expected a 64-bit integer (a row tracking column), found {}",
                    field.data_type()
                ),
            });
        }
        found[slot] = Some(Arc::clone(batch.column(index)));
    }
    let [Some(row_ids), Some(versions)] = found else {
        return Err(Error::SchemaMismatch {
            column: crate::scan::ROW_ID_COLUMN.to_owned(),
            reason: format!(
                "this writer preserves row ids: every batch needs the columns `{}` and `{}` \
                 (a scan with row tracking returns them)",
                crate::scan::ROW_ID_COLUMN,
                crate::scan::ROW_COMMIT_VERSION_COLUMN
            ),
        });
    };
    let rest = batch.project(&rest).map_err(|source| Error::Compute {
        context: "separating the row tracking columns".to_owned(),
        source,
    })?;
    Ok((rest, [row_ids, versions]))
}

/// `batch` with `columns` appended (as nullable longs named after the row tracking columns).
pub(super) fn with_trailing_columns(
    batch: &RecordBatch,
    columns: [arrow_array::ArrayRef; 2],
) -> Result<RecordBatch> {
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    for name in [
        crate::scan::ROW_ID_COLUMN,
        crate::scan::ROW_COMMIT_VERSION_COLUMN,
    ] {
        fields.push(Arc::new(Field::new(
            name,
            arrow_schema::DataType::Int64,
            true,
        )));
    }
    let mut arrays = batch.columns().to_vec();
    arrays.extend(columns);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|source| Error::Compute {
        context: "attaching the row tracking columns".to_owned(),
        source,
    })
}
