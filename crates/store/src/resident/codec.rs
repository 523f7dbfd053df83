//! The compact bytes a resident record is kept as: a few dozen bytes beside its text, where
//! the decoded row (strings, a trait map) would take several hundred.
//!
//! Every kind starts with its external id, so the external-id index can check a candidate
//! without decoding the rest. Lengths and timestamps are LEB128 varints (timestamps zigzag),
//! optional values carry a presence byte, and traits are kept as their JSON text, parsed when
//! a read decodes the record (as a read from the database parses the column).

use steward_engine::domain::Traits;
use steward_engine::ids::{AccountId, OrganizationId, UserId};
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::rows::{AccountRow, OrganizationRow, UserRow};
use crate::varint;

/// Which table a resident record mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Organization,
    Account,
    User,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Organization, Kind::Account, Kind::User];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A row kept resident: how it is written to and read from its bytes.
pub(crate) trait ResidentRow: Sized {
    const KIND: Kind;
    fn id(&self) -> Uuid;
    fn encode(&self, out: &mut Vec<u8>);
    /// `None` when the bytes are not what [`ResidentRow::encode`] wrote.
    fn decode(id: Uuid, bytes: &[u8]) -> Option<Self>;
}

/// The external id every record's bytes start with.
pub(crate) fn external_id(bytes: &[u8]) -> Option<&str> {
    Reader(bytes).str()
}

/// Appends the parts of a record's bytes.
struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn varint(&mut self, n: u64) {
        varint::put(self.0, n);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.varint(0),
            Some(s) => {
                self.varint(s.len() as u64 + 1);
                self.0.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn i64(&mut self, n: i64) {
        self.varint(varint::zigzag(n));
    }

    fn opt_i64(&mut self, n: Option<i64>) {
        self.0.push(u8::from(n.is_some()));
        if let Some(n) = n {
            self.i64(n);
        }
    }

    fn opt_uuid(&mut self, id: Option<Uuid>) {
        self.0.push(u8::from(id.is_some()));
        if let Some(id) = id {
            self.0.extend_from_slice(id.as_bytes());
        }
    }

    fn bool(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
}

/// Reads the parts back in the order they were written.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        varint::take(&mut self.0)
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.varint()? {
            0 => Some(None),
            n => {
                let len = usize::try_from(n - 1).ok()?;
                Some(Some(std::str::from_utf8(self.take(len)?).ok()?))
            }
        }
    }

    fn i64(&mut self) -> Option<i64> {
        self.varint().map(varint::unzigzag)
    }

    fn opt_i64(&mut self) -> Option<Option<i64>> {
        match self.byte()? {
            0 => Some(None),
            _ => Some(Some(self.i64()?)),
        }
    }

    fn opt_uuid(&mut self) -> Option<Option<Uuid>> {
        match self.byte()? {
            0 => Some(None),
            _ => Some(Some(Uuid::from_slice(self.take(16)?).ok()?)),
        }
    }

    fn bool(&mut self) -> Option<bool> {
        Some(self.byte()? != 0)
    }

    fn traits(&mut self) -> Option<Traits> {
        serde_json::from_str(self.str()?).ok()
    }

    /// Every byte was read: a record is exactly its parts.
    fn done<T>(&self, value: T) -> Option<T> {
        self.0.is_empty().then_some(value)
    }
}

/// An organization's columns as they are written.
pub(crate) struct OrganizationParts<'a> {
    pub external_id: &'a str,
    pub name: &'a str,
    /// The traits' JSON text.
    pub traits: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrganizationParts<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.str(self.external_id);
        w.str(self.name);
        w.str(self.traits);
        w.i64(self.created_at);
        w.i64(self.updated_at);
    }
}

/// An account's columns as they are written.
pub(crate) struct AccountParts<'a> {
    pub external_id: &'a str,
    pub name: &'a str,
    pub traits: &'a str,
    pub organization_id: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AccountParts<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.str(self.external_id);
        w.str(self.name);
        w.str(self.traits);
        w.opt_uuid(self.organization_id);
        w.i64(self.created_at);
        w.i64(self.updated_at);
    }
}

/// A user's columns as they are written.
pub(crate) struct UserParts<'a> {
    pub external_id: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub avatar: Option<&'a str>,
    pub traits: &'a str,
    pub joined_at: Option<i64>,
    pub unsubscribed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserParts<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.str(self.external_id);
        w.opt_str(self.name);
        w.opt_str(self.email);
        w.opt_str(self.avatar);
        w.str(self.traits);
        w.opt_i64(self.joined_at);
        w.bool(self.unsubscribed);
        w.i64(self.created_at);
        w.i64(self.updated_at);
    }
}

