//! Delta schema JSON (PROTOCOL.md, "Schema Serialization Format") to and from the types.
//!
//! This module decides how a schema string is read and written. It reads leniently where
//! writers differ (a missing `nullable`, `containsNull` or `valueContainsNull` is `true`, a
//! missing or null `metadata` is empty, `variant` may be written `{"type":"variant"}`) and
//! writes exactly what Spark writes: compact JSON with `type` first, decimals as
//! `decimal(p,s)`, every field's `nullable` and `metadata` present. It must never accept a
//! type name it does not know, nor two fields of one struct whose names differ only in case
//! (the protocol requires names to be unique regardless of casing); errors name the field
//! path (`a.b`, with `element`, `key` and `value` for array and map children).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::types::{
    ArrayType, DataType, DecimalType, MapType, PrimitiveType, StructField, StructType,
    check_decimal, child_path,
};
use crate::error::ProtocolError;

impl StructType {
    /// Parses a table schema from Delta schema JSON (the `schemaString` of a `metaData`
    /// action). The top level must be a `struct`.
    pub fn from_json(json: &str) -> Result<StructType, ProtocolError> {
        let value: Value =
            serde_json::from_str(json).map_err(|err| ProtocolError::InvalidSchema {
                reason: format!("schema is not JSON: {err}"),
            })?;
        parse_struct(&value, "").map_err(|reason| ProtocolError::InvalidSchema { reason })
    }

    /// This schema as compact Delta schema JSON, in the form Spark writes.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_struct(&mut out, self);
        out
    }
}

/// The type's name in schema JSON, e.g. `integer` or `decimal(10,2)`.
impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            PrimitiveType::String => "string",
            PrimitiveType::Long => "long",
            PrimitiveType::Integer => "integer",
            PrimitiveType::Short => "short",
            PrimitiveType::Byte => "byte",
            PrimitiveType::Float => "float",
            PrimitiveType::Double => "double",
            PrimitiveType::Boolean => "boolean",
            PrimitiveType::Binary => "binary",
            PrimitiveType::Date => "date",
            PrimitiveType::Timestamp => "timestamp",
            PrimitiveType::TimestampNtz => "timestamp_ntz",
            PrimitiveType::Decimal(decimal) => return decimal.fmt(f),
        };
        f.write_str(name)
    }
}

impl fmt::Display for DecimalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decimal({},{})", self.precision, self.scale)
    }
}

/// Parses a primitive type name: `integer`, `decimal(10,2)`, `decimal(10, 2)`, ...
impl FromStr for PrimitiveType {
    type Err = ProtocolError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match parse_primitive(name) {
            Ok(Some(primitive)) => Ok(primitive),
            Ok(None) => Err(ProtocolError::InvalidSchema {
                reason: format!("unknown primitive type `{name}`"),
            }),
            Err(reason) => Err(ProtocolError::InvalidSchema { reason }),
        }
    }
}

/// A readable form of any type, e.g. `array<struct<a: integer, b: string>>`. Primitive and
/// variant types display as their JSON names.
impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Primitive(primitive) => primitive.fmt(f),
            DataType::Variant => f.write_str("variant"),
            DataType::Array(array) => write!(f, "array<{}>", array.element_type),
            DataType::Map(map) => write!(f, "map<{}, {}>", map.key_type, map.value_type),
            DataType::Struct(struct_type) => struct_type.fmt(f),
        }
    }
}

/// A readable form, e.g. `struct<a: integer, b: string>`; use [`StructType::to_json`] for
/// the protocol form.
impl fmt::Display for StructType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct<")?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}", field.name, field.data_type)?;
        }
        f.write_str(">")
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Where an error happened, for messages: the schema root or a field path.
fn at(path: &str, reason: impl fmt::Display) -> String {
    if path.is_empty() {
        format!("schema root: {reason}")
    } else {
        format!("field `{path}`: {reason}")
    }
}

