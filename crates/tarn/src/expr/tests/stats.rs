//! Data skipping on hand-written statistics.

use std::collections::HashMap;

use tarn_protocol::scalar::Scalar;

use crate::expr::{Expr, StatsView};

/// One column's `(min, max, null_count)`.
pub(super) type ColumnStats = (Option<Scalar>, Option<Scalar>, Option<i64>);

/// Statistics by dotted column name.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) rows: Option<i64>,
    pub(super) columns: HashMap<String, ColumnStats>,
}

impl Stats {
    pub(super) fn new(rows: i64) -> Stats {
        Stats {
            rows: Some(rows),
            columns: HashMap::new(),
        }
    }

    pub(super) fn with(
        mut self,
        column: &str,
        min: impl Into<Scalar>,
        max: impl Into<Scalar>,
        nulls: i64,
    ) -> Stats {
        self.columns.insert(
            column.to_owned(),
            (Some(min.into()), Some(max.into()), Some(nulls)),
        );
        self
    }

    fn with_nulls_only(mut self, column: &str, nulls: i64) -> Stats {
        self.columns
            .insert(column.to_owned(), (None, None, Some(nulls)));
        self
    }
}

impl StatsView for Stats {
    fn num_records(&self) -> Option<i64> {
        self.rows
    }

    fn min(&self, column: &[String]) -> Option<Scalar> {
        self.columns
            .get(&column.join("."))
            .and_then(|c| c.0.clone())
    }

    fn max(&self, column: &[String]) -> Option<Scalar> {
        self.columns
            .get(&column.join("."))
            .and_then(|c| c.1.clone())
    }

    fn null_count(&self, column: &[String]) -> Option<i64> {
        self.columns.get(&column.join(".")).and_then(|c| c.2)
    }
}

fn could_match(sql: &str, stats: &Stats) -> bool {
    Expr::parse(sql).unwrap().could_match(stats)
}

#[test]
fn ranges() {
    // x in [10, 20], no nulls.
    let s = Stats::new(100).with("x", 10, 20, 0);
    for (sql, expected) in [
        ("x = 10", true),
        ("x = 20", true),
        ("x = 21", false),
        ("x = 9", false),
        ("x = 15.5", false),
        ("x = 15.0", true),
        ("x < 10", false),
        ("x <= 10", true),
        ("x > 20", false),
        ("x >= 20", true),
        ("x > 19.5", true),
        ("x > 20.5", false),
        ("x < 10.5", true),
        ("10 < x", true),
        ("20 < x", false),
        ("x <> 15", true),
        ("x IN (1, 2, 30)", false),
        ("x IN (1, 15)", true),
        ("x NOT IN (1, 2)", true),
        ("x BETWEEN 21 AND 30", false),
        ("x BETWEEN 5 AND 10", true),
        ("x NOT BETWEEN 5 AND 25", false),
        ("x IS NULL", false),
        ("x IS NOT NULL", true),
        ("NOT x > 5", false),
        ("NOT x > 15", true),
        ("NOT (x < 10 OR x > 20)", true),
        ("NOT (x >= 10)", false),
        ("x = 15 AND x = 30", false),
        ("x = 15 OR x = 30", true),
        ("x = 30 OR x = 40", false),
        ("x + 1 = 100", true),
        ("x = y", true),
        ("unknown = 1", true),
        ("x = NULL", false),
        ("x = 1000000000000", false),
        ("x < 1E300", true),
        ("x > CAST('NaN' AS DOUBLE)", false),
        ("x < CAST('NaN' AS DOUBLE)", true),
        ("x > '15'", true),
        ("x > '25'", false),
        ("1 = 1", true),
        ("1 = 0", false),
        ("NULL", false),
        ("x > 5 AND 1 = 0", false),
    ] {
        assert_eq!(could_match(sql, &s), expected, "{sql}");
    }
}

#[test]
fn not_equal_needs_a_single_value() {
    let pinned = Stats::new(10).with("x", 5, 5, 3);
    // Nulls never satisfy `<>`, so min = max = 5 rules it out even with nulls.
    assert!(!could_match("x <> 5", &pinned));
    assert!(could_match("x <> 6", &pinned));
    assert!(could_match("NOT x <> 5", &pinned));
    assert!(could_match("x IS NULL", &pinned));
    assert!(!could_match("x NOT IN (5)", &pinned));
    assert!(could_match("x NOT IN (6)", &pinned));
}

