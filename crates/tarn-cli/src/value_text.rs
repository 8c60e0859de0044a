//! The text form of one value, as `tarn cat` writes it in CSV and NDJSON and as `tarn write`
//! reads it back.
//!
//! This module decides, for every type tarn writes, the one text each value is written as and
//! the texts read as a value of that type, so that what `cat` writes reads back to the same
//! value and a text that does not name exactly one value of its column's type is refused:
//!
//! | type | written | read |
//! | --- | --- | --- |
//! | boolean | `true`, `false` | `true`, `false`, any case |
//! | byte … long | `-42` | any number text whose value is a whole number in range: `42`, `4.2e1`, `42.0` |
//! | float, double | Java's `toString`, as Spark writes: `1.5`, `1.0E10`, `-0.0`, `NaN`, `Infinity`, `-Infinity` | decimal or scientific text, rounded to the nearest value as IEEE 754 parsing does; `NaN`, `Infinity`, `-Infinity` (`inf`, any case); a finite text too large for the type is refused |
//! | decimal(p,s) | all `s` fractional digits: `12.30` | any number text whose value has at most `s` fractional digits and `p - s` whole digits: `12.3`, `1.230e1`; never rounded |
//! | date | `2026-01-07`; years outside 0000-9999 signed (`+10000-01-01`, `-0001-01-01`) | `[±]YYYY-M[M]-D[D]` |
//! | timestamp | RFC 3339 in UTC with fractional seconds when not zero, three or six digits: `2026-01-07T10:00:00Z`, `2026-01-07T10:00:00.250Z`, `2026-01-07T10:00:00.572120Z` | a date and time with `T` or a space, optional fraction (digits past the sixth must be zero) and zone (`Z`, `UTC`, `GMT`, `±HH[:MM]`); no zone means UTC |
//! | timestamp_ntz | the same without a zone: `2026-01-07T10:00:00.250` | the same; a zone other than `Z`/`+00:00` is refused |
//! | binary | lower-case hex, two digits a byte: `00ff` | hex of either case, two digits a byte |
//! | string | the string | the string |
//!
//! Everything but a string may have ASCII spaces around it when read. Number texts are read
//! exactly (never through a binary float) except where the column is a float or double: that
//! is the one place a value is rounded, as IEEE 754 text parsing rounds.
//!
//! Dates, timestamps, floats and decimals are written with the library's text form of a
//! value ([`Scalar`]'s `Display`) and dates and timestamps are read with its partition-value
//! parser, so the CLI and the library agree on them. This module never decides where a value
//! goes (a CSV field, a JSON string or number): see [`crate::formats`] and [`crate::input`].

use std::io::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use tarn::protocol::ProtocolError;
use tarn::protocol::partition::parse_partition_value;
use tarn::protocol::scalar::Scalar;
use tarn::protocol::schema::PrimitiveType;

