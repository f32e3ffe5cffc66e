//! Typed product operations: list as a stream (nested variants paginated to the end,
//! never truncated), count, get, and the writes (`productSet`, create, update, delete,
//! variant bulk create / update / delete).
//!
//! Inputs are Shopify's own input objects as JSON (`ProductSetInput`,
//! `ProductCreateInput` ...), so every field Shopify accepts is available; results are
//! typed [`Product`]s. `userErrors` come back as an error of kind
//! [`ErrorKind::UserErrors`] carrying them.
use super::pagination::{decode, paginate, Connection};
use super::ShopifyClient;
use crate::error::{Error, ErrorKind, Result, UserError};
use crate::model::{Gid, Product, ProductVariant};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{Stream, TryStreamExt};
use serde_json::{json, Value};

/// The product fields every operation reads.
pub(crate) const PRODUCT_FIELDS: &str = "fragment ProductFields on Product {
  id title handle descriptionHtml vendor productType status tags templateSuffix createdAt updatedAt
  seo { title description }
  options { id name position values }
}";

/// The variant fields every operation reads.
pub(crate) const VARIANT_FIELDS: &str = "fragment VariantFields on ProductVariant {
  id title sku barcode price compareAtPrice inventoryPolicy inventoryQuantity taxable position
  selectedOptions { name value }
  createdAt updatedAt
}";

/// Variants read with each product; more are fetched page by page.
const VARIANTS_PER_PRODUCT: u32 = 100;

/// The operation with the fragments it spreads (GraphQL refuses unused fragments).
pub(crate) fn with_fragments(operation: &str) -> String {
    let mut doc = operation.to_string();
    for (name, fragment) in [
        ("...ProductFields", PRODUCT_FIELDS),
        ("...VariantFields", VARIANT_FIELDS),
    ] {
        if operation.contains(name) {
            doc.push('\n');
            doc.push_str(fragment);
        }
    }
    doc
}

/// The documents this module sends, for validation tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("products", with_fragments(LIST)),
        ("product_variants", with_fragments(VARIANTS_PAGE)),
        ("product", with_fragments(GET)),
        ("product_by_handle", with_fragments(BY_HANDLE)),
        ("products_count", COUNT.to_string()),
        ("product_set", with_fragments(SET)),
        ("product_create", with_fragments(CREATE)),
        ("product_update", with_fragments(UPDATE)),
        ("product_delete", DELETE.to_string()),
        ("variants_bulk_create", with_fragments(VARIANTS_CREATE)),
        ("variants_bulk_update", with_fragments(VARIANTS_UPDATE)),
        ("variants_bulk_delete", VARIANTS_DELETE.to_string()),
    ]
}

const LIST: &str = "query Products($first: Int!, $after: String, $query: String, $sortKey: ProductSortKeys, $reverse: Boolean, $variants: Int!) {
  products(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    nodes { ...ProductFields variants(first: $variants) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
    pageInfo { hasNextPage endCursor }
  }
}";

const VARIANTS_PAGE: &str = "query ProductVariants($id: ID!, $first: Int!, $after: String) {
  product(id: $id) { variants(first: $first, after: $after) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
}";

const GET: &str = "query Product($id: ID!, $variants: Int!) {
  product(id: $id) { ...ProductFields variants(first: $variants) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
}";

const BY_HANDLE: &str = "query ProductByHandle($handle: String!, $variants: Int!) {
  productByIdentifier(identifier: {handle: $handle}) { ...ProductFields variants(first: $variants) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
}";

const COUNT: &str = "query ProductsCount($query: String) { productsCount(query: $query, limit: null) { count precision } }";

const SET: &str = "mutation ProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { ...ProductFields variants(first: 250) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
    userErrors { field message code }
  }
}";

const CREATE: &str = "mutation ProductCreate($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product { ...ProductFields variants(first: 250) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
    userErrors { field message }
  }
}";

const UPDATE: &str = "mutation ProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { ...ProductFields variants(first: 250) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
    userErrors { field message }
  }
}";

const DELETE: &str = "mutation ProductDelete($id: ID!) {
  productDelete(input: {id: $id}) { deletedProductId userErrors { field message } }
}";

const VARIANTS_CREATE: &str = "mutation VariantsCreate($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $strategy: ProductVariantsBulkCreateStrategy) {
  productVariantsBulkCreate(productId: $productId, variants: $variants, strategy: $strategy) {
    productVariants { ...VariantFields }
    userErrors { field message code }
  }
}";

const VARIANTS_UPDATE: &str =
    "mutation VariantsUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { ...VariantFields }
    userErrors { field message code }
  }
}";

const VARIANTS_DELETE: &str = "mutation VariantsDelete($productId: ID!, $variantsIds: [ID!]!) {
  productVariantsBulkDelete(productId: $productId, variantsIds: $variantsIds) { userErrors { field message code } }
}";

