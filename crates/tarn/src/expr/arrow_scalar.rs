//! Single values as Arrow arrays, and back.
//!
//! This module decides the Arrow form of a literal ([`Scalar`] in Delta's Arrow mapping, or a
//! [`DomainValue`] in a column's exact Arrow type) and reads single values back out of Arrow
//! arrays. It also maps Arrow types to comparison [`Domain`]s. It never computes anything.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
    LargeStringArray, StringArray, StringViewArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt8Array,
    UInt16Array, UInt32Array, UInt64Array, new_null_array,
};
use arrow_schema::{DataType as ArrowType, TimeUnit};
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use super::coerce::{Domain, DomainValue, TemporalKind, TimeScale};

/// The Arrow type of a Delta primitive type (Delta's mapping: `timestamp` is
/// `Timestamp(µs, "UTC")`, `timestamp_ntz` `Timestamp(µs)`, `date` `Date32`, ...).
pub(super) fn arrow_type(ty: PrimitiveType) -> Result<ArrowType, String> {
    ArrowType::try_from(&ty).map_err(|error| error.to_string())
}

/// A one-element array holding `scalar`, in Delta's Arrow mapping.
pub(super) fn scalar_array(scalar: &Scalar) -> Result<ArrayRef, String> {
    let utc = || Some(Arc::<str>::from("UTC"));
    Ok(match scalar {
        Scalar::Null(ty) => new_null_array(&arrow_type(*ty)?, 1),
        Scalar::Boolean(v) => Arc::new(BooleanArray::from(vec![*v])),
        Scalar::Byte(v) => Arc::new(Int8Array::from(vec![*v])),
        Scalar::Short(v) => Arc::new(Int16Array::from(vec![*v])),
        Scalar::Integer(v) => Arc::new(Int32Array::from(vec![*v])),
        Scalar::Long(v) => Arc::new(Int64Array::from(vec![*v])),
        Scalar::Float(v) => Arc::new(Float32Array::from(vec![*v])),
        Scalar::Double(v) => Arc::new(Float64Array::from(vec![*v])),
        Scalar::String(v) => Arc::new(StringArray::from(vec![v.as_str()])),
        Scalar::Binary(v) => Arc::new(BinaryArray::from(vec![v.as_slice()])),
        Scalar::Date(v) => Arc::new(Date32Array::from(vec![*v])),
        Scalar::Timestamp(v) => {
            Arc::new(TimestampMicrosecondArray::from(vec![*v]).with_timezone_opt(utc()))
        }
        Scalar::TimestampNtz(v) => Arc::new(TimestampMicrosecondArray::from(vec![*v])),
        Scalar::Decimal {
            value,
            precision,
            scale,
        } => Arc::new(
            Decimal128Array::from(vec![*value])
                .with_precision_and_scale(*precision, i8::try_from(*scale).unwrap_or(i8::MAX))
                .map_err(|error| error.to_string())?,
        ),
    })
}

/// The value at `index` of an array of one of Delta's Arrow types; `None` for other types.
pub(super) fn scalar_at(array: &dyn Array, index: usize) -> Option<Scalar> {
    let ty = delta_type(array.data_type())?;
    if array.is_null(index) {
        return Some(Scalar::Null(ty));
    }
    Some(match array.data_type() {
        ArrowType::Boolean => Scalar::Boolean(array.as_boolean().value(index)),
        ArrowType::Int8 => Scalar::Byte(array.as_primitive::<Int8Type>().value(index)),
        ArrowType::Int16 => Scalar::Short(array.as_primitive::<Int16Type>().value(index)),
        ArrowType::Int32 => Scalar::Integer(array.as_primitive::<Int32Type>().value(index)),
        ArrowType::Int64 => Scalar::Long(array.as_primitive::<Int64Type>().value(index)),
        ArrowType::Float32 => Scalar::Float(array.as_primitive::<Float32Type>().value(index)),
        ArrowType::Float64 => Scalar::Double(array.as_primitive::<Float64Type>().value(index)),
        ArrowType::Utf8 => Scalar::String(array.as_string::<i32>().value(index).to_owned()),
        ArrowType::Binary => Scalar::Binary(array.as_binary::<i32>().value(index).to_vec()),
        ArrowType::Date32 => Scalar::Date(array.as_primitive::<Date32Type>().value(index)),
        ArrowType::Timestamp(TimeUnit::Microsecond, tz) => {
            let v = array
                .as_primitive::<TimestampMicrosecondType>()
                .value(index);
            if tz.is_some() {
                Scalar::Timestamp(v)
            } else {
                Scalar::TimestampNtz(v)
            }
        }
        ArrowType::Decimal128(precision, scale) => Scalar::Decimal {
            value: array.as_primitive::<Decimal128Type>().value(index),
            precision: *precision,
            scale: u8::try_from(*scale).ok()?,
        },
        _ => return None,
    })
}

