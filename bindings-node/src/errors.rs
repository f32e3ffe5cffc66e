//! Errors across the boundary.
//!
//! A core [`Error`] becomes an instance of the package's `ShopifySyncError` class (defined
//! in `errors.js`, handed to the native module once at load time by [`set_error_class`])
//! with a machine-readable `code` (`SHOPIFY_` + the kind in upper case, as in
//! `tests/vectors/errors.json`), the `kind`, the retry verdict and the structured context
//! (`requestId`, `graphqlErrors`, `userErrors`, `jsonPath`); the core error's chain of
//! sources becomes the standard `cause` chain. A Rust panic becomes a `ShopifySyncError`
//! with code `SHOPIFY_INTERNAL` (kind `null`): never an abort.
//!
//! Every function of the binding returns [`Outcome`]: its conversion to a JS value runs
//! on the JS thread, so the error object is built there, with the class, even for work
//! that ran on the Tokio runtime; a promise rejects with it, a synchronous call throws it.
use napi::bindgen_prelude::{
    FnArgs, Function, FunctionRef, JsObjectValue, Object, ToNapiValue, Unknown,
};
use napi::{sys, Env, JsValue};
use serde::Serialize;
use shopify_sync::error::{Error, ErrorKind};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why a call failed.
pub enum Failure {
    /// An error of the core (or an invalid argument, as a core `invalid_input`).
    Core(Error),
    /// A panic in Rust, with its message.
    Panic(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

/// The result of a binding call: `Ok` converts to its JS value; `Err` becomes a thrown
/// `ShopifySyncError` (or a rejected promise) when converted.
pub type Outcome<T> = Result<T, Failure>;

/// A value that converts to JS through its serde shape (snake_case data).
pub struct Json<T>(pub T);

impl<T: Serialize> ToNapiValue for Json<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let value = serde_json::to_value(&val.0)
            .map_err(|e| napi::Error::new(napi::Status::GenericFailure, e.to_string()))?;
        crate::convert::from_value(env, &value)
    }
}

/// [`Outcome`] as a JS value: the value, or the error built and thrown on the JS thread.
pub struct Settled<T>(pub Outcome<T>);

impl<T: ToNapiValue> ToNapiValue for Settled<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            Ok(v) => T::to_napi_value(env, v),
            Err(f) => Err(to_js_error(&Env::from_raw(env), &f)),
        }
    }
}

impl<T> From<Outcome<T>> for Settled<T> {
    fn from(o: Outcome<T>) -> Settled<T> {
        Settled(o)
    }
}

/// A failure as a JS value (the error object, returned rather than thrown).
pub struct ErrorValue(pub Failure);

impl ToNapiValue for ErrorValue {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(env);
        Ok(build(&env, &val.0)?.raw())
    }
}

/// The constructor of `ShopifySyncError`, per Node environment (main thread, workers).
type ErrorArgs = FnArgs<(String, Unknown<'static>)>;

struct ErrorClass(FunctionRef<ErrorArgs, Unknown<'static>>);

/// Register the `ShopifySyncError` class the native module builds its errors with.
/// Called once by the package's entry point; not part of the public API.
pub fn set_error_class(env: &Env, class: Function<'_>) -> napi::Result<()> {
    let class: Function<'_, ErrorArgs, Unknown<'static>> =
        unsafe { Function::from_napi_value(env.raw(), class.raw())? };
    let reference = class.create_ref()?;
    env.set_instance_data(ErrorClass(reference), (), |_| {})
}

use napi::bindgen_prelude::FromNapiValue;

/// The `code` of an error kind: `SHOPIFY_` + the kind in upper case.
pub fn code(kind: ErrorKind) -> String {
    format!("SHOPIFY_{}", kind.as_str().to_ascii_uppercase())
}

/// The JS error for a failure, as a `napi::Error` that rejects or throws that very
/// object. Falls back to a plain `Error` with the code when the object cannot be built.
pub fn to_js_error(env: &Env, failure: &Failure) -> napi::Error {
    let (code, message) = match failure {
        Failure::Core(e) => (code(e.kind()), e.to_string()),
        Failure::Panic(m) => (
            "SHOPIFY_INTERNAL".to_string(),
            format!("internal error in shopify-sync (a bug, please report it): {m}"),
        ),
    };
    match build(env, failure) {
        Ok(value) => napi::Error::from(value),
        Err(_) => napi::Error::new(napi::Status::GenericFailure, format!("{code}: {message}")),
    }
}

fn build<'e>(env: &'e Env, failure: &Failure) -> napi::Result<Unknown<'e>> {
    match failure {
        Failure::Core(e) => build_core(env, e),
        Failure::Panic(message) => {
            let mut fields = Object::new(env)?;
            fields.set("code", "SHOPIFY_INTERNAL")?;
            fields.set("kind", ())?;
            fields.set("retryable", false)?;
            let text =
                format!("internal error in shopify-sync (a bug, please report it): {message}");
            instantiate(env, text, fields)
        }
    }
}

