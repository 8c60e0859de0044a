//! Schema enforcement: does a batch fit the table, and in which Arrow form is it written.
//!
//! This module decides whether an incoming batch may be written to a table and converts it to
//! the table's logical Arrow form (the Delta types' one Arrow encoding, table column names and
//! order). A batch fits when it has every non-nullable table column (names match exactly,
//! else ignoring case; a nullable column or struct field it leaves out is filled with nulls,
//! as Delta's writers do for an append), no other column, and each column's type is the table's type or one that converts to
//! it without losing anything: another encoding of the same values (`LargeUtf8`, `Utf8View`,
//! dictionaries, timestamp units and zones, decimal widths), or a narrower type of the same
//! kind (`int` into `long`, `float` into `double`, a decimal with fewer digits on each side of
//! the point). A value that would change is an error, never a silent cast: a nanosecond
//! timestamp with sub-microsecond digits is refused.
//!
//! It never reorders or drops rows, and it never decides what a table's schema should become:
//! [`merged_schema`] proposes a schema that holds both, and the caller chooses to commit it.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date64Type, TimestampNanosecondType};
use arrow_array::{Array, ArrayRef, ListArray, MapArray, RecordBatch, StructArray, new_null_array};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{
    ArrowError, DataType as ArrowType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit,
};
use tarn_protocol::schema::{
    ArrayType, DataType as DeltaType, MapType, PARQUET_FIELD_ID_KEY, PrimitiveType, StructField,
    StructType,
};

use super::constraints::check_not_null;
use crate::error::{Error, Result};

/// Converts `batch` to the table's logical Arrow form: one column per table column, in table
/// order, under the table's names, of the Arrow type of its Delta type (`string` as `Utf8`,
/// `timestamp` as microseconds in `UTC`, ...), with the table's nullability.
///
/// Fails with [`Error::SchemaMismatch`] naming the first column that does not fit and why
/// (`missing column`, `expected long, found string`, an unexpected column), and with
/// [`Error::NotNullViolation`] naming the column and a sample row when a non-nullable column
/// (or a non-nullable field of a present struct, element of an array, value of a map) holds a
/// null. Nothing is converted lossily; see the module docs.
pub fn conform_batch(schema: &StructType, batch: &RecordBatch) -> Result<RecordBatch> {
    let relaxed = conform_relaxed(schema, batch)?;
    check_not_null(schema, &relaxed)?;
    let strict = logical_schema(schema, false)?;
    relabel_batch(&relaxed, strict)
}

