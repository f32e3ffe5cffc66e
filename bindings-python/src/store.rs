//! The change store: `ChangeStore` (the base class) with `SqliteStore` (one file, the
//! embedded default) and `MemoryStore`. Review (approve, reject, resolve), the changes,
//! the audit trail, snapshots and checkpoints, each a blocking call that releases the
//! GIL. Filters and queries are dicts in the serde shape of `ChangeFilter` and
//! `AuditQuery` (unknown keys refused).
use crate::client::block_on;
use crate::convert::{from_json, to_py, typed, typed_list, typed_option};
use crate::errors::{guard, raise};
use crate::plan::PyPlan;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use shopify_sync::error::Result as CoreResult;
use shopify_sync::staging::store::{
    ChangeStore, MemoryStore, SnapshotSide, SqliteOptions, SqliteStore, Synchronous,
};
use shopify_sync::staging::{
    AuditQuery, ChangeFilter, ChangeId, PlanId, Review, ReviewAction, Take,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Run a store future with the GIL released; a core error becomes its exception.
pub fn run<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = CoreResult<T>> + Send,
) -> PyResult<T> {
    block_on(py, fut)?.map_err(raise)
}

/// A `ChangeFilter` from `None` (every change) or a dict of its keys.
pub fn filter(value: Option<&Bound<'_, PyAny>>) -> PyResult<ChangeFilter> {
    match value {
        Some(v) if !v.is_none() => {
            if let Ok(plan) = v.cast::<PyPlan>() {
                return Ok(ChangeFilter::default().plan(&plan.get().plan.id));
            }
            from_json("change filter", v)
        }
        _ => Ok(ChangeFilter::default()),
    }
}

fn review(actor: &str, comment: Option<String>) -> Review {
    let r = Review::now(actor);
    match comment {
        Some(c) => r.with_comment(c),
        None => r,
    }
}

fn side(name: &str) -> PyResult<SnapshotSide> {
    match name {
        "base" => Ok(SnapshotSide::Base),
        "remote" => Ok(SnapshotSide::Remote),
        other => Err(crate::errors::invalid(
            "side",
            format!("expected \"base\" or \"remote\", not {other:?}"),
        )),
    }
}

/// Where plans, changes, the audit trail, snapshots and checkpoints live. Use
/// `SqliteStore(path)` or `MemoryStore()`; thread-safe.
#[pyclass(
    name = "ChangeStore",
    module = "shopify_sync._native",
    frozen,
    subclass
)]
pub struct PyChangeStore {
    pub store: Arc<dyn ChangeStore>,
}

#[pymethods]
impl PyChangeStore {
    /// Approve the selected `staged` changes (`filter`: a dict of `ChangeFilter` keys,
    /// a `Plan`, or `None` for all); returns a `ReviewReport`. Changes with an
    /// unresolved conflict or a preflight issue are skipped and reported.
    #[pyo3(signature = (filter=None, *, actor, comment=None))]
    fn approve(
        &self,
        py: Python<'_>,
        filter: Option<&Bound<'_, PyAny>>,
        actor: &str,
        comment: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.review(py, ReviewAction::Approve, filter, actor, comment)
    }

    /// Reject the selected `staged` changes; the rejections are remembered (the same
    /// proposal is not planned again). Returns a `ReviewReport`.
    #[pyo3(signature = (filter=None, *, actor, comment=None))]
    fn reject(
        &self,
        py: Python<'_>,
        filter: Option<&Bound<'_, PyAny>>,
        actor: &str,
        comment: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.review(py, ReviewAction::Reject, filter, actor, comment)
    }

