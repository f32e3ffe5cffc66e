//! `ShopifyClient`: the core client, blocking (GIL released) and asyncio.
use crate::convert::{from_py, to_py};
use crate::errors::{guard, panic_error, raise};
use crate::runtime::{runtime, ForkSafeTokio};
use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::{GraphqlResponse, ShopifyClient};
use shopify_sync::error::{Error, Result as CoreResult};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::Duration;

/// A client for one shop. Cheap to share between threads; clients for the same shop
/// share one cost bucket.
#[pyclass(name = "ShopifyClient", module = "shopify_sync._native", frozen)]
pub struct PyShopifyClient {
    config: ClientConfig,
    /// The core client and the process that built it: a forked child builds its own
    /// (the parent's connections and their tasks do not exist in the child).
    client: Mutex<Option<(u32, ShopifyClient)>>,
}

impl PyShopifyClient {
    fn wrap(config: ClientConfig) -> PyShopifyClient {
        PyShopifyClient {
            config,
            client: Mutex::new(None),
        }
    }

    fn client(&self) -> CoreResult<ShopifyClient> {
        let pid = std::process::id();
        let mut slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((owner, c)) = slot.as_ref() {
            if *owner == pid {
                return Ok(c.clone());
            }
        }
        let c = ShopifyClient::new(self.config.clone())?;
        *slot = Some((pid, c.clone()));
        Ok(c)
    }
}

/// Run `fut` on the binding's runtime with the GIL released, polling for Ctrl-C (on the
/// main thread) every 50 ms: a `KeyboardInterrupt` drops the future, which cancels the
/// work in Rust.
pub fn block_on<T: Send>(py: Python<'_>, fut: impl Future<Output = T> + Send) -> PyResult<T> {
    let rt = runtime();
    py.detach(|| {
        rt.block_on(async {
            let mut fut = std::pin::pin!(AssertUnwindSafe(fut).catch_unwind());
            loop {
                tokio::select! {
                    out = &mut fut => return out.map_err(panic_error),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}

/// A successful response as a dict: `data`, `errors` (field errors of a partial
/// response), `request_id`, `cost` (`extensions.cost` when sent).
fn response(py: Python<'_>, r: GraphqlResponse) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("data", to_py(py, &r.data)?)?;
    d.set_item("errors", to_py(py, &r.errors)?)?;
    d.set_item("request_id", r.request_id)?;
    match r.cost {
        Some(c) => {
            let cost = PyDict::new(py);
            cost.set_item("requested", c.requested)?;
            cost.set_item("actual", c.actual)?;
            cost.set_item("maximum", c.maximum)?;
            cost.set_item("available", c.available)?;
            cost.set_item("restore_rate", c.restore_rate)?;
            d.set_item("cost", cost)?;
        }
        None => d.set_item("cost", py.None())?,
    }
    Ok(d.into_any().unbind())
}

fn variables(v: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match v {
        None => Ok(Value::Null),
        Some(v) if v.is_none() => Ok(Value::Null),
        Some(v) => from_py("variables", v),
    }
}

#[pymethods]
impl PyShopifyClient {
    /// A client for `shop` (`name` or `name.myshopify.com`), or for `endpoint` (a base
    /// URL such as the simulator's; plain `http` only on loopback).
    ///
    /// `max_attempts` (default 5) bounds the attempts of a failed request, the first
    /// included; `request_timeout` (default 60) and `connect_timeout` (default 10) are in
    /// seconds.
    #[new]
    #[pyo3(signature = (
        shop=None, *, access_token, endpoint=None, api_version=None, max_attempts=None,
        request_timeout=None, connect_timeout=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        shop: Option<&str>,
        access_token: &str,
        endpoint: Option<&str>,
        api_version: Option<&str>,
        max_attempts: Option<u32>,
        request_timeout: Option<f64>,
        connect_timeout: Option<f64>,
    ) -> PyResult<PyShopifyClient> {
        guard(|| {
            let config = match (endpoint, shop) {
                (Some(e), shop) => ClientConfig::with_endpoint(e, shop, access_token),
                (None, Some(shop)) => ClientConfig::new(shop, access_token),
                (None, None) => Err(Error::invalid_input(
                    "ShopifyClient needs a shop or an endpoint",
                )),
            };
            let mut config = config.map_err(raise)?;
            if let Some(v) = api_version {
                config = config.api_version(v).map_err(raise)?;
            }
            if let Some(n) = max_attempts {
                if n == 0 {
                    return Err(raise(Error::invalid_input(
                        "max_attempts must be at least 1",
                    )));
                }
                config.retry.max_attempts = n;
            }
            let seconds = |name: &str, v: f64| {
                Duration::try_from_secs_f64(v)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        raise(Error::invalid_input(format!(
                            "{name} must be a positive number of seconds, not {v}"
                        )))
                    })
            };
            if let Some(v) = request_timeout {
                config.request_timeout = seconds("request_timeout", v)?;
            }
            if let Some(v) = connect_timeout {
                config.connect_timeout = seconds("connect_timeout", v)?;
            }
            Ok(PyShopifyClient::wrap(config))
        })
    }

    /// A client configured from `SHOPIFY_SHOP`, `SHOPIFY_ACCESS_TOKEN`,
    /// `SHOPIFY_API_VERSION` and `SHOPIFY_ENDPOINT`.
    #[staticmethod]
    fn from_env() -> PyResult<PyShopifyClient> {
        guard(|| {
            Ok(PyShopifyClient::wrap(
                ClientConfig::from_env().map_err(raise)?,
            ))
        })
    }

    /// The shop domain, when known.
    #[getter]
    fn shop(&self) -> Option<String> {
        self.config.shop().map(String::from)
    }

    /// The API version (`YYYY-MM`).
    #[getter]
    fn api_version(&self) -> String {
        self.config.version().to_string()
    }

    /// The URL the client posts GraphQL documents to.
    #[getter]
    fn graphql_url(&self) -> String {
        self.config.graphql_url().to_string()
    }

    /// Send a GraphQL document with its variables and wait for the answer (the GIL is
    /// released meanwhile). Returns `{"data", "errors", "request_id", "cost"}`.
    #[pyo3(signature = (document, variables=None))]
    fn graphql(
        &self,
        py: Python<'_>,
        document: String,
        variables: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let vars = self::variables(variables)?;
            let client = self.client().map_err(raise)?;
            let r = block_on(py, async move { client.graphql(&document, vars).await })?
                .map_err(raise)?;
            response(py, r)
        })
    }

    /// `graphql()` as an `asyncio.Future` of the running event loop: call it from a
    /// coroutine (`await client.graphql_async(...)`); cancelling the future cancels the
    /// request in Rust.
    #[pyo3(signature = (document, variables=None))]
    fn graphql_async<'py>(
        &self,
        py: Python<'py>,
        document: String,
        variables: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let vars = self::variables(variables)?;
            let client = self.client().map_err(raise)?;
            pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
                let work = async move { client.graphql(&document, vars).await };
                let r = AssertUnwindSafe(work)
                    .catch_unwind()
                    .await
                    .map_err(panic_error)?
                    .map_err(raise)?;
                Python::attach(|py| response(py, r))
            })
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "ShopifyClient(url={:?}, api_version={:?}, access_token=<redacted>)",
            self.config.graphql_url().as_str(),
            self.config.version()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyShopifyClient>()
}
