//! Receiving Shopify webhooks: HMAC verification, header parsing, deduplication, and a
//! typed view of the sync topics' payloads.
//!
//! This module owns what happens to a webhook request between the HTTP server (which is
//! the caller's: axum, actix, Flask through the bindings ...) and the sync engine. It
//! does no I/O: it takes header pairs and the raw body bytes, and gives back typed data.
//! Registering subscriptions with Shopify is the client's job
//! ([`crate::client::webhooks`]).
//!
//! # Verification
//!
//! Shopify signs each delivery with `X-Shopify-Hmac-Sha256`: the base64 of the
//! HMAC-SHA256 of the **raw body bytes**, keyed with the app's client secret. Verify
//! before parsing, on the bytes as received (re-serialised JSON does not verify). The
//! comparison is constant-time. [`WebhookSecrets`] holds one or more secrets: while a
//! secret is rotated (Shopify takes up to an hour to switch), deliveries may be signed
//! with the old or the new one, so any secret of the list may match, and [`Verified`]
//! says which. Every secret is tried, so the time taken does not say which one matched.
//!
//! A missing, non-base64 or wrong-length signature and an empty body are refused with a
//! typed [`WebhookError`] before any HMAC is computed; a well-formed signature that
//! matches no secret is [`WebhookError::SignatureMismatch`]. Answer 401 to all of them
//! ([`WebhookError::http_status`]).
//!
//! # Deduplication
//!
//! Shopify delivers at least once: a delivery that was not acknowledged in time is
//! retried (8 times over 4 hours since 2024-09), and an app with several subscriptions
//! to one topic receives one delivery per subscription. [`WebhookDedup`] recognises
//! repeats:
//!
//! - The key is `X-Shopify-Event-Id`: Shopify documents it as the same for every
//!   delivery of one event, across retries and across subscriptions, so it catches both
//!   kinds of repeat. Deliveries without it (older API versions) fall back to
//!   `X-Shopify-Webhook-Id`, which is the same across retries of one delivery but differs
//!   between subscriptions.
//! - The key also holds the shop domain and the topic, so one process serving several
//!   shops, or one event seen under two topics, never suppresses a delivery that is not
//!   a repeat. A delivery with neither id cannot be deduplicated and always counts as new.
//! - The set is bounded twice: by count (default [`DEFAULT_DEDUP_CAPACITY`], the oldest
//!   entry is dropped first) and by age (default [`DEFAULT_DEDUP_WINDOW`], 5 hours: the
//!   4-hour retry schedule plus a margin). It lives in memory, one per process; a
//!   restart or a second process forgets. Deduplication saves work, it does not make
//!   processing exactly-once: handlers must stay idempotent (the sync engine re-reads
//!   the object by id, which is).
//! - Mark a delivery as seen when it arrives ([`WebhookDedup::first_delivery`]) and
//!   [`WebhookDedup::forget`] it if processing fails, so that Shopify's retry is
//!   processed instead of dropped.
//!
//! # Payloads
//!
//! Payloads are REST JSON, not GraphQL: numeric ids (converted to typed GIDs here,
//! `123` -> `gid://shopify/Product/123`), snake_case keys, lowercase enums, comma-joined
//! tags. [`WebhookPayload`] reads the fields the sync needs for the sync topics;
//! `products/delete` and `collections/delete` carry only the id.
//!
//! ```
//! use shopify_sync::webhook::{receive, WebhookDedup, WebhookPayload, WebhookSecret, WebhookSecrets};
//!
//! let secrets = WebhookSecrets::new(["new-secret", "old-secret"])?;
//! let body = br#"{"id": 788032119674292922}"#;
//! // What Shopify would send, signed with the old secret during a rotation:
//! let signature = WebhookSecret::new("old-secret").sign(body);
//! let headers = [
//!     ("X-Shopify-Topic", "products/delete"),
//!     ("x-shopify-hmac-sha256", signature.as_str()),
//!     ("X-Shopify-Shop-Domain", "my-store.myshopify.com"),
//!     ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
//!     ("X-Shopify-Triggered-At", "2026-03-01T12:00:00.123456Z"),
//! ];
//! let webhook = receive(&secrets, headers, body)?;
//! assert_eq!(webhook.verified.secret_index(), 1);
//! match &webhook.payload {
//!     Some(WebhookPayload::ProductDelete(p)) => {
//!         assert_eq!(p.id.to_string(), "gid://shopify/Product/788032119674292922")
//!     }
//!     other => panic!("{other:?}"),
//! }
//! let dedup = WebhookDedup::default();
//! assert!(dedup.first_delivery(&webhook.headers));
//! assert!(!dedup.first_delivery(&webhook.headers)); // a retry, or another subscription
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Collection, Gid, Money, Product, ProductStatus, ProductVariant};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable [`WebhookSecrets::from_env`] reads: comma-separated secrets.
pub const SECRETS_VAR: &str = "SHOPIFY_WEBHOOK_SECRETS";

/// `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body.
pub const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";
/// `X-Shopify-Topic`, e.g. `products/update`.
pub const TOPIC_HEADER: &str = "X-Shopify-Topic";
/// `X-Shopify-Webhook-Id`: one delivery (the same across its retries).
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";
/// `X-Shopify-Event-Id`: one event (the same across retries and subscriptions).
pub const EVENT_ID_HEADER: &str = "X-Shopify-Event-Id";
/// `X-Shopify-Triggered-At`: when the event happened (RFC 3339).
pub const TRIGGERED_AT_HEADER: &str = "X-Shopify-Triggered-At";
/// `X-Shopify-API-Version`: the API version the payload is shaped by.
pub const API_VERSION_HEADER: &str = "X-Shopify-API-Version";
/// `X-Shopify-Shop-Domain`, e.g. `my-store.myshopify.com`.
pub const SHOP_DOMAIN_HEADER: &str = "X-Shopify-Shop-Domain";

/// Bytes in an HMAC-SHA256.
const SIGNATURE_LEN: usize = 32;

/// Default capacity of a [`WebhookDedup`]: keys remembered at most.
pub const DEFAULT_DEDUP_CAPACITY: usize = 10_000;
/// Default window of a [`WebhookDedup`]: how long a key is remembered. Shopify retries a
/// failed delivery 8 times over 4 hours; an hour of margin is added.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(5 * 3600);

// ----- errors ------------------------------------------------------------------------

