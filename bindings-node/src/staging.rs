//! `computeStatus`, snapshots, masks, fingerprints and the three-way diff: pure
//! functions of the core, through the JSON shapes of `tests/vectors/*.json`.
use crate::convert::Input;
use crate::errors::{guard, invalid, Json, Outcome, Settled};
use napi::bindgen_prelude::{
    External, FromNapiValue, ToNapiValue, TypeName, Unknown, ValidateNapiValue,
};
use napi::{sys, Env, ValueType};
use napi_derive::napi;
use shopify_sync::model::{Collection, Gid};
use shopify_sync::staging::{
    canonical_collection, canonical_product, diff_with, CollectionSnapshot, DiffOptions, DiffRow,
    FieldMask, Fingerprint, ProductSnapshot, Snapshot,
};
use shopify_sync::status::{self, StatusInput, SyncStatus};

/// The status of one product, from a `StatusInput` (snake_case keys, every key
/// optional); returns the `SyncStatus` (`state`, `rule`, `reason`, `fields`).
///
/// Throws a `ShopifySyncError` with code `SHOPIFY_INVALID_INPUT` for an unknown key or
/// an unusable value.
#[napi(ts_args_type = "input: StatusInput", ts_return_type = "SyncStatus")]
pub fn compute_status(input: Input<StatusInput>) -> Settled<StatusOut> {
    guard(|| {
        let input = input.get("status input")?;
        Ok(StatusOut(status::compute_status(&input)))
    })
}

/// Writes `SyncStatus` objects (`{state, rule, reason, fields}`, the serde shape) with
/// each distinct string created once per call: the hot path of a status column.
struct StatusWriter {
    env: sys::napi_env,
    keys: [sys::napi_value; 4],
    /// `(pointer, length)` of a `&'static str` and its JS string (a few dozen at most).
    strings: Vec<(usize, usize, sys::napi_value)>,
}

impl StatusWriter {
    fn new(env: sys::napi_env) -> napi::Result<StatusWriter> {
        let mut w = StatusWriter {
            env,
            keys: [std::ptr::null_mut(); 4],
            strings: Vec::with_capacity(64),
        };
        w.keys = [
            w.string("state")?,
            w.string("rule")?,
            w.string("reason")?,
            w.string("fields")?,
        ];
        Ok(w)
    }

    fn string(&mut self, s: &'static str) -> napi::Result<sys::napi_value> {
        let key = (s.as_ptr() as usize, s.len());
        if let Some((_, _, v)) = self.strings.iter().find(|(p, l, _)| (*p, *l) == key) {
            return Ok(*v);
        }
        let mut v = std::ptr::null_mut();
        napi::check_status!(unsafe {
            sys::napi_create_string_utf8(self.env, s.as_ptr().cast(), s.len() as isize, &mut v)
        })?;
        self.strings.push((key.0, key.1, v));
        Ok(v)
    }

    fn write(&mut self, status: &SyncStatus) -> napi::Result<sys::napi_value> {
        let env = self.env;
        let mut obj = std::ptr::null_mut();
        napi::check_status!(unsafe { sys::napi_create_object(env, &mut obj) })?;
        let fields = status.fields();
        let mut array = std::ptr::null_mut();
        napi::check_status!(unsafe {
            sys::napi_create_array_with_length(env, fields.len(), &mut array)
        })?;
        for (i, name) in fields.iter().enumerate() {
            let v = self.string(name)?;
            napi::check_status!(unsafe { sys::napi_set_element(env, array, i as u32, v) })?;
        }
        let values = [
            self.string(status.state().as_str())?,
            self.string(status.rule())?,
            self.string(status.reason())?,
            array,
        ];
        for (k, v) in self.keys.iter().zip(values) {
            napi::check_status!(unsafe { sys::napi_set_property(env, obj, *k, v) })?;
        }
        Ok(obj)
    }
}

/// One `SyncStatus` as a JS object.
pub struct StatusOut(SyncStatus);

impl ToNapiValue for StatusOut {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        StatusWriter::new(env)?.write(&val.0)
    }
}

/// `SyncStatus` objects in a JS array.
pub struct StatusesOut(Vec<SyncStatus>);

