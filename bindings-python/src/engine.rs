//! `SyncEngine`: pull, plan, apply and refresh, with progress events; `ApplyOperation`,
//! a running apply whose events are an iterator and an async iterator; `WebhookQueue`.
//!
//! Events cross as dicts in the exact JSON shape of `tests/vectors/events.json` (the
//! core's serde). The core calls its event callback on a thread of its own; the binding
//! forwards each event into a channel and hands it to Python where the application
//! wants it: in the calling thread (`apply(on_event=...)`), from an iterator consumed
//! in any thread or green thread (`start_apply()`), or on the event loop
//! (`apply_async(on_event=...)`, `async for`). A callback never runs on a Rust thread.
use crate::client::{block_on, run, settle, PyShopifyClient};
use crate::convert::{from_json, json_from_py, to_py, typed};
use crate::errors::{guard, invalid, raise, Failure};
use crate::events::{self, event_dict, EventQueue, OnDrop};
use crate::plan::{mask, PyPlan};
use crate::runtime::{runtime, ForkSafeTokio};
use crate::store::{filter, PyChangeStore};
use futures::FutureExt;
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;
use shopify_sync::error::{Error, ErrorKind, Result as CoreResult};
use shopify_sync::executor::ExecutorConfig;
use shopify_sync::model::{Collection, Gid, GidKind, Product};
use shopify_sync::staging::{
    ChangeFilter, CollectionSnapshot, Entity, ProductSnapshot, Record, Scope,
};
use shopify_sync::status::compute_statuses;
use shopify_sync::sync::{
    ApplyOptions, ApplyReport, CancelApply, LocalCatalog, PullMode, PullOptions, PullProgress,
    PullReport, RefreshReport, SyncConfig, SyncEngine, WebhookQueue, WriteMode,
};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

// ----- conversions -----------------------------------------------------------------

fn pull_mode(name: Option<&str>) -> PyResult<Option<PullMode>> {
    Ok(match name {
        None => None,
        Some("auto") => Some(PullMode::Auto),
        Some("paginated") => Some(PullMode::Paginated),
        Some("bulk") => Some(PullMode::Bulk),
        Some(other) => {
            return Err(invalid(
                "pull mode",
                format!("expected \"auto\", \"paginated\" or \"bulk\", not {other:?}"),
            ))
        }
    })
}

fn write_mode(name: &str) -> PyResult<WriteMode> {
    match name {
        "auto" => Ok(WriteMode::Auto),
        "direct" => Ok(WriteMode::Direct),
        "bulk" => Ok(WriteMode::Bulk),
        other => Err(invalid(
            "write mode",
            format!("expected \"auto\", \"direct\" or \"bulk\", not {other:?}"),
        )),
    }
}

fn pull_report(py: Python<'_>, r: &PullReport) -> PyResult<Py<PyAny>> {
    typed(py, "PullReport", to_py(py, r)?.into_bound(py))
}

/// A pull in the calling thread, its progress handed to `on_progress` there.
fn pull_blocking<F, Fut>(
    py: Python<'_>,
    on_progress: Option<&Bound<'_, PyAny>>,
    pull: F,
) -> PyResult<PullReport>
where
    F: FnOnce(PullOptions) -> Fut,
    Fut: Future<Output = CoreResult<PullReport>> + Send,
{
    let Some(f) = on_progress else {
        return run(py, pull(PullOptions::default()));
    };
    let (queue, forward) = EventQueue::<PullProgress>::channel();
    let out = events::run_reporting(
        py,
        pull(PullOptions::default().on_progress(forward)),
        &queue,
        f,
    )?;
    out.map_err(raise)
}

/// A pull as an awaitable, its progress handed to `on_progress` on the running loop.
fn pull_awaitable<'py, F, Fut>(
    py: Python<'py>,
    on_progress: Option<Py<PyAny>>,
    pull: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: FnOnce(PullOptions) -> Fut,
    Fut: Future<Output = CoreResult<PullReport>> + Send + 'static,
{
    let lp = events::running_loop(py, on_progress.as_ref())?;
    let (queue, forward) = EventQueue::<PullProgress>::channel();
    let options = match &on_progress {
        Some(_) => PullOptions::default().on_progress(forward),
        None => PullOptions::default(),
    };
    let fut = pull(options);
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
        let r = match (on_progress, lp) {
            (Some(f), Some(lp)) => events::settle_reporting(settle(fut), &queue, &f, &lp).await??,
            _ => settle(fut).await?,
        };
        Python::attach(|py| pull_report(py, &r))
    })
}

