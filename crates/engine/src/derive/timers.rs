//! When records must be re-evaluated without a write: the earliest instant each record's
//! time-dependent rules may change (from `Program::next_change` and trial end dates), in one
//! ordered queue, so `advance` touches only the records that are due.

use std::collections::BTreeSet;

use foldhash::HashMap;

use super::RecordRef;
use crate::time::Millis;

#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: BTreeSet<(Millis, RecordRef)>,
    due: HashMap<RecordRef, Millis>,
}

impl Timers {
    /// Replaces the record's timer (`None`: it has none).
    pub(crate) fn schedule(&mut self, record: RecordRef, at: Option<Millis>) {
        let old = match at {
            Some(at) => self.due.insert(record, at),
            None => self.due.remove(&record),
        };
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.queue.remove(&(old, record));
        }
        if let Some(at) = at {
            self.queue.insert((at, record));
        }
    }

    /// The record's timer.
    pub(crate) fn due(&self, record: RecordRef) -> Option<Millis> {
        self.due.get(&record).copied()
    }

    /// Removes and returns every record due at or before `now`, earliest first.
    pub(crate) fn take_due(&mut self, now: Millis) -> Vec<RecordRef> {
        let mut out = Vec::new();
        while let Some(&(at, record)) = self.queue.first() {
            if at > now {
                break;
            }
            self.queue.pop_first();
            self.due.remove(&record);
            out.push(record);
        }
        out
    }

    pub(crate) fn next(&self) -> Option<Millis> {
        self.queue.first().map(|(at, _)| *at)
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
        self.due.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.due.len()
    }
}
