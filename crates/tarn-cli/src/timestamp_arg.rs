//! Parsing `--timestamp` values.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses a timestamp given on the command line: RFC 3339 (`2026-01-07T10:00:00Z`,
/// `2026-01-07T10:00:00+01:00`), a UTC date-time (`2026-01-07 10:00:00[.fff]`, `T` allowed),
/// a UTC date (`2026-01-07`, midnight), or milliseconds since the epoch.
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    if let Ok(millis) = text.parse::<i64>()
        && let Some(t) = DateTime::from_timestamp_millis(millis)
    {
        return Ok(t);
    }
    Err(format!(
        "invalid timestamp {text:?}: expected RFC 3339 (2026-01-07T10:00:00Z), \
         YYYY-MM-DD[ HH:MM:SS], or milliseconds since the epoch"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let expected = DateTime::parse_from_rfc3339("2026-01-07T10:00:00Z").unwrap();
        for text in [
            "2026-01-07T10:00:00Z",
            "2026-01-07T11:00:00+01:00",
            "2026-01-07 10:00:00",
            "2026-01-07T10:00:00.000",
            "2026-01-07 10:00",
            "1767780000000",
        ] {
            assert_eq!(parse_timestamp(text).unwrap(), expected, "{text}");
        }
        assert_eq!(
            parse_timestamp("2026-01-07").unwrap(),
            DateTime::parse_from_rfc3339("2026-01-07T00:00:00Z").unwrap()
        );
        assert!(parse_timestamp("yesterday").is_err());
    }
}