fn apply_report(py: Python<'_>, r: &ApplyReport) -> PyResult<Py<PyAny>> {
    typed(py, "ApplyReport", to_py(py, r)?.into_bound(py))
}

fn refresh_report(py: Python<'_>, r: &RefreshReport) -> PyResult<Py<PyAny>> {
    typed(py, "RefreshReport", to_py(py, r)?.into_bound(py))
}

/// A gid of kind `K` from a gid string, a numeric id (str or int), or `None`/`""`.
fn gid<K: GidKind>(what: &str, v: Option<Bound<'_, PyAny>>) -> PyResult<Option<Gid<K>>> {
    let Some(v) = v else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    let value = json_from_py(&v)?;
    let text = match &value {
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(invalid(
                what,
                format!("expected a gid or a numeric id, not {value}"),
            ))
        }
    };
    let text = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("gid://shopify/{}/{text}", K::NAME)
    } else {
        text
    };
    Gid::parse(&text).map(Some).map_err(|e| invalid(what, e))
}

const RECORD_KEYS: [&str; 3] = ["local_id", "shopify_id", "updated_at"];

/// Local records from an iterable of dicts (the snapshot's snake_case JSON shape plus
/// `local_id`, `shopify_id` and optionally `updated_at`) or of objects with `to_dict()`.
fn records<S: Entity + serde::de::DeserializeOwned>(
    what: &str,
    items: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Record<S>>> {
    let Some(items) = items else {
        return Ok(Vec::new());
    };
    if items.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(items.len().unwrap_or(0));
    for (i, item) in items.try_iter()?.enumerate() {
        let item = item?;
        let name = format!("{what} [{i}]");
        let dict = if let Ok(d) = item.cast::<PyDict>() {
            d.copy()?
        } else if item.hasattr("to_dict")? {
            item.call_method0("to_dict")?
                .cast_into::<PyDict>()?
                .copy()?
        } else {
            return Err(invalid(&name, "expected a dict"));
        };
        let mut ids: [Option<Bound<'_, PyAny>>; 3] = [None, None, None];
        for (slot, key) in ids.iter_mut().zip(RECORD_KEYS) {
            if let Some(v) = dict.get_item(key)? {
                dict.del_item(key)?;
                *slot = Some(v);
            }
        }
        let [local_id, shopify_id, updated_at] = ids;
        let local_id = match local_id {
            Some(v) if !v.is_none() => Some(match json_from_py(&v)? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => return Err(invalid(&name, format!("local_id: not a string: {other}"))),
            }),
            _ => None,
        };
        let updated_at = match updated_at {
            Some(v) if !v.is_none() => Some(from_json(&format!("{name}.updated_at"), &v)?),
            _ => None,
        };
        out.push(Record {
            local_id,
            shopify_id: gid(&format!("{name}.shopify_id"), shopify_id)?,
            updated_at,
            snapshot: from_json(&name, dict.as_any())?,
        });
    }
    Ok(out)
}

fn scope<K: GidKind>(what: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Scope<K>> {
    match v {
        None => Ok(Scope::Listed),
        Some(v) if v.is_none() => Ok(Scope::Listed),
        Some(v) if v.is_instance_of::<PyString>() => match v.extract::<String>()?.as_str() {
            "listed" => Ok(Scope::Listed),
            "all" => Ok(Scope::All),
            other => Err(invalid(
                what,
                format!("expected \"listed\", \"all\" or a list of ids, not {other:?}"),
            )),
        },
        Some(v) => {
            let mut ids = std::collections::BTreeSet::new();
            for item in v.try_iter()? {
                if let Some(g) = gid::<K>(what, Some(item?))? {
                    ids.insert(g);
                }
            }
            Ok(Scope::Only(ids))
        }
    }
}

fn catalog(
    products: Option<&Bound<'_, PyAny>>,
    collections: Option<&Bound<'_, PyAny>>,
    product_scope: Option<&Bound<'_, PyAny>>,
    collection_scope: Option<&Bound<'_, PyAny>>,
) -> PyResult<LocalCatalog> {
    Ok(LocalCatalog {
        products: records::<ProductSnapshot>("product", products)?,
        collections: records::<CollectionSnapshot>("collection", collections)?,
        product_scope: scope::<Product>("scope", product_scope)?,
        collection_scope: scope::<Collection>("collection_scope", collection_scope)?,
    })
}

/// The executor's configuration from option names and values: the names are those of
/// the core's `SHOPIFY_SYNC_EXECUTOR_*` variables without the prefix, in lower case
/// (`max_workers`, `queue_capacity`, `memory_watermark_mb`, `initial_backoff_ms` ...),
/// read by the core's own `ExecutorConfig::from_lookup` over the defaults and
/// validated. An unknown name is refused.
pub fn executor_config(values: Vec<(String, String)>) -> PyResult<ExecutorConfig> {
    const PREFIX: &str = "SHOPIFY_SYNC_EXECUTOR_";
    let asked = std::cell::RefCell::new(Vec::new());
    let config = ExecutorConfig::from_lookup(|var| {
        let name = var.strip_prefix(PREFIX).unwrap_or(var).to_ascii_lowercase();
        let found = values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone());
        asked.borrow_mut().push(name);
        found
    })
    .map_err(raise)?;
    let asked = asked.into_inner();
    if let Some((unknown, _)) = values.iter().find(|(k, _)| !asked.contains(k)) {
        return Err(invalid(
            "executor config",
            format!(
                "unknown option {unknown:?} (expected one of {})",
                asked.join(", ")
            ),
        ));
    }
    Ok(config)
}

/// [`executor_config`] from `None` or a dict of whole numbers (or their strings).
pub fn executor_config_from_py(config: Option<&Bound<'_, PyAny>>) -> PyResult<ExecutorConfig> {
    let mut values = Vec::new();
    if let Some(config) = config.filter(|c| !c.is_none()) {
        let config = config
            .cast::<PyDict>()
            .map_err(|_| invalid("executor config", "expected a dict"))?;
        for (k, v) in config.iter() {
            let key: String = k
                .extract()
                .map_err(|_| invalid("executor config", "keys must be strings"))?;
            if v.is_none() {
                continue;
            }
            let value = if v.is_instance_of::<pyo3::types::PyBool>() {
                None
            } else if v.is_instance_of::<pyo3::types::PyInt>() || v.is_instance_of::<PyString>() {
                Some(v.str()?.to_string())
            } else {
                None
            };
            let Some(value) = value else {
                return Err(invalid(
                    "executor config",
                    format!("{key}: expected a whole number, not {}", v.repr()?),
                ));
            };
            values.push((key, value));
        }
    }
    executor_config(values)
}

// ----- a running apply ------------------------------------------------------------------

/// The shared state of one apply running on the binding's runtime.
struct Running {
    operation_id: String,
    /// The events (when subscribed).
    events: Option<Arc<EventQueue>>,
    done: watch::Receiver<bool>,
    result: Mutex<Option<Result<ApplyReport, Arc<Failure>>>>,
    cancel: CancelApply,
}

impl Running {
    /// Start `engine.apply_with` on the runtime, cancellable through the core's
    /// [`CancelApply`]: a cancelled apply drops its queued writes and returns once the
    /// running ones are recorded.
    fn start(
        engine: SyncEngine,
        filter: ChangeFilter,
        operation_id: Option<String>,
        subscribe: bool,
    ) -> Arc<Running> {
        let operation_id = operation_id.unwrap_or_else(new_operation_id);
        let cancel = CancelApply::new();
        let mut options = ApplyOptions::default()
            .operation_id(operation_id.clone())
            .cancel(cancel.clone());
        let events = if subscribe {
            let (queue, forward) = EventQueue::channel();
            options = options.on_event(forward);
            Some(queue)
        } else {
            None
        };
        let (done_tx, done_rx) = watch::channel(false);
        let running = Arc::new(Running {
            operation_id,
            events,
            done: done_rx,
            result: Mutex::new(None),
            cancel,
        });
        let state = running.clone();
        runtime().spawn(async move {
            let out = AssertUnwindSafe(engine.apply_with(&filter, options))
                .catch_unwind()
                .await;
            // A cancel that came in before the apply returned makes it a cancelled one,
            // whether the core stopped early (an error) or with the report of the writes
            // that had started.
            let cancelled = state.cancel.is_cancelled();
            let outcome = match out {
                Ok(Ok(report)) if !cancelled => Ok(report),
                Ok(Err(e)) if !(cancelled && e.kind() == ErrorKind::Cancelled) => {
                    Err(Arc::new(Failure::Core(e)))
                }
                Ok(_) => Err(Arc::new(Failure::Core(Error::new(
                    ErrorKind::Cancelled,
                    "the apply was cancelled: the writes it had started are recorded, the changes it had not started stay approved",
                )))),
                Err(panic) => Err(Arc::new(Failure::panic(panic))),
            };
            *state.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            let _ = done_tx.send(true);
        });
        running
    }

    fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    /// Until the apply has returned (after a cancel: once its running writes are
    /// recorded, so a next apply never races them).
    async fn wait(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = self.result.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            None => Err(invalid("apply", "still running")),
            Some(Ok(report)) => apply_report(py, report),
            Some(Err(f)) => Err(f.to_py_err(py)),
        }
    }
}

