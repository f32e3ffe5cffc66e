//! What the executor runs: the [`Job`] trait, the [`JobContext`] a running job sees, and
//! the small types around them ([`JobId`], [`Priority`], [`Effect`], [`RetryPolicy`]).
//!
//! A job is run once per attempt through [`Job::run`], which borrows the job, so the same
//! job can be retried. Its contract with the executor:
//!
//! - `Ok(())` means its effect is done.
//! - An error that [`Error::is_retryable`] means "nothing happened, or trying again is
//!   harmless": the executor retries it per its [`RetryPolicy`].
//! - Any other error ends the job failed. Its effect is taken to be not done, unless the
//!   error is [`ErrorKind::OutcomeUnknown`] or the job said otherwise through
//!   [`JobContext::set_effect`].
use crate::error::{Error, ErrorKind, Result};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A job's number within its operation, from 1 in submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(u64);

impl JobId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn new(n: u64) -> JobId {
        JobId(n)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// Which job goes first: higher runs earlier; equal priorities run in submission order.
/// Serialised as its number.
///
/// ```
/// use shopify_sync::executor::Priority;
/// assert!(Priority::HIGH > Priority::NORMAL && Priority::NORMAL > Priority::LOW);
/// assert_eq!(Priority::default(), Priority::NORMAL);
/// assert_eq!(serde_json::to_string(&Priority(7)).unwrap(), "7");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Priority(pub i32);

impl Priority {
    /// Background work (-10).
    pub const LOW: Priority = Priority(-10);
    /// The default (0).
    pub const NORMAL: Priority = Priority(0);
    /// Ahead of normal work (10).
    pub const HIGH: Priority = Priority(10);
}

/// What a job did to the outside world, as far as anyone can tell: reported for every
/// job that did not succeed, so that nothing is silently lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The effect happened (e.g. the write was acknowledged before the job was stopped).
    Done,
    /// Nothing happened: safe to run the job again.
    NotDone,
    /// It may or may not have happened: read the remote state before running it again.
    Unknown,
}

impl Effect {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Effect::Done => 1,
            Effect::NotDone => 2,
            Effect::Unknown => 3,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Effect> {
        match v {
            1 => Some(Effect::Done),
            2 => Some(Effect::NotDone),
            3 => Some(Effect::Unknown),
            _ => None,
        }
    }

    /// The effect of an attempt that ended with `error`, when the job did not say.
    pub(crate) fn of_error(error: &Error) -> Effect {
        if error.kind() == ErrorKind::OutcomeUnknown {
            Effect::Unknown
        } else {
            Effect::NotDone
        }
    }
}

/// How a job's retryable failures are retried: exponential backoff with jitter.
///
/// ```
/// use shopify_sync::executor::RetryPolicy;
/// use std::time::Duration;
/// let p = RetryPolicy::default();
/// assert_eq!(p.max_attempts, 3);
/// // The n-th backoff lies in [d/2, d] with d = initial * 2^(n-1), capped.
/// let b = p.backoff(2, 0.0);
/// assert_eq!(b, Duration::from_millis(500));
/// assert_eq!(p.backoff(2, 1.0), Duration::from_millis(1_000));
/// assert_eq!(RetryPolicy::none().max_attempts, 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 3; 1 means no retry).
    pub max_attempts: u32,
    /// The first backoff (default 500 ms); each next one doubles.
    pub initial_backoff: Duration,
    /// The longest backoff (default 30 s).
    pub max_backoff: Duration,
    /// Spread each backoff uniformly over its upper half, so that jobs failing together
    /// do not retry together (default true).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff after the `failures`-th failure (from 1), with `random` in [0, 1]
    /// drawing the jitter (ignored without jitter).
    pub fn backoff(&self, failures: u32, random: f64) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let cap = exp.min(self.max_backoff);
        if self.jitter {
            cap.mul_f64(0.5 + random.clamp(0.0, 1.0) * 0.5)
        } else {
            cap
        }
    }
}

