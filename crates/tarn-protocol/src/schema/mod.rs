//! Delta table schemas: the types, their JSON form (PROTOCOL.md, "Schema Serialization
//! Format"), and their mapping to Arrow.

mod types;

pub use types::{ArrayType, DataType, DecimalType, MapType, PrimitiveType, StructField, StructType};
