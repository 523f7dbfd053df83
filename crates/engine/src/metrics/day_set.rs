//! The set of UTC days on which a user was active: its size is the user's session count.
//!
//! Sessions must stay exact forever (a late event on an old day adds a session only if that
//! day had none), so every active day is kept. One boxed `u16` slice holds the set in
//! whichever of two encodings is shorter:
//!
//! - **sparse**: the days ascending, 2 bytes a day. Best for occasional users (5 days: 10 bytes);
//! - **dense**: `[DENSE, first, bits...]`, one bit a day from the first active day to the last.
//!   Best for regular users (a year of daily use: 50 bytes instead of 730).
//!
//! A sorted list alone costs 2 bytes a day without bound; a bitset alone costs 1 bit per day of
//! span even for a user seen twice, a year apart. Taking the shorter bounds a user at
//! `min(2 * days, span / 8) + 4` bytes. Days are compact day numbers (`<= MAX_DAY`), so a sparse
//! set never starts with the `DENSE` marker. Inserting a new day rebuilds the slice; that
//! happens at most once a day per user.

use super::day::MAX_DAY;

const DENSE: u16 = u16::MAX;

#[derive(Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub(crate) struct DaySet(Box<[u16]>);

impl DaySet {
    /// The set of `days`, which must be ascending and distinct (the bulk replay's way in:
    /// one encoding instead of one per inserted day).
    pub(crate) fn from_sorted(days: &[u16]) -> Self {
        debug_assert!(days.windows(2).all(|w| w[0] < w[1]));
        Self(encode(days))
    }

    fn is_dense(&self) -> bool {
        self.0.first() == Some(&DENSE)
    }

    /// Number of days in the set.
    pub(crate) fn len(&self) -> u32 {
        if self.is_dense() {
            self.0[2..].iter().map(|w| w.count_ones()).sum()
        } else {
            self.0.len() as u32
        }
    }

    pub(crate) fn contains(&self, day: u16) -> bool {
        if self.is_dense() {
            let first = self.0[1];
            let Some(offset) = day.checked_sub(first) else {
                return false;
            };
            let word = 2 + usize::from(offset / 16);
            self.0
                .get(word)
                .is_some_and(|w| w & (1 << (offset % 16)) != 0)
        } else {
            self.0.binary_search(&day).is_ok()
        }
    }

    /// The days, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let (first, words, sparse) = if self.is_dense() {
            (self.0[1], &self.0[2..], &self.0[..0])
        } else {
            (0, &self.0[..0], &self.0[..])
        };
        let dense = words.iter().enumerate().flat_map(move |(i, w)| {
            (0..16u16)
                .filter(move |bit| w & (1 << bit) != 0)
                .map(move |bit| first + (i as u16) * 16 + bit)
        });
        sparse.iter().copied().chain(dense)
    }

    /// Whether any day `d` with `lo <= d <= hi` is in the set.
    pub(crate) fn any_in(&self, lo: u16, hi: u16) -> bool {
        if lo > hi {
            return false;
        }
        if self.is_dense() {
            // Only the days the bitset covers can be in it.
            let first = self.0[1];
            let end =
                (usize::from(first) + 16 * (self.0.len() - 2) - 1).min(usize::from(MAX_DAY)) as u16;
            (lo.max(first)..=hi.min(end)).any(|d| self.contains(d))
        } else {
            let start = self.0.partition_point(|d| *d < lo);
            self.0.get(start).is_some_and(|d| *d <= hi)
        }
    }

    /// Adds a day; returns whether it was new.
    pub(crate) fn insert(&mut self, day: u16) -> bool {
        debug_assert!(day <= MAX_DAY);
        if self.contains(day) {
            return false;
        }
        let mut days: Vec<u16> = self.iter().collect();
        let at = days.partition_point(|d| *d < day);
        days.insert(at, day);
        *self = Self::from_sorted(&days);
        true
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<u16>()
    }
}

/// The shorter encoding of ascending, distinct days.
fn encode(days: &[u16]) -> Box<[u16]> {
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Box::default();
    };
    let span = usize::from(last - first) + 1;
    let dense_len = 2 + span.div_ceil(16);
    if dense_len >= days.len() {
        return days.into();
    }
    let mut out = vec![0u16; dense_len];
    out[0] = DENSE;
    out[1] = first;
    for d in days {
        let offset = usize::from(d - first);
        out[2 + offset / 16] |= 1 << (offset % 16);
    }
    out.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(days: &[u16]) -> DaySet {
        let mut s = DaySet::default();
        for d in days {
            s.insert(*d);
        }
        s
    }

    #[test]
    fn insert_reports_new_days_once() {
        let mut s = DaySet::default();
        assert!(s.insert(10));
        assert!(!s.insert(10));
        assert!(s.insert(3));
        assert!(!s.insert(3));
        assert_eq!(s.len(), 2);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 10]);
    }

    #[test]
    fn occasional_users_stay_sparse() {
        let s = set(&[100, 400, 900]);
        assert!(!s.is_dense());
        assert_eq!(s.heap_bytes(), 6);
    }

    #[test]
    fn daily_users_switch_to_a_bitset() {
        let days: Vec<u16> = (20_000..20_365).collect();
        let s = set(&days);
        assert!(s.is_dense());
        assert_eq!(s.len(), 365);
        assert_eq!(s.iter().collect::<Vec<_>>(), days);
        assert_eq!(s.heap_bytes(), 2 * (2 + 365_usize.div_ceil(16)));
        assert!(s.contains(20_000) && s.contains(20_364));
        assert!(!s.contains(19_999) && !s.contains(20_365));
    }

    #[test]
    fn dense_sets_take_days_before_their_first_day() {
        let mut s = set(&(1000..1100).collect::<Vec<_>>());
        assert!(s.is_dense());
        assert!(s.insert(990));
        assert!(!s.insert(990));
        assert_eq!(s.len(), 101);
        assert_eq!(s.iter().next(), Some(990));
        assert!(s.contains(990) && !s.contains(991));
    }

    #[test]
    fn any_in_checks_inclusive_ranges() {
        for s in [
            set(&[5, 50]),
            set(&(40..100).chain([5]).collect::<Vec<_>>()),
        ] {
            assert!(s.any_in(5, 5));
            assert!(s.any_in(0, 5));
            assert!(!s.any_in(6, 39));
            assert!(s.any_in(6, 50));
            assert!(!s.any_in(7, 6));
        }
    }

    #[test]
    fn extreme_days_round_trip() {
        let s = set(&[0, MAX_DAY]);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, MAX_DAY]);
        let dense = set(&(MAX_DAY - 40..=MAX_DAY).collect::<Vec<_>>());
        assert!(dense.is_dense());
        assert_eq!(dense.iter().last(), Some(MAX_DAY));
        assert_eq!(dense.len(), 41);
    }
}
