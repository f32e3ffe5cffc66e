//! The proactive cost throttle: a mirror of Shopify's leaky bucket, shared by every
//! client built for the same shop in this process.
//!
//! Before a document is sent, [`CostBucket::acquire`] waits until the mirrored bucket
//! holds the document's requested cost, then takes it. Every response corrects the
//! mirror from `extensions.cost.throttleStatus` and refunds the unused part of the
//! request. Requests are thus only sent when Shopify will admit them, so a client running
//! at full speed sees no THROTTLED answers.
//!
//! What it does not cover: other processes (another worker, a cron job, another app)
//! spending the same shop's bucket. Their spending shows up in the next `throttleStatus`
//! and the mirror follows it, so they cost at most one THROTTLED answer per surprise, which
//! the client then waits out. A bucket shared across processes can be plugged in at the
//! executor level (see the executor's rate budget).
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Shopify's standard-plan bucket, assumed until the first response says otherwise.
const ASSUMED_MAXIMUM: f64 = 2_000.0;
const ASSUMED_RESTORE_RATE: f64 = 100.0;

#[derive(Debug)]
struct State {
    maximum: f64,
    restore_rate: f64,
    level: f64,
    at: Instant,
    /// Requested cost of requests sent and not yet answered.
    in_flight: f64,
}

impl State {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.restore_rate).min(self.maximum);
        self.at = self.at.max(now);
    }
}

/// What Shopify reported in `extensions.cost`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostReport {
    /// `requestedQueryCost`.
    pub requested: u32,
    /// `actualQueryCost`, absent when the request was refused.
    pub actual: Option<u32>,
    /// `throttleStatus.maximumAvailable`.
    pub maximum: f64,
    /// `throttleStatus.currentlyAvailable`.
    pub available: f64,
    /// `throttleStatus.restoreRate`.
    pub restore_rate: f64,
}

/// A shop's mirrored cost bucket. Get the shared one with [`CostBucket::for_shop`].
#[derive(Debug)]
pub struct CostBucket {
    state: Mutex<State>,
}

impl CostBucket {
    /// A bucket assumed full at Shopify's standard size until told otherwise.
    pub fn new() -> CostBucket {
        CostBucket {
            state: Mutex::new(State {
                maximum: ASSUMED_MAXIMUM,
                restore_rate: ASSUMED_RESTORE_RATE,
                level: ASSUMED_MAXIMUM,
                at: Instant::now(),
                in_flight: 0.0,
            }),
        }
    }

    /// The process-wide bucket for `key` (one per shop).
    pub fn for_shop(key: &str) -> Arc<CostBucket> {
        static REGISTRY: OnceLock<Mutex<HashMap<String, Arc<CostBucket>>>> = OnceLock::new();
        let registry = REGISTRY.get_or_init(Default::default);
        let mut map = registry.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_string())
            .or_insert_with(|| Arc::new(CostBucket::new()))
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long to wait, from `now`, before `cost` points are available; zero takes them.
    fn try_take(&self, cost: u32, now: Instant) -> Duration {
        let mut s = self.lock();
        s.refill(now);
        let cost = f64::from(cost).min(s.maximum);
        if s.level >= cost {
            s.level -= cost;
            s.in_flight += cost;
            return Duration::ZERO;
        }
        if s.restore_rate <= 0.0 {
            return Duration::from_secs(1);
        }
        Duration::from_secs_f64((cost - s.level) / s.restore_rate)
    }

    /// Wait until the bucket holds `cost` points, then take them.
    pub async fn acquire(&self, cost: u32) {
        loop {
            let wait = self.try_take(cost, Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Take `cost` points without waiting (the throttle is off), so that the mirror
    /// still accounts for the request.
    pub fn take_now(&self, cost: u32) {
        let mut s = self.lock();
        s.refill(Instant::now());
        s.level -= f64::from(cost);
        s.in_flight += f64::from(cost);
    }

    /// A request that took `reserved` points got an answer. With a cost report, refund
    /// the unused part and correct the mirror; without one (transport failure), give the
    /// reservation back, since Shopify charged nothing we can see.
    pub fn settle(&self, reserved: u32, report: Option<&CostReport>) {
        let mut s = self.lock();
        let now = Instant::now();
        s.refill(now);
        s.in_flight = (s.in_flight - f64::from(reserved)).max(0.0);
        let Some(r) = report else {
            s.level = (s.level + f64::from(reserved)).min(s.maximum);
            return;
        };
        s.maximum = r.maximum;
        s.restore_rate = r.restore_rate;
        match r.actual {
            // Executed: Shopify kept `actual`; we took `reserved`.
            Some(actual) => s.level += f64::from(reserved) - f64::from(actual),
            // Refused: Shopify took nothing.
            None => s.level += f64::from(reserved),
        }
        // The report is the truth for what Shopify has processed. With nothing else in
        // flight adopt it outright; otherwise only ever correct downwards, since requests
        // still in flight may not be reflected in it yet.
        s.level = if s.in_flight == 0.0 {
            r.available
        } else {
            s.level.min(r.available)
        };
        s.level = s.level.min(s.maximum);
        s.at = now;
    }

    /// How long until `cost` points are available, without taking them.
    pub fn wait_for(&self, cost: u32) -> Duration {
        let mut s = self.lock();
        s.refill(Instant::now());
        let cost = f64::from(cost).min(s.maximum);
        if s.level >= cost || s.restore_rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - s.level) / s.restore_rate)
        }
    }

    /// The mirrored level now.
    pub fn available(&self) -> f64 {
        let mut s = self.lock();
        s.refill(Instant::now());
        s.level
    }

    /// The mirrored restore rate (points per second).
    pub fn restore_rate(&self) -> f64 {
        self.lock().restore_rate
    }
}

impl Default for CostBucket {
    fn default() -> Self {
        CostBucket::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(requested: u32, actual: Option<u32>, available: f64) -> CostReport {
        CostReport {
            requested,
            actual,
            maximum: 100.0,
            available,
            restore_rate: 10.0,
        }
    }

    #[test]
    fn waits_exactly_for_the_missing_points() {
        let b = CostBucket::new();
        b.settle(0, Some(&report(0, Some(0), 30.0)));
        let now = Instant::now();
        assert_eq!(b.try_take(20, now), Duration::ZERO);
        b.settle(20, Some(&report(20, Some(20), 10.0)));
        let wait = b.try_take(50, Instant::now());
        // 40 missing points at 10 per second; a few microseconds of refill may have passed.
        assert!(
            wait <= Duration::from_secs(4) && wait > Duration::from_millis(3_990),
            "{wait:?}"
        );
    }

    #[test]
    fn refunds_the_unused_cost_and_follows_other_spenders() {
        let b = CostBucket::new();
        b.settle(0, Some(&report(0, Some(0), 100.0)));
        assert_eq!(b.try_take(60, Instant::now()), Duration::ZERO);
        b.settle(60, Some(&report(60, Some(10), 90.0)));
        assert!((b.available() - 90.0).abs() < 0.5);
        // Someone else spent 50: the next report says so and the mirror follows.
        assert_eq!(b.try_take(10, Instant::now()), Duration::ZERO);
        b.settle(10, Some(&report(10, Some(10), 30.0)));
        assert!((b.available() - 30.0).abs() < 0.5);
    }

    #[test]
    fn one_bucket_per_shop() {
        let a = CostBucket::for_shop("a.myshopify.com");
        let a2 = CostBucket::for_shop("a.myshopify.com");
        let b = CostBucket::for_shop("b.myshopify.com");
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
