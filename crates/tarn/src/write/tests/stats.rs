//! Statistics: values against the data, truncation, column selection.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType as ArrowType, Field};
use proptest::prelude::*;
use serde_json::{Value, json};
use tarn_protocol::schema::{DataType as DeltaType, StructField, StructType};

use super::roundtrip::{all_types_batch, all_types_schema};
use super::{TestTable, stats_of};
use crate::write::stats::{STRING_PREFIX_LENGTH, truncate_max, truncate_min};
use crate::write::{StatsColumns, WriterOptions};

#[tokio::test]
async fn statistics_of_every_type() {
    let table = TestTable::new(all_types_schema(), &[]);
    let output = table
        .write(
            WriterOptions::new().with_stats_columns(StatsColumns::All),
            &[all_types_batch()],
        )
        .await;
    let stats = stats_of(&output.adds[0]);
    assert_eq!(stats["numRecords"], json!(3));
    assert_eq!(
        stats["minValues"],
        json!({
            "id": 1, "b": -128, "s": -32768, "i": i32::MIN, "l": i64::MIN,
            "f": 1.5, "d": -0.25, "bool": false,
            "dt": "1970-01-01",
            "ts": "1969-12-31T23:59:59.999Z",
            "ntz": "2026-01-07T10:00:00.000",
            "dec": -999999.99,
            "big": -0.0000000001,
            "str": "",
            "st": {"x": 1, "y": "a"},
        })
    );
    assert_eq!(
        stats["maxValues"],
        json!({
            // `f` holds a NaN: no maximum.
            "id": 3, "b": 127, "s": 7, "i": i32::MAX, "l": i64::MAX,
            "d": "Infinity", "bool": true,
            "dt": "2026-01-07",
            "ts": "2026-01-07T10:00:00.123Z",
            "ntz": "9999-12-31T23:59:59.999",
            "dec": 123.45,
            "str": "héllo",
            "st": {"x": 2, "y": "a"},
        })
    );
    // `big`'s maximum has 38 digits, more than a double holds: no maximum. Binary, arrays
    // and maps get only null counts.
    assert_eq!(
        stats["nullCount"],
        json!({
            "id": 0, "b": 1, "s": 1, "i": 1, "l": 1, "f": 1, "d": 1, "bool": 1, "bin": 1,
            "dt": 1, "ts": 1, "ntz": 1, "dec": 1, "big": 1, "str": 1,
            // Row 2's struct is null, which makes its fields null too.
            "st": {"x": 1, "y": 2},
            "arr": 1, "m": 1,
        })
    );
}

#[tokio::test]
async fn statistics_merge_across_batches_and_read_back_as_bounds() {
    let schema = StructType::new([
        StructField::new("id", DeltaType::LONG, true),
        StructField::new("d", DeltaType::DOUBLE, true),
        StructField::new("ts", DeltaType::TIMESTAMP, true),
    ]);
    let table = TestTable::new(schema, &[]);
    let make = |ids: Vec<Option<i64>>, ds: Vec<Option<f64>>, ts: Vec<Option<i64>>| {
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("d", Arc::new(Float64Array::from(ds)) as ArrayRef),
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")) as ArrayRef,
            ),
        ])
        .unwrap()
    };
    let batches = [
        make(
            vec![Some(5), None],
            vec![Some(f64::NEG_INFINITY), None],
            vec![Some(1_500), None],
        ),
        make(
            vec![Some(-3), Some(9)],
            vec![Some(2.5), Some(-0.0)],
            vec![Some(-1_500), Some(999)],
        ),
        make(vec![None], vec![None], vec![None]),
    ];
    let output = table.write(WriterOptions::new(), &batches).await;
    let stats = stats_of(&output.adds[0]);
    assert_eq!(stats["numRecords"], json!(5));
    assert_eq!(stats["minValues"]["id"], json!(-3));
    assert_eq!(stats["maxValues"]["id"], json!(9));
    assert_eq!(stats["minValues"]["d"], json!("-Infinity"));
    assert_eq!(stats["maxValues"]["d"], json!(2.5));
    // Milliseconds, rounded down (towards the past for negative times).
    assert_eq!(stats["minValues"]["ts"], json!("1969-12-31T23:59:59.998Z"));
    assert_eq!(stats["maxValues"]["ts"], json!("1970-01-01T00:00:00.001Z"));
    assert_eq!(stats["nullCount"], json!({"id": 2, "d": 2, "ts": 2}));
    table.commit(&output.adds);
    // The reader widens the millisecond maximum: the row at 1.5 ms is still found.
    assert_eq!(
        super::row_count(&table.read(Some("ts >= '1970-01-01T00:00:00.0015Z'")).await),
        1
    );
    assert_eq!(super::row_count(&table.read(Some("d < -1e300")).await), 1);
    assert_eq!(super::row_count(&table.read(Some("id > 8")).await), 1);
}

