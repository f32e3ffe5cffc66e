//! `SyncEngine`: pull, plan, apply (with progress events
//! through a non-blocking threadsafe function or as an async iterator) and the status
//! column, all of them the core's.
use crate::abort::{spawn, Abort};
use crate::client::ShopifyClient;
use crate::convert::Input;
use crate::errors::{guard, invalid, Failure, Json, Outcome, Settled};
use crate::events::{callback_option, feeding, on_event_option};
use crate::executor::ExecutorOptions;
use crate::store::{settle, ChangeStore};
use crate::streams::Feed;
use crate::webhook::WebhookQueue;
use napi::bindgen_prelude::{JsObjectValue, Object, PromiseRaw, Unknown};
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;
use serde::Deserialize;
use shopify_sync::error::{Error as CoreError, ErrorKind};
use shopify_sync::executor::Event;
use shopify_sync::model::{Collection, Gid, GidKind, Product};
use shopify_sync::staging::{
    ChangeFilter, CollectionSnapshot, Entity, FieldMask, Plan, ProductSnapshot, Record, Scope,
};
use shopify_sync::status::SyncStatus;
use shopify_sync::sync::{
    ApplyOptions, ApplyReport, CancelApply, LocalCatalog, PullMode, PullOptions, PullProgress,
    PullReport, RefreshReport, SyncConfig, SyncEngine as CoreEngine, WriteMode,
};
use std::sync::{Arc, Mutex};

/// One local record: `{ local_id, shopify_id, snapshot }` (snake_case, like the JSON
/// of the vectors).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInput<S> {
    #[serde(default)]
    local_id: Option<String>,
    #[serde(default)]
    shopify_id: Option<String>,
    snapshot: S,
}

fn records<S: Entity>(list: Vec<RecordInput<S>>, what: &str) -> Outcome<Vec<Record<S>>>
where
    S::Kind: GidKind,
{
    list.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let shopify_id = match r.shopify_id.as_deref() {
                None | Some("") => None,
                Some(id) => Some(Gid::parse(id).map_err(|e| invalid(&format!("{what} [{i}]"), e))?),
            };
            if shopify_id.is_none() && r.local_id.is_none() {
                return Err(invalid(
                    &format!("{what} [{i}]"),
                    "a record needs a local_id or a shopify_id",
                ));
            }
            Ok(Record {
                local_id: r.local_id,
                shopify_id,
                updated_at: None,
                snapshot: r.snapshot,
            })
        })
        .collect()
}

/// `engine.plan(local)`: the merchant's side.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogInput {
    #[serde(default)]
    products: Vec<RecordInput<ProductSnapshot>>,
    #[serde(default)]
    collections: Vec<RecordInput<CollectionSnapshot>>,
    #[serde(default)]
    product_scope: Option<String>,
    #[serde(default)]
    collection_scope: Option<String>,
}

fn scope<K: GidKind>(s: Option<String>, what: &str) -> Outcome<Scope<K>> {
    match s.as_deref() {
        None | Some("listed") => Ok(Scope::Listed),
        Some("all") => Ok(Scope::All),
        Some(other) => Err(invalid(
            what,
            format!("expected \"listed\" or \"all\", not {other:?}"),
        )),
    }
}

impl CatalogInput {
    fn catalog(self) -> Outcome<LocalCatalog> {
        Ok(LocalCatalog {
            products: records(self.products, "products")?,
            collections: records(self.collections, "collections")?,
            product_scope: scope::<Product>(self.product_scope, "productScope")?,
            collection_scope: scope::<Collection>(self.collection_scope, "collectionScope")?,
        })
    }
}

/// `new SyncEngine(client, store, options)`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineOptions {
    pull_mode: Option<String>,
    bulk_pull_threshold: Option<u64>,
    overlap_ms: Option<u64>,
    guard_batch: Option<usize>,
    actor: Option<String>,
    publications: Option<Vec<String>>,
    write_mode: Option<String>,
    bulk_write_threshold: Option<usize>,
    executor: Option<ExecutorOptions>,
}

