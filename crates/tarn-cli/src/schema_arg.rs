//! Parsing `--schema` values: a file or inline JSON, in Delta's schema JSON or a short form.
//!
//! Two forms are accepted. Delta's own, as a table's `schemaString` holds it:
//! `{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}`.
//! And a short form, one key per column in order: `{"id": "long not null", "tags":
//! {"type":"array","elementType":"string","containsNull":true}}`, where a value is a type name
//! (optionally followed by `not null`) or a Delta type object. Both are checked by the same
//! Delta schema parser, so errors name the column at fault. This module never decides
//! whether a schema suits a table (partition columns, constraints): the create operation
//! does.

use std::path::Path;

use serde_json::{Value, json};
use tarn::protocol::ProtocolError;
use tarn::protocol::schema::StructType;

use crate::CliError;

/// Parses a `--schema` argument: inline JSON when it starts with `{`, else a file holding
/// JSON.
pub(crate) fn parse_schema_arg(arg: &str) -> Result<StructType, CliError> {
    let trimmed = arg.trim_start();
    let text = if trimmed.starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(Path::new(arg)).map_err(|source| CliError::SchemaFile {
            path: arg.to_owned(),
            source,
        })?
    };
    parse_schema_json(&text)
}

/// Parses schema JSON in either form.
pub(crate) fn parse_schema_json(text: &str) -> Result<StructType, CliError> {
    let invalid = |reason: String| CliError::Schema(ProtocolError::InvalidSchema { reason });
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("schema is not JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err(invalid(
            "expected a JSON object: Delta schema JSON or {\"column\": \"type\", ...}".to_owned(),
        ));
    };
    if object.get("type").and_then(Value::as_str) == Some("struct") && object.contains_key("fields")
    {
        return StructType::from_json(text).map_err(CliError::Schema);
    }
    // The short form. An IndexMap keeps the columns in the order they are written.
    let columns: indexmap::IndexMap<String, Value> =
        serde_json::from_str(text).map_err(|e| invalid(format!("schema is not JSON: {e}")))?;
    if columns.is_empty() {
        return Err(invalid("the schema has no columns".to_owned()));
    }
    let fields = columns
        .into_iter()
        .map(|(name, ty)| {
            let (ty, nullable) = match ty {
                Value::String(text) => {
                    let lower = text.trim().to_ascii_lowercase();
                    match lower.strip_suffix("not null") {
                        Some(base) => (Value::String(base.trim().to_owned()), false),
                        None => (Value::String(lower), true),
                    }
                }
                other @ Value::Object(_) => (other, true),
                other => {
                    return Err(invalid(format!(
                        "column `{name}`: expected a type name such as \"long\" or a type \
                         object, found {other}"
                    )));
                }
            };
            Ok(json!({"name": name, "type": ty, "nullable": nullable, "metadata": {}}))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let delta = json!({"type": "struct", "fields": fields});
    StructType::from_json(&delta.to_string()).map_err(CliError::Schema)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use tarn::protocol::schema::{DataType, PrimitiveType};

    #[test]
    fn delta_form() {
        let schema = parse_schema_json(
            r#"{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}}]}"#,
        )
        .unwrap();
        assert_eq!(schema.fields.len(), 1);
        assert!(!schema.fields[0].nullable);
    }

    #[test]
    fn short_form_keeps_order_and_not_null() {
        let schema = parse_schema_json(
            r#"{"zeta": "long NOT NULL", "alpha": "decimal(10,2)", "day": "date",
                "tags": {"type":"array","elementType":"string","containsNull":true}}"#,
        )
        .unwrap();
        let names: Vec<_> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha", "day", "tags"]);
        assert!(!schema.fields[0].nullable);
        assert!(schema.fields[1].nullable);
        assert_eq!(
            schema.fields[2].data_type,
            DataType::Primitive(PrimitiveType::Date)
        );
        assert!(matches!(schema.fields[3].data_type, DataType::Array(_)));
    }

    #[test]
    fn errors_name_the_column() {
        let err = parse_schema_json(r#"{"id": "lang"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid --schema") && err.contains("lang"),
            "{err}"
        );
        let err = parse_schema_json(r#"{"id": 3}"#).unwrap_err().to_string();
        assert!(err.contains("column `id`"), "{err}");
        let err = parse_schema_json("[1]").unwrap_err().to_string();
        assert!(err.contains("expected a JSON object"), "{err}");
        let err = parse_schema_json("{").unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        let err = parse_schema_arg("/no/such/schema.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read schema file /no/such/schema.json"),
            "{err}"
        );
    }
}
