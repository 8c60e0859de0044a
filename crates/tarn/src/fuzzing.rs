//! Entry points for the fuzz targets (`fuzz/`, run by `tools/fuzz.sh`): the statistics
//! reading of file pruning, which no public API reaches without a table and a scan around it.
//!
//! Not part of tarn's API: hidden from the docs, and free to change with the targets.
//! Everything here must return, whatever the input: a panic is a bug in the code it calls.

use tarn_protocol::schema::{ColumnMappingMode, StructType};

use crate::expr::Expr;
use crate::scan::file_predicate::{FileFacts, FilePredicate};

/// What file pruning concludes about a file of a table of `schema` (no partition columns, no
/// column mapping) with the given `stats` JSON and record count: whether some row may
/// satisfy `predicate` (resolved against `schema`), and whether every row does.
pub fn prune_with_stats(
    predicate: &Expr,
    schema: &StructType,
    stats: Option<&str>,
    num_records: Option<i64>,
) -> (bool, bool) {
    let predicate = FilePredicate::new(predicate.clone(), schema, &[], ColumnMappingMode::None);
    let no_partition_values = |_: &str| None;
    let file = FileFacts {
        partition_value: &no_partition_values,
        stats,
        num_records,
    };
    (predicate.may_match(&file), predicate.all_match(&file))
}
