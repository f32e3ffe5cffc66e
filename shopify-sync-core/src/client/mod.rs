//! The Shopify Admin GraphQL client: transport, config, auth, throttle, retry, pagination.
//!
//! [`ShopifyClient::graphql`] is the one door every request goes through:
//!
//! 1. the document is validated locally against the Admin schema of the configured API
//!    version (an invalid document never costs a request);
//! 2. its requested cost is estimated statically ([`cost`]), or taken from what Shopify
//!    reported for the same document and variables before; documents over the
//!    single-query limit are refused before sending;
//! 3. the shop's shared cost bucket ([`throttle`]) is waited on until it holds that cost
//!    (a document costing more than the shop's whole bucket fails with `cost_exceeded`
//!    at its first `THROTTLED` answer, since no wait can help);
//! 4. the request is sent; the response corrects the bucket, and failures are retried
//!    per [`config::RetryPolicy`]: throttling (HTTP 200 + `THROTTLED`, or 429 with
//!    `Retry-After`) is waited out and never counts against the retry budget; transport
//!    errors, timeouts, 5xx and `INTERNAL_SERVER_ERROR` back off exponentially with
//!    jitter. A mutation whose outcome is unknown is retried only when idempotent
//!    (`productSet` with an `identifier`, or declared so by the caller); otherwise it
//!    fails with [`ErrorKind::OutcomeUnknown`] so the caller reconciles.
//!
//! ```no_run
//! # async fn demo() -> shopify_sync::error::Result<()> {
//! use shopify_sync::client::ShopifyClient;
//! let client = ShopifyClient::from_env()?;
//! let resp = client.graphql("{ productsCount { count } }", serde_json::json!({})).await?;
//! println!("{} products", resp.data["productsCount"]["count"]);
//! # Ok(()) }
//! ```
pub mod bulk;
pub mod collections;
pub mod config;
pub mod cost;
pub mod jsonl;
pub mod pagination;
pub mod products;
pub mod throttle;
pub mod transport;
pub mod webhooks;

use crate::error::{Error, ErrorKind, GraphqlError, Result};
use crate::schema::{admin_schema, SchemaVersion};
use apollo_compiler::executable::OperationType;
use apollo_compiler::validation::Valid;
use apollo_compiler::ExecutableDocument;
use config::ClientConfig;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use throttle::{CostBucket, CostReport};
use transport::{FailurePoint, HttpRequest, HttpResponse, HttpSend, ReqwestTransport};

/// A successful GraphQL response.
#[derive(Debug, Clone)]
pub struct GraphqlResponse {
    /// `data`.
    pub data: Value,
    /// Field errors that came with the data, if any (a partial response).
    pub errors: Vec<GraphqlError>,
    /// `extensions.cost`, when Shopify sent it.
    pub cost: Option<CostReport>,
    /// Shopify's `X-Request-Id`.
    pub request_id: Option<String>,
}

/// Per-request options.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Declare a mutation safe to send twice (e.g. keyed by the caller's own idempotency
    /// scheme), so an unknown outcome is retried instead of reported.
    pub idempotent: bool,
}

/// A parsed, validated document and what the client needs to know of it.
#[derive(Debug)]
struct Prepared {
    document: Valid<ExecutableDocument>,
    operation_name: Option<String>,
    is_mutation: bool,
    /// Root fields taking `identifier:` (idempotent `productSet` when it is non-null),
    /// with the variable that carries it, if any.
    identifiers: Vec<Option<String>>,
    root_fields: Vec<String>,
}

/// The client. Cheap to clone; clones share the connection pool, the document cache and
/// (with every other client for the same shop) the cost bucket.
#[derive(Debug, Clone)]
pub struct ShopifyClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    url: reqwest::Url,
    schema: SchemaVersion,
    transport: Arc<dyn HttpSend>,
    bucket: Arc<CostBucket>,
    documents: Mutex<HashMap<String, Arc<Prepared>>>,
    learned: Mutex<HashMap<u64, u32>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("config", &self.config)
            .field("url", &self.url.as_str())
            .field("schema", &self.schema)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// What to do after an attempt.
