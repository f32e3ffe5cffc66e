//! Bulk operations, as Shopify runs them: `bulkOperationRunQuery`,
//! `bulkOperationRunMutation`, `bulkOperationCancel`, `stagedUploadsCreate`, the
//! `BulkOperation` object (`node(id:)`, `bulkOperation(id:)`, `currentBulkOperation`,
//! `bulkOperations`), and the two storage endpoints real Shopify keeps on other hosts:
//! signed result downloads and staged uploads.
//!
//! # Lifecycle
//!
//! A run mutation validates its input, checks the concurrency limit, and creates the
//! operation as `CREATED`; the HTTP layer then starts a runner thread for it. The runner
//! marks it `RUNNING`, takes a snapshot of the store (a bulk query sees the shop as it was
//! when it started), and writes JSONL at [`crate::SimConfig::bulk_rows_per_second`],
//! updating `objectCount` / `rootObjectCount` as it goes. It ends `COMPLETED` (with a
//! `url`; Shopify gives `url: null` when there is nothing to download), `FAILED` (with
//! an `errorCode` and, when some data was written, a `partialDataUrl`) or, after
//! `bulkOperationCancel` set `CANCELING`, `CANCELED`. [`crate::Simulator::expire_bulk_operations`]
//! turns finished operations `EXPIRED`, as seven days do on Shopify.
//!
//! # Queries
//!
//! The query is executed over every node: pagination arguments are ignored and nested
//! connections are unbounded. Each node of each connection becomes one line; nested
//! nodes carry `__parentId` and always come after their parent. With
//! `groupObjects: true` a node's descendants follow it directly; with `false` (the
//! default from 2026-01) the simulator writes a batch of root objects, then their
//! children, then their grandchildren, so children are *not* adjacent to their parent.
//! Shopify's restrictions are enforced as `userErrors`: one top-level field, which is a
//! connection; at least one and at most five connections; nesting at most two levels;
//! no connection inside a list field. The simulator additionally requires a node with
//! nested connections to select `id` (its children's `__parentId`). Lines are written
//! as Shopify writes them, with `/` escaped as `\/`.
//!
//! # Mutations
//!
//! `stagedUploadsCreate` with resource `BULK_MUTATION_VARIABLES` answers a POST form
//! target (Google Cloud Storage's shape: `key`, `policy`, `x-goog-*` parameters, the
//! file last); `httpMethod: PUT` answers a signed PUT URL instead. The runner executes
//! the mutation once per line of the uploaded file, with that line as its variables,
//! through the same executor and store as ordinary requests, and writes one result line
//! per input line: `{"data": ..., "__lineNumber": n}` (0-based), or `errors` when the
//! line's variables do not coerce.
//!
//! # Concurrency
//!
//! Before API version 2026-01, one query and one mutation operation may run at a time
//! (`OPERATION_IN_PROGRESS`, with the message Shopify sends, naming the running
//! operation). From 2026-01, five operations of either type (`LIMIT_REACHED`; Shopify's
//! exact message for this case is not captured, the text is the enum's description).
//!
//! # Storage endpoints
//!
//! Results are served at `/_sim/storage/bulk/{file}?Expires=..&Signature=..` and uploads
//! taken at `/_sim/staged-uploads/`: paths outside the Admin API that need no access
//! token (a wrong signature is refused), as Shopify's signed Google Cloud Storage URLs.
//! Downloads honour `Range: bytes=N-`. Every request to them is logged with whether it
//! carried an `X-Shopify-Access-Token` ([`crate::Simulator::bulk_transfers`]), so tests
//! can prove a client never sends its token there.
use crate::clock::Timestamp;
use crate::objects::build::{record, user_errors, Ctx, Obj, Val};
use crate::objects::gid;
use crate::store::{gid_number, UserError};
use crate::Shared;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::resolvers::Execution;
use apollo_compiler::response::JsonValue;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Map, Value};
use shopify_sync::schema::{admin_schema, SchemaVersion};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Ids of bulk operations start above this (Shopify's are 13-digit numbers).
const FIRST_BULK_OPERATION_ID: u64 = 7_749_099_000_000;
/// Root objects executed per step of a bulk query.
const ROOTS_PER_STEP: usize = 2_000;
/// Most connections a bulk query may hold.
const MAX_CONNECTIONS: usize = 5;
/// Deepest connection nesting a bulk query may hold.
const MAX_DEPTH: usize = 2;
/// Largest staged upload before 2026-01 (20 MB) and from it (100 MB).
const UPLOAD_LIMIT_OLD: usize = 20 * 1024 * 1024;
const UPLOAD_LIMIT_NEW: usize = 100 * 1024 * 1024;
/// The largest body the upload endpoints read (the 100 MB limit plus form overhead).
pub(crate) const UPLOAD_BODY_LIMIT: usize = UPLOAD_LIMIT_NEW + 1024 * 1024;

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkStatus {
    /// Created, not yet started.
    Created,
    /// Running.
    Running,
    /// Finished; the result is at `url`.
    Completed,
    /// Failed; see `errorCode` and `partialDataUrl`.
    Failed,
    /// Cancelation requested.
    Canceling,
    /// Canceled.
    Canceled,
    /// Its result expired.
    Expired,
}

impl BulkStatus {
    /// The enum value, e.g. `RUNNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Failed => "FAILED",
            BulkStatus::Canceling => "CANCELING",
            BulkStatus::Canceled => "CANCELED",
            BulkStatus::Expired => "EXPIRED",
        }
    }

    /// Whether the operation still holds a concurrency slot.
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            BulkStatus::Created | BulkStatus::Running | BulkStatus::Canceling
        )
    }
}

/// `BulkOperationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkKind {
    /// `bulkOperationRunQuery`.
    Query,
    /// `bulkOperationRunMutation`.
    Mutation,
}

impl BulkKind {
    fn as_str(self) -> &'static str {
        match self {
            BulkKind::Query => "QUERY",
            BulkKind::Mutation => "MUTATION",
        }
    }
}

/// `BulkOperationErrorCode`: why an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkErrorCode {
    /// Missing access scopes.
    AccessDenied,
    /// An internal error; partial data may be available.
    InternalServerError,
    /// A timeout; partial data may be available.
    Timeout,
}

impl BulkErrorCode {
    fn as_str(self) -> &'static str {
        match self {
            BulkErrorCode::AccessDenied => "ACCESS_DENIED",
            BulkErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
            BulkErrorCode::Timeout => "TIMEOUT",
        }
    }
}

