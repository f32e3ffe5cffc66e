//! Property tests of the three-way diff and the plan built on it:
//!
//! - `diff(base, x, x)` never has a conflict (and `diff(x, x, x)` has no row);
//! - the diff is symmetric: swapping local and remote swaps `local` and `remote` rows;
//! - applying a plan's approved local side to the base yields the local snapshot (equal
//!   fingerprints under the mask), whatever was edited, added or removed.

use proptest::prelude::*;
use serde_json::{json, Value};
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::{
    diff_product, patch_product, ChangeFilter, DiffOptions, Field, FieldMask, PlanId, PlanInput,
    Planner, ProductSnapshot, Record, Review, RowKind,
};

/// One variant: (id?, price cents, sku?, option value?).
type VariantSpec = (bool, u32, Option<u8>, Option<u8>);

fn variant_json(i: usize, spec: &VariantSpec, new: bool) -> Value {
    let (has_id, cents, sku, option) = spec;
    let mut v = json!({
        "price": format!("{}.{:02}", cents / 100, cents % 100),
    });
    if *has_id && !new {
        v["id"] = json!(format!("gid://shopify/ProductVariant/{}", i + 1));
    }
    // SKUs and option values are unique per variant by construction (an ambiguous match
    // is an error row, tested elsewhere).
    let prefix = if new { "N" } else { "B" };
    if let Some(s) = sku {
        v["sku"] = json!(format!("{prefix}{i}-{s}"));
    }
    if let Some(o) = option {
        v["option_values"] = json!([{"name": "Size", "value": format!("{prefix}{i}-{o}")}]);
    }
    v
}

prop_compose! {
    fn product()(
        title in "[A-Za-z][A-Za-z ]{0,8}",
        vendor in "[A-C]{0,2}",
        tags in proptest::collection::vec("[a-cA-C]{1,2}", 0..4),
        status in proptest::option::of(prop_oneof![Just("active"), Just("draft"), Just("archived")]),
        collections in proptest::collection::btree_set(1u64..5, 0..3),
        variants in proptest::collection::vec(
            (Just(true), 0u32..5000, proptest::option::of(0u8..3), proptest::option::of(0u8..3)),
            0..4,
        ),
    ) -> Value {
        let variants: Vec<Value> = variants
            .iter()
            .enumerate()
            .map(|(i, v)| variant_json(i, v, false))
            .collect();
        json!({
            "title": title, "vendor": vendor, "tags": tags, "status": status,
            "collections": collections.iter().map(|c| format!("gid://shopify/Collection/{c}")).collect::<Vec<_>>(),
            "variants": variants,
        })
    }
}

/// An edit of a product: new values for some fields, and per variant: keep, edit,
/// forget its id, or delete; plus new variants.
#[derive(Debug, Clone)]
struct Edit {
    title: Option<String>,
    vendor: Option<String>,
    tags: Option<Vec<String>>,
    status: Option<Option<&'static str>>,
    collections: Option<Vec<u64>>,
    variants: Vec<(u8, Option<u32>, Option<u8>)>,
    added: Vec<VariantSpec>,
}

prop_compose! {
    fn edit()(
        title in proptest::option::of("[A-Za-z][A-Za-z ]{0,8}"),
        vendor in proptest::option::of("[A-C]{0,2}"),
        tags in proptest::option::of(proptest::collection::vec("[a-cA-C]{1,2}", 0..4)),
        status in proptest::option::of(proptest::option::of(prop_oneof![Just("active"), Just("draft")])),
        collections in proptest::option::of(proptest::collection::vec(1u64..5, 0..3)),
        variants in proptest::collection::vec((0u8..4, proptest::option::of(0u32..5000), proptest::option::of(0u8..3)), 4),
        added in proptest::collection::vec(
            (Just(false), 0u32..5000, proptest::option::of(0u8..3), proptest::option::of(0u8..3)),
            0..3,
        ),
    ) -> Edit {
        Edit { title, vendor, tags, status, collections, variants, added }
    }
}

