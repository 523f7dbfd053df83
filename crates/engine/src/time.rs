//! Time as the engine sees it: milliseconds since the Unix epoch, read from an injected clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// An instant in milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// ISO-8601 UTC with milliseconds and `Z`, the format of every timestamp on the API.
    pub fn to_iso(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
        }
    }

    /// Parses an RFC 3339 / ISO-8601 instant (any offset) into milliseconds.
    pub fn parse_iso(s: &str) -> Option<Millis> {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| Millis(ts.as_millisecond()))
    }
}

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_iso())
    }
}

/// The source of "now". The server uses [`SystemClock`]; tests use [`FixedClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis(jiff::Timestamp::now().as_millisecond())
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Clone, Debug)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    pub fn at(t: Millis) -> Self {
        Self(Arc::new(AtomicI64::new(t.0)))
    }

    pub fn set(&self, t: Millis) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        Millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_milliseconds_and_z() {
        assert_eq!(Millis(0).to_iso(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Millis(1_607_717_787_370).to_iso(),
            "2020-12-11T20:16:27.370Z"
        );
    }

    #[test]
    fn parse_iso_accepts_offsets() {
        assert_eq!(
            Millis::parse_iso("2020-12-11T21:16:27.370+01:00"),
            Some(Millis(1_607_717_787_370))
        );
        assert_eq!(Millis::parse_iso("yesterday"), None);
    }

    #[test]
    fn fixed_clock_clones_share_time() {
        let a = FixedClock::at(Millis(10));
        let b = a.clone();
        a.advance_ms(5);
        assert_eq!(b.now(), Millis(15));
    }
}
