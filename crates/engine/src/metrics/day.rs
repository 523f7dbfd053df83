//! UTC day numbers and the two rolling windows.
//!
//! The windows are the instant formulas applied to UTC day numbers
//! (`day(t) = floor(t / 86_400_000)`), because counts are kept per day, not per event:
//!
//! - last 30 days: `day(now) - 30 < day(at) <= day(now)`;
//! - previous 30 days: `day(now) - 60 < day(at) <= day(now) - 30`;
//! - events on a UTC day after `day(now)` are in neither window (they still count in totals).
//!
//! Equivalently, the instant windows `(E - 30d, E]` and `(E - 60d, E - 30d]` where `E` is the
//! last millisecond of `now`'s UTC day: the window edges are UTC midnights, and an event later
//! on `now`'s own day counts as "last 30 days".

use crate::time::Millis;

pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Length of each window in days.
pub(crate) const WINDOW_DAYS: i64 = 30;

/// Day buckets are kept for the days `latest - KEEP_DAYS < day <= latest`, where `latest` is
/// the day of the record's latest event: the 60 days both windows need plus 7 days of slack, so
/// windows stay exact for any read whose `now` is at most 7 days before the record's latest
/// event (see [`EXACT_READ_SLACK_DAYS`]).
pub(crate) const KEEP_DAYS: i64 = 2 * WINDOW_DAYS + EXACT_READ_SLACK_DAYS;

/// Windows are exact for reads with `day(now) >= latest - EXACT_READ_SLACK_DAYS`.
pub(crate) const EXACT_READ_SLACK_DAYS: i64 = 7;

/// The largest day a compact (`u16`) day number can hold: 2149-06-05. `u16::MAX` is reserved.
pub(crate) const MAX_DAY: u16 = u16::MAX - 1;

/// The UTC day number of an instant (days since 1970-01-01; negative before it).
pub(crate) fn day_index(at: Millis) -> i64 {
    at.0.div_euclid(MS_PER_DAY)
}

/// The compact day number of an instant, if it lies within 1970-01-01..=2149-06-05.
pub(crate) fn compact_day(at: Millis) -> Option<u16> {
    u16::try_from(day_index(at)).ok().filter(|d| *d <= MAX_DAY)
}

/// The compact day number of an instant, clamped into the representable range (used for
/// sessions, where an instant outside 1970..2149 still has to land on some day).
pub(crate) fn clamped_day(at: Millis) -> u16 {
    day_index(at).clamp(0, i64::from(MAX_DAY)) as u16
}

/// Which rolling window a day falls in, as seen from `today = day(now)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Window {
    Last30,
    Previous30,
    /// Older than both windows, or after `today`.
    Outside,
}

pub(crate) fn window_of(day: i64, today: i64) -> Window {
    let age = today - day;
    if age < 0 {
        Window::Outside
    } else if age < WINDOW_DAYS {
        Window::Last30
    } else if age < 2 * WINDOW_DAYS {
        Window::Previous30
    } else {
        Window::Outside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_index_floors_negative_instants() {
        assert_eq!(day_index(Millis(0)), 0);
        assert_eq!(day_index(Millis(MS_PER_DAY - 1)), 0);
        assert_eq!(day_index(Millis(MS_PER_DAY)), 1);
        assert_eq!(day_index(Millis(-1)), -1);
    }

    #[test]
    fn compact_days_cover_1970_to_2149() {
        assert_eq!(compact_day(Millis(-1)), None);
        assert_eq!(compact_day(Millis(0)), Some(0));
        let last = Millis(i64::from(MAX_DAY) * MS_PER_DAY);
        assert_eq!(compact_day(last), Some(MAX_DAY));
        assert_eq!(compact_day(Millis(last.0 + MS_PER_DAY)), None);
        assert_eq!(clamped_day(Millis(-5 * MS_PER_DAY)), 0);
        assert_eq!(clamped_day(Millis(i64::MAX)), MAX_DAY);
    }

    #[test]
    fn windows_are_30_days_each_ending_today() {
        let today = 1000;
        assert_eq!(window_of(today + 1, today), Window::Outside);
        assert_eq!(window_of(today, today), Window::Last30);
        assert_eq!(window_of(today - 29, today), Window::Last30);
        assert_eq!(window_of(today - 30, today), Window::Previous30);
        assert_eq!(window_of(today - 59, today), Window::Previous30);
        assert_eq!(window_of(today - 60, today), Window::Outside);
    }
}
