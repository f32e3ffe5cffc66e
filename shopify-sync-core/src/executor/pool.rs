//! The scheduler and the worker pool: one task that owns admission (queue → budget →
//! start), scaling, retries and accounting, and one task per running job.
//!
//! A worker is a slot for one running job; the pool size bounds how many run at once.
//! Every decision happens in the scheduler task, under the state lock that submitters
//! and controllers take briefly, so events are numbered in the order things happened.
use super::budget::RateBudget;
use super::config::ExecutorConfig;
use super::event::{
    CancelMode, EffectCounts, ErrorInfo, EventKind, Progress, ScaleReason, Summary,
};
use super::job::{Effect, Job, JobContext, JobId};
use super::memory::MemoryProbe;
use super::queue::{Delayed, Entry, Queue};
use super::subscriber::Hub;
use super::{JobRecord, Report, Submitted};
use crate::error::{Error, ErrorKind, Result};
use futures::FutureExt;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Counters of the summary.
#[derive(Default)]
pub(crate) struct Counts {
    total: u64,
    succeeded: u64,
    failed: u64,
    cancelled: EffectCounts,
    deduplicated: u64,
    retries: u64,
    throttled: Duration,
}

pub(crate) struct State {
    pub(crate) hub: Hub,
    queue: Queue,
    delayed: BinaryHeap<Delayed>,
    delayed_cost: u64,
    next_id: u64,
    accepting: bool,
    paused: bool,
    cancel: Option<CancelMode>,
    running: usize,
    workers: usize,
    counts: Counts,
    progress_dirty: bool,
    rate_per_minute: f64,
    failed: Vec<JobRecord>,
    cancelled: Vec<JobRecord>,
    finished: bool,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    wake: Notify,
    room: Arc<Semaphore>,
    abort: watch::Sender<bool>,
    cancelling: Arc<AtomicBool>,
    pub(crate) budget: Arc<dyn RateBudget>,
    memory: Arc<dyn MemoryProbe>,
    memory_reading: Mutex<Option<(Instant, Option<u64>)>>,
    pub(crate) config: ExecutorConfig,
    pub(crate) operation_id: Arc<str>,
    started: Instant,
    finished: AtomicBool,
}

fn closed() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "the executor no longer accepts jobs: it was closed or cancelled",
    )
}

/// Why a submission was not admitted, before the job is consumed.
pub(crate) enum Refused {
    Closed,
    Full,
}

