//! `ShopifyClient`: the core client, blocking (GIL released) and asyncio.
use crate::convert::{from_py, to_py};
use crate::errors::{guard, panic_error, raise, Failure};
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

/// [`block_on`] for a core call: its error becomes the exception of its kind.
pub fn run<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = CoreResult<T>> + Send,
) -> PyResult<T> {
    block_on(py, fut)?.map_err(raise)
}

/// A core call awaited on the runtime (inside `future_into_py`): a panic becomes
/// `ShopifySyncError`, an error the exception of its kind.
pub async fn settle<T>(fut: impl Future<Output = CoreResult<T>>) -> PyResult<T> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(panic_error)?
        .map_err(raise)
}

/// A successful response as a dict: `data`, `errors` (field errors of a partial
/// response), `request_id`, `cost` (`extensions.cost` when sent).
pub(crate) fn response(py: Python<'_>, r: &GraphqlResponse) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("data", to_py(py, &r.data)?)?;
    d.set_item("errors", to_py(py, &r.errors)?)?;
    d.set_item("request_id", &r.request_id)?;
    match &r.cost {
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

pub(crate) fn variables(v: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
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
            let r = run(py, client.graphql(&document, vars))?;
            response(py, &r)
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
                let r = settle(client.graphql(&document, vars)).await?;
                Python::attach(|py| response(py, &r))
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
            run(py, client.products_count(query.as_deref()))
        })
    }

    /// One product by id (a gid or numeric id), whole, or `None`.
    fn product(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let id = parse_gid::<Product>("id", id)?;
            let client = self.core().map_err(raise)?;
            let p = run(py, async {
                client.product(id).await?.map(|p| json(&p)).transpose()
            })?;
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
            let p =
                settle(async { client.product(id).await?.map(|p| json(&p)).transpose() }).await?;
            Python::attach(|py| optional(py, "Product", p))
        })
    }

    /// `productSet`: create or replace a product from a `ProductSetInput` dict
    /// (Shopify's camelCase JSON; prices as strings or `Decimal`). With an `identifier`
    /// (`{"id": ...}`, `{"handle": ...}` or `{"customId": ...}`) it upserts and is
    /// idempotent, so an unknown outcome is retried safely. Every list given replaces
    /// the product's (omitted variants are deleted). Returns the `Product`; refused
    /// input raises `UserErrorsError` with the `user_errors`.
    #[pyo3(signature = (input, identifier=None))]
    fn product_set(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        identifier: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let input = from_py("input", input)?;
            let identifier = self::variables(identifier)?;
            let identifier = (!identifier.is_null()).then_some(identifier);
            let client = self.core().map_err(raise)?;
            let p = run(py, async {
                json(&client.product_set(input, identifier).await?)
            })?;
            item(py, Some("Product"), &p)
        })
    }

    /// `productDelete` by gid or numeric id; returns the deleted product's gid.
    fn product_delete(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<String> {
        guard(|| {
            let id = parse_gid::<Product>("id", id)?;
            let client = self.core().map_err(raise)?;
            Ok(run(py, client.product_delete(id))?.to_string())
        })
    }

    /// One product by handle, or `None`.
    fn product_by_handle(&self, py: Python<'_>, handle: String) -> PyResult<Py<PyAny>> {
        guard(|| {
            let client = self.core().map_err(raise)?;
            let p = run(py, async {
                client
                    .product_by_handle(&handle)
                    .await?
                    .map(|p| json(&p))
                    .transpose()
            })?;
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
            let c = run(py, async {
                client.collection(id).await?.map(|c| json(&c)).transpose()
            })?;
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
            run(py, client.collection_add_products(id, &products))
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
            run(py, client.collection_remove_products(id, &products))
        })
    }

    /// Run a bulk query to the end (start it, waiting for a free slot; wait; judge the
    /// outcome). Returns a `BulkQueryResult` (`operation`: the `BulkOperation`;
    /// `partial`: the operation failed, but what it wrote can be read); read the
    /// records with `bulk_download(result)`. `group_objects` asks
    /// Shopify to keep children after their parent; `poll_interval` (seconds, default
    /// 0.5 rising to 5) and `timeout` (seconds; `None`: no limit, else the operation is
    /// cancelled and a `ShopifyTimeoutError` raised). Releases the GIL; Ctrl-C cancels
    /// the wait.
    #[pyo3(signature = (query, *, group_objects=false, poll_interval=None, timeout=None))]
    fn bulk_query(
        &self,
        py: Python<'_>,
        query: String,
        group_objects: bool,
        poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let options = bulk_options(group_objects, poll_interval, timeout)?;
            let client = self.core().map_err(raise)?;
            let r = run(py, client.bulk_query(&query, &options))?;
            bulk_query_result(py, &r)
        })
    }

    /// `bulk_query()` as an awaitable.
    #[pyo3(signature = (query, *, group_objects=false, poll_interval=None, timeout=None))]
    fn bulk_query_async<'py>(
        &self,
        py: Python<'py>,
        query: String,
        group_objects: bool,
        poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = bulk_options(group_objects, poll_interval, timeout)?;
        let client = self.core().map_err(raise)?;
        future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let r = settle(client.bulk_query(&query, &options)).await?;
            Python::attach(|py| bulk_query_result(py, &r))
        })
    }

    /// The records of a finished bulk query, streamed: an iterator and an async
    /// iterator of dicts, one per JSONL line (a child object carries `__parentId`).
    /// `result`: what `bulk_query()` returned (or its dict), or a result URL. A broken download
    /// resumes where it stopped (up to `resumes` times).
    #[pyo3(signature = (result, *, resumes=5))]
    fn bulk_download(&self, result: &Bound<'_, PyAny>, resumes: u32) -> PyResult<PyItemIterator> {
        guard(|| {
            let client = self.core().map_err(raise)?;
            let records = if let Ok(url) = result.extract::<String>() {
                client.bulk_download_url(&url, resumes)
            } else {
                let operation = match result.getattr("operation") {
                    Ok(op) => Ok(op),
                    Err(_) => result.get_item("operation"),
                };
                let operation = operation.map_err(|_| {
                    invalid(
                        "bulk result",
                        "expected what bulk_query() returned, or a URL",
                    )
                })?;
                let operation: BulkOperation = from_json("bulk result", &operation)?;
                let result = BulkQueryResult::from_operation(operation).map_err(raise)?;
                match result.data_url() {
                    Some(url) => client.bulk_download_url(url, resumes),
                    None => client.bulk_download(&result),
                }
            }
            .map_err(raise)?;
            Ok(PyItemIterator::start(None, move |tx| async move {
                pump(records.map(|r| r.and_then(|record| record.value())), tx).await
            }))
        })
    }

    /// Run `mutation` once per item of `variables` (each a dict of the mutation's
    /// variables) as one bulk mutation: validate the document, upload the variables,
    /// run, wait. Returns a `BulkMutationResult` (`operation`, `partial`, `lines`: a
    /// `BulkMutationLine` per result line (`line_number`: the input's index, `ok`,
    /// `data`, `errors`, `user_errors`), `missing`: the indexes of inputs with no
    /// result line). Options as `bulk_query()`. Releases the GIL;
    /// Ctrl-C stops the wait (not the operation, which may have started).
    #[pyo3(signature = (mutation, variables, *, poll_interval=None, timeout=None))]
    fn bulk_mutation(
        &self,
        py: Python<'_>,
        mutation: String,
        variables: &Bound<'_, PyAny>,
        poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let options = bulk_options(false, poll_interval, timeout)?;
            let variables: Vec<Value> = from_json("variables", variables)?;
            let client = self.core().map_err(raise)?;
            let r = run(py, client.bulk_mutation(&mutation, variables, &options))?;
            bulk_mutation_result(py, &r)
        })
    }

    /// `bulk_mutation()` as an awaitable.
    #[pyo3(signature = (mutation, variables, *, poll_interval=None, timeout=None))]
    fn bulk_mutation_async<'py>(
        &self,
        py: Python<'py>,
        mutation: String,
        variables: &Bound<'py, PyAny>,
        poll_interval: Option<f64>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = bulk_options(false, poll_interval, timeout)?;
        let variables: Vec<Value> = from_json("variables", variables)?;
        let client = self.core().map_err(raise)?;
        future_into_py::<ForkSafeTokio, _, _>(py, async move {
            let r = settle(client.bulk_mutation(&mutation, variables, &options)).await?;
            Python::attach(|py| bulk_mutation_result(py, &r))
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

/// An `ItemIterator` whose reading yields `items` values (0, 1, ...) and then panics
/// with `message`: the test that a panic in the reading raises instead of ending the
/// iteration.
#[pyfunction]
fn _panicking_items(items: u64, message: String) -> PyItemIterator {
    PyItemIterator::start(None, move |tx| async move {
        for n in 0..items {
            if tx.send(Ok(Value::from(n))).await.is_err() {
                return;
            }
        }
        panic!("{message}");
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyShopifyClient>()?;
    m.add_class::<PyItemIterator>()?;
    m.add_function(wrap_pyfunction!(_panicking_items, m)?)
}

// ----- typed operations ------------------------------------------------------------------

use crate::convert::{json_from_py, typed};
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

/// An item, or why the reading stopped (a core error, or a panic in the reading task).
type Item = std::result::Result<Value, Failure>;
type Items = tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Item>>;

/// Items streamed from Shopify page by page: an iterator and an async iterator. Pages
/// are read ahead a little while you consume; dropping it (or `close()`) stops the
/// reading. An error raises from the iteration that meets it, and so does a panic in
/// the reading (as `ShopifySyncError`): the iteration never ends silently early.
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
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let reading = make(tx.clone());
        let task = runtime().spawn(async move {
            if let Err(panic) = AssertUnwindSafe(reading).catch_unwind().await {
                let _ = tx.send(Err(Failure::panic(panic))).await;
            }
        });
        PyItemIterator {
            items: Arc::new(tokio::sync::Mutex::new(rx)),
            class,
            abort: task.abort_handle(),
        }
    }
}

type Sender = tokio::sync::mpsc::Sender<Item>;

/// Send a stream's items until it ends, fails, or the iterator is gone.
async fn pump(stream: impl futures::Stream<Item = CoreResult<Value>>, tx: Sender) {
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let stop = item.is_err();
        if tx.send(item.map_err(Failure::Core)).await.is_err() || stop {
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
                Some(Err(f)) => Err(f.to_py_err(py)),
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
                Some(Err(f)) => Python::attach(|py| Err(f.to_py_err(py))),
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

// ----- bulk operations -------------------------------------------------------------------

use crate::convert::from_json;
use crate::errors::invalid;
use shopify_sync::client::bulk::{BulkMutationResult, BulkOperation, BulkOptions, BulkQueryResult};

fn seconds(what: &str, v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v).map_err(|e| invalid(what, e))
}

fn bulk_options(
    group_objects: bool,
    poll_interval: Option<f64>,
    timeout: Option<f64>,
) -> PyResult<BulkOptions> {
    let mut options = BulkOptions::default().group_objects(group_objects);
    if let Some(p) = poll_interval {
        let p = seconds("poll_interval", p)?;
        options = options.poll_interval(p, p);
    }
    if let Some(t) = timeout {
        options = options.timeout(seconds("timeout", t)?);
    }
    Ok(options)
}

fn bulk_query_result(py: Python<'_>, r: &BulkQueryResult) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("operation", to_py(py, r.operation())?)?;
    d.set_item("partial", r.is_partial())?;
    typed(py, "BulkQueryResult", d.into_any())
}

fn bulk_mutation_result(py: Python<'_>, r: &BulkMutationResult) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("operation", to_py(py, r.operation())?)?;
    d.set_item("partial", r.is_partial())?;
    let lines = pyo3::types::PyList::empty(py);
    for line in r.lines() {
        let l = PyDict::new(py);
        l.set_item("line_number", line.line_number())?;
        l.set_item("ok", line.is_ok())?;
        l.set_item("data", to_py(py, line.data())?)?;
        l.set_item("errors", to_py(py, line.errors())?)?;
        l.set_item("user_errors", to_py(py, line.user_errors())?)?;
        lines.append(l)?;
    }
    d.set_item("lines", lines)?;
    d.set_item("missing", r.missing().to_vec())?;
    typed(py, "BulkMutationResult", d.into_any())
}