/// Why a webhook request was refused. Converts into the crate's [`Error`] (signature
/// failures as [`ErrorKind::Auth`], bad payloads as [`ErrorKind::Decode`], the rest as
/// [`ErrorKind::InvalidInput`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent (or empty).
    #[error("the webhook request has no {0} header")]
    MissingHeader(&'static str),
    /// A header is present but unusable.
    #[error("the webhook header {name} is invalid: {reason}")]
    InvalidHeader {
        /// The header's canonical name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `X-Shopify-Hmac-Sha256` is not standard, padded base64.
    #[error("the X-Shopify-Hmac-Sha256 header is not valid base64")]
    SignatureNotBase64,
    /// `X-Shopify-Hmac-Sha256` decodes to something other than the 32 bytes of an
    /// HMAC-SHA256.
    #[error("the X-Shopify-Hmac-Sha256 header decodes to {0} bytes; an HMAC-SHA256 has 32")]
    SignatureWrongLength(usize),
    /// The body is empty: Shopify always sends a JSON body.
    #[error("the webhook request body is empty")]
    EmptyBody,
    /// The signature is well-formed but matches none of the secrets.
    #[error("the webhook signature matches none of the {secrets} configured secret(s): the request was not sent by Shopify for this app, or the body was altered (verify the raw bytes, before any parsing)")]
    SignatureMismatch {
        /// How many secrets were tried.
        secrets: usize,
    },
    /// The topic is not one of the sync topics this module has a typed view of.
    #[error("no typed payload for the webhook topic {0:?}")]
    UnsupportedTopic(String),
    /// The body does not have the shape of the topic's payload.
    #[error("the {topic} payload does not decode at {path}: {message}")]
    Payload {
        /// The REST topic, e.g. `products/update`.
        topic: String,
        /// JSON path of the failure, e.g. `variants[0].id`.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl WebhookError {
    /// The HTTP status to answer with: 401 when the request is not proven to come from
    /// Shopify (signature missing, malformed or wrong), 400 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::MissingHeader(HMAC_HEADER)
            | WebhookError::SignatureNotBase64
            | WebhookError::SignatureWrongLength(_)
            | WebhookError::SignatureMismatch { .. } => 401,
            _ => 400,
        }
    }

    /// The crate error kind this error converts to.
    pub fn kind(&self) -> ErrorKind {
        match self.http_status() {
            401 => ErrorKind::Auth,
            _ if matches!(self, WebhookError::Payload { .. }) => ErrorKind::Decode,
            _ => ErrorKind::InvalidInput,
        }
    }
}

impl From<WebhookError> for Error {
    fn from(e: WebhookError) -> Error {
        let mut err = Error::new(e.kind(), e.to_string());
        if let WebhookError::Payload { path, .. } = &e {
            err = err.with_json_path(path.clone());
        }
        err.with_source(e)
    }
}

// ----- secrets and verification ------------------------------------------------------

/// One webhook signing secret (the app's client secret). It never shows itself: Debug
/// and Display print a redacted form.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wrap a secret.
    pub fn new(secret: impl Into<String>) -> WebhookSecret {
        WebhookSecret(secret.into())
    }

    /// The `X-Shopify-Hmac-Sha256` value Shopify would send for `body`: base64 of its
    /// HMAC-SHA256 under this secret. For tests and for forwarding signed requests.
    pub fn sign(&self, body: &[u8]) -> String {
        self.mac(body)
            .map(|mac| {
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            })
            .unwrap_or_default()
    }

    /// The keyed HMAC over `body`. HMAC accepts keys of any length, so this is always
    /// `Some`; the `Option` only spares a panic path.
    fn mac(&self, body: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_bytes()).ok()?;
        mac.update(body);
        Some(mac)
    }

    /// Whether `signature` (32 raw bytes) is this secret's HMAC of `body`, in constant
    /// time.
    fn matches(&self, body: &[u8], signature: &[u8]) -> bool {
        self.mac(body)
            .is_some_and(|mac| mac.verify_slice(signature).is_ok())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The secrets a webhook may be signed with: the current one first, then any being
/// rotated out. Never empty. Redacted in Debug and Display.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecrets(Vec<WebhookSecret>);

impl WebhookSecrets {
    /// Secrets from a list; each is trimmed and empty ones are dropped. Fails with
    /// [`ErrorKind::InvalidInput`] when none is left.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<WebhookSecrets> {
        let list: Vec<WebhookSecret> = secrets
            .into_iter()
            .map(|s| s.as_ref().trim().to_string())
            .filter(|s| !s.is_empty())
            .map(WebhookSecret)
            .collect();
        if list.is_empty() {
            return Err(Error::invalid_input(
                "no webhook secret given: at least one non-empty secret is needed",
            ));
        }
        Ok(WebhookSecrets(list))
    }

    /// Read [`SECRETS_VAR`] (`SHOPIFY_WEBHOOK_SECRETS`): comma-separated secrets,
    /// current first. Missing, or holding no non-empty secret, is a `not_configured`
    /// error naming the variable.
    pub fn from_env() -> Result<WebhookSecrets> {
        WebhookSecrets::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`WebhookSecrets::from_env`] over any lookup function (tests, config files).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<WebhookSecrets> {
        let value = get(SECRETS_VAR).ok_or_else(|| Error::not_configured(SECRETS_VAR))?;
        WebhookSecrets::new(value.split(',')).map_err(|_| Error::not_configured(SECRETS_VAR))
    }

    /// How many secrets there are (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: there is at least one secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Verify a signature header value against the raw body. Every secret is tried;
    /// the first that matches is reported.
    pub fn verify(
        &self,
        signature: &str,
        body: &[u8],
    ) -> std::result::Result<Verified, WebhookError> {
        let signature = signature.trim();
        if signature.is_empty() {
            return Err(WebhookError::MissingHeader(HMAC_HEADER));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| WebhookError::SignatureNotBase64)?;
        if raw.len() != SIGNATURE_LEN {
            return Err(WebhookError::SignatureWrongLength(raw.len()));
        }
        if body.is_empty() {
            return Err(WebhookError::EmptyBody);
        }
        let mut matched = None;
        for (i, secret) in self.0.iter().enumerate() {
            // No early exit: the time taken does not depend on which secret matched.
            if secret.matches(body, &raw) && matched.is_none() {
                matched = Some(i);
            }
        }
        matched.map(|secret_index| Verified { secret_index }).ok_or(
            WebhookError::SignatureMismatch {
                secrets: self.0.len(),
            },
        )
    }

    /// Verify the `X-Shopify-Hmac-Sha256` of parsed headers against the raw body.
    pub fn verify_headers(
        &self,
        headers: &WebhookHeaders,
        body: &[u8],
    ) -> std::result::Result<Verified, WebhookError> {
        let signature = headers
            .hmac
            .as_deref()
            .ok_or(WebhookError::MissingHeader(HMAC_HEADER))?;
        self.verify(signature, body)
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl fmt::Display for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} webhook secret(s) <redacted>", self.0.len())
    }
}

/// A successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    secret_index: usize,
}

impl Verified {
    /// Position in [`WebhookSecrets`] of the secret that matched.
    pub fn secret_index(self) -> usize {
        self.secret_index
    }

    /// Whether the first (current) secret matched; false means a secret being rotated
    /// out is still in use.
    pub fn is_current(self) -> bool {
        self.secret_index == 0
    }
}

// ----- topics ------------------------------------------------------------------------

/// The webhook topics the sync subscribes to. Serialised as the GraphQL enum
/// (`PRODUCTS_CREATE`); the REST form (`products/create`) is what the
/// `X-Shopify-Topic` header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookTopic {
    /// `products/create`.
    ProductsCreate,
    /// `products/update`.
    ProductsUpdate,
    /// `products/delete`: the payload carries only the id.
    ProductsDelete,
    /// `collections/create`.
    CollectionsCreate,
    /// `collections/update`.
    CollectionsUpdate,
    /// `collections/delete`: the payload carries only the id.
    CollectionsDelete,
    /// `bulk_operations/finish`: a bulk operation completed, failed, or was cancelled.
    BulkOperationsFinish,
}

impl WebhookTopic {
    /// Every sync topic.
    pub const ALL: [WebhookTopic; 7] = [
        WebhookTopic::ProductsCreate,
        WebhookTopic::ProductsUpdate,
        WebhookTopic::ProductsDelete,
        WebhookTopic::CollectionsCreate,
        WebhookTopic::CollectionsUpdate,
        WebhookTopic::CollectionsDelete,
        WebhookTopic::BulkOperationsFinish,
    ];

