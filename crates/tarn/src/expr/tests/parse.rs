//! Parsing: the accepted grammar, literal types, and error positions.

use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use crate::expr::{CompareOp, Expr, ExprError};

fn parse(sql: &str) -> Expr {
    Expr::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn col(path: &str) -> Expr {
    Expr::column(path)
}

fn lit(value: impl Into<Scalar>) -> Expr {
    Expr::literal(value)
}

fn typed(text: &str, ty: PrimitiveType) -> Expr {
    Expr::Literal(parse_partition_value("t", Some(text), ty).unwrap())
}

#[test]
fn the_issue_example() {
    assert_eq!(
        parse("day = '2026-01-07' AND value > 3"),
        col("day")
            .eq(lit("2026-01-07"))
            .and(col("value").gt(lit(3)))
    );
}

#[test]
fn columns() {
    assert_eq!(parse("a.b.c"), Expr::column_path(["a", "b", "c"]));
    assert_eq!(
        parse("\"Company Very Short\""),
        Expr::column_path(["Company Very Short"])
    );
    assert_eq!(parse("`a.b` = 1"), Expr::column_path(["a.b"]).eq(lit(1)));
    assert_eq!(parse("a.\"b.c\""), Expr::column_path(["a", "b.c"]));
    assert_eq!(
        parse("\"say \"\"hi\"\"\""),
        Expr::column_path(["say \"hi\""])
    );
    assert_eq!(parse("Value"), Expr::column_path(["Value"]));
    assert_eq!(parse("(((a)))"), col("a"));
}

#[test]
fn literals() {
    let cases: Vec<(&str, Expr)> = vec![
        ("3", lit(3)),
        ("-3", lit(-3)),
        ("+3", lit(3)),
        ("3000000000", lit(3_000_000_000i64)),
        ("-2147483648", lit(i32::MIN)),
        (
            "3.5",
            Expr::Literal(Scalar::Decimal {
                value: 35,
                precision: 2,
                scale: 1,
            }),
        ),
        ("3.5E0", lit(3.5f64)),
        ("1e3", lit(1000.0f64)),
        ("'it''s'", lit("it's")),
        ("''", lit("")),
        ("TRUE", lit(true)),
        ("false", lit(false)),
        ("NULL", Expr::Null),
        ("x'0102'", lit(vec![1u8, 2])),
        ("X''", lit(Vec::<u8>::new())),
        (
            "DATE '2026-01-07'",
            typed("2026-01-07", PrimitiveType::Date),
        ),
        (
            "TIMESTAMP '2026-01-07 10:00:00'",
            typed("2026-01-07T10:00:00Z", PrimitiveType::Timestamp),
        ),
        (
            "TIMESTAMP '2026-01-07 12:00:00+02:00'",
            typed("2026-01-07T10:00:00Z", PrimitiveType::Timestamp),
        ),
        (
            "TIMESTAMP_NTZ '2026-01-07 10:00:00'",
            typed("2026-01-07 10:00:00", PrimitiveType::TimestampNtz),
        ),
        (
            "CAST(NULL AS BIGINT)",
            Expr::Literal(Scalar::Null(PrimitiveType::Long)),
        ),
        ("CAST(-1 AS TINYINT)", lit(-1i8)),
        ("CAST(7 AS SHORT)", lit(7i16)),
        ("CAST(7 AS LONG)", lit(7i64)),
        ("CAST('NaN' AS DOUBLE)", lit(f64::NAN)),
        ("CAST(0.1 AS FLOAT)", lit(0.1f32)),
        (
            "CAST('1.5' AS DECIMAL(10,2))",
            typed("1.50", decimal(10, 2)),
        ),
        ("CAST(15 AS DECIMAL)", typed("15", decimal(10, 0))),
        ("CAST('abc' AS BINARY)", lit(b"abc".to_vec())),
        ("CAST('' AS STRING)", lit("")),
    ];
    for (sql, expected) in cases {
        let parsed = parse(sql);
        // Debug equality also holds for NaN.
        assert_eq!(format!("{parsed:?}"), format!("{expected:?}"), "{sql}");
    }
}

fn decimal(precision: u8, scale: u8) -> PrimitiveType {
    PrimitiveType::Decimal(tarn_protocol::schema::DecimalType { precision, scale })
}

#[test]
fn operators() {
    let (a, b) = (col("a"), col("b"));
    assert_eq!(parse("a <> b"), a.clone().ne(b.clone()));
    assert_eq!(parse("a != b"), a.clone().ne(b.clone()));
    assert_eq!(parse("a == b"), a.clone().eq(b.clone()));
    for (sql, op) in [
        ("a < b", CompareOp::Lt),
        ("a <= b", CompareOp::LtEq),
        ("a > b", CompareOp::Gt),
        ("a >= b", CompareOp::GtEq),
    ] {
        assert_eq!(parse(sql), a.clone().compare(op, b.clone()));
    }
    assert_eq!(
        parse("a IN (1, NULL)"),
        a.clone().in_list([lit(1), Expr::Null])
    );
    assert_eq!(parse("a NOT IN (1)"), a.clone().not_in_list([lit(1)]));
    assert_eq!(parse("a IS NULL"), a.clone().is_null());
    assert_eq!(parse("a IS NOT NULL"), a.clone().is_not_null());
    assert_eq!(
        parse("NOT a OR b AND a"),
        (!a.clone()).or(b.clone().and(a.clone()))
    );
    assert_eq!(
        parse("a BETWEEN 1 AND 5"),
        a.clone().ge(lit(1)).and(a.clone().le(lit(5)))
    );
    assert_eq!(
        parse("a NOT BETWEEN 1 AND 5"),
        a.clone().lt(lit(1)).or(a.clone().gt(lit(5)))
    );
    assert_eq!(
        parse("-a + b * 2 % 3 - b / a"),
        ((-a.clone()) + (b.clone() * lit(2)) % lit(3)) - b.clone() / a.clone()
    );
    assert_eq!(parse("-(3)"), -lit(3));
    assert_eq!(parse("- -3"), -lit(-3));
}

/// The `(line, column, token)` of a parse-stage error.
fn position(sql: &str) -> (u64, u64, String, String) {
    match Expr::parse(sql) {
        Err(ExprError::Parse {
            line,
            column,
            token,
            ..
        }) => (line, column, token, "parse".into()),
        Err(ExprError::Unsupported {
            line,
            column,
            token,
            construct,
        }) => (line, column, token, construct),
        Err(ExprError::InvalidLiteral {
            line,
            column,
            token,
            ..
        }) => (line, column, token, "literal".into()),
        other => panic!("{sql}: expected an error, got {other:?}"),
    }
}

#[test]
fn error_positions() {
    let at =
        |line, column, token: &str, kind: &str| (line, column, token.to_owned(), kind.to_owned());
    assert_eq!(position("value > > 3"), at(1, 9, ">", "parse"));
    assert_eq!(position("day = "), at(1, 6, "end of input", "parse"));
    assert_eq!(
        position("foo(bar)"),
        at(1, 1, "foo(bar)", "function call `foo`")
    );
    assert_eq!(position("a = 1 AND b >> 2"), at(1, 13, ">>", "operator"));
    assert_eq!(position("a ~~ b"), at(1, 3, "~~", "operator"));
    assert_eq!(
        position("a = 1\n  AND lower(b) = 'x'"),
        at(2, 7, "lower(b)", "function call `lower`")
    );
    assert_eq!(position("a = 1 b"), at(1, 7, "b", "parse"));
    assert_eq!(
        position("a = 'unterminated"),
        at(1, 5, "'unterminated", "parse")
    );
    assert_eq!(position("x IN (SELECT y FROM t)").3, "subquery");
    assert_eq!(position("a LIKE 'x%'").3, "pattern match");
    assert_eq!(position("CASE WHEN a THEN 1 END").3, "CASE expression");
    assert_eq!(
        position("CAST(a AS INT)").3,
        "cast of a non-literal (only literals can be cast)"
    );
    assert_eq!(
        position("a[1]").3,
        "element access (only struct fields are supported, as `a.b`)"
    );
    assert_eq!(
        position("a = DATE '2026-13-01'"),
        at(1, 10, "DATE '2026-13-01'", "literal")
    );
    assert_eq!(position("a = x'123'").3, "literal");
    assert_eq!(position(&format!("a = {}", "9".repeat(40))).3, "literal");
}

#[test]
fn error_messages_name_the_token() {
    let error = Expr::parse("value > > 3").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid expression at line 1, column 9 (near `>`): Expected: an expression, found: >"
    );
    let error = Expr::parse("foo(bar)").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported function call `foo` at line 1, column 1: `foo(bar)`"
    );
    let error = Expr::parse("day = ").unwrap_err();
    assert!(error.to_string().contains("found: end of input"), "{error}");
}

