//! The catalog's data types: products, variants, options, collections, typed ids,
//! exact money and timestamps. Plain data with serde; no I/O.
//!
//! This module owns the shapes of catalog data. It must not touch the network, the
//! change store or the clock, and knows nothing of the client, staging or the bindings:
//! everything else depends on it, never the reverse.
//!
//! - [`Gid<T>`] is a typed global id (`gid://shopify/Product/123`): a `Product` id cannot
//!   be passed where a `ProductVariant` id is expected. Kinds: [`Product`],
//!   [`ProductVariant`], [`ProductOption`], [`Collection`], [`Job`], [`InventoryItem`],
//!   [`Location`].
//! - [`Money`] is an exact decimal, compared by value and written as a string; never a
//!   float.
//! - Timestamps are [`chrono::DateTime<Utc>`](chrono::DateTime).
//!
//! # JSON
//!
//! The types serialize and deserialize with the Admin GraphQL API's own field names
//! (`descriptionHtml`, `compareAtPrice` ...) and enum strings (`ACTIVE`), so a node of a
//! response decodes directly. Nested connections are accepted as a plain list,
//! `{"nodes": [...]}` or `{"edges": [{"node": ...}]}` (see [`de::nodes`]) and written
//! back as plain lists. Serializing a value and reading it back gives an equal value.
//!
//! # Fields a query did not select
//!
//! Only `id` is required. A field missing from the JSON reads as an empty string or list,
//! or as `None` where an empty value would be a plausible real value that a diff could
//! mistake for a change: status, prices, inventory policy and quantity, `taxable`,
//! positions and timestamps are `Option`s. For fields Shopify itself can return as
//! `null` (`sku`, `compareAtPrice`, `templateSuffix` ...), `None` means "null or not
//! selected": read with a query that selects every field you compare.
//!
//! ```
//! use shopify_sync::model::{Money, Product, ProductStatus};
//!
//! let node = r#"{
//!   "id": "gid://shopify/Product/10243927867698",
//!   "title": "Bulk Tee",
//!   "status": "DRAFT",
//!   "createdAt": "2026-06-30T11:18:48Z",
//!   "variants": {"nodes": [{
//!     "id": "gid://shopify/ProductVariant/51488122011954",
//!     "price": "24.00",
//!     "compareAtPrice": "30.00",
//!     "selectedOptions": [{"name": "Color", "value": "Red"}]
//!   }]}
//! }"#;
//! let product: Product = serde_json::from_str(node).unwrap();
//! assert_eq!(product.status, Some(ProductStatus::Draft));
//! let variant = &product.variants[0];
//! assert_eq!(variant.price, Some("24".parse::<Money>()?));
//! assert_eq!(variant.option_value("Color"), Some("Red"));
//!
//! // A round trip gives the same value; lists are written as plain lists.
//! let json = serde_json::to_string(&product).unwrap();
//! assert_eq!(serde_json::from_str::<Product>(&json).unwrap(), product);
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```

mod collection;
pub mod de;
mod gid;
mod money;
mod product;

pub use collection::{Collection, CollectionRule, CollectionRuleSet, CollectionSortOrder};
pub use gid::{Gid, GidKey, GidKind, InventoryItem, Job, Location, GID_PREFIX};
pub use money::Money;
pub use product::{
    InventoryPolicy, Product, ProductOption, ProductStatus, ProductVariant, SelectedOption, Seo,
};

#[cfg(test)]
mod captures;

#[cfg(test)]
mod test_support {
    /// Deterministic pseudo-random strings built from pieces that matter to the parser.
    pub(crate) fn arbitrary_strings(n: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "gid://shopify/",
            "Product",
            "ProductVariant",
            "Job",
            "/",
            "?",
            "-",
            ".",
            "0",
            "1",
            "9",
            "18446744073709551615",
            "898decfa-074d-4099-95d8-b183b6349396",
            "e",
            "+",
            " ",
            "é",
            "٣",
            "\u{0}",
            "_",
            "NaN",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(|_| {
                let len = next() % 7;
                (0..len)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }
}
