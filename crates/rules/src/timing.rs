//! When can a time-dependent expression next change on its own?
//!
//! The engine stores computed values and re-evaluates on writes; values that
//! read the clock also need a timer. [`next_change`] reports the earliest
//! instant after `now` at which the value may differ, assuming the record's
//! data does not change. It may be early (the engine re-evaluates and asks
//! again) but is never late, except by the one nanosecond it adds so that
//! evaluating at the returned instant already sees the new value.

use jiff::{SignedDuration, Timestamp};

use crate::aggregate::for_each_related;
use crate::ast::WindowOp;
use crate::dates::{add_days, next_midnight, whole_days};
use crate::eval::{EvalContext, eval};
use crate::functions::Func;
use crate::ir::Node;
use crate::types::Record;
use crate::value::Value;

/// How a polling engine should treat clock uses we cannot solve exactly
/// (say `concat(now())`): look again after this long.
const POLL: SignedDuration = SignedDuration::from_secs(60);

pub(crate) fn next_change(
    node: &Node,
    record: &dyn Record,
    ctx: &EvalContext,
) -> Option<Timestamp> {
    let mut earliest = Earliest { ctx, at: None };
    if let Clock::Moving { .. } = visit(node, record, &mut earliest) {
        earliest.poll();
    }
    earliest.at
}

/// How a node's value depends on the clock.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Clock {
    /// Constant over time (it may still depend on time through a child, which
    /// reported its own change instants).
    Fixed,
    /// The value is the moving instant `now + days` (calendar days).
    Moving { days: i64 },
}

struct Earliest<'a> {
    ctx: &'a EvalContext,
    at: Option<Timestamp>,
}

impl Earliest<'_> {
    /// Records that the value may flip at `instant`.
    fn flip_at(&mut self, instant: Option<Timestamp>) {
        let Some(after) = instant.and_then(|t| t.checked_add(SignedDuration::from_nanos(1)).ok())
        else {
            return;
        };
        if after > self.ctx.now && self.at.is_none_or(|at| after < at) {
            self.at = Some(after);
        }
    }

    fn next_midnight(&mut self) {
        let midnight = next_midnight(self.ctx.now, &self.ctx.time_zone);
        // `flip_at` adds a nanosecond; midnight itself is already the new day.
        self.flip_at(midnight.and_then(|m| m.checked_sub(SignedDuration::from_nanos(1)).ok()));
    }

    fn poll(&mut self) {
        let soon = self.ctx.now.checked_add(POLL).ok();
        self.flip_at(soon.and_then(|m| m.checked_sub(SignedDuration::from_nanos(1)).ok()));
    }
}

