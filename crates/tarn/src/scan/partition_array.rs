//! Materializing a partition value as a column.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    new_null_array,
};
use arrow_schema::{DataType, TimeUnit};
use tarn_protocol::scalar::Scalar;

/// A column of `rows` copies of `value`, of type `target` (the column's output type).
pub(crate) fn scalar_array(
    value: &Scalar,
    target: &DataType,
    rows: usize,
) -> Result<ArrayRef, String> {
    let array: ArrayRef = match value {
        Scalar::Null(_) => new_null_array(target, rows),
        Scalar::Boolean(v) => Arc::new(BooleanArray::from(vec![*v; rows])),
        Scalar::Byte(v) => Arc::new(Int8Array::from_value(*v, rows)),
        Scalar::Short(v) => Arc::new(Int16Array::from_value(*v, rows)),
        Scalar::Integer(v) => Arc::new(Int32Array::from_value(*v, rows)),
        Scalar::Long(v) => Arc::new(Int64Array::from_value(*v, rows)),
        Scalar::Float(v) => Arc::new(Float32Array::from_value(*v, rows)),
        Scalar::Double(v) => Arc::new(Float64Array::from_value(*v, rows)),
        Scalar::String(v) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(v, rows))),
        Scalar::Binary(v) => Arc::new(BinaryArray::from_iter_values(std::iter::repeat_n(v, rows))),
        Scalar::Date(v) => Arc::new(Date32Array::from_value(*v, rows)),
        Scalar::Timestamp(v) => {
            Arc::new(TimestampMicrosecondArray::from_value(*v, rows).with_timezone("UTC"))
        }
        Scalar::TimestampNtz(v) => Arc::new(TimestampMicrosecondArray::from_value(*v, rows)),
        Scalar::Decimal {
            value,
            precision,
            scale,
        } => Arc::new(
            Decimal128Array::from_value(*value, rows)
                .with_precision_and_scale(*precision, i8::try_from(*scale).unwrap_or(i8::MAX))
                .map_err(|e| e.to_string())?,
        ),
    };
    if array.data_type() == target {
        return Ok(array);
    }
    // Same value, other representation (e.g. a timestamp zone annotation).
    if let (
        DataType::Timestamp(TimeUnit::Microsecond, _),
        DataType::Timestamp(TimeUnit::Microsecond, _),
    ) = (array.data_type(), target)
    {
        return arrow_cast::cast(&array, target).map_err(|e| e.to_string());
    }
    Err(format!(
        "partition value {value} has type {}, the column is {target}",
        array.data_type()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use tarn_protocol::schema::PrimitiveType;

    #[test]
    fn repeats_values_with_the_column_type() {
        let a = scalar_array(&Scalar::Integer(7), &DataType::Int32, 3).unwrap();
        assert_eq!(a.len(), 3);
        let d = scalar_array(
            &Scalar::Decimal {
                value: 1230,
                precision: 10,
                scale: 2,
            },
            &DataType::Decimal128(10, 2),
            2,
        )
        .unwrap();
        assert_eq!(d.data_type(), &DataType::Decimal128(10, 2));
        let n = scalar_array(&Scalar::Null(PrimitiveType::Date), &DataType::Date32, 4).unwrap();
        assert_eq!(n.null_count(), 4);
        assert!(scalar_array(&Scalar::Integer(1), &DataType::Utf8, 1).is_err());
    }
}
