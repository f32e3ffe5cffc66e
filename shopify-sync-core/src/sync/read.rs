//! Re-reading targets by id (`nodes(ids:)`): the stale guard's versions, and whole
//! products and collections for the guard and for webhook refreshes.

use crate::client::bulk::BulkOptions;
use crate::client::collections::with_fields;
use crate::client::pagination::{decode, paginate, Connection};
use crate::client::products::with_fragments;
use crate::client::ShopifyClient;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Collection, Gid, Product};
use crate::staging::ProductSnapshot;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Ids per `nodes(ids:)` request for whole products (each costs its variants and
/// collections pages).
pub(crate) const PRODUCTS_PER_READ: usize = 10;
/// Variants read with each product; more are paged.
const VARIANTS: u32 = 25;

const VERSIONS: &str = "query SyncVersions($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Product { updatedAt } ... on Collection { updatedAt } }
}";

/// Every product's `updatedAt`, as a bulk query (no rate-limit points).
const BULK_VERSIONS: &str = "{ products { edges { node { id updatedAt } } } }";

const PRODUCTS: &str = "query SyncProducts($ids: [ID!]!, $variants: Int!) {
  nodes(ids: $ids) { ... on Product { ...ProductFields
    variants(first: $variants) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } }
    collections(first: 25) { nodes { id ruleSet { appliedDisjunctively } } pageInfo { hasNextPage endCursor } }
  } }
}";

const PRODUCT_COLLECTIONS: &str = "query SyncProductCollections($id: ID!, $first: Int!, $after: String) {
  product(id: $id) { collections(first: $first, after: $after) { nodes { id ruleSet { appliedDisjunctively } } pageInfo { hasNextPage endCursor } } }
}";

const COLLECTIONS: &str = "query SyncCollections($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Collection { ...CollectionFields } }
}";

/// The documents this module sends, for validation tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("sync_versions", VERSIONS.to_string()),
        ("sync_bulk_versions", BULK_VERSIONS.to_string()),
        ("sync_products", with_fragments(PRODUCTS)),
        ("sync_product_collections", PRODUCT_COLLECTIONS.to_string()),
        ("sync_collections", with_fields(COLLECTIONS)),
    ]
}

/// A product as Shopify holds it now, with its custom-collection membership.
#[derive(Debug, Clone)]
pub(crate) struct RemoteProduct {
    pub id: Gid<Product>,
    pub updated_at: Option<DateTime<Utc>>,
    pub snapshot: ProductSnapshot,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    id: String,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    id: Gid<Collection>,
    rule_set: Option<Value>,
}

/// `updatedAt` of each existing entity among `ids` (any kind), by gid string; the
/// ids Shopify does not know are absent. One request per 250 ids.
pub(crate) async fn versions(
    client: &ShopifyClient,
    ids: &[String],
) -> Result<HashMap<String, Option<DateTime<Utc>>>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(250) {
        let resp = client.graphql(VERSIONS, json!({ "ids": chunk })).await?;
        let nodes: Vec<Option<Version>> = decode(
            resp.data.get("nodes").cloned().unwrap_or(Value::Null),
            "data.nodes",
        )?;
        for v in nodes.into_iter().flatten() {
            out.insert(v.id, v.updated_at);
        }
    }
    Ok(out)
}

/// Every product's `updatedAt`, by gid string, from one bulk query: for guards over
/// more targets than `nodes(ids:)` reads cheaply.
pub(crate) async fn bulk_versions(
    client: &ShopifyClient,
) -> Result<HashMap<String, Option<DateTime<Utc>>>> {
    let result = client
        .bulk_query(BULK_VERSIONS, &BulkOptions::default())
        .await?;
    if result.is_partial() {
        return Err(Error::new(
            ErrorKind::Server,
            format!(
                "the bulk listing of product versions failed midway ({})",
                result.error_code().unwrap_or("unknown")
            ),
        )
        .with_retryable(true));
    }
    let mut out = HashMap::new();
    let mut records = client.bulk_download(&result)?;
    while let Some(record) = records.try_next().await? {
        let v: Version = decode(record.value()?, "bulk products")?;
        out.insert(v.id, v.updated_at);
    }
    Ok(out)
}

/// The products among `ids` that exist, whole (every variant, custom-collection
/// membership), in no particular order.
pub(crate) async fn products(
    client: &ShopifyClient,
    ids: &[Gid<Product>],
) -> Result<Vec<RemoteProduct>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(PRODUCTS_PER_READ) {
        let ids: Vec<String> = chunk.iter().map(Gid::to_string).collect();
        let resp = client
            .graphql(
                &with_fragments(PRODUCTS),
                json!({ "ids": ids, "variants": VARIANTS }),
            )
            .await?;
        let nodes = match resp.data.get("nodes") {
            Some(Value::Array(nodes)) => nodes.clone(),
            _ => Vec::new(),
        };
        for mut node in nodes.into_iter().filter(|n| n.get("id").is_some()) {
            let collections = node
                .as_object_mut()
                .and_then(|m| m.remove("collections"))
                .unwrap_or(Value::Null);
            let product = client.complete_product(node).await?;
            let members = memberships(client, product.id, collections).await?;
            out.push(RemoteProduct {
                id: product.id,
                updated_at: product.updated_at,
                snapshot: ProductSnapshot::from_product(&product).with_collections(members),
            });
        }
    }
    Ok(out)
}

/// The custom collections of a product from its first page, paging for the rest.
async fn memberships(
    client: &ShopifyClient,
    id: Gid<Product>,
    first_page: Value,
) -> Result<Vec<Gid<Collection>>> {
    let more = first_page
        .pointer("/pageInfo/hasNextPage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let after = first_page.pointer("/pageInfo/endCursor").cloned();
    let mut all: Vec<Membership> = decode(
        first_page
            .get("nodes")
            .cloned()
            .unwrap_or(Value::Array(vec![])),
        "product.collections.nodes",
    )?;
    if more {
        let conn = Connection::new(PRODUCT_COLLECTIONS, &["product", "collections"])
            .variables(json!({ "id": id.to_string(), "after": after }))
            .page_size(250);
        let rest: Vec<Membership> = paginate(client.clone(), conn).try_collect().await?;
        all.extend(rest);
    }
    Ok(all
        .into_iter()
        .filter(|m| m.rule_set.is_none())
        .map(|m| m.id)
        .collect())
}

/// The collections among `ids` that exist.
pub(crate) async fn collections(
    client: &ShopifyClient,
    ids: &[Gid<Collection>],
) -> Result<Vec<Collection>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(50) {
        let ids: Vec<String> = chunk.iter().map(Gid::to_string).collect();
        let resp = client
            .graphql(&with_fields(COLLECTIONS), json!({ "ids": ids }))
            .await?;
        let nodes: Vec<Option<Value>> = decode(
            resp.data.get("nodes").cloned().unwrap_or(Value::Null),
            "data.nodes",
        )?;
        for node in nodes.into_iter().flatten() {
            if node.get("id").is_some() {
                out.push(decode(node, "data.nodes[]")?);
            }
        }
    }
    Ok(out)
}
