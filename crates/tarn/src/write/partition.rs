//! Splitting a batch by partition values, and naming a partition in the log and on storage.
//!
//! This module decides which rows of a batch belong together (rows with equal partition
//! values, found by hashing, without sorting), what a partition's `partitionValues` say (the
//! protocol's serialized form, keyed by physical column name, a null as a JSON null), and which
//! Hive-style directory its files go to (`a=1/b=__HIVE_DEFAULT_PARTITION__`, names and values
//! escaped as Spark escapes them). It never writes anything.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch, UInt32Array};
use arrow_buffer::ToByteSlice;
use arrow_schema::{DataType as ArrowType, TimeUnit};
use arrow_select::take::take_record_batch;
use tarn_protocol::actions::PartitionValues;
use tarn_protocol::partition::{partition_directory, serialize_partition_value};
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use crate::error::{Error, Result};

/// A partition column of the table being written.
#[derive(Debug, Clone)]
pub(crate) struct PartitionColumn {
    /// Index of the column in the logical batch.
    pub(crate) index: usize,
    /// The column's name in `partitionValues` and directory names.
    pub(crate) physical_name: String,
    pub(crate) data_type: PrimitiveType,
}

/// The rows of a batch with equal partition values.
#[derive(Debug, Clone)]
pub(crate) struct PartitionGroup {
    /// The Hive-style directory, e.g. `day=2026-01-07/region=__HIVE_DEFAULT_PARTITION__`;
    /// empty for an unpartitioned table. Equal values give equal directories (but two groups
    /// may share one: a null and an empty string are both the default partition).
    pub(crate) directory: String,
    pub(crate) values: PartitionValues,
    /// The rows, in batch order; `None` for every row of the batch.
    rows: Option<Vec<u32>>,
}

impl PartitionGroup {
    /// Rows in the group.
    pub(crate) fn num_rows(&self, grouping: &Grouping) -> usize {
        self.rows
            .as_ref()
            .map_or(grouping.data.num_rows(), Vec::len)
    }
}

/// A batch's data columns and its rows grouped by partition.
#[derive(Debug)]
pub(crate) struct Grouping {
    /// The batch's data columns (partition columns left out), every row.
    pub(crate) data: RecordBatch,
    /// One group per distinct combination of partition values, in order of first row.
    pub(crate) groups: Vec<PartitionGroup>,
}

impl Grouping {
    /// The data columns of `group`'s rows.
    pub(crate) fn rows_of(&self, group: &PartitionGroup) -> Result<RecordBatch> {
        match &group.rows {
            None => Ok(self.data.clone()),
            Some(rows) => self.take(rows.clone()),
        }
    }

    /// The data columns of the rows of `groups`, one group after another, in one batch.
    pub(crate) fn rows_of_all(&self, groups: &[PartitionGroup]) -> Result<RecordBatch> {
        if let [only] = groups {
            return self.rows_of(only);
        }
        let total = groups.iter().map(|g| g.num_rows(self)).sum();
        let mut rows: Vec<u32> = Vec::with_capacity(total);
        for group in groups {
            match &group.rows {
                Some(of_group) => rows.extend_from_slice(of_group),
                None => rows.extend(0..u32::try_from(self.data.num_rows()).unwrap_or(u32::MAX)),
            }
        }
        self.take(rows)
    }

    fn take(&self, rows: Vec<u32>) -> Result<RecordBatch> {
        take_record_batch(&self.data, &UInt32Array::from(rows)).map_err(|source| Error::Compute {
            context: "splitting a batch by partition".to_owned(),
            source,
        })
    }
}