impl Shared {
    pub(crate) fn new(
        config: ExecutorConfig,
        budget: Arc<dyn RateBudget>,
        memory: Arc<dyn MemoryProbe>,
        hub: Hub,
        operation_id: Arc<str>,
    ) -> Shared {
        let (abort, _) = watch::channel(false);
        Shared {
            state: Mutex::new(State {
                hub,
                queue: Queue::default(),
                delayed: BinaryHeap::new(),
                delayed_cost: 0,
                next_id: 0,
                accepting: true,
                paused: false,
                cancel: None,
                running: 0,
                workers: config.min_workers,
                counts: Counts::default(),
                progress_dirty: false,
                rate_per_minute: 0.0,
                failed: vec![],
                cancelled: vec![],
                finished: false,
            }),
            wake: Notify::new(),
            room: Arc::new(Semaphore::new(config.queue_capacity)),
            abort,
            cancelling: Arc::new(AtomicBool::new(false)),
            budget,
            memory,
            memory_reading: Mutex::new(None),
            config,
            operation_id,
            started: Instant::now(),
            finished: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn emit_started(&self) {
        let c = &self.config;
        self.lock().hub.emit(EventKind::OperationStarted {
            min_workers: c.min_workers,
            max_workers: c.max_workers,
            queue_capacity: c.queue_capacity,
        });
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    // ---- submission ----

    /// What to answer without waiting: closed, or a duplicate of a waiting job.
    pub(crate) fn precheck(&self, key: Option<&str>) -> Result<Option<Submitted>> {
        let mut st = self.lock();
        if !st.accepting {
            return Err(closed());
        }
        if let Some(id) = key.and_then(|k| st.queue.holder(k)) {
            st.counts.deduplicated += 1;
            return Ok(Some(Submitted::Duplicate(id)));
        }
        Ok(None)
    }

    /// Whether resident memory is beyond the watermark (read at most once per poll
    /// interval).
    pub(crate) fn over_memory(&self) -> bool {
        let Some(mark) = self.config.memory_watermark else {
            return false;
        };
        let now = Instant::now();
        let mut cache = self
            .memory_reading
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let bytes = match *cache {
            Some((at, bytes)) if now < at + self.config.memory_poll_interval => bytes,
            _ => {
                let bytes = self.memory.resident_bytes();
                *cache = Some((now, bytes));
                bytes
            }
        };
        bytes.is_some_and(|b| b > mark)
    }

    /// Wait until memory is below the watermark.
    pub(crate) async fn wait_for_memory(&self) -> Result<()> {
        while self.over_memory() {
            if !self.lock().accepting {
                return Err(closed());
            }
            tokio::time::sleep(
                self.config
                    .memory_poll_interval
                    .max(Duration::from_millis(1)),
            )
            .await;
        }
        Ok(())
    }

    pub(crate) async fn room(&self) -> Result<OwnedSemaphorePermit> {
        self.room
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())
    }

    pub(crate) fn try_room(&self) -> std::result::Result<OwnedSemaphorePermit, Refused> {
        use tokio::sync::TryAcquireError;
        self.room.clone().try_acquire_owned().map_err(|e| match e {
            TryAcquireError::Closed => Refused::Closed,
            TryAcquireError::NoPermits => Refused::Full,
        })
    }

    /// Queue a job holding a place in the queue.
    pub(crate) fn admit<J: Job>(
        &self,
        job: J,
        key: Option<String>,
        permit: OwnedSemaphorePermit,
    ) -> std::result::Result<Submitted, (Refused, J)> {
        let mut st = self.lock();
        if !st.accepting {
            return Err((Refused::Closed, job));
        }
        if let Some(id) = key.as_deref().and_then(|k| st.queue.holder(k)) {
            st.counts.deduplicated += 1;
            return Ok(Submitted::Duplicate(id));
        }
        st.next_id += 1;
        let id = JobId::new(st.next_id);
        let priority = job.priority();
        let cost = job.estimated_cost();
        let retry = job
            .retry_policy()
            .unwrap_or_else(|| self.config.retry.clone());
        st.hub.emit(EventKind::JobQueued {
            job_id: id,
            key: key.clone(),
            priority,
            estimated_cost: cost,
        });
        st.queue.push(Entry {
            id,
            seq: id.get(),
            priority,
            cost,
            key,
            job: Arc::new(job),
            retry,
            attempts: 0,
            effect: None,
            last_error: None,
            permit: Some(permit),
        });
        st.counts.total += 1;
        st.progress_dirty = true;
        drop(st);
        self.wake.notify_one();
        Ok(Submitted::Queued(id))
    }

    // ---- control ----

    pub(crate) fn pause(&self) {
        let mut st = self.lock();
        if st.paused || st.finished || st.cancel.is_some() {
            return;
        }
        st.paused = true;
        st.hub.emit(EventKind::Paused {});
    }

    pub(crate) fn resume(&self) {
        let mut st = self.lock();
        if !st.paused {
            return;
        }
        st.paused = false;
        st.hub.emit(EventKind::Resumed {});
        drop(st);
        self.wake.notify_one();
    }

    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.accepting = false;
        self.room.close();
        drop(st);
        self.wake.notify_one();
    }

    pub(crate) fn cancel(&self, mode: CancelMode) {
        let mut st = self.lock();
        if st.finished {
            return;
        }
        match (st.cancel, mode) {
            (Some(CancelMode::Immediate), _)
            | (Some(CancelMode::Graceful), CancelMode::Graceful) => return,
            _ => {}
        }
        st.cancel = Some(mode);
        st.accepting = false;
        self.room.close();
        self.cancelling.store(true, Ordering::Release);
        let mut dropped = st.queue.drain();
        let delayed = std::mem::take(&mut st.delayed).into_sorted_vec();
        st.delayed_cost = 0;
        dropped.extend(delayed.into_iter().rev().map(|d| d.entry));
        let in_flight = st.running as u64;
        st.hub.emit(EventKind::Cancelled {
            mode,
            dropped: dropped.len() as u64,
            in_flight,
        });
        for entry in dropped {
            // Never started: not done. Waiting for a retry: what its last attempt left.
            let effect = entry.effect.unwrap_or(Effect::NotDone);
            record_cancelled(&mut st, entry, effect);
        }
        st.progress_dirty = true;
        if mode == CancelMode::Immediate {
            self.abort.send_replace(true);
        }
        drop(st);
        self.wake.notify_one();
    }

    // ---- progress ----

    pub(crate) fn progress(&self) -> Progress {
        let st = self.lock();
        self.progress_of(&st)
    }

    fn progress_of(&self, st: &State) -> Progress {
        let c = &st.counts;
        let queued = (st.queue.len() + st.delayed.len()) as u64;
        let remaining = queued + st.running as u64;
        let pending_cost = (st.queue.cost() + st.delayed_cost) as f64;
        let mut eta: Option<f64> = None;
        let restore = self.budget.restore_rate();
        if pending_cost > 0.0 && restore > 0.0 && restore < 1e12 {
            let missing = (pending_cost - self.budget.available()).max(0.0);
            eta = Some(missing / restore);
        }
        if st.rate_per_minute > 0.0 {
            let by_rate = remaining as f64 / (st.rate_per_minute / 60.0);
            eta = Some(eta.map_or(by_rate, |e| e.max(by_rate)));
        }
        let eta_ms = if remaining == 0 {
            Some(0)
        } else {
            eta.filter(|e| e.is_finite())
                .map(|e| (e * 1_000.0).min(u64::MAX as f64 / 2.0) as u64)
        };
        Progress {
            done: c.succeeded,
            failed: c.failed,
            cancelled: c.cancelled.total(),
            running: st.running as u64,
            queued,
            total: c.total,
            workers: st.workers as u64,
            rate_per_minute: (st.rate_per_minute * 10.0).round() / 10.0,
            eta_ms,
            elapsed_ms: millis(self.started.elapsed()),
        }
    }

    fn summary_of(&self, st: &State) -> Summary {
        let c = &st.counts;
        Summary {
            total: c.total,
            succeeded: c.succeeded,
            failed: c.failed,
            cancelled: c.cancelled,
            deduplicated: c.deduplicated,
            retries: c.retries,
            throttled_ms: millis(c.throttled),
            elapsed_ms: millis(self.started.elapsed()),
            cancel: st.cancel,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn record_cancelled(st: &mut State, entry: Entry, effect: Effect) {
    st.counts.cancelled.add(effect);
    st.hub.emit(EventKind::JobCancelled {
        job_id: entry.id,
        key: entry.key.clone(),
        effect,
    });
    st.cancelled.push(JobRecord {
        id: entry.id,
        key: entry.key,
        attempts: entry.attempts,
        effect,
        error: entry.last_error,
    });
}

/// How one attempt ended.
enum Attempt {
    Ok,
    Err(Error),
    Panicked(String),
    /// Stopped by an immediate cancel (or by the runtime shutting down).
    Aborted,
}

struct Running {
    entry: Entry,
    started: Instant,
    task: tokio::task::Id,
}

type TaskOutput = (JobId, Attempt, Option<Effect>);

/// The scheduler task's own state.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
    tasks: JoinSet<TaskOutput>,
    running: HashMap<JobId, Running>,
    throttled_since: Option<Instant>,
    last_shrink: Option<Instant>,
    idle_since: Option<Instant>,
    last_progress: Option<Instant>,
    /// (when, jobs ended by then), for the recent rate.
    samples: VecDeque<(Instant, u64)>,
    rng: u64,
    report: Option<oneshot::Sender<Report>>,
}

/// The earliest of the deadlines seen.
#[derive(Default)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn at(&mut self, t: Instant) {
        self.0 = Some(self.0.map_or(t, |d| d.min(t)));
    }
}

const RATE_WINDOW: Duration = Duration::from_secs(60);

impl Scheduler {
    pub(crate) fn new(shared: Arc<Shared>, report: oneshot::Sender<Report>) -> Scheduler {
        let started = shared.started;
        Scheduler {
            shared,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            throttled_since: None,
            last_shrink: None,
            idle_since: None,
            last_progress: None,
            samples: VecDeque::from([(started, 0)]),
            rng: std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1,
            report: Some(report),
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            while let Some(done) = self.tasks.try_join_next_with_id() {
                self.complete(done);
            }
            let deadline = self.step();
            if self.try_finish() {
                return;
            }
            let until = deadline
                .0
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3_600));
            let shared = self.shared.clone();
            tokio::select! {
                biased;
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.complete(done);
                }
                _ = shared.wake.notified() => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// A uniform draw in [0, 1) (splitmix64), for the backoff jitter.
    fn random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn end_throttle(&mut self, st: &mut State, now: Instant) {
        if let Some(t) = self.throttled_since.take() {
            st.counts.throttled += now.saturating_duration_since(t);
        }
    }