fn pull_mode(s: Option<&str>) -> Outcome<PullMode> {
    Ok(match s {
        None | Some("auto") => PullMode::Auto,
        Some("paginated") => PullMode::Paginated,
        Some("bulk") => PullMode::Bulk,
        Some(other) => {
            return Err(invalid(
                "pull mode",
                format!("expected \"auto\", \"paginated\" or \"bulk\", not {other:?}"),
            ))
        }
    })
}

impl EngineOptions {
    fn config(self) -> Outcome<SyncConfig> {
        let mut c = SyncConfig {
            pull_mode: pull_mode(self.pull_mode.as_deref())?,
            ..SyncConfig::default()
        };
        if let Some(v) = self.bulk_pull_threshold {
            c.bulk_pull_threshold = v;
        }
        if let Some(v) = self.overlap_ms {
            c.overlap = std::time::Duration::from_millis(v);
        }
        if let Some(v) = self.guard_batch {
            c.guard_batch = v;
        }
        if let Some(v) = self.actor {
            c.actor = v;
        }
        if let Some(v) = self.publications {
            c.publications = v;
        }
        if let Some(m) = self.write_mode {
            c.write_mode = match m.as_str() {
                "auto" => WriteMode::Auto,
                "direct" => WriteMode::Direct,
                "bulk" => WriteMode::Bulk,
                other => {
                    return Err(invalid(
                        "writeMode",
                        format!("expected \"auto\", \"direct\" or \"bulk\", not {other:?}"),
                    ))
                }
            };
        }
        if let Some(v) = self.bulk_write_threshold {
            c.bulk_write_threshold = v;
        }
        if let Some(e) = self.executor {
            c.executor = e.config()?;
        }
        Ok(c)
    }
}

/// The sync engine for one shop and one change store: pull, plan, apply, statuses.
#[napi]
pub struct SyncEngine {
    engine: CoreEngine,
}

