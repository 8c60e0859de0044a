//! Which columns of a data file are written without a dictionary.
//!
//! Parquet writers dictionary-encode every column by default and fall back to plain encoding
//! once a column chunk's dictionary outgrows its page limit (1 MiB by default). For a column
//! whose values hardly repeat (ids, timestamps, random keys) the dictionary is pure cost: a
//! hash-table insertion for every value until the fallback, a dictionary page of values that
//! appear once, and pages of indices that compress worse than the plain values they replace.
//! On compaction of a typical event table this was a third of the CPU time and made files
//! 40% larger.
//!
//! So each file decides, per column, from a sample of the first rows it receives: the number
//! of distinct values in the sample gives an estimate of how many distinct values the column
//! has (the population size that, drawn from uniformly, would yield as many distinct values),
//! from which follows how many distinct values a row group of the file would hold and how
//! large its dictionary would be. A column whose dictionary would overflow the page limit,
//! so that the Parquet writer would give it up anyway, is written plain from its first
//! value. Every other column keeps its dictionary: low-cardinality columns, and columns whose
//! sample is too small to judge. Only top-level columns of primitive, decimal and binary
//! types are judged; a wrong guess costs file size, never correctness.

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, downcast_primitive_array};
use arrow_schema::{DataType, Schema};
use parquet::schema::types::ColumnPath;

/// Values sampled per column.
const SAMPLE: usize = 1024;
/// Below this many non-null values in the first batch, a column keeps its dictionary.
const MIN_SAMPLE: usize = 256;
/// Bytes a byte-array value takes in a dictionary page besides its bytes (its length).
const LENGTH_PREFIX: f64 = 4.0;

/// The leaf paths (in `physical`, the file's schema, positionally matching `batch`) of the
/// columns whose dictionary would outgrow `dictionary_limit` bytes in a row group of
/// `row_group_rows` rows, judged from `batch`, the first rows of the file.
pub(crate) fn columns_without_dictionary(
    batch: &RecordBatch,
    physical: &Schema,
    row_group_rows: usize,
    dictionary_limit: usize,
) -> Vec<ColumnPath> {
    batch
        .columns()
        .iter()
        .zip(physical.fields())
        .filter(|(array, _)| {
            dictionary_bytes(array.as_ref(), row_group_rows)
                .is_some_and(|bytes| bytes > dictionary_limit as f64)
        })
        .map(|(_, field)| ColumnPath::new(vec![field.name().clone()]))
        .collect()
}

/// The expected size of the dictionary of a row group of `rows` rows of the column `array`
/// samples, or `None` when the column cannot be judged (its type, too few values).
fn dictionary_bytes(array: &dyn Array, rows: usize) -> Option<f64> {
    let values = sample(array)?;
    let sampled = values.len();
    let distinct = values.iter().collect::<HashSet<_>>().len();
    let width = match array.data_type().primitive_width() {
        Some(width) => width as f64,
        None => values.iter().map(|v| v.len() as f64).sum::<f64>() / sampled as f64 + LENGTH_PREFIX,
    };
    let in_row_group = match population(distinct, sampled) {
        Some(population) => distinct_in_draws(population, rows as f64),
        // Every sampled value distinct: as many values as rows, as far as the sample shows.
        None => rows as f64,
    };
    Some(in_row_group * width)
}

/// Up to [`SAMPLE`] non-null values spread evenly over `array`, as bytes; `None` for types
/// not judged here and for arrays with fewer than [`MIN_SAMPLE`] non-null values.
fn sample(array: &dyn Array) -> Option<Vec<&[u8]>> {
    let non_null = array.len() - array.null_count();
    if non_null < MIN_SAMPLE {
        return None;
    }
    let step = (non_null / SAMPLE).max(1);
    let picked = (0..array.len())
        .filter(|&i| array.is_valid(i))
        .step_by(step)
        .take(SAMPLE);
    let values: Vec<&[u8]> = match array.data_type() {
        DataType::Boolean | DataType::Null => return None,
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            picked.map(|i| a.value(i).as_bytes()).collect()
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            picked.map(|i| a.value(i).as_bytes()).collect()
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            picked.map(|i| a.value(i).as_bytes()).collect()
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            picked.map(|i| a.value(i)).collect()
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            picked.map(|i| a.value(i)).collect()
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            picked.map(|i| a.value(i)).collect()
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            picked.map(|i| a.value(i)).collect()
        }
        data_type => {
            let width = data_type.primitive_width()?;
            // A primitive array's values, from its first row on (its offset applied).
            let buffer: &[u8] = downcast_primitive_array!(
                array => array.values().inner().as_slice(),
                _ => return None
            );
            picked
                .map(|i| buffer.get(i * width..(i + 1) * width))
                .collect::<Option<Vec<_>>>()?
        }
    };
    Some(values)
}

