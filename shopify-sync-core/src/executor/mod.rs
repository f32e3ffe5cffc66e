//! The executor: runs [`Job`]s in parallel within a rate budget, in priority order, with
//! retries, backpressure, control, and events. The sync engine runs on it; so can your
//! own jobs.
//!
//! What it owns: the [`Job`] and [`RateBudget`] traits, the priority queue (FIFO within a
//! priority, deduplicated by key), the dynamic worker pool, per-job retries, the bounded
//! queue and the memory watermark, pause / resume / cancel, and the events ([`event`];
//! [`EventStream`] says how they are delivered).
//!
//! What it must not touch: HTTP, GraphQL, Shopify's bucket arithmetic (the
//! [`crate::client`] owns them; the executor only reads the shared bucket through
//! [`ShopBudget`]), the catalog model and staging (jobs bring their own work), and any
//! language binding (events are plain data with one JSON shape).
//!
//! How it runs:
//!
//! - **Admission.** [`Executor::submit`] waits while the queue is full
//!   ([`ExecutorConfig::queue_capacity`]) or the process's resident memory is over
//!   [`ExecutorConfig::memory_watermark`]; [`Executor::try_submit`] says so instead. A
//!   job whose [`Job::key`] matches a job still waiting in the queue is not queued again
//!   ([`Submitted::Duplicate`]); one matching a running job is (the running one may have
//!   read older data).
//! - **Start.** The highest-priority job starts when a worker is free and the budget
//!   reserves its [`Job::estimated_cost`]; the reservation is held until the job ends, so
//!   the running jobs together never overdraw the budget. While the budget says to wait,
//!   nothing starts (one `throttled` event per episode, with the wait).
//! - **Pool.** Between [`ExecutorConfig::min_workers`] and
//!   [`ExecutorConfig::max_workers`] (2 and 10): one more worker whenever every worker
//!   is busy, work is queued and the budget has room for the next job; one fewer per
//!   [`ExecutorConfig::scale_interval`] while throttled; back to the minimum (or the
//!   running count) after [`ExecutorConfig::idle_timeout`] with nothing to start.
//! - **Retries.** A retryable error ([`Error::is_retryable`]) is retried per the job's
//!   [`RetryPolicy`] (exponential backoff with jitter); the job's place in the queue is
//!   kept (its priority and submission order). Otherwise, or once attempts run out, the
//!   job ends failed with its last error; the others go on.
//! - **Control.** [`Executor::pause`] stops starting jobs, [`Executor::resume`] starts
//!   again. [`Executor::cancel`] (graceful) drops the queued jobs and lets the running
//!   ones finish; [`Executor::abort`] (immediate) also stops the running ones. Dropping
//!   the [`Executor`] cancels gracefully. Every job ends in exactly one of succeeded,
//!   failed or cancelled, and a job that did not succeed carries its [`Effect`]: done,
//!   not done, or unknown.
//!
//! ```no_run
//! # async fn demo() -> shopify_sync::error::Result<()> {
//! use serde_json::json;
//! use shopify_sync::client::ShopifyClient;
//! use shopify_sync::executor::{job_fn, Effect, Executor, ExecutorConfig};
//!
//! const UPDATE: &str = "mutation U($p: ProductUpdateInput!) { productUpdate(product: $p) { product { id } userErrors { message } } }";
//! let client = ShopifyClient::from_env()?;
//! let executor = Executor::for_client(&client)       // the shop's shared cost bucket
//!     .config(ExecutorConfig::from_env()?)
//!     .on_event(|e| println!("{}", serde_json::to_string(e).unwrap_or_default()))
//!     .start()?;
//! for id in [1, 2, 3] {
//!     let vars = json!({"p": {"id": format!("gid://shopify/Product/{id}"), "title": "New"}});
//!     let cost = client.requested_cost(UPDATE, &vars)?;
//!     let c = client.clone();
//!     let job = job_fn(cost, move |ctx| {
//!         let (c, vars) = (c.clone(), vars.clone());
//!         async move {
//!             ctx.set_effect(Effect::Unknown); // from here on the write may happen
//!             c.graphql(UPDATE, vars).await?;
//!             Ok(())
//!         }
//!     })
//!     .with_key(format!("product:{id}"));
//!     executor.submit(job).await?;
//! }
//! let report = executor.finish().await?;
//! println!("{} of {} updated", report.summary().succeeded(), report.summary().total());
//! # Ok(()) }
//! ```
pub mod budget;
pub mod config;
pub mod event;
pub mod job;
pub mod memory;
mod pool;
mod queue;
mod subscriber;