/// A fresh operation id: `op-` and 16 hex digits.
pub fn new_operation_id() -> String {
    use std::hash::BuildHasher;
    let random =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    format!("op-{random:016x}")
}

/// A running apply (from `SyncEngine.start_apply`). Its events are an iterator (any
/// thread) and an async iterator; `wait()` / `wait_async()` give the `ApplyReport`.
#[pyclass(name = "ApplyOperation", module = "shopify_sync._native", frozen)]
pub struct PyApplyOperation {
    running: Arc<Running>,
}

#[pymethods]
impl PyApplyOperation {
    /// The operation id every event carries (the Socket.IO room to emit to).
    #[getter]
    fn operation_id(&self) -> &str {
        &self.running.operation_id
    }

    /// Whether the apply has ended (events may still be waiting).
    #[getter]
    fn done(&self) -> bool {
        self.running.is_done()
    }

    /// The next event as a dict, waiting at most `timeout` seconds (`None`: until there
    /// is one). Returns `None` on timeout or once every event was handed over (see
    /// `done`). Releases the GIL while it waits; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout=None))]
    fn next_event(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        events::next_event(py, self.running.events.as_ref(), timeout)
    }

    /// The events waiting now, without blocking (for eventlet/gevent green threads:
    /// poll it between `socketio.sleep()` calls).
    fn drain(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        events::drain(py, self.running.events.as_ref())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        events::next(py, self.running.events.as_ref())
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        events::anext(py, self.running.events.as_ref())
    }

