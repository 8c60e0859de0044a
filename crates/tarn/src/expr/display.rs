//! Writing expressions as SQL.
//!
//! This module decides the one text form of an expression, which [`Expr::parse`] reads back
//! to an equal expression: identifiers are double-quoted when they are not plain words or are
//! SQL keywords; literals carry their exact type (`3` is an `integer`, `CAST(3 AS BIGINT)` a
//! `long`, `1.5E0` a `double`, `DATE '2026-01-07'`); parentheses appear only where precedence
//! needs them. It never changes an expression's meaning for the sake of shorter text.

use std::fmt::{self, Write};

use sqlparser::keywords::ALL_KEYWORDS;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use super::literal::number_literal;
use super::{ArithmeticOp, Expr};

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self)
    }
}

/// Binding strength: a child binding less tightly than its position needs is parenthesized.
fn level(expr: &Expr) -> u8 {
    match expr {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        Expr::Not(_) => 3,
        Expr::IsNull { .. } => 4,
        Expr::Compare { .. } | Expr::In { .. } => 5,
        Expr::Arithmetic {
            op: ArithmeticOp::Add | ArithmeticOp::Sub,
            ..
        } => 6,
        Expr::Arithmetic { .. } => 7,
        Expr::Negate(_) => 8,
        Expr::Column(_) | Expr::Literal(_) | Expr::Null => 9,
    }
}

fn write_child(f: &mut impl Write, expr: &Expr, min_level: u8) -> fmt::Result {
    if level(expr) < min_level {
        f.write_char('(')?;
        write_expr(f, expr)?;
        f.write_char(')')
    } else {
        write_expr(f, expr)
    }
}

fn write_expr(f: &mut impl Write, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Column(path) => f.write_str(&column_sql(path)),
        Expr::Literal(scalar) => f.write_str(&literal_sql(scalar)),
        Expr::Null => f.write_str("NULL"),
        Expr::Compare { op, left, right } => {
            write_child(f, left, 6)?;
            write!(f, " {} ", op.as_sql())?;
            write_child(f, right, 6)
        }
        Expr::Arithmetic { op, left, right } => {
            let own = level(expr);
            write_child(f, left, own)?;
            write!(f, " {} ", op.as_sql())?;
            write_child(f, right, own + 1)
        }
        Expr::Negate(inner) => {
            f.write_char('-')?;
            if matches!(**inner, Expr::Column(_)) {
                write_expr(f, inner)
            } else {
                // `-(3)` stays a negation of the literal 3; `-3` would read as the literal -3.
                f.write_char('(')?;
                write_expr(f, inner)?;
                f.write_char(')')
            }
        }
        Expr::In {
            expr,
            list,
            negated,
        } => {
            write_child(f, expr, 6)?;
            f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, item)?;
            }
            f.write_char(')')
        }
        Expr::IsNull { expr, negated } => {
            write_child(f, expr, 6)?;
            f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
        }
        Expr::And(operands) => write_chain(f, operands, " AND ", 3, "TRUE"),
        Expr::Or(operands) => write_chain(f, operands, " OR ", 2, "FALSE"),
        Expr::Not(inner) => {
            f.write_str("NOT ")?;
            write_child(f, inner, 4)
        }
    }
}

/// The operands of an `AND` or `OR`, each parenthesized unless it binds at `min_level` or
/// tighter (a nested chain of the same operator is parenthesized too, so that it reads back
/// as the same tree); `empty` when there are none.
fn write_chain(
    f: &mut impl Write,
    operands: &[Expr],
    separator: &str,
    min_level: u8,
    empty: &str,
) -> fmt::Result {
    if operands.is_empty() {
        return f.write_str(empty);
    }
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_child(f, operand, min_level)?;
    }
    Ok(())
}

/// A column path as SQL: `a.b`, `"Company Very Short"`, `"a.b".c`.
pub(super) fn column_sql(path: &[String]) -> String {
    let segments: Vec<String> = path.iter().map(|segment| identifier_sql(segment)).collect();
    segments.join(".")
}

