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
        match self.iso_bytes() {
            // The fast path only ever writes ASCII digits and separators.
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => self.to_iso_slow(),
        }
    }

    /// Appends [`Millis::to_iso`]'s text to `out` without allocating.
    pub fn write_iso(self, out: &mut Vec<u8>) {
        match self.iso_bytes() {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => out.extend_from_slice(self.to_iso_slow().as_bytes()),
        }
    }

    fn to_iso_slow(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` by integer arithmetic, for years 0000 to 9999 (outside them
    /// jiff writes a signed six-digit year or refuses, so those go the slow way). Rendering a
    /// page of records formats hundreds of timestamps; jiff's general formatter costs several
    /// times more than this.
    fn iso_bytes(self) -> Option<[u8; 24]> {
        const FIRST: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
        // Instants jiff refuses (late on 9999-12-30 and after) become the epoch in `to_iso`.
        if self.0 < FIRST || jiff::Timestamp::from_millisecond(self.0).is_err() {
            return None;
        }
        let days = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
        let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut digits = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        digits(0, 4, year);
        digits(5, 2, month);
        digits(8, 2, day);
        digits(11, 2, hour);
        digits(14, 2, minute);
        digits(17, 2, second);
        digits(20, 3, milli);
        Some(out)
    }

    /// Parses an RFC 3339 / ISO-8601 instant (any offset) into milliseconds.
    pub fn parse_iso(s: &str) -> Option<Millis> {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| Millis(ts.as_millisecond()))
    }
}

/// (year, month, day) of a day number counted from 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn fast_iso_matches_jiff_across_the_range() {
        let check = |ms: i64| {
            let mut out = Vec::new();
            Millis(ms).write_iso(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                Millis(ms).to_iso_slow(),
                "{ms}"
            );
            assert_eq!(Millis(ms).to_iso(), Millis(ms).to_iso_slow(), "{ms}");
        };
        let edges = [
            0,
            -1,
            1,
            86_399_999,
            951_782_400_000,   // 2000-02-29
            4_107_456_000_000, // 2100-02-28
            -62_167_219_200_000,
            -62_167_219_200_001,
            jiff::Timestamp::MAX.as_millisecond(),
            jiff::Timestamp::MAX.as_millisecond() + 1,
            253_402_300_799_999,
            i64::MIN,
            i64::MAX,
        ];
        for ms in edges {
            check(ms);
        }
        // A deterministic spread over the years jiff supports, and every day near the epoch.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check((x % 630_000_000_000_000) as i64 - 315_000_000_000_000);
        }
        for day in -40_000..40_000i64 {
            check(day * 86_400_000 + 12_345);
        }
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
