//! `Executor`: your own GraphQL documents as jobs of the core's executor (the same
//! priority queue, worker pool, shared cost budget, retries, cancellation and events as
//! the engine's writes), through the core's `sync::requests::GraphqlJob`.
use crate::abort::{cancelled, spawn, Abort};
use crate::client::{Response, ShopifyClient};
use crate::convert::Input;
use crate::errors::{error_object, guard, invalid, Json, Outcome, Settled};
use crate::events::{on_event_option, Delivery, ExecutorEvents};
use crate::store::settle;
use crate::streams::{pump, Feed};
use futures::StreamExt;
use napi::bindgen_prelude::{Array, JsObjectValue, Null, Object, PromiseRaw, ToNapiValue, Unknown};
use napi::{sys, Env, JsValue, ValueType};
use napi_derive::napi;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopify_sync::client::ShopifyClient as CoreClient;
use shopify_sync::executor::{
    EventStream, Executor as CoreExecutor, ExecutorConfig, ExecutorControl, JobRecord, Priority,
    Report, RetryPolicy,
};
use shopify_sync::sync::requests::{graphql_job, GraphqlJob, GraphqlResults};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The executor's options (camelCase, all optional, unknown keys refused), over
/// `ExecutorConfig`'s defaults: `new Executor(client, { config })` and
/// `new SyncEngine(client, store, { executor })` read them alike.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutorOptions {
    min_workers: Option<usize>,
    max_workers: Option<usize>,
    queue_capacity: Option<usize>,
    memory_watermark_mb: Option<u64>,
    memory_poll_ms: Option<u64>,
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    scale_interval_ms: Option<u64>,
    progress_interval_ms: Option<u64>,
    event_buffer: Option<usize>,
}

impl ExecutorOptions {
    /// The configuration: the defaults with these options, validated by the core.
    pub fn config(self) -> Outcome<ExecutorConfig> {
        let mut c = ExecutorConfig::default();
        let ms = Duration::from_millis;
        if let Some(v) = self.min_workers {
            c.min_workers = v;
        }
        if let Some(v) = self.max_workers {
            c.max_workers = v;
        }
        if let Some(v) = self.queue_capacity {
            c.queue_capacity = v;
        }
        if let Some(v) = self.memory_watermark_mb {
            c.memory_watermark = (v > 0).then(|| v.saturating_mul(1024 * 1024));
        }
        if let Some(v) = self.memory_poll_ms {
            c.memory_poll_interval = ms(v);
        }
        if let Some(v) = self.max_attempts {
            c.retry.max_attempts = v;
        }
        if let Some(v) = self.initial_backoff_ms {
            c.retry.initial_backoff = ms(v);
        }
        if let Some(v) = self.max_backoff_ms {
            c.retry.max_backoff = ms(v);
        }
        if let Some(v) = self.idle_timeout_ms {
            c.idle_timeout = ms(v);
        }
        if let Some(v) = self.scale_interval_ms {
            c.scale_interval = ms(v);
        }
        if let Some(v) = self.progress_interval_ms {
            c.progress_interval = ms(v);
        }
        if let Some(v) = self.event_buffer {
            c.event_buffer = v;
        }
        c.validate()?;
        Ok(c)
    }
}

/// `submit()`'s options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitOptions {
    priority: Option<i32>,
    key: Option<String>,
    max_attempts: Option<u32>,
}

/// What became of a submission (snake_case data, like the events' `job_id`).
#[derive(Serialize)]
pub struct SubmitOut {
    job_id: u64,
    duplicate: bool,
}

const CONSTRUCTOR_KEYS: [&str; 3] = ["config", "operationId", "onEvent"];

