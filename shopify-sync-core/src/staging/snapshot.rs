//! Canonical snapshots of the syncable entities and the normalisations that make a
//! value that round-trips through Shopify compare equal.

use crate::model::{
    de, Collection, CollectionRule, CollectionSortOrder, Gid, InventoryPolicy, Money, Product,
    ProductStatus, ProductVariant, SelectedOption, Seo,
};
use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::mask::FieldMask;

/// A snapshot of either kind, as the JSON of the shared vectors and plan files carries
/// it: an object with `"kind": "product"` or `"kind": "collection"` beside the fields.
///
/// ```
/// use shopify_sync::staging::Snapshot;
///
/// let s: Snapshot = serde_json::from_str(r#"{"kind": "product", "title": "Tee", "tags": "b, a"}"#)
///     .unwrap();
/// let Snapshot::Product(p) = &s else { unreachable!() };
/// assert_eq!(p.title, "Tee");
/// assert_eq!(serde_json::to_value(&s).unwrap()["kind"], "product");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Snapshot {
    /// A product.
    Product(ProductSnapshot),
    /// A collection.
    Collection(CollectionSnapshot),
}

impl Snapshot {
    /// The fingerprint under `mask` (see [`Fingerprint`]).
    pub fn fingerprint(&self, mask: FieldMask) -> Fingerprint {
        match self {
            Snapshot::Product(p) => p.fingerprint(mask),
            Snapshot::Collection(c) => c.fingerprint(mask),
        }
    }

    /// The same snapshot with its fields normalised (see [`ProductSnapshot::normalize`]).
    #[must_use]
    pub fn normalized(mut self) -> Snapshot {
        match &mut self {
            Snapshot::Product(p) => p.normalize(),
            Snapshot::Collection(c) => c.normalize(),
        }
        self
    }
}

/// The synced content of a product: what the fingerprint and the diff look at.
///
/// No Shopify ids of its own (a product that is not on Shopify yet has a snapshot too),
/// no timestamps, no inventory quantities. Variants may carry their id so that a diff
/// can match them, but the id is identity, not content: it never enters the fingerprint.
///
/// JSON (snake_case, every key optional when reading, unknown keys refused):
///
/// ```json
/// {"title": "Graph Tee", "handle": "graph-tee", "description_html": "<p>Soft</p>",
///  "vendor": "Hermes", "product_type": "Shirts", "status": "active",
///  "tags": ["summer", "tee"], "seo": {"title": null, "description": null},
///  "options": [{"name": "Color", "values": ["Blue", "Black"]}],
///  "variants": [{"id": null, "price": "89.99", "compare_at_price": null, "sku": "GRAPH-BLUE",
///                "barcode": null, "inventory_policy": "deny",
///                "option_values": [{"name": "Color", "value": "Blue"}]}],
///  "collections": ["gid://shopify/Collection/514084372786"]}
/// ```
///
/// `tags` may also be read from a comma-separated string; `status` and
/// `inventory_policy` also from Shopify's spelling (`"ACTIVE"`). Prices are decimal
/// strings, never JSON numbers.
///
/// ```
/// use shopify_sync::model::Product;
/// use shopify_sync::staging::{FieldMask, ProductSnapshot};
///
/// let product: Product = serde_json::from_str(r#"{
///   "id": "gid://shopify/Product/1", "title": "Tee", "handle": "  Mixed CASE / Tee ",
///   "tags": [" Red ", "red", "big   sale"],
///   "variants": [{"id": "gid://shopify/ProductVariant/2", "price": "10", "sku": ""}]
/// }"#).unwrap();
/// let snap = ProductSnapshot::from_product(&product);
/// assert_eq!(snap.handle, "mixed-case-tee");
/// assert_eq!(snap.tags, ["big   sale", "Red"]);
/// assert_eq!(snap.variants[0].sku, None);
///
/// // Shopify echoes "10" as "10.00": same fingerprint.
/// let mut echoed = snap.clone();
/// echoed.variants[0].price = Some("10.00".parse()?);
/// assert_eq!(snap.fingerprint(FieldMask::ALL), echoed.fingerprint(FieldMask::ALL));
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSnapshot {
    /// The title, exactly.
    #[serde(default)]
    pub title: String,
    /// The URL handle; normalised by [`normalize_handle`].
    #[serde(default)]
    pub handle: String,
    /// The description HTML, exactly.
    #[serde(default)]
    pub description_html: String,
    /// The vendor, exactly.
    #[serde(default)]
    pub vendor: String,
    /// The product type, exactly.
    #[serde(default)]
    pub product_type: String,
    /// The status; `None` when unknown. JSON: `"active"`, `"archived"`, `"draft"`,
    /// `"unlisted"` or `null`.
    #[serde(default, with = "snake_enum")]
    pub status: Option<ProductStatus>,
    /// The tags; normalised by [`normalize_tags`].
    #[serde(default, deserialize_with = "de::tags")]
    pub tags: Vec<String>,
    /// SEO title and description; an empty string is the same as `None` (Shopify falls
    /// back to the title and description).
    #[serde(default)]
    pub seo: Seo,
    /// The options, in position order; the order and the order of each option's values
    /// are content (they decide the variant titles Shopify shows).
    #[serde(default)]
    pub options: Vec<OptionSnapshot>,
    /// The variants. Their order is not content: Shopify's variant positions are not
    /// synced by v1 snapshots.
    #[serde(default)]
    pub variants: Vec<VariantSnapshot>,
    /// The custom collections the product belongs to, as a set (order and repeats do not
    /// matter; [`normalize`](ProductSnapshot::normalize) sorts and deduplicates). Leave
    /// smart collections out: Shopify decides their membership from their rules.
    #[serde(default)]
    pub collections: Vec<Gid<Collection>>,
}

