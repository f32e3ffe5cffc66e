//! Bulk operations: export a whole catalog with one query, import with one upload.
//!
//! No official Shopify client has a helper for these; this module is the whole
//! lifecycle, with the failure modes their users trip over handled:
//!
//! - **Run** ([`ShopifyClient::bulk_query_start`], [`ShopifyClient::bulk_mutation_start`]).
//!   When the shop's concurrency limit is reached (one operation per type before API
//!   version 2026-01, five from it), Shopify answers `OPERATION_IN_PROGRESS` or
//!   `LIMIT_REACHED`: the client waits for a free slot, with backoff, up to
//!   [`BulkOptions::slot_timeout`], instead of failing.
//! - **Wait** ([`ShopifyClient::bulk_wait`]). Polls the operation *by id*
//!   (`node(id:)`, which both supported API versions have), never the deprecated
//!   `currentBulkOperation`, which cannot tell concurrent operations apart. Polls back
//!   off from [`BulkOptions::poll_interval`]'s first to its last interval; a
//!   [`BulkFinishSignal`] (fed from a `bulk_operations/finish` webhook) wakes the wait
//!   at once. Every poll reports [`BulkProgress`] (`objectCount`) to a callback. A
//!   [`BulkOptions::timeout`] bounds the wait (and cancels the operation by default),
//!   so a job that never finishes does not hang a pipeline.
//! - **Cancel** ([`ShopifyClient::bulk_cancel`]).
//! - **Outcome.** `COMPLETED` gives the result's URL (none when nothing matched: an empty
//!   stream). `FAILED` with a `partialDataUrl` is *salvaged*: the result says
//!   [`BulkQueryResult::is_partial`] and carries the error code, and its records are the
//!   partial data; `FAILED` without data, `CANCELED` and `EXPIRED` are errors.
//! - **Download** ([`ShopifyClient::bulk_download`]). Streamed with reqwest in constant
//!   memory into the [`super::jsonl`] decoder: a flat stream of [`JsonlRecord`]s, each
//!   carrying its `__parentId`. A broken connection resumes with an HTTP `Range` request
//!   from the last byte received. The access token is **never** sent to result or upload
//!   URLs: they are other hosts (signed Google Cloud Storage URLs), reached through a
//!   separate HTTP client that has no token to send. Plain `http` is refused except on
//!   loopback (the simulator).
//! - **Mutations** ([`ShopifyClient::bulk_mutation`]): the variables are staged
//!   (`stagedUploadsCreate`, resource `BULK_MUTATION_VARIABLES`), uploaded as the POST
//!   form the target describes, run, waited for, and each result line matched to its
//!   input by `__lineNumber`, with its `userErrors` ([`BulkMutationResult`]).
//!
//! # Nested objects: `groupObjects: true`, not a disk spill
//!
//! Bulk output is flat: a product's variants are separate lines pointing at it. From
//! API version 2026-01 Shopify's default (`groupObjects: false`) no longer keeps a
//! parent's children next to it, so assembling products from the flat stream would
//! need the whole file in memory, or a spill to disk and a second pass. The library
//! does neither: [`ShopifyClient::bulk_query`] streams flat records (`groupObjects:
//! false` unless asked otherwise, the fast default, fine for consumers that upsert
//! rows keyed by parent id), and where it assembles nested objects
//! ([`group_objects`], [`ShopifyClient::bulk_products`]) it asks for
//! `groupObjects: true` **explicitly** (the argument exists, required, in every
//! supported version). Grouped output keeps each root's descendants right after it, so
//! assembly holds one product at a time: constant memory, no temporary files, one pass.
//! The price is Shopify's: grouping makes the operation slower server-side and, by
//! Shopify's account, likelier to time out; a timeout is salvaged as partial data like
//! any failure. [`group_objects`] checks the grouping instead of trusting it, and fails
//! with a clear error on a file that is not grouped.
//!
//! ```no_run
//! # async fn demo(client: shopify_sync::client::ShopifyClient) -> shopify_sync::error::Result<()> {
//! use futures::TryStreamExt;
//! use shopify_sync::client::bulk::BulkOptions;
//! let options = BulkOptions::default().on_progress(|p| println!("{} objects", p.object_count()));
//! let result = client
//!     .bulk_query("{ products { edges { node { id title } } } }", &options)
//!     .await?;
//! if result.is_partial() {
//!     eprintln!("the export failed midway ({:?}); using its partial data", result.error_code());
//! }
//! let mut records = client.bulk_download(&result)?;
//! while let Some(record) = records.try_next().await? {
//!     println!("{:?} {:?}", record.id(), record.parent_id());
//! }
//! # Ok(()) }
//! ```
use super::jsonl::{JsonlRecord, JsonlStream};
use super::pagination::decode;
use super::{RequestOptions, ShopifyClient};
use crate::error::{Error, ErrorKind, GraphqlError, Result, UserError};
use crate::model::{Product, ProductVariant};
use crate::schema::{admin_schema, SchemaVersion};
use crate::webhook::BulkOperationPayload;
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OPERATION_FIELDS: &str = "fragment BulkOperationFields on BulkOperation {
  id status type errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query
}";

const RUN_QUERY: &str = "mutation BulkOperationRunQuery($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { ...BulkOperationFields }
    userErrors { field message code }
  }
}";

const OPERATION: &str = "query BulkOperation($id: ID!) {
  node(id: $id) { ... on BulkOperation { ...BulkOperationFields } }
}";

const CANCEL: &str = "mutation BulkOperationCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { ...BulkOperationFields }
    userErrors { field message }
  }
}";

const STAGED_UPLOAD: &str = "mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}";

const RUN_MUTATION: &str =
    "mutation BulkOperationRunMutation($mutation: String!, $stagedUploadPath: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $stagedUploadPath) {
    bulkOperation { ...BulkOperationFields }
    userErrors { field message code }
  }
}";

/// The product and variant fields a bulk product export reads (the fields of
/// [`super::products`]' listing).
const PRODUCT_SELECTION: &str = "edges { node {
    id title handle descriptionHtml vendor productType status tags templateSuffix createdAt updatedAt
    seo { title description }
    options { id name position values }
    variants { edges { node {
      id title sku barcode price compareAtPrice inventoryPolicy inventoryQuantity taxable position
      selectedOptions { name value }
      createdAt updatedAt
    } } }
  } }";

fn with_fields(operation: &str) -> String {
    format!("{operation}\n{OPERATION_FIELDS}")
}

