//! Turning what a Parquet file holds into the table's logical Arrow types.
//!
//! Data files of one table are written by many engines over many years: a column may be
//! INT96 or INT64 timestamps in any unit, a decimal in any physical encoding, a dictionary, a
//! string view, an `int` that the table later widened to `long`, a struct whose fields carry
//! physical (column-mapped) names or that lacks fields added since. [`conform`] maps one file
//! column onto one table column, recursively, matching nested fields the way the table's
//! column mapping mode says, and filling what the file lacks with nulls. A shredded variant
//! is reassembled into the unshredded encoding (`variant.rs`). It never reinterprets a value:
//! a conversion Arrow's cast cannot do exactly is an error naming the column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ListArray, MapArray, StructArray, new_null_array};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use tarn_protocol::schema::{
    ColumnMappingMode, DataType as DeltaType, PARQUET_FIELD_ID_KEY, StructField, StructType,
};

use super::variant::{ShreddedVariantError, is_shredded, unshred};

/// Why a file column cannot be read as its table column.
#[derive(Debug)]
pub(crate) enum ConvertError {
    /// The file stores another kind of value, or one Arrow cannot convert exactly.
    Mismatch { column: String, reason: String },
    /// A shredded variant column cannot be reassembled.
    ShreddedVariant {
        column: String,
        source: ShreddedVariantError,
    },
}

impl ConvertError {
    fn mismatch(column: &str, reason: impl Into<String>) -> Self {
        ConvertError::Mismatch {
            column: column.to_owned(),
            reason: reason.into(),
        }
    }

    /// The table column (a dotted path) the error is about.
    #[cfg(test)]
    fn column(&self) -> &str {
        match self {
            ConvertError::Mismatch { column, .. }
            | ConvertError::ShreddedVariant { column, .. } => column,
        }
    }

    /// What is wrong, without the column.
    pub(crate) fn reason(&self) -> String {
        match self {
            ConvertError::Mismatch { reason, .. } => reason.clone(),
            ConvertError::ShreddedVariant { source, .. } => source.to_string(),
        }
    }

    /// The same error, about `column`.
    fn at(self, column: &str) -> Self {
        match self {
            ConvertError::Mismatch { reason, .. } => ConvertError::mismatch(column, reason),
            ConvertError::ShreddedVariant { source, .. } => ConvertError::ShreddedVariant {
                column: column.to_owned(),
                source,
            },
        }
    }
}

/// Finds the file field for a table field: by field id in id mode (falling back to the
/// physical name), by physical name in name mode, by name otherwise (exact, then ignoring
/// ASCII case as Spark does).
pub(crate) fn find_file_field<'a>(
    file_fields: &'a Fields,
    table_field: &StructField,
    mode: ColumnMappingMode,
) -> Option<(usize, &'a FieldRef)> {
    if mode == ColumnMappingMode::Id
        && let Some(id) = table_field.column_mapping_id()
    {
        let by_id = file_fields.iter().enumerate().find(|(_, f)| {
            f.metadata()
                .get(PARQUET_FIELD_ID_KEY)
                .and_then(|v| v.parse::<i64>().ok())
                == Some(id)
        });
        if by_id.is_some() {
            return by_id;
        }
    }
    let name = table_field.physical_name(mode);
    file_fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.name() == name)
        .or_else(|| {
            file_fields
                .iter()
                .enumerate()
                .find(|(_, f)| f.name().eq_ignore_ascii_case(name))
        })
}

/// The Arrow type a table column is produced as: the logical Delta type, with struct fields
/// under their logical names and no field metadata.
pub(crate) fn output_type(data_type: &DeltaType) -> Result<DataType, ConvertError> {
    let field = StructField::new("x", data_type.clone(), true);
    let arrow = Field::try_from(&field).map_err(|e| ConvertError::mismatch("", e.to_string()))?;
    Ok(strip_metadata(arrow.data_type()))
}

/// The output field of a table column.
pub(crate) fn output_field(field: &StructField) -> Result<Field, ConvertError> {
    let data_type = output_type(&field.data_type).map_err(|e| e.at(&field.name))?;
    Ok(Field::new(&field.name, data_type, field.nullable))
}

/// Removes field metadata (column mapping ids, Parquet field ids) from nested types.
fn strip_metadata(data_type: &DataType) -> DataType {
    let strip_field = |f: &FieldRef| -> FieldRef {
        Arc::new(Field::new(
            f.name(),
            strip_metadata(f.data_type()),
            f.is_nullable(),
        ))
    };
    match data_type {
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(strip_field).collect()),
        DataType::List(f) => DataType::List(strip_field(f)),
        DataType::Map(f, sorted) => DataType::Map(strip_field(f), *sorted),
        other => other.clone(),
    }
}