impl ProductSnapshot {
    /// The snapshot of a product as the model holds it (read from Shopify or built
    /// locally), normalised. Collection membership is not part of [`Product`]: add it with
    /// [`with_collections`](ProductSnapshot::with_collections).
    pub fn from_product(product: &Product) -> ProductSnapshot {
        ProductSnapshot {
            title: product.title.clone(),
            handle: product.handle.clone(),
            description_html: product.description_html.clone(),
            vendor: product.vendor.clone(),
            product_type: product.product_type.clone(),
            status: product.status,
            tags: product.tags.clone(),
            seo: product.seo.clone(),
            options: product
                .options
                .iter()
                .map(|o| OptionSnapshot {
                    name: o.name.clone(),
                    values: o.values.clone(),
                })
                .collect(),
            variants: product
                .variants
                .iter()
                .map(VariantSnapshot::from_variant)
                .collect(),
            collections: Vec::new(),
        }
        .normalized()
    }

    /// The same snapshot with this collection membership (sorted, deduplicated).
    #[must_use]
    pub fn with_collections(
        mut self,
        collections: impl IntoIterator<Item = Gid<Collection>>,
    ) -> ProductSnapshot {
        self.collections = collections.into_iter().collect();
        self.collections.sort_unstable();
        self.collections.dedup();
        self
    }

    /// Normalise in place, as Shopify would store the values: the handle
    /// ([`normalize_handle`]), the tags ([`normalize_tags`]), empty SEO strings, SKUs and
    /// barcodes to `None`, collections sorted and deduplicated, and Shopify's stand-in
    /// option of a product without options (`Title` with the one value `Default Title`,
    /// on its one variant) to no options, the way such a product is written. Prices keep
    /// their digits (they compare by value). Idempotent.
    ///
    /// ```
    /// use shopify_sync::staging::ProductSnapshot;
    /// let read: ProductSnapshot = serde_json::from_value(serde_json::json!({
    ///     "options": [{"name": "Title", "values": ["Default Title"]}],
    ///     "variants": [{"price": "5", "option_values": [{"name": "Title", "value": "Default Title"}]}]
    /// })).unwrap();
    /// let written: ProductSnapshot = serde_json::from_value(serde_json::json!({
    ///     "variants": [{"price": "5"}]
    /// })).unwrap();
    /// assert_eq!(read.normalized(), written);
    /// ```
    pub fn normalize(&mut self) {
        self.handle = normalize_handle(&self.handle);
        self.tags = normalize_tags(&self.tags);
        normalize_seo(&mut self.seo);
        for v in &mut self.variants {
            v.normalize();
        }
        self.collections.sort_unstable();
        self.collections.dedup();
        if self.has_default_option() {
            self.options.clear();
            for v in &mut self.variants {
                v.option_values.clear();
            }
        }
    }

