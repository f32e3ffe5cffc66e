//! `Executor`: the core's executor running the application's own GraphQL documents
//! (`shopify_sync::sync::requests::GraphqlJob`) with the engine's priority queue, worker
//! pool, shared cost budget, retries, cancellation and events.
//!
//! Thin like the rest: the core validates and costs each document, schedules, retries
//! and reports; the binding converts the inputs, the `Report` (into the typed
//! `ExecutorReport`) and the errors, and hands the events over through the same
//! [`EventQueue`] as `ApplyOperation`.
use crate::client::{block_on, response, settle, variables, PyShopifyClient};
use crate::convert::{to_py, typed};
use crate::engine::{executor_config_from_py, new_operation_id};
use crate::errors::{guard, invalid, raise, to_py_err, Failure};
use crate::events::{self, EventQueue, OnDrop};
use crate::runtime::{runtime, ForkSafeTokio};
use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use shopify_sync::client::{GraphqlResponse, ShopifyClient};
use shopify_sync::error::{Error, ErrorKind};
use shopify_sync::executor::{
    Executor, ExecutorControl, JobId, JobRecord, Priority, Report, RetryPolicy, Submitted,
};
use shopify_sync::sync::requests::{graphql_job, GraphqlJob, GraphqlResults};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, RwLock};

type Outcome = Result<(Report, BTreeMap<JobId, GraphqlResponse>), Failure>;

/// The end of the operation: taken over once by a task on the runtime, so that a
/// waiter interrupted by Ctrl-C or a cancelled asyncio task loses nothing.
struct Ending {
    /// The executor while it accepts jobs (`submit` holds a read lock while it waits
    /// for room; the end takes it with the write lock).
    executor: RwLock<Option<Executor>>,
    results: GraphqlResults,
    /// Set once the end was started.
    start: Mutex<Option<watch::Sender<bool>>>,
    done: watch::Receiver<bool>,
    outcome: Mutex<Option<Outcome>>,
}

impl Ending {
    /// Close the executor and wait for its report on the runtime (once).
    fn begin(self: &Arc<Self>) {
        let Some(done) = self.start.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let state = self.clone();
        runtime().spawn(async move {
            if let Some(e) = state.executor.read().await.as_ref() {
                // Accept no more jobs: a submit waiting for room gives up at once.
                e.close();
            }
            let executor = state.executor.write().await.take();
            let out = match executor {
                Some(e) => AssertUnwindSafe(e.join()).catch_unwind().await,
                None => Ok(Err(Error::new(
                    ErrorKind::Cancelled,
                    "the executor already ended",
                ))),
            };
            let outcome = match out {
                Ok(Ok(report)) => Ok((report, state.results.take_all())),
                Ok(Err(e)) => Err(Failure::Core(e)),
                Err(panic) => Err(Failure::panic(panic)),
            };
            *state.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            let _ = done.send(true);
        });
    }

    async fn wait(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    fn report(&self, py: Python<'_>, operation_id: &str) -> PyResult<Py<PyAny>> {
        let slot = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            None => Err(invalid("executor", "still running")),
            Some(Ok((report, responses))) => executor_report(py, operation_id, report, responses),
            Some(Err(f)) => Err(f.to_py_err(py)),
        }
    }
}

fn job_record(py: Python<'_>, r: &JobRecord) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("job_id", r.id().get())?;
    d.set_item("key", r.key())?;
    d.set_item("attempts", r.attempts())?;
    d.set_item("effect", to_py(py, &r.effect())?)?;
    match r.error() {
        Some(e) => d.set_item("error", to_py_err(py, e).into_value(py))?,
        None => d.set_item("error", py.None())?,
    }
    Ok(d.into_any().unbind())
}

fn executor_report(
    py: Python<'_>,
    operation_id: &str,
    report: &Report,
    responses: &BTreeMap<JobId, GraphqlResponse>,
) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("operation_id", operation_id)?;
    d.set_item("summary", to_py(py, report.summary())?)?;
    for (name, records) in [
        ("failed", report.failed()),
        ("cancelled", report.cancelled()),
    ] {
        let list = PyList::empty(py);
        for r in records {
            list.append(job_record(py, r)?)?;
        }
        d.set_item(name, list)?;
    }
    let by_id = PyDict::new(py);
    for (id, r) in responses {
        by_id.set_item(id.get(), response(py, r)?)?;
    }
    d.set_item("responses", by_id)?;
    typed(py, "ExecutorReport", d.into_any())
}

fn submission(py: Python<'_>, s: Submitted) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("job_id", s.id().get())?;
    d.set_item("duplicate", s.is_duplicate())?;
    typed(py, "Submission", d.into_any())
}