/// One bulk operation as the simulator holds it.
#[derive(Debug, Clone, Serialize)]
pub struct BulkOperation {
    /// Numeric id (`gid://shopify/BulkOperation/{id}`).
    pub id: u64,
    /// Query or mutation.
    pub kind: BulkKind,
    /// Status.
    pub status: BulkStatus,
    /// Why it failed.
    pub error_code: Option<BulkErrorCode>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it reached a final status.
    pub completed_at: Option<Timestamp>,
    /// Lines written so far.
    pub object_count: u64,
    /// Root-level lines written so far.
    pub root_object_count: u64,
    /// The bulk query, or the mutation of a bulk mutation.
    pub query: String,
    /// `groupObjects` as given (or defaulted by the API version).
    pub group_objects: bool,
    /// The API version it was created with.
    pub api_version: String,
    /// The staged upload path of a bulk mutation.
    pub staged_upload_path: Option<String>,
    /// Bytes of result written so far.
    pub file_size: u64,
    #[serde(skip)]
    fail_after: Option<(u64, BulkErrorCode)>,
}

/// One request to the storage endpoints (downloads and uploads), for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// The path requested.
    pub path: String,
    /// Whether the request carried an `X-Shopify-Access-Token` header.
    pub access_token_sent: bool,
    /// The status answered.
    pub status: u16,
}

struct Entry {
    op: BulkOperation,
    /// The JSONL written so far.
    output: Vec<u8>,
    /// The final file, once the operation stopped.
    file: Option<Bytes>,
    signature: String,
}

struct Staged {
    api_version: String,
    signature: String,
    data: Option<Bytes>,
}

#[derive(Default)]
struct Registry {
    ops: BTreeMap<u64, Entry>,
    created: u64,
    pending: Vec<u64>,
    staged: HashMap<String, Staged>,
    uploads_created: u64,
    failures: VecDeque<(u64, BulkErrorCode)>,
    transfers: Vec<Transfer>,
    base_url: String,
    rows_per_second: f64,
    secret: u64,
}

/// The shop's bulk operations and staged uploads. Cheap to clone: clones share the
/// state (the store's snapshots share it too, so a snapshot never forks it).
#[derive(Clone, Default)]
pub struct BulkOperations {
    inner: Arc<Mutex<Registry>>,
}

impl std::fmt::Debug for BulkOperations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `try_lock`: printing a store must never wait on (or deadlock with) a runner.
        let mut d = f.debug_struct("BulkOperations");
        if let Ok(r) = self.inner.try_lock() {
            d.field("operations", &r.ops.len())
                .field("staged_uploads", &r.staged.len());
        }
        d.finish_non_exhaustive()
    }
}

/// What the runner is told after writing.
enum Control {
    Continue,
    Cancel,
}

