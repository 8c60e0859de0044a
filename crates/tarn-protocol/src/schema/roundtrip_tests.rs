//! Round trips of whole schemas: every fixture table's schema, and random schemas (proptest)
//! through JSON and through Arrow.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use arrow_schema::{DataType as ArrowDataType, Schema as ArrowSchema};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::arrow_metadata::{decode_value, encode_value};
use super::*;

// ---------------------------------------------------------------------------------------------
// Fixture tables

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tables")
}

/// Every directory under `dir` that holds a `_delta_log`.
fn table_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("_delta_log").is_dir() {
        out.push(dir.to_owned());
        return;
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    entries.sort();
    for entry in entries {
        table_dirs(&entry, out);
    }
}

/// The first `metaData` action with a `schemaString` in the table's JSON commits, oldest
/// first (`delta-live-table` starts with a `metaData` that has none).
fn first_metadata(table: &Path) -> Option<Value> {
    let mut commits: Vec<_> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    commits.sort();
    for commit in commits {
        let text = std::fs::read_to_string(&commit).unwrap();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let action: Value = serde_json::from_str(line).unwrap();
            if let Some(metadata) = action
                .get("metaData")
                .filter(|m| m.get("schemaString").is_some())
            {
                return Some(metadata.clone());
            }
        }
    }
    None
}

fn fixture_schemas() -> Vec<(String, StructType, Value, BTreeMap<String, String>)> {
    let mut tables = Vec::new();
    table_dirs(&fixtures_root(), &mut tables);
    assert!(
        tables.len() >= 40,
        "found only {} fixture tables",
        tables.len()
    );
    let mut out = Vec::new();
    for table in tables {
        let Some(metadata) = first_metadata(&table) else {
            // Tables whose only metaData is in a checkpoint (Parquet) are not read here.
            continue;
        };
        let name = table.file_name().unwrap().to_string_lossy().into_owned();
        let schema_string = metadata["schemaString"].as_str().unwrap();
        let schema =
            StructType::from_json(schema_string).unwrap_or_else(|err| panic!("{name}: {err}"));
        let configuration: BTreeMap<String, String> = metadata
            .get("configuration")
            .and_then(Value::as_object)
            .map(|config| {
                config
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            name,
            schema,
            serde_json::from_str(schema_string).unwrap(),
            configuration,
        ));
    }
    out
}

#[test]
fn every_fixture_schema_round_trips() {
    let schemas = fixture_schemas();
    assert!(
        schemas.len() >= 40,
        "only {} fixture schemas",
        schemas.len()
    );
    for (name, schema, original, configuration) in &schemas {
        let written: Value = serde_json::from_str(&schema.to_json()).unwrap();
        assert_eq!(&written, original, "{name}: JSON round trip");

        let arrow = ArrowSchema::try_from(schema).unwrap_or_else(|err| panic!("{name}: {err}"));
        let back = StructType::try_from(&arrow).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(&back, schema, "{name}: Arrow round trip");

        let mode = ColumnMappingMode::from_configuration(configuration).unwrap();
        schema
            .validate_column_mapping(mode)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let physical = schema.to_physical(mode);
        let physical_arrow = ArrowSchema::try_from(&physical).unwrap();
        assert_eq!(
            StructType::try_from(&physical_arrow).unwrap(),
            physical,
            "{name}: physical"
        );
    }
}

