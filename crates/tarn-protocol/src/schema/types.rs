//! The Delta data types.

use std::collections::BTreeMap;

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
