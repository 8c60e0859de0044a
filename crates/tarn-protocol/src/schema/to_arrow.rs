//! Delta types to Arrow types.
//!
//! This module decides the one Arrow form of each Delta type:
//!
//! | Delta | Arrow |
//! |-|-|
//! | `string` | `Utf8` |
//! | `long`, `integer`, `short`, `byte` | `Int64`, `Int32`, `Int16`, `Int8` |
//! | `float`, `double` | `Float32`, `Float64` |
//! | `boolean`, `binary`, `date` | `Boolean`, `Binary`, `Date32` |
//! | `timestamp` | `Timestamp(Microsecond, Some("UTC"))` |
//! | `timestamp_ntz` | `Timestamp(Microsecond, None)` |
//! | `decimal(p,s)` | `Decimal128(p, s)` |
//! | `array` | `List`, child field `element` (nullable = `containsNull`) |
//! | `map` | `Map`, entries `key_value: Struct{key (non-null), value}`, unsorted |
//! | `struct` | `Struct` |
//! | `variant` | `Struct{metadata: Binary non-null, value: Binary non-null}`, marked with the extension name `arrow.parquet.variant` |
//!
//! The variant struct is the unshredded Parquet layout (PROTOCOL.md, "Variant data in
//! Parquet"); the extension marker on the Arrow field is what lets the reverse conversion
//! tell a variant from a struct that happens to have those two fields.
//!
//! Field metadata goes into Arrow field metadata as described in `arrow_metadata`; a
//! `delta.columnMapping.id` is also written as `PARQUET:field_id`, and ids in
//! `delta.columnMapping.nested.ids` become the `PARQUET:field_id` of the synthesized
//! `element`, `key` and `value` fields. This conversion must never change a name: apply
//! [`StructType::to_physical`] first to get the physical schema.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{
    DataType as ArrowDataType, Field as ArrowField, Fields as ArrowFields, Schema as ArrowSchema,
    TimeUnit,
};

use super::arrow_metadata::{
    EXTENSION_NAME_KEY, PARQUET_FIELD_ID_KEY, VARIANT_EXTENSION_NAME, encode_map,
};
use super::column_mapping::ColumnMappingMode;
use super::types::{DataType, DecimalType, PrimitiveType, StructField, StructType, child_path};
use crate::error::ProtocolError;

impl TryFrom<&StructType> for ArrowSchema {
    type Error = ProtocolError;

    fn try_from(schema: &StructType) -> Result<Self, Self::Error> {
        Ok(ArrowSchema::new(struct_fields_to_arrow(schema, "")?))
    }
}

impl TryFrom<&StructField> for ArrowField {
    type Error = ProtocolError;

    fn try_from(field: &StructField) -> Result<Self, Self::Error> {
        field_to_arrow(field, "")
    }
}

impl TryFrom<&DataType> for ArrowDataType {
    type Error = ProtocolError;

    fn try_from(data_type: &DataType) -> Result<Self, Self::Error> {
        type_to_arrow(data_type, "", None)
    }
}

impl TryFrom<&PrimitiveType> for ArrowDataType {
    type Error = ProtocolError;

    fn try_from(primitive: &PrimitiveType) -> Result<Self, Self::Error> {
        primitive_to_arrow(primitive, "")
    }
}

/// The ids of `element`/`key`/`value` children below one struct field, and the key of the
/// current position in its `delta.columnMapping.nested.ids` map (`<physical name>.element`).
struct NestedIds<'a> {
    owner: &'a StructField,
    key: String,
}

impl NestedIds<'_> {
    fn child(&self, step: &str) -> NestedIds<'_> {
        NestedIds {
            owner: self.owner,
            key: format!("{}.{step}", self.key),
        }
    }

    fn id(&self) -> Option<i64> {
        self.owner.nested_id(&self.key)
    }
}

fn struct_fields_to_arrow(
    struct_type: &StructType,
    parent: &str,
) -> Result<Vec<ArrowField>, ProtocolError> {
    struct_type
        .fields
        .iter()
        .map(|field| field_to_arrow(field, parent))
        .collect()
}