/// The application's own GraphQL documents run as jobs: priorities, deduplication by
/// key, retries, the shop's shared cost budget, pause / resume / cancel, and the same
/// progress events as an apply. It works only in the process that made it: after
/// `fork()`, make a new one.
#[pyclass(name = "Executor", module = "shopify_sync._native", frozen)]
pub struct PyExecutor {
    client: ShopifyClient,
    default_retry: RetryPolicy,
    operation_id: String,
    control: ExecutorControl,
    ending: Arc<Ending>,
    events: Arc<EventQueue>,
    on_event: Option<Py<PyAny>>,
}

impl PyExecutor {
    fn job(
        &self,
        document: String,
        variables: Option<&Bound<'_, PyAny>>,
        priority: i32,
        key: Option<String>,
        max_attempts: Option<u32>,
    ) -> PyResult<GraphqlJob> {
        let vars = self::variables(variables)?;
        let mut job = graphql_job(&self.client, document, vars, &self.ending.results)
            .map_err(raise)?
            .with_priority(Priority(priority));
        if let Some(k) = key {
            job = job.with_key(k);
        }
        if let Some(n) = max_attempts {
            if n == 0 {
                return Err(raise(Error::invalid_input(
                    "max_attempts must be at least 1",
                )));
            }
            job = job.with_retry(RetryPolicy {
                max_attempts: n,
                ..self.default_retry.clone()
            });
        }
        Ok(job)
    }

    /// Call `on_event` with the events waiting now (in the calling thread); an
    /// exception it raises cancels the operation and propagates.
    fn deliver_waiting(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(f) = &self.on_event {
            if let Err(e) = events::deliver_waiting(py, &self.events, f.bind(py)) {
                self.control.cancel();
                return Err(e);
            }
        }
        Ok(())
    }
}

async fn submit_to(ending: &Ending, job: GraphqlJob) -> shopify_sync::error::Result<Submitted> {
    match ending.executor.read().await.as_ref() {
        Some(e) => e.submit(job).await,
        None => Err(Error::new(
            ErrorKind::Cancelled,
            "the executor no longer accepts jobs: it was finished",
        )),
    }
}

