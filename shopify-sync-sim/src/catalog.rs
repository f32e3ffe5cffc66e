//! The simulated store's data: products, variants, options and collections, a
//! deterministic seeded generator, and the JSON dump shape (which a catalog can also be
//! loaded from, so users' tests can bring their own data).
//!
//! This module owns plain data and its invariants-free construction. Validation and
//! normalisation of writes live in [`crate::store`]; GraphQL shapes in [`crate::objects`].
use crate::clock::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shopify_sync::staging::normalize_handle;

/// A product option (`Size`, `Color` ...), with its values in display order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOption {
    /// Numeric id (`gid://shopify/ProductOption/{id}`).
    pub id: u64,
    /// Option name.
    pub name: String,
    /// Option values, each with its own numeric id (`ProductOptionValue`).
    pub values: Vec<OptionValue>,
}

/// One value of a product option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionValue {
    /// Numeric id (`gid://shopify/ProductOptionValue/{id}`).
    pub id: u64,
    /// The value's name, e.g. `Red`.
    pub name: String,
}

/// A product variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    /// Numeric id (`gid://shopify/ProductVariant/{id}`).
    pub id: u64,
    /// Exact decimal price.
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Exact decimal compare-at price, if any.
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub compare_at_price: Option<Decimal>,
    /// Stock keeping unit.
    #[serde(default)]
    pub sku: Option<String>,
    /// Barcode (ISBN, UPC, GTIN ...).
    #[serde(default)]
    pub barcode: Option<String>,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: String,
    /// Units available.
    #[serde(default)]
    pub inventory_quantity: i64,
    /// Whether tax is charged.
    #[serde(default = "yes")]
    pub taxable: bool,
    /// One value per product option, in option order.
    pub option_values: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
}

fn yes() -> bool {
    true
}

/// A product and its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Numeric id (`gid://shopify/Product/{id}`).
    pub id: u64,
    /// Title (never blank).
    pub title: String,
    /// Unique handle.
    pub handle: String,
    /// HTML description.
    #[serde(default)]
    pub description_html: String,
    /// Vendor.
    #[serde(default)]
    pub vendor: String,
    /// Product type.
    #[serde(default)]
    pub product_type: String,
    /// `ACTIVE`, `ARCHIVED`, `DRAFT` or `UNLISTED`.
    pub status: String,
    /// Tags, normalised as Shopify stores them (trimmed, unique ignoring case, sorted).
    #[serde(default)]
    pub tags: Vec<String>,
    /// SEO title.
    #[serde(default)]
    pub seo_title: Option<String>,
    /// SEO description.
    #[serde(default)]
    pub seo_description: Option<String>,
    /// Template suffix.
    #[serde(default)]
    pub template_suffix: Option<String>,
    /// Options, in position order (at most 3).
    pub options: Vec<ProductOption>,
    /// Variants, in position order (at least 1, at most 2,048).
    pub variants: Vec<Variant>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time; every write bumps it.
    pub updated_at: Timestamp,
}

/// A smart collection rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// `CollectionRuleColumn`: `TAG`, `TITLE`, `TYPE`, `VENDOR`, `VARIANT_PRICE` ...
    pub column: String,
    /// `CollectionRuleRelation`: `EQUALS`, `CONTAINS`, `GREATER_THAN` ...
    pub relation: String,
    /// The value compared against.
    pub condition: String,
}

/// A smart collection's rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    /// `true`: a product matching any rule is a member; `false`: it must match all.
    pub applied_disjunctively: bool,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// A custom (manual membership) or smart (rule-based) collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    /// Numeric id (`gid://shopify/Collection/{id}`).
    pub id: u64,
    /// Title.
    pub title: String,
    /// Unique handle.
    pub handle: String,
    /// HTML description.
    #[serde(default)]
    pub description_html: String,
    /// `CollectionSortOrder`.
    #[serde(default = "default_sort_order")]
    pub sort_order: String,
    /// Template suffix.
    #[serde(default)]
    pub template_suffix: Option<String>,
    /// Present for smart collections; their membership is computed from it.
    #[serde(default)]
    pub rule_set: Option<RuleSet>,
    /// Manual members in collection order (custom collections only).
    #[serde(default)]
    pub product_ids: Vec<u64>,
    /// Last update time.
    pub updated_at: Timestamp,
}

fn default_sort_order() -> String {
    "MANUAL".to_string()
}

