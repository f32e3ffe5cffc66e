//! `shopify_sync._native`: the Python binding of the shopify-sync core.
//!
//! Thin by design: every function converts Python values into the core's types (through
//! their serde shapes), calls the core, and converts the result or the error back. No
//! behaviour lives here. Conventions:
//!
//! - Errors become the `shopify_sync` exception of their kind (`errors.rs`); panics are
//!   caught at the boundary (`errors::guard`) and become `ShopifySyncError`.
//! - Blocking calls own their inputs, then release the GIL while the core works.
//! - Async work runs on a Tokio runtime owned by the binding and rebuilt after `fork()`
//!   (`runtime.rs`).
use pyo3::prelude::*;

mod client;
mod convert;
mod engine;
mod errors;
mod events;
mod executor;
mod plan;
mod runtime;
mod sim;
mod staging;
mod store;
mod webhook;

/// Build an exception instance of `kind` as the core would (`Error::new`), without
/// raising it: lets tests check the class, fields and default retry verdict of every
/// kind.
#[pyfunction]
#[pyo3(signature = (kind, message))]
fn _make_error(py: Python<'_>, kind: &str, message: &str) -> PyResult<Py<PyAny>> {
    let kind = errors::parse_kind(kind)?;
    let err = shopify_sync::error::Error::new(kind, message);
    Ok(errors::to_py_err(py, &err).into_value(py).into_any())
}

/// Panic inside Rust on purpose: the test that a panic becomes an exception, never an
/// abort.
#[pyfunction]
fn _panic(message: &str) -> PyResult<()> {
    errors::guard(|| panic!("{message}"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "DEFAULT_API_VERSION",
        shopify_sync::schema::DEFAULT_API_VERSION,
    )?;
    m.add_function(wrap_pyfunction!(_make_error, m)?)?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    staging::register(m)?;
    client::register(m)?;
    sim::register(m)?;
    webhook::register(m)?;
    plan::register(m)?;
    store::register(m)?;
    engine::register(m)?;
    executor::register(m)?;
    Ok(())
}