    /// Wait for the end (at most `timeout` seconds, else `TimeoutError`) and return the
    /// `ApplyReport`, or raise the apply's error. Releases the GIL; Ctrl-C interrupts
    /// the wait (not the apply: see `cancel()`).
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let running = self.running.clone();
            let finished = match timeout {
                None => block_on(py, async move {
                    running.wait().await;
                    true
                })?,
                Some(t) => {
                    let t = Duration::try_from_secs_f64(t).map_err(|e| invalid("timeout", e))?;
                    block_on(py, async move {
                        tokio::time::timeout(t, running.wait()).await.is_ok()
                    })?
                }
            };
            if !finished {
                return Err(PyTimeoutError::new_err("the apply is still running"));
            }
            self.running.outcome(py)
        })
    }

    /// `wait()` as an awaitable of the running event loop.
    fn wait_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let running = self.running.clone();
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
            running.wait().await;
            Python::attach(|py| running.outcome(py))
        })
    }

    /// Stop the apply (the core's `CancelApply`): queued writes are dropped, the
    /// running ones finish and are recorded, the changes not started stay `approved`.
    /// `wait()` returns once that is done and raises `ShopifyCancelledError` (unless
    /// the apply had already ended). Idempotent; returns at once.
    fn cancel(&self) {
        self.running.cancel.cancel();
    }

    fn __repr__(&self) -> String {
        format!(
            "ApplyOperation(operation_id={:?}, done={})",
            self.running.operation_id,
            self.running.is_done()
        )
    }
}

// ----- the engine --------------------------------------------------------------------

/// Pull, plan and apply against one shop and one change store.
#[pyclass(name = "SyncEngine", module = "shopify_sync._native", frozen)]
pub struct PySyncEngine {
    client: Py<PyShopifyClient>,
    store: Py<PyChangeStore>,
    config: SyncConfig,
}

