//! Statistics as pruning sees them: partition values, a file's Delta statistics, and a Parquet
//! row group's statistics, all presented through [`StatsView`].
//!
//! Every bound handed out here must be a true bound: a minimum at most the smallest value, a
//! maximum at least the largest. Where a writer's statistic may not be (millisecond-truncated
//! timestamps, 32-character string prefixes, float columns whose NaNs the statistics leave
//! out), the bound is widened or withheld. A withheld bound only costs a file read; a wrong one
//! loses rows.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use serde_json::Value;
use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use crate::expr::StatsView;

/// Delta writers cut string statistics to this many characters.
const STRING_PREFIX_LENGTH: usize = 32;

/// The bounds of one column, ready for [`StatsView`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnBounds {
    pub(crate) min: Option<Scalar>,
    pub(crate) max: Option<Scalar>,
    pub(crate) null_count: Option<i64>,
    /// Known to be null in every row (a null partition value), whatever the counts say.
    pub(crate) all_null: bool,
}

/// Statistics of one file (or row group): exact partition values plus per-column bounds.
#[derive(Debug, Default)]
pub(crate) struct BoundsView {
    pub(crate) num_records: Option<i64>,
    pub(crate) columns: HashMap<Vec<String>, ColumnBounds>,
}

impl StatsView for BoundsView {
    fn num_records(&self) -> Option<i64> {
        self.num_records
    }

    fn min(&self, column: &[String]) -> Option<Scalar> {
        self.columns.get(column)?.min.clone()
    }

    fn max(&self, column: &[String]) -> Option<Scalar> {
        self.columns.get(column)?.max.clone()
    }

    fn null_count(&self, column: &[String]) -> Option<i64> {
        self.columns.get(column)?.null_count
    }

    fn all_null(&self, column: &[String]) -> Option<bool> {
        let bounds = self.columns.get(column)?;
        if bounds.all_null {
            return Some(true);
        }
        match (bounds.null_count, self.num_records) {
            (Some(nulls), Some(rows)) => Some(nulls >= rows),
            _ => None,
        }
    }
}

impl BoundsView {
    /// Adds a partition column's value: exact bounds, and every row null or none.
    pub(crate) fn add_partition_value(&mut self, column: &str, value: &Scalar) {
        let bounds = if value.is_null() {
            ColumnBounds {
                min: None,
                max: None,
                null_count: self.num_records,
                all_null: true,
            }
        } else {
            ColumnBounds {
                min: Some(value.clone()),
                max: Some(value.clone()),
                null_count: Some(0),
                all_null: false,
            }
        };
        self.columns.insert(vec![column.to_owned()], bounds);
    }
}

/// A column to take from Delta statistics: its logical path (as predicates name it), its
/// physical path (as statistics key it), and its type.
#[derive(Debug, Clone)]
pub(crate) struct StatsColumn {
    pub(crate) logical: Vec<String>,
    pub(crate) physical: Vec<String>,
    pub(crate) data_type: PrimitiveType,
}

fn lookup<'a>(stats: &'a Value, section: &str, path: &[String]) -> Option<&'a Value> {
    let mut value = stats.get(section)?;
    for part in path {
        value = value.get(part)?;
    }
    Some(value)
}

/// Reads the Delta `stats` JSON of a file for the given columns.
pub(crate) fn file_bounds(
    stats_json: Option<&str>,
    num_records: Option<i64>,
    columns: &[StatsColumn],
) -> BoundsView {
    let mut view = BoundsView {
        num_records,
        columns: HashMap::new(),
    };
    let Some(stats) = stats_json.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return view;
    };
    if view.num_records.is_none() {
        view.num_records = stats.get("numRecords").and_then(Value::as_i64);
    }
    for column in columns {
        let bounds = ColumnBounds {
            min: lookup(&stats, "minValues", &column.physical)
                .and_then(|v| json_bound(v, column.data_type, Bound::Lower)),
            max: lookup(&stats, "maxValues", &column.physical)
                .and_then(|v| json_bound(v, column.data_type, Bound::Upper)),
            null_count: lookup(&stats, "nullCount", &column.physical).and_then(Value::as_i64),
            all_null: false,
        };
        view.columns.insert(column.logical.clone(), bounds);
    }
    view
}

