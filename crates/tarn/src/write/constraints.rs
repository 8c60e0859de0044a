//! What every written row must satisfy: NOT NULL columns, CHECK constraints and column
//! invariants (PROTOCOL.md, "CHECK Constraints", "Column Invariants").
//!
//! This module decides whether a batch (already in the table's logical form) may be written,
//! and names the first violation with a sample row. A CHECK constraint
//! (`delta.constraints.<name>` in the table configuration) is SQL text read by the same
//! parser as scan filters. A row satisfies a CHECK constraint or an invariant (`delta.invariants`
//! in a field's metadata) only where the expression is `true`: `false` and `NULL` both fail
//! it, as Delta's writers enforce it (Spark's `DeltaInvariantChecker` and delta-rs refuse a
//! row whose constraint is unknown; this is not SQL's table CHECK, where unknown passes). A non-nullable field fails on a null wherever it is present:
//! a non-nullable field of a struct only where the struct itself is not null, an array element
//! or map value only inside a present array or map.
//!
//! It never modifies or filters a batch: a batch is written whole or not at all.

use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_buffer::{BooleanBuffer, NullBuffer, OffsetBuffer};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType as ArrowType;
use serde_json::Value;
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use crate::error::{Error, Result};
use crate::expr::Expr;

/// The configuration key prefix of CHECK constraints.
pub const CONSTRAINT_KEY_PREFIX: &str = "delta.constraints.";
/// The field metadata key of a column invariant.
pub const INVARIANTS_KEY: &str = "delta.invariants";

/// At most this many characters of one value appear in a sample row.
const MAX_VALUE_CHARS: usize = 64;
/// At most this many columns appear in a sample row.
const MAX_ROW_COLUMNS: usize = 32;

/// One rule rows must satisfy.
#[derive(Debug, Clone)]
enum Rule {
    /// `delta.constraints.<name>`: fails where the expression is false.
    Check { name: String },
    /// `delta.invariants` of a column: fails where the expression is false or null.
    Invariant { column: String },
}

#[derive(Debug, Clone)]
struct Constraint {
    rule: Rule,
    /// The SQL text as the table stores it.
    text: String,
    /// Parsed and resolved against the table schema.
    expression: Expr,
}

/// The CHECK constraints and column invariants of a table, parsed and checked against its
/// schema, ready to test batches.
#[derive(Debug, Clone, Default)]
pub struct TableConstraints {
    constraints: Vec<Constraint>,
}

impl TableConstraints {
    /// Reads the constraints of a table: every `delta.constraints.<name>` entry of
    /// `configuration` and every `delta.invariants` in the metadata of `schema`'s fields
    /// (nested struct fields included).
    ///
    /// Fails with [`Error::InvalidConstraint`] when one does not parse, names a column the
    /// table lacks or is not a boolean expression.
    pub fn from_table(
        schema: &StructType,
        configuration: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut constraints = Vec::new();
        for (key, text) in configuration {
            let Some(name) = key.strip_prefix(CONSTRAINT_KEY_PREFIX) else {
                continue;
            };
            let rule = Rule::Check {
                name: name.to_owned(),
            };
            constraints.push(Constraint {
                expression: prepare(&rule, text, schema)?,
                rule,
                text: text.clone(),
            });
        }
        let mut invariants = Vec::new();
        collect_invariants(&schema.fields, "", &mut invariants);
        for (column, text) in invariants {
            let rule = Rule::Invariant { column };
            constraints.push(Constraint {
                expression: prepare(&rule, &text, schema)?,
                rule,
                text,
            });
        }
        Ok(Self { constraints })
    }

    /// Whether the table has no constraints.
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }

    /// The names of the CHECK constraints, in configuration order.
    pub fn check_names(&self) -> Vec<&str> {
        self.constraints
            .iter()
            .filter_map(|c| match &c.rule {
                Rule::Check { name } => Some(name.as_str()),
                Rule::Invariant { .. } => None,
            })
            .collect()
    }

    /// Tests every row of `batch` (in the table's logical form, partition columns included).
    ///
    /// Fails with [`Error::ConstraintViolation`] or [`Error::InvariantViolation`] naming the
    /// first rule a row breaks and rendering that row.
    pub fn check(&self, batch: &RecordBatch) -> Result<()> {
        for constraint in &self.constraints {
            let result = constraint.expression.evaluate_predicate(batch)?;
            let Some(row) = first_not_true(&result) else {
                continue;
            };
            let row = render_row(batch, row);
            return Err(match &constraint.rule {
                Rule::Check { name } => Error::ConstraintViolation {
                    name: name.clone(),
                    expression: constraint.text.clone(),
                    row,
                },
                Rule::Invariant { column } => Error::InvariantViolation {
                    column: column.clone(),
                    expression: constraint.text.clone(),
                    row,
                },
            });
        }
        Ok(())
    }
}

