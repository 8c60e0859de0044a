//! Ordering record batches along a curve: sample, rank, key, sort.

use std::collections::HashSet;

use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use arrow_select::interleave::interleave;

use super::Curve;
use super::grid::Grid;
use super::rank::ColumnRanker;
use super::sample::{DEFAULT_SAMPLE_ROWS, sample_positions};
use super::value_order::{check_orderable, encode_into, row_converter};
use crate::error::{MaintenanceError, Result};

/// Orders rows along a [`Curve`] through some of their columns.
///
/// The columns are top-level columns named as in the batches' schema. Rows whose keys are
/// equal keep their input order (batch by batch, row by row), so the order is deterministic.
/// With a single column, every curve is [`Curve::Linear`]: a curve through one dimension is
/// the line, and the exact sort is finer than ranks.
///
/// ```
/// # use std::sync::Arc;
/// # use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use tarn_maintenance::curve::{Curve, CurveSort};
///
/// let a: ArrayRef = Arc::new(Int64Array::from(vec![3, 0, 2, 1]));
/// let b: ArrayRef = Arc::new(Int64Array::from(vec![3, 0, 2, 1]));
/// let batch = RecordBatch::try_from_iter([("a", a), ("b", b)])?;
/// let indices = CurveSort::new(Curve::Hilbert, ["a", "b"]).indices(&batch)?;
/// assert_eq!(indices.values().to_vec(), vec![1, 3, 2, 0]);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CurveSort {
    curve: Curve,
    columns: Vec<String>,
    sample_rows: usize,
}

