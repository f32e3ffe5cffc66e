//! Python values <-> the core's serde shapes.
//!
//! In: [`from_json`] reads a Python value as any core type with the type's own serde
//! rules, straight from the Python objects (a minimal serde `Deserializer` over a
//! borrowed `PyAny`, [`PyDe`]): dicts, lists, tuples, str, int, float, bool and None
//! are read in place; anything else (`Decimal`, aware `datetime`, objects with
//! `to_dict()`, other mappings) goes through its JSON value ([`json_from_py`]) first.
//! Out: `pythonize`.
use crate::errors::invalid;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Read a Python value as `T` (see the module docs); an unusable shape is an
/// `InvalidInputError` naming `what`.
pub fn from_py<T: DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    from_json(what, value)
}

/// Write `value` as plain Python data (dicts, lists, str, int, float, bool, None).
pub fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, value)?.unbind())
}

/// An aware `datetime` (UTC) for a chrono timestamp.
pub fn datetime(py: Python<'_>, t: &chrono::DateTime<chrono::Utc>) -> PyResult<Py<PyAny>> {
    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    Ok(py
        .import("datetime")?
        .getattr("datetime")?
        .call_method1("fromisoformat", (text,))?
        .unbind())
}

static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static TYPES_FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
        })?
        .bind(py))
}

/// Read a Python value as JSON, accepting the native types the core's JSON shapes stand
/// for: `decimal.Decimal` (written as its exact fixed-point string, the shape of
/// money), aware `datetime` (RFC 3339; a naive one is refused), tuples as lists, any
/// mapping, and objects with a `to_dict()` method (the typed result classes).
pub fn json_from_py(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let mut path = String::new();
    json_at(value, &mut path).map_err(|e| match e {
        JsonError::At { path, message } => {
            invalid(if path.is_empty() { "$" } else { &path }, message)
        }
        JsonError::Py(e) => e,
    })
}

/// Why [`json_at`] failed: an unusable value at a path (`.key[1]`, relative to where
/// it started), or an exception raised by Python code it called.
enum JsonError {
    At { path: String, message: String },
    Py(PyErr),
}

impl From<PyErr> for JsonError {
    fn from(e: PyErr) -> Self {
        JsonError::Py(e)
    }
}

fn json_at(value: &Bound<'_, PyAny>, path: &mut String) -> Result<Value, JsonError> {
    let py = value.py();
    let at = |path: &str, message: &str| JsonError::At {
        path: path.to_string(),
        message: message.to_string(),
    };
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(at(path, "integer out of range"));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| at(path, "NaN and infinity are not JSON"));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| at(path, "dict keys must be strings"))?
                .to_cow()?
                .into_owned();
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            let v = json_at(&v, path)?;
            path.truncate(len);
            map.insert(key, v);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut out = Vec::with_capacity(value.len().unwrap_or(0));
        for (i, item) in value.try_iter()?.enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            out.push(json_at(&item?, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(out));
    }
    if value.is_instance(class(py, &DECIMAL, "decimal", "Decimal")?)? {
        let text: String = py
            .import("builtins")?
            .getattr("format")?
            .call1((value, "f"))?
            .extract()?;
        return Ok(Value::String(text));
    }
    if value.is_instance(class(py, &DATETIME, "datetime", "datetime")?)? {
        if value.call_method0("utcoffset")?.is_none() {
            return Err(at(
                path,
                "naive datetime: attach a tzinfo (e.g. datetime.timezone.utc)",
            ));
        }
        return Ok(Value::String(value.call_method0("isoformat")?.extract()?));
    }
    if value.hasattr("to_dict")? {
        return json_at(&value.call_method0("to_dict")?, path);
    }
    if value.hasattr("items")? {
        let d = PyDict::new(py);
        for item in value.call_method0("items")?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            d.set_item(k, v)?;
        }
        return json_at(d.as_any(), path);
    }
    Err(at(
        path,
        &format!(
            "cannot convert a {} to JSON",
            value.get_type().name()?.to_cow()?
        ),
    ))
}

/// Read a Python value as `T` (see the module docs); an unusable shape is an
/// `InvalidInputError` naming `what`.
pub fn from_json<T: DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let keys = Keys::default();
    T::deserialize(PyDe::new(value, &keys)).map_err(|e| invalid(what, e))
}

/// An instance of the typed result class `name` (`shopify_sync._types`) built from a
/// dict by its `from_dict`.
pub fn typed(py: Python<'_>, name: &str, data: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let from_native = class(
        py,
        &TYPES_FROM_NATIVE,
        "shopify_sync._types",
        "_from_native",
    )?;
    Ok(from_native.call1((name, data))?.unbind())
}