    /// The REST / header form, e.g. `products/create`.
    pub fn as_rest(self) -> &'static str {
        match self {
            WebhookTopic::ProductsCreate => "products/create",
            WebhookTopic::ProductsUpdate => "products/update",
            WebhookTopic::ProductsDelete => "products/delete",
            WebhookTopic::CollectionsCreate => "collections/create",
            WebhookTopic::CollectionsUpdate => "collections/update",
            WebhookTopic::CollectionsDelete => "collections/delete",
            WebhookTopic::BulkOperationsFinish => "bulk_operations/finish",
        }
    }

    /// The GraphQL `WebhookSubscriptionTopic` value, e.g. `PRODUCTS_CREATE`.
    pub fn as_graphql(self) -> &'static str {
        match self {
            WebhookTopic::ProductsCreate => "PRODUCTS_CREATE",
            WebhookTopic::ProductsUpdate => "PRODUCTS_UPDATE",
            WebhookTopic::ProductsDelete => "PRODUCTS_DELETE",
            WebhookTopic::CollectionsCreate => "COLLECTIONS_CREATE",
            WebhookTopic::CollectionsUpdate => "COLLECTIONS_UPDATE",
            WebhookTopic::CollectionsDelete => "COLLECTIONS_DELETE",
            WebhookTopic::BulkOperationsFinish => "BULK_OPERATIONS_FINISH",
        }
    }

    /// The topic for either form (`products/create` or `PRODUCTS_CREATE`, any case), or
    /// `None` for topics outside the sync set.
    pub fn parse(s: &str) -> Option<WebhookTopic> {
        let s = s.trim();
        WebhookTopic::ALL
            .into_iter()
            .find(|t| t.as_rest().eq_ignore_ascii_case(s) || t.as_graphql().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for WebhookTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_rest())
    }
}

impl FromStr for WebhookTopic {
    type Err = Error;

    fn from_str(s: &str) -> Result<WebhookTopic> {
        WebhookTopic::parse(s).ok_or_else(|| {
            Error::invalid_input(format!(
                "{s:?} is not a sync webhook topic; expected one of {}",
                WebhookTopic::ALL.map(|t| t.as_rest()).join(", ")
            ))
        })
    }
}

// ----- headers -----------------------------------------------------------------------

/// The `X-Shopify-*` headers of a delivery. Only the topic is required; the others are
/// `None` when absent (Shopify sends them all, but older API versions lack the event
/// id, and proxies or tests may send fewer).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookHeaders {
    /// `X-Shopify-Topic` as sent, e.g. `products/update` (see [`Self::sync_topic`]).
    pub topic: String,
    /// `X-Shopify-Hmac-Sha256`, the signature (not a secret).
    pub hmac: Option<String>,
    /// `X-Shopify-Webhook-Id`: the delivery, the same across its retries.
    pub webhook_id: Option<String>,
    /// `X-Shopify-Event-Id`: the event, the same across retries and subscriptions.
    pub event_id: Option<String>,
    /// `X-Shopify-Triggered-At`: when the event happened; a retried delivery keeps it,
    /// so compare it to tell a stale payload.
    pub triggered_at: Option<DateTime<Utc>>,
    /// `X-Shopify-API-Version`, e.g. `2026-07`.
    pub api_version: Option<String>,
    /// `X-Shopify-Shop-Domain`, e.g. `my-store.myshopify.com`.
    pub shop_domain: Option<String>,
}

impl WebhookHeaders {
    /// Read the headers from any `(name, value)` pairs: `&str` or `String` pairs, or an
    /// `http::HeaderMap`'s iterator. Names compare without case; other headers are
    /// ignored. Values are trimmed; an empty value counts as absent. A header sent twice
    /// with different values, a value that is not UTF-8, or a `X-Shopify-Triggered-At`
    /// that is not RFC 3339 is refused.
    pub fn from_pairs<I, K, V>(pairs: I) -> std::result::Result<WebhookHeaders, WebhookError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        const NAMES: [&str; 7] = [
            TOPIC_HEADER,
            HMAC_HEADER,
            WEBHOOK_ID_HEADER,
            EVENT_ID_HEADER,
            TRIGGERED_AT_HEADER,
            API_VERSION_HEADER,
            SHOP_DOMAIN_HEADER,
        ];
        let mut values: [Option<String>; 7] = Default::default();
        for (name, value) in pairs {
            let name = name.as_ref().trim();
            let Some(slot) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
                continue;
            };
            let canonical = NAMES[slot];
            let value = std::str::from_utf8(value.as_ref())
                .map_err(|_| WebhookError::InvalidHeader {
                    name: canonical,
                    reason: "the value is not UTF-8".into(),
                })?
                .trim();
            if value.is_empty() {
                continue;
            }
            match &values[slot] {
                Some(seen) if seen != value => {
                    return Err(WebhookError::InvalidHeader {
                        name: canonical,
                        reason: "it is sent more than once, with different values".into(),
                    })
                }
                _ => values[slot] = Some(value.to_string()),
            }
        }
        let [topic, hmac, webhook_id, event_id, triggered_at, api_version, shop_domain] = values;
        let topic = topic.ok_or(WebhookError::MissingHeader(TOPIC_HEADER))?;
        let triggered_at = triggered_at
            .map(|v| {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| WebhookError::InvalidHeader {
                        name: TRIGGERED_AT_HEADER,
                        reason: format!("{v:?} is not an RFC 3339 timestamp ({e})"),
                    })
            })
            .transpose()?;
        Ok(WebhookHeaders {
            topic,
            hmac,
            webhook_id,
            event_id,
            triggered_at,
            api_version,
            shop_domain,
        })
    }

    /// The topic, when it is one of the sync topics.
    pub fn sync_topic(&self) -> Option<WebhookTopic> {
        WebhookTopic::parse(&self.topic)
    }

    /// The deduplication key: the event id, else the webhook id, scoped by shop and
    /// topic; `None` when the delivery carries neither id.
    pub fn dedup_key(&self) -> Option<DedupKey> {
        let id = match (&self.event_id, &self.webhook_id) {
            (Some(e), _) => DedupId::Event(e.clone()),
            (None, Some(w)) => DedupId::Webhook(w.clone()),
            (None, None) => return None,
        };
        Some(DedupKey {
            shop: self
                .shop_domain
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            topic: self.topic.to_ascii_lowercase(),
            id,
        })
    }
}

// ----- deduplication -----------------------------------------------------------------

/// Which id a [`DedupKey`] uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DedupId {
    /// `X-Shopify-Event-Id`: repeats across retries and subscriptions.
    Event(String),
    /// `X-Shopify-Webhook-Id`, when there is no event id: repeats across retries.
    Webhook(String),
}

/// What identifies a delivery for deduplication: shop, topic, and the event id (or the
/// webhook id). See the [module docs](self#deduplication).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    shop: String,
    topic: String,
    id: DedupId,
}

impl DedupKey {
    /// The shop domain (lowercase; empty when the header was absent).
    pub fn shop(&self) -> &str {
        &self.shop
    }

    /// The topic (lowercase).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The id.
    pub fn id(&self) -> &DedupId {
        &self.id
    }
}

/// A bounded, in-memory set of recently seen deliveries: at most `capacity` keys (the
/// oldest goes first), each remembered for `window`. Thread-safe; share it behind an
/// `Arc`. See the [module docs](self#deduplication) for the key and the bounds.
#[derive(Debug)]
pub struct WebhookDedup {
    capacity: usize,
    window: Duration,
    inner: Mutex<DedupState>,
}

#[derive(Debug, Default)]
struct DedupState {
    /// Key -> (first seen, sequence number).
    seen: HashMap<DedupKey, (Instant, u64)>,
    /// The same entries, oldest first.
    order: VecDeque<(DedupKey, Instant, u64)>,
    next_seq: u64,
}

