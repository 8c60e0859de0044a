//! delta-rs as the reference for interop checks: runs the Python scripts in `tools/interop`
//! (the `deltalake` package, installed by `tools/test.sh` into the venv named by
//! `TARN_PYTHON`) and renders tarn's Arrow output in the same canonical JSON, so that a test
//! can compare what tarn reads with what delta-rs reads value by value:
//!
//! ```ignore
//! let expected = read_with_delta_rs(uri(&table), None);
//! assert_eq!(canonical_rows(&tarn_batches), rows_of(&expected));
//! ```
//!
//! The canonical form is defined in `tools/interop/canonical.py`; [`canonical_rows`] must
//! render every value exactly as that script does (floats as shortest round-trip digits in
//! `{:e}` form, decimals at their scale, dates and timestamps as ISO text, binary as hex, maps
//! as `[key, value]` pairs). Rows are compared sorted by [`row_key`], applied on this side to
//! both sources, so the order never depends on how either language prints JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Value, json};
use tarn_protocol::schema::StructType;

/// The venv's Python interpreter (`TARN_PYTHON`, set by `tools/test.sh`).
pub fn python() -> PathBuf {
    match std::env::var_os("TARN_PYTHON") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TARN_PYTHON is not set: run tools/test.sh, which installs the Python delta-rs \
             reader (tools/interop/requirements.txt) into a venv and exports TARN_PYTHON"
        ),
    }
}