    /// Resolve the conflicts of one staged change: `take` is `"local"`, `"remote"` or
    /// `"value"` (then `value` is written); `path` limits it to one row. Returns the
    /// `Change`.
    #[pyo3(signature = (change_id, take, *, path=None, value=None, actor, comment=None))]
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &self,
        py: Python<'_>,
        change_id: String,
        take: &Bound<'_, PyAny>,
        path: Option<String>,
        value: Option<&Bound<'_, PyAny>>,
        actor: &str,
        comment: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let take: Take = from_json("take", take)?;
            let value: Option<Value> = match value {
                Some(v) if !v.is_none() => Some(crate::convert::json_from_py(v)?),
                _ => None,
            };
            let by = review(actor, comment);
            let store = self.store.clone();
            let id: ChangeId = serde_json::from_value(Value::String(change_id))
                .map_err(|e| crate::errors::invalid("change_id", e))?;
            let c = run(py, async move {
                store.resolve(&id, path.as_deref(), take, value, &by).await
            })?;
            typed_option(py, "Change", Some(&c))
        })
    }

    /// The changes a filter selects (`Change` objects), in plan order.
    #[pyo3(signature = (filter=None))]
    fn changes(&self, py: Python<'_>, filter: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let f = self::filter(filter)?;
            let store = self.store.clone();
            let changes = run(py, async move { store.changes(&f).await })?;
            typed_list(py, "Change", &changes)
        })
    }

    /// One `Change`, or `None`.
    fn change(&self, py: Python<'_>, change_id: String) -> PyResult<Py<PyAny>> {
        guard(|| {
            let id: ChangeId = serde_json::from_value(Value::String(change_id))
                .map_err(|e| crate::errors::invalid("change_id", e))?;
            let store = self.store.clone();
            let c = run(py, async move { store.change(&id).await })?;
            typed_option(py, "Change", c.as_ref())
        })
    }

    /// The changes left `applying` (by a crash or a cancelled apply), to reconcile.
    fn in_flight(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let store = self.store.clone();
            let changes = run(py, async move { store.in_flight().await })?;
            typed_list(py, "Change", &changes)
        })
    }

    /// A saved plan with its changes in their current states, or `None`.
    fn plan(&self, py: Python<'_>, plan_id: String) -> PyResult<Option<PyPlan>> {
        guard(|| {
            let id: PlanId = serde_json::from_value(Value::String(plan_id))
                .map_err(|e| crate::errors::invalid("plan_id", e))?;
            let store = self.store.clone();
            let plan = run(py, async move { store.plan(&id).await })?;
            Ok(plan.map(PyPlan::new))
        })
    }

    /// Save a plan (e.g. read from a plan file) with its changes `staged`; older
    /// unapplied changes of the same targets become `superseded`. Returns a
    /// `SavedPlan` (`plan_id`, `changes`, `superseded`).
    #[pyo3(signature = (plan, *, actor, comment=None))]
    fn save_plan(
        &self,
        py: Python<'_>,
        plan: &PyPlan,
        actor: &str,
        comment: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let p = plan.plan.clone();
            let by = review(actor, comment);
            let store = self.store.clone();
            let saved = run(py, async move { store.save_plan(&p, &by).await })?;
            typed_option(py, "SavedPlan", Some(&saved))
        })
    }

    /// The `AuditEntry` objects a query selects (`query`: a dict of `AuditQuery` keys:
    /// `change_id`, `plan_id`, `target`, `since`, `until`, `after_seq`, `limit`), in
    /// order.
    #[pyo3(signature = (query=None))]
    fn audit(&self, py: Python<'_>, query: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let q = audit_query(query)?;
            let store = self.store.clone();
            let entries = run(py, async move { store.audit(&q).await })?;
            typed_list(py, "AuditEntry", &entries)
        })
    }

    /// The audit entries a query selects as JSON lines.
    #[pyo3(signature = (query=None))]
    fn export_audit_jsonl(
        &self,
        py: Python<'_>,
        query: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        guard(|| {
            let q = audit_query(query)?;
            let store = self.store.clone();
            run(py, async move { store.export_audit_jsonl(&q).await })
        })
    }

    /// Every snapshot of one side (`"base"` or `"remote"`): a dict from the key (the
    /// entity's gid) to `{"snapshot", "fingerprint", "updated_at", "local_id"}`.
    fn snapshots(&self, py: Python<'_>, side: &str) -> PyResult<Py<PyAny>> {
        guard(|| {
            let side = self::side(side)?;
            let store = self.store.clone();
            let all = run(py, async move { store.snapshots(side).await })?;
            let d = PyDict::new(py);
            for (k, s) in &all {
                d.set_item(k, to_py(py, s)?)?;
            }
            Ok(d.into_any().unbind())
        })
    }

    /// One stored snapshot, or `None`.
    fn snapshot(&self, py: Python<'_>, side: &str, key: String) -> PyResult<Py<PyAny>> {
        guard(|| {
            let side = self::side(side)?;
            let store = self.store.clone();
            let s = run(py, async move { store.snapshot(side, &key).await })?;
            to_py(py, &s)
        })
    }

    /// A named checkpoint (e.g. `"sync.full_pull.at"`), or `None`.
    fn checkpoint(&self, py: Python<'_>, name: String) -> PyResult<Option<String>> {
        guard(|| {
            let store = self.store.clone();
            run(py, async move { store.checkpoint(&name).await })
        })
    }

    /// Set a named checkpoint.
    fn set_checkpoint(&self, py: Python<'_>, name: String, value: String) -> PyResult<()> {
        guard(|| {
            let store = self.store.clone();
            run(py, async move { store.set_checkpoint(&name, &value).await })
        })
    }
}

