//! The executor with fake jobs: order, deduplication, scaling, budget, retries,
//! backpressure, control, and events. No timed assertions: waits are "until", bounded
//! only to fail instead of hanging.
use shopify_sync::client::throttle::{CostBucket, CostReport};
use shopify_sync::error::{Error, ErrorKind};
use shopify_sync::executor::{
    job_fn, CancelMode, Effect, Event, EventKind, EventStream, Executor, ExecutorBuilder,
    ExecutorConfig, FnJob, Job, JobContext, MemoryProbe, Priority, RateBudget, RetryPolicy,
    ScaleReason, ShopBudget, Submitted, TryRecv, TrySubmitError, Unlimited,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

fn config(min: usize, max: usize) -> ExecutorConfig {
    ExecutorConfig {
        min_workers: min,
        max_workers: max,
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        progress_interval: Duration::from_millis(5),
        ..ExecutorConfig::default()
    }
}

fn unlimited(c: ExecutorConfig) -> ExecutorBuilder {
    Executor::builder(Arc::new(Unlimited)).config(c)
}

/// Wait until `cond` holds; fail (rather than hang) after 20 s.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..4_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

fn drain(stream: &mut EventStream) -> Vec<Event> {
    let mut out = vec![];
    while let TryRecv::Event(e) = stream.try_recv() {
        out.push(e);
    }
    out
}

fn of_type<'a>(events: &'a [Event], t: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.type_name() == t).collect()
}

/// A job that waits for a permit of `gate` (the test releases them).
fn gated(gate: &Arc<Semaphore>, cost: u32) -> impl Job {
    let gate = gate.clone();
    job_fn(cost, move |_| {
        let gate = gate.clone();
        async move {
            if let Ok(p) = gate.acquire().await {
                p.forget();
            }
            Ok(())
        }
    })
}

/// A job that appends `label` to `log` when it runs.
fn logging(log: &Arc<Mutex<Vec<String>>>, label: &str, priority: Priority) -> impl Job {
    let (log, label) = (log.clone(), label.to_string());
    job_fn(0, move |_| {
        let (log, label) = (log.clone(), label.clone());
        async move {
            log.lock().unwrap().push(label);
            Ok(())
        }
    })
    .with_priority(priority)
}

#[tokio::test]
async fn higher_priority_first_and_fifo_within_a_priority() {
    let executor = unlimited(config(1, 1)).start().unwrap();
    let log = Arc::new(Mutex::new(vec![]));
    executor.pause();
    for (label, p) in [
        ("n1", Priority::NORMAL),
        ("l1", Priority::LOW),
        ("h1", Priority::HIGH),
        ("n2", Priority::NORMAL),
        ("h2", Priority::HIGH),
        ("x", Priority(99)),
        ("l2", Priority::LOW),
        ("n3", Priority::NORMAL),
    ] {
        executor.submit(logging(&log, label, p)).await.unwrap();
    }
    executor.resume();
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().succeeded(), 8);
    assert_eq!(
        *log.lock().unwrap(),
        ["x", "h1", "h2", "n1", "n2", "n3", "l1", "l2"]
    );
}

#[tokio::test]
async fn a_key_waiting_in_the_queue_is_not_queued_twice() {
    let mut builder = unlimited(config(1, 1));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let log = Arc::new(Mutex::new(vec![]));
    let keyed = |label: &str, key: &str| {
        let (log, label) = (log.clone(), label.to_string());
        job_fn(0, move |_| {
            let (log, label) = (log.clone(), label.clone());
            async move {
                log.lock().unwrap().push(label);
                Ok(())
            }
        })
        .with_key(key)
    };
    executor.pause();
    let a = executor.submit(keyed("a1", "product:1")).await.unwrap();
    let dup = executor.submit(keyed("a2", "product:1")).await.unwrap();
    let b = executor.submit(keyed("b", "product:2")).await.unwrap();
    assert!(matches!(a, Submitted::Queued(_)));
    assert_eq!(dup, Submitted::Duplicate(a.id()));
    assert!(dup.is_duplicate());
    assert!(matches!(b, Submitted::Queued(id) if id != a.id()));
    // try_submit deduplicates the same way.
    let again = executor.try_submit(keyed("a3", "product:1")).unwrap();
    assert_eq!(again, Submitted::Duplicate(a.id()));
    executor.resume();
    let report = executor.finish().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["a1", "b"]);
    let s = report.summary();
    assert_eq!((s.total(), s.succeeded(), s.deduplicated()), (2, 2, 2));
    assert_eq!(of_type(&drain(&mut events), "job_queued").len(), 2);
}

