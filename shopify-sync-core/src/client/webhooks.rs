//! Webhook subscriptions for the sync topics: register, list and delete them through the
//! Admin GraphQL API (`webhookSubscriptionCreate`, `webhookSubscriptions`,
//! `webhookSubscriptionDelete`).
//!
//! This module only manages subscriptions; receiving deliveries (HMAC, headers, dedup,
//! payloads) is [`crate::webhook`]'s job. Every document here selects only fields that
//! exist, undeprecated, in both shipped schemas (2025-10 and 2026-07): the endpoint is
//! `uri` (`callbackUrl` and `endpoint` are deprecated in both), and subscriptions are
//! always JSON, the format [`crate::webhook::WebhookPayload`] reads.
//!
//! ```no_run
//! # async fn demo(client: shopify_sync::client::ShopifyClient) -> shopify_sync::error::Result<()> {
//! use shopify_sync::client::webhooks::WebhookTopic;
//! let uri = "https://sync.example.com/webhooks/shopify";
//! // Idempotent: creates only what is missing.
//! let subs = client.ensure_webhook_subscriptions(&WebhookTopic::ALL, uri).await?;
//! assert_eq!(subs.len(), WebhookTopic::ALL.len());
//! for sub in client.list_webhook_subscriptions().await? {
//!     println!("{} {} -> {}", sub.id, sub.topic, sub.uri);
//! }
//! client.delete_webhook_subscription(&subs[0].id).await?;
//! # Ok(()) }
//! ```
use super::ShopifyClient;
use crate::error::{Error, ErrorKind, GraphqlError, Result, UserError};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

pub use crate::webhook::WebhookTopic;

/// The subscription fields every document here selects.
macro_rules! subscription_fields {
    () => {
        "fragment WebhookSubscriptionFields on WebhookSubscription { id topic uri format createdAt updatedAt }"
    };
}

/// Register one subscription.
pub const CREATE: &str = concat!(
    "mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {\n",
    "  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {\n",
    "    webhookSubscription { ...WebhookSubscriptionFields }\n",
    "    userErrors { field message }\n",
    "  }\n",
    "}\n",
    subscription_fields!()
);

/// Delete one subscription by id.
pub const DELETE: &str = concat!(
    "mutation WebhookSubscriptionDelete($id: ID!) {\n",
    "  webhookSubscriptionDelete(id: $id) {\n",
    "    deletedWebhookSubscriptionId\n",
    "    userErrors { field message }\n",
    "  }\n",
    "}\n"
);

/// One page of the app's subscriptions, optionally filtered by topics.
pub const LIST: &str = concat!(
    "query WebhookSubscriptions($first: Int!, $after: String, $topics: [WebhookSubscriptionTopic!]) {\n",
    "  webhookSubscriptions(first: $first, after: $after, topics: $topics) {\n",
    "    nodes { ...WebhookSubscriptionFields }\n",
    "    pageInfo { hasNextPage endCursor }\n",
    "  }\n",
    "}\n",
    subscription_fields!()
);

/// Subscriptions asked for per page.
const PAGE_SIZE: u32 = 100;

/// Every document this module can send, by name: for schema validation tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("webhooks::CREATE", CREATE.to_string()),
        ("webhooks::DELETE", DELETE.to_string()),
        ("webhooks::LIST", LIST.to_string()),
    ]
}

/// A webhook subscription of this app on the shop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookSubscription {
    /// `gid://shopify/WebhookSubscription/123`.
    pub id: String,
    /// The GraphQL topic as Shopify returns it, e.g. `PRODUCTS_UPDATE`; subscriptions to
    /// topics outside the sync set are listed too (see [`Self::sync_topic`]).
    pub topic: String,
    /// Where deliveries go: an HTTPS URL (or a Pub/Sub or EventBridge address).
    pub uri: String,
    /// `JSON` or `XML`.
    pub format: String,
    /// Created at.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated at.
    pub updated_at: Option<DateTime<Utc>>,
}

impl WebhookSubscription {
    /// The topic, when it is one of the sync topics.
    pub fn sync_topic(&self) -> Option<WebhookTopic> {
        WebhookTopic::parse(&self.topic)
    }
}

