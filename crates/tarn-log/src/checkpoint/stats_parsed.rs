//! `add.stats_parsed`: a file's statistics as typed columns, parsed from its JSON `stats`.
//!
//! This module decides the shape of `stats_parsed` for a table and fills it, one row per file,
//! by walking each JSON document once and appending straight into Arrow builders (no JSON
//! tree, no row objects). The shape follows Delta-Spark and delta-kernel (PROTOCOL.md,
//! "Per-file Statistics" and "Checkpoint Schema"):
//!
//! - `numRecords: long`, `minValues`, `maxValues`, `nullCount`, `tightBounds: boolean`;
//! - the columns are the data columns (partition columns have no statistics): those named by
//!   `delta.dataSkippingStatsColumns` when it is set, else the first
//!   `delta.dataSkippingNumIndexedCols` leaf columns (default 32, `-1` for all), where maps,
//!   arrays and variants count as leaves;
//! - every name is the physical name (column mapping), nested structs recursively;
//! - `minValues`/`maxValues` hold the columns whose type has usable bounds (integers, floats,
//!   decimals, dates, timestamps, strings) in that type: timestamps as microseconds UTC;
//! - `nullCount` holds a `long` for every leaf, including maps, arrays, variants, booleans and
//!   binaries; a struct with no such leaf is left out rather than written empty, which Parquet
//!   cannot store.
//!
//! It must never fail a checkpoint over statistics: the JSON `stats` are written verbatim
//! beside this column, so a value that does not read as its column's type becomes a null, and
//! a document that is not valid JSON makes the file's whole `stats_parsed` null.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, StructArray};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Fields};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use tarn_protocol::schema::{ColumnMappingMode, DataType, StructType};

use super::leaf::{Cell, LeafBuilder, LeafType, parse_text};

/// Table property naming the columns to collect statistics for.
const STATS_COLUMNS_KEY: &str = "delta.dataSkippingStatsColumns";
/// Table property limiting statistics to the first N leaf columns.
const NUM_INDEXED_COLS_KEY: &str = "delta.dataSkippingNumIndexedCols";
/// Default of [`NUM_INDEXED_COLS_KEY`].
const DEFAULT_NUM_INDEXED_COLS: i64 = 32;

/// A node of the `stats_parsed` tree.
#[derive(Debug)]
enum Node {
    /// A leaf column, by index into the layout's leaves.
    Leaf(usize),
    /// A struct, by index into the layout's structs, with its named children.
    Struct(usize, Vec<(String, Node)>),
}

/// The shape of `stats_parsed` for one table.
#[derive(Debug)]
pub(super) struct StatsLayout {
    /// Children of the root struct (struct 0).
    root: Vec<(String, Node)>,
    leaf_types: Vec<LeafType>,
    /// The Arrow fields of each struct, by struct index.
    struct_fields: Vec<Fields>,
}

/// Accumulates leaves and structs while a layout is built.
#[derive(Default)]
struct LayoutBuilder {
    leaf_types: Vec<LeafType>,
    struct_fields: Vec<Fields>,
}

impl LayoutBuilder {
    fn leaf(&mut self, ty: LeafType) -> (Node, ArrowType) {
        self.leaf_types.push(ty);
        (Node::Leaf(self.leaf_types.len() - 1), ty.arrow())
    }

    fn structure(&mut self, children: Vec<(String, Node, ArrowType)>) -> (Node, ArrowType) {
        let fields: Fields = children
            .iter()
            .map(|(name, _, ty)| Field::new(name, ty.clone(), true))
            .collect();
        self.struct_fields.push(fields.clone());
        let id = self.struct_fields.len() - 1;
        let children = children
            .into_iter()
            .map(|(name, node, _)| (name, node))
            .collect();
        (Node::Struct(id, children), ArrowType::Struct(fields))
    }

    /// The min/max tree of a physical struct; `None` when no column has usable bounds.
    fn bounds(&mut self, schema: &StructType) -> Option<(Node, ArrowType)> {
        let mut children = Vec::new();
        for field in &schema.fields {
            let child = match &field.data_type {
                DataType::Primitive(p) if LeafType::of(*p).has_bounds() => {
                    Some(self.leaf(LeafType::of(*p)))
                }
                DataType::Struct(inner) => self.bounds(inner),
                _ => None,
            };
            if let Some((node, ty)) = child {
                children.push((field.name.clone(), node, ty));
            }
        }
        (!children.is_empty()).then(|| self.structure(children))
    }

