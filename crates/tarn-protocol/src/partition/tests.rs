//! Tests of partition value parsing, serialization and path escaping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::data_path::DataFilePath;
use crate::scalar::calendar::{MICROS_PER_DAY, days_from_civil};

fn parse(raw: &str, ty: PrimitiveType) -> Result<Scalar, ProtocolError> {
    parse_partition_value("c", Some(raw), ty)
}

fn ok(raw: &str, ty: PrimitiveType) -> Scalar {
    parse(raw, ty).unwrap_or_else(|e| panic!("{raw:?} as {ty:?}: {e}"))
}

fn decimal(precision: u8, scale: u8) -> PrimitiveType {
    PrimitiveType::Decimal(DecimalType { precision, scale })
}

fn dec(value: i128, precision: u8, scale: u8) -> Scalar {
    Scalar::Decimal {
        value,
        precision,
        scale,
    }
}

fn micros(year: i64, month: u32, day: u32, seconds_of_day: i64, micro: i64) -> i64 {
    days_from_civil(year, month, day) * MICROS_PER_DAY + seconds_of_day * 1_000_000 + micro
}

fn serialize(value: &Scalar) -> Option<String> {
    serialize_partition_value(value).unwrap()
}

const ALL_TYPES: [PrimitiveType; 13] = [
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
    PrimitiveType::Decimal(DecimalType {
        precision: 10,
        scale: 2,
    }),
];

#[test]
fn null_and_empty_are_typed_nulls() {
    for ty in ALL_TYPES {
        assert_eq!(
            parse_partition_value("c", None, ty).unwrap(),
            Scalar::Null(ty)
        );
        assert_eq!(
            parse_partition_value("c", Some(""), ty).unwrap(),
            Scalar::Null(ty)
        );
        assert_eq!(serialize(&Scalar::Null(ty)), None);
    }
    // Spark writes '' of a string column as null, so an empty string cannot survive.
    assert_eq!(serialize(&Scalar::String(String::new())), None);
    assert_eq!(serialize(&Scalar::Binary(Vec::new())), None);
}

