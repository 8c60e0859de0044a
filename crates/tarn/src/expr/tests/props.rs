//! Property tests: statistics-based skipping never drops a matching row, and `Display` output
//! parses back to the same expression.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use proptest::prelude::*;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DecimalType, PrimitiveType};

use super::batch;
use super::stats::Stats;
use crate::expr::{ArithmeticOp, CompareOp, Expr};

const DAY: i64 = 86_400_000_000;

/// Four small columns: longs, strings, dates and doubles, all with nulls.
#[derive(Debug, Clone)]
struct Data {
    i: Vec<Option<i64>>,
    s: Vec<Option<String>>,
    d: Vec<Option<i32>>,
    f: Vec<Option<f64>>,
}

const SPECIAL_DOUBLES: [f64; 10] = [
    -1.5,
    -0.0,
    0.0,
    0.1,
    1.0,
    2.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -f64::NAN,
];

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(SPECIAL_DOUBLES.to_vec()),
        (-30i32..30).prop_map(|v| f64::from(v) / 4.0),
    ]
}

fn data() -> impl Strategy<Value = Data> {
    (0usize..8).prop_flat_map(|rows| {
        (
            prop::collection::vec(prop::option::weighted(0.8, -5i64..5), rows),
            prop::collection::vec(prop::option::weighted(0.8, "[ab]{0,3}"), rows),
            prop::collection::vec(prop::option::weighted(0.8, -3i32..3), rows),
            prop::collection::vec(prop::option::weighted(0.8, double()), rows),
        )
            .prop_map(|(i, s, d, f)| Data { i, s, d, f })
    })
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::NotEq,
        CompareOp::Lt,
        CompareOp::LtEq,
        CompareOp::Gt,
        CompareOp::GtEq,
    ])
}

fn decimal_tenths(range: std::ops::Range<i128>) -> impl Strategy<Value = Scalar> {
    range.prop_map(|value| Scalar::Decimal {
        value,
        precision: 4,
        scale: 1,
    })
}

/// A literal that compares with column `column`.
fn literal_for(column: &'static str) -> BoxedStrategy<Scalar> {
    match column {
        "i" => prop_oneof![
            (-7i32..7).prop_map(Scalar::Integer),
            (-7i64..7).prop_map(Scalar::Long),
            decimal_tenths(-70..70),
            double().prop_map(Scalar::Double),
            (-7i32..7).prop_map(|v| Scalar::String(v.to_string())),
            Just(Scalar::Long(i64::MAX)),
        ]
        .boxed(),
        "s" => "[ab]{0,4}".prop_map(Scalar::String).boxed(),
        "d" => prop_oneof![
            (-4i32..4).prop_map(Scalar::Date),
            (-8i64..8).prop_map(|half_days| Scalar::Timestamp(half_days * DAY / 2)),
            (-4i32..4).prop_map(|days| Scalar::String(Scalar::Date(days).to_string())),
        ]
        .boxed(),
        _ => prop_oneof![
            double().prop_map(Scalar::Double),
            (-3i32..3).prop_map(Scalar::Integer),
            decimal_tenths(-30..30),
            double().prop_map(|v| Scalar::Float(v as f32)),
        ]
        .boxed(),
    }
}

/// A leaf predicate over the four columns.
fn leaf() -> impl Strategy<Value = Expr> {
    let column = prop::sample::select(vec!["i", "s", "d", "f"]);
    prop_oneof![
        // column op literal, either way round
        (column.clone(), op(), any::<bool>()).prop_flat_map(|(c, op, flipped)| {
            literal_for(c).prop_map(move |lit| {
                if flipped {
                    Expr::literal(lit).compare(op, Expr::column(c))
                } else {
                    Expr::column(c).compare(op, Expr::literal(lit))
                }
            })
        }),
        // IN lists, possibly with NULL
        (column.clone(), any::<bool>(), any::<bool>()).prop_flat_map(|(c, negated, null)| {
            prop::collection::vec(literal_for(c), 1..4).prop_map(move |items| {
                let mut list: Vec<Expr> = items.into_iter().map(Expr::literal).collect();
                if null {
                    list.push(Expr::Null);
                }
                if negated {
                    Expr::column(c).not_in_list(list)
                } else {
                    Expr::column(c).in_list(list)
                }
            })
        }),
        (column.clone(), any::<bool>()).prop_map(|(c, negated)| {
            if negated {
                Expr::column(c).is_not_null()
            } else {
                Expr::column(c).is_null()
            }
        }),
        (column, op()).prop_map(|(c, op)| Expr::column(c).compare(op, Expr::Null)),
        // two columns
        (
            prop::sample::select(vec![
                ("i", "f"),
                ("i", "i"),
                ("s", "s"),
                ("d", "d"),
                ("f", "f")
            ]),
            op()
        )
            .prop_map(|((a, b), op)| Expr::column(a).compare(op, Expr::column(b))),
        // arithmetic
        (-3i32..3, op(), -6i32..6).prop_map(|(k, op, m)| {
            (Expr::column("i") + Expr::literal(k)).compare(op, Expr::literal(m))
        }),
        (double(), op(), double()).prop_map(|(k, op, m)| {
            (Expr::column("f") * Expr::literal(k)).compare(op, Expr::literal(m))
        }),
    ]
}

