//! Comparing a literal with values of another type, exactly.
//!
//! Evaluation and data skipping both compare a column (or a statistic) with a literal. This
//! module decides, once for both, how a literal of any type lands in a column's value domain:
//! exactly on a value (`Bound::Exact`), strictly between two neighbouring values
//! (`Bound::Between`: `3.5` among integers), or beyond every value (`Bound::Below`,
//! `Bound::Above`: `1000` among bytes); and how `column op literal` then rewrites into a
//! comparison with a value of the column's own type, or a constant ([`rewrite`]).
//!
//! That is why evaluation never casts a column to compare it with a literal, and why
//! `int_col = 3.5` is false rather than `int_col = 3`. The conversions (module docs of
//! [`crate::expr`]):
//!
//! - integers and decimals: exact; a float literal counts as its shortest decimal form
//!   (`0.1E0` is 0.1), `NaN` as larger than every number, infinities as beyond every number;
//! - floats: integer and decimal literals round to the nearest `double` first (Spark's cast),
//!   then compare exactly with `float` values; a string literal is parsed as the column's type;
//! - dates and timestamps compare as instants in microseconds (dates at midnight UTC,
//!   `timestamp_ntz` as UTC wall-clock time);
//! - strings, binaries, booleans: only their own kind (a string literal is parsed as the
//!   column's type, and is a binary's UTF-8 bytes).
//!
//! It never decides null handling: callers deal with null literals and null values.

use std::cmp::Ordering;

use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::PrimitiveType;

use super::CompareOp;
use super::literal::{primitive_type_name, protocol_reason};

/// Microseconds in a day.
const MICROS_PER_DAY: i128 = 86_400_000_000;

/// The values of one column type, as far as comparisons care.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Domain {
    /// Integers and decimals: stored integers `v` meaning `v × 10^-scale`, in `[min, max]`.
    Exact { scale: i32, min: i128, max: i128 },
    /// `float`.
    Float32,
    /// `double`.
    Float64,
    /// Dates and timestamps: stored integers counting `unit`s since the epoch, in `[min, max]`.
    Temporal {
        kind: TemporalKind,
        unit: TimeScale,
        min: i128,
        max: i128,
    },
    /// UTF-8 strings, compared by bytes.
    String,
    /// Byte strings, compared as unsigned bytes.
    Binary,
    /// Booleans, `false < true`.
    Boolean,
}

/// Which temporal type a domain is, to read string literals as it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TemporalKind {
    /// `date`.
    Date,
    /// `timestamp` (instants, UTC).
    Utc,
    /// `timestamp_ntz` (wall-clock time).
    Ntz,
}

/// The length of one stored unit of a temporal domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeScale {
    /// One unit is this many microseconds (days, seconds, milliseconds, microseconds).
    Micros(i128),
    /// One microsecond is this many units (nanoseconds: 1000).
    PerMicro(i128),
}

/// A value of a [`Domain`], in its stored form.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DomainValue {
    /// An `Exact` or `Temporal` stored integer.
    Int(i128),
    /// A `float`, normalized (see [`normalize_f32`]).
    F32(f32),
    /// A `double`, normalized.
    F64(f64),
    /// A string.
    Str(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A boolean.
    Bool(bool),
}

/// Where a literal lands among the values of a domain.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bound {
    /// On this value.
    Exact(DomainValue),
    /// Strictly between these two neighbouring values (no value lies between them).
    Between(DomainValue, DomainValue),
    /// Below every value of the domain.
    Below,
    /// Above every value of the domain.
    Above,
}

/// `column op literal`, rewritten in the column's domain.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Rewritten {
    /// `column op value`.
    Compare(CompareOp, DomainValue),
    /// The comparison has this result for every non-null column value (and is null for null
    /// values).
    Constant(bool),
}

