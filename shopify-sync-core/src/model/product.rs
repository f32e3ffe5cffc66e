//! Products, their variants and options.

use super::{de, Gid, Money};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A product as the Admin GraphQL API returns it (`Product` object).
///
/// Decodes a response node directly: field names are Shopify's camelCase, `variants`
/// may be a list or a connection (`{"nodes": [...]}` / `{"edges": [...]}`), `tags` a list
/// or a comma-separated string. Only `id` is required; fields the query did not select
/// read as empty strings and lists, or `None` (see the [module docs](super) for why
/// `status` and the timestamps are options).
///
/// ```
/// use shopify_sync::model::{Product, ProductStatus};
///
/// let json = r#"{
///   "id": "gid://shopify/Product/10243923018034",
///   "title": "Graph Tee",
///   "status": "ACTIVE",
///   "tags": ["summer", "tee"],
///   "variants": {"nodes": [
///     {"id": "gid://shopify/ProductVariant/51488052412722", "price": "89.99"}
///   ]}
/// }"#;
/// let product: Product = serde_json::from_str(json).unwrap();
/// assert_eq!(product.id.numeric_id(), 10243923018034);
/// assert_eq!(product.status, Some(ProductStatus::Active));
/// assert_eq!(product.variants[0].price.unwrap().to_string(), "89.99");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// The product's global id. Required.
    pub id: Gid<Product>,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The URL handle (`graph-tee`), unique in the shop.
    #[serde(default)]
    pub handle: String,
    /// The description as HTML.
    #[serde(default)]
    pub description_html: String,
    /// The vendor (brand, manufacturer).
    #[serde(default)]
    pub vendor: String,
    /// The merchant's product type (free text, not the taxonomy category).
    #[serde(default)]
    pub product_type: String,
    /// Active, archived, draft or unlisted; `None` when not selected.
    #[serde(default)]
    pub status: Option<ProductStatus>,
    /// The tags, in Shopify's order.
    #[serde(default, deserialize_with = "de::tags")]
    pub tags: Vec<String>,
    /// Search engine title and description.
    #[serde(default)]
    pub seo: Seo,
    /// The theme template suffix (`product.<suffix>.liquid`); `None` for the default.
    #[serde(default)]
    pub template_suffix: Option<String>,
    /// The options (`Color`, `Size` ...), in position order.
    #[serde(default, deserialize_with = "de::nodes")]
    pub options: Vec<ProductOption>,
    /// The variants the response holds (one page of them if the connection was paged).
    #[serde(default, deserialize_with = "de::nodes")]
    pub variants: Vec<ProductVariant>,
    /// When the product was created; `None` when not selected.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the product was last updated; `None` when not selected.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Product {
    /// A product with this id and every other field empty.
    pub fn new(id: Gid<Product>) -> Product {
        Product {
            id,
            title: String::new(),
            handle: String::new(),
            description_html: String::new(),
            vendor: String::new(),
            product_type: String::new(),
            status: None,
            tags: Vec::new(),
            seo: Seo::default(),
            template_suffix: None,
            options: Vec::new(),
            variants: Vec::new(),
            created_at: None,
            updated_at: None,
        }
    }

    /// The variant with this id, if the product holds it.
    pub fn variant(&self, id: Gid<ProductVariant>) -> Option<&ProductVariant> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// The option with this name (`"Color"`), if any.
    pub fn option(&self, name: &str) -> Option<&ProductOption> {
        self.options.iter().find(|o| o.name == name)
    }
}

/// A product's status (`ProductStatus` enum; JSON strings `ACTIVE`, `ARCHIVED`, `DRAFT`,
/// `UNLISTED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ProductStatus {
    /// Ready to sell, visible on the sales channels it is published to.
    Active,
    /// No longer sold, hidden everywhere.
    Archived,
    /// Not ready to sell, hidden everywhere.
    Draft,
    /// Sold but reachable only by direct link, not listed in search or collections.
    Unlisted,
}