fn visit(node: &Node, record: &dyn Record, out: &mut Earliest<'_>) -> Clock {
    let ctx = out.ctx;
    match node {
        Node::Call(Func::Now, _) => return Clock::Moving { days: 0 },
        Node::Call(Func::DateAdd, args) => {
            let base = visit(&args[0], record, out);
            let days = visit(&args[1], record, out);
            if let (Clock::Moving { days: shift }, Clock::Fixed) = (base, days) {
                let added = match eval(&args[1], record, ctx) {
                    Value::Number(n) => whole_days(n),
                    _ => None,
                };
                return match added.and_then(|n| n.checked_add(shift)) {
                    Some(total) => Clock::Moving { days: total },
                    None => Clock::Fixed,
                };
            }
            if days != Clock::Fixed {
                out.poll();
            }
            return Clock::Fixed;
        }
        Node::Hop { relation, inner } => {
            let mut moving = false;
            record.related(crate::eval::relation_ref(relation), &mut |related| {
                moving |= visit(inner, related, out) != Clock::Fixed;
            });
            if moving {
                out.poll();
            }
            return Clock::Fixed;
        }
        Node::Aggregate {
            path,
            filter,
            value,
            ..
        } => {
            let mut moving = false;
            for_each_related(record, path, &mut |related| {
                for child in filter.iter().chain(value.iter()) {
                    moving |= visit(child, related, out) != Clock::Fixed;
                }
            });
            if moving {
                out.poll();
            }
            return Clock::Fixed;
        }
        _ => {}
    }
    let children = node.children();
    let clocks: Vec<Clock> = children
        .iter()
        .map(|child| visit(child, record, out))
        .collect();
    let moving: Vec<usize> = (0..clocks.len())
        .filter(|i| clocks[*i] != Clock::Fixed)
        .collect();
    if moving.is_empty() {
        match node {
            Node::Window(op, subject, days) => window_flips(*op, subject, days, record, out),
            // These read today's date themselves.
            Node::Call(Func::DaysSince | Func::DaysUntil, _) => out.next_midnight(),
            _ => {}
        }
        return Clock::Fixed;
    }
    match node {
        // A calendar-day view of a moving instant changes at midnight only.
        Node::Call(
            Func::DaysSince
            | Func::DaysUntil
            | Func::DateDiffDays
            | Func::Year
            | Func::Month
            | Func::Day,
            _,
        )
        | Node::Day(..)
        | Node::Between(..) => out.next_midnight(),
        Node::Compare(..) if moving.len() == 1 => {
            let moving_side = moving[0];
            let Clock::Moving { days } = clocks[moving_side] else {
                unreachable!("filtered to moving")
            };
            if let Value::Date(fixed) = eval(children[1 - moving_side], record, ctx) {
                // The answer flips where `now + days` meets `fixed`.
                let crossing = first_reaching(fixed, days, ctx);
                out.flip_at(
                    crossing.and_then(|t| t.checked_sub(SignedDuration::from_nanos(1)).ok()),
                );
                out.flip_at(crossing);
            }
        }
        Node::ToDate(_) | Node::Fit(..) => return clocks[0],
        _ => out.poll(),
    }
    Clock::Fixed
}

/// `x in last N days` and friends flip at `x`, `x + N days` or `x - N days`.
fn window_flips(
    op: WindowOp,
    subject: &Node,
    days: &Node,
    record: &dyn Record,
    out: &mut Earliest<'_>,
) {
    let ctx = out.ctx;
    let (Value::Date(x), Value::Number(n)) = (eval(subject, record, ctx), eval(days, record, ctx))
    else {
        return;
    };
    let Some(n) = whole_days(n).filter(|n| *n >= 0) else {
        return;
    };
    let tz = &ctx.time_zone;
    match op {
        WindowOp::InLast => {
            out.flip_at(x.checked_sub(SignedDuration::from_nanos(1)).ok());
            out.flip_at(add_days(x, n, tz));
        }
        WindowOp::InNext => {
            out.flip_at(
                add_days(x, -n, tz).and_then(|t| t.checked_sub(SignedDuration::from_nanos(1)).ok()),
            );
            out.flip_at(Some(x));
        }
        WindowOp::MoreThanAgo => out.flip_at(add_days(x, n, tz)),
        WindowOp::MoreThanFromNow => {
            out.flip_at(
                add_days(x, -n, tz).and_then(|t| t.checked_sub(SignedDuration::from_nanos(1)).ok()),
            );
        }
    }
}

/// The first instant `t` with `t + days >= target` (calendar days in the
/// evaluation zone). Adding days is monotonic, so bisect within a day of
/// the naive answer, which daylight-saving shifts never exceed.
fn first_reaching(target: Timestamp, days: i64, ctx: &EvalContext) -> Option<Timestamp> {
    let tz = &ctx.time_zone;
    if days == 0 {
        return Some(target);
    }
    let naive = add_days(target, -days, tz)?;
    let day = SignedDuration::from_hours(24);
    let mut low = naive.checked_sub(day).ok()?;
    let mut high = naive.checked_add(day).ok()?;
    let reaches = |t: Timestamp| add_days(t, days, tz).is_some_and(|moved| moved >= target);
    if reaches(low) || !reaches(high) {
        return Some(naive);
    }
    // Invariant: !reaches(low) && reaches(high).
    while high.duration_since(low) > SignedDuration::from_nanos(1) {
        let mid = low.checked_add(high.duration_since(low) / 2).ok()?;
        if reaches(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}
