//! Python values <-> the core's serde shapes (through `pythonize`).
use crate::errors::invalid;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

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

static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TYPES_FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
        })?
        .bind(py))
}

/// Read a Python value as JSON, accepting the native types the core's JSON shapes stand
/// for: `decimal.Decimal` (written as its exact fixed-point string, the shape of
/// money), aware `datetime` (RFC 3339; a naive one is refused), tuples as lists, any
/// mapping, and objects with a `to_dict()` method (the typed result classes).
pub fn json_from_py(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let mut path = String::new();
    json_at(value, &mut path)
}

fn json_at(value: &Bound<'_, PyAny>, path: &mut String) -> PyResult<Value> {
    let py = value.py();
    let here = |path: &str| {
        if path.is_empty() {
            "$".to_string()
        } else {
            path.to_string()
        }
    };
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid(&here(path), "integer out of range"));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| invalid(&here(path), "NaN and infinity are not JSON"));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| invalid(&here(path), "dict keys must be strings"))?
                .to_cow()?
                .into_owned();
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            let v = json_at(&v, path)?;
            path.truncate(len);
            map.insert(key, v);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut out = Vec::with_capacity(value.len().unwrap_or(0));
        for (i, item) in value.try_iter()?.enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            out.push(json_at(&item?, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(out));
    }
    if value.is_instance(class(py, &DECIMAL, "decimal", "Decimal")?)? {
        let text: String = py
            .import("builtins")?
            .getattr("format")?
            .call1((value, "f"))?
            .extract()?;
        return Ok(Value::String(text));
    }
    if value.is_instance(class(py, &DATETIME, "datetime", "datetime")?)? {
        if value.call_method0("utcoffset")?.is_none() {
            return Err(invalid(
                &here(path),
                "naive datetime: attach a tzinfo (e.g. datetime.timezone.utc)",
            ));
        }
        return Ok(Value::String(value.call_method0("isoformat")?.extract()?));
    }
    if value.hasattr("to_dict")? {
        return json_at(&value.call_method0("to_dict")?, path);
    }
    if value.hasattr("items")? {
        let d = PyDict::new(py);
        for item in value.call_method0("items")?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            d.set_item(k, v)?;
        }
        return json_at(d.as_any(), path);
    }
    Err(invalid(
        &here(path),
        format!(
            "cannot convert a {} to JSON",
            value.get_type().name()?.to_cow()?
        ),
    ))
}

/// Read a Python value as `T` through [`json_from_py`]; an unusable shape is an
/// `InvalidInputError` naming `what`.
pub fn from_json<T: DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let v = json_from_py(value).map_err(|e| {
        Python::attach(|py| {
            let msg = e.value(py).to_string();
            invalid(what, msg)
        })
    })?;
    serde_json::from_value(v).map_err(|e| invalid(what, e))
}

/// An instance of the typed result class `name` (`shopify_sync._types`) built from a
/// dict by its `from_dict`.
pub fn typed(py: Python<'_>, name: &str, data: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let from_native = class(
        py,
        &TYPES_FROM_NATIVE,
        "shopify_sync._types",
        "_from_native",
    )?;
    Ok(from_native.call1((name, data))?.unbind())
}

/// A `datetime.timedelta` of `d`.
pub fn timedelta(py: Python<'_>, d: std::time::Duration) -> PyResult<Py<PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("microseconds", d.as_micros() as u64)?;
    Ok(py
        .import("datetime")?
        .getattr("timedelta")?
        .call((), Some(&kwargs))?
        .unbind())
}
