//! What a file's partition values and statistics prove about a predicate on its rows.
//!
//! Three decisions ask it: the scan planner (may the file hold a matching row? if not, skip
//! it), the conflict check (may another writer's file hold rows this transaction read? if so,
//! conflict), and a delete (does every row of the file match? then remove it whole without
//! reading it). They ask in opposite directions, and each direction has its own safe answer
//! when the evidence is missing: [`FilePredicate::may_match`] answers `true` unless the
//! partition values and statistics prove no row matches; [`FilePredicate::all_match`]
//! answers `false` unless they prove every row does. A partition value that does not parse,
//! statistics that are absent or malformed, a predicate that could be null on some row: each
//! makes the answer the safe one, never a guess.

use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, PrimitiveType, StructType};

use super::plan::stats_columns;
use super::stats::{BoundsView, StatsColumn, file_bounds};
use crate::expr::{Expr, StatsView};

/// A predicate (resolved against the table schema), ready to be asked about files: what their
/// partition values and statistics prove about their rows. Made for a snapshot with
/// [`FilePredicate::for_snapshot`] and asked about `add` actions (files in the snapshot, or
/// files about to come back, such as archived ones) with [`FilePredicate::may_match_add`] and
/// [`FilePredicate::all_match_add`].
#[derive(Debug, Clone)]
pub struct FilePredicate {
    predicate: Expr,
    /// Partition columns: (logical name, physical name, type).
    partitions: Vec<(String, String, PrimitiveType)>,
    /// The statistics the predicate can use.
    stats: Vec<StatsColumn>,
}

/// One file as the log describes it: its partition values by physical name, its `stats` JSON
/// and its record count.
pub(crate) struct FileFacts<'a> {
    /// The raw partition value of a physical column (`None` for absent or null).
    pub(crate) partition_value: &'a dyn Fn(&str) -> Option<&'a str>,
    pub(crate) stats: Option<&'a str>,
    pub(crate) num_records: Option<i64>,
}

impl FilePredicate {
    /// `predicate`, checked and resolved against `snapshot`'s schema (column names as the
    /// table spells them, literals typed as their columns), for asking about its files.
    /// Errors: an unknown column, a comparison between types that do not compare.
    pub fn for_snapshot(predicate: &Expr, snapshot: &crate::Snapshot) -> crate::Result<Self> {
        Self::for_schema(
            predicate,
            snapshot.schema(),
            snapshot.partition_columns(),
            snapshot.column_mapping_mode(),
        )
    }

    /// `predicate`, checked and resolved against a table's schema, partition columns and
    /// column mapping mode (what [`FilePredicate::for_snapshot`] takes from a snapshot).
    pub fn for_schema(
        predicate: &Expr,
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMappingMode,
    ) -> crate::Result<Self> {
        predicate.validate(schema)?;
        let resolved = predicate.resolve(schema)?;
        Ok(Self::new(resolved, schema, partition_columns, mapping))
    }

    /// The predicate, resolved against the table schema.
    pub fn predicate(&self) -> &Expr {
        &self.predicate
    }

    /// Whether some row of the file `add` describes may satisfy the predicate: `false` only
    /// when its partition values and statistics prove that none does.
    pub fn may_match_add(&self, add: &tarn_protocol::actions::Add) -> bool {
        let lookup = |name: &str| add.partition_values.get(name).and_then(|v| v.as_deref());
        self.may_match(&FileFacts {
            partition_value: &lookup,
            stats: add.stats.as_deref(),
            num_records: None,
        })
    }

    /// Whether every row of the file `add` describes satisfies the predicate: `true` only
    /// when its partition values and statistics prove it (see the module doc).
    pub fn all_match_add(&self, add: &tarn_protocol::actions::Add) -> bool {
        let lookup = |name: &str| add.partition_values.get(name).and_then(|v| v.as_deref());
        self.all_match(&FileFacts {
            partition_value: &lookup,
            stats: add.stats.as_deref(),
            num_records: stats_num_records(add),
        })
    }

    pub(crate) fn new(
        predicate: Expr,
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMappingMode,
    ) -> Self {
        let partitions = partition_columns
            .iter()
            .filter_map(|name| {
                let field = schema.field(name)?;
                let DeltaType::Primitive(ty) = field.data_type else {
                    return None;
                };
                Some((name.clone(), field.physical_name(mapping).to_owned(), ty))
            })
            .collect();
        let stats = stats_columns(&predicate, schema, partition_columns, mapping);
        Self {
            predicate,
            partitions,
            stats,
        }
    }

    /// The statistics columns the predicate can use (for loading them).
    pub(crate) fn stats_columns(&self) -> &[StatsColumn] {
        &self.stats
    }

