//! Evaluation on Arrow arrays: three-valued logic, every comparison on every type, nested and
//! dictionary columns, arithmetic.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::builder::{PrimitiveDictionaryBuilder, StringDictionaryBuilder};
use arrow_array::types::{Float64Type, Int8Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
    LargeStringArray, NullArray, StringArray, StringViewArray, StructArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray, UInt32Array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType as ArrowType, Field};
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use super::{batch, bools, predicate};
use crate::expr::{CompareOp, Expr, ExprError};

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const N: Option<bool> = None;

fn truth_batch() -> arrow_array::RecordBatch {
    // Every pair of (a, b) in {true, false, null}².
    let values = [T, F, N];
    let a: Vec<Option<bool>> = values
        .iter()
        .flat_map(|a| values.iter().map(move |_| *a))
        .collect();
    let b: Vec<Option<bool>> = values.iter().flat_map(|_| values.iter().copied()).collect();
    batch(vec![
        ("a", Arc::new(BooleanArray::from(a)) as ArrayRef),
        ("b", Arc::new(BooleanArray::from(b))),
    ])
}

#[test]
fn kleene_and_or_not() {
    let batch = truth_batch();
    // Rows: (T,T) (T,F) (T,N) (F,T) (F,F) (F,N) (N,T) (N,F) (N,N)
    assert_eq!(
        predicate("a AND b", &batch),
        vec![T, F, N, F, F, F, N, F, N]
    );
    assert_eq!(predicate("a OR b", &batch), vec![T, T, T, T, F, N, T, N, N]);
    assert_eq!(predicate("NOT a", &batch), vec![F, F, F, T, T, T, N, N, N]);
    assert_eq!(
        predicate("a IS NULL", &batch),
        vec![F, F, F, F, F, F, T, T, T]
    );
    assert_eq!(
        predicate("a IS NOT NULL", &batch),
        vec![T, T, T, T, T, T, F, F, F]
    );
    assert_eq!(predicate("a = b", &batch), vec![T, F, N, F, T, N, N, N, N]);
    assert_eq!(
        predicate("a AND NULL", &batch),
        vec![N, N, N, F, F, F, N, N, N]
    );
    assert_eq!(
        predicate("a OR NULL", &batch),
        vec![T, T, T, N, N, N, N, N, N]
    );
    assert_eq!(predicate("NOT NULL", &batch), vec![N; 9]);
    assert_eq!(predicate("TRUE", &batch), vec![T; 9]);
    assert_eq!(predicate("NULL IS NULL", &batch), vec![T; 9]);
}

#[test]
fn in_lists_with_nulls() {
    let batch = batch(vec![(
        "x",
        Arc::new(Int32Array::from(vec![Some(1), Some(2), None])) as ArrayRef,
    )]);
    assert_eq!(predicate("x IN (1, NULL)", &batch), vec![T, N, N]);
    assert_eq!(predicate("x NOT IN (1, NULL)", &batch), vec![F, N, N]);
    assert_eq!(predicate("x IN (1, 3)", &batch), vec![T, F, N]);
    assert_eq!(predicate("x NOT IN (1, 3)", &batch), vec![F, T, N]);
    assert_eq!(predicate("x IN (x)", &batch), vec![T, T, N]);
    assert_eq!(predicate("x IN (1.0, 2.5)", &batch), vec![T, F, N]);
    assert_eq!(predicate("x = NULL", &batch), vec![N, N, N]);
    assert_eq!(predicate("x <> CAST(NULL AS INT)", &batch), vec![N, N, N]);
    assert_eq!(predicate("NULL IN (1)", &batch), vec![N, N, N]);
}

/// Checks every operator on `column op literal`, `literal op column` and `column op column`
/// (the literal repeated) against `orders`, the order of each value against the literal.
fn check_all_ops(array: ArrayRef, literal: Scalar, orders: &[Option<Ordering>]) {
    check_ops(array, literal, orders, true)
}