#[tokio::test]
async fn a_key_is_free_again_once_its_job_started() {
    let gate = Arc::new(Semaphore::new(0));
    let executor = unlimited(config(1, 1)).start().unwrap();
    let g = gate.clone();
    let first = job_fn(0, move |_| {
        let g = g.clone();
        async move {
            let _ = g.acquire().await;
            Ok(())
        }
    })
    .with_key("k");
    let first = executor.submit(first).await.unwrap();
    until("the first job runs", || executor.progress().running() == 1).await;
    // The running job may have read older data: the new one is queued.
    let second = executor
        .submit(job_fn(0, |_| async { Ok(()) }).with_key("k"))
        .await
        .unwrap();
    assert!(matches!(second, Submitted::Queued(id) if id != first.id()));
    gate.add_permits(1);
    assert_eq!(executor.finish().await.unwrap().summary().succeeded(), 2);
}

/// A budget the test opens and closes, counting what runs at once.
#[derive(Debug, Default)]
struct Gate {
    closed: AtomicBool,
}

impl RateBudget for Gate {
    fn try_reserve(&self, _cost: u32) -> Result<(), Duration> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Duration::from_millis(10))
        } else {
            Ok(())
        }
    }
    fn release(&self, _cost: u32) {}
    fn wait_for(&self, _cost: u32) -> Duration {
        if self.closed.load(Ordering::SeqCst) {
            Duration::from_millis(10)
        } else {
            Duration::ZERO
        }
    }
    fn available(&self) -> f64 {
        if self.closed.load(Ordering::SeqCst) {
            0.0
        } else {
            1_000.0
        }
    }
    fn restore_rate(&self) -> f64 {
        100.0
    }
}

