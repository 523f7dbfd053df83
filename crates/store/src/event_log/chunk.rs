//! The binary form of one chunk of the event log: what one commit ingested for one workspace.
//!
//! ```text
//! chunk    = version:u8  messages  ids  names  events
//! messages = n:varint  (key:16 bytes){n}          message keys (replay detection)
//! ids      = n:varint  (uuid:16 bytes){n}         the users, accounts, organizations named
//! names    = n:varint  (len:varint utf8){n}       event names
//! events   = n:varint  event{n}
//! event    = kind:u8  name:varint  user:varint  account:varint  organization:varint
//!            at:zigzag-varint  properties-len:varint  properties:json-utf8
//! ```
//!
//! `user`, `account` and `organization` are 0 for none, else 1 + an index into `ids`; `at` is
//! the event time minus the chunk's receive time. An event's id is not stored: it is
//! [`event_id`]`(seq, index)`, so ids sort as the log does. Reading an event for the usage
//! metrics borrows its name from the chunk and skips its properties: no allocation per event.

use foldhash::{HashMap, HashMapExt};

use steward_engine::ids::{AccountId, OrganizationId, UserId};
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::write::{EventKind, EventUsage, RecordedEvent};

const VERSION: u8 = 1;

/// Most events in one chunk: the low 16 bits of an index key.
pub(crate) const MAX_EVENTS: usize = u16::MAX as usize;

/// A message's identity for replay detection: 128 bits of SHA-256 over the workspace and the
/// message id, stable across versions because chunks persist it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct MessageKey(pub(crate) u128);

impl MessageKey {
    pub(crate) fn of(workspace: Uuid, message_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(workspace.as_bytes());
        hash.update(message_id.as_bytes());
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(u128::from_le_bytes(bytes))
    }
}

/// The id of the `index`th event of chunk `seq`: a version-8 UUID whose bytes sort as
/// `(seq, index)` (48 bits of sequence, then the version nibble, then 16 bits of index).
pub fn event_id(seq: i64, index: usize) -> Uuid {
    let seq = seq as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&seq.to_be_bytes()[2..]);
    b[6] = 0x80;
    b[8] = 0x80;
    b[9..11].copy_from_slice(&(index as u16).to_be_bytes());
    Uuid::from_bytes(b)
}

/// The `(seq, index)` an [`event_id`] was made from; `None` for any other UUID.
pub fn event_position(id: Uuid) -> Option<(i64, usize)> {
    let b = id.as_bytes();
    if b[6] != 0x80 || b[8] != 0x80 || b[7] != 0 || b[11..].iter().any(|x| *x != 0) {
        return None;
    }
    let mut seq = [0u8; 8];
    seq[2..].copy_from_slice(&b[..6]);
    let index = u16::from_be_bytes([b[9], b[10]]);
    Some((i64::from_be_bytes(seq), usize::from(index)))
}

fn kind_code(kind: EventKind) -> u8 {
    match kind {
        EventKind::Track => 0,
        EventKind::Page => 1,
        EventKind::Screen => 2,
    }
}

fn kind_of(code: u8) -> Option<EventKind> {
    match code {
        0 => Some(EventKind::Track),
        1 => Some(EventKind::Page),
        2 => Some(EventKind::Screen),
        _ => None,
    }
}

use crate::varint::{put as put_varint, unzigzag, zigzag};

