//! The rate budget jobs draw from, behind the [`RateBudget`] trait.
//!
//! - [`ShopBudget`] (the default, through [`crate::executor::Executor::for_client`]): the
//!   shop's mirrored Shopify cost bucket ([`CostBucket`]), shared by every client and
//!   every executor of the shop in this process. The jobs' client requests draw the
//!   points; the budget only admits jobs, so that the jobs running at once never need
//!   more than the bucket holds.
//! - [`LocalBudget`]: an in-process leaky bucket from which the executor draws each
//!   job's cost itself, for jobs that do not go through the client (and for tests).
//! - [`Unlimited`]: no limit.
//!
//! A budget shared across processes (Redis, a database row) plugs in by implementing the
//! trait. Its methods are called on the scheduler's hot path and must not block: such a
//! budget should lease points from the shared store in the background and answer from
//! its local lease.
use crate::client::throttle::CostBucket;
use crate::client::ShopifyClient;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// Cost points shared by the workers of an executor. The executor reserves a job's
/// estimated cost before starting it and releases the reservation when the job ends, so
/// the jobs running at once never together overdraw the budget.
pub trait RateBudget: Send + Sync + fmt::Debug {
    /// Reserve `cost` points for a job about to start: `Ok` when reserved, or how long
    /// until the reservation may succeed. Must not block.
    fn try_reserve(&self, cost: u32) -> Result<(), Duration>;

    /// The job that reserved `cost` points ended, whatever its outcome.
    fn release(&self, cost: u32);

    /// How long until [`RateBudget::try_reserve`] of `cost` would succeed, without
    /// reserving (zero: now). The pool grows only while this is zero for queued work.
    fn wait_for(&self, cost: u32) -> Duration;

    /// Points available to new reservations now.
    fn available(&self) -> f64;

    /// Points restored per second (for the ETA).
    fn restore_rate(&self) -> f64;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn secs(points: f64, rate: f64) -> Duration {
    if rate > 0.0 && points.is_finite() && points > 0.0 {
        Duration::from_secs_f64((points / rate).min(3_600.0))
    } else {
        Duration::from_millis(1)
    }
}

/// The shop's cost bucket as a budget: the default.
///
/// The jobs' client requests take the points from the bucket; this budget reserves a
/// job's estimated cost on top of what the bucket must still cover for the jobs already
/// running, and admits a job only when the bucket holds it all. A running job's points
/// thus count twice while its request is in flight (once reserved, once taken): the pool
/// errs on the side of waiting, which is free once the bucket is the bottleneck, since
/// the bucket keeps refilling meanwhile. One instance per bucket per process
/// ([`ShopBudget::shared`]), so several executors of one shop share it too.
///
/// ```
/// use shopify_sync::client::throttle::CostBucket;
/// use shopify_sync::executor::{RateBudget, ShopBudget};
/// use std::sync::Arc;
/// let bucket = Arc::new(CostBucket::new()); // 2,000 points, 100 per second
/// let budget = ShopBudget::shared(&bucket);
/// assert!(Arc::ptr_eq(&budget, &ShopBudget::shared(&bucket)));
/// assert!(budget.try_reserve(1_500).is_ok());
/// // 1,500 reserved: another 1,000 would overdraw the bucket.
/// assert!(budget.try_reserve(1_000).is_err());
/// budget.release(1_500);
/// assert!(budget.try_reserve(1_000).is_ok());
/// ```
pub struct ShopBudget {
    bucket: Arc<CostBucket>,
    reserved: Mutex<u64>,
}

impl fmt::Debug for ShopBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopBudget")
            .field("available", &self.bucket.available())
            .field("reserved", &*lock(&self.reserved))
            .finish()
    }
}

impl ShopBudget {
    /// The process-wide budget over `bucket`.
    pub fn shared(bucket: &Arc<CostBucket>) -> Arc<ShopBudget> {
        static REGISTRY: OnceLock<Mutex<HashMap<usize, Arc<ShopBudget>>>> = OnceLock::new();
        let mut map = lock(REGISTRY.get_or_init(Default::default));
        // The entry holds the bucket, so its address cannot be reused by another one.
        map.entry(Arc::as_ptr(bucket) as usize)
            .or_insert_with(|| {
                Arc::new(ShopBudget {
                    bucket: bucket.clone(),
                    reserved: Mutex::new(0),
                })
            })
            .clone()
    }

    /// The budget over `client`'s shop bucket.
    pub fn for_client(client: &ShopifyClient) -> Arc<ShopBudget> {
        ShopBudget::shared(client.bucket())
    }

    /// The bucket.
    pub fn bucket(&self) -> &Arc<CostBucket> {
        &self.bucket
    }

    /// Points reserved by running jobs.
    pub fn reserved(&self) -> u64 {
        *lock(&self.reserved)
    }
}

impl RateBudget for ShopBudget {
    fn try_reserve(&self, cost: u32) -> Result<(), Duration> {
        let mut reserved = lock(&self.reserved);
        let wait = self.wait_locked(*reserved, cost);
        if wait.is_zero() {
            *reserved += u64::from(cost);
            Ok(())
        } else {
            Err(wait)
        }
    }

    fn release(&self, cost: u32) {
        let mut reserved = lock(&self.reserved);
        *reserved = reserved.saturating_sub(u64::from(cost));
    }

    fn wait_for(&self, cost: u32) -> Duration {
        let reserved = lock(&self.reserved);
        self.wait_locked(*reserved, cost)
    }

    fn available(&self) -> f64 {
        let reserved = *lock(&self.reserved) as f64;
        (self.bucket.available() - reserved).max(0.0)
    }