impl ToNapiValue for StatusesOut {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut w = StatusWriter::new(env)?;
        let mut array = std::ptr::null_mut();
        napi::check_status!(sys::napi_create_array_with_length(
            env,
            val.0.len(),
            &mut array
        ))?;
        // Every distinct string first, in this (outer) scope: the cache must outlive the
        // per-object scopes below.
        for s in &val.0 {
            w.string(s.state().as_str())?;
            w.string(s.rule())?;
            w.string(s.reason())?;
            for name in s.fields().iter() {
                w.string(name)?;
            }
        }
        for (i, s) in val.0.iter().enumerate() {
            // One handle scope per object: millions of live handles in one scope make
            // every scavenge walk them all.
            let mut scope = std::ptr::null_mut();
            napi::check_status!(sys::napi_open_handle_scope(env, &mut scope))?;
            let v = w.write(s)?;
            let set = napi::check_status!(sys::napi_set_element(env, array, i as u32, v));
            napi::check_status!(sys::napi_close_handle_scope(env, scope))?;
            set?;
        }
        Ok(array)
    }
}

/// `computeStatus()` over an array of inputs, in order (one call across the boundary:
/// the fast way to fill a dashboard's status column).
#[napi(
    ts_args_type = "inputs: StatusInput[]",
    ts_return_type = "SyncStatus[]"
)]
pub fn compute_statuses(env: Env, inputs: Unknown<'_>) -> Settled<StatusesOut> {
    guard(|| {
        let inputs = read_array::<StatusInput>(&env, inputs, "status input")?;
        Ok(StatusesOut(status::compute_statuses(&inputs)))
    })
}

/// The fast path of `computeStatus` (the package's `index.js` calls it): the input as
/// its `JSON.stringify` text. Returns `null` when the core refuses the input, for the
/// caller to take the element-by-element path, whose errors name what is wrong.
/// Internal.
#[napi(
    js_name = "_computeStatusJson",
    ts_args_type = "json: string",
    ts_return_type = "SyncStatus | null"
)]
pub fn compute_status_json(json: JsonText) -> Settled<Option<StatusOut>> {
    let json = json.0;
    guard(|| {
        Ok(serde_json::from_str::<StatusInput>(&json)
            .ok()
            .map(|input| StatusOut(status::compute_status(&input))))
    })
}

/// The fast path of `computeStatuses` (the package's `index.js` calls it): the inputs
/// as the `JSON.stringify` text of the array. Returns the distinct statuses and, per
/// input, the index of its status in them (`index.js` expands them into one object per
/// input), or `null` when the core refuses an input (the caller then takes the
/// element-by-element path, whose error names the index). Internal.
#[napi(
    js_name = "_computeStatusesJson",
    ts_args_type = "json: string",
    ts_return_type = "{ statuses: SyncStatus[]; index: Uint32Array } | null"
)]
pub fn compute_statuses_json(json: JsonText) -> Settled<Option<StatusTable>> {
    let json = json.0;
    guard(|| {
        let Ok(inputs) = serde_json::from_str::<Vec<StatusInput>>(&json) else {
            return Ok(None);
        };
        drop(json);
        Ok(Some(StatusTable::of(
            inputs.iter().map(status::compute_status),
            inputs.len(),
        )))
    })
}

/// Slices of a large batch being computed (`_statusBatch()`).
pub struct StatusBatch {
    parts: Vec<std::thread::JoinHandle<Option<Vec<SyncStatus>>>>,
}

/// The fast path of `computeStatuses` for large batches (the package's `index.js` uses
/// it): `_statusBatchPush()` the `JSON.stringify` text of consecutive slices of the
/// inputs, each parsed and computed on a thread of its own while JS serialises the next
/// slice; then `_statusBatchFinish()` gives what `_computeStatusesJson` gives for the
/// whole batch. Internal.
#[napi(
    js_name = "_statusBatch",
    ts_return_type = "ExternalObject<'StatusBatch'>"
)]
pub fn status_batch() -> External<StatusBatch> {
    External::new(StatusBatch { parts: Vec::new() })
}

/// Start on the next slice of a batch: the JSON text of an array of `StatusInput`s.
/// Internal.
#[napi(
    js_name = "_statusBatchPush",
    ts_args_type = "batch: ExternalObject<'StatusBatch'>, json: string"
)]
pub fn status_batch_push(batch: &mut External<StatusBatch>, json: JsonText) {
    let json = json.0;
    batch.parts.push(std::thread::spawn(move || {
        let inputs = serde_json::from_str::<Vec<StatusInput>>(&json).ok()?;
        drop(json);
        Some(status::compute_statuses(&inputs))
    }));
}