/// A whole catalog: what [`crate::Simulator::dump`] returns and what a simulator can be
/// loaded from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    /// Products, by ascending id.
    pub products: Vec<Product>,
    /// Collections, by ascending id.
    pub collections: Vec<Collection>,
}

/// What the seeded generator makes. The defaults mirror the merchant this project was
/// built for: 1,000 products and 57 collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSpec {
    /// Seed for the deterministic generator.
    pub seed: u64,
    /// Number of products.
    pub products: usize,
    /// Number of collections; about one in four is smart.
    pub collections: usize,
    /// Add a product with 2,048 variants (Shopify's maximum).
    pub max_variants_product: bool,
    /// Add a custom collection holding more than 10,000 members (needs that many products).
    pub huge_collection: bool,
}

impl Default for CatalogSpec {
    fn default() -> Self {
        CatalogSpec {
            seed: 1,
            products: 1_000,
            collections: 57,
            max_variants_product: false,
            huge_collection: false,
        }
    }
}

/// First numeric ids, in the ranges real stores use, so ids look and sort like Shopify's.
pub(crate) const FIRST_PRODUCT_ID: u64 = 8_000_000_000_000;
pub(crate) const FIRST_VARIANT_ID: u64 = 44_000_000_000_000;
pub(crate) const FIRST_OPTION_ID: u64 = 10_000_000_000_000;
pub(crate) const FIRST_OPTION_VALUE_ID: u64 = 3_000_000_000_000;
pub(crate) const FIRST_COLLECTION_ID: u64 = 400_000_000_000;

/// SplitMix64: tiny, fast and stable across platforms and crate versions, so a seed
/// always yields the same catalog.
#[derive(Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Organic",
    "Vintage",
    "Modern",
    "Rustic",
    "Premium",
    "Everyday",
    "Coastal",
    "Alpine",
    "Urban",
    "Handmade",
    "Recycled",
    "Lightweight",
    "Heritage",
    "Essential",
];
const NOUNS: &[&str] = &[
    "T-Shirt",
    "Hoodie",
    "Backpack",
    "Mug",
    "Notebook",
    "Candle",
    "Scarf",
    "Sneakers",
    "Water Bottle",
    "Beanie",
    "Tote Bag",
    "Jacket",
    "Socks",
    "Cap",
    "Blanket",
    "Lamp",
];
const VENDORS: &[&str] = &[
    "Acme Goods",
    "Northwind",
    "Blue Harbor",
    "Cedar & Co",
    "Fjord Supply",
    "Lumen Works",
    "Maple Street",
    "Oak Valley",
    "Pine Ridge",
    "Quarry Lane",
    "Riverbend",
    "Summit Gear",
];
const TYPES: &[&str] = &[
    "Apparel",
    "Accessories",
    "Home",
    "Footwear",
    "Stationery",
    "Outdoor",
    "Kitchen",
];
const TAGS: &[&str] = &[
    "sale",
    "new",
    "bestseller",
    "eco",
    "gift",
    "limited",
    "summer",
    "winter",
    "clearance",
    "bundle",
    "featured",
    "staff-pick",
];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const COLORS: &[&str] = &["Black", "White", "Red", "Blue", "Green", "Grey"];
const MATERIALS: &[&str] = &["Cotton", "Wool", "Linen"];