fn apply_edit(base: &Value, e: &Edit) -> Value {
    let mut v = base.clone();
    if let Some(t) = &e.title {
        v["title"] = json!(t);
    }
    if let Some(t) = &e.vendor {
        v["vendor"] = json!(t);
    }
    if let Some(t) = &e.tags {
        v["tags"] = json!(t);
    }
    if let Some(s) = &e.status {
        v["status"] = json!(s);
    }
    if let Some(c) = &e.collections {
        v["collections"] = json!(c
            .iter()
            .map(|c| format!("gid://shopify/Collection/{c}"))
            .collect::<Vec<_>>());
    }
    let mut variants = Vec::new();
    for (i, var) in base["variants"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let (what, price, sku) = e.variants[i % e.variants.len()];
        let mut var = var;
        match what {
            0 => {}
            1 => {
                if let Some(p) = price {
                    var["price"] = json!(format!("{}.{:02}", p / 100, p % 100));
                }
                if let Some(s) = sku {
                    var["sku"] = json!(format!("E{i}-{s}"));
                }
            }
            // Lose the id: matched by options or SKU (or else deleted and created).
            2 => {
                if let Some(m) = var.as_object_mut() {
                    m.remove("id");
                }
            }
            _ => continue, // deleted
        }
        variants.push(var);
    }
    for (j, spec) in e.added.iter().enumerate() {
        variants.push(variant_json(j, spec, true));
    }
    v["variants"] = json!(variants);
    v
}

fn snap(v: &Value) -> ProductSnapshot {
    serde_json::from_value(v.clone()).expect("a product snapshot")
}

fn mask() -> impl Strategy<Value = FieldMask> {
    proptest::sample::subsequence(
        vec![
            Field::Title,
            Field::Vendor,
            Field::Tags,
            Field::Status,
            Field::Collections,
            Field::VariantPrice,
            Field::VariantSku,
            Field::VariantOptionValues,
        ],
        0..=8,
    )
    .prop_map(|fields| FieldMask::of(&fields))
}

fn swap(kind: RowKind) -> RowKind {
    match kind {
        RowKind::Local => RowKind::Remote,
        RowKind::Remote => RowKind::Local,
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_same_change_on_both_sides_is_never_a_conflict(base in product(), e in edit(), mask in mask()) {
        let x = snap(&apply_edit(&base, &e));
        let base = snap(&base);
        let rows = diff_product(Some(&base), Some(&x), Some(&x), mask, &DiffOptions::default());
        for row in &rows {
            prop_assert!(row.kind != RowKind::Conflict, "{row:?}");
        }
        let same = diff_product(Some(&x), Some(&x), Some(&x), mask, &DiffOptions::default());
        prop_assert!(same.is_empty(), "{same:?}");
    }

    #[test]
    fn swapping_local_and_remote_swaps_the_rows(base in product(), a in edit(), b in edit(), mask in mask()) {
        let l = snap(&apply_edit(&base, &a));
        let r = snap(&apply_edit(&base, &b));
        let base = snap(&base);
        let o = DiffOptions::default();
        let lr = diff_product(Some(&base), Some(&l), Some(&r), mask, &o);
        let rl = diff_product(Some(&base), Some(&r), Some(&l), mask, &o);
        let mut left: Vec<(String, RowKind)> = lr.iter().map(|r| (r.path.clone(), swap(r.kind))).collect();
        let mut right: Vec<(String, RowKind)> = rl.iter().map(|r| (r.path.clone(), r.kind)).collect();
        left.sort();
        right.sort();
        // Rows of base variants (keyed by their gid) and of the product compare path by
        // path; a variant that is not in the base is named by the side it was found on
        // first, so those rows compare as a multiset of kinds.
        let by_base = |p: &str| !p.starts_with("variants[") || p.starts_with("variants[gid://");
        let split = |v: &Vec<(String, RowKind)>| {
            let keyed: Vec<(String, RowKind)> = v.iter().filter(|(p, _)| by_base(p)).cloned().collect();
            let mut other: Vec<RowKind> = v.iter().filter(|(p, _)| !by_base(p)).map(|(_, k)| *k).collect();
            other.sort();
            (keyed, other)
        };
        prop_assert_eq!(split(&left), split(&right));
    }

    #[test]
    fn applying_the_approved_local_side_to_the_base_yields_local(base in product(), e in edit(), mask in mask()) {
        let local_json = apply_edit(&base, &e);
        let (base, local) = (snap(&base), snap(&local_json));
        let id: Gid<Product> = Gid::from_numeric_id(1).unwrap();
        let mut input = PlanInput::default();
        input.products.base.push(Record::synced("L1", id, base.clone()));
        input.products.remote.push(Record::remote(id, None, base.clone()));
        input.products.local.push(Record::synced("L1", id, local.clone()));
        let mut plan = Planner::new(mask).id(PlanId::from("prop")).plan(&input);
        prop_assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let report = plan.approve(&ChangeFilter::default(), &Review::now("prop"));
        prop_assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let writes = plan.changes.iter().flat_map(|c| c.writes());
        let patched = patch_product(Some(&base), writes).unwrap().expect("not deleted");
        prop_assert_eq!(
            patched.fingerprint(mask),
            local.fingerprint(mask),
            "patched {:?}\nlocal {:?}\nplan {:#?}",
            patched,
            local,
            plan.changes
        );
    }
}
