//! Expressions: predicates and projections over table columns.
//!
//! An [`Expr`] is a small SQL expression tree: column references, literals, comparisons,
//! `IN`, `IS [NOT] NULL`, `AND`/`OR`/`NOT` and numeric arithmetic. This module decides
//!
//! - how such an expression is written and read as SQL text ([`Expr::parse`], `Display`),
//! - whether it makes sense for a table schema and what type it has ([`Expr::validate`],
//!   [`Expr::resolve`]),
//! - its value on an Arrow batch under SQL's three-valued logic ([`Expr::evaluate`],
//!   [`Expr::evaluate_predicate`]),
//! - whether statistics (file stats, row-group stats, partition values) prove that no row can
//!   satisfy it ([`Expr::could_match`], [`StatsView`]).
//!
//! It never reads data or statistics itself: callers hand in batches and [`StatsView`]s. And
//! data skipping must never drop a row the predicate would select: [`Expr::could_match`]
//! answers `false` only when the statistics prove it.
//!
//! ## Semantics in brief (Spark's, where they differ from plain SQL)
//!
//! - Comparisons with a null give null; `AND`/`OR` are Kleene; `NOT null` is null; a filter
//!   keeps only rows where the predicate is `true`.
//! - Floating point: `NaN` equals `NaN` and is greater than every other value, `-0.0` equals
//!   `0.0`.
//! - A literal compared with a column is converted to the column's type, exactly: `int_col =
//!   3.5` is false (not `int_col = 3`), `int_col < 3.5` is `int_col <= 3`, `byte_col < 1000` is
//!   true for every non-null row. A string literal is read as the column's type
//!   (`day = '2026-01-07'` on a `date` column). Decimal and integer literals compared with a
//!   float column are first rounded to `double`, as Spark casts them.
//! - `timestamp_ntz` values compared with `timestamp` values are read as UTC wall-clock time.

mod arrow_scalar;
mod coerce;
mod compare;
mod display;
mod error;
mod eval;
mod float_order;
mod literal;
mod lookup;
mod parse;
mod stats;
mod types;

#[cfg(test)]
mod tests;

use std::ops;

/// How deeply an expression may nest ([`Expr::depth`]). `AND` and `OR` chains are flat, so a
/// predicate of thousands of terms is within it; nesting this deep by hand is not a real
/// query, and deeper trees would risk the stack of every recursive pass.
pub const MAX_DEPTH: usize = 64;

use tarn_protocol::scalar::Scalar;

pub use error::ExprError;
pub use float_order::normalize_floats;
pub use parse::MAX_EXPRESSION_BYTES;
pub use stats::StatsView;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>` (also written `!=`)
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CompareOp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn flip(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Eq,
            CompareOp::NotEq => CompareOp::NotEq,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::LtEq => CompareOp::GtEq,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::GtEq => CompareOp::LtEq,
        }
    }

    /// The operator that is true exactly where this one is false (for non-null operands):
    /// `NOT (a < b)` is `a >= b`. Comparisons are a total order here (NaN is the largest
    /// value), so this holds for floats too.
    pub fn negate(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::NotEq,
            CompareOp::NotEq => CompareOp::Eq,
            CompareOp::Lt => CompareOp::GtEq,
            CompareOp::LtEq => CompareOp::Gt,
            CompareOp::Gt => CompareOp::LtEq,
            CompareOp::GtEq => CompareOp::Lt,
        }
    }

    /// The SQL spelling: `=`, `<>`, `<`, `<=`, `>`, `>=`.
    pub fn as_sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "<>",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
        }
    }
}

/// A binary arithmetic operator on numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithmeticOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`: integer operands divide as `double`, as in Spark.
    Div,
    /// `%`: remainder, with the sign of the dividend.
    Rem,
}

impl ArithmeticOp {
    /// The SQL spelling: `+`, `-`, `*`, `/`, `%`.
    pub fn as_sql(self) -> &'static str {
        match self {
            ArithmeticOp::Add => "+",
            ArithmeticOp::Sub => "-",
            ArithmeticOp::Mul => "*",
            ArithmeticOp::Div => "/",
            ArithmeticOp::Rem => "%",
        }
    }
}