/// Encodes a chunk. `received_at` is the chunk's own column, the base of event times.
pub(crate) fn encode(
    received_at: Millis,
    messages: &[MessageKey],
    events: &[&RecordedEvent],
) -> Vec<u8> {
    let mut ids: Vec<Uuid> = Vec::new();
    // Sized for the worst case up front: growing them was a tenth of the encoding.
    let mut id_index: HashMap<Uuid, u64> = HashMap::with_capacity(events.len() * 3);
    let mut names: Vec<&str> = Vec::new();
    let mut name_index: HashMap<&str, u64> = HashMap::with_capacity(events.len().min(64));
    let mut body = Vec::with_capacity(events.len() * 48);
    let mut slot = |id: Option<Uuid>| -> u64 {
        id.map_or(0, |id| {
            1 + *id_index.entry(id).or_insert_with(|| {
                ids.push(id);
                ids.len() as u64 - 1
            })
        })
    };
    for event in events {
        body.push(kind_code(event.kind));
        let name = *name_index.entry(event.name.as_str()).or_insert_with(|| {
            names.push(&event.name);
            names.len() as u64 - 1
        });
        put_varint(&mut body, name);
        put_varint(&mut body, slot(event.user.map(|u| u.0)));
        put_varint(&mut body, slot(event.account.map(|a| a.0)));
        put_varint(&mut body, slot(event.organization.map(|o| o.0)));
        put_varint(&mut body, zigzag(event.at.0 - received_at.0));
        let properties = event.properties_text();
        put_varint(&mut body, properties.len() as u64);
        body.extend_from_slice(properties.as_bytes());
    }
    let mut out = Vec::with_capacity(body.len() + 16 * (messages.len() + ids.len()) + 64);
    out.push(VERSION);
    put_varint(&mut out, messages.len() as u64);
    for key in messages {
        out.extend_from_slice(&key.0.to_le_bytes());
    }
    put_varint(&mut out, ids.len() as u64);
    for id in &ids {
        out.extend_from_slice(id.as_bytes());
    }
    put_varint(&mut out, names.len() as u64);
    for name in &names {
        put_varint(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
    }
    put_varint(&mut out, events.len() as u64);
    out.extend_from_slice(&body);
    out
}

/// A cursor over a chunk's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("event log chunk: {what}"))
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| corrupt("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut rest = &self.bytes[self.pos..];
        let v = crate::varint::take(&mut rest)
            .ok_or_else(|| corrupt("truncated or overlong varint"))?;
        self.pos = self.bytes.len() - rest.len();
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn count(&mut self) -> Result<usize> {
        let n = self.varint()?;
        // Every counted item takes at least one byte: a larger count is corruption.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len())
            .ok_or_else(|| corrupt("count out of range"))
    }
}

/// One event as read from a chunk, borrowing its name and properties.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkEvent<'a> {
    pub(crate) kind: EventKind,
    pub(crate) name: &'a str,
    pub(crate) user: Option<Uuid>,
    pub(crate) account: Option<Uuid>,
    pub(crate) organization: Option<Uuid>,
    pub(crate) at: Millis,
    pub(crate) properties: &'a [u8],
}

/// A decoded chunk header: its message keys, then an iterator over its events.
pub(crate) struct Chunk<'a> {
    pub(crate) messages: Vec<MessageKey>,
    ids: Vec<Uuid>,
    names: Vec<&'a str>,
    remaining: usize,
    reader: Reader<'a>,
    received_at: Millis,
}

impl<'a> Chunk<'a> {
    pub(crate) fn open(bytes: &'a [u8], received_at: Millis) -> Result<Self> {
        let mut reader = Reader { bytes, pos: 0 };
        if reader.byte()? != VERSION {
            return Err(corrupt("unknown version"));
        }
        let n = reader.count()?;
        let mut messages = Vec::with_capacity(n);
        for _ in 0..n {
            let raw: [u8; 16] = reader.take(16)?.try_into().expect("16 bytes");
            messages.push(MessageKey(u128::from_le_bytes(raw)));
        }
        let n = reader.count()?;
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(Uuid::from_slice(reader.take(16)?).expect("16 bytes"));
        }
        let n = reader.count()?;
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            let len = reader.count()?;
            let text = std::str::from_utf8(reader.take(len)?)
                .map_err(|_| corrupt("event name is not UTF-8"))?;
            names.push(text);
        }
        let remaining = reader.count()?;
        Ok(Self {
            messages,
            ids,
            names,
            remaining,
            reader,
            received_at,
        })
    }

    /// Events left to read.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.remaining
    }

    fn id(&self, slot: u64) -> Result<Option<Uuid>> {
        match slot {
            0 => Ok(None),
            n => self
                .ids
                .get(n as usize - 1)
                .copied()
                .map(Some)
                .ok_or_else(|| corrupt("id out of range")),
        }
    }

    /// The next event, or `None` after the last.
    pub(crate) fn next_event(&mut self) -> Result<Option<ChunkEvent<'a>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let r = &mut self.reader;
        let kind = kind_of(r.byte()?).ok_or_else(|| corrupt("event kind"))?;
        let name = r.varint()?;
        let (user, account, organization) = (r.varint()?, r.varint()?, r.varint()?);
        let at = Millis(self.received_at.0.wrapping_add(unzigzag(r.varint()?)));
        let len = r.count()?;
        let properties = r.take(len)?;
        Ok(Some(ChunkEvent {
            kind,
            name: self
                .names
                .get(name as usize)
                .copied()
                .ok_or_else(|| corrupt("name out of range"))?,
            user: self.id(user)?,
            account: self.id(account)?,
            organization: self.id(organization)?,
            at,
            properties,
        }))
    }
}