impl Domain {
    /// The domain of a Delta primitive type.
    pub(super) fn of_primitive(ty: PrimitiveType) -> Domain {
        match ty {
            PrimitiveType::Byte => Domain::integer(i8::MIN.into(), i8::MAX.into()),
            PrimitiveType::Short => Domain::integer(i16::MIN.into(), i16::MAX.into()),
            PrimitiveType::Integer => Domain::integer(i32::MIN.into(), i32::MAX.into()),
            PrimitiveType::Long => Domain::integer(i64::MIN.into(), i64::MAX.into()),
            PrimitiveType::Decimal(d) => Domain::decimal(i32::from(d.scale)),
            PrimitiveType::Float => Domain::Float32,
            PrimitiveType::Double => Domain::Float64,
            PrimitiveType::Date => Domain::Temporal {
                kind: TemporalKind::Date,
                unit: TimeScale::Micros(MICROS_PER_DAY),
                min: i32::MIN.into(),
                max: i32::MAX.into(),
            },
            PrimitiveType::Timestamp => Domain::timestamp(TemporalKind::Utc, TimeScale::Micros(1)),
            PrimitiveType::TimestampNtz => {
                Domain::timestamp(TemporalKind::Ntz, TimeScale::Micros(1))
            }
            PrimitiveType::String => Domain::String,
            PrimitiveType::Binary => Domain::Binary,
            PrimitiveType::Boolean => Domain::Boolean,
        }
    }

    /// Integers in `[min, max]`.
    pub(super) fn integer(min: i128, max: i128) -> Domain {
        Domain::Exact { scale: 0, min, max }
    }

    /// Decimals of a scale. The range is not limited to the precision: values beyond it are
    /// invalid data, and treating them as ordinary numbers keeps comparisons safe.
    pub(super) fn decimal(scale: i32) -> Domain {
        Domain::Exact {
            scale,
            min: i128::MIN,
            max: i128::MAX,
        }
    }

    /// A 64-bit timestamp domain.
    pub(super) fn timestamp(kind: TemporalKind, unit: TimeScale) -> Domain {
        Domain::Temporal {
            kind,
            unit,
            min: i64::MIN.into(),
            max: i64::MAX.into(),
        }
    }
}

/// A statistic or literal in its own type's domain; `None` for nulls.
pub(super) fn own_value(scalar: &Scalar) -> Option<DomainValue> {
    Some(match scalar {
        Scalar::Null(_) => return None,
        Scalar::Boolean(v) => DomainValue::Bool(*v),
        Scalar::Byte(v) => DomainValue::Int((*v).into()),
        Scalar::Short(v) => DomainValue::Int((*v).into()),
        Scalar::Integer(v) => DomainValue::Int((*v).into()),
        Scalar::Long(v) => DomainValue::Int((*v).into()),
        Scalar::Decimal { value, .. } => DomainValue::Int(*value),
        Scalar::Date(v) => DomainValue::Int((*v).into()),
        Scalar::Timestamp(v) | Scalar::TimestampNtz(v) => DomainValue::Int((*v).into()),
        Scalar::Float(v) => DomainValue::F32(normalize_f32(*v)),
        Scalar::Double(v) => DomainValue::F64(normalize_f64(*v)),
        Scalar::String(v) => DomainValue::Str(v.clone()),
        Scalar::Binary(v) => DomainValue::Bytes(v.clone()),
    })
}

/// Orders two values of one domain: integers numerically, floats as Spark does (after
/// normalization `total_cmp` puts NaN last and makes `-0.0` equal `0.0`), strings and bytes
/// lexicographically by byte, `false < true`. `None` for values of different kinds.
pub(super) fn compare_values(a: &DomainValue, b: &DomainValue) -> Option<Ordering> {
    use DomainValue::*;
    Some(match (a, b) {
        (Int(a), Int(b)) => a.cmp(b),
        (F32(a), F32(b)) => normalize_f32(*a).total_cmp(&normalize_f32(*b)),
        (F64(a), F64(b)) => normalize_f64(*a).total_cmp(&normalize_f64(*b)),
        (Str(a), Str(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Bytes(a), Bytes(b)) => a.cmp(b),
        (Bool(a), Bool(b)) => a.cmp(b),
        _ => return None,
    })
}

/// Whether `a op b` holds, given their order.
pub(super) fn holds(op: CompareOp, order: Ordering) -> bool {
    match op {
        CompareOp::Eq => order == Ordering::Equal,
        CompareOp::NotEq => order != Ordering::Equal,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::LtEq => order != Ordering::Greater,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::GtEq => order != Ordering::Less,
    }
}

/// `-0.0` becomes `0.0` and every NaN the one positive quiet NaN, so that `total_cmp` orders
/// floats as Spark compares them.
pub(super) fn normalize_f32(v: f32) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    }
}

