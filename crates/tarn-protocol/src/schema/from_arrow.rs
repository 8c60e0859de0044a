//! Arrow types to Delta types.
//!
//! This module decides which Arrow types a Delta table can hold. It accepts every Arrow
//! encoding of a Delta type, not only the one `to_arrow` produces:
//!
//! - `Utf8`, `LargeUtf8`, `Utf8View` -> `string`; `Binary`, `LargeBinary`, `BinaryView`,
//!   `FixedSizeBinary` -> `binary`;
//! - `List`, `LargeList`, `ListView`, `LargeListView`, `FixedSizeList` -> `array`;
//! - `Timestamp` of any unit -> `timestamp` with a time zone, `timestamp_ntz` without;
//!   `Date32`, `Date64` -> `date`;
//! - `Decimal32/64/128(p, s)` and `Decimal256(p <= 38, s)` -> `decimal(p,s)`;
//! - `UInt8` -> `short`, `UInt16` -> `integer`, `UInt32` -> `long` (the next wider signed
//!   type, which holds every value); `Dictionary(_, v)` -> `v`'s type;
//! - a field marked with the `arrow.parquet.variant` extension -> `variant`.
//!
//! It must never accept a type whose values Delta cannot hold exactly: `UInt64`, `Float16`,
//! durations, intervals, times, unions, `Null`, run-end encoding, a decimal with negative scale
//! or precision over 38 are an `UnsupportedType` error naming the field. Field metadata is
//! decoded as `arrow_metadata` describes, except `PARQUET:field_id`, which is derived from
//! `delta.columnMapping.id` and never becomes Delta metadata, and the variant extension keys.
//! Metadata on synthesized `element`, `key`, `value` and `key_value` fields is ignored: Delta
//! has nowhere to keep it (nested ids live in the owning field's metadata).

use std::collections::BTreeMap;

use arrow_schema::{
    DataType as ArrowDataType, Field as ArrowField, Fields as ArrowFields, Schema as ArrowSchema,
};

use super::arrow_metadata::{
    EXTENSION_METADATA_KEY, EXTENSION_NAME_KEY, PARQUET_FIELD_ID_KEY, VARIANT_EXTENSION_NAME,
    decode_value,
};
use super::json::check_unique_names;
use super::types::{
    ArrayType, DataType, DecimalType, MapType, PrimitiveType, StructField, StructType,
    check_decimal, child_path,
};
use crate::error::ProtocolError;

impl TryFrom<&ArrowSchema> for StructType {
    type Error = ProtocolError;

    fn try_from(schema: &ArrowSchema) -> Result<Self, Self::Error> {
        struct_from_arrow(schema.fields(), "")
    }
}

impl TryFrom<&ArrowField> for StructField {
    type Error = ProtocolError;

    fn try_from(field: &ArrowField) -> Result<Self, Self::Error> {
        field_from_arrow(field, "")
    }
}

impl TryFrom<&ArrowDataType> for DataType {
    type Error = ProtocolError;

    /// Converts a bare type. A `variant` cannot be recognized here, since its marker lives on
    /// the Arrow field; convert the field instead.
    fn try_from(data_type: &ArrowDataType) -> Result<Self, Self::Error> {
        type_from_arrow(data_type, "")
    }
}

fn struct_from_arrow(fields: &ArrowFields, parent: &str) -> Result<StructType, ProtocolError> {
    let fields = fields
        .iter()
        .map(|field| field_from_arrow(field, parent))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&fields, parent)
        .map_err(|reason| ProtocolError::InvalidSchema { reason })?;
    Ok(StructType { fields })
}

fn is_variant(field: &ArrowField) -> bool {
    field.metadata().get(EXTENSION_NAME_KEY).map(String::as_str) == Some(VARIANT_EXTENSION_NAME)
}

fn field_from_arrow(field: &ArrowField, parent: &str) -> Result<StructField, ProtocolError> {
    let path = child_path(parent, field.name());
    let variant = is_variant(field);
    let data_type = child_type_from_arrow(field, &path)?;
    let metadata: BTreeMap<_, _> = field
        .metadata()
        .iter()
        .filter(|(key, _)| {
            key.as_str() != PARQUET_FIELD_ID_KEY
                && !(variant
                    && (key.as_str() == EXTENSION_NAME_KEY
                        || key.as_str() == EXTENSION_METADATA_KEY))
        })
        .map(|(key, value)| (key.clone(), decode_value(value)))
        .collect();
    Ok(StructField {
        name: field.name().clone(),
        data_type,
        nullable: field.is_nullable(),
        metadata,
    })
}