/// The Delta type of one of Delta's Arrow types.
fn delta_type(ty: &ArrowType) -> Option<PrimitiveType> {
    Some(match ty {
        ArrowType::Boolean => PrimitiveType::Boolean,
        ArrowType::Int8 => PrimitiveType::Byte,
        ArrowType::Int16 => PrimitiveType::Short,
        ArrowType::Int32 => PrimitiveType::Integer,
        ArrowType::Int64 => PrimitiveType::Long,
        ArrowType::Float32 => PrimitiveType::Float,
        ArrowType::Float64 => PrimitiveType::Double,
        ArrowType::Utf8 => PrimitiveType::String,
        ArrowType::Binary => PrimitiveType::Binary,
        ArrowType::Date32 => PrimitiveType::Date,
        ArrowType::Timestamp(TimeUnit::Microsecond, Some(_)) => PrimitiveType::Timestamp,
        ArrowType::Timestamp(TimeUnit::Microsecond, None) => PrimitiveType::TimestampNtz,
        ArrowType::Decimal128(precision, scale) => PrimitiveType::Decimal(
            tarn_protocol::schema::DecimalType::try_new(*precision, u8::try_from(*scale).ok()?)
                .ok()?,
        ),
        _ => return None,
    })
}

/// The comparison domain of an Arrow type (of a dictionary's values, for a dictionary);
/// `None` for types comparisons do not support directly.
pub(super) fn arrow_domain(ty: &ArrowType) -> Option<Domain> {
    Some(match ty {
        ArrowType::Dictionary(_, values) => return arrow_domain(values),
        ArrowType::Int8 => Domain::integer(i8::MIN.into(), i8::MAX.into()),
        ArrowType::Int16 => Domain::integer(i16::MIN.into(), i16::MAX.into()),
        ArrowType::Int32 => Domain::integer(i32::MIN.into(), i32::MAX.into()),
        ArrowType::Int64 => Domain::integer(i64::MIN.into(), i64::MAX.into()),
        ArrowType::UInt8 => Domain::integer(0, u8::MAX.into()),
        ArrowType::UInt16 => Domain::integer(0, u16::MAX.into()),
        ArrowType::UInt32 => Domain::integer(0, u32::MAX.into()),
        ArrowType::UInt64 => Domain::integer(0, u64::MAX.into()),
        ArrowType::Float32 => Domain::Float32,
        ArrowType::Float64 => Domain::Float64,
        ArrowType::Decimal128(_, scale) => Domain::decimal((*scale).into()),
        ArrowType::Date32 => Domain::of_primitive(PrimitiveType::Date),
        ArrowType::Timestamp(unit, tz) => {
            let kind = if tz.is_some() {
                TemporalKind::Utc
            } else {
                TemporalKind::Ntz
            };
            let scale = match unit {
                TimeUnit::Second => TimeScale::Micros(1_000_000),
                TimeUnit::Millisecond => TimeScale::Micros(1_000),
                TimeUnit::Microsecond => TimeScale::Micros(1),
                TimeUnit::Nanosecond => TimeScale::PerMicro(1_000),
            };
            Domain::timestamp(kind, scale)
        }
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => Domain::String,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => Domain::Binary,
        ArrowType::Boolean => Domain::Boolean,
        _ => return None,
    })
}

