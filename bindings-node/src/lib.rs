//! The native module of the npm package `shopify-sync`: the Node binding of the
//! shopify-sync core, with napi-rs.
//!
//! Thin by design: every function converts JS values into the core's types (through
//! their serde shapes: the snake_case JSON of `tests/vectors/`), calls the core, and
//! converts the result or the error back. No behaviour lives here. Conventions:
//!
//! - Errors become `ShopifySyncError` objects with a `code` (`errors.rs`); panics are
//!   caught at the boundary and become errors with code `SHOPIFY_INTERNAL`.
//! - Async work runs on napi-rs' Tokio runtime and settles a Promise; long operations
//!   take an `AbortSignal` (`abort.rs`); streams are async iterators.
//! - Names: functions, methods and options are camelCase (napi-rs converts); data that
//!   crosses the wire keeps the core's serde shape.
#![deny(clippy::all)]
// napi-rs registers the exported items only outside `cfg(test)`: in a test build (clippy
// --all-targets) they would all look unused.
#![cfg_attr(test, allow(dead_code))]

mod abort;
mod client;
mod convert;
mod engine;
mod errors;
mod events;
mod executor;
mod plan;
mod sim;
mod staging;
mod store;
mod streams;
mod webhook;

use errors::{guard, Settled};
use napi::bindgen_prelude::Function;
use napi::Env;
use napi_derive::napi;

/// The version of the native module (the workspace version).
#[napi]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Admin API version clients use unless told otherwise (`YYYY-MM`).
#[napi]
pub const DEFAULT_API_VERSION: &str = shopify_sync::schema::DEFAULT_API_VERSION;

/// Register the `ShopifySyncError` class the native module builds its errors with.
/// Internal: the package's entry point calls it once.
#[napi(
    js_name = "_setErrorClass",
    ts_args_type = "ctor: typeof ShopifySyncError"
)]
pub fn set_error_class(env: Env, ctor: Function<'_>) -> napi::Result<()> {
    errors::set_error_class(&env, ctor)
}

/// Build (without throwing) the error of `kind` the core would make (`Error::new`), so
/// tests can check the class, code, fields and default retry verdict of every kind.
/// Internal.
#[napi(js_name = "_makeError", ts_return_type = "ShopifySyncError")]
pub fn make_error(kind: String, message: String) -> Settled<errors::ErrorValue> {
    guard(|| {
        let kind = errors::parse_kind(&kind)?;
        let built = shopify_sync::error::Error::new(kind, message);
        Ok(errors::ErrorValue(errors::Failure::Core(built)))
    })
}

/// Panic inside Rust on purpose: the test that a panic becomes a thrown error, never an
/// abort. Internal.
#[napi(js_name = "_panic", ts_return_type = "void")]
pub fn panic(message: String) -> Settled<()> {
    guard(|| panic!("{message}"))
}

/// Read an executor event from its JSON shape into the core's `Event` and hand it back
/// the way progress callbacks receive events: the test that the binding's events have
/// exactly the shape of `tests/vectors/events.json`. Internal.
#[napi(
    js_name = "_roundTripEvent",
    ts_args_type = "event: ExecutorEvent",
    ts_return_type = "ExecutorEvent"
)]
pub fn round_trip_event(
    event: convert::Input<shopify_sync::executor::Event>,
) -> Settled<errors::Json<shopify_sync::executor::Event>> {
    guard(|| Ok(errors::Json(event.get("event")?)))
}