/// The statuses of every slice pushed, in order, as `{ statuses, index }`; `null` when
/// the core refuses an input. Internal.
#[napi(
    js_name = "_statusBatchFinish",
    ts_args_type = "batch: ExternalObject<'StatusBatch'>",
    ts_return_type = "{ statuses: SyncStatus[]; index: Uint32Array } | null"
)]
pub fn status_batch_finish(batch: &mut External<StatusBatch>) -> Settled<Option<StatusTable>> {
    let mut all: Vec<Vec<SyncStatus>> = Vec::with_capacity(batch.parts.len());
    let mut refused = false;
    for part in batch.parts.drain(..) {
        match part.join() {
            Ok(Some(statuses)) => all.push(statuses),
            Ok(None) => refused = true,
            Err(panic) => return Settled(Err(crate::errors::panic_failure(panic))),
        }
    }
    if refused {
        return Settled(Ok(None));
    }
    let len = all.iter().map(Vec::len).sum();
    Settled(Ok(Some(StatusTable::of(all.into_iter().flatten(), len))))
}

/// A string argument read in one pass (napi-rs' `String` measures the UTF-8 length in a
/// first pass over the text): the buffer is sized from the UTF-16 length, which bounds
/// the UTF-8 one (3 bytes per unit at most).
pub struct JsonText(String);

impl FromNapiValue for JsonText {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let mut units = 0;
        napi::check_status!(sys::napi_get_value_string_utf16(
            env,
            value,
            std::ptr::null_mut(),
            0,
            &mut units
        ))?;
        let capacity = units * 3 + 1;
        let mut buf: Vec<u8> = Vec::with_capacity(capacity);
        let mut written = 0;
        napi::check_status!(sys::napi_get_value_string_utf8(
            env,
            value,
            buf.as_mut_ptr().cast(),
            capacity,
            &mut written
        ))?;
        // napi wrote `written` bytes (and a NUL after them) of valid UTF-8.
        buf.set_len(written);
        Ok(JsonText(String::from_utf8_unchecked(buf)))
    }
}

impl TypeName for JsonText {
    fn type_name() -> &'static str {
        "string"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for JsonText {}

/// What makes two statuses equal, hashable (the strings are `&'static`: their addresses
/// suffice; the same text at two addresses only makes a duplicate entry, never a wrong
/// one).
#[derive(PartialEq, Eq, Hash)]
struct StatusKey(status::SyncState, status::InputFields, usize, usize);

impl StatusKey {
    fn of(s: &SyncStatus) -> StatusKey {
        StatusKey(
            s.state(),
            s.fields(),
            s.rule().as_ptr() as usize,
            s.reason().as_ptr() as usize,
        )
    }
}

/// Distinct statuses and the index of each input's status in them: `{ statuses, index }`
/// with `index` a `Uint32Array`.
pub struct StatusTable {
    distinct: Vec<SyncStatus>,
    index: Vec<u32>,
}

impl StatusTable {
    /// The table of `statuses` (`len` of them).
    fn of(statuses: impl Iterator<Item = SyncStatus>, len: usize) -> StatusTable {
        let mut distinct: Vec<SyncStatus> = Vec::new();
        let mut known: std::collections::HashMap<StatusKey, u32> = std::collections::HashMap::new();
        let mut index = Vec::with_capacity(len);
        for s in statuses {
            let i = *known.entry(StatusKey::of(&s)).or_insert_with(|| {
                distinct.push(s);
                distinct.len() as u32 - 1
            });
            index.push(i);
        }
        StatusTable { distinct, index }
    }
}

impl ToNapiValue for StatusTable {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let statuses = StatusesOut::to_napi_value(env, StatusesOut(val.distinct))?;
        let bytes = val.index.len() * std::mem::size_of::<u32>();
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        napi::check_status!(sys::napi_create_arraybuffer(
            env,
            bytes,
            &mut data,
            &mut buffer
        ))?;
        if bytes > 0 {
            std::ptr::copy_nonoverlapping(
                val.index.as_ptr().cast::<u8>(),
                data.cast::<u8>(),
                bytes,
            );
        }
        let mut index = std::ptr::null_mut();
        napi::check_status!(sys::napi_create_typedarray(
            env,
            sys::TypedarrayType::uint32_array,
            val.index.len(),
            buffer,
            0,
            &mut index
        ))?;
        let mut obj = std::ptr::null_mut();
        napi::check_status!(sys::napi_create_object(env, &mut obj))?;
        for (name, v) in [(c"statuses", statuses), (c"index", index)] {
            napi::check_status!(sys::napi_set_named_property(env, obj, name.as_ptr(), v))?;
        }
        Ok(obj)
    }
}