impl ShopifyClient {
    /// Subscribe `callback_url` (an `https://` URL with a host) to `topic`, in JSON.
    /// Shopify's refusals (an address it will not deliver to, the same address already
    /// subscribed to the topic ...) come back as [`ErrorKind::UserErrors`] with
    /// [`Error::user_errors`].
    pub async fn create_webhook_subscription(
        &self,
        topic: WebhookTopic,
        callback_url: &str,
    ) -> Result<WebhookSubscription> {
        let uri = check_callback_url(callback_url)?;
        let variables = json!({
            "topic": topic.as_graphql(),
            "webhookSubscription": {"uri": uri, "format": "JSON"},
        });
        let payload = self
            .payload(CREATE, variables, "webhookSubscriptionCreate")
            .await?;
        decode::<Option<WebhookSubscription>>(
            payload
                .get("webhookSubscription")
                .cloned()
                .unwrap_or(Value::Null),
            "data.webhookSubscriptionCreate.webhookSubscription",
        )?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                "webhookSubscriptionCreate answered neither a subscription nor userErrors",
            )
        })
    }

    /// Every webhook subscription of this app on the shop, any topic, oldest first.
    pub async fn list_webhook_subscriptions(&self) -> Result<Vec<WebhookSubscription>> {
        self.list_subscriptions(Value::Null).await
    }

    /// The app's subscriptions to any of `topics` (none given: every sync topic).
    pub async fn list_webhook_subscriptions_for(
        &self,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>> {
        let topics = if topics.is_empty() {
            &WebhookTopic::ALL[..]
        } else {
            topics
        };
        let names: Vec<&str> = topics.iter().map(|t| t.as_graphql()).collect();
        self.list_subscriptions(json!(names)).await
    }

    /// Delete a subscription by id (`gid://shopify/WebhookSubscription/123`, or the
    /// bare number). Returns the deleted id. An unknown id is
    /// [`ErrorKind::UserErrors`] (`Webhook subscription does not exist`).
    pub async fn delete_webhook_subscription(&self, id: &str) -> Result<String> {
        let id = subscription_gid(id)?;
        let payload = self
            .payload(DELETE, json!({"id": id}), "webhookSubscriptionDelete")
            .await?;
        Ok(payload
            .get("deletedWebhookSubscriptionId")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or(id))
    }

    /// Make sure `callback_url` is subscribed to each of `topics`: list what exists,
    /// create only what is missing. Returns one subscription per topic, in the order of
    /// `topics`. Running it twice creates nothing the second time.
    pub async fn ensure_webhook_subscriptions(
        &self,
        topics: &[WebhookTopic],
        callback_url: &str,
    ) -> Result<Vec<WebhookSubscription>> {
        let uri = check_callback_url(callback_url)?;
        let existing = self.list_webhook_subscriptions_for(topics).await?;
        let mut out = Vec::with_capacity(topics.len());
        for topic in topics {
            let found = existing
                .iter()
                .find(|s| s.sync_topic() == Some(*topic) && s.uri == uri);
            match found {
                Some(s) => out.push(s.clone()),
                None => out.push(self.create_webhook_subscription(*topic, &uri).await?),
            }
        }
        Ok(out)
    }

    async fn list_subscriptions(&self, topics: Value) -> Result<Vec<WebhookSubscription>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PageInfo {
            has_next_page: bool,
            end_cursor: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            nodes: Vec<WebhookSubscription>,
            page_info: PageInfo,
        }
        let mut all = vec![];
        let mut after: Option<String> = None;
        loop {
            let variables = json!({"first": PAGE_SIZE, "after": after, "topics": topics});
            let resp = self.graphql(LIST, variables).await?;
            if !resp.errors.is_empty() {
                return Err(graphql_failure(
                    "webhookSubscriptions",
                    resp.errors,
                    resp.request_id,
                ));
            }
            let page: Page = decode(
                resp.data
                    .get("webhookSubscriptions")
                    .cloned()
                    .unwrap_or(Value::Null),
                "data.webhookSubscriptions",
            )
            .map_err(|e| e.with_request_id(resp.request_id.clone()))?;
            all.extend(page.nodes);
            match (page.page_info.has_next_page, page.page_info.end_cursor) {
                (true, Some(cursor)) if after.as_deref() != Some(cursor.as_str()) => {
                    after = Some(cursor)
                }
                _ => return Ok(all),
            }
        }
    }

    /// Send a mutation and return its payload object, or the payload's `userErrors` as
    /// an error.
    async fn payload(&self, document: &str, variables: Value, field: &str) -> Result<Value> {
        let resp = self.graphql(document, variables).await?;
        let payload = resp.data.get(field).cloned().unwrap_or(Value::Null);
        if payload.is_null() {
            return Err(graphql_failure(field, resp.errors, resp.request_id));
        }
        let user_errors: Vec<UserError> = decode(
            payload.get("userErrors").cloned().unwrap_or(json!([])),
            &format!("data.{field}.userErrors"),
        )?;
        if !user_errors.is_empty() {
            let messages: Vec<&str> = user_errors.iter().map(|e| e.message.as_str()).collect();
            return Err(Error::new(
                ErrorKind::UserErrors,
                format!("Shopify refused {field}: {}", messages.join("; ")),
            )
            .with_user_errors(user_errors)
            .with_request_id(resp.request_id));
        }
        Ok(payload)
    }
}

