//! Proleptic Gregorian dates and times as the protocol stores them: days and microseconds since
//! 1970-01-01, and their text forms.
//!
//! This module decides how day and microsecond counts map to calendar fields and how dates and
//! timestamps are read from and written as text. It is total over the whole `i32` day and `i64`
//! microsecond ranges (years far outside 0000-9999 included), so formatting never fails; it
//! never consults a time zone database — the only zones it knows are fixed UTC offsets.
//!
//! Years 0000-9999 are written with four digits; other years use the ISO 8601 expanded form
//! (`+10000-01-01`, `-0001-01-01`, astronomical numbering where year 0 is 1 BCE).

use std::fmt::{self, Write};

/// Microseconds in a second.
pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;

/// Days since 1970-01-01 of a valid calendar date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count from March so the leap day is the last day of the (shifted) year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

/// The calendar date `(year, month, day)` of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    // Both are small and non-negative by construction.
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A microsecond count split into its calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTimeParts {
    pub(crate) days: i64,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) micro: u32,
}

impl DateTimeParts {
    /// Splits microseconds since the epoch; times before the epoch count back from midnight.
    pub(crate) fn from_micros(micros: i64) -> Self {
        let days = micros.div_euclid(MICROS_PER_DAY);
        // In 0..MICROS_PER_DAY, so every field below fits a u32.
        let of_day = micros.rem_euclid(MICROS_PER_DAY);
        let seconds = of_day / MICROS_PER_SECOND;
        DateTimeParts {
            days,
            hour: (seconds / 3600) as u32,
            minute: (seconds / 60 % 60) as u32,
            second: (seconds % 60) as u32,
            micro: (of_day % MICROS_PER_SECOND) as u32,
        }
    }
}

/// How to write the fractional seconds of a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Always six digits: `.000000`.
    Micros,
    /// None when zero, otherwise the digits without trailing zeros: `.5`, `.123456`.
    Trimmed,
}

/// Writes a year: four digits in 0000-9999, otherwise signed.
fn write_year(out: &mut impl Write, year: i64) -> fmt::Result {
    if (0..=9999).contains(&year) {
        write!(out, "{year:04}")
    } else if year > 9999 {
        write!(out, "+{year}")
    } else {
        write!(out, "-{:04}", year.unsigned_abs())
    }
}

/// Writes `YYYY-MM-DD` for a day count since the epoch.
pub(crate) fn write_date(out: &mut impl Write, days: i64) -> fmt::Result {
    let (year, month, day) = civil_from_days(days);
    write_year(out, year)?;
    write!(out, "-{month:02}-{day:02}")
}

/// Writes `YYYY-MM-DD<sep>HH:MM:SS[.ffffff]` for microseconds since the epoch.
pub(crate) fn write_date_time(
    out: &mut impl Write,
    micros: i64,
    separator: char,
    fraction: Fraction,
) -> fmt::Result {
    let parts = DateTimeParts::from_micros(micros);
    write_date(out, parts.days)?;
    write!(
        out,
        "{separator}{:02}:{:02}:{:02}",
        parts.hour, parts.minute, parts.second
    )?;
    match fraction {
        Fraction::Micros => write!(out, ".{:06}", parts.micro),
        Fraction::Trimmed if parts.micro == 0 => Ok(()),
        Fraction::Trimmed => {
            let digits = format!("{:06}", parts.micro);
            write!(out, ".{}", digits.trim_end_matches('0'))
        }
    }
}

/// A timestamp read from text: its wall-clock microseconds and, if the text named one, its
/// offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedTimestamp {
    /// Microseconds since 1970-01-01T00:00:00 of the wall-clock time as written.
    pub(crate) local_micros: i64,
    /// Seconds east of UTC, when the text carried `Z`, `UTC`, `GMT` or `±HH[:MM[:SS]]`.
    pub(crate) offset_seconds: Option<i32>,
}

impl ParsedTimestamp {
    /// The instant in microseconds since the epoch, treating a missing offset as UTC.
    pub(crate) fn utc_micros(self) -> Option<i64> {
        let offset = i64::from(self.offset_seconds.unwrap_or(0)) * MICROS_PER_SECOND;
        self.local_micros.checked_sub(offset)
    }
}

/// Reads a date `[±]YYYY-M[M]-D[D]` (at least four year digits) into days since the epoch.
pub(crate) fn parse_date(text: &str) -> Result<i32, String> {
    let mut cursor = Cursor::new(text);
    let days = cursor.date()?;
    cursor.end()?;
    i32::try_from(days).map_err(|_| "date is outside the range of a date".to_owned())
}