    /// One pass: due retries back to the queue, start what the pool and the budget
    /// allow, scale, report progress. Returns when to look again.
    fn step(&mut self) -> Deadline {
        let now = Instant::now();
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let mut next = Deadline::default();
        while let Some(d) = st.delayed.peek() {
            if d.due > now {
                next.at(d.due);
                break;
            }
            if let Some(d) = st.delayed.pop() {
                st.delayed_cost = st.delayed_cost.saturating_sub(u64::from(d.entry.cost));
                st.queue.push(d.entry);
            }
        }
        if st.cancel.is_none() && !st.paused {
            self.dispatch(&mut st, now, &mut next);
            self.idle(&mut st, now, &mut next);
        } else {
            self.end_throttle(&mut st, now);
            self.idle_since = None;
        }
        self.progress(&mut st, now, &mut next);
        next
    }

    fn dispatch(&mut self, st: &mut State, now: Instant, next: &mut Deadline) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let budget = self.shared.budget.clone();
        let from = st.workers;
        loop {
            let Some(cost) = st.queue.peek().map(|e| e.cost) else {
                self.end_throttle(st, now);
                break;
            };
            if st.running >= st.workers {
                // Every worker busy: one more while the budget has room for the next job,
                // unless the pool shrank for throttling within the scale interval.
                if st.workers < config.max_workers && budget.wait_for(cost).is_zero() {
                    match self.last_shrink {
                        Some(t) if now < t + config.scale_interval => {
                            next.at(t + config.scale_interval)
                        }
                        _ => {
                            st.workers += 1;
                            continue;
                        }
                    }
                }
                self.end_throttle(st, now);
                break;
            }
            match budget.try_reserve(cost) {
                Ok(()) => {
                    self.end_throttle(st, now);
                    if let Some(entry) = st.queue.pop() {
                        self.start(st, entry, now);
                    }
                }
                Err(wait) => {
                    let wait = wait.max(Duration::from_millis(1));
                    if self.throttled_since.is_none() {
                        self.throttled_since = Some(now);
                        let available = budget.available();
                        st.hub.emit(EventKind::Throttled {
                            wait_ms: millis(wait).max(1),
                            cost,
                            available: if available.is_finite() {
                                available
                            } else {
                                0.0
                            },
                        });
                    }
                    if st.workers > config.min_workers {
                        match self.last_shrink {
                            Some(t) if now < t + config.scale_interval => {
                                next.at(t + config.scale_interval)
                            }
                            _ => {
                                st.workers -= 1;
                                st.hub.emit(EventKind::WorkersScaled {
                                    from: st.workers + 1,
                                    to: st.workers,
                                    reason: ScaleReason::Throttled,
                                });
                                st.progress_dirty = true;
                                self.last_shrink = Some(now);
                                next.at(now + config.scale_interval);
                            }
                        }
                    }
                    next.at(now + wait);
                    break;
                }
            }
        }
        if st.workers > from {
            st.hub.emit(EventKind::WorkersScaled {
                from,
                to: st.workers,
                reason: ScaleReason::Headroom,
            });
            st.progress_dirty = true;
        }
    }

