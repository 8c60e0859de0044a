//! Reassembly of hand-built shredded variant columns (Parquet `VariantShredding.md`): every
//! shape of `typed_value`, the null rules at each level, the values the spec forbids, and
//! malformed layouts, which must be errors naming what is wrong and never panics.
//!
//! Expected values are encoded with the same metadata dictionary as the input, so the
//! reassembled bytes are compared exactly: objects keep their fields in name order and each
//! shredded value comes back in the Variant type its Parquet type stands for.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Int32Array,
    Int64Array, ListArray, MapArray, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};
use chrono::{NaiveDate, TimeZone, Utc};
use parquet_variant::{Variant, VariantBuilder, VariantDecimal4};
use tarn_protocol::schema::{
    ColumnMappingMode, DataType as DeltaType, StructField, StructType, variant_arrow_type,
};

use super::convert::{ConvertError, conform};
use super::variant::{ShreddedVariantError, is_shredded, unshred};

/// The field names every test value may use: one shared dictionary.
const NAMES: [&str; 5] = ["a", "b", "c", "name", "tags"];

/// Encodes one value against the shared dictionary.
fn encode(build: impl FnOnce(&mut VariantBuilder)) -> (Vec<u8>, Vec<u8>) {
    let mut builder = VariantBuilder::new().with_field_names(NAMES);
    build(&mut builder);
    builder.finish()
}

fn metadata() -> Vec<u8> {
    encode(|b| b.append_value(Variant::Null)).0
}

fn value<'m, 'd>(v: impl Into<Variant<'m, 'd>>) -> Vec<u8> {
    encode(|b| b.append_value(v)).1
}

fn binary(values: Vec<Option<Vec<u8>>>) -> ArrayRef {
    Arc::new(BinaryArray::from(
        values.iter().map(|v| v.as_deref()).collect::<Vec<_>>(),
    ))
}

fn metadata_column(rows: usize) -> ArrayRef {
    binary(vec![Some(metadata()); rows])
}

/// A struct of the named children, every field nullable.
fn group(children: Vec<(&str, ArrayRef)>, nulls: Option<Vec<bool>>) -> StructArray {
    let fields: Fields = children
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let arrays = children.into_iter().map(|(_, a)| a).collect();
    StructArray::new(fields, arrays, nulls.map(NullBuffer::from))
}

fn list(offsets: Vec<i32>, elements: StructArray, nulls: Option<Vec<bool>>) -> ArrayRef {
    let field = Arc::new(Field::new("element", elements.data_type().clone(), false));
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::new(offsets.into()),
        Arc::new(elements),
        nulls.map(NullBuffer::from),
    ))
}

/// The reassembled rows: `None` for a SQL NULL, else (metadata, value).
fn rows(array: &ArrayRef) -> Vec<Option<(Vec<u8>, Vec<u8>)>> {
    assert_eq!(array.data_type(), &variant_arrow_type());
    let group = array.as_struct();
    let metadata = group.column(0).as_binary::<i32>();
    let value = group.column(1).as_binary::<i32>();
    (0..group.len())
        .map(|row| {
            group.is_valid(row).then(|| {
                assert!(metadata.is_valid(row) && value.is_valid(row), "row {row}");
                (metadata.value(row).to_vec(), value.value(row).to_vec())
            })
        })
        .collect()
}

/// Asserts the reassembled values, byte for byte, with a logical comparison first for a
/// readable failure.
fn assert_values(array: &ArrayRef, expected: Vec<Option<Vec<u8>>>) {
    let actual = rows(array);
    assert_eq!(actual.len(), expected.len());
    let metadata = metadata();
    for (row, (actual, expected)) in actual.iter().zip(&expected).enumerate() {
        match (actual, expected) {
            (None, None) => {}
            (Some((m, v)), Some(e)) => {
                assert_eq!(m, &metadata, "row {row}: metadata");
                let got = Variant::try_new(m, v).unwrap();
                let want = Variant::try_new(&metadata, e).unwrap();
                assert_eq!(got, want, "row {row}");
                assert_eq!(v, e, "row {row}: encoding");
            }
            _ => panic!("row {row}: {actual:?} vs expected {expected:?}"),
        }
    }
}

