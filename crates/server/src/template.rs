//! JSON objects written straight into bytes, with holes left for members filled in later.
//!
//! A record's body has two parts: what storage holds (ids, names, traits, timestamps), which
//! only a write of that record changes, and what the engine derives (counts, memberships,
//! first and last seen), which changes with other records and with time. A [`Template`] is the
//! stored part, rendered once; [`Template::write`] fills the holes at every read, so a cached
//! template is never stale about derived data.
//!
//! The output matches serde_json's compact form of the same `Value` byte for byte: members in
//! key order (serde_json's map is a `BTreeMap`), no whitespace, serde_json's string escaping.
//! Callers must add members in key order; `body.rs` tests compare against serde_json.

use std::sync::Arc;

use serde::Serialize;
use steward_engine::time::Millis;
use uuid::Uuid;

/// Derived members a template can leave room for.
const MAX_HOLES: usize = 12;

/// An object's stored members, rendered, with the places of its derived members. Cheap to
/// clone (shared). One allocation holds it all, so reading a cached template costs one cache
/// miss rather than one for the template and another for its text: the number of holes (a
/// byte), where each derived member goes (little-endian `u32` offsets into the text, in key
/// order), then the text, `"key":value,` for each stored member in key order.
#[derive(Clone, Debug)]
pub struct Template(Arc<[u8]>);

impl Template {
    /// Where each derived member goes, and the text.
    fn parts(&self) -> (impl Iterator<Item = usize> + '_, &[u8]) {
        let count = usize::from(self.0[0]);
        let (holes, text) = self.0[1..].split_at(4 * count);
        let holes = holes
            .chunks_exact(4)
            .map(|h| u32::from_le_bytes(h.try_into().expect("4 bytes")) as usize);
        (holes, text)
    }

    /// Bytes of rendered text.
    pub fn text_len(&self) -> usize {
        self.0.len() - 1 - 4 * usize::from(self.0[0])
    }

    /// Bytes of the shared allocation's contents (the cache charges them against its budget).
    pub fn heap_len(&self) -> usize {
        self.0.len()
    }

    /// Loads the template into the CPU cache ahead of [`Template::write`], a byte of each
    /// 64-byte line: a page touches its templates one after another while gathering derived
    /// members, so their cache misses overlap instead of stalling each copy in turn.
    pub fn warm(&self) {
        let touched = self.0.iter().step_by(64).fold(0u8, |acc, b| acc ^ b);
        std::hint::black_box(touched);
    }

    /// Appends the object to `out`; `fill(n, members)` writes the `n`th derived member.
    pub fn write(&self, out: &mut Vec<u8>, mut fill: impl FnMut(usize, &mut Members<'_>)) {
        let (holes, text) = self.parts();
        out.reserve(text.len() + 128);
        out.push(b'{');
        let mut from = 0;
        for (n, hole) in holes.enumerate() {
            out.extend_from_slice(&text[from..hole]);
            fill(n, &mut Members { out });
            from = hole;
        }
        out.extend_from_slice(&text[from..]);
        // Every member ends with a comma: the last one's closes the object.
        match out.last_mut() {
            Some(last) if *last == b',' => *last = b'}',
            _ => out.push(b'}'),
        }
    }
}

/// Builds a [`Template`]: stored members through [`TemplateBuilder::members`], a
/// [`TemplateBuilder::hole`] for each derived member, all in key order.
pub struct TemplateBuilder {
    text: Vec<u8>,
    holes: [u32; MAX_HOLES],
    hole_count: u8,
}

impl Default for TemplateBuilder {
    /// Room for a typical record up front (the builder is dropped once finished), instead of
    /// growing the text through a series of reallocations.
    fn default() -> Self {
        Self {
            text: Vec::with_capacity(512),
            holes: [0; MAX_HOLES],
            hole_count: 0,
        }
    }
}

impl TemplateBuilder {
    pub fn members(&mut self) -> Members<'_> {
        Members {
            out: &mut self.text,
        }
    }