impl PySyncEngine {
    fn engine(&self, py: Python<'_>) -> PyResult<SyncEngine> {
        let client = self.client.bind(py).get().core().map_err(raise)?;
        let store = self.store.bind(py).get().store.clone();
        Ok(SyncEngine::new(client, store).with_config(self.config.clone()))
    }
}

#[pymethods]
impl PySyncEngine {
    /// An engine over `client` and `store`. Options (defaults in brackets):
    /// `pull_mode` ("auto": paginated below `bulk_pull_threshold` products [25,000],
    /// a bulk query from there), `overlap` (seconds an incremental pull reads again
    /// [300]), `write_mode` ("auto"), `bulk_write_threshold` [1,000], `guard_batch`
    /// (ids per stale-guard read [100]), `publications` (publication gids new products
    /// are published to [none]), `actor` (the audit trail's name for the engine
    /// ["shopify-sync"]), `max_workers` / `min_workers` (the executor's pool [10 / 2]).
    #[new]
    #[pyo3(signature = (
        client, store, *, pull_mode=None, bulk_pull_threshold=None, overlap=None,
        write_mode=None, bulk_write_threshold=None, guard_batch=None, publications=None,
        actor=None, max_workers=None, min_workers=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        client: Py<PyShopifyClient>,
        store: Py<PyChangeStore>,
        pull_mode: Option<&str>,
        bulk_pull_threshold: Option<u64>,
        overlap: Option<f64>,
        write_mode: Option<&str>,
        bulk_write_threshold: Option<usize>,
        guard_batch: Option<usize>,
        publications: Option<Vec<String>>,
        actor: Option<String>,
        max_workers: Option<usize>,
        min_workers: Option<usize>,
    ) -> PyResult<PySyncEngine> {
        guard(|| {
            let mut config = SyncConfig::default();
            if let Some(m) = self::pull_mode(pull_mode)? {
                config.pull_mode = m;
            }
            if let Some(n) = bulk_pull_threshold {
                config.bulk_pull_threshold = n;
            }
            if let Some(s) = overlap {
                config.overlap =
                    Duration::try_from_secs_f64(s).map_err(|e| invalid("overlap", e))?;
            }
            if let Some(m) = write_mode {
                config.write_mode = self::write_mode(m)?;
            }
            if let Some(n) = bulk_write_threshold {
                config.bulk_write_threshold = n;
            }
            if let Some(n) = guard_batch {
                if n == 0 || n > 250 {
                    return Err(invalid("guard_batch", "must be between 1 and 250"));
                }
                config.guard_batch = n;
            }
            if let Some(p) = publications {
                config.publications = p;
            }
            if let Some(a) = actor {
                config.actor = a;
            }
            let workers = [("max_workers", max_workers), ("min_workers", min_workers)];
            config.executor = executor_config(
                workers
                    .iter()
                    .filter_map(|(k, v)| v.map(|n| (k.to_string(), n.to_string())))
                    .collect(),
            )?;
            Ok(PySyncEngine {
                client,
                store,
                config,
            })
        })
    }

    /// The client.
    #[getter]
    fn client(&self, py: Python<'_>) -> Py<PyShopifyClient> {
        self.client.clone_ref(py)
    }

    /// The change store.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyChangeStore> {
        self.store.clone_ref(py)
    }

    /// A full pull of Shopify into the store's remote snapshots (`mode`: "auto",
    /// "paginated" or "bulk"; default the engine's). Returns a `PullReport`. Releases
    /// the GIL; Ctrl-C cancels (a cancelled pull deletes nothing and sets no checkpoint).
    /// `on_progress` is called in this thread with a dict after each stage and every
    /// 100 products (`stage`, `products`, `total_products` ...); an exception it raises
    /// cancels the pull.
    #[pyo3(signature = (mode=None, *, on_progress=None))]
    fn pull(
        &self,
        py: Python<'_>,
        mode: Option<&str>,
        on_progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let mode = self::pull_mode(mode)?.unwrap_or(self.config.pull_mode);
            let engine = self.engine(py)?;
            let r = pull_blocking(py, on_progress, |o| async move {
                engine.pull_with(mode, o).await
            })?;
            pull_report(py, &r)
        })
    }

    /// `pull()` as an awaitable (`on_progress` runs on the event loop); cancelling it
    /// cancels the pull.
    #[pyo3(signature = (mode=None, *, on_progress=None))]
    fn pull_async<'py>(
        &self,
        py: Python<'py>,
        mode: Option<&str>,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode = self::pull_mode(mode)?.unwrap_or(self.config.pull_mode);
        let engine = self.engine(py)?;
        pull_awaitable(py, on_progress, |o| async move {
            engine.pull_with(mode, o).await
        })
    }

    /// An incremental pull: the products updated since the last cursor (minus the
    /// overlap), membership and deletions reconciled; a full pull when there is no
    /// cursor yet. Returns a `PullReport`; `on_progress` as for :meth:`pull`.
    #[pyo3(signature = (*, on_progress=None))]
    fn pull_incremental(
        &self,
        py: Python<'_>,
        on_progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let engine = self.engine(py)?;
            let r = pull_blocking(py, on_progress, |o| async move {
                engine.pull_incremental_with(o).await
            })?;
            pull_report(py, &r)
        })
    }

    /// `pull_incremental()` as an awaitable.
    #[pyo3(signature = (*, on_progress=None))]
    fn pull_incremental_async<'py>(
        &self,
        py: Python<'py>,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine(py)?;
        pull_awaitable(py, on_progress, |o| async move {
            engine.pull_incremental_with(o).await
        })
    }

    /// Record that local records agree with Shopify (run once when adopting the engine
    /// on a catalog in sync, after the first pull): each record with a `shopify_id`
    /// whose remote snapshot equals it under `mask` gets that snapshot as its base.
    /// `products` (and `collections`) are dicts in the snapshot's JSON shape plus
    /// `local_id` and `shopify_id`. Returns how many got a base.
    #[pyo3(signature = (products, mask=None, *, collections=None))]
    fn baseline(
        &self,
        py: Python<'_>,
        products: &Bound<'_, PyAny>,
        mask: Option<&Bound<'_, PyAny>>,
        collections: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        guard(|| {
            let local = catalog(Some(products), collections, None, None)?;
            let mask = self::mask(mask)?;
            let engine = self.engine(py)?;
            run(py, engine.baseline(&local, mask))
        })
    }

    /// Plan the changes that bring Shopify to the local records for the fields in
    /// `mask` (a list of field names; `None`: every field), against the stored base and
    /// remote snapshots, and save them `staged` in the store. `products` /
    /// `collections`: dicts in the snapshot's snake_case JSON shape plus `local_id`,
    /// `shopify_id` (a gid or numeric id) and optionally `updated_at`; `Decimal`
    /// prices and aware datetimes are accepted. `scope` / `collection_scope`:
    /// "listed" (default: nothing is deleted), "all" (a record missing is to be
    /// deleted) or a list of the ids covered. Returns the `Plan`.
    #[pyo3(signature = (products, mask=None, *, collections=None, scope=None, collection_scope=None))]
    fn plan(
        &self,
        py: Python<'_>,
        products: &Bound<'_, PyAny>,
        mask: Option<&Bound<'_, PyAny>>,
        collections: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        collection_scope: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPlan> {
        guard(|| {
            let local = catalog(Some(products), collections, scope, collection_scope)?;
            let mask = self::mask(mask)?;
            let engine = self.engine(py)?;
            let plan = run(py, engine.plan(&local, mask))?;
            Ok(PyPlan::new(plan))
        })
    }

    /// The `StatusInput` dict of each local product (in order), from what the store
    /// knows: fingerprints, open changes, last error.
    #[pyo3(signature = (products, mask=None))]
    fn status_inputs(
        &self,
        py: Python<'_>,
        products: &Bound<'_, PyAny>,
        mask: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let local = records::<ProductSnapshot>("product", Some(products))?;
            let mask = self::mask(mask)?;
            let engine = self.engine(py)?;
            let inputs = run(py, engine.status_inputs(&local, mask))?;
            to_py(py, &inputs)
        })
    }

    /// The dashboard's status column: the `SyncStatus` dict (`state`, `rule`,
    /// `reason`, `fields`) of each local product, in order.
    #[pyo3(signature = (products, mask=None))]
    fn statuses(
        &self,
        py: Python<'_>,
        products: &Bound<'_, PyAny>,
        mask: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let local = records::<ProductSnapshot>("product", Some(products))?;
            let mask = self::mask(mask)?;
            let engine = self.engine(py)?;
            let inputs = run(py, engine.status_inputs(&local, mask))?;
            to_py(py, &compute_statuses(&inputs))
        })
    }

    /// Apply the approved changes `filter` selects (a dict of `ChangeFilter` keys, a
    /// `Plan`, or `None`: every approved change), and wait. `on_event` is called with
    /// each progress event (a dict, the JSON shape of `tests/vectors/events.json`) in
    /// the calling thread; an exception it raises stops the apply and propagates.
    /// Releases the GIL while it waits; Ctrl-C cancels the apply (as
    /// `ApplyOperation.cancel()`: it returns once the running writes are recorded) and
    /// raises `KeyboardInterrupt`. Returns an `ApplyReport`.
    #[pyo3(signature = (filter=None, *, on_event=None, operation_id=None))]
    fn apply(
        &self,
        py: Python<'_>,
        filter: Option<&Bound<'_, PyAny>>,
        on_event: Option<Bound<'_, PyAny>>,
        operation_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let filter = self::filter(filter)?;
            let on_event = on_event.filter(|f| !f.is_none());
            let engine = self.engine(py)?;
            let running = Running::start(engine, filter, operation_id, on_event.is_some());
            let waited = (|| -> PyResult<()> {
                if let (Some(f), Some(queue)) = (&on_event, &running.events) {
                    events::deliver(py, queue, f)?;
                }
                let r = running.clone();
                block_on(py, async move { r.wait().await })
            })();
            if let Err(e) = waited {
                // Ctrl-C or an exception in the callback: stop the apply, and return
                // once its running writes are recorded (a second Ctrl-C stops the
                // waiting, not the apply).
                running.cancel.cancel();
                let r = running.clone();
                let _ = block_on(py, async move { r.wait().await });
                return Err(e);
            }
            running.outcome(py)
        })
    }

    /// `apply()` as an awaitable; `on_event` is called on the event loop's thread
    /// (`loop.call_soon_threadsafe`), every event before the awaitable completes.
    /// Cancelling the awaitable cancels the apply (as `ApplyOperation.cancel()`; the
    /// running writes finish and are recorded in the background).
    #[pyo3(signature = (filter=None, *, on_event=None, operation_id=None))]
    fn apply_async<'py>(
        &self,
        py: Python<'py>,
        filter: Option<&Bound<'py, PyAny>>,
        on_event: Option<Bound<'py, PyAny>>,
        operation_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = self::filter(filter)?;
        let on_event = on_event.filter(|f| !f.is_none()).map(Bound::unbind);
        let event_loop = events::running_loop(py, on_event.as_ref())?;
        let engine = self.engine(py)?;
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let running = Running::start(engine, filter, operation_id, on_event.is_some());
            let cancel = running.cancel.clone();
            let stop = OnDrop::new(move || cancel.cancel());
            if let (Some(f), Some(lp), Some(queue)) = (&on_event, &event_loop, &running.events) {
                events::deliver_on_loop(queue, f, lp).await?;
            }
            running.wait().await;
            stop.disarm();
            Python::attach(|py| running.outcome(py))
        })
    }

    /// Start an apply in the background and return at once: an `ApplyOperation`
    /// whose events are an iterator (for a thread or green thread of the application,
    /// e.g. one that emits them to a Socket.IO room named `operation_id`) and an
    /// async iterator, and whose `wait()` gives the report.
    #[pyo3(signature = (filter=None, *, operation_id=None))]
    fn start_apply(
        &self,
        py: Python<'_>,
        filter: Option<&Bound<'_, PyAny>>,
        operation_id: Option<String>,
    ) -> PyResult<PyApplyOperation> {
        guard(|| {
            let filter = self::filter(filter)?;
            let engine = self.engine(py)?;
            Ok(PyApplyOperation {
                running: Running::start(engine, filter, operation_id, true),
            })
        })
    }

    /// Settle the changes left `applying` by a crash or a cancelled apply (re-checked
    /// against Shopify: applied, written now, or stale). `apply()` runs it first.
    fn reconcile(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let engine = self.engine(py)?;
            let r = run(py, engine.reconcile())?;
            apply_report(py, &r)
        })
    }

    /// Re-read what the queue's webhooks marked dirty into the remote snapshots.
    /// Returns a `RefreshReport`.
    fn refresh(&self, py: Python<'_>, queue: &PyWebhookQueue) -> PyResult<Py<PyAny>> {
        guard(|| {
            let engine = self.engine(py)?;
            let q = queue.queue.clone();
            let r = run(py, engine.refresh(&q))?;
            refresh_report(py, &r)
        })
    }

    /// `refresh()` as an awaitable.
    fn refresh_async<'py>(
        &self,
        py: Python<'py>,
        queue: &PyWebhookQueue,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine(py)?;
        let q = queue.queue.clone();
        pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let r = settle(engine.refresh(&q)).await?;
            Python::attach(|py| refresh_report(py, &r))
        })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SyncEngine(shop={:?})",
            self.client.bind(py).get().shop().unwrap_or_default()
        )
    }
}