/// The bulk query [`ShopifyClient::bulk_products`] runs for a Shopify search string.
pub fn products_query(search: Option<&str>) -> String {
    match search.filter(|s| !s.trim().is_empty()) {
        // A JSON string literal is a valid GraphQL string literal.
        Some(s) => format!(
            "{{ products(query: {}) {{ {PRODUCT_SELECTION} }} }}",
            Value::from(s)
        ),
        None => format!("{{ products {{ {PRODUCT_SELECTION} }} }}"),
    }
}

/// The documents this module sends, for validation tests (the bulk product query is a
/// document too: Shopify validates it when the operation is created).
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("bulk_run_query", with_fields(RUN_QUERY)),
        ("bulk_operation", with_fields(OPERATION)),
        ("bulk_cancel", with_fields(CANCEL)),
        ("bulk_staged_uploads_create", STAGED_UPLOAD.to_string()),
        ("bulk_run_mutation", with_fields(RUN_MUTATION)),
        ("bulk_products_query", products_query(None)),
        (
            "bulk_products_query_filtered",
            products_query(Some("status:active AND title:\"a \\\"b\\\" / c\"")),
        ),
    ]
}

// ----- the BulkOperation object ---------------------------------------------------------

/// A bulk operation's global id, `gid://shopify/BulkOperation/123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BulkOperationId(String);

impl BulkOperationId {
    /// Check and wrap an id.
    pub fn parse(id: &str) -> Result<BulkOperationId> {
        let n = id
            .strip_prefix("gid://shopify/BulkOperation/")
            .unwrap_or("");
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_input(format!(
                "not a bulk operation id: {id:?} (expected gid://shopify/BulkOperation/<number>)"
            )));
        }
        Ok(BulkOperationId(id.to_string()))
    }

    /// The id as Shopify spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BulkOperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BulkOperationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BulkOperationId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum BulkOperationStatus {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Finished; the result is at `url`.
    Completed,
    /// Failed; see `errorCode`, and `partialDataUrl` for what was written.
    Failed,
    /// Cancelation requested.
    Canceling,
    /// Canceled.
    Canceled,
    /// The result's URL expired (seven days after the operation finished).
    Expired,
    /// A status this library does not know (a newer API version's).
    #[serde(other)]
    Unknown,
}

impl BulkOperationStatus {
    /// Whether the operation will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BulkOperationStatus::Completed
                | BulkOperationStatus::Failed
                | BulkOperationStatus::Canceled
                | BulkOperationStatus::Expired
        )
    }
}

/// `BulkOperationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum BulkOperationType {
    /// `bulkOperationRunQuery`.
    Query,
    /// `bulkOperationRunMutation`.
    Mutation,
    /// Not selected, or unknown.
    #[default]
    #[serde(other)]
    Unknown,
}

/// `UnsignedInt64`, which Shopify writes as a string, read from a string or a number.
fn unsigned<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not an unsigned 64-bit integer")),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an UnsignedInt64, got {other}"
        ))),
    }
}

fn unsigned_or_zero<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    unsigned(d).map(Option::unwrap_or_default)
}

/// A bulk operation as Shopify reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkOperation {
    /// Its id.
    pub id: BulkOperationId,
    /// Its status.
    pub status: BulkOperationStatus,
    /// Query or mutation.
    #[serde(rename = "type", default)]
    pub operation_type: BulkOperationType,
    /// Why it failed (`ACCESS_DENIED`, `INTERNAL_SERVER_ERROR`, `TIMEOUT`).
    #[serde(default)]
    pub error_code: Option<String>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Objects processed so far (all levels).
    #[serde(default, deserialize_with = "unsigned_or_zero")]
    pub object_count: u64,
    /// Root objects processed so far.
    #[serde(default, deserialize_with = "unsigned_or_zero")]
    pub root_object_count: u64,
    /// Size of the result file, in bytes.
    #[serde(default, deserialize_with = "unsigned")]
    pub file_size: Option<u64>,
    /// The result, once completed (none when there was nothing to write).
    #[serde(default)]
    pub url: Option<String>,
    /// What a failed operation wrote before failing.
    #[serde(default)]
    pub partial_data_url: Option<String>,
    /// The bulk query, or the bulk mutation's mutation.
    #[serde(default)]
    pub query: Option<String>,
}

impl BulkOperation {
    /// Read a `BulkOperation` object from JSON (a response's `bulkOperation` or
    /// `node`); the error names the JSON path that failed.
    pub fn from_json(value: Value) -> Result<BulkOperation> {
        decode(value, "bulkOperation")
    }
}

// ----- options, progress, the finish signal ---------------------------------------------

/// Progress of a bulk operation, as reported by each poll.
#[derive(Debug, Clone)]
pub struct BulkProgress {
    id: BulkOperationId,
    status: BulkOperationStatus,
    object_count: u64,
    root_object_count: u64,
    elapsed: Duration,
}