pub use budget::{LocalBudget, RateBudget, ShopBudget, Unlimited};
pub use config::ExecutorConfig;
pub use event::{
    CancelMode, EffectCounts, ErrorInfo, Event, EventKind, Progress, ScaleReason, Summary,
};
pub use job::{job_fn, Effect, FnJob, Job, JobContext, JobId, Priority, RetryPolicy};
pub use memory::{MemoryProbe, ProcessMemory};
pub use subscriber::{EventStream, TryRecv};

use crate::client::ShopifyClient;
use crate::error::{Error, ErrorKind, Result};
use pool::{Refused, Scheduler, Shared};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use subscriber::Hub;
use tokio::sync::oneshot;

/// What became of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Queued under this id.
    Queued(JobId),
    /// Not queued: the job with this id and the same key is waiting already.
    Duplicate(JobId),
}

impl Submitted {
    /// The id of the queued job (the new one, or the one it duplicates).
    pub fn id(self) -> JobId {
        match self {
            Submitted::Queued(id) | Submitted::Duplicate(id) => id,
        }
    }

    /// Whether it was a duplicate.
    pub fn is_duplicate(self) -> bool {
        matches!(self, Submitted::Duplicate(_))
    }
}

/// Why [`Executor::try_submit`] did not take a job; the job comes back.
pub enum TrySubmitError<J> {
    /// The queue is full.
    Full(J),
    /// Resident memory is over the watermark.
    OverMemory(J),
    /// The executor was closed or cancelled.
    Closed(J),
}

impl<J> TrySubmitError<J> {
    /// The job that was not taken.
    pub fn into_job(self) -> J {
        match self {
            TrySubmitError::Full(j) | TrySubmitError::OverMemory(j) | TrySubmitError::Closed(j) => {
                j
            }
        }
    }
}

impl<J> fmt::Debug for TrySubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySubmitError::Full(_) => "Full(..)",
            TrySubmitError::OverMemory(_) => "OverMemory(..)",
            TrySubmitError::Closed(_) => "Closed(..)",
        })
    }
}

impl<J> fmt::Display for TrySubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySubmitError::Full(_) => "the executor's queue is full",
            TrySubmitError::OverMemory(_) => {
                "the process's memory is over the executor's watermark"
            }
            TrySubmitError::Closed(_) => "the executor no longer accepts jobs",
        })
    }
}

impl<J> std::error::Error for TrySubmitError<J> {}

/// A job that did not succeed, as the [`Report`] keeps it.
#[derive(Debug)]
pub struct JobRecord {
    id: JobId,
    key: Option<String>,
    attempts: u32,
    effect: Effect,
    error: Option<Error>,
}

impl JobRecord {
    /// The job.
    pub fn id(&self) -> JobId {
        self.id
    }
    /// Its key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
    /// Attempts started (0: never started).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Its effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// Its last error, with all its context (request id, userErrors ...), if it had one.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// How an operation ended: the summary, and every job that did not succeed.
#[derive(Debug)]
pub struct Report {
    summary: Summary,
    failed: Vec<JobRecord>,
    cancelled: Vec<JobRecord>,
}

impl Report {
    /// The counts.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }
    /// Jobs that failed for good, in the order they did.
    pub fn failed(&self) -> &[JobRecord] {
        &self.failed
    }
    /// Jobs cancelled, in the order they were.
    pub fn cancelled(&self) -> &[JobRecord] {
        &self.cancelled
    }
}

type Callback = Box<dyn FnMut(&Event) + Send>;

/// Configures and starts an [`Executor`]: [`Executor::builder`] or
/// [`Executor::for_client`].
pub struct ExecutorBuilder {
    budget: Arc<dyn RateBudget>,
    config: ExecutorConfig,
    memory: Arc<dyn MemoryProbe>,
    operation_id: Option<String>,
    streams: Vec<Arc<subscriber::Subscriber>>,
    callbacks: Vec<(EventStream, Callback)>,
}

impl fmt::Debug for ExecutorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorBuilder")
            .field("budget", &self.budget)
            .field("config", &self.config)
            .field("operation_id", &self.operation_id)
            .finish_non_exhaustive()
    }
}

impl ExecutorBuilder {
    /// The configuration (default: [`ExecutorConfig::default`]; see
    /// [`ExecutorConfig::from_env`]).
    pub fn config(mut self, config: ExecutorConfig) -> Self {
        self.config = config;
        self
    }