fn unshredded(group: StructArray) -> ArrayRef {
    assert!(is_shredded(group.data_type()));
    unshred(&group).unwrap()
}

fn error(group: StructArray) -> ShreddedVariantError {
    match unshred(&group) {
        Err(err) => err,
        Ok(array) => panic!("expected an error, got {:?}", rows(&array)),
    }
}

#[test]
fn primitive_typed_value_and_the_null_rules() {
    // VariantShredding.md's `measurement` series, plus a SQL NULL row and a missing value.
    let variant = group(
        vec![
            ("metadata", metadata_column(6)),
            (
                "value",
                binary(vec![
                    None,
                    Some(value(Variant::Null)),
                    Some(value("n/a")),
                    None,
                    None,
                    None,
                ]),
            ),
            (
                "typed_value",
                Arc::new(Int64Array::from(vec![
                    Some(34),
                    None,
                    None,
                    Some(100),
                    None,
                    None,
                ])),
            ),
        ],
        Some(vec![true, true, true, true, false, true]),
    );
    let out = unshredded(variant);
    assert_values(
        &out,
        vec![
            Some(value(34i64)),
            Some(value(Variant::Null)),
            Some(value("n/a")),
            Some(value(100i64)),
            // A null group is a SQL NULL ...
            None,
            // ... while a present row with neither column is a missing variant: Variant null.
            Some(value(Variant::Null)),
        ],
    );
}

#[test]
fn typed_value_without_a_value_column() {
    let variant = group(
        vec![
            ("metadata", metadata_column(3)),
            (
                "typed_value",
                Arc::new(StringArray::from(vec![Some("x"), None, Some("y")])),
            ),
        ],
        None,
    );
    let out = unshredded(variant);
    assert_values(
        &out,
        vec![
            Some(value("x")),
            Some(value(Variant::Null)),
            Some(value("y")),
        ],
    );
}

#[test]
fn every_primitive_kind_comes_back_as_its_variant_type() {
    let cases: Vec<(ArrayRef, Vec<u8>)> = vec![
        (Arc::new(BooleanArray::from(vec![true])), value(true)),
        (Arc::new(Int32Array::from(vec![-7])), value(-7i32)),
        (
            Arc::new(
                Decimal128Array::from(vec![12345])
                    .with_precision_and_scale(9, 2)
                    .unwrap(),
            ),
            value(VariantDecimal4::try_new(12345, 2).unwrap()),
        ),
        (
            Arc::new(Date32Array::from(vec![19_000])),
            value(NaiveDate::from_ymd_opt(2022, 1, 8).unwrap()),
        ),
        (
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_729_794_114_937_000]).with_timezone("UTC"),
            ),
            value(Utc.timestamp_micros(1_729_794_114_937_000).unwrap()),
        ),
        (
            Arc::new(TimestampMicrosecondArray::from(vec![1_000_000])),
            value(Utc.timestamp_micros(1_000_000).unwrap().naive_utc()),
        ),
        (
            Arc::new(BinaryArray::from(vec![&b"\x00\xff"[..]])),
            value(&b"\x00\xff"[..]),
        ),
    ];
    for (typed, expected) in cases {
        let kind = typed.data_type().clone();
        let variant = group(
            vec![
                ("metadata", metadata_column(1)),
                ("value", binary(vec![None])),
                ("typed_value", typed),
            ],
            None,
        );
        let out = unshred(&variant).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_values(&out, vec![Some(expected)]);
    }
}

/// A shredded field `{value, typed_value}`.
fn field(value_column: ArrayRef, typed: ArrayRef) -> ArrayRef {
    Arc::new(group(
        vec![("value", value_column), ("typed_value", typed)],
        None,
    ))
}

