//! Single values of Delta primitive types.
//!
//! A [`Scalar`] is one typed value: a partition value, a min/max statistic, a literal in a
//! predicate. This module decides how such a value is represented (the protocol's physical
//! units: days for dates, microseconds for timestamps, an unscaled `i128` for decimals), what
//! type it has, how it prints and how two values of one type compare. It knows nothing of any
//! serialized form — partition strings live in [`crate::partition`] — and never converts
//! between types implicitly: comparing an `integer` with a `long` is the caller's cast to make.

pub(crate) mod calendar;

use std::cmp::Ordering;
use std::fmt::{self, Write};

use crate::schema::{DecimalType, PrimitiveType};

use calendar::Fraction;

/// One value of a Delta primitive type, or a typed null.
///
/// Units follow the protocol: [`Date`](Self::Date) counts days and
/// [`Timestamp`](Self::Timestamp) / [`TimestampNtz`](Self::TimestampNtz) count microseconds
/// since 1970-01-01 (UTC for `timestamp`, wall-clock for `timestamp_ntz`); a
/// [`Decimal`](Self::Decimal) is its unscaled integer with the type's precision and scale, so
/// `12.30` as `decimal(4,2)` is `value: 1230, precision: 4, scale: 2`.
///
/// Equality is structural and type-sensitive: `Integer(1) != Long(1)`, `Null(Long) ==
/// Null(Long)`, and floating-point fields compare as IEEE 754 does (`NaN != NaN`,
/// `0.0 == -0.0`). See [`PartialOrd`](#impl-PartialOrd-for-Scalar) for ordering.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A null of the given type.
    Null(PrimitiveType),
    /// `boolean`.
    Boolean(bool),
    /// `byte`.
    Byte(i8),
    /// `short`.
    Short(i16),
    /// `integer`.
    Integer(i32),
    /// `long`.
    Long(i64),
    /// `float`.
    Float(f32),
    /// `double`.
    Double(f64),
    /// `string`.
    String(String),
    /// `binary`.
    Binary(Vec<u8>),
    /// `date`: days since 1970-01-01.
    Date(i32),
    /// `timestamp`: microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
    /// `timestamp_ntz`: microseconds since 1970-01-01T00:00:00 on a clock with no time zone.
    TimestampNtz(i64),
    /// `decimal(precision, scale)`: the value is `value × 10^-scale`.
    Decimal {
        /// The unscaled value.
        value: i128,
        /// Total number of digits of the type, 1 to 38.
        precision: u8,
        /// Digits after the decimal point, 0 to `precision`.
        scale: u8,
    },
}

impl Scalar {
    /// The value's type; for a null, the type it was created with.
    pub fn data_type(&self) -> PrimitiveType {
        match self {
            Scalar::Null(ty) => *ty,
            Scalar::Boolean(_) => PrimitiveType::Boolean,
            Scalar::Byte(_) => PrimitiveType::Byte,
            Scalar::Short(_) => PrimitiveType::Short,
            Scalar::Integer(_) => PrimitiveType::Integer,
            Scalar::Long(_) => PrimitiveType::Long,
            Scalar::Float(_) => PrimitiveType::Float,
            Scalar::Double(_) => PrimitiveType::Double,
            Scalar::String(_) => PrimitiveType::String,
            Scalar::Binary(_) => PrimitiveType::Binary,
            Scalar::Date(_) => PrimitiveType::Date,
            Scalar::Timestamp(_) => PrimitiveType::Timestamp,
            Scalar::TimestampNtz(_) => PrimitiveType::TimestampNtz,
            Scalar::Decimal {
                precision, scale, ..
            } => PrimitiveType::Decimal(DecimalType {
                precision: *precision,
                scale: *scale,
            }),
        }
    }

    /// Whether this is a (typed) null.
    pub fn is_null(&self) -> bool {
        matches!(self, Scalar::Null(_))
    }
}