    /// The null count tree of a physical struct; `None` when it has no leaf.
    fn null_counts(&mut self, schema: &StructType) -> Option<(Node, ArrowType)> {
        let mut children = Vec::new();
        for field in &schema.fields {
            let child = match &field.data_type {
                DataType::Struct(inner) => self.null_counts(inner),
                _ => Some(self.leaf(LeafType::Long)),
            };
            if let Some((node, ty)) = child {
                children.push((field.name.clone(), node, ty));
            }
        }
        (!children.is_empty()).then(|| self.structure(children))
    }
}

impl StatsLayout {
    /// The layout for a table: its schema (logical names), partition columns (logical names),
    /// column mapping mode and table properties.
    pub(super) fn new(
        schema: &StructType,
        partition_columns: &[String],
        mode: ColumnMappingMode,
        properties: &BTreeMap<String, String>,
    ) -> Self {
        let columns = stats_columns(schema, partition_columns, properties).to_physical(mode);
        let mut builder = LayoutBuilder::default();
        // Struct 0 is the root: reserve its slot so children get the indexes after it.
        builder.struct_fields.push(Fields::empty());
        let mut root = vec![{
            let (node, ty) = builder.leaf(LeafType::Long);
            ("numRecords".to_owned(), node, ty)
        }];
        // minValues and maxValues have the same shape but builders of their own.
        for name in ["minValues", "maxValues"] {
            if let Some((node, ty)) = builder.bounds(&columns) {
                root.push((name.to_owned(), node, ty));
            }
        }
        if let Some((node, ty)) = builder.null_counts(&columns) {
            root.push(("nullCount".to_owned(), node, ty));
        }
        let (node, ty) = builder.leaf(LeafType::Boolean);
        root.push(("tightBounds".to_owned(), node, ty));
        builder.struct_fields[0] = root
            .iter()
            .map(|(name, _, ty)| Field::new(name, ty.clone(), true))
            .collect();
        Self {
            root: root
                .into_iter()
                .map(|(name, node, _)| (name, node))
                .collect(),
            leaf_types: builder.leaf_types,
            struct_fields: builder.struct_fields,
        }
    }

    /// The Arrow type of `stats_parsed`.
    pub(super) fn data_type(&self) -> ArrowType {
        ArrowType::Struct(self.struct_fields[0].clone())
    }

    /// A builder for `rows` files.
    pub(super) fn builder(&self, rows: usize) -> StatsParsedBuilder<'_> {
        StatsParsedBuilder {
            layout: self,
            leaves: self
                .leaf_types
                .iter()
                .map(|ty| LeafBuilder::new(*ty, rows))
                .collect(),
            valid: (0..self.struct_fields.len())
                .map(|_| BooleanBufferBuilder::new(rows))
                .collect(),
            done: vec![false; self.leaf_types.len()],
            present: vec![false; self.struct_fields.len()],
        }
    }
}

/// The `stats_parsed` column of a single file with `stats`, for a table of `schema` without
/// partition columns, column mapping or table properties (for [`crate::fuzzing`]).
pub(crate) fn stats_parsed_of(schema: &StructType, stats: &str) -> Result<ArrayRef, ArrowError> {
    let layout = StatsLayout::new(schema, &[], ColumnMappingMode::None, &BTreeMap::new());
    let mut builder = layout.builder(1);
    builder.append(Some(stats));
    builder.finish()
}

/// The columns statistics are kept for (logical names, partition columns excluded).
fn stats_columns(
    schema: &StructType,
    partition_columns: &[String],
    properties: &BTreeMap<String, String>,
) -> StructType {
    let data = StructType::new(
        schema
            .fields
            .iter()
            .filter(|f| !partition_columns.iter().any(|p| p == &f.name))
            .cloned(),
    );
    if let Some(list) = properties.get(STATS_COLUMNS_KEY) {
        let paths = parse_column_list(list);
        return select_paths(&data, &paths);
    }
    let limit = properties
        .get(NUM_INDEXED_COLS_KEY)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(DEFAULT_NUM_INDEXED_COLS);
    match usize::try_from(limit) {
        Ok(mut remaining) => first_leaves(&data, &mut remaining),
        // Negative: every column.
        Err(_) => data,
    }
}

/// The first `remaining` leaf columns in schema order, structs kept partially.
fn first_leaves(schema: &StructType, remaining: &mut usize) -> StructType {
    let mut fields = Vec::new();
    for field in &schema.fields {
        if *remaining == 0 {
            break;
        }
        match &field.data_type {
            DataType::Struct(inner) => {
                let kept = first_leaves(inner, remaining);
                if !kept.fields.is_empty() {
                    let mut field = field.clone();
                    field.data_type = DataType::Struct(Box::new(kept));
                    fields.push(field);
                }
            }
            _ => {
                *remaining -= 1;
                fields.push(field.clone());
            }
        }
    }
    StructType::new(fields)
}