#[test]
fn object_with_some_fields_shredded_and_others_in_value() {
    // Fields `a` (int) and `b` (string) are shredded; anything else stays in `value`.
    let a = field(
        binary(vec![
            None,
            None,
            None,
            Some(value(Variant::Null)),
            Some(value("not an int")),
            None,
            None,
        ]),
        Arc::new(Int32Array::from(vec![
            Some(1),
            Some(2),
            Some(3),
            None,
            None,
            None,
            None,
        ])),
    );
    let b = field(
        binary(vec![None; 7]),
        Arc::new(StringArray::from(vec![
            Some("x"),
            Some("y"),
            None,
            Some("z"),
            Some("w"),
            None,
            None,
        ])),
    );
    let typed = group(
        vec![("a", a), ("b", b)],
        Some(vec![true, true, true, true, true, false, true]),
    );
    let rest = encode(|builder| {
        builder.new_object().with_field("c", true).finish();
    })
    .1;
    let variant = group(
        vec![
            ("metadata", metadata_column(7)),
            (
                "value",
                binary(vec![
                    None,
                    Some(rest),
                    None,
                    None,
                    None,
                    Some(value(5i8)),
                    None,
                ]),
            ),
            ("typed_value", Arc::new(typed)),
        ],
        None,
    );
    let object = |fields: Vec<(&str, Variant<'_, '_>)>| {
        encode(|builder| {
            let mut object = builder.new_object();
            for (name, v) in fields {
                object = object.with_field(name, v);
            }
            object.finish();
        })
        .1
    };
    let out = unshredded(variant);
    assert_values(
        &out,
        vec![
            // Fully shredded.
            Some(object(vec![("a", 1i32.into()), ("b", "x".into())])),
            // Partially shredded: `c` comes from `value`.
            Some(object(vec![
                ("a", 2i32.into()),
                ("b", "y".into()),
                ("c", true.into()),
            ])),
            // `b` is missing (both of its columns null): no field.
            Some(object(vec![("a", 3i32.into())])),
            // `a` is present and null.
            Some(object(vec![("a", Variant::Null), ("b", "z".into())])),
            // `a` is present but not an int: it is in the field's `value`.
            Some(object(vec![("a", "not an int".into()), ("b", "w".into())])),
            // Not an object at all.
            Some(value(5i8)),
            // An object whose shredded fields are all missing: empty.
            Some(object(vec![])),
        ],
    );
}

/// Elements `{value, typed_value: string}` of a shredded array.
fn string_elements(values: Vec<Option<Vec<u8>>>, typed: Vec<Option<&str>>) -> StructArray {
    group(
        vec![
            ("value", binary(values)),
            ("typed_value", Arc::new(StringArray::from(typed))),
        ],
        None,
    )
}

#[test]
fn shredded_arrays_and_their_elements() {
    let elements = string_elements(
        vec![
            None,
            None,
            None,
            Some(value(Variant::Null)),
            Some(value(5i8)),
            None,
        ],
        vec![
            Some("comedy"),
            Some("drama"),
            Some("horror"),
            None,
            None,
            None,
        ],
    );
    // Rows: [comedy, drama], [horror, null], [5, <missing>], a null array, not an array, [].
    let typed = list(
        vec![0, 2, 4, 6, 6, 6, 6],
        elements,
        Some(vec![true, true, true, false, false, true]),
    );
    let variant = group(
        vec![
            ("metadata", metadata_column(6)),
            (
                "value",
                binary(vec![
                    None,
                    None,
                    None,
                    Some(value(Variant::Null)),
                    Some(value("solo")),
                    None,
                ]),
            ),
            ("typed_value", typed),
        ],
        None,
    );
    let array = |items: Vec<Variant<'_, '_>>| {
        encode(|builder| {
            let mut list = builder.new_list();
            for item in items {
                list = list.with_value(item);
            }
            list.finish();
        })
        .1
    };
    let out = unshredded(variant);
    assert_values(
        &out,
        vec![
            Some(array(vec!["comedy".into(), "drama".into()])),
            Some(array(vec!["horror".into(), Variant::Null])),
            // An element cannot be missing from an array: a missing one reads as null.
            Some(array(vec![5i8.into(), Variant::Null])),
            Some(value(Variant::Null)),
            Some(value("solo")),
            Some(array(vec![])),
        ],
    );
}