/// The Arrow schema of a table's logical form. `relaxed` makes every field nullable (used
/// before the NOT NULL check, so a null can be reported rather than rejected by Arrow).
pub(crate) fn logical_schema(schema: &StructType, relaxed: bool) -> Result<SchemaRef> {
    let fields = schema
        .fields
        .iter()
        .map(|field| logical_field(field, relaxed))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The Arrow field of a table column, without metadata.
pub(crate) fn logical_field(field: &StructField, relaxed: bool) -> Result<Field> {
    let arrow = Field::try_from(field)?;
    Ok(Field::new(
        &field.name,
        strip(arrow.data_type(), relaxed, false),
        field.nullable || relaxed,
    ))
}

/// Removes field metadata from nested fields (keeping Parquet field ids when `keep_ids`) and,
/// when `relaxed`, makes struct fields, list elements and map values nullable.
pub(crate) fn strip(data_type: &ArrowType, relaxed: bool, keep_ids: bool) -> ArrowType {
    let field = |f: &FieldRef, may_relax: bool| -> FieldRef {
        let mut out = Field::new(
            f.name(),
            strip(f.data_type(), relaxed, keep_ids),
            f.is_nullable() || (relaxed && may_relax),
        );
        if keep_ids && let Some(id) = f.metadata().get(PARQUET_FIELD_ID_KEY) {
            out = out.with_metadata([(PARQUET_FIELD_ID_KEY.to_owned(), id.clone())].into());
        }
        Arc::new(out)
    };
    match data_type {
        ArrowType::Struct(fields) => {
            ArrowType::Struct(fields.iter().map(|f| field(f, true)).collect())
        }
        ArrowType::List(item) => ArrowType::List(field(item, true)),
        ArrowType::Map(entries, sorted) => {
            let ArrowType::Struct(kv) = entries.data_type() else {
                return data_type.clone();
            };
            let kv: Fields = kv
                .iter()
                .enumerate()
                .map(|(index, f)| field(f, index == 1))
                .collect();
            ArrowType::Map(
                Arc::new(Field::new(
                    entries.name(),
                    ArrowType::Struct(kv),
                    entries.is_nullable(),
                )),
                *sorted,
            )
        }
        other => other.clone(),
    }
}

/// Rebuilds a batch under another schema of the same layout (other names, nullability or
/// field metadata); no values are copied.
pub(crate) fn relabel_batch(batch: &RecordBatch, schema: SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields().iter())
        .map(|(array, field)| {
            relabel(array, field.data_type()).map_err(|e| Error::SchemaMismatch {
                column: field.name().clone(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema, columns).map_err(|e| Error::SchemaMismatch {
        column: String::new(),
        reason: e.to_string(),
    })
}

/// `array` with the type `target`, which must have the same layout (only nested field names,
/// nullability and metadata may differ).
pub(crate) fn relabel(array: &ArrayRef, target: &ArrowType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    match target {
        ArrowType::Struct(fields) => {
            let source = array
                .as_struct_opt()
                .ok_or_else(|| layout_error(array, target))?;
            let children = source
                .columns()
                .iter()
                .zip(fields.iter())
                .map(|(child, field)| relabel(child, field.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                source.nulls().cloned(),
            )?))
        }
        ArrowType::List(item) => {
            let source = array
                .as_list_opt::<i32>()
                .ok_or_else(|| layout_error(array, target))?;
            let values = relabel(source.values(), item.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                Arc::clone(item),
                source.offsets().clone(),
                values,
                source.nulls().cloned(),
            )?))
        }
        ArrowType::Map(entries, sorted) => {
            let source = array
                .as_map_opt()
                .ok_or_else(|| layout_error(array, target))?;
            let entries_array = relabel(
                &(Arc::new(source.entries().clone()) as ArrayRef),
                entries.data_type(),
            )?;
            let entries_array = entries_array
                .as_struct_opt()
                .ok_or_else(|| layout_error(array, target))?
                .clone();
            Ok(Arc::new(MapArray::try_new(
                Arc::clone(entries),
                source.offsets().clone(),
                entries_array,
                source.nulls().cloned(),
                *sorted,
            )?))
        }
        _ => Err(layout_error(array, target)),
    }
}

fn layout_error(array: &ArrayRef, target: &ArrowType) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("cannot present {} as {target}", array.data_type()))
}