/// Groups the rows of `batch` (logical form) by their partition values, keeping only the
/// columns at `data_columns`. Row order within a group is the batch's.
pub(crate) fn group(
    batch: &RecordBatch,
    partitions: &[PartitionColumn],
    data_columns: &[usize],
) -> Result<Grouping> {
    let data = batch
        .project(data_columns)
        .map_err(|source| Error::Compute {
            context: "selecting the data columns of a batch".to_owned(),
            source,
        })?;
    if partitions.is_empty() {
        return Ok(Grouping {
            data,
            groups: vec![PartitionGroup {
                directory: String::new(),
                values: PartitionValues::new(),
                rows: None,
            }],
        });
    }
    let mut constant = true;
    for column in partitions {
        if !is_constant(batch.column(column.index))? {
            constant = false;
            break;
        }
    }
    if constant {
        // The common case of input clustered by partition: no grouping needed.
        let (directory, values) = partition_of(batch, partitions, 0)?;
        return Ok(Grouping {
            data,
            groups: vec![PartitionGroup {
                directory,
                values,
                rows: None,
            }],
        });
    }
    let rows = batch.num_rows();
    // Group ids, refined one partition column at a time: (group so far, value id) -> group.
    let mut ids_of_rows = vec![0u32; rows];
    let mut group_count = 1usize;
    for column in partitions {
        let ids = value_ids(batch.column(column.index))?;
        let mut refined: FastMap<(u32, u32), u32> = FastMap::default();
        for (group, id) in ids_of_rows.iter_mut().zip(ids) {
            let next = u32::try_from(refined.len()).unwrap_or(u32::MAX);
            *group = *refined.entry((*group, id)).or_insert(next);
        }
        group_count = refined.len();
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); group_count];
    for (row, group) in ids_of_rows.iter().enumerate() {
        members[*group as usize].push(u32::try_from(row).unwrap_or(u32::MAX));
    }
    let mut groups = Vec::with_capacity(group_count);
    for rows_of_group in members {
        let Some(&first) = rows_of_group.first() else {
            continue;
        };
        let (directory, values) = partition_of(batch, partitions, first as usize)?;
        groups.push(PartitionGroup {
            directory,
            values,
            rows: (group_count > 1).then_some(rows_of_group),
        });
    }
    Ok(Grouping { data, groups })
}

/// The directory and `partitionValues` of the partition of `row`.
fn partition_of(
    batch: &RecordBatch,
    partitions: &[PartitionColumn],
    row: usize,
) -> Result<(String, PartitionValues)> {
    let mut named = Vec::with_capacity(partitions.len());
    let mut values = PartitionValues::new();
    for column in partitions {
        let scalar = scalar_at(batch.column(column.index), row, column.data_type)?;
        let text = serialize_partition_value(&scalar)?;
        named.push((column.physical_name.as_str(), text.clone()));
        values.insert(column.physical_name.clone(), text);
    }
    let directory = partition_directory(
        &named
            .iter()
            .map(|(name, value)| (*name, value.as_deref()))
            .collect::<Vec<_>>(),
    );
    Ok((directory, values))
}

/// Whether every row of `array` holds the same value (all null counts as the same). Equal
/// here is what [`value_ids`] calls equal: floats compare by their bits.
fn is_constant(array: &ArrayRef) -> Result<bool> {
    let rows = array.len();
    if rows <= 1 || array.null_count() == rows {
        return Ok(true);
    }
    if array.null_count() > 0 {
        return Ok(false);
    }
    let first = arrow_array::Scalar::new(array.slice(0, 1));
    let equal = arrow_ord::cmp::eq(array, &first).map_err(|source| Error::Compute {
        context: "comparing partition values".to_owned(),
        source,
    })?;
    Ok(equal.true_count() == rows)
}

/// The hash map for grouping rows: partition values are not attacker-chosen keys of a
/// long-lived map, so a fast hasher is enough.
type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

