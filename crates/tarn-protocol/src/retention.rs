//! How long a table keeps what it no longer uses: removed data files and old log files.
//!
//! Delta tables say it in two properties written as Spark `CalendarInterval` strings
//! (`interval 7 days`, `1 week`, `interval 1 day 12 hours`): `delta.deletedFileRetentionDuration`
//! (how long a removed file stays readable for time travel, and so its tombstone; default one
//! week) and `delta.logRetentionDuration` (how long commit files stay; default 30 days), with
//! `delta.enableExpiredLogCleanup` (default true) switching log cleanup off. This module reads
//! them and decides what has expired. Every decision takes `now` as an argument; nothing here
//! reads a clock.

use std::collections::BTreeMap;

use crate::ProtocolError;

/// Table property: how long a removed file (and its tombstone) is kept.
pub const DELETED_FILE_RETENTION_KEY: &str = "delta.deletedFileRetentionDuration";
/// Table property: how long commit and checkpoint files are kept.
pub const LOG_RETENTION_KEY: &str = "delta.logRetentionDuration";
/// Table property: whether expired log files are cleaned up.
pub const EXPIRED_LOG_CLEANUP_KEY: &str = "delta.enableExpiredLogCleanup";

/// One day, in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// Default of [`DELETED_FILE_RETENTION_KEY`]: one week.
pub const DEFAULT_DELETED_FILE_RETENTION_MS: i64 = 7 * DAY_MS;
/// Default of [`LOG_RETENTION_KEY`]: 30 days.
pub const DEFAULT_LOG_RETENTION_MS: i64 = 30 * DAY_MS;

/// Reads a `CalendarInterval` duration as Delta table properties write them (`interval 1
/// week`, `7 days`, `interval 1 day 12 hours`, units singular or plural, any case) into
/// milliseconds. Sub-millisecond units round up. `None` for anything else: negative amounts,
/// months and years (not a fixed length), unknown units, overflow.
pub fn parse_interval_ms(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace().peekable();
    if words
        .peek()
        .is_some_and(|w| w.eq_ignore_ascii_case("interval"))
    {
        words.next();
    }
    let mut total: i64 = 0;
    let mut any = false;
    while let Some(number) = words.next() {
        let unit = words.next()?.to_ascii_lowercase();
        let unit = unit.strip_suffix('s').unwrap_or(&unit);
        let n: i64 = number.parse().ok()?;
        if n < 0 {
            return None;
        }
        let ms = match unit {
            "week" => n.checked_mul(7 * DAY_MS)?,
            "day" => n.checked_mul(DAY_MS)?,
            "hour" => n.checked_mul(3600 * 1000)?,
            "minute" => n.checked_mul(60 * 1000)?,
            "second" => n.checked_mul(1000)?,
            "millisecond" => n,
            "microsecond" => n.checked_add(999)? / 1000,
            "nanosecond" => n.checked_add(999_999)? / 1_000_000,
            _ => return None,
        };
        total = total.checked_add(ms)?;
        any = true;
    }
    any.then_some(total)
}

/// Reads a duration as the command line writes it: a whole number and a unit, `ms`, `s`,
/// `m`, `h`, `d` or `w` (`0h`, `36h`, `7d`, `90d`), into milliseconds. Errors say what is
/// wrong, for an operator.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: write it like 36h, 7d or 90d"))?;
    let (number, unit) = text.split_at(split);
    let amount: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number (36h, 7d, 90d)"))?;
    let unit_ms: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" => 1,
        "s" => 1000,
        "m" | "min" => 60 * 1000,
        "h" => 3600 * 1000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use ms, s, m, h, d or w"
            ));
        }
    };
    amount
        .checked_mul(unit_ms)
        .ok_or_else(|| format!("{text:?} is too long a duration"))
}

/// A table's retention settings, read from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How long removed files are kept, in milliseconds.
    pub deleted_file_ms: i64,
    /// How long log files are kept, in milliseconds.
    pub log_ms: i64,
    /// Whether expired log files may be cleaned up.
    pub expired_log_cleanup: bool,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            deleted_file_ms: DEFAULT_DELETED_FILE_RETENTION_MS,
            log_ms: DEFAULT_LOG_RETENTION_MS,
            expired_log_cleanup: true,
        }
    }
}

