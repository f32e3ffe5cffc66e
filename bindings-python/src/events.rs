//! Progress events on their way to Python, shared by `ApplyOperation` and `Executor`.
//!
//! The core calls an event callback on a thread of its own; [`EventQueue::channel`]
//! gives the callback that forwards each event into a queue, and the queue hands the
//! events to Python where the application wants them: from an iterator consumed in any
//! thread or green thread, an async iterator, `next_event(timeout)`, `drain()`, or a
//! Python callable run in the thread that waits (`deliver`) or on the event loop
//! (`deliver_on_loop`). A Python callable never runs on a Rust thread.
//!
//! Events cross as dicts in the exact JSON shape of `tests/vectors/events.json` (the
//! core's serde).
use crate::client::block_on;
use crate::convert::to_py;
use crate::errors::{guard, invalid};
use crate::runtime::ForkSafeTokio;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::Serialize;
use shopify_sync::executor::Event;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

/// An event (or any value the core reports: a pull's progress) as a dict in its JSON
/// shape.
pub fn event_dict<T: Serialize>(py: Python<'_>, e: &T) -> PyResult<Py<PyAny>> {
    to_py(py, e)
}

/// The events of one operation, in order, each handed over once. The queue ends when
/// the core drops the callback (its callback thread is through), after the last event.
pub struct EventQueue<T = Event> {
    rx: Mutex<mpsc::UnboundedReceiver<T>>,
    ended: AtomicBool,
}

impl<T: Clone + Send + 'static> EventQueue<T> {
    /// A queue and the callback that fills it (for `on_event` of the core).
    pub fn channel() -> (Arc<EventQueue<T>>, impl FnMut(&T) + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Arc::new(EventQueue {
            rx: Mutex::new(rx),
            ended: AtomicBool::new(false),
        });
        (queue, move |e: &T| {
            let _ = tx.send(e.clone());
        })
    }

    /// The next event; `None` once every event was handed over.
    pub async fn next(&self) -> Option<T> {
        if self.ended.load(Ordering::SeqCst) {
            return None;
        }
        let mut rx = self.rx.lock().await;
        let next = rx.recv().await;
        if next.is_none() {
            self.ended.store(true, Ordering::SeqCst);
        }
        next
    }

    /// The events waiting now, without blocking.
    pub fn drain(&self) -> Vec<T> {
        let mut out = Vec::new();
        if let Ok(mut rx) = self.rx.try_lock() {
            while let Ok(e) = rx.try_recv() {
                out.push(e);
            }
        }
        out
    }
}

// ----- the Python side, for the classes that hand events over -----------------------------

/// `next_event(timeout)`: the next event as a dict, waiting at most `timeout` seconds
/// (`None`: until there is one); `None` on timeout or at the end. GIL released.
pub fn next_event(
    py: Python<'_>,
    queue: Option<&Arc<EventQueue>>,
    timeout: Option<f64>,
) -> PyResult<Py<PyAny>> {
    guard(|| {
        let Some(queue) = queue.cloned() else {
            return Ok(py.None());
        };
        let e = match timeout {
            None => block_on(py, async move { queue.next().await })?,
            Some(t) => {
                let t = Duration::try_from_secs_f64(t).map_err(|e| invalid("timeout", e))?;
                block_on(py, async move {
                    tokio::time::timeout(t, queue.next()).await.ok().flatten()
                })?
            }
        };
        match e {
            Some(e) => event_dict(py, &e),
            None => Ok(py.None()),
        }
    })
}

/// `drain()`: the events waiting now, as a list of dicts.
pub fn drain(py: Python<'_>, queue: Option<&Arc<EventQueue>>) -> PyResult<Py<PyAny>> {
    guard(|| {
        let out = PyList::empty(py);
        if let Some(queue) = queue {
            for e in queue.drain() {
                out.append(event_dict(py, &e)?)?;
            }
        }
        Ok(out.into_any().unbind())
    })
}

/// `__next__`: the next event, `None` (StopIteration) at the end. GIL released.
pub fn next(py: Python<'_>, queue: Option<&Arc<EventQueue>>) -> PyResult<Option<Py<PyAny>>> {
    guard(|| {
        let Some(queue) = queue.cloned() else {
            return Ok(None);
        };
        match block_on(py, async move { queue.next().await })? {
            Some(e) => Ok(Some(event_dict(py, &e)?)),
            None => Ok(None),
        }
    })
}