/// [`check_all_ops`], optionally without the column-to-column comparison (which casts both
/// columns to a common type, and can overflow where a literal comparison cannot).
fn check_ops(array: ArrayRef, literal: Scalar, orders: &[Option<Ordering>], with_columns: bool) {
    let rows = array.len();
    let repeated = Expr::Literal(literal.clone())
        .evaluate(&batch(vec![("x", Arc::clone(&array))]))
        .unwrap();
    let b = batch(vec![("x", Arc::clone(&array)), ("y", repeated)]);
    // A string literal is read as the column's type; a string column does not compare with
    // other columns.
    let columns_compare = with_columns && !matches!(literal, Scalar::String(_))
        || matches!(
            array.data_type(),
            ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
        )
        || matches!(array.data_type(), ArrowType::Dictionary(_, v) if **v == ArrowType::Utf8);
    for op in [
        CompareOp::Eq,
        CompareOp::NotEq,
        CompareOp::Lt,
        CompareOp::LtEq,
        CompareOp::Gt,
        CompareOp::GtEq,
    ] {
        let expected: Vec<Option<bool>> = orders
            .iter()
            .map(|order| order.map(|order| crate::expr::coerce::holds(op, order)))
            .collect();
        let forward = Expr::column("x").compare(op, Expr::Literal(literal.clone()));
        let backward = Expr::Literal(literal.clone()).compare(op.flip(), Expr::column("x"));
        let columns = Expr::column("x").compare(op, Expr::column("y"));
        let exprs = if columns_compare {
            vec![forward, backward, columns]
        } else {
            vec![forward, backward]
        };
        for expr in exprs {
            let result = expr
                .evaluate_predicate(&b)
                .unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(result.len(), rows);
            assert_eq!(
                bools(&result),
                expected,
                "{expr} on {:?}",
                array.data_type()
            );
        }
    }
}

use Ordering::{Equal as EQ, Greater as GT, Less as LT};

#[test]
fn every_comparison_on_integers() {
    let orders = [Some(LT), Some(EQ), Some(GT), None];
    check_all_ops(
        Arc::new(Int8Array::from(vec![Some(-128), Some(5), Some(127), None])),
        Scalar::Byte(5),
        &orders,
    );
    check_all_ops(
        Arc::new(Int16Array::from(vec![Some(-1), Some(5), Some(300), None])),
        Scalar::Short(5),
        &orders,
    );
    check_all_ops(
        Arc::new(Int32Array::from(vec![
            Some(i32::MIN),
            Some(5),
            Some(i32::MAX),
            None,
        ])),
        Scalar::Integer(5),
        &orders,
    );
    check_all_ops(
        Arc::new(Int64Array::from(vec![
            Some(i64::MIN),
            Some(5),
            Some(i64::MAX),
            None,
        ])),
        Scalar::Long(5),
        &orders,
    );
    // A narrower literal type, and a wider one.
    check_all_ops(
        Arc::new(Int64Array::from(vec![Some(4), Some(5), Some(6), None])),
        Scalar::Integer(5),
        &orders,
    );
    check_all_ops(
        Arc::new(Int8Array::from(vec![Some(4), Some(5), Some(6), None])),
        Scalar::Long(5),
        &orders,
    );
    // Unsigned columns (from non-Delta writers) compare too.
    check_all_ops(
        Arc::new(UInt32Array::from(vec![
            Some(4),
            Some(5),
            Some(u32::MAX),
            None,
        ])),
        Scalar::Integer(5),
        &orders,
    );
}

#[test]
fn literals_beyond_or_between_column_values() {
    let bytes: ArrayRef = Arc::new(Int8Array::from(vec![Some(-128), Some(127), None]));
    // 1000 is above every byte; -1000 below.
    check_all_ops(
        Arc::clone(&bytes),
        Scalar::Integer(1000),
        &[Some(LT), Some(LT), None],
    );
    check_all_ops(
        Arc::clone(&bytes),
        Scalar::Integer(-1000),
        &[Some(GT), Some(GT), None],
    );
    let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(3), Some(4), None]));
    let three_and_a_half = Scalar::Decimal {
        value: 35,
        precision: 2,
        scale: 1,
    };
    check_all_ops(
        Arc::clone(&ints),
        three_and_a_half,
        &[Some(LT), Some(GT), None],
    );
    check_all_ops(
        Arc::clone(&ints),
        Scalar::Double(3.5),
        &[Some(LT), Some(GT), None],
    );
    // Spark: NaN is larger than every number.
    check_all_ops(
        Arc::clone(&ints),
        Scalar::Double(f64::NAN),
        &[Some(LT), Some(LT), None],
    );
    check_all_ops(ints, Scalar::from("4"), &[Some(LT), Some(EQ), None]);
}