    /// Whether the only option is Shopify's stand-in for none (`Title: Default Title`)
    /// and the product has at most its one variant.
    fn has_default_option(&self) -> bool {
        let default = |name: &str, value: &str| name == "Title" && value == "Default Title";
        matches!(self.options.as_slice(), [o] if o.values.len() == 1 && default(&o.name, &o.values[0]))
            && self.variants.len() <= 1
            && self
                .variants
                .iter()
                .all(|v| match v.option_values.as_slice() {
                    [] => true,
                    [sel] => default(&sel.name, &sel.value),
                    _ => false,
                })
    }

    /// The options and option values to write for this snapshot: Shopify's stand-in
    /// option for a product without options (Shopify requires one on every variant).
    pub(crate) fn written_options(&self) -> (Vec<OptionSnapshot>, Vec<Vec<SelectedOption>>) {
        if self.options.is_empty() && self.variants.len() <= 1 {
            let option = OptionSnapshot {
                name: "Title".into(),
                values: vec!["Default Title".into()],
            };
            let selected = SelectedOption {
                name: "Title".into(),
                value: "Default Title".into(),
            };
            return (vec![option], vec![vec![selected]; self.variants.len()]);
        }
        let values = self
            .variants
            .iter()
            .map(|v| v.option_values.clone())
            .collect();
        (self.options.clone(), values)
    }

    /// The normalised snapshot (see [`normalize`](ProductSnapshot::normalize)).
    #[must_use]
    pub fn normalized(mut self) -> ProductSnapshot {
        self.normalize();
        self
    }

    /// The fingerprint under `mask` (see [`Fingerprint`]). The snapshot need not be
    /// normalised first: the fingerprint normalises as it encodes.
    pub fn fingerprint(&self, mask: FieldMask) -> Fingerprint {
        Fingerprint::of_product(self, mask)
    }
}

impl From<&Product> for ProductSnapshot {
    fn from(product: &Product) -> ProductSnapshot {
        ProductSnapshot::from_product(product)
    }
}

/// A product option: its name and values, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSnapshot {
    /// The name, e.g. `"Color"`.
    #[serde(default)]
    pub name: String,
    /// The values, e.g. `["Red", "Blue"]`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// The synced content of one variant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSnapshot {
    /// The variant's id when it is on Shopify: identity for matching, never part of the
    /// fingerprint.
    #[serde(default)]
    pub id: Option<Gid<ProductVariant>>,
    /// The price, compared by value (`"10"` = `"10.00"`); `None` when unknown.
    #[serde(default)]
    pub price: Option<Money>,
    /// The compare-at price, compared by value; `None` when unset.
    #[serde(default)]
    pub compare_at_price: Option<Money>,
    /// The SKU; `None` when unset (an empty string normalises to `None`).
    #[serde(default)]
    pub sku: Option<String>,
    /// The barcode; `None` when unset (an empty string normalises to `None`).
    #[serde(default)]
    pub barcode: Option<String>,
    /// What happens when out of stock; JSON `"deny"`, `"continue"` or `null`.
    #[serde(default, with = "snake_enum")]
    pub inventory_policy: Option<InventoryPolicy>,
    /// The option values that identify the variant (`[{"name": "Color", "value":
    /// "Red"}]`); their order is not content.
    #[serde(default)]
    pub option_values: Vec<SelectedOption>,
}

impl VariantSnapshot {
    /// The snapshot of a model variant, normalised.
    pub fn from_variant(variant: &ProductVariant) -> VariantSnapshot {
        let mut v = VariantSnapshot {
            id: Some(variant.id),
            price: variant.price,
            compare_at_price: variant.compare_at_price,
            sku: variant.sku.clone(),
            barcode: variant.barcode.clone(),
            inventory_policy: variant.inventory_policy,
            option_values: variant.selected_options.clone(),
        };
        v.normalize();
        v
    }

