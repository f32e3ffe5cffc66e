//! `compute_status`, snapshots and fingerprints: pure functions of the core, through
//! the JSON shapes of `tests/vectors/status.json` and `fingerprint.json`.
use crate::convert::{deserialize, from_json, from_py, to_py, Keys};
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
        Ok(StatusDicts::new(py).only(&status)?.into_any().unbind())
    })
}

/// `compute_status()` over a sequence of inputs, in order. The inputs are read straight
/// from the Python objects by the core's serde rules for `StatusInput`; the statuses
/// are computed with the GIL released.
#[pyfunction]
fn compute_statuses<'py>(py: Python<'py>, inputs: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let keys: Keys<'_> = Keys::default();
        let mut parsed = Vec::with_capacity(inputs.len().unwrap_or(0));
        let mut read = |i: usize, item: &Bound<'py, PyAny>| -> PyResult<()> {
            let input = deserialize::<StatusInput>(item, &keys)
                .map_err(|e| invalid(&format!("status input [{i}]"), e))?;
            parsed.push(input);
            Ok(())
        };
        if let Ok(list) = inputs.cast::<PyList>() {
            for (i, item) in list.iter().enumerate() {
                read(i, &item)?;
            }
        } else {
            for (i, item) in inputs.try_iter()?.enumerate() {
                read(i, &item?)?;
            }
        }
        let statuses = py.detach(|| status::compute_statuses(&parsed));
        let _paused = GcPaused::new(py)?;
        let mut out = StatusDicts::new(py);
        let dicts = statuses
            .iter()
            .map(|s| out.dict(s))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, dicts)?.into_any().unbind())
    })
}

/// `SyncStatus` dicts (the same dict `pythonize` would write, several times faster over
/// many rows): the states, rules, reasons and field names are a small fixed set, so
/// each row's dict is a copy of its rule's template, with a list of its fields.
struct StatusDicts<'py> {
    py: Python<'py>,
    strings: HashMap<(usize, usize), Bound<'py, PyString>>,
    /// By state, rule and reason: `{"state", "rule", "reason", "fields": None}`.
    templates: HashMap<(SyncState, usize, usize), Bound<'py, PyDict>>,
}

impl<'py> StatusDicts<'py> {
    fn new(py: Python<'py>) -> Self {
        StatusDicts {
            py,
            strings: HashMap::new(),
            templates: HashMap::new(),
        }
    }

    fn text(&mut self, s: &'static str) -> Bound<'py, PyString> {
        let py = self.py;
        self.strings
            .entry((s.as_ptr() as usize, s.len()))
            .or_insert_with(|| PyString::new(py, s))
            .clone()
    }

    fn template(&mut self, s: &SyncStatus) -> PyResult<Bound<'py, PyDict>> {
        let key = (
            s.state(),
            s.rule().as_ptr() as usize,
            s.reason().as_ptr() as usize,
        );
        if let Some(t) = self.templates.get(&key) {
            return Ok(t.clone());
        }
        let py = self.py;
        let d = PyDict::new(py);
        d.set_item(intern!(py, "state"), s.state().to_string())?;
        d.set_item(intern!(py, "rule"), self.text(s.rule()))?;
        d.set_item(intern!(py, "reason"), self.text(s.reason()))?;
        d.set_item(intern!(py, "fields"), py.None())?;
        self.templates.insert(key, d.clone());
        Ok(d)
    }

    /// The dict of a single status (its template, not copied).
    fn only(mut self, s: &SyncStatus) -> PyResult<Bound<'py, PyDict>> {
        let d = self.template(s)?;
        let fields: Vec<_> = s.fields().iter().map(|f| self.text(f)).collect();
        d.set_item(intern!(self.py, "fields"), PyList::new(self.py, fields)?)?;
        Ok(d)
    }

    fn dict(&mut self, s: &SyncStatus) -> PyResult<Bound<'py, PyDict>> {
        let d = self.template(s)?.copy()?;
        let fields: Vec<_> = s.fields().iter().map(|f| self.text(f)).collect();
        d.set_item(intern!(self.py, "fields"), PyList::new(self.py, fields)?)?;
        Ok(d)
    }
}

/// Pauses Python's cyclic garbage collector while many containers are built with no
/// Python code running (the GIL held throughout): each collection the allocations
/// would trigger traverses every object alive, the caller's input rows included, and
/// none of the new objects can be part of a cycle. Restores it when dropped.
struct GcPaused<'py>(Option<Bound<'py, PyAny>>);

impl<'py> GcPaused<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import(intern!(py, "gc"))?;
        if gc.call_method0(intern!(py, "isenabled"))?.is_truthy()? {
            gc.call_method0(intern!(py, "disable"))?;
            Ok(GcPaused(Some(gc.into_any())))
        } else {
            Ok(GcPaused(None))
        }
    }
}

impl Drop for GcPaused<'_> {
    fn drop(&mut self) {
        if let Some(gc) = self.0.take() {
            let _ = gc.call_method0(intern!(gc.py(), "enable"));
        }
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