/// One identifier, double-quoted (inner quotes doubled) unless it is a plain word that reads
/// back as this identifier wherever a column can stand.
pub(super) fn identifier_sql(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let upper = name.to_ascii_uppercase();
    let keyword = ALL_KEYWORDS.contains(&upper.as_str());
    if plain
        && !ALWAYS_QUOTED.contains(&upper.as_str())
        && (!keyword || keyword_reads_as_identifier(name))
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Words quoted as column names for readers, even where the parser would take them bare.
const ALWAYS_QUOTED: &[&str] = &[
    "AND", "AS", "BETWEEN", "CASE", "CAST", "ELSE", "END", "EXISTS", "FALSE", "FROM", "IN",
    "INTERVAL", "IS", "LIKE", "NOT", "NULL", "OR", "SELECT", "THEN", "TRUE", "WHEN", "WHERE",
];

/// Whether a keyword (`value`, `day`, `date`) reads as a plain column name in every position
/// `Display` puts a column: it must parse in a probe expression exactly as a name that is not
/// a keyword does. Reserved words (`and`, `null`, `interval`) do not.
fn keyword_reads_as_identifier(name: &str) -> bool {
    const PROBE: &str = "zz_probe";
    let probe = |k: &str| {
        format!(
            "{k} IS NULL AND 1 = {k} OR NOT {k} AND -{k} > {k} * {k} % {k} AND {k} IN ({k}, 1) \
             AND x.{k} = {k}.x AND ({k} <> {k})"
        )
    };
    let (Ok(with_keyword), Ok(mut reference)) =
        (Expr::parse(&probe(name)), Expr::parse(&probe(PROBE)))
    else {
        return false;
    };
    reference.rename_segments(PROBE, name);
    with_keyword == reference
}

impl Expr {
    /// Renames every column path segment `from` to `to` (for the keyword probe).
    fn rename_segments(&mut self, from: &str, to: &str) {
        match self {
            Expr::Column(path) => {
                for segment in path.iter_mut().filter(|segment| segment.as_str() == from) {
                    *segment = to.to_owned();
                }
            }
            Expr::Literal(_) | Expr::Null => {}
            Expr::Compare { left, right, .. } | Expr::Arithmetic { left, right, .. } => {
                left.rename_segments(from, to);
                right.rename_segments(from, to);
            }
            Expr::And(operands) | Expr::Or(operands) => {
                for operand in operands {
                    operand.rename_segments(from, to);
                }
            }
            Expr::Negate(inner) | Expr::Not(inner) | Expr::IsNull { expr: inner, .. } => {
                inner.rename_segments(from, to)
            }
            Expr::In { expr, list, .. } => {
                expr.rename_segments(from, to);
                for item in list {
                    item.rename_segments(from, to);
                }
            }
        }
    }
}

/// A string as a SQL string literal, inner quotes doubled.
fn string_sql(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL type name [`Expr::parse`] reads back as `ty`, for `CAST(... AS ty)`.
pub(super) fn sql_type_name(ty: &PrimitiveType) -> String {
    match ty {
        PrimitiveType::Byte => "TINYINT".into(),
        PrimitiveType::Short => "SMALLINT".into(),
        PrimitiveType::Integer => "INT".into(),
        PrimitiveType::Long => "BIGINT".into(),
        PrimitiveType::Float => "FLOAT".into(),
        PrimitiveType::Double => "DOUBLE".into(),
        PrimitiveType::Decimal(d) => format!("DECIMAL({},{})", d.precision, d.scale),
        PrimitiveType::String => "STRING".into(),
        PrimitiveType::Binary => "BINARY".into(),
        PrimitiveType::Boolean => "BOOLEAN".into(),
        PrimitiveType::Date => "DATE".into(),
        PrimitiveType::Timestamp => "TIMESTAMP".into(),
        PrimitiveType::TimestampNtz => "TIMESTAMP_NTZ".into(),
    }
}

/// A literal as SQL that reads back as exactly this value and type.
pub(super) fn literal_sql(scalar: &Scalar) -> String {
    let cast = |text: &str| format!("CAST({text} AS {})", sql_type_name(&scalar.data_type()));
    match scalar {
        Scalar::Null(_) => cast("NULL"),
        Scalar::Boolean(v) => if *v { "TRUE" } else { "FALSE" }.into(),
        Scalar::Integer(v) => v.to_string(),
        Scalar::Long(v) if i32::try_from(*v).is_err() => v.to_string(),
        Scalar::Byte(_) | Scalar::Short(_) | Scalar::Long(_) => cast(&scalar.to_string()),
        Scalar::Float(v) if v.is_finite() => cast(&scalar.to_string()),
        Scalar::Double(v) if v.is_finite() => {
            let text = scalar.to_string();
            if text.contains('E') {
                text
            } else {
                format!("{text}E0")
            }
        }
        // NaN and the infinities have no number form.
        Scalar::Float(_) | Scalar::Double(_) => cast(&string_sql(&scalar.to_string())),
        Scalar::Decimal { .. } => {
            let text = scalar.to_string();
            if number_literal(&text).as_ref() == Ok(scalar) {
                text
            } else {
                cast(&text)
            }
        }
        Scalar::String(text) => string_sql(text),
        // `X'0A0B'`.
        Scalar::Binary(_) => scalar.to_string(),
        Scalar::Date(_) => format!("DATE {}", string_sql(&scalar.to_string())),
        Scalar::Timestamp(_) => format!("TIMESTAMP {}", string_sql(&scalar.to_string())),
        Scalar::TimestampNtz(_) => format!("TIMESTAMP_NTZ {}", string_sql(&scalar.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_protocol::schema::DecimalType;

    fn dec(value: i128, precision: u8, scale: u8) -> Scalar {
        Scalar::Decimal {
            value,
            precision,
            scale,
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(identifier_sql("value"), "value");
        assert_eq!(identifier_sql("_x1"), "_x1");
        assert_eq!(
            identifier_sql("Company Very Short"),
            "\"Company Very Short\""
        );
        assert_eq!(identifier_sql("a.b"), "\"a.b\"");
        assert_eq!(identifier_sql("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(identifier_sql("select"), "\"select\"");
        assert_eq!(identifier_sql("AND"), "\"AND\"");
        assert_eq!(identifier_sql("null"), "\"null\"");
        assert_eq!(identifier_sql("interval"), "\"interval\"");
        assert_eq!(identifier_sql("day"), "day");
        assert_eq!(identifier_sql("date"), "date");
        assert_eq!(identifier_sql("1a"), "\"1a\"");
        assert_eq!(column_sql(&["a".into(), "b c".into()]), "a.\"b c\"");
    }

    #[test]
    fn literals() {
        let cases: Vec<(Scalar, &str)> = vec![
            (Scalar::Integer(-3), "-3"),
            (Scalar::Long(5), "CAST(5 AS BIGINT)"),
            (Scalar::Long(5_000_000_000), "5000000000"),
            (Scalar::Byte(-128), "CAST(-128 AS TINYINT)"),
            (Scalar::Short(7), "CAST(7 AS SMALLINT)"),
            (Scalar::Double(1.5), "1.5E0"),
            (Scalar::Double(1e10), "1.0E10"),
            (Scalar::Double(f64::NAN), "CAST('NaN' AS DOUBLE)"),
            (Scalar::Float(0.1), "CAST(0.1 AS FLOAT)"),
            (
                Scalar::Float(f32::NEG_INFINITY),
                "CAST('-Infinity' AS FLOAT)",
            ),
            (dec(1230, 4, 2), "12.30"),
            (dec(1230, 10, 2), "CAST(12.30 AS DECIMAL(10,2))"),
            (dec(7, 1, 0), "CAST(7 AS DECIMAL(1,0))"),
            (Scalar::from("it's"), "'it''s'"),
            (Scalar::Binary(vec![1, 2]), "X'0102'"),
            (Scalar::Date(0), "DATE '1970-01-01'"),
            (Scalar::Timestamp(0), "TIMESTAMP '1970-01-01T00:00:00Z'"),
            (
                Scalar::TimestampNtz(0),
                "TIMESTAMP_NTZ '1970-01-01T00:00:00'",
            ),
            (Scalar::Null(PrimitiveType::Long), "CAST(NULL AS BIGINT)"),
            (
                Scalar::Null(PrimitiveType::Decimal(DecimalType {
                    precision: 5,
                    scale: 1,
                })),
                "CAST(NULL AS DECIMAL(5,1))",
            ),
            (Scalar::Boolean(true), "TRUE"),
        ];
        for (scalar, sql) in cases {
            assert_eq!(literal_sql(&scalar), sql, "{scalar:?}");
        }
    }

    #[test]
    fn precedence() {
        let a = || Expr::column("a");
        let b = || Expr::column("b");
        let one = || Expr::literal(1);
        assert_eq!(
            a().eq(one()).and(b().is_null()).to_string(),
            "a = 1 AND b IS NULL"
        );
        assert_eq!(
            a().eq(one()).or(b().eq(one())).and(a()).to_string(),
            "(a = 1 OR b = 1) AND a"
        );
        // Chains are flat: associativity needs no parentheses.
        assert_eq!(a().and(b().and(a())).to_string(), "a AND b AND a");
        assert_eq!(a().or(b()).or(a().or(b())).to_string(), "a OR b OR a OR b");
        assert_eq!(
            a().or(b()).and(a().or(b())).to_string(),
            "(a OR b) AND (a OR b)"
        );
        assert_eq!(Expr::all([]).to_string(), "TRUE");
        assert_eq!(Expr::any([]).to_string(), "FALSE");
        assert_eq!(Expr::And(vec![a()]).to_string(), "a");
        assert_eq!((!a().eq(one())).to_string(), "NOT a = 1");
        assert_eq!((!(a().and(b()))).to_string(), "NOT (a AND b)");
        assert_eq!(((a() + b()) * one()).to_string(), "(a + b) * 1");
        assert_eq!((a() - (b() - one())).to_string(), "a - (b - 1)");
        assert_eq!((a() - b() - one()).to_string(), "a - b - 1");
        assert_eq!((-a()).to_string(), "-a");
        assert_eq!((-Expr::literal(3)).to_string(), "-(3)");
        assert_eq!(a().eq(one()).is_null().to_string(), "(a = 1) IS NULL");
        assert_eq!(
            a().not_in_list([one(), Expr::null()]).to_string(),
            "a NOT IN (1, NULL)"
        );
        assert_eq!(
            Expr::column_path(["Company Very Short"])
                .gt(Expr::literal(3))
                .to_string(),
            "\"Company Very Short\" > 3"
        );
    }
}
