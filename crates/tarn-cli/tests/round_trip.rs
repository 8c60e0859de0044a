//! `tarn cat` output read back by `tarn write`, as the real binary: a table holding every
//! type tarn writes, at its edges, copied through CSV, NDJSON and Parquet into fresh tables
//! of the same schema must read back to the same rows; and every value that does not fit its
//! column exactly is refused, naming the file, line, column and value, with nothing
//! committed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use serde_json::{Value, json};

use support::*;

/// Every type tarn writes; `id` orders the rows.
const SCHEMA: &str = r#"{
  "id": "long not null",
  "b": "boolean", "i8": "byte", "i16": "short", "i32": "integer", "i64": "long",
  "f": "float", "d": "double",
  "dec": "decimal(10,2)", "dec38": "decimal(38,10)", "dec_whole": "decimal(38,0)",
  "s": "string", "bin": "binary", "day": "date", "ts": "timestamp", "ntz": "timestamp_ntz",
  "st": {"type": "struct", "fields": [
    {"name": "a", "type": "integer", "nullable": true, "metadata": {}},
    {"name": "dd", "type": "decimal(5,1)", "nullable": true, "metadata": {}},
    {"name": "tags", "type": {"type": "array", "elementType": "string", "containsNull": true},
     "nullable": true, "metadata": {}}]},
  "arr": {"type": "array", "elementType": "double", "containsNull": true},
  "m": {"type": "map", "keyType": "integer", "valueType": "string", "valueContainsNull": true},
  "mb": {"type": "map", "keyType": "binary",
         "valueType": {"type": "array", "elementType": "date", "containsNull": true},
         "valueContainsNull": true}
}"#;

/// Rows at the edges of every type, as NDJSON.
const ROWS: &str = r#"{"id":1,"b":true,"i8":-128,"i16":32767,"i32":-2147483648,"i64":-9223372036854775808,"f":"NaN","d":"-Infinity","dec":"-99999999.99","dec38":"9999999999999999999999999999.9999999999","dec_whole":"-99999999999999999999999999999999999999","s":"","bin":"","day":"-0001-01-01","ts":"+10000-01-01T00:00:00.000001Z","ntz":"0001-01-01T00:00:00","st":{"a":null,"dd":null,"tags":[]},"arr":[],"m":{},"mb":{}}
{"id":2,"b":false,"i8":127,"i16":-32768,"i32":2147483647,"i64":9223372036854775807,"f":0.1,"d":-0.0,"dec":0.01,"dec38":-1e-10,"dec_whole":0,"s":"a,\"b\"\nc\r\n  lead, trail ","bin":"00ff10","day":"2026-01-07","ts":"2026-01-07T10:00:00.25Z","ntz":"2026-01-07T10:00:00.123456","st":null,"arr":[1.5,null,"Infinity","NaN",1e300,5e-324],"m":{"1":"x","-2":null},"mb":{"00":["2026-01-01",null],"ff":null}}
{"id":3,"f":3.4028235e38,"d":1.7976931348623157e308,"st":{"a":1,"dd":-9999.9,"tags":[null,"",","]},"m":{"7":""}}
{"id":4,"s":"ünïcødé ✓ \"q\" \t tab","f":1e-45,"d":"Infinity","bin":"22","st":{"a":null,"dd":null,"tags":null}}
"#;

/// Tables of [`SCHEMA`] in a workspace.
trait NewTable {
    fn table(&self, name: &str) -> String;
}

impl NewTable for Workspace {
    /// A new table of [`SCHEMA`].
    fn table(&self, name: &str) -> String {
        let table = self.path(name);
        tarn_ok(&["create", &table, "--schema", SCHEMA]);
        table
    }
}

