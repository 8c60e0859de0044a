//! Data skipping: can statistics rule out every row?
//!
//! This module decides, from a [`StatsView`] (file statistics, Parquet row-group statistics,
//! or partition values presented as statistics), whether a predicate could select any row. It
//! must never answer "no" unless the statistics prove it: a wrong "no" loses rows.
//!
//! ## Reasoning
//!
//! Each predicate node gets two over-approximations: *may be true* (some row might make it
//! true) and *may be false* (some row might make it false). A row where it is null is neither,
//! and a filter selects only rows where it is true, so [`Expr::could_match`] is *may be true*
//! of the whole predicate. The rules are exact consequences of three-valued logic:
//!
//! - `a AND b` may be true if both may be; may be false if either may be.
//! - `a OR b` may be true if either may be; may be false if both may be.
//! - `NOT a` swaps the two: `NOT (x > 5)` may be true exactly when `x > 5` may be false, that
//!   is when some non-null `x <= 5` may exist. A row where `x` is null is not selected by
//!   `x > 5` nor by `NOT (x > 5)`, so no null case needs special handling.
//! - `x IN (v1, v2)` is `x = v1 OR x = v2`; `NOT IN` its negation.
//! - `column op literal` over the bounds `[min, max]` of the non-null values: `x = v` may be
//!   true if `min <= v <= max`; `x <> v` unless `min = max = v` (nulls never satisfy `<>`);
//!   `x < v` if `min < v`; `x > v` if `max > v`; and so on. It may be false when the opposite
//!   comparison may be true. The literal is first placed exactly among the column's values
//!   (`int_col < 3.5` is `int_col <= 3`; `byte_col < 1000` is true for every non-null row).
//! - A column whose values are all null (`null_count = num_records`) makes every comparison
//!   null: neither true nor false.
//! - `x IS NULL` may be true unless `null_count = 0`; may be false unless
//!   `null_count = num_records`. `IS NOT NULL` swaps them.
//! - A subexpression without columns is evaluated.
//! - Anything else (arithmetic on columns, two columns compared, missing statistics) may be
//!   both.
//!
//! Float and double statistics may leave NaN out (Parquet writers do; Delta-Spark counts NaN
//! as the largest value), and NaN is larger than every number here, so the maximum of a float
//! column is never trusted: it is taken to be NaN. A NaN minimum is ignored too.

use tarn_protocol::scalar::Scalar;

use super::coerce::{
    Domain, DomainValue, Rewritten, bound, compare_values, holds, own_value, rewrite,
};
use super::eval::fold_constant;
use super::{CompareOp, Expr};

/// Statistics about a set of rows (a file, a row group, a partition), by column path.
///
/// The contract every implementation must keep, because data skipping relies on it:
///
/// - `min` and `max`, when given, bound every non-null value of the column: `min <= v <= max`
///   in the column type's order. They may be wider than the data (truncated strings, rounded
///   values), never narrower. Statistics stored with less precision than the column must be
///   widened by the implementation (for example Delta's millisecond-truncated timestamp
///   maxima need 999 µs added). For float and double columns they may ignore NaN.
/// - They are values of the column's type; a null or absent value means "unknown".
/// - `null_count` counts the rows where the value at that path is null, including rows where
///   a parent struct is null; `num_records` counts all rows.
/// - Any method may answer `None` for "unknown"; unknown never causes skipping.
///
/// Partition values are statistics too: a file whose partition value is `v` has
/// `min = max = v` and `null_count = 0`, or for a null value `null_count = num_records` and no
/// `min`/`max`.
pub trait StatsView {
    /// How many rows there are.
    fn num_records(&self) -> Option<i64>;
    /// A lower bound of the column's non-null values.
    fn min(&self, column: &[String]) -> Option<Scalar>;
    /// An upper bound of the column's non-null values.
    fn max(&self, column: &[String]) -> Option<Scalar>;
    /// How many rows have a null at the column.
    fn null_count(&self, column: &[String]) -> Option<i64>;

    /// Whether every row has a null at the column; `None` when unknown. Worked out from the
    /// counts by default; a source that knows it without counts (a null partition value in a
    /// file without statistics) overrides it.
    fn all_null(&self, column: &[String]) -> Option<bool> {
        match (self.null_count(column), self.num_records()) {
            (Some(nulls), Some(rows)) => Some(nulls >= rows),
            _ => None,
        }
    }
}

/// What a predicate can be on the rows the statistics describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcomes {
    /// Some row might make it true.
    may_be_true: bool,
    /// Some row might make it false.
    may_be_false: bool,
}

const UNKNOWN: Outcomes = Outcomes {
    may_be_true: true,
    may_be_false: true,
};