#[napi]
impl SyncEngine {
    /// An engine over `client` and `store`. Options (camelCase, all optional):
    /// `pullMode` (`"auto"`, `"paginated"`, `"bulk"`), `bulkPullThreshold` (products,
    /// default 25000), `overlapMs` (incremental pulls, default 300000), `guardBatch`,
    /// `actor` (who the audit trail names for the engine's own transitions),
    /// `publications`, `writeMode` (`"auto"`, `"direct"`, `"bulk"`),
    /// `bulkWriteThreshold` (product updates, default 1000) and `executor` (the
    /// executor the writes run on: an `ExecutorConfig`, as `new Executor()` takes it).
    #[napi(
        constructor,
        ts_args_type = "client: ShopifyClient, store: ChangeStore, options?: SyncEngineOptions | null"
    )]
    pub fn new(
        env: Env,
        client: &ShopifyClient,
        store: &ChangeStore,
        options: Option<Input<EngineOptions>>,
    ) -> napi::Result<SyncEngine> {
        let core = client.core().clone();
        let store = store.store.clone();
        settle(
            &env,
            guard(|| {
                let config = match options {
                    Some(o) => o.get("SyncEngine options")?.config()?,
                    None => SyncConfig::default(),
                };
                Ok(SyncEngine {
                    engine: CoreEngine::new(core, store).with_config(config),
                })
            }),
        )
    }

    /// Read Shopify into the store's remote snapshots. `mode`: `"auto"` (default),
    /// `"paginated"` or `"bulk"`; `incremental: true` reads only the products updated
    /// since the last pull's cursor; `onProgress` receives a `PullProgress` after each
    /// stage and every 100 products (on the JS thread, never stalling the pull). An
    /// abort (`signal`) leaves what was committed so far (pages land with their cursor
    /// in one transaction) and sets no checkpoint.
    #[napi(
        ts_args_type = "options?: PullOptions | null",
        ts_return_type = "Promise<PullReport>"
    )]
    pub fn pull<'e>(
        &self,
        env: &'e Env,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<PullReport>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let (mode, incremental) = match &options {
            Some(o) => (
                o.get_named_property::<Option<String>>("mode")?,
                o.get_named_property::<Option<bool>>("incremental")?
                    .unwrap_or(false),
            ),
            None => (None, false),
        };
        let callback = callback_option::<PullProgress>(env, options.as_ref(), "onProgress")?;
        let engine = self.engine.clone();
        spawn(env, abort, async move {
            let mode = pull_mode(mode.as_deref())?;
            let mut opts = PullOptions::default();
            let mut delivery = None;
            if let Some(cb) = callback {
                let (handler, d) = cb.handler();
                opts = opts.on_progress(handler);
                delivery = Some(d);
            }
            let report = if incremental {
                engine.pull_incremental_with(opts).await
            } else {
                engine.pull_with(mode, opts).await
            };
            // Settle after the callback has seen the last progress.
            if let Some(d) = delivery {
                d.settled().await;
            }
            Ok(Json(report?))
        })
    }

    /// Plan the changes that bring Shopify to the local records for the fields in
    /// `options.mask` (every field when omitted), against the stored base and remote
    /// snapshots (pull first); the plan is saved in the store with its changes `staged`.
    #[napi(
        ts_args_type = "local: LocalCatalog, options?: { mask?: Field[] | null; signal?: AbortSignal | null } | null",
        ts_return_type = "Promise<Plan>"
    )]
    pub fn plan<'e>(
        &self,
        env: &'e Env,
        local: Input<CatalogInput>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Plan>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let mask = read_mask(env, options.as_ref())?;
        let local = local.get("local catalog").and_then(CatalogInput::catalog);
        let engine = self.engine.clone();
        spawn(env, abort, async move {
            Ok(Json(engine.plan(&local?, mask?).await?))
        })
    }

    /// Record that the local records agree with Shopify (run once when adopting the
    /// engine on a catalog that is in sync, after the first pull): each local record
    /// whose stored remote snapshot equals it under `options.mask` gets that snapshot as
    /// its base. Without a base, a plan shows every difference as a conflict. Resolves
    /// with how many records got one.
    #[napi(
        ts_args_type = "local: LocalCatalog, options?: { mask?: Field[] | null } | null",
        ts_return_type = "Promise<number>"
    )]
    pub fn baseline<'e>(
        &self,
        env: &'e Env,
        local: Input<CatalogInput>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<f64>>> {
        let mask = read_mask(env, options.as_ref())?;
        let local = local.get("local catalog").and_then(CatalogInput::catalog);
        let engine = self.engine.clone();
        spawn(env, Abort::none(), async move {
            Ok(engine.baseline(&local?, mask?).await? as f64)
        })
    }

    /// Apply the approved changes `filter` selects (every approved change when omitted),
    /// through the executor; changes left `applying` by an earlier run are reconciled
    /// first. `onEvent` receives every executor event (the JSON of
    /// `tests/vectors/events.json`) on the JS thread without ever blocking the workers.
    /// An abort (`signal`) is graceful: the queued writes are dropped, the running ones
    /// finish and are recorded, and then the promise rejects with `SHOPIFY_CANCELLED`
    /// (never earlier, so no change is left `applying` and a next apply cannot race
    /// them); the changes not started stay `approved`.
    #[napi(
        ts_args_type = "filter?: ChangeFilter | null, options?: ApplyOptions | null",
        ts_return_type = "Promise<ApplyReport>"
    )]
    pub fn apply<'e>(
        &self,
        env: &'e Env,
        filter: Option<Input<ChangeFilter>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ApplyReport>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let callback = on_event_option(env, options.as_ref())?;
        let id: Option<String> = match &options {
            Some(o) => o.get_named_property("operationId")?,
            None => None,
        };
        let filter = crate::store::filter(filter);
        let engine = self.engine.clone();
        spawn(env, Abort::none(), async move {
            let filter = filter?;
            let mut opts = ApplyOptions::default();
            let mut delivery = None;
            if let Some(cb) = callback {
                let (handler, d) = cb.handler();
                opts = opts.on_event(handler);
                delivery = Some(d);
            }
            if let Some(id) = id {
                opts = opts.operation_id(id);
            }
            let out = apply_cancellable(&engine, &filter, opts, abort).await;
            // Settle after the callback has seen every event, so that
            // `await engine.apply(...)` follows the last `onEvent`.
            if let Some(d) = delivery {
                d.settled().await;
            }
            Ok(Json(out?))
        })
    }

    /// `apply()` whose events come as an async iterator: `for await (const e of run)`;
    /// `await run.report()` gives the `ApplyReport` (or the error) once it is done. An
    /// abort (`signal`) is graceful, as for `apply()`: `report()` rejects with
    /// `SHOPIFY_CANCELLED` once the running writes are recorded.
    #[napi(
        ts_args_type = "filter?: ChangeFilter | null, options?: { operationId?: string | null; signal?: AbortSignal | null } | null",
        ts_return_type = "ApplyRun"
    )]
    pub fn apply_events(
        &self,
        env: Env,
        filter: Option<Input<ChangeFilter>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<ApplyRun> {
        let abort = Abort::from_options(&env, options.as_ref())?;
        let id: Option<String> = match &options {
            Some(o) => o.get_named_property("operationId")?,
            None => None,
        };
        let filter = settle(&env, guard(|| crate::store::filter(filter)))?;
        let engine = self.engine.clone();
        let report: Arc<Mutex<Option<tokio::sync::oneshot::Receiver<Outcome<ApplyReport>>>>> =
            Arc::new(Mutex::new(None));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(done_rx);
        let run_abort = abort.clone();
        let feed = Feed::start(Abort::none(), move |tx| async move {
            // The report is always delivered, whatever events a slow reader missed.
            let mut opts = ApplyOptions::default().on_event(feeding(tx.clone()));
            if let Some(id) = id {
                opts = opts.operation_id(id);
            }
            let out = apply_cancellable(&engine, &filter, opts, run_abort).await;
            let _ = done_tx.send(out);
            drop(tx);
        });
        Ok(ApplyRun { feed, report })
    }

    /// Re-read what the queue's verified webhook deliveries marked dirty and write the
    /// store's remote snapshots (products and collections re-read by id through
    /// GraphQL, 50 at a time; custom-collection membership brought in line; entities
    /// Shopify no longer has deleted). Base snapshots, plans and changes are not
    /// touched. Refreshes of one queue run one at a time. On an error, or an abort
    /// (`signal`), every entity not yet written goes back into the queue: call it again
    /// later.
    #[napi(
        ts_args_type = "queue: WebhookQueue, options?: CallOptions | null",
        ts_return_type = "Promise<RefreshReport>"
    )]
    pub fn refresh<'e>(
        &self,
        env: &'e Env,
        queue: &WebhookQueue,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<RefreshReport>>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let queue = queue.core().clone();
        let engine = self.engine.clone();
        spawn(env, abort, async move {
            Ok(Json(engine.refresh(&queue).await?))
        })
    }

    /// Settle the changes left `applying` by a crashed, dropped or aborted apply (read
    /// Shopify: written means applied, not written means written now, moved means stale).
    #[napi(ts_return_type = "Promise<ApplyReport>")]
    pub fn reconcile<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ApplyReport>>>> {
        let engine = self.engine.clone();
        spawn(env, Abort::none(), async move {
            Ok(Json(engine.reconcile().await?))
        })
    }

    /// The dashboard's status column for local products (in order): their
    /// fingerprints under `options.mask` against the stored base and remote snapshots,
    /// their open changes and last failure, through `computeStatus`.
    #[napi(
        ts_args_type = "products: LocalRecord[], options?: { mask?: Field[] | null } | null",
        ts_return_type = "Promise<SyncStatus[]>"
    )]
    pub fn statuses<'e>(
        &self,
        env: &'e Env,
        products: Input<Vec<RecordInput<ProductSnapshot>>>,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Vec<SyncStatus>>>>> {
        let mask = read_mask(env, options.as_ref())?;
        let products = products
            .get("products")
            .and_then(|p| records(p, "products"));
        let engine = self.engine.clone();
        spawn(env, Abort::none(), async move {
            Ok(Json(engine.statuses(&products?, mask?).await?))
        })
    }
}

