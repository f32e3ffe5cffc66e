//! Errors across the boundary: the core's [`Error`] becomes an instance of the
//! `shopify_sync` exception class of its kind (defined in `shopify_sync/_errors.py`),
//! keeping its structured fields and its chain of causes as `__cause__`; a Rust panic
//! becomes a `ShopifySyncError` instead of unwinding into Python or aborting.
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use shopify_sync::error::{Error, ErrorKind};
use std::panic::{catch_unwind, AssertUnwindSafe};

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for a core error, with its causes chained.
pub fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    match build(py, error) {
        Ok(err) => err,
        Err(failed) => failed,
    }
}

/// [`to_py_err`], attaching to the interpreter first (usable after `py.detach`).
pub fn raise(error: Error) -> PyErr {
    Python::attach(|py| to_py_err(py, &error))
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let graphql_errors = PyList::empty(py);
    for e in error.graphql_errors() {
        graphql_errors.append(pythonize::pythonize(py, e)?)?;
    }
    let user_errors = PyList::empty(py);
    for e in error.user_errors() {
        user_errors.append(pythonize::pythonize(py, e)?)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("kind", error.kind().as_str())?;
    kwargs.set_item("retryable", error.is_retryable())?;
    kwargs.set_item("request_id", error.request_id())?;
    kwargs.set_item("graphql_errors", graphql_errors)?;
    kwargs.set_item("user_errors", user_errors)?;
    kwargs.set_item("json_path", error.json_path())?;
    let exc = from_native(py)?.call(py, (error.to_string(),), Some(&kwargs))?;
    let err = PyErr::from_value(exc.into_bound(py));
    if let Some(source) = std::error::Error::source(error) {
        err.set_cause(py, Some(cause(py, source)?));
    }
    Ok(err)
}

/// A cause: another core error keeps its class; anything else becomes an `Exception`
/// carrying its message. Causes of causes are chained too.
fn cause(py: Python<'_>, source: &(dyn std::error::Error + 'static)) -> PyResult<PyErr> {
    if let Some(core) = source.downcast_ref::<Error>() {
        return build(py, core);
    }
    let err = pyo3::exceptions::PyException::new_err(source.to_string());
    if let Some(next) = source.source() {
        err.set_cause(py, Some(cause(py, next)?));
    }
    Ok(err)
}

fn from_native(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    FROM_NATIVE.get_or_try_init(py, || {
        Ok(py
            .import("shopify_sync._errors")?
            .getattr("_from_native")?
            .unbind())
    })
}

/// An `invalid_input` error for a value that Python handed over in an unusable shape.
pub fn invalid(what: &str, e: impl std::fmt::Display) -> PyErr {
    raise(Error::invalid_input(format!("{what}: {e}")))
}

/// Run `f`, turning a panic into a `ShopifySyncError` (kind `None`: a bug, not a
/// Shopify condition) instead of letting it unwind.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_error(payload)),
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// How work that ran on the runtime failed, kept until Python asks: a core error or a
/// panic (its message).
#[derive(Debug)]
pub enum Failure {
    Core(Error),
    Panic(String),
}

impl Failure {
    /// A panic caught with `catch_unwind`.
    pub fn panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        Failure::Panic(panic_message(payload.as_ref()))
    }

    /// The exception: the core error's class, or `ShopifySyncError` for a panic.
    pub fn to_py_err(&self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Core(e) => to_py_err(py, e),
            Failure::Panic(m) => panic_error(Box::new(m.clone())),
        }
    }
}

/// The exception for a panic payload.
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = panic_message(payload.as_ref());
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("kind", py.None())?;
            kwargs.set_item("retryable", false)?;
            let text =
                format!("internal error in shopify-sync (a bug, please report it): {message}");
            let exc = from_native(py)?.call(py, (text,), Some(&kwargs))?;
            Ok(PyErr::from_value(exc.into_bound(py)))
        };
        build().unwrap_or_else(|e| e)
    })
}

/// Read an [`ErrorKind`] from its snake_case name.
pub fn parse_kind(name: &str) -> PyResult<ErrorKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| invalid("unknown error kind", format!("{name:?}")))
}