/// Work the executor runs. Implement it for your own jobs, or build one from a closure
/// with [`job_fn`].
///
/// ```
/// use futures::future::BoxFuture;
/// use shopify_sync::error::Result;
/// use shopify_sync::executor::{Job, JobContext, Priority};
///
/// struct Touch { product: u64 }
///
/// impl Job for Touch {
///     fn run(&self, ctx: JobContext) -> BoxFuture<'_, Result<()>> {
///         Box::pin(async move {
///             let _ = (ctx.attempt(), self.product);
///             Ok(())
///         })
///     }
///     fn estimated_cost(&self) -> u32 { 10 }
///     fn priority(&self) -> Priority { Priority::HIGH }
///     fn key(&self) -> Option<String> { Some(format!("product:{}", self.product)) }
/// }
/// ```
pub trait Job: Send + Sync + 'static {
    /// One attempt. Called again for each retry.
    fn run(&self, ctx: JobContext) -> BoxFuture<'_, Result<()>>;

    /// Cost points the job will draw from the rate budget (for Shopify, the requested
    /// cost of its documents: [`crate::client::ShopifyClient::requested_cost`]). The
    /// executor starts a job only when the budget can cover it; 0 for jobs that do not
    /// spend the budget.
    fn estimated_cost(&self) -> u32;

    /// Higher first (default [`Priority::NORMAL`]).
    fn priority(&self) -> Priority {
        Priority::NORMAL
    }

    /// Deduplication key: a job submitted while another with the same key waits in the
    /// queue is not queued again (default none).
    fn key(&self) -> Option<String> {
        None
    }

    /// This job's retry policy; `None` (the default) uses the executor's.
    fn retry_policy(&self) -> Option<RetryPolicy> {
        None
    }
}

impl<J: Job + ?Sized> Job for Arc<J> {
    fn run(&self, ctx: JobContext) -> BoxFuture<'_, Result<()>> {
        (**self).run(ctx)
    }
    fn estimated_cost(&self) -> u32 {
        (**self).estimated_cost()
    }
    fn priority(&self) -> Priority {
        (**self).priority()
    }
    fn key(&self) -> Option<String> {
        (**self).key()
    }
    fn retry_policy(&self) -> Option<RetryPolicy> {
        (**self).retry_policy()
    }
}

impl<J: Job + ?Sized> Job for Box<J> {
    fn run(&self, ctx: JobContext) -> BoxFuture<'_, Result<()>> {
        (**self).run(ctx)
    }
    fn estimated_cost(&self) -> u32 {
        (**self).estimated_cost()
    }
    fn priority(&self) -> Priority {
        (**self).priority()
    }
    fn key(&self) -> Option<String> {
        (**self).key()
    }
    fn retry_policy(&self) -> Option<RetryPolicy> {
        (**self).retry_policy()
    }
}

/// What a running attempt sees: its identity, and the two ways it talks back (its
/// effect so far, and whether the operation is being cancelled).
#[derive(Debug, Clone)]
pub struct JobContext {
    id: JobId,
    attempt: u32,
    cost: u32,
    operation_id: Arc<str>,
    effect: Arc<AtomicU8>,
    cancelling: Arc<AtomicBool>,
}

impl JobContext {
    pub(crate) fn new(
        id: JobId,
        attempt: u32,
        cost: u32,
        operation_id: Arc<str>,
        cancelling: Arc<AtomicBool>,
    ) -> JobContext {
        JobContext {
            id,
            attempt,
            cost,
            operation_id,
            effect: Arc::new(AtomicU8::new(0)),
            cancelling,
        }
    }

    /// A context for running a job outside an executor (tests, one-off calls).
    ///
    /// ```
    /// use shopify_sync::executor::{Effect, JobContext};
    /// let ctx = JobContext::detached(1);
    /// assert_eq!(ctx.attempt(), 1);
    /// ctx.set_effect(Effect::NotDone);
    /// assert_eq!(ctx.effect(), Some(Effect::NotDone));
    /// ```
    pub fn detached(attempt: u32) -> JobContext {
        JobContext::new(
            JobId(0),
            attempt,
            0,
            Arc::from("detached"),
            Arc::new(AtomicBool::new(false)),
        )
    }