#[test]
fn every_comparison_on_floats() {
    let doubles: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(f64::NEG_INFINITY),
        Some(-0.0),
        Some(0.0),
        Some(1.5),
        Some(f64::INFINITY),
        Some(f64::NAN),
        Some(-f64::NAN),
        None,
    ]));
    // Against 0.0: -0.0 equals 0.0; NaN (either sign) is greater than everything.
    let orders = [
        Some(LT),
        Some(EQ),
        Some(EQ),
        Some(GT),
        Some(GT),
        Some(GT),
        Some(GT),
        None,
    ];
    check_all_ops(Arc::clone(&doubles), Scalar::Double(0.0), &orders);
    check_all_ops(Arc::clone(&doubles), Scalar::Double(-0.0), &orders);
    // Against NaN: NaN = NaN.
    let orders = [
        Some(LT),
        Some(LT),
        Some(LT),
        Some(LT),
        Some(LT),
        Some(EQ),
        Some(EQ),
        None,
    ];
    check_all_ops(Arc::clone(&doubles), Scalar::Double(f64::NAN), &orders);
    check_all_ops(doubles, Scalar::from("NaN"), &orders);
    let floats: ArrayRef = Arc::new(Float32Array::from(vec![
        Some(0.1f32),
        Some(f32::NAN),
        Some(-1.0),
        None,
    ]));
    check_all_ops(
        Arc::clone(&floats),
        Scalar::Float(0.1),
        &[Some(EQ), Some(GT), Some(LT), None],
    );
    // The double 0.1 is not a float: 0.1f32 is larger (Spark compares as doubles).
    check_all_ops(
        Arc::clone(&floats),
        Scalar::Double(0.1),
        &[Some(GT), Some(GT), Some(LT), None],
    );
    // A string literal is read as the column's type.
    check_all_ops(
        floats,
        Scalar::from("0.1"),
        &[Some(EQ), Some(GT), Some(LT), None],
    );
    // A decimal literal against a double column rounds to the nearest double, as Spark casts.
    let doubles: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.1), Some(0.2), None]));
    let tenth = Scalar::Decimal {
        value: 1,
        precision: 1,
        scale: 1,
    };
    check_all_ops(doubles, tenth, &[Some(EQ), Some(GT), None]);
}

#[test]
fn every_comparison_on_decimals() {
    let decimals = |values: Vec<Option<i128>>, precision: u8, scale: i8| -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(precision, scale)
                .unwrap(),
        )
    };
    let orders = [Some(LT), Some(EQ), Some(GT), None];
    check_all_ops(
        decimals(vec![Some(-1), Some(1230), Some(1231), None], 10, 2),
        Scalar::Decimal {
            value: 12300,
            precision: 6,
            scale: 3,
        },
        &orders,
    );
    let big = 10i128.pow(37);
    check_all_ops(
        decimals(vec![Some(-big), Some(big), Some(big + 1), None], 38, 0),
        Scalar::Decimal {
            value: big,
            precision: 38,
            scale: 0,
        },
        &orders,
    );
    check_all_ops(
        decimals(vec![Some(-5), Some(0), Some(5), None], 38, 38),
        Scalar::Integer(0),
        &orders,
    );
    check_all_ops(
        decimals(vec![Some(299), Some(300), Some(301), None], 5, 2),
        Scalar::Long(3),
        &orders,
    );
    // 12.345 is between two decimal(10,2) values.
    check_all_ops(
        decimals(vec![Some(1234), Some(1235), None], 10, 2),
        Scalar::from("12.345"),
        &[Some(LT), Some(GT), None],
    );
}

