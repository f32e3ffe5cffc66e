//! Request statistics: what a test or a benchmark asks the simulator after a run
//! ("how many THROTTLED answers did the client provoke?").
use serde::Serialize;
use std::time::Instant;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Executed.
    Ok,
    /// Refused: the bucket could not cover the requested cost.
    Throttled,
    /// Refused: the document's cost is over the single-query limit.
    MaxCostExceeded,
    /// Refused: the document or its variables did not validate.
    Invalid,
    /// Refused: wrong or missing access token.
    Unauthorized,
    /// Refused: unknown API version or unreadable body.
    BadRequest,
}

/// Counters, serialised by `GET /_sim/stats` in camelCase.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request to the GraphQL endpoint.
    pub requests: u64,
    /// Requests executed.
    pub ok: u64,
    /// Requests answered `THROTTLED`.
    pub throttled: u64,
    /// Requests refused for their cost.
    pub max_cost_exceeded: u64,
    /// Requests refused by validation.
    pub invalid: u64,
    /// Requests refused for their token.
    pub unauthorized: u64,
    /// Requests refused for their version or body.
    pub bad_request: u64,
    /// Requests that used an injected fault.
    pub faults: u64,
    /// Sum of `requestedQueryCost` over executed requests.
    pub cost_requested: u64,
    /// Sum of `actualQueryCost` over executed requests.
    pub cost_actual: u64,
    /// Sum of `requestedQueryCost` over throttled requests.
    pub cost_refused: u64,
    /// The lowest `currentlyAvailable` seen after a request.
    pub lowest_available: Option<u64>,
    /// Points actually spent over points that could have been spent since start
    /// (the initial bucket plus everything restored): 1.0 means the client used the
    /// whole budget.
    pub bucket_utilisation: f64,
    /// Seconds since the simulator started.
    pub uptime_seconds: f64,
}

/// The live counters.
#[derive(Debug)]
pub(crate) struct Recorder {
    stats: Stats,
    started: Instant,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            stats: Stats::default(),
            started: Instant::now(),
        }
    }

    pub(crate) fn record(&mut self, outcome: Outcome) {
        let s = &mut self.stats;
        s.requests += 1;
        match outcome {
            Outcome::Ok => s.ok += 1,
            Outcome::Throttled => s.throttled += 1,
            Outcome::MaxCostExceeded => s.max_cost_exceeded += 1,
            Outcome::Invalid => s.invalid += 1,
            Outcome::Unauthorized => s.unauthorized += 1,
            Outcome::BadRequest => s.bad_request += 1,
        }
    }

    pub(crate) fn fault(&mut self) {
        self.stats.faults += 1;
    }

    pub(crate) fn cost(&mut self, requested: u32, actual: u32, available: u64) {
        let s = &mut self.stats;
        s.cost_requested += u64::from(requested);
        s.cost_actual += u64::from(actual);
        s.lowest_available = Some(s.lowest_available.map_or(available, |l| l.min(available)));
    }

    pub(crate) fn cost_requested_throttled(&mut self, requested: u32) {
        self.stats.cost_refused += u64::from(requested);
    }

    pub(crate) fn snapshot(&self, bucket_size: f64, restore_rate: f64) -> Stats {
        let mut s = self.stats.clone();
        s.uptime_seconds = self.started.elapsed().as_secs_f64();
        let possible = bucket_size + restore_rate * s.uptime_seconds;
        s.bucket_utilisation = if possible > 0.0 {
            s.cost_actual as f64 / possible
        } else {
            0.0
        };
        s
    }
}
