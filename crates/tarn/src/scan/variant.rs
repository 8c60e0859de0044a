//! Reassembling shredded variant columns into the one variant form tarn returns.
//!
//! A variant column is stored in Parquet either unshredded, as a group of two binaries
//! (`metadata`, `value`) in the Variant binary encoding, or shredded (PROTOCOL.md, "Variant
//! Shredding"; Parquet's `VariantShredding.md`): `metadata`, an optional `value` and an
//! optional `typed_value` that holds part of the value as typed columns, a primitive, an
//! object (a group of shredded fields, each itself `value` + `typed_value`) or an array (a
//! list of shredded elements), nested to any depth. One table may mix both forms, even within
//! one file. [`unshred`] folds `typed_value` back into `value`, so a scan always returns the
//! unshredded struct `{metadata, value}` described in `tarn_protocol::schema::to_arrow`.
//!
//! The folding itself is arrow-rs' `unshred_variant` (the `parquet-variant-compute` crate);
//! this module adds what a reader of untrusted files needs around it:
//!
//! - a layout check that names what is wrong (no `metadata`, a non-binary `value`);
//! - a check that every shredded object field present in a row is named in that row's
//!   metadata dictionary, as the encoding requires: the crate assumes it and panics
//!   otherwise, and a malformed file must be an error, never a panic;
//! - the spec's rule for a row whose `value` and `typed_value` are both null: the variant is
//!   missing where a value is required, which reads as Variant null (`00`), while a null
//!   group is a SQL NULL and stays one.
//!
//! Values the spec forbids writers to produce are errors, not guesses: a `typed_value` that
//! is not an object together with a non-null `value`, a partially shredded object whose
//! `value` is not an object or repeats a shredded field, a `typed_value` of a type the spec
//! does not allow. Everything here is a pure function of the arrays; no I/O.

use std::sync::Arc;

use arrow_array::builder::BinaryBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StructArray};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{ArrowError, DataType, Fields};
use parquet_variant::VariantMetadata;
use parquet_variant_compute::{VariantArray, unshred_variant};
use tarn_protocol::schema::variant_arrow_fields;

/// The Variant null value: basic type 0 (primitive), physical type 0 (null).
const VARIANT_NULL: &[u8] = &[0x00];

/// Why a shredded variant column cannot be reassembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShreddedVariantError {
    /// The variant group has no `metadata` field.
    #[error("the shredded variant group has no `metadata` field")]
    MissingMetadata,
    /// `metadata` or a `value` is not a binary column.
    #[error("`{field}` of the shredded variant is stored as {found}, not as binary")]
    NotBinary {
        /// The field, as a path inside the variant group (`metadata`, `typed_value.a.value`).
        field: String,
        /// The type the file stores it as.
        found: DataType,
    },
    /// A row holds a variant but no `metadata` for it.
    #[error("row {row}: the variant has a null `metadata`")]
    NullMetadata {
        /// The row within the batch.
        row: usize,
    },
    /// A row's `metadata` is not a valid variant metadata dictionary.
    #[error("row {row}: invalid variant metadata: {source}")]
    InvalidMetadata {
        /// The row within the batch.
        row: usize,
        /// What the decoder found.
        #[source]
        source: ArrowError,
    },
    /// A shredded object field is present in a row whose metadata does not name it.
    #[error("row {row}: shredded field `{field}` is not in the row's variant metadata")]
    FieldNotInMetadata {
        /// The row within the batch.
        row: usize,
        /// The field, as a path inside the variant value (`a.b`, `tags[].name`).
        field: String,
    },
    /// The layout or the values break the shredding spec (conflicting `value` and
    /// `typed_value`, a type the spec does not allow, a malformed variant value).
    #[error("the shredded variant breaks the Parquet variant shredding spec: {source}")]
    Invalid {
        /// What the unshredding kernel found.
        #[source]
        source: ArrowError,
    },
}

/// Whether a file's variant column is shredded: a struct with a `typed_value` field.
pub(crate) fn is_shredded(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Struct(fields) if fields.find("typed_value").is_some())
}

