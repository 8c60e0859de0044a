//! Column mapping (PROTOCOL.md, "Column Mapping"): logical names versus physical names and
//! field ids.
//!
//! This module decides which name a column has in data files, and what the physical schema
//! (the one data files are read and written with) looks like for a mode. It reads only the
//! `delta.columnMapping.mode` property; whether the table's protocol enables the
//! `columnMapping` feature at all is for the caller to check (the protocol says the property
//! is honoured only then). It must never invent physical names or ids: a field without them is
//! left under its logical name, and [`StructType::validate_column_mapping`] reports it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::types::{ArrayType, DataType, MapType, StructField, StructType, child_path};
use crate::error::ProtocolError;

/// The table property holding the column mapping mode.
pub const COLUMN_MAPPING_MODE_KEY: &str = "delta.columnMapping.mode";
/// The field metadata key holding a column's id (a 32-bit integer).
pub const COLUMN_MAPPING_ID_KEY: &str = "delta.columnMapping.id";
/// The field metadata key holding a column's physical name.
pub const COLUMN_MAPPING_PHYSICAL_NAME_KEY: &str = "delta.columnMapping.physicalName";
/// The field metadata key holding ids of array elements and map keys and values
/// (PROTOCOL.md, "Writer Requirements for IcebergCompatV2").
pub const COLUMN_MAPPING_NESTED_IDS_KEY: &str = "delta.columnMapping.nested.ids";

/// How columns in data files are matched to columns of the table schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ColumnMappingMode {
    /// By the logical (display) name; the default.
    #[default]
    None,
    /// By the Parquet field id, given by `delta.columnMapping.id`.
    Id,
    /// By the physical name, given by `delta.columnMapping.physicalName`.
    Name,
}

impl ColumnMappingMode {
    /// The mode named by `delta.columnMapping.mode` in a table's configuration; `None` when
    /// the property is absent. Values are matched ignoring ASCII case, as Spark does.
    pub fn from_configuration(
        configuration: &BTreeMap<String, String>,
    ) -> Result<ColumnMappingMode, ProtocolError> {
        configuration
            .get(COLUMN_MAPPING_MODE_KEY)
            .map_or(Ok(ColumnMappingMode::None), |value| value.parse())
    }

    /// The property value for this mode: `none`, `id` or `name`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnMappingMode::None => "none",
            ColumnMappingMode::Id => "id",
            ColumnMappingMode::Name => "name",
        }
    }
}

impl FromStr for ColumnMappingMode {
    type Err = ProtocolError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Ok(ColumnMappingMode::None),
            "id" => Ok(ColumnMappingMode::Id),
            "name" => Ok(ColumnMappingMode::Name),
            _ => Err(ProtocolError::InvalidTableProperty {
                property: COLUMN_MAPPING_MODE_KEY.to_owned(),
                value: value.to_owned(),
                reason: "expected `none`, `id` or `name`".to_owned(),
            }),
        }
    }
}

impl fmt::Display for ColumnMappingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StructField {
    /// The name of this column in data files: the logical name in `None` mode, otherwise the
    /// `delta.columnMapping.physicalName` metadata (the logical name if that is missing or not
    /// a string).
    pub fn physical_name(&self, mode: ColumnMappingMode) -> &str {
        match (mode, self.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME_KEY)) {
            (ColumnMappingMode::Id | ColumnMappingMode::Name, Some(Value::String(physical))) => {
                physical
            }
            _ => &self.name,
        }
    }

    /// The column id in `delta.columnMapping.id`, if present and an integer.
    pub fn column_mapping_id(&self) -> Option<i64> {
        self.metadata
            .get(COLUMN_MAPPING_ID_KEY)
            .and_then(Value::as_i64)
    }

    /// The id stored for an array element, map key or map value under this field, keyed as
    /// `delta.columnMapping.nested.ids` keys them (`<physical name>.element`, ...).
    pub fn nested_id(&self, key: &str) -> Option<i64> {
        self.metadata
            .get(COLUMN_MAPPING_NESTED_IDS_KEY)?
            .get(key)?
            .as_i64()
    }
}