fn hash_hex(parts: impl Hash) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Serialize `v` as Shopify writes JSONL: compact, `/` escaped as `\/` (a `/` can only
/// occur inside strings, where `\/` is a valid escape).
fn shopify_json_line(v: &Value, out: &mut Vec<u8>) {
    let text = v.to_string();
    for b in text.bytes() {
        if b == b'/' {
            out.extend_from_slice(b"\\/");
        } else {
            out.push(b);
        }
    }
    out.push(b'\n');
}

/// Whether `version` has 2026-01's limits (five operations, 100 MB uploads).
fn is_2026_01_or_later(version: &str) -> bool {
    version == "unstable" || version >= "2026-01"
}

impl BulkOperations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Set the base URL of the storage endpoints and the pace of the runners.
    pub(crate) fn configure(&self, base_url: &str, rows_per_second: f64) {
        let mut r = self.lock();
        r.base_url = base_url.trim_end_matches('/').to_string();
        r.rows_per_second = rows_per_second;
        r.secret = std::process::id() as u64 ^ Timestamp::now().secs() as u64;
    }

    /// Every operation, by ascending id.
    pub fn list(&self) -> Vec<BulkOperation> {
        self.lock().ops.values().map(|e| e.op.clone()).collect()
    }

    /// One operation by numeric id.
    pub fn get(&self, id: u64) -> Option<BulkOperation> {
        self.lock().ops.get(&id).map(|e| e.op.clone())
    }

    /// Every storage request so far.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.lock().transfers.clone()
    }

    /// Make the next operation created fail with `code` once it has written
    /// `after_objects` lines (its partial data stays downloadable).
    pub fn fail_next(&self, after_objects: u64, code: BulkErrorCode) {
        self.lock().failures.push_back((after_objects, code));
    }

    /// Expire every finished operation's result: `EXPIRED`, no URLs, downloads refused.
    pub fn expire(&self) {
        let mut r = self.lock();
        for e in r.ops.values_mut() {
            if !e.op.status.in_progress() {
                e.op.status = BulkStatus::Expired;
                e.file = None;
            }
        }
    }

    fn take_pending(&self) -> Vec<(u64, BulkKind)> {
        let mut r = self.lock();
        let ids = std::mem::take(&mut r.pending);
        ids.into_iter()
            .filter_map(|id| r.ops.get(&id).map(|e| (id, e.op.kind)))
            .collect()
    }

    fn url(r: &Registry, e: &Entry, name: &str) -> String {
        format!(
            "{}/_sim/storage/bulk/{}-{name}.jsonl?Expires=604800&Signature={}",
            r.base_url, e.op.id, e.signature
        )
    }

    /// The `BulkOperation` object for `id`.
    fn record<'c, 's>(&self, id: u64) -> Option<Obj<'c, 's>> {
        let r = self.lock();
        let e = r.ops.get(&id)?;
        let op = &e.op;
        let has_file = e.file.as_ref().is_some_and(|f| !f.is_empty());
        let url =
            (op.status == BulkStatus::Completed && has_file).then(|| Self::url(&r, e, "result"));
        let partial =
            (op.status == BulkStatus::Failed && has_file).then(|| Self::url(&r, e, "partial"));
        let file_size = url.as_ref().map(|_| op.file_size.to_string());
        Some(record(
            "BulkOperation",
            vec![
                ("id", json!(gid("BulkOperation", op.id)).into()),
                ("status", json!(op.status.as_str()).into()),
                ("type", json!(op.kind.as_str()).into()),
                (
                    "errorCode",
                    json!(op.error_code.map(BulkErrorCode::as_str)).into(),
                ),
                ("createdAt", json!(op.created_at.to_string()).into()),
                (
                    "completedAt",
                    json!(op.completed_at.map(|t| t.to_string())).into(),
                ),
                ("objectCount", json!(op.object_count.to_string()).into()),
                (
                    "rootObjectCount",
                    json!(op.root_object_count.to_string()).into(),
                ),
                ("fileSize", json!(file_size).into()),
                ("url", json!(url).into()),
                ("partialDataUrl", json!(partial).into()),
                ("query", json!(op.query).into()),
            ],
        ))
    }

    /// A user error if a new operation of `kind` would exceed the version's limit.
    fn limit_error(r: &Registry, kind: BulkKind, version: &str) -> Option<UserError> {
        let running = r.ops.values().filter(|e| e.op.status.in_progress());
        if is_2026_01_or_later(version) {
            (running.count() >= 5).then(|| UserError {
                field: None,
                message: "Bulk operations limit reached. Please try again later.".into(),
                code: Some("LIMIT_REACHED"),
            })
        } else {
            let busy = running.filter(|e| e.op.kind == kind).last()?;
            let what = match kind {
                BulkKind::Query => "query",
                BulkKind::Mutation => "mutation",
            };
            Some(UserError {
                field: None,
                message: format!(
                    "A bulk {what} operation for this app and shop is already in progress: {}.",
                    gid("BulkOperation", busy.op.id)
                ),
                code: Some("OPERATION_IN_PROGRESS"),
            })
        }
    }

    fn create(
        &self,
        r: &mut Registry,
        kind: BulkKind,
        query: &str,
        group_objects: bool,
        version: &str,
        staged: Option<String>,
    ) -> u64 {
        r.created += 1;
        let id = FIRST_BULK_OPERATION_ID + r.created;
        let fail_after = r.failures.pop_front();
        let signature = hash_hex((r.secret, id, "bulk"));
        r.ops.insert(
            id,
            Entry {
                op: BulkOperation {
                    id,
                    kind,
                    status: BulkStatus::Created,
                    error_code: None,
                    created_at: Timestamp::now(),
                    completed_at: None,
                    object_count: 0,
                    root_object_count: 0,
                    query: query.to_string(),
                    group_objects,
                    api_version: version.to_string(),
                    staged_upload_path: staged,
                    file_size: 0,
                    fail_after,
                },
                output: vec![],
                file: None,
                signature,
            },
        );
        r.pending.push(id);
        id
    }

    /// Mark `id` running; `None` (and `CANCELED`) when it was canceled before starting.
    fn begin(&self, id: u64) -> Option<BulkOperation> {
        let mut r = self.lock();
        let e = r.ops.get_mut(&id)?;
        match e.op.status {
            BulkStatus::Created => {
                e.op.status = BulkStatus::Running;
                Some(e.op.clone())
            }
            BulkStatus::Canceling => {
                Self::stop(e, BulkStatus::Canceled, None);
                None
            }
            _ => None,
        }
    }

    fn stop(e: &mut Entry, status: BulkStatus, code: Option<BulkErrorCode>) {
        e.op.status = status;
        e.op.error_code = code;
        e.op.completed_at = Some(Timestamp::now());
        e.file = Some(Bytes::from(std::mem::take(&mut e.output)));
    }

    /// Append lines; tells the runner whether to go on.
    fn append(&self, id: u64, bytes: &[u8], objects: u64, roots: u64) -> Control {
        let mut r = self.lock();
        let Some(e) = r.ops.get_mut(&id) else {
            return Control::Cancel;
        };
        if e.op.status != BulkStatus::Running {
            if e.op.status == BulkStatus::Canceling {
                Self::stop(e, BulkStatus::Canceled, None);
            }
            return Control::Cancel;
        }
        e.output.extend_from_slice(bytes);
        e.op.object_count += objects;
        e.op.root_object_count += roots;
        e.op.file_size = e.output.len() as u64;
        Control::Continue
    }

    /// End `id` with `status` unless it already ended (a cancel wins over completion).
    fn finish(&self, id: u64, status: BulkStatus, code: Option<BulkErrorCode>) {
        let mut r = self.lock();
        if let Some(e) = r.ops.get_mut(&id) {
            match e.op.status {
                BulkStatus::Running => Self::stop(e, status, code),
                BulkStatus::Canceling | BulkStatus::Created => {
                    Self::stop(e, BulkStatus::Canceled, None)
                }
                _ => {}
            }
        }
    }

    fn rows_per_second(&self) -> f64 {
        self.lock().rows_per_second
    }

    fn log(&self, t: Transfer) {
        self.lock().transfers.push(t);
    }
}

// ----- GraphQL fields ------------------------------------------------------------------

/// `BulkOperation` objects for the query root: `bulkOperation(id:)`,
/// `currentBulkOperation(type:)` and `bulkOperations` (newest first, every operation on
/// one page; filters are not implemented).
pub(crate) fn query_field<'c, 's>(
    bulk: &BulkOperations,
    name: &str,
    args: &Map<String, Value>,
) -> Val<'c, 's> {
    match name {
        "bulkOperation" => Val::from(args.get("id").and_then(|id| operation_obj(bulk, id))),
        "currentBulkOperation" => {
            let kind = match args.get("type").and_then(Value::as_str) {
                Some("MUTATION") => BulkKind::Mutation,
                _ => BulkKind::Query,
            };
            let latest = bulk
                .list()
                .into_iter()
                .rev()
                .find(|op| op.kind == kind)
                .and_then(|op| bulk.record(op.id));
            Val::from(latest)
        }
        _ => Val::Json(Value::Null),
    }
}

/// The ids of every operation, newest first, with their objects (for `bulkOperations`).
pub(crate) fn all_records<'c, 's>(bulk: &BulkOperations) -> Vec<(u64, Obj<'c, 's>)> {
    bulk.list()
        .into_iter()
        .rev()
        .filter_map(|op| bulk.record(op.id).map(|o| (op.id, o)))
        .collect()
}

/// `node(id:)` for a `gid://shopify/BulkOperation/N`.
pub(crate) fn operation_obj<'c, 's>(bulk: &BulkOperations, id: &Value) -> Option<Obj<'c, 's>> {
    let s = id.as_str()?;
    s.strip_prefix("gid://shopify/BulkOperation/")?;
    bulk.record(gid_number(id)?)
}

fn error(message: impl Into<String>, field: Option<&[&str]>, code: &'static str) -> UserError {
    UserError {
        field: field.map(|f| f.iter().map(|s| s.to_string()).collect()),
        message: message.into(),
        code: Some(code),
    }
}

