//! Text columns to typed columns, exactly: the one conversion CSV and NDJSON share.
//!
//! Both readers first decode every leaf that is not a string as text (CSV fields are text;
//! NDJSON is decoded by arrow-json with each such leaf typed as a string and
//! `coerce_primitive` on, which keeps a number's text as the file spells it), keeping the
//! shape of structs, lists and maps. This module then reads each leaf with
//! [`crate::value_text`]'s rules, at any nesting depth, so a value is accepted only if it is
//! exactly a value of its column's type, and the first one that is not is reported with the
//! row it belongs to, the path of the column (`s.items.element.price`) and its text. It
//! never decides which line a row came from: the reader does.

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, BooleanBuilder, PrimitiveBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, ListArray, MapArray, StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::value_text::{
    Refusal, parse_boolean, parse_date, parse_decimal, parse_f32, parse_f64, parse_hex,
    parse_timestamp, parse_whole, type_name,
};

/// A value that is not a value of its column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BadValue {
    /// The row of the top-level column it belongs to.
    pub(super) row: usize,
    /// The column's path: `price`, `s.price`, `tags.element`, `m.key`.
    pub(super) column: String,
    /// The value's text.
    pub(super) value: String,
    /// The leaf type it was read as (`decimal(10,2)`).
    pub(super) expected: String,
    /// Why it is not one.
    pub(super) reason: Refusal,
}

/// Why a column did not convert.
#[derive(Debug)]
pub(super) enum ConvertError {
    /// A value is not a value of its type.
    Value(BadValue),
    /// The column's type is not one tarn reads from text, or Arrow refused an array it
    /// should not have: not the input's fault.
    Unsupported(String),
}

/// The type a column is decoded as before [`convert`]: each leaf that is not a string as a
/// string, structs, lists and maps with the same fields (names, nullability, metadata).
pub(super) fn text_type(target: &DataType) -> DataType {
    match target {
        DataType::Struct(fields) => DataType::Struct(text_fields(fields)),
        DataType::List(element) => DataType::List(Arc::new(text_field(element))),
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(text_field(entries)), *sorted),
        _ => DataType::Utf8,
    }
}

/// [`text_type`] of every column of `schema`.
pub(super) fn text_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(text_fields(schema.fields())))
}

fn text_field(field: &Field) -> Field {
    field.clone().with_data_type(text_type(field.data_type()))
}

fn text_fields(fields: &Fields) -> Fields {
    fields.iter().map(|f| text_field(f)).collect()
}

/// Converts a column decoded as [`text_type`] of `field`'s type to that type.
pub(super) fn convert(text: &ArrayRef, field: &Field) -> Result<ArrayRef, ConvertError> {
    convert_array(text, field.data_type(), field.name())
}