fn field_to_arrow(field: &StructField, parent: &str) -> Result<ArrowField, ProtocolError> {
    let path = child_path(parent, &field.name);
    // Nested ids are keyed by the physical name (the name itself when there is none).
    let scope = NestedIds {
        owner: field,
        key: field.physical_name(ColumnMappingMode::Name).to_owned(),
    };
    let arrow_type = type_to_arrow(&field.data_type, &path, Some(&scope))?;
    let mut metadata = encode_map(&field.metadata);
    if let Some(id) = field.column_mapping_id() {
        metadata.insert(PARQUET_FIELD_ID_KEY.to_owned(), id.to_string());
    }
    mark_variant(&field.data_type, &mut metadata);
    Ok(ArrowField::new(field.name.clone(), arrow_type, field.nullable).with_metadata(metadata))
}

/// A synthesized `element`, `key` or `value` field of a list or map.
fn child_to_arrow(
    name: &str,
    data_type: &DataType,
    nullable: bool,
    path: &str,
    scope: Option<&NestedIds<'_>>,
) -> Result<ArrowField, ProtocolError> {
    let child_scope = scope.map(|scope| scope.child(name));
    let arrow_type = type_to_arrow(data_type, path, child_scope.as_ref())?;
    let mut metadata = HashMap::new();
    if let Some(id) = child_scope.as_ref().and_then(NestedIds::id) {
        metadata.insert(PARQUET_FIELD_ID_KEY.to_owned(), id.to_string());
    }
    mark_variant(data_type, &mut metadata);
    Ok(ArrowField::new(name, arrow_type, nullable).with_metadata(metadata))
}

fn mark_variant(data_type: &DataType, metadata: &mut HashMap<String, String>) {
    if matches!(data_type, DataType::Variant) {
        metadata.insert(
            EXTENSION_NAME_KEY.to_owned(),
            VARIANT_EXTENSION_NAME.to_owned(),
        );
    }
}

fn type_to_arrow(
    data_type: &DataType,
    path: &str,
    scope: Option<&NestedIds<'_>>,
) -> Result<ArrowDataType, ProtocolError> {
    Ok(match data_type {
        DataType::Primitive(primitive) => primitive_to_arrow(primitive, path)?,
        DataType::Variant => variant_arrow_type(),
        DataType::Array(array) => {
            let element = child_to_arrow(
                "element",
                &array.element_type,
                array.contains_null,
                &child_path(path, "element"),
                scope,
            )?;
            ArrowDataType::List(Arc::new(element))
        }
        DataType::Map(map) => {
            let key = child_to_arrow("key", &map.key_type, false, &child_path(path, "key"), scope)?;
            let value = child_to_arrow(
                "value",
                &map.value_type,
                map.value_contains_null,
                &child_path(path, "value"),
                scope,
            )?;
            let entries = ArrowField::new(
                "key_value",
                ArrowDataType::Struct(ArrowFields::from(vec![key, value])),
                false,
            );
            ArrowDataType::Map(Arc::new(entries), false)
        }
        DataType::Struct(inner) => {
            ArrowDataType::Struct(ArrowFields::from(struct_fields_to_arrow(inner, path)?))
        }
    })
}

/// The Arrow type a Delta `variant` is read and written as (without its extension marker,
/// which lives on the field).
pub fn variant_arrow_type() -> ArrowDataType {
    ArrowDataType::Struct(variant_arrow_fields())
}

/// The fields of [`variant_arrow_type`]: `metadata` and `value`, both non-null binaries.
pub fn variant_arrow_fields() -> ArrowFields {
    ArrowFields::from(vec![
        ArrowField::new("metadata", ArrowDataType::Binary, false),
        ArrowField::new("value", ArrowDataType::Binary, false),
    ])
}