// ----- webhooks in ---------------------------------------------------------------------

/// Verified webhook deliveries waiting to be re-read by `SyncEngine.refresh()`:
/// deduplicated, ordered per entity. Thread-safe: share one between the web handler and
/// the refresher.
#[pyclass(name = "WebhookQueue", module = "shopify_sync._native", frozen)]
pub struct PyWebhookQueue {
    queue: Arc<WebhookQueue>,
}

#[pymethods]
impl PyWebhookQueue {
    /// A queue verifying with `secrets` (current first; `None` reads
    /// `SHOPIFY_WEBHOOK_SECRETS`); `shop` refuses deliveries for another shop.
    #[new]
    #[pyo3(signature = (secrets=None, *, shop=None))]
    fn new(secrets: Option<&Bound<'_, PyAny>>, shop: Option<&str>) -> PyResult<PyWebhookQueue> {
        guard(|| {
            let mut q = WebhookQueue::new(crate::webhook::secrets(secrets)?);
            if let Some(s) = shop {
                q = q.for_shop(s);
            }
            Ok(PyWebhookQueue { queue: Arc::new(q) })
        })
    }

    /// Verify, deduplicate and mark one delivery (`headers`: a mapping such as Flask's
    /// `request.headers`, or pairs; `body`: the raw bytes). Returns `{"outcome"
    /// ("marked", "duplicate", "stale" or "ignored"), "topic", "product_id",
    /// "collection_id"}`: answer 200. A bad signature raises `AuthError` (answer 401),
    /// another unusable request `InvalidInputError` (400).
    fn receive(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        body: &[u8],
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let pairs = crate::webhook::header_pairs(headers)?;
            let r = self
                .queue
                .receive(pairs, body)
                .map_err(|e| raise(Error::from(e)))?;
            let d = PyDict::new(py);
            d.set_item("outcome", r.outcome.as_str())?;
            d.set_item("topic", &r.webhook.headers.topic)?;
            d.set_item("product_id", r.product_id().map(|g| g.to_string()))?;
            d.set_item("collection_id", r.collection_id().map(|g| g.to_string()))?;
            Ok(d.into_any().unbind())
        })
    }

    /// Mark a product dirty by hand (a gid or numeric id).
    fn mark_product(&self, id: Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            if let Some(g) = gid::<Product>("id", Some(id))? {
                self.queue.mark_product(g);
            }
            Ok(())
        })
    }

    /// Mark a collection dirty by hand (a gid or numeric id).
    fn mark_collection(&self, id: Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            if let Some(g) = gid::<Collection>("id", Some(id))? {
                self.queue.mark_collection(g);
            }
            Ok(())
        })
    }

    /// How many entities are dirty.
    #[getter]
    fn pending(&self) -> usize {
        self.queue.pending()
    }

    fn __len__(&self) -> usize {
        self.queue.pending()
    }
}

/// `tests/vectors/events.json` through the binding: an event dict read by the core's
/// serde and handed back as the binding hands events over.
#[pyfunction]
fn _event_roundtrip(py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let e: shopify_sync::executor::Event = from_json("event", event)?;
        event_dict(py, &e)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySyncEngine>()?;
    m.add_class::<PyApplyOperation>()?;
    m.add_class::<PyWebhookQueue>()?;
    m.add_function(wrap_pyfunction!(_event_roundtrip, m)?)
}
