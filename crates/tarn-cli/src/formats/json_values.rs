//! How values become JSON, in NDJSON rows and in the nested columns of CSV.
//!
//! arrow-json's writer does the structure (objects for structs, arrays for lists, `null` for
//! nulls); this module replaces its encoders where its text would not read back to the same
//! value: leaves take their text from [`crate::value_text`] (so NaN and the infinities
//! become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, as Spark writes them, instead of
//! arrow-json's `null`), and maps of any key type become objects whose keys are the keys'
//! text (arrow-json refuses keys that are not strings). A map whose keys are themselves
//! nested has no such form and is refused.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, MapArray};
use arrow_json::writer::{EncoderOptions, NullableEncoder, make_encoder};
use arrow_json::{Encoder, EncoderFactory};
use arrow_schema::{ArrowError, DataType, FieldRef};

use crate::value_text::{JsonForm, LeafWriter, type_name};

/// The encoder options both writers use: every key present (`null` for nulls) and the
/// encoders of this module.
pub(super) fn encoder_options() -> EncoderOptions {
    EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_encoder_factory(Arc::new(ExactText))
}

/// The factory that hands arrow-json this module's encoders.
#[derive(Debug)]
pub(super) struct ExactText;

impl EncoderFactory for ExactText {
    fn make_default_encoder<'a>(
        &self,
        field: &'a FieldRef,
        array: &'a dyn Array,
        options: &'a EncoderOptions,
    ) -> Result<Option<NullableEncoder<'a>>, ArrowError> {
        let nulls = array.nulls().cloned();
        let encoder: Box<dyn Encoder + 'a> = match array.data_type() {
            // arrow-json's own encoders are exact for these, and escape strings.
            DataType::Utf8 | DataType::Boolean => return Ok(None),
            DataType::Map(_, _) => Box::new(MapEncoder::new(field, array.as_map(), options)?),
            _ => match LeafWriter::new(array) {
                Some(writer) => Box::new(LeafEncoder(writer)),
                None => return Ok(None),
            },
        };
        Ok(Some(NullableEncoder::new(encoder, nulls)))
    }
}

/// A leaf value as a JSON number, or as a string where JSON has no number for it.
struct LeafEncoder<'a>(LeafWriter<'a>);

impl Encoder for LeafEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        write_json_leaf(&self.0, idx, out);
    }
}

fn write_json_leaf(writer: &LeafWriter<'_>, row: usize, out: &mut Vec<u8>) {
    match writer.json_form(row) {
        JsonForm::Bare => writer.write(row, out),
        JsonForm::Quoted => {
            out.push(b'"');
            writer.write(row, out);
            out.push(b'"');
        }
        JsonForm::Escaped => {
            let mut text = Vec::new();
            writer.write(row, &mut text);
            // Writing to a Vec cannot fail, and `text` is a string's UTF-8.
            let _infallible =
                serde_json::to_writer(&mut *out, String::from_utf8_lossy(&text).as_ref());
        }
    }
}

/// A map as a JSON object: each key's text (always a JSON string), then its value.
struct MapEncoder<'a> {
    array: &'a MapArray,
    keys: LeafWriter<'a>,
    values: NullableEncoder<'a>,
}

impl<'a> MapEncoder<'a> {
    fn new(
        field: &'a FieldRef,
        array: &'a MapArray,
        options: &'a EncoderOptions,
    ) -> Result<Self, ArrowError> {
        let keys = LeafWriter::new(array.keys().as_ref()).ok_or_else(|| {
            ArrowError::JsonError(format!(
                "column `{}` is a map with {} keys, which have no JSON object key form; write \
                 Parquet instead",
                field.name(),
                type_name(array.keys().data_type())
            ))
        })?;
        let values = make_encoder(field, array.values().as_ref(), options)?;
        Ok(Self {
            array,
            keys,
            values,
        })
    }
}

impl Encoder for MapEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let offsets = self.array.value_offsets();
        let (start, end) = (offsets[idx], offsets[idx + 1]);
        out.push(b'{');
        for entry in start..end {
            // Offsets of a valid array are non-negative.
            let entry = usize::try_from(entry).unwrap_or(0);
            if entry > usize::try_from(start).unwrap_or(0) {
                out.push(b',');
            }
            match self.keys.json_form(entry) {
                JsonForm::Escaped => write_json_leaf(&self.keys, entry, out),
                JsonForm::Bare | JsonForm::Quoted => {
                    out.push(b'"');
                    self.keys.write(entry, out);
                    out.push(b'"');
                }
            }
            out.push(b':');
            if self.values.is_null(entry) {
                out.extend_from_slice(b"null");
            } else {
                self.values.encode(entry, out);
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, Float64Array, Int32Array, ListArray, StringArray, StructArray};
    use arrow_buffer::OffsetBuffer;
    use arrow_schema::Field;

    fn map_of(keys: ArrayRef, values: ArrayRef, lengths: &[usize]) -> MapArray {
        let entries = StructArray::from(vec![
            (
                Arc::new(Field::new("key", keys.data_type().clone(), false)),
                keys,
            ),
            (
                Arc::new(Field::new("value", values.data_type().clone(), true)),
                values,
            ),
        ]);
        MapArray::new(
            Arc::new(Field::new("key_value", entries.data_type().clone(), false)),
            OffsetBuffer::from_lengths(lengths.iter().copied()),
            entries,
            None,
            false,
        )
    }

    fn json(array: &dyn Array, row: usize) -> String {
        let field: FieldRef = Arc::new(Field::new("c", array.data_type().clone(), true));
        let options = encoder_options();
        let mut encoder = make_encoder(&field, array, &options).unwrap();
        let mut out = Vec::new();
        encoder.encode(row, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn specials_are_strings_and_map_keys_are_their_text() {
        let floats = Float64Array::from(vec![f64::NAN, f64::NEG_INFINITY, 1e10, -0.0]);
        let texts: Vec<String> = (0..floats.len()).map(|row| json(&floats, row)).collect();
        assert_eq!(texts, ["\"NaN\"", "\"-Infinity\"", "1.0E10", "-0.0"]);
        let map = map_of(
            Arc::new(Int32Array::from(vec![1, -2])),
            Arc::new(StringArray::from(vec![Some("x"), None])),
            &[2],
        );
        assert_eq!(json(&map, 0), r#"{"1":"x","-2":null}"#);
    }

    #[test]
    fn maps_with_nested_keys_are_refused_naming_the_column() {
        let keys = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let map = map_of(Arc::new(keys), Arc::new(StringArray::from(vec!["x"])), &[1]);
        let field: FieldRef = Arc::new(Field::new("m", map.data_type().clone(), true));
        let options = encoder_options();
        let err = make_encoder(&field, &map, &options)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("column `m`") && err.contains("Parquet"),
            "{err}"
        );
    }
}
