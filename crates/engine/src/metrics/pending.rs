//! A record's usage while the bulk replay runs (`replay.rs`): unpacked and growable, so an
//! event costs an append instead of a rebuild of the record's packed slices.
//!
//! Events are appended as [`Mark`]s and merged into the counters (`tally_merge.rs`) once
//! enough have gathered: a merge costs about the size of the record's counters, so waiting
//! for a quarter as many marks as the counters have words keeps each event's share of it
//! small, while capping the marks a record holds at about three times its counters' bytes
//! (old days are pruned at every merge, so a long history does not pile up). At the end the
//! counters and days are packed into the same structures `Metrics::record` builds.

use super::day::{KEEP_DAYS, clamped_day, day_index};
use super::day_set::DaySet;
use super::mark::Mark;
use super::names::EventNameId;
use super::tallies::Tallies;
use super::tally_merge::merge;
use super::usage::{Usage, UserUsage};
use crate::time::Millis;

/// Marks a record gathers before its first merge, whatever the size of its counters.
const MIN_MARKS: usize = 16;
/// A merge waits for one mark per this many words of counters.
const WORDS_PER_MARK: usize = 4;

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
    /// A record whose first replayed event is at `at` (recorded by the caller next).
    pub(crate) fn new(at: Millis) -> Self {
        Self {
            first: at,
            last: at,
            words: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// A record that had usage before the replay.
    pub(crate) fn from_usage(usage: Usage) -> Self {
        Self {
            first: usage.first,
            last: usage.last,
            words: usage.tallies.words().to_vec(),
            marks: Vec::new(),
        }
    }

    /// `Usage::record`, deferred.
    #[inline]
    pub(crate) fn record(&mut self, at: Millis, name: Option<EventNameId>) {
        self.touch(at);
        if name.is_some() {
            self.marks.push(Mark::new(at, name));
            if self.is_full() {
                self.merge_marks();
            }
        }
    }

    #[inline]
    fn touch(&mut self, at: Millis) {
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }

    fn is_full(&self) -> bool {
        self.marks.len() >= MIN_MARKS.max(self.words.len() / WORDS_PER_MARK)
    }

    /// Buckets are kept for days after this one (see `Usage::record`); it only moves forward.
    fn horizon(&self) -> i64 {
        day_index(self.last) - KEEP_DAYS
    }

    /// Merges the pending marks into the counters, pruning days at or before the horizon.
    fn merge_marks(&mut self) {
        Mark::sort(&mut self.marks);
        let mut out = Vec::with_capacity(self.words.len() + self.marks.len());
        merge(&self.words, &self.marks, self.horizon(), &mut out);
        self.words = out;
        self.marks.clear();
    }

    /// The packed usage, as `Metrics::record` would have left it.
    pub(crate) fn finish(mut self) -> Usage {
        self.merge_marks();
        Usage {
            first: self.first,
            last: self.last,
            tallies: Tallies::from_words(self.words.into_boxed_slice()),
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
    pub(crate) fn new(at: Millis) -> Self {
        Self {
            usage: PendingUsage::new(at),
            days: Vec::new(),
        }
    }

    pub(crate) fn from_user(user: UserUsage) -> Self {
        Self {
            days: user.days.iter().collect(),
            usage: PendingUsage::from_usage(user.usage),
        }
    }

    /// `UserUsage::record`, deferred.
    #[inline]
    pub(crate) fn record(&mut self, at: Millis, name: Option<EventNameId>) {
        self.usage.touch(at);
        self.usage.marks.push(Mark::new(at, name));
        if self.usage.is_full() {
            self.merge_marks();
        }
    }

    fn merge_marks(&mut self) {
        let mut fresh: Vec<u16> = self
            .usage
            .marks
            .iter()
            .map(|m| clamped_day(m.at()))
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        self.days = union(&self.days, &fresh);
        self.usage.merge_marks();
    }

    pub(crate) fn finish(mut self) -> UserUsage {
        self.merge_marks();
        UserUsage {
            days: DaySet::from_sorted(&self.days),
            usage: self.usage.finish(),
        }
    }
}

/// The union of two ascending lists of distinct days.
fn union(a: &[u16], b: &[u16]) -> Vec<u16> {
    if a.last() < b.first() {
        // Days arrive roughly in time order when the log is: the common case appends.
        return [a, b].concat();
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_and_drops_duplicates() {
        assert_eq!(union(&[1, 4, 9], &[2, 4, 10]), vec![1, 2, 4, 9, 10]);
        assert_eq!(union(&[], &[3]), vec![3]);
        assert_eq!(union(&[3], &[]), vec![3]);
        assert_eq!(union(&[1, 2], &[5, 6]), vec![1, 2, 5, 6]);
        assert_eq!(union(&[5, 6], &[1, 2]), vec![1, 2, 5, 6]);
    }
}
