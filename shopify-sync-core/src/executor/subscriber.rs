//! Delivering events to subscribers without ever making a worker wait for one.
//!
//! Each subscriber has its own buffer. Emitting an event appends it to every buffer
//! (under a short lock) and wakes the reader; nothing waits for a reader. The policy
//! for a reader that falls behind, once its buffer holds
//! [`crate::executor::ExecutorConfig::event_buffer`] events:
//!
//! - `progress` events are dropped for it (coalesced: the next one it gets is current,
//!   and the last one before `finished` is always delivered);
//! - every other event is still appended: job lifecycle, `throttled`, `workers_scaled`,
//!   control events and `finished` are never dropped, so the buffer of a reader that
//!   stops reading grows by one small event per job.
//!
//! Drop the [`EventStream`] to unsubscribe. A callback ([`crate::executor::ExecutorBuilder::on_event`])
//! runs on a thread of its own that reads such a stream, so a slow or blocking callback
//! (a Python function waiting for the GIL) delays only itself.
use super::event::{Event, EventKind};
use futures::Stream;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The per-operation emitter: assigns sequence numbers and fans events out.
pub(crate) struct Hub {
    operation_id: Arc<str>,
    seq: u64,
    capacity: usize,
    subs: Vec<Arc<Subscriber>>,
    closed: bool,
}

impl Hub {
    pub(crate) fn new(operation_id: Arc<str>, capacity: usize) -> Hub {
        Hub {
            operation_id,
            seq: 0,
            capacity: capacity.max(1),
            subs: vec![],
            closed: false,
        }
    }

    /// A new subscriber, receiving the events emitted from now on.
    pub(crate) fn subscribe(&mut self) -> EventStream {
        let stream = EventStream::new();
        self.attach(stream.sub.clone());
        stream
    }

    /// Attach a subscriber made before the hub (by the builder).
    pub(crate) fn attach(&mut self, sub: Arc<Subscriber>) {
        if self.closed {
            sub.close();
        } else {
            self.subs.push(sub);
        }
    }

    /// Emit an event; `progress` may be dropped for slow subscribers.
    pub(crate) fn emit(&mut self, kind: EventKind) {
        let droppable = matches!(kind, EventKind::Progress(_));
        self.send(kind, droppable);
    }

    /// Emit an event no subscriber may miss (the final `progress`).
    pub(crate) fn emit_always(&mut self, kind: EventKind) {
        self.send(kind, false);
    }

    fn send(&mut self, kind: EventKind, droppable: bool) {
        if self.closed {
            return;
        }
        self.seq += 1;
        if self.subs.is_empty() {
            return;
        }
        let event = Arc::new(Event::new(&self.operation_id, self.seq, kind));
        let capacity = self.capacity;
        self.subs.retain(|s| s.push(&event, droppable, capacity));
    }

    /// No more events: readers get the end of the stream once they drained theirs.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        for s in self.subs.drain(..) {
            s.close();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.close();
    }
}

struct Buffer {
    events: VecDeque<Arc<Event>>,
    closed: bool,
    detached: bool,
    waker: Option<Waker>,
    /// Threads blocked in `blocking_recv`/`recv_timeout`.
    blocked: usize,
    dropped: u64,
}

pub(crate) struct Subscriber {
    buffer: Mutex<Buffer>,
    ready: Condvar,
}

impl Subscriber {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append; false once the reader is gone.
    fn push(&self, event: &Arc<Event>, droppable: bool, capacity: usize) -> bool {
        let mut b = self.lock();
        if b.detached {
            return false;
        }
        if droppable && b.events.len() >= capacity {
            b.dropped += 1;
            return true;
        }
        b.events.push_back(event.clone());
        self.wake(b);
        true
    }

    fn close(&self) {
        let mut b = self.lock();
        b.closed = true;
        self.wake(b);
    }

    fn wake(&self, mut b: MutexGuard<'_, Buffer>) {
        let waker = b.waker.take();
        let blocked = b.blocked > 0;
        drop(b);
        if blocked {
            self.ready.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

fn owned(event: Arc<Event>) -> Event {
    Arc::try_unwrap(event).unwrap_or_else(|shared| (*shared).clone())
}

/// What [`EventStream::try_recv`] and [`EventStream::recv_timeout`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum TryRecv {
    /// The next event.
    Event(Event),
    /// Nothing yet.
    Empty,
    /// The operation finished and every event was read.
    Closed,
}

/// A subscription to an executor's events: an async [`Stream`], or read blocking from a
/// thread of one's own (what the Python binding does, with the GIL released). It ends
/// after the `finished` event. Drop it to unsubscribe.
///
/// Nothing waits for a reader. When one falls behind, and its buffer holds
/// [`crate::executor::ExecutorConfig::event_buffer`] events:
///
/// - `progress` events are dropped for it (coalesced: the next one it gets is current,
///   and the last one before `finished` is always delivered; [`EventStream::dropped`]
///   counts them, and they show as gaps in the sequence numbers);
/// - every other event is still appended: job lifecycle, `throttled`, `workers_scaled`,
///   control events and `finished` are never dropped, so the buffer of a reader that
///   stops reading grows by a few small events per job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shopify_sync::error::Result<()> {
/// use futures::StreamExt;
/// use shopify_sync::executor::{job_fn, Executor, Unlimited};
/// use std::sync::Arc;
/// let mut builder = Executor::builder(Arc::new(Unlimited));
/// let mut events = builder.events();
/// let executor = builder.start()?;
/// executor.submit(job_fn(0, |_| async { Ok(()) })).await?;
/// executor.finish().await?;
/// let mut types = vec![];
/// while let Some(event) = events.next().await {
///     types.push(event.type_name());
/// }
/// assert_eq!(types.first(), Some(&"operation_started"));
/// assert_eq!(types.last(), Some(&"finished"));
/// # Ok(()) }
/// ```
pub struct EventStream {
    sub: Arc<Subscriber>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.sub.lock();
        f.debug_struct("EventStream")
            .field("buffered", &b.events.len())
            .field("dropped", &b.dropped)
            .field("closed", &b.closed)
            .finish()
    }
}

impl EventStream {
    /// A stream not attached to any hub yet.
    pub(crate) fn new() -> EventStream {
        EventStream {
            sub: Arc::new(Subscriber {
                buffer: Mutex::new(Buffer {
                    events: VecDeque::new(),
                    closed: false,
                    detached: false,
                    waker: None,
                    blocked: 0,
                    dropped: 0,
                }),
                ready: Condvar::new(),
            }),
        }
    }