fn traits_text(traits: &Traits) -> String {
    serde_json::to_string(traits).expect("a JSON map always serializes")
}

impl ResidentRow for OrganizationRow {
    const KIND: Kind = Kind::Organization;

    fn id(&self) -> Uuid {
        self.id.0
    }

    fn encode(&self, out: &mut Vec<u8>) {
        OrganizationParts {
            external_id: &self.external_id,
            name: &self.name,
            traits: &traits_text(&self.traits),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
        .write(out);
    }

    fn decode(id: Uuid, bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = OrganizationRow {
            id: OrganizationId(id),
            external_id: r.str()?.to_owned(),
            name: r.str()?.to_owned(),
            traits: r.traits()?,
            created_at: Millis(r.i64()?),
            updated_at: Millis(r.i64()?),
        };
        r.done(row)
    }
}

impl ResidentRow for AccountRow {
    const KIND: Kind = Kind::Account;

    fn id(&self) -> Uuid {
        self.id.0
    }

    fn encode(&self, out: &mut Vec<u8>) {
        AccountParts {
            external_id: &self.external_id,
            name: &self.name,
            traits: &traits_text(&self.traits),
            organization_id: self.organization_id.map(|o| o.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
        .write(out);
    }

    fn decode(id: Uuid, bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = AccountRow {
            id: AccountId(id),
            external_id: r.str()?.to_owned(),
            name: r.str()?.to_owned(),
            traits: r.traits()?,
            organization_id: r.opt_uuid()?.map(OrganizationId),
            created_at: Millis(r.i64()?),
            updated_at: Millis(r.i64()?),
        };
        r.done(row)
    }
}

impl ResidentRow for UserRow {
    const KIND: Kind = Kind::User;

    fn id(&self) -> Uuid {
        self.id.0
    }

    fn encode(&self, out: &mut Vec<u8>) {
        UserParts {
            external_id: &self.external_id,
            name: self.name.as_deref(),
            email: self.email.as_deref(),
            avatar: self.avatar.as_deref(),
            traits: &traits_text(&self.traits),
            joined_at: self.joined_at.map(|j| j.0),
            unsubscribed: self.unsubscribed,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        }
        .write(out);
    }

    fn decode(id: Uuid, bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = UserRow {
            id: UserId(id),
            external_id: r.str()?.to_owned(),
            name: r.opt_str()?.map(str::to_owned),
            email: r.opt_str()?.map(str::to_owned),
            avatar: r.opt_str()?.map(str::to_owned),
            traits: r.traits()?,
            joined_at: r.opt_i64()?.map(Millis),
            unsubscribed: r.bool()?,
            created_at: Millis(r.i64()?),
            updated_at: Millis(r.i64()?),
        };
        r.done(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn traits(v: serde_json::Value) -> Traits {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_kind_reads_back_what_it_wrote() {
        let user = UserRow {
            id: UserId(Uuid::now_v7()),
            external_id: "user-1".into(),
            name: Some("Ada".into()),
            email: None,
            avatar: Some(String::new()),
            traits: traits(json!({"n": 1.5, "nested": {"a": null}, "list": [1, "x"]})),
            joined_at: Some(Millis(-5)),
            unsubscribed: true,
            created_at: Millis(1_700_000_000_123),
            updated_at: Millis(i64::MAX),
        };
        let mut bytes = Vec::new();
        user.encode(&mut bytes);
        assert_eq!(external_id(&bytes), Some("user-1"));
        assert_eq!(UserRow::decode(user.id.0, &bytes), Some(user.clone()));
        // Truncated or extended bytes are refused, never misread.
        assert_eq!(UserRow::decode(user.id.0, &bytes[..bytes.len() - 1]), None);
        bytes.push(0);
        assert_eq!(UserRow::decode(user.id.0, &bytes), None);

        let account = AccountRow {
            id: AccountId(Uuid::now_v7()),
            external_id: "ü-ñ".into(),
            name: "Acme".into(),
            traits: Traits::new(),
            organization_id: Some(OrganizationId(Uuid::now_v7())),
            created_at: Millis(i64::MIN),
            updated_at: Millis(0),
        };
        let mut bytes = Vec::new();
        account.encode(&mut bytes);
        assert_eq!(AccountRow::decode(account.id.0, &bytes), Some(account));

        let org = OrganizationRow {
            id: OrganizationId(Uuid::now_v7()),
            external_id: "x".repeat(300),
            name: String::new(),
            traits: traits(json!({"tier": "gold"})),
            created_at: Millis(1),
            updated_at: Millis(2),
        };
        let mut bytes = Vec::new();
        org.encode(&mut bytes);
        assert_eq!(OrganizationRow::decode(org.id.0, &bytes), Some(org));
    }
}