#[test]
fn null_counts() {
    let all_null = Stats::new(10).with_nulls_only("x", 10);
    assert!(!could_match("x = 1", &all_null));
    assert!(!could_match("x <> 1", &all_null));
    assert!(!could_match("NOT x = 1", &all_null));
    assert!(!could_match("x + 1 > 0", &all_null));
    assert!(!could_match("x IS NOT NULL", &all_null));
    assert!(could_match("x IS NULL", &all_null));
    assert!(could_match("NOT x IS NOT NULL", &all_null));
    assert!(could_match("x = 1 OR x IS NULL", &all_null));
    let no_nulls = Stats::new(10).with("x", 1, 2, 0);
    assert!(!could_match("x IS NULL", &no_nulls));
    assert!(could_match("NOT x IS NULL", &no_nulls));
    let unknown_rows = Stats {
        rows: None,
        ..Stats::new(0)
    }
    .with_nulls_only("x", 10);
    assert!(could_match("x = 1", &unknown_rows));
    assert!(!could_match("x = 1", &Stats::new(0)));
}

#[test]
fn typed_statistics() {
    let days = Stats::new(10).with("day", Scalar::Date(20_460), Scalar::Date(20_462), 0);
    assert!(could_match("day = '2026-01-07'", &days));
    assert!(!could_match("day = '2026-01-06'", &days));
    assert!(!could_match("day > DATE '2026-01-09'", &days));
    assert!(could_match("day > TIMESTAMP '2026-01-08 23:59:59'", &days));
    assert!(!could_match("day > TIMESTAMP '2026-01-09 00:00:00'", &days));
    assert!(could_match("day = 'not a date'", &days));
    let names = Stats::new(10).with("name", "apple", "banana", 0);
    assert!(!could_match("name < 'apple'", &names));
    assert!(could_match("name <= 'apple'", &names));
    assert!(!could_match("name > 'banana'", &names));
    assert!(could_match("name = 'b'", &names));
    assert!(!could_match("name = 'c'", &names));
    let decimals = Stats::new(10).with(
        "price",
        Scalar::Decimal {
            value: 1000,
            precision: 10,
            scale: 2,
        },
        Scalar::Decimal {
            value: 2000,
            precision: 10,
            scale: 2,
        },
        0,
    );
    assert!(!could_match("price > 20", &decimals));
    assert!(could_match("price >= 20.00", &decimals));
    assert!(!could_match("price = 15.001", &decimals));
    let flags = Stats::new(10).with("flag", false, false, 0);
    assert!(!could_match("flag", &flags));
    assert!(could_match("NOT flag", &flags));
    assert!(!could_match("flag = TRUE", &flags));
}

#[test]
fn float_maxima_are_not_trusted() {
    // NaN may be missing from the statistics, and NaN is larger than every number.
    let doubles = Stats::new(10).with("f", 1.0f64, 2.0f64, 0);
    assert!(could_match("f > 5", &doubles));
    assert!(could_match("f = CAST('NaN' AS DOUBLE)", &doubles));
    assert!(could_match(
        "f <> 1.5E0",
        &Stats::new(10).with("f", 1.5f64, 1.5f64, 0)
    ));
    assert!(!could_match("f < 1", &doubles));
    assert!(!could_match("f = 0.5", &doubles));
    // A NaN minimum bounds nothing.
    let nan_min = Stats::new(10).with("f", f64::NAN, f64::NAN, 0);
    assert!(could_match("f < 0", &nan_min));
}

#[test]
fn partitions_as_statistics() {
    // A partition value `v` is min = max = v, no nulls; a null partition value is all nulls.
    let part = Stats::new(7).with("region", "eu", "eu", 0);
    assert!(could_match("region = 'eu'", &part));
    assert!(!could_match("region = 'us'", &part));
    assert!(!could_match("region <> 'eu'", &part));
    assert!(!could_match("region IS NULL", &part));
    let null_part = Stats::new(7).with_nulls_only("region", 7);
    assert!(!could_match("region = 'eu'", &null_part));
    assert!(could_match("region IS NULL", &null_part));
}
