//! The model against real Shopify responses: every product, variant, option and
//! collection object in the captured request/response pairs under
//! `data/shopify/captures/` decodes, keeps its exact values, and round trips.

use super::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/shopify/captures");

fn capture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(CAPTURES)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 130,
        "captures missing: {} files",
        files.len()
    );
    files
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn capture(name: &str) -> Value {
    load(&Path::new(CAPTURES).join("products-2025-01").join(name))
}

/// Every object in `value` whose `id` is a string starting with `prefix`, with its JSON
/// path.
fn objects_with_id<'v>(value: &'v Value, prefix: &str) -> Vec<(String, &'v Value)> {
    fn walk<'v>(v: &'v Value, path: String, prefix: &str, out: &mut Vec<(String, &'v Value)>) {
        match v {
            Value::Object(map) => {
                if map
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(prefix))
                {
                    out.push((path.clone(), v));
                }
                for (k, child) in map {
                    walk(child, format!("{path}.{k}"), prefix, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{path}[{i}]"), prefix, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), prefix, &mut out);
    out
}

/// Decode with the failing JSON path in the error.
fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value.clone())
        .map_err(|e| format!("at {}: {}", e.path(), e.inner()))
}

/// Serializing and reading back gives an equal value.
fn assert_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value);
}

fn list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => match (map.get("nodes"), map.get("edges")) {
            (Some(Value::Array(nodes)), _) => nodes.iter().collect(),
            (_, Some(Value::Array(edges))) => edges.iter().map(|e| &e["node"]).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn str_field<'v>(raw: &'v Value, key: &str) -> Option<&'v str> {
    raw.get(key).and_then(Value::as_str)
}

/// The decoded variant holds exactly what the JSON said.
fn check_variant(raw: &Value, v: &ProductVariant) {
    assert_eq!(Some(v.id.to_string().as_str()), str_field(raw, "id"));
    if let Some(price) = raw.get("price") {
        // Exact: the same digits, not a float's approximation.
        assert_eq!(
            v.price.map(|p| p.to_string()).as_deref(),
            price.as_str(),
            "{raw}"
        );
    }
    if let Some(cap) = raw.get("compareAtPrice") {
        assert_eq!(
            v.compare_at_price.map(|p| p.to_string()).as_deref(),
            cap.as_str()
        );
    }
    if let Some(sku) = raw.get("sku") {
        assert_eq!(v.sku.as_deref(), sku.as_str());
    }
    if let Some(q) = raw.get("inventoryQuantity") {
        assert_eq!(v.inventory_quantity, q.as_i64());
    }
    if let Some(p) = raw.get("inventoryPolicy") {
        assert_eq!(v.inventory_policy.map(|p| p.as_str()), p.as_str());
    }
    if let Some(t) = raw.get("taxable") {
        assert_eq!(v.taxable, t.as_bool());
    }
    if let Some(options) = raw.get("selectedOptions") {
        assert_eq!(serde_json::to_value(&v.selected_options).unwrap(), *options);
    }
    assert_eq!(v.title, str_field(raw, "title").unwrap_or(""));
}

/// The decoded product holds exactly what the JSON said.
fn check_product(raw: &Value, p: &Product) {
    assert_eq!(Some(p.id.to_string().as_str()), str_field(raw, "id"));
    for (key, field) in [
        ("title", &p.title),
        ("handle", &p.handle),
        ("descriptionHtml", &p.description_html),
        ("vendor", &p.vendor),
        ("productType", &p.product_type),
    ] {
        assert_eq!(field, str_field(raw, key).unwrap_or(""), "{key}");
    }
    if let Some(status) = raw.get("status") {
        assert_eq!(p.status.map(|s| s.as_str()), status.as_str());
    }
    if let Some(Value::Array(tags)) = raw.get("tags") {
        assert_eq!(p.tags.len(), tags.len());
    }
    if let Some(created) = str_field(raw, "createdAt") {
        assert_eq!(
            p.created_at
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            created
        );
    }
    if let Some(variants) = raw.get("variants") {
        let raw_variants = list(variants);
        assert_eq!(p.variants.len(), raw_variants.len());
        for (raw, v) in raw_variants.into_iter().zip(&p.variants) {
            check_variant(raw, v);
        }
    }
    if let Some(options) = raw.get("options") {
        let raw_options = list(options);
        assert_eq!(p.options.len(), raw_options.len());
        for (raw, o) in raw_options.into_iter().zip(&p.options) {
            assert_eq!(o.name, str_field(raw, "name").unwrap_or(""));
            assert_eq!(
                o.id.map(|id| id.to_string()).as_deref(),
                str_field(raw, "id")
            );
            if let Some(values) = raw.get("values") {
                assert_eq!(serde_json::to_value(&o.values).unwrap(), *values);
            }
        }
    }
}

