//! Variant columns in tests: rewriting every variant of a column (wherever the Delta type
//! nests it) and comparing variants by value.
//!
//! Two encodings of one variant value may differ in bytes: a shredded integer read back in
//! the width of its shredding type, an object's field ids under another metadata dictionary.
//! [`canonical_variants`] replaces every variant by one text per value, so such encodings
//! compare equal while any difference of value (a field, an element, a string, a number)
//! still shows.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ListArray, MapArray, StringArray, StructArray};
use arrow_schema::{Field, Fields};
use parquet_variant::Variant;
use tarn::protocol::schema::DataType as DeltaType;

/// `array` (a column of Delta type `delta`) with every variant struct replaced by
/// `rewrite(variant)`, which must keep its length.
pub fn map_variants(
    array: &ArrayRef,
    delta: &DeltaType,
    rewrite: &dyn Fn(&StructArray) -> ArrayRef,
) -> ArrayRef {
    match delta {
        DeltaType::Primitive(_) => Arc::clone(array),
        DeltaType::Variant => rewrite(array.as_struct()),
        DeltaType::Array(element) => {
            let list = array.as_list::<i32>();
            let values = map_variants(list.values(), &element.element_type, rewrite);
            let field = Arc::new(Field::new("element", values.data_type().clone(), true));
            Arc::new(ListArray::new(
                field,
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            ))
        }
        DeltaType::Map(map_type) => {
            let map = array.as_map();
            let values = map_variants(map.values(), &map_type.value_type, rewrite);
            let fields = Fields::from(vec![
                Field::new("key", map.keys().data_type().clone(), false),
                Field::new("value", values.data_type().clone(), true),
            ]);
            let entries = StructArray::new(fields, vec![Arc::clone(map.keys()), values], None);
            let field = Arc::new(Field::new("key_value", entries.data_type().clone(), false));
            Arc::new(MapArray::new(
                field,
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                false,
            ))
        }
        DeltaType::Struct(struct_type) => {
            let group = array.as_struct();
            let children: Vec<ArrayRef> = struct_type
                .fields
                .iter()
                .map(|f| {
                    let child = group
                        .column_by_name(&f.name)
                        .unwrap_or_else(|| panic!("no field {}", f.name));
                    map_variants(child, &f.data_type, rewrite)
                })
                .collect();
            let fields: Fields = struct_type
                .fields
                .iter()
                .zip(&children)
                .map(|(f, c)| Field::new(&f.name, c.data_type().clone(), true))
                .collect();
            Arc::new(StructArray::new(fields, children, group.nulls().cloned()))
        }
    }
}

/// An unshredded variant struct as canonical text, one string per row (null for a SQL NULL).
pub fn canonical_variants(variants: &StructArray) -> ArrayRef {
    let metadata = variants
        .column_by_name("metadata")
        .unwrap()
        .as_binary::<i32>();
    let value = variants.column_by_name("value").unwrap().as_binary::<i32>();
    let texts: Vec<Option<String>> = (0..variants.len())
        .map(|row| {
            variants.is_valid(row).then(|| {
                let variant = Variant::try_new(metadata.value(row), value.value(row))
                    .unwrap_or_else(|e| panic!("row {row} is not a valid variant: {e}"));
                canonical_text(&variant)
            })
        })
        .collect();
    Arc::new(StringArray::from(texts))
}

/// One text per variant value: integers of every width alike, object fields in name order,
/// every other value as its type and content.
pub fn canonical_text(variant: &Variant<'_, '_>) -> String {
    match variant {
        Variant::Int8(v) => format!("int {v}"),
        Variant::Int16(v) => format!("int {v}"),
        Variant::Int32(v) => format!("int {v}"),
        Variant::Int64(v) => format!("int {v}"),
        Variant::Object(object) => {
            let mut fields: Vec<(String, String)> = object
                .iter()
                .map(|(name, value)| (name.to_owned(), canonical_text(&value)))
                .collect();
            fields.sort();
            let inner: Vec<String> = fields
                .into_iter()
                .map(|(name, value)| format!("{name:?}: {value}"))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Variant::List(list) => {
            let inner: Vec<String> = list.iter().map(|v| canonical_text(&v)).collect();
            format!("[{}]", inner.join(", "))
        }
        other => format!("{other:?}"),
    }
}
