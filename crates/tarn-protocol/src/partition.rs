//! Partition values: their string form in the log and their Hive-style directory names.
//!
//! This module decides two encodings (PROTOCOL.md, "Partition Value Serialization"):
//!
//! 1. **The log form.** `add.partitionValues` maps each partition column to a string or JSON
//!    null. [`parse_partition_value`] reads that string as the column's type into a
//!    [`Scalar`]; [`serialize_partition_value`] writes the form Delta-Spark writes, so a table
//!    tarn writes reads identically in Spark.
//! 2. **The directory form.** Writers conventionally put a file of partition `a=1, b=null` under
//!    `a=1/b=__HIVE_DEFAULT_PARTITION__/`, escaping names and values the way Spark's
//!    `ExternalCatalogUtils.escapePathName` does ([`escape_partition_path`],
//!    [`partition_directory`]). The directory is only a convention: partition values are always
//!    read from the log, never from paths.
//!
//! The URI encoding of `add.path` (a third layer, on top of the directory form) belongs to
//! [`crate::data_path`]. Nothing here does I/O, and nothing here resolves column mapping: the
//! caller passes the physical column name the log uses.
//!
//! ## Nulls and empty strings
//!
//! A JSON null is a null of any type. The protocol also says an empty string is a null for any
//! type, and that includes `string`: Spark writes both `NULL` and `''` of a string partition
//! column as a JSON null (and as `__HIVE_DEFAULT_PARTITION__` in the path), so an empty string
//! can never be read back from a partition. tarn follows that: `""` parses as a null and
//! [`serialize_partition_value`] writes an empty string (or empty binary) as `None`.
//!
//! ## Accepted forms, by type
//!
//! | type | read | written |
//! | --- | --- | --- |
//! | string | as is | as is |
//! | byte … long | decimal integer, optional sign | `-42` |
//! | float, double | decimal or scientific, `NaN`, `Infinity`, `-Infinity` | Java `toString`: `1.5`, `1.0E10` |
//! | boolean | `true` / `false`, any case | `true` / `false` |
//! | date | `YYYY-M[M]-D[D]` | `2021-01-07` |
//! | timestamp | see below; no zone means UTC | `2021-01-07T12:30:00.000000Z` |
//! | timestamp_ntz | see below; wall clock kept | `2021-01-07 12:30:00[.ffffff]` |
//! | decimal(p,s) | `12.3`, `-1`, `1E+2`, `.5`: exact, must fit `p` and `s` | all `s` digits: `12.30` |
//! | binary | the string's UTF-8 bytes | the bytes, which must be UTF-8 |
//!
//! Timestamps are read in every form the protocol and the major writers use: `2021-01-01
//! 00:00:00` with up to six fractional digits (nine if the last three are zero), `T` instead of
//! the space, and an optional zone `Z`, `UTC`, `GMT` or `±HH[:MM]`. The protocol says a
//! timestamp without a zone is in the writer's local zone, which a reader cannot know; tarn
//! reads it as UTC, as Delta-Spark's own UTC-normalized writes and delta-rs do. A
//! `timestamp_ntz` keeps its wall-clock time; it accepts a `Z`/`+00:00` suffix but rejects any
//! other offset, which would make the wall-clock time ambiguous.
//!
//! Decimals are exact: where Spark's cast would round `1.235` to `1.24` in a `decimal(3,2)`
//! column or turn an overflow into a null, tarn reports the value as invalid instead of
//! silently reading a different number. Trailing zeros beyond the scale are fine (`1.2300`).

use crate::error::ProtocolError;
use crate::scalar::calendar::{self, Fraction};
use crate::scalar::{Scalar, format_decimal, format_f32, format_f64, type_name};
use crate::schema::{DecimalType, PrimitiveType};