impl BulkProgress {
    /// The operation.
    pub fn id(&self) -> &BulkOperationId {
        &self.id
    }
    /// Its status at this poll.
    pub fn status(&self) -> BulkOperationStatus {
        self.status
    }
    /// Objects processed so far (`objectCount`: products and variants alike).
    pub fn object_count(&self) -> u64 {
        self.object_count
    }
    /// Root objects processed so far (`rootObjectCount`).
    pub fn root_object_count(&self) -> u64 {
        self.root_object_count
    }
    /// Time since the wait began.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// A progress callback.
pub type ProgressCallback = Arc<dyn Fn(&BulkProgress) + Send + Sync>;

/// The external "finished" signal: the app's `bulk_operations/finish` webhook handler
/// calls [`BulkFinishSignal::notify`], and every wait sharing the signal polls at
/// once instead of at its next interval. Cheap to clone; clones are the same signal.
///
/// ```
/// use shopify_sync::client::bulk::{BulkFinishSignal, BulkOptions};
/// let signal = BulkFinishSignal::new();
/// let options = BulkOptions::default().finished_signal(signal.clone());
/// // In the webhook handler, after verifying the delivery:
/// signal.notify();
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct BulkFinishSignal {
    tx: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for BulkFinishSignal {
    fn default() -> Self {
        BulkFinishSignal::new()
    }
}

impl BulkFinishSignal {
    /// A new signal.
    pub fn new() -> BulkFinishSignal {
        BulkFinishSignal {
            tx: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// Some bulk operation finished: wake every wait on this signal.
    pub fn notify(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A `bulk_operations/finish` webhook arrived: wake the waits (each polls its own
    /// operation, so a payload for another operation costs one poll).
    pub fn notify_finished(&self, _payload: &BulkOperationPayload) {
        self.notify();
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// How bulk operations are run and waited for. Every option has a documented default.
#[derive(Clone)]
pub struct BulkOptions {
    poll_first: Duration,
    poll_max: Duration,
    timeout: Option<Duration>,
    cancel_on_timeout: bool,
    cancel_on_drop: bool,
    slot_timeout: Duration,
    group_objects: bool,
    resumes: u32,
    finished: Option<BulkFinishSignal>,
    progress: Option<ProgressCallback>,
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("poll_first", &self.poll_first)
            .field("poll_max", &self.poll_max)
            .field("timeout", &self.timeout)
            .field("cancel_on_timeout", &self.cancel_on_timeout)
            .field("cancel_on_drop", &self.cancel_on_drop)
            .field("slot_timeout", &self.slot_timeout)
            .field("group_objects", &self.group_objects)
            .field("resumes", &self.resumes)
            .field("finished", &self.finished.is_some())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            poll_first: Duration::from_millis(500),
            poll_max: Duration::from_secs(5),
            timeout: None,
            cancel_on_timeout: true,
            cancel_on_drop: true,
            slot_timeout: Duration::from_secs(30 * 60),
            group_objects: false,
            resumes: 5,
            finished: None,
            progress: None,
        }
    }
}

impl BulkOptions {
    /// Poll first after `first` (default 0.5 s), then back off by half each time up to
    /// `max` (default 5 s: a poll costs one point of the 100 restored per second, and
    /// the wait overshoots the end by at most `max`). With a [`BulkFinishSignal`],
    /// `max` can be long: the signal does the waking.
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.poll_first = first;
        self.poll_max = max.max(first);
        self
    }

    /// Give up waiting after `timeout` (default: never; Shopify itself stops a bulk query
    /// after ten days), with an error of kind [`ErrorKind::Timeout`]. The operation is
    /// canceled then, unless [`BulkOptions::cancel_on_timeout`] says not to.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether a wait that times out cancels the operation (default `true`).
    pub fn cancel_on_timeout(mut self, cancel: bool) -> Self {
        self.cancel_on_timeout = cancel;
        self
    }

    /// Whether a wait that is dropped before the operation ends (a cancelled task, an
    /// aborted call in a binding) cancels the operation at Shopify, in the background
    /// (default `true`): an abandoned bulk query would otherwise hold one of the shop's
    /// bulk slots until it finishes, and an abandoned mutation run on unseen.
    pub fn cancel_on_drop(mut self, cancel: bool) -> Self {
        self.cancel_on_drop = cancel;
        self
    }

    /// How long to wait for a free slot when the concurrency limit is reached (default
    /// 30 minutes), before failing with [`ErrorKind::Throttled`].
    pub fn slot_timeout(mut self, timeout: Duration) -> Self {
        self.slot_timeout = timeout;
        self
    }

    /// `groupObjects` for bulk queries (default `false`: faster, children not adjacent
    /// to their parent). See the module documentation.
    pub fn group_objects(mut self, group: bool) -> Self {
        self.group_objects = group;
        self
    }

    /// How many times a broken download resumes (HTTP `Range`) before failing (default 5).
    pub fn download_resumes(mut self, n: u32) -> Self {
        self.resumes = n;
        self
    }

    /// Wake waits when the app receives a `bulk_operations/finish` webhook.
    pub fn finished_signal(mut self, signal: BulkFinishSignal) -> Self {
        self.finished = Some(signal);
        self
    }

    /// Report progress at every poll.
    pub fn on_progress(mut self, f: impl Fn(&BulkProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn next_interval(&self, current: Duration) -> Duration {
        current.mul_f64(1.5).min(self.poll_max)
    }
}

// ----- results --------------------------------------------------------------------------

/// A finished bulk query: complete, or salvaged from a failure.
#[derive(Debug, Clone)]
pub struct BulkQueryResult {
    operation: BulkOperation,
    partial: bool,
}

impl BulkQueryResult {
    /// Judge a finished operation: `COMPLETED` is complete; `FAILED` with partial data is
    /// partial; anything else is an error saying why.
    pub fn from_operation(operation: BulkOperation) -> Result<BulkQueryResult> {
        let id = operation.id.clone();
        match operation.status {
            BulkOperationStatus::Completed => Ok(BulkQueryResult {
                operation,
                partial: false,
            }),
            BulkOperationStatus::Failed if operation.partial_data_url.is_some() => {
                tracing::warn!(
                    operation = %id,
                    error_code = operation.error_code.as_deref().unwrap_or("none"),
                    objects = operation.object_count,
                    "bulk operation failed; salvaging its partial data"
                );
                Ok(BulkQueryResult {
                    operation,
                    partial: true,
                })
            }
            BulkOperationStatus::Failed => {
                let code = operation.error_code.as_deref().unwrap_or("unknown");
                let kind = match code {
                    "ACCESS_DENIED" => ErrorKind::Auth,
                    _ => ErrorKind::Server,
                };
                Err(Error::new(
                    kind,
                    format!("bulk operation {id} failed ({code}) with no partial data"),
                ))
            }
            BulkOperationStatus::Canceled => Err(Error::new(
                ErrorKind::Cancelled,
                format!("bulk operation {id} was canceled"),
            )),
            BulkOperationStatus::Expired => Err(Error::new(
                ErrorKind::NotFound,
                format!("bulk operation {id} expired: its result is no longer available (seven days after it finished); run it again"),
            )),
            other => Err(Error::invalid_input(format!(
                "bulk operation {id} has not finished (status {other:?})"
            ))),
        }
    }

    /// The operation as it finished.
    pub fn operation(&self) -> &BulkOperation {
        &self.operation
    }

    /// Whether the operation failed and this is the partial data it wrote.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Why the operation failed, for a partial result.
    pub fn error_code(&self) -> Option<&str> {
        self.operation.error_code.as_deref()
    }

    /// Where the data is: `url`, or `partialDataUrl` for a partial result; `None` when
    /// there is nothing to download.
    pub fn data_url(&self) -> Option<&str> {
        if self.partial {
            self.operation.partial_data_url.as_deref()
        } else {
            self.operation.url.as_deref()
        }
    }
}

/// The result of one input line of a bulk mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkMutationLine {
    line_number: u64,
    data: Value,
    errors: Vec<GraphqlError>,
    user_errors: Vec<UserError>,
}

impl BulkMutationLine {
    /// Read a result line: `{"data": ..., "__lineNumber": n}`, or `errors`.
    pub fn from_record(record: &JsonlRecord) -> Result<BulkMutationLine> {
        let line_number = record.line_number().ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                format!(
                    "bulk mutation result line {} has no __lineNumber",
                    record.line()
                ),
            )
        })?;
        let value = record.value()?;
        let data = value.get("data").cloned().unwrap_or(Value::Null);
        let errors = value
            .get("errors")
            .and_then(Value::as_array)
            .map(|es| es.iter().map(GraphqlError::from_response).collect())
            .unwrap_or_default();
        // The payload's userErrors, under the one top-level field.
        let user_errors = data
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(|p| p.get("userErrors"))
            .and_then(Value::as_array)
            .map(|es| {
                es.iter()
                    .filter_map(|e| serde_json::from_value::<UserError>(e.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(BulkMutationLine {
            line_number,
            data,
            errors,
            user_errors,
        })
    }

    /// The 0-based input line this answers (`__lineNumber`): the index of the input
    /// variables given to [`ShopifyClient::bulk_mutation`].
    pub fn line_number(&self) -> u64 {
        self.line_number
    }

    /// `data`: the mutation's payload.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// GraphQL errors of the line (e.g. variables that do not coerce).
    pub fn errors(&self) -> &[GraphqlError] {
        &self.errors
    }

    /// The payload's `userErrors`.
    pub fn user_errors(&self) -> &[UserError] {
        &self.user_errors
    }

    /// Whether the line ran without errors or user errors.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty() && self.user_errors.is_empty() && !self.data.is_null()
    }
}

/// A finished bulk mutation, its results matched to the input lines.
#[derive(Debug, Clone)]
pub struct BulkMutationResult {
    operation: BulkOperation,
    partial: bool,
    lines: Vec<BulkMutationLine>,
    missing: Vec<u64>,
}

impl BulkMutationResult {
    /// The operation as it finished.
    pub fn operation(&self) -> &BulkOperation {
        &self.operation
    }

    /// Whether the operation failed midway (the lines without a result did not run, or
    /// ran without their result being written: read the remote state for them).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Every result, by input line.
    pub fn lines(&self) -> &[BulkMutationLine] {
        &self.lines
    }

    /// The result of input line `n` (0-based).
    pub fn line(&self, n: u64) -> Option<&BulkMutationLine> {
        self.lines
            .binary_search_by_key(&n, |l| l.line_number)
            .ok()
            .map(|i| &self.lines[i])
    }

    /// Lines that ran with errors or user errors.
    pub fn failed(&self) -> impl Iterator<Item = &BulkMutationLine> {
        self.lines.iter().filter(|l| !l.is_ok())
    }

    /// Input lines with no result.
    pub fn missing(&self) -> &[u64] {
        &self.missing
    }
}

// ----- assembling nested objects --------------------------------------------------------

/// A root object with its descendants (children, grandchildren), in file order.
#[derive(Debug, Clone)]
pub struct BulkObject {
    /// The root record.
    pub root: JsonlRecord,
    /// Every record under it.
    pub descendants: Vec<JsonlRecord>,
}

impl BulkObject {
    /// The direct children of `parent_id` among the descendants.
    pub fn children_of<'a>(&'a self, parent_id: &'a str) -> impl Iterator<Item = &'a JsonlRecord> {
        self.descendants
            .iter()
            .filter(move |r| r.parent_id() == Some(parent_id))
    }
}

struct Grouping<S> {
    records: S,
    current: Option<BulkObject>,
    ids: HashSet<String>,
}

/// Assemble a **grouped** flat stream (`groupObjects: true`) into root objects with
/// their descendants, holding one root's subtree at a time. A record whose parent is
/// not in the current group (output that is not grouped) is an error of kind
/// [`ErrorKind::Decode`] saying so.
pub fn group_objects<S>(records: S) -> impl Stream<Item = Result<BulkObject>> + Send
where
    S: Stream<Item = Result<JsonlRecord>> + Unpin + Send,
{
    let state = Grouping {
        records,
        current: None,
        ids: HashSet::new(),
    };
    stream::try_unfold(state, |mut s| async move {
        loop {
            match s.records.try_next().await? {
                None => return Ok(s.current.take().map(|o| (o, s))),
                Some(r) => match r.parent_id() {
                    None => {
                        s.ids.clear();
                        if let Some(id) = r.id() {
                            s.ids.insert(id.to_string());
                        }
                        let next = BulkObject {
                            root: r,
                            descendants: vec![],
                        };
                        if let Some(done) = s.current.replace(next) {
                            return Ok(Some((done, s)));
                        }
                    }
                    Some(parent) => {
                        let Some(current) = s.current.as_mut().filter(|_| s.ids.contains(parent))
                        else {
                            return Err(Error::new(
                                ErrorKind::Decode,
                                format!(
                                    "JSONL line {} belongs to {parent}, which is not the object being assembled: the output is not grouped (run the bulk query with groupObjects: true)",
                                    r.line()
                                ),
                            )
                            .with_json_path(format!("line {}", r.line())));
                        };
                        if let Some(id) = r.id() {
                            s.ids.insert(id.to_string());
                        }
                        current.descendants.push(r);
                    }
                },
            }
        }
    })
}

/// A product with its variants from a grouped export.
pub fn product_from_object(object: &BulkObject) -> Result<Product> {
    let mut product: Product = object.root.decode()?;
    let id = object.root.id().unwrap_or_default();
    for r in object.children_of(id) {
        if r.is::<ProductVariant>() {
            product.variants.push(r.decode()?);
        }
    }
    Ok(product)
}

// ----- storage transfers (no token, ever) ----------------------------------------------

/// A URL the storage client may fetch: https, or http on loopback only.
fn storage_url(url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("bad storage URL from Shopify: {e}"),
        )
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        s => Err(Error::invalid_input(format!(
            "refusing a {s} storage URL from a non-loopback host: only https is accepted"
        ))),
    }
}

/// The HTTP client for storage URLs. It is not the Admin API transport and holds no
/// token, so nothing can send one to another host.
fn storage_client(client: &ShopifyClient) -> Result<reqwest::Client> {
    let c = client.config();
    reqwest::Client::builder()
        .connect_timeout(c.connect_timeout)
        .read_timeout(c.request_timeout)
        .user_agent(c.user_agent.clone())
        .gzip(true)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot build the HTTP client: {e}"),
            )
            .with_source(e)
        })
}

fn transfer_error(what: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    // The URL is signed: keep it out of messages.
    let e = e.without_url();
    Error::new(kind, format!("{what} failed: {e}")).with_source(e)
}

fn status_error(what: &str, status: u16, body: &str) -> Error {
    let kind = match status {
        404 | 410 => ErrorKind::NotFound,
        400 if body.contains("ExpiredToken") => ErrorKind::NotFound,
        401 | 403 => ErrorKind::Auth,
        429 => ErrorKind::Throttled,
        s if s >= 500 => ErrorKind::Server,
        _ => ErrorKind::Transport,
    };
    let snippet: String = body.chars().take(300).collect();
    Error::new(kind, format!("{what} answered HTTP {status}: {snippet}"))
}

struct Download {
    http: reqwest::Client,
    url: reqwest::Url,
    response: Option<reqwest::Response>,
    offset: u64,
    /// Bytes to drop from the response (a server that ignored the range answered
    /// from the start).
    skip: u64,
    resumes_left: u32,
    failures: u32,
    done: bool,
}

impl Download {
    /// Open (or reopen from `offset`) the response.
    async fn open(&mut self) -> Result<()> {
        let mut req = self.http.get(self.url.clone());
        if self.offset > 0 {
            req = req.header("range", format!("bytes={}-", self.offset));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transfer_error("the bulk result download", e))?;
        let status = resp.status().as_u16();
        match status {
            206 => {}
            200 if self.offset == 0 => {}
            // The server ignored the range: it sends everything again; drop what was
            // already delivered.
            200 => self.skip = self.offset,
            // The break came after the last byte: nothing is missing.
            416 if self.offset > 0 => {
                self.done = true;
                return Ok(());
            }
            _ => {
                let body = resp.text().await.unwrap_or_default();
                return Err(status_error("the bulk result download", status, &body));
            }
        }
        self.response = Some(resp);
        Ok(())
    }