impl Retention {
    /// The settings of a table's configuration (`metaData.configuration`); a property that is
    /// present but unreadable is an error naming it, never silently the default (acting on a
    /// guessed retention could delete files a reader still needs).
    pub fn from_configuration(
        configuration: &BTreeMap<String, String>,
    ) -> Result<Self, ProtocolError> {
        let interval = |key: &str, default: i64| match configuration.get(key) {
            None => Ok(default),
            Some(text) => {
                parse_interval_ms(text).ok_or_else(|| ProtocolError::InvalidTableProperty {
                    property: key.to_owned(),
                    value: text.clone(),
                    reason: "expected a duration such as `interval 7 days` (weeks, days, hours, \
                             minutes, seconds; not months)"
                        .to_owned(),
                })
            }
        };
        let expired_log_cleanup = match configuration.get(EXPIRED_LOG_CLEANUP_KEY) {
            None => true,
            Some(value) if value.eq_ignore_ascii_case("true") => true,
            Some(value) if value.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(ProtocolError::InvalidTableProperty {
                    property: EXPIRED_LOG_CLEANUP_KEY.to_owned(),
                    value: other.clone(),
                    reason: "expected true or false".to_owned(),
                });
            }
        };
        Ok(Self {
            deleted_file_ms: interval(
                DELETED_FILE_RETENTION_KEY,
                DEFAULT_DELETED_FILE_RETENTION_MS,
            )?,
            log_ms: interval(LOG_RETENTION_KEY, DEFAULT_LOG_RETENTION_MS)?,
            expired_log_cleanup,
        })
    }

    /// The time (milliseconds since the epoch) at or before which a removed file has expired
    /// at `now_ms`: `now_ms - deleted_file_ms`.
    pub fn deleted_file_cutoff(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.deleted_file_ms)
    }

    /// The time at or before which a log file has expired at `now_ms`.
    pub fn log_cutoff(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.log_ms)
    }
}

/// Whether a tombstone removed at `deletion_timestamp` (milliseconds since the epoch; `None`
/// counts as the epoch, as Delta-Spark treats it) has expired at `cutoff` (see
/// [`Retention::deleted_file_cutoff`]).
pub fn tombstone_expired(deletion_timestamp: Option<i64>, cutoff: i64) -> bool {
    deletion_timestamp.unwrap_or(0) <= cutoff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_spark_writes_them() {
        assert_eq!(parse_interval_ms("interval 1 week"), Some(7 * DAY_MS));
        assert_eq!(parse_interval_ms("interval 7 days"), Some(7 * DAY_MS));
        assert_eq!(parse_interval_ms("INTERVAL 2 Hours"), Some(2 * 3600 * 1000));
        assert_eq!(parse_interval_ms("30 days"), Some(30 * DAY_MS));
        assert_eq!(
            parse_interval_ms("interval 1 day 12 hours"),
            Some(DAY_MS + 12 * 3600 * 1000)
        );
        assert_eq!(parse_interval_ms("interval 1 microsecond"), Some(1));
        assert_eq!(parse_interval_ms("interval 1500 microseconds"), Some(2));
        assert_eq!(parse_interval_ms("interval 0 seconds"), Some(0));
        for bad in [
            "",
            "interval",
            "7",
            "1 month",
            "-1 days",
            "1 fortnight",
            "x days",
        ] {
            assert_eq!(parse_interval_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_interval_ms(&format!("{} weeks", i64::MAX)), None);
    }

    #[test]
    fn command_line_durations() {
        assert_eq!(parse_duration_ms("0h"), Ok(0));
        assert_eq!(parse_duration_ms("36h"), Ok(36 * 3600 * 1000));
        assert_eq!(parse_duration_ms("7d"), Ok(7 * DAY_MS));
        assert_eq!(parse_duration_ms(" 90D "), Ok(90 * DAY_MS));
        assert_eq!(parse_duration_ms("2w"), Ok(14 * DAY_MS));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        for bad in [
            "",
            "7",
            "d",
            "-1d",
            "1.5d",
            "7 days",
            "3y",
            "99999999999999999d",
        ] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retention_comes_from_the_configuration_or_the_defaults() {
        let config = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            Retention::from_configuration(&config(&[])).unwrap(),
            Retention::default()
        );
        let set = Retention::from_configuration(&config(&[
            (DELETED_FILE_RETENTION_KEY, "interval 1 day"),
            (LOG_RETENTION_KEY, "interval 2 days"),
            (EXPIRED_LOG_CLEANUP_KEY, "false"),
        ]))
        .unwrap();
        assert_eq!(
            (set.deleted_file_ms, set.log_ms, set.expired_log_cleanup),
            (DAY_MS, 2 * DAY_MS, false)
        );
        assert_eq!(set.deleted_file_cutoff(10 * DAY_MS), 9 * DAY_MS);
        for (key, value) in [
            (DELETED_FILE_RETENTION_KEY, "1 month"),
            (LOG_RETENTION_KEY, "soon"),
            (EXPIRED_LOG_CLEANUP_KEY, "yes"),
        ] {
            let err = Retention::from_configuration(&config(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn a_tombstone_expires_at_the_cutoff() {
        assert!(tombstone_expired(Some(100), 100));
        assert!(!tombstone_expired(Some(101), 100));
        assert!(tombstone_expired(None, 0));
    }
}
