//! Per-file statistics (PROTOCOL.md, "Per-file Statistics"), computed from the Arrow arrays
//! as they are written.
//!
//! This module decides which columns get statistics (the first
//! `delta.dataSkippingNumIndexedCols` leaf columns of the data schema, or the
//! `delta.dataSkippingStatsColumns` list), and what the `stats` JSON of a file says:
//! `numRecords`, and per column `nullCount`, `minValues` and `maxValues`, nested like the
//! schema and keyed by physical name. Every bound it writes is a true bound for any reader:
//!
//! - strings are cut to a 32-character prefix; a cut maximum gets a tie-breaker character
//!   (`U+007F`, or `U+10FFFF` after a non-ASCII character) so it stays above every value;
//! - timestamps are written in milliseconds, rounded down (readers widen maxima by 999 µs, as
//!   for Spark's statistics);
//! - a float column with a NaN gets no maximum (NaN sorts above everything), and NaN is never
//!   a minimum; infinities are written as the strings `Infinity` / `-Infinity`;
//! - decimals are JSON numbers, written only when they have at most 15 significant digits
//!   (so a reader parsing JSON numbers as doubles reads them exactly);
//! - booleans get bounds; binary columns, arrays, maps and variants get only `nullCount`.
//!
//! It never reads a file back: statistics are merged batch by batch while the file is written.

use std::fmt::Write as _;

use arrow_arith::aggregate;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, make_array};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType as ArrowType, TimeUnit};
use chrono::DateTime;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, PrimitiveType, StructField};

use super::options::{StatsColumns, parse_column_path};

/// Delta writers cut string statistics to this many characters.
pub(crate) const STRING_PREFIX_LENGTH: usize = 32;
/// How far past the prefix a cut maximum may look for a character it can follow with a
/// tie-breaker (only runs of `U+10FFFF` need it).
const STRING_EXPANSION_LIMIT: usize = 32;
/// Decimals with more significant digits than this get no bounds (see the module docs).
const MAX_DECIMAL_DIGITS: u32 = 15;

/// One leaf column that gets statistics.
#[derive(Debug, Clone)]
pub(crate) struct StatsLeaf {
    /// Physical names from the top-level column down, as statistics are keyed.
    physical_path: Vec<String>,
    /// Child indexes from the data batch's column down through structs.
    index_path: Vec<usize>,
    /// The primitive type, or `None` for arrays, maps and variants (null count only).
    primitive: Option<PrimitiveType>,
}

/// Which leaves of the data schema get statistics.
pub(crate) fn stats_leaves(
    data_fields: &[StructField],
    columns: &StatsColumns,
    mode: ColumnMappingMode,
) -> Vec<StatsLeaf> {
    chosen_leaves(data_fields, columns, mode)
        .into_iter()
        .map(|(_, leaf)| leaf)
        .collect()
}

