//! Partition values. The first byte picks the column's type (and, for a decimal, the next two
//! its precision and scale); the rest is the log-form text. Reading it as that type gives a
//! value or an error; a value written back (`serialize_partition_value`) reads as the same
//! value and writes as the same text. The text as a Hive directory segment escapes and
//! unescapes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::protocol::partition::{
    HIVE_DEFAULT_PARTITION, escape_partition_path, parse_partition_segment, parse_partition_value,
    partition_directory, serialize_partition_value, unescape_partition_path,
};
use tarn::protocol::schema::{DecimalType, PrimitiveType};

fn primitive_type(data: &[u8]) -> Option<(PrimitiveType, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    let ty = match selector % 14 {
        0 => PrimitiveType::String,
        1 => PrimitiveType::Long,
        2 => PrimitiveType::Integer,
        3 => PrimitiveType::Short,
        4 => PrimitiveType::Byte,
        5 => PrimitiveType::Float,
        6 => PrimitiveType::Double,
        7 => PrimitiveType::Boolean,
        8 => PrimitiveType::Binary,
        9 => PrimitiveType::Date,
        10 => PrimitiveType::Timestamp,
        11 => PrimitiveType::TimestampNtz,
        _ => {
            let (&[precision, scale], rest) = rest.split_first_chunk::<2>()?;
            let precision = 1 + precision % DecimalType::MAX_PRECISION;
            let decimal = DecimalType::try_new(precision, scale % (precision + 1)).ok()?;
            return Some((PrimitiveType::Decimal(decimal), rest));
        }
    };
    Some((ty, rest))
}

fuzz_target!(|data: &[u8]| {
    let Some((ty, rest)) = primitive_type(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };

    if let Ok(value) = parse_partition_value("c", Some(text), ty) {
        let written = serialize_partition_value(&value)
            .unwrap_or_else(|e| panic!("{text:?} as {ty:?} read as {value:?}, not writable: {e}"));
        let Some(written) = written else {
            assert!(value.is_null(), "{value:?} written as null");
            return;
        };
        let reread = parse_partition_value("c", Some(&written), ty)
            .unwrap_or_else(|e| panic!("{text:?} as {ty:?} written as {written:?}: {e}"));
        // Debug equality: NaN equals NaN, and -0.0 differs from 0.0.
        assert_eq!(
            format!("{reread:?}"),
            format!("{value:?}"),
            "{text:?} -> {written:?}"
        );
        let rewritten = serialize_partition_value(&reread).ok().flatten();
        assert_eq!(rewritten.as_deref(), Some(written.as_str()));
    }

    let escaped = escape_partition_path(text);
    let unescaped = unescape_partition_path(&escaped)
        .unwrap_or_else(|e| panic!("{text:?} escaped as {escaped:?}: {e}"));
    assert_eq!(unescaped, text);
    let _ = unescape_partition_path(text);

    let directory = partition_directory(&[("c", Some(text))]);
    let (column, value) = parse_partition_segment(&directory)
        .unwrap_or_else(|e| panic!("{text:?} as directory {directory:?}: {e}"));
    assert_eq!(column, "c");
    if text.is_empty() || text == HIVE_DEFAULT_PARTITION {
        assert_eq!(value, None);
    } else {
        assert_eq!(value.as_deref(), Some(text));
    }
    let _ = parse_partition_segment(text);
});