/// The protocol's name of a primitive type: `long`, `timestamp_ntz`, `decimal(10,2)`.
pub(crate) fn type_name(ty: &PrimitiveType) -> String {
    match ty {
        PrimitiveType::String => "string".into(),
        PrimitiveType::Long => "long".into(),
        PrimitiveType::Integer => "integer".into(),
        PrimitiveType::Short => "short".into(),
        PrimitiveType::Byte => "byte".into(),
        PrimitiveType::Float => "float".into(),
        PrimitiveType::Double => "double".into(),
        PrimitiveType::Boolean => "boolean".into(),
        PrimitiveType::Binary => "binary".into(),
        PrimitiveType::Date => "date".into(),
        PrimitiveType::Timestamp => "timestamp".into(),
        PrimitiveType::TimestampNtz => "timestamp_ntz".into(),
        PrimitiveType::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
    }
}

/// Human, SQL-flavoured text:
///
/// | value | text |
/// | --- | --- |
/// | null | `NULL` |
/// | boolean, integers | `true`, `-42` |
/// | float, double | Java/Spark style: `1.5`, `100.0`, `1.0E10`, `NaN`, `Infinity` |
/// | string | the string itself, unquoted |
/// | binary | `X'0A0B'` (upper-case hex) |
/// | date | `2026-01-07` |
/// | timestamp | `2026-01-07T12:30:00Z`, `2026-01-07T12:30:00.25Z` |
/// | timestamp_ntz | `2026-01-07T12:30:00` (no zone) |
/// | decimal | the scale applied: `12.30`, `-0.05`, `7` |
///
/// Fractional seconds appear only when non-zero, without trailing zeros. Years outside
/// 0000-9999 use the ISO 8601 expanded form (`+10000-01-01`).
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null(_) => f.write_str("NULL"),
            Scalar::Boolean(v) => write!(f, "{v}"),
            Scalar::Byte(v) => write!(f, "{v}"),
            Scalar::Short(v) => write!(f, "{v}"),
            Scalar::Integer(v) => write!(f, "{v}"),
            Scalar::Long(v) => write!(f, "{v}"),
            Scalar::Float(v) => f.write_str(&format_f32(*v)),
            Scalar::Double(v) => f.write_str(&format_f64(*v)),
            Scalar::String(v) => f.write_str(v),
            Scalar::Binary(v) => {
                f.write_str("X'")?;
                for byte in v {
                    write!(f, "{byte:02X}")?;
                }
                f.write_char('\'')
            }
            Scalar::Date(days) => calendar::write_date(f, i64::from(*days)),
            Scalar::Timestamp(micros) => {
                calendar::write_date_time(f, *micros, 'T', Fraction::Trimmed)?;
                f.write_char('Z')
            }
            Scalar::TimestampNtz(micros) => {
                calendar::write_date_time(f, *micros, 'T', Fraction::Trimmed)
            }
            Scalar::Decimal { value, scale, .. } => f.write_str(&format_decimal(*value, *scale)),
        }
    }
}

/// Values of the same type compare by value; anything else is unordered (`None`).
///
/// - Different types, including decimals of different precision or scale and `timestamp`
///   against `timestamp_ntz`, give `None`: cast first.
/// - A null against a non-null gives `None`; two nulls of the same type are `Equal`, to stay
///   consistent with `==`. This is structural ordering, not SQL's three-valued logic, which
///   expression evaluation must apply itself.
/// - Floats compare as IEEE 754: `NaN` is unordered, `-0.0` equals `0.0`.
/// - Strings compare by UTF-8 bytes (code point order); binaries as unsigned bytes;
///   `false < true`.
impl PartialOrd for Scalar {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        use Scalar::*;
        match (self, other) {
            (Null(a), Null(b)) => (a == b).then_some(Ordering::Equal),
            (Boolean(a), Boolean(b)) => a.partial_cmp(b),
            (Byte(a), Byte(b)) => a.partial_cmp(b),
            (Short(a), Short(b)) => a.partial_cmp(b),
            (Integer(a), Integer(b)) => a.partial_cmp(b),
            (Long(a), Long(b)) => a.partial_cmp(b),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (Double(a), Double(b)) => a.partial_cmp(b),
            (String(a), String(b)) => a.partial_cmp(b),
            (Binary(a), Binary(b)) => a.partial_cmp(b),
            (Date(a), Date(b)) => a.partial_cmp(b),
            (Timestamp(a), Timestamp(b)) => a.partial_cmp(b),
            (TimestampNtz(a), TimestampNtz(b)) => a.partial_cmp(b),
            (
                Decimal {
                    value: a,
                    precision: pa,
                    scale: sa,
                },
                Decimal {
                    value: b,
                    precision: pb,
                    scale: sb,
                },
            ) if pa == pb && sa == sb => a.partial_cmp(b),
            _ => None,
        }
    }
}