#[test]
fn objects_in_arrays_in_objects() {
    // {tags: [{name: <string>}, ...]}, shredded all the way down.
    let name = field(
        binary(vec![None, None, None]),
        Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])),
    );
    let element_objects = group(vec![("name", name)], None);
    let elements = group(
        vec![
            ("value", binary(vec![None, None, None])),
            ("typed_value", Arc::new(element_objects)),
        ],
        None,
    );
    let tags = field(
        binary(vec![None, None]),
        list(vec![0, 2, 3], elements, None),
    );
    let typed = group(vec![("tags", tags)], None);
    let variant = group(
        vec![
            ("metadata", metadata_column(2)),
            ("value", binary(vec![None, None])),
            ("typed_value", Arc::new(typed)),
        ],
        None,
    );
    let expected = |names: Vec<Option<&str>>| {
        encode(|builder| {
            let mut object = builder.new_object();
            let mut list = object.new_list("tags");
            for name in names {
                let mut element = list.new_object();
                if let Some(name) = name {
                    element = element.with_field("name", name);
                }
                element.finish();
            }
            list.finish();
            object.finish();
        })
        .1
    };
    let out = unshredded(variant);
    assert_values(
        &out,
        vec![
            Some(expected(vec![Some("x"), None])),
            Some(expected(vec![Some("z")])),
        ],
    );
}

#[test]
fn a_value_beside_a_non_object_typed_value_is_an_error() {
    // The spec forbids both columns set unless the value is an object; which one wins would
    // be a guess, so the read fails.
    let variant = group(
        vec![
            ("metadata", metadata_column(1)),
            ("value", binary(vec![Some(value("also here"))])),
            ("typed_value", Arc::new(Int64Array::from(vec![Some(1)]))),
        ],
        None,
    );
    assert!(matches!(
        error(variant),
        ShreddedVariantError::Invalid { .. }
    ));
}

#[test]
fn a_partially_shredded_object_must_not_repeat_a_shredded_field_or_be_a_non_object() {
    let typed = || {
        Arc::new(group(
            vec![(
                "a",
                field(
                    binary(vec![None]),
                    Arc::new(Int32Array::from(vec![Some(1)])),
                ),
            )],
            None,
        )) as ArrayRef
    };
    let repeated = encode(|builder| {
        builder.new_object().with_field("a", 2i32).finish();
    })
    .1;
    for conflicting in [repeated, value("a string")] {
        let variant = group(
            vec![
                ("metadata", metadata_column(1)),
                ("value", binary(vec![Some(conflicting)])),
                ("typed_value", typed()),
            ],
            None,
        );
        assert!(matches!(
            error(variant),
            ShreddedVariantError::Invalid { .. }
        ));
    }
}

#[test]
fn malformed_layouts_are_errors_naming_what_is_wrong() {
    let no_metadata = group(
        vec![
            ("value", binary(vec![None])),
            ("typed_value", Arc::new(Int64Array::from(vec![1]))),
        ],
        None,
    );
    assert!(matches!(
        error(no_metadata),
        ShreddedVariantError::MissingMetadata
    ));

    let int_value = group(
        vec![
            ("metadata", metadata_column(1)),
            ("value", Arc::new(Int32Array::from(vec![1]))),
            ("typed_value", Arc::new(Int64Array::from(vec![1]))),
        ],
        None,
    );
    match error(int_value) {
        ShreddedVariantError::NotBinary { field, found } => {
            assert_eq!(field, "value");
            assert_eq!(found, DataType::Int32);
        }
        other => panic!("unexpected {other}"),
    }

    // An object field that is not a `{value, typed_value}` group.
    let bare_field = group(
        vec![
            ("metadata", metadata_column(1)),
            (
                "typed_value",
                Arc::new(group(
                    vec![("a", Arc::new(Int32Array::from(vec![1])) as ArrayRef)],
                    None,
                )),
            ),
        ],
        None,
    );
    let err = error(bare_field);
    assert!(err.to_string().contains("`a`"), "{err}");

    // Array elements that are not groups.
    let bare_elements = group(
        vec![
            ("metadata", metadata_column(1)),
            (
                "typed_value",
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                    Some(vec![Some(1)]),
                ])),
            ),
        ],
        None,
    );
    let err = error(bare_elements);
    assert!(err.to_string().contains("[]"), "{err}");

    // A map is no shredded type.
    let map =
        MapArray::new_from_strings(["k"].into_iter(), &Int32Array::from(vec![1]), &[0, 1]).unwrap();
    let map_typed = group(
        vec![
            ("metadata", metadata_column(1)),
            ("typed_value", Arc::new(map)),
        ],
        None,
    );
    assert!(matches!(
        error(map_typed),
        ShreddedVariantError::Invalid { .. }
    ));

    // A present row without metadata, and metadata that is not a dictionary.
    let null_metadata = group(
        vec![
            ("metadata", binary(vec![Some(metadata()), None])),
            ("typed_value", Arc::new(Int64Array::from(vec![1, 2]))),
        ],
        None,
    );
    assert!(matches!(
        error(null_metadata),
        ShreddedVariantError::NullMetadata { row: 1 }
    ));
    let garbage = group(
        vec![
            ("metadata", binary(vec![Some(vec![0xff, 0x07])])),
            ("typed_value", Arc::new(Int64Array::from(vec![1]))),
        ],
        None,
    );
    assert!(matches!(
        error(garbage),
        ShreddedVariantError::Invalid { .. } | ShreddedVariantError::InvalidMetadata { .. }
    ));
}