/// A one-element array of exactly type `ty` holding `value` (which [`arrow_domain`] of `ty`
/// produced, so it fits).
pub(super) fn domain_array(value: &DomainValue, ty: &ArrowType) -> Result<ArrayRef, String> {
    let int = |v: &DomainValue| match v {
        DomainValue::Int(v) => Ok(*v),
        other => Err(format!("{other:?} is not an integer")),
    };
    let narrow = |v: i128| format!("{v} does not fit {ty}");
    macro_rules! integer {
        ($array:ident, $native:ty) => {{
            let v = int(value)?;
            Arc::new($array::from(vec![
                <$native>::try_from(v).map_err(|_| narrow(v))?,
            ])) as ArrayRef
        }};
    }
    Ok(match (ty, value) {
        (ArrowType::Int8, _) => integer!(Int8Array, i8),
        (ArrowType::Int16, _) => integer!(Int16Array, i16),
        (ArrowType::Int32, _) => integer!(Int32Array, i32),
        (ArrowType::Int64, _) => integer!(Int64Array, i64),
        (ArrowType::UInt8, _) => integer!(UInt8Array, u8),
        (ArrowType::UInt16, _) => integer!(UInt16Array, u16),
        (ArrowType::UInt32, _) => integer!(UInt32Array, u32),
        (ArrowType::UInt64, _) => integer!(UInt64Array, u64),
        (ArrowType::Date32, _) => integer!(Date32Array, i32),
        (ArrowType::Timestamp(unit, tz), _) => {
            let v = int(value)?;
            let v = i64::try_from(v).map_err(|_| narrow(v))?;
            match unit {
                TimeUnit::Second => {
                    Arc::new(TimestampSecondArray::from(vec![v]).with_timezone_opt(tz.clone()))
                        as ArrayRef
                }
                TimeUnit::Millisecond => {
                    Arc::new(TimestampMillisecondArray::from(vec![v]).with_timezone_opt(tz.clone()))
                }
                TimeUnit::Microsecond => {
                    Arc::new(TimestampMicrosecondArray::from(vec![v]).with_timezone_opt(tz.clone()))
                }
                TimeUnit::Nanosecond => {
                    Arc::new(TimestampNanosecondArray::from(vec![v]).with_timezone_opt(tz.clone()))
                }
            }
        }
        (ArrowType::Decimal128(precision, scale), _) => Arc::new(
            Decimal128Array::from(vec![int(value)?])
                .with_precision_and_scale(*precision, *scale)
                .map_err(|error| error.to_string())?,
        ),
        (ArrowType::Float32, DomainValue::F32(v)) => Arc::new(Float32Array::from(vec![*v])),
        (ArrowType::Float64, DomainValue::F64(v)) => Arc::new(Float64Array::from(vec![*v])),
        (ArrowType::Utf8, DomainValue::Str(v)) => Arc::new(StringArray::from(vec![v.as_str()])),
        (ArrowType::LargeUtf8, DomainValue::Str(v)) => {
            Arc::new(LargeStringArray::from(vec![v.as_str()]))
        }
        (ArrowType::Utf8View, DomainValue::Str(v)) => {
            Arc::new(StringViewArray::from(vec![v.as_str()]))
        }
        (ArrowType::Binary, DomainValue::Bytes(v)) => {
            Arc::new(BinaryArray::from(vec![v.as_slice()]))
        }
        (ArrowType::LargeBinary, DomainValue::Bytes(v)) => {
            Arc::new(LargeBinaryArray::from(vec![v.as_slice()]))
        }
        (ArrowType::BinaryView, DomainValue::Bytes(v)) => {
            Arc::new(BinaryViewArray::from(vec![v.as_slice()]))
        }
        (ArrowType::Boolean, DomainValue::Bool(v)) => Arc::new(BooleanArray::from(vec![*v])),
        (ty, value) => return Err(format!("cannot make a {ty} value from {value:?}")),
    })
}