macro_rules! scalar_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$t> for Scalar {
                #[doc = concat!("A `", stringify!($variant), "` scalar.")]
                fn from(value: $t) -> Self {
                    Scalar::$variant(value.into())
                }
            }
        )*
    };
}

scalar_from!(
    bool => Boolean,
    i8 => Byte,
    i16 => Short,
    i32 => Integer,
    i64 => Long,
    f32 => Float,
    f64 => Double,
    String => String,
    &str => String,
    Vec<u8> => Binary,
    &[u8] => Binary,
);

/// Formats an `f64` as Java's `Double.toString` does (which is what Spark writes): plain
/// decimal notation with at least one fractional digit for magnitudes in `[1e-3, 1e7)`,
/// otherwise `d.dddE±n`; `NaN`, `Infinity`, `-Infinity`; `-0.0` keeps its sign. The digits are
/// the shortest that read back to the same value.
pub(crate) fn format_f64(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = v.abs();
    if v == 0.0 || (1e-3..1e7).contains(&magnitude) {
        java_plain(v.to_string())
    } else {
        java_scientific(format!("{v:e}"))
    }
}

/// [`format_f64`] for `f32` (Java's `Float.toString`), with the shortest digits of the `f32`.
pub(crate) fn format_f32(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = v.abs();
    if v == 0.0 || (1e-3..1e7).contains(&magnitude) {
        java_plain(v.to_string())
    } else {
        java_scientific(format!("{v:e}"))
    }
}

/// `"100"` -> `"100.0"`; Rust's `Display` already gives the shortest plain digits.
fn java_plain(text: String) -> String {
    if text.contains('.') {
        text
    } else {
        text + ".0"
    }
}

/// `"1e10"` -> `"1.0E10"`, `"1.5e-7"` -> `"1.5E-7"`.
fn java_scientific(text: String) -> String {
    match text.split_once('e') {
        Some((mantissa, exponent)) if mantissa.contains('.') => format!("{mantissa}E{exponent}"),
        Some((mantissa, exponent)) => format!("{mantissa}.0E{exponent}"),
        None => text,
    }
}