/// A command running the venv's Python, without writing `__pycache__` into the clone.
pub fn python_command() -> Command {
    let mut command = Command::new(python());
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A script in `tools/interop`.
pub fn interop_script(name: &str) -> PathBuf {
    repo_root().join("tools/interop").join(name)
}

/// Runs a `tools/interop` script with arguments and optional stdin; returns its stdout parsed
/// as JSON. Panics with the script's stderr when it fails.
fn run_script(script: &str, args: &[String], stdin: Option<&str>) -> Value {
    let mut command = python_command();
    command
        .arg(interop_script(script))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} {script}: {e}", python().display()));
    if let Some(input) = stdin {
        use std::io::Write as _;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} {args:?} failed ({}):\n{stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} {args:?} printed no JSON ({e}):\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn option_args(options: &BTreeMap<String, String>) -> Vec<String> {
    options
        .iter()
        .flat_map(|(k, v)| ["--storage-option".to_owned(), format!("{k}={v}")])
        .collect()
}

/// Sorts a canonical table's `rows` by [`row_key`] (in place), so that rows from delta-rs and
/// from [`canonical_rows`] are in the same order.
fn resort(mut table: Value) -> Value {
    if let Some(Value::Array(rows)) = table.get_mut("rows") {
        sort_rows(rows);
    }
    table
}

/// Reads a table (a local path or URI) with delta-rs, at its latest version or at `version`:
/// `{"version", "num_rows", "schema": [[name, type]], "rows": [...]}` in the canonical form,
/// rows sorted by [`row_key`]. Panics with delta-rs's error if it cannot read the table.
pub fn read_with_delta_rs(uri: &str, version: Option<i64>) -> Value {
    read_with_delta_rs_options(uri, version, &BTreeMap::new())
}

/// [`read_with_delta_rs`] with delta-rs storage options (e.g. [`super::s3::s3_options`]).
pub fn read_with_delta_rs_options(
    uri: &str,
    version: Option<i64>,
    options: &BTreeMap<String, String>,
) -> Value {
    let mut args = vec![uri.to_owned()];
    if let Some(v) = version {
        args.extend(["--version".to_owned(), v.to_string()]);
    }
    args.extend(option_args(options));
    resort(run_script("read_table.py", &args, None))
}

/// Reads several tables with delta-rs in one Python process (one interpreter start-up for
/// all): for each `(uri, version)`, the canonical table or delta-rs's error message.
pub fn try_read_many_with_delta_rs(
    requests: &[(String, Option<i64>)],
) -> Vec<Result<Value, String>> {
    let input: Vec<Value> = requests
        .iter()
        .map(|(uri, version)| json!({"uri": uri, "version": version}))
        .collect();
    let output = run_script(
        "read_table.py",
        &["--batch".to_owned()],
        Some(&Value::Array(input).to_string()),
    );
    let Value::Array(results) = output else {
        panic!("read_table.py --batch printed no array: {output}");
    };
    assert_eq!(results.len(), requests.len(), "one result per request");
    results
        .into_iter()
        .map(|mut result| {
            if let Some(table) = result.get_mut("table") {
                return Ok(resort(table.take()));
            }
            match result.get("error") {
                Some(Value::String(error)) => Err(error.clone()),
                _ => panic!("read_table.py --batch: malformed result {result}"),
            }
        })
        .collect()
}

/// Creates the interop table of `tools/interop/write_table.py` at `uri` with delta-rs (every
/// type, two partition columns, an append, a delete, a checkpoint, an append after it) and
/// returns what each version holds: `{"versions": [<canonical table>, ...]}`, rows sorted by
/// [`row_key`].
pub fn write_with_delta_rs(uri: &str, options: &BTreeMap<String, String>) -> Value {
    let mut args = vec![uri.to_owned()];
    args.extend(option_args(options));
    let mut output = run_script("write_table.py", &args, None);
    let Some(Value::Array(versions)) = output.get_mut("versions") else {
        panic!("write_table.py printed no versions: {output}");
    };
    for version in versions.iter_mut() {
        *version = resort(version.take());
    }
    output
}

/// The rows of a canonical table from the scripts.
pub fn rows_of(table: &Value) -> Vec<Value> {
    match table.get("rows") {
        Some(Value::Array(rows)) => rows.clone(),
        _ => panic!("no rows in {table}"),
    }
}

/// `[[name, type], ...]` of a tarn schema's top-level fields, types as the scripts write them
/// (tarn's `DataType` display: `long`, `decimal(10,2)`, `array<long>`, ...).
pub fn schema_pairs(schema: &StructType) -> Value {
    Value::Array(
        schema
            .fields
            .iter()
            .map(|f| json!([f.name, f.data_type.to_string()]))
            .collect(),
    )
}

/// Describes how two lists of canonical rows (both sorted by [`row_key`]) differ: counts and
/// the first rows found on one side only. `None` when they are equal.
pub fn rows_difference(actual: &[Value], expected: &[Value], what: &str) -> Option<String> {
    if actual == expected {
        return None;
    }
    let mut message = format!(
        "{what}: {} rows from tarn, {} from delta-rs\n",
        actual.len(),
        expected.len()
    );
    let keys = |rows: &[Value]| rows.iter().map(row_key).collect::<Vec<_>>();
    let (a, e) = (keys(actual), keys(expected));
    for k in a.iter().filter(|k| !e.contains(k)).take(3) {
        let _ = writeln!(message, "  only in tarn:     {k}");
    }
    for k in e.iter().filter(|k| !a.contains(k)).take(3) {
        let _ = writeln!(message, "  only in delta-rs: {k}");
    }
    Some(message)
}

/// Asserts two lists of canonical rows are equal, panicking with [`rows_difference`] rather
/// than two walls of JSON.
pub fn assert_rows_eq(actual: &[Value], expected: &[Value], what: &str) {
    if let Some(message) = rows_difference(actual, expected, what) {
        panic!("{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// The canonical form, Rust side

/// Every row of the batches as a canonical JSON object keyed by column name, sorted by
/// [`row_key`].
pub fn canonical_rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let columns: Vec<Vec<Value>> = batch
            .columns()
            .iter()
            .map(|c| column_values(c.as_ref()))
            .collect();
        for row in 0..batch.num_rows() {
            let mut object = Map::new();
            for (field, values) in schema.fields().iter().zip(&columns) {
                object.insert(field.name().clone(), values[row].clone());
            }
            rows.push(Value::Object(object));
        }
    }
    sort_rows(&mut rows);
    rows
}

/// Sorts canonical rows by [`row_key`].
pub fn sort_rows(rows: &mut [Value]) {
    rows.sort_by_cached_key(row_key);
}

/// The sort key of a row: compact JSON with object keys sorted, whatever the map type's order.
pub fn row_key(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// A float in canonical form: shortest round-trip digits as `{:e}` prints them (`1.5e0`,
/// `1e-1`, `-0e0`); `NaN`, `inf`, `-inf`.
pub fn render_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{x:e}")
    }
}

/// A decimal from its unscaled integer text and scale: exactly `scale` digits after the point.
pub fn render_decimal(unscaled: &str, scale: i8) -> String {
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unscaled),
    };
    let Ok(scale) = usize::try_from(scale) else {
        if digits == "0" {
            return "0".to_owned();
        }
        let zeros = "0".repeat(usize::from(scale.unsigned_abs()));
        return format!("{sign}{digits}{zeros}");
    };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// A date (days since the epoch) as `YYYY-MM-DD`.
