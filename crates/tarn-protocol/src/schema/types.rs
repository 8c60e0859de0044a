//! The Delta data types, their constructors and field lookup.
//!
//! This module decides what a schema is; its text form lives in `json`, its Arrow form in
//! `to_arrow`/`from_arrow`. It must never accept a decimal outside precision 1-38.

use std::collections::BTreeMap;

use crate::error::ProtocolError;

/// A Delta primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    /// `string`: UTF-8 text.
    String,
    /// `long`: 64-bit signed integer.
    Long,
    /// `integer`: 32-bit signed integer.
    Integer,
    /// `short`: 16-bit signed integer.
    Short,
    /// `byte`: 8-bit signed integer.
    Byte,
    /// `float`: 32-bit IEEE 754.
    Float,
    /// `double`: 64-bit IEEE 754.
    Double,
    /// `boolean`.
    Boolean,
    /// `binary`: arbitrary bytes.
    Binary,
    /// `date`: days since the epoch.
    Date,
    /// `timestamp`: microseconds since the epoch, UTC-adjusted.
    Timestamp,
    /// `timestamp_ntz`: microseconds, no time zone (the `timestampNtz` feature).
    TimestampNtz,
    /// `decimal(p,s)`: precision 1-38, scale 0-p.
    Decimal(DecimalType),
}

/// Precision and scale of a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecimalType {
    /// Total number of digits, 1 to 38.
    pub precision: u8,
    /// Digits after the decimal point, 0 to `precision`.
    pub scale: u8,
}

/// Any Delta data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    /// A primitive type.
    Primitive(PrimitiveType),
    /// An array of elements of one type.
    Array(Box<ArrayType>),
    /// A map from keys to values.
    Map(Box<MapType>),
    /// A struct of named fields.
    Struct(Box<StructType>),
    /// `variant`: semi-structured data (the `variantType` feature).
    Variant,
}

/// An array type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayType {
    /// Type of the elements.
    pub element_type: DataType,
    /// Whether elements may be null.
    pub contains_null: bool,
}

/// A map type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapType {
    /// Type of the keys (never null).
    pub key_type: DataType,
    /// Type of the values.
    pub value_type: DataType,
    /// Whether values may be null.
    pub value_contains_null: bool,
}

/// A struct type: an ordered list of fields. The table schema is a struct type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructType {
    /// The fields, in order.
    pub fields: Vec<StructField>,
}

/// A named field of a struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructField {
    /// Field name (the logical name when column mapping is on).
    pub name: String,
    /// Field type.
    pub data_type: DataType,
    /// Whether the field may be null.
    pub nullable: bool,
    /// Field metadata: column mapping ids and physical names, comments, identity column
    /// settings, constraints. Values are arbitrary JSON.
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl DecimalType {
    /// The largest precision Delta allows.
    pub const MAX_PRECISION: u8 = 38;

    /// A decimal type, checking that `1 <= precision <= 38` and `scale <= precision`.
    pub fn try_new(precision: u8, scale: u8) -> Result<Self, ProtocolError> {
        check_decimal(u64::from(precision), u64::from(scale))
            .map_err(|reason| ProtocolError::InvalidSchema { reason })
    }
}

/// Checks decimal precision and scale, returning the reason they are invalid.
pub(super) fn check_decimal(precision: u64, scale: u64) -> Result<DecimalType, String> {
    if precision == 0 || precision > u64::from(DecimalType::MAX_PRECISION) {
        return Err(format!(
            "decimal({precision},{scale}): precision must be between 1 and {}",
            DecimalType::MAX_PRECISION
        ));
    }
    if scale > precision {
        return Err(format!(
            "decimal({precision},{scale}): scale must not exceed precision"
        ));
    }
    // Both are at most 38 here.
    Ok(DecimalType {
        precision: u8::try_from(precision).map_err(|e| e.to_string())?,
        scale: u8::try_from(scale).map_err(|e| e.to_string())?,
    })
}

