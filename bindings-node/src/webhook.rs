//! Webhook verification over the raw body bytes (`express.raw()`'s `Buffer`, never a
//! parsed or re-serialised body) and the request headers.
use crate::convert::Input;
use crate::errors::{guard, invalid, to_js_error, Json, Outcome, Settled};
use napi::bindgen_prelude::{Array, Buffer, FromNapiValue, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, ValueType};
use serde::Serialize;
use shopify_sync::error::Error;
use shopify_sync::model::{Collection, Gid, Product};
use shopify_sync::sync::WebhookQueue as CoreQueue;
use shopify_sync::webhook::{receive, Verified, WebhookHeaders, WebhookSecrets};
use std::sync::Arc;

/// The raw body: a `Buffer` or `Uint8Array`; a string is refused (the signature is over
/// the exact bytes Shopify sent).
fn body(env: &Env, value: Unknown<'_>) -> Outcome<Vec<u8>> {
    if value.is_buffer().unwrap_or(false) || value.is_typedarray().unwrap_or(false) {
        let buf = unsafe { Buffer::from_napi_value(env.raw(), value.raw()) }
            .or_else(|_| {
                unsafe {
                    napi::bindgen_prelude::Uint8Array::from_napi_value(env.raw(), value.raw())
                }
                .map(|a| Buffer::from(a.to_vec()))
            })
            .map_err(|e| invalid("body", e.reason))?;
        return Ok(buf.to_vec());
    }
    Err(invalid(
        "body",
        "expected the raw request body as a Buffer (e.g. express.raw()), not a parsed or re-serialised body",
    ))
}

/// Header pairs from a plain object (`req.headers`: values are strings or arrays of
/// strings), an array of `[name, value]` pairs, or anything with `entries()` (a Fetch
/// `Headers`).
fn header_pairs(env: &Env, value: Unknown<'_>) -> Outcome<Vec<(String, Vec<u8>)>> {
    let mut pairs = Vec::new();
    let push = |pairs: &mut Vec<(String, Vec<u8>)>, name: String, v: Unknown<'_>| -> Outcome<()> {
        match v.get_type().map_err(|e| invalid("headers", e.reason))? {
            ValueType::String => {
                let s = unsafe { String::from_napi_value(env.raw(), v.raw()) }
                    .map_err(|e| invalid("headers", e.reason))?;
                pairs.push((name, s.into_bytes()));
            }
            ValueType::Object if v.is_array().unwrap_or(false) => {
                let values = unsafe { Vec::<String>::from_napi_value(env.raw(), v.raw()) }
                    .map_err(|e| invalid("headers", e.reason))?;
                for s in values {
                    pairs.push((name.clone(), s.into_bytes()));
                }
            }
            ValueType::Undefined => {}
            _ => {
                return Err(invalid(
                    "headers",
                    format!("the value of header {name:?} is not a string"),
                ))
            }
        }
        Ok(())
    };
    if value.get_type().map_err(|e| invalid("headers", e.reason))? != ValueType::Object {
        return Err(invalid("headers", "expected an object of headers"));
    }
    let obj = Object::from_raw(env.raw(), value.raw());
    // Fetch Headers / Map: iterate entries() into an array of pairs.
    let entries: Unknown<'_> = obj
        .get_named_property("entries")
        .map_err(|e| invalid("headers", e.reason))?;
    let list = if value.is_array().unwrap_or(false) {
        Some(obj)
    } else if entries.get_type().ok() == Some(ValueType::Function) {
        let global = env.get_global().map_err(|e| invalid("headers", e.reason))?;
        let array_ctor: Unknown<'_> = global
            .get_named_property("Array")
            .map_err(|e| invalid("headers", e.reason))?;
        // A function is an object: read its `from` property.
        let array_ctor = Object::from_raw(env.raw(), array_ctor.raw());
        let from: napi::bindgen_prelude::Function<'_, Unknown<'_>, Unknown<'_>> = array_ctor
            .get_named_property("from")
            .map_err(|e| invalid("headers", e.reason))?;
        let entries_fn: napi::bindgen_prelude::Function<'_, (), Unknown<'_>> =
            unsafe { FromNapiValue::from_napi_value(env.raw(), entries.raw()) }
                .map_err(|e| invalid("headers", e.reason))?;
        let iter = entries_fn
            .apply(obj, ())
            .map_err(|e| invalid("headers", e.reason))?;
        let arr = from
            .apply(array_ctor, iter)
            .map_err(|e| invalid("headers", e.reason))?;
        Some(Object::from_raw(env.raw(), arr.raw()))
    } else {
        None
    };
    match list {
        Some(list) => {
            let arr = unsafe { Array::from_napi_value(env.raw(), list.raw()) }
                .map_err(|e| invalid("headers", e.reason))?;
            for i in 0..arr.len() {
                let pair: Vec<Unknown<'_>> = arr
                    .get(i)
                    .map_err(|e| invalid("headers", e.reason))?
                    .ok_or_else(|| invalid("headers", "a hole in the list of pairs"))?;
                let [name, v] = <[Unknown<'_>; 2]>::try_from(pair)
                    .map_err(|_| invalid("headers", "expected [name, value] pairs"))?;
                let name = unsafe { String::from_napi_value(env.raw(), name.raw()) }
                    .map_err(|e| invalid("headers", e.reason))?;
                push(&mut pairs, name, v)?;
            }
        }
        None => {
            let names = obj
                .get_property_names()
                .map_err(|e| invalid("headers", e.reason))?;
            let names = unsafe { Vec::<String>::from_napi_value(env.raw(), names.raw()) }
                .map_err(|e| invalid("headers", e.reason))?;
            for name in names {
                let v: Unknown<'_> = obj
                    .get_named_property(&name)
                    .map_err(|e| invalid("headers", e.reason))?;
                push(&mut pairs, name, v)?;
            }
        }
    }
    Ok(pairs)
}