    /// Normalise in place: empty SKU and barcode become `None`.
    pub fn normalize(&mut self) {
        empty_to_none(&mut self.sku);
        empty_to_none(&mut self.barcode);
    }
}

/// The synced content of a collection.
///
/// JSON (snake_case, keys optional when reading, unknown keys refused):
///
/// ```json
/// {"title": "Under ten", "handle": "under-ten", "description_html": "<p>Cheap</p>",
///  "seo": {"title": null, "description": null}, "sort_order": "price_asc",
///  "rules": {"applied_disjunctively": false,
///            "rules": [{"column": "VARIANT_PRICE", "relation": "LESS_THAN", "condition": "10"}]}}
/// ```
///
/// `rules` is `null` for a custom collection. Rule columns and relations keep Shopify's
/// enum strings, as the model does.
///
/// ```
/// use shopify_sync::model::Collection;
/// use shopify_sync::staging::CollectionSnapshot;
///
/// let c: Collection = serde_json::from_str(r#"{"id": "gid://shopify/Collection/1",
///     "title": "Under ten", "sortOrder": "PRICE_ASC",
///     "ruleSet": {"appliedDisjunctively": false,
///                 "rules": [{"column": "VARIANT_PRICE", "relation": "LESS_THAN", "condition": "10"}]}}"#)
///     .unwrap();
/// let snap = CollectionSnapshot::from_collection(&c);
/// let json = serde_json::to_value(&snap).unwrap();
/// assert_eq!(json["sort_order"], "price_asc");
/// assert_eq!(json["rules"]["applied_disjunctively"], false);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionSnapshot {
    /// The title, exactly.
    #[serde(default)]
    pub title: String,
    /// The URL handle; normalised by [`normalize_handle`].
    #[serde(default)]
    pub handle: String,
    /// The description HTML, exactly.
    #[serde(default)]
    pub description_html: String,
    /// SEO title and description (empty strings are `None`).
    #[serde(default)]
    pub seo: Seo,
    /// The product order; JSON snake_case (`"best_selling"`) or `null` when unknown.
    #[serde(default, with = "snake_enum")]
    pub sort_order: Option<CollectionSortOrder>,
    /// The rules of a smart collection; `None` for a custom collection.
    #[serde(default)]
    pub rules: Option<RuleSetSnapshot>,
}

impl CollectionSnapshot {
    /// The snapshot of a model collection, normalised.
    pub fn from_collection(collection: &Collection) -> CollectionSnapshot {
        CollectionSnapshot {
            title: collection.title.clone(),
            handle: collection.handle.clone(),
            description_html: collection.description_html.clone(),
            seo: collection.seo.clone(),
            sort_order: collection.sort_order,
            rules: collection.rule_set.as_ref().map(|r| RuleSetSnapshot {
                applied_disjunctively: r.applied_disjunctively,
                rules: r.rules.clone(),
            }),
        }
        .normalized()
    }

    /// Normalise in place: the handle ([`normalize_handle`]) and empty SEO strings.
    /// Rules keep their order here (the fingerprint treats them as a set). Idempotent.
    pub fn normalize(&mut self) {
        self.handle = normalize_handle(&self.handle);
        normalize_seo(&mut self.seo);
    }

    /// The normalised snapshot.
    #[must_use]
    pub fn normalized(mut self) -> CollectionSnapshot {
        self.normalize();
        self
    }

    /// The fingerprint under `mask` (see [`Fingerprint`]).
    pub fn fingerprint(&self, mask: FieldMask) -> Fingerprint {
        Fingerprint::of_collection(self, mask)
    }
}

impl From<&Collection> for CollectionSnapshot {
    fn from(collection: &Collection) -> CollectionSnapshot {
        CollectionSnapshot::from_collection(collection)
    }
}

/// The rules of a smart collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetSnapshot {
    /// `true`: a product matching any rule belongs; `false`: it must match all.
    #[serde(default)]
    pub applied_disjunctively: bool,
    /// The rules; a set (their order is not content).
    #[serde(default)]
    pub rules: Vec<CollectionRule>,
}