#[tokio::test]
async fn long_strings_are_truncated_to_true_bounds() {
    let schema = StructType::new([StructField::new("s", DeltaType::STRING, true)]);
    let table = TestTable::new(schema, &[]);
    let low = format!("{}zzz", "a".repeat(40));
    let high = format!("{}{}", "b".repeat(STRING_PREFIX_LENGTH), "é and more");
    let values = vec![low.clone(), high.clone(), "b".repeat(35)];
    let batch = RecordBatch::try_from_iter([(
        "s",
        Arc::new(StringArray::from(values.clone())) as ArrayRef,
    )])
    .unwrap();
    let output = table.write(WriterOptions::new(), &[batch]).await;
    let stats = stats_of(&output.adds[0]);
    let min = stats["minValues"]["s"].as_str().unwrap();
    let max = stats["maxValues"]["s"].as_str().unwrap();
    assert_eq!(min, "a".repeat(32));
    // The character cut off is not ASCII, so the tie-breaker is the largest code point.
    assert_eq!(max, format!("{}\u{10FFFF}", "b".repeat(32)));
    for value in &values {
        assert!(min <= value.as_str() && value.as_str() <= max, "{value}");
    }
    table.commit(&output.adds);
    assert_eq!(
        super::row_count(&table.read(Some(&format!("s = '{high}'"))).await),
        1
    );
}

/// Table properties, a writer option, and the expected `minValues`.
type IndexedCase = (
    &'static [(&'static str, &'static str)],
    Option<StatsColumns>,
    Value,
);

#[tokio::test]
async fn indexed_columns_count_leaves() {
    let schema = StructType::new([
        StructField::new("a", DeltaType::INTEGER, true),
        StructField::new(
            "s",
            DeltaType::struct_of([
                StructField::new("x", DeltaType::INTEGER, true),
                StructField::new("y", DeltaType::INTEGER, true),
            ]),
            true,
        ),
        StructField::new("b", DeltaType::INTEGER, true),
    ]);
    let s = StructArray::from(vec![
        (
            Arc::new(Field::new("x", ArrowType::Int32, true)),
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("y", ArrowType::Int32, true)),
            Arc::new(Int32Array::from(vec![2])) as ArrayRef,
        ),
    ]);
    let batch = RecordBatch::try_from_iter([
        ("a", Arc::new(Int32Array::from(vec![0])) as ArrayRef),
        ("s", Arc::new(s) as ArrayRef),
        ("b", Arc::new(Int32Array::from(vec![3])) as ArrayRef),
    ])
    .unwrap();
    let cases: [IndexedCase; 5] = [
        (
            &[("delta.dataSkippingNumIndexedCols", "2")],
            None,
            json!({"a": 0, "s": {"x": 1}}),
        ),
        (&[], Some(StatsColumns::FirstLeaves(0)), json!({})),
        (
            &[("delta.dataSkippingNumIndexedCols", "-1")],
            None,
            json!({"a": 0, "s": {"x": 1, "y": 2}, "b": 3}),
        ),
        (
            &[("delta.dataSkippingStatsColumns", "b, S")],
            None,
            json!({"s": {"x": 1, "y": 2}, "b": 3}),
        ),
        (
            &[
                ("delta.dataSkippingStatsColumns", "s.y"),
                ("delta.dataSkippingNumIndexedCols", "1"),
            ],
            None,
            json!({"s": {"y": 2}}),
        ),
    ];
    for (properties, option, expected) in cases {
        let table = TestTable::with_configuration(schema.clone(), &[], properties);
        let mut options = WriterOptions::new();
        if let Some(columns) = option {
            options = options.with_stats_columns(columns);
        }
        let output = table.write(options, std::slice::from_ref(&batch)).await;
        let stats = stats_of(&output.adds[0]);
        assert_eq!(stats["minValues"], expected, "{properties:?}");
        assert_eq!(stats["numRecords"], json!(1));
    }
}