/// The `ShopifySyncError` object of a core error (a job's error in a report).
pub fn error_object<'e>(env: &'e Env, error: &Error) -> napi::Result<Unknown<'e>> {
    build_core(env, error)
}

fn build_core<'e>(env: &'e Env, error: &Error) -> napi::Result<Unknown<'e>> {
    let mut fields = Object::new(env)?;
    fields.set("code", code(error.kind()))?;
    fields.set("kind", error.kind().as_str())?;
    fields.set("retryable", error.is_retryable())?;
    fields.set("requestId", error.request_id())?;
    fields.set("graphqlErrors", env.to_js_value(&error.graphql_errors())?)?;
    fields.set("userErrors", env.to_js_value(&error.user_errors())?)?;
    fields.set("jsonPath", error.json_path())?;
    if let Some(source) = std::error::Error::source(error) {
        fields.set("cause", cause(env, source)?)?;
    }
    instantiate(env, error.to_string(), fields)
}

/// A cause: another core error keeps its class and fields; anything else becomes a
/// plain `Error` with its message (and its own cause).
fn cause<'e>(
    env: &'e Env,
    source: &(dyn std::error::Error + 'static),
) -> napi::Result<Unknown<'e>> {
    if let Some(core) = source.downcast_ref::<Error>() {
        return build_core(env, core);
    }
    let mut err = env.create_error(napi::Error::from_reason(source.to_string()))?;
    if let Some(next) = source.source() {
        err.set("cause", cause(env, next)?)?;
    }
    Ok(err.to_unknown())
}

/// `new ShopifySyncError(message, fields)`, or a plain `Error` carrying the fields when
/// the class was never registered (the native module loaded on its own).
fn instantiate<'e>(env: &'e Env, message: String, fields: Object<'_>) -> napi::Result<Unknown<'e>> {
    if let Some(class) = env.get_instance_data::<ErrorClass>()? {
        let class = class.0.borrow_back(env)?;
        let fields = unsafe { Unknown::from_raw_unchecked(env.raw(), fields.raw()) };
        return class.new_instance(FnArgs::from((message, fields)));
    }
    let mut err = env.create_error(napi::Error::from_reason(message))?;
    let names = fields.get_property_names()?;
    for i in 0..names.get_array_length()? {
        let key: Unknown<'_> = names.get_element(i)?;
        let key: String = unsafe { String::from_napi_value(env.raw(), key.raw())? };
        let value: Unknown<'_> = fields.get_named_property(&key)?;
        err.set_named_property(&key, value)?;
    }
    err.set_named_property("name", "ShopifySyncError")?;
    Ok(err.to_unknown())
}

/// An `invalid_input` failure naming what was unusable.
pub fn invalid(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Core(Error::invalid_input(format!("{what}: {e}")))
}

/// Run `f`, turning a panic into [`Failure::Panic`] instead of letting it unwind.
pub fn guard<T>(f: impl FnOnce() -> Outcome<T>) -> Settled<T> {
    Settled(match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(panic_failure(payload)),
    })
}

/// The failure for a panic payload.
pub fn panic_failure(payload: Box<dyn std::any::Any + Send>) -> Failure {
    Failure::Panic(
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string()),
    )
}

/// Read an [`ErrorKind`] from its snake_case name.
pub fn parse_kind(name: &str) -> Outcome<ErrorKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| invalid("unknown error kind", format!("{name:?}")))
}