/// Normalise tags as Shopify stores them (captured in `tags-normalization-parity.json`
/// and `product-update-tag-normalization.json`):
///
/// 1. every tag is split at commas (`"blue,green"` is two tags);
/// 2. each piece is trimmed of whitespace (Unicode `White_Space`, as [`str::trim`]);
///    inner whitespace is kept (`"big   sale"`);
/// 3. empty pieces are dropped;
/// 4. repeats that differ only in case are dropped, keeping the first spelling
///    (`["Red", "red", "RED"]` keeps `"Red"`); case is compared by the Unicode default
///    lowercase mapping ([`str::to_lowercase`]);
/// 5. the result is sorted by that lowercase form, by Unicode code point.
///
/// ```
/// use shopify_sync::staging::normalize_tags;
/// assert_eq!(normalize_tags([" Red ", "red", "RED", " big   sale "]), ["big   sale", "Red"]);
/// assert_eq!(normalize_tags(["blue,green", "Red"]), ["blue", "green", "Red"]);
/// assert!(normalize_tags([" ", ","]).is_empty());
/// ```
pub fn normalize_tags<I>(tags: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut keyed: Vec<(String, String)> = Vec::new();
    for tag in tags {
        for piece in tag.as_ref().split(',') {
            let piece = piece.trim();
            if !piece.is_empty() {
                keyed.push((fold_case(piece), piece.to_owned()));
            }
        }
    }
    // A stable sort keeps the first spelling first among tags of one lowercase form.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|later, first| later.0 == first.0);
    keyed.into_iter().map(|(_, tag)| tag).collect()
}

/// The case-insensitive comparison key of tags: Unicode default lowercase.
pub(crate) fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Normalise a handle as Shopify does when it stores one (captured in
/// `product-handle-dedup-parity.json`, `product-update-parity.json`,
/// `product-set-parity.json`: `"  Mixed CASE / 東京 100 % "` is stored as
/// `"mixed-case-東京-100"`):
///
/// 1. lowercase (Unicode default lowercase mapping, [`str::to_lowercase`]);
/// 2. every maximal run of characters that are not alphanumeric (Unicode `Alphabetic`
///    or `Numeric`, [`char::is_alphanumeric`]) becomes one `-`; hyphens count as such
///    characters, so runs of them collapse too;
/// 3. leading and trailing `-` are dropped.
///
/// A handle with no alphanumeric character normalises to `""`: Shopify then derives one
/// from the title (and makes it unique), which no normalisation can predict.
///
/// Captures confirm this for ASCII letters, digits, punctuation, whitespace and CJK;
/// other scripts' punctuation follows the same rule by assumption.
///
/// ```
/// use shopify_sync::staging::normalize_handle;
/// assert_eq!(normalize_handle("  Mixed CASE / 東京 100 % "), "mixed-case-東京-100");
/// assert_eq!(normalize_handle("  PRODUCT-HANDLE--2026  "), "product-handle-2026");
/// assert_eq!(normalize_handle("graph-tee"), "graph-tee");
/// assert_eq!(normalize_handle("%%%"), "");
/// ```
pub fn normalize_handle(handle: &str) -> String {
    let lower = fold_case(handle);
    let mut out = String::with_capacity(lower.len());
    let mut gap = false;
    for c in lower.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

fn normalize_seo(seo: &mut Seo) {
    empty_to_none(&mut seo.title);
    empty_to_none(&mut seo.description);
}

fn empty_to_none(value: &mut Option<String>) {
    if value.as_deref() == Some("") {
        *value = None;
    }
}

/// snake_case names of the model's Shopify enums, for snapshots and fingerprints.
pub(crate) trait SnakeName: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn snake(self) -> &'static str;
    fn shopify(self) -> &'static str;
}

impl SnakeName for ProductStatus {
    const ALL: &'static [Self] = &[
        ProductStatus::Active,
        ProductStatus::Archived,
        ProductStatus::Draft,
        ProductStatus::Unlisted,
    ];
    fn snake(self) -> &'static str {
        match self {
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
            ProductStatus::Draft => "draft",
            ProductStatus::Unlisted => "unlisted",
        }
    }
    fn shopify(self) -> &'static str {
        self.as_str()
    }
}