/// Which side of the range a statistic bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    Lower,
    Upper,
}

/// Converts a JSON statistic into a scalar that is a true bound of its side, or `None`.
fn json_bound(value: &Value, ty: PrimitiveType, bound: Bound) -> Option<Scalar> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let scalar = parse_partition_value("", Some(&text), ty).ok()?;
    widen(scalar, ty, bound, &text)
}

/// Makes a statistic a true bound, or withholds it.
fn widen(scalar: Scalar, ty: PrimitiveType, bound: Bound, text: &str) -> Option<Scalar> {
    match (ty, bound, scalar) {
        // Float statistics leave NaN out, and NaN sorts above everything.
        (PrimitiveType::Float | PrimitiveType::Double, Bound::Upper, _) => None,
        // Statistics are cut to a prefix: a prefix is still a lower bound, but not an upper one.
        (PrimitiveType::String, Bound::Upper, scalar) => {
            (text.chars().count() < STRING_PREFIX_LENGTH).then_some(scalar)
        }
        (PrimitiveType::Binary, Bound::Upper, _) => None,
        // Spark writes timestamp statistics in milliseconds, cutting off the microseconds.
        (PrimitiveType::Timestamp, Bound::Upper, Scalar::Timestamp(us)) => {
            Some(Scalar::Timestamp(us.saturating_add(999)))
        }
        (PrimitiveType::TimestampNtz, Bound::Upper, Scalar::TimestampNtz(us)) => {
            Some(Scalar::TimestampNtz(us.saturating_add(999)))
        }
        (_, _, scalar) => Some(scalar),
    }
}

/// The value at `index` of a statistics array (as returned by parquet's statistics
/// converter, which produces the column's Arrow type) as a scalar of `ty`.
pub(crate) fn array_scalar(array: &ArrayRef, index: usize, ty: PrimitiveType) -> Option<Scalar> {
    if array.is_null(index) {
        return None;
    }
    let scalar = match (ty, array.data_type()) {
        (PrimitiveType::Boolean, DataType::Boolean) => {
            Scalar::Boolean(array.as_boolean().value(index))
        }
        (PrimitiveType::Byte, DataType::Int8) => {
            Scalar::Byte(array.as_primitive::<Int8Type>().value(index))
        }
        (PrimitiveType::Short, DataType::Int16) => {
            Scalar::Short(array.as_primitive::<Int16Type>().value(index))
        }
        (PrimitiveType::Integer, DataType::Int32) => {
            Scalar::Integer(array.as_primitive::<Int32Type>().value(index))
        }
        (PrimitiveType::Long, DataType::Int64) => {
            Scalar::Long(array.as_primitive::<Int64Type>().value(index))
        }
        (PrimitiveType::Float, DataType::Float32) => {
            Scalar::Float(array.as_primitive::<Float32Type>().value(index))
        }
        (PrimitiveType::Double, DataType::Float64) => {
            Scalar::Double(array.as_primitive::<Float64Type>().value(index))
        }
        (PrimitiveType::Date, DataType::Date32) => {
            Scalar::Date(array.as_primitive::<Date32Type>().value(index))
        }
        (PrimitiveType::Timestamp, DataType::Timestamp(_, _)) => Scalar::Timestamp(
            arrow_cast::cast(
                array,
                &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            )
            .ok()?
            .as_primitive::<TimestampMicrosecondType>()
            .value(index),
        ),
        (PrimitiveType::TimestampNtz, DataType::Timestamp(_, _)) => Scalar::TimestampNtz(
            arrow_cast::cast(
                array,
                &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            )
            .ok()?
            .as_primitive::<TimestampMicrosecondType>()
            .value(index),
        ),
        (PrimitiveType::Decimal(d), DataType::Decimal128(_, scale)) if *scale as u8 == d.scale => {
            Scalar::Decimal {
                value: array.as_primitive::<Decimal128Type>().value(index),
                precision: d.precision,
                scale: d.scale,
            }
        }
        (PrimitiveType::String, DataType::Utf8) => {
            Scalar::String(array.as_string::<i32>().value(index).to_owned())
        }
        (PrimitiveType::String, DataType::LargeUtf8) => {
            Scalar::String(array.as_string::<i64>().value(index).to_owned())
        }
        (PrimitiveType::String, DataType::Utf8View) => {
            Scalar::String(array.as_string_view().value(index).to_owned())
        }
        _ => return None,
    };
    Some(scalar)
}

