//! Fault injection: make the next requests fail the way real networks and real Shopify
//! fail, so clients can be tested against them over real HTTP.
//!
//! Faults queue up and each is used by one GraphQL request, in order. Queue them with
//! [`crate::Simulator::inject`] or `POST /_sim/faults` with a JSON list, e.g.
//! `[{"kind": "status", "status": 503}, {"kind": "stall", "ms": 5000}]`.
use serde::{Deserialize, Serialize};

/// One injected failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status and body without executing (e.g. 503, or 429 with a
    /// `Retry-After`).
    Status {
        /// HTTP status.
        status: u16,
        /// Response body (default empty).
        #[serde(default)]
        body: String,
        /// The `Retry-After` header, verbatim (seconds, possibly fractional or garbage).
        #[serde(default)]
        retry_after: Option<String>,
    },
    /// Execute the request (a mutation is applied), then answer with this status as if
    /// the response were lost: the client cannot know the outcome.
    AfterExecute {
        /// HTTP status (e.g. 502).
        status: u16,
    },
    /// Execute, then answer 200 with only the first half of the JSON body.
    Truncate,
    /// Execute, then send part of the body and reset the connection.
    Reset,
    /// Answer 200 with an HTML error page instead of JSON, without executing.
    NotJson,
    /// Wait this long before handling the request.
    Stall {
        /// Milliseconds.
        ms: u64,
    },
}