impl DedupState {
    fn pop_oldest(&mut self) {
        if let Some((old, _, seq)) = self.order.pop_front() {
            if self.seen.get(&old).is_some_and(|(_, s)| *s == seq) {
                self.seen.remove(&old);
            }
        }
    }
}

impl Default for WebhookDedup {
    fn default() -> Self {
        WebhookDedup::new(DEFAULT_DEDUP_CAPACITY, DEFAULT_DEDUP_WINDOW)
    }
}

impl WebhookDedup {
    /// A set remembering at most `capacity` keys (at least 1), each for `window`.
    pub fn new(capacity: usize, window: Duration) -> WebhookDedup {
        WebhookDedup {
            capacity: capacity.max(1),
            window,
            inner: Mutex::new(DedupState::default()),
        }
    }

    /// Record the delivery and say whether it is the first one seen of its event:
    /// `true` means process it, `false` means it is a repeat (a retry, or the same event
    /// for another subscription). A delivery without an event or webhook id is always
    /// `true`.
    pub fn first_delivery(&self, headers: &WebhookHeaders) -> bool {
        match headers.dedup_key() {
            Some(key) => self.insert_at(key, Instant::now()),
            None => true,
        }
    }

    /// Forget a delivery, so that a retry of it is processed: call this when processing
    /// failed after [`Self::first_delivery`] returned `true`.
    pub fn forget(&self, headers: &WebhookHeaders) {
        if let Some(key) = headers.dedup_key() {
            let mut state = self.state();
            if let Some((_, seq)) = state.seen.remove(&key) {
                state.order.retain(|(_, _, s)| *s != seq);
            }
        }
    }

    /// How many keys are remembered now (expired ones may still count until the next
    /// insertion).
    pub fn len(&self) -> usize {
        self.state().seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DedupState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Insert `key` seen at `now`; `true` when it was not remembered.
    fn insert_at(&self, key: DedupKey, now: Instant) -> bool {
        let mut state = self.state();
        // Drop what is too old.
        while let Some((_, at, _)) = state.order.front() {
            if now.saturating_duration_since(*at) < self.window {
                break;
            }
            state.pop_oldest();
        }
        if state.seen.contains_key(&key) {
            return false;
        }
        // Make room.
        while state.seen.len() >= self.capacity && !state.order.is_empty() {
            state.pop_oldest();
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.seen.insert(key.clone(), (now, seq));
        state.order.push_back((key, now, seq));
        true
    }
}

// ----- payloads ----------------------------------------------------------------------

/// The typed payload of a sync topic (REST JSON).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookPayload {
    /// `products/create`.
    ProductCreate(ProductPayload),
    /// `products/update`.
    ProductUpdate(ProductPayload),
    /// `products/delete`: only the id.
    ProductDelete(DeletedProduct),
    /// `collections/create`.
    CollectionCreate(CollectionPayload),
    /// `collections/update`.
    CollectionUpdate(CollectionPayload),
    /// `collections/delete`: only the id.
    CollectionDelete(DeletedCollection),
    /// `bulk_operations/finish`.
    BulkOperationFinish(BulkOperationPayload),
}

impl WebhookPayload {
    /// Decode `body` as the payload of `topic`. A decode failure names the JSON path.
    pub fn parse(
        topic: WebhookTopic,
        body: &[u8],
    ) -> std::result::Result<WebhookPayload, WebhookError> {
        Ok(match topic {
            WebhookTopic::ProductsCreate => {
                WebhookPayload::ProductCreate(decode::<RawProduct>(topic, body)?.into())
            }
            WebhookTopic::ProductsUpdate => {
                WebhookPayload::ProductUpdate(decode::<RawProduct>(topic, body)?.into())
            }
            WebhookTopic::ProductsDelete => WebhookPayload::ProductDelete(decode(topic, body)?),
            WebhookTopic::CollectionsCreate => {
                WebhookPayload::CollectionCreate(decode::<RawCollection>(topic, body)?.into())
            }
            WebhookTopic::CollectionsUpdate => {
                WebhookPayload::CollectionUpdate(decode::<RawCollection>(topic, body)?.into())
            }
            WebhookTopic::CollectionsDelete => {
                WebhookPayload::CollectionDelete(decode(topic, body)?)
            }
            WebhookTopic::BulkOperationsFinish => {
                WebhookPayload::BulkOperationFinish(decode::<RawBulkOperation>(topic, body)?.into())
            }
        })
    }

    /// The topic this payload was sent for.
    pub fn topic(&self) -> WebhookTopic {
        match self {
            WebhookPayload::ProductCreate(_) => WebhookTopic::ProductsCreate,
            WebhookPayload::ProductUpdate(_) => WebhookTopic::ProductsUpdate,
            WebhookPayload::ProductDelete(_) => WebhookTopic::ProductsDelete,
            WebhookPayload::CollectionCreate(_) => WebhookTopic::CollectionsCreate,
            WebhookPayload::CollectionUpdate(_) => WebhookTopic::CollectionsUpdate,
            WebhookPayload::CollectionDelete(_) => WebhookTopic::CollectionsDelete,
            WebhookPayload::BulkOperationFinish(_) => WebhookTopic::BulkOperationsFinish,
        }
    }

    /// The product the payload is about, for product topics.
    pub fn product_id(&self) -> Option<Gid<Product>> {
        match self {
            WebhookPayload::ProductCreate(p) | WebhookPayload::ProductUpdate(p) => Some(p.id),
            WebhookPayload::ProductDelete(p) => Some(p.id),
            _ => None,
        }
    }

    /// The collection the payload is about, for collection topics.
    pub fn collection_id(&self) -> Option<Gid<Collection>> {
        match self {
            WebhookPayload::CollectionCreate(c) | WebhookPayload::CollectionUpdate(c) => Some(c.id),
            WebhookPayload::CollectionDelete(c) => Some(c.id),
            _ => None,
        }
    }
}

/// A product as `products/create` and `products/update` send it (the fields the sync
/// reads; the full REST product has more).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProductPayload {
    /// The product.
    pub id: Gid<Product>,
    /// Title.
    pub title: String,
    /// Handle.
    pub handle: String,
    /// Status; `None` when absent or a value this library does not know.
    pub status: Option<ProductStatus>,
    /// Vendor.
    pub vendor: String,
    /// Product type.
    pub product_type: String,
    /// Tags, split from REST's comma-joined string, trimmed.
    pub tags: Vec<String>,
    /// Created at.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated at: compare with the last synced value to skip stale deliveries.
    pub updated_at: Option<DateTime<Utc>>,
    /// Variants, in position order.
    pub variants: Vec<VariantPayload>,
}

/// A variant inside a [`ProductPayload`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VariantPayload {
    /// The variant.
    pub id: Gid<ProductVariant>,
    /// Title (`Red / Small`).
    pub title: String,
    /// SKU, when set.
    pub sku: Option<String>,
    /// Price, exact.
    pub price: Option<Money>,
    /// Compare-at price, when set.
    pub compare_at_price: Option<Money>,
    /// Updated at.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `products/delete`: `{"id": 123}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DeletedProduct {
    /// The deleted product.
    pub id: Gid<Product>,
}

/// A collection as `collections/create` and `collections/update` send it (custom or
/// smart alike).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CollectionPayload {
    /// The collection.
    pub id: Gid<Collection>,
    /// Title.
    pub title: String,
    /// Handle.
    pub handle: String,
    /// REST sort order, e.g. `manual`, `best-selling`.
    pub sort_order: Option<String>,
    /// When it was published, if it is.
    pub published_at: Option<DateTime<Utc>>,
    /// Updated at.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `collections/delete`: `{"id": 123}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DeletedCollection {
    /// The deleted collection.
    pub id: Gid<Collection>,
}

