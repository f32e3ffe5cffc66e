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
use shopify_sync::executor::Event;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

/// An event as a dict in its JSON shape.
pub fn event_dict(py: Python<'_>, e: &Event) -> PyResult<Py<PyAny>> {
    to_py(py, e)
}

/// The events of one operation, in order, each handed over once. The queue ends when
/// the core drops the callback (its callback thread is through), after the last event.
pub struct EventQueue {
    rx: Mutex<mpsc::UnboundedReceiver<Event>>,
    ended: AtomicBool,
}

impl EventQueue {
    /// A queue and the callback that fills it (for `on_event` of the core).
    pub fn channel() -> (Arc<EventQueue>, impl FnMut(&Event) + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Arc::new(EventQueue {
            rx: Mutex::new(rx),
            ended: AtomicBool::new(false),
        });
        (queue, move |e: &Event| {
            let _ = tx.send(e.clone());
        })
    }

    /// The next event; `None` once every event was handed over.
    pub async fn next(&self) -> Option<Event> {
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
    pub fn drain(&self) -> Vec<Event> {
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
        Python::attach(|py| -> PyResult<()> {
            lp.call_method1(py, "call_soon_threadsafe", (f, event_dict(py, &e)?))?;
            Ok(())
        })?;
    }
    Ok(())
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
