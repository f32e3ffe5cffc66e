//! The executor's configuration: a struct of options with documented defaults, each
//! overridable by an environment variable, resolved and validated once.
//!
//! | field | default | variable |
//! | --- | --- | --- |
//! | `min_workers` | 2 | `SHOPIFY_SYNC_EXECUTOR_MIN_WORKERS` |
//! | `max_workers` | 10 | `SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS` |
//! | `queue_capacity` | 10,000 | `SHOPIFY_SYNC_EXECUTOR_QUEUE_CAPACITY` |
//! | `memory_watermark` | off | `SHOPIFY_SYNC_EXECUTOR_MEMORY_WATERMARK_MB` (0 = off) |
//! | `memory_poll_interval` | 100 ms | `SHOPIFY_SYNC_EXECUTOR_MEMORY_POLL_MS` |
//! | `retry.max_attempts` | 3 | `SHOPIFY_SYNC_EXECUTOR_MAX_ATTEMPTS` |
//! | `retry.initial_backoff` | 500 ms | `SHOPIFY_SYNC_EXECUTOR_INITIAL_BACKOFF_MS` |
//! | `retry.max_backoff` | 30 s | `SHOPIFY_SYNC_EXECUTOR_MAX_BACKOFF_MS` |
//! | `idle_timeout` | 1 s | `SHOPIFY_SYNC_EXECUTOR_IDLE_TIMEOUT_MS` |
//! | `scale_interval` | 500 ms | `SHOPIFY_SYNC_EXECUTOR_SCALE_INTERVAL_MS` |
//! | `progress_interval` | 250 ms | `SHOPIFY_SYNC_EXECUTOR_PROGRESS_INTERVAL_MS` |
//! | `event_buffer` | 1,024 | `SHOPIFY_SYNC_EXECUTOR_EVENT_BUFFER` |
use super::job::RetryPolicy;
use crate::error::{Error, Result};
use std::time::Duration;

/// How an executor runs. See the [module documentation](self) for the defaults and the
/// environment variables.
///
/// ```
/// use shopify_sync::executor::ExecutorConfig;
/// let env = |k: &str| match k {
///     "SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS" => Some("4".to_string()),
///     _ => None,
/// };
/// let config = ExecutorConfig::from_lookup(env).unwrap();
/// assert_eq!((config.min_workers, config.max_workers), (2, 4));
/// assert_eq!(config.queue_capacity, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    /// Workers kept even when idle or throttled (default 2, at least 1).
    pub min_workers: usize,
    /// Workers at most (default 10).
    pub max_workers: usize,
    /// Jobs waiting in the queue at most; submitting more waits for room (default 10,000).
    pub queue_capacity: usize,
    /// Resident memory of the process, in bytes, beyond which no job is admitted until
    /// it falls (default off: the right figure depends on the host).
    pub memory_watermark: Option<u64>,
    /// How often the resident memory is read, at most (default 100 ms).
    pub memory_poll_interval: Duration,
    /// Retries of jobs that do not bring their own policy.
    pub retry: RetryPolicy,
    /// Idle workers are let go after this long (default 1 s).
    pub idle_timeout: Duration,
    /// While throttled, the pool shrinks by one worker per interval, and does not grow
    /// again for an interval after shrinking (default 500 ms).
    pub scale_interval: Duration,
    /// `progress` events at most this often (default 250 ms); the final one always.
    pub progress_interval: Duration,
    /// Events a subscriber may have waiting before `progress` events are dropped for it
    /// (default 1,024). Other events are always kept. See
    /// [`crate::executor::EventStream`].
    pub event_buffer: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            min_workers: 2,
            max_workers: 10,
            queue_capacity: 10_000,
            memory_watermark: None,
            memory_poll_interval: Duration::from_millis(100),
            retry: RetryPolicy::default(),
            idle_timeout: Duration::from_secs(1),
            scale_interval: Duration::from_millis(500),
            progress_interval: Duration::from_millis(250),
            event_buffer: 1_024,
        }
    }
}

const PREFIX: &str = "SHOPIFY_SYNC_EXECUTOR_";

