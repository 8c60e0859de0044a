//! The numbers an `add` action must satisfy before tarn holds it as an active file.
//!
//! A log is input like any other: a hand-edited or hostile commit can say a file has `-5`
//! bytes or `-3` records, or that its deletion vector deletes more rows than the file has.
//! Summing such numbers prints negative totals, and subtracting them overflows. This module
//! decides what is acceptable; both ways files enter a snapshot (JSON commits and Parquet
//! checkpoints) ask it, so a corrupt number is an error naming the file, not a wrong total.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};

/// The numbers of one `add`: its size, its record count if its statistics have one, and its
/// deletion vector's size and cardinality if it has one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddNumbers {
    pub(crate) size: i64,
    pub(crate) num_records: Option<i64>,
    pub(crate) deletion_vector: Option<(i32, i64)>,
}

impl AddNumbers {
    /// Why the numbers are impossible for the file at `path`, if they are.
    pub(crate) fn check(&self, path: &str) -> Result<(), String> {
        let fail = |what: String| Err(format!("add of {path:?}: {what}"));
        if self.size < 0 {
            return fail(format!("size {} is negative", self.size));
        }
        if let Some(records) = self.num_records
            && records < 0
        {
            return fail(format!("numRecords {records} is negative"));
        }
        if let Some((dv_size, cardinality)) = self.deletion_vector {
            if dv_size < 0 {
                return fail(format!("deletion vector sizeInBytes {dv_size} is negative"));
            }
            if cardinality < 0 {
                return fail(format!(
                    "deletion vector cardinality {cardinality} is negative"
                ));
            }
            if let Some(records) = self.num_records
                && cardinality > records
            {
                return fail(format!(
                    "its deletion vector deletes {cardinality} rows of a file of {records}"
                ));
            }
        }
        Ok(())
    }
}

/// Checks the rows of a canonical file batch (see `file_schema`) for which `is_add` holds.
pub(crate) fn check_file_batch(batch: &RecordBatch, is_add: &[bool]) -> Result<(), String> {
    let column = |name: &str| batch.column_by_name(name);
    let (Some(path), Some(size), Some(num_records), Some(dv)) = (
        column("path").and_then(|c| c.as_string_opt::<i32>()),
        column("size").and_then(|c| c.as_primitive_opt::<Int64Type>()),
        column("numRecords").and_then(|c| c.as_primitive_opt::<Int64Type>()),
        column("deletionVector").and_then(|c| c.as_struct_opt()),
    ) else {
        return Err("the file batch does not have the canonical columns".to_owned());
    };
    let dv_size = dv
        .column_by_name("sizeInBytes")
        .and_then(|c| c.as_primitive_opt::<Int32Type>());
    let dv_cardinality = dv
        .column_by_name("cardinality")
        .and_then(|c| c.as_primitive_opt::<Int64Type>());
    for (row, _) in is_add.iter().enumerate().filter(|(_, add)| **add) {
        if size.is_null(row) {
            return Err(format!("add of {:?} has no size", path.value(row)));
        }
        let deletion_vector = match (dv.is_valid(row), dv_size, dv_cardinality) {
            (true, Some(s), Some(c)) if s.is_valid(row) && c.is_valid(row) => {
                Some((s.value(row), c.value(row)))
            }
            _ => None,
        };
        AddNumbers {
            size: size.value(row),
            num_records: num_records.is_valid(row).then(|| num_records.value(row)),
            deletion_vector,
        }
        .check(path.value(row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn numbers(size: i64, num_records: Option<i64>, dv: Option<(i32, i64)>) -> AddNumbers {
        AddNumbers {
            size,
            num_records,
            deletion_vector: dv,
        }
    }

    #[test]
    fn possible_numbers_pass() {
        for ok in [
            numbers(0, None, None),
            numbers(i64::MAX, Some(i64::MAX), Some((i32::MAX, i64::MAX))),
            numbers(10, Some(3), Some((40, 3))),
            numbers(10, None, Some((40, 7))),
        ] {
            assert_eq!(ok.check("a.parquet"), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn impossible_numbers_name_the_file_and_the_number() {
        for (bad, expected) in [
            (numbers(-5, Some(1), None), "size -5 is negative"),
            (numbers(5, Some(-1), None), "numRecords -1 is negative"),
            (
                numbers(5, Some(1), Some((-1, 0))),
                "sizeInBytes -1 is negative",
            ),
            (
                numbers(5, Some(1), Some((4, -2))),
                "cardinality -2 is negative",
            ),
            (
                numbers(5, Some(1), Some((4, 2))),
                "deletes 2 rows of a file of 1",
            ),
        ] {
            let err = bad.check("x/a.parquet").unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("\"x/a.parquet\""), "{err}");
        }
    }
}