/// Instances of the typed result class `name`, one per item (from its JSON shape).
pub fn typed_list<T: Serialize>(py: Python<'_>, name: &str, items: &[T]) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(typed(py, name, to_py(py, item)?.into_bound(py))?)?;
    }
    Ok(list.into_any().unbind())
}

/// An instance of the typed result class `name`, or `None`.
pub fn typed_option<T: Serialize>(
    py: Python<'_>,
    name: &str,
    item: Option<&T>,
) -> PyResult<Py<PyAny>> {
    match item {
        Some(item) => typed(py, name, to_py(py, item)?.into_bound(py)),
        None => Ok(py.None()),
    }
}

// ----- serde straight from Python objects --------------------------------------------

/// The Rust text of dict keys met so far, by the identity of the key object: the keys
/// of many rows are the same few (interned) str objects, so each is decoded once per
/// call.
#[derive(Default)]
pub struct Keys<'py>(RefCell<Vec<(Bound<'py, PyString>, Box<str>)>>);

/// How many distinct key objects [`Keys`] remembers.
const KEYS_KEPT: usize = 64;

impl<'py> Keys<'py> {
    fn text(&self, key: &Bound<'py, PyString>) -> Result<Box<str>, DeError> {
        if let Some((_, s)) = self.0.borrow().iter().find(|(k, _)| k.is(key)) {
            return Ok(s.clone());
        }
        let s: Box<str> = key.to_cow().map_err(DeError::py)?.into();
        let mut kept = self.0.borrow_mut();
        if kept.len() < KEYS_KEPT {
            kept.push((key.clone(), s.clone()));
        }
        Ok(s)
    }

    /// Call `f` with the text of `key`.
    fn with<R>(&self, key: &Bound<'py, PyString>, f: impl FnOnce(&str) -> R) -> Result<R, DeError> {
        {
            let kept = self.0.borrow();
            if let Some((_, s)) = kept.iter().find(|(k, _)| k.is(key)) {
                return Ok(f(s));
            }
        }
        let s = self.text(key)?;
        Ok(f(&s))
    }
}

/// Why [`PyDe`] failed: a message, and where (filled in as the error goes up).
#[derive(Debug)]
pub struct DeError {
    /// Path segments (`.key`, `[1]`), innermost first.
    path: Vec<String>,
    message: String,
}

impl DeError {
    fn py(e: PyErr) -> DeError {
        let message = Python::attach(|py| e.value(py).to_string());
        DeError {
            path: Vec::new(),
            message,
        }
    }

    fn at(mut self, segment: impl FnOnce() -> String) -> DeError {
        self.path.push(segment());
        self
    }

    fn json(e: JsonError) -> DeError {
        match e {
            JsonError::Py(e) => DeError::py(e),
            JsonError::At { path, message } => DeError {
                path: if path.is_empty() { vec![] } else { vec![path] },
                message,
            },
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            return f.write_str(&self.message);
        }
        f.write_str("$")?;
        for segment in self.path.iter().rev() {
            f.write_str(segment)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

/// A serde `Deserializer` over a borrowed Python object: the core type's own
/// `Deserialize` decides what is accepted, as it would from the object's JSON (the
/// same visitor calls `serde_json::Value` makes).
pub struct PyDe<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    keys: &'a Keys<'py>,
}

impl<'a, 'py> PyDe<'a, 'py> {
    pub fn new(obj: &'a Bound<'py, PyAny>, keys: &'a Keys<'py>) -> Self {
        PyDe { obj, keys }
    }

    /// The object's JSON value, for what is not read in place.
    fn json(&self) -> Result<Value, DeError> {
        json_at(self.obj, &mut String::new()).map_err(DeError::json)
    }
}

fn visit_py_str<'de, V: Visitor<'de>>(s: &Bound<'_, PyString>, v: V) -> Result<V::Value, DeError> {
    #[cfg(not(windows))]
    {
        v.visit_str(utf8(s)?)
    }
    #[cfg(windows)]
    {
        // One copy (the UTF-8 bytes object), borrowed for the visitor.
        let bytes = s.encode_utf8().map_err(DeError::py)?;
        let text = std::str::from_utf8(bytes.as_bytes()).map_err(de::Error::custom)?;
        v.visit_str(text)
    }
}

#[cfg(not(windows))]
extern "C" {
    // In the stable ABI from 3.10 only (so pyo3's abi3-py39 build does not declare
    // it), but exported by every CPython 3 the module can load into: extension modules
    // on Linux and macOS resolve it from the interpreter at load time. Windows links
    // abi3 modules against python3.dll, which lacks it before 3.10.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// The UTF-8 text of a str without copying it (CPython keeps it with the object; an
/// ASCII string is its own UTF-8).
#[cfg(not(windows))]
fn utf8<'a>(s: &'a Bound<'_, PyString>) -> Result<&'a str, DeError> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str object and the GIL is held; the buffer lives as long
    // as the object, which `'a` borrows.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(DeError::py(PyErr::fetch(s.py())));
    }
    // SAFETY: CPython returns `size` bytes of valid UTF-8 at `data`.
    Ok(unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), size as usize))
    })
}