fn check_collection(raw: &Value, c: &Collection) {
    assert_eq!(Some(c.id.to_string().as_str()), str_field(raw, "id"));
    assert_eq!(c.title, str_field(raw, "title").unwrap_or(""));
    assert_eq!(c.handle, str_field(raw, "handle").unwrap_or(""));
    if let Some(rule_set) = raw.get("ruleSet") {
        assert_eq!(c.is_smart(), !rule_set.is_null());
        assert_eq!(serde_json::to_value(&c.rule_set).unwrap(), *rule_set);
    }
    if let Some(order) = raw.get("sortOrder") {
        assert_eq!(c.sort_order.map(|s| s.as_str()), order.as_str());
    }
}

/// Decode every object of one kind in every capture (skipping those whose path
/// contains `skip`, if given). Returns (decoded, rejected with reason keyed by
/// `file:path`).
fn decode_all<T: DeserializeOwned + Serialize + PartialEq + Debug>(
    prefix: &str,
    skip: Option<&str>,
    check: impl Fn(&Value, &T),
) -> (usize, BTreeMap<String, String>) {
    let mut decoded = 0;
    let mut rejected = BTreeMap::new();
    for file in capture_files() {
        let json = load(&file);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (path, raw) in objects_with_id(&json, prefix) {
            if skip.is_some_and(|skip| path.contains(skip)) {
                continue;
            }
            match decode::<T>(raw) {
                Ok(value) => {
                    check(raw, &value);
                    assert_round_trip(&value);
                    decoded += 1;
                }
                Err(e) => {
                    rejected.insert(format!("{name}:{path}"), e);
                }
            }
        }
    }
    (decoded, rejected)
}

#[test]
fn every_captured_product_decodes() {
    let (decoded, rejected) = decode_all::<Product>("gid://shopify/Product/", None, check_product);
    // Two captured reads select a product's variants without their ids
    // (`variants { nodes { price } }`, `variants { nodes { inventoryQuantity ... } }`).
    // A variant without an id cannot be synced, so the model rejects the product and
    // names the path, rather than inventing or dropping variants.
    let missing_variant_id = "at variants.nodes[0]: missing field `id`".to_string();
    let expected_rejects: BTreeMap<String, String> = [
        "collection-smart-ruleset-membership-parity.json:\
         .downstreamRead.response.data.collection.products.nodes[0]",
        "inventory-adjust-then-has-out-of-stock-variants-parity.json:\
         .downstreamRead.data.product",
    ]
    .into_iter()
    .map(|at| (at.to_string(), missing_variant_id.clone()))
    .collect();
    assert_eq!(rejected, expected_rejects);
    assert!(decoded >= 980, "decoded only {decoded}");
}

#[test]
fn every_captured_variant_decodes() {
    let (decoded, rejected) =
        decode_all::<ProductVariant>("gid://shopify/ProductVariant/", None, check_variant);
    assert!(rejected.is_empty(), "{rejected:#?}");
    assert!(decoded >= 2300, "decoded only {decoded}");
}

#[test]
fn every_captured_option_decodes() {
    // Mutation inputs (`productOptionsReorder`, `productSet`) name option values by
    // `{id}` or `{name}` objects: they are inputs, not option data, and are skipped.
    let (decoded, rejected) = decode_all::<ProductOption>(
        "gid://shopify/ProductOption/",
        Some(".variables"),
        |raw, o: &ProductOption| {
            assert_eq!(o.name, str_field(raw, "name").unwrap_or(""));
            assert_eq!(
                o.position,
                raw.get("position")
                    .and_then(Value::as_u64)
                    .map(|p| p as u32)
            );
        },
    );
    assert!(rejected.is_empty(), "{rejected:#?}");
    assert!(decoded >= 185, "decoded only {decoded}");
}