fn predicate() -> impl Strategy<Value = Expr> {
    let tree = leaf().prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(|a| !a),
        ]
    });
    // Single leaves and their negations often, where a wrong skip is easiest to hit.
    prop_oneof![3 => leaf(), 1 => leaf().prop_map(|a| !a), 3 => tree]
}

/// How a column's statistics are reported.
#[derive(Debug, Clone, Copy)]
enum Reported {
    /// The exact bounds and null count.
    Exact,
    /// Wider bounds (by this much) and the exact null count.
    Loose(u8),
    /// No bounds; the null count only.
    CountOnly,
    /// Nothing.
    Missing,
}

fn reported() -> impl Strategy<Value = Reported> {
    prop_oneof![
        3 => Just(Reported::Exact),
        2 => (1u8..3).prop_map(Reported::Loose),
        1 => Just(Reported::CountOnly),
        1 => Just(Reported::Missing),
    ]
}

/// Spark's order for doubles: NaN largest, `-0.0 = 0.0`.
fn spark_cmp(a: f64, b: f64) -> Ordering {
    let norm = |v: f64| {
        if v.is_nan() {
            f64::NAN
        } else if v == 0.0 {
            0.0
        } else {
            v
        }
    };
    norm(a).total_cmp(&norm(b))
}