/// Refuse keys of `options` other than `known` (as serde's `deny_unknown_fields`).
fn refuse_unknown(options: &Object<'_>, known: &[&str], what: &str) -> napi::Result<Outcome<()>> {
    let names = options.get_property_names()?;
    for i in 0..names.get_array_length()? {
        let name: String = names.get_element(i)?;
        if !known.contains(&name.as_str()) {
            return Ok(Err(invalid(
                what,
                format!("unknown option `{name}`, expected one of {known:?}"),
            )));
        }
    }
    Ok(Ok(()))
}

/// Runs your own GraphQL documents (queries and mutations) as jobs: in priority order,
/// in parallel within the shop's shared cost budget, with retries, pause, resume,
/// cancel and progress events.
#[napi]
pub struct Executor {
    client: CoreClient,
    results: GraphqlResults,
    retry: RetryPolicy,
    control: ExecutorControl,
    /// `None` once `finish()` took it.
    running: Arc<tokio::sync::RwLock<Option<CoreExecutor>>>,
    /// Every event from `operation_started`, for an `events()` called before the first
    /// `submit()` (dropped then, so that an unread stream never piles up).
    initial: Mutex<Option<EventStream>>,
    /// The wait for `onEvent` to have seen every event.
    delivery: Mutex<Option<Delivery>>,
}