impl CurveSort {
    /// Orders along `curve` through `columns`, sampling [`DEFAULT_SAMPLE_ROWS`] rows per
    /// column for the ranks.
    pub fn new<I, S>(curve: Curve, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            curve,
            columns: columns.into_iter().map(Into::into).collect(),
            sample_rows: DEFAULT_SAMPLE_ROWS,
        }
    }

    /// Samples `rows` rows (at least one) per column for the rank boundaries; inputs with no
    /// more rows are ranked on all of them.
    pub fn with_sample_rows(mut self, rows: usize) -> Self {
        self.sample_rows = rows.max(1);
        self
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The columns, as named.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows of `batches` in key order, as `(batch, row)` positions (the form
    /// `arrow_select::interleave` takes).
    ///
    /// Fails when no column, a column twice or more than 64 columns are named, when a named
    /// column is missing from a batch or has a type that cannot be ordered, and when the
    /// batches disagree on a column's type.
    pub fn order(&self, batches: &[RecordBatch]) -> Result<Vec<(usize, usize)>> {
        let grid = self.grid()?;
        let columns = self.columns_of(batches)?;
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if total == 0 {
            return Ok(Vec::new());
        }
        if self.curve == Curve::Linear || grid.dimensions() == 1 {
            return self.linear_order(batches, &columns);
        }
        let rankers = self.rankers(batches, &columns, total, grid.bits())?;
        let mut keyed: Vec<(u64, usize, usize)> = Vec::with_capacity(total);
        let mut cell = vec![0_u64; grid.dimensions()];
        for (b, (batch, batch_columns)) in batches.iter().zip(&columns).enumerate() {
            let ranks = rankers
                .iter()
                .zip(batch_columns)
                .map(|(ranker, values)| ranker.ranks(values))
                .collect::<Result<Vec<_>>>()?;
            for row in 0..batch.num_rows() {
                for (coordinate, column_ranks) in cell.iter_mut().zip(&ranks) {
                    *coordinate = column_ranks[row];
                }
                keyed.push((grid.key(self.curve, &cell), b, row));
            }
        }
        // The positions make every tuple distinct: ties in key keep input order.
        keyed.sort_unstable();
        Ok(keyed.into_iter().map(|(_, b, row)| (b, row)).collect())
    }

    /// The permutation of one batch's rows in key order, for `arrow_select::take`.
    ///
    /// Fails as [`order`](Self::order) does, and for a batch of more than `u32::MAX` rows.
    pub fn indices(&self, batch: &RecordBatch) -> Result<UInt32Array> {
        if u32::try_from(batch.num_rows()).is_err() {
            return Err(MaintenanceError::InvalidArgument {
                argument: "batch",
                reason: format!(
                    "{} rows; 32-bit indices reach {}",
                    batch.num_rows(),
                    u32::MAX
                ),
            });
        }
        let order = self.order(std::slice::from_ref(batch))?;
        // Every row index is below num_rows, which fits u32.
        Ok(order.into_iter().map(|(_, row)| row as u32).collect())
    }

    /// All rows of `batches` as one batch of `schema`, in key order (an empty batch when
    /// there are no rows).
    ///
    /// Fails as [`order`](Self::order) does, and when a batch does not have `schema`'s
    /// columns.
    pub fn sort(&self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
        let order = self.order(batches)?;
        if order.is_empty() {
            return Ok(RecordBatch::new_empty(SchemaRef::clone(schema)));
        }
        let mut sorted = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let values = batches
                .iter()
                .map(|batch| match batch.columns().get(i) {
                    Some(column) => Ok(column.as_ref()),
                    None => Err(MaintenanceError::MissingColumn {
                        column: field.name().clone(),
                    }),
                })
                .collect::<Result<Vec<&dyn Array>>>()?;
            let column =
                interleave(&values, &order).map_err(|source| MaintenanceError::Compute {
                    context: format!("reordering column `{}`", field.name()),
                    source,
                })?;
            sorted.push(column);
        }
        RecordBatch::try_new(SchemaRef::clone(schema), sorted).map_err(|source| {
            MaintenanceError::Compute {
                context: "assembling the sorted batch".to_owned(),
                source,
            }
        })
    }

    /// The grid for the named columns, refusing no column, duplicates and too many.
    fn grid(&self) -> Result<Grid> {
        if self.columns.is_empty() {
            return Err(MaintenanceError::InvalidArgument {
                argument: "curve columns",
                reason: "no column named".to_owned(),
            });
        }
        let mut seen = HashSet::new();
        if let Some(twice) = self.columns.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(MaintenanceError::InvalidArgument {
                argument: "curve columns",
                reason: format!("column `{twice}` is named twice"),
            });
        }
        Grid::for_columns(self.columns.len())
    }

    /// The named columns of every batch: `columns[batch][column]`, of one orderable type
    /// per column in every batch.
    fn columns_of(&self, batches: &[RecordBatch]) -> Result<Vec<Vec<ArrayRef>>> {
        let mut all: Vec<Vec<ArrayRef>> = Vec::with_capacity(batches.len());
        for batch in batches {
            let mut columns = Vec::with_capacity(self.columns.len());
            for (c, name) in self.columns.iter().enumerate() {
                let column =
                    batch
                        .column_by_name(name)
                        .ok_or_else(|| MaintenanceError::MissingColumn {
                            column: name.clone(),
                        })?;
                match all.first().map(|first| first[c].data_type()) {
                    None => check_orderable(name, column.data_type())?,
                    Some(expected) if expected != column.data_type() => {
                        return Err(MaintenanceError::ColumnTypeMismatch {
                            column: name.clone(),
                            expected: expected.clone(),
                            found: column.data_type().clone(),
                        });
                    }
                    Some(_) => {}
                }
                columns.push(ArrayRef::clone(column));
            }
            all.push(columns);
        }
        Ok(all)
    }

    /// One ranker per column, from a sample of its rows across all batches.
    fn rankers(
        &self,
        batches: &[RecordBatch],
        columns: &[Vec<ArrayRef>],
        total: usize,
        bits: u32,
    ) -> Result<Vec<ColumnRanker>> {
        let positions = batch_positions(batches, &sample_positions(total, self.sample_rows));
        self.columns
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let values: Vec<&dyn Array> = columns.iter().map(|cols| cols[c].as_ref()).collect();
                let sample = interleave(&values, &positions).map_err(|source| {
                    MaintenanceError::Compute {
                        context: format!("sampling column `{name}`"),
                        source,
                    }
                })?;
                ColumnRanker::from_sample(name, &sample, bits)
            })
            .collect()
    }

    /// Lexicographic order by the columns' values themselves (not ranks), ties in input
    /// order.
    fn linear_order(
        &self,
        batches: &[RecordBatch],
        columns: &[Vec<ArrayRef>],
    ) -> Result<Vec<(usize, usize)>> {
        let Some(first) = columns.first() else {
            return Ok(Vec::new());
        };
        let types: Vec<(&str, &arrow_schema::DataType)> = self
            .columns
            .iter()
            .zip(first)
            .map(|(name, column)| (name.as_str(), column.data_type()))
            .collect();
        let converter = row_converter(&types, || "ordering rows linearly".to_owned())?;
        let mut positions = Vec::new();
        let mut all_rows = converter.empty_rows(0, 0);
        for (b, (batch, batch_columns)) in batches.iter().zip(columns).enumerate() {
            encode_into(&converter, &mut all_rows, batch_columns, || {
                format!("encoding batch {b} for sorting")
            })?;
            positions.extend((0..batch.num_rows()).map(|row| (b, row)));
        }
        let mut order: Vec<usize> = (0..positions.len()).collect();
        // Stable: equal rows keep input order.
        order.sort_by(|&x, &y| all_rows.row(x).cmp(&all_rows.row(y)));
        Ok(order.into_iter().map(|i| positions[i]).collect())
    }
}

