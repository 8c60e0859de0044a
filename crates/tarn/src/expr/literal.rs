//! Literal text: how SQL literals become [`Scalar`]s, and the names of types.
//!
//! This module decides the type of an unadorned number (`3` is `integer`, `3000000000` is
//! `long`, `3.50` is `decimal(3,2)`, `3.5E0` is `double`, as in Spark) and how a literal's text
//! is read as a given type (`CAST('1.5' AS DECIMAL(10,2))`, `DATE '2026-01-07'`). It reads
//! text exactly and never rounds: text that does not fit the type is an error.

use tarn_protocol::ProtocolError;
use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DataType, DecimalType, PrimitiveType};

/// Reads a SQL number literal, optionally with a leading `-`.
///
/// - with an exponent (`1.5E3`, `1e-7`): `double`;
/// - with a decimal point (`3.50`, `.5`, `1.`): an exact `decimal(p,s)` with `s` the digits
///   after the point and `p` the significant digits (at least `s`, at most 38);
/// - otherwise an integer: `integer` if it fits 32 bits, `long` if it fits 64, else
///   `decimal(p,0)` up to 38 digits.
pub(super) fn number_literal(text: &str) -> Result<Scalar, String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if unsigned.contains(['e', 'E']) {
        let value: f64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a valid number"))?;
        if value.is_infinite() {
            return Err(format!("`{text}` is out of the range of a double"));
        }
        return Ok(Scalar::Double(value));
    }
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let fraction_digits = fraction.unwrap_or("");
    if !all_digits(whole)
        || !all_digits(fraction_digits)
        || whole.len() + fraction_digits.len() == 0
    {
        return Err(format!("`{text}` is not a valid number"));
    }
    let digits = format!("{whole}{fraction_digits}");
    let significant = digits.trim_start_matches('0');
    let max = usize::from(DecimalType::MAX_PRECISION);
    if significant.len() > max {
        return Err(format!(
            "`{text}` has more than {max} digits; write it with an exponent (`1.0E40`) for a \
             double"
        ));
    }
    let magnitude: i128 = if significant.is_empty() {
        0
    } else {
        significant
            .parse()
            .map_err(|_| format!("`{text}` is not a valid number"))?
    };
    let value = if negative { -magnitude } else { magnitude };
    match fraction {
        None => Ok(if let Ok(v) = i32::try_from(value) {
            Scalar::Integer(v)
        } else if let Ok(v) = i64::try_from(value) {
            Scalar::Long(v)
        } else {
            Scalar::Decimal {
                value,
                precision: digit_count(significant.len()),
                scale: 0,
            }
        }),
        Some(fraction) => {
            if fraction.len() > max {
                return Err(format!(
                    "`{text}` has more than {max} digits after the decimal point"
                ));
            }
            // At most 38, checked above.
            let scale = u8::try_from(fraction.len()).unwrap_or(DecimalType::MAX_PRECISION);
            let precision = digit_count(significant.len()).max(scale);
            Ok(Scalar::Decimal {
                value,
                precision,
                scale,
            })
        }
    }
}

/// A digit count already checked to be at most 38.
fn digit_count(len: usize) -> u8 {
    u8::try_from(len)
        .unwrap_or(DecimalType::MAX_PRECISION)
        .max(1)
}

/// Reads literal text as a value of `ty`: what `CAST('text' AS ty)`, `CAST(12.5 AS ty)` and
/// typed literals like `DATE 'text'` mean.
///
/// `string` takes the text as is and `binary` its UTF-8 bytes; every other type reads it as a
/// partition value of that type does ([`parse_partition_value`]): exactly, never rounding.
pub(super) fn read_as(text: &str, ty: PrimitiveType) -> Result<Scalar, String> {
    match ty {
        PrimitiveType::String => Ok(Scalar::String(text.to_owned())),
        PrimitiveType::Binary => Ok(Scalar::Binary(text.as_bytes().to_vec())),
        _ if text.is_empty() => Err(format!(
            "an empty string is not a {}",
            primitive_type_name(&ty)
        )),
        _ => parse_partition_value("literal", Some(text), ty).map_err(protocol_reason),
    }
}