#[test]
fn display_round_trips_examples() {
    for sql in [
        "day = '2026-01-07' AND value > 3",
        "\"Company Very Short\" >= 1.50",
        "a.b.c IN (1, 2, NULL) OR NOT (x IS NULL)",
        "(a + 1) * 2 > b % 3",
        "a - (b - c) <> -d",
        "x NOT IN ('a', 'b''c')",
        "t >= TIMESTAMP '2026-01-07 10:00:00' AND t < TIMESTAMP_NTZ '2026-01-08 00:00:00.5'",
        "CAST(NULL AS DECIMAL(5,2)) IS NULL",
        "\"value\" = CAST('-Infinity' AS FLOAT)",
        "\"and\" = 1 AND \"null\" = 2 AND day = 3 AND date = 4",
    ] {
        let expr = parse(sql);
        let text = expr.to_string();
        assert_eq!(parse(&text), expr, "{sql} printed as {text}");
    }
}

#[test]
fn referenced_columns_are_distinct_in_order() {
    let expr = parse("b = 1 AND a.x > b OR \"c d\" IS NULL AND a.x IN (b, 2)");
    assert_eq!(
        expr.referenced_columns(),
        vec![
            vec!["b".to_owned()],
            vec!["a".to_owned(), "x".to_owned()],
            vec!["c d".to_owned()],
        ]
    );
}