/// `bulk_operations/finish`: the external "finished" signal for a bulk operation. Fetch
/// the operation by id for its `url` / `partialDataUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkOperationPayload {
    /// The operation, `gid://shopify/BulkOperation/123`.
    pub id: String,
    /// Final status as the GraphQL enum spells it: `COMPLETED`, `FAILED`, `CANCELED`,
    /// `EXPIRED` (the payload's lowercase value, uppercased).
    pub status: String,
    /// Error code as the GraphQL enum spells it (`ACCESS_DENIED`, `TIMEOUT` ...), when
    /// the operation failed.
    pub error_code: Option<String>,
    /// `QUERY` or `MUTATION`.
    pub operation_type: String,
    /// Created at.
    pub created_at: Option<DateTime<Utc>>,
    /// Completed at.
    pub completed_at: Option<DateTime<Utc>>,
}

impl BulkOperationPayload {
    /// Whether the operation completed (its full result is downloadable).
    pub fn is_completed(&self) -> bool {
        self.status == "COMPLETED"
    }
}

/// One verified, parsed delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// The headers.
    pub headers: WebhookHeaders,
    /// Which secret matched.
    pub verified: Verified,
    /// The typed payload for sync topics; `None` for other topics (read the raw body).
    pub payload: Option<WebhookPayload>,
}

/// Parse the headers, verify the signature over the raw `body`, and decode the payload
/// of a sync topic: everything a webhook endpoint needs but deduplication (see
/// [`WebhookDedup`]). Answer with [`WebhookError::http_status`] on error, and with 200
/// quickly on success (Shopify waits 5 seconds at most).
pub fn receive<I, K, V>(
    secrets: &WebhookSecrets,
    headers: I,
    body: &[u8],
) -> std::result::Result<Webhook, WebhookError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    let headers = WebhookHeaders::from_pairs(headers)?;
    let verified = secrets.verify_headers(&headers, body)?;
    let payload = headers
        .sync_topic()
        .map(|t| WebhookPayload::parse(t, body))
        .transpose()?;
    Ok(Webhook {
        headers,
        verified,
        payload,
    })
}

// ----- REST decoding -----------------------------------------------------------------