/// The JSON kind of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses `{"type":"struct","fields":[...]}` found at `path`.
pub(super) fn parse_struct(value: &Value, path: &str) -> Result<StructType, String> {
    let object = value.as_object().ok_or_else(|| {
        at(
            path,
            format!("expected a struct object, found {}", kind(value)),
        )
    })?;
    match object.get("type") {
        Some(Value::String(name)) if name == "struct" => {}
        Some(other) => {
            return Err(at(path, format!("expected type `struct`, found {other}")));
        }
        None => return Err(at(path, "struct object has no `type`")),
    }
    let fields = match object.get("fields") {
        Some(Value::Array(fields)) => fields,
        Some(other) => {
            return Err(at(
                path,
                format!("`fields` must be an array, found {}", kind(other)),
            ));
        }
        None => return Err(at(path, "struct has no `fields`")),
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(index, field)| parse_field(field, path, index))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&fields, path)?;
    Ok(StructType { fields })
}

/// Rejects two fields whose names are equal ignoring case.
pub(super) fn check_unique_names(fields: &[StructField], parent: &str) -> Result<(), String> {
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(fields.len());
    for field in fields {
        if let Some(first) = seen.insert(field.name.to_lowercase(), &field.name) {
            return Err(at(
                &child_path(parent, &field.name),
                format!(
                    "duplicate column name (clashes with `{first}`; names must be unique \
                     regardless of case)"
                ),
            ));
        }
    }
    Ok(())
}

/// Parses the struct field at position `index` of the struct at `parent`.
fn parse_field(value: &Value, parent: &str, index: usize) -> Result<StructField, String> {
    let unnamed = || {
        if parent.is_empty() {
            format!("#{index}")
        } else {
            format!("{parent}.#{index}")
        }
    };
    let object = value.as_object().ok_or_else(|| {
        at(
            &unnamed(),
            format!("expected a field object, found {}", kind(value)),
        )
    })?;
    let name = match object.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(at(
                &unnamed(),
                format!("`name` must be a string, found {other}"),
            ));
        }
        None => return Err(at(&unnamed(), "field has no `name`")),
    };
    let path = child_path(parent, &name);
    let data_type = match object.get("type") {
        Some(data_type) => parse_type(data_type, &path)?,
        None => return Err(at(&path, "field has no `type`")),
    };
    let nullable = optional_bool(object, "nullable", &path)?;
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(metadata)) => metadata
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        Some(other) => {
            return Err(at(
                &path,
                format!("`metadata` must be an object, found {}", kind(other)),
            ));
        }
    };
    Ok(StructField {
        name,
        data_type,
        nullable,
        metadata,
    })
}