/// Read a JS array element by element, naming the index of a bad one.
pub fn read_array<T: serde::de::DeserializeOwned>(
    env: &Env,
    value: Unknown<'_>,
    what: &str,
) -> Outcome<Vec<T>> {
    let is_array = value.is_array().unwrap_or(false);
    if !is_array {
        return Err(invalid(what, "expected an array"));
    }
    let (env, array) = (env.raw(), value.raw());
    let mut len = 0u32;
    napi::check_status!(unsafe { sys::napi_get_array_length(env, array, &mut len) })
        .map_err(|e| invalid(what, e.reason))?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        // One handle scope per element (see StatusesOut).
        let mut scope = std::ptr::null_mut();
        napi::check_status!(unsafe { sys::napi_open_handle_scope(env, &mut scope) })
            .map_err(|e| invalid(what, e.reason))?;
        let mut item = std::ptr::null_mut();
        let read = napi::check_status!(unsafe { sys::napi_get_element(env, array, i, &mut item) })
            .map_err(|e| invalid(what, e.reason))
            .and_then(|_| {
                unsafe { crate::convert::read::<T>(env, item) }
                    .map_err(|e| invalid(&format!("{what} [{i}]"), e))
            });
        unsafe { sys::napi_close_handle_scope(env, scope) };
        out.push(read?);
    }
    Ok(out)
}

use napi::JsValue;

/// A field mask argument: a list of field names; `null` or `undefined` for every field.
pub struct MaskArg(Outcome<FieldMask>);

impl MaskArg {
    /// The mask, or the failure.
    pub fn get(self) -> Outcome<FieldMask> {
        self.0
    }
}

impl FromNapiValue for MaskArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let env = Env::from_raw(env);
        let unknown = Unknown::from_raw_unchecked(env.raw(), value);
        Ok(MaskArg(match unknown.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(FieldMask::ALL),
            ValueType::String => Err(invalid(
                "mask",
                "expected a list of field names, not a string",
            )),
            _ => {
                crate::convert::read::<FieldMask>(env.raw(), value).map_err(|e| invalid("mask", e))
            }
        }))
    }
}

impl TypeName for MaskArg {
    fn type_name() -> &'static str {
        "Field[]"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for MaskArg {}

fn mask(m: Option<MaskArg>) -> Outcome<FieldMask> {
    m.map_or(Ok(FieldMask::ALL), MaskArg::get)
}

/// The `v1:` fingerprint of a snapshot tagged with its `kind` (`"product"` or
/// `"collection"`) under `mask` (a list of field names; omitted or `null`: every field).
#[napi(
    ts_args_type = "snapshot: Snapshot, mask?: Field[] | null",
    ts_return_type = "string"
)]
pub fn fingerprint(snapshot: Input<Snapshot>, mask: Option<MaskArg>) -> Settled<String> {
    guard(|| {
        let mask = self::mask(mask)?;
        Ok(snapshot.get("snapshot")?.fingerprint(mask).to_string())
    })
}

/// The `v1:` fingerprint of a product snapshot (no `kind` key) under `mask`.
#[napi(
    ts_args_type = "snapshot: ProductSnapshot, mask?: Field[] | null",
    ts_return_type = "string"
)]
pub fn fingerprint_product(
    snapshot: Input<ProductSnapshot>,
    mask: Option<MaskArg>,
) -> Settled<String> {
    guard(|| {
        let mask = self::mask(mask)?;
        let s = snapshot.get("product snapshot")?;
        Ok(Fingerprint::of_product(&s, mask).to_string())
    })
}

