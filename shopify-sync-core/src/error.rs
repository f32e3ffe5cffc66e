//! One error type for the whole library: a [`ErrorKind`], a retry verdict, and the
//! context a caller needs to act on it (request id, GraphQL errors with paths,
//! `userErrors` with field paths and codes, the JSON path that failed to decode).
//!
//! ```
//! use shopify_sync::error::{Error, ErrorKind};
//! let e = Error::not_configured("SHOPIFY_SHOP");
//! assert_eq!(e.kind(), ErrorKind::NotConfigured);
//! assert!(!e.is_retryable());
//! assert!(e.to_string().contains("SHOPIFY_SHOP"));
//! ```
use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, coarsely: what a caller branches on. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required setting is missing (the dashboard's "Shopify integration not configured").
    NotConfigured,
    /// The caller passed something unusable: a malformed shop domain, API version, id ...
    InvalidInput,
    /// The access token was refused (HTTP 401 or 403).
    Auth,
    /// Shopify throttled the request and retrying was not allowed or ran out.
    Throttled,
    /// The connection failed or was reset.
    Transport,
    /// No response within the configured time.
    Timeout,
    /// Shopify answered 5xx or `INTERNAL_SERVER_ERROR`.
    Server,
    /// Shopify answered with GraphQL errors (invalid document, field errors ...).
    Graphql,
    /// A mutation ran and answered `userErrors`: nothing was changed.
    UserErrors,
    /// The object asked for does not exist.
    NotFound,
    /// The response could not be decoded (truncated, not JSON, unexpected shape).
    Decode,
    /// A write may or may not have happened (timeout or reset after sending, 5xx) and was
    /// not retried because it is not idempotent: read the remote state to reconcile.
    OutcomeUnknown,
    /// The document costs more than Shopify's single-query limit.
    CostExceeded,
    /// The operation was cancelled by the caller.
    Cancelled,
}

impl ErrorKind {
    /// The snake_case name used in JSON, Python exception names and JS error codes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotConfigured => "not_configured",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Auth => "auth",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Server => "server",
            ErrorKind::Graphql => "graphql",
            ErrorKind::UserErrors => "user_errors",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Decode => "decode",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::CostExceeded => "cost_exceeded",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One GraphQL error from a response's `errors` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphqlError {
    /// The message.
    pub message: String,
    /// Response path (`["products", "nodes", 0, "title"]`), when the error is a field error.
    #[serde(default)]
    pub path: Vec<serde_json::Value>,
    /// `extensions.code`, e.g. `THROTTLED`, `undefinedField`, `ACCESS_DENIED`.
    #[serde(default)]
    pub code: Option<String>,
}

impl GraphqlError {
    /// Read one entry of a Shopify response's `errors` array (`message`, `path`,
    /// `extensions.code`); anything missing reads as empty.
    pub fn from_response(e: &serde_json::Value) -> GraphqlError {
        GraphqlError {
            message: e
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("(no message)")
                .to_string(),
            path: e
                .get("path")
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default(),
            code: e
                .pointer("/extensions/code")
                .and_then(|c| c.as_str())
                .map(String::from),
        }
    }
}

/// One entry of a mutation payload's `userErrors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "variants", "0", "price"]`.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// Shopify's message.
    pub message: String,
    /// The error code, when the payload's error type has one.
    #[serde(default)]
    pub code: Option<String>,
}

/// The library's error. Small (one pointer), so results stay cheap to return.
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    request_id: Option<String>,
    graphql_errors: Vec<GraphqlError>,
    user_errors: Vec<UserError>,
    json_path: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind)
            .field("message", &i.message)
            .field("retryable", &i.retryable);
        if let Some(id) = &i.request_id {
            d.field("request_id", id);
        }
        if !i.graphql_errors.is_empty() {
            d.field("graphql_errors", &i.graphql_errors);
        }
        if !i.user_errors.is_empty() {
            d.field("user_errors", &i.user_errors);
        }
        if let Some(p) = &i.json_path {
            d.field("json_path", p);
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// A new error. Retryability defaults from the kind (transport, timeout, server and
    /// throttled are retryable); see [`Error::with_retryable`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let retryable = matches!(
            kind,
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::Throttled
        );
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                retryable,
                request_id: None,
                graphql_errors: vec![],
                user_errors: vec![],
                json_path: None,
                source: None,
            }),
        }
    }

    /// A missing setting, naming the environment variable that would provide it.
    pub fn not_configured(variable: &str) -> Error {
        Error::new(
            ErrorKind::NotConfigured,
            format!("Shopify integration not configured: set {variable}"),
        )
    }

    /// Invalid caller input.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// What went wrong, coarsely.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// Shopify's `X-Request-Id` for the failed request, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// GraphQL errors of the response.
    pub fn graphql_errors(&self) -> &[GraphqlError] {
        &self.inner.graphql_errors
    }

    /// `userErrors` of a mutation payload.
    pub fn user_errors(&self) -> &[UserError] {
        &self.inner.user_errors
    }

    /// For decode errors, the JSON path that failed (e.g. `data.products.nodes[3].price`).
    pub fn json_path(&self) -> Option<&str> {
        self.inner.json_path.as_deref()
    }

    /// Set the retry verdict.
    pub fn with_retryable(mut self, retryable: bool) -> Error {
        self.inner.retryable = retryable;
        self
    }

    /// Attach the request id.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Error {
        self.inner.request_id = request_id;
        self
    }

    /// Attach GraphQL errors.
    pub fn with_graphql_errors(mut self, errors: Vec<GraphqlError>) -> Error {
        self.inner.graphql_errors = errors;
        self
    }

    /// Attach user errors.
    pub fn with_user_errors(mut self, errors: Vec<UserError>) -> Error {
        self.inner.user_errors = errors;
        self
    }

    /// Attach the JSON path that failed to decode.
    pub fn with_json_path(mut self, path: impl Into<String>) -> Error {
        self.inner.json_path = Some(path.into());
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// The same error, marked as not retryable: what a retry layer returns once its
    /// attempts or time budget run out, so that no outer layer retries it again.
    pub fn persistent(self) -> Error {
        self.with_retryable(false)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_carry_a_default_retry_verdict() {
        assert!(Error::new(ErrorKind::Timeout, "t").is_retryable());
        assert!(Error::new(ErrorKind::Server, "s").is_retryable());
        assert!(!Error::new(ErrorKind::OutcomeUnknown, "o").is_retryable());
        assert!(!Error::new(ErrorKind::Server, "s")
            .persistent()
            .is_retryable());
    }

    #[test]
    fn kind_names_are_snake_case_everywhere() {
        assert_eq!(
            serde_json::to_string(&ErrorKind::OutcomeUnknown).unwrap(),
            "\"outcome_unknown\""
        );
        assert_eq!(ErrorKind::UserErrors.as_str(), "user_errors");
    }
}
