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

    /// The core client of this process (built again after a fork).
    pub(crate) fn core(&self) -> CoreResult<ShopifyClient> {
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
    pub(crate) fn shop(&self) -> Option<String> {
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
            let client = self.core().map_err(raise)?;
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
            let client = self.core().map_err(raise)?;
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

    /// Every product matching the filters, whole (all variants), as `Product` objects:
    /// an iterator and an async iterator, read page by page. `query`: Shopify's search
    /// syntax; `updated_after` / `updated_before`: aware datetimes; `sort`: "id"
    /// (default), "title", "updated_at", "created_at", "vendor" or "product_type".
    #[pyo3(signature = (query=None, *, updated_after=None, updated_before=None, sort=None, reverse=false, page_size=None))]
    #[allow(clippy::too_many_arguments)]
    fn products(
        &self,
        query: Option<String>,
        updated_after: Option<&Bound<'_, PyAny>>,
        updated_before: Option<&Bound<'_, PyAny>>,
        sort: Option<&str>,
        reverse: bool,
        page_size: Option<u32>,
    ) -> PyResult<PyItemIterator> {
        guard(|| {
            let mut q = ProductQuery::default()
                .sort(self::sort(sort)?)
                .reverse(reverse);
            if let Some(s) = query {
                q = q.search(s);
            }
            if let Some(t) = updated_after.filter(|t| !t.is_none()) {
                q = q.updated_after(crate::convert::from_json("updated_after", t)?);
            }
            if let Some(t) = updated_before.filter(|t| !t.is_none()) {
                q = q.updated_before(crate::convert::from_json("updated_before", t)?);
            }
            if let Some(n) = page_size {
                q = q.page_size(n);
            }
            let client = self.core().map_err(raise)?;
            Ok(PyItemIterator::start(
                Some("Product"),
                move |tx| async move {
                    pump(client.products(q).map(|r| r.and_then(|p| json(&p))), tx).await
                },
            ))
        })
    }

    /// How many products match `query` (Shopify's search syntax; `None`: all).
    #[pyo3(signature = (query=None))]
    fn products_count(&self, py: Python<'_>, query: Option<String>) -> PyResult<u64> {
        guard(|| {
            let client = self.core().map_err(raise)?;
            settle(block_on(
                py,
                unsend(move || async move { client.products_count(query.as_deref()).await }),
            )?)
        })
    }

    /// One product by id (a gid or numeric id), whole, or `None`.
    fn product(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let id = parse_gid::<Product>("id", id)?;
            let client = self.core().map_err(raise)?;
            let p = settle(block_on(
                py,
                unsend(move || async move {
                    match client.product(id).await? {
                        Some(p) => Ok(Some(json(&p)?)),
                        None => Ok(None),
                    }
                }),
            )?)?;
            optional(py, "Product", p)
        })
    }

    /// `product()` as an awaitable.
    fn product_async<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_gid::<Product>("id", id)?;
        let client = self.core().map_err(raise)?;
        future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let p = settle(
                unsend(move || async move {
                    match client.product(id).await? {
                        Some(p) => Ok(Some(json(&p)?)),
                        None => Ok(None),
                    }
                })
                .await,
            )?;
            Python::attach(|py| optional(py, "Product", p))
        })
    }

    /// One product by handle, or `None`.
    fn product_by_handle(&self, py: Python<'_>, handle: String) -> PyResult<Py<PyAny>> {
        guard(|| {
            let client = self.core().map_err(raise)?;
            let p = settle(block_on(
                py,
                unsend(move || async move {
                    match client.product_by_handle(&handle).await? {
                        Some(p) => Ok(Some(json(&p)?)),
                        None => Ok(None),
                    }
                }),
            )?)?;
            optional(py, "Product", p)
        })
    }

    /// Every collection (custom and smart) matching `query`, as `Collection` objects:
    /// an iterator and an async iterator.
    #[pyo3(signature = (query=None))]
    fn collections(&self, query: Option<String>) -> PyResult<PyItemIterator> {
        guard(|| {
            let client = self.core().map_err(raise)?;
            Ok(PyItemIterator::start(
                Some("Collection"),
                move |tx| async move {
                    let items = client.collections(query.as_deref());
                    pump(items.map(|r| r.and_then(|c| json(&c))), tx).await
                },
            ))
        })
    }

    /// One collection by id (a gid or numeric id), or `None`.
    fn collection(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let id = parse_gid::<Collection>("id", id)?;
            let client = self.core().map_err(raise)?;
            let c = settle(block_on(
                py,
                unsend(move || async move {
                    match client.collection(id).await? {
                        Some(c) => Ok(Some(json(&c)?)),
                        None => Ok(None),
                    }
                }),
            )?)?;
            optional(py, "Collection", c)
        })
    }

    /// The product gids of a collection: an iterator and an async iterator of str.
    fn collection_product_ids(&self, id: &Bound<'_, PyAny>) -> PyResult<PyItemIterator> {
        guard(|| {
            let id = parse_gid::<Collection>("id", id)?;
            let client = self.core().map_err(raise)?;
            Ok(PyItemIterator::start(None, move |tx| async move {
                let items = client.collection_product_ids(id);
                pump(items.map(|r| r.map(|g| Value::String(g.to_string()))), tx).await
            }))
        })
    }

    /// Add products (gids or numeric ids) to a custom collection; waits for Shopify's
    /// job. Adding a member again is harmless.
    fn collection_add_products(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        product_ids: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        guard(|| {
            let id = parse_gid::<Collection>("id", id)?;
            let products = gids::<Product>("product_ids", product_ids)?;
            let client = self.core().map_err(raise)?;
            settle(block_on(
                py,
                unsend(move || async move { client.collection_add_products(id, &products).await }),
            )?)
        })
    }

    /// Remove products (gids or numeric ids) from a custom collection; waits for
    /// Shopify's job.
    fn collection_remove_products(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        product_ids: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        guard(|| {
            let id = parse_gid::<Collection>("id", id)?;
            let products = gids::<Product>("product_ids", product_ids)?;
            let client = self.core().map_err(raise)?;
            settle(block_on(
                py,
                unsend(
                    move || async move { client.collection_remove_products(id, &products).await },
                ),
            )?)
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
    m.add_class::<PyShopifyClient>()?;
    m.add_class::<PyItemIterator>()
}

// ----- typed operations ------------------------------------------------------------------

use crate::convert::{json_from_py, typed};
use crate::runtime::unsend;
use futures::StreamExt;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3_async_runtimes::generic::future_into_py;
use shopify_sync::client::products::{ProductQuery, ProductSort};
use shopify_sync::model::{Collection, Gid, GidKind, Product};
use std::sync::Arc;

/// A gid of kind `K` from a gid string or a numeric id (str or int).
pub(crate) fn parse_gid<K: GidKind>(what: &str, v: &Bound<'_, PyAny>) -> PyResult<Gid<K>> {
    let text = match json_from_py(v)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => {
            return Err(crate::errors::invalid(
                what,
                format!("expected a gid or a numeric id, not {other}"),
            ))
        }
    };
    let text = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("gid://shopify/{}/{text}", K::NAME)
    } else {
        text
    };
    Gid::parse(&text).map_err(|e| crate::errors::invalid(what, e))
}