    async fn chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(resp) = self.response.as_mut() else {
            return Ok(None);
        };
        resp.chunk()
            .await
            .map(|c| c.map(|b| b.to_vec()))
            .map_err(|e| transfer_error("the bulk result download", e))
    }

    /// The next bytes, resuming after a broken connection.
    async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.response.is_none() {
                if let Err(e) = self.open().await {
                    let retry = e.is_retryable() && self.resumes_left > 0;
                    if !retry {
                        self.done = true;
                        return Err(e.persistent());
                    }
                    self.resumes_left -= 1;
                    self.failures += 1;
                    tokio::time::sleep(Duration::from_millis(200 << self.failures.min(5))).await;
                    continue;
                }
            }
            match self.chunk().await {
                Ok(Some(mut c)) => {
                    if self.skip > 0 {
                        let n = (c.len() as u64).min(self.skip);
                        self.skip -= n;
                        c.drain(..n as usize);
                        if c.is_empty() {
                            continue;
                        }
                    }
                    self.offset += c.len() as u64;
                    return Ok(Some(c));
                }
                Ok(None) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) if self.resumes_left > 0 => {
                    tracing::debug!(offset = self.offset, error = %e, "bulk download broke; resuming");
                    self.resumes_left -= 1;
                    self.failures += 1;
                    self.response = None;
                }
                Err(e) => {
                    self.done = true;
                    return Err(e.persistent());
                }
            }
        }
    }
}