/// The logical paths (top-level column down) of the leaves that get statistics.
pub(crate) fn stats_column_paths(
    data_fields: &[StructField],
    columns: &StatsColumns,
    mode: ColumnMappingMode,
) -> Vec<Vec<String>> {
    chosen_leaves(data_fields, columns, mode)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// The leaves that get statistics, with their logical paths.
fn chosen_leaves(
    data_fields: &[StructField],
    columns: &StatsColumns,
    mode: ColumnMappingMode,
) -> Vec<(Vec<String>, StatsLeaf)> {
    let mut all = Vec::new();
    collect_leaves(
        data_fields,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut Vec::new(),
        mode,
        &mut all,
    );
    match columns {
        StatsColumns::All => all,
        StatsColumns::FirstLeaves(n) => all.into_iter().take(*n).collect(),
        StatsColumns::Named(names) => {
            let wanted: Vec<Vec<String>> = names
                .iter()
                .filter_map(|name| match parse_column_path(name) {
                    Ok(path) => Some(path),
                    Err(reason) => {
                        tracing::warn!(column = %name, %reason, "statistics column ignored");
                        None
                    }
                })
                .collect();
            all.into_iter()
                .filter(|(logical, _)| {
                    wanted.iter().any(|path| {
                        path.len() <= logical.len()
                            && path
                                .iter()
                                .zip(logical)
                                .all(|(w, l)| w.eq_ignore_ascii_case(l))
                    })
                })
                .collect()
        }
    }
}

/// Every leaf in schema order, with its logical path.
fn collect_leaves(
    fields: &[StructField],
    logical: &mut Vec<String>,
    physical: &mut Vec<String>,
    indexes: &mut Vec<usize>,
    mode: ColumnMappingMode,
    out: &mut Vec<(Vec<String>, StatsLeaf)>,
) {
    for (index, field) in fields.iter().enumerate() {
        logical.push(field.name.clone());
        physical.push(field.physical_name(mode).to_owned());
        indexes.push(index);
        match &field.data_type {
            DeltaType::Struct(inner) => {
                collect_leaves(&inner.fields, logical, physical, indexes, mode, out)
            }
            other => out.push((
                logical.clone(),
                StatsLeaf {
                    physical_path: physical.clone(),
                    index_path: indexes.clone(),
                    primitive: match other {
                        DeltaType::Primitive(p) => Some(*p),
                        _ => None,
                    },
                },
            )),
        }
        logical.pop();
        physical.pop();
        indexes.pop();
    }
}

/// Running statistics of one leaf.
#[derive(Debug, Clone, Default)]
struct LeafStats {
    null_count: i64,
    min: Option<Scalar>,
    max: Option<Scalar>,
    /// A NaN was seen: the column has no maximum a reader can trust.
    nan: bool,
}

/// The statistics of one data file, merged batch by batch.
#[derive(Debug, Clone)]
pub(crate) struct FileStats {
    leaves: Vec<StatsLeaf>,
    stats: Vec<LeafStats>,
    num_records: i64,
}

impl FileStats {
    pub(crate) fn new(leaves: Vec<StatsLeaf>) -> Self {
        let stats = vec![LeafStats::default(); leaves.len()];
        Self {
            leaves,
            stats,
            num_records: 0,
        }
    }

    /// Adds a batch of the file's data columns (logical form).
    pub(crate) fn update(&mut self, batch: &RecordBatch) {
        self.num_records += batch.num_rows() as i64;
        for (leaf, stats) in self.leaves.iter().zip(self.stats.iter_mut()) {
            let Some(array) = leaf_array(batch, &leaf.index_path) else {
                continue;
            };
            stats.null_count += array.null_count() as i64;
            let Some(ty) = leaf.primitive else {
                continue;
            };
            if array.null_count() == array.len() {
                continue;
            }
            let (min, max, nan) = min_max(&array, ty);
            stats.nan |= nan;
            if let Some(min) = min
                && stats.min.as_ref().is_none_or(|cur| min < *cur)
            {
                stats.min = Some(min);
            }
            if let Some(max) = max
                && stats.max.as_ref().is_none_or(|cur| max > *cur)
            {
                stats.max = Some(max);
            }
        }
    }

    /// The `stats` JSON of the file.
    pub(crate) fn to_json(&self) -> String {
        let mut min_values = JsonObject::default();
        let mut max_values = JsonObject::default();
        let mut null_count = JsonObject::default();
        for (leaf, stats) in self.leaves.iter().zip(&self.stats) {
            null_count.insert(&leaf.physical_path, stats.null_count.to_string());
            if let Some(min) = stats.min.as_ref().and_then(|v| json_bound(v, Side::Min)) {
                min_values.insert(&leaf.physical_path, min);
            }
            if !stats.nan
                && let Some(max) = stats.max.as_ref().and_then(|v| json_bound(v, Side::Max))
            {
                max_values.insert(&leaf.physical_path, max);
            }
        }
        let mut out = String::new();
        let _ = write!(out, "{{\"numRecords\":{}", self.num_records);
        for (key, object) in [
            ("minValues", &min_values),
            ("maxValues", &max_values),
            ("nullCount", &null_count),
        ] {
            let _ = write!(out, ",\"{key}\":");
            object.write(&mut out);
        }
        out.push('}');
        out
    }
}

/// The leaf's values, null wherever the leaf or any struct above it is null.
fn leaf_array(batch: &RecordBatch, index_path: &[usize]) -> Option<ArrayRef> {
    let (first, rest) = index_path.split_first()?;
    let mut array = batch.columns().get(*first)?.clone();
    let mut nulls: Option<NullBuffer> = array.logical_nulls();
    for index in rest {
        let child = array.as_struct_opt()?.columns().get(*index)?.clone();
        nulls = NullBuffer::union(nulls.as_ref(), child.logical_nulls().as_ref());
        array = child;
    }
    if nulls.as_ref().map(NullBuffer::null_count) == array.logical_nulls().map(|n| n.null_count()) {
        return Some(array);
    }
    let data = array.to_data().into_builder().nulls(nulls).build().ok()?;
    Some(make_array(data))
}

/// Minimum, maximum and whether a NaN was seen, of a non-empty array of type `ty`.
fn min_max(array: &ArrayRef, ty: PrimitiveType) -> (Option<Scalar>, Option<Scalar>, bool) {
    macro_rules! numeric {
        ($arrow:ty, $variant:expr) => {{
            let a = array.as_primitive::<$arrow>();
            (
                aggregate::min(a).map($variant),
                aggregate::max(a).map($variant),
                false,
            )
        }};
    }
    match (ty, array.data_type()) {
        (PrimitiveType::Boolean, ArrowType::Boolean) => {
            let a = array.as_boolean();
            (
                aggregate::min_boolean(a).map(Scalar::Boolean),
                aggregate::max_boolean(a).map(Scalar::Boolean),
                false,
            )
        }
        (PrimitiveType::Byte, ArrowType::Int8) => numeric!(Int8Type, Scalar::Byte),
        (PrimitiveType::Short, ArrowType::Int16) => numeric!(Int16Type, Scalar::Short),
        (PrimitiveType::Integer, ArrowType::Int32) => numeric!(Int32Type, Scalar::Integer),
        (PrimitiveType::Long, ArrowType::Int64) => numeric!(Int64Type, Scalar::Long),
        (PrimitiveType::Date, ArrowType::Date32) => numeric!(Date32Type, Scalar::Date),
        (PrimitiveType::Timestamp, ArrowType::Timestamp(TimeUnit::Microsecond, _)) => {
            numeric!(TimestampMicrosecondType, Scalar::Timestamp)
        }
        (PrimitiveType::TimestampNtz, ArrowType::Timestamp(TimeUnit::Microsecond, _)) => {
            numeric!(TimestampMicrosecondType, Scalar::TimestampNtz)
        }
        (PrimitiveType::Decimal(d), ArrowType::Decimal128(_, _)) => {
            let a = array.as_primitive::<Decimal128Type>();
            let scalar = |value| Scalar::Decimal {
                value,
                precision: d.precision,
                scale: d.scale,
            };
            (
                aggregate::min(a).map(scalar),
                aggregate::max(a).map(scalar),
                false,
            )
        }
        // NaN sorts above every other value in Arrow's aggregates: a NaN maximum means the
        // column holds a NaN, and a NaN minimum means it holds nothing else.
        (PrimitiveType::Float, ArrowType::Float32) => {
            let a = array.as_primitive::<Float32Type>();
            let max = aggregate::max(a);
            let min = aggregate::min(a).filter(|v| !v.is_nan());
            (
                min.map(Scalar::Float),
                max.filter(|v| !v.is_nan()).map(Scalar::Float),
                max.is_some_and(f32::is_nan),
            )
        }
        (PrimitiveType::Double, ArrowType::Float64) => {
            let a = array.as_primitive::<Float64Type>();
            let max = aggregate::max(a);
            let min = aggregate::min(a).filter(|v| !v.is_nan());
            (
                min.map(Scalar::Double),
                max.filter(|v| !v.is_nan()).map(Scalar::Double),
                max.is_some_and(f64::is_nan),
            )
        }
        (PrimitiveType::String, ArrowType::Utf8) => {
            let a = array.as_string::<i32>();
            (
                aggregate::min_string(a).map(|s| Scalar::String(s.to_owned())),
                aggregate::max_string(a).map(|s| Scalar::String(s.to_owned())),
                false,
            )
        }
        _ => (None, None, false),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Min,
    Max,
}

/// The JSON text of a bound, or `None` when it cannot be written as a true bound.
fn json_bound(value: &Scalar, side: Side) -> Option<String> {
    Some(match value {
        Scalar::Boolean(v) => v.to_string(),
        Scalar::Byte(v) => v.to_string(),
        Scalar::Short(v) => v.to_string(),
        Scalar::Integer(v) => v.to_string(),
        Scalar::Long(v) => v.to_string(),
        Scalar::Float(v) => float_json(f64::from(*v), format!("{v:?}"))?,
        Scalar::Double(v) => float_json(*v, format!("{v:?}"))?,
        Scalar::Decimal {
            value: unscaled, ..
        } => {
            if unscaled.unsigned_abs().checked_ilog10().unwrap_or(0) + 1 > MAX_DECIMAL_DIGITS {
                return None;
            }
            // Printed with the scale applied (`12.30`, `-0.05`): a JSON number.
            value.to_string()
        }
        Scalar::Date(days) => {
            let date = DateTime::from_timestamp(i64::from(*days) * 86_400, 0)?.date_naive();
            if !(0..=9999).contains(&chrono::Datelike::year(&date)) {
                return None;
            }
            json_string(&date.format("%Y-%m-%d").to_string())
        }
        Scalar::Timestamp(micros) => json_string(&format!("{}Z", timestamp_text(*micros)?)),
        Scalar::TimestampNtz(micros) => json_string(&timestamp_text(*micros)?),
        Scalar::String(s) => json_string(&match side {
            Side::Min => truncate_min(s).to_owned(),
            Side::Max => truncate_max(s)?,
        }),
        Scalar::Binary(_) | Scalar::Null(_) => return None,
    })
}

/// A finite float as a JSON number (`Debug` prints the shortest text that reads back exactly),
/// an infinity as a string, NaN not at all.
fn float_json(value: f64, text: String) -> Option<String> {
    if value.is_nan() {
        None
    } else if value == f64::INFINITY {
        Some("\"Infinity\"".to_owned())
    } else if value == f64::NEG_INFINITY {
        Some("\"-Infinity\"".to_owned())
    } else {
        Some(text)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` of a microsecond timestamp rounded down to the millisecond, for
/// years 0 to 9999 only.
fn timestamp_text(micros: i64) -> Option<String> {
    let millis = micros.div_euclid(1000);
    let time = DateTime::from_timestamp_millis(millis)?.naive_utc();
    let year = chrono::Datelike::year(&time);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(time.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A lower bound of `s` no longer than the prefix length: its prefix.
pub(crate) fn truncate_min(s: &str) -> &str {
    match s.char_indices().nth(STRING_PREFIX_LENGTH) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// An upper bound of `s` of about the prefix length: `s` itself when short enough, else a
/// prefix followed by a character above the one it cuts off. `None` when the text past the
/// prefix is a long run of `U+10FFFF`, above which nothing can follow.
pub(crate) fn truncate_max(s: &str) -> Option<String> {
    let chars: Vec<(usize, char)> = s
        .char_indices()
        .take(STRING_PREFIX_LENGTH + STRING_EXPANSION_LIMIT + 1)
        .collect();
    if chars.len() <= STRING_PREFIX_LENGTH {
        return Some(s.to_owned());
    }
    for &(at, cut) in chars.iter().skip(STRING_PREFIX_LENGTH) {
        let tie_breaker = if cut < '\u{7f}' {
            '\u{7f}'
        } else if cut < char::MAX {
            char::MAX
        } else {
            continue;
        };
        let mut out = s[..at].to_owned();
        out.push(tie_breaker);
        return Some(out);
    }
    None
}

/// An ordered JSON object under construction, holding already-rendered values.
#[derive(Debug, Default)]
struct JsonObject {
    entries: Vec<(String, JsonNode)>,
}

#[derive(Debug)]
enum JsonNode {
    Raw(String),
    Object(JsonObject),
}

impl JsonObject {
    fn insert(&mut self, path: &[String], value: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            self.entries.push((first.clone(), JsonNode::Raw(value)));
            return;
        }
        let position = self
            .entries
            .iter()
            .position(|(key, node)| key == first && matches!(node, JsonNode::Object(_)));
        let index = match position {
            Some(index) => index,
            None => {
                self.entries
                    .push((first.clone(), JsonNode::Object(JsonObject::default())));
                self.entries.len() - 1
            }
        };
        if let JsonNode::Object(child) = &mut self.entries[index].1 {
            child.insert(rest, value);
        }
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (key, node)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_string(key));
            out.push(':');
            match node {
                JsonNode::Raw(text) => out.push_str(text),
                JsonNode::Object(child) => child.write(out),
            }
        }
        out.push('}');
    }
}