/// Converts a file column to the table column `field` (already in output form).
pub(crate) fn conform(
    array: &ArrayRef,
    table_field: &StructField,
    mode: ColumnMappingMode,
    path: &str,
) -> Result<ArrayRef, ConvertError> {
    let target = output_type(&table_field.data_type).map_err(|e| e.at(path))?;
    conform_to(array, &table_field.data_type, &target, mode, path)
}

fn conform_to(
    array: &ArrayRef,
    delta: &DeltaType,
    target: &DataType,
    mode: ColumnMappingMode,
    path: &str,
) -> Result<ArrayRef, ConvertError> {
    let error = |reason: String| ConvertError::mismatch(path, reason);
    // Dictionaries and views hold the same values as their plain forms: unpack first.
    if let DataType::Dictionary(_, value_type) = array.data_type() {
        let plain = cast_exact(array, value_type).map_err(error)?;
        return conform_to(&plain, delta, target, mode, path);
    }
    match (delta, array.data_type()) {
        (DeltaType::Struct(table_struct), DataType::Struct(_)) => {
            conform_struct(array.as_struct(), table_struct, target, mode, path)
        }
        (DeltaType::Array(table_array), DataType::List(_) | DataType::LargeList(_)) => {
            let DataType::List(target_item) = target else {
                return Err(error(format!("expected a list type, found {target}")));
            };
            let list = if let DataType::LargeList(_) = array.data_type() {
                let as_list = cast_exact(
                    array,
                    &DataType::List(Arc::new(Field::new(
                        "element",
                        list_item_type(array).unwrap_or(DataType::Null),
                        true,
                    ))),
                )
                .map_err(error)?;
                as_list.as_list::<i32>().clone()
            } else {
                array.as_list::<i32>().clone()
            };
            let values = conform_to(
                list.values(),
                &table_array.element_type,
                target_item.data_type(),
                mode,
                &format!("{path}.element"),
            )?;
            let rebuilt = ListArray::try_new(
                Arc::clone(target_item),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )
            .map_err(|e| error(e.to_string()))?;
            Ok(Arc::new(rebuilt))
        }
        (DeltaType::Map(table_map), DataType::Map(_, _)) => {
            let DataType::Map(target_entries, sorted) = target else {
                return Err(error(format!("expected a map type, found {target}")));
            };
            let DataType::Struct(target_kv) = target_entries.data_type() else {
                return Err(error("map entries are not a struct".to_owned()));
            };
            let map = array.as_map();
            let keys = conform_to(
                map.keys(),
                &table_map.key_type,
                target_kv[0].data_type(),
                mode,
                &format!("{path}.key"),
            )?;
            let values = conform_to(
                map.values(),
                &table_map.value_type,
                target_kv[1].data_type(),
                mode,
                &format!("{path}.value"),
            )?;
            let entries = StructArray::try_new(target_kv.clone(), vec![keys, values], None)
                .map_err(|e| error(e.to_string()))?;
            let rebuilt = MapArray::try_new(
                Arc::clone(target_entries),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )
            .map_err(|e| error(e.to_string()))?;
            Ok(Arc::new(rebuilt))
        }
        (DeltaType::Variant, found) if is_shredded(found) => {
            let unshredded =
                unshred(array.as_struct()).map_err(|source| ConvertError::ShreddedVariant {
                    column: path.to_owned(),
                    source,
                })?;
            if unshredded.data_type() == target {
                Ok(unshredded)
            } else {
                cast_exact(&unshredded, target).map_err(error)
            }
        }
        (DeltaType::Primitive(_) | DeltaType::Variant, _) => {
            if array.data_type() == target {
                Ok(Arc::clone(array))
            } else {
                cast_exact(array, target).map_err(error)
            }
        }
        (_, found) => Err(error(format!(
            "the file stores {found}, the table declares {delta}"
        ))),
    }
}

fn list_item_type(array: &ArrayRef) -> Option<DataType> {
    match array.data_type() {
        DataType::LargeList(f) | DataType::List(f) => Some(f.data_type().clone()),
        _ => None,
    }
}