fn convert_array(text: &ArrayRef, target: &DataType, path: &str) -> Result<ArrayRef, ConvertError> {
    let arrow = |e: arrow_schema::ArrowError| ConvertError::Unsupported(e.to_string());
    match target {
        DataType::Struct(fields) => {
            let parent = text.as_struct_opt().ok_or_else(|| shape(text, target))?;
            let children = parent
                .columns()
                .iter()
                .zip(fields)
                .map(|(child, field)| {
                    convert_array(
                        child,
                        field.data_type(),
                        &format!("{path}.{}", field.name()),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let array = StructArray::try_new(fields.clone(), children, parent.nulls().cloned())
                .map_err(arrow)?;
            Ok(Arc::new(array))
        }
        DataType::List(element) => {
            let list = text
                .as_list_opt::<i32>()
                .ok_or_else(|| shape(text, target))?;
            let values = convert_array(
                list.values(),
                element.data_type(),
                &format!("{path}.{}", element.name()),
            )
            .map_err(|e| owning_row(e, list.value_offsets()))?;
            let array = ListArray::try_new(
                Arc::clone(element),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )
            .map_err(arrow)?;
            Ok(Arc::new(array))
        }
        DataType::Map(entries_field, sorted) => {
            let map = text.as_map_opt().ok_or_else(|| shape(text, target))?;
            let DataType::Struct(entry_fields) = entries_field.data_type() else {
                return Err(shape(text, target));
            };
            let entries = map.entries();
            let converted = entries
                .columns()
                .iter()
                .zip(entry_fields)
                .map(|(child, field)| {
                    convert_array(
                        child,
                        field.data_type(),
                        &format!("{path}.{}", field.name()),
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| owning_row(e, map.value_offsets()))?;
            let entries =
                StructArray::try_new(entry_fields.clone(), converted, entries.nulls().cloned())
                    .map_err(arrow)?;
            let array = MapArray::try_new(
                Arc::clone(entries_field),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )
            .map_err(arrow)?;
            Ok(Arc::new(array))
        }
        _ => {
            let strings = text
                .as_string_opt::<i32>()
                .ok_or_else(|| shape(text, target))?;
            convert_leaf(strings, target).map_err(|failure| match failure {
                LeafFailure::Refused(row, reason) => ConvertError::Value(BadValue {
                    row,
                    column: path.to_owned(),
                    value: strings.value(row).to_owned(),
                    expected: type_name(target),
                    reason,
                }),
                LeafFailure::Unsupported => ConvertError::Unsupported(format!(
                    "column `{path}` is {}, which tarn does not read from text",
                    type_name(target)
                )),
            })
        }
    }
}

fn shape(text: &ArrayRef, target: &DataType) -> ConvertError {
    ConvertError::Unsupported(format!(
        "decoded {} where {target} was expected",
        text.data_type()
    ))
}

/// A child's error with its row replaced by the row of the list or map holding it.
fn owning_row(err: ConvertError, offsets: &[i32]) -> ConvertError {
    match err {
        ConvertError::Value(mut bad) => {
            // The last row whose first entry is at or before the child's.
            let holders = offsets.partition_point(|&o| usize::try_from(o).unwrap_or(0) <= bad.row);
            bad.row = holders.saturating_sub(1);
            ConvertError::Value(bad)
        }
        other => other,
    }
}

enum LeafFailure {
    /// The value at this row is refused, for this reason.
    Refused(usize, Refusal),
    Unsupported,
}

/// Reads a leaf column of text as `target`.
fn convert_leaf(text: &StringArray, target: &DataType) -> Result<ArrayRef, LeafFailure> {
    fn whole<T: ArrowPrimitiveType>(
        text: &StringArray,
        min: i64,
        max: i64,
    ) -> Result<ArrayRef, LeafFailure>
    where
        T::Native: TryFrom<i64>,
    {
        primitive::<T>(text, &T::DATA_TYPE, |s| {
            let value = parse_whole(s, min, max)?;
            T::Native::try_from(value)
                .map_err(|_| format!("it is outside the range {min} to {max}"))
        })
    }
    match target {
        DataType::Utf8 => Ok(Arc::new(text.clone())),
        DataType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(text.len());
            for (row, value) in text.iter().enumerate() {
                match value {
                    None => builder.append_null(),
                    Some(s) => builder
                        .append_value(parse_boolean(s).map_err(|r| LeafFailure::Refused(row, r))?),
                }
            }
            Ok(Arc::new(builder.finish()))
        }
        DataType::Int8 => whole::<Int8Type>(text, i8::MIN.into(), i8::MAX.into()),
        DataType::Int16 => whole::<Int16Type>(text, i16::MIN.into(), i16::MAX.into()),
        DataType::Int32 => whole::<Int32Type>(text, i32::MIN.into(), i32::MAX.into()),
        DataType::Int64 => whole::<Int64Type>(text, i64::MIN, i64::MAX),
        DataType::Float32 => primitive::<Float32Type>(text, target, parse_f32),
        DataType::Float64 => primitive::<Float64Type>(text, target, parse_f64),
        DataType::Decimal128(precision, scale) => {
            primitive::<Decimal128Type>(text, target, |s| parse_decimal(s, *precision, *scale))
        }
        DataType::Date32 => primitive::<Date32Type>(text, target, parse_date),
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            let zoned = zone.is_some();
            primitive::<TimestampMicrosecondType>(text, target, |s| parse_timestamp(s, zoned))
        }
        DataType::Binary => {
            let mut builder = BinaryBuilder::with_capacity(text.len(), text.value_data().len() / 2);
            let mut bytes = Vec::new();
            for (row, value) in text.iter().enumerate() {
                match value {
                    None => builder.append_null(),
                    Some(s) => {
                        bytes.clear();
                        parse_hex(s, &mut bytes).map_err(|r| LeafFailure::Refused(row, r))?;
                        builder.append_value(&bytes);
                    }
                }
            }
            Ok(Arc::new(builder.finish()))
        }
        _ => Err(LeafFailure::Unsupported),
    }
}

fn primitive<T: ArrowPrimitiveType>(
    text: &StringArray,
    data_type: &DataType,
    parse: impl Fn(&str) -> Result<T::Native, Refusal>,
) -> Result<ArrayRef, LeafFailure> {
    let mut builder =
        PrimitiveBuilder::<T>::with_capacity(text.len()).with_data_type(data_type.clone());
    for (row, value) in text.iter().enumerate() {
        match value {
            None => builder.append_null(),
            Some(s) => builder.append_value(parse(s).map_err(|r| LeafFailure::Refused(row, r))?),
        }
    }
    Ok(Arc::new(builder.finish()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{Decimal128Array, Int64Array};

    fn texts(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn leaves_convert_exactly_or_name_the_value() {
        let field = Field::new("price", DataType::Decimal128(10, 2), true);
        let out = convert(&texts(&[Some("1.230"), None, Some("-4")]), &field).unwrap();
        let want = Decimal128Array::from(vec![Some(123), None, Some(-400)])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(out.as_ref(), &want as &dyn Array);
        match convert(&texts(&[Some("1"), Some("1.239")]), &field) {
            Err(ConvertError::Value(bad)) => {
                assert_eq!((bad.row, bad.column.as_str()), (1, "price"));
                assert_eq!(
                    (bad.value.as_str(), bad.expected.as_str()),
                    ("1.239", "decimal(10,2)")
                );
                assert!(
                    bad.reason.contains("more than 2 digits after"),
                    "{}",
                    bad.reason
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let long = Field::new("n", DataType::Int64, true);
        let out = convert(&texts(&[Some("3.0"), Some("3e2")]), &long).unwrap();
        assert_eq!(out.as_ref(), &Int64Array::from(vec![3, 300]) as &dyn Array);
        assert!(matches!(
            convert(&texts(&[Some("-2.9")]), &long),
            Err(ConvertError::Value(BadValue { row: 0, .. }))
        ));
    }

    #[test]
    fn nested_errors_name_the_path_and_the_owning_row() {
        let element = Arc::new(Field::new("element", DataType::Decimal128(5, 1), true));
        let item = Field::new("price", DataType::Decimal128(5, 1), true);
        let target = DataType::Struct(Fields::from(vec![
            item,
            Field::new("history", DataType::List(Arc::clone(&element)), true),
        ]));
        let mut history = ListBuilder::new(StringBuilder::new()).with_field(Field::new(
            "element",
            DataType::Utf8,
            true,
        ));
        for row in [vec!["1", "2"], vec![], vec!["3", "4", "5.55"]] {
            for value in row {
                history.values().append_value(value);
            }
            history.append(true);
        }
        let DataType::Struct(fields) = text_type(&target) else {
            panic!("not a struct");
        };
        let text: ArrayRef = Arc::new(StructArray::new(
            fields,
            vec![
                texts(&[Some("1"), Some("2"), Some("3")]),
                Arc::new(history.finish()),
            ],
            None,
        ));
        let field = Field::new("s", target, true);
        match convert(&text, &field) {
            Err(ConvertError::Value(bad)) => {
                assert_eq!(bad.row, 2);
                assert_eq!(bad.column, "s.history.element");
                assert_eq!(bad.value, "5.55");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