impl ExecutorConfig {
    /// The defaults, overridden by the `SHOPIFY_SYNC_EXECUTOR_*` environment variables.
    pub fn from_env() -> Result<ExecutorConfig> {
        ExecutorConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`ExecutorConfig::from_env`] over any lookup function (tests, config files).
    /// Blank values are ignored; unreadable ones are an error naming the variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ExecutorConfig> {
        let mut c = ExecutorConfig::default();
        let read = |name: &str| -> Result<Option<u64>> {
            let var = format!("{PREFIX}{name}");
            match get(&var).map(|v| v.trim().to_string()) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => v.replace('_', "").parse::<u64>().map(Some).map_err(|_| {
                    Error::invalid_input(format!("{var}={v:?} is not a whole non-negative number"))
                }),
            }
        };
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = read("MIN_WORKERS")? {
            c.min_workers = size(v);
        }
        if let Some(v) = read("MAX_WORKERS")? {
            c.max_workers = size(v);
        }
        if let Some(v) = read("QUEUE_CAPACITY")? {
            c.queue_capacity = size(v);
        }
        if let Some(v) = read("MEMORY_WATERMARK_MB")? {
            c.memory_watermark = (v > 0).then(|| v.saturating_mul(1024 * 1024));
        }
        if let Some(v) = read("MEMORY_POLL_MS")? {
            c.memory_poll_interval = Duration::from_millis(v);
        }
        if let Some(v) = read("MAX_ATTEMPTS")? {
            c.retry.max_attempts = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = read("INITIAL_BACKOFF_MS")? {
            c.retry.initial_backoff = Duration::from_millis(v);
        }
        if let Some(v) = read("MAX_BACKOFF_MS")? {
            c.retry.max_backoff = Duration::from_millis(v);
        }
        if let Some(v) = read("IDLE_TIMEOUT_MS")? {
            c.idle_timeout = Duration::from_millis(v);
        }
        if let Some(v) = read("SCALE_INTERVAL_MS")? {
            c.scale_interval = Duration::from_millis(v);
        }
        if let Some(v) = read("PROGRESS_INTERVAL_MS")? {
            c.progress_interval = Duration::from_millis(v);
        }
        if let Some(v) = read("EVENT_BUFFER")? {
            c.event_buffer = size(v);
        }
        c.validate()?;
        Ok(c)
    }

    /// Check the options hold together: at least one worker, `min_workers <=
    /// max_workers`, room for one job, one event and one attempt.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::invalid_input(m));
        if self.min_workers == 0 {
            return fail(format!(
                "min_workers ({PREFIX}MIN_WORKERS) must be at least 1"
            ));
        }
        if self.max_workers < self.min_workers {
            return fail(format!(
                "max_workers ({}, {PREFIX}MAX_WORKERS) is below min_workers ({}, {PREFIX}MIN_WORKERS)",
                self.max_workers, self.min_workers
            ));
        }
        if self.queue_capacity == 0 {
            return fail(format!(
                "queue_capacity ({PREFIX}QUEUE_CAPACITY) must be at least 1"
            ));
        }
        if self.event_buffer == 0 {
            return fail(format!(
                "event_buffer ({PREFIX}EVENT_BUFFER) must be at least 1"
            ));
        }
        if self.retry.max_attempts == 0 {
            return fail(format!(
                "retry.max_attempts ({PREFIX}MAX_ATTEMPTS) must be at least 1"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_option_has_a_variable() {
        let c = ExecutorConfig::from_lookup(env(&[
            ("SHOPIFY_SYNC_EXECUTOR_MIN_WORKERS", "3"),
            ("SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS", "20"),
            ("SHOPIFY_SYNC_EXECUTOR_QUEUE_CAPACITY", "50_000"),
            ("SHOPIFY_SYNC_EXECUTOR_MEMORY_WATERMARK_MB", "512"),
            ("SHOPIFY_SYNC_EXECUTOR_MEMORY_POLL_MS", "10"),
            ("SHOPIFY_SYNC_EXECUTOR_MAX_ATTEMPTS", "5"),
            ("SHOPIFY_SYNC_EXECUTOR_INITIAL_BACKOFF_MS", "100"),
            ("SHOPIFY_SYNC_EXECUTOR_MAX_BACKOFF_MS", "2000"),
            ("SHOPIFY_SYNC_EXECUTOR_IDLE_TIMEOUT_MS", "3000"),
            ("SHOPIFY_SYNC_EXECUTOR_SCALE_INTERVAL_MS", "100"),
            ("SHOPIFY_SYNC_EXECUTOR_PROGRESS_INTERVAL_MS", "1000"),
            ("SHOPIFY_SYNC_EXECUTOR_EVENT_BUFFER", " 64 "),
        ]))
        .unwrap();
        assert_eq!((c.min_workers, c.max_workers), (3, 20));
        assert_eq!(c.queue_capacity, 50_000);
        assert_eq!(c.memory_watermark, Some(512 * 1024 * 1024));
        assert_eq!(c.memory_poll_interval, Duration::from_millis(10));
        assert_eq!(c.retry.max_attempts, 5);
        assert_eq!(c.retry.initial_backoff, Duration::from_millis(100));
        assert_eq!(c.retry.max_backoff, Duration::from_secs(2));
        assert_eq!(c.idle_timeout, Duration::from_secs(3));
        assert_eq!(c.scale_interval, Duration::from_millis(100));
        assert_eq!(c.progress_interval, Duration::from_secs(1));
        assert_eq!(c.event_buffer, 64);
        assert_eq!(
            ExecutorConfig::from_lookup(env(&[])).unwrap(),
            ExecutorConfig::default()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = ExecutorConfig::from_lookup(env(&[("SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS", "ten")]))
            .unwrap_err();
        assert!(
            e.to_string().contains("SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS"),
            "{e}"
        );
        let e = ExecutorConfig::from_lookup(env(&[("SHOPIFY_SYNC_EXECUTOR_MAX_WORKERS", "1")]))
            .unwrap_err();
        assert!(e.to_string().contains("below"), "{e}");
        let e = ExecutorConfig::from_lookup(env(&[("SHOPIFY_SYNC_EXECUTOR_MIN_WORKERS", "0")]))
            .unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
        let off =
            ExecutorConfig::from_lookup(env(&[("SHOPIFY_SYNC_EXECUTOR_MEMORY_WATERMARK_MB", "0")]))
                .unwrap();
        assert_eq!(off.memory_watermark, None);
    }
}
