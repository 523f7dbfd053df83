//! Aggregations (`count`, `sum`, `avg`, `min`, `max` over related records), split into what
//! one related record contributes and how contributions add up, so that a caller holding
//! every record at once can compute a rollup for all parents in one pass over the children
//! ([`Rollup`]) and get exactly what [`aggregate`] computes parent by parent.

use std::borrow::Cow;
use std::cmp::Ordering;

use jiff::Timestamp;

use crate::eval::{EvalContext, eval_ref, is_true, relation_ref};
use crate::functions::Aggregation;
use crate::ir::{Node, RelationSlot};
use crate::kernel::Kernel;
use crate::types::{Record, RelationRef};
use crate::value::Value;

/// What one related record adds to an aggregation. `Copy` and small, so a column of them
/// can be computed in parallel and added up afterwards in a fixed order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Contribution {
    /// Filtered out, or its value is null: nothing.
    Skip,
    /// Counted (an aggregation without a value).
    One,
    Number(f64),
    Date(Timestamp),
    /// A value no aggregation accepts (a string in a `sum` of an untyped field): the result
    /// is null.
    Mismatch,
}

impl Contribution {
    fn of(value: &Value) -> Contribution {
        match value {
            Value::Null => Contribution::Skip,
            Value::Number(n) => Contribution::Number(*n),
            Value::Date(t) => Contribution::Date(*t),
            _ => Contribution::Mismatch,
        }
    }
}

/// Adds contributions up. Sums are taken in the order contributions come in, so callers that
/// must agree bit for bit (a rollup computed in one pass and the same rollup computed parent
/// by parent) add them in the same order.
#[derive(Clone, Debug)]
pub struct Accumulator {
    kind: Aggregation,
    count: usize,
    sum: f64,
    best: Option<Contribution>,
    mismatch: bool,
}

