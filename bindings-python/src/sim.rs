//! `Simulator`: the offline Shopify simulator, served in-process over loopback HTTP on
//! the binding's runtime. Like every runtime-owned object it belongs to the process
//! that started it: a forked child must start its own.
use crate::client::block_on;
use crate::convert::{from_json, from_py, to_py};
use crate::errors::{guard, raise};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};
use shopify_sync::error::{Error, ErrorKind};
use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
use shopify_sync_sim::faults::Fault;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::sync::Mutex;
use std::time::Duration;

/// A running simulator. Use it as a context manager, or call `stop()`.
#[pyclass(name = "Simulator", module = "shopify_sync._native", frozen)]
pub struct PySimulator {
    sim: Mutex<Option<Simulator>>,
    endpoint: String,
    shop: String,
    access_token: String,
    pid: u32,
}

impl PySimulator {
    fn with<T>(&self, f: impl FnOnce(&Simulator) -> PyResult<T>) -> PyResult<T> {
        let slot = self.sim.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(sim) if self.pid == std::process::id() => f(sim),
            Some(_) => Err(raise(Error::new(
                ErrorKind::InvalidInput,
                "this simulator was started by the parent process: start one in the child",
            ))),
            None => Err(raise(Error::new(
                ErrorKind::InvalidInput,
                "the simulator is stopped",
            ))),
        }
    }
}

