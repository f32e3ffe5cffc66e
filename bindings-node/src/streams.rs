//! Streams as async iterators: a class with `next()` (a Promise of the next item, or
//! `null` at the end) and `close()`; the package's entry point adds
//! `[Symbol.asyncIterator]` so that `for await (const p of client.products())` works,
//! and `break` closes the stream.
//!
//! A task on the runtime drives the core's stream and feeds a bounded channel (256
//! items): reading ahead while JS handles the previous items, never further. An
//! `AbortSignal` given when the stream was made ends it with `SHOPIFY_CANCELLED`; an
//! error ends it after being delivered once; `close()` (or dropping the object) stops
//! the task and abandons any request in flight.
use crate::abort::{cancelled, spawn, Abort};
use crate::errors::{Json, Outcome, Settled};
use futures::{Stream, StreamExt};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use serde::Serialize;
use shopify_sync::error::Result as CoreResult;
use shopify_sync::model::{Collection, Product};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The JS-facing end of a stream of `T`.
pub struct Feed<T> {
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Outcome<T>>>>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

/// Where a producer sends its items.
pub type Sink<T> = mpsc::Sender<Outcome<T>>;

/// Send the items of a core stream until it ends, fails (the error is sent) or the
/// reader goes away.
pub async fn pump<T, S>(stream: S, tx: Sink<T>)
where
    S: Stream<Item = CoreResult<T>>,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let end = item.is_err();
        if tx.send(item.map_err(Into::into)).await.is_err() || end {
            break;
        }
    }
}

impl<T: Serialize + Send + 'static> Feed<T> {
    /// Start `produce` on the runtime; it sends items until the sink closes.
    pub fn start<F, Fut>(abort: Abort, produce: F) -> Feed<T>
    where
        F: FnOnce(Sink<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(256);
        let guard_tx = tx.clone();
        let task = napi::bindgen_prelude::spawn(async move {
            tokio::select! {
                _ = produce(tx) => {}
                _ = abort.fired_wait() => {
                    let _ = guard_tx.send(Err(cancelled())).await;
                }
            }
        });
        Feed {
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            task: Mutex::new(Some(task.abort_handle())),
        }
    }

    /// The next item (`null` at the end).
    pub fn next<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<T>>>>> {
        let rx = self.rx.clone();
        spawn(env, Abort::none(), async move {
            match rx.lock().await.recv().await {
                Some(Ok(v)) => Ok(Some(Json(v))),
                Some(Err(f)) => Err(f),
                None => Ok(None),
            }
        })
    }

    /// Stop producing; `next()` then returns what was already read ahead, then `null`.
    pub fn close(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

impl<T> Drop for Feed<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// Products, as the Admin API returns them (`for await (const p of stream)`).
#[napi]
pub struct ProductStream {
    pub(crate) feed: Feed<Product>,
}

#[napi]
impl ProductStream {
    /// The next product, or `null` at the end. Rejects with the error that ended the
    /// stream (`SHOPIFY_CANCELLED` when its AbortSignal fired).
    #[napi(ts_return_type = "Promise<Product | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<Product>>>>> {
        self.feed.next(env)
    }

    /// Stop reading (what `break` in a `for await` loop does).
    #[napi]
    pub fn close(&self) {
        self.feed.close()
    }
}

/// Collections, as the Admin API returns them (`for await (const c of stream)`).
#[napi]
pub struct CollectionStream {
    pub(crate) feed: Feed<Collection>,
}

#[napi]
impl CollectionStream {
    /// The next collection, or `null` at the end. Rejects with the error that ended the
    /// stream.
    #[napi(ts_return_type = "Promise<Collection | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<Collection>>>>> {
        self.feed.next(env)
    }

    /// Stop reading (what `break` in a `for await` loop does).
    #[napi]
    pub fn close(&self) {
        self.feed.close()
    }
}

/// Gids (`for await (const id of stream)`): a collection's product ids.
#[napi]
pub struct IdStream {
    pub(crate) feed: Feed<String>,
}

#[napi]
impl IdStream {
    /// The next gid, or `null` at the end. Rejects with the error that ended the stream.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<Json<String>>>>> {
        self.feed.next(env)
    }

    /// Stop reading (what `break` in a `for await` loop does).
    #[napi]
    pub fn close(&self) {
        self.feed.close()
    }
}