impl ProductStatus {
    /// Shopify's name for the status, e.g. `"ACTIVE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Archived => "ARCHIVED",
            ProductStatus::Draft => "DRAFT",
            ProductStatus::Unlisted => "UNLISTED",
        }
    }
}

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Search engine overrides of a product or collection (`SEO` object). `None` means
/// Shopify falls back to the title and description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seo {
    /// The page title for search engines.
    #[serde(default)]
    pub title: Option<String>,
    /// The meta description for search engines.
    #[serde(default)]
    pub description: Option<String>,
}

/// A product option such as `Color` with its values (`ProductOption` object).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOption {
    /// The option's global id; `None` when the query did not select it (options are
    /// often read by name).
    #[serde(default)]
    pub id: Option<Gid<ProductOption>>,
    /// The name, e.g. `"Color"`.
    #[serde(default)]
    pub name: String,
    /// The 1-based position among the product's options; `None` when not selected.
    #[serde(default)]
    pub position: Option<u32>,
    /// The values that variants use, e.g. `["Red", "Blue"]`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A product variant: one purchasable combination of option values, with its price,
/// SKU and inventory settings (`ProductVariant` object).
///
/// Only `id` is required. `price` is an `Option` so that a response that did not select
/// it can never be mistaken for a price of zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVariant {
    /// The variant's global id. Required.
    pub id: Gid<ProductVariant>,
    /// The title, built from the option values (`"Red / Small"`, `"Default Title"`).
    #[serde(default)]
    pub title: String,
    /// The stock keeping unit; `None` when unset or not selected.
    #[serde(default)]
    pub sku: Option<String>,
    /// The barcode (ISBN, UPC, GTIN ...); `None` when unset or not selected.
    #[serde(default)]
    pub barcode: Option<String>,
    /// The price; `None` when not selected (Shopify always has one).
    #[serde(default)]
    pub price: Option<Money>,
    /// The compare-at ("was") price; `None` when unset or not selected.
    #[serde(default)]
    pub compare_at_price: Option<Money>,
    /// Whether the variant sells when out of stock; `None` when not selected.
    #[serde(default)]
    pub inventory_policy: Option<InventoryPolicy>,
    /// Units available across locations; `None` when not tracked or not selected.
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
    /// Whether tax is charged; `None` when not selected.
    #[serde(default)]
    pub taxable: Option<bool>,
    /// The 1-based position among the product's variants; `None` when not selected.
    #[serde(default)]
    pub position: Option<u32>,
    /// The option values that make up this variant, in option order.
    #[serde(default)]
    pub selected_options: Vec<SelectedOption>,
    /// When the variant was created; `None` when not selected.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the variant was last updated; `None` when not selected.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl ProductVariant {
    /// A variant with this id and every other field empty.
    pub fn new(id: Gid<ProductVariant>) -> ProductVariant {
        ProductVariant {
            id,
            title: String::new(),
            sku: None,
            barcode: None,
            price: None,
            compare_at_price: None,
            inventory_policy: None,
            inventory_quantity: None,
            taxable: None,
            position: None,
            selected_options: Vec::new(),
            created_at: None,
            updated_at: None,
        }
    }

    /// The value this variant has for the option named `option` (`"Color"` -> `"Red"`).
    pub fn option_value(&self, option: &str) -> Option<&str> {
        self.selected_options
            .iter()
            .find(|o| o.name == option)
            .map(|o| o.value.as_str())
    }
}

/// What happens when a variant is out of stock (`ProductVariantInventoryPolicy` enum;
/// JSON strings `DENY`, `CONTINUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum InventoryPolicy {
    /// Stop selling when out of stock (Shopify's default).
    Deny,
    /// Keep selling (overselling) when out of stock.
    Continue,
}

impl InventoryPolicy {
    /// Shopify's name for the policy, e.g. `"DENY"`.
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryPolicy::Deny => "DENY",
            InventoryPolicy::Continue => "CONTINUE",
        }
    }
}