impl ChunkEvent<'_> {
    /// What the usage metrics read of it.
    pub(crate) fn usage(&self, received_at: Millis) -> EventUsage<'_> {
        EventUsage {
            kind: self.kind,
            name: self.name,
            user: self.user.map(UserId),
            account: self.account.map(AccountId),
            organization: self.organization.map(OrganizationId),
            at: self.at,
            received_at,
        }
    }

    /// The whole event, as the API shows it.
    pub(crate) fn recorded(&self, id: Uuid, received_at: Millis) -> Result<RecordedEvent> {
        let properties = crate::write::Properties::stored(self.properties)
            .ok_or_else(|| corrupt("properties are not a JSON object"))?;
        Ok(RecordedEvent {
            id,
            kind: self.kind,
            name: self.name.to_owned(),
            user: self.user.map(UserId),
            account: self.account.map(AccountId),
            organization: self.organization.map(OrganizationId),
            at: self.at,
            received_at,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(i: usize, user: Option<u128>, at: i64) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::nil(),
            kind: [EventKind::Track, EventKind::Page, EventKind::Screen][i % 3],
            name: format!("Event {}", i % 4),
            user: user.map(|u| UserId(Uuid::from_u128(u))),
            account: i.is_multiple_of(2).then(|| AccountId(Uuid::from_u128(7))),
            organization: i
                .is_multiple_of(5)
                .then(|| OrganizationId(Uuid::from_u128(9))),
            at: Millis(at),
            received_at: Millis(1_000),
            properties: crate::write::Properties::from_map(
                serde_json::json!({"n": i, "s": "é"}).as_object().unwrap(),
            ),
        }
    }

    proptest! {
        #[test]
        fn chunks_read_back_what_was_written(
            spec in prop::collection::vec((prop::option::of(0u128..20), -10_000_000_000i64..10_000_000_000), 0..60),
            keys in prop::collection::vec(any::<u128>(), 0..5),
        ) {
            let events: Vec<RecordedEvent> = spec.iter().enumerate().map(|(i, (u, at))| event(i, *u, *at)).collect();
            let keys: Vec<MessageKey> = keys.into_iter().map(MessageKey).collect();
            let refs: Vec<&RecordedEvent> = events.iter().collect();
            let bytes = encode(Millis(1_000), &keys, &refs);
            let mut chunk = Chunk::open(&bytes, Millis(1_000)).unwrap();
            prop_assert_eq!(&chunk.messages, &keys);
            prop_assert_eq!(chunk.len(), events.len());
            for e in &events {
                let read = chunk.next_event().unwrap().unwrap();
                prop_assert_eq!(read.recorded(Uuid::nil(), Millis(1_000)).unwrap(), e.clone());
            }
            prop_assert!(chunk.next_event().unwrap().is_none());
        }

        #[test]
        fn truncated_chunks_are_errors_not_panics(cut in 0usize..400) {
            let events: Vec<RecordedEvent> = (0..5).map(|i| event(i, Some(i as u128), 5_000)).collect();
            let refs: Vec<&RecordedEvent> = events.iter().collect();
            let bytes = encode(Millis(1_000), &[MessageKey(3)], &refs);
            let cut = cut.min(bytes.len().saturating_sub(1));
            let read = Chunk::open(&bytes[..cut], Millis(1_000)).and_then(|mut c| {
                while c.next_event()?.is_some() {}
                Ok(())
            });
            prop_assert!(read.is_err());
        }

        #[test]
        fn event_ids_sort_as_their_positions(a in 0i64..(1 << 47), b in 0i64..(1 << 47), i in 0usize..65_535, j in 0usize..65_535) {
            prop_assert_eq!(event_position(event_id(a, i)), Some((a, i)));
            prop_assert_eq!(event_id(a, i).cmp(&event_id(b, j)), (a, i).cmp(&(b, j)));
        }
    }

    #[test]
    fn other_uuids_are_not_event_positions() {
        assert_eq!(event_position(Uuid::now_v7()), None);
    }
}