fn audit_query(query: Option<&Bound<'_, PyAny>>) -> PyResult<AuditQuery> {
    match query {
        Some(q) if !q.is_none() => from_json("audit query", q),
        _ => Ok(AuditQuery::default()),
    }
}

/// The change store in one SQLite file (WAL; safe for several processes).
#[pyclass(name = "SqliteStore", module = "shopify_sync._native", frozen, extends = PyChangeStore)]
pub struct PySqliteStore {
    path: String,
}

#[pymethods]
impl PySqliteStore {
    /// Open (or create) the store at `path`; `None` reads `SHOPIFY_SYNC_STORE`.
    /// `synchronous` is `"full"` (default: every commit durable) or `"normal"` (faster;
    /// the last commits may be lost on power failure); `busy_timeout` (seconds) bounds
    /// the wait for another process's write lock.
    #[new]
    #[pyo3(signature = (path=None, *, synchronous=None, busy_timeout=None))]
    fn new(
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        synchronous: Option<&str>,
        busy_timeout: Option<f64>,
    ) -> PyResult<PyClassInitializer<PySqliteStore>> {
        guard(|| {
            let mut options = SqliteOptions::default();
            match synchronous {
                None | Some("full") => {}
                Some("normal") => options.synchronous = Synchronous::Normal,
                Some(other) => {
                    return Err(crate::errors::invalid(
                        "synchronous",
                        format!("expected \"full\" or \"normal\", not {other:?}"),
                    ))
                }
            }
            if let Some(t) = busy_timeout {
                options.busy_timeout = Duration::try_from_secs_f64(t)
                    .map_err(|e| crate::errors::invalid("busy_timeout", e))?;
            }
            let (store, shown) = py
                .detach(|| match path {
                    Some(p) => {
                        let shown = p.display().to_string();
                        SqliteStore::open_with(&p, &options).map(|s| (s, shown))
                    }
                    None => {
                        let shown = std::env::var(SqliteStore::ENV).unwrap_or_default();
                        SqliteStore::open_default().map(|s| (s, shown))
                    }
                })
                .map_err(raise)?;
            Ok(PyClassInitializer::from(PyChangeStore {
                store: Arc::new(store),
            })
            .add_subclass(PySqliteStore { path: shown }))
        })
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    fn __repr__(&self) -> String {
        format!("SqliteStore({:?})", self.path)
    }
}

/// The change store in memory (tests, short-lived tools): gone with the object.
#[pyclass(name = "MemoryStore", module = "shopify_sync._native", frozen, extends = PyChangeStore)]
pub struct PyMemoryStore;

#[pymethods]
impl PyMemoryStore {
    /// An empty store.
    #[new]
    fn new() -> PyClassInitializer<PyMemoryStore> {
        PyClassInitializer::from(PyChangeStore {
            store: Arc::new(MemoryStore::new()),
        })
        .add_subclass(PyMemoryStore)
    }

    fn __repr__(&self) -> String {
        "MemoryStore()".to_string()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyChangeStore>()?;
    m.add_class::<PySqliteStore>()?;
    m.add_class::<PyMemoryStore>()
}

impl PyChangeStore {
    /// `approve` or `reject` the changes a filter selects.
    fn review(
        &self,
        py: Python<'_>,
        action: ReviewAction,
        filter: Option<&Bound<'_, PyAny>>,
        actor: &str,
        comment: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let f = self::filter(filter)?;
            let by = review(actor, comment);
            let store = self.store.clone();
            let r = run(py, async move { store.review(action, &f, &by).await })?;
            typed(py, "ReviewReport", to_py(py, &r)?.into_bound(py))
        })
    }
}