/// [`normalize_f32`] for `f64`.
pub(super) fn normalize_f64(v: f64) -> f64 {
    if v.is_nan() {
        f64::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    }
}

/// `column op literal` as a comparison in the column's domain, or a constant.
pub(super) fn rewrite(op: CompareOp, bound: Bound) -> Rewritten {
    use CompareOp::*;
    match bound {
        Bound::Exact(value) => Rewritten::Compare(op, value),
        Bound::Between(floor, ceil) => match op {
            Eq => Rewritten::Constant(false),
            NotEq => Rewritten::Constant(true),
            Lt | LtEq => Rewritten::Compare(LtEq, floor),
            Gt | GtEq => Rewritten::Compare(GtEq, ceil),
        },
        Bound::Below => Rewritten::Constant(matches!(op, NotEq | Gt | GtEq)),
        Bound::Above => Rewritten::Constant(matches!(op, NotEq | Lt | LtEq)),
    }
}

/// Where the non-null literal `literal` lands in `domain`; the error says why it cannot be
/// compared with values of that domain.
pub(super) fn bound(literal: &Scalar, domain: &Domain) -> Result<Bound, String> {
    match *domain {
        Domain::Exact { scale, min, max } => {
            let number = exact_number(literal)?;
            Ok(match number {
                Number::Exact { mantissa, exponent } => {
                    exact_bound(mantissa, i64::from(exponent) + i64::from(scale), min, max)
                }
                Number::Above => Bound::Above,
                Number::Below => Bound::Below,
            })
        }
        Domain::Float64 => Ok(Bound::Exact(DomainValue::F64(normalize_f64(
            match literal {
                Scalar::String(text) => parse_double(text)?,
                other => to_f64(other)?,
            },
        )))),
        Domain::Float32 => match literal {
            Scalar::Float(v) => Ok(Bound::Exact(DomainValue::F32(normalize_f32(*v)))),
            Scalar::String(text) => {
                match parse_partition_value("literal", Some(text), PrimitiveType::Float) {
                    Ok(Scalar::Float(v)) => Ok(Bound::Exact(DomainValue::F32(normalize_f32(v)))),
                    Ok(_) => Err(format!("{text:?} is not a float")),
                    Err(error) => Err(protocol_reason(error)),
                }
            }
            other => Ok(f32_bound(to_f64(other)?)),
        },
        Domain::Temporal {
            kind,
            unit,
            min,
            max,
        } => {
            let micros = temporal_micros(literal, kind)?;
            let (numerator, denominator) = match unit {
                TimeScale::Micros(per_unit) => (micros, per_unit),
                TimeScale::PerMicro(units) => match micros.checked_mul(units) {
                    Some(stored) => (stored, 1),
                    None if micros < 0 => return Ok(Bound::Below),
                    None => return Ok(Bound::Above),
                },
            };
            Ok(ratio_bound(numerator, denominator, min, max))
        }
        Domain::String => match literal {
            Scalar::String(text) => Ok(Bound::Exact(DomainValue::Str(text.clone()))),
            other => Err(not_comparable(other, "string")),
        },
        Domain::Binary => match literal {
            Scalar::Binary(bytes) => Ok(Bound::Exact(DomainValue::Bytes(bytes.clone()))),
            Scalar::String(text) => Ok(Bound::Exact(DomainValue::Bytes(text.as_bytes().to_vec()))),
            other => Err(not_comparable(other, "binary")),
        },
        Domain::Boolean => match literal {
            Scalar::Boolean(v) => Ok(Bound::Exact(DomainValue::Bool(*v))),
            Scalar::String(text) => {
                match parse_partition_value("literal", Some(text), PrimitiveType::Boolean) {
                    Ok(Scalar::Boolean(v)) => Ok(Bound::Exact(DomainValue::Bool(v))),
                    Ok(_) => Err(format!("{text:?} is not a boolean")),
                    Err(error) => Err(protocol_reason(error)),
                }
            }
            other => Err(not_comparable(other, "boolean")),
        },
    }
}