/// An expression over the columns of a table.
///
/// Build one with [`Expr::parse`] or the constructors ([`Expr::column`], [`Expr::literal`],
/// [`Expr::eq`], [`Expr::and`], the `!`, `+`, `-`, `*`, `/`, `%` operators, ...). `Display`
/// writes SQL that [`Expr::parse`] reads back to an equal expression.
///
/// Equality is structural; a literal `NaN` is unequal to itself, as [`Scalar`]s are.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A column, by its logical path: `["a", "b"]` is field `b` of struct column `a`.
    Column(Vec<String>),
    /// A typed literal, possibly a typed null (`CAST(NULL AS BIGINT)`).
    Literal(Scalar),
    /// The untyped `NULL` literal; it takes the type of whatever it meets.
    Null,
    /// `left op right`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The left operand.
        left: Box<Expr>,
        /// The right operand.
        right: Box<Expr>,
    },
    /// `left op right` on numbers.
    Arithmetic {
        /// The operator.
        op: ArithmeticOp,
        /// The left operand.
        left: Box<Expr>,
        /// The right operand.
        right: Box<Expr>,
    },
    /// `-expr` on a number.
    Negate(Box<Expr>),
    /// `expr [NOT] IN (list...)`: `expr = item` for each item, joined by `OR`. The list must
    /// not be empty for the expression to print as parseable SQL.
    In {
        /// The value looked up.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr IS [NOT] NULL`; never null itself.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `a AND b AND ...`, Kleene logic: false if any operand is false, else null if any is
    /// null, else true (true with no operands). Held flat, so that a predicate of thousands
    /// of terms is one level deep; [`Expr::and`] keeps it so.
    And(Vec<Expr>),
    /// `a OR b OR ...`, Kleene logic: true if any operand is true, else null if any is null,
    /// else false (false with no operands). Held flat; [`Expr::or`] keeps it so.
    Or(Vec<Expr>),
    /// `NOT expr`; `NOT NULL` is null.
    Not(Box<Expr>),
}

impl Expr {
    /// A column by its dotted path: `"a.b"` is field `b` of struct `a`. For a name that
    /// contains a dot, use [`Expr::column_path`].
    pub fn column(path: &str) -> Expr {
        Expr::Column(path.split('.').map(str::to_owned).collect())
    }