impl DataType {
    /// `string`.
    pub const STRING: DataType = DataType::Primitive(PrimitiveType::String);
    /// `long`.
    pub const LONG: DataType = DataType::Primitive(PrimitiveType::Long);
    /// `integer`.
    pub const INTEGER: DataType = DataType::Primitive(PrimitiveType::Integer);
    /// `short`.
    pub const SHORT: DataType = DataType::Primitive(PrimitiveType::Short);
    /// `byte`.
    pub const BYTE: DataType = DataType::Primitive(PrimitiveType::Byte);
    /// `float`.
    pub const FLOAT: DataType = DataType::Primitive(PrimitiveType::Float);
    /// `double`.
    pub const DOUBLE: DataType = DataType::Primitive(PrimitiveType::Double);
    /// `boolean`.
    pub const BOOLEAN: DataType = DataType::Primitive(PrimitiveType::Boolean);
    /// `binary`.
    pub const BINARY: DataType = DataType::Primitive(PrimitiveType::Binary);
    /// `date`.
    pub const DATE: DataType = DataType::Primitive(PrimitiveType::Date);
    /// `timestamp`.
    pub const TIMESTAMP: DataType = DataType::Primitive(PrimitiveType::Timestamp);
    /// `timestamp_ntz`.
    pub const TIMESTAMP_NTZ: DataType = DataType::Primitive(PrimitiveType::TimestampNtz);

    /// `decimal(precision,scale)`, validated as [`DecimalType::try_new`] does.
    pub fn decimal(precision: u8, scale: u8) -> Result<Self, ProtocolError> {
        Ok(DataType::Primitive(PrimitiveType::Decimal(
            DecimalType::try_new(precision, scale)?,
        )))
    }

    /// An array of `element_type`.
    pub fn array(element_type: DataType, contains_null: bool) -> Self {
        DataType::Array(Box::new(ArrayType {
            element_type,
            contains_null,
        }))
    }

    /// A map from `key_type` to `value_type`.
    pub fn map(key_type: DataType, value_type: DataType, value_contains_null: bool) -> Self {
        DataType::Map(Box::new(MapType {
            key_type,
            value_type,
            value_contains_null,
        }))
    }

    /// A struct of `fields`.
    pub fn struct_of(fields: impl IntoIterator<Item = StructField>) -> Self {
        DataType::Struct(Box::new(StructType::new(fields)))
    }
}

impl From<PrimitiveType> for DataType {
    fn from(primitive: PrimitiveType) -> Self {
        DataType::Primitive(primitive)
    }
}

impl From<StructType> for DataType {
    fn from(struct_type: StructType) -> Self {
        DataType::Struct(Box::new(struct_type))
    }
}

impl From<ArrayType> for DataType {
    fn from(array: ArrayType) -> Self {
        DataType::Array(Box::new(array))
    }
}

impl From<MapType> for DataType {
    fn from(map: MapType) -> Self {
        DataType::Map(Box::new(map))
    }
}

impl StructType {
    /// A struct of `fields`, in order.
    pub fn new(fields: impl IntoIterator<Item = StructField>) -> Self {
        StructType {
            fields: fields.into_iter().collect(),
        }
    }

    /// The direct child field named exactly `name` (case-sensitive).
    pub fn field(&self, name: &str) -> Option<&StructField> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The field at a field path (PROTOCOL.md, "Field Path"): struct field names, with
    /// `element`, `key` or `value` to step into an array element or a map key or value.
    /// For example `["e", "element", "d"]` finds `d` in `e: array<struct<d>>`. The path must
    /// end at a struct field; an empty path finds nothing.
    pub fn field_path(&self, path: &[&str]) -> Option<&StructField> {
        let (first, rest) = path.split_first()?;
        let mut field = self.field(first)?;
        let mut data_type = &field.data_type;
        // Whether the last step landed on a struct field rather than an element, key or value.
        let mut at_field = true;
        for step in rest {
            (data_type, at_field) = match (data_type, *step) {
                (DataType::Array(array), "element") => (&array.element_type, false),
                (DataType::Map(map), "key") => (&map.key_type, false),
                (DataType::Map(map), "value") => (&map.value_type, false),
                (DataType::Struct(inner), name) => {
                    field = inner.field(name)?;
                    (&field.data_type, true)
                }
                _ => return None,
            };
        }
        at_field.then_some(field)
    }
}

impl StructField {
    /// A field without metadata.
    pub fn new(name: impl Into<String>, data_type: impl Into<DataType>, nullable: bool) -> Self {
        StructField {
            name: name.into(),
            data_type: data_type.into(),
            nullable,
            metadata: BTreeMap::new(),
        }
    }

    /// This field with `metadata` added (replacing values of the same keys).
    pub fn with_metadata(
        mut self,
        metadata: impl IntoIterator<Item = (impl Into<String>, serde_json::Value)>,
    ) -> Self {
        self.metadata
            .extend(metadata.into_iter().map(|(key, value)| (key.into(), value)));
        self
    }
}

/// The field path of a child named `name` under `parent` (empty for the schema root), as used
/// in error messages.
pub(super) fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}
