//! `ShopifyClient`: the core client; every call returns a Promise, listings are async
//! iterators, and every call takes an `AbortSignal` (`{ signal }`).
use crate::abort::{cancelled, spawn, Abort};
use crate::convert::Input;
use crate::errors::{guard, invalid, to_js_error, Json, Outcome, Settled};
use crate::streams::{pump, CollectionStream, Feed, IdStream, ProductStream};
use futures::TryStreamExt;
use napi::bindgen_prelude::{JsObjectValue, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopify_sync::client::bulk::{BulkMutationResult, BulkOperation, BulkOptions, BulkQueryResult};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::products::{ProductQuery, ProductSort};
use shopify_sync::client::{GraphqlResponse, ShopifyClient as CoreClient};
use shopify_sync::error::{Error, GraphqlError, UserError};
use shopify_sync::model::{Collection, Gid, Product};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `new ShopifyClient(options)`: camelCase keys, unknown keys refused.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    shop: Option<String>,
    access_token: String,
    endpoint: Option<String>,
    api_version: Option<String>,
    max_attempts: Option<u32>,
    request_timeout_ms: Option<f64>,
    connect_timeout_ms: Option<f64>,
}

fn millis(name: &str, v: f64) -> Outcome<Duration> {
    Duration::try_from_secs_f64(v / 1000.0)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid(
                name,
                format!("must be a positive number of milliseconds, not {v}"),
            )
        })
}

impl ClientOptions {
    fn config(self) -> Outcome<ClientConfig> {
        let mut config = match (self.endpoint.as_deref(), self.shop.as_deref()) {
            (Some(e), shop) => ClientConfig::with_endpoint(e, shop, self.access_token)?,
            (None, Some(shop)) => ClientConfig::new(shop, self.access_token)?,
            (None, None) => {
                return Err(
                    Error::invalid_input("ShopifyClient needs a shop or an endpoint").into(),
                )
            }
        };
        if let Some(v) = self.api_version {
            config = config.api_version(&v)?;
        }
        if let Some(n) = self.max_attempts {
            if n == 0 {
                return Err(invalid("maxAttempts", "must be at least 1"));
            }
            config.retry.max_attempts = n;
        }
        if let Some(v) = self.request_timeout_ms {
            config.request_timeout = millis("requestTimeoutMs", v)?;
        }
        if let Some(v) = self.connect_timeout_ms {
            config.connect_timeout = millis("connectTimeoutMs", v)?;
        }
        Ok(config)
    }
}

/// What `products()` lists: camelCase keys, unknown keys refused.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductQueryOptions {
    search: Option<String>,
    updated_after: Option<chrono::DateTime<chrono::Utc>>,
    updated_before: Option<chrono::DateTime<chrono::Utc>>,
    sort: Option<String>,
    reverse: Option<bool>,
    page_size: Option<u32>,
}

impl ProductQueryOptions {
    fn query(self) -> Outcome<ProductQuery> {
        let mut q = ProductQuery::default();
        if let Some(s) = self.search {
            q = q.search(s);
        }
        if let Some(t) = self.updated_after {
            q = q.updated_after(t);
        }
        if let Some(t) = self.updated_before {
            q = q.updated_before(t);
        }
        if let Some(s) = self.sort {
            q = q.sort(match s.as_str() {
                "id" => ProductSort::Id,
                "title" => ProductSort::Title,
                "updated_at" => ProductSort::UpdatedAt,
                "created_at" => ProductSort::CreatedAt,
                "vendor" => ProductSort::Vendor,
                "product_type" => ProductSort::ProductType,
                other => return Err(invalid("sort", format!("unknown sort key {other:?}"))),
            });
        }
        if let Some(r) = self.reverse {
            q = q.reverse(r);
        }
        if let Some(n) = self.page_size {
            q = q.page_size(n);
        }
        Ok(q)
    }
}

/// A GraphQL response in its wire shape.
#[derive(Serialize)]
pub struct Response {
    data: Value,
    errors: Vec<GraphqlError>,
    request_id: Option<String>,
    cost: Option<Cost>,
}

#[derive(Serialize)]
struct Cost {
    requested: u32,
    actual: Option<u32>,
    maximum: f64,
    available: f64,
    restore_rate: f64,
}

impl From<GraphqlResponse> for Response {
    fn from(r: GraphqlResponse) -> Response {
        Response {
            data: r.data,
            errors: r.errors,
            request_id: r.request_id,
            cost: r.cost.map(|c| Cost {
                requested: c.requested,
                actual: c.actual,
                maximum: c.maximum,
                available: c.available,
                restore_rate: c.restore_rate,
            }),
        }
    }
}