impl StructType {
    /// The physical schema for `mode`: every struct field, however deeply nested in structs,
    /// arrays and maps, renamed to its [`StructField::physical_name`].
    ///
    /// In `Id` and `Name` mode the metadata is kept, so the Arrow conversion emits each
    /// `delta.columnMapping.id` as `PARQUET:field_id` (the protocol has writers store the id
    /// in Parquet in both modes; `Id`-mode readers resolve columns by it). In `None` mode the
    /// names are unchanged and stale `delta.columnMapping.*` keys are dropped, so they can
    /// never turn into field ids.
    pub fn to_physical(&self, mode: ColumnMappingMode) -> StructType {
        StructType {
            fields: self
                .fields
                .iter()
                .map(|field| physical_field(field, mode))
                .collect(),
        }
    }

    /// Checks the column mapping annotations a table in `mode` must have: in `Id` and `Name`
    /// mode every struct field carries an integer `delta.columnMapping.id` that fits 32 bits
    /// and is unique in the schema, and a string `delta.columnMapping.physicalName` unique
    /// among its siblings. `None` mode needs nothing.
    pub fn validate_column_mapping(&self, mode: ColumnMappingMode) -> Result<(), ProtocolError> {
        if mode == ColumnMappingMode::None {
            return Ok(());
        }
        let mut ids = HashMap::new();
        validate_struct(self, "", &mut ids)
            .map_err(|reason| ProtocolError::InvalidSchema { reason })
    }

    /// The largest `delta.columnMapping.id` in the schema, nested fields included.
    pub fn max_column_mapping_id(&self) -> Option<i64> {
        let mut max = None;
        visit_fields(self, &mut |field| {
            max = max.max(field.column_mapping_id());
        });
        max
    }
}

fn physical_field(field: &StructField, mode: ColumnMappingMode) -> StructField {
    let mut metadata = field.metadata.clone();
    if mode == ColumnMappingMode::None {
        metadata.retain(|key, _| !key.starts_with("delta.columnMapping."));
    }
    StructField {
        name: field.physical_name(mode).to_owned(),
        data_type: physical_type(&field.data_type, mode),
        nullable: field.nullable,
        metadata,
    }
}

fn physical_type(data_type: &DataType, mode: ColumnMappingMode) -> DataType {
    match data_type {
        DataType::Primitive(_) | DataType::Variant => data_type.clone(),
        DataType::Array(array) => DataType::Array(Box::new(ArrayType {
            element_type: physical_type(&array.element_type, mode),
            contains_null: array.contains_null,
        })),
        DataType::Map(map) => DataType::Map(Box::new(MapType {
            key_type: physical_type(&map.key_type, mode),
            value_type: physical_type(&map.value_type, mode),
            value_contains_null: map.value_contains_null,
        })),
        DataType::Struct(inner) => DataType::Struct(Box::new(inner.to_physical(mode))),
    }
}

/// Calls `visit` on every struct field, depth first.
fn visit_fields<'a>(struct_type: &'a StructType, visit: &mut impl FnMut(&'a StructField)) {
    for field in &struct_type.fields {
        visit(field);
        visit_type(&field.data_type, visit);
    }
}

fn visit_type<'a>(data_type: &'a DataType, visit: &mut impl FnMut(&'a StructField)) {
    match data_type {
        DataType::Primitive(_) | DataType::Variant => {}
        DataType::Array(array) => visit_type(&array.element_type, visit),
        DataType::Map(map) => {
            visit_type(&map.key_type, visit);
            visit_type(&map.value_type, visit);
        }
        DataType::Struct(inner) => visit_fields(inner, visit),
    }
}

fn validate_struct(
    struct_type: &StructType,
    parent: &str,
    ids: &mut HashMap<i64, String>,
) -> Result<(), String> {
    let mut physical_names = HashSet::new();
    for field in &struct_type.fields {
        let path = child_path(parent, &field.name);
        let id = match field.metadata.get(COLUMN_MAPPING_ID_KEY) {
            Some(value) => value
                .as_i64()
                .filter(|id| i32::try_from(*id).is_ok())
                .ok_or_else(|| {
                    format!("field `{path}`: `{COLUMN_MAPPING_ID_KEY}` must be a 32-bit integer, found {value}")
                })?,
            None => return Err(format!("field `{path}`: no `{COLUMN_MAPPING_ID_KEY}`")),
        };
        if let Some(other) = ids.insert(id, path.clone()) {
            return Err(format!(
                "field `{path}`: column mapping id {id} is also used by `{other}`"
            ));
        }
        match field.metadata.get(COLUMN_MAPPING_PHYSICAL_NAME_KEY) {
            Some(Value::String(physical)) => {
                if !physical_names.insert(physical.as_str()) {
                    return Err(format!(
                        "field `{path}`: physical name `{physical}` is used by a sibling too"
                    ));
                }
            }
            Some(other) => {
                return Err(format!(
                    "field `{path}`: `{COLUMN_MAPPING_PHYSICAL_NAME_KEY}` must be a string, found {other}"
                ));
            }
            None => {
                return Err(format!(
                    "field `{path}`: no `{COLUMN_MAPPING_PHYSICAL_NAME_KEY}`"
                ));
            }
        }
        validate_type(&field.data_type, &path, ids)?;
    }
    Ok(())
}