fn min_max<T: Clone>(
    values: impl Iterator<Item = T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Option<(T, T)> {
    let values: Vec<T> = values.collect();
    let min = values.iter().min_by(|a, b| cmp(a, b))?.clone();
    let max = values.iter().max_by(|a, b| cmp(a, b))?.clone();
    Some((min, max))
}

/// Statistics of `data` as reported per column; `nan_in_stats` picks Delta-Spark's float
/// convention (NaN is the largest value) over Parquet's (NaN left out).
fn stats_of(data: &Data, how: [Reported; 4], nan_in_stats: bool, rows_known: bool) -> Stats {
    let rows = data.i.len();
    let mut stats = Stats {
        rows: rows_known.then_some(rows as i64),
        ..Stats::default()
    };
    let nulls = |count: usize| Some(count as i64);
    let mut put =
        |name: &str, reported: Reported, bounds: Option<(Scalar, Scalar)>, null_count: usize| {
            let entry = match reported {
                Reported::Exact | Reported::Loose(_) => match bounds {
                    Some((min, max)) => (Some(min), Some(max), nulls(null_count)),
                    None => (None, None, nulls(null_count)),
                },
                Reported::CountOnly => (None, None, nulls(null_count)),
                Reported::Missing => return,
            };
            stats.columns.insert(name.to_owned(), entry);
        };
    let loose = |reported: Reported| match reported {
        Reported::Loose(by) => i64::from(by),
        _ => 0,
    };

    let i = min_max(data.i.iter().flatten().copied(), |a, b| a.cmp(b));
    let widen = loose(how[0]);
    put(
        "i",
        how[0],
        i.map(|(lo, hi)| (Scalar::Long(lo - widen), Scalar::Long(hi + widen))),
        data.i.iter().filter(|v| v.is_none()).count(),
    );

    let s = min_max(data.s.iter().flatten().cloned(), |a, b| a.cmp(b));
    let cut = loose(how[1]) as usize;
    put(
        "s",
        how[1],
        s.map(|(lo, hi)| {
            if cut == 0 {
                return (Scalar::String(lo), Scalar::String(hi));
            }
            // Truncated, as Delta writers do: a prefix bounds from below; a prefix followed by
            // the largest character bounds from above.
            let keep = |s: &str| s.chars().take(cut.saturating_sub(1)).collect::<String>();
            (
                Scalar::String(keep(&lo)),
                Scalar::String(format!("{}\u{10FFFF}", keep(&hi))),
            )
        }),
        data.s.iter().filter(|v| v.is_none()).count(),
    );

    let d = min_max(data.d.iter().flatten().copied(), |a, b| a.cmp(b));
    let widen = loose(how[2]) as i32;
    put(
        "d",
        how[2],
        d.map(|(lo, hi)| (Scalar::Date(lo - widen), Scalar::Date(hi + widen))),
        data.d.iter().filter(|v| v.is_none()).count(),
    );

    let floats = data
        .f
        .iter()
        .flatten()
        .copied()
        .filter(|v| nan_in_stats || !v.is_nan());
    let f = min_max(floats, |a, b| spark_cmp(*a, *b));
    let widen = loose(how[3]) as f64;
    put(
        "f",
        how[3],
        f.map(|(lo, hi)| (Scalar::Double(lo - widen), Scalar::Double(hi + widen))),
        data.f.iter().filter(|v| v.is_none()).count(),
    );
    stats
}

fn batch_of(data: &Data) -> arrow_array::RecordBatch {
    batch(vec![
        ("i", Arc::new(Int64Array::from(data.i.clone())) as ArrayRef),
        ("s", Arc::new(StringArray::from(data.s.clone()))),
        ("d", Arc::new(Date32Array::from(data.d.clone()))),
        ("f", Arc::new(Float64Array::from(data.f.clone()))),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn skipping_never_drops_a_matching_row(
        data in data(),
        predicate in predicate(),
        how in prop::array::uniform4(reported()),
        nan_in_stats in any::<bool>(),
        rows_known in prop::bool::weighted(0.8),
    ) {
        let batch = batch_of(&data);
        let selected = predicate
            .evaluate_predicate(&batch)
            .unwrap_or_else(|e| panic!("{predicate}: {e}"));
        let stats = stats_of(&data, how, nan_in_stats, rows_known);
        if !predicate.could_match(&stats) {
            let matching: Vec<usize> = (0..selected.len())
                .filter(|&row| selected.is_valid(row) && selected.value(row))
                .collect();
            prop_assert!(
                matching.is_empty(),
                "{predicate} skipped, but rows {matching:?} match; data {data:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Display round trip

fn column_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "Value",
            "value",
            "day",
            "date",
            "timestamp",
            "select",
            "and",
            "null",
            "interval",
            "a b",
            "x.y",
            "say \"hi\"",
            "é",
            "1a",
            "_",
            "NOT",
            "true",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        "\\PC{1,6}",
    ]
}

fn any_decimal() -> impl Strategy<Value = Scalar> {
    (1u8..=38).prop_flat_map(|precision| {
        let limit = 10i128.pow(u32::from(precision)) - 1;
        (0..=precision, -limit..=limit).prop_map(move |(scale, value)| Scalar::Decimal {
            value,
            precision,
            scale,
        })
    })
}

fn any_primitive_type() -> impl Strategy<Value = PrimitiveType> {
    prop_oneof![
        prop::sample::select(vec![
            PrimitiveType::String,
            PrimitiveType::Long,
            PrimitiveType::Integer,
            PrimitiveType::Short,
            PrimitiveType::Byte,
            PrimitiveType::Float,
            PrimitiveType::Double,
            PrimitiveType::Boolean,
            PrimitiveType::Binary,
            PrimitiveType::Date,
            PrimitiveType::Timestamp,
            PrimitiveType::TimestampNtz,
        ]),
        (1u8..=38).prop_flat_map(|p| (0..=p).prop_map(move |s| PrimitiveType::Decimal(
            DecimalType {
                precision: p,
                scale: s
            }
        ))),
    ]
}

fn any_scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any_primitive_type().prop_map(Scalar::Null),
        any::<bool>().prop_map(Scalar::Boolean),
        any::<i8>().prop_map(Scalar::Byte),
        any::<i16>().prop_map(Scalar::Short),
        any::<i32>().prop_map(Scalar::Integer),
        any::<i64>().prop_map(Scalar::Long),
        any::<f32>().prop_map(Scalar::Float),
        any::<f64>().prop_map(Scalar::Double),
        prop::sample::select(vec![
            f64::NAN,
            -0.0,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            5e-324
        ])
        .prop_map(Scalar::Double),
        ".*".prop_map(Scalar::String),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(Scalar::Binary),
        any::<i32>().prop_map(Scalar::Date),
        any::<i64>().prop_map(Scalar::Timestamp),
        any::<i64>().prop_map(Scalar::TimestampNtz),
        any_decimal(),
    ]
}

fn any_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        prop::collection::vec(column_name(), 1..4).prop_map(Expr::Column),
        any_scalar().prop_map(Expr::Literal),
        Just(Expr::Null),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let arithmetic = prop::sample::select(vec![
            ArithmeticOp::Add,
            ArithmeticOp::Sub,
            ArithmeticOp::Mul,
            ArithmeticOp::Div,
            ArithmeticOp::Rem,
        ]);
        prop_oneof![
            (inner.clone(), op(), inner.clone()).prop_map(|(a, op, b)| a.compare(op, b)),
            (inner.clone(), arithmetic, inner.clone()).prop_map(|(a, op, b)| a.arithmetic(op, b)),
            inner.clone().prop_map(|a| -a),
            (
                inner.clone(),
                prop::collection::vec(inner.clone(), 1..3),
                any::<bool>()
            )
                .prop_map(|(a, list, negated)| Expr::In {
                    expr: Box::new(a),
                    list,
                    negated
                }),
            (inner.clone(), any::<bool>()).prop_map(|(a, negated)| Expr::IsNull {
                expr: Box::new(a),
                negated
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(|a| !a),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn display_parses_back_to_the_same_expression(expr in any_expr()) {
        let text = expr.to_string();
        let parsed = Expr::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        // Debug equality, which also holds for NaN literals.
        prop_assert_eq!(format!("{parsed:?}"), format!("{expr:?}"), "{}", text);
    }
}