/// Formats an unscaled decimal with `scale` fractional digits, always all of them: `(1230, 2)`
/// -> `12.30`, `(-5, 2)` -> `-0.05`, `(7, 0)` -> `7`.
pub(crate) fn format_decimal(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if value < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
        return out;
    }
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(value: i128, precision: u8, scale: u8) -> Scalar {
        Scalar::Decimal {
            value,
            precision,
            scale,
        }
    }

    #[test]
    fn data_types() {
        assert_eq!(Scalar::Long(1).data_type(), PrimitiveType::Long);
        assert_eq!(
            Scalar::Null(PrimitiveType::Date).data_type(),
            PrimitiveType::Date
        );
        assert_eq!(
            dec(1230, 4, 2).data_type(),
            PrimitiveType::Decimal(DecimalType {
                precision: 4,
                scale: 2
            })
        );
        assert!(Scalar::Null(PrimitiveType::String).is_null());
        assert!(!Scalar::String(String::new()).is_null());
        assert_eq!(type_name(&dec(1, 10, 2).data_type()), "decimal(10,2)");
        assert_eq!(type_name(&PrimitiveType::TimestampNtz), "timestamp_ntz");
    }

    #[test]
    fn display() {
        let day = calendar::days_from_civil(2026, 1, 7);
        let micros = day * calendar::MICROS_PER_DAY + 45_000_250_000;
        let cases: Vec<(Scalar, &str)> = vec![
            (Scalar::Null(PrimitiveType::Long), "NULL"),
            (Scalar::Boolean(true), "true"),
            (Scalar::Byte(-128), "-128"),
            (Scalar::Long(i64::MAX), "9223372036854775807"),
            (Scalar::Double(1.5), "1.5"),
            (Scalar::Double(100.0), "100.0"),
            (Scalar::Double(1e10), "1.0E10"),
            (Scalar::Double(-1.5e-7), "-1.5E-7"),
            (Scalar::Double(f64::NAN), "NaN"),
            (Scalar::Double(f64::NEG_INFINITY), "-Infinity"),
            (Scalar::Double(-0.0), "-0.0"),
            (Scalar::Float(0.1), "0.1"),
            (Scalar::Float(3.402_823_5e38), "3.4028235E38"),
            (Scalar::Float(1e7), "1.0E7"),
            (Scalar::Float(9_999_999.0), "9999999.0"),
            (Scalar::Double(0.001), "0.001"),
            (Scalar::Double(0.000_999), "9.99E-4"),
            (Scalar::from("a b"), "a b"),
            (Scalar::Binary(vec![0x0a, 0xff]), "X'0AFF'"),
            (Scalar::Date(i32::try_from(day).unwrap()), "2026-01-07"),
            (Scalar::Date(-1), "1969-12-31"),
            (Scalar::Timestamp(micros), "2026-01-07T12:30:00.25Z"),
            (Scalar::Timestamp(0), "1970-01-01T00:00:00Z"),
            (Scalar::Timestamp(-1), "1969-12-31T23:59:59.999999Z"),
            (Scalar::TimestampNtz(micros), "2026-01-07T12:30:00.25"),
            (dec(1230, 4, 2), "12.30"),
            (dec(-5, 3, 2), "-0.05"),
            (dec(7, 1, 0), "7"),
            (dec(0, 38, 18), "0.000000000000000000"),
            (
                dec(-99_999_999_999_999_999_999_999_999_999_999_999_999, 38, 38),
                "-0.99999999999999999999999999999999999999",
            ),
        ];
        for (scalar, text) in cases {
            assert_eq!(scalar.to_string(), text, "{scalar:?}");
        }
    }

    #[test]
    fn ordering_within_a_type() {
        assert!(Scalar::Long(1) < Scalar::Long(2));
        assert!(Scalar::from("a") < Scalar::from("b"));
        assert!(Scalar::from("Z") < Scalar::from("a"));
        assert!(Scalar::Binary(vec![0x7f]) < Scalar::Binary(vec![0x80]));
        assert!(Scalar::Boolean(false) < Scalar::Boolean(true));
        assert!(Scalar::Date(-1) < Scalar::Date(0));
        assert!(dec(-5, 3, 2) < dec(1, 3, 2));
        assert_eq!(
            Scalar::Double(0.0).partial_cmp(&Scalar::Double(-0.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Scalar::Null(PrimitiveType::Long).partial_cmp(&Scalar::Null(PrimitiveType::Long)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn unordered_across_types_nulls_and_nan() {
        let pairs = [
            (Scalar::Integer(1), Scalar::Long(1)),
            (Scalar::Timestamp(0), Scalar::TimestampNtz(0)),
            (dec(100, 4, 2), dec(10, 4, 1)),
            (dec(1, 4, 2), dec(1, 5, 2)),
            (Scalar::Null(PrimitiveType::Long), Scalar::Long(1)),
            (
                Scalar::Null(PrimitiveType::Long),
                Scalar::Null(PrimitiveType::Integer),
            ),
            (Scalar::Double(f64::NAN), Scalar::Double(f64::NAN)),
            (Scalar::Float(f32::NAN), Scalar::Float(1.0)),
        ];
        for (a, b) in pairs {
            assert_eq!(a.partial_cmp(&b), None, "{a:?} vs {b:?}");
            assert_eq!(b.partial_cmp(&a), None, "{b:?} vs {a:?}");
            assert_ne!(a, b);
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(Scalar::from(1i32), Scalar::Integer(1));
        assert_eq!(Scalar::from(1i64), Scalar::Long(1));
        assert_eq!(Scalar::from(&b"ab"[..]), Scalar::Binary(b"ab".to_vec()));
        assert_eq!(Scalar::from("x".to_owned()), Scalar::String("x".into()));
    }
}