#[test]
fn every_comparison_on_dates_and_timestamps() {
    let orders = [Some(LT), Some(EQ), Some(GT), None];
    check_all_ops(
        Arc::new(Date32Array::from(vec![
            Some(-1),
            Some(20_460),
            Some(20_461),
            None,
        ])),
        Scalar::from("2026-01-07"),
        &orders,
    );
    check_all_ops(
        Arc::new(Date32Array::from(vec![
            Some(-1),
            Some(20_460),
            Some(20_461),
            None,
        ])),
        Scalar::Date(20_460),
        &orders,
    );
    let day = 86_400_000_000i64;
    let utc = |values: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    check_all_ops(
        utc(vec![Some(day - 1), Some(day), Some(day + 1), None]),
        Scalar::Timestamp(day),
        &orders,
    );
    check_all_ops(
        utc(vec![Some(day - 1), Some(day), Some(day + 1), None]),
        Scalar::Date(1),
        &orders,
    );
    check_all_ops(
        utc(vec![Some(day - 1), Some(day), Some(day + 1), None]),
        Scalar::from("1970-01-02"),
        &orders,
    );
    check_all_ops(
        utc(vec![Some(day - 1), Some(day), Some(day + 1), None]),
        Scalar::from("1970-01-02T02:00:00+02:00"),
        &orders,
    );
    let ntz: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
        Some(day - 1),
        Some(day),
        Some(day + 1),
        None,
    ]));
    check_all_ops(Arc::clone(&ntz), Scalar::TimestampNtz(day), &orders);
    check_all_ops(ntz, Scalar::from("1970-01-02 00:00:00"), &orders);
    // A timestamp between two dates; a date column against it.
    check_all_ops(
        Arc::new(Date32Array::from(vec![Some(1), Some(2), None])),
        Scalar::Timestamp(day + 1),
        &[Some(LT), Some(GT), None],
    );
    // Other units and zones (Parquet from other writers).
    let millis: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(1), Some(2), None]).with_timezone("+02:00"),
    );
    check_all_ops(
        Arc::clone(&millis),
        Scalar::Timestamp(1_500),
        &[Some(LT), Some(GT), None],
    );
    check_all_ops(
        millis,
        Scalar::Timestamp(2_000),
        &[Some(LT), Some(EQ), None],
    );
    let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![
        Some(999),
        Some(1_000),
        Some(1_001),
        None,
    ]));
    check_all_ops(Arc::clone(&nanos), Scalar::TimestampNtz(1), &orders);
    // Far beyond the nanosecond range: a literal compares, a column cast to nanoseconds
    // would overflow.
    check_ops(
        nanos,
        Scalar::TimestampNtz(i64::MAX),
        &[Some(LT), Some(LT), Some(LT), None],
        false,
    );
}

#[test]
fn every_comparison_on_strings_binaries_and_booleans() {
    let orders = [Some(LT), Some(EQ), Some(GT), Some(GT), None];
    let strings = vec![
        Some("Zebra"),
        Some("apple"),
        Some("apples"),
        Some("é"),
        None,
    ];
    check_all_ops(
        Arc::new(StringArray::from(strings.clone())),
        Scalar::from("apple"),
        &orders,
    );
    check_all_ops(
        Arc::new(LargeStringArray::from(strings.clone())),
        Scalar::from("apple"),
        &orders,
    );
    check_all_ops(
        Arc::new(StringViewArray::from(strings)),
        Scalar::from("apple"),
        &orders,
    );
    let binaries: Vec<Option<&[u8]>> = vec![
        Some(&[0x00]),
        Some(&[0x7f]),
        Some(&[0x7f, 0x00]),
        Some(&[0x80]),
        None,
    ];
    check_all_ops(
        Arc::new(BinaryArray::from(binaries.clone())),
        Scalar::Binary(vec![0x7f]),
        &orders,
    );
    check_all_ops(
        Arc::new(LargeBinaryArray::from(binaries.clone())),
        Scalar::Binary(vec![0x7f]),
        &orders,
    );
    check_all_ops(
        Arc::new(BinaryViewArray::from(binaries)),
        Scalar::Binary(vec![0x7f]),
        &orders,
    );
    check_all_ops(
        Arc::new(BinaryArray::from(vec![
            Some(b"a".as_slice()),
            Some(b"b"),
            None,
        ])),
        Scalar::from("a"),
        &[Some(EQ), Some(GT), None],
    );
    let booleans: ArrayRef = Arc::new(BooleanArray::from(vec![Some(false), Some(true), None]));
    check_all_ops(
        Arc::clone(&booleans),
        Scalar::Boolean(true),
        &[Some(LT), Some(EQ), None],
    );
    check_all_ops(booleans, Scalar::from("false"), &[Some(EQ), Some(GT), None]);
}