#[test]
fn every_captured_collection_decodes() {
    let (decoded, rejected) =
        decode_all::<Collection>("gid://shopify/Collection/", None, check_collection);
    assert!(rejected.is_empty(), "{rejected:#?}");
    assert!(decoded >= 120, "decoded only {decoded}");
}

/// Every id-like string of a modeled kind in the captures parses (and prints back
/// unchanged, minus a query suffix), except the deliberately bogus ones.
#[test]
fn every_captured_gid_parses() {
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    fn check<T: GidKind>(s: &str, parsed: &mut usize, bad: &mut Vec<String>) {
        let prefix = format!("{GID_PREFIX}{}/", T::NAME);
        if !s.starts_with(&prefix) || s.contains(char::is_whitespace) {
            return;
        }
        match Gid::<T>::parse(s) {
            Ok(id) => {
                assert_eq!(id.to_string(), s.split('?').next().unwrap());
                *parsed += 1;
            }
            Err(e) => bad.push(e.to_string()),
        }
    }
    let (mut parsed, mut bad) = (0, Vec::new());
    for file in capture_files() {
        let json = load(&file);
        let mut all = Vec::new();
        strings(&json, &mut all);
        for s in all {
            check::<Product>(s, &mut parsed, &mut bad);
            check::<ProductVariant>(s, &mut parsed, &mut bad);
            check::<ProductOption>(s, &mut parsed, &mut bad);
            check::<Collection>(s, &mut parsed, &mut bad);
            check::<InventoryItem>(s, &mut parsed, &mut bad);
            check::<Location>(s, &mut parsed, &mut bad);
            check::<Job>(s, &mut parsed, &mut bad);
        }
    }
    bad.sort();
    bad.dedup();
    // Deliberately bogus ids sent by validation probes.
    assert_eq!(
        bad,
        [
            "invalid Collection id \"gid://shopify/Collection/not-a-real-node\": \
             the id is not a positive decimal integer",
            "invalid Product id \"gid://shopify/Product/0\": the numeric id is zero",
            "invalid ProductOption id \"gid://shopify/ProductOption/0\": the numeric id is zero",
        ]
    );
    assert!(parsed >= 5000, "parsed only {parsed}");
}

#[test]
fn product_set_read_back() {
    let json = capture("product-set-parity.json");
    let raw = &json["update"]["downstreamRead"]["data"]["product"];
    let product: Product = decode(raw).unwrap();
    assert_eq!(product.id.numeric_id(), 10243923018034);
    assert_eq!(product.title, "Hermes Product Graph Updated 1784466577198");
    assert_eq!(product.handle, "hermes-product-graph-1784466577198");
    assert_eq!(product.status, Some(ProductStatus::Draft));
    assert_eq!(product.vendor, "HERMES");
    assert_eq!(product.product_type, "SNOWBOARD");
    assert_eq!(
        product.tags,
        ["1784466577198", "conformance", "product-graph"]
    );
    assert_eq!(product.seo, Seo::default());
    assert_eq!(product.template_suffix, None);
    let color = product.option("Color").unwrap();
    assert_eq!(color.id.unwrap().numeric_id(), 12804817649970);
    assert_eq!(color.position, Some(1));
    assert_eq!(color.values, ["Blue", "Black"]);
    assert_eq!(product.variants.len(), 2);
    let blue = product
        .variant(Gid::parse("gid://shopify/ProductVariant/51488052412722").unwrap())
        .unwrap();
    assert_eq!(blue.price, Some(Money::parse("89.99").unwrap()));
    assert_eq!(blue.price.unwrap().to_string(), "89.99");
    assert_eq!(blue.compare_at_price, None);
    assert_eq!(
        blue.sku.as_deref(),
        Some("GRAPH-BLUE-UPDATED-1784466577198")
    );
    assert_eq!(blue.inventory_policy, Some(InventoryPolicy::Deny));
    assert_eq!(blue.inventory_quantity, Some(10));
    assert_eq!(blue.taxable, Some(true));
    assert_eq!(blue.option_value("Color"), Some("Blue"));
    let black = &product.variants[1];
    assert_eq!(black.price.unwrap().to_string(), "59.99");
    assert_round_trip(&product);
}

