//! Per-event-name counters of one record, packed into a single boxed `u32` slice.
//!
//! A record (user, account, organization) keeps, for each event name it has seen, the all-time
//! total, the time of the latest event, and a count per UTC day for the recent days the rolling
//! windows need. Entries are sorted by name id and laid out back to back:
//!
//! ```text
//! [name, n, total_lo, total_hi, last_lo, last_hi, bucket_1, ..., bucket_n]   (6 + n words)
//! bucket = day << 16 | count        (day: compact day number; count: 1..=65535)
//! ```
//!
//! Buckets are ascending by day. A day whose count passes 65535 continues in a second bucket
//! with the same day, so a bucket is 4 bytes for any volume. One allocation a record, with no
//! spare capacity and no per-name header beyond 24 bytes, is what keeps a user with two event
//! names on five days at 88 bytes here. Counting into an existing day is done in place; a new
//! name or a new day rebuilds the slice (at most once a day per record and name).

use super::day::{Window, window_of};
use super::names::EventNameId;
use crate::time::Millis;

/// Words before an entry's buckets: name, bucket count, total (2 words), last seen (2 words).
pub(crate) const HEAD: usize = 6;

#[derive(Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct Tallies(Box<[u32]>);

/// The counters of one event name, read from [`Tallies`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tally<'a> {
    pub(crate) name: EventNameId,
    pub(crate) total: u64,
    pub(crate) last_seen_at: Millis,
    buckets: &'a [u32],
}

impl Tally<'_> {
    /// The event counts in the last and the previous 30 days, as seen from `today`.
    pub(crate) fn windows(&self, today: i64) -> (u64, u64) {
        let (mut last, mut previous) = (0, 0);
        for b in self.buckets {
            match window_of(i64::from(bucket_day(*b)), today) {
                Window::Last30 => last += u64::from(bucket_count(*b)),
                Window::Previous30 => previous += u64::from(bucket_count(*b)),
                Window::Outside => {}
            }
        }
        (last, previous)
    }

    /// The days that still have a bucket, ascending (repeated for overflowed days).
    #[cfg(test)]
    pub(crate) fn bucket_days(&self) -> Vec<u16> {
        self.buckets.iter().map(|b| bucket_day(*b)).collect()
    }
}

pub(crate) fn bucket_day(bucket: u32) -> u16 {
    (bucket >> 16) as u16
}

pub(crate) fn bucket_count(bucket: u32) -> u16 {
    bucket as u16
}

pub(crate) fn bucket(day: u16, count: u16) -> u32 {
    (u32::from(day) << 16) | u32::from(count)
}

pub(crate) fn read_u64(lo: u32, hi: u32) -> u64 {
    u64::from(lo) | (u64::from(hi) << 32)
}

