//! A record's usage while the bulk replay runs (`replay.rs`): unpacked and growable, so an
//! event costs an append instead of a rebuild of the record's packed slices.
//!
//! Events are appended as [`Mark`]s and merged into the counters (`tally_merge.rs`) once
//! enough have gathered: a merge costs about the size of the record's counters, so waiting
//! for half as many marks as the counters have words keeps each event's share of it at two
//! words, while capping the marks a record holds at about 1.5 times its counters' bytes
//! (old days are pruned at every merge, so a long history does not pile up). At the end the
//! counters and days are packed into the same structures `Metrics::record` builds.

use super::day::{KEEP_DAYS, clamped_day, day_index};
use super::day_set::DaySet;
use super::mark::Mark;
use super::partition::{Pending, Scratch};
use super::tallies::Tallies;
use super::tally_merge::merge;
use super::usage::{Usage, UserUsage};
use crate::time::Millis;

/// Marks a record gathers before its first merge, whatever the size of its counters: most
/// users never need one before the end.
const MIN_MARKS: usize = 48;
/// A merge waits for one mark per this many words of counters.
const WORDS_PER_MARK: usize = 2;

/// The pending state of an account, an organization or (inside [`PendingUser`]) a user.
#[derive(Debug)]
pub(crate) struct PendingUsage {
    first: Millis,
    last: Millis,
    /// The counters merged so far, in the `Tallies` layout.
    words: Vec<u32>,
    /// Events not merged yet.
    marks: Vec<Mark>,
}

impl PendingUsage {
    #[inline]
    fn touch(&mut self, at: Millis) {
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }

    #[inline]
    fn push(&mut self, mark: Mark) {
        if self.marks.capacity() == 0 {
            // One allocation for the marks of a first merge, instead of doubling up to it.
            self.marks.reserve_exact(MIN_MARKS);
        }
        self.marks.push(mark);
    }

    fn is_full(&self) -> bool {
        self.marks.len() >= MIN_MARKS.max(self.words.len() / WORDS_PER_MARK)
    }

    /// Buckets are kept for days after this one (see `Usage::record`); it only moves forward.
    fn horizon(&self) -> i64 {
        day_index(self.last) - KEEP_DAYS
    }

    /// Merges the pending marks into `scratch`, pruning days at or before the horizon.
    fn merge_into(&mut self, scratch: &mut Vec<u32>) {
        Mark::sort(&mut self.marks);
        scratch.clear();
        merge(&self.words, &self.marks, self.horizon(), scratch);
        self.marks.clear();
    }

    fn merge_marks(&mut self, scratch: &mut Scratch) {
        self.merge_into(&mut scratch.words);
        self.words.clear();
        self.words.extend_from_slice(&scratch.words);
    }
}

impl Pending for PendingUsage {
    type Packed = Usage;

    fn new(at: Millis) -> Self {
        Self {
            first: at,
            last: at,
            words: Vec::new(),
            marks: Vec::new(),
        }
    }

    fn unpack(usage: Usage) -> Self {
        Self {
            first: usage.first,
            last: usage.last,
            words: usage.tallies.words().to_vec(),
            marks: Vec::new(),
        }
    }

    /// `Usage::record`, deferred: an activity moves first/last only.
    #[inline]
    fn record(&mut self, mark: Mark, scratch: &mut Scratch) {
        self.touch(mark.at());
        if mark.name().is_some() {
            self.push(mark);
            if self.is_full() {
                self.merge_marks(scratch);
            }
        }
    }

    /// The packed usage, as `Metrics::record` would have left it.
    fn finish(mut self, scratch: &mut Scratch) -> Usage {
        self.merge_into(&mut scratch.words);
        Usage {
            first: self.first,
            last: self.last,
            tallies: Tallies::from_words(scratch.words.as_slice().into()),
        }
    }
}

/// A user's pending usage and active days. Its marks include activities (pages, screens),
/// which count as sessions.
#[derive(Debug)]
pub(crate) struct PendingUser {
    usage: PendingUsage,
    /// Active days merged so far, ascending and distinct.
    days: Vec<u16>,
}

impl PendingUser {
    /// Adds the days of the pending marks to `days`.
    fn merge_days(&mut self, scratch: &mut Scratch) {
        let fresh = &mut scratch.days;
        fresh.clear();
        fresh.extend(self.usage.marks.iter().map(|m| clamped_day(m.at())));
        fresh.sort_unstable();
        fresh.dedup();
        if self.days.last() < fresh.first() {
            // Days arrive roughly in time order when the log is: the common case appends.
            self.days.extend_from_slice(fresh);
        } else {
            union(&self.days, fresh, &mut scratch.merged_days);
            self.days.clear();
            self.days.extend_from_slice(&scratch.merged_days);
        }
    }
}

impl Pending for PendingUser {
    type Packed = UserUsage;

    fn new(at: Millis) -> Self {
        Self {
            usage: PendingUsage::new(at),
            days: Vec::new(),
        }
    }

    fn unpack(user: UserUsage) -> Self {
        Self {
            days: user.days.iter().collect(),
            usage: PendingUsage::unpack(user.usage),
        }
    }

    /// `UserUsage::record`, deferred.
    #[inline]
    fn record(&mut self, mark: Mark, scratch: &mut Scratch) {
        self.usage.touch(mark.at());
        self.usage.push(mark);
        if self.usage.is_full() {
            self.merge_days(scratch);
            self.usage.merge_marks(scratch);
        }
    }

    fn finish(mut self, scratch: &mut Scratch) -> UserUsage {
        self.merge_days(scratch);
        UserUsage {
            days: DaySet::from_sorted(&self.days),
            usage: self.usage.finish(scratch),
        }
    }
}

/// The union of two ascending lists of distinct days, into `out`.
fn union(a: &[u16], b: &[u16], out: &mut Vec<u16>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn union_merges_and_drops_duplicates() {
        let union = |a: &[u16], b: &[u16]| {
            let mut out = vec![99];
            super::union(a, b, &mut out);
            out
        };
        assert_eq!(union(&[1, 4, 9], &[2, 4, 10]), vec![1, 2, 4, 9, 10]);
        assert_eq!(union(&[], &[3]), vec![3]);
        assert_eq!(union(&[3], &[]), vec![3]);
        assert_eq!(union(&[1, 2], &[5, 6]), vec![1, 2, 5, 6]);
        assert_eq!(union(&[5, 6], &[1, 2]), vec![1, 2, 5, 6]);
    }
}
