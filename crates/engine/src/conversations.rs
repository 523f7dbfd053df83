//! Conversations' messages, as far as derived values need them: when each user last wrote to
//! the team (inbound) and when the team last wrote to them (outbound).
//!
//! Storage keeps conversations and messages; the engine keeps, per message, its direction,
//! timestamp and the users among its participants, and per user an ordered multiset of those
//! timestamps per direction. A user's latest is the largest key; deleting a message removes
//! its timestamps, so values go down as well as up (a running maximum could not).
//!
//! Accounts and organizations keep nothing of their own: their values are the latest over
//! their *current* users (an organization's: its direct users and its accounts' users),
//! computed when read, as an organization's `lastSeenTimestamp` is over its current accounts.
//! So a user who joins an account brings their past messages to it, one who leaves takes them
//! away, and a deleted user's messages stop counting anywhere.

use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::derive::RecordRef;
use crate::graph::Graph;
use crate::ids::{MessageId, UserId};
use crate::time::Millis;

/// Who wrote a message: a user (a customer) writes inbound, a team member outbound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(raw: &str) -> Option<Direction> {
        match raw {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// A committed message write, as the engine learns it (inside [`crate::GraphChange::Messages`]).
#[derive(Clone, Debug, PartialEq)]
pub enum MessageChange {
    /// The message as it now is (created or replaced): its direction, timestamp and the
    /// distinct users among its sender and recipients (to, cc, bcc).
    Record {
        message: MessageId,
        direction: Direction,
        at: Millis,
        users: Vec<UserId>,
    },
    /// The message was deleted (alone or with its conversation).
    Forget { message: MessageId },
}

/// The latest inbound and outbound message of a record; `None` where there is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastMessages {
    pub inbound: Option<Millis>,
    pub outbound: Option<Millis>,
}

impl LastMessages {
    fn add(&mut self, other: LastMessages) {
        let later = |a: Option<Millis>, b: Option<Millis>| a.max(b);
        self.inbound = later(self.inbound, other.inbound);
        self.outbound = later(self.outbound, other.outbound);
    }

    pub fn get(&self, direction: Direction) -> Option<Millis> {
        match direction {
            Direction::Inbound => self.inbound,
            Direction::Outbound => self.outbound,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    direction: Direction,
    at: Millis,
    users: Vec<UserId>,
}

/// Timestamps with their multiplicity (two messages may share a millisecond).
type Times = BTreeMap<Millis, u32>;

#[derive(Clone, Debug, Default)]
struct UserTimes {
    inbound: Times,
    outbound: Times,
}

impl UserTimes {
    fn times(&mut self, direction: Direction) -> &mut Times {
        match direction {
            Direction::Inbound => &mut self.inbound,
            Direction::Outbound => &mut self.outbound,
        }
    }

    fn last(&self) -> LastMessages {
        LastMessages {
            inbound: self.inbound.keys().next_back().copied(),
            outbound: self.outbound.keys().next_back().copied(),
        }
    }

    fn is_empty(&self) -> bool {
        self.inbound.is_empty() && self.outbound.is_empty()
    }
}

/// The messages of one workspace (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Messages {
    messages: HashMap<MessageId, Entry>,
    users: HashMap<UserId, UserTimes>,
}

impl Messages {
    /// Applies a committed change; answers the users whose latest values may have moved.
    pub fn apply(&mut self, change: &MessageChange) -> Vec<UserId> {
        match change {
            MessageChange::Record {
                message,
                direction,
                at,
                users,
            } => {
                let mut users = users.clone();
                users.sort_unstable();
                users.dedup();
                let mut touched = self.remove(*message);
                for user in &users {
                    *self
                        .users
                        .entry(*user)
                        .or_default()
                        .times(*direction)
                        .entry(*at)
                        .or_default() += 1;
                }
                touched.extend(users.iter().copied());
                let entry = Entry {
                    direction: *direction,
                    at: *at,
                    users,
                };
                self.messages.insert(*message, entry);
                touched.sort_unstable();
                touched.dedup();
                touched
            }
            MessageChange::Forget { message } => self.remove(*message),
        }
    }