#[pymethods]
impl PySimulator {
    /// Start a simulator on a free loopback port and return once it accepts requests.
    ///
    /// The catalog is generated from `seed` (`products` products, `collections`
    /// collections), or given as `catalog` (the shape `dump()` returns).
    #[staticmethod]
    #[pyo3(signature = (
        products=None, collections=None, seed=None, *, catalog=None, shop=None,
        access_token=None, bucket_size=None, restore_rate=None, max_query_cost=None,
        job_delay=None, index_lag=None, bulk_rows_per_second=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        py: Python<'_>,
        products: Option<usize>,
        collections: Option<usize>,
        seed: Option<u64>,
        catalog: Option<&Bound<'_, PyAny>>,
        shop: Option<String>,
        access_token: Option<String>,
        bucket_size: Option<f64>,
        restore_rate: Option<f64>,
        max_query_cost: Option<u32>,
        job_delay: Option<f64>,
        index_lag: Option<f64>,
        bulk_rows_per_second: Option<f64>,
    ) -> PyResult<PySimulator> {
        guard(|| {
            let source = match catalog {
                Some(c) if !c.is_none() => {
                    if products.is_some() || collections.is_some() || seed.is_some() {
                        return Err(raise(Error::invalid_input(
                            "pass either catalog or products/collections/seed, not both",
                        )));
                    }
                    CatalogSource::Loaded(from_py::<Catalog>("catalog", c)?)
                }
                _ => {
                    let mut spec = CatalogSpec::default();
                    if let Some(n) = products {
                        spec.products = n;
                    }
                    if let Some(n) = collections {
                        spec.collections = n;
                    }
                    if let Some(s) = seed {
                        spec.seed = s;
                    }
                    CatalogSource::Generated(spec)
                }
            };
            let mut config = SimConfig {
                catalog: source,
                ..SimConfig::default()
            };
            if let Some(s) = shop {
                config.shop = s;
            }
            if let Some(t) = access_token {
                config.access_token = t;
            }
            if let Some(v) = bucket_size {
                config.bucket_size = v;
            }
            if let Some(v) = restore_rate {
                config.restore_rate = v;
            }
            if let Some(v) = max_query_cost {
                config.max_query_cost = v;
            }
            let seconds = |name: &str, v: f64| {
                Duration::try_from_secs_f64(v)
                    .map_err(|e| raise(Error::invalid_input(format!("{name}: {e}"))))
            };
            if let Some(v) = job_delay {
                config.job_delay = seconds("job_delay", v)?;
            }
            if let Some(v) = index_lag {
                config.index_lag = seconds("index_lag", v)?;
            }
            if let Some(v) = bulk_rows_per_second {
                config.bulk_rows_per_second = v;
            }
            let sim = block_on(py, Simulator::start(config))?.map_err(|e| {
                raise(
                    Error::new(
                        ErrorKind::Transport,
                        format!("cannot start the simulator: {e}"),
                    )
                    .with_retryable(false)
                    .with_source(e),
                )
            })?;
            Ok(PySimulator {
                endpoint: sim.endpoint(),
                shop: sim.shop().to_string(),
                access_token: sim.access_token().to_string(),
                sim: Mutex::new(Some(sim)),
                pid: std::process::id(),
            })
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (what `SHOPIFY_ENDPOINT` takes).
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The shop domain.
    #[getter]
    fn shop(&self) -> &str {
        &self.shop
    }

    /// The one access token the simulator accepts.
    #[getter]
    fn access_token(&self) -> &str {
        &self.access_token
    }

    /// Whether it is still serving.
    #[getter]
    fn running(&self) -> bool {
        self.sim.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// The environment a client needs to reach it: `SHOPIFY_ENDPOINT`, `SHOPIFY_SHOP`,
    /// `SHOPIFY_ACCESS_TOKEN`.
    fn env<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("SHOPIFY_ENDPOINT", &self.endpoint)?;
        d.set_item("SHOPIFY_SHOP", &self.shop)?;
        d.set_item("SHOPIFY_ACCESS_TOKEN", &self.access_token)?;
        Ok(d)
    }

    /// Request statistics so far (the JSON of `GET /_sim/stats`, camelCase keys).
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| self.with(|sim| to_py(py, &sim.stats())))
    }

    /// The whole catalog as it is now (the JSON of `GET /_sim/dump`; accepted back by
    /// `Simulator.start(catalog=...)`).
    fn dump(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| self.with(|sim| to_py(py, &sim.dump())))
    }

    /// Edit a product out of band, as a merchant in the Shopify admin would; returns the
    /// product as stored.
    fn edit_product(
        &self,
        py: Python<'_>,
        id: u64,
        fields: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let fields: Map<String, Value> = from_py("fields", fields)?;
            self.with(|sim| {
                let p = sim
                    .edit_product(id, &fields)
                    .map_err(|e| raise(Error::invalid_input(e)))?;
                to_py(py, &p)
            })
        })
    }

    /// Queue faults: each of the next GraphQL requests meets one, in order. A fault is a
    /// dict tagged by `kind`: `{"kind": "status", "status": 503, "body": "",
    /// "retry_after": "1.5"}`, `{"kind": "after_execute", "status": 502}` (the write
    /// happens, the response is lost), `{"kind": "truncate"}`, `{"kind": "reset"}`,
    /// `{"kind": "not_json"}`, `{"kind": "internal_error"}`, `{"kind": "stall", "ms": 500}`.
    fn inject(&self, faults: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let faults: Vec<Fault> = from_json("faults", faults)?;
            self.with(|sim| {
                sim.inject(faults);
                Ok(())
            })
        })
    }

    /// Make this share of GraphQL requests (0.0 to 1.0) fail with a random fault from
    /// now on (0 turns random faults off; queued faults are unaffected).
    fn set_fault_rate(&self, rate: f64) -> PyResult<()> {
        guard(|| {
            if !(0.0..=1.0).contains(&rate) {
                return Err(raise(Error::invalid_input(format!(
                    "the fault rate must be between 0 and 1, not {rate}"
                ))));
            }
            self.with(|sim| {
                sim.set_fault_rate(rate);
                Ok(())
            })
        })
    }

    /// Every fault used so far, in order: `{"fault": {...}, "executed": bool, ...}`
    /// (`executed`: the request ran, so a mutation's write happened).
    fn fault_log(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| self.with(|sim| to_py(py, &sim.fault_log())))
    }

    /// Stop serving and wait for in-flight requests. Idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            let sim = self.sim.lock().unwrap_or_else(|e| e.into_inner()).take();
            match sim {
                Some(sim) if self.pid == std::process::id() => block_on(py, sim.shutdown()),
                // Inherited through fork(): its server never ran here; nothing to stop.
                Some(sim) => {
                    std::mem::forget(sim);
                    Ok(())
                }
                None => Ok(()),
            }
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Simulator(endpoint={:?}, shop={:?}, running={})",
            self.endpoint,
            self.shop,
            self.running()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySimulator>()
}