    fn restore_rate(&self) -> f64 {
        self.bucket.restore_rate()
    }
}

impl ShopBudget {
    fn wait_locked(&self, reserved: u64, cost: u32) -> Duration {
        if reserved == 0 {
            // Alone, a job needs what the client's own throttle needs (capped at the
            // bucket's size, so a job dearer than the bucket still runs once it is full).
            return self.bucket.wait_for(cost);
        }
        let need = reserved as f64 + f64::from(cost);
        let available = self.bucket.available();
        if available >= need {
            Duration::ZERO
        } else {
            // More than the bucket can ever hold waits for running jobs to end; the
            // scheduler looks again whenever one does.
            secs(need - available, self.bucket.restore_rate())
        }
    }
}

#[derive(Debug)]
struct Level {
    level: f64,
    at: Instant,
}

/// An in-process leaky bucket: the executor's reservation is the spending. For jobs that
/// do not draw through the client, and for tests and benchmarks.
///
/// ```
/// use shopify_sync::executor::{LocalBudget, RateBudget};
/// let budget = LocalBudget::new(100.0, 10.0); // 100 points, 10 per second, full
/// assert!(budget.try_reserve(60).is_ok());
/// let wait = budget.try_reserve(60).unwrap_err(); // 20 missing at 10 per second
/// assert!(wait.as_secs_f64() > 1.9 && wait.as_secs_f64() <= 2.0);
/// ```
#[derive(Debug)]
pub struct LocalBudget {
    capacity: f64,
    restore_rate: f64,
    state: Mutex<Level>,
}

impl LocalBudget {
    /// A full bucket of `capacity` points restoring `restore_rate` points per second.
    pub fn new(capacity: f64, restore_rate: f64) -> LocalBudget {
        LocalBudget {
            capacity,
            restore_rate,
            state: Mutex::new(Level {
                level: capacity,
                at: Instant::now(),
            }),
        }
    }

    /// The same bucket, starting at `level` points instead of full.
    pub fn with_level(self, level: f64) -> LocalBudget {
        {
            let mut s = lock(&self.state);
            s.level = level.min(self.capacity);
            s.at = Instant::now();
        }
        self
    }

    fn refill(&self, s: &mut Level) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
        s.level = (s.level + elapsed * self.restore_rate).min(self.capacity);
        s.at = now;
    }

    fn wait_locked(&self, s: &Level, cost: u32) -> Duration {
        let cost = f64::from(cost).min(self.capacity);
        if s.level >= cost {
            Duration::ZERO
        } else {
            secs(cost - s.level, self.restore_rate)
        }
    }
}

impl RateBudget for LocalBudget {
    fn try_reserve(&self, cost: u32) -> Result<(), Duration> {
        let mut s = lock(&self.state);
        self.refill(&mut s);
        let wait = self.wait_locked(&s, cost);
        if wait.is_zero() {
            s.level -= f64::from(cost).min(self.capacity);
            Ok(())
        } else {
            Err(wait)
        }
    }

    fn release(&self, _cost: u32) {}

    fn wait_for(&self, cost: u32) -> Duration {
        let mut s = lock(&self.state);
        self.refill(&mut s);
        self.wait_locked(&s, cost)
    }

    fn available(&self) -> f64 {
        let mut s = lock(&self.state);
        self.refill(&mut s);
        s.level
    }

    fn restore_rate(&self) -> f64 {
        self.restore_rate
    }
}

/// No limit: every reservation succeeds at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl RateBudget for Unlimited {
    fn try_reserve(&self, _cost: u32) -> Result<(), Duration> {
        Ok(())
    }
    fn release(&self, _cost: u32) {}
    fn wait_for(&self, _cost: u32) -> Duration {
        Duration::ZERO
    }
    fn available(&self) -> f64 {
        f64::MAX
    }
    fn restore_rate(&self) -> f64 {
        f64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::throttle::CostReport;

    fn bucket(available: f64) -> Arc<CostBucket> {
        let b = Arc::new(CostBucket::new());
        b.settle(
            0,
            Some(&CostReport {
                requested: 0,
                actual: Some(0),
                maximum: 100.0,
                available,
                restore_rate: 10.0,
            }),
        );
        b
    }

    #[test]
    fn shop_budget_admits_only_what_the_bucket_covers_for_all_running_jobs() {
        let b = bucket(50.0);
        let budget = ShopBudget::shared(&b);
        assert!(budget.try_reserve(20).is_ok());
        assert!(budget.try_reserve(20).is_ok());
        // 40 reserved, 50 available: 20 more would need 60.
        let wait = budget.try_reserve(20).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // The first job's request takes its 20 points from the bucket: still counted
        // as reserved until the job ends.
        b.take_now(20);
        assert!(budget.try_reserve(10).is_err());
        budget.release(20);
        budget.release(20);
        assert_eq!(budget.reserved(), 0);
        // Alone, a job dearer than the bucket runs once the bucket is full.
        let full = bucket(100.0);
        assert!(ShopBudget::shared(&full).try_reserve(500).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn local_budget_refills_with_time() {
        let budget = LocalBudget::new(100.0, 10.0).with_level(0.0);
        assert_eq!(budget.wait_for(10), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(budget.try_reserve(10).is_ok());
        assert!(budget.available() < 1e-9);
        // A cost over the capacity waits for a full bucket, then empties it.
        tokio::time::advance(Duration::from_secs(100)).await;
        assert!(budget.try_reserve(1_000).is_ok());
        assert!(budget.available() < 1e-9);
    }
}
