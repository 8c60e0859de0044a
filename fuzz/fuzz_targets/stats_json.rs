//! Statistics JSON (`add.stats`): the input is one file's `stats` document, read as a
//! snapshot reads its record count, as a checkpoint writes it into `stats_parsed`, and as
//! file pruning reads its bounds for predicates on every kind of column. Any document must
//! give values or nulls, never a panic; the record count read from the document and from its
//! JSON string literal in a commit line agree.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tarn::Expr;
use tarn::protocol::schema::StructType;

/// A column of every primitive type, a nested struct, an array and a map.
const SCHEMA: &str = r#"{"type":"struct","fields":[
    {"name":"b","type":"byte","nullable":true,"metadata":{}},
    {"name":"sh","type":"short","nullable":true,"metadata":{}},
    {"name":"i","type":"integer","nullable":true,"metadata":{}},
    {"name":"l","type":"long","nullable":true,"metadata":{}},
    {"name":"f","type":"float","nullable":true,"metadata":{}},
    {"name":"d","type":"double","nullable":true,"metadata":{}},
    {"name":"dec","type":"decimal(10,2)","nullable":true,"metadata":{}},
    {"name":"big","type":"decimal(38,0)","nullable":true,"metadata":{}},
    {"name":"s","type":"string","nullable":true,"metadata":{}},
    {"name":"bin","type":"binary","nullable":true,"metadata":{}},
    {"name":"flag","type":"boolean","nullable":true,"metadata":{}},
    {"name":"day","type":"date","nullable":true,"metadata":{}},
    {"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
    {"name":"ntz","type":"timestamp_ntz","nullable":true,"metadata":{}},
    {"name":"st","type":{"type":"struct","fields":[
        {"name":"x","type":"long","nullable":true,"metadata":{}},
        {"name":"y","type":"string","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}},
    {"name":"arr","type":{"type":"array","elementType":"integer","containsNull":true},"nullable":true,"metadata":{}},
    {"name":"m","type":{"type":"map","keyType":"string","valueType":"long","valueContainsNull":true},"nullable":true,"metadata":{}}
]}"#;

/// One predicate per kind of bound pruning reads.
const PREDICATES: &[&str] = &[
    "b < 3 AND sh > -2",
    "i = 7",
    "l BETWEEN 10 AND 20",
    "f > 1.5E0",
    "d <= -0.5E0 OR d IS NULL",
    "dec = 12.34",
    "big > 99999999999999999999999999999999999999",
    "s >= 'm' AND s < 'mz'",
    "s IN ('a', 'b', 'cc')",
    "flag IS NOT NULL",
    "day = DATE '2026-01-07'",
    "ts > TIMESTAMP '2026-01-07 10:00:00'",
    "ntz < TIMESTAMP_NTZ '2026-01-07 10:00:00'",
    "st.x = 1 AND st.y <> 'q'",
    "NOT (i <> 3)",
    "i + 1 > l",
];

fn setup() -> &'static (StructType, Vec<Expr>) {
    static SETUP: OnceLock<(StructType, Vec<Expr>)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let schema: StructType =
            serde_json::from_str(SCHEMA).unwrap_or_else(|e| panic!("bad schema: {e}"));
        let predicates = PREDICATES
            .iter()
            .map(|sql| {
                Expr::parse(sql)
                    .and_then(|e| e.resolve(&schema))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
            .collect();
        (schema, predicates)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(stats) = std::str::from_utf8(data) else {
        return;
    };
    let (schema, predicates) = setup();
    let reading = tarn::log::fuzzing::read_stats(schema, stats);
    assert_eq!(
        reading.num_records, reading.num_records_from_literal,
        "numRecords of {stats:?} read from the document and from its literal"
    );
    if let Ok(column) = &reading.stats_parsed {
        assert_eq!(column.len(), 1);
    }
    for predicate in predicates {
        let _ = tarn::fuzzing::prune_with_stats(predicate, schema, Some(stats), None);
        let _ = tarn::fuzzing::prune_with_stats(predicate, schema, Some(stats), Some(3));
    }
});
