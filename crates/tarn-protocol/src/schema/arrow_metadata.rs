//! How Delta field metadata (JSON values) is carried in Arrow field metadata (strings).
//!
//! This module decides the encoding so that Delta -> Arrow -> Delta restores every value
//! exactly, and so that the common case stays readable to other Arrow consumers: a string is
//! stored as itself, any other value as its JSON text. A string whose text would itself parse
//! as JSON (`"1"`, `"true"`, `"{...}"`, `"\"x\""`) is stored JSON-quoted, which is what keeps
//! the decoding unambiguous. It also names the Arrow metadata keys the conversion owns; it
//! must never let those keys leak into Delta metadata.

use std::collections::HashMap;

use serde_json::Value;

/// The Arrow field metadata key Parquet writers and readers use for a field id.
pub const PARQUET_FIELD_ID_KEY: &str = "PARQUET:field_id";

/// The Arrow extension type name marking a Delta `variant` (the canonical Parquet variant
/// extension name).
pub const VARIANT_EXTENSION_NAME: &str = "arrow.parquet.variant";

/// Arrow's key for an extension type name.
pub(super) const EXTENSION_NAME_KEY: &str = arrow_schema::extension::EXTENSION_TYPE_NAME_KEY;

/// Arrow's key for extension type metadata.
pub(super) const EXTENSION_METADATA_KEY: &str =
    arrow_schema::extension::EXTENSION_TYPE_METADATA_KEY;

/// Encodes one Delta metadata value as an Arrow metadata string.
pub(super) fn encode_value(value: &Value) -> String {
    match value {
        Value::String(text) if serde_json::from_str::<Value>(text).is_err() => text.clone(),
        other => other.to_string(),
    }
}

/// Decodes an Arrow metadata string written by [`encode_value`]; any other string (one that
/// is not JSON) is taken as a plain string.
pub(super) fn decode_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Encodes a whole Delta metadata map.
pub(super) fn encode_map<'a>(
    metadata: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> HashMap<String, String> {
    metadata
        .into_iter()
        .map(|(key, value)| (key.clone(), encode_value(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_strings_stay_plain() {
        for text in [
            "col-5f422f40",
            "hello world",
            "a + b",
            "",
            "[unclosed",
            "tru",
        ] {
            assert_eq!(encode_value(&json!(text)), text);
            assert_eq!(decode_value(text), json!(text));
        }
    }

    #[test]
    fn other_values_are_json() {
        assert_eq!(encode_value(&json!(5)), "5");
        assert_eq!(encode_value(&json!(false)), "false");
        assert_eq!(encode_value(&json!(null)), "null");
        assert_eq!(encode_value(&json!({"a": [1]})), r#"{"a":[1]}"#);
        assert_eq!(decode_value("5"), json!(5));
        assert_eq!(decode_value(r#"{"a":[1]}"#), json!({"a": [1]}));
    }

    #[test]
    fn json_looking_strings_are_quoted_and_restored() {
        for text in [
            "1",
            "true",
            "null",
            " 2 ",
            "{}",
            r#"{"expression":{"expression":"a > 0"}}"#,
            r#""x""#,
            "[1]",
        ] {
            let encoded = encode_value(&json!(text));
            assert_ne!(encoded, text);
            assert_eq!(decode_value(&encoded), json!(text), "{text}");
        }
    }
}
