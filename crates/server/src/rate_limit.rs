//! Per-key rate limiting (off unless configured): a token bucket per API key holding up to a
//! minute's allowance, refilled continuously. Beyond it the API answers 429 with
//! `Retry-After`, which Segment's and Vitally's clients honour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{ApiError, ErrorCode};

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token for `key_hash`, or says how long to wait.
    pub fn check(&self, key_hash: &[u8; 32], now: Instant) -> Result<(), ApiError> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry(*key_hash).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.last).as_secs_f64() * per_second)
            .min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64;
        let mut error = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "more than {} requests a minute with this key; retry in {wait} s",
                self.per_minute
            ),
        );
        error.retry_after_secs = Some(wait);
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_minute_of_requests_then_refills() {
        let limiter = RateLimiter::new(60);
        let key = [7u8; 32];
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.check(&key, t0).unwrap();
        }
        let err = limiter.check(&key, t0).unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.retry_after_secs, Some(1));
        limiter.check(&key, t0 + Duration::from_secs(1)).unwrap();
        limiter.check(&[8u8; 32], t0).unwrap();
    }
}