/// A client for one shop (the Admin GraphQL API). Clients for the same shop share one
/// cost bucket, so several clients never throttle each other.
#[napi]
pub struct ShopifyClient {
    config: ClientConfig,
    client: CoreClient,
}

impl ShopifyClient {
    fn wrap(config: ClientConfig) -> Outcome<ShopifyClient> {
        Ok(ShopifyClient {
            client: CoreClient::new(config.clone())?,
            config,
        })
    }

    /// The core client (for the sync engine).
    pub fn core(&self) -> &CoreClient {
        &self.client
    }
}

impl ShopifyClient {
    fn membership<'e>(
        &self,
        env: &'e Env,
        collection_id: String,
        product_ids: Vec<String>,
        options: Option<Object<'_>>,
        add: bool,
    ) -> napi::Result<PromiseRaw<'e, Settled<()>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let client = self.client.clone();
        spawn(env, abort, async move {
            let id = Gid::<Collection>::parse(&collection_id)
                .map_err(|e| invalid("collection id", e))?;
            let products = product_ids
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    Gid::<Product>::parse(p).map_err(|e| invalid(&format!("productIds [{i}]"), e))
                })
                .collect::<Outcome<Vec<_>>>()?;
            if add {
                client.collection_add_products(id, &products).await?;
            } else {
                client.collection_remove_products(id, &products).await?;
            }
            Ok(())
        })
    }
}

fn settle_ctor<T>(env: &Env, out: Settled<T>) -> napi::Result<T> {
    out.0.map_err(|f| to_js_error(env, &f))
}

