//! The executor's events: what happened, in order, in one JSON shape for every language.
//!
//! Every [`Event`] carries the operation id (one per executor run, for per-operation
//! WebSocket rooms), a sequence number (from 1, strictly increasing within the
//! operation) and a timestamp (RFC 3339, UTC, milliseconds), and serialises to a flat
//! JSON object tagged by `type`, in snake_case:
//!
//! ```json
//! {"operation_id":"op-1","seq":3,"timestamp":"2026-07-01T12:00:00.250Z",
//!  "type":"job_started","job_id":1,"key":"product:1","attempt":1}
//! ```
//!
//! `tests/vectors/events.json` holds an example of every type with its exact JSON; the
//! Python and Node bindings check that they emit the same shapes.
use super::job::{Effect, JobId, Priority};
use crate::error::{Error, ErrorKind};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One event of an operation. See the [module documentation](self).
///
/// ```
/// use shopify_sync::executor::{Event, EventKind};
/// let json = r#"{"operation_id":"op-1","seq":7,"timestamp":"2026-07-01T12:00:00.000Z","type":"paused"}"#;
/// let event: Event = serde_json::from_str(json).unwrap();
/// assert_eq!(event.seq(), 7);
/// assert!(matches!(event.kind(), EventKind::Paused { .. }));
/// assert_eq!(event.type_name(), "paused");
/// assert_eq!(serde_json::to_string(&event).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    operation_id: String,
    seq: u64,
    #[serde(with = "timestamp")]
    timestamp: DateTime<Utc>,
    #[serde(flatten)]
    kind: EventKind,
}

impl Event {
    pub(crate) fn new(operation_id: &str, seq: u64, kind: EventKind) -> Event {
        Event {
            operation_id: operation_id.to_string(),
            seq,
            timestamp: Utc::now().trunc_subsecs(3),
            kind,
        }
    }

    #[cfg(test)]
    pub(crate) fn at(operation_id: &str, seq: u64, timestamp: &str, kind: EventKind) -> Event {
        Event {
            operation_id: operation_id.to_string(),
            seq,
            timestamp: DateTime::parse_from_rfc3339(timestamp)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            kind,
        }
    }

    /// The operation's id.
    pub fn operation_id(&self) -> &str {
        &self.operation_id
    }

    /// The sequence number: from 1, strictly increasing within the operation. A
    /// subscriber that was sent fewer events than were emitted (dropped `progress`
    /// events, or subscribed late) sees gaps.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When it happened (UTC, millisecond precision).
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }

    /// What happened.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// What happened, by value.
    pub fn into_kind(self) -> EventKind {
        self.kind
    }

    /// The `type` tag (`"job_started"` ...).
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