fn prepare(rule: &Rule, text: &str, schema: &StructType) -> Result<Expr> {
    let invalid = |source| Error::InvalidConstraint {
        source: Box::new(source),
        constraint: match rule {
            Rule::Check { name } => format!("CHECK constraint `{name}`"),
            Rule::Invariant { column } => format!("the invariant of column `{column}`"),
        },
        expression: text.to_owned(),
    };
    let parsed = Expr::parse(text).map_err(invalid)?;
    let data_type = parsed.validate(schema).map_err(invalid)?;
    if data_type != DeltaType::BOOLEAN {
        return Err(invalid(crate::expr::ExprError::NotBoolean {
            expression: text.to_owned(),
            data_type: data_type.to_string(),
        }));
    }
    parsed.resolve(schema).map_err(invalid)
}

/// `(column path, expression text)` of every invariant, in schema order.
fn collect_invariants(fields: &[StructField], parent: &str, out: &mut Vec<(String, String)>) {
    for field in fields {
        let path = if parent.is_empty() {
            field.name.clone()
        } else {
            format!("{parent}.{}", field.name)
        };
        if let Some(text) = field.metadata.get(INVARIANTS_KEY).and_then(invariant_text) {
            out.push((path.clone(), text));
        }
        if let DeltaType::Struct(inner) = &field.data_type {
            collect_invariants(&inner.fields, &path, out);
        }
    }
}

/// The expression of a `delta.invariants` value: a JSON string (or object) of the form
/// `{"expression": {"expression": "<SQL>"}}`.
fn invariant_text(value: &Value) -> Option<String> {
    let object = match value {
        Value::String(text) => serde_json::from_str::<Value>(text).ok()?,
        other => other.clone(),
    };
    object
        .get("expression")?
        .get("expression")?
        .as_str()
        .map(str::to_owned)
}

fn first_not_true(result: &BooleanArray) -> Option<usize> {
    (0..result.len()).find(|&i| result.is_null(i) || !result.value(i))
}

/// Checks that no non-nullable field holds a null where it is present. `batch` is in the
/// relaxed logical form (every field nullable), so Arrow has not rejected the nulls already.
pub(crate) fn check_not_null(schema: &StructType, batch: &RecordBatch) -> Result<()> {
    for (field, column) in schema.fields.iter().zip(batch.columns()) {
        if let Some((path, row)) = first_null(
            column,
            &field.data_type,
            field.nullable,
            &field.name,
            None,
            &|i| i,
        ) {
            return Err(Error::NotNullViolation {
                column: path,
                row: render_row(batch, row),
            });
        }
    }
    Ok(())
}

/// Whether a type has a non-nullable part below it.
fn has_required_part(data_type: &DeltaType) -> bool {
    match data_type {
        DeltaType::Primitive(_) => false,
        DeltaType::Variant => true,
        DeltaType::Struct(inner) => inner
            .fields
            .iter()
            .any(|f| !f.nullable || has_required_part(&f.data_type)),
        DeltaType::Array(array) => !array.contains_null || has_required_part(&array.element_type),
        DeltaType::Map(map) => {
            !map.value_contains_null
                || has_required_part(&map.key_type)
                || has_required_part(&map.value_type)
        }
    }
}