/// Reads a boolean flag that defaults to `true` when absent.
fn optional_bool(
    object: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<bool, String> {
    match object.get(key) {
        None => Ok(true),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(other) => Err(at(
            path,
            format!("`{key}` must be a boolean, found {other}"),
        )),
    }
}

/// Parses a type (a name or an object) found at `path`.
pub(super) fn parse_type(value: &Value, path: &str) -> Result<DataType, String> {
    match value {
        Value::String(name) => parse_type_name(name, path),
        Value::Object(object) => {
            let name = match object.get("type") {
                Some(Value::String(name)) => name.as_str(),
                Some(other) => {
                    return Err(at(path, format!("`type` must be a string, found {other}")));
                }
                None => return Err(at(path, "type object has no `type`")),
            };
            match name {
                "struct" => Ok(DataType::Struct(Box::new(parse_struct(value, path)?))),
                "array" => {
                    let element_path = child_path(path, "element");
                    let element_type = object
                        .get("elementType")
                        .ok_or_else(|| at(path, "array has no `elementType`"))
                        .and_then(|element| parse_type(element, &element_path))?;
                    Ok(DataType::Array(Box::new(ArrayType {
                        element_type,
                        contains_null: optional_bool(object, "containsNull", path)?,
                    })))
                }
                "map" => {
                    let key_type = object
                        .get("keyType")
                        .ok_or_else(|| at(path, "map has no `keyType`"))
                        .and_then(|key| parse_type(key, &child_path(path, "key")))?;
                    let value_type = object
                        .get("valueType")
                        .ok_or_else(|| at(path, "map has no `valueType`"))
                        .and_then(|value| parse_type(value, &child_path(path, "value")))?;
                    Ok(DataType::Map(Box::new(MapType {
                        key_type,
                        value_type,
                        value_contains_null: optional_bool(object, "valueContainsNull", path)?,
                    })))
                }
                // `{"type":"variant"}` (the protocol's own example) and, leniently, any other
                // non-nested type written as an object.
                other => parse_type_name(other, path),
            }
        }
        other => Err(at(
            path,
            format!(
                "`type` must be a type name or a type object, found {}",
                kind(other)
            ),
        )),
    }
}

/// Parses a type written as a string: a primitive name or `variant`.
fn parse_type_name(name: &str, path: &str) -> Result<DataType, String> {
    if name == "variant" {
        return Ok(DataType::Variant);
    }
    match parse_primitive(name) {
        Ok(Some(primitive)) => Ok(DataType::Primitive(primitive)),
        Ok(None) if matches!(name, "struct" | "array" | "map") => Err(at(
            path,
            format!("type `{name}` must be written as an object, not a name"),
        )),
        Ok(None) => Err(at(path, format!("unknown type `{name}`"))),
        Err(reason) => Err(at(path, reason)),
    }
}

/// Parses a primitive type name; `Ok(None)` if it names no primitive type.
fn parse_primitive(name: &str) -> Result<Option<PrimitiveType>, String> {
    Ok(Some(match name {
        "string" => PrimitiveType::String,
        "long" => PrimitiveType::Long,
        "integer" => PrimitiveType::Integer,
        "short" => PrimitiveType::Short,
        "byte" => PrimitiveType::Byte,
        "float" => PrimitiveType::Float,
        "double" => PrimitiveType::Double,
        "boolean" => PrimitiveType::Boolean,
        "binary" => PrimitiveType::Binary,
        "date" => PrimitiveType::Date,
        "timestamp" => PrimitiveType::Timestamp,
        "timestamp_ntz" => PrimitiveType::TimestampNtz,
        _ => match name.strip_prefix("decimal(") {
            Some(rest) => PrimitiveType::Decimal(parse_decimal(name, rest)?),
            None => return Ok(None),
        },
    }))
}

/// Parses the `p,s)` after `decimal(`; spaces may surround either number (Spark's own
/// grammar: `decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)`).
fn parse_decimal(name: &str, rest: &str) -> Result<DecimalType, String> {
    let malformed = || format!("malformed decimal type `{name}` (expected `decimal(p,s)`)");
    let inner = rest.strip_suffix(')').ok_or_else(malformed)?;
    let (precision, scale) = inner.split_once(',').ok_or_else(malformed)?;
    let number = |text: &str| -> Result<u64, String> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        // Too many digits for u64 is certainly out of range; report it as such.
        Ok(text.parse::<u64>().unwrap_or(u64::MAX))
    };
    let (precision, scale) = (number(precision)?, number(scale)?);
    check_decimal(precision, scale)
        .map_err(|reason| format!("invalid decimal type `{name}`: {reason}"))
}

// ---------------------------------------------------------------------------------------------
// Writing
//
// `to_json` writes by hand so that it cannot fail; the `Serialize` impls below produce the
// same text through serde (checked by the round-trip tests).

fn write_struct(out: &mut String, struct_type: &StructType) {
    out.push_str(r#"{"type":"struct","fields":["#);
    for (i, field) in struct_type.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(out, field);
    }
    out.push_str("]}");
}

