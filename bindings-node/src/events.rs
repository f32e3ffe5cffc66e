//! Progress to JS, the one way `engine.apply()` and `Executor` hand over executor
//! events and `engine.pull()` its progress: a callback (`onEvent`, `onProgress`) called
//! on the JS thread through a non-blocking threadsafe function (the Rust workers never
//! wait for JS), with a [`Delivery`] that says when JS has seen the last value, so that
//! a promise settles after it; or, for events, an async iterator fed by the [`Feed`] of
//! `streams.rs`.
use crate::errors::Json;
use crate::streams::Feed;
use napi::bindgen_prelude::{Function, JsObjectValue, Object, PromiseRaw, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, ValueType};
use napi_derive::napi;
use serde::Serialize;
use shopify_sync::executor::Event;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A JS callback for `T`s: called on the JS thread with each value, never blocking the
/// Rust workers (values queue up while JS is busy).
type JsCallback<T> = ThreadsafeFunction<T, Unknown<'static>, Json<T>, Status, false>;

/// `options.onEvent`, when it is a function (absent or `null`: none).
pub fn on_event_option(
    env: &Env,
    options: Option<&Object<'_>>,
) -> napi::Result<Option<Callback<Event>>> {
    callback_option(env, options, "onEvent")
}

/// `options[name]`, when it is a function (absent or `null`: none), called with `T`s.
pub fn callback_option<T: Serialize + Send + 'static>(
    env: &Env,
    options: Option<&Object<'_>>,
    name: &str,
) -> napi::Result<Option<Callback<T>>> {
    let Some(options) = options else {
        return Ok(None);
    };
    let value: Unknown<'_> = options.get_named_property(name)?;
    match value.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Function => {
            let f: Function<'_, Json<T>, Unknown<'static>> = unsafe {
                napi::bindgen_prelude::FromNapiValue::from_napi_value(env.raw(), value.raw())?
            };
            let tsfn = f
                .build_threadsafe_function::<T>()
                .callee_handled::<false>()
                .build_callback(|ctx| Ok(Json(ctx.value)))?;
            Ok(Some(Callback(tsfn)))
        }
        _ => Err(napi::Error::new(
            Status::InvalidArg,
            format!("options.{name} must be a function"),
        )),
    }
}

/// A JS callback (`onEvent`, `onProgress`), ready to hand to the core.
pub struct Callback<T: Serialize + 'static>(JsCallback<T>);

/// Waits until JS has received every value handed to a [`Callback`].
pub struct Delivery {
    /// Values handed to the threadsafe function, and values it delivered.
    counts: Arc<(AtomicU64, AtomicU64)>,
    /// Closed when the core drops the handler: its caller is through.
    closed: oneshot::Receiver<()>,
}

impl<T: Serialize + Clone + Send + 'static> Callback<T> {
    /// The core's handler calling this callback, and its [`Delivery`].
    pub fn handler(self) -> (impl FnMut(&T) + Send + 'static, Delivery) {
        let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let (closed_tx, closed) = oneshot::channel::<()>();
        let seen = counts.clone();
        let cb = self.0;
        let handler = move |e: &T| {
            let _held = &closed_tx;
            seen.0.fetch_add(1, Ordering::SeqCst);
            let delivered = seen.clone();
            let status = cb.call_with_return_value(
                e.clone(),
                ThreadsafeFunctionCallMode::NonBlocking,
                move |_, _| {
                    delivered.1.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                },
            );
            if status != Status::Ok {
                // Not queued (the environment is closing): nothing to wait for.
                seen.1.fetch_add(1, Ordering::SeqCst);
            }
        };
        (handler, Delivery { counts, closed })
    }
}

impl Delivery {
    /// Wait until the callback has seen every event: the core's event thread ends
    /// after the last one (it drops the handler) and the threadsafe function's queue is
    /// FIFO, so a promise settled after this follows the last `onEvent`.
    pub async fn settled(self) {
        let _ = tokio::time::timeout(Duration::from_secs(30), self.closed).await;
        while self.counts.1.load(Ordering::SeqCst) < self.counts.0.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// An event handler that feeds an async iterator's channel without ever blocking a
/// worker: a reader that fell 256 events behind misses some (their `seq` numbers show
/// the gap).
pub fn feeding(tx: crate::streams::Sink<Event>) -> impl FnMut(&Event) + Send + 'static {
    move |e: &Event| {
        let _ = tx.try_send(Ok(e.clone()));
    }
}

/// Executor events as an async iterator: `for await (const event of executor.events())`.
#[napi]
pub struct ExecutorEvents {
    pub(crate) feed: Feed<Event>,
}

#[napi]
impl ExecutorEvents {
    /// The next event, or `null` once the operation is over (after `finished`).
    #[napi(ts_return_type = "Promise<ExecutorEvent | null>")]
    pub fn next<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, crate::errors::Settled<Option<Json<Event>>>>> {
        self.feed.next(env)
    }

    /// Stop reading events (what `break` in a `for await` loop does); the operation
    /// goes on.
    #[napi]
    pub fn close(&self) {
        self.feed.close()
    }
}