/// The rows of a table as `cat --format ndjson` prints them, in `id` order.
fn rows(table: &str) -> Vec<Value> {
    let mut rows: Vec<Value> = tarn_ok(&["cat", table, "--format", "ndjson"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|r| r["id"].as_i64());
    rows
}

/// The table's version and data files.
fn state(table: &str) -> (u64, Vec<String>) {
    let version = tarn_json(&["describe", table, "--json"])["version"]
        .as_u64()
        .unwrap();
    let mut files: Vec<String> = std::fs::read_dir(Path::new(table))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    files.sort();
    (version, files)
}

/// Writes `file` into `table`, which must fail and stay as it was; returns the message.
fn refused(table: &str, file: &str) -> String {
    let before = state(table);
    let message = tarn_err(&["write", table, file]);
    assert_eq!(
        state(table),
        before,
        "{file} failed ({message}) but changed the table"
    );
    message
}

#[test]
fn every_type_reads_back_from_cat_csv_ndjson_and_parquet() {
    let ws = Workspace::new();
    let source = ws.table("source");
    tarn_ok(&["write", &source, &ws.file("rows.ndjson", ROWS)]);
    let want = rows(&source);
    assert_eq!(want.len(), 4);
    // The source read its input as written.
    assert_eq!(want[0]["f"], "NaN");
    assert_eq!(want[0]["d"], "-Infinity");
    assert_eq!(
        want[0]["dec38"],
        json!(9999999999999999999999999999.9999999999f64)
    );
    assert_eq!(want[0]["day"], "-0001-01-01");
    assert_eq!(want[0]["ts"], "+10000-01-01T00:00:00.000001Z");
    assert_eq!(want[1]["i64"], json!(i64::MAX));
    assert_eq!(want[1]["ts"], "2026-01-07T10:00:00.250Z");
    assert_eq!(want[1]["ntz"], "2026-01-07T10:00:00.123456");
    assert_eq!(
        want[1]["arr"],
        json!([1.5, null, "Infinity", "NaN", 1e300, 5e-324])
    );
    assert_eq!(
        want[1]["mb"],
        json!({"00": ["2026-01-01", null], "ff": null})
    );
    assert_eq!(
        want[2]["st"],
        json!({"a": 1, "dd": -9999.9, "tags": [null, "", ","]})
    );
    assert_eq!(want[3]["st"], json!({"a": null, "dd": null, "tags": null}));
    assert_eq!(want[1]["st"], Value::Null);

    for format in ["csv", "ndjson", "parquet"] {
        let file = ws.path(&format!("copy.{format}"));
        tarn_ok(&["cat", &source, "--format", format, "--output", &file]);
        let copy = ws.table(&format!("copy-{format}"));
        tarn_ok(&["write", &copy, &file]);
        assert_eq!(rows(&copy), want, "through {format}");
    }

    // CSV keeps NULL (an empty field) and the empty string ("") apart.
    let csv = std::fs::read_to_string(ws.path("copy.csv")).unwrap();
    let first = csv.lines().find(|l| l.starts_with("1,")).unwrap();
    assert!(first.contains(",NaN,-Infinity,"), "{first}");
    assert!(first.contains(",\"\",\"\",-0001-01-01,"), "{first}");
    let fourth = csv.lines().find(|l| l.starts_with("4,")).unwrap();
    assert!(fourth.starts_with("4,,,,,,"), "{fourth}");
}

#[test]
fn values_that_fit_exactly_are_accepted_in_any_spelling() {
    let ws = Workspace::new();
    let table = ws.path("t");
    tarn_ok(&[
        "create",
        &table,
        "--schema",
        r#"{"id": "long not null", "i64": "long", "dec": "decimal(10,2)", "d": "double",
            "f": "float", "bin": "binary"}"#,
    ]);
    let csv = ws.file(
        "ok.csv",
        "id,i64,dec,d,f,bin\n\
         1,3.0,1.230,NaN,-Infinity,00FF\n\
         2,3e2, 12 ,1e-400,0.1,\n",
    );
    tarn_ok(&["write", &table, &csv]);
    let ndjson = ws.file(
        "ok.ndjson",
        "{\"id\":3,\"i64\":-5.00,\"dec\":\"1.2E1\",\"d\":\"Infinity\",\"f\":\"NaN\"}\n",
    );
    tarn_ok(&["write", &table, &ndjson]);
    let got: Vec<Value> = rows(&table)
        .into_iter()
        .map(|r| json!([r["id"], r["i64"], r["dec"], r["d"], r["f"], r["bin"]]))
        .collect();
    assert_eq!(
        got,
        vec![
            json!([1, 3, 1.23, "NaN", "-Infinity", "00ff"]),
            json!([2, 300, 12.0, 0.0, 0.1, null]),
            json!([3, -5, 12.0, "Infinity", "NaN", null]),
        ]
    );
}