/// Reassembles a shredded variant column into `{metadata: Binary, value: Binary}` (the fields
/// [`variant_arrow_fields`] names), keeping its row nulls.
pub(crate) fn unshred(group: &StructArray) -> Result<ArrayRef, ShreddedVariantError> {
    let metadata = group
        .column_by_name("metadata")
        .ok_or(ShreddedVariantError::MissingMetadata)?;
    require_binary(metadata, "metadata")?;
    if let Some(row) = (0..group.len()).find(|&row| group.is_valid(row) && metadata.is_null(row)) {
        return Err(ShreddedVariantError::NullMetadata { row });
    }
    let reach: Vec<Option<usize>> = (0..group.len())
        .map(|row| group.is_valid(row).then_some(row))
        .collect();
    let mut dictionaries = Dictionaries::new(metadata.as_ref());
    check_shredded(group, &reach, "", &mut dictionaries)?;

    let shredded =
        VariantArray::try_new(group).map_err(|source| ShreddedVariantError::Invalid { source })?;
    let unshredded =
        unshred_variant(&shredded).map_err(|source| ShreddedVariantError::Invalid { source })?;
    let value = complete_values(unshredded.value_column().as_ref(), group)?;
    let metadata = to_binary(unshredded.metadata_column(), "metadata")?;
    let rebuilt = StructArray::try_new(
        variant_arrow_fields(),
        vec![metadata, value],
        group.nulls().cloned(),
    )
    .map_err(|source| ShreddedVariantError::Invalid { source })?;
    Ok(Arc::new(rebuilt))
}

fn require_binary(array: &ArrayRef, field: &str) -> Result<(), ShreddedVariantError> {
    match array.data_type() {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Ok(()),
        found => Err(ShreddedVariantError::NotBinary {
            field: field.to_owned(),
            found: found.clone(),
        }),
    }
}

fn to_binary(array: &ArrayRef, field: &str) -> Result<ArrayRef, ShreddedVariantError> {
    require_binary(array, field)?;
    if array.data_type() == &DataType::Binary {
        return Ok(Arc::clone(array));
    }
    arrow_cast::cast(array, &DataType::Binary)
        .map_err(|source| ShreddedVariantError::Invalid { source })
}

/// The unshredded `value` column as plain binary, with Variant null where a valid row's
/// variant is missing (both `value` and `typed_value` null; VariantShredding.md: "If a Variant
/// is missing in a context where a value is required, readers must return a Variant null").
fn complete_values(
    value: &dyn Array,
    group: &StructArray,
) -> Result<ArrayRef, ShreddedVariantError> {
    let bytes_at = |row: usize| -> Option<&[u8]> {
        match value.data_type() {
            DataType::Binary => Some(value.as_binary::<i32>().value(row)),
            DataType::LargeBinary => Some(value.as_binary::<i64>().value(row)),
            DataType::BinaryView => Some(value.as_binary_view().value(row)),
            _ => None,
        }
    };
    let mut out = BinaryBuilder::with_capacity(group.len(), 0);
    for row in 0..group.len() {
        if group.is_null(row) {
            out.append_null();
        } else if value.is_null(row) {
            out.append_value(VARIANT_NULL);
        } else {
            let bytes = bytes_at(row).ok_or_else(|| ShreddedVariantError::NotBinary {
                field: "value".to_owned(),
                found: value.data_type().clone(),
            })?;
            out.append_value(bytes);
        }
    }
    Ok(Arc::new(out.finish()) as ArrayRef)
}

/// Each row's metadata dictionary, decoded (and validated) once, on first use.
struct Dictionaries<'a> {
    column: &'a dyn Array,
    decoded: Vec<Option<VariantMetadata<'a>>>,
}

impl<'a> Dictionaries<'a> {
    fn new(column: &'a dyn Array) -> Self {
        Self {
            column,
            decoded: vec![None; column.len()],
        }
    }

    /// Whether row `row`'s dictionary names `field`.
    fn names(&mut self, row: usize, field: &str) -> Result<bool, ShreddedVariantError> {
        if self.decoded[row].is_none() {
            let column = self.column;
            let bytes: &'a [u8] = match column.data_type() {
                DataType::Binary => column.as_binary::<i32>().value(row),
                DataType::LargeBinary => column.as_binary::<i64>().value(row),
                DataType::BinaryView => column.as_binary_view().value(row),
                found => {
                    return Err(ShreddedVariantError::NotBinary {
                        field: "metadata".to_owned(),
                        found: found.clone(),
                    });
                }
            };
            let metadata = VariantMetadata::try_new(bytes)
                .map_err(|source| ShreddedVariantError::InvalidMetadata { row, source })?;
            self.decoded[row] = Some(metadata);
        }
        // Decoded with full validation above, so looking a name up cannot fail.
        Ok(self.decoded[row]
            .as_ref()
            .is_some_and(|metadata| metadata.get_entry(field).is_some()))
    }
}