/// `__anext__`: an awaitable of the next event, `StopAsyncIteration` at the end.
pub fn anext<'py>(py: Python<'py>, queue: Option<&Arc<EventQueue>>) -> PyResult<Bound<'py, PyAny>> {
    let queue = queue.cloned();
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, _, _>(py, async move {
        let next = match queue {
            Some(q) => q.next().await,
            None => None,
        };
        match next {
            Some(e) => Python::attach(|py| event_dict(py, &e)),
            None => Err(PyStopAsyncIteration::new_err(())),
        }
    })
}

/// Call `f` with every event until the end, in the calling thread (GIL released
/// between events). An exception `f` raises, or Ctrl-C, is returned.
pub fn deliver(py: Python<'_>, queue: &Arc<EventQueue>, f: &Bound<'_, PyAny>) -> PyResult<()> {
    loop {
        let q = queue.clone();
        match block_on(py, async move { q.next().await })? {
            Some(e) => {
                f.call1((event_dict(py, &e)?,))?;
            }
            None => return Ok(()),
        }
    }
}

/// Call `f` with the events waiting now, in the calling thread, without waiting.
pub fn deliver_waiting(
    py: Python<'_>,
    queue: &Arc<EventQueue>,
    f: &Bound<'_, PyAny>,
) -> PyResult<()> {
    for e in queue.drain() {
        f.call1((event_dict(py, &e)?,))?;
    }
    Ok(())
}

/// The running event loop, when there is a callable to run on it.
pub fn running_loop(py: Python<'_>, on_event: Option<&Py<PyAny>>) -> PyResult<Option<Py<PyAny>>> {
    match on_event {
        Some(_) => Ok(Some(
            py.import("asyncio")?
                .call_method0("get_running_loop")?
                .unbind(),
        )),
        None => Ok(None),
    }
}

/// Hand every event until the end to `f` on the event loop `lp`
/// (`loop.call_soon_threadsafe`), in order.
pub async fn deliver_on_loop(queue: &EventQueue, f: &Py<PyAny>, lp: &Py<PyAny>) -> PyResult<()> {
    while let Some(e) = queue.next().await {
        call_on_loop(lp, f, &e)?;
    }
    Ok(())
}

/// Schedule `f(value as a dict)` on the event loop `lp` (`loop.call_soon_threadsafe`).
fn call_on_loop<T: Serialize>(lp: &Py<PyAny>, f: &Py<PyAny>, value: &T) -> PyResult<()> {
    Python::attach(|py| {
        lp.call_method1(py, "call_soon_threadsafe", (f, event_dict(py, value)?))?;
        Ok(())
    })
}

/// Run `fut` to its end in the calling thread (GIL released while waiting; Ctrl-C
/// drops it, which cancels it), calling `f` there with each value the core puts in
/// `queue` meanwhile, in order. An exception `f` raises drops `fut` too.
pub fn run_reporting<T, R>(
    py: Python<'_>,
    fut: impl Future<Output = R> + Send,
    queue: &Arc<EventQueue<T>>,
    f: &Bound<'_, PyAny>,
) -> PyResult<R>
where
    T: Serialize + Clone + Send + 'static,
    R: Send,
{
    enum Step<T, R> {
        Value(T),
        Done(R),
    }
    let mut fut = std::pin::pin!(fut);
    loop {
        let q = queue.clone();
        let step = block_on(py, async {
            tokio::select! {
                biased;
                Some(v) = q.next() => Step::Value(v),
                out = &mut fut => Step::Done(out),
            }
        })?;
        match step {
            Step::Value(v) => {
                f.call1((event_dict(py, &v)?,))?;
            }
            Step::Done(out) => {
                for v in queue.drain() {
                    f.call1((event_dict(py, &v)?,))?;
                }
                return Ok(out);
            }
        }
    }
}

/// [`run_reporting`] inside an awaitable: `f` runs on the event loop `lp`
/// (`loop.call_soon_threadsafe`), in order.
pub async fn settle_reporting<T, R>(
    fut: impl Future<Output = R>,
    queue: &EventQueue<T>,
    f: &Py<PyAny>,
    lp: &Py<PyAny>,
) -> PyResult<R>
where
    T: Serialize + Clone + Send + 'static,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            biased;
            Some(v) = queue.next() => call_on_loop(lp, f, &v)?,
            out = &mut fut => {
                for v in queue.drain() {
                    call_on_loop(lp, f, &v)?;
                }
                return Ok(out);
            }
        }
    }
}

/// Runs its action when dropped, unless disarmed: a cancelled asyncio task stops the
/// work in Rust.
pub struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    pub fn new(f: F) -> Self {
        OnDrop(Some(f))
    }

    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}