#[test]
fn fixture_details() {
    let schemas = fixture_schemas();
    let find = |wanted: &str| {
        schemas
            .iter()
            .find(|(name, ..)| name == wanted)
            .unwrap_or_else(|| panic!("fixture {wanted} missing"))
    };

    let (_, identity, ..) = find("checkpoint-v2-table");
    let id = identity.field("id").unwrap();
    assert_eq!(id.metadata["delta.identity.step"], json!(1));
    assert_eq!(id.metadata["delta.identity.start"], json!(1));
    assert_eq!(
        id.metadata["delta.identity.allowExplicitInsert"],
        json!(false)
    );
    assert_eq!(
        identity.field("created_at").unwrap().data_type,
        DataType::TIMESTAMP
    );

    let (_, mapped, _, configuration) = find("table_with_column_mapping");
    let mode = ColumnMappingMode::from_configuration(configuration).unwrap();
    assert_eq!(mode, ColumnMappingMode::Name);
    let company = mapped.field("Company Very Short").unwrap();
    assert_eq!(company.column_mapping_id(), Some(1));
    assert_eq!(
        company.physical_name(mode),
        "col-173b4db9-b5ad-427f-9e75-516aae37fbbb"
    );
    let physical = ArrowSchema::try_from(&mapped.to_physical(mode)).unwrap();
    let field = physical
        .field_with_name("col-173b4db9-b5ad-427f-9e75-516aae37fbbb")
        .unwrap();
    assert_eq!(field.metadata()[PARQUET_FIELD_ID_KEY], "1");

    let (_, variants, ..) = find("spark-variant-checkpoint");
    assert_eq!(variants.field("v").unwrap().data_type, DataType::Variant);
    assert_eq!(
        variants
            .field_path(&["array_of_struct_of_variants", "element", "v"])
            .unwrap()
            .data_type,
        DataType::Variant
    );
    let arrow = ArrowSchema::try_from(variants).unwrap();
    assert_eq!(
        arrow.field_with_name("v").unwrap().data_type(),
        &variant_arrow_type()
    );

    let decimals = schemas
        .iter()
        .flat_map(|(_, schema, ..)| schema.fields.iter())
        .filter(|field| {
            matches!(
                field.data_type,
                DataType::Primitive(PrimitiveType::Decimal(_))
            )
        })
        .count();
    assert!(decimals > 0, "no fixture decimal column");
    let (_, types, ..) = find("delta-2.2.0-partitioned-types");
    assert!(
        types
            .fields
            .iter()
            .any(|f| ArrowDataType::try_from(&f.data_type).is_ok())
    );
}

// ---------------------------------------------------------------------------------------------
// Random schemas

fn primitive() -> impl Strategy<Value = PrimitiveType> {
    prop_oneof![
        Just(PrimitiveType::String),
        Just(PrimitiveType::Long),
        Just(PrimitiveType::Integer),
        Just(PrimitiveType::Short),
        Just(PrimitiveType::Byte),
        Just(PrimitiveType::Float),
        Just(PrimitiveType::Double),
        Just(PrimitiveType::Boolean),
        Just(PrimitiveType::Binary),
        Just(PrimitiveType::Date),
        Just(PrimitiveType::Timestamp),
        Just(PrimitiveType::TimestampNtz),
        (1u8..=38)
            .prop_flat_map(|precision| (Just(precision), 0..=precision))
            .prop_map(|(precision, scale)| PrimitiveType::Decimal(DecimalType {
                precision,
                scale
            })),
    ]
}

fn metadata_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarter steps print and parse back exactly.
        (-4000i32..4000).prop_map(|k| Value::from(f64::from(k) / 4.0)),
        // Strings that look like other JSON values.
        prop_oneof![
            Just("1"),
            Just("true"),
            Just("null"),
            Just("{}"),
            Just("\"q\""),
            Just(" 3 "),
            Just("[1,2]"),
            Just("")
        ]
        .prop_map(Value::from),
        "[a-zA-Z0-9 .:{}\\[\\]\"\\\\é,-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z.]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn metadata() -> impl Strategy<Value = BTreeMap<String, Value>> {
    let key = prop_oneof![
        "[a-zA-Z._ -]{1,12}".boxed(),
        Just("comment".to_owned()).boxed(),
        Just("delta.identity.start".to_owned()).boxed(),
        Just(COLUMN_MAPPING_PHYSICAL_NAME_KEY.to_owned()).boxed(),
        Just(COLUMN_MAPPING_NESTED_IDS_KEY.to_owned()).boxed(),
    ];
    let id = prop_oneof![
        1 => Just(None),
        2 => (1i64..100_000).prop_map(|id| Some(Value::from(id))),
        1 => metadata_value().prop_map(Some),
    ];
    (prop::collection::btree_map(key, metadata_value(), 0..4), id).prop_map(|(mut map, id)| {
        if let Some(id) = id {
            map.insert(COLUMN_MAPPING_ID_KEY.to_owned(), id);
        }
        map
    })
}