#[test]
fn values_that_do_not_fit_are_refused_naming_file_line_column_and_value() {
    let ws = Workspace::new();
    let table = ws.table("t");
    tarn_ok(&["write", &table, &ws.file("rows.ndjson", ROWS)]);

    // (file name, contents, the message after "<path>, ").
    let cases: &[(&str, &str, &str)] = &[
        (
            "round.csv",
            "id,dec\n1,1.23\n2,1.239\n",
            "line 3: cannot read \"1.239\" in column `dec` as decimal(10,2): it has more than 2 \
             digits after the decimal point, and tarn does not round",
        ),
        (
            "round.ndjson",
            "{\"id\":1,\"dec\":1.23}\n{\"id\":2,\"dec\":1.239}\n",
            "line 2: cannot read \"1.239\" in column `dec` as decimal(10,2): it has more than 2 \
             digits after the decimal point, and tarn does not round",
        ),
        (
            "too_big.ndjson",
            "{\"id\":1,\"dec\":123456789}\n",
            "line 1: cannot read \"123456789\" in column `dec` as decimal(10,2): it has more \
             than 8 digits before the decimal point",
        ),
        (
            "truncate.ndjson",
            "{\"id\":1}\n{\"id\":2,\"i64\":-2.9}\n",
            "line 2: cannot read \"-2.9\" in column `i64` as long: it is not a whole number",
        ),
        (
            "truncate.csv",
            "id,i64\n1,-2.9\n",
            "line 2: cannot read \"-2.9\" in column `i64` as long: it is not a whole number",
        ),
        (
            "range.csv",
            "id,i8\n1,300\n",
            "line 2: cannot read \"300\" in column `i8` as byte: it is outside the range -128 \
             to 127",
        ),
        (
            "range.ndjson",
            "{\"id\":1,\"i64\":9223372036854775808}\n",
            "line 1: cannot read \"9223372036854775808\" in column `i64` as long: it is outside \
             the range -9223372036854775808 to 9223372036854775807",
        ),
        (
            "overflow.ndjson",
            "{\"id\":1,\"d\":1e400}\n",
            "line 1: cannot read \"1e400\" in column `d` as double: it is outside the range of a \
             double",
        ),
        (
            "nested.ndjson",
            "{\"id\":1}\n\n{\"id\":2,\"st\":{\"a\":1,\"dd\":1.25}}\n",
            "line 3: cannot read \"1.25\" in column `st.dd` as decimal(5,1): it has more than 1 \
             digit after the decimal point, and tarn does not round",
        ),
        (
            "in_list.ndjson",
            "{\"id\":1,\"arr\":[1,2]}\n{\"id\":2,\"mb\":{\"00\":[\"2026-01-01\",\"soon\"]}}\n",
            "line 2: cannot read \"soon\" in column `mb.value.element` as date: the year must \
             have 4 to 9 digits",
        ),
        (
            "nested.csv",
            "id,st\n1,\"{\"\"a\"\":1,\"\"dd\"\":0.55}\"\n",
            "line 2: cannot read \"0.55\" in column `st.dd` as decimal(5,1): it has more than 1 \
             digit after the decimal point, and tarn does not round",
        ),
        (
            "hex.csv",
            "id,bin\n1,00ff\n2,\"multi\nline\"\n",
            "line 3: cannot read \"multi\\nline\" in column `bin` as binary: binary is written \
             as hex, two digits a byte, and character 1 is not a hex digit",
        ),
        (
            "hex_key.ndjson",
            "{\"id\":1,\"mb\":{\"zz\":[]}}\n",
            "line 1: cannot read \"zz\" in column `mb.key` as binary: binary is written as hex, \
             two digits a byte, and character 1 is not a hex digit",
        ),
        (
            "empty.csv",
            "id,i32\n1,\"\"\n",
            "line 2: cannot read \"\" in column `i32` as integer: a quoted empty field (\"\") \
             is an empty string; leave the field empty, unquoted, for NULL",
        ),
        (
            "offset.ndjson",
            "{\"id\":1,\"ntz\":\"2026-01-01T00:00:00+02:00\"}\n",
            "line 1: cannot read \"2026-01-01T00:00:00+02:00\" in column `ntz` as timestamp_ntz: \
             a timestamp without time zone cannot carry a UTC offset",
        ),
        (
            "nanos.csv",
            "id,ts\n1,2026-01-01T00:00:00.0000001Z\n",
            "line 2: cannot read \"2026-01-01T00:00:00.0000001Z\" in column `ts` as timestamp: \
             timestamps have microsecond precision; found nanoseconds",
        ),
        (
            "not_json.csv",
            "id,m\n1,{}\n2,\"[1]\"\n",
            "line 3: cannot read \"[1]\" in column `m` as map<integer, string>: expected { got [1]",
        ),
        (
            "unclosed.csv",
            "id,s\n1,\"fine\n\"\n2,\"open\n\n",
            "line 4: not CSV: the file ends inside the quoted field that starts on this line",
        ),
        (
            "after_quote.csv",
            "id,s\n1,\"a\"b\n",
            "line 2: not CSV: field 2 is quoted, so its closing quote must be followed by a \
             comma or the line's end, not 'b'",
        ),
        (
            "ragged.csv",
            "id,s\n1,a\n\"2\n\",b,c\n",
            "line 3: the CSV record has 3 fields, the header has 2",
        ),
    ];
    for (name, contents, want) in cases {
        let file = ws.file(name, contents);
        let message = refused(&table, &file);
        assert_eq!(message, format!("{file}, {want}"), "{name}");
    }
}