#[tokio::test]
async fn the_pool_scales_between_its_bounds_as_headroom_changes() {
    let budget = Arc::new(Gate::default());
    let mut c = config(2, 10);
    c.scale_interval = Duration::from_millis(20);
    c.idle_timeout = Duration::from_millis(50);
    let mut builder = Executor::builder(budget.clone()).config(c);
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let job = || {
        let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
        job_fn(1, move |_| {
            let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                if let Ok(p) = gate.acquire().await {
                    p.forget();
                }
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
    };
    for _ in 0..40 {
        executor.submit(job()).await.unwrap();
    }
    // Headroom and a backlog: up to the maximum, and no further.
    until("10 workers", || executor.progress().workers() == 10).await;
    until("10 running", || executor.progress().running() == 10).await;
    // The budget closes; the running jobs end: throttled, the pool shrinks to the minimum.
    budget.closed.store(true, Ordering::SeqCst);
    gate.add_permits(10);
    until("2 workers", || executor.progress().workers() == 2).await;
    assert_eq!(executor.progress().running(), 0);
    // It opens again: back up to the maximum.
    budget.closed.store(false, Ordering::SeqCst);
    until("10 running again", || executor.progress().running() == 10).await;
    // Everything ends: idle, down to the minimum.
    gate.add_permits(1_000);
    until("all done", || executor.progress().done() == 40).await;
    until("idle at 2", || executor.progress().workers() == 2).await;
    executor.finish().await.unwrap();
    assert_eq!(
        peak.load(Ordering::SeqCst),
        10,
        "never more than max_workers"
    );

    let events = drain(&mut events);
    let scaled: Vec<(usize, usize, ScaleReason)> = events
        .iter()
        .filter_map(|e| match e.kind() {
            EventKind::WorkersScaled {
                from, to, reason, ..
            } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect();
    for (from, to, reason) in &scaled {
        assert!(
            (2..=10).contains(from) && (2..=10).contains(to),
            "{scaled:?}"
        );
        match reason {
            ScaleReason::Headroom => assert!(to > from),
            ScaleReason::Throttled => assert_eq!(from - to, 1, "one at a time"),
            ScaleReason::Idle => assert!(to < from),
        }
    }
    for reason in [
        ScaleReason::Headroom,
        ScaleReason::Throttled,
        ScaleReason::Idle,
    ] {
        assert!(
            scaled.iter().any(|s| s.2 == reason),
            "{reason:?}: {scaled:?}"
        );
    }
    assert!(!of_type(&events, "throttled").is_empty());
}

/// A bucket of 100 points, restoring 2,000 a second, as Shopify reports it.
fn small_bucket() -> Arc<CostBucket> {
    let bucket = Arc::new(CostBucket::new());
    bucket.settle(
        0,
        Some(&CostReport {
            requested: 0,
            actual: Some(0),
            maximum: 100.0,
            available: 100.0,
            restore_rate: 2_000.0,
        }),
    );
    bucket
}

#[tokio::test]
async fn ten_workers_never_overdraw_the_shared_bucket() {
    let bucket = small_bucket();
    let budget = ShopBudget::shared(&bucket);
    let mut c = config(10, 10);
    c.event_buffer = 100_000;
    let mut builder = Executor::builder(budget.clone()).config(c);
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let overdrawn = Arc::new(AtomicU64::new(0));
    for n in 0..300u32 {
        let (bucket, overdrawn) = (bucket.clone(), overdrawn.clone());
        let cost = 10 + n % 7;
        let job = job_fn(cost, move |_| {
            let (bucket, overdrawn) = (bucket.clone(), overdrawn.clone());
            async move {
                // What the client does with the throttle off: take the points, no wait.
                if bucket.available() + 1e-6 < f64::from(cost) {
                    overdrawn.fetch_add(1, Ordering::SeqCst);
                }
                bucket.take_now(cost);
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(())
            }
        });
        executor.submit(job).await.unwrap();
    }
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().succeeded(), 300);
    assert_eq!(
        overdrawn.load(Ordering::SeqCst),
        0,
        "a job found the bucket short"
    );
    assert_eq!(budget.reserved(), 0, "every reservation released");
    // 3,900 points through a 100-point bucket: the budget was the bottleneck.
    assert!(!of_type(&drain(&mut events), "throttled").is_empty());
    assert!(report.summary().throttled() > Duration::ZERO);
}

type Attempt = futures::future::BoxFuture<'static, shopify_sync::error::Result<()>>;

/// Fails `failures` times with `kind`, then succeeds; counts attempts.
fn flaky(
    failures: u32,
    kind: ErrorKind,
    attempts: &Arc<AtomicU64>,
) -> FnJob<impl Fn(JobContext) -> Attempt + Send + Sync + 'static> {
    let attempts = attempts.clone();
    job_fn(0, move |ctx: JobContext| -> Attempt {
        let attempts = attempts.clone();
        Box::pin(async move {
            attempts.fetch_add(1, Ordering::SeqCst);
            if ctx.attempt() <= failures {
                Err(Error::new(
                    kind,
                    format!("attempt {} failed", ctx.attempt()),
                ))
            } else {
                Ok(())
            }
        })
    })
}

#[tokio::test]
async fn retryable_failures_are_retried_with_backoff_and_jitter() {
    let mut builder = unlimited(config(2, 4));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let attempts = Arc::new(AtomicU64::new(0));
    // Twice a 503, then fine: three attempts allowed by default.
    let ok = executor
        .submit(flaky(2, ErrorKind::Server, &attempts))
        .await
        .unwrap();
    // Always a 503: fails after three attempts with its last error.
    let dead = executor
        .submit(flaky(100, ErrorKind::Server, &attempts))
        .await
        .unwrap();
    // Not retryable: fails at once.
    let bad = executor
        .submit(flaky(100, ErrorKind::InvalidInput, &attempts))
        .await
        .unwrap();
    // A write whose outcome is unknown: not retried, effect unknown.
    let unknown = executor
        .submit(flaky(100, ErrorKind::OutcomeUnknown, &attempts))
        .await
        .unwrap();
    // A job with its own policy: five attempts, fixed backoff.
    let own = executor
        .submit(
            flaky(4, ErrorKind::Timeout, &attempts).with_retry(RetryPolicy {
                max_attempts: 5,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
                jitter: false,
            }),
        )
        .await
        .unwrap();
    // Others go on meanwhile.
    for _ in 0..10 {
        executor
            .submit(job_fn(0, |_| async { Ok(()) }))
            .await
            .unwrap();
    }
    let report = executor.finish().await.unwrap();
    let s = report.summary();
    assert_eq!((s.total(), s.succeeded(), s.failed()), (15, 12, 3));
    assert_eq!(s.retries(), 2 + 2 + 4);
    assert_eq!(attempts.load(Ordering::SeqCst), 3 + 3 + 1 + 1 + 5);

    let failed: HashMap<_, _> = report.failed().iter().map(|r| (r.id(), r)).collect();
    let d = failed[&dead.id()];
    assert_eq!((d.attempts(), d.effect()), (3, Effect::NotDone));
    let last = d.error().unwrap();
    assert_eq!(last.kind(), ErrorKind::Server);
    assert_eq!(last.to_string(), "attempt 3 failed");
    assert!(
        !last.is_retryable(),
        "marked persistent once retries ran out"
    );
    assert_eq!(failed[&bad.id()].attempts(), 1);
    assert_eq!(failed[&unknown.id()].effect(), Effect::Unknown);
    assert!(!failed.contains_key(&ok.id()) && !failed.contains_key(&own.id()));

    let events = drain(&mut events);
    let retrying: Vec<(u64, u32, u64)> = events
        .iter()
        .filter_map(|e| match e.kind() {
            EventKind::JobRetrying {
                job_id,
                attempt,
                backoff_ms,
                error,
                ..
            } => {
                assert!(error.retryable());
                Some((job_id.get(), *attempt, *backoff_ms))
            }
            _ => None,
        })
        .collect();
    assert_eq!(retrying.len(), 8);
    for (job, attempt, backoff) in retrying {
        if job == own.id().get() {
            assert_eq!(backoff, 1, "no jitter");
        } else {
            // Default policy here: 2 ms doubling, jittered over the upper half.
            let full = (2u64 << (attempt - 1)).min(20);
            assert!(
                backoff >= full / 2 && backoff <= full,
                "{attempt}: {backoff}"
            );
        }
    }
    let failed_events: Vec<_> = events
        .iter()
        .filter_map(|e| match e.kind() {
            EventKind::JobFailed {
                job_id,
                attempt,
                effect,
                error,
                ..
            } => Some((*job_id, *attempt, *effect, error.kind(), error.retryable())),
            _ => None,
        })
        .collect();
    assert!(failed_events.contains(&(dead.id(), 3, Effect::NotDone, ErrorKind::Server, false)));
    assert!(failed_events.contains(&(
        unknown.id(),
        1,
        Effect::Unknown,
        ErrorKind::OutcomeUnknown,
        false
    )));
}

#[tokio::test]
async fn a_panicking_job_fails_with_an_unknown_effect_and_the_rest_go_on() {
    let executor = unlimited(config(2, 2)).start().unwrap();
    let boom = executor
        .submit(job_fn(0, |ctx| async move {
            if ctx.attempt() > 0 {
                panic!("boom");
            }
            Ok(())
        }))
        .await
        .unwrap();
    for _ in 0..5 {
        executor
            .submit(job_fn(0, |_| async { Ok(()) }))
            .await
            .unwrap();
    }
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().succeeded(), 5);
    let r = &report.failed()[0];
    assert_eq!((r.id(), r.effect()), (boom.id(), Effect::Unknown));
    let e = r.error().unwrap();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
    assert!(e.to_string().contains("boom"), "{e}");
}

#[tokio::test]
async fn a_full_queue_holds_submitters_back() {
    let mut c = config(1, 1);
    c.queue_capacity = 3;
    let executor = Arc::new(unlimited(c).start().unwrap());
    let gate = Arc::new(Semaphore::new(0));
    executor.submit(gated(&gate, 0)).await.unwrap();
    until("the first job runs", || executor.progress().running() == 1).await;
    for _ in 0..3 {
        executor.submit(gated(&gate, 0)).await.unwrap();
    }
    // Three waiting: full.
    let refused = executor.try_submit(gated(&gate, 0)).unwrap_err();
    assert!(matches!(refused, TrySubmitError::Full(_)), "{refused}");
    let waiting = {
        let (executor, gate) = (executor.clone(), gate.clone());
        tokio::spawn(async move { executor.submit(gated(&gate, 0)).await })
    };
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(
        !waiting.is_finished(),
        "submit waits while the queue is full"
    );
    assert_eq!(executor.progress().queued(), 3);
    // One job ends, the next starts: room for the waiting submitter.
    gate.add_permits(1);
    let submitted = waiting.await.unwrap().unwrap();
    assert!(matches!(submitted, Submitted::Queued(_)));
    gate.add_permits(100);
    let executor = Arc::into_inner(executor).unwrap();
    assert_eq!(executor.finish().await.unwrap().summary().succeeded(), 5);
}

/// Memory the test sets.
#[derive(Debug, Default)]
struct FakeMemory(AtomicU64);

impl MemoryProbe for FakeMemory {
    fn resident_bytes(&self) -> Option<u64> {
        Some(self.0.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn over_the_memory_watermark_no_job_is_admitted_until_it_falls() {
    let memory = Arc::new(FakeMemory(AtomicU64::new(100)));
    let mut c = config(1, 2);
    c.memory_watermark = Some(1_000);
    c.memory_poll_interval = Duration::from_millis(1);
    let executor = Arc::new(unlimited(c).memory_probe(memory.clone()).start().unwrap());
    executor
        .submit(job_fn(0, |_| async { Ok(()) }))
        .await
        .unwrap();
    memory.0.store(5_000, Ordering::SeqCst);
    // Past the poll interval, the next admission reads the new figure.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(matches!(
        executor.try_submit(job_fn(0, |_| async { Ok(()) })),
        Err(TrySubmitError::OverMemory(_))
    ));
    let waiting = {
        let executor = executor.clone();
        tokio::spawn(async move { executor.submit(job_fn(0, |_| async { Ok(()) })).await })
    };
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(!waiting.is_finished(), "submit waits while memory is high");
    assert_eq!(executor.progress().total(), 1);
    memory.0.store(900, Ordering::SeqCst);
    assert!(matches!(
        waiting.await.unwrap().unwrap(),
        Submitted::Queued(_)
    ));
    let executor = Arc::into_inner(executor).unwrap();
    assert_eq!(executor.finish().await.unwrap().summary().succeeded(), 2);
}

#[tokio::test]
async fn pause_holds_new_starts_and_resume_releases_them() {
    let mut builder = unlimited(config(2, 4));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    executor.submit(gated(&gate, 0)).await.unwrap();
    until("one runs", || executor.progress().running() == 1).await;
    executor.pause();
    executor.pause(); // once is enough
    let started = Arc::new(AtomicU64::new(0));
    for _ in 0..5 {
        let started = started.clone();
        executor
            .submit(job_fn(0, move |_| {
                started.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            }))
            .await
            .unwrap();
    }
    // The running job finishes while paused; nothing new starts.
    gate.add_permits(1);
    until("the running job ends", || executor.progress().done() == 1).await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(started.load(Ordering::SeqCst), 0);
    assert_eq!(executor.progress().queued(), 5);
    executor.control().resume();
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().succeeded(), 6);
    let events = drain(&mut events);
    assert_eq!(of_type(&events, "paused").len(), 1);
    assert_eq!(of_type(&events, "resumed").len(), 1);
    let paused = of_type(&events, "paused")[0].seq();
    let resumed = of_type(&events, "resumed")[0].seq();
    for e in of_type(&events, "job_started") {
        assert!(
            e.seq() < paused || e.seq() > resumed,
            "a job started while paused"
        );
    }
}

#[tokio::test]
async fn graceful_cancel_finishes_running_jobs_and_drops_queued_ones() {
    let mut builder = unlimited(config(2, 2));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    for _ in 0..10 {
        executor.submit(gated(&gate, 0)).await.unwrap();
    }
    until("two run", || executor.progress().running() == 2).await;
    executor.cancel();
    let e = executor
        .submit(job_fn(0, |_| async { Ok(()) }))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(matches!(
        executor.try_submit(job_fn(0, |_| async { Ok(()) })),
        Err(TrySubmitError::Closed(_))
    ));
    gate.add_permits(2);
    let report = executor.join().await.unwrap();
    let s = report.summary();
    assert_eq!(s.cancel(), Some(CancelMode::Graceful));
    assert_eq!((s.total(), s.succeeded(), s.failed()), (10, 2, 0));
    assert_eq!(
        (
            s.cancelled().not_done(),
            s.cancelled().unknown(),
            s.cancelled().done()
        ),
        (8, 0, 0)
    );
    assert_eq!(report.cancelled().len(), 8);
    assert!(report
        .cancelled()
        .iter()
        .all(|r| r.attempts() == 0 && r.effect() == Effect::NotDone));
    let events = drain(&mut events);
    let cancelled = of_type(&events, "cancelled");
    assert_eq!(cancelled.len(), 1);
    assert!(matches!(
        cancelled[0].kind(),
        EventKind::Cancelled {
            mode: CancelMode::Graceful,
            dropped: 8,
            in_flight: 2,
            ..
        }
    ));
    assert_eq!(of_type(&events, "job_cancelled").len(), 8);
    assert_eq!(of_type(&events, "job_succeeded").len(), 2);
}

#[tokio::test]
async fn immediate_cancel_stops_running_jobs_and_reports_their_effect() {
    let mut builder = unlimited(config(4, 4));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let hang = |effect: Option<Effect>| {
        job_fn(0, move |ctx| async move {
            if let Some(e) = effect {
                ctx.set_effect(e);
            }
            std::future::pending::<()>().await;
            Ok(())
        })
    };
    for effect in [
        Some(Effect::NotDone),
        Some(Effect::Unknown),
        None,
        Some(Effect::Done),
    ] {
        executor.submit(hang(effect)).await.unwrap();
    }
    for _ in 0..5 {
        executor.submit(hang(None)).await.unwrap();
    }
    until("four run", || executor.progress().running() == 4).await;
    executor.cancel(); // graceful first, then immediate: both are reported
    executor.abort();
    let report = executor.join().await.unwrap();
    let s = report.summary();
    assert_eq!(s.cancel(), Some(CancelMode::Immediate));
    let c = s.cancelled();
    assert_eq!((c.done(), c.not_done(), c.unknown()), (1, 1 + 5, 2));
    assert_eq!(
        s.total(),
        s.succeeded() + s.failed() + c.total(),
        "every job accounted"
    );
    let events = drain(&mut events);
    let modes: Vec<_> = events
        .iter()
        .filter_map(|e| match e.kind() {
            EventKind::Cancelled { mode, .. } => Some(*mode),
            _ => None,
        })
        .collect();
    assert_eq!(modes, [CancelMode::Graceful, CancelMode::Immediate]);
    assert_eq!(of_type(&events, "job_cancelled").len(), 9);
}

#[tokio::test]
async fn dropping_the_executor_cancels_gracefully() {
    let mut builder = unlimited(config(2, 2));
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let control = executor.control();
    let gate = Arc::new(Semaphore::new(0));
    for _ in 0..7 {
        executor.submit(gated(&gate, 0)).await.unwrap();
    }
    until("two run", || executor.progress().running() == 2).await;
    drop(executor);
    gate.add_permits(2);
    until("finished", || control.is_finished()).await;
    let events = drain(&mut events);
    let Some(EventKind::Finished(s)) = events.last().map(|e| e.kind()) else {
        panic!("no finished event: {:?}", events.last());
    };
    assert_eq!(s.cancel(), Some(CancelMode::Graceful));
    assert_eq!((s.succeeded(), s.cancelled().not_done()), (2, 5));
}

#[tokio::test]
async fn events_are_complete_and_in_order() {
    let mut builder = unlimited(config(2, 6)).operation_id("op-test");
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let attempts = Arc::new(AtomicU64::new(0));
    let mut ids = vec![];
    for n in 0..60u64 {
        let job = match n % 10 {
            3 => Box::new(flaky(1, ErrorKind::Server, &attempts).with_key(format!("k{n}")))
                as Box<dyn Job>,
            7 => Box::new(flaky(9, ErrorKind::Auth, &attempts).with_key(format!("k{n}"))),
            _ => Box::new(job_fn(1, |_| async { Ok(()) }).with_key(format!("k{n}"))),
        };
        ids.push(executor.submit(job).await.unwrap().id());
    }
    let report = executor.finish().await.unwrap();
    let events = drain(&mut events);
    assert_eq!(events.first().unwrap().type_name(), "operation_started");
    assert_eq!(events.last().unwrap().type_name(), "finished");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq(), i as u64 + 1, "consecutive: nothing was dropped");
        assert_eq!(e.operation_id(), "op-test");
        if i > 0 {
            assert!(e.timestamp() >= events[i - 1].timestamp());
        }
    }
    // Per job: queued, then started, then exactly one end, in that order.
    for id in ids {
        let mine: Vec<&str> = events
            .iter()
            .filter(|e| e.kind().job_id() == Some(id))
            .map(|e| e.type_name())
            .collect();
        let expected: &[&str] = match id.get() % 10 {
            4 => &[
                "job_queued",
                "job_started",
                "job_retrying",
                "job_started",
                "job_succeeded",
            ],
            8 => &["job_queued", "job_started", "job_failed"],
            _ => &["job_queued", "job_started", "job_succeeded"],
        };
        assert_eq!(mine, expected, "{id}");
    }
    // The last progress before finished agrees with the summary.
    let n = events.len();
    let (EventKind::Progress(p), EventKind::Finished(s)) =
        (events[n - 2].kind(), events[n - 1].kind())
    else {
        panic!("progress then finished");
    };
    assert_eq!(
        (p.done(), p.failed(), p.total(), p.remaining()),
        (54, 6, 60, 0)
    );
    assert_eq!(p.eta(), Some(Duration::ZERO));
    assert_eq!(s, report.summary());
    assert_eq!(
        (s.total(), s.succeeded(), s.failed(), s.retries()),
        (60, 54, 6, 6)
    );
    // Every event serialises with its type tag and comes back the same.
    for e in &events {
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["type"], e.type_name());
        assert_eq!(&serde_json::from_value::<Event>(json).unwrap(), e);
    }
}