/// What happened. Fields are snake_case in JSON; durations are whole milliseconds
/// (`*_ms`). New event types and fields may be added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The executor started: always the first event.
    #[non_exhaustive]
    OperationStarted {
        /// Smallest pool size.
        min_workers: usize,
        /// Largest pool size.
        max_workers: usize,
        /// Bound of the queue.
        queue_capacity: usize,
    },
    /// A job was admitted to the queue.
    #[non_exhaustive]
    JobQueued {
        /// The job.
        job_id: JobId,
        /// Its deduplication key.
        key: Option<String>,
        /// Its priority.
        priority: Priority,
        /// Its estimated cost in budget points.
        estimated_cost: u32,
    },
    /// An attempt started.
    #[non_exhaustive]
    JobStarted {
        /// The job.
        job_id: JobId,
        /// Its key.
        key: Option<String>,
        /// The attempt, from 1.
        attempt: u32,
    },
    /// A job succeeded: its effect is done.
    #[non_exhaustive]
    JobSucceeded {
        /// The job.
        job_id: JobId,
        /// Its key.
        key: Option<String>,
        /// The attempt that succeeded.
        attempt: u32,
        /// How long that attempt ran.
        elapsed_ms: u64,
    },
    /// An attempt failed with a retryable error; the job runs again after the backoff.
    #[non_exhaustive]
    JobRetrying {
        /// The job.
        job_id: JobId,
        /// Its key.
        key: Option<String>,
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        backoff_ms: u64,
        /// Why it failed.
        error: ErrorInfo,
    },
    /// A job failed for good: its last error, and what that means for its effect.
    #[non_exhaustive]
    JobFailed {
        /// The job.
        job_id: JobId,
        /// Its key.
        key: Option<String>,
        /// The last attempt.
        attempt: u32,
        /// Its effect.
        effect: Effect,
        /// The last error.
        error: ErrorInfo,
    },
    /// A job was cancelled (dropped from the queue, not retried, or stopped while
    /// running), with its effect.
    #[non_exhaustive]
    JobCancelled {
        /// The job.
        job_id: JobId,
        /// Its key.
        key: Option<String>,
        /// Its effect.
        effect: Effect,
    },
    /// The next job waits for the rate budget: once per episode of waiting.
    #[non_exhaustive]
    Throttled {
        /// How long the budget says to wait.
        wait_ms: u64,
        /// The cost the next job needs.
        cost: u32,
        /// Points available to it now.
        available: f64,
    },
    /// The worker pool changed size.
    #[non_exhaustive]
    WorkersScaled {
        /// Workers before.
        from: usize,
        /// Workers after.
        to: usize,
        /// Why.
        reason: ScaleReason,
    },
    /// Counts, rate and ETA. Coalesced for slow subscribers; the last one before
    /// `finished` is always delivered.
    Progress(Progress),
    /// No new job starts until resumed; running ones go on.
    #[non_exhaustive]
    Paused {},
    /// Jobs start again.
    #[non_exhaustive]
    Resumed {},
    /// The operation is being cancelled.
    #[non_exhaustive]
    Cancelled {
        /// Graceful (running jobs finish) or immediate (they are stopped).
        mode: CancelMode,
        /// Queued jobs dropped (each also reported by `job_cancelled`).
        dropped: u64,
        /// Jobs running at the time.
        in_flight: u64,
    },
    /// The operation ended: always the last event.
    Finished(Summary),
}

impl EventKind {
    /// The `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::OperationStarted { .. } => "operation_started",
            EventKind::JobQueued { .. } => "job_queued",
            EventKind::JobStarted { .. } => "job_started",
            EventKind::JobSucceeded { .. } => "job_succeeded",
            EventKind::JobRetrying { .. } => "job_retrying",
            EventKind::JobFailed { .. } => "job_failed",
            EventKind::JobCancelled { .. } => "job_cancelled",
            EventKind::Throttled { .. } => "throttled",
            EventKind::WorkersScaled { .. } => "workers_scaled",
            EventKind::Progress(_) => "progress",
            EventKind::Paused {} => "paused",
            EventKind::Resumed {} => "resumed",
            EventKind::Cancelled { .. } => "cancelled",
            EventKind::Finished(_) => "finished",
        }
    }

    /// The job an event is about, if any.
    pub fn job_id(&self) -> Option<JobId> {
        match self {
            EventKind::JobQueued { job_id, .. }
            | EventKind::JobStarted { job_id, .. }
            | EventKind::JobSucceeded { job_id, .. }
            | EventKind::JobRetrying { job_id, .. }
            | EventKind::JobFailed { job_id, .. }
            | EventKind::JobCancelled { job_id, .. } => Some(*job_id),
            _ => None,
        }
    }
}

/// Why the pool changed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleReason {
    /// Work is queued, every worker is busy and the budget has room: one more.
    Headroom,
    /// The budget is the bottleneck: one fewer per scale interval.
    Throttled,
    /// Workers had nothing to do for the idle timeout.
    Idle,
}

/// How an operation is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelMode {
    /// Queued jobs are dropped (effect not done); running ones finish.
    Graceful,
    /// Queued jobs are dropped and running ones are stopped (effect as they recorded it,
    /// else unknown).
    Immediate,
}

/// An error as events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    request_id: Option<String>,
}