    /// Takes a message's timestamps out of its users' sets; answers those users.
    fn remove(&mut self, message: MessageId) -> Vec<UserId> {
        let Some(entry) = self.messages.remove(&message) else {
            return Vec::new();
        };
        for user in &entry.users {
            let Some(times) = self.users.get_mut(user) else {
                // A deleted user (see `forget_user`).
                continue;
            };
            let set = times.times(entry.direction);
            if let Some(count) = set.get_mut(&entry.at) {
                *count -= 1;
                if *count == 0 {
                    set.remove(&entry.at);
                }
            }
            if times.is_empty() {
                self.users.remove(user);
            }
        }
        entry.users
    }

    /// A deleted user's messages count nowhere any more (storage drops them from the
    /// messages' participants too, so a rebuild agrees).
    pub fn forget_user(&mut self, user: UserId) {
        self.users.remove(&user);
    }

    /// Whether no message touches any user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// How many messages are kept (for monitoring and tests).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn of_user(&self, user: UserId) -> LastMessages {
        self.users
            .get(&user)
            .map(UserTimes::last)
            .unwrap_or_default()
    }

    /// The latest over `users`.
    fn over(&self, users: impl Iterator<Item = UserId>) -> LastMessages {
        let mut last = LastMessages::default();
        if self.users.is_empty() {
            return last;
        }
        for user in users {
            last.add(self.of_user(user));
        }
        last
    }

    /// A record's latest messages: a user's own, an account's or organization's over its
    /// current users (costs one lookup per user of the record).
    pub fn of(&self, record: RecordRef, graph: &Graph) -> LastMessages {
        match record {
            RecordRef::User(id) => self.of_user(id),
            RecordRef::Account(id) => self.over(graph.account_user_ids(id)),
            RecordRef::Organization(id) => self.over(graph.organization_user_ids(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        message: MessageId,
        direction: Direction,
        at: i64,
        users: &[UserId],
    ) -> MessageChange {
        MessageChange::Record {
            message,
            direction,
            at: Millis(at),
            users: users.to_vec(),
        }
    }

    #[test]
    fn deleting_the_latest_message_brings_back_the_one_before() {
        let mut m = Messages::default();
        let (u, v) = (UserId::generate(), UserId::generate());
        let (m1, m2, m3) = (
            MessageId::generate(),
            MessageId::generate(),
            MessageId::generate(),
        );
        assert_eq!(m.apply(&record(m1, Direction::Inbound, 10, &[u, v, u])), {
            let mut both = vec![u, v];
            both.sort();
            both
        });
        m.apply(&record(m2, Direction::Inbound, 30, &[u]));
        m.apply(&record(m3, Direction::Outbound, 20, &[u]));
        assert_eq!(
            m.of_user(u),
            LastMessages {
                inbound: Some(Millis(30)),
                outbound: Some(Millis(20))
            }
        );
        assert_eq!(m.apply(&MessageChange::Forget { message: m2 }), vec![u]);
        assert_eq!(m.of_user(u).inbound, Some(Millis(10)));
        // Replacing a message moves its timestamp and its users.
        m.apply(&record(m1, Direction::Outbound, 5, &[v]));
        assert_eq!(m.of_user(u).inbound, None);
        assert_eq!(m.of_user(v).outbound, Some(Millis(5)));
        assert_eq!(m.of_user(v).inbound, None);
        m.apply(&MessageChange::Forget { message: m1 });
        m.apply(&MessageChange::Forget { message: m3 });
        assert!(m.is_empty());
    }

    #[test]
    fn two_messages_at_the_same_millisecond_count_twice() {
        let mut m = Messages::default();
        let u = UserId::generate();
        let (m1, m2) = (MessageId::generate(), MessageId::generate());
        m.apply(&record(m1, Direction::Inbound, 7, &[u]));
        m.apply(&record(m2, Direction::Inbound, 7, &[u]));
        m.apply(&MessageChange::Forget { message: m1 });
        assert_eq!(m.of_user(u).inbound, Some(Millis(7)));
    }

    #[test]
    fn a_forgotten_user_counts_nowhere_and_its_messages_still_go() {
        let mut m = Messages::default();
        let (u, v) = (UserId::generate(), UserId::generate());
        let m1 = MessageId::generate();
        m.apply(&record(m1, Direction::Inbound, 7, &[u, v]));
        m.forget_user(u);
        assert_eq!(m.of_user(u), LastMessages::default());
        m.apply(&MessageChange::Forget { message: m1 });
        assert_eq!(m.of_user(v), LastMessages::default());
        assert!(m.is_empty());
    }
}