#[napi]
impl ShopifyClient {
    /// A client for `shop` (`name` or `name.myshopify.com`), or for `endpoint` (a base
    /// URL such as the simulator's; plain `http` only on loopback).
    ///
    /// `maxAttempts` (default 5) bounds the attempts of a failed request, the first
    /// included; `requestTimeoutMs` (default 60000) and `connectTimeoutMs` (default
    /// 10000) are in milliseconds. Throws `SHOPIFY_INVALID_INPUT` for unusable options.
    #[napi(constructor, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Input<ClientOptions>) -> napi::Result<ShopifyClient> {
        settle_ctor(
            &env,
            guard(|| ShopifyClient::wrap(options.get("ShopifyClient options")?.config()?)),
        )
    }

    /// A client configured from `SHOPIFY_SHOP`, `SHOPIFY_ACCESS_TOKEN`,
    /// `SHOPIFY_API_VERSION` and `SHOPIFY_ENDPOINT`; throws `SHOPIFY_NOT_CONFIGURED`
    /// naming the missing variable.
    #[napi(factory)]
    pub fn from_env(env: Env) -> napi::Result<ShopifyClient> {
        settle_ctor(
            &env,
            guard(|| ShopifyClient::wrap(ClientConfig::from_env()?)),
        )
    }

    /// The shop domain, when known.
    #[napi(getter)]
    pub fn shop(&self) -> Option<String> {
        self.config.shop().map(String::from)
    }

    /// The API version (`YYYY-MM`).
    #[napi(getter)]
    pub fn api_version(&self) -> String {
        self.config.version().to_string()
    }

    /// The URL the client posts GraphQL documents to.
    #[napi(getter)]
    pub fn graphql_url(&self) -> String {
        self.config.graphql_url().to_string()
    }

    /// Send a GraphQL document with its variables. Resolves to `{data, errors,
    /// request_id, cost}`; rejects with a `ShopifySyncError` (`SHOPIFY_GRAPHQL` with
    /// `graphqlErrors`, `SHOPIFY_AUTH`, `SHOPIFY_THROTTLED` ...), or `SHOPIFY_CANCELLED`
    /// when `options.signal` fires (the request is abandoned).
    #[napi(
        ts_args_type = "document: string, variables?: Record<string, unknown> | null, options?: CallOptions",
        ts_return_type = "Promise<GraphqlResponse>"
    )]
    pub fn graphql<'e>(
        &self,
        env: &'e Env,
        document: String,
        variables: Option<Input<Value>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Response>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let vars = variables.map(|v| v.get("variables"));
        let client = self.client.clone();
        spawn(env, abort, async move {
            let vars = vars.transpose()?.unwrap_or(Value::Null);
            Ok(Json(client.graphql(&document, vars).await?.into()))
        })
    }

    /// Every product matching `query`, as an async iterator (`for await`); each product
    /// carries all its variants. Pages are read ahead while you handle the products.
    #[napi(
        ts_args_type = "query?: ProductQueryOptions | null, options?: CallOptions",
        ts_return_type = "ProductStream"
    )]
    pub fn products(
        &self,
        env: Env,
        query: Option<Input<ProductQueryOptions>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<ProductStream> {
        let abort = Abort::from_options(&env, options.as_ref())?;
        let query = settle_ctor(
            &env,
            guard(|| match query {
                Some(q) => q.get("products query")?.query(),
                None => Ok(ProductQuery::default()),
            }),
        )?;
        let client = self.client.clone();
        Ok(ProductStream {
            feed: Feed::start(abort, move |tx| async move {
                pump(client.products(query), tx).await
            }),
        })
    }

    /// How many products match Shopify's search syntax `search` (all of them when
    /// omitted).
    #[napi(
        ts_args_type = "search?: string | null, options?: CallOptions",
        ts_return_type = "Promise<number>"
    )]
    pub fn products_count<'e>(
        &self,
        env: &'e Env,
        search: Option<String>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<f64>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let client = self.client.clone();
        spawn(env, abort, async move {
            Ok(client.products_count(search.as_deref()).await? as f64)
        })
    }

    /// One product by gid, with all its variants; `null` when it does not exist.
    #[napi(
        ts_args_type = "id: string, options?: CallOptions",
        ts_return_type = "Promise<Product | null>"
    )]
    pub fn product<'e>(
        &self,
        env: &'e Env,
        id: String,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Option<Product>>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let client = self.client.clone();
        spawn(env, abort, async move {
            let id = Gid::<Product>::parse(&id).map_err(|e| invalid("product id", e))?;
            Ok(Json(client.product(id).await?))
        })
    }

    /// Every collection (custom and smart) matching Shopify's search syntax `search`,
    /// as an async iterator.
    #[napi(
        ts_args_type = "search?: string | null, options?: CallOptions",
        ts_return_type = "CollectionStream"
    )]
    pub fn collections(
        &self,
        env: Env,
        search: Option<String>,
        options: Option<Object<'_>>,
    ) -> napi::Result<CollectionStream> {
        let abort = Abort::from_options(&env, options.as_ref())?;
        let client = self.client.clone();
        Ok(CollectionStream {
            feed: Feed::start(abort, move |tx| async move {
                pump(client.collections(search.as_deref()), tx).await
            }),
        })
    }

    /// One collection by gid; `null` when it does not exist.
    #[napi(
        ts_args_type = "id: string, options?: CallOptions",
        ts_return_type = "Promise<Collection | null>"
    )]
    pub fn collection<'e>(
        &self,
        env: &'e Env,
        id: String,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Option<Collection>>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let client = self.client.clone();
        spawn(env, abort, async move {
            let id = Gid::<Collection>::parse(&id).map_err(|e| invalid("collection id", e))?;
            Ok(Json(client.collection(id).await?))
        })
    }

    /// The gids of a collection's products, in the collection's order, as an async
    /// iterator (membership).
    #[napi(
        ts_args_type = "id: string, options?: CallOptions",
        ts_return_type = "IdStream"
    )]
    pub fn collection_product_ids(
        &self,
        env: Env,
        id: String,
        options: Option<Object<'_>>,
    ) -> napi::Result<IdStream> {
        let abort = Abort::from_options(&env, options.as_ref())?;
        let id = settle_ctor(
            &env,
            guard(|| Gid::<Collection>::parse(&id).map_err(|e| invalid("collection id", e))),
        )?;
        let client = self.client.clone();
        Ok(IdStream {
            feed: Feed::start(abort, move |tx| async move {
                pump(
                    client.collection_product_ids(id).map_ok(|g| g.to_string()),
                    tx,
                )
                .await
            }),
        })
    }

    /// Add products (gids or numeric ids) to a custom collection: chunks of at most 250
    /// ids, each chunk's job waited for before the next is sent, so the promise
    /// resolves once Shopify has the members. Adding a member again is harmless. A smart
    /// collection refuses (`SHOPIFY_USER_ERRORS` with `userErrors`).
    #[napi(
        ts_args_type = "collectionId: string, productIds: string[], options?: CallOptions",
        ts_return_type = "Promise<void>"
    )]
    pub fn collection_add_products<'e>(
        &self,
        env: &'e Env,
        collection_id: String,
        product_ids: Vec<String>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<()>>> {
        self.membership(env, collection_id, product_ids, options, true)
    }

    /// Remove products from a custom collection, likewise in chunks of 250 (removing a
    /// product that is not a member is harmless).
    #[napi(
        ts_args_type = "collectionId: string, productIds: string[], options?: CallOptions",
        ts_return_type = "Promise<void>"
    )]
    pub fn collection_remove_products<'e>(
        &self,
        env: &'e Env,
        collection_id: String,
        product_ids: Vec<String>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<()>>> {
        self.membership(env, collection_id, product_ids, options, false)
    }

    /// `productSet`, synchronous: create or replace a product from a `ProductSetInput`
    /// (the Admin API's camelCase JSON, sent as given). With an `identifier`
    /// (`{ handle }`, `{ id }` or `{ customId }`) it upserts and is idempotent, so an
    /// unknown outcome is retried safely. Every list field given replaces the
    /// product's: omitted variants are deleted. Resolves with the product as Shopify
    /// holds it (every variant); a refused input rejects with `SHOPIFY_USER_ERRORS`.
    #[napi(
        ts_args_type = "input: Record<string, unknown>, identifier?: Record<string, unknown> | null, options?: CallOptions",
        ts_return_type = "Promise<Product>"
    )]
    pub fn product_set<'e>(
        &self,
        env: &'e Env,
        input: Input<Value>,
        identifier: Option<Input<Value>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Product>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let input = input.get("productSet input");
        let identifier = identifier.map(|i| i.get("productSet identifier"));
        let client = self.client.clone();
        spawn(env, abort, async move {
            let input = input?;
            if !input.is_object() {
                return Err(invalid("productSet input", "expected an object"));
            }
            let identifier = identifier.transpose()?.filter(|i| !i.is_null());
            Ok(Json(client.product_set(input, identifier).await?))
        })
    }

    /// Run a bulk query (`bulkOperationRunQuery`: start, waiting for a free slot; wait
    /// for it to finish; download its JSONL) and read its records as an async iterator:
    /// `for await (const record of client.bulkQuery(query))`. Each record is one JSONL
    /// line as JSON (nested connections' nodes come as their own records with
    /// `__parentId`; `groupObjects: true` asks Shopify to write each object's children
    /// right after it). `run.operation` is the finished `BulkOperation` once the first
    /// record (or the end) arrived: a `FAILED` one with partial data yields the partial
    /// records (check `status`). `pollIntervalMs` sets how often its status is read;
    /// `timeoutMs` bounds the wait (the operation is then canceled: `SHOPIFY_TIMEOUT`);
    /// an abort (`signal`) cancels it on Shopify too.
    #[napi(
        ts_args_type = "query: string, options?: BulkQueryOptions | null",
        ts_return_type = "BulkQueryRun"
    )]
    pub fn bulk_query(
        &self,
        env: Env,
        query: String,
        options: Option<Object<'_>>,
    ) -> napi::Result<BulkQueryRun> {
        let abort = Abort::from_options(&env, options.as_ref())?;
        let mut bulk = bulk_options(&env, options.as_ref())?;
        if let Some(o) = &options {
            if let Some(g) = o.get_named_property::<Option<bool>>("groupObjects")? {
                bulk = bulk.group_objects(g);
            }
        }
        let client = self.client.clone();
        let operation: Arc<Mutex<Option<BulkOperation>>> = Arc::default();
        let slot = operation.clone();
        let feed = Feed::start(Abort::none(), move |tx| async move {
            let run = async {
                let op = abort
                    .run(async { Ok(client.bulk_query_start(&query, &bulk).await?) })
                    .await?;
                // An abort drops the wait, which cancels the operation on Shopify.
                let waited = abort
                    .run(async { Ok(client.bulk_wait(&op.id, &bulk).await?) })
                    .await?;
                let result = BulkQueryResult::from_operation(waited)?;
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result.operation().clone());
                Ok::<_, crate::errors::Failure>(client.bulk_download(&result)?)
            };
            match run.await {
                Ok(records) => {
                    let values = records.and_then(|r| futures::future::ready(r.value()));
                    tokio::select! {
                        _ = pump(values, tx.clone()) => {}
                        _ = abort.fired_wait() => {
                            let _ = tx.send(Err(cancelled())).await;
                        }
                    }
                }
                Err(f) => {
                    let _ = tx.send(Err(f)).await;
                }
            }
        });
        Ok(BulkQueryRun { feed, operation })
    }

    /// Run `mutation` once per item of `variables` (each an object of the mutation's
    /// variables) as one bulk operation (`bulkOperationRunMutation`): validate the
    /// mutation (one mutation with one top-level field), stage and upload the
    /// variables as JSONL, run, wait for the end (polling; `pollIntervalMs`,
    /// `timeoutMs` as for `bulkQuery`), then match each result line to its input by
    /// index. Resolves with `{ operation, partial, lines, missing }`: every line is
    /// `{ line_number, ok, data, errors, user_errors }` (`line_number` is the index of
    /// its variables; `ok` is false with GraphQL errors or `userErrors`); `missing`
    /// lists the inputs without a result (a `partial` operation stopped before them:
    /// read Shopify before running them again). A mutation that does not validate, or
    /// variables that are not objects, reject with `SHOPIFY_INVALID_INPUT` before
    /// anything is sent. An abort (`signal`) stops the wait and cancels the operation
    /// on Shopify (lines it ran before stopping stay done: read Shopify for them).
    #[napi(
        ts_args_type = "mutation: string, variables: Array<Record<string, unknown>>, options?: BulkMutationOptions | null",
        ts_return_type = "Promise<BulkMutationResult>"
    )]
    pub fn bulk_mutation<'e>(
        &self,
        env: &'e Env,
        mutation: String,
        variables: Input<Vec<Value>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<BulkMutationOut>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let bulk = bulk_options(env, options.as_ref())?;
        let variables = variables.get("variables");
        let client = self.client.clone();
        spawn(env, abort, async move {
            let result = client.bulk_mutation(&mutation, variables?, &bulk).await?;
            Ok(Json(BulkMutationOut::from(&result)))
        })
    }

    /// `ShopifyClient(url=..., apiVersion=..., accessToken=<redacted>)`: the token never
    /// prints.
    #[napi(js_name = "toString")]
    pub fn to_js_string(&self) -> String {
        format!(
            "ShopifyClient(url={:?}, apiVersion={:?}, accessToken=<redacted>)",
            self.config.graphql_url().as_str(),
            self.config.version()
        )
    }
}