fn not_comparable(literal: &Scalar, domain: &str) -> String {
    let name = primitive_type_name(&literal.data_type());
    format!(
        "{} {name} literal cannot be compared with a {domain}",
        indefinite_article(&name)
    )
}

/// `a` or `an` for the word that follows.
fn indefinite_article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// A literal read as an exact number `mantissa × 10^exponent`, or beyond all numbers.
enum Number {
    Exact { mantissa: i128, exponent: i32 },
    Above,
    Below,
}

fn exact_number(literal: &Scalar) -> Result<Number, String> {
    let exact = |mantissa: i128, exponent: i32| Ok(Number::Exact { mantissa, exponent });
    match literal {
        Scalar::Byte(v) => exact((*v).into(), 0),
        Scalar::Short(v) => exact((*v).into(), 0),
        Scalar::Integer(v) => exact((*v).into(), 0),
        Scalar::Long(v) => exact((*v).into(), 0),
        Scalar::Decimal { value, scale, .. } => exact(*value, -i32::from(*scale)),
        Scalar::Float(v) => Ok(float_number(
            &format!("{v:e}"),
            v.is_nan(),
            v.is_infinite(),
            *v > 0.0,
        )),
        Scalar::Double(v) => Ok(float_number(
            &format!("{v:e}"),
            v.is_nan(),
            v.is_infinite(),
            *v > 0.0,
        )),
        Scalar::String(text) => {
            if let Some((mantissa, exponent)) = parse_exact_decimal(text) {
                return exact(mantissa, exponent);
            }
            let v = parse_double(text)?;
            Ok(float_number(
                &format!("{v:e}"),
                v.is_nan(),
                v.is_infinite(),
                v > 0.0,
            ))
        }
        other => Err(not_comparable(other, "number")),
    }
}

/// A float as a [`Number`], from its shortest scientific form (`1.5e-7`).
fn float_number(scientific: &str, nan: bool, infinite: bool, positive: bool) -> Number {
    if nan || (infinite && positive) {
        return Number::Above;
    }
    if infinite {
        return Number::Below;
    }
    match parse_exact_decimal(scientific) {
        Some((mantissa, exponent)) => Number::Exact { mantissa, exponent },
        // Unreachable for Rust's `{:e}` output, which has at most 17 significant digits.
        None => Number::Above,
    }
}

/// Reads `[+-]digits[.digits][(e|E)[+-]digits]` as `mantissa × 10^exponent`, if the digits
/// fit an `i128`.
fn parse_exact_decimal(text: &str) -> Option<(i128, i32)> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let magnitude: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let exponent = exponent.checked_sub(i32::try_from(fraction.len()).ok()?)?;
    Some((if negative { -magnitude } else { magnitude }, exponent))
}