fn primitive_to_arrow(
    primitive: &PrimitiveType,
    path: &str,
) -> Result<ArrowDataType, ProtocolError> {
    Ok(match primitive {
        PrimitiveType::String => ArrowDataType::Utf8,
        PrimitiveType::Long => ArrowDataType::Int64,
        PrimitiveType::Integer => ArrowDataType::Int32,
        PrimitiveType::Short => ArrowDataType::Int16,
        PrimitiveType::Byte => ArrowDataType::Int8,
        PrimitiveType::Float => ArrowDataType::Float32,
        PrimitiveType::Double => ArrowDataType::Float64,
        PrimitiveType::Boolean => ArrowDataType::Boolean,
        PrimitiveType::Binary => ArrowDataType::Binary,
        PrimitiveType::Date => ArrowDataType::Date32,
        PrimitiveType::Timestamp => {
            ArrowDataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
        }
        PrimitiveType::TimestampNtz => ArrowDataType::Timestamp(TimeUnit::Microsecond, None),
        PrimitiveType::Decimal(decimal) => {
            // The fields are public, so a decimal may not have passed `DecimalType::try_new`.
            let checked =
                DecimalType::try_new(decimal.precision, decimal.scale).map_err(|err| {
                    ProtocolError::InvalidSchema {
                        reason: if path.is_empty() {
                            err.to_string()
                        } else {
                            format!("field `{path}`: {err}")
                        },
                    }
                })?;
            let scale = i8::try_from(checked.scale).map_err(|_| ProtocolError::InvalidSchema {
                reason: format!("field `{path}`: decimal scale {} too large", checked.scale),
            })?;
            ArrowDataType::Decimal128(checked.precision, scale)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::COLUMN_MAPPING_NESTED_IDS_KEY;
    use serde_json::json;

    fn arrow_of(data_type: DataType) -> ArrowDataType {
        ArrowDataType::try_from(&data_type).unwrap()
    }

    #[test]
    fn primitives() {
        let cases = [
            (DataType::STRING, ArrowDataType::Utf8),
            (DataType::LONG, ArrowDataType::Int64),
            (DataType::INTEGER, ArrowDataType::Int32),
            (DataType::SHORT, ArrowDataType::Int16),
            (DataType::BYTE, ArrowDataType::Int8),
            (DataType::FLOAT, ArrowDataType::Float32),
            (DataType::DOUBLE, ArrowDataType::Float64),
            (DataType::BOOLEAN, ArrowDataType::Boolean),
            (DataType::BINARY, ArrowDataType::Binary),
            (DataType::DATE, ArrowDataType::Date32),
            (
                DataType::TIMESTAMP,
                ArrowDataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (
                DataType::TIMESTAMP_NTZ,
                ArrowDataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            (
                DataType::decimal(38, 10).unwrap(),
                ArrowDataType::Decimal128(38, 10),
            ),
        ];
        for (delta, arrow) in cases {
            assert_eq!(arrow_of(delta.clone()), arrow, "{delta}");
        }
    }

    #[test]
    fn invalid_decimal_is_an_error() {
        let field = StructField::new(
            "d",
            DataType::Primitive(PrimitiveType::Decimal(DecimalType {
                precision: 40,
                scale: 2,
            })),
            true,
        );
        let err = ArrowField::try_from(&field).unwrap_err().to_string();
        assert!(
            err.contains("field `d`") && err.contains("precision"),
            "{err}"
        );
    }

    #[test]
    fn nested_layouts() {
        assert_eq!(
            arrow_of(DataType::array(DataType::INTEGER, false)),
            ArrowDataType::List(Arc::new(ArrowField::new(
                "element",
                ArrowDataType::Int32,
                false
            )))
        );
        let map = arrow_of(DataType::map(DataType::STRING, DataType::LONG, true));
        let ArrowDataType::Map(entries, sorted) = map else {
            panic!("not a map: {map}");
        };
        assert!(!sorted);
        assert_eq!(entries.name(), "key_value");
        assert!(!entries.is_nullable());
        assert_eq!(
            entries.data_type(),
            &ArrowDataType::Struct(ArrowFields::from(vec![
                ArrowField::new("key", ArrowDataType::Utf8, false),
                ArrowField::new("value", ArrowDataType::Int64, true),
            ]))
        );
        let schema = StructType::new([StructField::new(
            "s",
            DataType::struct_of([StructField::new("a", DataType::BOOLEAN, false)]),
            true,
        )]);
        let arrow = ArrowSchema::try_from(&schema).unwrap();
        assert_eq!(
            arrow.field(0).data_type(),
            &ArrowDataType::Struct(ArrowFields::from(vec![ArrowField::new(
                "a",
                ArrowDataType::Boolean,
                false
            )]))
        );
    }

    #[test]
    fn variant_is_a_marked_struct() {
        let field = StructField::new("v", DataType::Variant, true);
        let arrow = ArrowField::try_from(&field).unwrap();
        assert_eq!(arrow.data_type(), &variant_arrow_type());
        assert_eq!(
            arrow.metadata().get(EXTENSION_NAME_KEY).map(String::as_str),
            Some(VARIANT_EXTENSION_NAME)
        );
        let array = ArrowField::try_from(&StructField::new(
            "a",
            DataType::array(DataType::Variant, true),
            true,
        ))
        .unwrap();
        let ArrowDataType::List(element) = array.data_type() else {
            panic!("not a list");
        };
        assert_eq!(element.data_type(), &variant_arrow_type());
        assert_eq!(
            element
                .metadata()
                .get(EXTENSION_NAME_KEY)
                .map(String::as_str),
            Some(VARIANT_EXTENSION_NAME)
        );
    }

    #[test]
    fn metadata_and_field_ids() {
        let field = StructField::new("c", DataType::LONG, true).with_metadata([
            ("delta.columnMapping.id", json!(7)),
            ("delta.columnMapping.physicalName", json!("col-7")),
            ("comment", json!("a comment")),
            ("delta.identity.allowExplicitInsert", json!(false)),
        ]);
        let arrow = ArrowField::try_from(&field).unwrap();
        let md = arrow.metadata();
        assert_eq!(md["PARQUET:field_id"], "7");
        assert_eq!(md["delta.columnMapping.id"], "7");
        assert_eq!(md["delta.columnMapping.physicalName"], "col-7");
        assert_eq!(md["comment"], "a comment");
        assert_eq!(md["delta.identity.allowExplicitInsert"], "false");
        assert_eq!(md.len(), 5);
        let plain = ArrowField::try_from(&StructField::new("p", DataType::LONG, true)).unwrap();
        assert!(plain.metadata().is_empty());
    }

    #[test]
    fn nested_ids_become_child_field_ids() {
        // col2: map[int, array[int]] from the IcebergCompatV2 example.
        let field = StructField::new(
            "col2",
            DataType::map(
                DataType::INTEGER,
                DataType::array(DataType::INTEGER, true),
                true,
            ),
            true,
        )
        .with_metadata([
            ("delta.columnMapping.id", json!(2)),
            ("delta.columnMapping.physicalName", json!("col-bbb")),
            (
                COLUMN_MAPPING_NESTED_IDS_KEY,
                json!({"col-bbb.key": 102, "col-bbb.value": 103, "col-bbb.value.element": 104}),
            ),
        ]);
        let arrow = ArrowField::try_from(&field).unwrap();
        let ArrowDataType::Map(entries, _) = arrow.data_type() else {
            panic!("not a map");
        };
        let ArrowDataType::Struct(kv) = entries.data_type() else {
            panic!("entries not a struct");
        };
        assert_eq!(kv[0].metadata()["PARQUET:field_id"], "102");
        assert_eq!(kv[1].metadata()["PARQUET:field_id"], "103");
        let ArrowDataType::List(element) = kv[1].data_type() else {
            panic!("value not a list");
        };
        assert_eq!(element.metadata()["PARQUET:field_id"], "104");
    }
}