    /// A column by its path segments, each taken as is: `column_path(["Company.Name"])` is one
    /// top-level column whose name contains a dot.
    pub fn column_path<I, S>(segments: I) -> Expr
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Expr::Column(segments.into_iter().map(Into::into).collect())
    }

    /// A typed literal: `Expr::literal(3)`, `Expr::literal("x")`,
    /// `Expr::literal(Scalar::Date(20_000))`.
    pub fn literal(value: impl Into<Scalar>) -> Expr {
        Expr::Literal(value.into())
    }

    /// The untyped `NULL` literal.
    pub fn null() -> Expr {
        Expr::Null
    }

    /// `self op other`.
    pub fn compare(self, op: CompareOp, other: Expr) -> Expr {
        Expr::Compare {
            op,
            left: Box::new(self),
            right: Box::new(other),
        }
    }

    /// `self = other`.
    pub fn eq(self, other: Expr) -> Expr {
        self.compare(CompareOp::Eq, other)
    }

    /// `self <> other`.
    pub fn ne(self, other: Expr) -> Expr {
        self.compare(CompareOp::NotEq, other)
    }

    /// `self < other`.
    pub fn lt(self, other: Expr) -> Expr {
        self.compare(CompareOp::Lt, other)
    }

    /// `self <= other`.
    pub fn le(self, other: Expr) -> Expr {
        self.compare(CompareOp::LtEq, other)
    }

    /// `self > other`.
    pub fn gt(self, other: Expr) -> Expr {
        self.compare(CompareOp::Gt, other)
    }

    /// `self >= other`.
    pub fn ge(self, other: Expr) -> Expr {
        self.compare(CompareOp::GtEq, other)
    }

    /// `self AND other`, flattened: `(a AND b).and(c)` is `a AND b AND c`.
    pub fn and(self, other: Expr) -> Expr {
        Expr::all([self, other])
    }

    /// `self OR other`, flattened: `(a OR b).or(c)` is `a OR b OR c`.
    pub fn or(self, other: Expr) -> Expr {
        Expr::any([self, other])
    }

    /// The conjunction of `operands`, flattened (operands that are themselves `AND`s are
    /// spliced in). One operand is returned as is; none gives `TRUE`.
    pub fn all(operands: impl IntoIterator<Item = Expr>) -> Expr {
        let mut flat = Vec::new();
        for operand in operands {
            match operand {
                Expr::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Expr::literal(true),
            1 => flat.pop().unwrap_or(Expr::Null),
            _ => Expr::And(flat),
        }
    }

    /// The disjunction of `operands`, flattened (operands that are themselves `OR`s are
    /// spliced in). One operand is returned as is; none gives `FALSE`.
    pub fn any(operands: impl IntoIterator<Item = Expr>) -> Expr {
        let mut flat = Vec::new();
        for operand in operands {
            match operand {
                Expr::Or(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Expr::literal(false),
            1 => flat.pop().unwrap_or(Expr::Null),
            _ => Expr::Or(flat),
        }
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: false,
        }
    }

    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: true,
        }
    }

    /// `self IN (list...)`; `list` should not be empty (see [`Expr::In`]).
    pub fn in_list(self, list: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::In {
            expr: Box::new(self),
            list: list.into_iter().collect(),
            negated: false,
        }
    }

    /// `self NOT IN (list...)`; `list` should not be empty (see [`Expr::In`]).
    pub fn not_in_list(self, list: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::In {
            expr: Box::new(self),
            list: list.into_iter().collect(),
            negated: true,
        }
    }

    /// `self BETWEEN low AND high`, built as `self >= low AND self <= high`.
    pub fn between(self, low: Expr, high: Expr) -> Expr {
        self.clone().ge(low).and(self.le(high))
    }

    /// `self NOT BETWEEN low AND high`, built as `self < low OR self > high` (the same rows
    /// under three-valued logic as `NOT (self >= low AND self <= high)`).
    pub fn not_between(self, low: Expr, high: Expr) -> Expr {
        self.clone().lt(low).or(self.gt(high))
    }

    /// `self op other` on numbers.
    pub fn arithmetic(self, op: ArithmeticOp, other: Expr) -> Expr {
        Expr::Arithmetic {
            op,
            left: Box::new(self),
            right: Box::new(other),
        }
    }

    /// The distinct column paths the expression reads, in order of first appearance.
    pub fn referenced_columns(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        self.visit_columns(&mut |path| {
            if !out.iter().any(|seen| seen.as_slice() == path) {
                out.push(path.to_vec());
            }
        });
        out
    }

    /// Calls `f` with every column path, in order, duplicates included.
    fn visit_columns(&self, f: &mut impl FnMut(&[String])) {
        match self {
            Expr::Column(path) => f(path),
            Expr::Literal(_) | Expr::Null => {}
            Expr::Compare { left, right, .. } | Expr::Arithmetic { left, right, .. } => {
                left.visit_columns(f);
                right.visit_columns(f);
            }
            Expr::Negate(inner) | Expr::Not(inner) | Expr::IsNull { expr: inner, .. } => {
                inner.visit_columns(f)
            }
            Expr::In { expr, list, .. } => {
                expr.visit_columns(f);
                for item in list {
                    item.visit_columns(f);
                }
            }
            Expr::And(operands) | Expr::Or(operands) => {
                for operand in operands {
                    operand.visit_columns(f);
                }
            }
        }
    }

    /// How deeply the expression nests: 1 for a column or literal, one more for each operator
    /// above it (an `AND` or `OR` of any number of operands counts once). Computed without
    /// recursion, so that it can guard the recursive passes.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut pending: Vec<(&Expr, usize)> = vec![(self, 1)];
        while let Some((expr, depth)) = pending.pop() {
            deepest = deepest.max(depth);
            let below = depth + 1;
            match expr {
                Expr::Column(_) | Expr::Literal(_) | Expr::Null => {}
                Expr::Compare { left, right, .. } | Expr::Arithmetic { left, right, .. } => {
                    pending.push((left, below));
                    pending.push((right, below));
                }
                Expr::Negate(inner) | Expr::Not(inner) | Expr::IsNull { expr: inner, .. } => {
                    pending.push((inner, below))
                }
                Expr::In { expr, list, .. } => {
                    pending.push((expr, below));
                    pending.extend(list.iter().map(|item| (item, below)));
                }
                Expr::And(operands) | Expr::Or(operands) => {
                    pending.extend(operands.iter().map(|operand| (operand, below)));
                }
            }
        }
        deepest
    }

    /// Fails if the expression nests deeper than [`MAX_DEPTH`]: every pass over an expression
    /// recurses, and a deep enough tree would overflow the stack.
    pub(crate) fn check_depth(&self) -> Result<(), ExprError> {
        let depth = self.depth();
        if depth > MAX_DEPTH {
            return Err(ExprError::TooDeep {
                depth,
                limit: MAX_DEPTH,
            });
        }
        Ok(())
    }

    /// Whether the expression reads no column (its value is the same on every row).
    fn is_constant(&self) -> bool {
        let mut constant = true;
        self.visit_columns(&mut |_| constant = false);
        constant
    }
}

impl ops::Not for Expr {
    type Output = Expr;

    /// `NOT self`.
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

impl ops::Neg for Expr {
    type Output = Expr;

    /// `-self`.
    fn neg(self) -> Expr {
        Expr::Negate(Box::new(self))
    }
}

macro_rules! arithmetic_operator {
    ($($trait:ident $method:ident $op:ident),* $(,)?) => {
        $(
            impl ops::$trait for Expr {
                type Output = Expr;

                #[doc = concat!("`self ", stringify!($op), " rhs` (see [`ArithmeticOp`]).")]
                fn $method(self, rhs: Expr) -> Expr {
                    self.arithmetic(ArithmeticOp::$op, rhs)
                }
            }
        )*
    };
}

arithmetic_operator!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Rem);