fn field_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_ .é\"\\\\-][a-zA-Z0-9_ .é\"-]{0,8}"
}

/// Keeps the first of fields whose names, or physical names, are equal ignoring case.
fn unique(mut fields: Vec<StructField>) -> Vec<StructField> {
    let mut names = HashSet::new();
    let mut physical_names = HashSet::new();
    fields.retain(|field| {
        let name = field.name.to_lowercase();
        let physical = field.physical_name(ColumnMappingMode::Name).to_lowercase();
        if names.contains(&name) || physical_names.contains(&physical) {
            return false;
        }
        names.insert(name);
        physical_names.insert(physical);
        true
    });
    fields
}

fn field(data_type: impl Strategy<Value = DataType>) -> impl Strategy<Value = StructField> {
    (field_name(), data_type, any::<bool>(), metadata()).prop_map(
        |(name, data_type, nullable, metadata)| StructField {
            name,
            data_type,
            nullable,
            metadata,
        },
    )
}

fn data_type() -> impl Strategy<Value = DataType> {
    let leaf = prop_oneof![
        8 => primitive().prop_map(DataType::Primitive),
        1 => Just(DataType::Variant),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>())
                .prop_map(|(element, nulls)| DataType::array(element, nulls)),
            (inner.clone(), inner.clone(), any::<bool>())
                .prop_map(|(key, value, nulls)| DataType::map(key, value, nulls)),
            prop::collection::vec(field(inner), 0..4)
                .prop_map(|fields| DataType::struct_of(unique(fields))),
        ]
    })
}

fn schema() -> impl Strategy<Value = StructType> {
    prop::collection::vec(field(data_type()), 0..6)
        .prop_map(|fields| StructType::new(unique(fields)))
}

proptest! {
    #[test]
    fn json_round_trip(schema in schema()) {
        let text = schema.to_json();
        prop_assert_eq!(&StructType::from_json(&text).unwrap(), &schema);
        // The hand-written JSON and the serde impls agree byte for byte.
        prop_assert_eq!(&serde_json::to_string(&schema).unwrap(), &text);
        prop_assert_eq!(&serde_json::from_str::<StructType>(&text).unwrap(), &schema);
    }

    #[test]
    fn arrow_round_trip(schema in schema()) {
        let arrow = ArrowSchema::try_from(&schema).unwrap();
        prop_assert_eq!(&StructType::try_from(&arrow).unwrap(), &schema);
        for (field, arrow_field) in schema.fields.iter().zip(arrow.fields()) {
            let expected = field.column_mapping_id().map(|id| id.to_string());
            prop_assert_eq!(arrow_field.metadata().get(PARQUET_FIELD_ID_KEY), expected.as_ref());
        }
    }

    #[test]
    fn physical_schema_round_trips(schema in schema()) {
        for mode in [ColumnMappingMode::None, ColumnMappingMode::Id, ColumnMappingMode::Name] {
            let physical = schema.to_physical(mode);
            let arrow = ArrowSchema::try_from(&physical).unwrap();
            prop_assert_eq!(&StructType::try_from(&arrow).unwrap(), &physical);
            for (logical, physical) in schema.fields.iter().zip(&physical.fields) {
                prop_assert_eq!(logical.physical_name(mode), physical.name.as_str());
            }
        }
    }

    #[test]
    fn metadata_values_round_trip(value in metadata_value()) {
        prop_assert_eq!(decode_value(&encode_value(&value)), value);
    }
}
