//! Tests of the expression module: parsing, typing, evaluation, data skipping, and the
//! property tests that tie evaluation and skipping together.

mod eval;
mod limits;
mod parse;
mod props;
mod stats;
mod types;

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{Field, Schema};

use super::Expr;

/// A batch of named columns (nullable fields).
fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, array)| array).collect(),
    )
    .unwrap()
}

/// A predicate's result as options, for readable assertions.
fn bools(array: &BooleanArray) -> Vec<Option<bool>> {
    array.iter().collect()
}

/// Parses and evaluates a predicate.
fn predicate(sql: &str, batch: &RecordBatch) -> Vec<Option<bool>> {
    let expr = Expr::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    bools(
        &expr
            .evaluate_predicate(batch)
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    )
}