/// Orders two min/max candidates of the same kind; `None` for mixed kinds.
fn order(a: Contribution, b: Contribution) -> Option<Ordering> {
    match (a, b) {
        (Contribution::Number(a), Contribution::Number(b)) => a.partial_cmp(&b),
        (Contribution::Date(a), Contribution::Date(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

impl Accumulator {
    fn new(kind: Aggregation) -> Self {
        Accumulator {
            kind,
            count: 0,
            sum: 0.0,
            best: None,
            mismatch: false,
        }
    }

    /// Nulls are skipped, as in SQL.
    pub fn add(&mut self, contribution: Contribution) {
        use Aggregation::*;
        match (self.kind, contribution) {
            (_, Contribution::Skip) => {}
            (_, Contribution::One) => self.count += 1,
            (Sum | Avg, Contribution::Number(n)) => {
                self.sum += n;
                self.count += 1;
            }
            (Min | Max, candidate @ (Contribution::Number(_) | Contribution::Date(_))) => {
                let wanted = if self.kind == Max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let replace = match self.best {
                    None => true,
                    Some(current) => match order(candidate, current) {
                        Some(o) => o == wanted,
                        None => {
                            self.mismatch = true;
                            false
                        }
                    },
                };
                if replace {
                    self.best = Some(candidate);
                }
            }
            _ => self.mismatch = true,
        }
    }

    /// Unlike SQL, the sum of nothing is 0 (a rollup of no accounts has zero MRR); avg, min
    /// and max of nothing are null.
    pub fn finish(&self) -> Value {
        if self.mismatch {
            return Value::Null;
        }
        match self.kind {
            Aggregation::Count => Value::Number(self.count as f64),
            Aggregation::Sum => Value::number(self.sum),
            Aggregation::Avg if self.count == 0 => Value::Null,
            Aggregation::Avg => Value::number(self.sum / self.count as f64),
            Aggregation::Min | Aggregation::Max => match self.best {
                Some(Contribution::Number(n)) => Value::Number(n),
                Some(Contribution::Date(t)) => Value::Date(t),
                _ => Value::Null,
            },
        }
    }
}

/// An aggregation over the records one relation leads to, taken apart: the relation, what
/// each related record contributes, and how the contributions add up.
#[derive(Clone, Copy, Debug)]
pub struct Rollup<'p> {
    kind: Aggregation,
    relation: &'p RelationSlot,
    filter: Option<&'p Node>,
    value: Option<&'p Node>,
    /// The filter's and the value's kernels, where they have one.
    kernels: &'p [Option<Kernel>; 2],
}

impl<'p> Rollup<'p> {
    /// The parts of an aggregation node along a single relation, with the kernels of its
    /// filter and value (`[filter, value]`, as [`Rollup::parts`]).
    pub(crate) fn of(node: &'p Node, kernels: &'p [Option<Kernel>; 2]) -> Option<Rollup<'p>> {
        match node {
            Node::Aggregate {
                kind,
                path,
                filter,
                value,
            } => match path.as_slice() {
                [relation] => Some(Rollup {
                    kind: *kind,
                    relation,
                    filter: filter.as_deref(),
                    value: value.as_deref(),
                    kernels,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// The relation aggregated over.
    pub fn relation(&self) -> RelationRef<'p> {
        relation_ref(self.relation)
    }

    /// The filter and the value, either absent.
    pub(crate) fn parts(&self) -> [Option<&'p Node>; 2] {
        [self.filter, self.value]
    }

    /// What `related` (a record the relation leads to) contributes.
    pub fn contribution<R: Record + ?Sized>(&self, related: &R, ctx: &EvalContext) -> Contribution {
        contribution(self.filter, self.value, self.kernels, related, ctx)
    }

    /// The kernels of the filter and the value (`[filter, value]`, `None` for a part the
    /// aggregation does not have), when every part it has is a [`Kernel`]: a caller holding
    /// columns of their fields computes contributions with [`Rollup::contribution_of`].
    pub fn kernels(&self) -> Option<[Option<&'p Kernel>; 2]> {
        let kernel = |part: Option<&Node>, kernel: &'p Option<Kernel>| match part {
            None => Some(None),
            Some(_) => kernel.as_ref().map(Some),
        };
        Some([
            kernel(self.filter, &self.kernels[0])?,
            kernel(self.value, &self.kernels[1])?,
        ])
    }

    /// What a related record contributes, from the values its fields hold for the filter's and
    /// the value's kernels ([`Rollup::kernels`]; `None` for a part the aggregation does not
    /// have). The same as [`Rollup::contribution`] on the record.
    pub fn contribution_of(
        &self,
        filter: Option<&Value>,
        value: Option<&Value>,
        ctx: &EvalContext,
    ) -> Contribution {
        let [filter_kernel, value_kernel] = self.kernels;
        if let (Some(kernel), Some(raw)) = (filter_kernel, filter)
            && !kernel.matches(raw, ctx)
        {
            return Contribution::Skip;
        }
        match (value_kernel, value) {
            (Some(kernel), Some(raw)) => Contribution::of(&kernel.apply_ref(raw, ctx)),
            _ if self.value.is_none() => Contribution::One,
            // Not a kernel after all (the caller did not check `kernels`).
            _ => Contribution::Mismatch,
        }
    }

    /// An empty accumulator for this aggregation.
    pub fn accumulator(&self) -> Accumulator {
        Accumulator::new(self.kind)
    }
}

/// Kernels of neither part.
const NO_KERNELS: &[Option<Kernel>; 2] = &[None, None];

/// A part of an aggregation, through its kernel where it has one.
fn part<'a, R: Record + ?Sized>(
    node: &'a Node,
    kernel: &'a Option<Kernel>,
    related: &'a R,
    ctx: &EvalContext,
) -> Cow<'a, Value> {
    match kernel {
        Some(kernel) => kernel.eval_ref(related, ctx),
        None => eval_ref(node, related, ctx),
    }
}

fn contribution<R: Record + ?Sized>(
    filter: Option<&Node>,
    value: Option<&Node>,
    [filter_kernel, value_kernel]: &[Option<Kernel>; 2],
    related: &R,
    ctx: &EvalContext,
) -> Contribution {
    if let Some(filter) = filter
        && !is_true(&part(filter, filter_kernel, related, ctx))
    {
        return Contribution::Skip;
    }
    match value {
        None => Contribution::One,
        Some(value) => Contribution::of(&part(value, value_kernel, related, ctx)),
    }
}

/// Calls `visit` for every record reached by following `path` from `record`.
pub(crate) fn for_each_related(
    record: &dyn Record,
    path: &[RelationSlot],
    visit: &mut dyn FnMut(&dyn Record),
) {
    match path {
        [] => visit(record),
        [only] => record.related(relation_ref(only), visit),
        [first, rest @ ..] => record.related(relation_ref(first), &mut |related| {
            for_each_related(related, rest, visit)
        }),
    }
}

/// The aggregation of the records `path` leads to from `record`, in the order the record
/// lists them.
#[inline(never)]
pub(crate) fn aggregate<R: Record + ?Sized>(
    kind: Aggregation,
    path: &[RelationSlot],
    filter: Option<&Node>,
    value: Option<&Node>,
    record: &R,
    ctx: &EvalContext,
) -> Value {
    let mut acc = Accumulator::new(kind);
    // The path is never empty: the checker makes aggregations follow a relation.
    if let [first, rest @ ..] = path {
        record.related(relation_ref(first), &mut |related| {
            for_each_related(related, rest, &mut |related| {
                acc.add(contribution(filter, value, NO_KERNELS, related, ctx));
            })
        });
    }
    acc.finish()
}
