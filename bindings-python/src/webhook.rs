//! Webhook verification: `receive` over the raw body bytes and the request headers.
use crate::convert::{datetime, from_py, to_py};
use crate::errors::{guard, raise};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use shopify_sync::error::Error;
use shopify_sync::webhook::{receive, Verified, WebhookHeaders, WebhookSecrets};

/// Header pairs from a mapping (anything with `.items()`, e.g. Flask's
/// `request.headers`) or an iterable of `(name, value)` pairs; values are str or bytes.
pub(crate) fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Vec<u8>)>> {
    let items = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut pairs = Vec::new();
    for item in items.try_iter()? {
        let (name, value): (String, Bound<'_, PyAny>) = item?.extract()?;
        let value = if let Ok(s) = value.cast::<PyString>() {
            s.to_cow()?.as_bytes().to_vec()
        } else if let Ok(b) = value.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else {
            return Err(raise(Error::invalid_input(format!(
                "the value of header {name:?} is neither str nor bytes"
            ))));
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

pub(crate) fn secrets(secrets: Option<&Bound<'_, PyAny>>) -> PyResult<WebhookSecrets> {
    match secrets {
        Some(s) if !s.is_none() => {
            if s.is_instance_of::<PyString>() {
                return Err(raise(Error::invalid_input(
                    "secrets: expected a list of secrets, not a string",
                )));
            }
            let list: Vec<String> = from_py("secrets", s)?;
            WebhookSecrets::new(list)
        }
        _ => WebhookSecrets::from_env(),
    }
    .map_err(raise)
}

fn headers_dict<'py>(
    py: Python<'py>,
    h: &WebhookHeaders,
    verified: Verified,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("topic", &h.topic)?;
    d.set_item("shop_domain", &h.shop_domain)?;
    d.set_item("webhook_id", &h.webhook_id)?;
    d.set_item("event_id", &h.event_id)?;
    d.set_item("api_version", &h.api_version)?;
    match &h.triggered_at {
        Some(t) => d.set_item("triggered_at", datetime(py, t)?)?,
        None => d.set_item("triggered_at", py.None())?,
    }
    d.set_item("secret_index", verified.secret_index())?;
    d.set_item("is_current_secret", verified.is_current())?;
    // The serde form (the GraphQL enum, `PRODUCTS_UPDATE`); `topic` is the REST form.
    d.set_item("sync_topic", to_py(py, &h.sync_topic())?)?;
    Ok(d)
}

/// Verify a webhook request's signature (the HMAC of the raw `body` with any of
/// `secrets`, current first; `None` reads `SHOPIFY_WEBHOOK_SECRETS`) and read its
/// headers. The payload is not decoded (see `receive_webhook()`).
#[pyfunction]
#[pyo3(signature = (secrets, headers, body))]
fn verify_webhook(
    py: Python<'_>,
    secrets: Option<&Bound<'_, PyAny>>,
    headers: &Bound<'_, PyAny>,
    body: &[u8],
) -> PyResult<Py<PyAny>> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let parsed = WebhookHeaders::from_pairs(header_pairs(headers)?)
            .map_err(|e| raise(Error::from(e)))?;
        let verified = secrets
            .verify_headers(&parsed, body)
            .map_err(|e| raise(Error::from(e)))?;
        Ok(headers_dict(py, &parsed, verified)?.into_any().unbind())
    })
}

/// Verify one `X-Shopify-Hmac-Sha256` value against the raw `body`; returns the index
/// of the secret that matched.
#[pyfunction]
#[pyo3(signature = (secrets, signature, body))]
fn verify_webhook_signature(
    secrets: Option<&Bound<'_, PyAny>>,
    signature: &str,
    body: &[u8],
) -> PyResult<usize> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let verified = secrets
            .verify(signature, body)
            .map_err(|e| raise(Error::from(e)))?;
        Ok(verified.secret_index())
    })
}

/// Everything a webhook endpoint needs but deduplication (the core's `receive`): verify,
/// read the headers, and decode the payload of a sync topic; adds `product_id` and
/// `collection_id` (GIDs, or `None`) to what `verify_webhook()` returns.
#[pyfunction]
#[pyo3(signature = (secrets, headers, body))]
fn receive_webhook(
    py: Python<'_>,
    secrets: Option<&Bound<'_, PyAny>>,
    headers: &Bound<'_, PyAny>,
    body: &[u8],
) -> PyResult<Py<PyAny>> {
    guard(|| {
        let secrets = self::secrets(secrets)?;
        let webhook =
            receive(&secrets, header_pairs(headers)?, body).map_err(|e| raise(Error::from(e)))?;
        let d = headers_dict(py, &webhook.headers, webhook.verified)?;
        let payload = webhook.payload.as_ref();
        d.set_item(
            "product_id",
            payload.and_then(|p| p.product_id()).map(|g| g.to_string()),
        )?;
        d.set_item(
            "collection_id",
            payload
                .and_then(|p| p.collection_id())
                .map(|g| g.to_string()),
        )?;
        Ok(d.into_any().unbind())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(verify_webhook_signature, m)?)?;
    m.add_function(wrap_pyfunction!(receive_webhook, m)?)
}