impl ErrorInfo {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Its retry verdict.
    pub fn retryable(&self) -> bool {
        self.retryable
    }
    /// Shopify's request id, when there was a request.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> ErrorInfo {
        ErrorInfo {
            kind: e.kind(),
            message: e.to_string(),
            retryable: e.is_retryable(),
            request_id: e.request_id().map(String::from),
        }
    }
}

/// Where an operation stands: a small snapshot with getters, handed to subscribers in
/// `progress` events and returned by [`crate::executor::Executor::progress`].
///
/// The ETA is the larger of two lower bounds: the cost still to spend beyond what the
/// budget holds, at the budget's restore rate; and the jobs left at the recent completion
/// rate. `None` while neither is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub(crate) done: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
    pub(crate) running: u64,
    pub(crate) queued: u64,
    pub(crate) total: u64,
    pub(crate) workers: u64,
    pub(crate) rate_per_minute: f64,
    pub(crate) eta_ms: Option<u64>,
    pub(crate) elapsed_ms: u64,
}

impl Progress {
    /// Jobs succeeded.
    pub fn done(&self) -> u64 {
        self.done
    }
    /// Jobs failed for good.
    pub fn failed(&self) -> u64 {
        self.failed
    }
    /// Jobs cancelled.
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }
    /// Jobs running now.
    pub fn running(&self) -> u64 {
        self.running
    }
    /// Jobs waiting (in the queue, or for a retry).
    pub fn queued(&self) -> u64 {
        self.queued
    }
    /// Jobs admitted so far.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Jobs not ended yet.
    pub fn remaining(&self) -> u64 {
        self.total
            .saturating_sub(self.done + self.failed + self.cancelled)
    }
    /// The pool's size.
    pub fn workers(&self) -> u64 {
        self.workers
    }
    /// Jobs ended (succeeded or failed) per minute, recently.
    pub fn rate_per_minute(&self) -> f64 {
        self.rate_per_minute
    }
    /// Estimated time to the end of the jobs admitted so far.
    pub fn eta(&self) -> Option<Duration> {
        self.eta_ms.map(Duration::from_millis)
    }
    /// Time since the operation started.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms)
    }
}

/// Jobs cancelled, by effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectCounts {
    pub(crate) done: u64,
    pub(crate) not_done: u64,
    pub(crate) unknown: u64,
}

impl EffectCounts {
    /// Whose effect is done.
    pub fn done(&self) -> u64 {
        self.done
    }
    /// Whose effect is not done.
    pub fn not_done(&self) -> u64 {
        self.not_done
    }
    /// Whose effect is unknown.
    pub fn unknown(&self) -> u64 {
        self.unknown
    }
    /// All of them.
    pub fn total(&self) -> u64 {
        self.done + self.not_done + self.unknown
    }
    pub(crate) fn add(&mut self, effect: Effect) {
        match effect {
            Effect::Done => self.done += 1,
            Effect::NotDone => self.not_done += 1,
            Effect::Unknown => self.unknown += 1,
        }
    }
}

/// How an operation ended: `total == succeeded + failed + cancelled.total()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub(crate) total: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: EffectCounts,
    pub(crate) deduplicated: u64,
    pub(crate) retries: u64,
    pub(crate) throttled_ms: u64,
    pub(crate) elapsed_ms: u64,
    pub(crate) cancel: Option<CancelMode>,
}

impl Summary {
    /// Jobs admitted.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Jobs succeeded.
    pub fn succeeded(&self) -> u64 {
        self.succeeded
    }
    /// Jobs failed for good.
    pub fn failed(&self) -> u64 {
        self.failed
    }
    /// Jobs cancelled, by effect.
    pub fn cancelled(&self) -> EffectCounts {
        self.cancelled
    }
    /// Submissions not queued because a job with the same key was waiting.
    pub fn deduplicated(&self) -> u64 {
        self.deduplicated
    }
    /// Retries in all.
    pub fn retries(&self) -> u64 {
        self.retries
    }
    /// Time the next job waited for the budget, in all.
    pub fn throttled(&self) -> Duration {
        Duration::from_millis(self.throttled_ms)
    }
    /// Time from start to end.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms)
    }
    /// How it was cancelled, if it was.
    pub fn cancel(&self) -> Option<CancelMode> {
        self.cancel
    }
    /// Whether every job admitted succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.succeeded == self.total
    }
}

mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("timestamp {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/vectors/events.json");

    fn err(kind: ErrorKind, message: &str, request_id: Option<&str>) -> ErrorInfo {
        let e = Error::new(kind, message).with_request_id(request_id.map(String::from));
        ErrorInfo::from(&e)
    }

    /// One value of every event type: the Rust side of `tests/vectors/events.json`.
    fn examples() -> Vec<(&'static str, Event)> {
        let op = "op-5f3a1c2e9b7d4a60";
        let key = || Some("product:1".to_string());
        let e = |seq: u64, ms: u32, kind: EventKind| {
            Event::at(op, seq, &format!("2026-07-01T12:00:00.{ms:03}Z"), kind)
        };
        vec![
            (
                "operation_started",
                e(
                    1,
                    0,
                    EventKind::OperationStarted {
                        min_workers: 2,
                        max_workers: 10,
                        queue_capacity: 10_000,
                    },
                ),
            ),
            (
                "job_queued",
                e(
                    2,
                    1,
                    EventKind::JobQueued {
                        job_id: JobId::new(1),
                        key: key(),
                        priority: Priority::HIGH,
                        estimated_cost: 11,
                    },
                ),
            ),
            (
                "job_queued without a key",
                e(
                    3,
                    1,
                    EventKind::JobQueued {
                        job_id: JobId::new(2),
                        key: None,
                        priority: Priority::LOW,
                        estimated_cost: 0,
                    },
                ),
            ),
            (
                "job_started",
                e(
                    4,
                    2,
                    EventKind::JobStarted {
                        job_id: JobId::new(1),
                        key: key(),
                        attempt: 1,
                    },
                ),
            ),
            (
                "job_retrying",
                e(
                    5,
                    250,
                    EventKind::JobRetrying {
                        job_id: JobId::new(1),
                        key: key(),
                        attempt: 1,
                        backoff_ms: 731,
                        error: err(
                            ErrorKind::Server,
                            "Shopify answered HTTP 503",
                            Some("req-1"),
                        ),
                    },
                ),
            ),
            (
                "job_succeeded",
                e(
                    6,
                    999,
                    EventKind::JobSucceeded {
                        job_id: JobId::new(1),
                        key: key(),
                        attempt: 2,
                        elapsed_ms: 12,
                    },
                ),
            ),
            (
                "job_failed",
                e(
                    7,
                    999,
                    EventKind::JobFailed {
                        job_id: JobId::new(3),
                        key: Some("product:3".into()),
                        attempt: 3,
                        effect: Effect::NotDone,
                        error: err(ErrorKind::Server, "Shopify answered HTTP 503", None)
                            .persistent(),
                    },
                ),
            ),
            (
                "job_failed with an unknown effect",
                e(
                    8,
                    999,
                    EventKind::JobFailed {
                        job_id: JobId::new(4),
                        key: Some("product:4".into()),
                        attempt: 1,
                        effect: Effect::Unknown,
                        error: err(
                            ErrorKind::OutcomeUnknown,
                            "the mutation may or may not have been applied",
                            Some("req-4"),
                        ),
                    },
                ),
            ),
            (
                "throttled",
                e(
                    9,
                    999,
                    EventKind::Throttled {
                        wait_ms: 90,
                        cost: 11,
                        available: 2.0,
                    },
                ),
            ),
            (
                "workers_scaled",
                e(
                    10,
                    999,
                    EventKind::WorkersScaled {
                        from: 2,
                        to: 10,
                        reason: ScaleReason::Headroom,
                    },
                ),
            ),
            (
                "progress",
                e(
                    11,
                    999,
                    EventKind::Progress(Progress {
                        done: 120,
                        failed: 2,
                        cancelled: 0,
                        running: 8,
                        queued: 70,
                        total: 200,
                        workers: 8,
                        rate_per_minute: 540.5,
                        eta_ms: Some(8_658),
                        elapsed_ms: 13_540,
                    }),
                ),
            ),
            (
                "progress without an eta",
                e(
                    12,
                    999,
                    EventKind::Progress(Progress {
                        done: 0,
                        failed: 0,
                        cancelled: 0,
                        running: 0,
                        queued: 0,
                        total: 0,
                        workers: 2,
                        rate_per_minute: 0.0,
                        eta_ms: None,
                        elapsed_ms: 0,
                    }),
                ),
            ),
            ("paused", e(13, 999, EventKind::Paused {})),
            ("resumed", e(14, 999, EventKind::Resumed {})),
            (
                "cancelled",
                e(
                    15,
                    999,
                    EventKind::Cancelled {
                        mode: CancelMode::Graceful,
                        dropped: 70,
                        in_flight: 8,
                    },
                ),
            ),
            (
                "job_cancelled",
                e(
                    16,
                    999,
                    EventKind::JobCancelled {
                        job_id: JobId::new(5),
                        key: None,
                        effect: Effect::NotDone,
                    },
                ),
            ),
            (
                "finished",
                e(
                    17,
                    999,
                    EventKind::Finished(Summary {
                        total: 200,
                        succeeded: 126,
                        failed: 2,
                        cancelled: EffectCounts {
                            done: 1,
                            not_done: 70,
                            unknown: 1,
                        },
                        deduplicated: 3,
                        retries: 5,
                        throttled_ms: 4_210,
                        elapsed_ms: 15_002,
                        cancel: Some(CancelMode::Graceful),
                    }),
                ),
            ),
            (
                "finished, completed",
                e(
                    18,
                    999,
                    EventKind::Finished(Summary {
                        total: 200,
                        succeeded: 200,
                        failed: 0,
                        cancelled: EffectCounts::default(),
                        deduplicated: 0,
                        retries: 0,
                        throttled_ms: 0,
                        elapsed_ms: 21_000,
                        cancel: None,
                    }),
                ),
            ),
        ]
    }

    impl ErrorInfo {
        fn persistent(mut self) -> ErrorInfo {
            self.retryable = false;
            self
        }
    }

    #[test]
    fn every_event_matches_its_vector_both_ways() {
        let file: Value = serde_json::from_str(VECTORS).unwrap();
        let cases = file["cases"].as_array().unwrap();
        let examples = examples();
        assert_eq!(cases.len(), examples.len(), "one case per example");
        for (case, (name, event)) in cases.iter().zip(&examples) {
            assert_eq!(case["name"], *name);
            let vector = &case["event"];
            // Serialise: the same JSON, keys in the same order.
            assert_eq!(
                serde_json::to_string(event).unwrap(),
                serde_json::to_string(vector).unwrap(),
                "{name}"
            );
            // Deserialise: the same value.
            let back: Event = serde_json::from_value(vector.clone()).unwrap();
            assert_eq!(&back, event, "{name}");
            assert_eq!(vector["type"], event.type_name(), "{name}");
        }
        let mut names: Vec<&str> = examples.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), examples.len(), "case names are unique");
        let mut types: Vec<&str> = examples.iter().map(|(_, e)| e.type_name()).collect();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), 14, "every type: {types:?}");
    }

    #[test]
    fn unknown_types_and_bad_timestamps_are_refused() {
        let bad = [
            r#"{"operation_id":"o","seq":1,"timestamp":"2026-07-01T12:00:00.000Z","type":"exploded"}"#,
            r#"{"operation_id":"o","seq":1,"timestamp":"yesterday","type":"paused"}"#,
            r#"{"operation_id":"o","seq":1,"timestamp":"2026-07-01T12:00:00.000Z","type":"job_started","job_id":1}"#,
        ];
        for json in bad {
            assert!(serde_json::from_str::<Event>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn new_events_have_millisecond_timestamps_that_round_trip() {
        let e = Event::new("op", 1, EventKind::Resumed {});
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