/// Null on every row.
const NEVER: Outcomes = Outcomes {
    may_be_true: false,
    may_be_false: false,
};

impl Outcomes {
    fn constant(value: bool) -> Outcomes {
        Outcomes {
            may_be_true: value,
            may_be_false: !value,
        }
    }

    fn negated(self) -> Outcomes {
        Outcomes {
            may_be_true: self.may_be_false,
            may_be_false: self.may_be_true,
        }
    }
}

impl Expr {
    /// Whether any row described by `stats` could satisfy this predicate.
    ///
    /// `false` only when the statistics prove that no row can (see the module docs for the
    /// reasoning); `true` whenever in doubt. The expression should be [`Expr::resolve`]d first
    /// so that column paths match the names the statistics use.
    pub fn could_match(&self, stats: &dyn StatsView) -> bool {
        if stats.num_records() == Some(0) {
            return false;
        }
        self.outcomes(stats).may_be_true
    }

    fn outcomes(&self, stats: &dyn StatsView) -> Outcomes {
        if self.is_constant() {
            return match fold_constant(self) {
                Ok(Some(Scalar::Boolean(value))) => Outcomes::constant(value),
                Ok(None) => NEVER,
                _ => UNKNOWN,
            };
        }
        match self {
            Expr::Column(path) => boolean_column(stats, path),
            Expr::Compare { op, left, right } => comparison(stats, *op, left, right),
            Expr::In {
                expr,
                list,
                negated,
            } => {
                // The column's bounds once, not once per item.
                let bounds = match expr.as_ref() {
                    Expr::Column(path) if !all_null(stats, path) => Some(bounds(stats, path)),
                    _ => None,
                };
                let mut any = Outcomes {
                    may_be_true: false,
                    may_be_false: true,
                };
                for item in list {
                    let equal = match (&bounds, item.is_constant()) {
                        (Some(bounds), true) => match fold_constant(item) {
                            Ok(Some(literal)) => {
                                with_literal(bounds.as_ref(), CompareOp::Eq, &literal)
                            }
                            Ok(None) => NEVER,
                            Err(_) => UNKNOWN,
                        },
                        _ => comparison(stats, CompareOp::Eq, expr, item),
                    };
                    any.may_be_true |= equal.may_be_true;
                    any.may_be_false &= equal.may_be_false;
                }
                if *negated { any.negated() } else { any }
            }
            Expr::IsNull { expr, negated } => {
                let outcomes = match expr.as_ref() {
                    Expr::Column(path) => is_null(stats, path),
                    _ => UNKNOWN,
                };
                if *negated {
                    outcomes.negated()
                } else {
                    outcomes
                }
            }
            Expr::And(operands) => operands.iter().fold(
                Outcomes {
                    may_be_true: true,
                    may_be_false: false,
                },
                |acc, operand| {
                    let o = operand.outcomes(stats);
                    Outcomes {
                        may_be_true: acc.may_be_true && o.may_be_true,
                        may_be_false: acc.may_be_false || o.may_be_false,
                    }
                },
            ),
            Expr::Or(operands) => operands.iter().fold(
                Outcomes {
                    may_be_true: false,
                    may_be_false: true,
                },
                |acc, operand| {
                    let o = operand.outcomes(stats);
                    Outcomes {
                        may_be_true: acc.may_be_true || o.may_be_true,
                        may_be_false: acc.may_be_false && o.may_be_false,
                    }
                },
            ),
            Expr::Not(inner) => inner.outcomes(stats).negated(),
            Expr::Literal(_) | Expr::Null | Expr::Arithmetic { .. } | Expr::Negate(_) => UNKNOWN,
        }
    }
}

/// Whether every row has a null at `path`.
fn all_null(stats: &dyn StatsView, path: &[String]) -> bool {
    stats.all_null(path) == Some(true)
}

/// Whether some column that nulls propagate from (through arithmetic) is null on every row,
/// which makes the whole operand null on every row.
fn null_operand(stats: &dyn StatsView, expr: &Expr) -> bool {
    match expr {
        Expr::Column(path) => all_null(stats, path),
        Expr::Arithmetic { left, right, .. } => {
            null_operand(stats, left) || null_operand(stats, right)
        }
        Expr::Negate(inner) => null_operand(stats, inner),
        _ => false,
    }
}