/// A response without the expected data, with whatever GraphQL errors came with it.
fn graphql_failure(field: &str, errors: Vec<GraphqlError>, request_id: Option<String>) -> Error {
    let message = match errors.first() {
        Some(e) => format!("Shopify answered {field} with errors: {}", e.message),
        None => format!("Shopify answered no {field}"),
    };
    Error::new(ErrorKind::Graphql, message)
        .with_graphql_errors(errors)
        .with_request_id(request_id)
}

/// Decode `value`; a failure names the JSON path under `at`.
fn decode<T: DeserializeOwned>(value: Value, at: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("{at}.{}", e.path());
        Error::new(
            ErrorKind::Decode,
            format!("unexpected response shape at {path}: {}", e.inner()),
        )
        .with_json_path(path)
    })
}

/// The callback URL, checked before sending: Shopify delivers HTTP webhooks only over
/// HTTPS, to a host.
fn check_callback_url(input: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::invalid_input(format!(
            "invalid webhook callback URL {input:?}: {why}; expected https://host/path"
        ))
    };
    let trimmed = input.trim();
    let url = url::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(bad("Shopify delivers webhooks over https only"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it contains credentials"));
    }
    Ok(trimmed.to_string())
}

/// A subscription id as a gid: bare numbers are completed, other kinds refused.
fn subscription_gid(id: &str) -> Result<String> {
    const PREFIX: &str = "gid://shopify/WebhookSubscription/";
    let id = id.trim();
    let number = id.strip_prefix(PREFIX).unwrap_or(id);
    let number = number.split('?').next().unwrap_or_default();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(format!(
            "invalid webhook subscription id {id:?}: expected {PREFIX}<number>"
        )));
    }
    Ok(format!("{PREFIX}{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{admin_schema, SchemaVersion};
    use apollo_compiler::ExecutableDocument;

    #[test]
    fn every_document_validates_against_both_schemas() {
        let mut failures = vec![];
        for version in [SchemaVersion::V2025_10, SchemaVersion::V2026_07] {
            for (name, doc) in documents() {
                if let Err(e) = ExecutableDocument::parse_and_validate(
                    admin_schema(version),
                    &doc,
                    "doc.graphql",
                ) {
                    failures.push(format!(
                        "{name} against {}:\n{}",
                        version.as_str(),
                        e.errors
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn no_document_uses_a_deprecated_field() {
        for (name, doc) in documents() {
            for deprecated in ["callbackUrl", "endpoint"] {
                assert!(!doc.contains(deprecated), "{name} uses {deprecated}");
            }
        }
    }

    #[test]
    fn topics_are_the_schemas_enum_values() {
        for version in [SchemaVersion::V2025_10, SchemaVersion::V2026_07] {
            let schema = admin_schema(version);
            let Some(apollo_compiler::schema::ExtendedType::Enum(e)) =
                schema.types.get("WebhookSubscriptionTopic")
            else {
                panic!(
                    "WebhookSubscriptionTopic is an enum in {}",
                    version.as_str()
                );
            };
            for t in WebhookTopic::ALL {
                assert!(
                    e.values.contains_key(t.as_graphql()),
                    "{t} in {}",
                    version.as_str()
                );
            }
        }
    }

    #[test]
    fn callback_urls_must_be_https_with_a_host() {
        assert_eq!(
            check_callback_url(" https://sync.example.com/hooks?x=1 ").unwrap(),
            "https://sync.example.com/hooks?x=1"
        );
        for bad in [
            "http://sync.example.com/hooks",
            "ftp://sync.example.com",
            "https://",
            "not a url",
            "",
            "https://user:pw@sync.example.com/",
            "pubsub://project:topic",
        ] {
            let e = check_callback_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn subscription_ids_are_completed_or_refused() {
        assert_eq!(
            subscription_gid("123").unwrap(),
            "gid://shopify/WebhookSubscription/123"
        );
        assert_eq!(
            subscription_gid("gid://shopify/WebhookSubscription/9").unwrap(),
            "gid://shopify/WebhookSubscription/9"
        );
        for bad in [
            "",
            "gid://shopify/Product/1",
            "abc",
            "gid://shopify/WebhookSubscription/",
        ] {
            assert_eq!(
                subscription_gid(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn subscriptions_decode_from_a_node() {
        let node = json!({
            "id": "gid://shopify/WebhookSubscription/7",
            "topic": "APP_UNINSTALLED",
            "uri": "https://a.example/h",
            "format": "JSON",
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"
        });
        let s: WebhookSubscription = decode(node, "node").unwrap();
        assert_eq!(s.sync_topic(), None);
        assert_eq!(
            s.created_at.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        let e = decode::<WebhookSubscription>(json!({"id": 1}), "node").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(e.json_path(), Some("node.id"));
    }
}