/// The type of a field, honouring its variant marker.
fn child_type_from_arrow(field: &ArrowField, path: &str) -> Result<DataType, ProtocolError> {
    if !is_variant(field) {
        return type_from_arrow(field.data_type(), path);
    }
    match field.data_type() {
        // Unshredded (metadata, value) or shredded (plus typed_value): both are a variant.
        ArrowDataType::Struct(_) => Ok(DataType::Variant),
        other => Err(unsupported(
            other,
            path,
            "the variant extension marks a type that is not a struct",
        )),
    }
}

fn unsupported(data_type: &ArrowDataType, path: &str, reason: &str) -> ProtocolError {
    ProtocolError::UnsupportedType {
        data_type: data_type.to_string(),
        reason: if path.is_empty() {
            reason.to_owned()
        } else {
            format!("field `{path}`: {reason}")
        },
    }
}

fn decimal_from_arrow(
    data_type: &ArrowDataType,
    precision: u8,
    scale: i8,
    path: &str,
) -> Result<DataType, ProtocolError> {
    let scale = u64::try_from(scale)
        .map_err(|_| unsupported(data_type, path, "Delta decimals have no negative scale"))?;
    let decimal: DecimalType = check_decimal(u64::from(precision), scale)
        .map_err(|reason| unsupported(data_type, path, &reason))?;
    Ok(DataType::Primitive(PrimitiveType::Decimal(decimal)))
}

