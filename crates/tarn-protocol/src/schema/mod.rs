//! Delta table schemas: the types, their JSON form (PROTOCOL.md, "Schema Serialization
//! Format"), their mapping to Arrow, and column mapping (PROTOCOL.md, "Column Mapping").
//!
//! - `types`: [`StructType`], [`StructField`], [`DataType`] and friends, constructors and
//!   field lookup by name or field path;
//! - `json`: [`StructType::from_json`] / [`StructType::to_json`] and the serde impls;
//! - `to_arrow` / `from_arrow`: `TryFrom` conversions to and from `arrow_schema` types, which
//!   round-trip exactly (metadata and nullability included);
//! - `column_mapping`: [`ColumnMappingMode`], physical names and ids,
//!   [`StructType::to_physical`].
//!
//! This module only interprets schemas; it must never read or write data.

mod arrow_metadata;
mod column_mapping;
mod from_arrow;
mod json;
mod to_arrow;
mod types;

#[cfg(test)]
mod roundtrip_tests;

pub use arrow_metadata::{PARQUET_FIELD_ID_KEY, VARIANT_EXTENSION_NAME};
pub use column_mapping::{
    COLUMN_MAPPING_ID_KEY, COLUMN_MAPPING_MODE_KEY, COLUMN_MAPPING_NESTED_IDS_KEY,
    COLUMN_MAPPING_PHYSICAL_NAME_KEY, ColumnMappingMode,
};
pub use to_arrow::{variant_arrow_fields, variant_arrow_type};
pub use types::{
    ArrayType, DataType, DecimalType, MapType, PrimitiveType, StructField, StructType,
};
