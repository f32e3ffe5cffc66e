//! JS values <-> the core's serde shapes.
//!
//! Inputs arrive as [`Input<T>`]: the JS value read as JSON data ([`to_value`]: what
//! `JSON.stringify` would keep; properties whose value is `undefined` are absent), then
//! through `T`'s serde shape (snake_case keys, the enum strings of the JSON vectors),
//! keeping the error instead of failing the argument conversion, so that a bad shape
//! becomes a `ShopifySyncError` with code `SHOPIFY_INVALID_INPUT` that names the
//! argument. Outputs go through [`Json`](crate::errors::Json).
use crate::errors::{invalid, Outcome};
use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue};
use napi::{check_status, sys, ValueType};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use std::ptr;

/// A JS value read as `T` (or the reason it could not be).
pub struct Input<T>(Result<T, String>);

impl<T> Input<T> {
    /// The value, or an `invalid_input` failure naming `what`.
    pub fn get(self, what: &str) -> Outcome<T> {
        self.0.map_err(|e| invalid(what, e))
    }
}

impl<T: DeserializeOwned> FromNapiValue for Input<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Input(to_value(env, value, 0).and_then(|v| {
            serde_json::from_value(v).map_err(|e| e.to_string())
        })))
    }
}

impl<T> TypeName for Input<T> {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl<T> ValidateNapiValue for Input<T> {
    unsafe fn validate(
        _env: sys::napi_env,
        _value: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        Ok(ptr::null_mut())
    }
}

/// Read a JS value as `T` through its JSON shape.
///
/// # Safety
/// `env` and `value` must be valid for the current call.
pub unsafe fn read<T: DeserializeOwned>(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<T, String> {
    serde_json::from_value(to_value(env, value, 0)?).map_err(|e| e.to_string())
}

const MAX_DEPTH: usize = 64;

fn status(s: sys::napi_status) -> Result<(), String> {
    check_status!(s).map_err(|e| e.reason.clone())
}

unsafe fn string(env: sys::napi_env, value: sys::napi_value) -> Result<String, String> {
    // One call for the common short string; a second only when it did not fit.
    let mut stack = [0u8; 256];
    let mut written = 0;
    status(sys::napi_get_value_string_utf8(
        env,
        value,
        stack.as_mut_ptr().cast(),
        stack.len(),
        &mut written,
    ))?;
    if written + 1 < stack.len() {
        return std::str::from_utf8(&stack[..written])
            .map(String::from)
            .map_err(|e| e.to_string());
    }
    let mut len = 0;
    status(sys::napi_get_value_string_utf8(
        env,
        value,
        ptr::null_mut(),
        0,
        &mut len,
    ))?;
    let mut buf = vec![0u8; len + 1];
    status(sys::napi_get_value_string_utf8(
        env,
        value,
        buf.as_mut_ptr().cast(),
        buf.len(),
        &mut written,
    ))?;
    buf.truncate(written);
    String::from_utf8(buf).map_err(|e| e.to_string())
}

/// The JSON data of a JS value: strings, finite numbers, booleans, `null`, arrays and
/// plain objects (own enumerable string keys); `undefined` properties are left out.
///
/// # Safety
/// `env` and `value` must be valid for the current call.
pub unsafe fn to_value(
    env: sys::napi_env,
    value: sys::napi_value,
    depth: usize,
) -> Result<Value, String> {
    let mut ty = 0;
    status(sys::napi_typeof(env, value, &mut ty))?;
    typed_value(env, value, ty, depth)
}

unsafe fn typed_value(
    env: sys::napi_env,
    value: sys::napi_value,
    ty: sys::napi_valuetype,
    depth: usize,
) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".into());
    }
    match ty {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(Value::Null),
        sys::ValueType::napi_boolean => {
            let mut b = false;
            status(sys::napi_get_value_bool(env, value, &mut b))?;
            Ok(Value::Bool(b))
        }
        sys::ValueType::napi_number => {
            let mut n = 0f64;
            status(sys::napi_get_value_double(env, value, &mut n))?;
            if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                Ok(Value::Number(Number::from(n as i64)))
            } else {
                Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{n} is not a finite number"))
            }
        }
        sys::ValueType::napi_string => Ok(Value::String(string(env, value)?)),
        sys::ValueType::napi_object => {
            let mut is_array = false;
            status(sys::napi_is_array(env, value, &mut is_array))?;
            if is_array {
                let mut len = 0u32;
                status(sys::napi_get_array_length(env, value, &mut len))?;
                let mut out = Vec::with_capacity(len as usize);
                for i in 0..len {
                    let mut item = ptr::null_mut();
                    status(sys::napi_get_element(env, value, i, &mut item))?;
                    out.push(to_value(env, item, depth + 1)?);
                }
                return Ok(Value::Array(out));
            }
            let mut names = ptr::null_mut();
            status(sys::napi_get_all_property_names(
                env,
                value,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut names,
            ))?;
            let mut len = 0u32;
            status(sys::napi_get_array_length(env, names, &mut len))?;
            let mut map = Map::new();
            for i in 0..len {
                let mut key = ptr::null_mut();
                status(sys::napi_get_element(env, names, i, &mut key))?;
                let mut item = ptr::null_mut();
                status(sys::napi_get_property(env, value, key, &mut item))?;
                let mut item_ty = 0;
                status(sys::napi_typeof(env, item, &mut item_ty))?;
                if item_ty == sys::ValueType::napi_undefined {
                    continue;
                }
                map.insert(
                    string(env, key)?,
                    typed_value(env, item, item_ty, depth + 1)?,
                );
            }
            Ok(Value::Object(map))
        }
        sys::ValueType::napi_bigint => {
            let (mut u, mut lossless) = (0u64, false);
            status(sys::napi_get_value_bigint_uint64(
                env,
                value,
                &mut u,
                &mut lossless,
            ))?;
            if lossless {
                return Ok(Value::Number(Number::from(u)));
            }
            let mut i = 0i64;
            status(sys::napi_get_value_bigint_int64(
                env,
                value,
                &mut i,
                &mut lossless,
            ))?;
            if lossless {
                return Ok(Value::Number(Number::from(i)));
            }
            Err("a BigInt out of the 64-bit range".into())
        }
        _ => Err("expected JSON data (a function or a symbol is not)".into()),
    }
}