/// Checks one `value` + `typed_value` group and everything shredded below it: `value`
/// columns are binary, and every object field present where its object is present is named
/// by the metadata of the row it belongs to. `reach[i]` is the top-level row of element `i`
/// of `group`, or `None` where an ancestor is null or missing (nothing below it is read).
fn check_shredded(
    group: &StructArray,
    reach: &[Option<usize>],
    path: &str,
    dictionaries: &mut Dictionaries<'_>,
) -> Result<(), ShreddedVariantError> {
    if let Some(value) = group.column_by_name("value") {
        require_binary(value, &join(path, "value"))?;
    }
    let Some(typed) = group.column_by_name("typed_value") else {
        return Ok(());
    };
    let typed_path = join(path, "typed_value");
    // Elements below `typed_value` are read only where it is non-null.
    let typed_reach: Vec<Option<usize>> = reach
        .iter()
        .enumerate()
        .map(|(i, row)| row.filter(|_| typed.is_valid(i)))
        .collect();
    match typed.data_type() {
        DataType::Struct(fields) => {
            check_object(typed.as_struct(), fields, &typed_reach, path, dictionaries)
        }
        DataType::List(_) => {
            let list = typed.as_list::<i32>();
            let offsets = list.value_offsets().iter().map(|o| o.as_usize());
            check_elements(list.values(), offsets, &typed_reach, path, dictionaries)
        }
        DataType::LargeList(_) => {
            let list = typed.as_list::<i64>();
            let offsets = list.value_offsets().iter().map(|o| o.as_usize());
            check_elements(list.values(), offsets, &typed_reach, path, dictionaries)
        }
        DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Map(_, _)
        | DataType::Union(_, _) => Err(ShreddedVariantError::Invalid {
            source: ArrowError::InvalidArgumentError(format!(
                "`{typed_path}` is a {}, which is not a shredded variant type",
                typed.data_type()
            )),
        }),
        _ => Ok(()),
    }
}

/// The fields of a shredded object: each is a group, present in a row when its `value` or
/// `typed_value` is non-null there, and then named by that row's metadata.
fn check_object(
    object: &StructArray,
    fields: &Fields,
    reach: &[Option<usize>],
    path: &str,
    dictionaries: &mut Dictionaries<'_>,
) -> Result<(), ShreddedVariantError> {
    for (field, column) in fields.iter().zip(object.columns()) {
        let field_path = join(path, field.name());
        let Some(field_group) = column.as_struct_opt() else {
            return Err(ShreddedVariantError::Invalid {
                source: ArrowError::InvalidArgumentError(format!(
                    "shredded object field `{field_path}` is a {}, not a group of `value` \
                     and `typed_value`",
                    column.data_type()
                )),
            });
        };
        let present = |i: usize| {
            ["value", "typed_value"].iter().any(|name| {
                field_group
                    .column_by_name(name)
                    .is_some_and(|c| c.is_valid(i))
            })
        };
        for (i, row) in reach.iter().enumerate() {
            if let Some(row) = *row
                && present(i)
                && !dictionaries.names(row, field.name())?
            {
                return Err(ShreddedVariantError::FieldNotInMetadata {
                    row,
                    field: field_path,
                });
            }
        }
        check_shredded(field_group, reach, &field_path, dictionaries)?;
    }
    Ok(())
}

/// The elements of a shredded array: each a `value` + `typed_value` group, belonging to the
/// row of the list that holds it.
fn check_elements(
    elements: &ArrayRef,
    offsets: impl Iterator<Item = usize>,
    reach: &[Option<usize>],
    path: &str,
    dictionaries: &mut Dictionaries<'_>,
) -> Result<(), ShreddedVariantError> {
    let element_path = format!("{path}[]");
    let Some(element_group) = elements.as_struct_opt() else {
        return Err(ShreddedVariantError::Invalid {
            source: ArrowError::InvalidArgumentError(format!(
                "shredded array `{element_path}` holds {}, not groups of `value` and \
                 `typed_value`",
                elements.data_type()
            )),
        });
    };
    let mut element_reach = vec![None; element_group.len()];
    let offsets: Vec<usize> = offsets.collect();
    for (i, row) in reach.iter().enumerate() {
        let (Some(row), Some(&start), Some(&end)) = (row, offsets.get(i), offsets.get(i + 1))
        else {
            continue;
        };
        for slot in element_reach.iter_mut().take(end).skip(start) {
            *slot = Some(*row);
        }
    }
    check_shredded(element_group, &element_reach, &element_path, dictionaries)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}