/// How to order a product listing (`ProductSortKeys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductSort {
    /// By id (the default; stable for full pulls).
    #[default]
    Id,
    /// By title.
    Title,
    /// By last update (for incremental pulls).
    UpdatedAt,
    /// By creation.
    CreatedAt,
    /// By vendor.
    Vendor,
    /// By product type.
    ProductType,
}

impl ProductSort {
    fn as_str(self) -> &'static str {
        match self {
            ProductSort::Id => "ID",
            ProductSort::Title => "TITLE",
            ProductSort::UpdatedAt => "UPDATED_AT",
            ProductSort::CreatedAt => "CREATED_AT",
            ProductSort::Vendor => "VENDOR",
            ProductSort::ProductType => "PRODUCT_TYPE",
        }
    }
}

/// Which products to list.
///
/// ```
/// use shopify_sync::client::products::{ProductQuery, ProductSort};
/// let q = ProductQuery::default()
///     .search("status:active")
///     .updated_after("2026-01-01T00:00:00Z".parse().unwrap())
///     .sort(ProductSort::UpdatedAt);
/// assert_eq!(q.query_string().unwrap(), "(status:active) AND updated_at:>='2026-01-01T00:00:00Z'");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    search: Option<String>,
    updated_after: Option<DateTime<Utc>>,
    updated_before: Option<DateTime<Utc>>,
    sort: ProductSort,
    reverse: bool,
    page_size: Option<u32>,
}

impl ProductQuery {
    /// Filter with Shopify's search syntax (`status:active tag:sale`).
    pub fn search(mut self, query: impl Into<String>) -> Self {
        self.search = Some(query.into());
        self
    }
    /// Only products updated at or after `t`.
    pub fn updated_after(mut self, t: DateTime<Utc>) -> Self {
        self.updated_after = Some(t);
        self
    }
    /// Only products updated before `t`.
    pub fn updated_before(mut self, t: DateTime<Utc>) -> Self {
        self.updated_before = Some(t);
        self
    }
    /// Sort order.
    pub fn sort(mut self, sort: ProductSort) -> Self {
        self.sort = sort;
        self
    }
    /// Reverse the order.
    pub fn reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }
    /// A fixed page size (default: the largest whose cost fits the limit).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The `query:` argument this listing sends.
    pub fn query_string(&self) -> Option<String> {
        let fmt = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut parts = vec![];
        if let Some(s) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            parts.push(format!("({s})"));
        }
        if let Some(t) = &self.updated_after {
            parts.push(format!("updated_at:>='{}'", fmt(t)));
        }
        if let Some(t) = &self.updated_before {
            parts.push(format!("updated_at:<'{}'", fmt(t)));
        }
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// Turn a payload's `userErrors` into an error; `Ok(payload)` when there are none.
pub(crate) fn payload(data: &Value, field: &str) -> Result<Value> {
    let p = data.get(field).cloned().unwrap_or(Value::Null);
    if p.is_null() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the response has no {field} payload"),
        ));
    }
    let errors: Vec<UserError> = decode(
        p.get("userErrors").cloned().unwrap_or(json!([])),
        &format!("data.{field}.userErrors"),
    )?;
    if !errors.is_empty() {
        let summary: Vec<String> = errors
            .iter()
            .map(|e| match &e.field {
                Some(f) => format!("{}: {}", f.join("."), e.message),
                None => e.message.clone(),
            })
            .collect();
        return Err(Error::new(
            ErrorKind::UserErrors,
            format!("{field} was refused: {}", summary.join("; ")),
        )
        .with_user_errors(errors));
    }
    Ok(p)
}