/// Reads a timestamp: a date, optionally followed by `T` or a space and `H[H]:M[M][:S[S]]`
/// with up to nine fractional digits (beyond six they must be zero), optionally followed by a
/// zone: `Z`, `UTC`, `GMT` or an offset `±H[H][[:]MM[[:]SS]]`, with at most one space before it.
pub(crate) fn parse_timestamp(text: &str) -> Result<ParsedTimestamp, String> {
    let mut cursor = Cursor::new(text);
    let days = cursor.date()?;
    let mut time_micros = 0;
    let mut offset_seconds = None;
    if matches!(cursor.peek(), Some(b'T' | b't' | b' ')) {
        cursor.pos += 1;
        time_micros = cursor.time()?;
        offset_seconds = cursor.zone()?;
    }
    cursor.end()?;
    let out_of_range = || "timestamp is outside the range of microseconds since 1970".to_owned();
    // In i128: the day's start can lie below i64::MIN while the instant itself does not.
    let local_micros =
        i64::try_from(i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(time_micros))
            .map_err(|_| out_of_range())?;
    Ok(ParsedTimestamp {
        local_micros,
        offset_seconds,
    })
}

/// A byte cursor over ASCII date and time text.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            text: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(format!("expected '{}' {what}", char::from(byte)))
        }
    }

    fn end(&self) -> Result<(), String> {
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(format!(
                "unexpected text {:?}",
                String::from_utf8_lossy(&self.text[self.pos..])
            ))
        }
    }

    /// Reads between `min` and `max` ASCII digits as a number (`max` <= 9, so no overflow).
    fn digits(&mut self, min: usize, max: usize, what: &str) -> Result<(u32, usize), String> {
        let start = self.pos;
        let mut value: u32 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let count = self.pos - start;
        if count < min || self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(if min == max {
                format!("{what} must have {min} digits")
            } else {
                format!("{what} must have {min} to {max} digits")
            });
        }
        Ok((value, count))
    }

    /// `[±]YYYY-M[M]-D[D]`, returning days since the epoch.
    fn date(&mut self) -> Result<i64, String> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let (year, _) = self.digits(4, 9, "the year")?;
        let year = if negative {
            -i64::from(year)
        } else {
            i64::from(year)
        };
        self.expect(b'-', "after the year")?;
        let (month, _) = self.digits(1, 2, "the month")?;
        self.expect(b'-', "after the month")?;
        let (day, _) = self.digits(1, 2, "the day")?;
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is not between 1 and 12"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(format!("day {day} does not exist in {year}-{month:02}"));
        }
        Ok(days_from_civil(year, month, day))
    }

    /// `H[H]:M[M][:S[S][.fffffffff]]`, returning microseconds since midnight.
    fn time(&mut self) -> Result<i64, String> {
        let (hour, _) = self.digits(1, 2, "the hour")?;
        self.expect(b':', "after the hour")?;
        let (minute, _) = self.digits(1, 2, "the minute")?;
        let mut second = 0;
        let mut micro = 0;
        if self.eat(b':') {
            second = self.digits(1, 2, "the second")?.0;
            if self.eat(b'.') {
                let (fraction, count) = self.digits(1, 9, "the fraction of a second")?;
                // Scale to nanoseconds, then require whole microseconds.
                let nanos = fraction * 10u32.pow(9 - u32::try_from(count).unwrap_or(9));
                if !nanos.is_multiple_of(1000) {
                    return Err("timestamps have microsecond precision; found nanoseconds".into());
                }
                micro = nanos / 1000;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!(
                "time {hour:02}:{minute:02}:{second:02} does not exist"
            ));
        }
        let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Ok(seconds * MICROS_PER_SECOND + i64::from(micro))
    }

    /// A run of ASCII digits (possibly empty).
    fn run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// The digits of an offset after its sign: `H`, `HH`, `HHMM`, `HHMMSS`, `H[H]:MM` or
    /// `H[H]:MM:SS`, as `(hours, minutes, seconds)`.
    fn offset_fields(&mut self) -> Result<(u32, u32, u32), String> {
        let number = |digits: &[u8]| {
            digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
        };
        let first = self.run();
        if self.eat(b':') {
            let minutes = self.run();
            let seconds = if self.eat(b':') {
                Some(self.run())
            } else {
                None
            };
            let two = |d: &[u8]| d.len() == 2;
            if !(1..=2).contains(&first.len()) || !two(minutes) || seconds.is_some_and(|s| !two(s))
            {
                return Err("offset must look like +H[H]:MM[:SS]".into());
            }
            return Ok((number(first), number(minutes), seconds.map_or(0, number)));
        }
        match first.len() {
            1 | 2 => Ok((number(first), 0, 0)),
            4 => Ok((number(&first[..2]), number(&first[2..]), 0)),
            6 => Ok((
                number(&first[..2]),
                number(&first[2..4]),
                number(&first[4..]),
            )),
            _ => Err("offset must look like +HH, +HHMM or +HHMMSS".into()),
        }
    }

    /// An optional zone after the time, as seconds east of UTC.
    fn zone(&mut self) -> Result<Option<i32>, String> {
        let start = self.pos;
        self.eat(b' ');
        let rest = &self.text[self.pos..];
        if rest.is_empty() {
            self.pos = start;
            return Ok(None);
        }
        if self.eat(b'Z') || self.eat(b'z') {
            return Ok(Some(0));
        }
        if rest.starts_with(b"UTC") || rest.starts_with(b"GMT") {
            self.pos += 3;
            if self.peek().is_none() {
                return Ok(Some(0));
            }
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err("expected a zone: 'Z', 'UTC' or an offset like +01:00".into()),
        };
        self.pos += 1;
        let (hours, minutes, seconds) = self.offset_fields()?;
        if minutes > 59 || seconds > 59 {
            return Err("offset minutes and seconds must be below 60".into());
        }
        let total = hours * 3600 + minutes * 60 + seconds;
        if total > 18 * 3600 {
            return Err("offset out of range (at most ±18:00)".into());
        }
        // At most 64800, which fits an i32.
        Ok(Some(sign * total as i32))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date_text(days: i64) -> String {
        let mut s = String::new();
        write_date(&mut s, days).unwrap();
        s
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2026, 1, 7), 20_460);
        assert_eq!(date_text(20_460), "2026-01-07");
        assert_eq!(date_text(days_from_civil(1, 1, 1)), "0001-01-01");
        assert_eq!(date_text(days_from_civil(0, 2, 29)), "0000-02-29");
        assert_eq!(date_text(days_from_civil(-1, 12, 31)), "-0001-12-31");
        assert_eq!(date_text(days_from_civil(10_000, 1, 1)), "+10000-01-01");
        assert_eq!(date_text(days_from_civil(9999, 12, 31)), "9999-12-31");
    }

    #[test]
    fn date_text_round_trips_at_the_ends_of_i32() {
        for days in [i64::from(i32::MIN), i64::from(i32::MAX), 0, -719_528] {
            assert_eq!(parse_date(&date_text(days)), Ok(days as i32), "{days}");
        }
    }

    #[test]
    fn rejects_bad_dates() {
        for text in [
            "",
            "2021",
            "2021-01",
            "21-01-01",
            "2021-13-01",
            "2021-00-01",
            "2021-02-29",
            "2021-04-31",
            "2021-01-01 ",
            "2021-01-001",
            "2021/01/01",
            "1900-02-29",
        ] {
            assert!(parse_date(text).is_err(), "{text:?}");
        }
        assert!(parse_date("2000-02-29").is_ok());
        assert_eq!(parse_date("2021-1-2"), parse_date("2021-01-02"));
    }

    #[test]
    fn timestamp_forms() {
        let base = days_from_civil(2021, 1, 1) * MICROS_PER_DAY;
        let local = |micros, offset| ParsedTimestamp {
            local_micros: base + micros,
            offset_seconds: offset,
        };
        let cases = [
            ("2021-01-01", local(0, None)),
            ("2021-01-01 00:00:00", local(0, None)),
            ("2021-01-01 00:00", local(0, None)),
            ("2021-01-01T00:00:00", local(0, None)),
            ("2021-01-01 01:02:03.5", local(3_723_500_000, None)),
            ("2021-01-01 01:02:03.123456", local(3_723_123_456, None)),
            ("2021-01-01 01:02:03.123456000", local(3_723_123_456, None)),
            ("2021-01-01T00:00:00.000000Z", local(0, Some(0))),
            ("2021-01-01T00:00:00z", local(0, Some(0))),
            ("2021-01-01 00:00:00 UTC", local(0, Some(0))),
            ("2021-01-01T00:00:00+01:00", local(0, Some(3600))),
            ("2021-01-01T00:00:00-0530", local(0, Some(-19_800))),
            ("2021-01-01T00:00:00+05", local(0, Some(18_000))),
            ("2021-01-01 00:00:00 +00:00", local(0, Some(0))),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timestamp(text), Ok(expected), "{text}");
        }
        assert_eq!(
            parse_timestamp("2021-01-01T01:00:00+01:00")
                .unwrap()
                .utc_micros(),
            Some(base)
        );
    }

    #[test]
    fn rejects_bad_timestamps() {
        for text in [
            "2021-01-01T",
            "2021-01-01 24:00:00",
            "2021-01-01 00:60:00",
            "2021-01-01 00:00:60",
            "2021-01-01 00:00:00.",
            "2021-01-01 00:00:00.1234567",
            "2021-01-01 00:00:00.1234567891",
            "2021-01-01 00:00:00+19:00",
            "2021-01-01 00:00:00 PST",
            "2021-01-01 00:00:00Zjunk",
            "2021-01-01  00:00:00",
        ] {
            assert!(parse_timestamp(text).is_err(), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn days_round_trip(days in any::<i32>()) {
            let days = i64::from(days);
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
            prop_assert!(d >= 1 && d <= days_in_month(y, m));
        }

        #[test]
        fn date_time_text_round_trips(micros in any::<i64>()) {
            for fraction in [Fraction::Micros, Fraction::Trimmed] {
                let mut text = String::new();
                write_date_time(&mut text, micros, ' ', fraction).unwrap();
                let parsed = parse_timestamp(&text);
                prop_assert_eq!(parsed.map(|p| p.local_micros), Ok(micros), "{}", text);
            }
        }
    }
}