/// A JS value for JSON data: numbers are always JS numbers (as `JSON.parse` reads them,
/// never `BigInt`), objects keep their key order.
///
/// # Safety
/// `env` must be valid for the current call.
pub unsafe fn from_value(env: sys::napi_env, value: &Value) -> napi::Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    match value {
        Value::Null => check_status!(sys::napi_get_null(env, &mut out))?,
        Value::Bool(b) => check_status!(sys::napi_get_boolean(env, *b, &mut out))?,
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            check_status!(sys::napi_create_double(env, f, &mut out))?
        }
        Value::String(s) => check_status!(sys::napi_create_string_utf8(
            env,
            s.as_ptr().cast(),
            s.len() as isize,
            &mut out
        ))?,
        Value::Array(items) => {
            check_status!(sys::napi_create_array_with_length(
                env,
                items.len(),
                &mut out
            ))?;
            for (i, item) in items.iter().enumerate() {
                let v = from_value(env, item)?;
                check_status!(sys::napi_set_element(env, out, i as u32, v))?;
            }
        }
        Value::Object(map) => {
            check_status!(sys::napi_create_object(env, &mut out))?;
            for (k, item) in map {
                let mut key = ptr::null_mut();
                check_status!(sys::napi_create_string_utf8(
                    env,
                    k.as_ptr().cast(),
                    k.len() as isize,
                    &mut key
                ))?;
                let v = from_value(env, item)?;
                check_status!(sys::napi_set_property(env, out, key, v))?;
            }
        }
    }
    Ok(out)
}