#[tokio::test]
async fn partition_columns_get_no_statistics() {
    let schema = StructType::new([
        StructField::new("p", DeltaType::INTEGER, true),
        StructField::new("v", DeltaType::INTEGER, true),
    ]);
    let table =
        TestTable::with_configuration(schema, &["p"], &[("delta.dataSkippingNumIndexedCols", "1")]);
    let batch = RecordBatch::try_from_iter([
        ("p", Arc::new(Int32Array::from(vec![1, 1])) as ArrayRef),
        ("v", Arc::new(Int32Array::from(vec![5, 6])) as ArrayRef),
    ])
    .unwrap();
    let output = table.write(WriterOptions::new(), &[batch]).await;
    let stats = stats_of(&output.adds[0]);
    // The first data column, not the partition column, is the one indexed.
    assert_eq!(stats["minValues"], json!({"v": 5}));
    assert_eq!(stats["maxValues"], json!({"v": 6}));
}

#[test]
fn truncation_edge_cases() {
    let short = "x".repeat(STRING_PREFIX_LENGTH);
    assert_eq!(truncate_min(&short), short);
    assert_eq!(truncate_max(&short).unwrap(), short);
    let ascii = format!("{short}abc");
    assert_eq!(truncate_max(&ascii).unwrap(), format!("{short}\u{7f}"));
    let del = format!("{short}\u{7f}");
    assert_eq!(truncate_max(&del).unwrap(), format!("{short}\u{10FFFF}"));
    // Nothing sorts above U+10FFFF: the cut moves past it.
    let top = format!("{short}\u{10FFFF}a");
    assert_eq!(
        truncate_max(&top).unwrap(),
        format!("{short}\u{10FFFF}\u{7f}")
    );
    let all_top = format!("{short}{}", "\u{10FFFF}".repeat(100));
    assert_eq!(truncate_max(&all_top), None);
}

proptest! {
    #[test]
    fn truncated_bounds_hold(s in "\\PC{0,80}", t in "\\PC{0,80}") {
        let min = truncate_min(&s);
        prop_assert!(min <= s.as_str());
        prop_assert!(min.chars().count() <= STRING_PREFIX_LENGTH);
        if let Some(max) = truncate_max(&s) {
            prop_assert!(max.as_str() >= s.as_str());
            // Any value at most `s` stays at most the truncated maximum.
            if t <= s {
                prop_assert!(t.as_str() <= max.as_str());
            }
            // Any value at least `s` stays at least the truncated minimum.
            if t >= s {
                prop_assert!(t.as_str() >= min);
            }
        }
    }
}

proptest! {
    /// Statistics merged over any split into batches equal those of the whole column.
    #[test]
    fn merged_statistics_match_the_data(
        values in proptest::collection::vec(proptest::option::of(any::<i64>()), 1..200),
        words in proptest::collection::vec(proptest::option::of("[a-c]{0,3}"), 1..200),
        cuts in proptest::collection::vec(0usize..200, 0..5),
    ) {
        use crate::write::stats::{FileStats, stats_leaves};
        let rows = values.len().min(words.len());
        let (values, words) = (&values[..rows], &words[..rows]);
        let fields = [
            StructField::new("n", DeltaType::LONG, true),
            StructField::new("w", DeltaType::STRING, true),
        ];
        let leaves = stats_leaves(
            &fields,
            &StatsColumns::All,
            tarn_protocol::schema::ColumnMappingMode::None,
        );
        let mut stats = FileStats::new(leaves);
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (rows + 1)).collect();
        bounds.push(0);
        bounds.push(rows);
        bounds.sort_unstable();
        for window in bounds.windows(2) {
            let (start, end) = (window[0], window[1]);
            let batch = RecordBatch::try_from_iter([
                ("n", Arc::new(Int64Array::from(values[start..end].to_vec())) as ArrayRef),
                (
                    "w",
                    Arc::new(StringArray::from(
                        words[start..end].iter().map(|w| w.as_deref()).collect::<Vec<_>>(),
                    )) as ArrayRef,
                ),
            ])
            .unwrap();
            stats.update(&batch);
        }
        let json: Value = serde_json::from_str(&stats.to_json()).unwrap();
        prop_assert_eq!(&json["numRecords"], &json!(rows));
        let present: Vec<i64> = values.iter().flatten().copied().collect();
        prop_assert_eq!(&json["nullCount"]["n"], &json!(rows - present.len()));
        prop_assert_eq!(&json["minValues"]["n"], &present.iter().min().map_or(Value::Null, |v| json!(v)));
        prop_assert_eq!(&json["maxValues"]["n"], &present.iter().max().map_or(Value::Null, |v| json!(v)));
        let present: Vec<&String> = words.iter().flatten().collect();
        prop_assert_eq!(&json["nullCount"]["w"], &json!(rows - present.len()));
        prop_assert_eq!(&json["minValues"]["w"], &present.iter().min().map_or(Value::Null, |v| json!(v)));
        prop_assert_eq!(&json["maxValues"]["w"], &present.iter().max().map_or(Value::Null, |v| json!(v)));
    }
}