/// The payload fields of the bulk mutations (`userErrors` typed `err_type`).
pub(crate) fn mutation_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    name: &str,
    args: &Map<String, Value>,
    schema: &Valid<Schema>,
    err_type: &str,
) -> Vec<(&'static str, Val<'c, 's>)> {
    let bulk = ctx.read(|s| s.bulk().clone());
    let version = ctx.api_version().to_string();
    let text = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default();
    let op_or_errors = |r: Result<u64, Vec<UserError>>| match r {
        Ok(id) => vec![
            ("bulkOperation", Val::from(bulk.record(id))),
            ("userErrors", user_errors(err_type, &[])),
        ],
        Err(e) => vec![
            ("bulkOperation", Val::Json(Value::Null)),
            ("userErrors", user_errors(err_type, &e)),
        ],
    };
    match name {
        "bulkOperationRunQuery" => {
            let query = text("query");
            let group = args
                .get("groupObjects")
                .and_then(Value::as_bool)
                .unwrap_or(!is_2026_01_or_later(&version));
            let r = (|| {
                let doc = ExecutableDocument::parse_and_validate(schema, query, "bulk.graphql")
                    .map_err(|e| {
                        let first = e.errors.iter().next().map(|d| d.error.to_string());
                        vec![error(
                            format!("Invalid bulk query: {}", first.unwrap_or_default()),
                            Some(&["query"]),
                            "INVALID",
                        )]
                    })?;
                QueryPlan::of(schema, &doc)
                    .map_err(|m| vec![error(m, Some(&["query"]), "INVALID")])?;
                let mut r = bulk.lock();
                if let Some(e) = BulkOperations::limit_error(&r, BulkKind::Query, &version) {
                    return Err(vec![e]);
                }
                Ok(bulk.create(&mut r, BulkKind::Query, query, group, &version, None))
            })();
            op_or_errors(r)
        }
        "bulkOperationRunMutation" => {
            let mutation = text("mutation");
            let path = text("stagedUploadPath");
            let r = (|| {
                let invalid = |m: String| vec![error(m, Some(&["mutation"]), "INVALID_MUTATION")];
                let doc = ExecutableDocument::parse_and_validate(schema, mutation, "bulk.graphql")
                    .map_err(|e| {
                        let first = e.errors.iter().next().map(|d| d.error.to_string());
                        invalid(format!("Invalid mutation: {}", first.unwrap_or_default()))
                    })?;
                let op = doc.operations.get(None).map_err(|_| {
                    invalid("The bulk mutation must hold exactly one operation.".into())
                })?;
                if op.operation_type != apollo_compiler::executable::OperationType::Mutation
                    || op.selection_set.selections.len() != 1
                {
                    return Err(invalid(
                        "The bulk mutation must be a mutation with a single top-level field."
                            .into(),
                    ));
                }
                let mut r = bulk.lock();
                if let Some(e) = BulkOperations::limit_error(&r, BulkKind::Mutation, &version) {
                    return Err(vec![e]);
                }
                let data = r.staged.get(path).and_then(|s| s.data.clone());
                let Some(data) = data else {
                    return Err(vec![error(
                        "The JSONL file could not be found. Try uploading the file again, and check that you've entered the URL correctly for the stagedUploadPath mutation argument.",
                        Some(&["stagedUploadPath"]),
                        "NO_SUCH_FILE",
                    )]);
                };
                let bad_line = data
                    .split(|b| *b == b'\n')
                    .enumerate()
                    .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
                    .find(|(_, l)| {
                        !matches!(serde_json::from_slice::<Value>(l), Ok(Value::Object(_)))
                    });
                if let Some((n, _)) = bad_line {
                    return Err(vec![error(
                        format!("The JSONL file submitted via the stagedUploadsCreate mutation is invalid: line {} is not a JSON object.", n + 1),
                        Some(&["stagedUploadPath"]),
                        "INVALID_STAGED_UPLOAD_FILE",
                    )]);
                }
                Ok(bulk.create(
                    &mut r,
                    BulkKind::Mutation,
                    mutation,
                    true,
                    &version,
                    Some(path.to_string()),
                ))
            })();
            op_or_errors(r)
        }
        "bulkOperationCancel" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let n = id
                .as_str()
                .filter(|s| s.starts_with("gid://shopify/BulkOperation/"))
                .and(gid_number(&id));
            let r = (|| {
                let mut r = bulk.lock();
                let Some(e) = n.and_then(|n| r.ops.get_mut(&n)) else {
                    return Err(vec![UserError {
                        field: Some(vec!["id".into()]),
                        message: "Bulk operation does not exist".into(),
                        code: None,
                    }]);
                };
                match e.op.status {
                    BulkStatus::Created | BulkStatus::Running => {
                        e.op.status = BulkStatus::Canceling;
                        Ok(e.op.id)
                    }
                    s => Err(vec![UserError {
                        field: None,
                        message: format!(
                            "A bulk operation cannot be canceled when it is {}",
                            s.as_str().to_lowercase()
                        ),
                        code: None,
                    }]),
                }
            })();
            op_or_errors(r)
        }
        "stagedUploadsCreate" => {
            let inputs = args
                .get("input")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut targets = vec![];
            let mut errors = vec![];
            let mut r = bulk.lock();
            for (i, input) in inputs.iter().enumerate() {
                let text = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or_default();
                if text("resource") != "BULK_MUTATION_VARIABLES" {
                    errors.push(UserError {
                        field: Some(vec!["input".into(), i.to_string(), "resource".into()]),
                        message: format!(
                            "The Shopify simulator stages only BULK_MUTATION_VARIABLES uploads, not {}.",
                            text("resource")
                        ),
                        code: None,
                    });
                    continue;
                }
                if text("filename").is_empty() {
                    errors.push(UserError {
                        field: Some(vec!["input".into(), i.to_string(), "filename".into()]),
                        message: "Filename can't be blank".into(),
                        code: None,
                    });
                    continue;
                }
                targets.push(staged_target(
                    &mut r,
                    text("filename"),
                    text("mimeType"),
                    text("httpMethod") == "PUT",
                    &version,
                ));
            }
            drop(r);
            let targets = if errors.is_empty() {
                Val::List(targets)
            } else {
                Val::Json(Value::Null)
            };
            vec![
                ("stagedTargets", targets),
                ("userErrors", user_errors(err_type, &errors)),
            ]
        }
        _ => vec![],
    }
}