/// `mantissa × 10^shift` among the integers `[min, max]`.
fn exact_bound(mantissa: i128, shift: i64, min: i128, max: i128) -> Bound {
    if mantissa == 0 {
        return range_checked(0, min, max);
    }
    let beyond = if mantissa < 0 {
        Bound::Below
    } else {
        Bound::Above
    };
    if shift >= 0 {
        let scaled = u32::try_from(shift)
            .ok()
            .and_then(|shift| 10i128.checked_pow(shift))
            .and_then(|factor| mantissa.checked_mul(factor));
        return match scaled {
            Some(value) => range_checked(value, min, max),
            None => beyond,
        };
    }
    match u32::try_from(-shift)
        .ok()
        .and_then(|d| 10i128.checked_pow(d))
    {
        Some(divisor) => ratio_bound(mantissa, divisor, min, max),
        // |mantissa| < 10^39 <= divisor: strictly between -1 and 0, or 0 and 1.
        None if mantissa < 0 => between_checked(-1, min, max),
        None => between_checked(0, min, max),
    }
}

/// `numerator / denominator` (denominator > 0) among the integers `[min, max]`.
fn ratio_bound(numerator: i128, denominator: i128, min: i128, max: i128) -> Bound {
    let floor = numerator.div_euclid(denominator);
    if numerator.rem_euclid(denominator) == 0 {
        range_checked(floor, min, max)
    } else {
        between_checked(floor, min, max)
    }
}

fn range_checked(value: i128, min: i128, max: i128) -> Bound {
    if value < min {
        Bound::Below
    } else if value > max {
        Bound::Above
    } else {
        Bound::Exact(DomainValue::Int(value))
    }
}

/// A value strictly between the integers `floor` and `floor + 1`.
fn between_checked(floor: i128, min: i128, max: i128) -> Bound {
    if floor >= max {
        return Bound::Above;
    }
    // floor < max, so floor + 1 cannot overflow.
    let ceil = floor + 1;
    if ceil <= min {
        Bound::Below
    } else {
        Bound::Between(DomainValue::Int(floor), DomainValue::Int(ceil))
    }
}

/// A `double` among the `float`s: exact, or between its two neighbouring floats.
fn f32_bound(value: f64) -> Bound {
    if value.is_nan() {
        return Bound::Exact(DomainValue::F32(f32::NAN));
    }
    // Rounds to nearest; beyond the finite range it gives an infinity.
    let nearest = value as f32;
    let widened = f64::from(nearest);
    if widened == value {
        Bound::Exact(DomainValue::F32(normalize_f32(nearest)))
    } else if widened < value {
        Bound::Between(
            DomainValue::F32(normalize_f32(nearest)),
            DomainValue::F32(normalize_f32(nearest.next_up())),
        )
    } else {
        Bound::Between(
            DomainValue::F32(normalize_f32(nearest.next_down())),
            DomainValue::F32(normalize_f32(nearest)),
        )
    }
}

/// A numeric literal as the nearest `double` (Spark's cast).
fn to_f64(literal: &Scalar) -> Result<f64, String> {
    match literal {
        Scalar::Byte(v) => Ok((*v).into()),
        Scalar::Short(v) => Ok((*v).into()),
        Scalar::Integer(v) => Ok((*v).into()),
        // Rounds to nearest, as Spark's cast does.
        Scalar::Long(v) => Ok(*v as f64),
        Scalar::Float(v) => Ok((*v).into()),
        Scalar::Double(v) => Ok(*v),
        // The decimal's text read as a double is the nearest double.
        Scalar::Decimal { .. } => literal
            .to_string()
            .parse()
            .map_err(|_| format!("{literal} is not a number")),
        other => Err(not_comparable(other, "floating-point number")),
    }
}

fn parse_double(text: &str) -> Result<f64, String> {
    match parse_partition_value("literal", Some(text), PrimitiveType::Double) {
        Ok(Scalar::Double(v)) => Ok(v),
        Ok(_) => Err(format!("{text:?} is not a number")),
        Err(error) => Err(protocol_reason(error)),
    }
}

