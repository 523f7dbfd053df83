//! Merging many events into a record's counters at once: the bulk replay's alternative to
//! `Tallies::add`, which rebuilds the packed slice for every new name or day.

use super::day::compact_day;
use super::mark::Mark;
use super::tallies::{HEAD, bucket, bucket_count, bucket_day, read_u64, split_u64};

/// Appends to `out` the counters of `words` (the `Tallies` layout) with the product events of
/// `marks` counted in, keeping day buckets only for days after `horizon`: exactly what
/// `Tallies::add` for each mark followed by `Tallies::prune(horizon + 1)` would leave, since
/// totals and last-seen times do not depend on order and a day's count always fills its
/// buckets 65535 at a time. `marks` must be sorted with [`Mark::sort`]; activities (at its
/// end) are skipped.
pub(crate) fn merge(words: &[u32], marks: &[Mark], horizon: i64, out: &mut Vec<u32>) {
    let marks = &marks[..marks.partition_point(|m| m.name().is_some())];
    let (mut pos, mut next) = (0, 0);
    while pos < words.len() || next < marks.len() {
        let stored = words.get(pos).copied();
        let marked = marks.get(next).and_then(Mark::name);
        let name = match (stored, marked) {
            (Some(s), Some(m)) => s.min(m),
            (Some(s), None) => s,
            (None, Some(m)) => m,
            (None, None) => break,
        };
        let (mut total, mut last, buckets) = if stored == Some(name) {
            let n = words[pos + 1] as usize;
            let entry = &words[pos..pos + HEAD + n];
            pos += HEAD + n;
            (
                read_u64(entry[2], entry[3]),
                read_u64(entry[4], entry[5]) as i64,
                &entry[HEAD..],
            )
        } else {
            (0, i64::MIN, &[][..])
        };
        let start = next;
        while next < marks.len() && marks[next].name() == Some(name) {
            next += 1;
        }
        let group = &marks[start..next];
        total = total.saturating_add(group.len() as u64);
        if let Some(latest) = group.last() {
            // Sorted by time within a name: the group's last mark is its latest.
            last = last.max(latest.at().0);
        }
        let head = out.len();
        let [total_lo, total_hi] = split_u64(total);
        let [last_lo, last_hi] = split_u64(last as u64);
        out.extend_from_slice(&[name, 0, total_lo, total_hi, last_lo, last_hi]);
        merge_buckets(buckets, group, horizon, out);
        out[head + 1] = (out.len() - head - HEAD) as u32;
    }
}

/// Appends the buckets of one name: its stored ones and one count per mark, summed by day,
/// for days after `horizon`. Both come ascending by day (marks are sorted by time).
fn merge_buckets(stored: &[u32], marks: &[Mark], horizon: i64, out: &mut Vec<u32>) {
    let kept = |day: u16| i64::from(day) > horizon;
    let (mut i, mut j) = (0, 0);
    let mut run: Option<(u16, u64)> = None;
    loop {
        while i < stored.len() && !kept(bucket_day(stored[i])) {
            i += 1;
        }
        let mut marked = None;
        while j < marks.len() && marked.is_none() {
            marked = compact_day(marks[j].at()).filter(|d| kept(*d));
            if marked.is_none() {
                j += 1;
            }
        }
        // The next (day, count) in day order, stored buckets first on a tie.
        let (day, count) = match (stored.get(i), marked) {
            (Some(&b), Some(m)) if bucket_day(b) <= m => {
                i += 1;
                (bucket_day(b), u64::from(bucket_count(b)))
            }
            (Some(&b), None) => {
                i += 1;
                (bucket_day(b), u64::from(bucket_count(b)))
            }
            (_, Some(m)) => {
                j += 1;
                (m, 1)
            }
            (None, None) => break,
        };
        match &mut run {
            Some((d, c)) if *d == day => *c += count,
            _ => {
                if let Some(done) = run.replace((day, count)) {
                    push_day(done, out);
                }
            }
        }
    }
    if let Some(done) = run {
        push_day(done, out);
    }
}

/// A day's count as buckets of at most 65535, the full ones first (as `Tallies::add` fills
/// them).
fn push_day((day, mut count): (u16, u64), out: &mut Vec<u32>) {
    while count > 0 {
        let chunk = count.min(u64::from(u16::MAX));
        out.push(bucket(day, chunk as u16));
        count -= chunk;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::day::MS_PER_DAY;
    use crate::metrics::names::EventNameId;
    use crate::metrics::tallies::Tallies;
    use crate::time::Millis;

    fn at(day: i64, ms: i64) -> Millis {
        Millis(day * MS_PER_DAY + ms)
    }

    /// Counting `events` one by one after `base`, then pruning to `horizon`.
    fn one_by_one(base: &[(u32, Millis)], events: &[(u32, Millis)], horizon: i64) -> Vec<u32> {
        let mut t = Tallies::default();
        for (name, when) in base.iter().chain(events) {
            t.add(EventNameId(*name), *when, compact_day(*when));
        }
        if horizon >= 0 {
            t.prune(u16::try_from(horizon + 1).unwrap_or(u16::MAX));
        }
        t.words().to_vec()
    }

    fn merged(base: &[(u32, Millis)], events: &[(u32, Millis)], horizon: i64) -> Vec<u32> {
        let mut t = Tallies::default();
        for (name, when) in base {
            t.add(EventNameId(*name), *when, compact_day(*when));
        }
        let mut marks: Vec<Mark> = events
            .iter()
            .map(|(n, when)| Mark::new(*when, Some(EventNameId(*n))))
            .chain([Mark::new(at(3, 0), None)])
            .collect();
        Mark::sort(&mut marks);
        let mut out = Vec::new();
        merge(t.words(), &marks, horizon, &mut out);
        out
    }

    #[test]
    fn merging_equals_counting_one_by_one() {
        let base = [(2, at(10, 5)), (0, at(12, 0)), (0, at(9, 3))];
        let events = [
            (1, at(11, 0)),
            (0, at(12, 7)),
            (0, at(11, 0)),
            (3, at(2, 0)),
            (2, at(10, 1)),
            (0, at(-4, 0)),
        ];
        for horizon in [-100, 9, 10, 11, 70_000] {
            assert_eq!(
                merged(&base, &events, horizon),
                one_by_one(&base, &events, horizon),
                "horizon {horizon}"
            );
        }
    }

    #[test]
    fn a_day_past_65535_fills_whole_buckets_first() {
        let base: Vec<(u32, Millis)> = vec![(0, at(7, 0)); 40_000];
        let events: Vec<(u32, Millis)> = vec![(0, at(7, 1)); 100_000];
        let out = merged(&base, &events, 0);
        assert_eq!(out, one_by_one(&base, &events, 0));
        assert_eq!(out.len(), HEAD + 3);
        assert_eq!(bucket_count(out[HEAD + 2]), (140_000 - 2 * 65_535) as u16);
    }
}
