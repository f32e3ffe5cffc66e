//! The HTTP side: `POST /admin/api/{version}/graphql.json` answered as Shopify answers
//! it (auth, validation, cost, throttling, execution), plus the simulator's own
//! endpoints under `/_sim/` (statistics, state dump, out-of-band edits), and the bulk
//! operations' storage endpoints (signed downloads, staged uploads; see [`crate::bulk`]).
use crate::faults::Fault;
use crate::objects::Ctx;
use crate::stats::Outcome;
use crate::Shared;
use apollo_compiler::executable::OperationType;
use apollo_compiler::resolvers::Execution;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use shopify_sync::client::cost;
use shopify_sync::schema::{admin_schema, SchemaVersion};
use std::sync::Arc;
use std::time::Instant;

/// Shopify's body for a wrong or missing access token.
pub const INVALID_TOKEN_BODY: &str =
    r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .route("/_sim/stats", get(stats))
        .route("/_sim/dump", get(dump))
        .route("/_sim/products/{id}", post(edit_product))
        .route("/_sim/faults", post(inject_faults).get(fault_log))
        .route("/_sim/storage/bulk/{file}", get(crate::bulk::download))
        .route(
            "/_sim/staged-uploads/",
            post(crate::bulk::upload_form)
                .layer(DefaultBodyLimit::max(crate::bulk::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/_sim/staged-uploads/{*key}",
            axum::routing::put(crate::bulk::upload_put)
                .layer(DefaultBodyLimit::max(crate::bulk::UPLOAD_BODY_LIMIT)),
        )
        .with_state(shared)
}

fn json_response(
    status: StatusCode,
    body: Value,
    request_id: &str,
    version: Option<&str>,
) -> Response {
    let mut resp = (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert("x-shopify-api-version", v);
    }
    resp
}

/// The parts of a GraphQL request body.
struct Request {
    query: String,
    operation_name: Option<String>,
    variables: Map<String, Value>,
}

/// Read a body as Shopify does: JSON `{query, variables, operationName}`, or a bare
/// document with `Content-Type: application/graphql`.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Option<Request> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/graphql") {
        let query = std::str::from_utf8(body).ok()?.to_string();
        return Some(Request {
            query,
            operation_name: None,
            variables: Map::new(),
        });
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let query = v.get("query")?.as_str()?.to_string();
    let operation_name = v
        .get("operationName")
        .and_then(Value::as_str)
        .map(String::from);
    let variables = match v.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => serde_json::from_str(s).ok()?,
        Some(_) => return None,
    };
    Some(Request {
        query,
        operation_name,
        variables,
    })
}

async fn graphql(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .next();
    let Some(fault) = fault else {
        return execute(State(shared), Path(version), headers, body).await;
    };
    shared
        .stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .fault();
    let html = |status: u16| {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let page = format!(
            "<html><body><h1>{status} {}</h1></body></html>",
            code.canonical_reason().unwrap_or("")
        );
        (code, [("content-type", "text/html")], page).into_response()
    };
    match fault {
        Fault::Stall { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            execute(State(shared), Path(version), headers, body).await
        }
        Fault::Status {
            status,
            body,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (code, body).into_response();
            if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                resp.headers_mut().insert("retry-after", v);
            }
            resp
        }
        Fault::NotJson => html(200),
        Fault::InternalError => {
            let body = json!({"errors": [{
                "message": "Internal error. Looks like something went wrong on our end.\nRequest ID: 00000000-0000-0000-0000-000000000000 (include this in support requests).",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "00000000-0000-0000-0000-000000000000"}
            }]});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Fault::AfterExecute { status } => {
            let _ = execute(State(shared), Path(version), headers, body).await;
            html(status)
        }
        Fault::Truncate | Fault::Reset => {
            let resp = execute(State(shared), Path(version), headers, body).await;
            let (parts, full) = resp.into_parts();
            let bytes = axum::body::to_bytes(full, usize::MAX)
                .await
                .unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            if matches!(fault, Fault::Truncate) {
                let mut parts = parts;
                parts.headers.remove("content-length");
                return Response::from_parts(parts, axum::body::Body::from(half));
            }
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                )),
            ];
            let mut parts = parts;
            parts.headers.remove("content-length");
            Response::from_parts(
                parts,
                axum::body::Body::from_stream(futures::stream::iter(chunks)),
            )
        }
    }
}