/// A date or timestamp literal (or a string read as one) in microseconds since the epoch.
fn temporal_micros(literal: &Scalar, kind: TemporalKind) -> Result<i128, String> {
    match literal {
        Scalar::Date(days) => Ok(i128::from(*days) * MICROS_PER_DAY),
        Scalar::Timestamp(micros) | Scalar::TimestampNtz(micros) => Ok((*micros).into()),
        Scalar::String(text) => {
            let attempt = |ty| parse_partition_value("literal", Some(text), ty);
            let parsed = match kind {
                // A date column also compares with a timestamp string.
                TemporalKind::Date => {
                    attempt(PrimitiveType::Date).or_else(|_| attempt(PrimitiveType::Timestamp))
                }
                TemporalKind::Utc => attempt(PrimitiveType::Timestamp),
                TemporalKind::Ntz => attempt(PrimitiveType::TimestampNtz),
            };
            match parsed.map_err(protocol_reason)? {
                Scalar::Null(_) => Err("an empty string is not a date or timestamp".into()),
                other => temporal_micros(&other, kind),
            }
        }
        other => Err(not_comparable(other, "date or timestamp")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompareOp::*;

    fn int(v: i128) -> DomainValue {
        DomainValue::Int(v)
    }

    fn dec(value: i128, precision: u8, scale: u8) -> Scalar {
        Scalar::Decimal {
            value,
            precision,
            scale,
        }
    }

    #[test]
    fn integers_against_exact_literals() {
        let byte = Domain::of_primitive(PrimitiveType::Byte);
        let int_dom = Domain::of_primitive(PrimitiveType::Integer);
        assert_eq!(bound(&Scalar::Long(5), &byte), Ok(Bound::Exact(int(5))));
        assert_eq!(bound(&Scalar::Integer(1000), &byte), Ok(Bound::Above));
        assert_eq!(bound(&Scalar::Integer(-129), &byte), Ok(Bound::Below));
        assert_eq!(
            bound(&dec(35, 2, 1), &int_dom),
            Ok(Bound::Between(int(3), int(4)))
        );
        assert_eq!(
            bound(&dec(-35, 2, 1), &int_dom),
            Ok(Bound::Between(int(-4), int(-3)))
        );
        assert_eq!(bound(&dec(300, 3, 2), &int_dom), Ok(Bound::Exact(int(3))));
        assert_eq!(
            bound(&Scalar::Double(2.5), &int_dom),
            Ok(Bound::Between(int(2), int(3)))
        );
        assert_eq!(bound(&Scalar::Double(f64::NAN), &int_dom), Ok(Bound::Above));
        assert_eq!(
            bound(&Scalar::Double(f64::NEG_INFINITY), &int_dom),
            Ok(Bound::Below)
        );
        assert_eq!(
            bound(&Scalar::Double(1e-300), &int_dom),
            Ok(Bound::Between(int(0), int(1)))
        );
        assert_eq!(bound(&Scalar::Double(-1e300), &int_dom), Ok(Bound::Below));
        assert_eq!(
            bound(&Scalar::from("12"), &int_dom),
            Ok(Bound::Exact(int(12)))
        );
        assert_eq!(
            bound(&Scalar::from("1.5"), &int_dom),
            Ok(Bound::Between(int(1), int(2)))
        );
        assert!(bound(&Scalar::from("abc"), &int_dom).is_err());
        assert!(bound(&Scalar::Date(1), &int_dom).is_err());
    }

    #[test]
    fn decimals_rescale_exactly() {
        let d = Domain::decimal(2);
        assert_eq!(bound(&Scalar::Integer(3), &d), Ok(Bound::Exact(int(300))));
        assert_eq!(
            bound(&dec(12345, 5, 3), &d),
            Ok(Bound::Between(int(1234), int(1235)))
        );
        assert_eq!(bound(&dec(12340, 5, 3), &d), Ok(Bound::Exact(int(1234))));
        // A double counts as its shortest decimal form.
        assert_eq!(bound(&Scalar::Double(0.1), &d), Ok(Bound::Exact(int(10))));
        assert_eq!(
            bound(&Scalar::Long(i64::MAX), &Domain::decimal(38)),
            Ok(Bound::Above)
        );
    }

    #[test]
    fn floats() {
        let f = Domain::Float32;
        assert_eq!(
            bound(&Scalar::Float(0.1), &f),
            Ok(Bound::Exact(DomainValue::F32(0.1)))
        );
        assert_eq!(
            bound(&Scalar::Double(0.1), &f),
            Ok(Bound::Between(
                DomainValue::F32(0.1f32.next_down()),
                DomainValue::F32(0.1)
            ))
        );
        assert_eq!(
            bound(&Scalar::from("0.1"), &f),
            Ok(Bound::Exact(DomainValue::F32(0.1)))
        );
        assert_eq!(
            bound(&Scalar::Double(-0.0), &Domain::Float64),
            Ok(Bound::Exact(DomainValue::F64(0.0)))
        );
        assert_eq!(
            bound(&Scalar::Double(1e300), &f),
            Ok(Bound::Between(
                DomainValue::F32(f32::MAX),
                DomainValue::F32(f32::INFINITY)
            ))
        );
        assert_eq!(
            compare_values(
                &DomainValue::F64(f64::NAN),
                &DomainValue::F64(f64::INFINITY)
            ),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_values(&DomainValue::F64(-f64::NAN), &DomainValue::F64(f64::NAN)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn temporal() {
        let date = Domain::of_primitive(PrimitiveType::Date);
        let day = 86_400_000_000i64;
        assert_eq!(
            bound(&Scalar::Timestamp(day), &date),
            Ok(Bound::Exact(int(1)))
        );
        assert_eq!(
            bound(&Scalar::Timestamp(day + 1), &date),
            Ok(Bound::Between(int(1), int(2)))
        );
        assert_eq!(
            bound(&Scalar::from("1970-01-02"), &date),
            Ok(Bound::Exact(int(1)))
        );
        assert_eq!(
            bound(&Scalar::from("1970-01-02 00:00:01"), &date),
            Ok(Bound::Between(int(1), int(2)))
        );
        let nanos = Domain::timestamp(TemporalKind::Ntz, TimeScale::PerMicro(1000));
        assert_eq!(
            bound(&Scalar::TimestampNtz(5), &nanos),
            Ok(Bound::Exact(int(5000)))
        );
        assert_eq!(
            bound(&Scalar::TimestampNtz(i64::MAX), &nanos),
            Ok(Bound::Above)
        );
        let millis = Domain::timestamp(TemporalKind::Utc, TimeScale::Micros(1000));
        assert_eq!(
            bound(&Scalar::Timestamp(1500), &millis),
            Ok(Bound::Between(int(1), int(2)))
        );
        assert_eq!(
            bound(&Scalar::Date(i32::MAX), &millis),
            Ok(Bound::Exact(int(i128::from(i32::MAX) * 86_400_000)))
        );
        assert_eq!(
            bound(
                &Scalar::Date(i32::MAX),
                &Domain::of_primitive(PrimitiveType::Timestamp)
            ),
            Ok(Bound::Above)
        );
        let ntz = Domain::of_primitive(PrimitiveType::TimestampNtz);
        assert!(bound(&Scalar::from("2026-01-07 10:00:00+02:00"), &ntz).is_err());
    }

    #[test]
    fn rewrites() {
        let between = || Bound::Between(int(3), int(4));
        assert_eq!(rewrite(Eq, between()), Rewritten::Constant(false));
        assert_eq!(rewrite(NotEq, between()), Rewritten::Constant(true));
        assert_eq!(rewrite(Lt, between()), Rewritten::Compare(LtEq, int(3)));
        assert_eq!(rewrite(GtEq, between()), Rewritten::Compare(GtEq, int(4)));
        assert_eq!(rewrite(Lt, Bound::Above), Rewritten::Constant(true));
        assert_eq!(rewrite(Gt, Bound::Above), Rewritten::Constant(false));
        assert_eq!(rewrite(Gt, Bound::Below), Rewritten::Constant(true));
        assert_eq!(rewrite(LtEq, Bound::Below), Rewritten::Constant(false));
    }
}