#[test]
fn product_variants_bulk_update_read_back() {
    let json = capture("product-variants-bulk-update-parity.json");
    let product: Product = decode(&json["downstreamRead"]["data"]["product"]).unwrap();
    let v = &product.variants[0];
    assert_eq!(v.id.numeric_id(), 51488122011954);
    assert_eq!(v.price.unwrap().to_string(), "24.00");
    assert_eq!(v.price, Some(Money::parse("24").unwrap()));
    assert_eq!(v.compare_at_price.unwrap().to_string(), "30.00");
    assert_eq!(v.barcode.as_deref(), Some("1111111111111"));
    assert_eq!(v.sku.as_deref(), Some("HERMES-BULK-772608-RED"));
    assert_eq!(v.taxable, Some(false));
    assert_eq!(v.position, Some(1));
    assert_eq!(v.inventory_quantity, Some(0));
    // The mutation payload holds the same variant.
    let payload: Product =
        decode(&json["mutation"]["response"]["data"]["productVariantsBulkUpdate"]["product"])
            .unwrap();
    assert_eq!(payload.variants[0].price, v.price);
    assert_eq!(payload.variants[0].compare_at_price, v.compare_at_price);
}

#[test]
fn collection_detail_custom_and_smart() {
    let json = capture("collection-detail.json");
    let custom: Collection = decode(&json["data"]["customCollection"]).unwrap();
    assert_eq!(custom.id.numeric_id(), 494967390514);
    assert_eq!(custom.title, "Home page");
    assert_eq!(custom.handle, "frontpage");
    assert!(!custom.is_smart());
    assert_eq!(custom.sort_order, Some(CollectionSortOrder::BestSelling));
    assert_eq!(
        custom.updated_at.unwrap().to_rfc3339(),
        "2026-06-30T11:18:48+00:00"
    );
    let smart: Collection = decode(&json["data"]["smartCollection"]).unwrap();
    assert!(smart.is_smart());
    let rules = smart.rule_set.as_ref().unwrap();
    assert!(!rules.applied_disjunctively);
    assert_eq!(
        rules.rules,
        [
            CollectionRule {
                column: "VARIANT_PRICE".into(),
                relation: "LESS_THAN".into(),
                condition: "800.00".into(),
            },
            CollectionRule {
                column: "VARIANT_PRICE".into(),
                relation: "GREATER_THAN".into(),
                condition: "200.00".into(),
            },
        ]
    );
}

#[test]
fn collections_catalog_page() {
    #[derive(serde::Deserialize)]
    struct Data {
        #[serde(deserialize_with = "de::nodes")]
        collections: Vec<Collection>,
        #[serde(rename = "smartCollections", deserialize_with = "de::nodes")]
        smart: Vec<Collection>,
        #[serde(rename = "customCollections", deserialize_with = "de::nodes")]
        custom: Vec<Collection>,
    }
    let json = capture("collections-catalog.json");
    let data: Data = decode(&json["data"]).unwrap();
    assert_eq!(data.collections.len(), 4);
    assert!(data.smart.iter().all(Collection::is_smart));
    assert!(!data.custom.is_empty() && data.custom.iter().all(|c| !c.is_smart()));
}

#[test]
fn products_search_page() {
    #[derive(serde::Deserialize)]
    struct Data {
        #[serde(deserialize_with = "de::nodes")]
        products: Vec<Product>,
    }
    let json = capture("products-common-search-filters.json");
    let data: Data = decode(&json["preconditionRead"]["response"]["data"]).unwrap();
    assert!(data.products.len() >= 30);
    assert!(data
        .products
        .iter()
        .all(|p| p.status.is_some() && !p.title.is_empty()));
    let mut ids: Vec<_> = data.products.iter().map(|p| p.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), data.products.len());
}

#[test]
fn captured_job_ids_parse() {
    let json = capture("collection-create-and-add-products-parity.json");
    let jobs = objects_with_id(&json, "gid://shopify/Job/");
    assert!(!jobs.is_empty());
    for (_, raw) in jobs {
        let id: Gid<Job> = serde_json::from_value(raw["id"].clone()).unwrap();
        assert_eq!(id.to_string(), raw["id"].as_str().unwrap());
    }
}
