//! Converting checkpoint columns into tarn's types: action structs from struct columns,
//! record counts, and JSON statistics rebuilt from `stats_parsed`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow_schema::{Field, Schema};
use arrow_select::filter::filter;
use serde::de::DeserializeOwned;
use tarn_protocol::log_path::Version;

use super::read::corrupt;
use crate::error::LogResult;
use crate::files::num_records_in_json;

/// Record counts of a checkpoint batch: `stats_parsed.numRecords` where present, else
/// `numRecords` from the JSON stats.
pub(super) fn record_counts(
    rows: usize,
    parsed: Option<&ArrayRef>,
    json: Option<&StringArray>,
) -> ArrayRef {
    let parsed_counts = parsed
        .and_then(|p| p.as_struct_opt())
        .and_then(|p| p.column_by_name("numRecords"))
        .and_then(|c| c.as_primitive_opt::<Int64Type>());
    let counts: Int64Array = (0..rows)
        .map(|row| {
            parsed_counts
                .filter(|c| c.is_valid(row))
                .map(|c| c.value(row))
                .or_else(|| {
                    json.filter(|j| j.is_valid(row))
                        .and_then(|j| num_records_in_json(j.value(row)))
                })
        })
        .collect();
    Arc::new(counts)
}

/// Converts the non-null rows of a struct column of a checkpoint into action structs, through
/// their JSON form (these columns hold a handful of rows; the JSON route keeps one definition
/// of every action's shape: the serde types).
pub(super) fn struct_rows<T: DeserializeOwned>(
    column: &ArrayRef,
    version: Version,
    shown: &str,
) -> LogResult<Vec<T>> {
    let Some(present) = non_null_rows(column) else {
        return Ok(Vec::new());
    };
    let json = struct_to_json_lines(&present).map_err(|e| corrupt(version, shown, e))?;
    json.lines()
        .map(|line| serde_json::from_str(line).map_err(|e| corrupt(version, shown, e)))
        .collect()
}

/// The non-null rows of a struct column, or `None` if there are none.
fn non_null_rows(column: &ArrayRef) -> Option<StructArray> {
    if column.null_count() == column.len() {
        return None;
    }
    let present = match column.logical_nulls() {
        Some(nulls) => {
            let mask = BooleanArray::new(nulls.inner().clone(), None);
            filter(column, &mask).ok()?
        }
        None => Arc::clone(column),
    };
    present.as_struct_opt().cloned()
}

/// Writes the rows of a struct array (with no null rows) as JSON lines, omitting null fields.
fn struct_to_json_lines(array: &StructArray) -> Result<String, arrow_schema::ArrowError> {
    let (fields, columns, _) = array.clone().into_parts();
    let fields: Vec<Field> = fields
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(false)
        .build::<_, arrow_json::writer::LineDelimited>(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    String::from_utf8(writer.into_inner())
        .map_err(|e| arrow_schema::ArrowError::JsonError(e.to_string()))
}

/// Rebuilds JSON `stats` from a checkpoint's `stats_parsed` struct, row for row.
pub(super) fn stats_parsed_to_json(
    parsed: &ArrayRef,
) -> Result<ArrayRef, arrow_schema::ArrowError> {
    let Some(present) = non_null_rows(parsed) else {
        return Ok(arrow_array::new_null_array(
            &arrow_schema::DataType::Utf8,
            parsed.len(),
        ));
    };
    let json = struct_to_json_lines(&present)?;
    let mut lines = json.lines();
    let mut out = arrow_array::builder::StringBuilder::with_capacity(parsed.len(), json.len());
    for row in 0..parsed.len() {
        if parsed.is_valid(row) {
            out.append_option(lines.next());
        } else {
            out.append_null();
        }
    }
    let strings: StringArray = out.finish();
    Ok(Arc::new(strings))
}