/// Run `apply_with` with `abort` wired to the core's [`CancelApply`]: when the signal
/// fires, the queued writes are dropped, the running ones finish and are recorded, and
/// then (never earlier) this fails with `Cancelled`; no change is left `applying`.
async fn apply_cancellable(
    engine: &CoreEngine,
    filter: &ChangeFilter,
    options: ApplyOptions,
    abort: Abort,
) -> Outcome<ApplyReport> {
    if abort.fired() {
        return Err(cancelled_apply());
    }
    let cancel = CancelApply::new();
    let watcher = {
        let cancel = cancel.clone();
        AbortOnDrop(tokio::spawn(async move {
            abort.fired_wait().await;
            cancel.cancel();
        }))
    };
    let out = engine
        .apply_with(filter, options.cancel(cancel.clone()))
        .await;
    drop(watcher);
    match out {
        Err(e) if !(cancel.is_cancelled() && e.kind() == ErrorKind::Cancelled) => Err(e.into()),
        _ if cancel.is_cancelled() => Err(cancelled_apply()),
        out => Ok(out?),
    }
}

fn cancelled_apply() -> Failure {
    Failure::Core(CoreError::new(
        ErrorKind::Cancelled,
        "the apply was aborted (its AbortSignal fired): the writes it had started are \
         recorded, the changes it had not started stay approved",
    ))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `options.mask`: a list of field names; absent or `null` for every field.
fn read_mask(env: &Env, options: Option<&Object<'_>>) -> napi::Result<Outcome<FieldMask>> {
    let Some(options) = options else {
        return Ok(Ok(FieldMask::ALL));
    };
    let mask: Unknown<'_> = options.get_named_property("mask")?;
    Ok(match mask.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(FieldMask::ALL),
        _ => unsafe { crate::convert::read::<FieldMask>(env.raw(), mask.raw()) }
            .map_err(|e| invalid("mask", e)),
    })
}

/// A running apply whose events are read as an async iterator
/// (`for await (const event of run)`); `report()` resolves with the `ApplyReport`.
#[napi]
pub struct ApplyRun {
    feed: Feed<Event>,
    report: Arc<Mutex<Option<tokio::sync::oneshot::Receiver<Outcome<ApplyReport>>>>>,
}

#[napi]
impl ApplyRun {
    /// The next event, or `null` once the apply is over.
    #[napi(ts_return_type = "Promise<ExecutorEvent | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<Event>>>>> {
        self.feed.next(env)
    }

    /// Stop reading events (the apply goes on; `report()` still resolves).
    #[napi]
    pub fn close(&self) {}

    /// The apply's report once it is done (rejects with its error). Once only.
    #[napi(ts_return_type = "Promise<ApplyReport>")]
    pub fn report<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ApplyReport>>>> {
        let rx = self.report.lock().unwrap_or_else(|e| e.into_inner()).take();
        spawn(env, Abort::none(), async move {
            match rx {
                Some(rx) => match rx.await {
                    Ok(out) => out.map(Json),
                    Err(_) => Err(invalid("report", "the apply ended without a report")),
                },
                None => Err(invalid("report", "report() was already called")),
            }
        })
    }
}
