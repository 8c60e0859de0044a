//! The pruning cases over the sample table: SQL predicates with their meaning written in plain
//! Rust (SQL three-valued logic, Spark's orderings), and what may be asserted about the files
//! each keeps.

use std::cmp::Ordering;

use crate::common::delta_table::{decimal_text, timestamp_text};
use crate::common::sample_table::{self, DAYS, LONG_PREFIX, Row, day_number, rows_in_file, ts_of};

// ---------------------------------------------------------------------------------------------
// The reference: SQL three-valued logic and Spark's orderings, in plain Rust.

/// A predicate's value on a row: `None` is SQL null.
pub(super) type Truth = Option<bool>;

fn and(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn not(a: Truth) -> Truth {
    a.map(|v| !v)
}

/// Orders a nullable value against a literal.
fn ord<T: Ord>(a: Option<T>, b: T) -> Option<Ordering> {
    a.map(|a| a.cmp(&b))
}

/// Spark's double order: NaN equals NaN and is above everything, `-0.0` equals `0.0`.
fn ford(a: Option<f64>, b: f64) -> Option<Ordering> {
    a.map(|a| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap(),
    })
}

fn sord(a: &Option<String>, b: &str) -> Option<Ordering> {
    a.as_deref().map(|a| a.cmp(b))
}

fn is(order: Option<Ordering>, test: fn(Ordering) -> bool) -> Truth {
    order.map(test)
}

fn eq(o: Ordering) -> bool {
    o.is_eq()
}
fn lt(o: Ordering) -> bool {
    o.is_lt()
}
fn le(o: Ordering) -> bool {
    o.is_le()
}
fn gt(o: Ordering) -> bool {
    o.is_gt()
}
fn ge(o: Ordering) -> bool {
    o.is_ge()
}