fn validate_type(
    data_type: &DataType,
    path: &str,
    ids: &mut HashMap<i64, String>,
) -> Result<(), String> {
    match data_type {
        DataType::Primitive(_) | DataType::Variant => Ok(()),
        DataType::Array(array) => {
            validate_type(&array.element_type, &child_path(path, "element"), ids)
        }
        DataType::Map(map) => {
            validate_type(&map.key_type, &child_path(path, "key"), ids)?;
            validate_type(&map.value_type, &child_path(path, "value"), ids)
        }
        DataType::Struct(inner) => validate_struct(inner, path, ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapped(name: &str, data_type: DataType, id: i64, physical: &str) -> StructField {
        StructField::new(name, data_type, true).with_metadata([
            (COLUMN_MAPPING_ID_KEY, json!(id)),
            (COLUMN_MAPPING_PHYSICAL_NAME_KEY, json!(physical)),
        ])
    }

    /// `e: array<struct<d>>`, `m: map<string, struct<k>>`, `s: struct<t>` from the protocol
    /// example, plus a comment.
    fn sample() -> StructType {
        StructType::new([
            mapped(
                "e",
                DataType::array(
                    DataType::struct_of([mapped("d", DataType::INTEGER, 5, "col-d")]),
                    true,
                ),
                4,
                "col-e",
            )
            .with_metadata([("comment", json!("hi"))]),
            mapped(
                "m",
                DataType::map(
                    DataType::STRING,
                    DataType::struct_of([mapped("k", DataType::LONG, 7, "col-k")]),
                    true,
                ),
                6,
                "col-m",
            ),
            mapped(
                "s",
                DataType::struct_of([mapped("t", DataType::DATE, 2, "col-t")]),
                1,
                "col-s",
            ),
        ])
    }

    #[test]
    fn mode_from_configuration() {
        let config =
            |value: &str| BTreeMap::from([(COLUMN_MAPPING_MODE_KEY.to_owned(), value.to_owned())]);
        assert_eq!(
            ColumnMappingMode::from_configuration(&BTreeMap::new()).unwrap(),
            ColumnMappingMode::None
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("none")).unwrap(),
            ColumnMappingMode::None
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("id")).unwrap(),
            ColumnMappingMode::Id
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("name")).unwrap(),
            ColumnMappingMode::Name
        );
        assert_eq!(
            ColumnMappingMode::from_configuration(&config("NAME")).unwrap(),
            ColumnMappingMode::Name
        );
        let err = ColumnMappingMode::from_configuration(&config("names")).unwrap_err();
        assert!(
            matches!(&err, ProtocolError::InvalidTableProperty { property, value, .. }
                if property == COLUMN_MAPPING_MODE_KEY && value == "names"),
            "{err:?}"
        );
        for mode in [
            ColumnMappingMode::None,
            ColumnMappingMode::Id,
            ColumnMappingMode::Name,
        ] {
            assert_eq!(mode.to_string().parse::<ColumnMappingMode>().unwrap(), mode);
        }
    }

    #[test]
    fn physical_names_and_ids() {
        let schema = sample();
        let e = &schema.fields[0];
        assert_eq!(e.physical_name(ColumnMappingMode::None), "e");
        assert_eq!(e.physical_name(ColumnMappingMode::Id), "col-e");
        assert_eq!(e.physical_name(ColumnMappingMode::Name), "col-e");
        assert_eq!(e.column_mapping_id(), Some(4));
        let plain = StructField::new("p", DataType::LONG, true);
        assert_eq!(plain.physical_name(ColumnMappingMode::Name), "p");
        assert_eq!(plain.column_mapping_id(), None);
        let odd = plain.with_metadata([(COLUMN_MAPPING_ID_KEY, json!("4"))]);
        assert_eq!(odd.column_mapping_id(), None);
        assert_eq!(schema.max_column_mapping_id(), Some(7));
        assert_eq!(StructType::default().max_column_mapping_id(), None);
    }

    #[test]
    fn to_physical_renames_recursively() {
        let schema = sample();
        for mode in [ColumnMappingMode::Id, ColumnMappingMode::Name] {
            let physical = schema.to_physical(mode);
            let names: Vec<_> = physical.fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, ["col-e", "col-m", "col-s"]);
            let d = physical.field_path(&["col-e", "element", "col-d"]).unwrap();
            assert_eq!(d.column_mapping_id(), Some(5));
            assert!(physical.field_path(&["col-m", "value", "col-k"]).is_some());
            assert!(physical.field_path(&["col-s", "col-t"]).is_some());
            // Metadata is kept, so ids reach Parquet.
            assert_eq!(physical.fields[0].metadata, schema.fields[0].metadata);
        }
        let none = schema.to_physical(ColumnMappingMode::None);
        assert!(none.field_path(&["e", "element", "d"]).is_some());
        assert_eq!(
            none.fields[0].metadata,
            BTreeMap::from([("comment".to_owned(), json!("hi"))])
        );
        assert!(none.field_path(&["s", "t"]).unwrap().metadata.is_empty());
    }

    #[test]
    fn nested_ids_lookup() {
        let field = mapped(
            "col1",
            DataType::array(DataType::array(DataType::INTEGER, true), true),
            1,
            "col-aaa",
        )
        .with_metadata([(
            COLUMN_MAPPING_NESTED_IDS_KEY,
            json!({"col-aaa.element": 100, "col-aaa.element.element": 101}),
        )]);
        assert_eq!(field.nested_id("col-aaa.element"), Some(100));
        assert_eq!(field.nested_id("col-aaa.element.element"), Some(101));
        assert_eq!(field.nested_id("col-aaa.key"), None);
    }

    #[test]
    fn validation() {
        let schema = sample();
        assert!(
            schema
                .validate_column_mapping(ColumnMappingMode::Name)
                .is_ok()
        );
        assert!(
            schema
                .validate_column_mapping(ColumnMappingMode::Id)
                .is_ok()
        );
        let unmapped = StructType::new([StructField::new("a", DataType::LONG, true)]);
        assert!(
            unmapped
                .validate_column_mapping(ColumnMappingMode::None)
                .is_ok()
        );
        let err = unmapped
            .validate_column_mapping(ColumnMappingMode::Id)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field `a`: no `delta.columnMapping.id`"),
            "{err}"
        );

        let duplicate_id = StructType::new([
            mapped("a", DataType::LONG, 1, "col-a"),
            mapped(
                "b",
                DataType::struct_of([mapped("c", DataType::LONG, 1, "col-c")]),
                2,
                "col-b",
            ),
        ]);
        let err = duplicate_id
            .validate_column_mapping(ColumnMappingMode::Name)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field `b.c`: column mapping id 1 is also used by `a`"),
            "{err}"
        );

        let duplicate_name = StructType::new([
            mapped("a", DataType::LONG, 1, "col-x"),
            mapped("b", DataType::LONG, 2, "col-x"),
        ]);
        let err = duplicate_name
            .validate_column_mapping(ColumnMappingMode::Name)
            .unwrap_err()
            .to_string();
        assert!(err.contains("field `b`: physical name `col-x`"), "{err}");

        let big_id = StructType::new([mapped("a", DataType::LONG, 1 << 40, "col-a")]);
        let err = big_id
            .validate_column_mapping(ColumnMappingMode::Id)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a 32-bit integer"), "{err}");

        let missing_nested = StructType::new([mapped(
            "a",
            DataType::map(
                DataType::STRING,
                DataType::struct_of([StructField::new("z", DataType::LONG, true)]),
                true,
            ),
            1,
            "col-a",
        )]);
        let err = missing_nested
            .validate_column_mapping(ColumnMappingMode::Id)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field `a.value.z`: no `delta.columnMapping.id`"),
            "{err}"
        );
    }
}