#[test]
fn dictionary_columns() {
    let mut strings = StringDictionaryBuilder::<Int32Type>::new();
    for value in [Some("b"), Some("a"), None, Some("c"), Some("a")] {
        match value {
            Some(v) => strings.append_value(v),
            None => strings.append_null(),
        }
    }
    let strings: ArrayRef = Arc::new(strings.finish());
    check_all_ops(
        Arc::clone(&strings),
        Scalar::from("b"),
        &[Some(EQ), Some(LT), None, Some(GT), Some(LT)],
    );
    let b = batch(vec![("s", strings)]);
    assert_eq!(predicate("s IN ('a', 'c')", &b), vec![F, T, N, T, T]);
    assert_eq!(predicate("s IS NULL", &b), vec![F, F, T, F, F]);
    assert_eq!(predicate("s = 'zzz'", &b), vec![F, F, N, F, F]);

    let mut longs = PrimitiveDictionaryBuilder::<Int8Type, Int64Type>::new();
    for value in [Some(10), None, Some(20)] {
        longs.append_option(value);
    }
    check_all_ops(
        Arc::new(longs.finish()),
        Scalar::Decimal {
            value: 150,
            precision: 3,
            scale: 1,
        },
        &[Some(LT), None, Some(GT)],
    );

    let mut doubles = PrimitiveDictionaryBuilder::<Int8Type, Float64Type>::new();
    for value in [Some(-0.0), Some(f64::NAN), None] {
        doubles.append_option(value);
    }
    check_all_ops(
        Arc::new(doubles.finish()),
        Scalar::Double(0.0),
        &[Some(EQ), Some(GT), None],
    );
}

fn address() -> arrow_array::RecordBatch {
    // Row 0: {city: Oslo, zip: 1}, row 1: null struct (child values present underneath),
    // row 2: {city: null, zip: 3}.
    let city: ArrayRef = Arc::new(StringArray::from(vec![Some("Oslo"), Some("Bergen"), None]));
    let zip: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
    let address = StructArray::new(
        vec![
            Arc::new(Field::new("city", ArrowType::Utf8, true)),
            Arc::new(Field::new("Zip", ArrowType::Int32, true)),
        ]
        .into(),
        vec![city, zip],
        Some(NullBuffer::from(vec![true, false, true])),
    );
    batch(vec![("address", Arc::new(address) as ArrayRef)])
}

#[test]
fn nested_struct_fields() {
    let b = address();
    assert_eq!(predicate("address.city = 'Bergen'", &b), vec![F, N, N]);
    assert_eq!(predicate("address.city IS NULL", &b), vec![F, T, T]);
    assert_eq!(predicate("address.zip > 1", &b), vec![F, N, T]);
    assert_eq!(predicate("address IS NULL", &b), vec![F, T, F]);
    let zip = Expr::parse("address.zip").unwrap().evaluate(&b).unwrap();
    assert_eq!(zip.null_count(), 1);
    let error = Expr::parse("address.street = 'x'")
        .unwrap()
        .evaluate(&b)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown column `address.street`; available: `city`, `Zip`"
    );
    let error = Expr::parse("address.city.x = 'x'")
        .unwrap()
        .evaluate(&b)
        .unwrap_err();
    assert!(matches!(error, ExprError::NotAStruct { .. }), "{error:?}");
}