/// The columns named by paths (case-insensitively, as Spark resolves them); naming a struct
/// selects all of it.
fn select_paths(schema: &StructType, paths: &[Vec<String>]) -> StructType {
    let mut fields = Vec::new();
    for field in &schema.fields {
        let matching: Vec<&[String]> = paths
            .iter()
            .filter(|p| {
                p.first()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&field.name))
            })
            .map(|p| &p[1..])
            .collect();
        if matching.is_empty() {
            continue;
        }
        if matching.iter().any(|rest| rest.is_empty()) {
            fields.push(field.clone());
        } else if let DataType::Struct(inner) = &field.data_type {
            let tails: Vec<Vec<String>> = matching.iter().map(|rest| rest.to_vec()).collect();
            let kept = select_paths(inner, &tails);
            if !kept.fields.is_empty() {
                let mut field = field.clone();
                field.data_type = DataType::Struct(Box::new(kept));
                fields.push(field);
            }
        }
    }
    StructType::new(fields)
}

/// Splits `a, b.c, `d.e`` into column paths: commas separate columns, dots separate nested
/// names, backticks quote a name (a doubled backtick is a literal one).
fn parse_column_list(list: &str) -> Vec<Vec<String>> {
    let mut columns = Vec::new();
    let mut path = Vec::new();
    let mut name = String::new();
    let mut quoted = false;
    let mut chars = list.chars().peekable();
    let finish_name = |name: &mut String, path: &mut Vec<String>| {
        let trimmed = name.trim();
        if !trimmed.is_empty() {
            path.push(trimmed.to_owned());
        }
        name.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '`' if quoted && chars.peek() == Some(&'`') => {
                chars.next();
                name.push('`');
            }
            '`' => quoted = !quoted,
            '.' if !quoted => finish_name(&mut name, &mut path),
            ',' if !quoted => {
                finish_name(&mut name, &mut path);
                if !path.is_empty() {
                    columns.push(std::mem::take(&mut path));
                }
            }
            c => name.push(c),
        }
    }
    finish_name(&mut name, &mut path);
    if !path.is_empty() {
        columns.push(path);
    }
    columns
}

/// Fills `stats_parsed` for a batch of files.
pub(super) struct StatsParsedBuilder<'l> {
    layout: &'l StatsLayout,
    leaves: Vec<LeafBuilder>,
    valid: Vec<BooleanBufferBuilder>,
    /// Per row: which leaves got a value (reset for each row).
    done: Vec<bool>,
    /// Per row: which structs were present (reset for each row).
    present: Vec<bool>,
}

impl StatsParsedBuilder<'_> {
    /// Appends one file's statistics (`None` when it has none).
    ///
    /// Values go straight into the builders as they are read. A document that turns out
    /// malformed halfway has appended some leaves: the others get nulls, so the columns stay
    /// aligned, and the row's struct is null, which hides what was appended under it.
    pub(super) fn append(&mut self, stats: Option<&str>) {
        self.done.fill(false);
        self.present.fill(false);
        let parsed = match stats {
            None => false,
            Some(stats) => {
                let mut row = RowState {
                    builders: &mut self.leaves,
                    done: &mut self.done,
                    present: &mut self.present,
                };
                let mut de = serde_json::Deserializer::from_str(stats);
                StructSeed {
                    children: &self.layout.root,
                    types: &self.layout.leaf_types,
                    row: &mut row,
                }
                .deserialize(&mut de)
                .and_then(|found| de.end().map(|()| found))
                .unwrap_or(false)
            }
        };
        self.present[0] = parsed;
        for (builder, done) in self.leaves.iter_mut().zip(&self.done) {
            if !done {
                builder.append_null();
            }
        }
        for (valid, present) in self.valid.iter_mut().zip(&self.present) {
            valid.append(*present);
        }
    }

    /// The `stats_parsed` column of the rows appended.
    pub(super) fn finish(mut self) -> Result<ArrayRef, ArrowError> {
        let mut leaves = Vec::with_capacity(self.leaves.len());
        for builder in &mut self.leaves {
            leaves.push(builder.finish()?);
        }
        let root = assemble(
            0,
            &self.layout.root,
            &self.layout.struct_fields,
            &leaves,
            &mut self.valid,
        )?;
        Ok(Arc::new(root))
    }
}