impl fmt::Display for InventoryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option value of a variant, e.g. `{"name": "Color", "value": "Red"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SelectedOption {
    /// The option's name.
    pub name: String,
    /// The variant's value for it.
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full_product() -> Product {
        let vid = Gid::parse("gid://shopify/ProductVariant/51488052412722").unwrap();
        Product {
            id: Gid::parse("gid://shopify/Product/10243923018034").unwrap(),
            title: "Graph Tee".into(),
            handle: "graph-tee".into(),
            description_html: "<p>Soft <b>cotton</b></p>".into(),
            vendor: "Hermes".into(),
            product_type: "Shirts".into(),
            status: Some(ProductStatus::Unlisted),
            tags: vec!["summer".into(), "tee".into()],
            seo: Seo {
                title: Some("Tee".into()),
                description: None,
            },
            template_suffix: Some("alternate".into()),
            options: vec![ProductOption {
                id: Some(Gid::parse("gid://shopify/ProductOption/12804839506226").unwrap()),
                name: "Color".into(),
                position: Some(1),
                values: vec!["Blue".into(), "Black".into()],
            }],
            variants: vec![ProductVariant {
                id: vid,
                title: "Blue".into(),
                sku: Some("GRAPH-BLUE".into()),
                barcode: Some("1111111111111".into()),
                price: Some(Money::parse("89.99").unwrap()),
                compare_at_price: Some(Money::parse("100.0").unwrap()),
                inventory_policy: Some(InventoryPolicy::Continue),
                inventory_quantity: Some(-3),
                taxable: Some(false),
                position: Some(1),
                selected_options: vec![SelectedOption {
                    name: "Color".into(),
                    value: "Blue".into(),
                }],
                created_at: Some("2026-06-30T11:18:48Z".parse().unwrap()),
                updated_at: Some("2026-07-01T00:00:00Z".parse().unwrap()),
            }],
            created_at: Some("2026-06-30T11:18:48Z".parse().unwrap()),
            updated_at: Some("2026-07-19T14:54:22Z".parse().unwrap()),
        }
    }

    #[test]
    fn round_trips_through_json() {
        for product in [
            full_product(),
            Product::new(Gid::from_numeric_id(1).unwrap()),
        ] {
            let json = serde_json::to_string(&product).unwrap();
            let back: Product = serde_json::from_str(&json).unwrap();
            assert_eq!(back, product);
            let value = serde_json::to_value(&product).unwrap();
            assert_eq!(serde_json::from_value::<Product>(value).unwrap(), product);
        }
    }

    #[test]
    fn serializes_with_shopify_names_and_plain_lists() {
        let value = serde_json::to_value(full_product()).unwrap();
        assert_eq!(value["id"], "gid://shopify/Product/10243923018034");
        assert_eq!(value["descriptionHtml"], "<p>Soft <b>cotton</b></p>");
        assert_eq!(value["productType"], "Shirts");
        assert_eq!(value["status"], "UNLISTED");
        assert_eq!(value["templateSuffix"], "alternate");
        assert_eq!(value["createdAt"], "2026-06-30T11:18:48Z");
        let variant = &value["variants"][0];
        assert_eq!(variant["price"], "89.99");
        assert_eq!(variant["compareAtPrice"], "100.0");
        assert_eq!(variant["inventoryPolicy"], "CONTINUE");
        assert_eq!(
            variant["selectedOptions"][0],
            json!({"name": "Color", "value": "Blue"})
        );
    }

    #[test]
    fn decodes_a_minimal_node() {
        let p: Product = serde_json::from_value(json!({"id": "gid://shopify/Product/1"})).unwrap();
        assert_eq!(p, Product::new(Gid::from_numeric_id(1).unwrap()));
        let v: ProductVariant =
            serde_json::from_value(json!({"id": "gid://shopify/ProductVariant/2"})).unwrap();
        assert_eq!(v, ProductVariant::new(Gid::from_numeric_id(2).unwrap()));
    }

    #[test]
    fn requires_the_id() {
        let e = serde_json::from_value::<Product>(json!({"title": "x"})).unwrap_err();
        assert!(e.to_string().contains("missing field `id`"), "{e}");
        let e = serde_json::from_value::<Product>(json!({"id": null})).unwrap_err();
        assert!(e.to_string().contains("gid"), "{e}");
        let e = serde_json::from_value::<Product>(json!({"id": "gid://shopify/Collection/1"}))
            .unwrap_err();
        assert!(e.to_string().contains("Collection"), "{e}");
        let e = serde_json::from_value::<ProductVariant>(json!({"price": "1.00"})).unwrap_err();
        assert!(e.to_string().contains("missing field `id`"), "{e}");
    }

    #[test]
    fn decodes_connections_and_edges() {
        let p: Product = serde_json::from_value(json!({
            "id": "gid://shopify/Product/1",
            "variants": {"edges": [{"cursor": "c", "node": {"id": "gid://shopify/ProductVariant/2", "price": "10"}}],
                         "pageInfo": {"hasNextPage": false}},
            "options": [{"name": "Title", "values": ["Default Title"], "optionValues": [{"name": "Default Title"}]}],
            "tags": "a, b",
        }))
        .unwrap();
        assert_eq!(p.variants[0].price, Some(Money::parse("10.00").unwrap()));
        assert_eq!(p.option("Title").unwrap().id, None);
        assert_eq!(p.tags, ["a", "b"]);
        assert!(p.variant(Gid::from_numeric_id(2).unwrap()).is_some());
        assert!(p.variant(Gid::from_numeric_id(3).unwrap()).is_none());
    }

    #[test]
    fn rejects_bad_values_with_the_path() {
        let json = r#"{"id": "gid://shopify/Product/1", "variants": {"nodes": [
            {"id": "gid://shopify/ProductVariant/2", "price": "1.00"},
            {"id": "gid://shopify/ProductVariant/3", "price": 1.5}]}}"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, Product>(de).unwrap_err();
        assert_eq!(err.path().to_string(), "variants.nodes[1].price");
        for (field, bad) in [
            ("status", json!("LIVE")),
            ("status", json!("active")),
            ("createdAt", json!("yesterday")),
            ("tags", json!(7)),
            ("variants", json!({"pageInfo": {}})),
        ] {
            let mut value = json!({"id": "gid://shopify/Product/1"});
            value[field] = bad.clone();
            assert!(
                serde_json::from_value::<Product>(value).is_err(),
                "{field}: {bad}"
            );
        }
        for (field, bad) in [
            ("inventoryPolicy", json!("SOMETIMES")),
            ("price", json!("NaN")),
            ("compareAtPrice", json!("")),
            ("position", json!(-1)),
            ("selectedOptions", json!([{"name": "Color"}])),
        ] {
            let mut value = json!({"id": "gid://shopify/ProductVariant/1"});
            value[field] = bad.clone();
            assert!(
                serde_json::from_value::<ProductVariant>(value).is_err(),
                "{field}: {bad}"
            );
        }
    }

    #[test]
    fn timestamps_are_utc() {
        let v: ProductVariant = serde_json::from_value(json!({
            "id": "gid://shopify/ProductVariant/1",
            "createdAt": "2026-06-30T13:18:48+02:00",
        }))
        .unwrap();
        assert_eq!(
            v.created_at.unwrap().to_rfc3339(),
            "2026-06-30T11:18:48+00:00"
        );
        assert_eq!(
            serde_json::to_value(&v).unwrap()["createdAt"],
            "2026-06-30T11:18:48Z"
        );
    }

    #[test]
    fn enums_use_shopify_strings() {
        for s in [
            ProductStatus::Active,
            ProductStatus::Archived,
            ProductStatus::Draft,
            ProductStatus::Unlisted,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        for p in [InventoryPolicy::Deny, InventoryPolicy::Continue] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(p.to_string(), p.as_str());
        }
    }

    #[test]
    fn variant_option_lookup() {
        let product = full_product();
        assert_eq!(product.variants[0].option_value("Color"), Some("Blue"));
        assert_eq!(product.variants[0].option_value("Size"), None);
    }
}