/// The type conversion half of [`conform_batch`]: a batch of the relaxed logical schema.
pub(crate) fn conform_relaxed(schema: &StructType, batch: &RecordBatch) -> Result<RecordBatch> {
    let input_fields = batch.schema_ref().fields().clone();
    let matched = match_fields(&schema.fields, &input_fields, "")?;
    let relaxed = logical_schema(schema, true)?;
    let mut columns = Vec::with_capacity(schema.fields.len());
    for ((table_field, input_index), target) in schema
        .fields
        .iter()
        .zip(matched)
        .zip(relaxed.fields().iter())
    {
        let column = match input_index {
            Some(index) => conform_array(
                batch.column(index),
                &table_field.data_type,
                target.data_type(),
                &table_field.name,
            )?,
            None => new_null_array(target.data_type(), batch.num_rows()),
        };
        columns.push(column);
    }
    RecordBatch::try_new(relaxed, columns).map_err(|e| Error::SchemaMismatch {
        column: String::new(),
        reason: e.to_string(),
    })
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// For each table field, the index of the input field it takes its values from: the one of
/// the same name, else the only one equal ignoring case; `None` for a nullable field the input
/// lacks (its values are nulls, as Delta's writers fill a column an append leaves out). Every
/// input field must be used, and every non-nullable table field present.
fn match_fields(table: &[StructField], input: &Fields, parent: &str) -> Result<Vec<Option<usize>>> {
    let mut used = vec![false; input.len()];
    let mut matched = Vec::with_capacity(table.len());
    for field in table {
        match find_field(input, &field.name, &used) {
            Some(index) => {
                used[index] = true;
                matched.push(Some(index));
            }
            None if field.nullable => matched.push(None),
            None => {
                return Err(Error::SchemaMismatch {
                    column: child_path(parent, &field.name),
                    reason: "missing column (it is NOT NULL, so it cannot be left out)".to_owned(),
                });
            }
        }
    }
    if let Some(extra) = used.iter().position(|u| !u) {
        return Err(Error::SchemaMismatch {
            column: child_path(parent, input[extra].name()),
            reason: "unexpected column: the table has no such column (merge the schema to add it)"
                .to_owned(),
        });
    }
    Ok(matched)
}

fn find_field(input: &Fields, name: &str, used: &[bool]) -> Option<usize> {
    if let Some(index) = input
        .iter()
        .enumerate()
        .position(|(i, f)| !used[i] && f.name() == name)
    {
        return Some(index);
    }
    let mut candidates = input
        .iter()
        .enumerate()
        .filter(|(i, f)| !used[*i] && f.name().eq_ignore_ascii_case(name));
    match (candidates.next(), candidates.next()) {
        (Some((index, _)), None) => Some(index),
        _ => None,
    }
}

/// The Delta name of an Arrow type where it has one (`string` for `LargeUtf8`), else Arrow's.
pub(crate) fn describe(data_type: &ArrowType) -> String {
    match DeltaType::try_from(data_type) {
        Ok(DeltaType::Primitive(PrimitiveType::Timestamp)) => {
            "timestamp (with a time zone)".to_owned()
        }
        Ok(DeltaType::Primitive(PrimitiveType::TimestampNtz)) => {
            "timestamp_ntz (a timestamp without time zone)".to_owned()
        }
        Ok(delta) => delta.to_string(),
        Err(_) => data_type.to_string(),
    }
}

fn mismatch(path: &str, expected: &DeltaType, found: &ArrowType) -> Error {
    Error::SchemaMismatch {
        column: path.to_owned(),
        reason: format!("expected {expected}, found {}", describe(found)),
    }
}

/// Converts one input column to its table column's (relaxed) Arrow type.
fn conform_array(
    array: &ArrayRef,
    delta: &DeltaType,
    target: &ArrowType,
    path: &str,
) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    let failed = |reason: String| Error::SchemaMismatch {
        column: path.to_owned(),
        reason,
    };
    match array.data_type() {
        ArrowType::Null => return Ok(new_null_array(target, array.len())),
        ArrowType::Dictionary(_, values) => {
            let plain = cast_exact(array, values).map_err(failed)?;
            return conform_array(&plain, delta, target, path);
        }
        _ => {}
    }
    match delta {
        DeltaType::Primitive(primitive) => {
            if !primitive_fits(array.data_type(), *primitive) {
                return Err(mismatch(path, delta, array.data_type()));
            }
            check_exact(array, target).map_err(failed)?;
            cast_exact(array, target).map_err(failed)
        }
        DeltaType::Variant => {
            let variant = StructType::new([
                StructField::new("metadata", DeltaType::BINARY, false),
                StructField::new("value", DeltaType::BINARY, false),
            ]);
            conform_struct(array, &variant, delta, target, path)
        }
        DeltaType::Struct(table) => conform_struct(array, table, delta, target, path),
        DeltaType::Array(table) => conform_list(array, table, delta, target, path),
        DeltaType::Map(table) => conform_map(array, table, delta, target, path),
    }
}