impl ShopifyClient {
    /// Every product matching `q`, as a stream. Each product carries all its variants:
    /// when a product has more than fit in its page, the rest are fetched before the
    /// product is yielded.
    pub fn products(&self, q: ProductQuery) -> impl Stream<Item = Result<Product>> + Send + '_ {
        let mut conn = Connection::new(with_fragments(LIST), &["products"]).variables(json!({
            "query": q.query_string(),
            "sortKey": q.sort.as_str(),
            "reverse": q.reverse,
            "variants": VARIANTS_PER_PRODUCT,
        }));
        if let Some(n) = q.page_size {
            conn = conn.page_size(n);
        }
        paginate::<Value>(self.clone(), conn).and_then(move |node| self.complete_product(node))
    }

    /// Decode a product node, fetching the rest of its variants if the page was cut.
    pub(crate) async fn complete_product(&self, node: Value) -> Result<Product> {
        let more = node
            .pointer("/variants/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let after = node.pointer("/variants/pageInfo/endCursor").cloned();
        let mut product: Product = decode(node, "product")?;
        if more {
            let conn = Connection::new(with_fragments(VARIANTS_PAGE), &["product", "variants"])
                .variables(json!({"id": product.id.to_string(), "after": after}))
                .page_size(250);
            let rest: Vec<ProductVariant> = paginate(self.clone(), conn).try_collect().await?;
            product.variants.extend(rest);
        }
        Ok(product)
    }

    /// How many products match Shopify's search syntax `query` (all with `None`).
    pub async fn products_count(&self, query: Option<&str>) -> Result<u64> {
        let resp = self.graphql(COUNT, json!({"query": query})).await?;
        decode(
            resp.data
                .pointer("/productsCount/count")
                .cloned()
                .unwrap_or(Value::Null),
            "data.productsCount.count",
        )
    }

    /// A product by id, with all its variants; `None` if it does not exist.
    pub async fn product(&self, id: Gid<Product>) -> Result<Option<Product>> {
        let resp = self
            .graphql(
                &with_fragments(GET),
                json!({"id": id.to_string(), "variants": VARIANTS_PER_PRODUCT}),
            )
            .await?;
        match resp.data.get("product").cloned().unwrap_or(Value::Null) {
            Value::Null => Ok(None),
            node => self.complete_product(node).await.map(Some),
        }
    }

    /// A product by handle, with all its variants; `None` if no product has it.
    pub async fn product_by_handle(&self, handle: &str) -> Result<Option<Product>> {
        let resp = self
            .graphql(
                &with_fragments(BY_HANDLE),
                json!({"handle": handle, "variants": VARIANTS_PER_PRODUCT}),
            )
            .await?;
        match resp
            .data
            .get("productByIdentifier")
            .cloned()
            .unwrap_or(Value::Null)
        {
            Value::Null => Ok(None),
            node => self.complete_product(node).await.map(Some),
        }
    }

    /// `productSet`, synchronous: create or replace a product from a `ProductSetInput`.
    /// With an `identifier` (`{"handle": ...}`, `{"id": ...}` or `{"customId": ...}`) it
    /// upserts and is idempotent, so an unknown outcome is retried safely. Every list
    /// field given replaces the product's: omitted variants are deleted.
    pub async fn product_set(&self, input: Value, identifier: Option<Value>) -> Result<Product> {
        let resp = self
            .graphql(
                &with_fragments(SET),
                json!({"input": input, "identifier": identifier}),
            )
            .await?;
        let p = payload(&resp.data, "productSet")?;
        self.complete_product(p["product"].clone()).await
    }

    /// `productCreate` from a `ProductCreateInput`.
    pub async fn product_create(&self, input: Value) -> Result<Product> {
        let resp = self
            .graphql(&with_fragments(CREATE), json!({"product": input}))
            .await?;
        let p = payload(&resp.data, "productCreate")?;
        self.complete_product(p["product"].clone()).await
    }

    /// `productUpdate` from a `ProductUpdateInput` (holding the `id`).
    pub async fn product_update(&self, input: Value) -> Result<Product> {
        let resp = self
            .graphql(&with_fragments(UPDATE), json!({"product": input}))
            .await?;
        let p = payload(&resp.data, "productUpdate")?;
        self.complete_product(p["product"].clone()).await
    }

    /// `productDelete`.
    pub async fn product_delete(&self, id: Gid<Product>) -> Result<Gid<Product>> {
        let resp = self.graphql(DELETE, json!({"id": id.to_string()})).await?;
        let p = payload(&resp.data, "productDelete")?;
        decode(
            p["deletedProductId"].clone(),
            "data.productDelete.deletedProductId",
        )
    }

    /// `productVariantsBulkCreate` with `ProductVariantsBulkInput`s; returns the new variants.
    pub async fn variants_bulk_create(
        &self,
        product: Gid<Product>,
        variants: Vec<Value>,
        remove_standalone: bool,
    ) -> Result<Vec<ProductVariant>> {
        let strategy = if remove_standalone {
            "REMOVE_STANDALONE_VARIANT"
        } else {
            "DEFAULT"
        };
        let vars =
            json!({"productId": product.to_string(), "variants": variants, "strategy": strategy});
        let resp = self.graphql(&with_fragments(VARIANTS_CREATE), vars).await?;
        let p = payload(&resp.data, "productVariantsBulkCreate")?;
        decode(
            p["productVariants"].clone(),
            "data.productVariantsBulkCreate.productVariants",
        )
    }

    /// `productVariantsBulkUpdate`; each input holds its variant `id`.
    pub async fn variants_bulk_update(
        &self,
        product: Gid<Product>,
        variants: Vec<Value>,
    ) -> Result<Vec<ProductVariant>> {
        let vars = json!({"productId": product.to_string(), "variants": variants});
        let resp = self.graphql(&with_fragments(VARIANTS_UPDATE), vars).await?;
        let p = payload(&resp.data, "productVariantsBulkUpdate")?;
        decode(
            p["productVariants"].clone(),
            "data.productVariantsBulkUpdate.productVariants",
        )
    }

    /// `productVariantsBulkDelete`.
    pub async fn variants_bulk_delete(
        &self,
        product: Gid<Product>,
        variants: &[Gid<ProductVariant>],
    ) -> Result<()> {
        let ids: Vec<String> = variants.iter().map(|v| v.to_string()).collect();
        let resp = self
            .graphql(
                VARIANTS_DELETE,
                json!({"productId": product.to_string(), "variantsIds": ids}),
            )
            .await?;
        payload(&resp.data, "productVariantsBulkDelete").map(|_| ())
    }
}