fn secrets(secrets: Option<Vec<String>>) -> Outcome<WebhookSecrets> {
    Ok(match secrets {
        Some(list) => WebhookSecrets::new(list)?,
        None => WebhookSecrets::from_env()?,
    })
}

/// What `verifyWebhook` returns (snake_case data).
#[derive(Serialize)]
pub struct VerifiedOut {
    topic: String,
    shop_domain: Option<String>,
    webhook_id: Option<String>,
    event_id: Option<String>,
    api_version: Option<String>,
    triggered_at: Option<String>,
    secret_index: usize,
    is_current_secret: bool,
    sync_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collection_id: Option<Option<String>>,
}

fn verified_out(h: &WebhookHeaders, v: Verified) -> VerifiedOut {
    VerifiedOut {
        topic: h.topic.clone(),
        shop_domain: h.shop_domain.clone(),
        webhook_id: h.webhook_id.clone(),
        event_id: h.event_id.clone(),
        api_version: h.api_version.clone(),
        triggered_at: h
            .triggered_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        secret_index: v.secret_index(),
        is_current_secret: v.is_current(),
        sync_topic: serde_json::to_value(h.sync_topic())
            .ok()
            .and_then(|v| v.as_str().map(String::from)),
        product_id: None,
        collection_id: None,
    }
}

/// Verify a webhook request's signature (the HMAC of the raw `body` with any of
/// `secrets`, current first; `null` reads `SHOPIFY_WEBHOOK_SECRETS`) and read its
/// headers. The body must be the raw `Buffer` (e.g. from `express.raw()`). Throws
/// `SHOPIFY_AUTH` for a bad signature, `SHOPIFY_INVALID_INPUT` for missing headers.
#[napi_derive::napi(
    ts_args_type = "secrets: string[] | null, headers: Record<string, string | string[] | undefined> | Iterable<[string, string]>, body: Buffer | Uint8Array",
    ts_return_type = "VerifiedWebhook"
)]
pub fn verify_webhook(
    env: Env,
    secrets: Option<Vec<String>>,
    headers: Unknown<'_>,
    body: Unknown<'_>,
) -> Settled<Json<VerifiedOut>> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let body = self::body(&env, body)?;
        let parsed =
            WebhookHeaders::from_pairs(header_pairs(&env, headers)?).map_err(Error::from)?;
        let verified = secrets
            .verify_headers(&parsed, &body)
            .map_err(Error::from)?;
        Ok(Json(verified_out(&parsed, verified)))
    })
}

/// Verify one `X-Shopify-Hmac-Sha256` value against the raw `body`; returns the index
/// of the secret that matched (0: the current one).
#[napi_derive::napi(
    ts_args_type = "secrets: string[] | null, signature: string, body: Buffer | Uint8Array",
    ts_return_type = "number"
)]
pub fn verify_webhook_signature(
    env: Env,
    secrets: Option<Vec<String>>,
    signature: String,
    body: Unknown<'_>,
) -> Settled<u32> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let body = self::body(&env, body)?;
        let verified = secrets.verify(&signature, &body).map_err(Error::from)?;
        Ok(verified.secret_index() as u32)
    })
}

/// Everything a webhook endpoint needs but deduplication: verify, read the headers,
/// and decode the payload of a sync topic; adds `product_id` and `collection_id` (gids,
/// or `null`) to what `verifyWebhook()` returns.
#[napi_derive::napi(
    ts_args_type = "secrets: string[] | null, headers: Record<string, string | string[] | undefined> | Iterable<[string, string]>, body: Buffer | Uint8Array",
    ts_return_type = "ReceivedWebhook"
)]
pub fn receive_webhook(
    env: Env,
    secrets: Option<Vec<String>>,
    headers: Unknown<'_>,
    body: Unknown<'_>,
) -> Settled<Json<VerifiedOut>> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let body = self::body(&env, body)?;
        let webhook =
            receive(&secrets, header_pairs(&env, headers)?, &body).map_err(Error::from)?;
        let mut out = verified_out(&webhook.headers, webhook.verified);
        let payload = webhook.payload.as_ref();
        out.product_id = Some(payload.and_then(|p| p.product_id()).map(|g| g.to_string()));
        out.collection_id = Some(
            payload
                .and_then(|p| p.collection_id())
                .map(|g| g.to_string()),
        );
        Ok(Json(out))
    })
}