/// Global row numbers (ascending) as `(batch, row)` positions.
fn batch_positions(batches: &[RecordBatch], global: &[usize]) -> Vec<(usize, usize)> {
    let mut positions = Vec::with_capacity(global.len());
    let (mut batch, mut start) = (0, 0);
    for &g in global {
        while batch < batches.len() && g >= start + batches[batch].num_rows() {
            start += batches[batch].num_rows();
            batch += 1;
        }
        positions.push((batch, g - start));
    }
    positions
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int32Type, Int64Type};
    use arrow_array::{Float64Array, Int32Array, Int64Array, ListArray, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use arrow_select::take::take_record_batch;

    use super::*;

    fn batch(a: Vec<Option<i64>>, b: Vec<Option<f64>>) -> RecordBatch {
        let a: ArrayRef = Arc::new(Int64Array::from(a));
        let b: ArrayRef = Arc::new(Float64Array::from(b));
        RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap()
    }

    fn grid_batch(side: i64) -> RecordBatch {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        // Rows in a scrambled order, so that no order is right by accident.
        for i in 0..side * side {
            let cell = (i * 7919) % (side * side);
            a.push(Some(cell / side));
            b.push(Some((cell % side) as f64));
        }
        batch(a, b)
    }

    #[test]
    fn linear_orders_by_the_columns_nulls_first_floats_as_tarn_compares() {
        let input = batch(
            vec![Some(2), Some(1), None, Some(1), Some(1), Some(1), Some(1)],
            vec![
                Some(0.0),
                Some(f64::NAN),
                Some(5.0),
                Some(0.0),
                Some(-0.0),
                None,
                Some(-1.0),
            ],
        );
        let indices = CurveSort::new(Curve::Linear, ["a", "b"])
            .indices(&input)
            .unwrap();
        // a = null first; then a = 1 by b: null, -1, 0.0 and -0.0 (equal: input order), NaN.
        assert_eq!(indices.values().to_vec(), vec![2, 5, 6, 3, 4, 1, 0]);
    }

    #[test]
    fn one_column_curves_are_the_exact_linear_order() {
        let input = batch(
            (0..100).map(|i| Some((i * 37) % 100)).collect(),
            vec![None; 100],
        );
        let linear = CurveSort::new(Curve::Linear, ["a"])
            .indices(&input)
            .unwrap();
        for curve in [Curve::ZOrder, Curve::Hilbert] {
            assert_eq!(
                CurveSort::new(curve, ["a"]).indices(&input).unwrap(),
                linear
            );
        }
    }

    #[test]
    fn curves_walk_a_small_grid_in_their_own_order() {
        let input = grid_batch(4);
        let cells = |curve| {
            let sorted = CurveSort::new(curve, ["a", "b"])
                .sort(&input.schema(), std::slice::from_ref(&input))
                .unwrap();
            let a = sorted
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec();
            let b = sorted
                .column(1)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec();
            a.into_iter()
                .zip(b.into_iter().map(|b| b as i64))
                .collect::<Vec<_>>()
        };
        #[rustfmt::skip]
        let z: Vec<(i64, i64)> = vec![
            (0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3),
            (2, 0), (2, 1), (3, 0), (3, 1), (2, 2), (2, 3), (3, 2), (3, 3),
        ];
        assert_eq!(cells(Curve::ZOrder), z);
        #[rustfmt::skip]
        let hilbert: Vec<(i64, i64)> = vec![
            (0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (0, 3), (1, 3), (1, 2),
            (2, 2), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1), (2, 0), (3, 0),
        ];
        assert_eq!(cells(Curve::Hilbert), hilbert);
    }

    #[test]
    fn several_batches_order_as_their_concatenation() {
        let whole = grid_batch(16);
        let parts = [
            whole.slice(0, 100),
            whole.slice(100, 0),
            whole.slice(100, 156),
        ];
        for curve in [Curve::Linear, Curve::ZOrder, Curve::Hilbert] {
            let sort = CurveSort::new(curve, ["b", "a"]);
            let expected = sort.indices(&whole).unwrap();
            let order = sort.order(&parts).unwrap();
            let starts = [0, 100, 100];
            let flat: Vec<u32> = order.iter().map(|&(b, r)| (starts[b] + r) as u32).collect();
            assert_eq!(flat, expected.values().to_vec(), "{curve:?}");
            // sort() is take() of the permutation.
            let sorted = sort.sort(&whole.schema(), &parts).unwrap();
            assert_eq!(
                sorted,
                take_record_batch(&whole, &expected).unwrap(),
                "{curve:?}"
            );
        }
    }

    #[test]
    fn equal_keys_keep_input_order_and_the_order_is_a_permutation() {
        let constant = batch(vec![Some(1); 50], vec![Some(2.0); 50]);
        for curve in [Curve::Linear, Curve::ZOrder, Curve::Hilbert] {
            let indices = CurveSort::new(curve, ["a", "b"])
                .indices(&constant)
                .unwrap();
            assert_eq!(indices.values().to_vec(), (0..50).collect::<Vec<u32>>());
        }
        let input = grid_batch(30);
        let sort = CurveSort::new(Curve::Hilbert, ["a", "b"]).with_sample_rows(100);
        let first = sort.indices(&input).unwrap();
        assert_eq!(first, sort.indices(&input).unwrap(), "deterministic");
        let mut seen = first.values().to_vec();
        seen.sort_unstable();
        assert_eq!(seen, (0..900).collect::<Vec<u32>>());
    }

    #[test]
    fn no_rows_give_an_empty_batch() {
        let input = batch(vec![], vec![]);
        let sort = CurveSort::new(Curve::ZOrder, ["a", "b"]);
        assert_eq!(sort.sort(&input.schema(), &[]).unwrap().num_rows(), 0);
        let sorted = sort
            .sort(&input.schema(), &[input.clone(), input.clone()])
            .unwrap();
        assert_eq!(sorted.num_rows(), 0);
        assert_eq!(sorted.schema(), input.schema());
    }

    #[test]
    fn dictionary_and_string_columns_sort_with_the_others() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "b", "a"]));
        let b: ArrayRef = Arc::new(
            vec![Some("y"), Some("y"), None, Some("x")]
                .into_iter()
                .collect::<arrow_array::DictionaryArray<Int32Type>>(),
        );
        let input = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
        let z = CurveSort::new(Curve::ZOrder, ["a", "b"])
            .indices(&input)
            .unwrap();
        // Ranks: a: a=0, b=half; b: null=0, x=1/3, y=2/3 of the range.
        assert_eq!(z.values().to_vec(), vec![3, 1, 2, 0]);
    }

    #[test]
    fn encoded_null_and_half_float_columns_sort_with_floats_normalised() {
        use arrow_array::types::Float16Type;
        use arrow_array::{Float16Array, NullArray, RunArray};

        let half = |v: f32| <<Float16Type as arrow_array::ArrowPrimitiveType>::Native>::from_f32(v);
        let h: ArrayRef = Arc::new(Float16Array::from(vec![
            half(f32::NAN),
            half(-0.0),
            half(1.0),
            half(0.0),
        ]));
        let run_ends = Int32Array::from(vec![1, 2, 3, 4]);
        let floats = Float64Array::from(vec![-f64::NAN, 0.0, -1.0, -0.0]);
        let r: ArrayRef = Arc::new(RunArray::try_new(&run_ends, &floats).unwrap());
        let d: ArrayRef = Arc::new(
            arrow_array::DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(vec![0, 1, 2, 3]),
                Arc::new(Float64Array::from(vec![f64::NAN, -0.0, 2.0, 0.0])),
            )
            .unwrap(),
        );
        let n: ArrayRef = Arc::new(NullArray::new(4));
        let input = RecordBatch::try_from_iter([("h", h), ("r", r), ("d", d), ("n", n)]).unwrap();
        for curve in [Curve::Linear, Curve::ZOrder, Curve::Hilbert] {
            for column in ["h", "r", "d"] {
                let indices = CurveSort::new(curve, [column, "n"])
                    .indices(&input)
                    .unwrap();
                let expected = match column {
                    // -0.0 == 0.0 (input order), then 1, NaN last.
                    "h" => vec![1, 3, 2, 0],
                    // -1, 0.0 == -0.0, then NaN of either sign last.
                    "r" => vec![2, 1, 3, 0],
                    _ => vec![1, 3, 2, 0],
                };
                assert_eq!(indices.values().to_vec(), expected, "{curve:?} {column}");
            }
        }
    }

    fn error_of(sort: CurveSort, batches: &[RecordBatch]) -> MaintenanceError {
        sort.order(batches).unwrap_err()
    }

    #[test]
    fn bad_columns_are_refused_by_name() {
        let input = batch(vec![Some(1)], vec![Some(1.0)]);
        let one = std::slice::from_ref(&input);
        let err = error_of(CurveSort::new(Curve::ZOrder, ["a", "c"]), one);
        assert!(matches!(&err, MaintenanceError::MissingColumn { column } if column == "c"));
        let err = error_of(CurveSort::new(Curve::ZOrder, ["a", "a"]), one);
        assert!(
            matches!(err, MaintenanceError::InvalidArgument { .. }),
            "{err}"
        );
        let err = error_of(CurveSort::new(Curve::Hilbert, Vec::<String>::new()), one);
        assert!(
            matches!(err, MaintenanceError::InvalidArgument { .. }),
            "{err}"
        );
        let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
        let err = error_of(CurveSort::new(Curve::Hilbert, many), one);
        assert!(
            matches!(err, MaintenanceError::InvalidArgument { .. }),
            "{err}"
        );

        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
        ]));
        let nested = RecordBatch::try_from_iter([("l", list)]).unwrap();
        for curve in [Curve::Linear, Curve::ZOrder] {
            let err = error_of(CurveSort::new(curve, ["l"]), std::slice::from_ref(&nested));
            assert!(
                matches!(&err, MaintenanceError::UnsupportedColumn { column, .. } if column == "l")
            );
        }

        let other: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let other =
            RecordBatch::try_from_iter([("a", other), ("b", input.column(1).clone())]).unwrap();
        let err = error_of(
            CurveSort::new(Curve::Linear, ["a", "b"]),
            &[input.clone(), other],
        );
        assert!(
            matches!(&err, MaintenanceError::ColumnTypeMismatch { column, .. } if column == "a"),
            "{err}"
        );

        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Float64, true),
            Field::new("c", DataType::Utf8, true),
        ]));
        let err = CurveSort::new(Curve::ZOrder, ["a", "b"])
            .sort(&schema, one)
            .unwrap_err();
        assert!(matches!(&err, MaintenanceError::MissingColumn { column } if column == "c"));
    }
}