pub fn render_date(days: i64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let date = epoch
        .checked_add_signed(chrono::Duration::days(days))
        .unwrap_or_else(|| panic!("date {days} days from the epoch is out of range"));
    date.format("%Y-%m-%d").to_string()
}

/// A timestamp as `YYYY-MM-DDTHH:MM:SS.ffffff` (nine fraction digits when there are
/// sub-microsecond digits), with `Z` when the type has a time zone.
pub fn render_timestamp(value: i64, unit: TimeUnit, has_tz: bool) -> String {
    let per_unit: i128 = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let nanos = i128::from(value) * per_unit;
    let micros = nanos.div_euclid(1000);
    let sub_micro = nanos.rem_euclid(1000);
    let seconds = i64::try_from(micros.div_euclid(1_000_000)).unwrap();
    let micro = u32::try_from(micros.rem_euclid(1_000_000)).unwrap();
    let time = chrono::DateTime::from_timestamp(seconds, micro * 1000)
        .unwrap_or_else(|| panic!("timestamp {value} ({unit:?}) is out of range"))
        .naive_utc();
    let mut text = format!("{}.{micro:06}", time.format("%Y-%m-%dT%H:%M:%S"));
    if sub_micro != 0 {
        let _ = write!(text, "{sub_micro:03}");
    }
    if has_tz {
        text.push('Z');
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The canonical values of one array, row by row.
pub fn column_values(array: &dyn Array) -> Vec<Value> {
    if let DataType::Dictionary(_, value_type) = array.data_type() {
        let decoded: ArrayRef = arrow_cast::cast(array, value_type).unwrap();
        return column_values(decoded.as_ref());
    }
    (0..array.len()).map(|row| value_at(array, row)).collect()
}

/// The canonical value of one row of an array.
pub fn value_at(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => json!(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => json!(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => json!(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => json!(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => json!(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => json!(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => Value::String(render_float(f64::from(
            array.as_primitive::<Float32Type>().value(row),
        ))),
        DataType::Float64 => {
            Value::String(render_float(array.as_primitive::<Float64Type>().value(row)))
        }
        DataType::Decimal128(_, scale) => Value::String(render_decimal(
            &array
                .as_primitive::<Decimal128Type>()
                .value(row)
                .to_string(),
            *scale,
        )),
        DataType::Decimal256(_, scale) => Value::String(render_decimal(
            &array
                .as_primitive::<Decimal256Type>()
                .value(row)
                .to_string(),
            *scale,
        )),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Binary => Value::String(hex(array.as_binary::<i32>().value(row))),
        DataType::LargeBinary => Value::String(hex(array.as_binary::<i64>().value(row))),
        DataType::BinaryView => Value::String(hex(array.as_binary_view().value(row))),
        DataType::FixedSizeBinary(_) => Value::String(hex(array.as_fixed_size_binary().value(row))),
        DataType::Date32 => Value::String(render_date(i64::from(
            array.as_primitive::<Date32Type>().value(row),
        ))),
        DataType::Date64 => Value::String(render_date(
            array
                .as_primitive::<Date64Type>()
                .value(row)
                .div_euclid(86_400_000),
        )),
        DataType::Timestamp(unit, tz) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            Value::String(render_timestamp(raw, *unit, tz.is_some()))
        }
        DataType::Struct(fields) => {
            let array = array.as_struct();
            let mut object = Map::new();
            for (field, child) in fields.iter().zip(array.columns()) {
                object.insert(field.name().clone(), single_value(child.as_ref(), row));
            }
            Value::Object(object)
        }
        DataType::List(_) => {
            Value::Array(column_values(array.as_list::<i32>().value(row).as_ref()))
        }
        DataType::LargeList(_) => {
            Value::Array(column_values(array.as_list::<i64>().value(row).as_ref()))
        }
        DataType::FixedSizeList(_, _) => Value::Array(column_values(
            array.as_fixed_size_list().value(row).as_ref(),
        )),
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = column_values(entries.column(0).as_ref());
            let values = column_values(entries.column(1).as_ref());
            Value::Array(
                keys.into_iter()
                    .zip(values)
                    .map(|(k, v)| Value::Array(vec![k, v]))
                    .collect(),
            )
        }
        DataType::Dictionary(_, _) => single_value(array, row),
        other => panic!("no canonical form for Arrow type {other}"),
    }
}

/// The value of one row of an array that may need decoding first (dictionaries).
fn single_value(array: &dyn Array, row: usize) -> Value {
    if matches!(array.data_type(), DataType::Dictionary(_, _)) {
        column_values(&array.slice(row, 1)).remove(0)
    } else {
        value_at(array, row)
    }
}

/// Reads a table with each of delta-rs's Python readers (`tools/interop/read_readers.py`):
/// `{"query_builder": {"table": <canonical>} | {"error": ...}, "to_pyarrow_table": ...,
/// "to_pyarrow_dataset": ...}`, rows sorted by [`row_key`].
pub fn read_with_python_readers(uri: &str, options: &BTreeMap<String, String>) -> Value {
    let mut args = vec![uri.to_owned()];
    args.extend(option_args(options));
    let mut output = run_script("read_readers.py", &args, None);
    if let Value::Object(readers) = &mut output {
        for result in readers.values_mut() {
            if let Some(table) = result.get_mut("table") {
                *table = resort(table.take());
            }
        }
    }
    output
}

/// Size and storage class of objects in an S3 emulator bucket, by key
/// (`tools/interop/s3_head.py`): `{key: {"size", "storage_class"} | null}`.
pub fn s3_head(endpoint: &str, bucket: &str, keys: &[String]) -> Value {
    let mut args = vec![
        "--endpoint".to_owned(),
        endpoint.to_owned(),
        "--bucket".to_owned(),
        bucket.to_owned(),
    ];
    args.extend(keys.iter().cloned());
    run_script("s3_head.py", &args, None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        Int64Builder, ListBuilder, MapBuilder, StringBuilder, StructBuilder,
    };
    use arrow_array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array,
        Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, TimestampMicrosecondArray, TimestampNanosecondArray, TimestampSecondArray,
    };
    use arrow_schema::{Field, Fields, Schema};

    use super::*;

    fn values(array: &dyn Array) -> Value {
        Value::Array(column_values(array))
    }

    #[test]
    fn floats_render_as_shortest_round_trip_scientific() {
        let cases = [
            (0.0, "0e0"),
            (-0.0, "-0e0"),
            (1.0, "1e0"),
            (1.5, "1.5e0"),
            (0.1, "1e-1"),
            (100.0, "1e2"),
            (-2.25e10, "-2.25e10"),
            (1.0 / 3.0, "3.333333333333333e-1"),
            (1e300, "1e300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, text) in cases {
            assert_eq!(render_float(x), text, "{x:?}");
        }
        // float32 is widened exactly, not re-rounded to its own shortest digits.
        let array = Float32Array::from(vec![Some(0.1), None, Some(f32::NAN), Some(-3.0)]);
        assert_eq!(
            values(&array),
            json!(["1.0000000149011612e-1", null, "NaN", "-3e0"])
        );
        let array = Float64Array::from(vec![Some(2.5), Some(f64::NEG_INFINITY)]);
        assert_eq!(values(&array), json!(["2.5e0", "-inf"]));
    }

    #[test]
    fn integers_booleans_and_strings_render_as_json() {
        assert_eq!(
            values(&Int8Array::from(vec![Some(-128), None, Some(127)])),
            json!([-128, null, 127])
        );
        assert_eq!(values(&Int16Array::from(vec![-3, 300])), json!([-3, 300]));
        assert_eq!(
            values(&Int32Array::from(vec![i32::MIN, i32::MAX])),
            json!([i32::MIN, i32::MAX])
        );
        assert_eq!(
            values(&Int64Array::from(vec![i64::MIN, i64::MAX])),
            json!([i64::MIN, i64::MAX])
        );
        assert_eq!(
            values(&BooleanArray::from(vec![Some(true), None, Some(false)])),
            json!([true, null, false])
        );
        assert_eq!(
            values(&StringArray::from(vec![Some("a ✓"), None, Some("")])),
            json!(["a ✓", null, ""])
        );
        assert_eq!(values(&LargeStringArray::from(vec!["x"])), json!(["x"]));
        assert_eq!(
            values(&StringViewArray::from(vec!["a long string view value"])),
            json!(["a long string view value"])
        );
        let dict: DictionaryArray<Int32Type> = vec!["p", "q", "p"].into_iter().collect();
        assert_eq!(values(&dict), json!(["p", "q", "p"]));
    }

    #[test]
    fn decimals_render_at_their_scale() {
        let array = Decimal128Array::from(vec![Some(-5), Some(0), Some(123_456), None, Some(-100)])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(
            values(&array),
            json!(["-0.05", "0.00", "1234.56", null, "-1.00"])
        );
        let array = Decimal128Array::from(vec![i128::from(i64::MAX) * 1_000_000_000])
            .with_precision_and_scale(38, 6)
            .unwrap();
        assert_eq!(values(&array), json!(["9223372036854775807000.000000"]));
        assert_eq!(render_decimal("42", 0), "42");
        assert_eq!(render_decimal("-7", 3), "-0.007");
        assert_eq!(render_decimal("5", -2), "500");
    }

    #[test]
    fn binary_renders_as_lowercase_hex() {
        let array = BinaryArray::from(vec![Some(&[0u8, 0xab, 0xff][..]), None, Some(&[][..])]);
        assert_eq!(values(&array), json!(["00abff", null, ""]));
    }

    #[test]
    fn dates_and_timestamps_render_as_iso_text() {
        let dates = Date32Array::from(vec![Some(0), Some(-1), Some(19_782), None]);
        assert_eq!(
            values(&dates),
            json!(["1970-01-01", "1969-12-31", "2024-02-29", null])
        );
        let utc = TimestampMicrosecondArray::from(vec![Some(1_500_000), Some(-1), None])
            .with_timezone("UTC");
        assert_eq!(
            values(&utc),
            json!([
                "1970-01-01T00:00:01.500000Z",
                "1969-12-31T23:59:59.999999Z",
                null
            ])
        );
        // A zone other than UTC still shows the instant in UTC.
        let offset = TimestampMicrosecondArray::from(vec![0]).with_timezone("+05:00");
        assert_eq!(values(&offset), json!(["1970-01-01T00:00:00.000000Z"]));
        let ntz = TimestampMicrosecondArray::from(vec![86_400_000_000 + 7]);
        assert_eq!(values(&ntz), json!(["1970-01-02T00:00:00.000007"]));
        let nanos = TimestampNanosecondArray::from(vec![1_000, 1_001]);
        assert_eq!(
            values(&nanos),
            json!([
                "1970-01-01T00:00:00.000001",
                "1970-01-01T00:00:00.000001001"
            ])
        );
        let seconds = TimestampSecondArray::from(vec![253_402_300_799]).with_timezone("UTC");
        assert_eq!(values(&seconds), json!(["9999-12-31T23:59:59.000000Z"]));
    }

    #[test]
    fn nested_values_render_as_objects_arrays_and_pairs() {
        // struct<x: long, s: string>, one null struct, one struct with a null field.
        let mut structs = StructBuilder::from_fields(
            vec![
                Field::new("x", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ],
            3,
        );
        for (x, s, valid) in [
            (Some(1), Some("a"), true),
            (None, None, false),
            (Some(2), None, true),
        ] {
            structs
                .field_builder::<Int64Builder>(0)
                .unwrap()
                .append_option(x);
            structs
                .field_builder::<StringBuilder>(1)
                .unwrap()
                .append_option(s);
            structs.append(valid);
        }
        let structs = structs.finish();
        assert_eq!(
            values(&structs),
            json!([{"x": 1, "s": "a"}, null, {"x": 2, "s": null}])
        );

        let mut lists = ListBuilder::new(Int64Builder::new());
        lists.append_value([Some(1), None, Some(3)]);
        lists.append_null();
        lists.append_value([]);
        let lists = lists.finish();
        assert_eq!(values(&lists), json!([[1, null, 3], null, []]));
        // A slice keeps its own rows.
        assert_eq!(values(&lists.slice(1, 2)), json!([null, []]));

        let mut maps = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        maps.keys().append_value("b");
        maps.values().append_value(2);
        maps.keys().append_value("a");
        maps.values().append_null();
        maps.append(true).unwrap();
        maps.append(false).unwrap();
        maps.append(true).unwrap();
        let maps = maps.finish();
        assert_eq!(values(&maps), json!([[["b", 2], ["a", null]], null, []]));
    }

    #[test]
    fn rows_are_objects_sorted_by_their_key() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(2), Some(1), None])),
                Arc::new(StringArray::from(vec!["b", "a", "z"])),
            ],
        )
        .unwrap();
        let rows = canonical_rows(&[batch.slice(0, 2), batch.slice(2, 1)]);
        assert_eq!(
            rows,
            vec![
                json!({"id": 1, "name": "a"}),
                json!({"id": 2, "name": "b"}),
                json!({"id": null, "name": "z"}),
            ]
        );
        assert_eq!(
            row_key(&json!({"b": [1, {"d": 1, "c": "x"}], "a": null})),
            r#"{"a":null,"b":[1,{"c":"x","d":1}]}"#
        );
    }

    /// The cross-language check: one batch of every type, written to Parquet, rendered by
    /// `tools/interop/canonical.py` through pyarrow and by [`canonical_rows`] here.
    #[test]
    fn python_renders_every_type_like_rust() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("types.parquet");
        let batch = every_type_batch();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let code = "import json, sys; sys.path.insert(0, sys.argv[1]); import canonical; \
                    import pyarrow.parquet as pq; \
                    print(json.dumps(canonical.canonical_rows(pq.read_table(sys.argv[2]))))";
        let output = python_command()
            .args(["-c", code])
            .arg(repo_root().join("tools/interop"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut from_python: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        sort_rows(&mut from_python);
        let from_rust = canonical_rows(&[batch]);
        assert_eq!(from_rust.len(), 4);
        assert_rows_eq(&from_rust, &from_python, "every type through pyarrow");
    }

    #[test]
    fn reader_script_fails_with_delta_rs_error_on_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-table-here");
        let output = python_command()
            .arg(interop_script("read_table.py"))
            .arg(&missing)
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("delta-rs could not read"), "{stderr}");
        assert!(stderr.contains("no-table-here"), "{stderr}");
    }

    fn every_type_batch() -> RecordBatch {
        let floats = [0.1f64, -0.0, f64::NAN, f64::INFINITY];
        let mut structs = StructBuilder::from_fields(
            vec![
                Field::new("x", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ],
            4,
        );
        let mut lists = ListBuilder::new(Int64Builder::new());
        let mut maps = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        for i in 0..4i64 {
            structs
                .field_builder::<Int64Builder>(0)
                .unwrap()
                .append_option((i != 2).then_some(i));
            structs
                .field_builder::<StringBuilder>(1)
                .unwrap()
                .append_value(format!("s{i}"));
            structs.append(i != 3);
            if i == 1 {
                lists.append_null();
            } else {
                lists.append_value((0..i).map(|j| (j != 1).then_some(j * 10)));
            }
            for j in 0..i {
                maps.keys().append_value(format!("k{j}"));
                maps.values().append_option((j != 0).then_some(j));
            }
            maps.append(i != 0).unwrap();
        }
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from(vec![0, 1, 2, 3]))),
            (
                "i8",
                Arc::new(Int8Array::from(vec![Some(-128), None, Some(0), Some(127)])),
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![
                    Some(-1),
                    Some(2),
                    None,
                    Some(i16::MAX),
                ])),
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    None,
                    Some(7),
                    Some(8),
                ])),
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(i64::MAX),
                    None,
                    Some(0),
                ])),
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    Some(0.1),
                    Some(-0.0),
                    None,
                    Some(f32::NAN),
                ])),
            ),
            ("f64", Arc::new(Float64Array::from(floats.to_vec()))),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from(vec![Some(-5), Some(0), Some(i128::MAX / 10), None])
                        .with_precision_and_scale(38, 10)
                        .unwrap(),
                ),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some("ñ 😀"),
                    None,
                    Some(""),
                    Some("\"q\"\n"),
                ])),
            ),
            (
                "b",
                Arc::new(BinaryArray::from(vec![
                    Some(&[1u8, 255][..]),
                    None,
                    Some(&[][..]),
                    Some(&[0][..]),
                ])),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                ])),
            ),
            (
                "day",
                Arc::new(Date32Array::from(vec![
                    Some(-719_162),
                    Some(0),
                    Some(2_932_896),
                    None,
                ])),
            ),
            (
                "ts",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(-62_135_596_800_000_000),
                        Some(1),
                        None,
                        Some(253_402_300_799_999_999),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                "ntz",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(0),
                    Some(-1),
                    Some(1_700_000_000_123_456),
                    None,
                ])),
            ),
            ("st", Arc::new(structs.finish())),
            ("arr", Arc::new(lists.finish())),
            ("m", Arc::new(maps.finish())),
        ];
        let fields: Fields = columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }
}