/// A `StagedMediaUploadTarget` for one file, registered so the upload can be checked.
fn staged_target<'c, 's>(
    r: &mut Registry,
    filename: &str,
    mime: &str,
    put: bool,
    version: &str,
) -> Val<'c, 's> {
    r.uploads_created += 1;
    let n = r.uploads_created;
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (r.secret as u32) ^ n as u32,
        n & 0xffff,
        (r.secret >> 8) & 0xfff,
        (r.secret >> 20) & 0xfff,
        n
    );
    let name: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let key = format!("tmp/92891250994/bulk/{uuid}/{name}");
    let signature = hash_hex((r.secret, &key, "upload"));
    let date = "20260101T000000Z";
    let credential = "shopify-staged-uploads@shopify-tiers.iam.gserviceaccount.com/20260101/auto/storage/goog4_request";
    let base = format!("{}/_sim/staged-uploads/", r.base_url);
    r.staged.insert(
        key.clone(),
        Staged {
            api_version: version.to_string(),
            signature: signature.clone(),
            data: None,
        },
    );
    let param = |name: &str, value: &str| -> Val<'c, 's> {
        record(
            "StagedUploadParameter",
            vec![("name", json!(name).into()), ("value", json!(value).into())],
        )
        .into()
    };
    let (url, parameters) = if put {
        (
            format!("{base}{key}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date={date}&X-Goog-Expires=604800&X-Goog-Signature={signature}"),
            vec![param("content_type", mime), param("acl", "private")],
        )
    } else {
        let policy = base64::engine::general_purpose::STANDARD.encode(
            json!({"conditions": [{"Content-Type": mime}, {"success_action_status": "201"}, {"acl": "private"}, ["content-length-range", 1, UPLOAD_LIMIT_NEW], {"bucket": "shopify-staged-uploads"}, {"key": key}, {"x-goog-date": date}, {"x-goog-credential": credential}, {"x-goog-algorithm": "GOOG4-RSA-SHA256"}], "expiration": "2026-01-08T00:00:00Z"})
                .to_string(),
        );
        (
            base.clone(),
            vec![
                param("Content-Type", mime),
                param("success_action_status", "201"),
                param("acl", "private"),
                param("key", &key),
                param("x-goog-date", date),
                param("x-goog-credential", credential),
                param("x-goog-algorithm", "GOOG4-RSA-SHA256"),
                param("x-goog-signature", &signature),
                param("policy", &policy),
            ],
        )
    };
    record(
        "StagedMediaUploadTarget",
        vec![
            ("url", json!(url).into()),
            ("resourceUrl", json!(format!("{base}{key}")).into()),
            ("parameters", Val::List(parameters)),
        ],
    )
    .into()
}

// ----- the shape of a bulk query -------------------------------------------------------

/// Where a connection's nodes are in the response.
#[derive(Debug, Clone)]
enum Via {
    /// `edges { node }`, by response keys.
    Edges(String, String),
    /// `nodes`, by response key.
    Nodes(String),
}

/// One connection of a bulk query and the connections nested in its nodes.
#[derive(Debug, Clone)]
struct ConnPlan {
    /// Response keys of plain object fields from the parent node to the object holding
    /// the connection, then the connection's own key.
    path: Vec<String>,
    via: Via,
    children: Vec<ConnPlan>,
    /// Response key of `id` in the node selection.
    id_key: Option<String>,
}

/// The root connection of a bulk query.
#[derive(Debug, Clone)]
struct QueryPlan {
    root: ConnPlan,
}