/// `left op right`.
fn comparison(stats: &dyn StatsView, op: CompareOp, left: &Expr, right: &Expr) -> Outcomes {
    if null_operand(stats, left) || null_operand(stats, right) {
        return NEVER;
    }
    let (op, path, constant) = match (left, right) {
        (Expr::Column(path), other) if other.is_constant() => (op, path, other),
        (other, Expr::Column(path)) if other.is_constant() => (op.flip(), path, other),
        _ if left.is_constant() && right.is_constant() => {
            return match fold_constant(&left.clone().compare(op, right.clone())) {
                Ok(Some(Scalar::Boolean(value))) => Outcomes::constant(value),
                Ok(None) => NEVER,
                _ => UNKNOWN,
            };
        }
        _ => return UNKNOWN,
    };
    match fold_constant(constant) {
        Ok(Some(literal)) => with_literal(bounds(stats, path).as_ref(), op, &literal),
        Ok(None) => NEVER,
        Err(_) => UNKNOWN,
    }
}

/// The statistics' bounds of a column, as values of the statistics' type's domain.
struct Bounds {
    domain: Domain,
    low: Option<DomainValue>,
    high: Option<DomainValue>,
}

fn bounds(stats: &dyn StatsView, path: &[String]) -> Option<Bounds> {
    let min = stats.min(path).filter(|s| !s.is_null());
    let max = stats.max(path).filter(|s| !s.is_null());
    let ty = min.as_ref().or(max.as_ref())?.data_type();
    let domain = Domain::of_primitive(ty);
    let same_type = |s: Option<Scalar>| s.filter(|s| s.data_type() == ty);
    let mut low = same_type(min).as_ref().and_then(own_value);
    let mut high = same_type(max).as_ref().and_then(own_value);
    match domain {
        // NaN may be missing from the statistics and is the largest value.
        Domain::Float32 => high = Some(DomainValue::F32(f32::NAN)),
        Domain::Float64 => high = Some(DomainValue::F64(f64::NAN)),
        _ => {}
    }
    let nan = |v: &DomainValue| match v {
        DomainValue::F32(v) => v.is_nan(),
        DomainValue::F64(v) => v.is_nan(),
        _ => false,
    };
    if low.as_ref().is_some_and(nan) {
        low = None;
    }
    Some(Bounds { domain, low, high })
}

/// `column op literal` (the literal not null, the column not all null), given the column's
/// bounds.
fn with_literal(bounds: Option<&Bounds>, op: CompareOp, literal: &Scalar) -> Outcomes {
    let Some(bounds) = bounds else {
        return UNKNOWN;
    };
    let Ok(placed) = bound(literal, &bounds.domain) else {
        return UNKNOWN;
    };
    match rewrite(op, placed) {
        // True (or false) for every non-null row, and some row may be non-null.
        Rewritten::Constant(value) => Outcomes::constant(value),
        Rewritten::Compare(op, value) => Outcomes {
            may_be_true: possible(op, bounds, &value),
            may_be_false: possible(op.negate(), bounds, &value),
        },
    }
}

/// Whether some value in `[low, high]` may satisfy `value_in_column op value`.
fn possible(op: CompareOp, bounds: &Bounds, value: &DomainValue) -> bool {
    // Whether `bound op' value` may hold; unknown bounds may.
    let may = |bound: &Option<DomainValue>, op: CompareOp| {
        bound
            .as_ref()
            .and_then(|bound| compare_values(bound, value))
            .is_none_or(|order| holds(op, order))
    };
    match op {
        CompareOp::Eq => may(&bounds.low, CompareOp::LtEq) && may(&bounds.high, CompareOp::GtEq),
        CompareOp::NotEq => {
            let pinned = |bound: &Option<DomainValue>| {
                bound
                    .as_ref()
                    .and_then(|bound| compare_values(bound, value))
                    .is_some_and(|order| order.is_eq())
            };
            !(pinned(&bounds.low) && pinned(&bounds.high))
        }
        CompareOp::Lt => may(&bounds.low, CompareOp::Lt),
        CompareOp::LtEq => may(&bounds.low, CompareOp::LtEq),
        CompareOp::Gt => may(&bounds.high, CompareOp::Gt),
        CompareOp::GtEq => may(&bounds.high, CompareOp::GtEq),
    }
}

/// A boolean column used as a predicate.
fn boolean_column(stats: &dyn StatsView, path: &[String]) -> Outcomes {
    if all_null(stats, path) {
        return NEVER;
    }
    let Some(bounds) = bounds(stats, path) else {
        return UNKNOWN;
    };
    if bounds.domain != Domain::Boolean {
        return UNKNOWN;
    }
    Outcomes {
        may_be_true: possible(CompareOp::Eq, &bounds, &DomainValue::Bool(true)),
        may_be_false: possible(CompareOp::Eq, &bounds, &DomainValue::Bool(false)),
    }
}

/// `column IS NULL`.
fn is_null(stats: &dyn StatsView, path: &[String]) -> Outcomes {
    Outcomes {
        may_be_true: stats.null_count(path) != Some(0),
        may_be_false: !all_null(stats, path),
    }
}
