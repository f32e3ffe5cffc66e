//! `compute_status`, snapshots and fingerprints: pure functions of the core, through
//! the JSON shapes of `tests/vectors/status.json` and `fingerprint.json`.
use crate::convert::{from_json, from_py, to_py};
use crate::errors::{guard, invalid};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::types::{PyDict, PyString};
use shopify_sync::staging::{
    canonical_collection, canonical_product, CollectionSnapshot, FieldMask, Fingerprint,
    ProductSnapshot, Snapshot,
};
use shopify_sync::status::{self, StatusInput, SyncState, SyncStatus};
use std::collections::HashMap;

/// The status of one product, from a `StatusInput` dict; returns the `SyncStatus` dict
/// (`state`, `rule`, `reason`, `fields`).
#[pyfunction]
fn compute_status(py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let input: StatusInput = from_py("status input", input)?;
        let status = status::compute_status(&input);
        Ok(StatusDicts::new(py).dict(&status)?.into_any().unbind())
    })
}

/// `compute_status()` over a sequence of inputs, in order.
#[pyfunction]
fn compute_statuses(py: Python<'_>, inputs: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let mut parsed = Vec::with_capacity(inputs.len().unwrap_or(0));
        for (i, item) in inputs.try_iter()?.enumerate() {
            let item = item?;
            match pythonize::depythonize::<StatusInput>(&item) {
                Ok(input) => parsed.push(input),
                // The error names the position only when there is one.
                Err(e) => return Err(invalid(&format!("status input [{i}]"), e)),
            }
        }
        let statuses = status::compute_statuses(&parsed);
        let mut out = StatusDicts::new(py);
        let list = PyList::empty(py);
        for s in &statuses {
            list.append(out.dict(s)?)?;
        }
        Ok(list.into_any().unbind())
    })
}

/// `SyncStatus` dicts built with their strings made once per call: the states, rules,
/// reasons and field names are a small fixed set (the same dict `pythonize` would
/// write, several times faster over many rows).
struct StatusDicts<'py> {
    py: Python<'py>,
    strings: HashMap<(usize, usize), Bound<'py, PyString>>,
    states: HashMap<SyncState, Bound<'py, PyString>>,
}

impl<'py> StatusDicts<'py> {
    fn new(py: Python<'py>) -> Self {
        StatusDicts {
            py,
            strings: HashMap::new(),
            states: HashMap::new(),
        }
    }

    fn text(&mut self, s: &'static str) -> Bound<'py, PyString> {
        let py = self.py;
        self.strings
            .entry((s.as_ptr() as usize, s.len()))
            .or_insert_with(|| PyString::new(py, s))
            .clone()
    }

    fn dict(&mut self, s: &SyncStatus) -> PyResult<Bound<'py, PyDict>> {
        let py = self.py;
        let d = PyDict::new(py);
        let state = self
            .states
            .entry(s.state())
            .or_insert_with(|| PyString::new(py, &s.state().to_string()))
            .clone();
        d.set_item(intern!(py, "state"), state)?;
        d.set_item(intern!(py, "rule"), self.text(s.rule()))?;
        d.set_item(intern!(py, "reason"), self.text(s.reason()))?;
        let fields = PyList::empty(py);
        for f in s.fields().iter() {
            fields.append(self.text(f))?;
        }
        d.set_item(intern!(py, "fields"), fields)?;
        Ok(d)
    }
}

fn mask(mask: Option<&Bound<'_, PyAny>>) -> PyResult<FieldMask> {
    match mask {
        None => Ok(FieldMask::ALL),
        Some(m) if m.is_none() => Ok(FieldMask::ALL),
        Some(m) if m.is_instance_of::<pyo3::types::PyString>() => Err(invalid(
            "mask",
            "expected a list of field names, not a string",
        )),
        Some(m) => from_json("mask", m),
    }
}

/// The `v1:` fingerprint of a snapshot tagged with its `kind` under `mask` (a list of
/// field names; `None`: every field).
#[pyfunction]
#[pyo3(signature = (snapshot, mask=None))]
fn fingerprint(snapshot: &Bound<'_, PyAny>, mask: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    guard(|| {
        let s: Snapshot = from_json("snapshot", snapshot)?;
        Ok(s.fingerprint(self::mask(mask)?).to_string())
    })
}

/// The `v1:` fingerprint of a product snapshot (no `kind` key) under `mask`.
#[pyfunction]
#[pyo3(signature = (snapshot, mask=None))]
fn fingerprint_product(
    snapshot: &Bound<'_, PyAny>,
    mask: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    guard(|| {
        let s: ProductSnapshot = from_json("product snapshot", snapshot)?;
        Ok(Fingerprint::of_product(&s, self::mask(mask)?).to_string())
    })
}

/// The `v1:` fingerprint of a collection snapshot (no `kind` key) under `mask`.
#[pyfunction]
#[pyo3(signature = (snapshot, mask=None))]
fn fingerprint_collection(
    snapshot: &Bound<'_, PyAny>,
    mask: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    guard(|| {
        let s: CollectionSnapshot = from_json("collection snapshot", snapshot)?;
        Ok(Fingerprint::of_collection(&s, self::mask(mask)?).to_string())
    })
}

/// The canonical document (compact JSON) a fingerprint hashes, for a snapshot tagged
/// with its `kind`.
#[pyfunction]
#[pyo3(signature = (snapshot, mask=None))]
fn canonical_document(
    snapshot: &Bound<'_, PyAny>,
    mask: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    guard(|| {
        let mask = self::mask(mask)?;
        Ok(match from_json::<Snapshot>("snapshot", snapshot)? {
            Snapshot::Product(p) => canonical_product(&p, mask),
            Snapshot::Collection(c) => canonical_collection(&c, mask),
        })
    })
}

/// A snapshot (tagged with its `kind`) with its fields normalised, as the diff and the
/// fingerprint see it.
#[pyfunction]
fn normalize_snapshot(py: Python<'_>, snapshot: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let s: Snapshot = from_json("snapshot", snapshot)?;
        to_py(py, &s.normalized())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compute_status, m)?)?;
    m.add_function(wrap_pyfunction!(compute_statuses, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint_product, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint_collection, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_document, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_snapshot, m)?)?;
    Ok(())
}