pub(crate) fn split_u64(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

impl Tallies {
    /// Counters already laid out as described in the module docs (the bulk replay builds them
    /// in `tally_merge.rs`).
    pub(crate) fn from_words(words: Box<[u32]>) -> Self {
        Self(words)
    }

    /// The packed words, for the bulk replay to merge more events into.
    pub(crate) fn words(&self) -> &[u32] {
        &self.0
    }

    /// Every name's counters, by ascending name id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Tally<'_>> + '_ {
        let words = &self.0;
        let mut pos = 0;
        std::iter::from_fn(move || {
            let head = words.get(pos..pos + HEAD)?;
            let n = head[1] as usize;
            let tally = Tally {
                name: EventNameId(head[0]),
                total: read_u64(head[2], head[3]),
                last_seen_at: Millis(read_u64(head[4], head[5]) as i64),
                buckets: &words[pos + HEAD..pos + HEAD + n],
            };
            pos += HEAD + n;
            Some(tally)
        })
    }

    /// Counts one event named `name` at `at`; `day` is the bucket to count it in, or `None`
    /// when the event is too old to matter to any window.
    pub(crate) fn add(&mut self, name: EventNameId, at: Millis, day: Option<u16>) {
        let mut pos = 0;
        while pos < self.0.len() {
            let id = self.0[pos];
            if id == name.0 {
                self.count_into(pos, at, day);
                return;
            }
            if id > name.0 {
                break;
            }
            pos += HEAD + self.0[pos + 1] as usize;
        }
        let [lo, hi] = split_u64(at.0 as u64);
        let mut entry = vec![name.0, 0, 1, 0, lo, hi];
        if let Some(day) = day {
            entry[1] = 1;
            entry.push(bucket(day, 1));
        }
        self.splice(pos, &entry);
    }

    /// Counts into the existing entry at `pos`.
    fn count_into(&mut self, pos: usize, at: Millis, day: Option<u16>) {
        let w = &mut self.0;
        let [lo, hi] = split_u64(read_u64(w[pos + 2], w[pos + 3]).saturating_add(1));
        (w[pos + 2], w[pos + 3]) = (lo, hi);
        if at.0 > read_u64(w[pos + 4], w[pos + 5]) as i64 {
            let [lo, hi] = split_u64(at.0 as u64);
            (w[pos + 4], w[pos + 5]) = (lo, hi);
        }
        let Some(day) = day else {
            return;
        };
        let n = w[pos + 1] as usize;
        let buckets = &mut w[pos + HEAD..pos + HEAD + n];
        // The last bucket of `day`, if any, sits just before the first bucket of a later day.
        let after = buckets.partition_point(|b| bucket_day(*b) <= day);
        if after > 0
            && bucket_day(buckets[after - 1]) == day
            && bucket_count(buckets[after - 1]) < u16::MAX
        {
            buckets[after - 1] += 1;
            return;
        }
        w[pos + 1] += 1;
        self.splice(pos + HEAD + after, &[bucket(day, 1)]);
    }

    /// Drops the buckets of days before `min_day`; totals and last-seen times stay.
    pub(crate) fn prune(&mut self, min_day: u16) {
        let stale = self
            .iter()
            .any(|t| t.buckets.first().is_some_and(|b| bucket_day(*b) < min_day));
        if !stale {
            return;
        }
        let mut out = Vec::with_capacity(self.0.len());
        let mut pos = 0;
        while pos < self.0.len() {
            let n = self.0[pos + 1] as usize;
            let head = out.len();
            out.extend_from_slice(&self.0[pos..pos + HEAD]);
            let kept = self.0[pos + HEAD..pos + HEAD + n]
                .iter()
                .filter(|b| bucket_day(**b) >= min_day);
            out.extend(kept);
            out[head + 1] = (out.len() - head - HEAD) as u32;
            pos += HEAD + n;
        }
        self.0 = out.into_boxed_slice();
    }

    /// Inserts `words` at `at`, reallocating to the exact new length.
    fn splice(&mut self, at: usize, words: &[u32]) {
        let mut out = Vec::with_capacity(self.0.len() + words.len());
        out.extend_from_slice(&self.0[..at]);
        out.extend_from_slice(words);
        out.extend_from_slice(&self.0[at..]);
        self.0 = out.into_boxed_slice();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::day::MS_PER_DAY;

    const N0: EventNameId = EventNameId(0);
    const N1: EventNameId = EventNameId(1);
    const N2: EventNameId = EventNameId(2);

    fn at(day: u16, ms: i64) -> Millis {
        Millis(i64::from(day) * MS_PER_DAY + ms)
    }

    fn summary(t: &Tallies) -> Vec<(u32, u64, i64, Vec<u16>)> {
        t.iter()
            .map(|t| (t.name.0, t.total, t.last_seen_at.0, t.bucket_days()))
            .collect()
    }

    #[test]
    fn names_stay_sorted_and_days_ascending() {
        let mut t = Tallies::default();
        t.add(N2, at(10, 5), Some(10));
        t.add(N0, at(12, 0), Some(12));
        t.add(N1, at(11, 0), Some(11));
        t.add(N0, at(9, 0), Some(9));
        t.add(N0, at(12, 7), Some(12));
        t.add(N0, at(11, 0), Some(11));
        assert_eq!(
            summary(&t),
            vec![
                (0, 4, at(12, 7).0, vec![9, 11, 12]),
                (1, 1, at(11, 0).0, vec![11]),
                (2, 1, at(10, 5).0, vec![10]),
            ]
        );
        assert_eq!(t.heap_bytes(), 4 * (3 * HEAD + 5));
    }

    #[test]
    fn last_seen_never_goes_backwards() {
        let mut t = Tallies::default();
        t.add(N0, at(20, 0), Some(20));
        t.add(N0, at(19, 0), Some(19));
        assert_eq!(t.iter().next().unwrap().last_seen_at, at(20, 0));
    }

    #[test]
    fn events_without_a_bucket_count_in_totals_only() {
        let mut t = Tallies::default();
        t.add(N0, at(1, 0), None);
        t.add(N0, at(2, 0), None);
        let tally = t.iter().next().unwrap();
        assert_eq!(tally.total, 2);
        assert!(tally.bucket_days().is_empty());
        assert_eq!(tally.windows(2), (0, 0));
    }

    #[test]
    fn windows_sum_buckets_by_day() {
        let mut t = Tallies::default();
        for day in [100, 100, 71, 70, 41, 40, 101] {
            t.add(N0, at(day, 0), Some(day));
        }
        // today = 100: last 30 = days 71..=100, previous = 41..=70, 101 is in the future.
        assert_eq!(t.iter().next().unwrap().windows(100), (3, 2));
    }

    #[test]
    fn a_day_past_65535_events_continues_in_a_second_bucket() {
        let mut t = Tallies::default();
        for _ in 0..u32::from(u16::MAX) + 2 {
            t.add(N0, at(7, 0), Some(7));
        }
        t.add(N0, at(8, 0), Some(8));
        t.add(N0, at(6, 0), Some(6));
        let tally = t.iter().next().unwrap();
        assert_eq!(tally.bucket_days(), vec![6, 7, 7, 8]);
        assert_eq!(tally.total, 65_539);
        assert_eq!(tally.windows(8), (65_539, 0));
    }

    #[test]
    fn pruning_drops_old_buckets_and_keeps_totals() {
        let mut t = Tallies::default();
        for day in [1, 2, 3, 50] {
            t.add(N0, at(day, 0), Some(day));
            t.add(N1, at(day, 0), Some(day));
        }
        t.add(N2, at(1, 0), Some(1));
        t.prune(3);
        assert_eq!(
            summary(&t),
            vec![
                (0, 4, at(50, 0).0, vec![3, 50]),
                (1, 4, at(50, 0).0, vec![3, 50]),
                (2, 1, at(1, 0).0, vec![]),
            ]
        );
        let before = t.heap_bytes();
        t.prune(3);
        assert_eq!(t.heap_bytes(), before);
        t.add(N2, at(60, 0), Some(60));
        assert_eq!(summary(&t)[2], (2, 2, at(60, 0).0, vec![60]));
    }

    #[test]
    fn negative_times_round_trip() {
        let mut t = Tallies::default();
        t.add(N0, Millis(-5), None);
        t.add(N0, Millis(-9), None);
        assert_eq!(t.iter().next().unwrap().last_seen_at, Millis(-5));
    }
}