    /// Leaves room for the next derived member.
    pub fn hole(&mut self) -> &mut Self {
        let n = self.hole_count as usize;
        assert!(n < MAX_HOLES, "raise MAX_HOLES for more derived members");
        self.holes[n] = u32::try_from(self.text.len()).expect("a record body under 4 GB");
        self.hole_count += 1;
        self
    }

    pub fn finish(self) -> Template {
        let holes = &self.holes[..usize::from(self.hole_count)];
        let mut bytes = Vec::with_capacity(1 + 4 * holes.len() + self.text.len());
        bytes.push(self.hole_count);
        for hole in holes {
            bytes.extend_from_slice(&hole.to_le_bytes());
        }
        bytes.extend_from_slice(&self.text);
        Template(bytes.into())
    }
}

/// Writes `"key":value,` members. Keys are ASCII names that need no escaping.
pub struct Members<'a> {
    out: &'a mut Vec<u8>,
}

impl Members<'_> {
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn end(&mut self) -> &mut Self {
        self.out.push(b',');
        self
    }

    /// A whole member already rendered: `"key":value,`.
    pub fn raw(&mut self, member: &[u8]) -> &mut Self {
        self.out.extend_from_slice(member);
        self
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let out = self.key(key);
        serialize(out, value);
        self.end()
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self.end()
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(text);
        self.end()
    }

    pub fn count(&mut self, key: &str, value: usize) -> &mut Self {
        let mut digits = itoa::Buffer::new();
        let text = digits.format(value);
        self.key(key).extend_from_slice(text.as_bytes());
        self.end()
    }

    pub fn uuid(&mut self, key: &str, value: Uuid) -> &mut Self {
        let out = self.key(key);
        write_uuid(out, value);
        self.end()
    }

    pub fn opt_uuid(&mut self, key: &str, value: Option<Uuid>) -> &mut Self {
        match value {
            Some(value) => self.uuid(key, value),
            None => self.null(key),
        }
    }

    pub fn uuids(&mut self, key: &str, values: impl IntoIterator<Item = Uuid>) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (n, value) in values.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_uuid(out, value);
        }
        out.push(b']');
        self.end()
    }

    pub fn iso(&mut self, key: &str, value: Millis) -> &mut Self {
        let out = self.key(key);
        out.push(b'"');
        value.write_iso(out);
        out.push(b'"');
        self.end()
    }

    pub fn opt_iso(&mut self, key: &str, value: Option<Millis>) -> &mut Self {
        match value {
            Some(value) => self.iso(key, value),
            None => self.null(key),
        }
    }

    /// Any serializable value, as serde_json writes it (trait maps).
    pub fn value(&mut self, key: &str, value: &impl Serialize) -> &mut Self {
        let out = self.key(key);
        serialize(out, value);
        self.end()
    }
}

/// serde_json's own escaping, so strings come out exactly as before.
fn serialize(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("serializing into memory cannot fail");
}

/// A JSON string of the UUID's hyphenated lower-case form (as serde writes a `Uuid`).
fn write_uuid(out: &mut Vec<u8>, value: Uuid) {
    let mut text = [0u8; 36];
    out.push(b'"');
    out.extend_from_slice(value.as_hyphenated().encode_lower(&mut text).as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_in_order_and_the_object_closes() {
        let mut b = TemplateBuilder::default();
        b.hole();
        b.members().str("b", "x\"y").null("c");
        b.hole();
        b.members().count("e", 42);
        b.hole();
        let t = b.finish();
        let mut out = Vec::new();
        t.write(&mut out, |n, m| {
            m.bool(["a", "d", "f"][n], n == 1);
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":false,"b":"x\"y","c":null,"d":true,"e":42,"f":false}"#
        );
    }

    #[test]
    fn an_empty_object() {
        let mut out = Vec::new();
        TemplateBuilder::default()
            .finish()
            .write(&mut out, |_, _| {});
        assert_eq!(out, b"{}");
    }
}