    /// The file's bounds, or `None` when a partition value does not parse as its type (then
    /// nothing can be proven about the file).
    fn view(&self, file: &FileFacts<'_>) -> Option<BoundsView> {
        let mut view = file_bounds(file.stats, file.num_records, &self.stats);
        for (logical, physical, ty) in &self.partitions {
            let raw = (file.partition_value)(physical);
            let value = parse_partition_value(logical, raw, *ty).ok()?;
            view.add_partition_value(logical, &value);
        }
        Some(view)
    }

    /// Whether some row of the file may satisfy the predicate: `false` only when the file's
    /// partition values and statistics prove that none does.
    pub(crate) fn may_match(&self, file: &FileFacts<'_>) -> bool {
        match self.view(file) {
            Some(view) => self.predicate.could_match(&view),
            None => true,
        }
    }

    /// Whether every row of the file satisfies the predicate: `true` only when the file's
    /// partition values and statistics prove it false on no row and null on no row (every
    /// column it reads has no nulls, and it has no null literal or arithmetic that could
    /// produce one).
    pub(crate) fn all_match(&self, file: &FileFacts<'_>) -> bool {
        if !null_free_shape(&self.predicate) {
            return false;
        }
        let Some(view) = self.view(file) else {
            return false;
        };
        let no_nulls = self
            .predicate
            .referenced_columns()
            .iter()
            .all(|column| view.null_count(column) == Some(0));
        no_nulls && !(!self.predicate.clone()).could_match(&view)
    }
}

/// `numRecords` of an add's statistics, when they say.
fn stats_num_records(add: &tarn_protocol::actions::Add) -> Option<i64> {
    let stats: serde_json::Value = serde_json::from_str(add.stats.as_deref()?).ok()?;
    stats.get("numRecords")?.as_i64()
}

/// Whether the predicate's value can be null only where a column it reads is null.
fn null_free_shape(expr: &Expr) -> bool {
    match expr {
        Expr::Column(_) => true,
        Expr::Literal(scalar) => !scalar.is_null(),
        Expr::Null | Expr::Arithmetic { .. } | Expr::Negate(_) => false,
        Expr::Compare { left, right, .. } => null_free_shape(left) && null_free_shape(right),
        Expr::In { expr, list, .. } => null_free_shape(expr) && list.iter().all(null_free_shape),
        Expr::IsNull { .. } => true,
        Expr::And(operands) | Expr::Or(operands) => operands.iter().all(null_free_shape),
        Expr::Not(inner) => null_free_shape(inner),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use tarn_protocol::schema::StructField;

    use super::*;

    fn schema() -> StructType {
        StructType::new(vec![
            StructField::new("day", DeltaType::STRING, true),
            StructField::new("v", DeltaType::LONG, true),
        ])
    }

    fn predicate(sql: &str) -> FilePredicate {
        let expr = Expr::parse(sql).unwrap().resolve(&schema()).unwrap();
        FilePredicate::new(
            expr,
            &schema(),
            &["day".to_owned()],
            ColumnMappingMode::None,
        )
    }

    fn ask(sql: &str, day: Option<&str>, stats: Option<&str>) -> (bool, bool) {
        let values: BTreeMap<String, String> = day
            .map(|d| BTreeMap::from([("day".to_owned(), d.to_owned())]))
            .unwrap_or_default();
        let lookup = |name: &str| values.get(name).map(String::as_str);
        let facts = FileFacts {
            partition_value: &lookup,
            stats,
            num_records: None,
        };
        let p = predicate(sql);
        (p.may_match(&facts), p.all_match(&facts))
    }

    #[test]
    fn each_direction_has_its_safe_answer_when_evidence_is_missing() {
        let stats =
            Some(r#"{"numRecords":2,"minValues":{"v":1},"maxValues":{"v":5},"nullCount":{"v":0}}"#);
        // Proven either way.
        assert_eq!(ask("v > 10", Some("a"), stats), (false, false));
        assert_eq!(ask("v >= 1", Some("a"), stats), (true, true));
        assert_eq!(ask("day = 'a'", Some("a"), stats), (true, true));
        assert_eq!(ask("day = 'b'", Some("a"), stats), (false, false));
        // Unknown: may match, not all match.
        assert_eq!(ask("v > 3", Some("a"), stats), (true, false));
        assert_eq!(ask("v > 10", Some("a"), None), (true, false));
        assert_eq!(ask("v > 10", Some("a"), Some("{not json")), (true, false));
        // Nulls are possible: never all-match.
        let nulls =
            Some(r#"{"numRecords":2,"minValues":{"v":1},"maxValues":{"v":5},"nullCount":{"v":1}}"#);
        assert_eq!(ask("v >= 1", Some("a"), nulls), (true, false));
        assert_eq!(ask("v + 0 >= 1", Some("a"), stats), (true, false));
    }
}