/// The first null of a non-nullable field at or below `array`: its path and the batch row it
/// is in. `present` marks the slots of `array` that exist (their parents are not null);
/// `to_row` maps a slot to its batch row.
fn first_null(
    array: &ArrayRef,
    data_type: &DeltaType,
    nullable: bool,
    path: &str,
    present: Option<&NullBuffer>,
    to_row: &dyn Fn(usize) -> usize,
) -> Option<(String, usize)> {
    if !nullable && let Some(nulls) = array.logical_nulls() {
        let found =
            (0..array.len()).find(|&i| nulls.is_null(i) && present.is_none_or(|p| p.is_valid(i)));
        if let Some(slot) = found {
            return Some((path.to_owned(), to_row(slot)));
        }
    }
    if !has_required_part(data_type) {
        return None;
    }
    let own = NullBuffer::union(present, array.logical_nulls().as_ref());
    match (data_type, array.data_type()) {
        (DeltaType::Struct(inner), ArrowType::Struct(_)) => {
            let source = array.as_struct();
            inner
                .fields
                .iter()
                .zip(source.columns())
                .find_map(|(field, child)| {
                    first_null(
                        child,
                        &field.data_type,
                        field.nullable,
                        &format!("{path}.{}", field.name),
                        own.as_ref(),
                        to_row,
                    )
                })
        }
        (DeltaType::Variant, ArrowType::Struct(_)) => {
            let source = array.as_struct();
            ["metadata", "value"]
                .iter()
                .zip(source.columns())
                .find_map(|(name, child)| {
                    first_null(
                        child,
                        &DeltaType::BINARY,
                        false,
                        &format!("{path}.{name}"),
                        own.as_ref(),
                        to_row,
                    )
                })
        }
        (DeltaType::Array(element), ArrowType::List(_)) => {
            let list = array.as_list::<i32>();
            let offsets = list.offsets();
            let present = element_presence(offsets, own.as_ref(), list.values().len());
            let element_row = |e: usize| to_row(slot_of(offsets, e));
            first_null(
                list.values(),
                &element.element_type,
                element.contains_null,
                &format!("{path}.element"),
                Some(&present),
                &element_row,
            )
        }
        (DeltaType::Map(map), ArrowType::Map(_, _)) => {
            let source = array.as_map();
            let offsets = source.offsets();
            let present = element_presence(offsets, own.as_ref(), source.keys().len());
            let entry_row = |e: usize| to_row(slot_of(offsets, e));
            first_null(
                source.keys(),
                &map.key_type,
                false,
                &format!("{path}.key"),
                Some(&present),
                &entry_row,
            )
            .or_else(|| {
                first_null(
                    source.values(),
                    &map.value_type,
                    map.value_contains_null,
                    &format!("{path}.value"),
                    Some(&present),
                    &entry_row,
                )
            })
        }
        _ => None,
    }
}

/// Which child values of a list or map belong to a present, non-null slot.
fn element_presence(
    offsets: &OffsetBuffer<i32>,
    slots: Option<&NullBuffer>,
    children: usize,
) -> NullBuffer {
    let mut present = vec![false; children];
    for (slot, window) in offsets.windows(2).enumerate() {
        if slots.is_none_or(|s| s.is_valid(slot)) {
            let start = usize::try_from(window[0]).unwrap_or(0);
            let end = usize::try_from(window[1]).unwrap_or(0).min(children);
            for flag in present.iter_mut().take(end).skip(start) {
                *flag = true;
            }
        }
    }
    NullBuffer::new(BooleanBuffer::from(present))
}

/// The slot whose range holds child value `element`.
fn slot_of(offsets: &OffsetBuffer<i32>, element: usize) -> usize {
    let element = i32::try_from(element).unwrap_or(i32::MAX);
    // The last offset <= element starts its slot.
    offsets
        .partition_point(|&offset| offset <= element)
        .saturating_sub(1)
}

/// One row of a batch as `{id: 3, name: "x", tags: [a, b]}`, values cut to a readable length.
pub(crate) fn render_row(batch: &RecordBatch, row: usize) -> String {
    let options = FormatOptions::new()
        .with_null("NULL")
        .with_quoted_strings(true);
    let mut out = String::from("{");
    let schema = batch.schema_ref();
    for (index, (field, column)) in schema.fields().iter().zip(batch.columns()).enumerate() {
        if index == MAX_ROW_COLUMNS {
            out.push_str(", ...");
            break;
        }
        if index > 0 {
            out.push_str(", ");
        }
        let value = match ArrayFormatter::try_new(column.as_ref(), &options) {
            Ok(formatter) => formatter.value(row).to_string(),
            Err(_) => format!("<{}>", column.data_type()),
        };
        let _ = write!(out, "{}: {}", field.name(), shorten(&value));
    }
    out.push('}');
    out
}