    fn start(&mut self, st: &mut State, mut entry: Entry, now: Instant) {
        entry.attempts += 1;
        entry.permit = None;
        st.running += 1;
        st.hub.emit(EventKind::JobStarted {
            job_id: entry.id,
            key: entry.key.clone(),
            attempt: entry.attempts,
        });
        let id = entry.id;
        let ctx = JobContext::new(
            id,
            entry.attempts,
            entry.cost,
            self.shared.operation_id.clone(),
            self.shared.cancelling.clone(),
        );
        let job = entry.job.clone();
        let mut abort = self.shared.abort.subscribe();
        let handle = self.tasks.spawn(async move {
            let seen = ctx.clone();
            let run = AssertUnwindSafe(job.run(ctx)).catch_unwind();
            let aborted = async move {
                if abort.wait_for(|a| *a).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            // The job first: one that ends in its first poll never registers with the
            // abort signal (and one that ended is reported as it ended).
            let attempt = tokio::select! {
                biased;
                r = run => match r {
                    Ok(Ok(())) => Attempt::Ok,
                    Ok(Err(e)) => Attempt::Err(e),
                    Err(panic) => Attempt::Panicked(panic_message(panic.as_ref())),
                },
                _ = aborted => Attempt::Aborted,
            };
            (id, attempt, seen.effect())
        });
        self.running.insert(
            id,
            Running {
                entry,
                started: now,
                task: handle.id(),
            },
        );
    }

    fn complete(
        &mut self,
        done: std::result::Result<(tokio::task::Id, TaskOutput), tokio::task::JoinError>,
    ) {
        let (id, attempt, effect) = match done {
            Ok((_, out)) => out,
            Err(e) => {
                // Only when the runtime stops the task: account for the job anyway.
                let Some(id) = self
                    .running
                    .iter()
                    .find(|(_, r)| r.task == e.id())
                    .map(|(id, _)| *id)
                else {
                    return;
                };
                (id, Attempt::Aborted, None)
            }
        };
        let Some(run) = self.running.remove(&id) else {
            return;
        };
        let now = Instant::now();
        let mut entry = run.entry;
        self.shared.budget.release(entry.cost);
        let shared = self.shared.clone();
        let mut st = shared.lock();
        st.running -= 1;
        st.progress_dirty = true;
        match attempt {
            Attempt::Ok => {
                st.counts.succeeded += 1;
                st.hub.emit(EventKind::JobSucceeded {
                    job_id: id,
                    key: entry.key,
                    attempt: entry.attempts,
                    elapsed_ms: millis(now.saturating_duration_since(run.started)),
                });
            }
            Attempt::Err(error) => {
                let effect = effect.unwrap_or_else(|| Effect::of_error(&error));
                let again = error.is_retryable() && entry.attempts < entry.retry.max_attempts;
                if again && st.cancel.is_none() {
                    let backoff = entry.retry.backoff(entry.attempts, self.random());
                    st.counts.retries += 1;
                    st.hub.emit(EventKind::JobRetrying {
                        job_id: id,
                        key: entry.key.clone(),
                        attempt: entry.attempts,
                        backoff_ms: millis(backoff),
                        error: ErrorInfo::from(&error),
                    });
                    entry.effect = Some(effect);
                    entry.last_error = Some(error);
                    st.delayed_cost += u64::from(entry.cost);
                    st.delayed.push(Delayed {
                        due: now + backoff,
                        entry,
                    });
                } else if again {
                    // Would have been retried, but the operation is being cancelled.
                    entry.last_error = Some(error);
                    record_cancelled(&mut st, entry, effect);
                } else if error.is_retryable() {
                    // Attempts ran out: persistent, so that no outer layer retries it.
                    fail(&mut st, entry, effect, error.persistent());
                } else {
                    fail(&mut st, entry, effect, error);
                }
            }
            Attempt::Panicked(message) => {
                let error = Error::new(
                    ErrorKind::OutcomeUnknown,
                    format!("the job panicked: {message}"),
                );
                fail(&mut st, entry, effect.unwrap_or(Effect::Unknown), error);
            }
            Attempt::Aborted => {
                record_cancelled(&mut st, entry, effect.unwrap_or(Effect::Unknown));
            }
        }
    }

    /// Let idle workers go after the idle timeout.
    fn idle(&mut self, st: &mut State, now: Instant, next: &mut Deadline) {
        let shared = self.shared.clone();
        let config = &shared.config;
        if !st.queue.is_empty() || st.running >= st.workers {
            self.idle_since = None;
            return;
        }
        let since = *self.idle_since.get_or_insert(now);
        let floor = config.min_workers.max(st.running);
        if st.workers <= floor {
            return;
        }
        let due = since + config.idle_timeout;
        if now >= due {
            let from = st.workers;
            st.workers = floor;
            st.hub.emit(EventKind::WorkersScaled {
                from,
                to: floor,
                reason: ScaleReason::Idle,
            });
            st.progress_dirty = true;
            self.idle_since = Some(now);
        } else {
            next.at(due);
        }
    }

    fn progress(&mut self, st: &mut State, now: Instant, next: &mut Deadline) {
        if !st.progress_dirty {
            return;
        }
        if let Some(t) = self.last_progress {
            let due = t + self.shared.config.progress_interval;
            if now < due {
                next.at(due);
                return;
            }
        }
        self.update_rate(st, now);
        st.progress_dirty = false;
        self.last_progress = Some(now);
        let p = self.shared.progress_of(st);
        st.hub.emit(EventKind::Progress(p));
    }

    fn update_rate(&mut self, st: &mut State, now: Instant) {
        let ended = st.counts.succeeded + st.counts.failed;
        while self.samples.len() > 1
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        if let Some((t, n)) = self.samples.front() {
            let secs = now.saturating_duration_since(*t).as_secs_f64();
            if secs > 0.0 {
                st.rate_per_minute = (ended.saturating_sub(*n)) as f64 / secs * 60.0;
            }
        }
        self.samples.push_back((now, ended));
    }

    /// When nothing is left and nothing more can come: the last progress, `finished`,
    /// and the report.
    fn try_finish(&mut self) -> bool {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        if st.accepting || !st.queue.is_empty() || !st.delayed.is_empty() || st.running > 0 {
            return false;
        }
        let now = Instant::now();
        self.end_throttle(&mut st, now);
        self.update_rate(&mut st, now);
        let progress = shared.progress_of(&st);
        st.hub.emit_always(EventKind::Progress(progress));
        let summary = shared.summary_of(&st);
        st.hub.emit(EventKind::Finished(summary.clone()));
        st.hub.close();
        st.finished = true;
        shared.finished.store(true, Ordering::Release);
        let report = Report {
            summary,
            failed: std::mem::take(&mut st.failed),
            cancelled: std::mem::take(&mut st.cancelled),
        };
        drop(st);
        if let Some(tx) = self.report.take() {
            let _ = tx.send(report);
        }
        true
    }
}

fn fail(st: &mut State, entry: Entry, effect: Effect, error: Error) {
    st.counts.failed += 1;
    st.hub.emit(EventKind::JobFailed {
        job_id: entry.id,
        key: entry.key.clone(),
        attempt: entry.attempts,
        effect,
        error: ErrorInfo::from(&error),
    });
    st.failed.push(JobRecord {
        id: entry.id,
        key: entry.key,
        attempts: entry.attempts,
        effect,
        error: Some(error),
    });
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}