/// The name of an Arrow type as the protocol spells it (`long`, `decimal(10,2)`,
/// `struct<a:int>`), or Arrow's name where Delta has none.
pub(crate) fn type_name(data_type: &DataType) -> String {
    match tarn::protocol::schema::DataType::try_from(data_type) {
        Ok(delta) => format!("{delta}"),
        Err(_) => data_type.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Writes the values of one leaf (non-nested) array as text.
pub(crate) struct LeafWriter<'a> {
    values: Values<'a>,
}

enum Values<'a> {
    Boolean(&'a BooleanArray),
    Int8(&'a Int8Array),
    Int16(&'a Int16Array),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Float32(&'a Float32Array),
    Float64(&'a Float64Array),
    Decimal {
        array: &'a Decimal128Array,
        precision: u8,
        scale: u8,
    },
    Date(&'a Date32Array),
    Timestamp {
        array: &'a TimestampMicrosecondArray,
        zoned: bool,
    },
    Binary(&'a BinaryArray),
    String(&'a StringArray),
}

/// How a value's text stands in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonForm {
    /// As it is: a JSON number or `true`/`false`.
    Bare,
    /// Inside quotes; the text needs no escaping (digits, signs, `:`, `T`, letters).
    Quoted,
    /// A JSON string that may need escaping.
    Escaped,
}

impl<'a> LeafWriter<'a> {
    /// A writer for `array`, or `None` if its type is not one tarn writes as a leaf.
    pub(crate) fn new(array: &'a dyn Array) -> Option<Self> {
        let values = match array.data_type() {
            DataType::Boolean => Values::Boolean(array.as_boolean()),
            DataType::Int8 => Values::Int8(array.as_primitive::<Int8Type>()),
            DataType::Int16 => Values::Int16(array.as_primitive::<Int16Type>()),
            DataType::Int32 => Values::Int32(array.as_primitive::<Int32Type>()),
            DataType::Int64 => Values::Int64(array.as_primitive::<Int64Type>()),
            DataType::Float32 => Values::Float32(array.as_primitive::<Float32Type>()),
            DataType::Float64 => Values::Float64(array.as_primitive::<Float64Type>()),
            DataType::Decimal128(precision, scale) => Values::Decimal {
                array: array.as_primitive::<Decimal128Type>(),
                precision: *precision,
                scale: u8::try_from(*scale).ok()?,
            },
            DataType::Date32 => Values::Date(array.as_primitive::<Date32Type>()),
            DataType::Timestamp(TimeUnit::Microsecond, zone) => Values::Timestamp {
                array: array.as_primitive::<TimestampMicrosecondType>(),
                zoned: zone.is_some(),
            },
            DataType::Binary => Values::Binary(array.as_binary::<i32>()),
            DataType::Utf8 => Values::String(array.as_string::<i32>()),
            _ => return None,
        };
        Some(Self { values })
    }

    /// Appends the text of the (non-null) value at `row`.
    pub(crate) fn write(&self, row: usize, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _infallible = match &self.values {
            Values::Boolean(a) => {
                out.extend_from_slice(if a.value(row) { b"true" } else { b"false" });
                Ok(())
            }
            Values::Int8(a) => write!(out, "{}", a.value(row)),
            Values::Int16(a) => write!(out, "{}", a.value(row)),
            Values::Int32(a) => write!(out, "{}", a.value(row)),
            Values::Int64(a) => write!(out, "{}", a.value(row)),
            Values::Float32(a) => write!(out, "{}", Scalar::Float(a.value(row))),
            Values::Float64(a) => write!(out, "{}", Scalar::Double(a.value(row))),
            Values::Decimal {
                array,
                precision,
                scale,
            } => write!(
                out,
                "{}",
                Scalar::Decimal {
                    value: array.value(row),
                    precision: *precision,
                    scale: *scale,
                }
            ),
            Values::Date(a) => write!(out, "{}", Scalar::Date(a.value(row))),
            Values::Timestamp { array, zoned } => {
                let start = out.len();
                let micros = array.value(row);
                let written = if *zoned {
                    write!(out, "{}", Scalar::Timestamp(micros))
                } else {
                    write!(out, "{}", Scalar::TimestampNtz(micros))
                };
                pad_fraction(out, start);
                written
            }
            Values::Binary(a) => {
                write_hex(a.value(row), out);
                Ok(())
            }
            Values::String(a) => {
                out.extend_from_slice(a.value(row).as_bytes());
                Ok(())
            }
        };
    }

    /// How the text of the value at `row` stands in JSON: numbers bare, except the floats
    /// JSON has no number for (`NaN`, `Infinity`, `-Infinity`), which are strings.
    pub(crate) fn json_form(&self, row: usize) -> JsonForm {
        match &self.values {
            Values::Boolean(_)
            | Values::Int8(_)
            | Values::Int16(_)
            | Values::Int32(_)
            | Values::Int64(_)
            | Values::Decimal { .. } => JsonForm::Bare,
            Values::Float32(a) if a.value(row).is_finite() => JsonForm::Bare,
            Values::Float64(a) if a.value(row).is_finite() => JsonForm::Bare,
            Values::Float32(_)
            | Values::Float64(_)
            | Values::Date(_)
            | Values::Timestamp { .. }
            | Values::Binary(_) => JsonForm::Quoted,
            Values::String(_) => JsonForm::Escaped,
        }
    }
}

/// Pads the fractional seconds of the timestamp text written from `start` (the library
/// trims trailing zeros) to three or six digits: the form arrow-json and chrono's RFC 3339
/// writer use (`.250Z`, `.572120Z`), which `tarn cat` has always written.
fn pad_fraction(out: &mut Vec<u8>, start: usize) {
    let Some(point) = out[start..].iter().position(|&b| b == b'.') else {
        return;
    };
    let digits_start = start + point + 1;
    let digits = out[digits_start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let want: usize = if digits <= 3 { 3 } else { 6 };
    let end = digits_start + digits;
    out.splice(
        end..end,
        std::iter::repeat_n(b'0', want.saturating_sub(digits)),
    );
}

fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 0xf)]);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Why a text is not a value of its column's type; completes "cannot read "x" as long: …".
pub(crate) type Refusal = String;

/// Reads `true` or `false`, in any case.
pub(crate) fn parse_boolean(text: &str) -> Result<bool, Refusal> {
    let text = text.trim_ascii();
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false".to_owned())
    }
}

/// Reads a whole number in `min..=max` from any number text whose value is exactly that
/// number (`42`, `42.0`, `4.2e1`).
pub(crate) fn parse_whole(text: &str, min: i64, max: i64) -> Result<i64, Refusal> {
    let text = text.trim_ascii();
    let value = match text.parse::<i64>() {
        Ok(value) => i128::from(value),
        // i64 has 19 digits; 20 leave room to tell "too large" from "not whole".
        Err(_) => match NumberText::parse(text)?.scaled(0, 20) {
            Ok(value) => value,
            Err(Inexact::Fraction) => return Err("it is not a whole number".to_owned()),
            Err(Inexact::TooLarge) => i128::MAX,
        },
    };
    match i64::try_from(value) {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(format!("it is outside the range {min} to {max}")),
    }
}

/// Reads a decimal(`precision`,`scale`) as its unscaled value, exactly: a text with more
/// than `scale` fractional digits (other than trailing zeros) or more than
/// `precision - scale` whole digits is refused, never rounded.
pub(crate) fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, Refusal> {
    let number = NumberText::parse(text.trim_ascii())?;
    match number.scaled(i64::from(scale), u32::from(precision)) {
        Ok(value) => Ok(value),
        Err(Inexact::Fraction) => Err(format!(
            "it has more than {} after the decimal point, and tarn does not round",
            digits(i16::from(scale))
        )),
        Err(Inexact::TooLarge) => Err(format!(
            "it has more than {} before the decimal point",
            digits(i16::from(precision) - i16::from(scale))
        )),
    }
}

fn digits(count: i16) -> String {
    if count == 1 {
        "1 digit".to_owned()
    } else {
        format!("{count} digits")
    }
}

/// Reads a double: the nearest double to a decimal or scientific text, or `NaN`,
/// `Infinity`, `-Infinity`. A finite text beyond the double range is refused.
pub(crate) fn parse_f64(text: &str) -> Result<f64, Refusal> {
    let text = text.trim_ascii();
    let value: f64 = text.parse().map_err(|_| not_a_float())?;
    if value.is_infinite() && !names_infinity(text) {
        return Err("it is outside the range of a double".to_owned());
    }
    Ok(value)
}

/// [`parse_f64`] for a float, rounding the text to the nearest float directly (not through
/// a double, which could round twice).
pub(crate) fn parse_f32(text: &str) -> Result<f32, Refusal> {
    let text = text.trim_ascii();
    let value: f32 = text.parse().map_err(|_| not_a_float())?;
    if value.is_infinite() && !names_infinity(text) {
        return Err("it is outside the range of a float".to_owned());
    }
    Ok(value)
}

fn not_a_float() -> Refusal {
    "expected a number, NaN, Infinity or -Infinity".to_owned()
}

fn names_infinity(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['+', '-']);
    unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity")
}

/// Reads a date as days since 1970-01-01.
pub(crate) fn parse_date(text: &str) -> Result<i32, Refusal> {
    match library_parse(text, PrimitiveType::Date)? {
        Scalar::Date(days) => Ok(days),
        other => Err(format!("read as {other}")),
    }
}

/// Reads a timestamp as microseconds since 1970-01-01T00:00:00 UTC (`zoned`), or as the
/// wall-clock microseconds of a timestamp without zone.
pub(crate) fn parse_timestamp(text: &str, zoned: bool) -> Result<i64, Refusal> {
    let ty = if zoned {
        PrimitiveType::Timestamp
    } else {
        PrimitiveType::TimestampNtz
    };
    match library_parse(text, ty)? {
        Scalar::Timestamp(micros) | Scalar::TimestampNtz(micros) => Ok(micros),
        other => Err(format!("read as {other}")),
    }
}

/// The library's reading of a date or timestamp text (its partition-value parser, which is
/// exact and knows expanded years).
fn library_parse(text: &str, ty: PrimitiveType) -> Result<Scalar, Refusal> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    match parse_partition_value("", Some(text), ty) {
        Ok(scalar) => Ok(scalar),
        Err(ProtocolError::InvalidPartitionValue { reason, .. }) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

/// Reads hex, two digits a byte, either case.
pub(crate) fn parse_hex(text: &str, out: &mut Vec<u8>) -> Result<(), Refusal> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(
            "binary is written as hex, two digits a byte, and this has an odd number of \
                    characters"
                .to_owned(),
        );
    }
    out.reserve(bytes.len() / 2);
    for (index, pair) in bytes.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => out.push(high << 4 | low),
            _ => {
                return Err(format!(
                    "binary is written as hex, two digits a byte, and character {} is not a \
                     hex digit",
                    index * 2 + 1 + usize::from(nibble(pair[0]).is_some())
                ));
            }
        }
    }
    Ok(())
}