/// A multipart form body: the parameters in order, then the file (RFC 7578).
fn multipart(params: &[(String, String)], filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let mut n: u64 = data.len() as u64;
    let boundary = loop {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = format!("shopify-sync-{n:016x}");
        let needle = b.as_bytes();
        if !data.windows(needle.len()).any(|w| w == needle)
            && !params.iter().any(|(k, v)| k.contains(&b) || v.contains(&b))
        {
            break b;
        }
    };
    let mut body = Vec::with_capacity(data.len() + 2048);
    for (k, v) in params {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/jsonl\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

// ----- the client -----------------------------------------------------------------------

/// The operation a busy message names (`... already in progress:
/// gid://shopify/BulkOperation/123.`).
fn busy_operation(message: &str) -> Option<BulkOperationId> {
    const PREFIX: &str = "gid://shopify/BulkOperation/";
    let at = message.find(PREFIX)?;
    let digits: String = message[at + PREFIX.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    BulkOperationId::parse(&format!("{PREFIX}{digits}")).ok()
}

/// Whether a user error means "no free slot: wait and retry".
fn is_busy(e: &UserError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("OPERATION_IN_PROGRESS") | Some("LIMIT_REACHED")
    )
}

pub(crate) fn user_errors_error(field: &str, errors: Vec<UserError>) -> Error {
    let summary: Vec<String> = errors
        .iter()
        .map(|e| match &e.field {
            Some(f) => format!("{}: {}", f.join("."), e.message),
            None => e.message.clone(),
        })
        .collect();
    Error::new(
        ErrorKind::UserErrors,
        format!("{field} was refused: {}", summary.join("; ")),
    )
    .with_user_errors(errors)
}

/// Cancels a bulk operation whose wait was dropped midway (see
/// [`BulkOptions::cancel_on_drop`]): armed while `client` is set.
struct CancelOnDrop {
    client: Option<ShopifyClient>,
    id: BulkOperationId,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(operation = %self.id, "a bulk wait was dropped outside a runtime: the operation is not canceled");
            return;
        };
        let id = self.id.clone();
        runtime.spawn(async move {
            match client.bulk_cancel(&id).await {
                Ok(_) => tracing::info!(operation = %id, "canceled the bulk operation whose wait was dropped"),
                Err(e) => tracing::debug!(operation = %id, error = %e, "could not cancel the abandoned bulk operation (it may have finished)"),
            }
        });
    }
}