fn decode<T: serde::de::DeserializeOwned>(
    topic: WebhookTopic,
    body: &[u8],
) -> std::result::Result<T, WebhookError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| WebhookError::Payload {
        topic: topic.as_rest().to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// A string that may be null or absent: both read as empty.
fn nullable_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A string that may be null, absent or empty: all read as `None`.
fn optional_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

#[derive(Deserialize)]
struct RawProduct {
    id: Gid<Product>,
    #[serde(default, deserialize_with = "nullable_string")]
    title: String,
    #[serde(default, deserialize_with = "nullable_string")]
    handle: String,
    #[serde(default, deserialize_with = "optional_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable_string")]
    vendor: String,
    #[serde(default, deserialize_with = "nullable_string")]
    product_type: String,
    #[serde(default, deserialize_with = "nullable_string")]
    tags: String,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    variants: Option<Vec<RawVariant>>,
}

#[derive(Deserialize)]
struct RawVariant {
    id: Gid<ProductVariant>,
    #[serde(default, deserialize_with = "nullable_string")]
    title: String,
    #[serde(default, deserialize_with = "optional_string")]
    sku: Option<String>,
    #[serde(default)]
    price: Option<Money>,
    #[serde(default)]
    compare_at_price: Option<Money>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl From<RawProduct> for ProductPayload {
    fn from(p: RawProduct) -> Self {
        let status = p.status.as_deref().and_then(|s| {
            let upper = s.to_ascii_uppercase();
            [
                ProductStatus::Active,
                ProductStatus::Archived,
                ProductStatus::Draft,
                ProductStatus::Unlisted,
            ]
            .into_iter()
            .find(|st| st.as_str() == upper)
        });
        ProductPayload {
            id: p.id,
            title: p.title,
            handle: p.handle,
            status,
            vendor: p.vendor,
            product_type: p.product_type,
            tags: p
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            variants: p
                .variants
                .unwrap_or_default()
                .into_iter()
                .map(|v| VariantPayload {
                    id: v.id,
                    title: v.title,
                    sku: v.sku,
                    price: v.price,
                    compare_at_price: v.compare_at_price,
                    updated_at: v.updated_at,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct RawCollection {
    id: Gid<Collection>,
    #[serde(default, deserialize_with = "nullable_string")]
    title: String,
    #[serde(default, deserialize_with = "nullable_string")]
    handle: String,
    #[serde(default, deserialize_with = "optional_string")]
    sort_order: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl From<RawCollection> for CollectionPayload {
    fn from(c: RawCollection) -> Self {
        CollectionPayload {
            id: c.id,
            title: c.title,
            handle: c.handle,
            sort_order: c.sort_order,
            published_at: c.published_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct RawBulkOperation {
    admin_graphql_api_id: String,
    #[serde(default, deserialize_with = "nullable_string")]
    status: String,
    #[serde(default, deserialize_with = "optional_string")]
    error_code: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "nullable_string")]
    operation_type: String,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    completed_at: Option<DateTime<Utc>>,
}

impl From<RawBulkOperation> for BulkOperationPayload {
    fn from(b: RawBulkOperation) -> Self {
        BulkOperationPayload {
            id: b.admin_graphql_api_id,
            status: b.status.to_ascii_uppercase(),
            error_code: b.error_code.map(|c| c.to_ascii_uppercase()),
            operation_type: b.operation_type.to_ascii_uppercase(),
            created_at: b.created_at,
            completed_at: b.completed_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;

    /// The vectors file, shipped in the repository (see data/shopify/PROVENANCE.md).
    const VECTORS: &str = include_str!("../../data/shopify/samples/hmac/shopify-hmac-vectors.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).expect("the vectors file is JSON")
    }

    fn secrets(list: &[&str]) -> WebhookSecrets {
        WebhookSecrets::new(list).expect("non-empty")
    }

    /// Every `webhook` vector verifies through the full path (headers, then signature),
    /// with its secret alone and as the second secret of a rotation.
    #[test]
    fn every_webhook_vector_verifies() {
        let v = vectors();
        let hooks = v["webhook"].as_array().expect("webhook vectors");
        assert!(hooks.len() >= 2);
        for hook in hooks {
            let id = hook["id"].as_str().unwrap_or_default();
            let secret = hook["secret"].as_str().expect("secret");
            let body = hook["body_utf8"].as_str().expect("body").as_bytes();
            let expected = hook["expected_base64"].as_str().expect("expected");
            let headers: Vec<(String, String)> = hook["headers"]
                .as_object()
                .expect("headers")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            assert_eq!(WebhookSecret::new(secret).sign(body), expected, "{id}");
            assert_eq!(
                headers
                    .iter()
                    .find(|(k, _)| k == HMAC_HEADER)
                    .map(|(_, v)| v.as_str()),
                Some(expected),
                "{id}"
            );
            // Alone.
            let only = secrets(&[secret]);
            let sig = only.verify(expected, body).expect(id);
            assert!(sig.is_current(), "{id}");
            // Rotating: the vector's secret is the old one, second in the list.
            let rotating = secrets(&["a-newer-secret", secret]);
            assert_eq!(rotating.verify(expected, body).expect(id).secret_index(), 1);
            // A wrong secret alone does not verify.
            assert_eq!(
                secrets(&["not-the-secret"]).verify(expected, body),
                Err(WebhookError::SignatureMismatch { secrets: 1 }),
                "{id}"
            );
            // Through the headers (only the go-shopify vector lacks a topic header).
            if hook["headers"].get(TOPIC_HEADER).is_some() {
                let parsed = WebhookHeaders::from_pairs(headers.clone()).expect(id);
                assert_eq!(
                    rotating
                        .verify_headers(&parsed, body)
                        .expect(id)
                        .secret_index(),
                    1
                );
                // The signature verifies; `{"foo":"bar"}` is then no product payload.
                let e = receive(&rotating, headers, body).unwrap_err();
                assert!(
                    matches!(&e, WebhookError::Payload { path, .. } if path == "."),
                    "{e}"
                );
            }
        }
    }

    /// The negative cases the vectors' sources test, each refused with a typed error.
    #[test]
    fn negative_vectors_are_refused() {
        // shopify-api-php: header `whoops_this_is_wrong` must be rejected.
        let php = secrets(&["7008c5f4da4718b9b45d26d3fcbbb157"]);
        assert_eq!(
            php.verify("whoops_this_is_wrong", br#"{"foo":"bar"}"#),
            Err(WebhookError::SignatureNotBase64)
        );
        // go-shopify (secret "hush"):
        let go = secrets(&["hush"]);
        let good = "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI=";
        // the same signature over another body does not match;
        assert_eq!(
            go.verify(good, b"\"my invalid message\""),
            Err(WebhookError::SignatureMismatch { secrets: 1 })
        );
        // the digest the Go test reports for that body is what we compute too;
        let digest = WebhookSecret::new("hush")
            .mac(b"\"my invalid message\"")
            .unwrap()
            .finalize()
            .into_bytes();
        assert_eq!(
            hex(&digest),
            "ac3560a67dd9ed3f46cf1807856b78f27c9543b5ae98f5292d8eccf6252254f0"
        );
        // `wronghash` is not base64;
        assert_eq!(
            go.verify("wronghash", b"\"my secret message\""),
            Err(WebhookError::SignatureNotBase64)
        );
        // a well-formed signature with an empty body is refused;
        assert_eq!(
            go.verify("ZAZ6P4c14f6v798OCPYCodtdf9g8Z+GfthdfCgyhUYg=", b""),
            Err(WebhookError::EmptyBody)
        );
        // `YmxhaGJsYWgK` is base64 for 9 bytes, not an HMAC-SHA256;
        assert_eq!(
            go.verify("YmxhaGJsYWgK", b"\"my secret message\""),
            Err(WebhookError::SignatureWrongLength(9))
        );
        // `XXXXXaGVsbG8=` is illegal base64;
        assert_eq!(
            go.verify("XXXXXaGVsbG8=", b"\"my secret message\""),
            Err(WebhookError::SignatureNotBase64)
        );
        // and a missing header is its own error.
        assert_eq!(
            go.verify("  ", b"x"),
            Err(WebhookError::MissingHeader(HMAC_HEADER))
        );
        let headers = WebhookHeaders::from_pairs([(TOPIC_HEADER, "products/update")]).unwrap();
        let e = go.verify_headers(&headers, b"x").unwrap_err();
        assert_eq!(e, WebhookError::MissingHeader(HMAC_HEADER));
        assert_eq!(e.http_status(), 401);
        assert_eq!(Error::from(e).kind(), ErrorKind::Auth);
        // A body altered by one byte does not verify.
        assert!(go.verify(good, b"\"my secret message\" ").is_err());
        // Padding is required, as Shopify always sends it.
        assert_eq!(
            go.verify(good.trim_end_matches('='), b"\"my secret message\""),
            Err(WebhookError::SignatureNotBase64)
        );
    }

    /// The `oauth_query` and `app_proxy_signature` vectors sign query strings, hex
    /// encoded: OAuth and app proxies are outside this library (it syncs a catalog, it
    /// does not install apps), so their canonicalisation (sorting, dropping `hmac` and
    /// `signature`, array params) is not implemented. Only the HMAC primitive is checked
    /// against their given `message` strings, as extra HMAC-SHA256 vectors.
    #[test]
    fn oauth_and_app_proxy_vectors_check_the_hmac_primitive_only() {
        let v = vectors();
        let mut checked = 0;
        for group in ["oauth_query", "app_proxy_signature"] {
            for vector in v[group].as_array().expect(group) {
                let secret = WebhookSecret::new(vector["secret"].as_str().unwrap_or_default());
                let mut cases = vec![(vector["message"].clone(), vector["expected_hex"].clone())];
                for extra in vector["extra_cases"].as_array().into_iter().flatten() {
                    cases.push((extra["message"].clone(), extra["expected_hex"].clone()));
                }
                for (message, expected) in cases {
                    let message = message.as_str().expect("message");
                    let digest = secret
                        .mac(message.as_bytes())
                        .unwrap()
                        .finalize()
                        .into_bytes();
                    assert_eq!(Some(hex(&digest).as_str()), expected.as_str(), "{message}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let env = |value: Option<&str>| {
            let map: HashMap<String, String> = value
                .map(|v| (SECRETS_VAR.to_string(), v.to_string()))
                .into_iter()
                .collect();
            move |k: &str| map.get(k).cloned()
        };
        let e = WebhookSecrets::from_lookup(env(None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotConfigured);
        assert!(e.to_string().contains(SECRETS_VAR), "{e}");
        let e = WebhookSecrets::from_lookup(env(Some(" , ,"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotConfigured);
        assert!(e.to_string().contains(SECRETS_VAR), "{e}");
        let s = WebhookSecrets::from_lookup(env(Some(" shpss_new ,, shpss_old,"))).unwrap();
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        let body = b"{}";
        let old = WebhookSecret::new("shpss_old").sign(body);
        assert_eq!(s.verify(&old, body).unwrap().secret_index(), 1);
        let new = WebhookSecret::new("shpss_new").sign(body);
        assert!(s.verify(&new, body).unwrap().is_current());
        for printed in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{:?}", s.0[0]),
            s.0[1].to_string(),
        ] {
            assert!(!printed.contains("shpss"), "{printed}");
            assert!(printed.contains("redacted"), "{printed}");
        }
        assert!(WebhookSecrets::new(Vec::<String>::new()).is_err());
    }

    fn full_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("content-type", "application/json"),
            ("x-shopify-topic", "products/update"),
            (
                "X-SHOPIFY-HMAC-SHA256",
                "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=",
            ),
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            ("X-Shopify-Triggered-At", "2023-03-29T18:00:27.877041743Z"),
            ("X-Shopify-API-Version", " 2026-07 "),
            ("X-Shopify-Shop-Domain", "test-shop.myshopify.com"),
        ]
    }

    #[test]
    fn headers_parse_without_case() {
        let h = WebhookHeaders::from_pairs(full_headers()).unwrap();
        assert_eq!(h.topic, "products/update");
        assert_eq!(h.sync_topic(), Some(WebhookTopic::ProductsUpdate));
        assert_eq!(
            h.hmac.as_deref(),
            Some("+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=")
        );
        assert_eq!(
            h.webhook_id.as_deref(),
            Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        );
        assert_eq!(
            h.event_id.as_deref(),
            Some("98880550-7158-44d4-b7cd-2c97c8a091b5")
        );
        assert_eq!(h.api_version.as_deref(), Some("2026-07"));
        assert_eq!(h.shop_domain.as_deref(), Some("test-shop.myshopify.com"));
        let t = h.triggered_at.unwrap();
        assert_eq!(t.to_rfc3339(), "2023-03-29T18:00:27.877041743+00:00");
        // Owned pairs and byte values work too; offsets are converted to UTC.
        let owned: Vec<(String, Vec<u8>)> = vec![
            ("X-Shopify-Topic".into(), b"app/uninstalled".to_vec()),
            (
                "X-Shopify-Triggered-At".into(),
                b"2026-01-01T01:00:00+01:00".to_vec(),
            ),
        ];
        let h = WebhookHeaders::from_pairs(owned).unwrap();
        assert_eq!(h.sync_topic(), None);
        assert_eq!(
            h.triggered_at.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert_eq!(h.hmac, None);
        assert_eq!(h.event_id, None);
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        let e =
            WebhookHeaders::from_pairs([("X-Shopify-Shop-Domain", "s.myshopify.com")]).unwrap_err();
        assert_eq!(e, WebhookError::MissingHeader(TOPIC_HEADER));
        assert_eq!(e.http_status(), 400);
        let e = WebhookHeaders::from_pairs([("X-Shopify-Topic", "   ")]).unwrap_err();
        assert_eq!(e, WebhookError::MissingHeader(TOPIC_HEADER));
        let e = WebhookHeaders::from_pairs([
            ("X-Shopify-Topic", "products/update"),
            ("X-Shopify-Triggered-At", "yesterday"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                WebhookError::InvalidHeader {
                    name: TRIGGERED_AT_HEADER,
                    ..
                }
            ),
            "{e}"
        );
        let e = WebhookHeaders::from_pairs([
            ("X-Shopify-Topic", "products/update"),
            ("x-shopify-topic", "products/delete"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                WebhookError::InvalidHeader {
                    name: TOPIC_HEADER,
                    ..
                }
            ),
            "{e}"
        );
        // The same value twice is harmless.
        assert!(WebhookHeaders::from_pairs([
            ("X-Shopify-Topic", "products/update"),
            ("x-shopify-topic", "products/update"),
        ])
        .is_ok());
        let e = WebhookHeaders::from_pairs([("X-Shopify-Topic", &b"\xff\xfe"[..])]).unwrap_err();
        assert!(matches!(e, WebhookError::InvalidHeader { .. }), "{e}");
        let err = Error::from(e);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn topics_have_two_spellings() {
        for t in WebhookTopic::ALL {
            assert_eq!(WebhookTopic::parse(t.as_rest()), Some(t));
            assert_eq!(WebhookTopic::parse(t.as_graphql()), Some(t));
            assert_eq!(t.to_string().parse::<WebhookTopic>().unwrap(), t);
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                Value::String(t.as_graphql().into())
            );
        }
        assert_eq!(
            WebhookTopic::parse("Products/Update"),
            Some(WebhookTopic::ProductsUpdate)
        );
        assert!("orders/create".parse::<WebhookTopic>().is_err());
    }

    fn headers_with(
        event: Option<&str>,
        webhook: Option<&str>,
        topic: &str,
        shop: &str,
    ) -> WebhookHeaders {
        let mut pairs = vec![("X-Shopify-Topic", topic), ("X-Shopify-Shop-Domain", shop)];
        if let Some(e) = event {
            pairs.push(("X-Shopify-Event-Id", e));
        }
        if let Some(w) = webhook {
            pairs.push(("X-Shopify-Webhook-Id", w));
        }
        WebhookHeaders::from_pairs(pairs).unwrap()
    }

    #[test]
    fn dedup_keys_on_the_event_then_the_webhook_id() {
        let d = WebhookDedup::default();
        let shop = "s.myshopify.com";
        // Two subscriptions, one event: the second delivery is a repeat.
        assert!(d.first_delivery(&headers_with(
            Some("ev1"),
            Some("wh-a"),
            "products/update",
            shop
        )));
        assert!(!d.first_delivery(&headers_with(
            Some("ev1"),
            Some("wh-b"),
            "products/update",
            shop
        )));
        // A retry of the same delivery too.
        assert!(!d.first_delivery(&headers_with(
            Some("ev1"),
            Some("wh-a"),
            "products/update",
            shop
        )));
        // The same event id under another topic or shop is not suppressed.
        assert!(d.first_delivery(&headers_with(
            Some("ev1"),
            Some("wh-c"),
            "products/create",
            shop
        )));
        assert!(d.first_delivery(&headers_with(
            Some("ev1"),
            Some("wh-a"),
            "products/update",
            "t.myshopify.com"
        )));
        // Without an event id, the webhook id (retries only).
        assert!(d.first_delivery(&headers_with(None, Some("wh-x"), "products/update", shop)));
        assert!(!d.first_delivery(&headers_with(None, Some("wh-x"), "products/update", shop)));
        assert!(d.first_delivery(&headers_with(None, Some("wh-y"), "products/update", shop)));
        // Without either, always new.
        let bare = headers_with(None, None, "products/update", shop);
        assert!(bare.dedup_key().is_none());
        assert!(d.first_delivery(&bare) && d.first_delivery(&bare));
        assert_eq!(d.len(), 5);
        // Forgetting lets a retry through once.
        let h = headers_with(Some("ev2"), None, "products/update", shop);
        assert!(d.first_delivery(&h));
        d.forget(&h);
        assert!(d.first_delivery(&h));
        assert!(!d.first_delivery(&h));
        let key = h.dedup_key().unwrap();
        assert_eq!(key.id(), &DedupId::Event("ev2".into()));
        assert_eq!((key.shop(), key.topic()), (shop, "products/update"));
    }

    #[test]
    fn dedup_is_bounded_by_count_and_by_age() {
        let d = WebhookDedup::new(3, Duration::from_secs(60));
        let key = |n: u32| {
            headers_with(Some(&format!("ev{n}")), None, "products/update", "s")
                .dedup_key()
                .unwrap()
        };
        let t0 = Instant::now();
        for n in 0..3 {
            assert!(d.insert_at(key(n), t0));
        }
        assert!(!d.insert_at(key(0), t0));
        // A fourth key pushes out the oldest.
        assert!(d.insert_at(key(3), t0));
        assert_eq!(d.len(), 3);
        assert!(d.insert_at(key(0), t0), "the oldest was dropped");
        assert!(!d.insert_at(key(3), t0));
        // Past the window, everything is forgotten.
        let later = t0 + Duration::from_secs(61);
        assert!(d.insert_at(key(3), later));
        assert_eq!(d.len(), 1);
        // Bounded under churn: many keys never grow it past capacity.
        for n in 10..1_000 {
            d.insert_at(key(n), later);
            assert!(d.len() <= 3);
            assert!(d.state().order.len() <= 3);
        }
        // Capacity 0 means 1.
        let one = WebhookDedup::new(0, Duration::from_secs(1));
        assert!(one.insert_at(key(1), t0));
        assert!(!one.insert_at(key(1), t0));
    }

    #[test]
    fn product_payloads_convert_ids_to_gids() {
        let body = br#"{
            "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
            "body_html": "An example T-Shirt",
            "created_at": null,
            "handle": "example-t-shirt",
            "id": 788032119674292922,
            "product_type": "Shirts",
            "published_at": "2021-12-31T16:00:00-05:00",
            "template_suffix": null,
            "title": "Example T-Shirt",
            "updated_at": "2021-12-31T19:00:00-05:00",
            "vendor": "Acme",
            "status": "active",
            "published_scope": "web",
            "tags": "example, mens, t-shirt",
            "variants": [{
                "admin_graphql_api_id": "gid://shopify/ProductVariant/642667041472713922",
                "barcode": null,
                "compare_at_price": "24.99",
                "created_at": "2021-12-29T19:00:00-05:00",
                "id": 642667041472713922,
                "inventory_policy": "deny",
                "position": 0,
                "price": "19.99",
                "product_id": 788032119674292922,
                "sku": "",
                "title": "Small",
                "updated_at": "2021-12-30T19:00:00-05:00",
                "inventory_quantity": 75
            }, {
                "id": 757650484644203962,
                "price": "19.99",
                "compare_at_price": null,
                "sku": "EX-M",
                "title": "Medium"
            }],
            "options": [],
            "images": [],
            "image": null
        }"#;
        let p = match WebhookPayload::parse(WebhookTopic::ProductsUpdate, body).unwrap() {
            WebhookPayload::ProductUpdate(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(p.id.to_string(), "gid://shopify/Product/788032119674292922");
        assert_eq!(p.title, "Example T-Shirt");
        assert_eq!(p.status, Some(ProductStatus::Active));
        assert_eq!(p.tags, ["example", "mens", "t-shirt"]);
        assert_eq!(p.created_at, None);
        assert_eq!(
            p.updated_at.unwrap().to_rfc3339(),
            "2022-01-01T00:00:00+00:00"
        );
        assert_eq!(p.variants.len(), 2);
        let v = &p.variants[0];
        assert_eq!(
            v.id.to_string(),
            "gid://shopify/ProductVariant/642667041472713922"
        );
        assert_eq!(v.sku, None, "an empty SKU is no SKU");
        assert_eq!(v.price, Some("19.99".parse().unwrap()));
        assert_eq!(v.compare_at_price, Some("24.99".parse().unwrap()));
        assert_eq!(p.variants[1].sku.as_deref(), Some("EX-M"));
        assert_eq!(p.variants[1].compare_at_price, None);
        // A create decodes the same way, with its own variant.
        let created = WebhookPayload::parse(WebhookTopic::ProductsCreate, body).unwrap();
        assert_eq!(created.topic(), WebhookTopic::ProductsCreate);
        assert_eq!(created.product_id(), Some(p.id));
    }

    #[test]
    fn delete_payloads_carry_only_the_id() {
        let p = WebhookPayload::parse(WebhookTopic::ProductsDelete, br#"{"id": 123}"#).unwrap();
        assert_eq!(
            p.product_id().unwrap().to_string(),
            "gid://shopify/Product/123"
        );
        assert_eq!(p.collection_id(), None);
        let c = WebhookPayload::parse(
            WebhookTopic::CollectionsDelete,
            br#"{"id": 482865238, "published_scope": "web"}"#,
        )
        .unwrap();
        assert_eq!(
            c.collection_id().unwrap().to_string(),
            "gid://shopify/Collection/482865238"
        );
        // Bad ids are decode errors naming the path, never panics.
        for (body, path) in [
            (&br#"{"id": 0}"#[..], "id"),
            (br#"{"id": -4}"#, "id"),
            (br#"{"id": "gid://shopify/Collection/1"}"#, "id"),
            (br#"{}"#, "."),
            (br#"[]"#, "."),
            (br#"not json"#, "."),
        ] {
            let e = WebhookPayload::parse(WebhookTopic::ProductsDelete, body).unwrap_err();
            match &e {
                WebhookError::Payload { topic, path: p, .. } => {
                    assert_eq!(topic, "products/delete");
                    assert_eq!(p, path, "{e}");
                }
                other => panic!("{other:?}"),
            }
            let err = Error::from(e);
            assert_eq!(err.kind(), ErrorKind::Decode);
            assert_eq!(err.json_path(), Some(path));
        }
        let e = WebhookPayload::parse(
            WebhookTopic::ProductsUpdate,
            br#"{"id": 1, "variants": [{"id": 2}, {"id": "x"}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, WebhookError::Payload { path, .. } if path == "variants[1].id"),
            "{e}"
        );
    }

    #[test]
    fn collection_and_bulk_payloads() {
        let body = br#"{"id": 841564295, "handle": "ipods", "title": "IPods", "updated_at": "2008-02-01T19:00:00-05:00",
            "body_html": "<p>The best selling ipod ever</p>", "published_at": null, "sort_order": "manual",
            "template_suffix": null, "published_scope": "web", "admin_graphql_api_id": "gid://shopify/Collection/841564295"}"#;
        let c = match WebhookPayload::parse(WebhookTopic::CollectionsUpdate, body).unwrap() {
            WebhookPayload::CollectionUpdate(c) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(c.id.numeric_id(), 841564295);
        assert_eq!(c.handle, "ipods");
        assert_eq!(c.sort_order.as_deref(), Some("manual"));
        assert_eq!(c.published_at, None);
        let body = br#"{"admin_graphql_api_id": "gid://shopify/BulkOperation/147595010",
            "completed_at": "2024-01-01T00:00:00-05:00", "created_at": "2023-12-31T23:59:00-05:00",
            "error_code": null, "status": "completed", "type": "query"}"#;
        let b = match WebhookPayload::parse(WebhookTopic::BulkOperationsFinish, body).unwrap() {
            WebhookPayload::BulkOperationFinish(b) => b,
            other => panic!("{other:?}"),
        };
        assert_eq!(b.id, "gid://shopify/BulkOperation/147595010");
        assert!(b.is_completed());
        assert_eq!(b.operation_type, "QUERY");
        assert_eq!(b.error_code, None);
        assert_eq!(
            b.completed_at.unwrap().to_rfc3339(),
            "2024-01-01T05:00:00+00:00"
        );
        let failed =
            br#"{"admin_graphql_api_id": "gid://shopify/BulkOperation/1", "status": "failed",
            "error_code": "internal_server_error", "type": "mutation"}"#;
        let b = match WebhookPayload::parse(WebhookTopic::BulkOperationsFinish, failed).unwrap() {
            WebhookPayload::BulkOperationFinish(b) => b,
            other => panic!("{other:?}"),
        };
        assert!(!b.is_completed());
        assert_eq!(b.error_code.as_deref(), Some("INTERNAL_SERVER_ERROR"));
    }

    #[test]
    fn receive_verifies_before_it_parses() {
        let s = secrets(&["k"]);
        let body = br#"{"id": 5}"#;
        let sig = WebhookSecret::new("k").sign(body);
        let hdrs = |sig: &str| {
            vec![
                (
                    "X-Shopify-Topic".to_string(),
                    "collections/delete".to_string(),
                ),
                (HMAC_HEADER.to_string(), sig.to_string()),
            ]
        };
        let w = receive(&s, hdrs(&sig), body).unwrap();
        assert_eq!(
            w.payload
                .and_then(|p| p.collection_id())
                .map(|c| c.numeric_id()),
            Some(5)
        );
        // Tampered body: refused as unauthenticated, the payload is never read.
        let e = receive(&s, hdrs(&sig), br#"{"id": 6}"#).unwrap_err();
        assert_eq!(e.http_status(), 401);
        // Unknown topics verify and carry no typed payload.
        let body = br#"{"anything": true}"#;
        let sig = WebhookSecret::new("k").sign(body);
        let w = receive(
            &s,
            [
                ("X-Shopify-Topic", "app/uninstalled"),
                (HMAC_HEADER, sig.as_str()),
            ],
            body,
        )
        .unwrap();
        assert_eq!(w.payload, None);
        // A signed body that is not the topic's payload is a 400.
        let body = br#"{"id": "nope"}"#;
        let sig = WebhookSecret::new("k").sign(body);
        let e = receive(
            &s,
            [
                ("X-Shopify-Topic", "products/delete"),
                (HMAC_HEADER, sig.as_str()),
            ],
            body,
        )
        .unwrap_err();
        assert_eq!(e.http_status(), 400);
    }
}