/// A number's text, `[+-]digits[.digits][(e|E)[+-]digits]` (digits on at least one side of
/// the point), kept as text so that its value can be taken exactly.
struct NumberText<'a> {
    negative: bool,
    /// The digits before the point, then those after it.
    whole: &'a [u8],
    fraction: &'a [u8],
    /// The power of ten after `e`, saturated far beyond any precision.
    exponent: i64,
}

/// Why a number has no exact scaled form.
#[derive(Debug, PartialEq, Eq)]
enum Inexact {
    /// It has non-zero digits below the scale.
    Fraction,
    /// It has more digits than allowed.
    TooLarge,
}

impl<'a> NumberText<'a> {
    fn parse(text: &'a str) -> Result<Self, Refusal> {
        let not_a_number = || "expected a number like 12.30, -1 or 1E+2".to_owned();
        let bytes = text.as_bytes();
        let (negative, unsigned) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let (mantissa, exponent) = match unsigned.iter().position(|b| matches!(b, b'e' | b'E')) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, &mantissa[mantissa.len()..]),
        };
        if whole.len() + fraction.len() == 0
            || !whole.iter().all(u8::is_ascii_digit)
            || !fraction.iter().all(u8::is_ascii_digit)
        {
            return Err(not_a_number());
        }
        Ok(Self {
            negative,
            whole,
            fraction,
            exponent: exponent.map_or(Ok(0), parse_exponent)?,
        })
    }

    fn digit(&self, index: usize) -> u8 {
        let digit = match self.whole.get(index) {
            Some(d) => *d,
            None => self.fraction[index - self.whole.len()],
        };
        digit - b'0'
    }

    /// The value times 10^`scale` as an integer of at most `max_digits` digits (at most 38).
    fn scaled(&self, scale: i64, max_digits: u32) -> Result<i128, Inexact> {
        let len = self.whole.len() + self.fraction.len();
        let Some(first) = (0..len).find(|&i| self.digit(i) != 0) else {
            return Ok(0);
        };
        // `first` is non-zero, so a last non-zero digit exists.
        let last = (first..len)
            .rev()
            .find(|&i| self.digit(i) != 0)
            .unwrap_or(first);
        let count = i64::try_from(last - first + 1).unwrap_or(i64::MAX);
        // The power of ten of the last significant digit, then of the scaled value.
        let trailing = i64::try_from(len - 1 - last).unwrap_or(i64::MAX);
        let fraction = i64::try_from(self.fraction.len()).unwrap_or(i64::MAX);
        let shift = self
            .exponent
            .saturating_add(trailing)
            .saturating_sub(fraction)
            .saturating_add(scale);
        if shift < 0 {
            return Err(Inexact::Fraction);
        }
        if count.saturating_add(shift) > i64::from(max_digits) {
            return Err(Inexact::TooLarge);
        }
        // At most 38 digits: no overflow in i128.
        let mut value: i128 = 0;
        for i in first..=last {
            value = value * 10 + i128::from(self.digit(i));
        }
        value *= 10i128.pow(u32::try_from(shift).unwrap_or(0));
        Ok(if self.negative { -value } else { value })
    }
}