enum Verdict {
    /// It worked.
    Done(GraphqlResponse),
    /// Wait this long and try again; does not count against the retry budget.
    Throttled(Duration, Error),
    /// Back off and try again, if the budget allows.
    Retry(Error),
    /// Give up with this error.
    Fail(Error),
}

impl ShopifyClient {
    /// A client for `config`, with the real transport.
    pub fn new(config: ClientConfig) -> Result<ShopifyClient> {
        let transport = ReqwestTransport::new(
            config.connect_timeout,
            config.request_timeout,
            &config.user_agent,
        )
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot build the HTTP client: {e}"),
            )
            .with_source(e)
        })?;
        ShopifyClient::with_transport(config, Arc::new(transport))
    }

    /// A client configured from the environment (see [`ClientConfig::from_env`]).
    pub fn from_env() -> Result<ShopifyClient> {
        ShopifyClient::new(ClientConfig::from_env()?)
    }

    /// A client over a custom transport.
    pub fn with_transport(
        config: ClientConfig,
        transport: Arc<dyn HttpSend>,
    ) -> Result<ShopifyClient> {
        let schema = SchemaVersion::for_api_version(config.version()).ok_or_else(|| {
            Error::invalid_input(format!("unsupported API version {}", config.version()))
        })?;
        let bucket = CostBucket::for_shop(&config.bucket_key());
        Ok(ShopifyClient {
            inner: Arc::new(Inner {
                url: config.graphql_url(),
                config,
                schema,
                transport,
                bucket,
                documents: Mutex::new(HashMap::new()),
                learned: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The shop's shared cost bucket.
    pub fn bucket(&self) -> &Arc<CostBucket> {
        &self.inner.bucket
    }

    /// Send a document with its variables (a JSON object or null).
    pub async fn graphql(&self, document: &str, variables: Value) -> Result<GraphqlResponse> {
        self.graphql_with(document, variables, RequestOptions::default())
            .await
    }

    /// The requested cost the client will reserve for a document and its variables:
    /// what Shopify reported before for the same pair, else the static estimate.
    pub fn requested_cost(&self, document: &str, variables: &Value) -> Result<u32> {
        let prepared = self.prepare(document)?;
        self.cost_of(document, &prepared, variables)
    }

    /// [`ShopifyClient::requested_cost`], refused (kind `cost_exceeded`) when it is over
    /// Shopify's single-query limit: what a request would cost, checked as sending it
    /// would check it.
    pub fn checked_cost(&self, document: &str, variables: &Value) -> Result<u32> {
        self.within_limit(self.requested_cost(document, variables)?)
    }

    fn within_limit(&self, cost: u32) -> Result<u32> {
        let limit = self.inner.config.throttle.max_query_cost;
        if cost > limit {
            return Err(Error::new(
                ErrorKind::CostExceeded,
                format!("the document's requested cost is {cost}, over Shopify's single-query limit of {limit}: request fewer items per page, or use a bulk operation"),
            ));
        }
        Ok(cost)
    }

    fn cost_of(&self, document: &str, prepared: &Prepared, variables: &Value) -> Result<u32> {
        if let Some(c) = self
            .inner
            .learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cost_key(document, variables))
        {
            return Ok(*c);
        }
        let empty = Map::new();
        let vars = variables.as_object().unwrap_or(&empty);
        cost::requested_cost(
            admin_schema(self.inner.schema),
            &prepared.document,
            prepared.operation_name.as_deref(),
            vars,
        )
        .map_err(|e| Error::invalid_input(format!("cannot estimate the cost of the document: {e}")))
    }

    fn prepare(&self, document: &str) -> Result<Arc<Prepared>> {
        if let Some(p) = self
            .inner
            .documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(document)
        {
            return Ok(p.clone());
        }
        let schema = admin_schema(self.inner.schema);
        let doc = ExecutableDocument::parse_and_validate(schema, document, "document.graphql")
            .map_err(|e| {
                Error::invalid_input(format!(
                    "the GraphQL document does not validate against the {} Admin schema:\n{}",
                    self.inner.schema.as_str(),
                    e.errors
                ))
            })?;
        let op = doc
            .operations
            .get(None)
            .map_err(|_| Error::invalid_input("the document must hold exactly one operation"))?;
        let mut identifiers = vec![];
        let mut root_fields = vec![];
        for field in op.root_fields(&doc) {
            root_fields.push(field.name.to_string());
            if field.name == "productSet" {
                let ident = field.arguments.iter().find(|a| a.name == "identifier");
                match ident.map(|a| a.value.as_ref()) {
                    Some(apollo_compiler::ast::Value::Variable(v)) => {
                        identifiers.push(Some(v.to_string()))
                    }
                    Some(apollo_compiler::ast::Value::Null) | None => {}
                    Some(_) => identifiers.push(None),
                }
            }
        }
        let prepared = Arc::new(Prepared {
            operation_name: op.name.as_ref().map(|n| n.to_string()),
            is_mutation: op.operation_type == OperationType::Mutation,
            identifiers,
            root_fields,
            document: doc,
        });
        let mut cache = self
            .inner
            .documents
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if cache.len() > 1_000 {
            cache.clear();
        }
        cache.insert(document.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Whether a mutation is safe to send twice.
    fn idempotent(prepared: &Prepared, variables: &Value, options: &RequestOptions) -> bool {
        if options.idempotent || !prepared.is_mutation {
            return true;
        }
        let all_product_set = !prepared.root_fields.is_empty()
            && prepared.root_fields.iter().all(|f| f == "productSet");
        all_product_set
            && prepared.identifiers.len() == prepared.root_fields.len()
            && prepared.identifiers.iter().all(|v| match v {
                None => true,
                Some(name) => variables.get(name).is_some_and(|v| !v.is_null()),
            })
    }

    /// [`ShopifyClient::graphql`] with options.
    pub async fn graphql_with(
        &self,
        document: &str,
        variables: Value,
        options: RequestOptions,
    ) -> Result<GraphqlResponse> {
        let variables = if variables.is_null() {
            json!({})
        } else {
            variables
        };
        if !variables.is_object() {
            return Err(Error::invalid_input(
                "GraphQL variables must be a JSON object",
            ));
        }
        let prepared = self.prepare(document)?;
        let cost = self.within_limit(self.cost_of(document, &prepared, &variables)?)?;
        let idempotent = Self::idempotent(&prepared, &variables, &options);
        let mut body = json!({"query": document, "variables": variables});
        if let Some(name) = &prepared.operation_name {
            body["operationName"] = json!(name);
        }
        let request = HttpRequest {
            url: self.inner.url.clone(),
            headers: vec![
                ("content-type", "application/json".into()),
                ("accept", "application/json".into()),
                (
                    "x-shopify-access-token",
                    self.inner.config.token().expose().to_string(),
                ),
            ],
            body: body.to_string().into_bytes(),
        };
        let retry = &self.inner.config.retry;
        let started = Instant::now();
        let (mut failures, mut throttles) = (0u32, 0u32);
        loop {
            if self.inner.config.throttle.proactive {
                self.inner.bucket.acquire(cost).await;
            } else {
                self.inner.bucket.take_now(cost);
            }
            let verdict = match self.inner.transport.send(request.clone()).await {
                Err(e) => {
                    self.inner.bucket.settle(cost, None);
                    let unknown = e.point == FailurePoint::AfterSending
                        && prepared.is_mutation
                        && !idempotent;
                    let kind = if unknown {
                        ErrorKind::OutcomeUnknown
                    } else if e.timeout {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Transport
                    };
                    let what = if e.timeout { "timed out" } else { "failed" };
                    let mut err = Error::new(
                        kind,
                        format!("the request to {} {what}: {}", self.inner.url, e.source),
                    );
                    if unknown {
                        err = Error::new(kind, format!("{err}; the mutation may or may not have been applied: read the remote state before trying again"));
                    }
                    let err = err.with_source(SourceError(e.source.to_string()));
                    if unknown {
                        Verdict::Fail(err)
                    } else {
                        Verdict::Retry(err)
                    }
                }
                Ok(resp) => self.judge(&prepared, cost, idempotent, document, &variables, resp),
            };
            match verdict {
                Verdict::Done(resp) => return Ok(resp),
                Verdict::Throttled(wait, err) => {
                    throttles += 1;
                    if throttles > self.inner.config.throttle.max_throttle_retries {
                        return Err(err.persistent());
                    }
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "throttled by Shopify; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                Verdict::Retry(err) => {
                    failures += 1;
                    let backoff = backoff(retry, failures);
                    if failures >= retry.max_attempts
                        || started.elapsed() + backoff > retry.max_elapsed
                    {
                        return Err(err.persistent());
                    }
                    tracing::debug!(attempt = failures, backoff_ms = backoff.as_millis() as u64, error = %err, "retrying");
                    tokio::time::sleep(backoff).await;
                }
                Verdict::Fail(err) => return Err(err.persistent()),
            }
        }
    }

    /// Classify a response: success, or how to handle the failure.
    fn judge(
        &self,
        prepared: &Prepared,
        cost: u32,
        idempotent: bool,
        document: &str,
        variables: &Value,
        resp: HttpResponse,
    ) -> Verdict {
        let request_id = resp.header("x-request-id").map(String::from);
        if let Some(reason) = resp.header("x-shopify-api-deprecated-reason") {
            warn_once(&format!("Shopify reports a deprecated API call: {reason}"));
        }
        let with_id = |e: Error| e.with_request_id(request_id.clone());
        let unknown_or = |kind: ErrorKind, message: String| {
            if prepared.is_mutation && !idempotent {
                Verdict::Fail(with_id(Error::new(
                    ErrorKind::OutcomeUnknown,
                    format!("{message}; the mutation may or may not have been applied: read the remote state before trying again"),
                )))
            } else {
                Verdict::Retry(with_id(Error::new(kind, message)))
            }
        };
        match resp.status {
            200 => {}
            429 => {
                self.inner.bucket.settle(cost, None);
                let wait = resp
                    .header("retry-after")
                    .and_then(parse_retry_after)
                    .unwrap_or_else(|| {
                        self.inner.bucket.wait_for(cost).max(Duration::from_secs(1))
                    });
                let err = with_id(Error::new(
                    ErrorKind::Throttled,
                    "Shopify answered 429 Too Many Requests",
                ));
                return Verdict::Throttled(wait, err);
            }
            401 | 403 => {
                self.inner.bucket.settle(cost, None);
                let what = if resp.status == 401 {
                    "refused the access token"
                } else {
                    "denied access"
                };
                return Verdict::Fail(with_id(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "Shopify {what} (HTTP {}): check SHOPIFY_ACCESS_TOKEN, that the app is installed on the shop, and its scopes (read_products, write_products)",
                        resp.status
                    ),
                )));
            }
            404 => {
                self.inner.bucket.settle(cost, None);
                return Verdict::Fail(with_id(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "no Admin API at {} (HTTP 404): check the shop domain and the API version",
                        self.inner.url
                    ),
                )));
            }
            s if s >= 500 => {
                self.inner.bucket.settle(cost, None);
                return unknown_or(ErrorKind::Server, format!("Shopify answered HTTP {s}"));
            }
            s => {
                self.inner.bucket.settle(cost, None);
                let text = String::from_utf8_lossy(&resp.body);
                return Verdict::Fail(with_id(Error::new(
                    ErrorKind::Graphql,
                    format!("Shopify answered HTTP {s}: {}", truncate(&text, 500)),
                )));
            }
        }
        let body: Value = match serde_json::from_slice(&resp.body) {
            Ok(v) => v,
            Err(e) => {
                self.inner.bucket.settle(cost, None);
                let message = format!(
                    "the response body is not valid JSON ({e}; {} bytes)",
                    resp.body.len()
                );
                return match unknown_or(ErrorKind::Decode, message) {
                    Verdict::Retry(err) => Verdict::Retry(err.with_source(e)),
                    other => other,
                };
            }
        };
        let report = cost_report(&body);
        self.inner.bucket.settle(cost, report.as_ref());
        if let Some(r) = &report {
            let mut learned = self.inner.learned.lock().unwrap_or_else(|e| e.into_inner());
            if learned.len() > 10_000 {
                learned.clear();
            }
            learned.insert(cost_key(document, variables), r.requested);
        }
        let errors = graphql_errors(&body);
        let has_code = |code: &str| errors.iter().any(|e| e.code.as_deref() == Some(code));
        if has_code("THROTTLED") {
            if let Some(r) = report
                .as_ref()
                .filter(|r| f64::from(r.requested) > r.maximum)
            {
                // Waiting cannot help: the bucket never holds that much.
                return Verdict::Fail(with_id(
                    Error::new(
                        ErrorKind::CostExceeded,
                        format!(
                            "the document's requested cost is {}, over the shop's whole bucket of {} points, so Shopify can never run it: request fewer items per page",
                            r.requested, r.maximum
                        ),
                    )
                    .with_graphql_errors(errors),
                ));
            }
            let wait = match &report {
                Some(r) if r.restore_rate > 0.0 => Duration::from_secs_f64(
                    ((f64::from(r.requested) - r.available).max(0.0) / r.restore_rate).max(0.05),
                ),
                _ => Duration::from_secs(1),
            };
            let err = with_id(
                Error::new(ErrorKind::Throttled, "Shopify answered THROTTLED")
                    .with_graphql_errors(errors),
            );
            return Verdict::Throttled(wait, err);
        }
        if has_code("MAX_COST_EXCEEDED") {
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            return Verdict::Fail(with_id(
                Error::new(ErrorKind::CostExceeded, message).with_graphql_errors(errors),
            ));
        }
        if has_code("INTERNAL_SERVER_ERROR") {
            return match unknown_or(
                ErrorKind::Server,
                "Shopify answered INTERNAL_SERVER_ERROR".into(),
            ) {
                Verdict::Retry(e) => Verdict::Retry(e.with_graphql_errors(errors)),
                Verdict::Fail(e) => Verdict::Fail(e.with_graphql_errors(errors)),
                v => v,
            };
        }
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        if !errors.is_empty() && data.is_null() {
            let summary: Vec<&str> = errors.iter().take(3).map(|e| e.message.as_str()).collect();
            let kind = if has_code("ACCESS_DENIED") {
                ErrorKind::Auth
            } else {
                ErrorKind::Graphql
            };
            return Verdict::Fail(with_id(
                Error::new(
                    kind,
                    format!("Shopify refused the document: {}", summary.join("; ")),
                )
                .with_graphql_errors(errors),
            ));
        }
        if !body.is_object() || body.get("data").is_none() {
            return Verdict::Fail(with_id(Error::new(
                ErrorKind::Decode,
                "the response has neither data nor errors",
            )));
        }
        Verdict::Done(GraphqlResponse {
            data,
            errors,
            cost: report,
            request_id,
        })
    }
}

/// A cause that only keeps the text of a boxed error (whose type is not `Sync`-clonable).
#[derive(Debug)]
struct SourceError(String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn cost_key(document: &str, variables: &Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    document.hash(&mut h);
    variables.to_string().hash(&mut h);
    h.finish()
}

/// `Retry-After` in seconds, possibly fractional; garbage, negative or absurd values
/// give `None` (the caller falls back to the bucket's own estimate).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && (0.0..=3_600.0).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// Exponential backoff with jitter: the `n`th retry waits between half and all of
/// `initial * 2^(n-1)`, capped at `max_backoff`.
fn backoff(policy: &config::RetryPolicy, n: u32) -> Duration {
    let exp = policy
        .initial_backoff
        .saturating_mul(1u32 << (n.saturating_sub(1)).min(20));
    let cap = exp.min(policy.max_backoff);
    let random =
        std::collections::hash_map::RandomState::new().hash_one(n) as f64 / u64::MAX as f64;
    cap.mul_f64(0.5 + random * 0.5)
}

fn cost_report(body: &Value) -> Option<CostReport> {
    let c = body.pointer("/extensions/cost")?;
    let t = c.get("throttleStatus")?;
    Some(CostReport {
        requested: c.get("requestedQueryCost")?.as_f64()? as u32,
        actual: c
            .get("actualQueryCost")
            .and_then(Value::as_f64)
            .map(|v| v as u32),
        maximum: t.get("maximumAvailable")?.as_f64()?,
        available: t.get("currentlyAvailable")?.as_f64()?,
        restore_rate: t.get("restoreRate")?.as_f64()?,
    })
}

fn graphql_errors(body: &Value) -> Vec<GraphqlError> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().map(GraphqlError::from_response).collect())
        .unwrap_or_default()
}

/// Log `message` as a warning the first time it is seen in this process.
pub(crate) fn warn_once(message: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(message.to_string())
    {
        tracing::warn!("{message}");
    }
}