    pub(crate) fn subscriber(&self) -> Arc<Subscriber> {
        self.sub.clone()
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> TryRecv {
        let mut b = self.sub.lock();
        match b.events.pop_front() {
            Some(e) => {
                drop(b);
                TryRecv::Event(owned(e))
            }
            None if b.closed => TryRecv::Closed,
            None => TryRecv::Empty,
        }
    }

    /// Wait up to `timeout` for the next event, blocking the thread. Not for async code.
    pub fn recv_timeout(&mut self, timeout: Duration) -> TryRecv {
        let deadline = Instant::now() + timeout;
        let mut b = self.sub.lock();
        loop {
            if let Some(e) = b.events.pop_front() {
                drop(b);
                return TryRecv::Event(owned(e));
            }
            if b.closed {
                return TryRecv::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return TryRecv::Empty;
            }
            b.blocked += 1;
            b = match self.sub.ready.wait_timeout(b, deadline - now) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
            b.blocked -= 1;
        }
    }

    /// Wait for the next event, blocking the thread; `None` at the end. Not for async
    /// code.
    pub fn blocking_recv(&mut self) -> Option<Event> {
        loop {
            match self.recv_timeout(Duration::from_secs(3_600)) {
                TryRecv::Event(e) => return Some(e),
                TryRecv::Closed => return None,
                TryRecv::Empty => {}
            }
        }
    }

    /// `progress` events dropped for this subscriber because it fell behind.
    pub fn dropped(&self) -> u64 {
        self.sub.lock().dropped
    }

    /// Events waiting to be read.
    pub fn buffered(&self) -> usize {
        self.sub.lock().events.len()
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut b = self.sub.lock();
        if let Some(e) = b.events.pop_front() {
            drop(b);
            return Poll::Ready(Some(owned(e)));
        }
        if b.closed {
            return Poll::Ready(None);
        }
        match &mut b.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let mut b = self.sub.lock();
        b.detached = true;
        b.events.clear();
    }
}

/// Run `f` on every event of `stream`, on a thread of its own. A panicking callback is
/// unsubscribed (and logged); the executor goes on.
pub(crate) fn spawn_callback(
    mut stream: EventStream,
    mut f: Box<dyn FnMut(&Event) + Send>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("shopify-sync-events".into())
        .spawn(move || {
            while let Some(event) = stream.blocking_recv() {
                if catch_unwind(AssertUnwindSafe(|| f(&event))).is_err() {
                    tracing::error!(
                        operation_id = event.operation_id(),
                        seq = event.seq(),
                        "an executor event callback panicked; it receives no more events"
                    );
                    return;
                }
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::event::Progress;
    use futures::StreamExt;

    fn progress() -> EventKind {
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
        })
    }

    #[test]
    fn a_full_buffer_drops_progress_but_keeps_everything_else() {
        let mut hub = Hub::new(Arc::from("op"), 2);
        let mut slow = hub.subscribe();
        hub.emit(EventKind::Paused {});
        hub.emit(progress());
        hub.emit(progress()); // buffer full: dropped
        hub.emit(EventKind::Resumed {}); // kept anyway
        hub.emit(progress()); // dropped
        hub.emit_always(progress()); // the final one: kept
        hub.close();
        let mut seqs = vec![];
        while let TryRecv::Event(e) = slow.try_recv() {
            seqs.push((e.seq(), e.type_name()));
        }
        assert_eq!(
            seqs,
            [
                (1, "paused"),
                (2, "progress"),
                (4, "resumed"),
                (6, "progress")
            ]
        );
        assert_eq!(slow.dropped(), 2);
        assert_eq!(slow.try_recv(), TryRecv::Closed);
    }

    #[tokio::test]
    async fn streams_wake_and_end() {
        let mut hub = Hub::new(Arc::from("op"), 8);
        let mut s = hub.subscribe();
        let reader = tokio::spawn(async move {
            let mut n = 0;
            while let Some(e) = s.next().await {
                n += 1;
                assert_eq!(e.seq(), n);
            }
            n
        });
        for _ in 0..5 {
            tokio::task::yield_now().await;
            hub.emit(EventKind::Paused {});
        }
        hub.close();
        assert_eq!(reader.await.unwrap(), 5);
    }

    #[test]
    fn dropped_streams_are_unsubscribed_and_blocking_readers_wake() {
        let mut hub = Hub::new(Arc::from("op"), 8);
        let gone = hub.subscribe();
        drop(gone);
        hub.emit(EventKind::Paused {});
        assert!(hub.subs.is_empty());
        let mut s = hub.subscribe();
        let t = std::thread::spawn(move || {
            let mut n = 0;
            while s.blocking_recv().is_some() {
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(20));
        hub.emit(EventKind::Resumed {});
        hub.close();
        assert_eq!(t.join().unwrap(), 1);
        let mut late = hub.subscribe();
        assert_eq!(late.try_recv(), TryRecv::Closed);
    }
}
