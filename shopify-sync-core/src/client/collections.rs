//! Typed collection operations: custom and smart collections (with rule sets) as a
//! stream, get, create, update, delete, and membership: a collection's products as a
//! stream, add and remove products in chunks of at most 250 ids, each chunk's `Job`
//! polled to completion.
//!
//! Every document validates against both 2025-10 and 2026-07. Where a replacement exists
//! only in the newer version (`collectionCreate(collection:)` in 2026-07 replaces
//! `collectionCreate(input:)`), the deprecated-but-valid form is used and its deprecation
//! is logged once.
use super::pagination::{decode, paginate, Connection};
use super::products::payload;
use super::{warn_once, ShopifyClient};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Collection, Gid, Job, Product};
use futures::stream::Stream;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Shopify's limit of product ids per membership call.
pub const MEMBERSHIP_CHUNK: usize = 250;

/// The collection fields every operation reads.
const COLLECTION_FIELDS: &str = "fragment CollectionFields on Collection {
  id title handle descriptionHtml sortOrder templateSuffix updatedAt
  seo { title description }
  ruleSet { appliedDisjunctively rules { column relation condition } }
}";

const LIST: &str = "query Collections($first: Int!, $after: String, $query: String) {
  collections(first: $first, after: $after, query: $query) { nodes { ...CollectionFields } pageInfo { hasNextPage endCursor } }
}";

const GET: &str = "query Collection($id: ID!) { collection(id: $id) { ...CollectionFields } }";

const MEMBERS: &str = "query CollectionProducts($id: ID!, $first: Int!, $after: String) {
  collection(id: $id) { products(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }
}";

const CREATE: &str = "mutation CollectionCreate($input: CollectionInput!) {
  collectionCreate(input: $input) { collection { ...CollectionFields } userErrors { field message } }
}";

const UPDATE: &str = "mutation CollectionUpdate($input: CollectionInput!) {
  collectionUpdate(input: $input) { collection { ...CollectionFields } userErrors { field message } }
}";

const DELETE: &str = "mutation CollectionDelete($id: ID!) {
  collectionDelete(input: {id: $id}) { deletedCollectionId userErrors { field message } }
}";

const ADD: &str = "mutation CollectionAdd($id: ID!, $productIds: [ID!]!) {
  collectionAddProductsV2(id: $id, productIds: $productIds) { job { id done } userErrors { field message code } }
}";

const REMOVE: &str = "mutation CollectionRemove($id: ID!, $productIds: [ID!]!) {
  collectionRemoveProducts(id: $id, productIds: $productIds) { job { id done } userErrors { field message } }
}";

const JOB: &str = "query Job($id: ID!) { job(id: $id) { id done } }";

pub(crate) fn with_fields(operation: &str) -> String {
    format!("{operation}\n{COLLECTION_FIELDS}")
}

/// The documents this module sends, for validation tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("collections", with_fields(LIST)),
        ("collection", with_fields(GET)),
        ("collection_products", MEMBERS.to_string()),
        ("collection_create", with_fields(CREATE)),
        ("collection_update", with_fields(UPDATE)),
        ("collection_delete", DELETE.to_string()),
        ("collection_add_products", ADD.to_string()),
        ("collection_remove_products", REMOVE.to_string()),
        ("job", JOB.to_string()),
    ]
}

#[derive(serde::Deserialize)]
struct IdOnly<T: crate::model::GidKind> {
    id: Gid<T>,
}

impl ShopifyClient {
    /// Every collection (custom and smart) matching Shopify's search syntax `query`.
    pub fn collections(
        &self,
        query: Option<&str>,
    ) -> impl Stream<Item = Result<Collection>> + Send {
        let conn =
            Connection::new(with_fields(LIST), &["collections"]).variables(json!({"query": query}));
        paginate(self.clone(), conn)
    }

    /// A collection by id; `None` if it does not exist.
    pub async fn collection(&self, id: Gid<Collection>) -> Result<Option<Collection>> {
        let resp = self
            .graphql(&with_fields(GET), json!({"id": id.to_string()}))
            .await?;
        decode(
            resp.data.get("collection").cloned().unwrap_or(Value::Null),
            "data.collection",
        )
    }

