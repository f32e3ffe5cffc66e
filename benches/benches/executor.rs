//! Executor figures: scheduling overhead per no-op job (target under 5 µs), event
//! delivery and serialisation, and one budget-bound run: 10,000 jobs of 10 points against
//! a budget restoring 10,000 points a second, against the theoretical minimum of 10 s
//! (target within 5%; a one-shot measurement).
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench executor                 # everything
//! cargo bench -p shopify-sync-benches --bench executor -- noop         # one group
//! cargo bench -p shopify-sync-benches --bench executor -- throughput   # the 10 s run only
//! ```
use criterion::{criterion_group, Criterion, Throughput};
use futures::StreamExt;
use shopify_sync::executor::{job_fn, Event, Executor, ExecutorConfig, LocalBudget, Unlimited};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Run `n` no-op jobs through a fresh executor; the time from the first submission to
/// the report. With `subscribed`, a task reads every event as it comes.
async fn noop_jobs(n: u64, subscribed: bool) -> Duration {
    let mut builder = Executor::builder(Arc::new(Unlimited)).config(ExecutorConfig::default());
    let reader = subscribed.then(|| {
        let mut events = builder.events();
        tokio::spawn(async move {
            let mut seen = 0u64;
            while events.next().await.is_some() {
                seen += 1;
            }
            seen
        })
    });
    let executor = builder.start().expect("an executor");
    let started = Instant::now();
    for _ in 0..n {
        executor
            .submit(job_fn(0, |_| async { Ok(()) }))
            .await
            .expect("submitted");
    }
    let report = executor.finish().await.expect("a report");
    let elapsed = started.elapsed();
    assert_eq!(report.summary().succeeded(), n);
    if let Some(reader) = reader {
        let seen = reader.await.expect("the reader");
        assert!(seen >= 3 * n, "{seen} events for {n} jobs");
    }
    elapsed
}

fn scheduling(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("executor/noop_job");
    g.throughput(Throughput::Elements(1));
    // Criterion picks the job count; the figure is the time per job: submit, queue,
    // budget, start, run, account, and three events (queued, started, succeeded).
    g.bench_function("no_subscriber", |b| {
        b.iter_custom(|iters| rt.block_on(noop_jobs(iters, false)))
    });
    g.bench_function("one_stream_subscriber", |b| {
        b.iter_custom(|iters| rt.block_on(noop_jobs(iters, true)))
    });
    g.finish();
}

fn events(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("executor/events");
    g.throughput(Throughput::Elements(1));
    // Emission to delivery: pause/resume emit one event each through the real emitter;
    // a thread of its own reads them blocking (as the Python binding will).
    g.bench_function("emit_and_read_on_a_thread", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut builder = Executor::builder(Arc::new(Unlimited)).config(ExecutorConfig {
                    event_buffer: usize::MAX,
                    ..ExecutorConfig::default()
                });
                let mut stream = builder.events();
                let executor = builder.start().expect("an executor");
                let pairs = iters.div_ceil(2);
                let reader = std::thread::spawn(move || {
                    let mut n = 0u64;
                    while let Some(e) = stream.blocking_recv() {
                        n += 1;
                        if e.type_name() == "resumed" && n > 2 * pairs {
                            break;
                        }
                    }
                    n
                });
                let started = Instant::now();
                for _ in 0..pairs {
                    executor.pause();
                    executor.resume();
                }
                let read = reader.join().expect("the reader");
                let elapsed = started.elapsed();
                assert!(read > 2 * pairs);
                executor.abort();
                elapsed
            })
        })
    });
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/vectors/events.json"))
            .expect("the event vectors");
    let pick = |name: &str| -> Event {
        let case = vectors["cases"]
            .as_array()
            .and_then(|cases| cases.iter().find(|c| c["name"] == name))
            .expect("a case");
        serde_json::from_value(case["event"].clone()).expect("an event")
    };
    for name in ["job_succeeded", "progress", "finished"] {
        let event = pick(name);
        g.bench_function(format!("to_json/{name}"), |b| {
            b.iter(|| serde_json::to_string(&event).expect("json"))
        });
    }
    g.finish();
}

criterion_group!(benches, scheduling, events);

/// 10,000 jobs of 10 points against an empty budget restoring 10,000 points a second:
/// the theoretical minimum is 10 s.
fn throughput_10k() {
    const JOBS: u64 = 10_000;
    const COST: u32 = 10;
    const RATE: f64 = 10_000.0;
    let rt = runtime();
    let elapsed = rt.block_on(async {
        let budget = Arc::new(LocalBudget::new(1_000.0, RATE).with_level(0.0));
        let executor = Executor::builder(budget).start().expect("an executor");
        let started = Instant::now();
        for _ in 0..JOBS {
            executor
                .submit(job_fn(COST, |_| async { Ok(()) }))
                .await
                .expect("submitted");
        }
        let report = executor.finish().await.expect("a report");
        assert_eq!(report.summary().succeeded(), JOBS);
        started.elapsed()
    });
    let minimum = (JOBS as f64 * f64::from(COST)) / RATE;
    let secs = elapsed.as_secs_f64();
    println!(
        "executor/throughput_10k: {JOBS} jobs of {COST} points at {RATE} points/s in {secs:.3} s; minimum {minimum:.3} s; {:+.2}% over",
        (secs / minimum - 1.0) * 100.0
    );
}

fn main() {
    // The first argument that is neither a flag nor a flag's value is criterion's filter.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let valued = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--output-format",
        "--color",
        "--profile-time",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--nresamples",
    ];
    let filter = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with('-') && (*i == 0 || !valued.contains(&args[i - 1].as_str())))
        .map(|(_, a)| a);
    if filter.is_none_or(|f| "throughput".contains(f.as_str()) || f.contains("throughput")) {
        throughput_10k();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
