//! Shopify's leaky-bucket cost limit, as the simulator enforces it.
//!
//! The bucket holds up to `maximum_available` points and refills at `restore_rate`
//! points per second. A request is admitted only if the bucket holds its *requested*
//! cost, which is then taken; after execution the difference between requested and
//! *actual* cost is refunded. `throttleStatus.currentlyAvailable` reports the level
//! after that, rounded down to a whole point, as Shopify reports it.
use serde::Serialize;
use std::time::Instant;

/// The state Shopify reports as `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// Bucket size.
    pub maximum_available: f64,
    /// Points available now, rounded down.
    pub currently_available: u64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// A leaky bucket with an explicit clock, so its arithmetic can be tested exactly.
#[derive(Debug, Clone)]
pub struct Bucket {
    maximum: f64,
    restore_rate: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(maximum: f64, restore_rate: f64, now: Instant) -> Bucket {
        Bucket {
            maximum,
            restore_rate,
            level: maximum,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.restore_rate).min(self.maximum);
        self.at = self.at.max(now);
    }

    /// Take `cost` points if the bucket holds them. On refusal nothing is taken and
    /// the status to report with THROTTLED is returned.
    pub fn try_take(&mut self, cost: u32, now: Instant) -> Result<(), ThrottleStatus> {
        self.refill(now);
        if f64::from(cost) > self.level {
            return Err(self.status(now));
        }
        self.level -= f64::from(cost);
        Ok(())
    }

    /// Give back `points` (requested minus actual cost).
    pub fn refund(&mut self, points: u32, now: Instant) {
        self.refill(now);
        self.level = (self.level + f64::from(points)).min(self.maximum);
    }

    /// The status at `now`.
    pub fn status(&mut self, now: Instant) -> ThrottleStatus {
        self.refill(now);
        ThrottleStatus {
            maximum_available: self.maximum,
            currently_available: self.level.floor() as u64,
            restore_rate: self.restore_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn takes_refunds_and_refills_exactly() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100.0, 10.0, t0);
        b.try_take(60, t0).unwrap();
        b.refund(5, t0);
        assert_eq!(b.status(t0).currently_available, 45);
        let refused = b.try_take(50, t0).unwrap_err();
        assert_eq!(refused.currently_available, 45, "a refusal takes nothing");
        assert_eq!(
            b.status(t0 + Duration::from_millis(500))
                .currently_available,
            50
        );
        b.try_take(50, t0 + Duration::from_millis(500)).unwrap();
        assert_eq!(
            b.status(t0 + Duration::from_secs(100)).currently_available,
            100,
            "capped"
        );
    }
}