#[test]
fn strings_and_binaries() {
    assert_eq!(ok("A/A", PrimitiveType::String), Scalar::from("A/A"));
    assert_eq!(ok(" ", PrimitiveType::String), Scalar::from(" "));
    assert_eq!(
        ok(HIVE_DEFAULT_PARTITION, PrimitiveType::String),
        Scalar::from(HIVE_DEFAULT_PARTITION)
    );
    // The protocol's example: bytes 1, 2, 3 as the JSON string "\u0001\u0002\u0003".
    let json: String = serde_json::from_str(r#""\u0001\u0002\u0003""#).unwrap();
    assert_eq!(
        ok(&json, PrimitiveType::Binary),
        Scalar::Binary(vec![1, 2, 3])
    );
    assert_eq!(serialize(&Scalar::Binary(vec![1, 2, 3])), Some(json));
    assert_eq!(
        ok("München", PrimitiveType::Binary),
        Scalar::Binary("München".as_bytes().to_vec())
    );
    let err = serialize_partition_value(&Scalar::Binary(vec![0xde, 0xad, 0xbe, 0xef])).unwrap_err();
    assert!(
        matches!(&err, ProtocolError::UnserializablePartitionValue { value, data_type, .. }
            if value == "X'DEADBEEF'" && data_type == "binary"),
        "{err}"
    );
}

#[test]
fn integers_and_booleans() {
    assert_eq!(ok("-128", PrimitiveType::Byte), Scalar::Byte(-128));
    assert_eq!(ok("32767", PrimitiveType::Short), Scalar::Short(32767));
    assert_eq!(ok("+5", PrimitiveType::Integer), Scalar::Integer(5));
    assert_eq!(
        ok("-9223372036854775808", PrimitiveType::Long),
        Scalar::Long(i64::MIN)
    );
    for (raw, ty) in [
        ("128", PrimitiveType::Byte),
        ("2147483648", PrimitiveType::Integer),
        ("5.0", PrimitiveType::Integer),
        (" 5", PrimitiveType::Integer),
        ("0x10", PrimitiveType::Long),
        ("1e3", PrimitiveType::Long),
        ("yes", PrimitiveType::Boolean),
        ("1", PrimitiveType::Boolean),
    ] {
        assert!(parse(raw, ty).is_err(), "{raw:?} as {ty:?}");
    }
    assert_eq!(ok("TRUE", PrimitiveType::Boolean), Scalar::Boolean(true));
    assert_eq!(ok("False", PrimitiveType::Boolean), Scalar::Boolean(false));
    assert_eq!(serialize(&Scalar::Boolean(true)).as_deref(), Some("true"));
    assert_eq!(serialize(&Scalar::Short(-7)).as_deref(), Some("-7"));
}

#[test]
fn floats() {
    assert_eq!(ok("9.9", PrimitiveType::Double), Scalar::Double(9.9));
    assert_eq!(ok("10.0", PrimitiveType::Double), Scalar::Double(10.0));
    assert_eq!(ok("1E+2", PrimitiveType::Double), Scalar::Double(100.0));
    assert_eq!(ok("1.0E-5", PrimitiveType::Float), Scalar::Float(1e-5));
    assert_eq!(
        ok("Infinity", PrimitiveType::Double),
        Scalar::Double(f64::INFINITY)
    );
    assert_eq!(
        ok("-Infinity", PrimitiveType::Float),
        Scalar::Float(f32::NEG_INFINITY)
    );
    assert!(matches!(ok("NaN", PrimitiveType::Double), Scalar::Double(v) if v.is_nan()));
    assert!(parse("ten", PrimitiveType::Double).is_err());
    assert!(parse("1,5", PrimitiveType::Float).is_err());
    let cases = [
        (Scalar::Double(0.0), "0.0"),
        (Scalar::Double(-0.0), "-0.0"),
        (
            Scalar::Double(1.7976931348623157e308),
            "1.7976931348623157E308",
        ),
        (Scalar::Double(5e-324), "5.0E-324"),
        (Scalar::Double(f64::NAN), "NaN"),
        (Scalar::Double(f64::INFINITY), "Infinity"),
        (Scalar::Float(f32::NEG_INFINITY), "-Infinity"),
        (Scalar::Double(2021.0), "2021.0"),
        (Scalar::Float(1.1), "1.1"),
    ];
    for (value, text) in cases {
        assert_eq!(serialize(&value).as_deref(), Some(text));
    }
}

#[test]
fn dates() {
    assert_eq!(
        ok("2023-12-22", PrimitiveType::Date),
        Scalar::Date(i32::try_from(days_from_civil(2023, 12, 22)).unwrap())
    );
    assert_eq!(ok("1970-01-01", PrimitiveType::Date), Scalar::Date(0));
    assert_eq!(serialize(&Scalar::Date(0)).as_deref(), Some("1970-01-01"));
    assert_eq!(
        serialize(&Scalar::Date(-719_162)).as_deref(),
        Some("0001-01-01")
    );
    for raw in [
        "2023-02-29",
        "2023-12-22 00:00:00",
        "20231222",
        "12/22/2023",
    ] {
        assert!(parse(raw, PrimitiveType::Date).is_err(), "{raw}");
    }
}

#[test]
fn timestamps_in_every_writer_form() {
    let midnight = micros(2021, 1, 1, 0, 0);
    let t = PrimitiveType::Timestamp;
    for raw in [
        "2021-01-01",
        "2021-01-01 00:00:00",
        "2021-01-01 00:00:00.0",
        "2021-01-01 00:00:00.000000",
        "2021-01-01T00:00:00",
        "2021-01-01T00:00:00Z",
        "2021-01-01T00:00:00.000000Z",
        "2021-01-01T01:00:00+01:00",
        "2021-01-01T01:00:00.000+0100",
        "2020-12-31T19:00:00-05:00",
        "2021-01-01 00:00:00 UTC",
    ] {
        assert_eq!(ok(raw, t), Scalar::Timestamp(midnight), "{raw}");
    }
    assert_eq!(
        ok("2021-11-18 02:30:00.123456", t),
        Scalar::Timestamp(micros(2021, 11, 18, 9000, 123_456))
    );
    assert_eq!(ok("1970-01-01 00:00:00.5", t), Scalar::Timestamp(500_000));
    assert_eq!(ok("1969-12-31 23:59:59.999999", t), Scalar::Timestamp(-1));
    for raw in [
        "2021-01-01 00:00:00.1234567",
        "2021-01-01 25:00:00",
        "2021-01-01 00:00:00 PST",
        "2021-01-01 00:00:00+25:00",
        "2021-01-01T",
        "yesterday",
    ] {
        assert!(parse(raw, t).is_err(), "{raw}");
    }
    // Delta-Spark's UTC-normalized form.
    assert_eq!(
        serialize(&Scalar::Timestamp(micros(2024, 6, 15, 70_245, 0))).as_deref(),
        Some("2024-06-15T19:30:45.000000Z")
    );
    assert_eq!(
        serialize(&Scalar::Timestamp(micros(2024, 6, 16, 25_199, 999_999))).as_deref(),
        Some("2024-06-16T06:59:59.999999Z")
    );
}

#[test]
fn timestamp_ntz_keeps_the_wall_clock() {
    let n = PrimitiveType::TimestampNtz;
    let wall = micros(2013, 7, 5, 61_260, 123_456);
    assert_eq!(
        ok("2013-07-05 17:01:00.123456", n),
        Scalar::TimestampNtz(wall)
    );
    assert_eq!(
        ok("2013-07-05T17:01:00.123456", n),
        Scalar::TimestampNtz(wall)
    );
    assert_eq!(
        ok("2013-07-05T17:01:00.123456Z", n),
        Scalar::TimestampNtz(wall)
    );
    let err = parse("2013-07-05T17:01:00.123456+08:00", n).unwrap_err();
    assert!(err.to_string().contains("offset"), "{err}");
    // Spark's cast to string: fraction only when non-zero, trailing zeros trimmed.
    assert_eq!(
        serialize(&Scalar::TimestampNtz(wall)).as_deref(),
        Some("2013-07-05 17:01:00.123456")
    );
    assert_eq!(
        serialize(&Scalar::TimestampNtz(micros(2024, 6, 15, 45_045, 0))).as_deref(),
        Some("2024-06-15 12:30:45")
    );
    assert_eq!(
        serialize(&Scalar::TimestampNtz(micros(2024, 6, 15, 45_045, 100_000))).as_deref(),
        Some("2024-06-15 12:30:45.1")
    );
}

#[test]
fn decimals_are_exact() {
    let cases = [
        ("12.30", 4, 2, 1230),
        ("12.3", 4, 2, 1230),
        ("12.3000", 4, 2, 1230),
        ("-1", 5, 2, -100),
        ("+1", 5, 2, 100),
        ("1E+2", 5, 2, 10_000),
        ("1e2", 5, 2, 10_000),
        ("1.5E-1", 5, 2, 15),
        ("12345E-2", 5, 2, 12_345),
        (".5", 2, 1, 5),
        ("5.", 2, 1, 50),
        ("-0", 2, 1, 0),
        ("0E+1000", 2, 1, 0),
        ("000123", 3, 0, 123),
        ("0.000000000000000000", 38, 18, 0),
        ("1.230000000000000000", 38, 18, 1_230_000_000_000_000_000),
        (
            "-99999999999999999999999999999999999999",
            38,
            0,
            -99_999_999_999_999_999_999_999_999_999_999_999_999,
        ),
        ("-2342342.23423", 12, 5, -234_234_223_423),
        ("0.00004", 12, 5, 4),
        ("234.00000", 12, 5, 23_400_000),
    ];
    for (raw, precision, scale, value) in cases {
        assert_eq!(
            ok(raw, decimal(precision, scale)),
            dec(value, precision, scale),
            "{raw} as decimal({precision},{scale})"
        );
    }
    for (raw, precision, scale) in [
        ("1.235", 4, 2),
        ("123.45", 4, 2),
        ("100", 2, 0),
        ("1E+38", 38, 0),
        ("1E-1000", 38, 2),
        ("1E99999999999999999999", 38, 2),
        (".", 4, 2),
        ("-", 4, 2),
        ("e5", 4, 2),
        ("1.2.3", 4, 2),
        ("1,5", 4, 2),
        ("NaN", 4, 2),
        ("1", 0, 0),
        ("1", 39, 0),
        ("1", 2, 3),
    ] {
        assert!(
            parse(raw, decimal(precision, scale)).is_err(),
            "{raw} as decimal({precision},{scale})"
        );
    }
    assert_eq!(serialize(&dec(1230, 4, 2)).as_deref(), Some("12.30"));
    assert_eq!(serialize(&dec(-5, 4, 2)).as_deref(), Some("-0.05"));
    assert_eq!(
        serialize(&dec(0, 38, 18)).as_deref(),
        Some("0.000000000000000000")
    );
}

#[test]
fn errors_name_column_value_type_and_reason() {
    let err = parse_partition_value("price", Some("1.235"), decimal(4, 2)).unwrap_err();
    let ProtocolError::InvalidPartitionValue {
        column,
        value,
        data_type,
        reason,
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(column, "price");
    assert_eq!(value, "1.235");
    assert_eq!(data_type, "decimal(4,2)");
    assert!(reason.contains("fractional digits"), "{reason}");
    assert!(err.to_string().contains("`price`"));
}

#[test]
fn escaping_matches_spark() {
    let cases = [
        ("HELLO", "HELLO"),
        ("/=%", "%2F%3D%25"),
        ("a{b", "a%7Bb"),
        ("a}b", "a}b"),
        ("hello world", "hello world"),
        ("München", "München"),
        ("日本語", "日本語"),
        ("🎵🎶", "🎵🎶"),
        ("a<b>c|d", "a<b>c|d"),
        ("a@b!c(d)", "a@b!c(d)"),
        ("a&b+c$d;e,f", "a&b+c$d;e,f"),
        ("Serbia/srb%", "Serbia%2Fsrb%25"),
        ("100%25", "100%2525"),
        (" ", " "),
        ("\u{0}", "%00"),
        ("before\u{0}after", "before%00after"),
        ("tab\there\n", "tab%09here%0A"),
        ("\"#'*:?\\\u{7f}[]^", "%22%23%27%2A%3A%3F%5C%7F%5B%5D%5E"),
        ("2024-06-15 12:30:45", "2024-06-15 12%3A30%3A45"),
    ];
    for (raw, escaped) in cases {
        assert_eq!(escape_partition_path(raw), escaped, "{raw:?}");
        assert_eq!(unescape_partition_path(escaped).unwrap(), raw);
    }
    // Spark on Windows escapes a space; the name still reads back.
    assert_eq!(unescape_partition_path("B%20B").unwrap(), "B B");
    assert_eq!(unescape_partition_path("a%2fb").unwrap(), "a/b");
    assert_eq!(unescape_partition_path("M%C3%BCnchen").unwrap(), "München");
    for bad in ["%", "a%2", "%zz", "%C3", "%FF", "100%"] {
        assert!(
            matches!(
                unescape_partition_path(bad),
                Err(ProtocolError::InvalidPartitionPath { segment, .. }) if segment == bad
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn partition_directories() {
    assert_eq!(
        partition_directory(&[("a", Some("1")), ("b", None)]),
        "a=1/b=__HIVE_DEFAULT_PARTITION__"
    );
    assert_eq!(
        partition_directory(&[("b", Some(""))]),
        "b=__HIVE_DEFAULT_PARTITION__"
    );
    assert_eq!(
        partition_directory(&[("a=b", Some("x/y")), ("Company Very Short", Some("a:b"))]),
        "a%3Db=x%2Fy/Company Very Short=a%3Ab"
    );
    assert_eq!(partition_directory(&[]), "");
    assert_eq!(
        parse_partition_segment("x=A%2FA").unwrap(),
        ("x".to_owned(), Some("A/A".to_owned()))
    );
    assert_eq!(
        parse_partition_segment("k=__HIVE_DEFAULT_PARTITION__").unwrap(),
        ("k".to_owned(), None)
    );
    assert_eq!(
        parse_partition_segment("a%3Db=c=d").unwrap(),
        ("a=b".to_owned(), Some("c=d".to_owned()))
    );
    for bad in ["novalue", "=x", "a=%zz", "%=x"] {
        assert!(parse_partition_segment(bad).is_err(), "{bad}");
    }
}

fn fixture_tables() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/tables")
}

/// A fixture table's JSON log, action by action, in commit order.
fn actions(table: &Path) -> Vec<serde_json::Value> {
    let Ok(entries) = std::fs::read_dir(table.join("_delta_log")) else {
        return Vec::new();
    };
    let mut commits: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.len() == 25 && name.ends_with(".json") && !name.starts_with('.')
        })
        .collect();
    commits.sort();
    commits
        .iter()
        .flat_map(|c| {
            std::fs::read_to_string(c)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect()
}

fn primitive(name: &str) -> Option<PrimitiveType> {
    Some(match name {
        "string" => PrimitiveType::String,
        "long" => PrimitiveType::Long,
        "integer" => PrimitiveType::Integer,
        "short" => PrimitiveType::Short,
        "byte" => PrimitiveType::Byte,
        "float" => PrimitiveType::Float,
        "double" => PrimitiveType::Double,
        "boolean" => PrimitiveType::Boolean,
        "binary" => PrimitiveType::Binary,
        "date" => PrimitiveType::Date,
        "timestamp" => PrimitiveType::Timestamp,
        "timestamp_ntz" => PrimitiveType::TimestampNtz,
        _ => return None,
    })
}

/// Every partition value in every fixture parses as its column's type and serializes back to
/// the same text; every Hive directory in an added file's path names the same values.
#[test]
fn fixture_partition_values() {
    let Ok(tables) = std::fs::read_dir(fixture_tables()) else {
        eprintln!("fixtures not found; skipping");
        return;
    };
    let mut values_checked = 0;
    let mut directories_checked = 0;
    for table in tables {
        let table = table.unwrap().path();
        // Column (physical name) -> type, from the latest metaData seen so far.
        let mut types: BTreeMap<String, PrimitiveType> = BTreeMap::new();
        let mut partition_columns: Vec<String> = Vec::new();
        for action in actions(&table) {
            if let Some(schema) = action["metaData"]["schemaString"].as_str() {
                let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
                types.clear();
                for field in schema["fields"].as_array().unwrap() {
                    let Some(ty) = field["type"].as_str().and_then(primitive) else {
                        continue;
                    };
                    let logical = field["name"].as_str().unwrap();
                    let physical = field["metadata"]["delta.columnMapping.physicalName"]
                        .as_str()
                        .unwrap_or(logical);
                    types.insert(physical.to_owned(), ty);
                }
                partition_columns = action["metaData"]["partitionColumns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect();
            }
            for kind in ["add", "remove", "cdc"] {
                let Some(values) = action[kind]["partitionValues"].as_object() else {
                    continue;
                };
                for (column, raw) in values {
                    // Tables whose metaData survives only in a checkpoint have no type here.
                    let Some(&ty) = types.get(column) else {
                        continue;
                    };
                    let raw = raw.as_str();
                    let scalar = parse_partition_value(column, raw, ty)
                        .unwrap_or_else(|e| panic!("{}: {e}", table.display()));
                    assert_eq!(serialize(&scalar).as_deref(), raw, "{}", table.display());
                    values_checked += 1;
                }
                if kind != "add" || values.is_empty() {
                    continue;
                }
                let path = action[kind]["path"].as_str().unwrap();
                let DataFilePath::Relative(decoded) = DataFilePath::parse(path).unwrap() else {
                    continue;
                };
                let segments: Vec<&str> = decoded.split('/').collect();
                let dirs = &segments[..segments.len() - 1];
                if dirs.len() != partition_columns.len() || dirs.iter().any(|d| !d.contains('=')) {
                    // Column mapping tables put files under random prefixes, not Hive
                    // directories.
                    continue;
                }
                let mut expected = Vec::new();
                for (segment, column) in dirs.iter().zip(&partition_columns) {
                    let (name, value) = parse_partition_segment(segment).unwrap();
                    assert_eq!(&name, column, "{path}");
                    assert_eq!(value.as_deref(), values[column].as_str(), "{path}");
                    expected.push((column.as_str(), values[column].as_str()));
                }
                // Spark on Windows (delta-0.8.0-special-partition) also escaped a space.
                if !decoded.contains("%20") {
                    assert_eq!(partition_directory(&expected), dirs.join("/"), "{path}");
                }
                directories_checked += 1;
            }
        }
    }
    assert!(values_checked > 100, "only {values_checked} values checked");
    assert!(
        directories_checked > 30,
        "only {directories_checked} directories checked"
    );
}

fn same_value(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(x), Scalar::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Scalar::Double(x), Scalar::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        _ => a == b,
    }
}

fn arb_non_null() -> impl Strategy<Value = Scalar> {
    let decimal = (1..=38u8)
        .prop_flat_map(|precision| {
            let bound = 10i128.pow(u32::from(precision)) - 1;
            (Just(precision), 0..=precision, -bound..=bound)
        })
        .prop_map(|(precision, scale, value)| dec(value, precision, scale));
    prop_oneof![
        any::<bool>().prop_map(Scalar::Boolean),
        any::<i8>().prop_map(Scalar::Byte),
        any::<i16>().prop_map(Scalar::Short),
        any::<i32>().prop_map(Scalar::Integer),
        any::<i64>().prop_map(Scalar::Long),
        any::<f32>().prop_map(Scalar::Float),
        any::<f64>().prop_map(Scalar::Double),
        ".+".prop_map(Scalar::String),
        ".+".prop_map(|s: String| Scalar::Binary(s.into_bytes())),
        any::<i32>().prop_map(Scalar::Date),
        any::<i64>().prop_map(Scalar::Timestamp),
        any::<i64>().prop_map(Scalar::TimestampNtz),
        decimal,
    ]
}

proptest! {
    #[test]
    fn serialize_then_parse_round_trips(value in arb_non_null()) {
        let text = serialize_partition_value(&value).unwrap();
        prop_assert!(text.as_deref().is_some_and(|t| !t.is_empty()));
        let back = parse_partition_value("c", text.as_deref(), value.data_type()).unwrap();
        prop_assert!(same_value(&back, &value), "{:?} -> {:?} -> {:?}", value, text, back);
    }

    #[test]
    fn parse_never_panics(raw in any::<String>(), which in 0..ALL_TYPES.len()) {
        let _ = parse_partition_value("c", Some(&raw), ALL_TYPES[which]);
    }

    #[test]
    fn non_utf8_binary_is_refused(bytes in proptest::collection::vec(any::<u8>(), 1..16)) {
        let result = serialize_partition_value(&Scalar::Binary(bytes.clone()));
        prop_assert_eq!(result.is_ok(), String::from_utf8(bytes).is_ok());
    }

    #[test]
    fn unescape_inverts_escape(value in any::<String>()) {
        let escaped = escape_partition_path(&value);
        prop_assert!(!escaped.contains('/') && !escaped.contains('='));
        prop_assert_eq!(unescape_partition_path(&escaped).unwrap(), value);
    }

    #[test]
    fn segments_read_back(column in ".+", value in ".+") {
        prop_assume!(value != HIVE_DEFAULT_PARTITION);
        let directory = partition_directory(&[(&column, Some(&value))]);
        prop_assert_eq!(parse_partition_segment(&directory).unwrap(), (column, Some(value)));
    }
}