/// Matches a file struct's children to the table struct's fields; fields the file lacks
/// (added to the table later) are null.
fn conform_struct(
    array: &StructArray,
    table: &StructType,
    target: &DataType,
    mode: ColumnMappingMode,
    path: &str,
) -> Result<ArrayRef, ConvertError> {
    let DataType::Struct(target_fields) = target else {
        return Err(ConvertError::mismatch(
            path,
            format!("expected a struct type, found {target}"),
        ));
    };
    let file_fields = array.fields();
    let mut children = Vec::with_capacity(table.fields.len());
    for (table_field, target_field) in table.fields.iter().zip(target_fields.iter()) {
        let child_path = format!("{path}.{}", table_field.name);
        let child = match find_file_field(file_fields, table_field, mode) {
            Some((index, _)) => conform_to(
                array.column(index),
                &table_field.data_type,
                target_field.data_type(),
                mode,
                &child_path,
            )?,
            None => new_null_array(target_field.data_type(), array.len()),
        };
        children.push(child);
    }
    // Nullability of children is as the table declares only where the parent is valid; a
    // null parent may hide anything, so validation runs against the relaxed fields.
    let rebuilt = StructArray::try_new(target_fields.clone(), children, array.nulls().cloned())
        .map_err(|e| ConvertError::mismatch(path, e.to_string()))?;
    Ok(Arc::new(rebuilt))
}

/// Whether a file type may be read as a table type: the same kind of value in another
/// encoding (timestamp units, decimal widths, string and binary layouts) or a widening the
/// protocol allows (type widening: integers to wider integers, floats or decimals).
pub(crate) fn compatible(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let integer =
        |t: &DataType| matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32);
    let decimal = |t: &DataType| {
        matches!(
            t,
            Decimal32(_, _) | Decimal64(_, _) | Decimal128(_, _) | Decimal256(_, _)
        )
    };
    match (from, to) {
        (Null, _) => true,
        (Dictionary(_, values), t) => values.as_ref() == t || compatible(values, t),
        (List(_) | LargeList(_), List(_)) => true,
        (f, t) if integer(f) => integer(t) || matches!(t, Float64) || decimal(t),
        (Float16 | Float32 | Float64, Float32 | Float64) => true,
        (f, t) if decimal(f) => decimal(t),
        (Timestamp(_, _), Timestamp(_, _)) => true,
        (Date32 | Date64, Date32) => true,
        (Utf8 | LargeUtf8 | Utf8View, Utf8) => true,
        (Binary | LargeBinary | BinaryView | FixedSizeBinary(_), Binary) => true,
        (Boolean, Boolean) => true,
        (Struct(_), Struct(_)) => true,
        _ => false,
    }
}

/// Casts without silently losing information: overflow and truncation are errors, and a
/// value of another kind (a string where the table has numbers) is refused outright.
fn cast_exact(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    if !compatible(array.data_type(), to) {
        return Err(format!(
            "the file stores {}, the table declares {to}",
            array.data_type()
        ));
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, to, &options)
        .map_err(|e| format!("cannot convert {} to {to}: {e}", array.data_type()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray, TimestampNanosecondArray};
    use tarn_protocol::schema::PrimitiveType;

    fn field(name: &str, ty: DeltaType) -> StructField {
        StructField::new(name, ty, true)
    }

    #[test]
    fn widens_integers_and_converts_timestamps() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let out = conform(
            &ints,
            &field("a", DeltaType::LONG),
            ColumnMappingMode::None,
            "a",
        )
        .unwrap();
        assert_eq!(out.data_type(), &DataType::Int64);
        let ts: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![1_000_000_000i64]));
        let out = conform(
            &ts,
            &field("t", DeltaType::Primitive(PrimitiveType::Timestamp)),
            ColumnMappingMode::None,
            "t",
        )
        .unwrap();
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
        );
    }

    #[test]
    fn struct_fields_are_matched_by_physical_name_and_missing_ones_are_null() {
        let file = StructArray::from(vec![(
            Arc::new(Field::new("col-1", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )]);
        let table = StructType::new([
            StructField::new("logical", DeltaType::STRING, true).with_metadata([
                (
                    "delta.columnMapping.physicalName",
                    serde_json::Value::from("col-1"),
                ),
                ("delta.columnMapping.id", serde_json::Value::from(1)),
            ]),
            StructField::new("added_later", DeltaType::INTEGER, true),
        ]);
        let array: ArrayRef = Arc::new(file);
        let out = conform(
            &array,
            &field("s", DeltaType::Struct(Box::new(table))),
            ColumnMappingMode::Name,
            "s",
        )
        .unwrap();
        let out = out.as_struct();
        assert_eq!(out.column_names(), vec!["logical", "added_later"]);
        assert_eq!(out.column(0).as_string::<i32>().value(0), "x");
        assert!(out.column(1).is_null(0));
    }

    #[test]
    fn lossy_casts_are_errors() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["not a number"]));
        let err = conform(
            &strings,
            &field("n", DeltaType::INTEGER),
            ColumnMappingMode::None,
            "n",
        )
        .unwrap_err();
        assert_eq!(err.column(), "n");
    }
}