fn parse_exponent(text: &[u8]) -> Result<i64, Refusal> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err("the exponent is not a whole number".to_owned());
    }
    // Saturate: an exponent past 10^12 is as good as infinite for 38-digit values.
    let magnitude = digits.iter().fold(0i64, |acc, d| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(d - b'0'))
            .min(1_000_000_000_000)
    });
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn whole_numbers_are_read_exactly() {
        let long = |t: &str| parse_whole(t, i64::MIN, i64::MAX);
        assert_eq!(long("42"), Ok(42));
        assert_eq!(long(" -7 "), Ok(-7));
        assert_eq!(long("3.0"), Ok(3));
        assert_eq!(long("3e2"), Ok(300));
        assert_eq!(long("300E-2"), Ok(3));
        assert_eq!(long("-0"), Ok(0));
        assert_eq!(long("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(long("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(long("-9223372036854775808.000"), Ok(i64::MIN));
        assert!(long("-2.9").unwrap_err().contains("not a whole number"));
        assert!(long("1.0000000000000001").unwrap_err().contains("whole"));
        assert!(long("9223372036854775808").unwrap_err().contains("range"));
        assert!(long("1e30").unwrap_err().contains("range"));
        assert!(long("1e999999999999999999").unwrap_err().contains("range"));
        assert!(long("1e-999999999999999999").unwrap_err().contains("whole"));
        assert_eq!(long("0e999999999999999999"), Ok(0));
        assert!(parse_whole("128", -128, 127).unwrap_err().contains("range"));
        for bad in ["", "-", "1.2.3", "e5", "0x10", "NaN", "1,000", "true"] {
            assert!(
                long(bad).unwrap_err().contains("expected a number"),
                "{bad}"
            );
        }
        for bad in ["1e", "1e1.5"] {
            assert!(long(bad).unwrap_err().contains("exponent"), "{bad}");
        }
    }

    #[test]
    fn decimals_are_never_rounded() {
        let d = |t: &str| parse_decimal(t, 10, 2);
        assert_eq!(d("1.23"), Ok(123));
        assert_eq!(d("1.230"), Ok(123));
        assert_eq!(d("-1.2"), Ok(-120));
        assert_eq!(d("1.23e1"), Ok(1230));
        assert_eq!(d(".5"), Ok(50));
        assert_eq!(d("5."), Ok(500));
        assert_eq!(d("99999999.99"), Ok(9_999_999_999));
        assert!(d("1.239").unwrap_err().contains("more than 2 digits after"));
        assert!(
            d("100000000")
                .unwrap_err()
                .contains("more than 8 digits before")
        );
        let max = "9".repeat(38);
        assert_eq!(parse_decimal(&max, 38, 0), Ok(10i128.pow(38) - 1));
        assert_eq!(
            parse_decimal(&format!("-0.{max}"), 38, 38),
            Ok(1 - 10i128.pow(38))
        );
        assert!(parse_decimal(&format!("{max}9"), 38, 0).is_err());
    }

    #[test]
    fn floats_round_to_nearest_and_name_the_specials() {
        assert_eq!(parse_f64("0.1"), Ok(0.1));
        assert!(parse_f64("NaN").unwrap().is_nan());
        assert_eq!(parse_f64("Infinity"), Ok(f64::INFINITY));
        assert_eq!(parse_f64("-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_f64("-inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_f64("-0.0").unwrap().is_sign_negative());
        assert!(parse_f64("1e400").unwrap_err().contains("range"));
        assert_eq!(parse_f64("1e-400"), Ok(0.0));
        assert_eq!(parse_f32("0.1"), Ok(0.1f32));
        assert!(parse_f32("3.5e38").unwrap_err().contains("range"));
        assert!(parse_f64("one").is_err());
    }

    #[test]
    fn written_text_reads_back() {
        let floats = Float64Array::from(vec![
            0.1,
            -0.0,
            1e300,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]);
        let writer = LeafWriter::new(&floats).unwrap();
        for row in 0..floats.len() {
            let mut text = Vec::new();
            writer.write(row, &mut text);
            let back = parse_f64(std::str::from_utf8(&text).unwrap()).unwrap();
            assert_eq!(back.to_bits(), floats.value(row).to_bits(), "row {row}");
        }
        let dates = Date32Array::from(vec![0, -719_529, 2_932_897, i32::MIN, i32::MAX]);
        let writer = LeafWriter::new(&dates).unwrap();
        for row in 0..dates.len() {
            let mut text = Vec::new();
            writer.write(row, &mut text);
            let text = String::from_utf8(text).unwrap();
            assert_eq!(parse_date(&text), Ok(dates.value(row)), "{text}");
        }
        let micros = [0, -1, i64::MIN, i64::MAX, 1_767_780_000_250_000];
        for zoned in [true, false] {
            let array = TimestampMicrosecondArray::from(micros.to_vec());
            let array = if zoned {
                array.with_timezone("UTC")
            } else {
                array
            };
            let writer = LeafWriter::new(&array).unwrap();
            for (row, want) in micros.iter().enumerate() {
                let mut text = Vec::new();
                writer.write(row, &mut text);
                let text = String::from_utf8(text).unwrap();
                assert_eq!(parse_timestamp(&text, zoned), Ok(*want), "{text}");
            }
        }
    }

    #[test]
    fn timestamps_are_written_with_zero_three_or_six_fractional_digits() {
        let micros = vec![0, 250_000, 572_120, 1, -1];
        let text = |zone: Option<&str>| {
            let array = TimestampMicrosecondArray::from(micros.clone());
            let array = match zone {
                Some(zone) => array.with_timezone(zone),
                None => array,
            };
            let writer = LeafWriter::new(&array).unwrap();
            (0..array.len())
                .map(|row| {
                    let mut out = Vec::new();
                    writer.write(row, &mut out);
                    String::from_utf8(out).unwrap()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text(Some("UTC")),
            [
                "1970-01-01T00:00:00Z",
                "1970-01-01T00:00:00.250Z",
                "1970-01-01T00:00:00.572120Z",
                "1970-01-01T00:00:00.000001Z",
                "1969-12-31T23:59:59.999999Z",
            ]
        );
        assert_eq!(text(None)[1], "1970-01-01T00:00:00.250");
    }

    #[test]
    fn hex_is_two_digits_a_byte() {
        let mut out = Vec::new();
        parse_hex("00fFa1", &mut out).unwrap();
        assert_eq!(out, [0x00, 0xff, 0xa1]);
        assert!(parse_hex("abc", &mut out).unwrap_err().contains("odd"));
        assert!(
            parse_hex("0g", &mut out)
                .unwrap_err()
                .contains("character 2")
        );
        let mut text = Vec::new();
        write_hex(&[0, 15, 255], &mut text);
        assert_eq!(text, b"000fff");
    }

    #[test]
    fn timestamps_keep_microseconds_and_refuse_finer() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.000001Z", true), Ok(1));
        assert_eq!(parse_timestamp("1970-01-01 00:00:01", true), Ok(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00", true), Ok(0));
        assert!(parse_timestamp("1970-01-01T00:00:00.0000001Z", true).is_err());
        assert!(parse_timestamp("1970-01-01T01:00:00+01:00", false).is_err());
        assert_eq!(parse_timestamp("1970-01-01T00:00:01", false), Ok(1_000_000));
    }
}
