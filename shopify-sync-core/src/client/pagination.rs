//! Cursor pagination as a [`Stream`]: one request per page, items yielded one by one,
//! the next page asked for only when the consumer gets there.
//!
//! ```no_run
//! # async fn demo(client: shopify_sync::client::ShopifyClient) -> shopify_sync::error::Result<()> {
//! use futures::TryStreamExt;
//! use shopify_sync::client::pagination::{paginate, Connection};
//! let doc = "query($first: Int!, $after: String) { products(first: $first, after: $after) {
//!              nodes { id title } pageInfo { hasNextPage endCursor } } }";
//! let titles: Vec<serde_json::Value> =
//!     paginate(client, Connection::new(doc, &["products"])).try_collect().await?;
//! # Ok(()) }
//! ```
use super::ShopifyClient;
use crate::error::{Error, ErrorKind, Result};
use futures::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Largest page Shopify serves.
pub const MAX_PAGE_SIZE: u32 = 250;

/// A connection to walk: a document taking `$first: Int` and `$after: String`, the path
/// of the connection in `data`, and any other variables (an `after` among them is where
/// the walk starts).
#[derive(Debug, Clone)]
pub struct Connection {
    document: String,
    path: Vec<String>,
    variables: Value,
    page_size: Option<u32>,
}

impl Connection {
    /// A connection at `path` (e.g. `["products"]`, `["collection", "products"]`).
    pub fn new(document: impl Into<String>, path: &[&str]) -> Connection {
        Connection {
            document: document.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
            variables: json!({}),
            page_size: None,
        }
    }

    /// Other variables of the document.
    pub fn variables(mut self, variables: Value) -> Connection {
        self.variables = variables;
        self
    }

    /// A fixed page size instead of the largest one whose cost fits the limit.
    pub fn page_size(mut self, n: u32) -> Connection {
        self.page_size = Some(n.clamp(1, MAX_PAGE_SIZE));
        self
    }
}

/// Decode `value` into `T`; a failure names the JSON path that failed, under `at`.
pub(crate) fn decode<T: DeserializeOwned>(value: Value, at: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("{at}.{}", e.path());
        Error::new(
            ErrorKind::Decode,
            format!("unexpected response shape at {path}: {}", e.inner()),
        )
        .with_json_path(path)
    })
}

/// The largest page size (at most 250, halving) whose requested cost fits the client's
/// single-query limit.
pub(crate) fn fitting_page_size(
    client: &ShopifyClient,
    document: &str,
    variables: &Value,
) -> Result<u32> {
    let limit = client.config().throttle.max_query_cost;
    let mut n = MAX_PAGE_SIZE;
    loop {
        let mut vars = variables.clone();
        vars["first"] = json!(n);
        if client.requested_cost(document, &vars)? <= limit || n == 1 {
            return Ok(n);
        }
        n /= 2;
    }
}

struct State {
    client: ShopifyClient,
    conn: Connection,
    first: Option<u32>,
    after: Option<String>,
    done: bool,
}

/// Walk every node of a connection, page by page, as a stream of `T`.
pub fn paginate<T: DeserializeOwned + Send + 'static>(
    client: ShopifyClient,
    conn: Connection,
) -> impl Stream<Item = Result<T>> + Send {
    // A cursor already among the variables is where the walk starts.
    let after = conn
        .variables
        .get("after")
        .and_then(Value::as_str)
        .map(String::from);
    let state = State {
        client,
        conn,
        first: None,
        after,
        done: false,
    };
    stream::try_unfold(state, |mut s| async move {
        if s.done {
            return Ok(None);
        }
        let first = match s.first.or(s.conn.page_size) {
            Some(n) => n,
            None => fitting_page_size(&s.client, &s.conn.document, &s.conn.variables)?,
        };
        s.first = Some(first);
        let mut vars = s.conn.variables.clone();
        vars["first"] = json!(first);
        vars["after"] = json!(s.after);
        let resp = s.client.graphql(&s.conn.document, vars).await?;
        if let Some(e) = resp.errors.first() {
            return Err(Error::new(
                ErrorKind::Graphql,
                format!("Shopify answered a page with errors: {}", e.message),
            )
            .with_graphql_errors(resp.errors.clone())
            .with_request_id(resp.request_id.clone()));
        }
        let mut at = resp.data;
        let mut where_ = String::from("data");
        for key in &s.conn.path {
            at = at.get(key).cloned().unwrap_or(Value::Null);
            where_ = format!("{where_}.{key}");
        }
        if at.is_null() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{where_} is null: the parent object does not exist"),
            ));
        }
        let nodes = match at.get("nodes") {
            Some(n) => n.clone(),
            None => Value::Array(
                at.get("edges")
                    .and_then(Value::as_array)
                    .map(|edges| {
                        edges
                            .iter()
                            .filter_map(|e| e.get("node").cloned())
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        let items: Vec<T> = decode(nodes, &format!("{where_}.nodes"))?;
        let has_next = at
            .pointer("/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        s.after = at
            .pointer("/pageInfo/endCursor")
            .and_then(Value::as_str)
            .map(String::from);
        s.done = !has_next || s.after.is_none();
        Ok(Some((stream::iter(items.into_iter().map(Ok)), s)))
    })
    .try_flatten()
}