    /// The ids of a collection's products, in the collection's order, as a stream.
    pub fn collection_product_ids(
        &self,
        id: Gid<Collection>,
    ) -> impl Stream<Item = Result<Gid<Product>>> + Send {
        use futures::TryStreamExt;
        let conn = Connection::new(MEMBERS, &["collection", "products"])
            .variables(json!({"id": id.to_string()}));
        paginate::<IdOnly<Product>>(self.clone(), conn).map_ok(|p| p.id)
    }

    /// Create a collection from a `CollectionInput` (with `ruleSet` for a smart one).
    pub async fn collection_create(&self, input: Value) -> Result<Collection> {
        warn_once("collectionCreate(input:) is deprecated in 2026-07; it is used because its replacement does not exist in 2025-10");
        let resp = self
            .graphql(&with_fields(CREATE), json!({"input": input}))
            .await?;
        let p = payload(&resp.data, "collectionCreate")?;
        decode(p["collection"].clone(), "data.collectionCreate.collection")
    }

    /// Update a collection from a `CollectionInput` holding its `id`.
    pub async fn collection_update(&self, input: Value) -> Result<Collection> {
        warn_once("collectionUpdate(input:) is deprecated in 2026-07; it is used because its replacement does not exist in 2025-10");
        let resp = self
            .graphql(&with_fields(UPDATE), json!({"input": input}))
            .await?;
        let p = payload(&resp.data, "collectionUpdate")?;
        decode(p["collection"].clone(), "data.collectionUpdate.collection")
    }

    /// Delete a collection.
    pub async fn collection_delete(&self, id: Gid<Collection>) -> Result<Gid<Collection>> {
        let resp = self.graphql(DELETE, json!({"id": id.to_string()})).await?;
        let p = payload(&resp.data, "collectionDelete")?;
        decode(
            p["deletedCollectionId"].clone(),
            "data.collectionDelete.deletedCollectionId",
        )
    }

    /// Add products to a custom collection: chunks of at most 250 ids, each chunk's job
    /// waited for before the next is sent. Adding a member again is harmless.
    pub async fn collection_add_products(
        &self,
        id: Gid<Collection>,
        products: &[Gid<Product>],
    ) -> Result<()> {
        self.change_membership(ADD, "collectionAddProductsV2", id, products)
            .await
    }

    /// Remove products from a custom collection, likewise in chunks.
    pub async fn collection_remove_products(
        &self,
        id: Gid<Collection>,
        products: &[Gid<Product>],
    ) -> Result<()> {
        self.change_membership(REMOVE, "collectionRemoveProducts", id, products)
            .await
    }

    async fn change_membership(
        &self,
        document: &str,
        field: &str,
        id: Gid<Collection>,
        products: &[Gid<Product>],
    ) -> Result<()> {
        for chunk in products.chunks(MEMBERSHIP_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|p| p.to_string()).collect();
            // Not idempotent in Shopify's terms, but adding or removing the same members
            // twice changes nothing, so an unknown outcome may be retried.
            let options = super::RequestOptions { idempotent: true };
            let resp = self
                .graphql_with(
                    document,
                    json!({"id": id.to_string(), "productIds": ids}),
                    options,
                )
                .await?;
            let p = payload(&resp.data, field)?;
            if p["job"].is_null() {
                continue;
            }
            let job: Gid<Job> = decode(p["job"]["id"].clone(), &format!("data.{field}.job.id"))?;
            if p["job"]["done"] != json!(true) {
                self.wait_for_job(job).await?;
            }
        }
        Ok(())
    }

    /// Poll `job(id:)` with backoff (50 ms doubling to 2 s) until it is done, for at most
    /// ten minutes.
    pub async fn wait_for_job(&self, job: Gid<Job>) -> Result<()> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            tokio::time::sleep(delay).await;
            let resp = self.graphql(JOB, json!({"id": job.to_string()})).await?;
            match resp.data.pointer("/job/done") {
                Some(Value::Bool(true)) => return Ok(()),
                Some(Value::Bool(false)) => {}
                _ => {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("job {job} does not exist"),
                    ))
                }
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("job {job} did not finish within ten minutes"),
                )
                .with_retryable(true));
            }
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}