fn write_field(out: &mut String, field: &StructField) {
    out.push_str(r#"{"name":"#);
    write_string(out, &field.name);
    out.push_str(r#","type":"#);
    write_type(out, &field.data_type);
    out.push_str(r#","nullable":"#);
    out.push_str(if field.nullable { "true" } else { "false" });
    out.push_str(r#","metadata":{"#);
    for (i, (key, value)) in field.metadata.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push_str("}}");
}

fn write_type(out: &mut String, data_type: &DataType) {
    match data_type {
        DataType::Primitive(primitive) => {
            out.push('"');
            out.push_str(&primitive.to_string());
            out.push('"');
        }
        DataType::Variant => out.push_str(r#""variant""#),
        DataType::Array(array) => {
            out.push_str(r#"{"type":"array","elementType":"#);
            write_type(out, &array.element_type);
            out.push_str(r#","containsNull":"#);
            out.push_str(if array.contains_null { "true" } else { "false" });
            out.push('}');
        }
        DataType::Map(map) => {
            out.push_str(r#"{"type":"map","keyType":"#);
            write_type(out, &map.key_type);
            out.push_str(r#","valueType":"#);
            write_type(out, &map.value_type);
            out.push_str(r#","valueContainsNull":"#);
            out.push_str(if map.value_contains_null {
                "true"
            } else {
                "false"
            });
            out.push('}');
        }
        DataType::Struct(struct_type) => write_struct(out, struct_type),
    }
}

/// Writes a JSON string literal, escaping as serde_json does.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// serde, so other structs can embed schema types

impl Serialize for StructType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("StructType", 2)?;
        out.serialize_field("type", "struct")?;
        out.serialize_field("fields", &self.fields)?;
        out.end()
    }
}

impl Serialize for StructField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("StructField", 4)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("type", &self.data_type)?;
        out.serialize_field("nullable", &self.nullable)?;
        out.serialize_field("metadata", &self.metadata)?;
        out.end()
    }
}

impl Serialize for ArrayType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("ArrayType", 3)?;
        out.serialize_field("type", "array")?;
        out.serialize_field("elementType", &self.element_type)?;
        out.serialize_field("containsNull", &self.contains_null)?;
        out.end()
    }
}

impl Serialize for MapType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("MapType", 4)?;
        out.serialize_field("type", "map")?;
        out.serialize_field("keyType", &self.key_type)?;
        out.serialize_field("valueType", &self.value_type)?;
        out.serialize_field("valueContainsNull", &self.value_contains_null)?;
        out.end()
    }
}

impl Serialize for PrimitiveType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for DataType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DataType::Primitive(primitive) => primitive.serialize(serializer),
            DataType::Variant => serializer.serialize_str("variant"),
            DataType::Array(array) => array.serialize(serializer),
            DataType::Map(map) => map.serialize(serializer),
            DataType::Struct(struct_type) => struct_type.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for StructType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        parse_struct(&value, "").map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for StructField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        parse_field(&value, "", 0).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        parse_type(&value, "").map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for PrimitiveType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_type_str(json: &str) -> Result<DataType, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        parse_type(&value, "")
    }

    fn schema_of(field_type: Value) -> String {
        json!({"type":"struct","fields":[{"name":"c","type":field_type,"nullable":true,"metadata":{}}]})
            .to_string()
    }

    fn err_text(json: &str) -> String {
        match StructType::from_json(json) {
            Ok(schema) => panic!("expected an error, parsed {schema}"),
            Err(err) => {
                assert!(
                    matches!(err, ProtocolError::InvalidSchema { .. }),
                    "{err:?}"
                );
                err.to_string()
            }
        }
    }

    #[test]
    fn every_primitive_name_round_trips() {
        let cases = [
            ("string", PrimitiveType::String),
            ("long", PrimitiveType::Long),
            ("integer", PrimitiveType::Integer),
            ("short", PrimitiveType::Short),
            ("byte", PrimitiveType::Byte),
            ("float", PrimitiveType::Float),
            ("double", PrimitiveType::Double),
            ("boolean", PrimitiveType::Boolean),
            ("binary", PrimitiveType::Binary),
            ("date", PrimitiveType::Date),
            ("timestamp", PrimitiveType::Timestamp),
            ("timestamp_ntz", PrimitiveType::TimestampNtz),
            (
                "decimal(10,2)",
                PrimitiveType::Decimal(DecimalType {
                    precision: 10,
                    scale: 2,
                }),
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(name.parse::<PrimitiveType>().unwrap(), expected, "{name}");
            assert_eq!(expected.to_string(), name);
            let schema = StructType::from_json(&schema_of(json!(name))).unwrap();
            assert_eq!(schema.fields[0].data_type, DataType::Primitive(expected));
            assert_eq!(
                serde_json::from_str::<Value>(&schema.to_json()).unwrap(),
                serde_json::from_str::<Value>(&schema_of(json!(name))).unwrap()
            );
        }
    }

    #[test]
    fn variant_as_name_or_object() {
        assert_eq!(parse_type_str(r#""variant""#).unwrap(), DataType::Variant);
        assert_eq!(
            parse_type_str(r#"{"type":"variant"}"#).unwrap(),
            DataType::Variant
        );
        let schema = StructType::new([StructField::new("v", DataType::Variant, true)]);
        assert_eq!(
            schema.to_json(),
            r#"{"type":"struct","fields":[{"name":"v","type":"variant","nullable":true,"metadata":{}}]}"#
        );
    }

    #[test]
    fn decimal_spellings() {
        let d = |p, s| {
            PrimitiveType::Decimal(DecimalType {
                precision: p,
                scale: s,
            })
        };
        for (text, expected) in [
            ("decimal(10,2)", d(10, 2)),
            ("decimal(10, 2)", d(10, 2)),
            ("decimal( 10 , 2 )", d(10, 2)),
            ("decimal(1,0)", d(1, 0)),
            ("decimal(38,38)", d(38, 38)),
            ("decimal(38,0)", d(38, 0)),
            ("decimal(5,5)", d(5, 5)),
            ("decimal(007,2)", d(7, 2)),
        ] {
            assert_eq!(text.parse::<PrimitiveType>().unwrap(), expected, "{text}");
        }
        // Written back without spaces, as Spark does.
        assert_eq!(d(10, 2).to_string(), "decimal(10,2)");
    }

    #[test]
    fn bad_decimals_are_rejected() {
        for (text, needle) in [
            ("decimal(0,0)", "precision must be between 1 and 38"),
            ("decimal(39,0)", "precision must be between 1 and 38"),
            (
                "decimal(99999999999999999999999,0)",
                "precision must be between 1 and 38",
            ),
            ("decimal(5,6)", "scale must not exceed precision"),
            ("decimal(10,-1)", "malformed"),
            ("decimal(10)", "malformed"),
            ("decimal(10,2,1)", "malformed"),
            ("decimal()", "malformed"),
            ("decimal(a,b)", "malformed"),
            ("decimal(10,2", "malformed"),
            ("decimal(+10,2)", "malformed"),
        ] {
            let err = text.parse::<PrimitiveType>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        // Not decimals at all: unknown names.
        for text in [
            "decimal",
            "decimal (10,2)",
            "DECIMAL(10,2)",
            "int",
            "void",
            "",
        ] {
            let err = text.parse::<PrimitiveType>().unwrap_err().to_string();
            assert!(err.contains("unknown primitive type"), "{text}: {err}");
        }
        assert!(DecimalType::try_new(38, 38).is_ok());
        assert!(DecimalType::try_new(39, 1).is_err());
        assert!(DecimalType::try_new(0, 0).is_err());
        assert!(DecimalType::try_new(4, 5).is_err());
        assert!(DataType::decimal(10, 2).is_ok());
    }

    #[test]
    fn nested_types_parse() {
        let json = r#"{"type":"struct","fields":[
            {"name":"a","type":"integer","nullable":false,"metadata":{}},
            {"name":"b","type":{"type":"struct","fields":[{"name":"d","type":"integer","nullable":false,"metadata":{}}]},"nullable":true,"metadata":{}},
            {"name":"c","type":{"type":"array","elementType":"integer","containsNull":false},"nullable":true,"metadata":{}},
            {"name":"e","type":{"type":"array","elementType":{"type":"struct","fields":[{"name":"d","type":"integer","nullable":false,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}},
            {"name":"f","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}}
        ]}"#;
        let schema = StructType::from_json(json).unwrap();
        let d = StructField::new("d", DataType::INTEGER, false);
        let expected = StructType::new([
            StructField::new("a", DataType::INTEGER, false),
            StructField::new("b", DataType::struct_of([d.clone()]), true),
            StructField::new("c", DataType::array(DataType::INTEGER, false), true),
            StructField::new("e", DataType::array(DataType::struct_of([d]), true), true),
            StructField::new(
                "f",
                DataType::map(DataType::STRING, DataType::STRING, true),
                true,
            ),
        ]);
        assert_eq!(schema, expected);
        assert_eq!(
            serde_json::from_str::<Value>(&schema.to_json()).unwrap(),
            serde_json::from_str::<Value>(json).unwrap()
        );
        assert_eq!(
            schema.to_string(),
            "struct<a: integer, b: struct<d: integer>, c: array<integer>, \
             e: array<struct<d: integer>>, f: map<string, string>>"
        );
    }

    #[test]
    fn to_json_has_spark_layout() {
        let schema = StructType::new([StructField::new(
            "a\"b",
            DataType::map(DataType::STRING, DataType::LONG, false),
            false,
        )
        .with_metadata([
            ("comment", json!("x\ny")),
            ("delta.columnMapping.id", json!(3)),
        ])]);
        let text = schema.to_json();
        assert_eq!(
            text,
            r#"{"type":"struct","fields":[{"name":"a\"b","type":{"type":"map","keyType":"string","valueType":"long","valueContainsNull":false},"nullable":false,"metadata":{"comment":"x\ny","delta.columnMapping.id":3}}]}"#
        );
        assert_eq!(serde_json::to_string(&schema).unwrap(), text);
    }

    #[test]
    fn metadata_keeps_arbitrary_json() {
        let metadata = json!({
            "delta.identity.start": 1,
            "delta.identity.allowExplicitInsert": false,
            "comment": "hello",
            "nested": {"a": [1, 2.5, null, {"b": true}]},
            "big": 18446744073709551615u64,
            "negative": -7
        });
        let json = schema_of(json!("long"))
            .replace(r#""metadata":{}"#, &format!(r#""metadata":{metadata}"#));
        let schema = StructType::from_json(&json).unwrap();
        let field = &schema.fields[0];
        assert_eq!(field.metadata["delta.identity.start"], json!(1));
        assert_eq!(
            field.metadata["delta.identity.allowExplicitInsert"],
            json!(false)
        );
        assert_eq!(
            field.metadata["nested"],
            json!({"a": [1, 2.5, null, {"b": true}]})
        );
        let back: Value = serde_json::from_str(&schema.to_json()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(&json).unwrap());
    }

    #[test]
    fn lenient_defaults() {
        let json = r#"{"type":"struct","fields":[
            {"name":"a","type":{"type":"array","elementType":"integer"}},
            {"name":"m","type":{"type":"map","keyType":"integer","valueType":"string"},"metadata":null}
        ]}"#;
        let schema = StructType::from_json(json).unwrap();
        assert_eq!(
            schema,
            StructType::new([
                StructField::new("a", DataType::array(DataType::INTEGER, true), true),
                StructField::new(
                    "m",
                    DataType::map(DataType::INTEGER, DataType::STRING, true),
                    true
                ),
            ])
        );
    }

    #[test]
    fn unknown_types_name_type_and_field_path() {
        let json = r#"{"type":"struct","fields":[{"name":"outer","type":{"type":"struct","fields":[
            {"name":"inner","type":{"type":"array","elementType":{"type":"map","keyType":"string","valueType":"void"}},"nullable":true,"metadata":{}}
        ]},"nullable":true,"metadata":{}}]}"#;
        let err = err_text(json);
        assert!(err.contains("`outer.inner.element.value`"), "{err}");
        assert!(err.contains("unknown type `void`"), "{err}");

        let err = err_text(&schema_of(json!("int")));
        assert!(err.contains("field `c`: unknown type `int`"), "{err}");

        let err = err_text(&schema_of(json!({"type": "udt", "class": "x"})));
        assert!(err.contains("field `c`: unknown type `udt`"), "{err}");

        let err = err_text(&schema_of(json!("decimal(40,2)")));
        assert!(
            err.contains("field `c`") && err.contains("decimal(40,2)"),
            "{err}"
        );

        let err = err_text(&schema_of(json!("array")));
        assert!(err.contains("must be written as an object"), "{err}");
    }

    #[test]
    fn malformed_schemas_are_rejected() {
        let cases = [
            ("not json", "not JSON"),
            (r#"[]"#, "schema root: expected a struct object"),
            (
                r#"{"type":"array","elementType":"integer"}"#,
                "expected type `struct`",
            ),
            (r#"{"type":"struct"}"#, "struct has no `fields`"),
            (
                r#"{"type":"struct","fields":{}}"#,
                "`fields` must be an array",
            ),
            (
                r#"{"type":"struct","fields":[1]}"#,
                "field `#0`: expected a field object",
            ),
            (
                r#"{"type":"struct","fields":[{"type":"integer"}]}"#,
                "field `#0`: field has no `name`",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a"}]}"#,
                "field `a`: field has no `type`",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":7}]}"#,
                "field `a`: `type` must be",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":"long","nullable":"yes"}]}"#,
                "field `a`: `nullable` must be a boolean",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":"long","metadata":[]}]}"#,
                "field `a`: `metadata` must be an object",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":{"type":"array"}}]}"#,
                "field `a`: array has no `elementType`",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"a","type":{"type":"map","keyType":"long"}}]}"#,
                "field `a`: map has no `valueType`",
            ),
            (
                r#"{"type":"struct","fields":[{"name":"s","type":{"type":"struct","fields":[{"name":"x","type":"long"},{"name":"X","type":"long"}]}}]}"#,
                "field `s.X`: duplicate column name (clashes with `x`",
            ),
        ];
        for (json, needle) in cases {
            let err = err_text(json);
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn serde_embeds_schema_types() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Holder {
            schema: StructType,
            column_type: DataType,
            field: StructField,
        }
        let holder = Holder {
            schema: StructType::new([StructField::new("a", DataType::DATE, true)]),
            column_type: DataType::decimal(12, 3).unwrap(),
            field: StructField::new("v", DataType::Variant, false),
        };
        let text = serde_json::to_string(&holder).unwrap();
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), holder);
        assert!(text.contains(r#""column_type":"decimal(12,3)""#), "{text}");

        let err = serde_json::from_str::<Holder>(
            r#"{"schema":{"type":"struct","fields":[]},"column_type":"nope","field":{"name":"v","type":"long"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown type `nope`"), "{err}");
    }

    #[test]
    fn field_lookup() {
        let schema = StructType::from_json(
            r#"{"type":"struct","fields":[
              {"name":"e","type":{"type":"array","elementType":{"type":"struct","fields":[{"name":"d","type":"integer","nullable":false,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}},
              {"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"struct","fields":[{"name":"element","type":"long","nullable":true,"metadata":{}}]},"valueContainsNull":true},"nullable":true,"metadata":{}},
              {"name":"s","type":{"type":"struct","fields":[{"name":"t","type":"long","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(schema.field("e").map(|f| f.name.as_str()), Some("e"));
        assert!(schema.field("E").is_none());
        assert_eq!(
            schema.field_path(&["e", "element", "d"]).unwrap().data_type,
            DataType::INTEGER
        );
        assert_eq!(schema.field_path(&["s", "t"]).unwrap().name, "t");
        assert_eq!(
            schema
                .field_path(&["m", "value", "element"])
                .unwrap()
                .data_type,
            DataType::LONG
        );
        assert!(schema.field_path(&["e", "element"]).is_none());
        assert!(schema.field_path(&["e", "d"]).is_none());
        assert!(schema.field_path(&["m", "key"]).is_none());
        assert!(schema.field_path(&["s", "element"]).is_none());
        assert!(schema.field_path(&[]).is_none());
        assert!(schema.field_path(&["s", "t", "u"]).is_none());
    }
}