fn conform_struct(
    array: &ArrayRef,
    table: &StructType,
    delta: &DeltaType,
    target: &ArrowType,
    path: &str,
) -> Result<ArrayRef> {
    let (ArrowType::Struct(input_fields), ArrowType::Struct(target_fields)) =
        (array.data_type(), target)
    else {
        return Err(mismatch(path, delta, array.data_type()));
    };
    let matched = match_fields(&table.fields, input_fields, path)?;
    let source = array.as_struct();
    let mut children = Vec::with_capacity(matched.len());
    for ((field, index), target_field) in table.fields.iter().zip(matched).zip(target_fields.iter())
    {
        children.push(match index {
            Some(index) => conform_array(
                source.column(index),
                &field.data_type,
                target_field.data_type(),
                &child_path(path, &field.name),
            )?,
            None => new_null_array(target_field.data_type(), source.len()),
        });
    }
    let rebuilt = StructArray::try_new(target_fields.clone(), children, source.nulls().cloned())
        .map_err(|e| Error::SchemaMismatch {
            column: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Arc::new(rebuilt))
}

fn conform_list(
    array: &ArrayRef,
    table: &ArrayType,
    delta: &DeltaType,
    target: &ArrowType,
    path: &str,
) -> Result<ArrayRef> {
    let ArrowType::List(target_item) = target else {
        return Err(mismatch(path, delta, array.data_type()));
    };
    let failed = |reason: String| Error::SchemaMismatch {
        column: path.to_owned(),
        reason,
    };
    let list = match array.data_type() {
        ArrowType::List(_) => array.as_list::<i32>().clone(),
        ArrowType::LargeList(item) | ArrowType::FixedSizeList(item, _) => {
            let as_list = ArrowType::List(Arc::new(Field::new(
                "element",
                item.data_type().clone(),
                true,
            )));
            cast_exact(array, &as_list)
                .map_err(failed)?
                .as_list::<i32>()
                .clone()
        }
        _ => return Err(mismatch(path, delta, array.data_type())),
    };
    let values = conform_array(
        list.values(),
        &table.element_type,
        target_item.data_type(),
        &child_path(path, "element"),
    )?;
    let rebuilt = ListArray::try_new(
        Arc::clone(target_item),
        list.offsets().clone(),
        values,
        list.nulls().cloned(),
    )
    .map_err(|e| failed(e.to_string()))?;
    Ok(Arc::new(rebuilt))
}

fn conform_map(
    array: &ArrayRef,
    table: &MapType,
    delta: &DeltaType,
    target: &ArrowType,
    path: &str,
) -> Result<ArrayRef> {
    let (ArrowType::Map(_, _), ArrowType::Map(target_entries, sorted)) =
        (array.data_type(), target)
    else {
        return Err(mismatch(path, delta, array.data_type()));
    };
    let ArrowType::Struct(target_kv) = target_entries.data_type() else {
        return Err(mismatch(path, delta, array.data_type()));
    };
    let failed = |reason: String| Error::SchemaMismatch {
        column: path.to_owned(),
        reason,
    };
    let map = array.as_map();
    let keys = conform_array(
        map.keys(),
        &table.key_type,
        target_kv[0].data_type(),
        &child_path(path, "key"),
    )?;
    let values = conform_array(
        map.values(),
        &table.value_type,
        target_kv[1].data_type(),
        &child_path(path, "value"),
    )?;
    let entries = StructArray::try_new(target_kv.clone(), vec![keys, values], None)
        .map_err(|e| failed(e.to_string()))?;
    let rebuilt = MapArray::try_new(
        Arc::clone(target_entries),
        map.offsets().clone(),
        entries,
        map.nulls().cloned(),
        *sorted,
    )
    .map_err(|e| failed(e.to_string()))?;
    Ok(Arc::new(rebuilt))
}

/// Decimal digits an integer type needs.
fn integer_digits(data_type: &ArrowType) -> Option<u8> {
    Some(match data_type {
        ArrowType::Int8 | ArrowType::UInt8 => 3,
        ArrowType::Int16 | ArrowType::UInt16 => 5,
        ArrowType::Int32 | ArrowType::UInt32 => 10,
        ArrowType::Int64 => 19,
        _ => return None,
    })
}

/// Whether every value of Arrow type `from` is a value of the Delta primitive `to`.
fn primitive_fits(from: &ArrowType, to: PrimitiveType) -> bool {
    use ArrowType as A;
    match to {
        PrimitiveType::String => matches!(from, A::Utf8 | A::LargeUtf8 | A::Utf8View),
        PrimitiveType::Binary => matches!(
            from,
            A::Binary | A::LargeBinary | A::BinaryView | A::FixedSizeBinary(_)
        ),
        PrimitiveType::Boolean => matches!(from, A::Boolean),
        PrimitiveType::Byte => matches!(from, A::Int8),
        PrimitiveType::Short => matches!(from, A::Int8 | A::Int16 | A::UInt8),
        PrimitiveType::Integer => {
            matches!(from, A::Int8 | A::Int16 | A::Int32 | A::UInt8 | A::UInt16)
        }
        PrimitiveType::Long => matches!(
            from,
            A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32
        ),
        PrimitiveType::Float => matches!(from, A::Float16 | A::Float32),
        PrimitiveType::Double => matches!(from, A::Float16 | A::Float32 | A::Float64),
        PrimitiveType::Date => matches!(from, A::Date32 | A::Date64),
        PrimitiveType::Timestamp => matches!(from, A::Timestamp(_, Some(_))),
        PrimitiveType::TimestampNtz => matches!(from, A::Timestamp(_, None)),
        PrimitiveType::Decimal(decimal) => {
            let integral = decimal.precision - decimal.scale;
            match from {
                A::Decimal32(p, s)
                | A::Decimal64(p, s)
                | A::Decimal128(p, s)
                | A::Decimal256(p, s) => {
                    let Ok(s) = u8::try_from(*s) else {
                        return false;
                    };
                    s <= decimal.scale && p.saturating_sub(s) <= integral
                }
                other => integer_digits(other).is_some_and(|digits| digits <= integral),
            }
        }
    }
}

/// Checks the conversions Arrow's cast would do by truncation: nanoseconds to microseconds
/// and milliseconds to days must drop only zeros.
fn check_exact(array: &ArrayRef, target: &ArrowType) -> Result<(), String> {
    match (array.data_type(), target) {
        (ArrowType::Timestamp(TimeUnit::Nanosecond, _), ArrowType::Timestamp(_, _)) => {
            let values = array.as_primitive::<TimestampNanosecondType>();
            if let Some(index) = (0..values.len())
                .find(|&i| values.is_valid(i) && values.value(i).rem_euclid(1000) != 0)
            {
                return Err(format!(
                    "row {index} holds a nanosecond timestamp ({}) with sub-microsecond digits, which the column cannot hold",
                    values.value(index)
                ));
            }
        }
        (ArrowType::Date64, ArrowType::Date32) => {
            let values = array.as_primitive::<Date64Type>();
            if let Some(index) = (0..values.len())
                .find(|&i| values.is_valid(i) && values.value(i).rem_euclid(86_400_000) != 0)
            {
                return Err(format!(
                    "row {index} holds a date64 value ({} ms) that is not a whole day",
                    values.value(index)
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Casts, failing rather than truncating or overflowing.
fn cast_exact(array: &ArrayRef, to: &ArrowType) -> Result<ArrayRef, String> {
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, to, &options)
        .map_err(|e| format!("cannot convert {} to {to}: {e}", array.data_type()))
}

/// A table schema that holds both `table` and `input`: the table's columns in their order,
/// each widened where the input's type is wider (`byte` -> `short` -> `integer` -> `long`,
/// `float` -> `double`), then the input's new columns, nullable, in input order. Struct fields
/// merge the same way, recursively.
///
/// The table's names, nullability and metadata are kept. Types that cannot merge (`long` and
/// `string`) are an [`Error::SchemaMismatch`]. Committing a widened type needs the
/// `typeWidening` table feature, and new columns of a column-mapped table need ids and
/// physical names: both are the caller's to add.
pub fn merged_schema(table: &StructType, input: &Schema) -> Result<StructType> {
    merge_struct(table, input.fields(), "")
}

fn merge_struct(table: &StructType, input: &Fields, parent: &str) -> Result<StructType> {
    let mut used = vec![false; input.len()];
    let mut fields = Vec::with_capacity(table.fields.len());
    for field in &table.fields {
        let mut merged = field.clone();
        if let Some(index) = find_field(input, &field.name, &used) {
            used[index] = true;
            merged.data_type = merge_type(
                &field.data_type,
                &input[index],
                &child_path(parent, &field.name),
            )?;
        }
        fields.push(merged);
    }
    for (index, arrow) in input.iter().enumerate() {
        if used[index] {
            continue;
        }
        let mut added = StructField::try_from(arrow.as_ref())?;
        added.nullable = true;
        fields.push(added);
    }
    Ok(StructType { fields })
}

fn merge_type(table: &DeltaType, input: &Field, path: &str) -> Result<DeltaType> {
    let data_type = match input.data_type() {
        ArrowType::Dictionary(_, values) => values.as_ref(),
        other => other,
    };
    if matches!(data_type, ArrowType::Null) {
        return Ok(table.clone());
    }
    match (table, data_type) {
        (DeltaType::Primitive(primitive), found) => {
            if primitive_fits(found, *primitive) {
                return Ok(table.clone());
            }
            match DeltaType::try_from(found) {
                Ok(DeltaType::Primitive(wider)) if widens(*primitive, wider) => {
                    Ok(DeltaType::Primitive(wider))
                }
                _ => Err(mismatch(path, table, found)),
            }
        }
        (DeltaType::Struct(inner), ArrowType::Struct(fields)) => Ok(DeltaType::Struct(Box::new(
            merge_struct(inner, fields, path)?,
        ))),
        (
            DeltaType::Array(array),
            ArrowType::List(item) | ArrowType::LargeList(item) | ArrowType::FixedSizeList(item, _),
        ) => Ok(DeltaType::Array(Box::new(ArrayType {
            element_type: merge_type(&array.element_type, item, &child_path(path, "element"))?,
            contains_null: array.contains_null,
        }))),
        (DeltaType::Map(map), ArrowType::Map(entries, _)) => {
            let ArrowType::Struct(kv) = entries.data_type() else {
                return Err(mismatch(path, table, data_type));
            };
            if kv.len() != 2 {
                return Err(mismatch(path, table, data_type));
            }
            Ok(DeltaType::Map(Box::new(MapType {
                key_type: merge_type(&map.key_type, &kv[0], &child_path(path, "key"))?,
                value_type: merge_type(&map.value_type, &kv[1], &child_path(path, "value"))?,
                value_contains_null: map.value_contains_null,
            })))
        }
        (DeltaType::Variant, ArrowType::Struct(_)) => Ok(table.clone()),
        (_, found) => Err(mismatch(path, table, found)),
    }
}

/// Whether a column of type `from` may be widened to `to`.
fn widens(from: PrimitiveType, to: PrimitiveType) -> bool {
    use PrimitiveType as P;
    let rank = |t: PrimitiveType| match t {
        P::Byte => Some(0),
        P::Short => Some(1),
        P::Integer => Some(2),
        P::Long => Some(3),
        _ => None,
    };
    match (from, to) {
        (P::Float, P::Double) => true,
        _ => matches!((rank(from), rank(to)), (Some(a), Some(b)) if a < b),
    }
}