/// The directory value Hive and Spark use for a null (or empty) partition value.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Reads the log form of a partition value as a value of the column's type.
///
/// `raw` is the entry of `partitionValues` for `column` (`None` for a JSON null or a missing
/// entry). `None` and `Some("")` give a null of type `ty`; see the module docs for the forms
/// each type accepts. The error names the column, the value, the type and what is wrong.
pub fn parse_partition_value(
    column: &str,
    raw: Option<&str>,
    ty: PrimitiveType,
) -> Result<Scalar, ProtocolError> {
    let text = match raw {
        None | Some("") => return Ok(Scalar::Null(ty)),
        Some(text) => text,
    };
    let invalid = |reason: String| ProtocolError::InvalidPartitionValue {
        column: column.to_owned(),
        value: text.to_owned(),
        data_type: type_name(&ty),
        reason,
    };
    let scalar = match ty {
        PrimitiveType::String => Scalar::String(text.to_owned()),
        PrimitiveType::Binary => Scalar::Binary(text.as_bytes().to_vec()),
        PrimitiveType::Boolean => {
            if text.eq_ignore_ascii_case("true") {
                Scalar::Boolean(true)
            } else if text.eq_ignore_ascii_case("false") {
                Scalar::Boolean(false)
            } else {
                return Err(invalid("expected `true` or `false`".into()));
            }
        }
        PrimitiveType::Byte => Scalar::Byte(text.parse().map_err(|e| invalid(format!("{e}")))?),
        PrimitiveType::Short => Scalar::Short(text.parse().map_err(|e| invalid(format!("{e}")))?),
        PrimitiveType::Integer => {
            Scalar::Integer(text.parse().map_err(|e| invalid(format!("{e}")))?)
        }
        PrimitiveType::Long => Scalar::Long(text.parse().map_err(|e| invalid(format!("{e}")))?),
        PrimitiveType::Float => Scalar::Float(parse_float(text).map_err(invalid)?),
        PrimitiveType::Double => Scalar::Double(parse_float(text).map_err(invalid)?),
        PrimitiveType::Date => Scalar::Date(calendar::parse_date(text).map_err(invalid)?),
        PrimitiveType::Timestamp => {
            let parsed = calendar::parse_timestamp(text).map_err(invalid)?;
            let micros = parsed
                .utc_micros()
                .ok_or_else(|| invalid("timestamp is outside the range of microseconds".into()))?;
            Scalar::Timestamp(micros)
        }
        PrimitiveType::TimestampNtz => {
            let parsed = calendar::parse_timestamp(text).map_err(invalid)?;
            if parsed.offset_seconds.is_some_and(|offset| offset != 0) {
                return Err(invalid(
                    "a timestamp without time zone cannot carry a UTC offset".into(),
                ));
            }
            Scalar::TimestampNtz(parsed.local_micros)
        }
        PrimitiveType::Decimal(decimal) => {
            let value = parse_decimal(text, decimal).map_err(invalid)?;
            Scalar::Decimal {
                value,
                precision: decimal.precision,
                scale: decimal.scale,
            }
        }
    };
    Ok(scalar)
}

