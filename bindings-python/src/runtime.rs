//! The Tokio runtime the binding owns, made safe under `fork()`.
//!
//! One multi-threaded runtime per process. A forked child (gunicorn workers,
//! `multiprocessing` with the `fork` start method) inherits the parent's memory but none
//! of its threads, so the inherited runtime can never run a task again: the first call in
//! the child notices that the process id changed and builds a fresh runtime. The stale
//! one is leaked on purpose, since dropping it would wait for worker threads that do not
//! exist in the child.
//!
//! [`ForkSafeTokio`] plugs the same runtime into `pyo3-async-runtimes`, so asyncio
//! awaitables run on it too.
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime as GenericRuntime};
use pyo3_async_runtimes::TaskLocals;
use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// The runtime of this process, built on first use and rebuilt after a fork.
pub fn runtime() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, rt)) = slot.as_ref() {
        if *owner == pid {
            return rt.clone();
        }
    }
    if let Some((_, stale)) = slot.take() {
        // Inherited from the parent: its threads are gone, so it cannot be shut down.
        std::mem::forget(stale);
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shopify-sync")
            .enable_all()
            .build()
            .expect("cannot start the Tokio runtime"),
    );
    *slot = Some((pid, rt.clone()));
    rt
}

/// A join error of [`ForkSafeTokio`] (a task that panicked or was cancelled).
pub struct TaskJoinError(tokio::task::JoinError);

impl JoinError for TaskJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

/// `pyo3-async-runtimes` over [`runtime`].
pub struct ForkSafeTokio;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl GenericRuntime for ForkSafeTokio {
    type JoinError = TaskJoinError;
    type JoinHandle = Pin<Box<dyn Future<Output = Result<(), TaskJoinError>> + Send>>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = runtime().spawn(fut);
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let handle = runtime().spawn_blocking(f);
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }
}

impl ContextExt for ForkSafeTokio {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}

/// Stops an [`unsend_with`] run: its work is dropped where it runs, and the run's
/// future then resolves to `None` once it is gone. Idempotent.
#[derive(Clone)]
pub struct Canceller(Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>);

impl Canceller {
    /// Ask the work to stop.
    pub fn cancel(&self) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
    }
}

struct CancelOnDrop(Canceller);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Run a future the compiler cannot prove `Send` (some of the core's async fns trip
/// its higher-ranked `Send` check) on a blocking thread of the runtime, and await it
/// from anywhere. Dropping the returned future cancels the work; so does the
/// [`Canceller`], after which the future resolves (to `None`) only once the work is
/// dropped. `Some(Err(_))` carries a panic.
pub fn unsend_with<T, Fut, F>(
    make: F,
) -> (
    impl Future<Output = Option<std::thread::Result<T>>> + Send + 'static,
    Canceller,
)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    use futures::FutureExt;
    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel::<()>();
    let canceller = Canceller(Arc::new(Mutex::new(Some(cancel_tx))));
    let rt = runtime();
    let handle = rt.handle().clone();
    let join = rt.spawn_blocking(move || {
        handle.block_on(async move {
            let work = std::panic::AssertUnwindSafe(async move { make().await }).catch_unwind();
            tokio::select! {
                out = work => Some(out),
                _ = cancel_rx => None,
            }
        })
    });
    let on_drop = CancelOnDrop(canceller.clone());
    let fut = async move {
        let _on_drop = on_drop;
        join.await.ok().flatten()
    };
    (fut, canceller)
}

/// [`unsend_with`] without the canceller: dropping the future cancels the work.
pub fn unsend<T, Fut, F>(
    make: F,
) -> impl Future<Output = Option<std::thread::Result<T>>> + Send + 'static
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    unsend_with(make).0
}