/// A row group bound, withheld where Parquet statistics are not true bounds of our semantics:
/// float maxima (NaN is left out of Parquet statistics) and inexact (truncated) values.
pub(crate) fn row_group_bound(
    scalar: Scalar,
    ty: PrimitiveType,
    bound: Bound,
    exact: bool,
) -> Option<Scalar> {
    if !exact && bound == Bound::Upper {
        return None;
    }
    match (ty, bound) {
        (PrimitiveType::Float | PrimitiveType::Double, Bound::Upper) => None,
        _ => Some(scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: PrimitiveType) -> StatsColumn {
        StatsColumn {
            logical: vec![name.to_owned()],
            physical: vec![name.to_owned()],
            data_type: ty,
        }
    }

    #[test]
    fn reads_bounds_and_widens_where_writers_truncate() {
        let stats = r#"{"numRecords":3,
            "minValues":{"i":1,"s":"abc","t":"2026-01-07T10:00:00.123Z","d":1.5,"long":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
            "maxValues":{"i":9,"s":"abd","t":"2026-01-07T10:00:00.456Z","d":2.5,"long":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},
            "nullCount":{"i":0,"s":1,"t":0,"d":0,"long":0}}"#;
        let columns = [
            column("i", PrimitiveType::Integer),
            column("s", PrimitiveType::String),
            column("t", PrimitiveType::Timestamp),
            column("d", PrimitiveType::Double),
            column("long", PrimitiveType::String),
        ];
        let view = file_bounds(Some(stats), None, &columns);
        let key = |n: &str| vec![n.to_owned()];
        assert_eq!(view.num_records(), Some(3));
        assert_eq!(view.min(&key("i")), Some(Scalar::Integer(1)));
        assert_eq!(view.max(&key("i")), Some(Scalar::Integer(9)));
        assert_eq!(view.null_count(&key("s")), Some(1));
        assert_eq!(view.max(&key("s")), Some(Scalar::String("abd".into())));
        // Milliseconds in, microseconds out: the max covers the whole millisecond.
        let Some(Scalar::Timestamp(max)) = view.max(&key("t")) else {
            panic!("timestamp max");
        };
        let Some(Scalar::Timestamp(min)) = view.min(&key("t")) else {
            panic!("timestamp min");
        };
        assert_eq!(max - min, 333_999);
        assert_eq!(view.min(&key("d")), Some(Scalar::Double(1.5)));
        assert_eq!(view.max(&key("d")), None, "float maxima are withheld (NaN)");
        assert_eq!(
            view.max(&key("long")),
            None,
            "a 32-character max may be a prefix"
        );
        assert!(view.min(&key("long")).is_some());
    }

    #[test]
    fn missing_or_bad_stats_give_no_bounds() {
        let view = file_bounds(
            Some("not json"),
            Some(5),
            &[column("i", PrimitiveType::Integer)],
        );
        assert_eq!(view.num_records(), Some(5));
        assert_eq!(view.min(&["i".to_owned()]), None);
        let view = file_bounds(None, None, &[column("i", PrimitiveType::Integer)]);
        assert_eq!(view.max(&["i".to_owned()]), None);
    }

    #[test]
    fn partition_values_are_exact() {
        let mut view = BoundsView {
            num_records: Some(10),
            ..BoundsView::default()
        };
        view.add_partition_value("day", &Scalar::String("2026-01-07".into()));
        view.add_partition_value("region", &Scalar::Null(PrimitiveType::String));
        assert_eq!(view.min(&["day".to_owned()]), view.max(&["day".to_owned()]));
        assert_eq!(view.null_count(&["region".to_owned()]), Some(10));
        assert_eq!(view.null_count(&["day".to_owned()]), Some(0));
        // Without a record count, a null partition value is still null in every row.
        let mut unknown = BoundsView::default();
        unknown.add_partition_value("region", &Scalar::Null(PrimitiveType::String));
        assert_eq!(unknown.all_null(&["region".to_owned()]), Some(true));
    }
}