/// A small integer per row, equal for equal values (nulls share one id).
fn value_ids(array: &ArrayRef) -> Result<Vec<u32>> {
    fn assign<'a, K: std::hash::Hash + Eq>(
        rows: usize,
        is_null: impl Fn(usize) -> bool,
        key: impl Fn(usize) -> K + 'a,
    ) -> Vec<u32> {
        let mut ids: FastMap<K, u32> = FastMap::default();
        (0..rows)
            .map(|row| {
                if is_null(row) {
                    0
                } else {
                    let next = u32::try_from(ids.len() + 1).unwrap_or(u32::MAX);
                    *ids.entry(key(row)).or_insert(next)
                }
            })
            .collect()
    }
    fn primitive<T: ArrowPrimitiveType>(array: &PrimitiveArray<T>) -> Vec<u32> {
        // Every native type of a partition column fits 16 bytes (decimal128 is the widest).
        assign(
            array.len(),
            |row| array.is_null(row),
            |row| {
                let value = array.value(row);
                let bytes = value.to_byte_slice();
                let mut key = [0u8; 16];
                let len = bytes.len().min(16);
                key[..len].copy_from_slice(&bytes[..len]);
                key
            },
        )
    }
    let rows = array.len();
    Ok(match array.data_type() {
        ArrowType::Boolean => {
            let a = array.as_boolean();
            assign(rows, |row| a.is_null(row), |row| a.value(row))
        }
        ArrowType::Int8 => primitive(array.as_primitive::<Int8Type>()),
        ArrowType::Int16 => primitive(array.as_primitive::<Int16Type>()),
        ArrowType::Int32 => primitive(array.as_primitive::<Int32Type>()),
        ArrowType::Int64 => primitive(array.as_primitive::<Int64Type>()),
        ArrowType::Float32 => primitive(array.as_primitive::<Float32Type>()),
        ArrowType::Float64 => primitive(array.as_primitive::<Float64Type>()),
        ArrowType::Date32 => primitive(array.as_primitive::<Date32Type>()),
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive(array.as_primitive::<TimestampMicrosecondType>())
        }
        ArrowType::Decimal128(_, _) => primitive(array.as_primitive::<Decimal128Type>()),
        ArrowType::Utf8 => {
            let a = array.as_string::<i32>();
            assign(rows, |row| a.is_null(row), |row| a.value(row))
        }
        ArrowType::Binary => {
            let a = array.as_binary::<i32>();
            assign(rows, |row| a.is_null(row), |row| a.value(row))
        }
        other => {
            return Err(Error::Unsupported {
                what: format!("a partition column of type {other}"),
            });
        }
    })
}

