//! Type checking and resolution against a Delta schema.

use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DataType, PrimitiveType, StructField, StructType};

use crate::expr::{Expr, ExprError};

fn schema() -> StructType {
    StructType::new([
        StructField::new("id", DataType::LONG, false),
        StructField::new("value", DataType::INTEGER, true),
        StructField::new("small", DataType::BYTE, true),
        StructField::new("price", DataType::decimal(10, 2).unwrap(), true),
        StructField::new("ratio", DataType::DOUBLE, true),
        StructField::new("name", DataType::STRING, true),
        StructField::new("day", DataType::DATE, true),
        StructField::new("ts", DataType::TIMESTAMP, true),
        StructField::new("local", DataType::TIMESTAMP_NTZ, true),
        StructField::new("flag", DataType::BOOLEAN, true),
        StructField::new("blob", DataType::BINARY, true),
        StructField::new("Company Very Short", DataType::STRING, true),
        StructField::new(
            "address",
            DataType::struct_of([
                StructField::new("city", DataType::STRING, true),
                StructField::new("zip", DataType::INTEGER, true),
            ]),
            true,
        ),
        StructField::new("tags", DataType::array(DataType::STRING, true), true),
    ])
}

fn validate(sql: &str) -> Result<DataType, ExprError> {
    Expr::parse(sql).unwrap().validate(&schema())
}

#[test]
fn valid_predicates_are_boolean() {
    for sql in [
        "day = '2026-01-07' AND value > 3",
        "value > 3.5 OR price < 10 OR price = value OR ratio >= small",
        "ts < '2026-01-07 10:00:00' AND local >= DATE '2026-01-01' AND day < ts",
        "address.city IN ('Oslo', NULL) AND address.zip IS NOT NULL",
        "\"Company Very Short\" <> 'x' AND NOT flag",
        "flag = 'true' AND blob = 'abc' AND name = 'abc'",
        "tags IS NULL",
        "NULL",
        "value + 1 > id * 2",
        "NULL = NULL OR value = NULL",
        "VALUE = 1 AND Address.City = 'x'",
    ] {
        assert_eq!(validate(sql), Ok(DataType::BOOLEAN), "{sql}");
    }
}

#[test]
fn arithmetic_types() {
    let cases = [
        ("value + id", DataType::LONG),
        ("small * value", DataType::INTEGER),
        ("value / value", DataType::DOUBLE),
        ("value % small", DataType::INTEGER),
        ("ratio + value", DataType::DOUBLE),
        ("price + price", DataType::decimal(11, 2).unwrap()),
        ("price * value", DataType::decimal(21, 2).unwrap()),
        ("price / 2", DataType::decimal(14, 6).unwrap()),
        ("-price", DataType::decimal(10, 2).unwrap()),
        ("3.5E0 * 2", DataType::DOUBLE),
    ];
    for (sql, expected) in cases {
        assert_eq!(validate(sql), Ok(expected), "{sql}");
    }
}

#[test]
fn unknown_columns_are_named_with_suggestions() {
    let error = validate("valeu > 3").unwrap_err();
    assert_eq!(
        error,
        ExprError::UnknownColumn {
            column: "valeu".into(),
            close: vec!["value".into()],
            available: vec![],
        }
    );
    let error = validate("address.town = 'x'").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown column `address.town`; available: `city`, `zip`"
    );
    let error = validate("name.first = 'x'").unwrap_err();
    assert_eq!(
        error.to_string(),
        "column `name` has type string, which has no field `first`"
    );
}

#[test]
fn literals_that_do_not_fit_are_errors() {
    let error = validate("value = 'abc'").unwrap_err();
    let ExprError::LiteralCoercion {
        literal,
        expression,
        data_type,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (literal.as_str(), expression.as_str(), data_type.as_str()),
        ("'abc'", "value", "integer")
    );
    assert!(
        error
            .to_string()
            .starts_with("cannot compare value (integer) with 'abc'"),
        "{error}"
    );
    assert!(matches!(
        validate("day = '2026-13-01'"),
        Err(ExprError::LiteralCoercion { .. })
    ));
    assert!(matches!(
        validate("local = '2026-01-01 00:00:00+02:00'"),
        Err(ExprError::LiteralCoercion { .. })
    ));
    assert!(matches!(
        validate("flag = 'yes'"),
        Err(ExprError::LiteralCoercion { .. })
    ));
    assert!(matches!(
        validate("name = 3"),
        Err(ExprError::LiteralCoercion { .. })
    ));
    assert!(matches!(
        validate("day = 3"),
        Err(ExprError::LiteralCoercion { .. })
    ));
}

#[test]
fn incompatible_operands_are_errors() {
    assert_eq!(
        validate("name = value").unwrap_err(),
        ExprError::IncompatibleTypes {
            op: "=".into(),
            left: "name".into(),
            left_type: "string".into(),
            right: "value".into(),
            right_type: "integer".into(),
        }
    );
    assert!(matches!(
        validate("flag < day"),
        Err(ExprError::IncompatibleTypes { .. })
    ));
    assert!(matches!(
        validate("'a' = 1"),
        Err(ExprError::IncompatibleTypes { .. })
    ));
    assert!(matches!(
        validate("address = 1"),
        Err(ExprError::UnsupportedType { .. })
    ));
    assert!(matches!(
        validate("name + 1 > 2"),
        Err(ExprError::NonNumericArithmetic { .. })
    ));
    assert!(matches!(
        validate("-day"),
        Err(ExprError::NonNumericArithmetic { .. })
    ));
    assert!(matches!(
        validate("value AND flag"),
        Err(ExprError::NotBoolean { .. })
    ));
    assert!(matches!(
        validate("NOT name"),
        Err(ExprError::NotBoolean { .. })
    ));
}

#[test]
fn resolve_speaks_the_schema() {
    let resolved =
        Expr::parse("DAY = '2026-01-07' AND Address.City = 'x' AND value = NULL AND value > '3.5'")
            .unwrap()
            .resolve(&schema())
            .unwrap();
    let expected = Expr::column("day")
        .eq(Expr::literal(Scalar::Date(20_460)))
        .and(Expr::column("address.city").eq(Expr::literal("x")))
        .and(Expr::column("value").eq(Expr::Literal(Scalar::Null(PrimitiveType::Integer))))
        .and(Expr::column("value").gt(Expr::Literal(Scalar::Decimal {
            value: 35,
            precision: 2,
            scale: 1,
        })));
    assert_eq!(resolved, expected);
    // Resolution is idempotent and prints parseable SQL.
    assert_eq!(resolved.resolve(&schema()).unwrap(), resolved);
    assert_eq!(Expr::parse(&resolved.to_string()).unwrap(), resolved);
}

#[test]
fn ambiguous_case_insensitive_names() {
    let schema = StructType::new([
        StructField::new("Value", DataType::LONG, true),
        StructField::new("VALUE", DataType::LONG, true),
    ]);
    let error = Expr::parse("value = 1")
        .unwrap()
        .validate(&schema)
        .unwrap_err();
    assert!(
        matches!(error, ExprError::AmbiguousColumn { .. }),
        "{error:?}"
    );
    assert_eq!(
        Expr::parse("VALUE = 1").unwrap().validate(&schema),
        Ok(DataType::BOOLEAN)
    );
}