    /// The operation id events carry (default: `op-` and 16 random hex digits).
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.operation_id = Some(id.into());
        self
    }

    /// Where resident memory is read (default [`ProcessMemory`]).
    pub fn memory_probe(mut self, probe: Arc<dyn MemoryProbe>) -> Self {
        self.memory = probe;
        self
    }

    /// Call `f` with every event, from `operation_started` to `finished`, on a thread
    /// of its own (a slow callback delays nobody but itself; see [`EventStream`] for
    /// what it may miss when it falls behind).
    pub fn on_event(mut self, f: impl FnMut(&Event) + Send + 'static) -> Self {
        self.callbacks.push((EventStream::new(), Box::new(f)));
        self
    }

    /// A stream of every event, from `operation_started` to `finished`.
    pub fn events(&mut self) -> EventStream {
        let stream = EventStream::new();
        self.streams.push(stream.subscriber());
        stream
    }

    /// Start: validates the configuration, emits `operation_started`, spawns the
    /// scheduler on the current Tokio runtime (an error outside one).
    pub fn start(self) -> Result<Executor> {
        self.config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::invalid_input("the executor must be started inside a Tokio runtime")
        })?;
        let operation_id: Arc<str> = self.operation_id.unwrap_or_else(new_operation_id).into();
        let mut hub = Hub::new(operation_id.clone(), self.config.event_buffer);
        for sub in self.streams {
            hub.attach(sub);
        }
        for (stream, f) in self.callbacks {
            hub.attach(stream.subscriber());
            subscriber::spawn_callback(stream, f).map_err(|e| {
                Error::invalid_input(format!("cannot start the event callback thread: {e}"))
                    .with_source(e)
            })?;
        }
        let shared = Arc::new(Shared::new(
            self.config,
            self.budget,
            self.memory,
            hub,
            operation_id,
        ));
        shared.emit_started();
        let (tx, rx) = oneshot::channel();
        runtime.spawn(Scheduler::new(shared.clone(), tx).run());
        Ok(Executor {
            shared,
            report: Some(rx),
        })
    }
}

fn new_operation_id() -> String {
    let random =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    format!("op-{random:016x}")
}

/// A running executor. Submit jobs, control it, watch it, then [`Executor::finish`].
/// Dropping it cancels gracefully.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shopify_sync::error::Result<()> {
/// use shopify_sync::executor::{job_fn, Executor, LocalBudget};
/// use std::sync::Arc;
/// // 100 points, restoring 1,000 a second.
/// let executor = Executor::builder(Arc::new(LocalBudget::new(100.0, 1_000.0))).start()?;
/// for n in 0..20 {
///     executor.submit(job_fn(10, move |_ctx| async move { let _ = n; Ok(()) })).await?;
/// }
/// let report = executor.finish().await?;
/// assert_eq!(report.summary().succeeded(), 20);
/// # Ok(()) }
/// ```
pub struct Executor {
    shared: Arc<Shared>,
    report: Option<oneshot::Receiver<Report>>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("operation_id", &&*self.shared.operation_id)
            .field("progress", &self.shared.progress())
            .finish()
    }
}

impl Executor {
    /// A builder over `budget`.
    pub fn builder(budget: Arc<dyn RateBudget>) -> ExecutorBuilder {
        ExecutorBuilder {
            budget,
            config: ExecutorConfig::default(),
            memory: Arc::new(ProcessMemory),
            operation_id: None,
            streams: vec![],
            callbacks: vec![],
        }
    }

    /// A builder over the default budget: `client`'s shop cost bucket, shared with every
    /// client and executor of that shop in the process ([`ShopBudget`]).
    pub fn for_client(client: &ShopifyClient) -> ExecutorBuilder {
        Executor::builder(ShopBudget::for_client(client))
    }

    /// The operation id.
    pub fn operation_id(&self) -> &str {
        &self.shared.operation_id
    }

    /// Queue a job, waiting while the queue is full or memory is over the watermark.
    /// Fails with [`ErrorKind::Cancelled`] once the executor is closed or cancelled.
    pub async fn submit<J: Job>(&self, job: J) -> Result<Submitted> {
        let key = job.key();
        // Answer duplicates at once, without waiting for room (no key: nothing to check;
        // a closed executor refuses the job below).
        if key.is_some() {
            if let Some(answer) = self.shared.precheck(key.as_deref())? {
                return Ok(answer);
            }
        }
        self.shared.wait_for_memory().await?;
        let permit = self.shared.room().await?;
        self.shared
            .admit(job, key, permit)
            .map_err(|_| Error::new(ErrorKind::Cancelled, "the executor no longer accepts jobs"))
    }