/// Fields of a selection set with fragments flattened (first occurrence of each
/// response key wins, as a merged response would hold it).
fn flat_fields<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    out: &mut Vec<&'d apollo_compiler::executable::Field>,
) {
    for s in &set.selections {
        match s {
            Selection::Field(f) => {
                if !out.iter().any(|o| o.response_key() == f.response_key()) {
                    out.push(f)
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(frag) = doc.fragments.get(&spread.fragment_name) {
                    flat_fields(doc, &frag.selection_set, out);
                }
            }
            Selection::InlineFragment(inline) => flat_fields(doc, &inline.selection_set, out),
        }
    }
}

fn is_connection(schema: &Schema, type_name: &str) -> bool {
    type_name.ends_with("Connection")
        && matches!(schema.types.get(type_name), Some(ExtendedType::Object(o))
            if o.fields.contains_key("edges") || o.fields.contains_key("nodes"))
}

impl QueryPlan {
    /// Check Shopify's restrictions and find the connections, or say what is wrong.
    fn of(schema: &Schema, doc: &Valid<ExecutableDocument>) -> Result<QueryPlan, String> {
        let op = doc
            .operations
            .get(None)
            .map_err(|_| "Bulk queries must hold exactly one operation.".to_string())?;
        if op.operation_type != apollo_compiler::executable::OperationType::Query {
            return Err("Bulk queries must be queries.".into());
        }
        let mut roots = vec![];
        flat_fields(doc, &op.selection_set, &mut roots);
        let roots: Vec<_> = roots
            .into_iter()
            .filter(|f| f.name != "__typename")
            .collect();
        let [root] = roots.as_slice() else {
            return Err("Bulk queries must select exactly one top-level field.".into());
        };
        let root_type = root.ty().inner_named_type().as_str();
        if !is_connection(schema, root_type) {
            return Err(format!(
                "Bulk queries must contain at least one connection: the top-level field `{}` is not a connection.",
                root.name
            ));
        }
        let mut count = 0;
        let root = Self::connection(schema, doc, root, vec![], 1, &mut count)?;
        if count > MAX_CONNECTIONS {
            return Err(format!(
                "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
            ));
        }
        Ok(QueryPlan { root })
    }

    fn connection(
        schema: &Schema,
        doc: &ExecutableDocument,
        field: &apollo_compiler::executable::Field,
        path: Vec<String>,
        depth: usize,
        count: &mut usize,
    ) -> Result<ConnPlan, String> {
        *count += 1;
        if depth > MAX_DEPTH {
            return Err(format!(
                "Bulk queries cannot contain connections nested more than {MAX_DEPTH} levels deep."
            ));
        }
        let mut fields = vec![];
        flat_fields(doc, &field.selection_set, &mut fields);
        let mut node_set = None;
        let mut via = None;
        for f in &fields {
            if f.name == "edges" && via.is_none() {
                let mut inner = vec![];
                flat_fields(doc, &f.selection_set, &mut inner);
                if let Some(node) = inner.iter().find(|n| n.name == "node") {
                    via = Some(Via::Edges(
                        f.response_key().to_string(),
                        node.response_key().to_string(),
                    ));
                    node_set = Some(&node.selection_set);
                }
            }
        }
        if via.is_none() {
            if let Some(f) = fields.iter().find(|f| f.name == "nodes") {
                via = Some(Via::Nodes(f.response_key().to_string()));
                node_set = Some(&f.selection_set);
            }
        }
        let (Some(via), Some(node_set)) = (via, node_set) else {
            return Err(format!(
                "The connection `{}` must select `edges {{ node }}` or `nodes`.",
                field.name
            ));
        };
        let mut node_fields = vec![];
        flat_fields(doc, node_set, &mut node_fields);
        let id_key = node_fields
            .iter()
            .find(|f| f.name == "id")
            .map(|f| f.response_key().to_string());
        let mut children = vec![];
        Self::nested(
            schema,
            doc,
            &node_fields,
            vec![],
            depth,
            count,
            &mut children,
            false,
        )?;
        if !children.is_empty() && id_key.is_none() {
            return Err(format!(
                "The nodes of `{}` have nested connections, so they must select `id` (their children's `__parentId`).",
                field.name
            ));
        }
        let mut path = path;
        path.push(field.response_key().to_string());
        Ok(ConnPlan {
            path,
            via,
            children,
            id_key,
        })
    }

    /// Find connections among `fields` (of a node), looking through plain objects.
    #[allow(clippy::too_many_arguments)]
    fn nested(
        schema: &Schema,
        doc: &ExecutableDocument,
        fields: &[&apollo_compiler::executable::Field],
        prefix: Vec<String>,
        depth: usize,
        count: &mut usize,
        out: &mut Vec<ConnPlan>,
        in_list: bool,
    ) -> Result<(), String> {
        for f in fields {
            if f.selection_set.selections.is_empty() {
                continue;
            }
            let ty = f.ty().inner_named_type().as_str();
            if is_connection(schema, ty) {
                if in_list || f.ty().is_list() {
                    return Err("Queries that contain a connection field within a list field are not currently supported.".into());
                }
                out.push(Self::connection(
                    schema,
                    doc,
                    f,
                    prefix.clone(),
                    depth + 1,
                    count,
                )?);
            } else {
                let mut inner = vec![];
                flat_fields(doc, &f.selection_set, &mut inner);
                let mut p = prefix.clone();
                p.push(f.response_key().to_string());
                Self::nested(
                    schema,
                    doc,
                    &inner,
                    p,
                    depth,
                    count,
                    out,
                    in_list || f.ty().is_list(),
                )?;
            }
        }
        Ok(())
    }
}

/// The nodes of a connection value.
fn take_nodes(conn: Value, via: &Via) -> Vec<Map<String, Value>> {
    let items = match via {
        Via::Edges(edges, node) => conn
            .get(edges)
            .and_then(Value::as_array)
            .map(|es| es.iter().filter_map(|e| e.get(node).cloned()).collect())
            .unwrap_or_default(),
        Via::Nodes(nodes) => conn
            .get(nodes)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    items
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// Turn one node (and its nested connections) into lines, each with its depth (0 for
/// the root), in grouped order: a node, then its descendants.
fn node_lines(
    plan: &ConnPlan,
    mut node: Map<String, Value>,
    parent: Option<&Value>,
    depth: usize,
    out: &mut Vec<(usize, Vec<u8>)>,
) {
    let mut nested = vec![];
    for child in &plan.children {
        let (key, holders) = child.path.split_last().expect("a connection has a key");
        let mut at = Some(&mut node);
        for h in holders {
            at = at.and_then(|m| m.get_mut(h)).and_then(Value::as_object_mut);
        }
        let conn = at.and_then(|m| m.remove(key)).unwrap_or(Value::Null);
        nested.push((child, take_nodes(conn, &child.via)));
    }
    let id = plan
        .id_key
        .as_ref()
        .and_then(|k| node.get(k))
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(p) = parent {
        node.insert("__parentId".into(), p.clone());
    }
    let mut line = vec![];
    shopify_json_line(&Value::Object(node), &mut line);
    out.push((depth, line));
    for (child, nodes) in nested {
        for n in nodes {
            node_lines(child, n, Some(&id), depth + 1, out);
        }
    }
}

// ----- runners -------------------------------------------------------------------------

/// Start a runner for every operation created by the request just executed.
pub(crate) fn start_pending(shared: &Arc<Shared>, bulk: &BulkOperations) {
    for (id, kind) in bulk.take_pending() {
        let weak = Arc::downgrade(shared);
        let bulk = bulk.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("bulk-{id}"))
            .spawn(move || match kind {
                BulkKind::Query => run_query(weak, bulk, id),
                BulkKind::Mutation => run_mutation(weak, bulk, id),
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start bulk operation {id}: {e}");
        }
    }
}

/// Paces writes at a number of rows per second.
struct Pacer {
    started: Instant,
    rows: u64,
    rate: f64,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            started: Instant::now(),
            rows: 0,
            rate,
        }
    }

    /// Lines to write per step: about 20 ms of work, at least one.
    fn step(&self) -> usize {
        if self.rate.is_finite() && self.rate > 0.0 {
            ((self.rate * 0.02) as usize).clamp(1, 5_000)
        } else {
            5_000
        }
    }

    /// Count `n` rows and sleep until they are due.
    fn wrote(&mut self, n: usize) {
        self.rows += n as u64;
        if self.rate.is_finite() && self.rate > 0.0 {
            let due = Duration::from_secs_f64(self.rows as f64 / self.rate);
            let elapsed = self.started.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
        }
    }
}

/// Write `lines` (with their depths) in paced steps; `false` when the operation stopped
/// (canceled, failed by injection, or the simulator is gone).
fn write_lines(
    weak: &Weak<Shared>,
    bulk: &BulkOperations,
    id: u64,
    pacer: &mut Pacer,
    lines: &[(usize, Vec<u8>)],
) -> bool {
    let step = pacer.step();
    let mut i = 0;
    while i < lines.len() {
        if weak.strong_count() == 0 {
            return false;
        }
        let mut n = step.min(lines.len() - i);
        // An injected failure strikes at its exact line.
        if let Some(op) = bulk.get(id) {
            if let Some((after, code)) = op.fail_after {
                if op.object_count >= after {
                    bulk.finish(id, BulkStatus::Failed, Some(code));
                    return false;
                }
                n = n.min((after - op.object_count) as usize);
            }
        }
        let batch = &lines[i..i + n];
        let mut bytes = Vec::with_capacity(batch.iter().map(|(_, l)| l.len()).sum());
        for (_, l) in batch {
            bytes.extend_from_slice(l);
        }
        let roots = batch.iter().filter(|(d, _)| *d == 0).count() as u64;
        if let Control::Cancel = bulk.append(id, &bytes, n as u64, roots) {
            return false;
        }
        pacer.wrote(n);
        i += n;
    }
    true
}

fn schema_for(version: &str) -> &'static Valid<Schema> {
    admin_schema(SchemaVersion::for_api_version(version).unwrap_or(SchemaVersion::V2026_07))
}