#[napi]
impl Executor {
    /// An executor sending its jobs through `client` (the shop's cost bucket, shared
    /// with every client and executor of that shop in the process). Options:
    /// `config` (`ExecutorConfig`: workers, queue, retries ...), `operationId` (the
    /// id every event carries; default `op-` and random hex), `onEvent` (every event,
    /// from `operation_started` to `finished`, on the JS thread, never blocking the
    /// workers). Unknown keys and unusable options throw `SHOPIFY_INVALID_INPUT`.
    #[napi(
        constructor,
        ts_args_type = "client: ShopifyClient, options?: ExecutorOptions | null"
    )]
    pub fn new(
        env: Env,
        client: &ShopifyClient,
        options: Option<Object<'_>>,
    ) -> napi::Result<Executor> {
        let callback = on_event_option(&env, options.as_ref())?;
        let (checked, config, id) = match &options {
            Some(o) => {
                let checked = refuse_unknown(o, &CONSTRUCTOR_KEYS, "Executor options")?;
                let config: Unknown<'_> = o.get_named_property("config")?;
                let config = match config.get_type()? {
                    ValueType::Undefined | ValueType::Null => None,
                    _ => Some(unsafe {
                        crate::convert::read::<ExecutorOptions>(env.raw(), config.raw())
                    }),
                };
                let id: Option<String> = o.get_named_property("operationId")?;
                (checked, config, id)
            }
            None => (Ok(()), None, None),
        };
        let core = client.core().clone();
        settle(
            &env,
            guard(|| {
                checked?;
                let config = match config {
                    Some(c) => c.map_err(|e| invalid("Executor config", e))?.config()?,
                    None => ExecutorConfig::default(),
                };
                let retry = config.retry.clone();
                let mut builder = CoreExecutor::for_client(&core).config(config);
                if let Some(id) = id {
                    builder = builder.operation_id(id);
                }
                let mut delivery = None;
                if let Some(cb) = callback {
                    let (handler, d) = cb.handler();
                    builder = builder.on_event(handler);
                    delivery = Some(d);
                }
                let initial = builder.events();
                let executor =
                    napi::bindgen_prelude::within_runtime_if_available(|| builder.start())?;
                Ok(Executor {
                    client: core,
                    results: GraphqlResults::default(),
                    retry,
                    control: executor.control(),
                    running: Arc::new(tokio::sync::RwLock::new(Some(executor))),
                    initial: Mutex::new(Some(initial)),
                    delivery: Mutex::new(delivery),
                })
            }),
        )
    }

    /// The operation id every event carries (a WebSocket room to emit to).
    #[napi(getter)]
    pub fn operation_id(&self) -> String {
        self.control.operation_id().to_string()
    }

    /// Queue a GraphQL document (a query or a mutation) with its variables. The
    /// document is validated against the Admin schema and costed first: an invalid one
    /// rejects with `SHOPIFY_INVALID_INPUT`, one over Shopify's single-query limit with
    /// `SHOPIFY_COST_EXCEEDED`, before it is queued. Options: `priority` (higher runs
    /// first, default 0; `-10` / `10` are the core's low / high), `key` (a job with the
    /// key of a job still waiting is not queued again: `duplicate: true` with the
    /// waiting job's id), `maxAttempts` (this job's attempts, the first included;
    /// default the config's). Waits while the queue is full. Resolves with
    /// `{ job_id, duplicate }`; its response is in `finish()`'s report under `job_id`.
    /// A payload with `userErrors` fails the job (`SHOPIFY_USER_ERRORS`, not retried);
    /// a mutation whose outcome is unknown is not retried unless it is idempotent (its
    /// effect is then `unknown`: read Shopify before running it again).
    #[napi(
        ts_args_type = "document: string, variables?: Record<string, unknown> | null, options?: SubmitOptions | null",
        ts_return_type = "Promise<SubmitResult>"
    )]
    pub fn submit<'e>(
        &self,
        env: &'e Env,
        document: String,
        variables: Option<Input<Value>>,
        options: Option<Input<SubmitOptions>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<SubmitOut>>>> {
        // From the first submission on, `events()` reads the events from its call on.
        drop(
            self.initial
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let job = self.job(document, variables, options);
        let running = self.running.clone();
        spawn(env, Abort::none(), async move {
            let job = job?;
            let held = running.read().await;
            let executor = held
                .as_ref()
                .ok_or_else(|| invalid("submit", "finish() was called: no more jobs"))?;
            let s = executor.submit(job).await?;
            Ok(Json(SubmitOut {
                job_id: s.id().get(),
                duplicate: s.is_duplicate(),
            }))
        })
    }

    /// The events as an async iterator (`for await (const e of executor.events())`),
    /// in the JSON shape of `tests/vectors/events.json`; it ends after `finished`.
    /// Called before the first `submit()`, it yields every event from
    /// `operation_started`; later, the events from its call on. A reader that falls
    /// behind misses `progress` events, never the others.
    #[napi]
    pub fn events(&self) -> ExecutorEvents {
        let taken = self
            .initial
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let stream = taken.unwrap_or_else(|| self.control.subscribe());
        ExecutorEvents {
            feed: Feed::start(Abort::none(), move |tx| pump(stream.map(Ok), tx)),
        }
    }

    /// Start no new job until `resume()`; running ones go on.
    #[napi]
    pub fn pause(&self) {
        self.control.pause()
    }

    /// Start jobs again.
    #[napi]
    pub fn resume(&self) {
        self.control.resume()
    }

    /// Cancel gracefully: the queued jobs are dropped (in the report's `cancelled`,
    /// effect `not_done`), the running ones finish; no job is accepted any more.
    /// Returns at once; `finish()` resolves with the report once they are done.
    #[napi]
    pub fn cancel(&self) {
        self.control.cancel()
    }

    /// Cancel immediately: the queued jobs are dropped and the running ones stopped
    /// (reported cancelled with the effect they recorded, else `unknown`).
    #[napi]
    pub fn abort(&self) {
        self.control.abort()
    }

    /// Where the operation stands: `{ done, failed, cancelled, running, queued, total,
    /// workers, rate_per_minute, eta_ms, elapsed_ms }`.
    #[napi(ts_return_type = "ExecutorProgress")]
    pub fn progress(&self) -> Json<shopify_sync::executor::Progress> {
        Json(self.control.progress())
    }

    /// Accept no more jobs, run the queued ones, and resolve with the report:
    /// `{ summary, failed, cancelled, responses }` (`summary` as the `finished`
    /// event; `failed` and `cancelled` the jobs that did not succeed, each
    /// `{ job_id, key, attempts, effect, error }` with `error` a `ShopifySyncError`;
    /// `responses` the GraphQL response of every job that succeeded, by `job_id`).
    /// With `onEvent`, it resolves after the last event was delivered. A paused
    /// executor ends once resumed or cancelled. An abort (`signal`) cancels gracefully
    /// (queued jobs dropped, running ones finish) and then rejects with
    /// `SHOPIFY_CANCELLED`; call `cancel()` instead to get the report. Once only.
    #[napi(
        ts_args_type = "options?: CallOptions | null",
        ts_return_type = "Promise<ExecutorReport>"
    )]
    pub fn finish<'e>(
        &self,
        env: &'e Env,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<ReportOut>>> {
        let abort = Abort::from_options(env, options.as_ref())?;
        let running = self.running.clone();
        let control = self.control.clone();
        let results = self.results.clone();
        let delivery = self
            .delivery
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        spawn(env, Abort::none(), async move {
            let executor = running
                .write()
                .await
                .take()
                .ok_or_else(|| invalid("finish", "finish() was already called"))?;
            let watcher = {
                let abort = abort.clone();
                AbortOnDrop(tokio::spawn(async move {
                    abort.fired_wait().await;
                    control.cancel();
                }))
            };
            let report = executor.finish().await;
            drop(watcher);
            if let Some(d) = delivery {
                d.settled().await;
            }
            let report = report?;
            if abort.fired() && report.summary().cancel().is_some() {
                return Err(cancelled());
            }
            Ok(ReportOut {
                report,
                responses: results
                    .take_all()
                    .into_iter()
                    .map(|(id, r)| (id.get(), r.into()))
                    .collect(),
            })
        })
    }
}