/// The `v1:` fingerprint of a collection snapshot (no `kind` key) under `mask`.
#[napi(
    ts_args_type = "snapshot: CollectionSnapshot, mask?: Field[] | null",
    ts_return_type = "string"
)]
pub fn fingerprint_collection(
    snapshot: Input<CollectionSnapshot>,
    mask: Option<MaskArg>,
) -> Settled<String> {
    guard(|| {
        let mask = self::mask(mask)?;
        let s = snapshot.get("collection snapshot")?;
        Ok(Fingerprint::of_collection(&s, mask).to_string())
    })
}

/// The canonical document (compact JSON) a fingerprint hashes, for a snapshot tagged
/// with its `kind`, under `mask`.
#[napi(
    ts_args_type = "snapshot: Snapshot, mask?: Field[] | null",
    ts_return_type = "string"
)]
pub fn canonical_document(snapshot: Input<Snapshot>, mask: Option<MaskArg>) -> Settled<String> {
    guard(|| {
        let mask = self::mask(mask)?;
        Ok(match snapshot.get("snapshot")? {
            Snapshot::Product(p) => canonical_product(&p, mask),
            Snapshot::Collection(c) => canonical_collection(&c, mask),
        })
    })
}

/// A snapshot (tagged with its `kind`) with its fields normalised, as the diff and the
/// fingerprint see it.
#[napi(ts_args_type = "snapshot: Snapshot", ts_return_type = "Snapshot")]
pub fn normalize_snapshot(snapshot: Input<Snapshot>) -> Settled<Json<Snapshot>> {
    guard(|| Ok(Json(snapshot.get("snapshot")?.normalized())))
}

/// Options of `diff()`.
#[napi(object)]
pub struct DiffArgs {
    /// The managed fields (omitted or `null`: every field).
    #[napi(ts_type = "Field[] | null")]
    pub mask: Option<Vec<String>>,
    /// Collection gids whose membership Shopify decides from their rules (smart
    /// collections): a local membership change for one of them is an `error` row.
    pub smart_collections: Option<Vec<String>>,
}

/// The three-way diff of one entity: `base` (what was last synced), `local` and
/// `remote`, each a snapshot tagged with its `kind` (the same on every side) or `null`
/// where the entity does not exist on that side. Returns the rows in order (the shape
/// of `tests/vectors/diff.json`).
#[napi(
    ts_args_type = "base: Snapshot | null, local: Snapshot | null, remote: Snapshot | null, options?: DiffArgs",
    ts_return_type = "DiffRow[]"
)]
pub fn diff(
    base: Input<Option<Snapshot>>,
    local: Input<Option<Snapshot>>,
    remote: Input<Option<Snapshot>>,
    options: Option<DiffArgs>,
) -> Settled<Json<Vec<DiffRow>>> {
    guard(|| {
        let base = base.get("base")?;
        let local = local.get("local")?;
        let remote = remote.get("remote")?;
        let mut mask = FieldMask::ALL;
        let mut diff_options = DiffOptions::default();
        if let Some(o) = options {
            if let Some(m) = o.mask {
                mask =
                    serde_json::from_value(serde_json::json!(m)).map_err(|e| invalid("mask", e))?;
            }
            for id in o.smart_collections.unwrap_or_default() {
                let gid =
                    Gid::<Collection>::parse(&id).map_err(|e| invalid("smartCollections", e))?;
                diff_options.smart_collections.insert(gid);
            }
        }
        let rows = diff_with(
            base.as_ref(),
            local.as_ref(),
            remote.as_ref(),
            mask,
            &diff_options,
        )?;
        Ok(Json(rows))
    })
}

/// The snapshot of a product as the Admin API returns it (`client.products()`,
/// `client.product()`): the synced content, normalised, without collections.
#[napi(ts_args_type = "product: Product", ts_return_type = "ProductSnapshot")]
pub fn product_snapshot(
    product: Input<shopify_sync::model::Product>,
) -> Settled<Json<ProductSnapshot>> {
    guard(|| {
        Ok(Json(ProductSnapshot::from_product(
            &product.get("product")?,
        )))
    })
}

/// The snapshot of a collection as the Admin API returns it.
#[napi(
    ts_args_type = "collection: Collection",
    ts_return_type = "CollectionSnapshot"
)]
pub fn collection_snapshot(
    collection: Input<shopify_sync::model::Collection>,
) -> Settled<Json<CollectionSnapshot>> {
    guard(|| {
        Ok(Json(CollectionSnapshot::from_collection(
            &collection.get("collection")?,
        )))
    })
}