fn gids<K: GidKind>(what: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<Gid<K>>> {
    let mut out = Vec::new();
    for item in v.try_iter()? {
        out.push(parse_gid::<K>(what, &item?)?);
    }
    Ok(out)
}

/// A value for Python: `class` names the typed class built from it (`None`: as is).
fn item(py: Python<'_>, class: Option<&str>, v: &Value) -> PyResult<Py<PyAny>> {
    let obj = to_py(py, v)?;
    match class {
        Some(c) => typed(py, c, obj.into_bound(py)),
        None => Ok(obj),
    }
}

fn optional(py: Python<'_>, class: &str, v: Option<Value>) -> PyResult<Py<PyAny>> {
    match v {
        Some(v) => item(py, Some(class), &v),
        None => Ok(py.None()),
    }
}

fn json<T: serde::Serialize>(v: &T) -> CoreResult<Value> {
    serde_json::to_value(v)
        .map_err(|e| Error::new(shopify_sync::error::ErrorKind::Decode, e.to_string()))
}

fn settle<T>(out: Option<std::thread::Result<CoreResult<T>>>) -> PyResult<T> {
    match out {
        None => Err(raise(Error::new(
            shopify_sync::error::ErrorKind::Cancelled,
            "the operation was cancelled",
        ))),
        Some(Err(p)) => Err(panic_error(p)),
        Some(Ok(r)) => r.map_err(raise),
    }
}

type Items = tokio::sync::Mutex<tokio::sync::mpsc::Receiver<CoreResult<Value>>>;

/// Items streamed from Shopify page by page: an iterator and an async iterator. Pages
/// are read ahead a little while you consume; dropping it (or `close()`) stops the
/// reading. An error raises from the iteration that meets it.
#[pyclass(name = "ItemIterator", module = "shopify_sync._native", frozen)]
pub struct PyItemIterator {
    items: Arc<Items>,
    class: Option<&'static str>,
    abort: tokio::task::AbortHandle,
}

impl Drop for PyItemIterator {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

impl PyItemIterator {
    fn start<F, Fut>(class: Option<&'static str>, make: F) -> PyItemIterator
    where
        F: FnOnce(Sender) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let task = runtime().spawn(unsend(move || make(tx)));
        PyItemIterator {
            items: Arc::new(tokio::sync::Mutex::new(rx)),
            class,
            abort: task.abort_handle(),
        }
    }
}

type Sender = tokio::sync::mpsc::Sender<CoreResult<Value>>;

/// Send a stream's items until it ends, fails, or the iterator is gone.
async fn pump(stream: impl futures::Stream<Item = CoreResult<Value>>, tx: Sender) {
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let stop = item.is_err();
        if tx.send(item).await.is_err() || stop {
            break;
        }
    }
}

#[pymethods]
impl PyItemIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(|| {
            let items = self.items.clone();
            match block_on(py, async move { items.lock().await.recv().await })? {
                None => Ok(None),
                Some(Ok(v)) => Ok(Some(item(py, self.class, &v)?)),
                Some(Err(e)) => Err(raise(e)),
            }
        })
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let items = self.items.clone();
        let class = self.class;
        future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let next = items.lock().await.recv().await;
            match next {
                None => Err(PyStopAsyncIteration::new_err(())),
                Some(Ok(v)) => Python::attach(|py| item(py, class, &v)),
                Some(Err(e)) => Err(raise(e)),
            }
        })
    }

    /// Stop reading (also done when the iterator is dropped).
    fn close(&self) {
        self.abort.abort();
    }
}

fn sort(name: Option<&str>) -> PyResult<ProductSort> {
    Ok(match name.unwrap_or("id") {
        "id" => ProductSort::Id,
        "title" => ProductSort::Title,
        "updated_at" => ProductSort::UpdatedAt,
        "created_at" => ProductSort::CreatedAt,
        "vendor" => ProductSort::Vendor,
        "product_type" => ProductSort::ProductType,
        other => {
            return Err(crate::errors::invalid(
                "sort",
                format!(
                "expected id, title, updated_at, created_at, vendor or product_type, not {other:?}"
            ),
            ))
        }
    })
}