impl<'de> de::Deserializer<'de> for PyDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let obj = self.obj;
        if let Ok(s) = obj.cast::<PyString>() {
            return visit_py_str(s, v);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return v.visit_map(DictAccess {
                iter: d.iter(),
                value: None,
                key: None,
                keys: self.keys,
            });
        }
        if obj.is_none() {
            return v.visit_unit();
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return v.visit_bool(b.is_true());
        }
        if obj.is_instance_of::<PyInt>() {
            // As serde_json: non-negative numbers are u64, negative ones i64.
            if let Ok(u) = obj.extract::<u64>() {
                return v.visit_u64(u);
            }
            if let Ok(i) = obj.extract::<i64>() {
                return v.visit_i64(i);
            }
            return Err(de::Error::custom("integer out of range"));
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            let f = f.value();
            if !f.is_finite() {
                return Err(de::Error::custom("NaN and infinity are not JSON"));
            }
            return v.visit_f64(f);
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return v.visit_seq(SeqAccess {
                items: Items::List(l),
                index: 0,
                len: l.len(),
                keys: self.keys,
            });
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return v.visit_seq(SeqAccess {
                items: Items::Tuple(t),
                index: 0,
                len: t.len(),
                keys: self.keys,
            });
        }
        // Decimal, datetime, to_dict(), other mappings.
        self.json()?.deserialize_any(v).map_err(de::Error::custom)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.obj.is_none() {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.json()?
            .deserialize_enum(name, variants, v)
            .map_err(de::Error::custom)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct DictAccess<'a, 'py> {
    iter: pyo3::types::dict::BoundDictIterator<'py>,
    key: Option<Bound<'py, PyString>>,
    value: Option<Bound<'py, PyAny>>,
    keys: &'a Keys<'py>,
}

impl<'de> de::MapAccess<'de> for DictAccess<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        let k = k
            .cast_into::<PyString>()
            .map_err(|_| de::Error::custom("dict keys must be strings"))?;
        let out = seed.deserialize(KeyDe {
            key: &k,
            keys: self.keys,
        });
        let out = match out {
            Ok(out) => out,
            Err(e) => return Err(e.at(|| format!(".{}", k.to_string_lossy()))),
        };
        self.key = Some(k);
        self.value = Some(v);
        Ok(Some(out))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a value without a key"))?;
        seed.deserialize(PyDe::new(&value, self.keys)).map_err(|e| {
            let key = self.key.as_ref().map(|k| k.to_string_lossy().into_owned());
            e.at(|| format!(".{}", key.unwrap_or_default()))
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A dict key: its text, decoded once per key object ([`Keys`]).
struct KeyDe<'a, 'py> {
    key: &'a Bound<'py, PyString>,
    keys: &'a Keys<'py>,
}

impl<'de> de::Deserializer<'de> for KeyDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.keys.with(self.key, |s| v.visit_str(s))?
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let text = self.keys.text(self.key)?;
        v.visit_enum(IntoDeserializer::<DeError>::into_deserializer(&*text))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

enum Items<'a, 'py> {
    List(&'a Bound<'py, PyList>),
    Tuple(&'a Bound<'py, PyTuple>),
}

struct SeqAccess<'a, 'py> {
    items: Items<'a, 'py>,
    index: usize,
    len: usize,
    keys: &'a Keys<'py>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.index >= self.len {
            return Ok(None);
        }
        let i = self.index;
        self.index += 1;
        let item = match self.items {
            Items::List(l) => l.get_item(i),
            Items::Tuple(t) => t.get_item(i),
        };
        // A list shortened meanwhile (by Python code a conversion called) ends here.
        let Ok(item) = item else { return Ok(None) };
        seed.deserialize(PyDe::new(&item, self.keys))
            .map(Some)
            .map_err(|e| e.at(|| format!("[{i}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.index)
    }
}

/// A value read from Python by [`PyDe`] as its own type's serde rules say; `keys` may
/// serve many calls (the rows of a batch).
pub fn deserialize<'py, T: DeserializeOwned>(
    value: &Bound<'py, PyAny>,
    keys: &Keys<'py>,
) -> Result<T, DeError> {
    T::deserialize(PyDe::new(value, keys))
}