#[test]
fn a_shredded_field_missing_from_the_metadata_is_an_error_not_a_panic() {
    // `zz` is not in the dictionary: the encoding requires every field name to be.
    let typed = group(
        vec![(
            "zz",
            field(
                binary(vec![None, None]),
                Arc::new(Int32Array::from(vec![None, Some(1)])),
            ),
        )],
        None,
    );
    let variant = group(
        vec![
            ("metadata", metadata_column(2)),
            ("value", binary(vec![None, None])),
            ("typed_value", Arc::new(typed)),
        ],
        None,
    );
    match error(variant) {
        // Row 0 lacks the field, so only row 1 needs the name.
        ShreddedVariantError::FieldNotInMetadata { row, field } => {
            assert_eq!((row, field.as_str()), (1, "zz"));
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn conform_reassembles_variants_nested_in_arrays_of_structs_and_names_the_column() {
    let shredded = |typed: ArrayRef| {
        group(
            vec![
                ("metadata", metadata_column(2)),
                ("value", binary(vec![None, None])),
                ("typed_value", typed),
            ],
            None,
        )
    };
    let table_field = StructField::new(
        "arr",
        DeltaType::array(
            DeltaType::Struct(Box::new(StructType::new([StructField::new(
                "v",
                DeltaType::Variant,
                true,
            )]))),
            true,
        ),
        true,
    );
    let file_column = |variant: StructArray| -> ArrayRef {
        let element = group(vec![("v", Arc::new(variant) as ArrayRef)], None);
        list(vec![0, 2], element, None)
    };

    let good = file_column(shredded(Arc::new(Int64Array::from(vec![Some(7), None]))));
    let out = conform(&good, &table_field, ColumnMappingMode::None, "arr").unwrap();
    let variants = out.as_list::<i32>().values().as_struct().column(0).clone();
    assert_values(
        &variants,
        vec![Some(value(7i64)), Some(value(Variant::Null))],
    );

    let bad = file_column(shredded(Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef));
    let bad = {
        // Break it: a `value` stored as integers.
        let list = bad.as_list::<i32>();
        let element = list.values().as_struct();
        let variant = element.column(0).as_struct();
        let broken = group(
            vec![
                ("metadata", variant.column(0).clone()),
                ("value", Arc::new(Int32Array::from(vec![0, 0])) as ArrayRef),
                ("typed_value", variant.column(2).clone()),
            ],
            None,
        );
        file_column(broken)
    };
    match conform(&bad, &table_field, ColumnMappingMode::None, "arr") {
        Err(ConvertError::ShreddedVariant { column, source }) => {
            assert_eq!(column, "arr.element.v");
            assert!(matches!(source, ShreddedVariantError::NotBinary { .. }));
        }
        other => panic!("unexpected {other:?}"),
    }
}