/// The reason inside a partition-value error, without the partition framing.
pub(super) fn protocol_reason(error: ProtocolError) -> String {
    match error {
        ProtocolError::InvalidPartitionValue {
            value,
            data_type,
            reason,
            ..
        } => format!("{value:?} is not a valid {data_type}: {reason}"),
        other => other.to_string(),
    }
}

/// Decodes the digits of `X'0A0B'`.
pub(super) fn decode_hex(digits: &str) -> Result<Vec<u8>, String> {
    if !digits.len().is_multiple_of(2) {
        return Err(format!(
            "a binary literal needs an even number of hex digits, not {}",
            digits.len()
        ));
    }
    let nibble = |b: u8| {
        char::from(b)
            .to_digit(16)
            .ok_or_else(|| format!("`{}` is not a hex digit", char::from(b)))
    };
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| Ok(u8::try_from(nibble(pair[0])? * 16 + nibble(pair[1])?).unwrap_or(0)))
        .collect()
}

/// The protocol's name of a primitive type: `long`, `timestamp_ntz`, `decimal(10,2)`.
pub(super) fn primitive_type_name(ty: &PrimitiveType) -> String {
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

/// The protocol's name of any type: `array<long>`, `struct<a: long, b: string>`.
pub(super) fn type_name(ty: &DataType) -> String {
    match ty {
        DataType::Primitive(p) => primitive_type_name(p),
        DataType::Array(array) => format!("array<{}>", type_name(&array.element_type)),
        DataType::Map(map) => format!(
            "map<{}, {}>",
            type_name(&map.key_type),
            type_name(&map.value_type)
        ),
        DataType::Struct(st) => {
            let fields: Vec<String> = st
                .fields
                .iter()
                .map(|field| format!("{}: {}", field.name, type_name(&field.data_type)))
                .collect();
            format!("struct<{}>", fields.join(", "))
        }
        DataType::Variant => "variant".into(),
    }
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
    fn numbers() {
        let cases = [
            ("3", Scalar::Integer(3)),
            ("-3", Scalar::Integer(-3)),
            ("007", Scalar::Integer(7)),
            ("2147483647", Scalar::Integer(i32::MAX)),
            ("-2147483648", Scalar::Integer(i32::MIN)),
            ("2147483648", Scalar::Long(2_147_483_648)),
            ("-9223372036854775808", Scalar::Long(i64::MIN)),
            ("9223372036854775808", dec(9_223_372_036_854_775_808, 19, 0)),
            ("3.5", dec(35, 2, 1)),
            ("3.50", dec(350, 3, 2)),
            ("-0.05", dec(-5, 2, 2)),
            (".5", dec(5, 1, 1)),
            ("1.", dec(1, 1, 0)),
            ("0.00", dec(0, 2, 2)),
            ("1.5E0", Scalar::Double(1.5)),
            ("1e10", Scalar::Double(1e10)),
            ("-1.5E-7", Scalar::Double(-1.5e-7)),
        ];
        for (text, expected) in cases {
            assert_eq!(number_literal(text), Ok(expected), "{text}");
        }
        assert!(number_literal("1e400").is_err());
        assert!(number_literal(&"9".repeat(39)).is_err());
        assert!(number_literal(&format!("0.{}", "1".repeat(39))).is_err());
    }

    #[test]
    fn reading_text_as_a_type() {
        assert_eq!(read_as("", PrimitiveType::String), Ok(Scalar::from("")));
        assert_eq!(
            read_as("NaN", PrimitiveType::Double).map(|s| s.to_string()),
            Ok("NaN".into())
        );
        assert_eq!(
            read_as(
                "1.5",
                PrimitiveType::Decimal(DecimalType {
                    precision: 10,
                    scale: 2
                })
            ),
            Ok(dec(150, 10, 2))
        );
        let error = read_as("abc", PrimitiveType::Integer).unwrap_err();
        assert!(error.contains("\"abc\" is not a valid integer"), "{error}");
        assert!(read_as("", PrimitiveType::Date).is_err());
        assert_eq!(decode_hex("0aFF"), Ok(vec![0x0a, 0xff]));
        assert!(decode_hex("0").is_err());
        assert!(decode_hex("zz").is_err());
    }
}