    /// The job's id.
    pub fn job_id(&self) -> JobId {
        self.id
    }

    /// This attempt's number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The cost reserved for this attempt.
    pub fn reserved_cost(&self) -> u32 {
        self.cost
    }

    /// The operation's id.
    pub fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// Record the job's effect so far, for the report if the attempt is stopped or
    /// fails: e.g. `NotDone` on entry, `Unknown` just before sending a mutation, `Done`
    /// once it was acknowledged. Without it, an attempt stopped by an immediate cancel is
    /// reported [`Effect::Unknown`], and a failed one per its error.
    pub fn set_effect(&self, effect: Effect) {
        self.effect.store(effect.to_u8(), Ordering::Release);
    }

    /// The effect last recorded with [`JobContext::set_effect`].
    pub fn effect(&self) -> Option<Effect> {
        Effect::from_u8(self.effect.load(Ordering::Acquire))
    }

    /// Whether the operation is being cancelled. In-flight jobs are let finish on a
    /// graceful cancel; a long job may check this to stop early at a safe point (and
    /// return an error with its effect recorded).
    pub fn is_cancelling(&self) -> bool {
        self.cancelling.load(Ordering::Acquire)
    }
}

/// A job made of a closure: see [`job_fn`].
pub struct FnJob<F> {
    f: F,
    cost: u32,
    priority: Priority,
    key: Option<String>,
    retry: Option<RetryPolicy>,
}

impl<F> fmt::Debug for FnJob<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnJob")
            .field("cost", &self.cost)
            .field("priority", &self.priority)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A job from a closure returning a future, with its estimated cost.
///
/// ```
/// use shopify_sync::executor::{job_fn, Job, Priority};
/// let job = job_fn(10, |ctx| async move {
///     println!("attempt {}", ctx.attempt());
///     Ok(())
/// })
/// .with_priority(Priority::HIGH)
/// .with_key("product:42");
/// assert_eq!(job.estimated_cost(), 10);
/// assert_eq!(job.key().as_deref(), Some("product:42"));
/// ```
pub fn job_fn<F, Fut>(estimated_cost: u32, f: F) -> FnJob<F>
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    FnJob {
        f,
        cost: estimated_cost,
        priority: Priority::NORMAL,
        key: None,
        retry: None,
    }
}

impl<F> FnJob<F> {
    /// Set the priority.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Set the deduplication key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Set the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
}

impl<F, Fut> Job for FnJob<F>
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    fn run(&self, ctx: JobContext) -> BoxFuture<'_, Result<()>> {
        Box::pin((self.f)(ctx))
    }
    fn estimated_cost(&self) -> u32 {
        self.cost
    }
    fn priority(&self) -> Priority {
        self.priority
    }
    fn key(&self) -> Option<String> {
        self.key.clone()
    }
    fn retry_policy(&self) -> Option<RetryPolicy> {
        self.retry.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1_000),
            jitter: false,
        };
        let seq: Vec<u128> = (1..=6).map(|n| p.backoff(n, 0.3).as_millis()).collect();
        assert_eq!(seq, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(p.backoff(u32::MAX, 0.0), Duration::from_millis(1_000));
    }

    #[test]
    fn effects_round_trip_and_derive_from_errors() {
        for e in [Effect::Done, Effect::NotDone, Effect::Unknown] {
            assert_eq!(Effect::from_u8(e.to_u8()), Some(e));
        }
        assert_eq!(Effect::from_u8(0), None);
        assert_eq!(
            Effect::of_error(&Error::new(ErrorKind::OutcomeUnknown, "x")),
            Effect::Unknown
        );
        assert_eq!(
            Effect::of_error(&Error::new(ErrorKind::Server, "x")),
            Effect::NotDone
        );
        assert_eq!(
            serde_json::to_string(&Effect::NotDone).unwrap(),
            "\"not_done\""
        );
    }
}