#[test]
fn arithmetic() {
    let b = batch(vec![
        (
            "i",
            Arc::new(Int32Array::from(vec![Some(1), Some(7), None])) as ArrayRef,
        ),
        (
            "l",
            Arc::new(Int64Array::from(vec![Some(10), Some(20), Some(30)])),
        ),
        (
            "d",
            Arc::new(
                Decimal128Array::from(vec![Some(150), Some(-5), Some(0)])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
        ),
        (
            "f",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                Some(f64::NAN),
                Some(1.0),
            ])),
        ),
    ]);
    assert_eq!(predicate("i + 1 = 2", &b), vec![T, F, N]);
    assert_eq!(predicate("i * l > 50", &b), vec![F, T, N]);
    assert_eq!(predicate("i / 2 = 0.5E0", &b), vec![T, F, N]);
    assert_eq!(predicate("i % 4 = 3", &b), vec![F, T, N]);
    assert_eq!(predicate("d * 2 = 3", &b), vec![T, F, F]);
    assert_eq!(predicate("d + i = 2.5", &b), vec![T, F, N]);
    assert_eq!(predicate("-d > 0", &b), vec![F, T, F]);
    assert_eq!(predicate("f + i > 1", &b), vec![T, T, N]);
    assert_eq!(predicate("l - 2 * 5 = 0", &b), vec![T, F, F]);
    assert_eq!(predicate("i + NULL = 2", &b), vec![N, N, N]);
    assert_eq!(predicate("1 + 1 = 2", &b), vec![T, T, T]);
    let values = Expr::parse("l / 4").unwrap().evaluate(&b).unwrap();
    assert_eq!(values.data_type(), &ArrowType::Float64);
    let error = Expr::parse("i % 0 = 1")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert!(matches!(error, ExprError::Arithmetic { .. }), "{error:?}");
    let error = Expr::parse("l * 9223372036854775807 > 0")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert!(error.to_string().contains("Overflow"), "{error}");
}

#[test]
fn evaluate_broadcasts_literals() {
    let b = batch(vec![(
        "x",
        Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
    )]);
    let array = Expr::literal(Scalar::Date(5)).evaluate(&b).unwrap();
    assert_eq!(
        array.as_ref(),
        &Date32Array::from(vec![5, 5, 5]) as &dyn Array
    );
    let nulls = Expr::Null.evaluate(&b).unwrap();
    assert_eq!(nulls.as_ref(), &NullArray::new(3) as &dyn Array);
    let typed = Expr::Literal(Scalar::Null(PrimitiveType::Long))
        .evaluate(&b)
        .unwrap();
    assert_eq!(typed.data_type(), &ArrowType::Int64);
    assert_eq!(typed.null_count(), 3);
    let sum = Expr::parse("2 * 3 + x").unwrap().evaluate(&b).unwrap();
    assert_eq!(sum.as_ref(), &Int32Array::from(vec![7, 8, 9]) as &dyn Array);
}

#[test]
fn evaluation_errors_name_the_problem() {
    let b = batch(vec![
        ("x", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
        ("s", Arc::new(StringArray::from(vec!["a"]))),
    ]);
    let error = Expr::parse("y = 1").unwrap().evaluate(&b).unwrap_err();
    assert_eq!(error.to_string(), "unknown column `y`; available: `x`, `s`");
    let error = Expr::parse("x")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert_eq!(
        error,
        ExprError::NotBoolean {
            expression: "x".into(),
            data_type: "Int32".into()
        }
    );
    let error = Expr::parse("x = 'abc'")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert!(
        matches!(error, ExprError::LiteralCoercion { .. }),
        "{error:?}"
    );
    let error = Expr::parse("s = x")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert!(
        matches!(error, ExprError::IncompatibleTypes { .. }),
        "{error:?}"
    );
    let error = Expr::parse("s + 1 = 2")
        .unwrap()
        .evaluate_predicate(&b)
        .unwrap_err();
    assert!(
        matches!(error, ExprError::NonNumericArithmetic { .. }),
        "{error:?}"
    );
    // Case-insensitive lookup.
    assert_eq!(predicate("X = 1", &b), vec![T]);
}