impl Catalog {
    /// Generate a catalog from a spec. The same spec always yields the same catalog.
    ///
    /// ```
    /// use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
    /// let spec = CatalogSpec { products: 20, collections: 4, ..CatalogSpec::default() };
    /// let a = Catalog::generate(&spec);
    /// assert_eq!(a.products.len(), 20);
    /// assert_eq!(a, Catalog::generate(&spec));
    /// ```
    pub fn generate(spec: &CatalogSpec) -> Catalog {
        let mut rng = Rng(spec.seed);
        let base = Timestamp::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        let mut ids = Ids::default();
        let mut products = Vec::with_capacity(spec.products + 1);
        for i in 0..spec.products {
            let title = format!("{} {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS), i + 1);
            let created = base.plus_secs((i as i64) * 37);
            let updated = created.plus_secs(rng.below(86_400 * 30) as i64);
            let shape = match rng.below(6) {
                0 => vec![],
                1 | 2 => vec![("Size", pick_values(&mut rng, SIZES, 2))],
                3 | 4 => vec![
                    ("Size", pick_values(&mut rng, SIZES, 2)),
                    ("Color", pick_values(&mut rng, COLORS, 2)),
                ],
                _ => vec![
                    ("Size", pick_values(&mut rng, SIZES, 2)),
                    ("Color", pick_values(&mut rng, COLORS, 2)),
                    ("Material", pick_values(&mut rng, MATERIALS, 1)),
                ],
            };
            let cents = 500 + rng.below(20_000) as i64;
            let mut tags: Vec<String> = (0..rng.below(4))
                .map(|_| rng.pick(TAGS).to_string())
                .collect();
            tags.sort();
            tags.dedup();
            let status = match rng.below(10) {
                0 => "DRAFT",
                1 => "ARCHIVED",
                _ => "ACTIVE",
            };
            let mut product = Product {
                id: ids.product(),
                handle: normalize_handle(&title),
                title,
                description_html: format!("<p>Seeded product number {}.</p>", i + 1),
                vendor: rng.pick(VENDORS).to_string(),
                product_type: rng.pick(TYPES).to_string(),
                status: status.to_string(),
                tags,
                seo_title: None,
                seo_description: None,
                template_suffix: None,
                options: vec![],
                variants: vec![],
                created_at: created,
                updated_at: updated,
            };
            build_variants(&mut product, &shape, &mut ids, &mut rng, cents);
            products.push(product);
        }
        if spec.max_variants_product {
            let title = "Every Combination Sampler".to_string();
            let mut product = Product {
                id: ids.product(),
                handle: normalize_handle(&title),
                title,
                description_html: String::new(),
                vendor: VENDORS[0].to_string(),
                product_type: TYPES[0].to_string(),
                status: "ACTIVE".into(),
                tags: vec!["edge-case".into()],
                seo_title: None,
                seo_description: None,
                template_suffix: None,
                options: vec![],
                variants: vec![],
                created_at: base,
                updated_at: base,
            };
            let a: Vec<String> = (1..=32).map(|n| format!("A{n}")).collect();
            let b: Vec<String> = (1..=8).map(|n| format!("B{n}")).collect();
            let c: Vec<String> = (1..=8).map(|n| format!("C{n}")).collect();
            let shape = vec![("Alpha", a), ("Beta", b), ("Gamma", c)];
            build_variants(&mut product, &shape, &mut ids, &mut rng, 1_000);
            products.push(product);
        }

        let mut collections = Vec::with_capacity(spec.collections + 1);
        for i in 0..spec.collections {
            let id = FIRST_COLLECTION_ID + i as u64;
            let updated = base.plus_secs((i as i64) * 600);
            let (title, rule_set, product_ids) = if i % 4 == 3 {
                let rule = match (i / 4) % 4 {
                    0 => Rule {
                        column: "TAG".into(),
                        relation: "EQUALS".into(),
                        condition: rng.pick(TAGS).into(),
                    },
                    1 => Rule {
                        column: "VENDOR".into(),
                        relation: "EQUALS".into(),
                        condition: rng.pick(VENDORS).into(),
                    },
                    2 => Rule {
                        column: "TYPE".into(),
                        relation: "EQUALS".into(),
                        condition: rng.pick(TYPES).into(),
                    },
                    _ => Rule {
                        column: "VARIANT_PRICE".into(),
                        relation: "GREATER_THAN".into(),
                        condition: format!("{}", 50 + rng.below(100)),
                    },
                };
                let title = format!(
                    "Smart {} {} {}",
                    rule.column.to_lowercase(),
                    rule.condition,
                    i + 1
                );
                let rs = RuleSet {
                    applied_disjunctively: false,
                    rules: vec![rule],
                };
                (title, Some(rs), vec![])
            } else {
                let title = format!("{} Picks {}", rng.pick(ADJECTIVES), i + 1);
                let n = if products.is_empty() {
                    0
                } else {
                    5 + rng.below(40)
                };
                let mut members: Vec<u64> = (0..n)
                    .map(|_| products[rng.below(products.len())].id)
                    .collect();
                let mut seen = std::collections::HashSet::new();
                members.retain(|m| seen.insert(*m));
                (title, None, members)
            };
            collections.push(Collection {
                id,
                handle: normalize_handle(&title),
                title,
                description_html: String::new(),
                sort_order: if rule_set.is_some() {
                    "BEST_SELLING"
                } else {
                    "MANUAL"
                }
                .into(),
                template_suffix: None,
                rule_set,
                product_ids,
                updated_at: updated,
            });
        }
        if spec.huge_collection {
            let id = FIRST_COLLECTION_ID + spec.collections as u64;
            collections.push(Collection {
                id,
                title: "Everything".into(),
                handle: "everything".into(),
                description_html: String::new(),
                sort_order: "MANUAL".into(),
                template_suffix: None,
                rule_set: None,
                product_ids: products.iter().map(|p| p.id).collect(),
                updated_at: base,
            });
        }
        Catalog {
            products,
            collections,
        }
    }
}

fn pick_values(rng: &mut Rng, from: &[&str], max_extra: usize) -> Vec<String> {
    let n = 1 + rng.below(max_extra + 1);
    let start = rng.below(from.len());
    (0..n.min(from.len()))
        .map(|k| from[(start + k) % from.len()].to_string())
        .collect()
}

/// Numeric id allocator for generated records.
#[derive(Default)]
struct Ids {
    product: u64,
    variant: u64,
    option: u64,
    value: u64,
}

impl Ids {
    fn product(&mut self) -> u64 {
        self.product += 1;
        FIRST_PRODUCT_ID + self.product
    }
    fn variant(&mut self) -> u64 {
        self.variant += 1;
        FIRST_VARIANT_ID + self.variant
    }
    fn option(&mut self) -> u64 {
        self.option += 1;
        FIRST_OPTION_ID + self.option
    }
    fn value(&mut self) -> u64 {
        self.value += 1;
        FIRST_OPTION_VALUE_ID + self.value
    }
}

/// Give `product` the options in `shape` and one variant per combination of values
/// (a product without options gets Shopify's single `Title: Default Title` variant).
fn build_variants(
    product: &mut Product,
    shape: &[(&str, Vec<String>)],
    ids: &mut Ids,
    rng: &mut Rng,
    base_cents: i64,
) {
    let shape: Vec<(&str, Vec<String>)> = if shape.is_empty() {
        vec![("Title", vec!["Default Title".to_string()])]
    } else {
        shape.to_vec()
    };
    product.options = shape
        .iter()
        .map(|(name, values)| ProductOption {
            id: ids.option(),
            name: name.to_string(),
            values: values
                .iter()
                .map(|v| OptionValue {
                    id: ids.value(),
                    name: v.clone(),
                })
                .collect(),
        })
        .collect();
    let mut combos: Vec<Vec<String>> = vec![vec![]];
    for (_, values) in &shape {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(v.clone());
                    c
                })
            })
            .collect();
    }
    let handle = product.handle.to_uppercase();
    product.variants = combos
        .into_iter()
        .enumerate()
        .map(|(k, option_values)| {
            let cents = base_cents + (k as i64 % 3) * 200;
            let on_sale = rng.below(5) == 0;
            Variant {
                id: ids.variant(),
                price: Decimal::new(cents, 2),
                compare_at_price: on_sale.then(|| Decimal::new(cents + 1_000, 2)),
                sku: Some(format!("{}-{}", &handle[..handle.len().min(12)], k + 1)),
                barcode: None,
                inventory_policy: "DENY".into(),
                inventory_quantity: rng.below(100) as i64,
                taxable: true,
                option_values,
                created_at: product.created_at,
                updated_at: product.updated_at,
            }
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_has_the_merchants_shape() {
        let c = Catalog::generate(&CatalogSpec::default());
        assert_eq!(c.products.len(), 1_000);
        assert_eq!(c.collections.len(), 57);
        assert!(c.collections.iter().any(|c| c.rule_set.is_some()));
        assert!(c
            .collections
            .iter()
            .any(|c| c.rule_set.is_none() && !c.product_ids.is_empty()));
        let handles: std::collections::HashSet<_> = c.products.iter().map(|p| &p.handle).collect();
        assert_eq!(handles.len(), 1_000, "handles are unique");
        for p in &c.products {
            assert!(!p.variants.is_empty() && p.options.len() <= 3);
        }
    }

    #[test]
    fn seeds_differ_and_edge_cases_are_optional() {
        let small = CatalogSpec {
            products: 30,
            collections: 5,
            ..CatalogSpec::default()
        };
        let other = CatalogSpec {
            seed: 2,
            ..small.clone()
        };
        assert_ne!(Catalog::generate(&small), Catalog::generate(&other));
        let edge = CatalogSpec {
            max_variants_product: true,
            ..small
        };
        let c = Catalog::generate(&edge);
        assert_eq!(c.products.last().unwrap().variants.len(), 2_048);
    }

    #[test]
    fn dump_round_trips_through_json() {
        let c = Catalog::generate(&CatalogSpec {
            products: 5,
            collections: 4,
            ..CatalogSpec::default()
        });
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"price\":\""), "prices are decimal strings");
        let back: Catalog = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}