fn run_query(weak: Weak<Shared>, bulk: BulkOperations, id: u64) {
    let Some(op) = bulk.begin(id) else { return };
    let (mut snapshot, shop) = {
        let Some(shared) = weak.upgrade() else { return };
        let state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.store.clone(), shared.config.shop.clone())
    };
    let schema = schema_for(&op.api_version);
    let fail = |bulk: &BulkOperations| {
        bulk.finish(
            id,
            BulkStatus::Failed,
            Some(BulkErrorCode::InternalServerError),
        )
    };
    let Ok(doc) = ExecutableDocument::parse_and_validate(schema, &op.query, "bulk.graphql") else {
        return fail(&bulk);
    };
    let (Ok(plan), Ok(operation)) = (QueryPlan::of(schema, &doc), doc.operations.get(None)) else {
        return fail(&bulk);
    };
    let implementers = schema.implementers_map();
    let mut pacer = Pacer::new(bulk.rows_per_second());
    let root_key = plan.root.path[0].clone();
    for step in 0.. {
        let window = (step * ROOTS_PER_STEP, (step + 1) * ROOTS_PER_STEP);
        let result = {
            let ctx = Ctx::new(&mut snapshot, &shop)
                .with_api_version(&op.api_version)
                .with_bulk_window(window);
            let root = ctx.query_root();
            Execution::new(schema, &doc)
                .operation(operation)
                .implementers_map(&implementers)
                .execute_sync(&root)
        };
        let data = match result {
            Ok(resp) if resp.errors.is_empty() => {
                serde_json::to_value(&resp.data).unwrap_or(Value::Null)
            }
            _ => return fail(&bulk),
        };
        let conn = data.get(&root_key).cloned().unwrap_or(Value::Null);
        let nodes = take_nodes(conn, &plan.root.via);
        if nodes.is_empty() {
            break;
        }
        let mut lines = vec![];
        for node in nodes {
            node_lines(&plan.root, node, None, 0, &mut lines);
        }
        if !op.group_objects {
            // Ungrouped: this step's roots, then their children, then grandchildren.
            lines.sort_by_key(|(depth, _)| *depth);
        }
        if !write_lines(&weak, &bulk, id, &mut pacer, &lines) {
            return;
        }
    }
    bulk.finish(id, BulkStatus::Completed, None);
}

fn run_mutation(weak: Weak<Shared>, bulk: BulkOperations, id: u64) {
    let Some(op) = bulk.begin(id) else { return };
    let data = {
        let r = bulk.lock();
        op.staged_upload_path
            .as_ref()
            .and_then(|p| r.staged.get(p))
            .and_then(|s| s.data.clone())
            .unwrap_or_default()
    };
    let schema = schema_for(&op.api_version);
    let Ok(doc) = ExecutableDocument::parse_and_validate(schema, &op.query, "bulk.graphql") else {
        return bulk.finish(
            id,
            BulkStatus::Failed,
            Some(BulkErrorCode::InternalServerError),
        );
    };
    let Ok(operation) = doc.operations.get(None) else {
        return bulk.finish(
            id,
            BulkStatus::Failed,
            Some(BulkErrorCode::InternalServerError),
        );
    };
    let mut pacer = Pacer::new(bulk.rows_per_second());
    for (n, line) in data.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let variables = match serde_json::from_slice::<Value>(line) {
            Ok(v @ Value::Object(_)) => match JsonValue::from(v) {
                JsonValue::Object(m) => m,
                _ => Default::default(),
            },
            _ => Default::default(),
        };
        let body = {
            let Some(shared) = weak.upgrade() else { return };
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.store.run_due_jobs(Instant::now());
            let ctx =
                Ctx::new(&mut state.store, &shared.config.shop).with_api_version(&op.api_version);
            let root = ctx.mutation_root();
            let result = Execution::new(schema, &doc)
                .operation(operation)
                .raw_variable_values(&variables)
                .execute_sync(&root);
            drop(root);
            drop(ctx);
            let started = state.store.bulk().clone();
            drop(state);
            start_pending(&shared, &started);
            match result {
                Ok(resp) => serde_json::to_value(&resp).unwrap_or(Value::Null),
                Err(e) => json!({"errors": [{"message": e.message().to_string()}]}),
            }
        };
        let mut out = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        out.insert("__lineNumber".into(), json!(n));
        let mut bytes = vec![];
        shopify_json_line(&Value::Object(out), &mut bytes);
        if !write_lines(&weak, &bulk, id, &mut pacer, &[(0, bytes)]) {
            return;
        }
    }
    bulk.finish(id, BulkStatus::Completed, None);
}

// ----- storage endpoints ---------------------------------------------------------------

fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [("content-type", "application/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn token_sent(headers: &HeaderMap) -> bool {
    headers.contains_key("x-shopify-access-token")
}

/// `GET /_sim/storage/bulk/{id}-{result|partial}.jsonl?Expires=..&Signature=..`.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let bulk = shared.bulk.clone();
    let found = (|| {
        let stem = file.strip_suffix(".jsonl")?;
        let (id, which) = stem.split_once('-')?;
        let id: u64 = id.parse().ok()?;
        let r = bulk.lock();
        let e = r.ops.get(&id)?;
        Some((
            e.signature.clone(),
            e.op.status,
            which.to_string(),
            e.file.clone(),
        ))
    })();
    let resp = match found {
        None => storage_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        Some((sig, status, which, file)) => {
            let given = query.as_deref().and_then(|q| query_param(q, "Signature"));
            let expected_status = if which == "partial" {
                BulkStatus::Failed
            } else {
                BulkStatus::Completed
            };
            if given != Some(sig.as_str()) {
                storage_error(
                    StatusCode::FORBIDDEN,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided.",
                )
            } else if status == BulkStatus::Expired {
                storage_error(
                    StatusCode::BAD_REQUEST,
                    "ExpiredToken",
                    "The provided token has expired.",
                )
            } else {
                match file.filter(|_| status == expected_status) {
                    None => storage_error(
                        StatusCode::NOT_FOUND,
                        "NoSuchKey",
                        "The specified key does not exist.",
                    ),
                    Some(bytes) => ranged(&headers, bytes),
                }
            }
        }
    };
    bulk.log(Transfer {
        method: "GET",
        path: format!("/_sim/storage/bulk/{file}"),
        access_token_sent: token_sent(&headers),
        status: resp.status().as_u16(),
    });
    resp
}

/// The whole file, or the part a `Range: bytes=N-[M]` header asks for.
fn ranged(headers: &HeaderMap, bytes: Bytes) -> Response {
    let total = bytes.len();
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| {
            let start: usize = a.trim().parse().ok()?;
            let end: usize = if b.trim().is_empty() {
                total.checked_sub(1)?
            } else {
                b.trim().parse::<usize>().ok()?.min(total.checked_sub(1)?)
            };
            (start <= end).then_some((start, end))
        });
    let ty = ("content-type", "application/jsonl".to_string());
    match range {
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            [
                ty,
                ("content-range", format!("bytes {start}-{end}/{total}")),
            ],
            bytes.slice(start..=end),
        )
            .into_response(),
        None if headers.contains_key("range") && total > 0 => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [("content-range", format!("bytes */{total}"))],
        )
            .into_response(),
        None => (StatusCode::OK, [ty], bytes).into_response(),
    }
}