fn type_from_arrow(data_type: &ArrowDataType, path: &str) -> Result<DataType, ProtocolError> {
    use ArrowDataType as A;
    let primitive = |p: PrimitiveType| Ok(DataType::Primitive(p));
    match data_type {
        A::Utf8 | A::LargeUtf8 | A::Utf8View => primitive(PrimitiveType::String),
        A::Int64 => primitive(PrimitiveType::Long),
        A::Int32 => primitive(PrimitiveType::Integer),
        A::Int16 => primitive(PrimitiveType::Short),
        A::Int8 => primitive(PrimitiveType::Byte),
        A::UInt8 => primitive(PrimitiveType::Short),
        A::UInt16 => primitive(PrimitiveType::Integer),
        A::UInt32 => primitive(PrimitiveType::Long),
        A::UInt64 => Err(unsupported(
            data_type,
            path,
            "no Delta integer type holds every UInt64 value",
        )),
        A::Float32 => primitive(PrimitiveType::Float),
        A::Float64 => primitive(PrimitiveType::Double),
        A::Boolean => primitive(PrimitiveType::Boolean),
        A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_) => {
            primitive(PrimitiveType::Binary)
        }
        A::Date32 | A::Date64 => primitive(PrimitiveType::Date),
        A::Timestamp(_, Some(_)) => primitive(PrimitiveType::Timestamp),
        A::Timestamp(_, None) => primitive(PrimitiveType::TimestampNtz),
        A::Decimal32(p, s) | A::Decimal64(p, s) | A::Decimal128(p, s) | A::Decimal256(p, s) => {
            decimal_from_arrow(data_type, *p, *s, path)
        }
        A::List(element)
        | A::LargeList(element)
        | A::ListView(element)
        | A::LargeListView(element)
        | A::FixedSizeList(element, _) => Ok(DataType::Array(Box::new(ArrayType {
            element_type: child_type_from_arrow(element, &child_path(path, "element"))?,
            contains_null: element.is_nullable(),
        }))),
        A::Map(entries, _) => {
            let ArrowDataType::Struct(key_value) = entries.data_type() else {
                return Err(unsupported(data_type, path, "map entries are not a struct"));
            };
            let [key, value] = key_value.iter().collect::<Vec<_>>()[..] else {
                return Err(unsupported(
                    data_type,
                    path,
                    "map entries must have exactly a key and a value field",
                ));
            };
            Ok(DataType::Map(Box::new(MapType {
                key_type: child_type_from_arrow(key, &child_path(path, "key"))?,
                value_type: child_type_from_arrow(value, &child_path(path, "value"))?,
                value_contains_null: value.is_nullable(),
            })))
        }
        A::Struct(fields) => Ok(DataType::Struct(Box::new(struct_from_arrow(fields, path)?))),
        A::Dictionary(_, values) => type_from_arrow(values, path),
        _ => Err(unsupported(data_type, path, "no Delta type represents it")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_schema::{IntervalUnit, TimeUnit, UnionFields, UnionMode};
    use serde_json::json;

    use super::*;
    use crate::schema::variant_arrow_type;

    fn delta_of(data_type: ArrowDataType) -> Result<DataType, ProtocolError> {
        let field = ArrowField::new("c", data_type, true);
        StructField::try_from(&field).map(|f| f.data_type)
    }

    #[test]
    fn accepts_every_encoding() {
        let list = |f: ArrowField| Arc::new(f);
        let element = ArrowField::new("item", ArrowDataType::Int32, true);
        let cases = [
            (ArrowDataType::Utf8, DataType::STRING),
            (ArrowDataType::LargeUtf8, DataType::STRING),
            (ArrowDataType::Utf8View, DataType::STRING),
            (ArrowDataType::Int64, DataType::LONG),
            (ArrowDataType::Int32, DataType::INTEGER),
            (ArrowDataType::Int16, DataType::SHORT),
            (ArrowDataType::Int8, DataType::BYTE),
            (ArrowDataType::UInt8, DataType::SHORT),
            (ArrowDataType::UInt16, DataType::INTEGER),
            (ArrowDataType::UInt32, DataType::LONG),
            (ArrowDataType::Float32, DataType::FLOAT),
            (ArrowDataType::Float64, DataType::DOUBLE),
            (ArrowDataType::Boolean, DataType::BOOLEAN),
            (ArrowDataType::Binary, DataType::BINARY),
            (ArrowDataType::LargeBinary, DataType::BINARY),
            (ArrowDataType::BinaryView, DataType::BINARY),
            (ArrowDataType::FixedSizeBinary(16), DataType::BINARY),
            (ArrowDataType::Date32, DataType::DATE),
            (ArrowDataType::Date64, DataType::DATE),
            (
                ArrowDataType::Timestamp(TimeUnit::Second, Some("+02:00".into())),
                DataType::TIMESTAMP,
            ),
            (
                ArrowDataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                DataType::TIMESTAMP,
            ),
            (
                ArrowDataType::Timestamp(TimeUnit::Millisecond, None),
                DataType::TIMESTAMP_NTZ,
            ),
            (
                ArrowDataType::Timestamp(TimeUnit::Microsecond, None),
                DataType::TIMESTAMP_NTZ,
            ),
            (
                ArrowDataType::Decimal32(9, 2),
                DataType::decimal(9, 2).unwrap(),
            ),
            (
                ArrowDataType::Decimal64(18, 0),
                DataType::decimal(18, 0).unwrap(),
            ),
            (
                ArrowDataType::Decimal128(38, 38),
                DataType::decimal(38, 38).unwrap(),
            ),
            (
                ArrowDataType::Decimal256(38, 4),
                DataType::decimal(38, 4).unwrap(),
            ),
            (
                ArrowDataType::Dictionary(
                    Box::new(ArrowDataType::Int8),
                    Box::new(ArrowDataType::Utf8),
                ),
                DataType::STRING,
            ),
            (
                ArrowDataType::List(list(element.clone())),
                DataType::array(DataType::INTEGER, true),
            ),
            (
                ArrowDataType::LargeList(list(element.clone())),
                DataType::array(DataType::INTEGER, true),
            ),
            (
                ArrowDataType::ListView(list(element.clone())),
                DataType::array(DataType::INTEGER, true),
            ),
            (
                ArrowDataType::LargeListView(list(element.clone())),
                DataType::array(DataType::INTEGER, true),
            ),
            (
                ArrowDataType::FixedSizeList(list(element.with_nullable(false)), 3),
                DataType::array(DataType::INTEGER, false),
            ),
        ];
        for (arrow, delta) in cases {
            assert_eq!(delta_of(arrow.clone()).unwrap(), delta, "{arrow}");
        }
    }

    #[test]
    fn maps_with_any_entry_names() {
        let entries = ArrowField::new(
            "entries",
            ArrowDataType::Struct(ArrowFields::from(vec![
                ArrowField::new("k", ArrowDataType::LargeUtf8, false),
                ArrowField::new("v", ArrowDataType::Int64, false),
            ])),
            false,
        );
        assert_eq!(
            delta_of(ArrowDataType::Map(Arc::new(entries), true)).unwrap(),
            DataType::map(DataType::STRING, DataType::LONG, false)
        );
        let bad = ArrowField::new("entries", ArrowDataType::Int32, false);
        let err = delta_of(ArrowDataType::Map(Arc::new(bad), false)).unwrap_err();
        assert!(
            matches!(err, ProtocolError::UnsupportedType { .. }),
            "{err}"
        );
    }

    #[test]
    fn rejects_types_delta_cannot_hold() {
        let union = ArrowDataType::Union(
            UnionFields::try_new(
                vec![0],
                vec![ArrowField::new("a", ArrowDataType::Int32, true)],
            )
            .unwrap(),
            UnionMode::Dense,
        );
        for arrow in [
            ArrowDataType::UInt64,
            ArrowDataType::Float16,
            ArrowDataType::Null,
            ArrowDataType::Duration(TimeUnit::Second),
            ArrowDataType::Interval(IntervalUnit::DayTime),
            ArrowDataType::Time64(TimeUnit::Microsecond),
            ArrowDataType::Decimal256(39, 0),
            ArrowDataType::Decimal128(10, -2),
            ArrowDataType::Decimal128(5, 6),
            union,
        ] {
            let err = delta_of(arrow.clone()).unwrap_err();
            assert!(
                matches!(err, ProtocolError::UnsupportedType { .. }),
                "{arrow}: {err:?}"
            );
            assert!(err.to_string().contains("field `c`"), "{err}");
        }
    }

    #[test]
    fn errors_name_nested_fields() {
        let inner = ArrowField::new(
            "s",
            ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                "xs",
                ArrowDataType::List(Arc::new(ArrowField::new(
                    "item",
                    ArrowDataType::Duration(TimeUnit::Second),
                    true,
                ))),
                true,
            )])),
            true,
        );
        let schema = ArrowSchema::new(vec![inner]);
        let err = StructType::try_from(&schema).unwrap_err().to_string();
        assert!(err.contains("field `s.xs.element`"), "{err}");
        assert!(err.contains("Duration"), "{err}");

        let duplicate = ArrowSchema::new(vec![
            ArrowField::new("a", ArrowDataType::Int32, true),
            ArrowField::new("A", ArrowDataType::Int32, true),
        ]);
        let err = StructType::try_from(&duplicate).unwrap_err().to_string();
        assert!(err.contains("duplicate column name"), "{err}");
    }

    #[test]
    fn variant_needs_its_marker() {
        let marked =
            ArrowField::new("v", variant_arrow_type(), true).with_metadata(HashMap::from([(
                EXTENSION_NAME_KEY.to_owned(),
                VARIANT_EXTENSION_NAME.to_owned(),
            )]));
        let field = StructField::try_from(&marked).unwrap();
        assert_eq!(field.data_type, DataType::Variant);
        assert!(field.metadata.is_empty());

        let unmarked = ArrowField::new("v", variant_arrow_type(), true);
        assert!(matches!(
            StructField::try_from(&unmarked).unwrap().data_type,
            DataType::Struct(_)
        ));

        let wrong =
            ArrowField::new("v", ArrowDataType::Binary, true).with_metadata(HashMap::from([(
                EXTENSION_NAME_KEY.to_owned(),
                VARIANT_EXTENSION_NAME.to_owned(),
            )]));
        assert!(StructField::try_from(&wrong).is_err());
    }

    #[test]
    fn metadata_decoding_drops_parquet_field_id() {
        let arrow =
            ArrowField::new("c", ArrowDataType::Int64, false).with_metadata(HashMap::from([
                ("PARQUET:field_id".to_owned(), "3".to_owned()),
                ("delta.columnMapping.id".to_owned(), "3".to_owned()),
                (
                    "delta.columnMapping.physicalName".to_owned(),
                    "col-3".to_owned(),
                ),
                ("flag".to_owned(), "true".to_owned()),
                ("note".to_owned(), "hello".to_owned()),
            ]));
        let field = StructField::try_from(&arrow).unwrap();
        assert!(!field.nullable);
        assert_eq!(
            field.metadata,
            BTreeMap::from([
                ("delta.columnMapping.id".to_owned(), json!(3)),
                (
                    "delta.columnMapping.physicalName".to_owned(),
                    json!("col-3")
                ),
                ("flag".to_owned(), json!(true)),
                ("note".to_owned(), json!("hello")),
            ])
        );
    }
}
