//! Plans: the `Plan` class (summary, changes, side-by-side review rows, plan files) and
//! the three-way `diff` of two or three snapshots.
use crate::convert::{datetime, from_json, to_py, typed, typed_list, typed_option};
use crate::errors::{guard, raise};
use pyo3::prelude::*;
use pyo3::types::PyType;
use shopify_sync::model::{Collection, Gid};
use shopify_sync::staging::{diff_with, DiffOptions, FieldMask, Plan, Snapshot};
use std::collections::HashSet;
use std::sync::Arc;

/// A plan: the changes that bring Shopify to the local records, with what came in from
/// Shopify (`incoming`), what cannot be planned (`problems`) and the targets outside
/// the managed fields (`unmanaged`). Immutable: the store holds the changes' states.
#[pyclass(name = "Plan", module = "shopify_sync._native", frozen)]
pub struct PyPlan {
    pub plan: Arc<Plan>,
}

impl PyPlan {
    pub fn new(plan: Plan) -> PyPlan {
        PyPlan {
            plan: Arc::new(plan),
        }
    }
}

/// The field mask from `None` (every field) or a list of field names.
pub fn mask(mask: Option<&Bound<'_, PyAny>>) -> PyResult<FieldMask> {
    match mask {
        None => Ok(FieldMask::ALL),
        Some(m) if m.is_none() => Ok(FieldMask::ALL),
        Some(m) if m.is_instance_of::<pyo3::types::PyString>() => Err(crate::errors::invalid(
            "mask",
            "expected a list of field names, not a string",
        )),
        Some(m) => from_json("mask", m),
    }
}

#[pymethods]
impl PyPlan {
    /// The plan's id.
    #[getter]
    fn id(&self) -> &str {
        self.plan.id.as_str()
    }

    /// When it was computed (aware, UTC).
    #[getter]
    fn created_at(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        datetime(py, &self.plan.created_at)
    }

    /// The managed field names it was computed under.
    #[getter]
    fn mask(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.plan.mask)
    }

    /// How many targets agreed on every side.
    #[getter]
    fn unchanged(&self) -> u64 {
        self.plan.unchanged
    }

    /// Counts for a review screen: a `PlanSummary`.
    fn summary(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            typed(
                py,
                "PlanSummary",
                to_py(py, &self.plan.summary())?.into_bound(py),
            )
        })
    }

    /// The changes (`Change` objects: `id`, `target`, `operation`, `rows`, `state`
    /// ...), in plan order.
    fn changes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| typed_list(py, "Change", &self.plan.changes))
    }

    /// One `Change` by id, or `None`.
    fn change(&self, py: Python<'_>, change_id: &str) -> PyResult<Py<PyAny>> {
        guard(|| {
            let found = self
                .plan
                .changes
                .iter()
                .find(|c| c.id.as_str() == change_id);
            typed_option(py, "Change", found)
        })
    }

    /// Every row of every change side by side (`change_id`, `target`, `operation`,
    /// `state`, `path`, `field`, `kind`, `base`, `local`, `remote`, `resolution`), in
    /// plan order: the rows of a review table.
    fn review_rows(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, &self.plan.review_rows()))
    }

    /// Shopify's changes with nothing to write (`{"target", "rows"}` each).
    fn incoming(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, &self.plan.incoming))
    }

    /// Targets that cannot be planned (`{"target", "rows"}`, error rows).
    fn problems(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, &self.plan.problems))
    }

    /// Targets whose differences are all outside the mask.
    fn unmanaged(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, &self.plan.unmanaged))
    }

    /// The whole plan as a dict (its JSON shape, the `plan` of a plan file).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| to_py(py, self.plan.as_ref()))
    }

    /// A plan from `to_dict()`'s output (checked like a plan file's content).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<PyPlan> {
        guard(|| {
            let plan: Plan = from_json("plan", data)?;
            let text = plan.to_file_json().map_err(raise)?;
            Ok(PyPlan::new(Plan::from_file_json(&text).map_err(raise)?))
        })
    }

    /// The plan file's text: `{"format", "version", "digest", "plan"}` (the digest
    /// detects a damaged or edited file).
    fn to_file_json(&self) -> PyResult<String> {
        guard(|| self.plan.to_file_json().map_err(raise))
    }

    /// Read a plan file's text; refused (`InvalidInputError`, saying why) when it is
    /// not a plan file, newer than this library, damaged or edited.
    #[classmethod]
    fn from_file_json(_cls: &Bound<'_, PyType>, text: &str) -> PyResult<PyPlan> {
        guard(|| Ok(PyPlan::new(Plan::from_file_json(text).map_err(raise)?)))
    }

    /// Write the plan file at `path` (atomically: a temporary file, then a rename).
    fn write_file(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        guard(|| {
            let plan = self.plan.clone();
            py.detach(move || plan.write_file(&path)).map_err(raise)
        })
    }

    /// Read the plan file at `path` (see `from_file_json`).
    #[classmethod]
    fn read_file(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: std::path::PathBuf,
    ) -> PyResult<PyPlan> {
        guard(|| {
            Ok(PyPlan::new(
                py.detach(move || Plan::read_file(&path)).map_err(raise)?,
            ))
        })
    }

    fn __len__(&self) -> usize {
        self.plan.changes.len()
    }

    fn __repr__(&self) -> String {
        let s = self.plan.summary();
        format!(
            "Plan(id={:?}, changes={}, conflicts={}, incoming={}, problems={})",
            self.plan.id.as_str(),
            s.changes,
            s.conflicts,
            s.incoming,
            s.problems
        )
    }
}

fn side(what: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Snapshot>> {
    match v {
        Some(v) if !v.is_none() => Ok(Some(from_json(what, v)?)),
        _ => Ok(None),
    }
}

/// The three-way diff of one entity: `base`, `local` and `remote` are snapshots tagged
/// with their `kind` (or `None` where the entity does not exist on that side). Returns
/// the rows (`path`, `field`, `kind`, `base`, `local`, `remote`, plus `message` on
/// error rows), as in `tests/vectors/diff.json`.
#[pyfunction]
#[pyo3(signature = (base, local, remote, mask=None, smart_collections=None))]
fn diff(
    py: Python<'_>,
    base: Option<&Bound<'_, PyAny>>,
    local: Option<&Bound<'_, PyAny>>,
    remote: Option<&Bound<'_, PyAny>>,
    mask: Option<&Bound<'_, PyAny>>,
    smart_collections: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    guard(|| {
        let (b, l, r) = (
            side("base", base)?,
            side("local", local)?,
            side("remote", remote)?,
        );
        let mask = self::mask(mask)?;
        let smart: HashSet<Gid<Collection>> = match smart_collections {
            Some(s) if !s.is_none() => from_json("smart_collections", s)?,
            _ => HashSet::new(),
        };
        let options = DiffOptions {
            smart_collections: smart,
        };
        let rows = diff_with(b.as_ref(), l.as_ref(), r.as_ref(), mask, &options).map_err(raise)?;
        to_py(py, &rows)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPlan>()?;
    m.add_function(wrap_pyfunction!(diff, m)?)
}
