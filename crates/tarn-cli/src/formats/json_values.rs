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