impl ShopifyClient {
    /// Sleep `d`, or less if the finish signal fires.
    async fn bulk_pause(d: Duration, rx: &mut Option<tokio::sync::watch::Receiver<u64>>) {
        match rx {
            Some(r) => {
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    changed = r.changed() => {
                        if changed.is_err() {
                            *rx = None;
                        }
                    }
                }
            }
            None => tokio::time::sleep(d).await,
        }
    }

    /// Send a run mutation, waiting for a free slot while the limit is reached.
    ///
    /// With `adopt` (a flat bulk query), an operation the busy message names that runs
    /// the very same query is adopted instead of waited for: it is this call's own
    /// operation when a lost response was retried, or an identical export, whose flat
    /// output serves just as well.
    async fn bulk_run(
        &self,
        document: &str,
        variables: Value,
        field: &str,
        adopt: Option<&str>,
        options: &BulkOptions,
    ) -> Result<BulkOperation> {
        let idempotent = field == "bulkOperationRunQuery";
        let started = Instant::now();
        let mut interval = options.poll_first;
        let mut rx = options.finished.as_ref().map(BulkFinishSignal::subscribe);
        loop {
            let resp = self
                .graphql_with(document, variables.clone(), RequestOptions { idempotent })
                .await?;
            let payload = resp.data.get(field).cloned().unwrap_or(Value::Null);
            if payload.is_null() {
                return Err(Error::new(
                    ErrorKind::Decode,
                    format!("the response has no {field} payload"),
                )
                .with_graphql_errors(resp.errors));
            }
            let errors: Vec<UserError> = decode(
                payload.get("userErrors").cloned().unwrap_or(json!([])),
                &format!("data.{field}.userErrors"),
            )?;
            if errors.is_empty() {
                return BulkOperation::from_json(
                    payload.get("bulkOperation").cloned().unwrap_or(Value::Null),
                );
            }
            if !errors.iter().all(is_busy) {
                return Err(user_errors_error(field, errors));
            }
            if let Some(query) = adopt {
                for id in errors.iter().filter_map(|e| busy_operation(&e.message)) {
                    if let Some(op) = self.bulk_operation(&id).await? {
                        if !op.status.is_terminal() && op.query.as_deref() == Some(query) {
                            tracing::debug!(operation = %op.id, "adopting the running bulk operation of the same query");
                            return Ok(op);
                        }
                    }
                }
            }
            if started.elapsed() + interval > options.slot_timeout {
                return Err(Error::new(
                    ErrorKind::Throttled,
                    format!(
                        "no free bulk operation slot after waiting {:.0?}: {}",
                        started.elapsed(),
                        errors[0].message
                    ),
                )
                .with_user_errors(errors));
            }
            tracing::debug!(message = %errors[0].message, wait_ms = interval.as_millis() as u64, "bulk operation limit reached; waiting for a slot");
            Self::bulk_pause(interval, &mut rx).await;
            interval = options.next_interval(interval);
        }
    }

    /// Start a bulk query (`bulkOperationRunQuery` with `groupObjects` as
    /// [`BulkOptions::group_objects`] says), waiting for a free slot if needed.
    ///
    /// The run is a read, so an unknown outcome is retried like a query's. Without
    /// grouping, a running operation of the same query that the limit's message names
    /// is adopted rather than waited for (so a retried run whose first response was lost
    /// finds its own operation).
    pub async fn bulk_query_start(
        &self,
        query: &str,
        options: &BulkOptions,
    ) -> Result<BulkOperation> {
        self.bulk_run(
            &with_fields(RUN_QUERY),
            json!({"query": query, "groupObjects": options.group_objects}),
            "bulkOperationRunQuery",
            (!options.group_objects).then_some(query),
            options,
        )
        .await
    }

    /// The operation `id`, now (`node(id:)`); `None` if Shopify does not know it.
    pub async fn bulk_operation(&self, id: &BulkOperationId) -> Result<Option<BulkOperation>> {
        let resp = self
            .graphql(&with_fields(OPERATION), json!({"id": id.as_str()}))
            .await?;
        match resp.data.get("node").cloned().unwrap_or(Value::Null) {
            Value::Null => Ok(None),
            node => decode(node, "data.node").map(Some),
        }
    }

    /// Ask Shopify to cancel `id`; the operation turns `CANCELING`, then `CANCELED`.
    pub async fn bulk_cancel(&self, id: &BulkOperationId) -> Result<BulkOperation> {
        let resp = self
            .graphql_with(
                &with_fields(CANCEL),
                json!({"id": id.as_str()}),
                RequestOptions { idempotent: true },
            )
            .await?;
        let payload = resp
            .data
            .get("bulkOperationCancel")
            .cloned()
            .unwrap_or(Value::Null);
        let errors: Vec<UserError> = decode(
            payload.get("userErrors").cloned().unwrap_or(json!([])),
            "data.bulkOperationCancel.userErrors",
        )?;
        if !errors.is_empty() {
            return Err(user_errors_error("bulkOperationCancel", errors));
        }
        BulkOperation::from_json(payload.get("bulkOperation").cloned().unwrap_or(Value::Null))
    }

    /// Wait until `id` finishes (any final status), polling with backoff, waking on the
    /// finish signal, reporting progress. See [`BulkOptions`].
    pub async fn bulk_wait(
        &self,
        id: &BulkOperationId,
        options: &BulkOptions,
    ) -> Result<BulkOperation> {
        let started = Instant::now();
        let mut interval = options.poll_first;
        let mut rx = options.finished.as_ref().map(BulkFinishSignal::subscribe);
        // Disarmed on every return: only a wait dropped midway cancels.
        let mut abandoned = CancelOnDrop {
            client: options.cancel_on_drop.then(|| self.clone()),
            id: id.clone(),
        };
        let out = self
            .bulk_wait_inner(id, options, started, &mut interval, &mut rx)
            .await;
        abandoned.client = None;
        out
    }

    async fn bulk_wait_inner(
        &self,
        id: &BulkOperationId,
        options: &BulkOptions,
        started: Instant,
        interval: &mut Duration,
        rx: &mut Option<tokio::sync::watch::Receiver<u64>>,
    ) -> Result<BulkOperation> {
        loop {
            let op = self.bulk_operation(id).await?.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("bulk operation {id} does not exist"),
                )
            })?;
            if let Some(report) = &options.progress {
                report(&BulkProgress {
                    id: op.id.clone(),
                    status: op.status,
                    object_count: op.object_count,
                    root_object_count: op.root_object_count,
                    elapsed: started.elapsed(),
                });
            }
            if op.status.is_terminal() {
                return Ok(op);
            }
            let mut pause = *interval;
            if let Some(limit) = options.timeout {
                let spent = started.elapsed();
                if spent >= limit {
                    if options.cancel_on_timeout {
                        if let Err(e) = self.bulk_cancel(id).await {
                            tracing::warn!(operation = %id, error = %e, "could not cancel the timed-out bulk operation");
                        }
                    }
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "bulk operation {id} did not finish within {limit:.0?} ({} objects so far){}",
                            op.object_count,
                            if options.cancel_on_timeout { "; it was canceled" } else { "" }
                        ),
                    ));
                }
                pause = pause.min(limit - spent);
            }
            Self::bulk_pause(pause, rx).await;
            *interval = options.next_interval(*interval);
        }
    }

    /// Run a bulk query to the end: start (waiting for a slot), wait, and judge the
    /// outcome ([`BulkQueryResult::from_operation`]): a failure with partial data is a
    /// partial result, not an error. Read the records with
    /// [`ShopifyClient::bulk_download`].
    pub async fn bulk_query(&self, query: &str, options: &BulkOptions) -> Result<BulkQueryResult> {
        let op = self.bulk_query_start(query, options).await?;
        let op = self.bulk_wait(&op.id, options).await?;
        BulkQueryResult::from_operation(op)
    }

    /// The records of a finished bulk query, streamed (see [`super::jsonl`]); a broken
    /// connection resumes up to five times ([`ShopifyClient::bulk_download_url`] sets
    /// another number).
    pub fn bulk_download(&self, result: &BulkQueryResult) -> Result<JsonlStream> {
        match result.data_url() {
            None => Ok(JsonlStream::empty()),
            Some(url) => self.bulk_download_url(url, 5),
        }
    }

    /// Stream the JSONL at a storage `url` (a `url` or `partialDataUrl`), without the
    /// access token, resuming a broken connection up to `resumes` times.
    pub fn bulk_download_url(&self, url: &str, resumes: u32) -> Result<JsonlStream> {
        let download = Download {
            http: storage_client(self)?,
            url: storage_url(url)?,
            response: None,
            offset: 0,
            skip: 0,
            resumes_left: resumes,
            failures: 0,
            done: false,
        };
        let bytes = stream::try_unfold(download, |mut d| async move {
            Ok(d.next().await?.map(|c| (c, d)))
        });
        Ok(JsonlStream::new(bytes))
    }

    /// Every product matching `search` (Shopify's search syntax; all with `None`), with
    /// all its variants, by bulk query: one operation, asked with `groupObjects: true`
    /// so that each product is assembled as soon as its lines are read (see the module
    /// documentation). Returns the outcome (check [`BulkQueryResult::is_partial`]) and
    /// the products.
    pub async fn bulk_products(
        &self,
        search: Option<&str>,
        options: &BulkOptions,
    ) -> Result<(
        BulkQueryResult,
        impl Stream<Item = Result<Product>> + Send + 'static,
    )> {
        let options = options.clone().group_objects(true);
        let result = self.bulk_query(&products_query(search), &options).await?;
        let records = match result.data_url() {
            None => JsonlStream::empty(),
            Some(url) => self.bulk_download_url(url, options.resumes)?,
        };
        let products =
            group_objects(records).and_then(|o| futures::future::ready(product_from_object(&o)));
        Ok((result, products))
    }

    /// Stage a JSONL file of bulk mutation variables: `stagedUploadsCreate`
    /// (`BULK_MUTATION_VARIABLES`, POST), then the form upload to the target, without
    /// the access token. Returns the `stagedUploadPath` (the target's `key`).
    pub async fn bulk_stage_upload(&self, jsonl: &[u8], filename: &str) -> Result<String> {
        let input = json!([{
            "resource": "BULK_MUTATION_VARIABLES",
            "filename": filename,
            "mimeType": "text/jsonl",
            "httpMethod": "POST",
        }]);
        let resp = self
            .graphql_with(
                STAGED_UPLOAD,
                json!({ "input": input }),
                RequestOptions { idempotent: true },
            )
            .await?;
        let payload = resp
            .data
            .get("stagedUploadsCreate")
            .cloned()
            .unwrap_or(Value::Null);
        let errors: Vec<UserError> = decode(
            payload.get("userErrors").cloned().unwrap_or(json!([])),
            "data.stagedUploadsCreate.userErrors",
        )?;
        if !errors.is_empty() {
            return Err(user_errors_error("stagedUploadsCreate", errors));
        }
        #[derive(Deserialize)]
        struct Param {
            name: String,
            value: String,
        }
        #[derive(Deserialize)]
        struct Target {
            url: String,
            parameters: Vec<Param>,
        }
        let targets: Vec<Target> = decode(
            payload.get("stagedTargets").cloned().unwrap_or(Value::Null),
            "data.stagedUploadsCreate.stagedTargets",
        )?;
        let target = targets.into_iter().next().ok_or_else(|| {
            Error::new(ErrorKind::Decode, "stagedUploadsCreate returned no target")
        })?;
        let params: Vec<(String, String)> = target
            .parameters
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect();
        let key = params
            .iter()
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Decode,
                    "the staged upload target has no key parameter",
                )
            })?;
        let url = storage_url(&target.url)?;
        let (content_type, body) = multipart(&params, filename, jsonl);
        let http = storage_client(self)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = http
                .post(url.clone())
                .header("content-type", &content_type)
                .body(body.clone())
                .send()
                .await;
            let err = match sent {
                Ok(resp) if resp.status().is_success() => return Ok(key),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let text = resp.text().await.unwrap_or_default();
                    status_error("the staged upload", status, &text)
                }
                Err(e) => transfer_error("the staged upload", e),
            };
            // Uploading again to the same key replaces the file: safe to retry.
            if !err.is_retryable() || attempt >= 4 {
                return Err(err.persistent());
            }
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
    }

    /// Start a bulk mutation over an uploaded file (see
    /// [`ShopifyClient::bulk_stage_upload`]), waiting for a free slot if needed. Not
    /// retried on an unknown outcome: it may have started, and would write twice.
    pub async fn bulk_mutation_start(
        &self,
        mutation: &str,
        staged_upload_path: &str,
        options: &BulkOptions,
    ) -> Result<BulkOperation> {
        self.bulk_run(
            &with_fields(RUN_MUTATION),
            json!({"mutation": mutation, "stagedUploadPath": staged_upload_path}),
            "bulkOperationRunMutation",
            None,
            options,
        )
        .await
    }

    /// Run `mutation` once per item of `variables` (each a JSON object of the
    /// mutation's variables) as one bulk operation: validate, stage, upload, run, wait,
    /// and match each result to its input by `__lineNumber` (the input's index).
    ///
    /// ```no_run
    /// # async fn demo(client: shopify_sync::client::ShopifyClient) -> shopify_sync::error::Result<()> {
    /// use serde_json::json;
    /// use shopify_sync::client::bulk::BulkOptions;
    /// let mutation = "mutation call($product: ProductCreateInput!) {
    ///   productCreate(product: $product) { product { id } userErrors { field message } } }";
    /// let inputs = vec![json!({"product": {"title": "A"}}), json!({"product": {"title": "B"}})];
    /// let result = client.bulk_mutation(mutation, inputs, &BulkOptions::default()).await?;
    /// for line in result.failed() {
    ///     eprintln!("input {} failed: {:?}", line.line_number(), line.user_errors());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn bulk_mutation<I>(
        &self,
        mutation: &str,
        variables: I,
        options: &BulkOptions,
    ) -> Result<BulkMutationResult>
    where
        I: IntoIterator<Item = Value>,
    {
        let version = SchemaVersion::for_api_version(self.config().version())
            .unwrap_or(SchemaVersion::V2026_07);
        let doc = apollo_compiler::ExecutableDocument::parse_and_validate(
            admin_schema(version),
            mutation,
            "bulk_mutation.graphql",
        )
        .map_err(|e| {
            Error::invalid_input(format!(
                "the bulk mutation does not validate against the {} Admin schema:\n{}",
                version.as_str(),
                e.errors
            ))
        })?;
        let single = doc.operations.get(None).ok().filter(|op| {
            op.operation_type == apollo_compiler::executable::OperationType::Mutation
                && op.selection_set.selections.len() == 1
        });
        if single.is_none() {
            return Err(Error::invalid_input(
                "a bulk mutation must be one mutation operation with one top-level field",
            ));
        }
        let mut file = Vec::new();
        let mut count = 0u64;
        for (i, v) in variables.into_iter().enumerate() {
            if !v.is_object() {
                return Err(Error::invalid_input(format!(
                    "bulk mutation variables #{i} are not a JSON object"
                )));
            }
            serde_json::to_writer(&mut file, &v)
                .map_err(|e| Error::invalid_input(format!("bulk mutation variables #{i}: {e}")))?;
            file.push(b'\n');
            count += 1;
        }
        let limit_mb = if self.config().version() >= "2026-01" {
            100
        } else {
            20
        };
        if file.len() > limit_mb * 1024 * 1024 {
            return Err(Error::invalid_input(format!(
                "the bulk mutation variables take {} bytes, over Shopify's {limit_mb} MB limit for API version {}: split them into several operations",
                file.len(),
                self.config().version()
            )));
        }
        let path = self
            .bulk_stage_upload(&file, "bulk_mutation_variables.jsonl")
            .await?;
        drop(file);
        let op = self.bulk_mutation_start(mutation, &path, options).await?;
        let op = self.bulk_wait(&op.id, options).await?;
        let result = BulkQueryResult::from_operation(op)?;
        let mut records = match result.data_url() {
            None => JsonlStream::empty(),
            Some(url) => self.bulk_download_url(url, options.resumes)?,
        };
        let mut lines = BTreeMap::new();
        while let Some(record) = records.next().await {
            let line = BulkMutationLine::from_record(&record?)?;
            lines.insert(line.line_number, line);
        }
        let missing = (0..count).filter(|n| !lines.contains_key(n)).collect();
        Ok(BulkMutationResult {
            operation: result.operation,
            partial: result.partial,
            lines: lines.into_values().collect(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_decode_from_the_captured_shape() {
        let v = json!({
            "id": "gid://shopify/BulkOperation/7749099127090",
            "status": "CREATED", "type": "MUTATION", "errorCode": null,
            "createdAt": "2026-05-05T20:34:00Z", "completedAt": null,
            "objectCount": "0", "rootObjectCount": "0", "fileSize": null,
            "url": null, "partialDataUrl": null, "query": "mutation { x }"
        });
        let op = BulkOperation::from_json(v).unwrap();
        assert_eq!(op.status, BulkOperationStatus::Created);
        assert_eq!(op.operation_type, BulkOperationType::Mutation);
        assert_eq!(op.object_count, 0);
        let later = BulkOperation::from_json(json!({
            "id": "gid://shopify/BulkOperation/1", "status": "SOMETHING_NEW",
            "objectCount": 12, "fileSize": "34"
        }))
        .unwrap();
        assert_eq!(later.status, BulkOperationStatus::Unknown);
        assert_eq!(later.file_size, Some(34));
        let bad =
            BulkOperation::from_json(json!({"id": "gid://shopify/Product/1", "status": "RUNNING"}));
        assert_eq!(bad.unwrap_err().kind(), ErrorKind::Decode);
    }

    #[test]
    fn outcomes_are_judged() {
        let op = |status: &str, partial: Option<&str>| {
            BulkOperation::from_json(
                json!({"id": "gid://shopify/BulkOperation/1", "status": status,
                "errorCode": "TIMEOUT", "partialDataUrl": partial, "url": null}),
            )
            .unwrap()
        };
        let r = BulkQueryResult::from_operation(op("FAILED", Some("https://x/y"))).unwrap();
        assert!(r.is_partial());
        assert_eq!(r.data_url(), Some("https://x/y"));
        assert_eq!(r.error_code(), Some("TIMEOUT"));
        assert_eq!(
            BulkQueryResult::from_operation(op("FAILED", None))
                .unwrap_err()
                .kind(),
            ErrorKind::Server
        );
        assert_eq!(
            BulkQueryResult::from_operation(op("CANCELED", None))
                .unwrap_err()
                .kind(),
            ErrorKind::Cancelled
        );
        assert_eq!(
            BulkQueryResult::from_operation(op("EXPIRED", None))
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        let done = BulkQueryResult::from_operation(op("COMPLETED", None)).unwrap();
        assert_eq!(done.data_url(), None, "nothing to download");
    }

    #[test]
    fn storage_urls_must_be_https_off_loopback() {
        assert!(storage_url("https://storage.googleapis.com/x?Signature=1").is_ok());
        assert!(storage_url("http://127.0.0.1:9/x").is_ok());
        assert!(storage_url("http://[::1]:9/x").is_ok());
        assert!(storage_url("http://example.com/x").is_err());
        assert!(storage_url("file:///etc/passwd").is_err());
        assert!(storage_url("not a url").is_err());
    }

    #[test]
    fn multipart_bodies_keep_the_file_last_and_the_boundary_unique() {
        let params = vec![("key".to_string(), "tmp/a".to_string())];
        let (ct, body) = multipart(&params, "v.jsonl", b"{\"a\":1}\n");
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"key\""
        )));
        assert!(text.ends_with(&format!("{{\"a\":1}}\n\r\n--{boundary}--\r\n")));
        assert_eq!(text.matches(boundary).count(), 3);
    }

    #[test]
    fn products_query_escapes_the_search() {
        let q = products_query(Some("title:\"x\" AND vendor:a\\b"));
        assert!(q.starts_with(r#"{ products(query: "title:\"x\" AND vendor:a\\b") {"#));
    }
}
