//! `compute_status`, snapshots and fingerprints: pure functions of the core, through
//! the JSON shapes of `tests/vectors/status.json` and `fingerprint.json`.
use crate::convert::{from_py, to_py};
use crate::errors::{guard, invalid};
use pyo3::prelude::*;
use pyo3::types::PyList;
use shopify_sync::staging::{
    canonical_collection, canonical_product, CollectionSnapshot, FieldMask, Fingerprint,
    ProductSnapshot, Snapshot,
};
use shopify_sync::status::{self, StatusInput};

/// The status of one product, from a `StatusInput` dict; returns the `SyncStatus` dict
/// (`state`, `rule`, `reason`, `fields`).
#[pyfunction]
fn compute_status(py: Python<'_>, input: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let input: StatusInput = from_py("status input", input)?;
        to_py(py, &status::compute_status(&input))
    })
}

/// `compute_status()` over a sequence of inputs, in order.
#[pyfunction]
fn compute_statuses(py: Python<'_>, inputs: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let mut parsed = Vec::with_capacity(inputs.len().unwrap_or(0));
        for (i, item) in inputs.try_iter()?.enumerate() {
            parsed.push(from_py::<StatusInput>(
                &format!("status input [{i}]"),
                &item?,
            )?);
        }
        let statuses = status::compute_statuses(&parsed);
        let out = PyList::empty(py);
        for s in &statuses {
            out.append(pythonize::pythonize(py, s)?)?;
        }
        Ok(out.into_any().unbind())
    })
}

fn mask(mask: Option<&Bound<'_, PyAny>>) -> PyResult<FieldMask> {
    match mask {
        None => Ok(FieldMask::ALL),
        Some(m) if m.is_none() => Ok(FieldMask::ALL),
        Some(m) if m.is_instance_of::<pyo3::types::PyString>() => Err(invalid(
            "mask",
            "expected a list of field names, not a string",
        )),
        Some(m) => from_py("mask", m),
    }
}

/// The `v1:` fingerprint of a snapshot tagged with its `kind` under `mask` (a list of
/// field names; `None`: every field).
#[pyfunction]
#[pyo3(signature = (snapshot, mask=None))]
fn fingerprint(snapshot: &Bound<'_, PyAny>, mask: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    guard(|| {
        let s: Snapshot = from_py("snapshot", snapshot)?;
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
        let s: ProductSnapshot = from_py("product snapshot", snapshot)?;
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
        let s: CollectionSnapshot = from_py("collection snapshot", snapshot)?;
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
        Ok(match from_py::<Snapshot>("snapshot", snapshot)? {
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
        let s: Snapshot = from_py("snapshot", snapshot)?;
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
