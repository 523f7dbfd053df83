//! Date parsing and calendar arithmetic in the evaluation time zone.
//!
//! Everything here is total: overflow or an unparseable string gives `None`,
//! which evaluation turns into null.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// A date string parsed once, resolved to an instant per evaluation because
/// strings without an offset mean local time in the evaluation zone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DateText {
    /// Has an offset or `Z`: an exact instant.
    Instant(Timestamp),
    /// `2024-01-05` or `2024-01-05T09:30`: local time in the evaluation zone
    /// (a bare date is the start of that day).
    Civil(DateTime),
}

impl DateText {
    /// Accepts RFC 3339 / ISO 8601 timestamps with an offset, local date-times
    /// and bare dates.
    pub(crate) fn parse(text: &str) -> Option<DateText> {
        let text = text.trim();
        if let Ok(instant) = text.parse::<Timestamp>() {
            return Some(DateText::Instant(instant));
        }
        // jiff reads a bare date (`2024-01-31`) as that day's midnight.
        text.parse::<DateTime>().ok().map(DateText::Civil)
    }

    pub(crate) fn resolve(&self, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            DateText::Instant(instant) => Some(*instant),
            DateText::Civil(datetime) => datetime.to_zoned(tz.clone()).ok().map(|z| z.timestamp()),
        }
    }
}

/// An ISO-8601 instant, or a local date or date-time (no offset) read in `tz`.
pub fn parse_date(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    DateText::parse(text)?.resolve(tz)
}

/// The calendar day of `instant` in `tz`.
pub(crate) fn civil_day(instant: Timestamp, tz: &TimeZone) -> Date {
    instant.to_zoned(tz.clone()).date()
}

/// `instant` plus `days` calendar days in `tz` (keeps the wall-clock time
/// across daylight-saving changes).
pub(crate) fn add_days(instant: Timestamp, days: i64, tz: &TimeZone) -> Option<Timestamp> {
    let span = Span::new().try_days(days).ok()?;
    instant
        .to_zoned(tz.clone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

/// Days from `from` to `to`, counted in calendar days.
pub(crate) fn days_between(from: Date, to: Date) -> i64 {
    i64::from((to - from).get_days())
}

/// The first instant of the day after `instant`'s day in `tz`.
pub(crate) fn next_midnight(instant: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let tomorrow = civil_day(instant, tz).tomorrow().ok()?;
    tomorrow.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// A day count that must be a whole number, as `i64`.
pub(crate) fn whole_days(n: f64) -> Option<i64> {
    // Beyond ±10^7 days every date overflows anyway.
    (n.fract() == 0.0 && n.abs() <= 1e7).then_some(n as i64)
}
