//! Fault injection: make the next requests fail the way real networks and real Shopify
//! fail, so clients can be tested against them over real HTTP.
//!
//! Faults queue up and each is used by one GraphQL request, in order. Queue them with
//! [`crate::Simulator::inject`] or `POST /_sim/faults` with a JSON list, e.g.
//! `[{"kind": "status", "status": 503}, {"kind": "stall", "ms": 5000}]`. With
//! [`crate::SimConfig::fault_rate`] above zero, requests with no queued fault fail at
//! that rate with a fault drawn from a fixed mix (502 and 503 with HTML bodies,
//! `INTERNAL_SERVER_ERROR`, 429 with `Retry-After`, resets, truncated JSON, lost
//! responses after execution, HTML instead of JSON), deterministic by
//! [`crate::SimConfig::fault_seed`].
//!
//! Each fault used is recorded with whether the request ran before it struck
//! ([`FaultRecord::executed`]): a mutation hit by a fault that does not execute wrote
//! nothing; one hit after executing wrote, and only its response was lost. Tests read
//! the log ([`crate::Simulator::fault_log`], `GET /_sim/faults`) to prove exactly-once
//! behaviour.
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
    /// Answer 200 with Shopify's `INTERNAL_SERVER_ERROR` GraphQL error, without executing.
    InternalError,
    /// Wait this long before handling the request.
    Stall {
        /// Milliseconds.
        ms: u64,
    },
}

/// A fault that was used, and whether the request behind it was executed (a mutation's
/// effect written) before the failure was returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// The fault.
    pub fault: Fault,
    /// `true` when the request ran (its writes happened) and only the response failed.
    pub executed: bool,
}

impl Fault {
    /// Whether the request runs before this fault strikes.
    pub fn executes(&self) -> bool {
        matches!(
            self,
            Fault::AfterExecute { .. } | Fault::Truncate | Fault::Reset | Fault::Stall { .. }
        )
    }
}

/// Queued faults, plus random ones at a rate, deterministic by seed.
#[derive(Debug)]
pub(crate) struct FaultPlan {
    queue: std::collections::VecDeque<Fault>,
    rate: f64,
    /// The catalog's generator: stable across platforms, so a seed replays.
    rng: crate::catalog::Rng,
    log: Vec<FaultRecord>,
}

impl FaultPlan {
    pub(crate) fn new(rate: f64, seed: u64) -> FaultPlan {
        FaultPlan {
            queue: Default::default(),
            rate,
            rng: crate::catalog::Rng(seed),
            log: vec![],
        }
    }

    pub(crate) fn push(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.queue.extend(faults);
    }

    pub(crate) fn set_rate(&mut self, rate: f64) {
        self.rate = rate.clamp(0.0, 1.0);
    }

    pub(crate) fn log(&self) -> &[FaultRecord] {
        &self.log
    }

    fn random(&mut self) -> u64 {
        self.rng.next()
    }

    /// The fault for the next request, if any: a queued one first, else one drawn at the
    /// configured rate from the mix real networks and Shopify produce.
    pub(crate) fn next(&mut self) -> Option<Fault> {
        let fault = match self.queue.pop_front() {
            Some(f) => f,
            None if self.rate > 0.0 && (self.random() as f64 / u64::MAX as f64) < self.rate => {
                match self.random() % 8 {
                    0 => Fault::Status {
                        status: 502,
                        body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
                        retry_after: None,
                    },
                    1 => Fault::Status {
                        status: 503,
                        body: "<html><body><h1>503 Service Unavailable</h1></body></html>".into(),
                        retry_after: None,
                    },
                    2 => Fault::InternalError,
                    3 => Fault::Status {
                        status: 429,
                        body: String::new(),
                        retry_after: Some("0.05".into()),
                    },
                    4 => Fault::Reset,
                    5 => Fault::Truncate,
                    6 => Fault::AfterExecute { status: 502 },
                    _ => Fault::NotJson,
                }
            }
            None => return None,
        };
        self.log.push(FaultRecord {
            executed: fault.executes(),
            fault: fault.clone(),
        });
        Some(fault)
    }
}