impl SnakeName for InventoryPolicy {
    const ALL: &'static [Self] = &[InventoryPolicy::Deny, InventoryPolicy::Continue];
    fn snake(self) -> &'static str {
        match self {
            InventoryPolicy::Deny => "deny",
            InventoryPolicy::Continue => "continue",
        }
    }
    fn shopify(self) -> &'static str {
        self.as_str()
    }
}

impl SnakeName for CollectionSortOrder {
    const ALL: &'static [Self] = &[
        CollectionSortOrder::AlphaAsc,
        CollectionSortOrder::AlphaDesc,
        CollectionSortOrder::BestSelling,
        CollectionSortOrder::MostRelevant,
        CollectionSortOrder::Created,
        CollectionSortOrder::CreatedDesc,
        CollectionSortOrder::Manual,
        CollectionSortOrder::PriceAsc,
        CollectionSortOrder::PriceDesc,
    ];
    fn snake(self) -> &'static str {
        match self {
            CollectionSortOrder::AlphaAsc => "alpha_asc",
            CollectionSortOrder::AlphaDesc => "alpha_desc",
            CollectionSortOrder::BestSelling => "best_selling",
            CollectionSortOrder::MostRelevant => "most_relevant",
            CollectionSortOrder::Created => "created",
            CollectionSortOrder::CreatedDesc => "created_desc",
            CollectionSortOrder::Manual => "manual",
            CollectionSortOrder::PriceAsc => "price_asc",
            CollectionSortOrder::PriceDesc => "price_desc",
        }
    }
    fn shopify(self) -> &'static str {
        self.as_str()
    }
}

/// `Option<enum>` as a snake_case string or `null`; reading also accepts Shopify's
/// SCREAMING_SNAKE_CASE spelling.
mod snake_enum {
    use super::SnakeName;
    use serde::de::{self, Deserialize, Deserializer};
    use serde::Serializer;