async fn execute(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = shared.next_request_id();
    let respond = |status, body: Value, outcome| {
        shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(outcome);
        json_response(status, body, &request_id, Some(&version))
    };
    let Some(schema_version) = SchemaVersion::for_api_version(&version) else {
        return respond(
            StatusCode::NOT_FOUND,
            json!({"errors": "Not Found"}),
            Outcome::BadRequest,
        );
    };
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(shared.config.access_token.as_str()) {
        let body: Value = serde_json::from_str(INVALID_TOKEN_BODY).expect("constant JSON");
        return respond(StatusCode::UNAUTHORIZED, body, Outcome::Unauthorized);
    }
    let Some(req) = parse_body(&headers, &body) else {
        return respond(
            StatusCode::BAD_REQUEST,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
            Outcome::BadRequest,
        );
    };
    let schema = admin_schema(schema_version);
    let valid = match crate::validate::validate_request(
        schema,
        &req.query,
        req.operation_name.as_deref(),
        &req.variables,
    ) {
        Ok(v) => v,
        Err(errors) => return respond(StatusCode::OK, json!({"errors": errors}), Outcome::Invalid),
    };
    let requested = match cost::requested_cost(
        schema,
        &valid.document,
        req.operation_name.as_deref(),
        &req.variables,
    ) {
        Ok(c) => c,
        Err(e) => {
            return respond(
                StatusCode::OK,
                json!({"errors": [{"message": e.to_string()}]}),
                Outcome::Invalid,
            )
        }
    };
    let now = Instant::now();
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    if requested > shared.config.max_query_cost {
        let status = state.bucket.status(now);
        drop(state);
        let max = shared.config.max_query_cost;
        let message = format!(
            "Query cost is {requested}, which exceeds the single query max cost limit ({max}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
        );
        let body = json!({
            "errors": [{"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": max}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status}},
        });
        return respond(StatusCode::OK, body, Outcome::MaxCostExceeded);
    }
    if let Err(status) = state.bucket.try_take(requested, now) {
        drop(state);
        shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cost_requested_throttled(requested);
        let body = json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status}},
        });
        return respond(StatusCode::OK, body, Outcome::Throttled);
    }
    let oversized = crate::validate::check_input_sizes(schema, &valid);
    if !oversized.is_empty() {
        // Shopify raises these while executing: the requested cost stays spent.
        let status = state.bucket.status(now);
        let body = json!({
            "errors": oversized,
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status}},
        });
        drop(state);
        return respond(StatusCode::OK, body, Outcome::Invalid);
    }
    let state = &mut *state;
    state.store.run_due_jobs(now);
    let operation = match valid.document.operations.get(req.operation_name.as_deref()) {
        Ok(op) => op,
        Err(e) => {
            return respond(
                StatusCode::OK,
                json!({"errors": [{"message": e.message().to_string()}]}),
                Outcome::Invalid,
            )
        }
    };
    let lag = shared.config.index_lag;
    let horizon = (!lag.is_zero())
        .then(|| crate::clock::Timestamp::now().plus_secs(-(lag.as_secs_f64().ceil() as i64)));
    let ctx = Ctx::new(&mut state.store, &shared.config.shop)
        .with_index_horizon(horizon)
        .with_api_version(&version);
    let exec = Execution::new(schema, &valid.document)
        .operation(operation)
        .coerced_variable_values(&valid.variables);
    let root = match operation.operation_type {
        OperationType::Mutation => ctx.mutation_root(),
        _ => ctx.query_root(),
    };
    let result = exec.execute_sync(&root);
    drop(root);
    drop(ctx);
    crate::bulk::start_pending(&shared, state.store.bulk());
    let mut body = match result {
        Ok(resp) => serde_json::to_value(&resp).unwrap_or(Value::Null),
        Err(e) => json!({"errors": [{"message": e.message().to_string()}]}),
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let actual = shopify_sync::client::cost::actual_cost(
        schema,
        &valid.document,
        req.operation_name.as_deref(),
        &req.variables,
        &data,
    )
    .unwrap_or(requested)
    .min(requested);
    state.bucket.refund(requested - actual, now);
    let status = state.bucket.status(now);
    let obj = body.as_object_mut().expect("a response is an object");
    obj.insert(
        "extensions".into(),
        json!({"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}),
    );
    let mut stats = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
    stats.cost(requested, actual, status.currently_available);
    drop(stats);
    respond(StatusCode::OK, body, Outcome::Ok)
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.stats_snapshot()).into_response()
}

async fn dump(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(
        shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .store
            .dump(),
    )
    .into_response()
}

async fn edit_product(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let fields: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "body must be a JSON object of product fields"})),
            )
                .into_response()
        }
    };
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    match state.store.edit_product(id, &fields) {
        Ok(p) => axum::Json(serde_json::to_value(p).unwrap_or(Value::Null)).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": e})),
        )
            .into_response(),
    }
}

async fn inject_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<Fault>>(&body) {
        Ok(faults) => {
            let n = faults.len();
            shared
                .faults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(faults);
            axum::Json(json!({"queued": n})).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("expected a JSON list of faults: {e}")})),
        )
            .into_response(),
    }
}

async fn fault_log(State(shared): State<Arc<Shared>>) -> Response {
    let log = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .log()
        .to_vec();
    axum::Json(log).into_response()
}