#[tokio::test]
async fn a_slow_subscriber_never_stalls_the_workers_nor_misses_lifecycle_events() {
    let mut c = config(2, 10);
    c.event_buffer = 8;
    c.progress_interval = Duration::ZERO;
    let mut builder = unlimited(c);
    let mut unread = builder.events();
    // A callback that blocks on its first event until the test lets it go.
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let seen = Arc::new(Mutex::new(Vec::<Event>::new()));
    let seen_cb = seen.clone();
    let builder = builder.on_event(move |e| {
        if e.seq() == 1 {
            let _ = release_rx.recv();
        }
        seen_cb.lock().unwrap().push(e.clone());
    });
    let executor = builder.start().unwrap();
    for _ in 0..200 {
        executor
            .submit(job_fn(0, |_| async { Ok(()) }))
            .await
            .unwrap();
    }
    // All jobs end while both subscribers are stuck.
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().succeeded(), 200);
    assert!(
        seen.lock().unwrap().is_empty(),
        "the callback is still blocked"
    );
    release_tx.send(()).unwrap();

    let read = drain(&mut unread);
    assert!(unread.dropped() > 0, "progress events were coalesced");
    until("the callback caught up", || {
        seen.lock()
            .unwrap()
            .last()
            .is_some_and(|e| e.type_name() == "finished")
    })
    .await;
    let called = seen.lock().unwrap().clone();
    for events in [read, called] {
        let count = |t: &str| of_type(&events, t).len();
        assert_eq!(count("operation_started"), 1);
        assert_eq!(count("job_queued"), 200);
        assert_eq!(count("job_started"), 200);
        assert_eq!(count("job_succeeded"), 200);
        assert_eq!(count("finished"), 1);
        assert!(events.windows(2).all(|w| w[0].seq() < w[1].seq()));
        let n = events.len();
        assert_eq!(events[n - 1].type_name(), "finished");
        assert!(
            matches!(events[n - 2].kind(), EventKind::Progress(p) if p.done() == 200),
            "the final progress is delivered"
        );
    }
}