    pub(crate) fn serialize<T: SnakeName, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_str(v.snake()),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, T: SnakeName, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        let Some(name) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
            return Ok(None);
        };
        T::ALL
            .iter()
            .copied()
            .find(|v| v.snake() == name || v.shopify() == name)
            .map(Some)
            .ok_or_else(|| {
                let shown: String = name.chars().take(40).collect();
                let expected: Vec<&str> = T::ALL.iter().map(|v| v.snake()).collect();
                de::Error::custom(format!(
                    "unknown value {shown:?}: expected one of {} or null",
                    expected.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_follow_the_captures() {
        // product-update-tag-normalization.json, mixedCaseWhitespace.
        assert_eq!(
            normalize_tags([" Red ", "red", "RED", " big   sale "]),
            ["big   sale", "Red"]
        );
        // tags-normalization-parity.json: commaListElementAdd onto ["Red"].
        assert_eq!(
            normalize_tags(["Red", "blue,green"]),
            ["blue", "green", "Red"]
        );
        // caseVariantAdd: adding "red" to ["Red"] keeps "Red".
        assert_eq!(normalize_tags(["Red", "red"]), ["Red"]);
        assert_eq!(normalize_tags(["red", "Red"]), ["red"]);
        assert_eq!(normalize_tags(Vec::<String>::new()), Vec::<String>::new());
        assert_eq!(
            normalize_tags(["\u{a0}x\u{3000}", "ÉTÉ", "été"]),
            ["x", "ÉTÉ"]
        );
        let once = normalize_tags(["b", "A", "a", " c,,d "]);
        assert_eq!(once, ["A", "b", "c", "d"]);
        assert_eq!(normalize_tags(&once), once);
    }

    #[test]
    fn handles_follow_the_captures() {
        for (given, stored) in [
            ("  Mixed CASE / 東京 100 % ", "mixed-case-東京-100"),
            ("  Updated / 大阪 200 % ", "updated-大阪-200"),
            ("  Set / 東京 300 % ", "set-東京-300"),
            ("  Mixed CASE/ Weird 200 % ", "mixed-case-weird-200"),
            ("  Another Weird/Handle 300 % ", "another-weird-handle-300"),
            (
                "  PRODUCT-HANDLE-LIFECYCLE-20260719114534  ",
                "product-handle-lifecycle-20260719114534",
            ),
            ("東京", "東京"),
            ("admin", "admin"),
            ("%%%", ""),
            ("   ", ""),
            ("", ""),
        ] {
            assert_eq!(normalize_handle(given), stored, "{given:?}");
            assert_eq!(normalize_handle(stored), stored);
        }
    }

    #[test]
    fn snapshots_from_the_model_are_normalised() {
        let product: Product = serde_json::from_value(json!({
            "id": "gid://shopify/Product/1",
            "title": " Tee ",
            "handle": "Tee Shirt",
            "status": "DRAFT",
            "tags": "b, a, A",
            "seo": {"title": "", "description": "d"},
            "options": [{"name": "Color", "values": ["Red"]}],
            "variants": [{"id": "gid://shopify/ProductVariant/2", "price": "10.0",
                          "sku": "", "barcode": "123", "inventoryPolicy": "CONTINUE",
                          "selectedOptions": [{"name": "Color", "value": "Red"}]}]
        }))
        .unwrap();
        let snap = ProductSnapshot::from_product(&product).with_collections([
            Gid::from_numeric_id(9).unwrap(),
            Gid::from_numeric_id(3).unwrap(),
            Gid::from_numeric_id(9).unwrap(),
        ]);
        assert_eq!(snap.title, " Tee ");
        assert_eq!(snap.handle, "tee-shirt");
        assert_eq!(snap.tags, ["a", "b"]);
        assert_eq!(snap.seo.title, None);
        assert_eq!(snap.seo.description.as_deref(), Some("d"));
        assert_eq!(snap.variants[0].sku, None);
        assert_eq!(snap.variants[0].price.unwrap().to_string(), "10.0");
        assert_eq!(snap.collections.len(), 2);
        assert_eq!(snap.clone().normalized(), snap);
        assert_eq!(ProductSnapshot::from(&product).title, " Tee ");

        let value = serde_json::to_value(&snap).unwrap();
        assert_eq!(value["status"], "draft");
        assert_eq!(value["variants"][0]["inventory_policy"], "continue");
        assert_eq!(value["variants"][0]["id"], "gid://shopify/ProductVariant/2");
        assert_eq!(value["collections"][0], "gid://shopify/Collection/3");
        let back: ProductSnapshot = serde_json::from_value(value).unwrap();
        assert_eq!(back, snap);
    }

    #[test]
    fn snapshot_json_is_strict_about_names_and_values() {
        let ok: ProductSnapshot =
            serde_json::from_value(json!({"status": "ACTIVE", "tags": null})).unwrap();
        assert_eq!(ok.status, Some(ProductStatus::Active));
        assert!(serde_json::from_value::<ProductSnapshot>(json!({"titel": "x"})).is_err());
        assert!(serde_json::from_value::<ProductSnapshot>(json!({"status": "live"})).is_err());
        assert!(
            serde_json::from_value::<ProductSnapshot>(json!({"variants": [{"price": 10.5}]}))
                .is_err()
        );
        assert!(serde_json::from_value::<Snapshot>(json!({"kind": "product", "nope": 1})).is_err());
        assert!(serde_json::from_value::<Snapshot>(json!({"kind": "variant"})).is_err());
        let c: Snapshot = serde_json::from_value(json!({"kind": "collection",
            "sort_order": "BEST_SELLING", "rules": null}))
        .unwrap();
        let Snapshot::Collection(c) = c else {
            panic!("a collection")
        };
        assert_eq!(c.sort_order, Some(CollectionSortOrder::BestSelling));
        for order in CollectionSortOrder::ALL {
            let v = serde_json::to_value(CollectionSnapshot {
                sort_order: Some(*order),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(v["sort_order"], order.as_str().to_ascii_lowercase());
        }
    }

    #[test]
    fn collections_snapshot_from_the_model() {
        let c: Collection = serde_json::from_value(json!({
            "id": "gid://shopify/Collection/1", "title": "T", "handle": "Under Ten!",
            "seo": {"title": "", "description": ""}
        }))
        .unwrap();
        let snap = CollectionSnapshot::from(&c);
        assert_eq!(snap.handle, "under-ten");
        assert_eq!(snap.seo, Seo::default());
        assert_eq!(snap.rules, None);
        let s = Snapshot::Collection(snap.clone());
        assert_eq!(s.clone().normalized(), s);
    }
}
