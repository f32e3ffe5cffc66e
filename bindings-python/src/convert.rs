//! Python values <-> the core's serde shapes (through `pythonize`).
use crate::errors::invalid;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Read a Python value (dicts, lists, str, int, float, bool, None) as `T`; an unusable
/// shape is an `InvalidInputError` naming `what`.
pub fn from_py<T: DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    pythonize::depythonize(value).map_err(|e| invalid(what, e))
}

/// Write `value` as plain Python data (dicts, lists, str, int, float, bool, None).
pub fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, value)?.unbind())
}

/// An aware `datetime` (UTC) for a chrono timestamp.
pub fn datetime(py: Python<'_>, t: &chrono::DateTime<chrono::Utc>) -> PyResult<Py<PyAny>> {
    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    Ok(py
        .import("datetime")?
        .getattr("datetime")?
        .call_method1("fromisoformat", (text,))?
        .unbind())
}
