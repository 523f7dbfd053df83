//! The usage state of one record: first and last activity, event counters, and for users the
//! set of active days. Applies the bucket-retention rule on every write.

use super::day::{KEEP_DAYS, clamped_day, compact_day, day_index};
use super::day_set::DaySet;
use super::names::EventNameId;
use super::tallies::Tallies;
use crate::time::Millis;

/// First/last activity and per-name counters of an account, an organization (events sent to
/// it directly) or a user.
#[derive(Debug)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct Usage {
    pub(crate) first: Millis,
    pub(crate) last: Millis,
    pub(crate) tallies: Tallies,
}

impl Usage {
    /// The state after a first event.
    pub(crate) fn new(at: Millis, name: Option<EventNameId>) -> Self {
        let mut usage = Self {
            first: at,
            last: at,
            tallies: Tallies::default(),
        };
        usage.record(at, name);
        usage
    }

    /// Records activity at `at`, counted under `name` for a product event. Day buckets are
    /// kept only for `latest - KEEP_DAYS < day <= latest` (`latest` = the day of the latest
    /// event): older ones are dropped when `latest` moves, and older events get no bucket.
    pub(crate) fn record(&mut self, at: Millis, name: Option<EventNameId>) {
        let old_latest = day_index(self.last);
        self.first = self.first.min(at);
        self.last = self.last.max(at);
        let horizon = day_index(self.last) - KEEP_DAYS;
        if day_index(self.last) > old_latest && horizon >= 0 {
            let min_day = u16::try_from(horizon + 1).unwrap_or(u16::MAX);
            self.tallies.prune(min_day);
        }
        if let Some(name) = name {
            let day = compact_day(at).filter(|d| i64::from(*d) > horizon);
            self.tallies.add(name, at, day);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.tallies.heap_bytes()
    }
}

/// A user's usage plus the days they were active on (sessions).
#[derive(Debug)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct UserUsage {
    pub(crate) usage: Usage,
    pub(crate) days: DaySet,
}

impl UserUsage {
    pub(crate) fn new(at: Millis, name: Option<EventNameId>) -> Self {
        let mut days = DaySet::default();
        days.insert(clamped_day(at));
        Self {
            usage: Usage::new(at, name),
            days,
        }
    }

    pub(crate) fn record(&mut self, at: Millis, name: Option<EventNameId>) {
        self.usage.record(at, name);
        self.days.insert(clamped_day(at));
    }

    /// Whether the user was active on any day of the last-30-days window ending on `today`.
    pub(crate) fn active_in_last_30(&self, today: i64) -> bool {
        let lo = today - 29;
        let last = day_index(self.usage.last);
        if last <= today {
            // Nothing after `today`: the latest active day decides.
            return last >= lo;
        }
        let clamp = |d: i64| d.clamp(0, i64::from(u16::MAX)) as u16;
        lo <= i64::from(u16::MAX) && today >= 0 && self.days.any_in(clamp(lo), clamp(today))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.usage.heap_bytes() + self.days.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::day::MS_PER_DAY;

    fn day(d: i64) -> Millis {
        Millis(d * MS_PER_DAY)
    }

    const N: Option<EventNameId> = Some(EventNameId(0));

    fn bucket_days(u: &Usage) -> Vec<u16> {
        u.tallies.iter().next().unwrap().bucket_days()
    }

    #[test]
    fn first_moves_earlier_and_last_never_backwards() {
        let mut u = Usage::new(day(100), N);
        u.record(day(90), N);
        u.record(day(95), None);
        assert_eq!((u.first, u.last), (day(90), day(100)));
        u.record(day(101), None);
        assert_eq!(u.last, day(101));
    }

    #[test]
    fn buckets_are_pruned_when_the_latest_day_moves() {
        let mut u = Usage::new(day(1000), N);
        u.record(day(1000 - KEEP_DAYS + 1), N);
        assert_eq!(bucket_days(&u), vec![1000 - KEEP_DAYS as u16 + 1, 1000]);
        // An event as old as the horizon gets no bucket, but counts.
        u.record(day(1000 - KEEP_DAYS), N);
        assert_eq!(bucket_days(&u).len(), 2);
        // Moving the latest day by one drops the oldest bucket, even through an activity.
        u.record(day(1001), None);
        assert_eq!(bucket_days(&u), vec![1000]);
        let tally = u.tallies.iter().next().unwrap();
        assert_eq!(tally.total, 3);
        assert_eq!(tally.last_seen_at, day(1000));
    }

    #[test]
    fn active_in_last_30_uses_days_when_reading_before_the_latest_event() {
        let mut u = UserUsage::new(day(100), None);
        assert!(u.active_in_last_30(100));
        assert!(u.active_in_last_30(129));
        assert!(!u.active_in_last_30(130));
        assert!(!u.active_in_last_30(99));
        u.record(day(50), None);
        // Reading at day 60: the day-100 activity is in the future, day 50 is within 30 days.
        assert!(u.active_in_last_30(60));
        assert!(!u.active_in_last_30(80));
        assert!(!u.active_in_last_30(-5));
    }
}