/// The value at `row` of an array in the logical form of Delta primitive `ty`.
pub(crate) fn scalar_at(array: &ArrayRef, row: usize, ty: PrimitiveType) -> Result<Scalar> {
    if array.is_null(row) {
        return Ok(Scalar::Null(ty));
    }
    let scalar = match (ty, array.data_type()) {
        (PrimitiveType::Boolean, ArrowType::Boolean) => {
            Scalar::Boolean(array.as_boolean().value(row))
        }
        (PrimitiveType::Byte, ArrowType::Int8) => {
            Scalar::Byte(array.as_primitive::<Int8Type>().value(row))
        }
        (PrimitiveType::Short, ArrowType::Int16) => {
            Scalar::Short(array.as_primitive::<Int16Type>().value(row))
        }
        (PrimitiveType::Integer, ArrowType::Int32) => {
            Scalar::Integer(array.as_primitive::<Int32Type>().value(row))
        }
        (PrimitiveType::Long, ArrowType::Int64) => {
            Scalar::Long(array.as_primitive::<Int64Type>().value(row))
        }
        (PrimitiveType::Float, ArrowType::Float32) => {
            Scalar::Float(array.as_primitive::<Float32Type>().value(row))
        }
        (PrimitiveType::Double, ArrowType::Float64) => {
            Scalar::Double(array.as_primitive::<Float64Type>().value(row))
        }
        (PrimitiveType::Date, ArrowType::Date32) => {
            Scalar::Date(array.as_primitive::<Date32Type>().value(row))
        }
        (PrimitiveType::Timestamp, ArrowType::Timestamp(TimeUnit::Microsecond, _)) => {
            Scalar::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        (PrimitiveType::TimestampNtz, ArrowType::Timestamp(TimeUnit::Microsecond, _)) => {
            Scalar::TimestampNtz(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        (PrimitiveType::Decimal(d), ArrowType::Decimal128(_, _)) => Scalar::Decimal {
            value: array.as_primitive::<Decimal128Type>().value(row),
            precision: d.precision,
            scale: d.scale,
        },
        (PrimitiveType::String, ArrowType::Utf8) => {
            Scalar::String(array.as_string::<i32>().value(row).to_owned())
        }
        (PrimitiveType::Binary, ArrowType::Binary) => {
            Scalar::Binary(array.as_binary::<i32>().value(row).to_vec())
        }
        (ty, found) => {
            return Err(Error::Unsupported {
                what: format!("reading a {ty} partition value from an array of {found}"),
            });
        }
    };
    Ok(scalar)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    /// The rows of one partition of a batch.
    struct PartitionSlice {
        directory: String,
        values: PartitionValues,
        batch: RecordBatch,
    }

    fn split(
        batch: &RecordBatch,
        partitions: &[PartitionColumn],
        data_columns: &[usize],
    ) -> Result<Vec<PartitionSlice>> {
        let grouping = group(batch, partitions, data_columns)?;
        grouping
            .groups
            .iter()
            .map(|g| {
                Ok(PartitionSlice {
                    directory: g.directory.clone(),
                    values: g.values.clone(),
                    batch: grouping.rows_of(g)?,
                })
            })
            .collect()
    }

    #[test]
    fn rows_of_several_groups_come_in_one_batch_group_after_group() {
        let input = batch(
            vec![Some("a"), Some("b"), Some("a"), Some("c"), Some("b")],
            vec![0, 1, 2, 3, 4],
        );
        let grouping = group(&input, &[column()], &[1]).unwrap();
        let ids = |b: RecordBatch| b.column(0).as_primitive::<Int64Type>().values().to_vec();
        let [a, b, c] = &grouping.groups[..] else {
            panic!("{:?}", grouping.groups)
        };
        assert_eq!(a.num_rows(&grouping), 2);
        let both = grouping.rows_of_all(&[c.clone(), a.clone()]).unwrap();
        assert_eq!(ids(both), [3, 0, 2]);
        assert_eq!(ids(grouping.rows_of(b).unwrap()), [1, 4]);
    }

    fn batch(parts: Vec<Option<&str>>, ids: Vec<i64>) -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("p", ArrowType::Utf8, true),
                Field::new("id", ArrowType::Int64, false),
            ])),
            vec![
                Arc::new(StringArray::from(parts)),
                Arc::new(Int64Array::from(ids)),
            ],
        )
        .unwrap()
    }

    fn column() -> PartitionColumn {
        PartitionColumn {
            index: 0,
            physical_name: "p".into(),
            data_type: PrimitiveType::String,
        }
    }

    #[test]
    fn groups_rows_without_sorting() {
        let input = batch(
            vec![
                Some("b"),
                Some("a/x"),
                None,
                Some("b"),
                Some(""),
                Some("a/x"),
            ],
            vec![0, 1, 2, 3, 4, 5],
        );
        let slices = split(&input, &[column()], &[1]).unwrap();
        let summary: Vec<(String, Vec<i64>)> = slices
            .iter()
            .map(|s| {
                let ids = s
                    .batch
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec();
                (s.directory.clone(), ids)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("p=b".to_owned(), vec![0, 3]),
                ("p=a%2Fx".to_owned(), vec![1, 5]),
                ("p=__HIVE_DEFAULT_PARTITION__".to_owned(), vec![2]),
                // An empty string is a null partition value, but a different group here: both
                // land in the same directory, so the writer routes them to the same file.
                ("p=__HIVE_DEFAULT_PARTITION__".to_owned(), vec![4]),
            ]
        );
        assert_eq!(slices[2].values.get("p"), Some(&None));
        assert_eq!(slices[0].values.get("p"), Some(&Some("b".to_owned())));
        assert_eq!(slices[0].batch.num_columns(), 1);
    }

    #[test]
    fn one_partition_keeps_the_batch() {
        let input = batch(vec![Some("x"); 3], vec![1, 2, 3]);
        let slices = split(&input, &[column()], &[1]).unwrap();
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].batch.num_rows(), 3);
    }

    #[test]
    fn constant_columns_are_recognised_by_value_bits() {
        use arrow_array::Float64Array;
        let constant = |array: ArrayRef| is_constant(&array).unwrap();
        assert!(constant(Arc::new(StringArray::from(vec!["a", "a", "a"]))));
        assert!(constant(Arc::new(StringArray::from(vec![
            None::<&str>,
            None
        ]))));
        assert!(!constant(Arc::new(StringArray::from(vec![
            Some("a"),
            None
        ]))));
        assert!(!constant(Arc::new(StringArray::from(vec![
            None,
            Some("a")
        ]))));
        assert!(!constant(Arc::new(StringArray::from(vec!["a", "a", "b"]))));
        // -0.0 and 0.0 are different partition values ("-0.0" and "0.0"), as in `value_ids`.
        assert!(!constant(Arc::new(Float64Array::from(vec![0.0, -0.0]))));
        assert!(constant(Arc::new(Float64Array::from(vec![
            f64::NAN,
            f64::NAN
        ]))));
    }

    #[test]
    fn a_constant_column_beside_a_varying_one_still_splits() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("p", ArrowType::Utf8, true),
            Field::new("q", ArrowType::Int64, false),
            Field::new("id", ArrowType::Int64, false),
        ]));
        let input = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["x", "x", "x"])),
                Arc::new(Int64Array::from(vec![1, 2, 1])),
                Arc::new(Int64Array::from(vec![10, 20, 30])),
            ],
        )
        .unwrap();
        let q = PartitionColumn {
            index: 1,
            physical_name: "q".into(),
            data_type: PrimitiveType::Long,
        };
        let slices = split(&input, &[column(), q], &[2]).unwrap();
        let directories: Vec<&str> = slices.iter().map(|s| s.directory.as_str()).collect();
        assert_eq!(directories, ["p=x/q=1", "p=x/q=2"]);
        assert_eq!(slices[0].batch.num_rows(), 2);
        assert_eq!(slices[1].batch.num_rows(), 1);
    }

    proptest::proptest! {
        /// Every row lands in exactly one slice; rows of a slice share a directory whose
        /// segment reads back as their value; different directories mean different values.
        #[test]
        fn slices_partition_the_rows(
            values in proptest::collection::vec(
                proptest::option::of("[a/=% :éx☃\\#{}]{0,4}"),
                1..60,
            )
        ) {
            let ids: Vec<i64> = (0..values.len() as i64).collect();
            let input = batch(values.iter().map(|v| v.as_deref()).collect(), ids);
            let slices = split(&input, &[column()], &[1]).unwrap();
            let mut seen = vec![false; values.len()];
            for slice in &slices {
                let (name, value) =
                    tarn_protocol::partition::parse_partition_segment(&slice.directory).unwrap();
                proptest::prop_assert_eq!(name, "p");
                let logged = slice.values.get("p").cloned().flatten();
                proptest::prop_assert_eq!(&value, &logged);
                for id in slice.batch.column(0).as_primitive::<Int64Type>().values() {
                    let row = *id as usize;
                    proptest::prop_assert!(!seen[row]);
                    seen[row] = true;
                    let expected = values[row].clone().filter(|v| !v.is_empty());
                    proptest::prop_assert_eq!(&expected, &logged);
                }
            }
            proptest::prop_assert!(seen.iter().all(|s| *s));
        }
    }
}