fn is_null<T>(value: &Option<T>) -> Truth {
    Some(value.is_none())
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// What the test may assert about the files kept.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expect {
    /// Only that every file with a matching row is kept.
    NoWrongSkip,
    /// Exactly the files with a matching row, plus the files without statistics that the
    /// partition values cannot rule out (derived for predicates on partition columns only or
    /// data columns only).
    Exact,
    /// As `Exact`, naming the files without statistics that are kept (for mixed predicates,
    /// and for predicates that no row can satisfy whatever the statistics).
    ExactKeepingNoStats(&'static [usize]),
}

pub(super) struct Case {
    pub(super) sql: String,
    pub(super) expect: Expect,
    pub(super) matches: Box<dyn Fn(&Row) -> Truth>,
}

fn case(sql: impl Into<String>, expect: Expect, matches: impl Fn(&Row) -> Truth + 'static) -> Case {
    Case {
        sql: sql.into(),
        expect,
        matches: Box::new(matches),
    }
}

pub(super) fn cases() -> Vec<Case> {
    use Expect::{Exact, ExactKeepingNoStats, NoWrongSkip};
    let [d0, d1, d2] = DAYS.map(day_number);
    let region = |r: &Row, v: &str| r.region.as_deref().map(|x| x == v);
    // The last row of file 3 and the first of file 4 share a millisecond.
    let last_of_3 = ts_of(3, rows_in_file(3) - 1);
    let first_of_4 = ts_of(4, 0);
    assert_eq!(last_of_3 / 1000, first_of_4 / 1000);
    let last_of_7 = ts_of(7, rows_in_file(7) - 1);
    let t = timestamp_text;
    let long_520 = format!("{LONG_PREFIX}-00520");
    let long_505 = format!("{LONG_PREFIX}-00505");
    let long_505_ref = long_505.clone();
    let long_520_ref = long_520.clone();
    vec![
        // Partition columns.
        case("day = DATE '2026-01-06'", Exact, move |r| Some(r.day == d1)),
        case("day = '2026-01-06'", Exact, move |r| Some(r.day == d1)),
        case("region = 'eu'", Exact, move |r| region(r, "eu")),
        case("day >= '2026-01-06'", Exact, move |r| Some(r.day >= d1)),
        case(
            "day < DATE '2026-01-06' OR day > DATE '2026-01-06'",
            Exact,
            move |r| Some(r.day != d1),
        ),
        case("region IN ('us', 'ap')", Exact, move |r| region(r, "us")),
        case("region IS NULL", Exact, |r| is_null(&r.region)),
        case(
            "region IS NOT NULL AND day = '2026-01-07'",
            Exact,
            move |r| Some(r.region.is_some() && r.day == d2),
        ),
        case("region NOT IN ('eu')", Exact, move |r| not(region(r, "eu"))),
        case("NOT (region = 'us')", Exact, move |r| not(region(r, "us"))),
        case("region = NULL", Exact, |_| None),
        case(
            "day BETWEEN '2026-01-06' AND '2026-01-07' AND region <> 'us'",
            Exact,
            move |r| and(Some(r.day >= d1 && r.day <= d2), not(region(r, "us"))),
        ),
        case("day = '2026-02-01'", Exact, |_| Some(false)),
        case("NOT (day <> '2026-01-05')", Exact, move |r| {
            Some(r.day == d0)
        }),
        // Sorted ids: contiguous within a file, gaps between files.
        case("id BETWEEN 305 AND 310", Exact, |r| {
            Some((305..=310).contains(&r.id))
        }),
        case("id = 1105", Exact, |r| Some(r.id == 1105)),
        case("id >= 1710", Exact, |r| Some(r.id >= 1710)),
        case("id < 0", Exact, |r| Some(r.id < 0)),
        case("id = 150", Exact, |r| Some(r.id == 150)),
        case("id IN (5, 705, 1299)", Exact, |r| {
            Some([5, 705, 1299].contains(&r.id))
        }),
        case("id > 250 AND id < 260 OR id = 1600", Exact, |r| {
            Some((r.id > 250 && r.id < 260) || r.id == 1600)
        }),
        case("NOT (id >= 100)", Exact, |r| Some(r.id < 100)),
        case("id >= 0", Exact, |r| Some(r.id >= 0)),
        case("id <> 5", Exact, |r| Some(r.id != 5)),
        case("id NOT IN (200, 201)", NoWrongSkip, |r| {
            Some(r.id != 200 && r.id != 201)
        }),
        // Literals of other types are placed exactly among the column's values.
        case("id <= 305.5", Exact, |r| Some(r.id <= 305)),
        case("id > 1104.9 AND id < 1105.1", Exact, |r| Some(r.id == 1105)),
        case("id = 1105.0", Exact, |r| Some(r.id == 1105)),
        case("id = 1105.5", Exact, |_| Some(false)),
        case("id >= 1.7095E3", Exact, |r| Some(r.id >= 1710)),
        case("id = 5 OR 1 = 1", Exact, |_| Some(true)),
        // Never true, whatever the statistics: even files without statistics go.
        case("id = 5 AND 1 = 0", ExactKeepingNoStats(&[]), |_| {
            Some(false)
        }),
        case("id NOT IN (NULL, 5)", ExactKeepingNoStats(&[]), |r| {
            if r.id == 5 { Some(false) } else { None }
        }),
        case("id IN (NULL, 5)", Exact, |r| Some(r.id == 5)),
        case("id + 1 = 306", NoWrongSkip, |r| Some(r.id == 305)),
        case("id > value", NoWrongSkip, |r| {
            is(ford(r.value, r.id as f64), lt)
        }),
        // Timestamps at sub-millisecond boundaries (statistics hold milliseconds).
        case(
            format!("ts = TIMESTAMP '{}'", t(last_of_3)),
            NoWrongSkip,
            move |r| is(ord(r.ts, last_of_3), eq),
        ),
        case(
            format!("ts > TIMESTAMP '{}'", t(last_of_3)),
            NoWrongSkip,
            move |r| is(ord(r.ts, last_of_3), gt),
        ),
        case(
            format!("ts <= TIMESTAMP '{}'", t(last_of_3)),
            NoWrongSkip,
            move |r| is(ord(r.ts, last_of_3), le),
        ),
        case(
            format!(
                "ts >= TIMESTAMP '{}' AND ts < TIMESTAMP '{}'",
                t(last_of_3 + 1),
                t(first_of_4)
            ),
            NoWrongSkip,
            move |r| {
                and(
                    is(ord(r.ts, last_of_3 + 1), ge),
                    is(ord(r.ts, first_of_4), lt),
                )
            },
        ),
        case(
            format!(
                "ts BETWEEN TIMESTAMP '{}' AND TIMESTAMP '{}'",
                t(first_of_4),
                t(first_of_4 + 300)
            ),
            NoWrongSkip,
            move |r| {
                and(
                    is(ord(r.ts, first_of_4), ge),
                    is(ord(r.ts, first_of_4 + 300), le),
                )
            },
        ),
        case(
            format!("ts < TIMESTAMP '{}'", t(ts_of(0, 0) + 1)),
            NoWrongSkip,
            |r| is(ord(r.ts, ts_of(0, 0) + 1), lt),
        ),
        case("ts IS NULL", NoWrongSkip, |r| is_null(&r.ts)),
        case(
            // 11:00:00.080100+01:00 is 10:00:00.080100 UTC, the last row of file 7.
            "ts >= TIMESTAMP '2026-01-07 11:00:00.080100+01:00'",
            NoWrongSkip,
            move |r| is(ord(r.ts, last_of_7), ge),
        ),
        // Strings: files 5 and 11 record the 32-character prefix as min and max.
        case(
            format!("name > '{LONG_PREFIX}' AND name < 'b'"),
            Exact,
            |r| {
                and(
                    is(sord(&r.name, LONG_PREFIX), gt),
                    is(sord(&r.name, "b"), lt),
                )
            },
        ),
        case(format!("name < '{LONG_PREFIX}'"), Exact, |r| {
            is(sord(&r.name, LONG_PREFIX), lt)
        }),
        case(format!("name = '{long_505}'"), NoWrongSkip, move |r| {
            is(sord(&r.name, &long_505_ref), eq)
        }),
        case(format!("name >= '{long_520}'"), NoWrongSkip, move |r| {
            is(sord(&r.name, &long_520_ref), ge)
        }),
        case(
            format!("name > '{LONG_PREFIX}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"),
            NoWrongSkip,
            |r| {
                let bound = format!("{LONG_PREFIX}-{}", "x".repeat(50));
                is(sord(&r.name, &bound), gt)
            },
        ),
        // Files 5 and 11 cannot be ruled out: their maximum is a 32-character prefix.
        case("name = 'name-00107'", NoWrongSkip, |r| {
            is(sord(&r.name, "name-00107"), eq)
        }),
        case("name IS NULL", Exact, |r| is_null(&r.name)),
        case("name IS NOT NULL AND id >= 1600", Exact, |r| {
            Some(r.name.is_some() && r.id >= 1600)
        }),
        // Doubles: NaN is above every number; the statistics leave it out.
        case("value > 1000.0", NoWrongSkip, |r| {
            is(ford(r.value, 1000.0), gt)
        }),
        case("value > 1000", NoWrongSkip, |r| {
            is(ford(r.value, 1000.0), gt)
        }),
        case("value = CAST('NaN' AS DOUBLE)", NoWrongSkip, |r| {
            is(ford(r.value, f64::NAN), eq)
        }),
        case("value < 0", NoWrongSkip, |r| is(ford(r.value, 0.0), lt)),
        case("value = 0", NoWrongSkip, |r| is(ford(r.value, 0.0), eq)),
        case("NOT (value > 100.5)", NoWrongSkip, |r| {
            not(is(ford(r.value, 100.5), gt))
        }),
        case("value >= 50.25 AND value <= 51.5", NoWrongSkip, |r| {
            and(is(ford(r.value, 50.25), ge), is(ford(r.value, 51.5), le))
        }),
        case("value <= -49.0", Exact, |r| is(ford(r.value, -49.0), le)),
        // Decimals, ascending across files.
        case("amount > 1100.00", Exact, |r| {
            is(ord(r.amount, 110_000), gt)
        }),
        case("amount BETWEEN -10.50 AND 10.50", Exact, |r| {
            and(is(ord(r.amount, -1_050), ge), is(ord(r.amount, 1_050), le))
        }),
        case(
            format!("amount = {}", decimal_text(20_037, 2)),
            Exact,
            |r| is(ord(r.amount, 20_037), eq),
        ),
        case("amount > 200.365", Exact, |r| {
            is(ord(r.amount.map(|a| a * 10), 200_365), gt)
        }),
        case("amount < -499.99", Exact, |r| {
            is(ord(r.amount, -49_999), lt)
        }),
        case("amount = 200.370", Exact, |r| is(ord(r.amount, 20_037), eq)),
        case("amount < 200.3", NoWrongSkip, |r| {
            is(ord(r.amount, 20_030), lt)
        }),
        case("amount * 2 > 2000", NoWrongSkip, |r| {
            is(ord(r.amount, 100_000), gt)
        }),
        case("amount IN (-500.00, 0.37, 1234.56)", Exact, |r| {
            Some(
                r.amount
                    .is_some_and(|a| [-50_000, 37, 123_456].contains(&a)),
            )
        }),
        // Mixes.
        case(
            "(day = '2026-01-05' AND id > 300) OR (region = 'us' AND amount < 0)",
            NoWrongSkip,
            move |r| {
                or(
                    Some(r.day == d0 && r.id > 300),
                    and(region(r, "us"), is(ord(r.amount, 0), lt)),
                )
            },
        ),
        case("NOT (region = 'eu' OR value > 10)", NoWrongSkip, move |r| {
            not(or(region(r, "eu"), is(ford(r.value, 10.0), gt)))
        }),
        case(
            "day = '2026-01-07' AND NOT (id BETWEEN 1300 AND 1500)",
            ExactKeepingNoStats(&[13]),
            move |r| Some(r.day == d2 && !(1300..=1500).contains(&r.id)),
        ),
        case("region IS NULL OR name IS NULL", NoWrongSkip, |r| {
            Some(r.region.is_none() || r.name.is_none())
        }),
        case(
            "id >= 0 AND day >= '2026-01-01'",
            ExactKeepingNoStats(&[10, 13]),
            |r| Some(r.id >= 0),
        ),
        case(
            "region = 'us' AND id = 205",
            ExactKeepingNoStats(&[]),
            move |r| and(region(r, "us"), Some(r.id == 205)),
        ),
        case(
            "region = 'eu' AND id = 205",
            ExactKeepingNoStats(&[13]),
            move |r| and(region(r, "eu"), Some(r.id == 205)),
        ),
        case(
            "region = 'us' AND (ts > TIMESTAMP '2026-01-07 10:00:00.150000' OR value IS NULL)",
            NoWrongSkip,
            move |r| {
                and(
                    region(r, "us"),
                    or(is(ord(r.ts, ts_base_plus(150_000)), gt), is_null(&r.value)),
                )
            },
        ),
    ]
}

fn ts_base_plus(micros: i64) -> i64 {
    sample_table::ts_base() + micros
}