fn shorten(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(MAX_VALUE_CHARS).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_array::builder::{Int32Builder, ListBuilder};
    use arrow_array::{Int32Array, Int64Array, StringArray, StructArray};
    use arrow_schema::{Field, Fields, Schema};
    use serde_json::json;

    use super::*;

    fn schema() -> StructType {
        StructType::new([
            StructField::new("id", DeltaType::LONG, false),
            StructField::new("value", DeltaType::INTEGER, true),
            StructField::new("name", DeltaType::STRING, true),
        ])
    }

    fn batch(ids: Vec<i64>, values: Vec<Option<i32>>, names: Vec<Option<&str>>) -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", ArrowType::Int64, true),
                Field::new("value", ArrowType::Int32, true),
                Field::new("name", ArrowType::Utf8, true),
            ])),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(Int32Array::from(values)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn check_constraint_names_the_constraint_and_the_row() {
        let constraints = TableConstraints::from_table(
            &schema(),
            &config(&[
                ("delta.constraints.positive", "value > 0"),
                ("delta.appendOnly", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(constraints.check_names(), vec!["positive"]);
        let good = batch(vec![1, 2], vec![Some(1), Some(2)], vec![Some("a"), None]);
        constraints.check(&good).unwrap();
        // A NULL makes the constraint unknown, which fails it.
        let unknown = batch(vec![1, 2], vec![Some(1), None], vec![Some("a"), None]);
        match constraints.check(&unknown).unwrap_err() {
            Error::ConstraintViolation { name, row, .. } => {
                assert_eq!(name, "positive");
                assert_eq!(row, "{id: 2, value: NULL, name: NULL}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let bad = batch(
            vec![1, 3],
            vec![Some(5), Some(-1)],
            vec![Some("a"), Some("b")],
        );
        let err = constraints.check(&bad).unwrap_err();
        match &err {
            Error::ConstraintViolation {
                name,
                expression,
                row,
            } => {
                assert_eq!(name, "positive");
                assert_eq!(expression, "value > 0");
                assert_eq!(row, r#"{id: 3, value: -1, name: "b"}"#);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("positive"), "{err}");
    }

    #[test]
    fn invariants_fail_on_null_too() {
        let mut schema = schema();
        schema.fields[1] = schema.fields[1].clone().with_metadata([(
            INVARIANTS_KEY,
            json!(r#"{"expression": {"expression": "value > 3"}}"#),
        )]);
        let constraints = TableConstraints::from_table(&schema, &config(&[])).unwrap();
        assert!(!constraints.is_empty());
        let err = constraints
            .check(&batch(vec![1, 2], vec![Some(4), None], vec![None, None]))
            .unwrap_err();
        match err {
            Error::InvariantViolation { column, row, .. } => {
                assert_eq!(column, "value");
                assert!(row.contains("id: 2"), "{row}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_constraints_are_reported_at_construction() {
        for text in ["value >", "missing > 1", "value + 1"] {
            let err =
                TableConstraints::from_table(&schema(), &config(&[("delta.constraints.c1", text)]))
                    .unwrap_err();
            assert!(
                matches!(&err, Error::InvalidConstraint { constraint, .. } if constraint.contains("c1")),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn nested_not_null_only_where_the_parent_is_present() {
        let inner = StructType::new([StructField::new("x", DeltaType::INTEGER, false)]);
        let schema = StructType::new([StructField::new(
            "s",
            DeltaType::Struct(Box::new(inner)),
            true,
        )]);
        let fields = Fields::from(vec![Field::new("x", ArrowType::Int32, true)]);
        let make = |parent: Vec<bool>| {
            let child: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
            let s =
                StructArray::try_new(fields.clone(), vec![child], Some(NullBuffer::from(parent)))
                    .unwrap();
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new(
                    "s",
                    ArrowType::Struct(fields.clone()),
                    true,
                )])),
                vec![Arc::new(s)],
            )
            .unwrap()
        };
        // Row 1's struct is null, so its null `x` is not a violation.
        check_not_null(&schema, &make(vec![true, false])).unwrap();
        let err = check_not_null(&schema, &make(vec![true, true])).unwrap_err();
        match err {
            Error::NotNullViolation { column, row } => {
                assert_eq!(column, "s.x");
                assert_eq!(row, "{s: {x: NULL}}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn array_elements_map_to_their_rows() {
        let schema = StructType::new([StructField::new(
            "a",
            DeltaType::array(DeltaType::INTEGER, false),
            true,
        )]);
        let mut builder = ListBuilder::new(Int32Builder::new());
        builder.append_value([Some(1), Some(2)]);
        builder.append_null();
        builder.append_value([Some(3), None]);
        let list = builder.finish();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "a",
                list.data_type().clone(),
                true,
            )])),
            vec![Arc::new(list)],
        )
        .unwrap();
        let err = check_not_null(&schema, &batch).unwrap_err();
        match err {
            Error::NotNullViolation { column, row } => {
                assert_eq!(column, "a.element");
                assert_eq!(row, "{a: [3, NULL]}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(100);
        let rendered = render_row(&batch(vec![1], vec![None], vec![Some(&long)]), 0);
        assert!(rendered.len() < 100, "{rendered}");
        assert!(rendered.contains("..."), "{rendered}");
    }
}
