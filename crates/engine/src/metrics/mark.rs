//! One replayed event as a record's pending state holds it until it is merged (`pending.rs`).
//!
//! Twelve bytes, aligned to 4: the name id and the time split in two words. A replay holds
//! one mark per event of each record between merges, so its size is most of the replay's
//! transient memory; an `(u32, i64)` tuple would pad to 16.

use super::names::EventNameId;
use super::tallies::{read_u64, split_u64};
use crate::time::Millis;

/// The name of an activity (page, screen): it counts in first/last and sessions, no counter.
const ACTIVITY: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    name: u32,
    at: [u32; 2],
}

impl Mark {
    /// An event at `at`, counted under `name` (`None` for an activity). Name ids are below
    /// `u32::MAX` in practice (the interner would need four billion names to reach it).
    pub(crate) fn new(at: Millis, name: Option<EventNameId>) -> Self {
        Self {
            name: name.map_or(ACTIVITY, |n| n.0),
            at: split_u64(at.0 as u64),
        }
    }

    pub(crate) fn at(&self) -> Millis {
        Millis(read_u64(self.at[0], self.at[1]) as i64)
    }

    /// The counter's name id; `None` for an activity.
    pub(crate) fn name(&self) -> Option<u32> {
        (self.name != ACTIVITY).then_some(self.name)
    }

    /// Sorts marks by name, then time: the order `tally_merge` walks them in. Activities
    /// come last.
    pub(crate) fn sort(marks: &mut [Mark]) {
        marks.sort_unstable_by_key(|m| (m.name, m.at().0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_twelve_bytes_and_round_trip() {
        assert_eq!(std::mem::size_of::<Mark>(), 12);
        for at in [i64::MIN, -1, 0, 1_704_067_200_123, i64::MAX] {
            let m = Mark::new(Millis(at), Some(EventNameId(7)));
            assert_eq!((m.at(), m.name()), (Millis(at), Some(7)));
        }
        assert_eq!(Mark::new(Millis(5), None).name(), None);
    }

    #[test]
    fn sorting_puts_names_in_order_then_times_and_activities_last() {
        let n = |i| Some(EventNameId(i));
        let mut marks = vec![
            Mark::new(Millis(3), None),
            Mark::new(Millis(9), n(1)),
            Mark::new(Millis(-4), n(1)),
            Mark::new(Millis(5), n(0)),
        ];
        Mark::sort(&mut marks);
        let order: Vec<_> = marks.iter().map(|m| (m.name(), m.at().0)).collect();
        assert_eq!(
            order,
            vec![(Some(0), 5), (Some(1), -4), (Some(1), 9), (None, 3)]
        );
    }
}