/// A running bulk query whose records are read as an async iterator
/// (`for await (const record of run)`).
#[napi]
pub struct BulkQueryRun {
    feed: Feed<Value>,
    operation: Arc<Mutex<Option<BulkOperation>>>,
}

#[napi]
impl BulkQueryRun {
    /// The next record, or `null` at the end. Rejects with the error that ended the
    /// run (`SHOPIFY_CANCELLED` when its AbortSignal fired).
    #[napi(ts_return_type = "Promise<Record<string, any> | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<Value>>>>> {
        self.feed.next(env)
    }

    /// Stop reading (what `break` in a `for await` loop does).
    #[napi]
    pub fn close(&self) {
        self.feed.close()
    }

    /// The finished operation (`id`, `status`, `errorCode`, `objectCount`, `url`,
    /// `partialDataUrl` ...), once known; `null` before.
    #[napi(getter, ts_return_type = "BulkOperation | null")]
    pub fn operation(&self) -> Json<Option<BulkOperation>> {
        Json(
            self.operation
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// `pollIntervalMs` and `timeoutMs` of the bulk operations' options.
fn bulk_options(env: &Env, options: Option<&Object<'_>>) -> napi::Result<BulkOptions> {
    let mut bulk = BulkOptions::default();
    let Some(o) = options else {
        return Ok(bulk);
    };
    if let Some(ms) = o.get_named_property::<Option<f64>>("pollIntervalMs")? {
        let p = settle_ctor(env, guard(|| millis("pollIntervalMs", ms)))?;
        bulk = bulk.poll_interval(p, p);
    }
    if let Some(ms) = o.get_named_property::<Option<f64>>("timeoutMs")? {
        let t = settle_ctor(env, guard(|| millis("timeoutMs", ms)))?;
        bulk = bulk.timeout(t);
    }
    Ok(bulk)
}

/// One result line of a bulk mutation (snake_case data).
#[derive(Serialize)]
pub struct BulkLineOut {
    line_number: u64,
    ok: bool,
    data: Value,
    errors: Vec<GraphqlError>,
    user_errors: Vec<UserError>,
}

/// A finished bulk mutation (snake_case data; the operation in Shopify's shape).
#[derive(Serialize)]
pub struct BulkMutationOut {
    operation: BulkOperation,
    partial: bool,
    lines: Vec<BulkLineOut>,
    missing: Vec<u64>,
}

impl From<&BulkMutationResult> for BulkMutationOut {
    fn from(r: &BulkMutationResult) -> BulkMutationOut {
        BulkMutationOut {
            operation: r.operation().clone(),
            partial: r.is_partial(),
            lines: r
                .lines()
                .iter()
                .map(|l| BulkLineOut {
                    line_number: l.line_number(),
                    ok: l.is_ok(),
                    data: l.data().clone(),
                    errors: l.errors().to_vec(),
                    user_errors: l.user_errors().to_vec(),
                })
                .collect(),
            missing: r.missing().to_vec(),
        }
    }
}