/// The number of distinct values `population` such that `draws` uniform draws from it are
/// expected to show `distinct` distinct values; `None` when every draw was distinct (the
/// population could be anything larger than the draws).
fn population(distinct: usize, draws: usize) -> Option<f64> {
    if distinct >= draws {
        return None;
    }
    let (distinct, draws) = (distinct as f64, draws as f64);
    // distinct_in_draws grows with the population: bisect on its logarithm.
    let (mut low, mut high) = (distinct.ln(), (draws * draws * draws).ln());
    for _ in 0..64 {
        let middle = (low + high) / 2.0;
        if distinct_in_draws(middle.exp(), draws) < distinct {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(high.exp())
}

/// The expected number of distinct values among `draws` uniform draws from `population`
/// distinct values.
fn distinct_in_draws(population: f64, draws: f64) -> f64 {
    population * -(-draws / population).exp_m1()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, StructArray,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{Field, Fields};

    use super::*;

    const ROWS: usize = 4096;
    const ROW_GROUP: usize = 1024 * 1024;
    const LIMIT: usize = 1024 * 1024;

    fn judged(columns: Vec<(&str, ArrayRef)>) -> Vec<String> {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        // Physical names differ from the batch's, as under column mapping.
        let physical = Schema::new(
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| Field::new(format!("col-{}", f.name()), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        columns_without_dictionary(&batch, &physical, ROW_GROUP, LIMIT)
            .into_iter()
            .map(|path| path.string())
            .collect()
    }

    /// A cheap deterministic scramble, so "random" columns need no RNG.
    fn scramble(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
    }

    #[test]
    fn unique_and_random_columns_go_plain_repeating_ones_keep_their_dictionary() {
        let n = ROWS as i64;
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from_iter_values(0..n))),
            (
                "user",
                Arc::new(Int64Array::from_iter_values(
                    (0..n as u64).map(|i| (scramble(i) % 1_000_000) as i64),
                )),
            ),
            (
                "time",
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| 1_700_000_000_000_000 + i * 1000),
                )),
            ),
            (
                "category",
                Arc::new(StringArray::from_iter_values(
                    (0..ROWS).map(|i| ["books", "music", "toys"][i % 3]),
                )),
            ),
            (
                "country",
                Arc::new(Int64Array::from_iter_values(
                    (0..n as u64).map(|i| (scramble(i) % 200) as i64),
                )),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from_iter((0..ROWS).map(|i| Some(i % 2 == 0)))),
            ),
        ];
        assert_eq!(judged(columns), ["col-id", "col-user", "col-time"]);
    }

    #[test]
    fn a_column_whose_dictionary_fits_the_page_limit_keeps_it() {
        // 5,000 URLs of ~40 bytes: a 220 KB dictionary, however many rows repeat them; the
        // sample of 1,024 shows about 920 distinct values.
        let urls: Vec<String> = (0..ROWS as u64)
            .map(|i| {
                format!(
                    "https://example.com/catalog/item/{:06}",
                    scramble(i) % 5_000
                )
            })
            .collect();
        assert!(judged(vec![("url", Arc::new(StringArray::from(urls)))]).is_empty());
        // 50,000 distinct amounts of 8 bytes fit in 1 MiB too. (Near the limit, the sample's
        // noise decides: 100,000 of them, 800 KB, would go either way.)
        let amounts = Float64Array::from_iter_values(
            (0..ROWS as u64).map(|i| (scramble(i) % 50_000) as f64 / 100.0),
        );
        assert!(judged(vec![("amount", Arc::new(amounts))]).is_empty());
        // 1,000,000 do not.
        let amounts = Float64Array::from_iter_values(
            (0..ROWS as u64).map(|i| (scramble(i) % 1_000_000) as f64 / 100.0),
        );
        assert_eq!(judged(vec![("amount", Arc::new(amounts))]), ["col-amount"]);
    }

    #[test]
    fn small_row_groups_keep_dictionaries_that_would_fit() {
        let batch = RecordBatch::try_from_iter([(
            "id",
            Arc::new(Int64Array::from_iter_values(0..ROWS as i64)) as ArrayRef,
        )])
        .unwrap();
        // 10,000 unique longs: an 80 KB dictionary, within the limit.
        assert!(columns_without_dictionary(&batch, &batch.schema(), 10_000, LIMIT).is_empty());
        assert_eq!(
            columns_without_dictionary(&batch, &batch.schema(), 200_000, LIMIT).len(),
            1
        );
    }

    #[test]
    fn too_few_values_nested_columns_and_nulls_are_not_judged() {
        let few = Int64Array::from_iter_values(0..100);
        assert!(judged(vec![("few", Arc::new(few))]).is_empty());
        let mostly_null =
            Int64Array::from_iter((0..ROWS as i64).map(|i| (i % 100 == 0).then_some(i)));
        assert!(judged(vec![("sparse", Arc::new(mostly_null))]).is_empty());
        let inner = Arc::new(Int64Array::from_iter_values(0..ROWS as i64)) as ArrayRef;
        let nested = StructArray::new(
            Fields::from(vec![Field::new("x", DataType::Int64, true)]),
            vec![inner],
            None,
        );
        assert!(judged(vec![("nested", Arc::new(nested))]).is_empty());
    }

    #[test]
    fn unique_strings_and_sliced_arrays_are_sampled_from_their_own_rows() {
        let ids: Vec<String> = (0..ROWS * 2).map(|i| format!("order-{i:08}")).collect();
        let strings = StringArray::from(ids);
        // A slice of a larger array: values are read from the slice's offset.
        let sliced = strings.slice(ROWS, ROWS);
        assert_eq!(
            judged(vec![("order", Arc::new(sliced) as ArrayRef)]),
            ["col-order"]
        );
        let repeated = Int64Array::from_iter_values((0..ROWS as i64 * 2).map(|i| i / 64 % 3));
        let sliced = repeated.slice(ROWS, ROWS);
        assert!(judged(vec![("few", Arc::new(sliced) as ArrayRef)]).is_empty());
    }

    #[test]
    fn the_population_estimate_inverts_the_expected_distinct_count() {
        for population_size in [10.0, 500.0, 5_000.0, 100_000.0] {
            let distinct = distinct_in_draws(population_size, 1024.0).round() as usize;
            if distinct >= 1024 {
                continue;
            }
            let estimate = population(distinct, 1024).unwrap();
            assert!(
                (estimate / population_size - 1.0).abs() < 0.2,
                "{population_size} estimated as {estimate}"
            );
        }
        assert_eq!(population(1024, 1024), None);
        assert!((distinct_in_draws(8.0, 1024.0) - 8.0).abs() < 1e-9);
    }
}