/// Writes the log form of a partition value, as Delta-Spark writes it.
///
/// `Ok(None)` means a JSON null: for a null, an empty string and an empty binary (see the module
/// docs). Every other value gives `Some`, and [`parse_partition_value`] of that string with the
/// value's type gives the value back.
///
/// Fails only for a binary value that is not valid UTF-8: the log form is a JSON string of the
/// bytes read as UTF-8 (what Spark's cast from binary to string does), and such bytes have no
/// faithful form. Spark itself writes an unreadable log in that case.
pub fn serialize_partition_value(value: &Scalar) -> Result<Option<String>, ProtocolError> {
    let text = match value {
        Scalar::Null(_) => return Ok(None),
        Scalar::String(s) if s.is_empty() => return Ok(None),
        Scalar::Binary(b) if b.is_empty() => return Ok(None),
        Scalar::String(s) => s.clone(),
        Scalar::Binary(bytes) => String::from_utf8(bytes.clone()).map_err(|e| {
            ProtocolError::UnserializablePartitionValue {
                value: value.to_string(),
                data_type: type_name(&value.data_type()),
                reason: format!("partition values are text and these bytes are not UTF-8: {e}"),
            }
        })?,
        Scalar::Boolean(v) => v.to_string(),
        Scalar::Byte(v) => v.to_string(),
        Scalar::Short(v) => v.to_string(),
        Scalar::Integer(v) => v.to_string(),
        Scalar::Long(v) => v.to_string(),
        Scalar::Float(v) => format_f32(*v),
        Scalar::Double(v) => format_f64(*v),
        Scalar::Decimal { value, scale, .. } => format_decimal(*value, *scale),
        Scalar::Date(days) => {
            let mut out = String::with_capacity(10);
            // Writing to a String cannot fail.
            let _ = calendar::write_date(&mut out, i64::from(*days));
            out
        }
        Scalar::Timestamp(micros) => {
            // Delta-Spark's UTC-normalized form (`write.utcTimestampPartitionValues`, on by
            // default), which the protocol recommends.
            let mut out = String::with_capacity(27);
            let _ = calendar::write_date_time(&mut out, *micros, 'T', Fraction::Micros);
            out.push('Z');
            out
        }
        Scalar::TimestampNtz(micros) => {
            // Spark's cast of timestamp_ntz to string: space separator, trimmed fraction.
            let mut out = String::with_capacity(26);
            let _ = calendar::write_date_time(&mut out, *micros, ' ', Fraction::Trimmed);
            out
        }
    };
    Ok(Some(text))
}

/// Reads a float or double: decimal or scientific notation, `NaN`, `Infinity`, `-Infinity`
/// (Rust's parser, which also takes `inf` and any case).
fn parse_float<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| "expected a number, `NaN`, `Infinity` or `-Infinity`".to_owned())
}

/// Reads a decimal exactly as an unscaled value of `decimal`'s scale.
///
/// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` with at least one digit before the exponent
/// (the syntax of Java's `BigDecimal`, which Spark uses).
fn parse_decimal(text: &str, decimal: DecimalType) -> Result<i128, String> {
    let DecimalType { precision, scale } = decimal;
    if precision == 0 || precision > DecimalType::MAX_PRECISION || scale > precision {
        return Err(format!(
            "decimal({precision},{scale}) is not a valid decimal type"
        ));
    }
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exponent: i64 = unsigned[at + 1..]
                .parse()
                .map_err(|_| "the exponent is not a valid integer".to_owned())?;
            (&unsigned[..at], exponent)
        }
        None => (unsigned, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return Err("expected a decimal number like 12.30, -1 or 1E+2".into());
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    // The value is digits × 10^(exponent - fraction digits); unscaled, digits × 10^shift.
    // In i128 none of this can overflow.
    let shift = i128::from(exponent) - fraction.len() as i128 + i128::from(scale);
    let significant = if shift < 0 {
        // Dropping `-shift` trailing digits must drop only zeros.
        let drop = usize::try_from(-shift).unwrap_or(usize::MAX);
        let keep = digits.len().saturating_sub(drop);
        if drop >= digits.len() || digits[keep..].bytes().any(|b| b != b'0') {
            return Err(format!(
                "has more than {scale} fractional digits; tarn does not round partition values"
            ));
        }
        &digits[..keep]
    } else {
        digits
    };
    let shift = shift.max(0);
    if significant.len() as i128 + shift > i128::from(precision) {
        return Err(format!(
            "needs more than the {precision} digits of decimal({precision},{scale})"
        ));
    }
    // At most 38 digits in total, which always fits an i128.
    let mut value: i128 = 0;
    for b in significant.bytes() {
        value = value * 10 + i128::from(b - b'0');
    }
    value *= 10i128.pow(u32::try_from(shift).unwrap_or(0));
    Ok(if negative { -value } else { value })
}