/// One part of a `multipart/form-data` body.
struct Part<'a> {
    name: String,
    data: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

/// Parse a `multipart/form-data` body (RFC 7578), enough for upload forms.
fn parse_multipart<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, String> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("the body is not multipart/form-data with a boundary")?;
    let delim = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delim, 0).ok_or("no multipart boundary in the body")? + delim.len();
    let mut parts = vec![];
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        at += body[at..]
            .starts_with(b"\r\n")
            .then_some(2)
            .ok_or("malformed multipart boundary line")?;
        let head_end = find(body, b"\r\n\r\n", at).ok_or("a multipart part has no headers end")?;
        let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
        let data_start = head_end + 4;
        let mut close = b"\r\n".to_vec();
        close.extend_from_slice(&delim);
        let data_end = find(body, &close, data_start).ok_or("a multipart part is not closed")?;
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| {
                l.split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_string())
            })
            .ok_or("a multipart part has no name")?;
        parts.push(Part {
            name,
            data: &body[data_start..data_end],
        });
        at = data_end + close.len();
    }
}

/// Store an uploaded file under `key` after checking the signature and size.
fn accept_upload(
    bulk: &BulkOperations,
    key: &str,
    signature: Option<&str>,
    data: &[u8],
) -> Response {
    let mut r = bulk.lock();
    let Some(staged) = r.staged.get_mut(key) else {
        return storage_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid argument: the key was not issued by stagedUploadsCreate.",
        );
    };
    if signature != Some(staged.signature.as_str()) {
        return storage_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let limit = if is_2026_01_or_later(&staged.api_version) {
        UPLOAD_LIMIT_NEW
    } else {
        UPLOAD_LIMIT_OLD
    };
    if data.len() > limit {
        return storage_error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload is larger than the maximum object size specified in your Policy Document.",
        );
    }
    staged.data = Some(Bytes::copy_from_slice(data));
    StatusCode::CREATED.into_response()
}

/// `POST /_sim/staged-uploads/`: a form upload, the file last, as to Google Cloud Storage.
pub(crate) async fn upload_form(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bulk = shared.bulk.clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let resp = match parse_multipart(content_type, &body) {
        Err(e) => storage_error(StatusCode::BAD_REQUEST, "InvalidArgument", &e),
        Ok(parts) => {
            let field = |n: &str| {
                parts
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(n))
                    .map(|p| String::from_utf8_lossy(p.data).to_string())
            };
            let file_last = parts.last().is_some_and(|p| p.name == "file");
            match (field("key"), file_last) {
                (None, _) => storage_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "Missing the key form field.",
                ),
                (_, false) => storage_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "The file form field must come last.",
                ),
                (Some(key), true) => {
                    let data = parts.last().map(|p| p.data).unwrap_or_default();
                    let resp =
                        accept_upload(&bulk, &key, field("x-goog-signature").as_deref(), data);
                    let wanted = field("success_action_status").unwrap_or_default();
                    if resp.status() == StatusCode::CREATED && wanted != "201" {
                        StatusCode::NO_CONTENT.into_response()
                    } else if resp.status() == StatusCode::CREATED {
                        let base = bulk.lock().base_url.clone();
                        let xml = format!(
                            "<?xml version='1.0' encoding='UTF-8'?><PostResponse><Location>{base}/_sim/staged-uploads/{key}</Location><Bucket>shopify-staged-uploads</Bucket><Key>{key}</Key><ETag>\"{}\"</ETag></PostResponse>",
                            hash_hex(data)
                        );
                        (
                            StatusCode::CREATED,
                            [("content-type", "application/xml; charset=UTF-8")],
                            xml,
                        )
                            .into_response()
                    } else {
                        resp
                    }
                }
            }
        }
    };
    bulk.log(Transfer {
        method: "POST",
        path: "/_sim/staged-uploads/".into(),
        access_token_sent: token_sent(&headers),
        status: resp.status().as_u16(),
    });
    resp
}

/// `PUT /_sim/staged-uploads/{key}?X-Goog-Signature=..`: a signed PUT upload.
pub(crate) async fn upload_put(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bulk = shared.bulk.clone();
    let signature = query
        .as_deref()
        .and_then(|q| query_param(q, "X-Goog-Signature"));
    let resp = match accept_upload(&bulk, &key, signature, &body) {
        r if r.status() == StatusCode::CREATED => StatusCode::OK.into_response(),
        r => r,
    };
    bulk.log(Transfer {
        method: "PUT",
        path: format!("/_sim/staged-uploads/{key}"),
        access_token_sent: token_sent(&headers),
        status: resp.status().as_u16(),
    });
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_slashes_as_shopify_does() {
        let mut out = vec![];
        shopify_json_line(
            &json!({"id": "gid://shopify/Product/1", "t": "a\"/b"}),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":\"gid:\\/\\/shopify\\/Product\\/1\",\"t\":\"a\\\"\\/b\"}\n"
        );
    }

    #[test]
    fn multipart_forms_parse() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntmp/a.jsonl\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\nContent-Type: text/jsonl\r\n\r\n{\"a\":1}\n\r\n--XX--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XX", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "key");
        assert_eq!(parts[0].data, b"tmp/a.jsonl");
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].data, b"{\"a\":1}\n");
        assert!(parse_multipart("text/plain", body).is_err());
        assert!(parse_multipart("multipart/form-data; boundary=XX", b"--XX\r\nbroken").is_err());
    }

    #[test]
    fn query_restrictions_are_enforced() {
        let schema = admin_schema(SchemaVersion::V2026_07);
        let plan = |q: &str| {
            let doc = ExecutableDocument::parse_and_validate(schema, q, "q.graphql").unwrap();
            QueryPlan::of(schema, &doc)
        };
        assert!(
            plan("{ products { edges { node { id variants { edges { node { id } } } } } } }")
                .is_ok()
        );
        assert!(plan("{ products { nodes { id collections { nodes { id } } } } }").is_ok());
        assert!(plan("{ shop { name } }")
            .unwrap_err()
            .contains("connection"));
        assert!(
            plan("{ products { nodes { id } } collections { nodes { id } } }")
                .unwrap_err()
                .contains("one top-level")
        );
        assert!(plan("{ collections { nodes { id products { nodes { id collections { nodes { id } } } } } } }")
            .unwrap_err()
            .contains("nested"));
        assert!(plan("{ products { nodes { variants { nodes { id } } } } }")
            .unwrap_err()
            .contains("`id`"));
    }
}