#[tokio::test]
async fn progress_has_an_eta_from_the_budget() {
    // 1,000 points restoring 100 a second, empty: 50 jobs of 10 points need 5 s.
    let budget = Arc::new(shopify_sync::executor::LocalBudget::new(1_000.0, 100.0).with_level(0.0));
    let executor = Executor::builder(budget)
        .config(config(2, 2))
        .start()
        .unwrap();
    executor.pause();
    for _ in 0..50 {
        executor
            .submit(job_fn(10, |_| async { Ok(()) }))
            .await
            .unwrap();
    }
    let p = executor.progress();
    assert_eq!((p.total(), p.queued(), p.remaining()), (50, 50, 50));
    let eta = p.eta().unwrap();
    assert!(
        eta > Duration::from_millis(4_500) && eta <= Duration::from_secs(5),
        "{eta:?}"
    );
    executor.abort();
    let s = executor.join().await.unwrap();
    assert_eq!(s.summary().cancelled().not_done(), 50);
}

#[tokio::test]
async fn starting_needs_a_runtime_and_a_sound_config() {
    let bad = ExecutorConfig {
        max_workers: 1,
        ..ExecutorConfig::default()
    };
    let e = unlimited(bad).start().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let outside = std::thread::spawn(|| {
        Executor::builder(Arc::new(Unlimited))
            .start()
            .map(|_| ())
            .unwrap_err()
            .to_string()
    })
    .join()
    .unwrap();
    assert!(outside.contains("Tokio runtime"), "{outside}");
}