fn assemble(
    id: usize,
    children: &[(String, Node)],
    fields: &[Fields],
    leaves: &[ArrayRef],
    valid: &mut [BooleanBufferBuilder],
) -> Result<StructArray, ArrowError> {
    let mut arrays = Vec::with_capacity(children.len());
    for (_, node) in children {
        let array: ArrayRef = match node {
            Node::Leaf(leaf) => Arc::clone(&leaves[*leaf]),
            Node::Struct(child, grandchildren) => {
                Arc::new(assemble(*child, grandchildren, fields, leaves, valid)?)
            }
        };
        arrays.push(array);
    }
    let nulls = NullBuffer::new(valid[id].finish());
    StructArray::try_new(fields[id].clone(), arrays, Some(nulls))
}

/// The builders a row is parsed into, with what the row has filled so far.
struct RowState<'r> {
    builders: &'r mut [LeafBuilder],
    done: &'r mut [bool],
    present: &'r mut [bool],
}

/// An object key, borrowed from the document when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Consumes a value that is not what the layout expects at its position.
macro_rules! ignore_other_values {
    ($value:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

/// Reads a JSON object into the children of a struct node; the value is whether the JSON
/// value was an object at all.
struct StructSeed<'r, 's> {
    children: &'r [(String, Node)],
    types: &'r [LeafType],
    row: &'r mut RowState<'s>,
}

impl<'de> DeserializeSeed<'de> for StructSeed<'_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StructSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a statistics object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<bool, M::Error> {
        let row = self.row;
        // Writers emit the columns in schema order: try the next child first.
        let mut next = 0;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let found = self
                .children
                .get(next)
                .filter(|(name, _)| *name == key.0)
                .map(|_| next)
                .or_else(|| self.children.iter().position(|(name, _)| *name == key.0));
            let Some(index) = found else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            next = index + 1;
            match &self.children[index].1 {
                Node::Leaf(leaf) if row.done[*leaf] => {
                    // A duplicate key: the first value stands.
                    map.next_value::<IgnoredAny>()?;
                }
                Node::Leaf(leaf) => {
                    let seed = LeafSeed {
                        ty: self.types[*leaf],
                        builder: &mut row.builders[*leaf],
                        done: &mut row.done[*leaf],
                    };
                    map.next_value_seed(seed)?;
                }
                Node::Struct(id, children) => {
                    let present = map.next_value_seed(StructSeed {
                        children,
                        types: self.types,
                        row: &mut *row,
                    })?;
                    if present {
                        row.present[*id] = true;
                    }
                }
            }
        }
        Ok(true)
    }

    ignore_other_values!(false);
}

/// Reads one leaf value into its builder.
struct LeafSeed<'r> {
    ty: LeafType,
    builder: &'r mut LeafBuilder,
    done: &'r mut bool,
}

impl LeafSeed<'_> {
    fn put(self, cell: &Cell<'_>) {
        self.builder.append(cell);
        *self.done = true;
    }
}

