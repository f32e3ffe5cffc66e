//! Long operations: a Promise settled from the Tokio runtime, cancelled by an
//! `AbortSignal`.
//!
//! [`Abort::from_options`] reads `options.signal` (an `AbortSignal`, or absent) on the JS
//! thread and listens for its `abort` event; [`spawn`] runs the work on napi-rs' Tokio
//! runtime and settles the returned Promise on the JS thread (where errors become
//! `ShopifySyncError` objects). When the signal fires, the work's future is dropped,
//! which cancels it in Rust (an HTTP request in flight is abandoned; see each
//! operation's docs for what an abort leaves behind), and the Promise rejects with code
//! `SHOPIFY_CANCELLED`. A panic in the work rejects with `SHOPIFY_INTERNAL`.
use crate::errors::{panic_failure, Failure, Outcome, Settled};
use futures::FutureExt;
use napi::bindgen_prelude::{
    FnArgs, Function, JsObjectValue, Object, PromiseRaw, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, ValueType};
use shopify_sync::error::{Error, ErrorKind};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tokio::sync::watch;

/// `EventTarget.prototype.addEventListener(type, listener, options)`.
type AddEventListener<'a> =
    Function<'a, FnArgs<(&'a str, Function<'a, (), ()>, Object<'a>)>, Unknown<'a>>;

/// The abort side of one operation: fires once its signal does.
#[derive(Clone)]
pub struct Abort(Option<watch::Receiver<bool>>);

impl Abort {
    /// No signal: the operation runs to its end.
    pub fn none() -> Abort {
        Abort(None)
    }

    /// Listen to `options.signal`, when `options` is an object that has one.
    pub fn from_options(env: &Env, options: Option<&Object<'_>>) -> napi::Result<Abort> {
        let Some(options) = options else {
            return Ok(Abort::none());
        };
        let signal: Unknown<'_> = options.get_named_property("signal")?;
        match signal.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(Abort::none()),
            ValueType::Object => {
                let signal = Object::from_raw(env.raw(), signal.raw());
                Abort::from_signal(env, &signal)
            }
            _ => Err(napi::Error::new(
                napi::Status::InvalidArg,
                "options.signal must be an AbortSignal",
            )),
        }
    }

    fn from_signal(env: &Env, signal: &Object<'_>) -> napi::Result<Abort> {
        let (tx, rx) = watch::channel(false);
        if signal.get_named_property::<bool>("aborted")? {
            let _ = tx.send(true);
            return Ok(Abort(Some(rx)));
        }
        let on_abort = env.create_function_from_closure("onAbort", move |_ctx| {
            let _ = tx.send(true);
            Ok(())
        })?;
        let mut once = Object::new(env)?;
        once.set("once", true)?;
        let add: AddEventListener<'_> = signal.get_named_property("addEventListener")?;
        add.apply(signal, FnArgs::from(("abort", on_abort, once)))?;
        Ok(Abort(Some(rx)))
    }

    /// Whether the signal fired already.
    pub fn fired(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Wait until the signal fires (forever without one).
    pub async fn fired_wait(&self) {
        match &self.0 {
            Some(rx) => {
                let mut rx = rx.clone();
                if rx.wait_for(|v| *v).await.is_err() {
                    // The signal was collected without firing: it never will.
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }

    /// Run `work` until it ends or the signal fires (then the work is dropped).
    pub async fn run<T>(&self, work: impl Future<Output = Outcome<T>>) -> Outcome<T> {
        if self.fired() {
            return Err(cancelled());
        }
        tokio::select! {
            out = work => out,
            _ = self.fired_wait() => Err(cancelled()),
        }
    }
}

/// The failure of an aborted operation.
pub fn cancelled() -> Failure {
    Failure::Core(Error::new(
        ErrorKind::Cancelled,
        "the operation was aborted (its AbortSignal fired)",
    ))
}

/// Run `work` on the runtime under `abort`; the Promise settles on the JS thread.
pub fn spawn<T, F>(env: &Env, abort: Abort, work: F) -> napi::Result<PromiseRaw<'_, Settled<T>>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Outcome<T>> + Send + 'static,
{
    env.spawn_future(async move {
        let guarded = AssertUnwindSafe(abort.run(work)).catch_unwind().await;
        Ok(Settled(guarded.unwrap_or_else(|p| Err(panic_failure(p)))))
    })
}