#[pymethods]
impl PyExecutor {
    /// Start an executor over `client`'s shop (its cost budget is shared with every
    /// client and executor of that shop in the process). `config`: a dict of the
    /// executor's options, named as the core's `SHOPIFY_SYNC_EXECUTOR_*` variables
    /// without the prefix, in lower case (`min_workers` [2], `max_workers` [10],
    /// `queue_capacity` [10,000], `memory_watermark_mb` [off], `memory_poll_ms`,
    /// `max_attempts` [3], `initial_backoff_ms` [500], `max_backoff_ms` [30,000],
    /// `idle_timeout_ms`, `scale_interval_ms`, `progress_interval_ms`,
    /// `event_buffer`). `on_event` is called with each event (a dict) in the thread
    /// that calls `submit()` or `finish()` (on the event loop for `*_async`), never on
    /// a Rust thread.
    #[new]
    #[pyo3(signature = (client, *, config=None, operation_id=None, on_event=None))]
    fn new(
        client: &Bound<'_, PyShopifyClient>,
        config: Option<&Bound<'_, PyAny>>,
        operation_id: Option<String>,
        on_event: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyExecutor> {
        guard(|| {
            let config = executor_config_from_py(config)?;
            let on_event = on_event.filter(|f| !f.is_none());
            if let Some(f) = &on_event {
                if !f.is_callable() {
                    return Err(invalid("on_event", "expected a callable"));
                }
            }
            let client = client.get().core().map_err(raise)?;
            let operation_id = operation_id.unwrap_or_else(new_operation_id);
            let (events, forward) = EventQueue::channel();
            let default_retry = config.retry.clone();
            let rt = runtime();
            let executor = {
                let _inside = rt.enter();
                Executor::for_client(&client)
                    .config(config)
                    .operation_id(operation_id.clone())
                    .on_event(forward)
                    .start()
                    .map_err(raise)?
            };
            let control = executor.control();
            let (start, done) = watch::channel(false);
            Ok(PyExecutor {
                client,
                default_retry,
                operation_id,
                control,
                ending: Arc::new(Ending {
                    executor: RwLock::new(Some(executor)),
                    results: GraphqlResults::default(),
                    start: Mutex::new(Some(start)),
                    done,
                    outcome: Mutex::new(None),
                }),
                events,
                on_event: on_event.map(Bound::unbind),
            })
        })
    }

    /// The operation id every event carries (the Socket.IO room to emit to).
    #[getter]
    fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// Whether the operation has ended (events may still be waiting).
    #[getter]
    fn done(&self) -> bool {
        self.control.is_finished()
    }

    /// Queue `document` with `variables` as a job and return a `Submission` (`job_id`,
    /// and `duplicate`: a job with the same `key` was still waiting, and its id is
    /// returned). The document is validated and costed now: an invalid one raises
    /// `InvalidInputError`, one over Shopify's single-query limit `CostExceededError`.
    /// `priority`: higher runs first; `max_attempts`: attempts in all (default the
    /// executor's). Waits, with the GIL released, while the queue is full; Ctrl-C
    /// stops the wait (the job is not queued). `ShopifyCancelledError` once the
    /// executor was finished or cancelled.
    #[pyo3(signature = (document, variables=None, *, priority=0, key=None, max_attempts=None))]
    fn submit(
        &self,
        py: Python<'_>,
        document: String,
        variables: Option<&Bound<'_, PyAny>>,
        priority: i32,
        key: Option<String>,
        max_attempts: Option<u32>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let job = self.job(document, variables, priority, key, max_attempts)?;
            self.deliver_waiting(py)?;
            let ending = self.ending.clone();
            let s = block_on(py, async move { submit_to(&ending, job).await })?.map_err(raise)?;
            submission(py, s)
        })
    }

    /// `submit()` as an awaitable (events waiting go to `on_event` on the event loop).
    #[pyo3(signature = (document, variables=None, *, priority=0, key=None, max_attempts=None))]
    fn submit_async<'py>(
        &self,
        py: Python<'py>,
        document: String,
        variables: Option<&Bound<'py, PyAny>>,
        priority: i32,
        key: Option<String>,
        max_attempts: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = self.job(document, variables, priority, key, max_attempts)?;
        self.deliver_waiting(py)?;
        let ending = self.ending.clone();
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let s = settle(submit_to(&ending, job)).await?;
            Python::attach(|py| submission(py, s))
        })
    }

    /// Start no new job until `resume()`; running ones go on.
    fn pause(&self) {
        self.control.pause()
    }

    /// Start jobs again.
    fn resume(&self) {
        self.control.resume()
    }

    /// Cancel gracefully: queued jobs are dropped (reported cancelled, effect
    /// `not_done`), running ones finish. Returns at once; `finish()` gives the report.
    fn cancel(&self) {
        self.control.cancel()
    }

    /// Cancel immediately: queued jobs are dropped and running ones stopped (reported
    /// cancelled with the effect they recorded, else `unknown`). Returns at once.
    fn abort(&self) {
        self.control.abort()
    }

    /// Where the operation stands: a dict in the JSON shape of a `progress` event
    /// (`done`, `failed`, `cancelled`, `running`, `queued`, `total`, `workers`,
    /// `rate_per_minute`, `eta_ms`, `elapsed_ms`).
    fn progress(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, &self.control.progress()))
    }

    /// Accept no more jobs, run the queued ones, and return the `ExecutorReport`.
    /// `on_event` is called with every event until the end in this thread. Releases
    /// the GIL; Ctrl-C (or an exception in `on_event`) cancels the operation
    /// gracefully, waits for the running jobs, and raises. A paused executor ends once
    /// resumed or cancelled. Calling it again returns the same report.
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            self.ending.begin();
            let waited = (|| -> PyResult<()> {
                if let Some(f) = &self.on_event {
                    events::deliver(py, &self.events, f.bind(py))?;
                }
                let ending = self.ending.clone();
                block_on(py, async move { ending.wait().await })
            })();
            if let Err(e) = waited {
                // Ctrl-C or an exception in the callback: stop, and return once the
                // running jobs ended (a second Ctrl-C stops the waiting only).
                self.control.cancel();
                let ending = self.ending.clone();
                let _ = block_on(py, async move { ending.wait().await });
                return Err(e);
            }
            self.ending.report(py, &self.operation_id)
        })
    }

    /// `finish()` as an awaitable; `on_event` runs on the event loop, every event
    /// before the awaitable completes. Cancelling it cancels the operation gracefully
    /// (the running jobs finish in the background).
    fn finish_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let on_event = self.on_event.as_ref().map(|f| f.clone_ref(py));
        let event_loop = events::running_loop(py, on_event.as_ref())?;
        let queue = self.events.clone();
        let ending = self.ending.clone();
        let control = self.control.clone();
        let operation_id = self.operation_id.clone();
        ending.begin();
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let cancel = control.clone();
            let stop = OnDrop::new(move || cancel.cancel());
            if let (Some(f), Some(lp)) = (&on_event, &event_loop) {
                events::deliver_on_loop(&queue, f, lp).await?;
            }
            ending.wait().await;
            stop.disarm();
            Python::attach(|py| ending.report(py, &operation_id))
        })
    }

    /// The next event as a dict, waiting at most `timeout` seconds (`None`: until there
    /// is one). Returns `None` on timeout or once every event was handed over (see
    /// `done`). Releases the GIL while it waits; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout=None))]
    fn next_event(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        events::next_event(py, Some(&self.events), timeout)
    }

    /// The events waiting now, without blocking (for eventlet/gevent green threads:
    /// poll it between `socketio.sleep()` calls).
    fn drain(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        events::drain(py, Some(&self.events))
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        events::next(py, Some(&self.events))
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        events::anext(py, Some(&self.events))
    }

    fn __repr__(&self) -> String {
        format!(
            "Executor(operation_id={:?}, done={})",
            self.operation_id,
            self.control.is_finished()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyExecutor>()
}