impl<'de> DeserializeSeed<'de> for LeafSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if let LeafType::Decimal(_) = self.ty {
            // The exact text of the number: a float would lose digits of a wide decimal.
            let raw = <&'de RawValue as serde::Deserialize<'de>>::deserialize(deserializer)?;
            let text = raw.get();
            let cell = if text.starts_with('"') {
                match serde_json::from_str::<Cow<'_, str>>(text) {
                    Ok(s) => parse_text(self.ty, &s),
                    Err(_) => Cell::Null,
                }
            } else if text == "null" {
                Cell::Null
            } else {
                parse_text(self.ty, text)
            };
            self.put(&cell);
            return Ok(());
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeafSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a statistic")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        let cell = match self.ty {
            LeafType::Boolean => Cell::Bool(v),
            _ => Cell::Null,
        };
        self.put(&cell);
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        let cell = match self.ty {
            // Out-of-range values become nulls in the builder.
            LeafType::Byte | LeafType::Short | LeafType::Integer | LeafType::Long => Cell::Int(v),
            // Integers written for a float column are exact up to 2^53, as JSON numbers are.
            #[allow(clippy::cast_precision_loss)]
            LeafType::Float | LeafType::Double => Cell::Float(v as f64),
            _ => Cell::Null,
        };
        self.put(&cell);
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => {
                self.put(&Cell::Null);
                Ok(())
            }
        }
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        let cell = match self.ty {
            LeafType::Float | LeafType::Double => Cell::Float(v),
            _ => Cell::Null,
        };
        self.put(&cell);
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        let cell = match self.ty {
            LeafType::String => Cell::Str(Cow::Borrowed(v)),
            ty => parse_text(ty, v),
        };
        self.put(&cell);
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.put(&Cell::Null);
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.put(&Cell::Null);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.put(&Cell::Null);
        Ok(())
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.put(&Cell::Null);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use serde_json::json;

    fn schema() -> StructType {
        let field = |name: &str, ty: serde_json::Value| json!({"name": name, "type": ty, "nullable": true, "metadata": {}});
        let json = json!({"type": "struct", "fields": [
            field("a", json!("long")),
            field("s", json!({"type": "struct", "fields": [
                field("x", json!("integer")),
                field("y", json!("boolean")),
                field("z", json!("string")),
            ]})),
            field("p", json!("date")),
            field("arr", json!({"type": "array", "elementType": "long", "containsNull": true})),
            field("b", json!("binary")),
        ]});
        StructType::from_json(&json.to_string()).unwrap()
    }

    fn layout(properties: &[(&str, &str)]) -> StatsLayout {
        let properties: BTreeMap<String, String> = properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        StatsLayout::new(
            &schema(),
            &["p".to_owned()],
            ColumnMappingMode::None,
            &properties,
        )
    }

    /// The leaf paths of the layout, as `section.column.child`.
    fn paths(properties: &[(&str, &str)]) -> Vec<String> {
        fn walk(prefix: &str, ty: &ArrowType, out: &mut Vec<String>) {
            if let ArrowType::Struct(fields) = ty {
                for f in fields {
                    let path = if prefix.is_empty() {
                        f.name().clone()
                    } else {
                        format!("{prefix}.{}", f.name())
                    };
                    walk(&path, f.data_type(), out);
                }
            } else {
                out.push(prefix.to_owned());
            }
        }
        let mut out = Vec::new();
        walk("", &layout(properties).data_type(), &mut out);
        out
    }

    #[test]
    fn all_columns_by_default_partition_columns_never() {
        assert_eq!(
            paths(&[]),
            [
                "numRecords",
                "minValues.a",
                "minValues.s.x",
                "minValues.s.z",
                "maxValues.a",
                "maxValues.s.x",
                "maxValues.s.z",
                "nullCount.a",
                "nullCount.s.x",
                "nullCount.s.y",
                "nullCount.s.z",
                "nullCount.arr",
                "nullCount.b",
                "tightBounds",
            ]
        );
    }

    #[test]
    fn num_indexed_cols_counts_leaves() {
        assert_eq!(
            paths(&[(NUM_INDEXED_COLS_KEY, "2")]),
            [
                "numRecords",
                "minValues.a",
                "minValues.s.x",
                "maxValues.a",
                "maxValues.s.x",
                "nullCount.a",
                "nullCount.s.x",
                "tightBounds",
            ]
        );
        assert_eq!(
            paths(&[(NUM_INDEXED_COLS_KEY, "0")]),
            ["numRecords", "tightBounds"]
        );
        assert_eq!(paths(&[(NUM_INDEXED_COLS_KEY, "-1")]), paths(&[]));
    }

    #[test]
    fn stats_columns_name_columns_and_structs() {
        assert_eq!(
            paths(&[
                (STATS_COLUMNS_KEY, "S.z, `arr`"),
                (NUM_INDEXED_COLS_KEY, "1")
            ]),
            [
                "numRecords",
                "minValues.s.z",
                "maxValues.s.z",
                "nullCount.s.z",
                "nullCount.arr",
                "tightBounds",
            ]
        );
        assert_eq!(
            parse_column_list("a, `b.c`.d ,`e``f`,,"),
            vec![
                vec!["a".to_owned()],
                vec!["b.c".to_owned(), "d".to_owned()],
                vec!["e`f".to_owned()],
            ]
        );
    }

    #[test]
    fn a_document_that_breaks_off_leaves_columns_aligned() {
        let layout = layout(&[]);
        let mut builder = layout.builder(4);
        builder.append(Some(r#"{"numRecords":1,"minValues":{"a":1}}"#));
        builder.append(Some(r#"{"numRecords":2,"minValues":{"a":2,"s":{"x":3"#));
        builder.append(Some(r#"{"numRecords":3} trailing"#));
        builder.append(Some(
            r#"{"numRecords":4,"numRecords":5,"minValues":{"a":6}}"#,
        ));
        let array = builder.finish().unwrap();
        let array = array.as_any().downcast_ref::<StructArray>().unwrap();
        assert_eq!(array.len(), 4);
        assert!(array.is_valid(0));
        assert!(array.is_null(1));
        assert!(array.is_null(2));
        let records = array
            .column_by_name("numRecords")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records.value(0), 1);
        // A repeated key: the first value stands.
        assert_eq!(records.value(3), 4);
        let min = array.column_by_name("minValues").unwrap();
        assert_eq!(min.len(), 4);
    }
}
