//! The priority queue: highest priority first, FIFO within a priority, at most one
//! waiting job per deduplication key. Plain data, no I/O, no clock.
use super::job::{Effect, Job, JobId, Priority, RetryPolicy};
use crate::error::Error;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// A job and what the executor knows of it.
pub(crate) struct Entry {
    pub(crate) id: JobId,
    /// Submission order, for FIFO within a priority.
    pub(crate) seq: u64,
    pub(crate) priority: Priority,
    pub(crate) cost: u32,
    pub(crate) key: Option<String>,
    pub(crate) job: Arc<dyn Job>,
    pub(crate) retry: RetryPolicy,
    /// Attempts started so far.
    pub(crate) attempts: u32,
    /// The effect of the last attempt, if it failed.
    pub(crate) effect: Option<Effect>,
    pub(crate) last_error: Option<Error>,
    /// A place in the bounded queue, held until the job first starts.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
}

impl Entry {
    fn rank(&self) -> (Priority, std::cmp::Reverse<u64>) {
        (self.priority, std::cmp::Reverse(self.seq))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// Jobs waiting to start.
#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Entry>,
    keys: HashMap<String, JobId>,
    cost: u64,
}

impl Queue {
    /// The waiting job holding `key`, if any.
    pub(crate) fn holder(&self, key: &str) -> Option<JobId> {
        self.keys.get(key).copied()
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        if let Some(k) = &entry.key {
            self.keys.entry(k.clone()).or_insert(entry.id);
        }
        self.cost += u64::from(entry.cost);
        self.heap.push(entry);
    }

    pub(crate) fn peek(&self) -> Option<&Entry> {
        self.heap.peek()
    }

    pub(crate) fn pop(&mut self) -> Option<Entry> {
        let e = self.heap.pop()?;
        self.forget(&e);
        Some(e)
    }

    fn forget(&mut self, e: &Entry) {
        self.cost = self.cost.saturating_sub(u64::from(e.cost));
        if let Some(k) = &e.key {
            if self.keys.get(k) == Some(&e.id) {
                self.keys.remove(k);
            }
        }
    }

    /// Every waiting job, in the order they would have started.
    pub(crate) fn drain(&mut self) -> Vec<Entry> {
        let mut all = std::mem::take(&mut self.heap).into_sorted_vec();
        all.reverse();
        self.keys.clear();
        self.cost = 0;
        all
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Estimated cost of the waiting jobs.
    pub(crate) fn cost(&self) -> u64 {
        self.cost
    }
}

/// A job waiting for its retry.
pub(crate) struct Delayed {
    pub(crate) due: Instant,
    pub(crate) entry: Entry,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    /// The earliest due first out of a max-heap.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.entry.seq.cmp(&self.entry.seq))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::executor::job::job_fn;

    pub(crate) fn entry(id: u64, priority: i32, key: Option<&str>) -> Entry {
        Entry {
            id: JobId::new(id),
            seq: id,
            priority: Priority(priority),
            cost: 10,
            key: key.map(String::from),
            job: Arc::new(job_fn(10, |_| async { Ok(()) })),
            retry: RetryPolicy::default(),
            attempts: 0,
            effect: None,
            last_error: None,
            permit: None,
        }
    }

    #[test]
    fn priority_first_then_fifo() {
        let mut q = Queue::default();
        for (id, p) in [(1, 0), (2, 10), (3, 0), (4, -10), (5, 10), (6, 0)] {
            q.push(entry(id, p, None));
        }
        assert_eq!(q.cost(), 60);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|e| e.id.get()).collect();
        assert_eq!(order, [2, 5, 1, 3, 6, 4]);
        assert_eq!(q.cost(), 0);
    }

    #[test]
    fn keys_are_held_while_waiting() {
        let mut q = Queue::default();
        q.push(entry(1, 0, Some("a")));
        q.push(entry(2, 5, Some("b")));
        assert_eq!(q.holder("a"), Some(JobId::new(1)));
        assert_eq!(q.pop().map(|e| e.id.get()), Some(2));
        assert_eq!(q.holder("b"), None);
        let drained: Vec<u64> = q.drain().iter().map(|e| e.id.get()).collect();
        assert_eq!(drained, [1]);
        assert_eq!(q.holder("a"), None);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn drain_keeps_the_start_order() {
        let mut q = Queue::default();
        for (id, p) in [(1, 0), (2, 10), (3, 0)] {
            q.push(entry(id, p, None));
        }
        let ids: Vec<u64> = q.drain().iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [2, 1, 3]);
    }

    #[test]
    fn delayed_earliest_first() {
        let now = Instant::now();
        let mut h = BinaryHeap::new();
        for (id, ms) in [(1, 30), (2, 10), (3, 20)] {
            h.push(Delayed {
                due: now + std::time::Duration::from_millis(ms),
                entry: entry(id, 0, None),
            });
        }
        let ids: Vec<u64> = std::iter::from_fn(|| h.pop())
            .map(|d| d.entry.id.get())
            .collect();
        assert_eq!(ids, [2, 3, 1]);
    }
}