/// `new WebhookQueue(secrets, options)`: camelCase keys, unknown keys refused.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueOptions {
    shop: Option<String>,
}

/// What `WebhookQueue.receive()` returns: `verifyWebhook()`'s fields, the entity ids,
/// and what the queue did (`outcome`).
#[derive(Serialize)]
pub struct ReceivedOut {
    outcome: &'static str,
    #[serde(flatten)]
    delivery: VerifiedOut,
}

/// Verified webhook deliveries waiting to be re-read by `engine.refresh(queue)`: the
/// dirty set between a web handler and the refresh, deduplicated (`X-Shopify-Event-Id`)
/// and ordered per entity (`X-Shopify-Triggered-At`: an older delivery than one already
/// received for the same product is `stale` and marks nothing). A delivery never
/// becomes data: it only says "this entity changed", and the refresh reads it as
/// Shopify holds it now. One queue serves one shop; watermarks and the dedup set live
/// in memory.
#[napi_derive::napi]
pub struct WebhookQueue {
    queue: Arc<CoreQueue>,
}

impl WebhookQueue {
    /// The core queue (for `SyncEngine.refresh`).
    pub fn core(&self) -> &Arc<CoreQueue> {
        &self.queue
    }
}

#[napi_derive::napi]
impl WebhookQueue {
    /// A queue verifying with `secrets` (current first; `null` reads
    /// `SHOPIFY_WEBHOOK_SECRETS`). `options.shop` (`name` or `name.myshopify.com`)
    /// refuses deliveries whose `X-Shopify-Shop-Domain` is another shop.
    #[napi_derive::napi(
        constructor,
        ts_args_type = "secrets: string[] | null, options?: { shop?: string | null } | null"
    )]
    pub fn new(
        env: Env,
        secrets: Option<Vec<String>>,
        options: Option<Input<QueueOptions>>,
    ) -> napi::Result<WebhookQueue> {
        let out = guard(|| {
            let mut queue = CoreQueue::new(self::secrets(secrets)?);
            let options = match options {
                Some(o) => o.get("WebhookQueue options")?,
                None => QueueOptions::default(),
            };
            if let Some(shop) = options.shop {
                queue = queue.for_shop(&shop);
            }
            Ok(WebhookQueue {
                queue: Arc::new(queue),
            })
        });
        out.0.map_err(|f| to_js_error(&env, &f))
    }

    /// Verify (the HMAC of the raw `body`), deduplicate, order and mark one delivery.
    /// Returns what `verifyWebhook()` does plus `product_id`, `collection_id` and
    /// `outcome` (`"marked"`, `"duplicate"`, `"stale"` or `"ignored"`): answer 200 for
    /// each. Throws `SHOPIFY_AUTH` for a bad signature (answer 401) and
    /// `SHOPIFY_INVALID_INPUT` for missing headers, an unreadable payload or another
    /// shop's delivery (answer 400); a refused delivery marks nothing.
    #[napi_derive::napi(
        ts_args_type = "headers: Record<string, string | string[] | undefined> | Iterable<[string, string]>, body: Buffer | Uint8Array",
        ts_return_type = "QueuedWebhook"
    )]
    pub fn receive(
        &self,
        env: Env,
        headers: Unknown<'_>,
        body: Unknown<'_>,
    ) -> Settled<Json<ReceivedOut>> {
        guard(|| {
            let body = self::body(&env, body)?;
            let received = self
                .queue
                .receive(header_pairs(&env, headers)?, &body)
                .map_err(Error::from)?;
            let mut delivery = verified_out(&received.webhook.headers, received.webhook.verified);
            delivery.product_id = Some(received.product_id().map(|g| g.to_string()));
            delivery.collection_id = Some(received.collection_id().map(|g| g.to_string()));
            Ok(Json(ReceivedOut {
                outcome: received.outcome.as_str(),
                delivery,
            }))
        })
    }

    /// Mark a product dirty by hand (a gid or a numeric id): the next refresh re-reads
    /// it.
    #[napi_derive::napi(ts_return_type = "void")]
    pub fn mark_product(&self, id: String) -> Settled<()> {
        guard(|| {
            let id = Gid::<Product>::parse(&id).map_err(|e| invalid("product id", e))?;
            self.queue.mark_product(id);
            Ok(())
        })
    }

    /// Mark a collection dirty by hand (a gid or a numeric id): the next refresh
    /// re-reads it and its membership.
    #[napi_derive::napi(ts_return_type = "void")]
    pub fn mark_collection(&self, id: String) -> Settled<()> {
        guard(|| {
            let id = Gid::<Collection>::parse(&id).map_err(|e| invalid("collection id", e))?;
            self.queue.mark_collection(id);
            Ok(())
        })
    }

    /// How many entities are dirty, waiting for a refresh.
    #[napi_derive::napi(getter)]
    pub fn pending(&self) -> u32 {
        self.queue.pending().min(u32::MAX as usize) as u32
    }
}