impl Executor {
    /// The job for a submission (validated and costed now).
    fn job(
        &self,
        document: String,
        variables: Option<Input<Value>>,
        options: Option<Input<SubmitOptions>>,
    ) -> Outcome<GraphqlJob> {
        let variables = variables
            .map(|v| v.get("variables"))
            .transpose()?
            .unwrap_or(Value::Null);
        let options = options
            .map(|o| o.get("submit options"))
            .transpose()?
            .unwrap_or_default();
        let mut job = graphql_job(&self.client, document, variables, &self.results)?;
        if let Some(p) = options.priority {
            job = job.with_priority(Priority(p));
        }
        if let Some(k) = options.key {
            job = job.with_key(k);
        }
        if let Some(n) = options.max_attempts {
            if n == 0 {
                return Err(invalid("maxAttempts", "must be at least 1"));
            }
            job = job.with_retry(RetryPolicy {
                max_attempts: n,
                ..self.retry.clone()
            });
        }
        Ok(job)
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `finish()`'s report, built on the JS thread (its errors become `ShopifySyncError`s).
pub struct ReportOut {
    report: Report,
    responses: Vec<(u64, Response)>,
}

fn records<'e>(env: &'e Env, list: &[JobRecord]) -> napi::Result<Array<'e>> {
    let mut out = env.create_array(list.len() as u32)?;
    for (i, r) in list.iter().enumerate() {
        let mut o = Object::new(env)?;
        o.set("job_id", r.id().get() as f64)?;
        o.set("key", r.key())?;
        o.set("attempts", r.attempts())?;
        o.set("effect", Json(r.effect()))?;
        match r.error() {
            Some(e) => o.set("error", error_object(env, e)?)?,
            None => o.set("error", Null)?,
        }
        out.set(i as u32, o)?;
    }
    Ok(out)
}

impl ToNapiValue for ReportOut {
    unsafe fn to_napi_value(raw: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw);
        let mut out = Object::new(&env)?;
        out.set("summary", Json(val.report.summary().clone()))?;
        out.set("failed", records(&env, val.report.failed())?)?;
        out.set("cancelled", records(&env, val.report.cancelled())?)?;
        let mut responses = Object::new(&env)?;
        for (id, r) in val.responses {
            responses.set(id.to_string(), Json(r))?;
        }
        out.set("responses", responses)?;
        Ok(out.raw())
    }
}
