//! The one statistic every snapshot keeps: a file's record count.
//!
//! Per-column statistics (min/max/null counts) are large: a few hundred bytes of JSON per
//! file, most of a snapshot's memory. A snapshot therefore keeps only `numRecords` by default
//! and loads the rest on request ([`crate::Snapshot::with_statistics`]), for the scans whose
//! predicates need them. Extracting the count must be cheap, since it runs for every file of
//! every snapshot: writers put `numRecords` first, and that prefix is read without parsing
//! the rest.

use serde::Deserialize;

#[derive(Deserialize)]
struct NumRecords {
    #[serde(rename = "numRecords")]
    num_records: Option<i64>,
}

/// Parses a run of ASCII digits (with an optional minus sign) at the start of `text`, if it
/// ends in a JSON delimiter.
fn leading_integer(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    let digits_start = usize::from(negative);
    let digits_end = bytes[digits_start..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |p| p + digits_start);
    if digits_end == digits_start {
        return None;
    }
    match bytes.get(digits_end) {
        Some(b',' | b'}' | b' ') | None => text[..digits_end].parse().ok(),
        _ => None,
    }
}

/// `numRecords` of a stats JSON document (`{"numRecords":10,...}`).
pub(crate) fn num_records_in_json(stats: &str) -> Option<i64> {
    if let Some(rest) = stats.strip_prefix("{\"numRecords\":")
        && let Some(n) = leading_integer(rest)
    {
        return Some(n);
    }
    serde_json::from_str::<NumRecords>(stats).ok()?.num_records
}

/// `numRecords` of stats given as the raw JSON string literal of a log line
/// (`"{\"numRecords\":10,...}"`, quotes and escapes included).
pub(crate) fn num_records_in_literal(literal: &str) -> Option<i64> {
    if let Some(rest) = literal.strip_prefix("\"{\\\"numRecords\\\":")
        && let Some(n) = leading_integer(rest)
    {
        return Some(n);
    }
    let stats: String = serde_json::from_str(literal).ok()?;
    num_records_in_json(&stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_and_fallback_agree() {
        for (stats, expected) in [
            (r#"{"numRecords":10,"minValues":{}}"#, Some(10)),
            (r#"{"numRecords":0}"#, Some(0)),
            (r#"{"minValues":{"numRecords":5},"numRecords":7}"#, Some(7)),
            (r#"{ "numRecords" : 3 }"#, Some(3)),
            (r#"{"numRecords":null}"#, None),
            (r#"{"minValues":{}}"#, None),
            (r#"{"numRecords":1e3}"#, None),
            ("not json", None),
        ] {
            assert_eq!(num_records_in_json(stats), expected, "{stats}");
            let literal = serde_json::to_string(stats).unwrap();
            assert_eq!(num_records_in_literal(&literal), expected, "{literal}");
        }
    }

    #[test]
    fn large_counts() {
        assert_eq!(
            num_records_in_json(r#"{"numRecords":9007199254740993}"#),
            Some(9_007_199_254_740_993)
        );
    }
}