/// Escapes a partition column name or value for one Hive-style directory segment, as Spark's
/// `ExternalCatalogUtils.escapePathName` does: each of the ASCII control characters, `"`, `#`,
/// `%`, `'`, `*`, `/`, `:`, `=`, `?`, `\`, DEL, `{`, `[`, `]` and `^` becomes `%XX` (upper-case
/// hex); everything else, including spaces and non-ASCII text, stays as is.
///
/// Two deliberate differences from Spark: NUL is escaped too (Spark leaves it and then fails
/// to create the directory), and the extra characters Spark escapes only when running on
/// Windows (space, `<`, `>`, `|`) are not, so the name does not depend on the writer's OS.
/// [`unescape_partition_path`] reads both spellings.
pub fn escape_partition_path(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escape(c) {
            push_percent(&mut out, c as u8);
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{00}'
            ..='\u{1f}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7f}'
                | '{'
                | '['
                | ']'
                | '^'
    )
}

/// Appends `%XX` for one byte.
pub(crate) fn push_percent(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// Undoes [`escape_partition_path`]: every `%XX` (hex in either case) becomes the byte `XX`,
/// and the resulting bytes must be UTF-8.
///
/// Unlike Spark, which keeps a malformed `%` literally and maps each `%XX` to the character
/// U+00XX, this is strict: a `%` not followed by two hex digits, or escapes that do not decode
/// to UTF-8, are errors. Spark's escaping only ever produces ASCII escapes, for which both
/// readings agree.
pub fn unescape_partition_path(segment: &str) -> Result<String, ProtocolError> {
    if !segment.contains('%') {
        return Ok(segment.to_owned());
    }
    let decoded =
        percent_decode(segment).map_err(|reason| ProtocolError::InvalidPartitionPath {
            segment: segment.to_owned(),
            reason,
        })?;
    Ok(decoded)
}

/// Decodes every `%XX` in `text` as a byte; the result must be UTF-8.
pub(crate) fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
            match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    // Two hex digits make at most 255.
                    out.push((high * 16 + low) as u8);
                    i += 3;
                }
                _ => {
                    return Err(format!("'%' at byte {i} is not followed by two hex digits"));
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent escapes do not decode to UTF-8 text".to_owned())
}

/// Builds the Hive-style directory of a partition, e.g. `a=1/b=__HIVE_DEFAULT_PARTITION__`,
/// from `(column, log-form value)` pairs in partition-column order.
///
/// Names and values are escaped with [`escape_partition_path`]; a null or empty value becomes
/// [`HIVE_DEFAULT_PARTITION`]. No leading or trailing `/`; no partition columns give `""`.
/// The result is a directory name on storage: to put it in `add.path`, URI-encode it with
/// [`crate::data_path::encode_relative_path`].
pub fn partition_directory(values: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (i, (column, value)) in values.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&escape_partition_path(column));
        out.push('=');
        match value {
            Some(value) if !value.is_empty() => out.push_str(&escape_partition_path(value)),
            _ => out.push_str(HIVE_DEFAULT_PARTITION),
        }
    }
    out
}

/// Splits one directory segment `column=value` into the unescaped column name and value, the
/// value `None` for [`HIVE_DEFAULT_PARTITION`]. The first unescaped `=` separates them (the
/// escaping turns every `=` inside a name or value into `%3D`).
pub fn parse_partition_segment(segment: &str) -> Result<(String, Option<String>), ProtocolError> {
    let Some((column, value)) = segment.split_once('=') else {
        return Err(ProtocolError::InvalidPartitionPath {
            segment: segment.to_owned(),
            reason: "expected `column=value`".into(),
        });
    };
    let column = unescape_partition_path(column)?;
    if column.is_empty() {
        return Err(ProtocolError::InvalidPartitionPath {
            segment: segment.to_owned(),
            reason: "the column name is empty".into(),
        });
    }
    let value = match value {
        HIVE_DEFAULT_PARTITION => None,
        value => Some(unescape_partition_path(value)?),
    };
    Ok((column, value))
}

#[cfg(test)]
mod tests;