    /// Queue a job if that is possible now; otherwise the job comes back with the reason.
    pub fn try_submit<J: Job>(&self, job: J) -> Result<Submitted, TrySubmitError<J>> {
        let key = job.key();
        match self.shared.precheck(key.as_deref()) {
            Err(_) => return Err(TrySubmitError::Closed(job)),
            Ok(Some(answer)) => return Ok(answer),
            Ok(None) => {}
        }
        if self.shared.over_memory() {
            return Err(TrySubmitError::OverMemory(job));
        }
        let permit = match self.shared.try_room() {
            Ok(p) => p,
            Err(Refused::Full) => return Err(TrySubmitError::Full(job)),
            Err(_) => return Err(TrySubmitError::Closed(job)),
        };
        self.shared
            .admit(job, key, permit)
            .map_err(|(why, job)| match why {
                Refused::Full => TrySubmitError::Full(job),
                Refused::Closed => TrySubmitError::Closed(job),
            })
    }

    /// A stream of the events from now on (see [`ExecutorBuilder::events`] to get them
    /// all, `operation_started` included).
    pub fn subscribe(&self) -> EventStream {
        self.shared.lock().hub.subscribe()
    }

    /// Where the operation stands.
    pub fn progress(&self) -> Progress {
        self.shared.progress()
    }

    /// A cloneable handle to pause, resume, cancel and watch from elsewhere.
    pub fn control(&self) -> ExecutorControl {
        ExecutorControl {
            shared: self.shared.clone(),
        }
    }

    /// Start no new job until [`Executor::resume`]; running ones go on.
    pub fn pause(&self) {
        self.shared.pause()
    }

    /// Start jobs again.
    pub fn resume(&self) {
        self.shared.resume()
    }

    /// Cancel gracefully: queued jobs are dropped (reported cancelled, effect not done),
    /// running ones finish. Returns at once; [`Executor::join`] waits for the end.
    pub fn cancel(&self) {
        self.shared.cancel(CancelMode::Graceful)
    }

    /// Cancel immediately: queued jobs are dropped and running ones are stopped
    /// (reported cancelled, with the effect they recorded, else unknown).
    pub fn abort(&self) {
        self.shared.cancel(CancelMode::Immediate)
    }

    /// Accept no more jobs; the queued ones still run.
    pub fn close(&self) {
        self.shared.close()
    }

    /// Wait for the end (after [`Executor::close`], a cancel, or forever if neither).
    pub async fn join(mut self) -> Result<Report> {
        let Some(rx) = self.report.take() else {
            return Err(Error::new(
                ErrorKind::Cancelled,
                "the executor already ended",
            ));
        };
        rx.await.map_err(|_| {
            Error::new(
                ErrorKind::Cancelled,
                "the executor's scheduler stopped before the end (its runtime shut down)",
            )
        })
    }

    /// Accept no more jobs, run the queued ones, and report. A paused executor ends
    /// once resumed (or cancelled).
    pub async fn finish(self) -> Result<Report> {
        self.close();
        self.join().await
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if !self.shared.is_finished() {
            self.shared.cancel(CancelMode::Graceful);
        }
    }
}

/// Pause, resume, cancel and watch an [`Executor`] from elsewhere (another task, a web
/// request handler). Cloneable; it does not keep the operation from ending.
#[derive(Clone)]
pub struct ExecutorControl {
    shared: Arc<Shared>,
}

impl fmt::Debug for ExecutorControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorControl")
            .field("operation_id", &&*self.shared.operation_id)
            .finish()
    }
}

impl ExecutorControl {
    /// The operation id.
    pub fn operation_id(&self) -> &str {
        &self.shared.operation_id
    }
    /// See [`Executor::pause`].
    pub fn pause(&self) {
        self.shared.pause()
    }
    /// See [`Executor::resume`].
    pub fn resume(&self) {
        self.shared.resume()
    }
    /// See [`Executor::cancel`].
    pub fn cancel(&self) {
        self.shared.cancel(CancelMode::Graceful)
    }
    /// See [`Executor::abort`].
    pub fn abort(&self) {
        self.shared.cancel(CancelMode::Immediate)
    }
    /// See [`Executor::progress`].
    pub fn progress(&self) -> Progress {
        self.shared.progress()
    }
    /// See [`Executor::subscribe`].
    pub fn subscribe(&self) -> EventStream {
        self.shared.lock().hub.subscribe()
    }
    /// Whether the operation ended (`finished` was emitted).
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }
}
