//! The three-way diff: base (what was last synced), local (what the merchant's system
//! holds) and remote (what Shopify holds), field by field under a [`FieldMask`].
//!
//! This module owns the meaning of a difference: which side changed a field, when two
//! sides agree or conflict, how variants are matched across the three sides, and the
//! JSON shape of a [`DiffRow`]. It is pure (no I/O, no clock) and knows nothing of plans,
//! review or the change store, which are built on its rows.
//!
//! # Rows
//!
//! For each managed field the diff compares the three values (after the snapshot
//! normalisations: prices by value, tags and handles normalised, empty strings as
//! `null`) and writes a row when they are not all equal:
//!
//! | base vs local | base vs remote | local vs remote | [`RowKind`] |
//! | --- | --- | --- | --- |
//! | differ | same | - | `local`: changed locally only |
//! | same | differ | - | `remote`: changed on Shopify only |
//! | differ | differ | same | `converged`: both changed, to the same value |
//! | differ | differ | differ | `conflict`: both changed, to different values |
//! | no base | no base | differ | `conflict`: no base to tell which side changed |
//!
//! Non-conflicting changes on different fields of one product are independent rows, so
//! they merge: a local title change and a remote vendor change give one `local` row and
//! one `remote` row, no conflict.
//!
//! Paths: `title`, `handle`, `description_html`, `vendor`, `product_type`, `status`,
//! `tags`, `seo`, `options`, `sort_order`, `rules`; `collections[<collection gid>]` for
//! membership of one custom collection (values `true` / `false`); `variants[<key>]` for
//! a whole variant (created or deleted) and `variants[<key>].<name>` for one of its
//! fields (`price`, `compare_at_price`, `sku`, `barcode`, `inventory_policy`,
//! `option_values`); `product` / `collection` for a whole entity (deleted on a side).
//! The variant key is its gid when any side knows it, else `options:Color=Red/Size=S`
//! (option values sorted by name), else `sku:<sku>`, else `index:<n>` (its position in the
//! base) or `new:<n>` (its position in the local, or remote, list).
//!
//! # Variants
//!
//! Variants are matched between two sides by id; then, among the unmatched, by their
//! option-value combination when it is unique within both products; then by SKU when
//! the SKU is unique within both. Two variants whose ids are both known and differ are
//! never matched. Last, variants equal in every field but the id pair up when that is
//! not a guess (a single pair, or no ids at stake). An ambiguous match (a SKU that fits
//! two variants, two variants with the same id or the same option values, identical
//! variants with different ids) is an `error` row, never a guess, and then no other
//! variant row is written for that product.
//!
//! ```
//! use shopify_sync::staging::{diff_product, DiffOptions, FieldMask, ProductSnapshot, RowKind};
//!
//! let snap = |json: &str| serde_json::from_str::<ProductSnapshot>(json).unwrap();
//! let base = snap(r#"{"title": "Tee", "vendor": "A", "variants": [{"id": "gid://shopify/ProductVariant/1", "price": "10"}]}"#);
//! let local = snap(r#"{"title": "Tee 2", "vendor": "A", "variants": [{"id": "gid://shopify/ProductVariant/1", "price": "12.00"}]}"#);
//! let remote = snap(r#"{"title": "Tee", "vendor": "B", "variants": [{"id": "gid://shopify/ProductVariant/1", "price": "11"}]}"#);
//!
//! let rows = diff_product(Some(&base), Some(&local), Some(&remote), FieldMask::ALL, &DiffOptions::default());
//! let summary: Vec<(&str, RowKind)> = rows.iter().map(|r| (r.path.as_str(), r.kind)).collect();
//! assert_eq!(summary, [
//!     ("title", RowKind::Local),
//!     ("vendor", RowKind::Remote),
//!     ("variants[gid://shopify/ProductVariant/1].price", RowKind::Conflict),
//! ]);
//! assert_eq!(rows[2].local, "12.00");
//! ```

use super::mask::{Field, FieldMask};
use super::snapshot::{
    normalize_handle, normalize_tags, CollectionSnapshot, OptionSnapshot, ProductSnapshot,
    RuleSetSnapshot, SnakeName, Snapshot, VariantSnapshot,
};
use crate::error::{Error, Result};
use crate::model::{Collection, Gid, Money, SelectedOption, Seo};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

/// How the three sides of one row relate (JSON: the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// Changed locally only: a change to write to Shopify.
    Local,
    /// Changed on Shopify only: a change to bring into the local system.
    Remote,
    /// Changed on both sides, to the same value: nothing to write.
    Converged,
    /// Changed on both sides to different values (or differing with no base): someone
    /// must resolve it before anything is written.
    Conflict,
    /// The diff could not be computed for this path (an ambiguous variant match, a
    /// membership change of a smart collection); `message` says why.
    Error,
}

impl RowKind {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Local => "local",
            RowKind::Remote => "remote",
            RowKind::Converged => "converged",
            RowKind::Conflict => "conflict",
            RowKind::Error => "error",
        }
    }
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a diff: a path, the field it belongs to, how the sides relate, and the
/// three values side by side (`null` where a side has no value or no entity).
///
/// JSON: `{"path": "variants[gid://shopify/ProductVariant/1].price", "field":
/// "variant_price", "kind": "conflict", "base": "10", "local": "12.00", "remote": "11"}`,
/// plus `"message"` on `error` rows. Values are in the snapshot's JSON shape (prices as
/// strings, enums snake_case, tags and handles normalised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffRow {
    /// Where in the entity (see the [module docs](self) for the paths).
    pub path: String,
    /// The managed field the row belongs to; `null` for whole entities and whole
    /// variants.
    #[serde(default)]
    pub field: Option<Field>,
    /// How the sides relate.
    pub kind: RowKind,
    /// The value at the last sync.
    #[serde(default)]
    pub base: Value,
    /// The value in the merchant's system.
    #[serde(default)]
    pub local: Value,
    /// The value on Shopify.
    #[serde(default)]
    pub remote: Value,
    /// Why an `error` row could not be diffed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the diff needs to know beyond the three snapshots.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Smart collections: Shopify decides their membership from their rules, so a
    /// membership change written locally for one of them is an `error` row.
    pub smart_collections: HashSet<Gid<Collection>>,
}

/// The three-way diff of two snapshots of the same kind (see the [module docs](self)).
/// `None` means the entity does not exist on that side (never synced, deleted locally,
/// deleted on Shopify).
///
/// Fails with [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) when
/// the sides are of different kinds.
///
/// ```
/// use shopify_sync::staging::{diff, FieldMask, Snapshot};
///
/// let s = |json: &str| serde_json::from_str::<Snapshot>(json).unwrap();
/// let base = s(r#"{"kind": "collection", "title": "Sale"}"#);
/// let x = s(r#"{"kind": "collection", "title": "Summer sale"}"#);
/// // The same change on both sides converges: no conflict.
/// let rows = diff(Some(&base), Some(&x), Some(&x), FieldMask::ALL)?;
/// assert_eq!(rows[0].kind.as_str(), "converged");
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
pub fn diff(
    base: Option<&Snapshot>,
    local: Option<&Snapshot>,
    remote: Option<&Snapshot>,
    mask: FieldMask,
) -> Result<Vec<DiffRow>> {
    diff_with(base, local, remote, mask, &DiffOptions::default())
}

/// [`diff`] with [`DiffOptions`].
pub fn diff_with(
    base: Option<&Snapshot>,
    local: Option<&Snapshot>,
    remote: Option<&Snapshot>,
    mask: FieldMask,
    options: &DiffOptions,
) -> Result<Vec<DiffRow>> {
    let sides = [base, local, remote];
    if sides
        .iter()
        .flatten()
        .all(|s| matches!(s, Snapshot::Product(_)))
    {
        fn p(s: Option<&Snapshot>) -> Option<&ProductSnapshot> {
            match s {
                Some(Snapshot::Product(p)) => Some(p),
                _ => None,
            }
        }
        Ok(diff_product(p(base), p(local), p(remote), mask, options))
    } else if sides
        .iter()
        .flatten()
        .all(|s| matches!(s, Snapshot::Collection(_)))
    {
        fn c(s: Option<&Snapshot>) -> Option<&CollectionSnapshot> {
            match s {
                Some(Snapshot::Collection(c)) => Some(c),
                _ => None,
            }
        }
        Ok(diff_collection(c(base), c(local), c(remote), mask))
    } else {
        Err(Error::invalid_input(
            "diff: base, local and remote must be snapshots of the same kind",
        ))
    }
}

/// The three-way diff of a product (see the [module docs](self)).
pub fn diff_product(
    base: Option<&ProductSnapshot>,
    local: Option<&ProductSnapshot>,
    remote: Option<&ProductSnapshot>,
    mask: FieldMask,
    options: &DiffOptions,
) -> Vec<DiffRow> {
    let mut rows = Vec::new();
    match (base, local, remote) {
        (_, Some(l), Some(r)) => product_fields(&mut rows, base, l, r, mask, options),
        (None, Some(l), None) => created_product(&mut rows, l, mask, options),
        (b, l, r) => whole_entity(
            &mut rows,
            || "product".to_owned(),
            b,
            l,
            r,
            |a, b| product_eq(a, b, mask),
            |s| masked_product(s, mask),
        ),
    }
    rows
}

/// The three-way diff of a collection (see the [module docs](self)).
pub fn diff_collection(
    base: Option<&CollectionSnapshot>,
    local: Option<&CollectionSnapshot>,
    remote: Option<&CollectionSnapshot>,
    mask: FieldMask,
) -> Vec<DiffRow> {
    let mut rows = Vec::new();
    match (base, local, remote) {
        (_, Some(l), Some(r)) => collection_fields(&mut rows, base, l, r, mask),
        (None, Some(l), None) => {
            let empty = CollectionSnapshot::default();
            let before = rows.len();
            collection_fields(&mut rows, Some(&empty), l, &empty, mask);
            for row in &mut rows[before..] {
                row.base = Value::Null;
                row.remote = Value::Null;
            }
        }
        (b, l, r) => whole_entity(
            &mut rows,
            || "collection".to_owned(),
            b,
            l,
            r,
            |a, b| collection_eq(a, b, mask),
            |s| serde_json::to_value(s).unwrap_or(Value::Null),
        ),
    }
    rows
}

/// Whether two products are equal under `mask` (every managed field compares equal).
pub fn product_eq(a: &ProductSnapshot, b: &ProductSnapshot, mask: FieldMask) -> bool {
    let mut rows = Vec::new();
    product_fields(&mut rows, Some(a), a, b, mask, &DiffOptions::default());
    rows.is_empty()
}

/// Whether two collections are equal under `mask`.
pub fn collection_eq(a: &CollectionSnapshot, b: &CollectionSnapshot, mask: FieldMask) -> bool {
    let mut rows = Vec::new();
    collection_fields(&mut rows, Some(a), a, b, mask);
    rows.is_empty()
}

/// A row for a whole entity or variant that exists on some sides only.
fn whole_entity<T>(
    rows: &mut Vec<DiffRow>,
    path: impl FnOnce() -> String,
    b: Option<&T>,
    l: Option<&T>,
    r: Option<&T>,
    eq: impl Fn(&T, &T) -> bool,
    value: impl Fn(&T) -> Value,
) {
    let same = |x: Option<&T>, y: Option<&T>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => eq(x, y),
        _ => false,
    };
    // Absence is a state like any other here: a base that did not exist is a base.
    let Some(kind) = classify(true, same(l, b), same(r, b), || same(l, r)) else {
        return;
    };
    let v = |x: Option<&T>| x.map_or(Value::Null, &value);
    rows.push(DiffRow {
        path: path(),
        field: None,
        kind,
        base: v(b),
        local: v(l),
        remote: v(r),
        message: None,
    });
}

/// The kind of a row from the three comparisons; `None` when there is no row.
fn classify(
    has_base: bool,
    local_is_base: bool,
    remote_is_base: bool,
    local_is_remote: impl FnOnce() -> bool,
) -> Option<RowKind> {
    if !has_base {
        return (!local_is_remote()).then_some(RowKind::Conflict);
    }
    match (local_is_base, remote_is_base) {
        (true, true) => None,
        (false, true) => Some(RowKind::Local),
        (true, false) => Some(RowKind::Remote),
        (false, false) if local_is_remote() => Some(RowKind::Converged),
        (false, false) => Some(RowKind::Conflict),
    }
}

/// Writes one row per field when the three values differ.
struct Rows<'a> {
    out: &'a mut Vec<DiffRow>,
}

impl Rows<'_> {
    #[allow(clippy::too_many_arguments)]
    fn field<T: ?Sized>(
        &mut self,
        field: Field,
        path: impl FnOnce() -> String,
        b: Option<&T>,
        l: &T,
        r: &T,
        eq: impl Fn(&T, &T) -> bool,
        value: impl Fn(&T) -> Value,
    ) {
        let (lb, rb) = match b {
            Some(b) => (eq(l, b), eq(r, b)),
            None => (false, false),
        };
        if let Some(kind) = classify(b.is_some(), lb, rb, || eq(l, r)) {
            self.out.push(DiffRow {
                path: path(),
                field: Some(field),
                kind,
                base: b.map_or(Value::Null, &value),
                local: value(l),
                remote: value(r),
                message: None,
            });
        }
    }
}

fn product_fields(
    out: &mut Vec<DiffRow>,
    b: Option<&ProductSnapshot>,
    l: &ProductSnapshot,
    r: &ProductSnapshot,
    mask: FieldMask,
    options: &DiffOptions,
) {
    let mut rows = Rows { out };
    let name = |f: Field| move || f.as_str().to_owned();
    macro_rules! text {
        ($field:expr, $member:ident) => {
            if mask.contains($field) {
                rows.field(
                    $field,
                    name($field),
                    b.map(|b| b.$member.as_str()),
                    l.$member.as_str(),
                    r.$member.as_str(),
                    |x: &str, y: &str| x == y,
                    |x: &str| Value::String(x.to_owned()),
                );
            }
        };
    }
    text!(Field::Title, title);
    if mask.contains(Field::Handle) {
        rows.field(
            Field::Handle,
            name(Field::Handle),
            b.map(|b| b.handle.as_str()),
            l.handle.as_str(),
            r.handle.as_str(),
            handle_eq,
            |x: &str| Value::String(normalize_handle(x)),
        );
    }
    text!(Field::DescriptionHtml, description_html);
    text!(Field::Vendor, vendor);
    text!(Field::ProductType, product_type);
    if mask.contains(Field::Status) {
        rows.field(
            Field::Status,
            name(Field::Status),
            b.map(|b| &b.status),
            &l.status,
            &r.status,
            |x, y| x == y,
            |x| snake_value(*x),
        );
    }
    if mask.contains(Field::Tags) {
        rows.field(
            Field::Tags,
            name(Field::Tags),
            b.map(|b| b.tags.as_slice()),
            l.tags.as_slice(),
            r.tags.as_slice(),
            tags_eq,
            tags_value,
        );
    }
    if mask.contains(Field::Seo) {
        rows.field(
            Field::Seo,
            name(Field::Seo),
            b.map(|b| &b.seo),
            &l.seo,
            &r.seo,
            seo_eq,
            seo_value,
        );
    }
    if mask.contains(Field::Options) {
        rows.field(
            Field::Options,
            name(Field::Options),
            b.map(|b| b.options.as_slice()),
            l.options.as_slice(),
            r.options.as_slice(),
            |x, y| x == y,
            options_value,
        );
    }
    if mask.contains(Field::Collections) {
        collections(rows.out, b, l, r, options);
    }
    if mask.manages_variants() {
        variants(
            rows.out,
            b.map(|b| b.variants.as_slice()),
            &l.variants,
            &r.variants,
            mask,
        );
    }
}

/// A product that exists locally only: one `local` row per managed field that holds a
/// value, one per variant, one per collection.
fn created_product(
    rows: &mut Vec<DiffRow>,
    l: &ProductSnapshot,
    mask: FieldMask,
    options: &DiffOptions,
) {
    let empty = ProductSnapshot::default();
    let before = rows.len();
    product_fields(rows, Some(&empty), l, &empty, mask, options);
    for row in &mut rows[before..] {
        row.base = Value::Null;
        row.remote = Value::Null;
    }
}

fn collections(
    out: &mut Vec<DiffRow>,
    b: Option<&ProductSnapshot>,
    l: &ProductSnapshot,
    r: &ProductSnapshot,
    options: &DiffOptions,
) {
    if b.is_some_and(|b| b.collections == l.collections && b.collections == r.collections) {
        return;
    }
    let set = |p: &ProductSnapshot| p.collections.iter().copied().collect::<BTreeSet<_>>();
    let (bs, ls, rs) = (b.map(set), set(l), set(r));
    let mut all: BTreeSet<Gid<Collection>> = ls.union(&rs).copied().collect();
    if let Some(bs) = &bs {
        all.extend(bs.iter().copied());
    }
    for id in all {
        let bm = bs.as_ref().map(|bs| bs.contains(&id));
        let (lm, rm) = (ls.contains(&id), rs.contains(&id));
        // Without a base, membership on one side only is an add or a removal nobody
        // can attribute: a conflict, like any other field.
        let Some(kind) = classify(bm.is_some(), bm == Some(lm), bm == Some(rm), || lm == rm) else {
            continue;
        };
        let smart = options.smart_collections.contains(&id)
            && matches!(kind, RowKind::Local | RowKind::Conflict);
        out.push(DiffRow {
            path: format!("collections[{id}]"),
            field: Some(Field::Collections),
            kind: if smart { RowKind::Error } else { kind },
            base: bm.map_or(Value::Null, Value::Bool),
            local: Value::Bool(lm),
            remote: Value::Bool(rm),
            message: smart.then(|| {
                format!("{id} is a smart collection: its membership changes only through its rules")
            }),
        });
    }
}

fn collection_fields(
    out: &mut Vec<DiffRow>,
    b: Option<&CollectionSnapshot>,
    l: &CollectionSnapshot,
    r: &CollectionSnapshot,
    mask: FieldMask,
) {
    let mut rows = Rows { out };
    let name = |f: Field| move || f.as_str().to_owned();
    let text = |x: &str, y: &str| x == y;
    let string = |x: &str| Value::String(x.to_owned());
    if mask.contains(Field::Title) {
        rows.field(
            Field::Title,
            name(Field::Title),
            b.map(|b| b.title.as_str()),
            &l.title,
            &r.title,
            text,
            string,
        );
    }
    if mask.contains(Field::Handle) {
        rows.field(
            Field::Handle,
            name(Field::Handle),
            b.map(|b| b.handle.as_str()),
            &l.handle,
            &r.handle,
            handle_eq,
            |x: &str| Value::String(normalize_handle(x)),
        );
    }
    if mask.contains(Field::DescriptionHtml) {
        rows.field(
            Field::DescriptionHtml,
            name(Field::DescriptionHtml),
            b.map(|b| b.description_html.as_str()),
            &l.description_html,
            &r.description_html,
            text,
            string,
        );
    }
    if mask.contains(Field::Seo) {
        rows.field(
            Field::Seo,
            name(Field::Seo),
            b.map(|b| &b.seo),
            &l.seo,
            &r.seo,
            seo_eq,
            seo_value,
        );
    }
    if mask.contains(Field::SortOrder) {
        rows.field(
            Field::SortOrder,
            name(Field::SortOrder),
            b.map(|b| &b.sort_order),
            &l.sort_order,
            &r.sort_order,
            |x, y| x == y,
            |x| snake_value(*x),
        );
    }
    if mask.contains(Field::Rules) {
        rows.field(
            Field::Rules,
            name(Field::Rules),
            b.map(|b| &b.rules),
            &l.rules,
            &r.rules,
            rules_eq,
            rules_value,
        );
    }
}

// ---------------------------------------------------------------------------------
// Variants

/// The variant fields, their JSON names and how to compare and show them.
const VARIANT_FIELDS: [(Field, &str); 6] = [
    (Field::VariantPrice, "price"),
    (Field::VariantCompareAtPrice, "compare_at_price"),
    (Field::VariantSku, "sku"),
    (Field::VariantBarcode, "barcode"),
    (Field::VariantInventoryPolicy, "inventory_policy"),
    (Field::VariantOptionValues, "option_values"),
];

/// The JSON name of a variant field inside a variant (`"price"` for
/// [`Field::VariantPrice`]); `None` for a field that is not a variant field.
pub fn variant_member(field: Field) -> Option<&'static str> {
    VARIANT_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, name)| *name)
}

fn variant_field_eq(field: Field, a: &VariantSnapshot, b: &VariantSnapshot) -> bool {
    match field {
        Field::VariantPrice => a.price == b.price,
        Field::VariantCompareAtPrice => a.compare_at_price == b.compare_at_price,
        Field::VariantSku => non_empty(&a.sku) == non_empty(&b.sku),
        Field::VariantBarcode => non_empty(&a.barcode) == non_empty(&b.barcode),
        Field::VariantInventoryPolicy => a.inventory_policy == b.inventory_policy,
        Field::VariantOptionValues => option_values_eq(&a.option_values, &b.option_values),
        _ => true,
    }
}

fn variant_field_value(field: Field, v: &VariantSnapshot) -> Value {
    match field {
        Field::VariantPrice => money_value(v.price),
        Field::VariantCompareAtPrice => money_value(v.compare_at_price),
        Field::VariantSku => opt_value(non_empty(&v.sku)),
        Field::VariantBarcode => opt_value(non_empty(&v.barcode)),
        Field::VariantInventoryPolicy => snake_value(v.inventory_policy),
        Field::VariantOptionValues => option_values_value(&v.option_values),
        _ => Value::Null,
    }
}

fn variant_eq(a: &VariantSnapshot, b: &VariantSnapshot, mask: FieldMask) -> bool {
    VARIANT_FIELDS
        .iter()
        .all(|(f, _)| !mask.contains(*f) || variant_field_eq(*f, a, b))
}

/// A variant as a row value: its id (when known) and its managed fields.
fn variant_value(v: &VariantSnapshot, mask: FieldMask) -> Value {
    let mut m = Map::new();
    if let Some(id) = v.id {
        m.insert("id".into(), Value::String(id.to_string()));
    }
    for (f, name) in VARIANT_FIELDS {
        if mask.contains(f) {
            m.insert(name.into(), variant_field_value(f, v));
        }
    }
    Value::Object(m)
}

/// The key that names a variant in a path (see the [module docs](self)).
pub(crate) fn variant_key(v: &VariantSnapshot, position: usize, new: bool) -> String {
    if let Some(id) = v.id {
        return id.to_string();
    }
    if !v.option_values.is_empty() {
        let mut pairs: Vec<&SelectedOption> = v.option_values.iter().collect();
        pairs.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
        let text: Vec<String> = pairs
            .iter()
            .map(|o| format!("{}={}", o.name, o.value))
            .collect();
        return format!("options:{}", text.join("/"));
    }
    if let Some(sku) = non_empty(&v.sku) {
        return format!("sku:{sku}");
    }
    if new {
        format!("new:{position}")
    } else {
        format!("index:{position}")
    }
}

/// The keys of a base variant list, as paths name them (position = index in the list).
pub(crate) fn base_variant_keys(variants: &[VariantSnapshot]) -> Vec<String> {
    variants
        .iter()
        .enumerate()
        .map(|(i, v)| variant_key(v, i, false))
        .collect()
}

fn options_key(v: &VariantSnapshot) -> Vec<(&str, &str)> {
    let mut k: Vec<(&str, &str)> = v
        .option_values
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    k.sort_unstable();
    k
}

/// Problems within one side's variant list: repeated ids or option combinations.
fn list_errors(list: &[VariantSnapshot], side: &str, errors: &mut Vec<(String, String)>) {
    if list.len() < 2 {
        return;
    }
    if list.len() <= 32 {
        // Few variants: compare pairs, without allocating.
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if let (Some(x), Some(y)) = (a.id, b.id) {
                    if x == y {
                        errors.push((
                            x.to_string(),
                            format!("two {side} variants have the id {x}"),
                        ));
                    }
                }
                if !a.option_values.is_empty()
                    && option_values_eq(&a.option_values, &b.option_values)
                {
                    let text: Vec<String> = options_key(a)
                        .iter()
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect();
                    let text = text.join("/");
                    errors.push((
                        format!("options:{text}"),
                        format!("two {side} variants have the option values {text}"),
                    ));
                }
            }
        }
        return;
    }
    let mut ids = HashSet::with_capacity(list.len());
    for v in list {
        if let Some(id) = v.id {
            if !ids.insert(id) {
                errors.push((
                    id.to_string(),
                    format!("two {side} variants have the id {id}"),
                ));
            }
        }
    }
    let mut combos: HashMap<Vec<(&str, &str)>, usize> = HashMap::new();
    for v in list.iter().filter(|v| !v.option_values.is_empty()) {
        *combos.entry(options_key(v)).or_default() += 1;
    }
    let mut repeated: Vec<&Vec<(&str, &str)>> = combos
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    repeated.sort();
    for k in repeated {
        let text: Vec<String> = k.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let text = text.join("/");
        errors.push((
            format!("options:{text}"),
            format!("two {side} variants have the option values {text}"),
        ));
    }
}

/// Matches between two variant lists: `a_to_b[i]` is the index in `b` matched with
/// `a[i]`. Errors name the ambiguous variant.
struct Pairing {
    a_to_b: Vec<Option<usize>>,
    b_to_a: Vec<Option<usize>>,
}

fn ids_conflict(a: &VariantSnapshot, b: &VariantSnapshot) -> bool {
    matches!((a.id, b.id), (Some(x), Some(y)) if x != y)
}

/// Match `a` (the variants at `a_idx` in `a_all`) with `b` likewise (see the module
/// docs for the rules). Ambiguities are pushed to `errors`.
fn pair(
    a_all: &[VariantSnapshot],
    a_idx: &[usize],
    b_all: &[VariantSnapshot],
    b_idx: &[usize],
    errors: &mut Vec<(String, String)>,
) -> Pairing {
    let mut p = Pairing {
        a_to_b: vec![None; a_all.len()],
        b_to_a: vec![None; b_all.len()],
    };
    // 1. By id.
    if a_idx.len() * b_idx.len() > 4096 {
        let by_id: HashMap<_, usize> = b_idx
            .iter()
            .filter_map(|&j| b_all[j].id.map(|id| (id, j)))
            .collect();
        for &i in a_idx {
            if let Some(j) = a_all[i].id.and_then(|id| by_id.get(&id).copied()) {
                if p.b_to_a[j].is_none() {
                    p.a_to_b[i] = Some(j);
                    p.b_to_a[j] = Some(i);
                }
            }
        }
    } else {
        for &i in a_idx {
            let Some(id) = a_all[i].id else { continue };
            if let Some(&j) = b_idx
                .iter()
                .find(|&&j| b_all[j].id == Some(id) && p.b_to_a[j].is_none())
            {
                p.a_to_b[i] = Some(j);
                p.b_to_a[j] = Some(i);
            }
        }
    }
    let open_a: Vec<usize> = a_idx
        .iter()
        .copied()
        .filter(|&i| p.a_to_b[i].is_none())
        .collect();
    if open_a.is_empty() || b_idx.iter().all(|&j| p.b_to_a[j].is_some()) {
        return p;
    }
    // 2. By option-value combination, when unique within both lists.
    fn combos<'v>(
        all: &'v [VariantSnapshot],
        idx: &[usize],
    ) -> HashMap<Vec<(&'v str, &'v str)>, usize> {
        let mut m: HashMap<Vec<(&str, &str)>, usize> = HashMap::new();
        for &i in idx {
            *m.entry(options_key(&all[i])).or_default() += 1;
        }
        m
    }
    let (ca, cb) = (combos(a_all, a_idx), combos(b_all, b_idx));
    for &i in &open_a {
        let key = options_key(&a_all[i]);
        if ca.get(&key) != Some(&1) || cb.get(&key) != Some(&1) {
            continue;
        }
        if let Some(&j) = b_idx.iter().find(|&&j| options_key(&b_all[j]) == key) {
            if p.b_to_a[j].is_none() && !ids_conflict(&a_all[i], &b_all[j]) {
                p.a_to_b[i] = Some(j);
                p.b_to_a[j] = Some(i);
            }
        }
    }
    // 3. By SKU, when unique within both lists; a SKU that fits several open variants
    //    is ambiguous.
    fn skus<'v>(all: &'v [VariantSnapshot], idx: &[usize]) -> HashMap<&'v str, usize> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for &i in idx {
            if let Some(s) = non_empty(&all[i].sku) {
                *m.entry(s).or_default() += 1;
            }
        }
        m
    }
    let (sa, sb) = (skus(a_all, a_idx), skus(b_all, b_idx));
    for &i in &open_a {
        if p.a_to_b[i].is_some() {
            continue;
        }
        let Some(sku) = non_empty(&a_all[i].sku) else {
            continue;
        };
        let candidates: Vec<usize> = b_idx
            .iter()
            .copied()
            .filter(|&j| {
                p.b_to_a[j].is_none()
                    && non_empty(&b_all[j].sku) == Some(sku)
                    && !ids_conflict(&a_all[i], &b_all[j])
            })
            .collect();
        match candidates.as_slice() {
            [] => {}
            [j] if sa.get(sku) == Some(&1) && sb.get(sku) == Some(&1) => {
                p.a_to_b[i] = Some(*j);
                p.b_to_a[*j] = Some(i);
            }
            _ => errors.push((
                format!("sku:{sku}"),
                format!(
                    "the SKU {sku:?} is not unique (on one side {} variants have it, on the other {}): the variants cannot be matched",
                    sa.get(sku).copied().unwrap_or(0),
                    sb.get(sku).copied().unwrap_or(0),
                ),
            )),
        }
    }
    // 4. Identical variants (equal in every field but the id): a pair nobody can tell
    //    apart from another pair is only a guess when ids are at stake.
    for &i in &open_a {
        if p.a_to_b[i].is_some() {
            continue;
        }
        let a = &a_all[i];
        let candidates: Vec<usize> = b_idx
            .iter()
            .copied()
            .filter(|&j| {
                p.b_to_a[j].is_none() && same_content(a, &b_all[j]) && !ids_conflict(a, &b_all[j])
            })
            .collect();
        let Some(&first) = candidates.first() else {
            continue;
        };
        let twins = a_idx
            .iter()
            .filter(|&&k| p.a_to_b[k].is_none() && same_content(&a_all[k], &b_all[first]))
            .count();
        let interchangeable = a.id.is_none() && candidates.iter().all(|&j| b_all[j].id.is_none());
        if (candidates.len() == 1 && twins == 1) || interchangeable {
            p.a_to_b[i] = Some(first);
            p.b_to_a[first] = Some(i);
        } else {
            errors.push((
                variant_key(a, i, true),
                format!(
                    "{} identical variants cannot be told apart (no id, no unique options or SKU)",
                    candidates.len().max(twins)
                ),
            ));
        }
    }
    p
}

/// Whether two variants are equal in every field but the id.
fn same_content(a: &VariantSnapshot, b: &VariantSnapshot) -> bool {
    a.price == b.price
        && a.compare_at_price == b.compare_at_price
        && non_empty(&a.sku) == non_empty(&b.sku)
        && non_empty(&a.barcode) == non_empty(&b.barcode)
        && a.inventory_policy == b.inventory_policy
        && option_values_eq(&a.option_values, &b.option_values)
}

/// One variant across the three sides.
struct Triple {
    b: Option<usize>,
    l: Option<usize>,
    r: Option<usize>,
}

fn variants(
    out: &mut Vec<DiffRow>,
    base: Option<&[VariantSnapshot]>,
    local: &[VariantSnapshot],
    remote: &[VariantSnapshot],
    mask: FieldMask,
) {
    let base_list = base.unwrap_or(&[]);
    let mut errors = Vec::new();
    list_errors(base_list, "base", &mut errors);
    list_errors(local, "local", &mut errors);
    list_errors(remote, "remote", &mut errors);
    let sides = Sides3 {
        base: base_list,
        local,
        remote,
    };
    // The common case: the same variants, with their ids, in the same order on every
    // side. Nothing to match.
    let aligned = errors.is_empty()
        && base.is_some()
        && local.len() == base_list.len()
        && remote.len() == base_list.len()
        && base_list
            .iter()
            .zip(local)
            .zip(remote)
            .all(|((b, l), r)| b.id.is_some() && l.id == b.id && r.id == b.id);
    if aligned {
        for j in 0..base_list.len() {
            sides.emit(
                out,
                Triple {
                    b: Some(j),
                    l: Some(j),
                    r: Some(j),
                },
                mask,
            );
        }
        return;
    }
    let all = |n: usize| (0..n).collect::<Vec<usize>>();
    let (bi, li, ri) = (all(base_list.len()), all(local.len()), all(remote.len()));
    let lb = pair(local, &li, base_list, &bi, &mut errors);
    let rb = pair(remote, &ri, base_list, &bi, &mut errors);
    let l_open: Vec<usize> = li
        .iter()
        .copied()
        .filter(|&i| lb.a_to_b[i].is_none())
        .collect();
    let r_open: Vec<usize> = ri
        .iter()
        .copied()
        .filter(|&i| rb.a_to_b[i].is_none())
        .collect();
    let lr = pair(local, &l_open, remote, &r_open, &mut errors);
    if !errors.is_empty() {
        errors.sort();
        errors.dedup();
        for (key, message) in errors {
            out.push(DiffRow {
                path: format!("variants[{key}]"),
                field: None,
                kind: RowKind::Error,
                base: Value::Null,
                local: Value::Null,
                remote: Value::Null,
                message: Some(message),
            });
        }
        return;
    }
    for &j in &bi {
        sides.emit(
            out,
            Triple {
                b: Some(j),
                l: lb.b_to_a[j],
                r: rb.b_to_a[j],
            },
            mask,
        );
    }
    for &i in &l_open {
        sides.emit(
            out,
            Triple {
                b: None,
                l: Some(i),
                r: lr.a_to_b[i],
            },
            mask,
        );
    }
    for &k in &r_open {
        if lr.b_to_a[k].is_none() {
            sides.emit(
                out,
                Triple {
                    b: None,
                    l: None,
                    r: Some(k),
                },
                mask,
            );
        }
    }
}

/// The three variant lists of a product.
struct Sides3<'a> {
    base: &'a [VariantSnapshot],
    local: &'a [VariantSnapshot],
    remote: &'a [VariantSnapshot],
}

impl Sides3<'_> {
    /// The key naming the variant of a triple in paths.
    fn key(&self, t: &Triple) -> String {
        match (t.b, t.l, t.r) {
            (Some(j), ..) => variant_key(&self.base[j], j, false),
            (None, Some(i), r) => match (self.local[i].id, r) {
                (None, Some(k)) if self.remote[k].id.is_some() => {
                    variant_key(&self.remote[k], k, false)
                }
                _ => variant_key(&self.local[i], i, true),
            },
            (None, None, Some(k)) => variant_key(&self.remote[k], k, true),
            (None, None, None) => String::new(),
        }
    }

    /// The rows of one variant across the sides.
    fn emit(&self, out: &mut Vec<DiffRow>, t: Triple, mask: FieldMask) {
        let b = t.b.map(|j| &self.base[j]);
        let l = t.l.map(|i| &self.local[i]);
        let r = t.r.map(|k| &self.remote[k]);
        match (l, r) {
            (Some(l), Some(r)) => {
                let mut rows = Rows { out };
                for (f, name) in VARIANT_FIELDS {
                    if mask.contains(f) {
                        rows.field(
                            f,
                            || format!("variants[{}].{name}", self.key(&t)),
                            b,
                            l,
                            r,
                            |x, y| variant_field_eq(f, x, y),
                            |x| variant_field_value(f, x),
                        );
                    }
                }
            }
            _ => whole_entity(
                out,
                || format!("variants[{}]", self.key(&t)),
                b,
                l,
                r,
                |x, y| variant_eq(x, y, mask),
                |v| variant_value(v, mask),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------
// Field comparisons and values

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn opt_value(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn money_value(m: Option<Money>) -> Value {
    m.map_or(Value::Null, |m| Value::String(m.to_string()))
}

fn snake_value<T: SnakeName>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| Value::String(v.snake().to_owned()))
}

fn handle_eq(a: &str, b: &str) -> bool {
    a == b || normalize_handle(a) == normalize_handle(b)
}

fn tags_eq(a: &[String], b: &[String]) -> bool {
    a == b || normalize_tags(a) == normalize_tags(b)
}

fn tags_value(t: &[String]) -> Value {
    Value::Array(normalize_tags(t).into_iter().map(Value::String).collect())
}

fn seo_eq(a: &Seo, b: &Seo) -> bool {
    non_empty(&a.title) == non_empty(&b.title)
        && non_empty(&a.description) == non_empty(&b.description)
}

fn seo_value(s: &Seo) -> Value {
    let mut m = Map::new();
    m.insert("title".into(), opt_value(non_empty(&s.title)));
    m.insert("description".into(), opt_value(non_empty(&s.description)));
    Value::Object(m)
}

fn options_value(o: &[OptionSnapshot]) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

fn option_values_eq(a: &[SelectedOption], b: &[SelectedOption]) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    fn key(x: &[SelectedOption]) -> Vec<(&str, &str)> {
        let mut k: Vec<(&str, &str)> = x
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_str()))
            .collect();
        k.sort_unstable();
        k
    }
    key(a) == key(b)
}

fn option_values_value(o: &[SelectedOption]) -> Value {
    let mut sorted: Vec<&SelectedOption> = o.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
    serde_json::to_value(sorted).unwrap_or(Value::Null)
}

fn rules_eq(a: &Option<RuleSetSnapshot>, b: &Option<RuleSetSnapshot>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            if a == b {
                return true;
            }
            if a.applied_disjunctively != b.applied_disjunctively || a.rules.len() != b.rules.len()
            {
                return false;
            }
            fn key(r: &RuleSetSnapshot) -> Vec<(&str, &str, &str)> {
                let mut k: Vec<(&str, &str, &str)> = r
                    .rules
                    .iter()
                    .map(|r| (r.column.as_str(), r.relation.as_str(), r.condition.as_str()))
                    .collect();
                k.sort_unstable();
                k
            }
            key(a) == key(b)
        }
        _ => false,
    }
}

fn rules_value(r: &Option<RuleSetSnapshot>) -> Value {
    let Some(r) = r else { return Value::Null };
    let mut sorted = r.clone();
    sorted.rules.sort_by(|a, b| {
        (&a.column, &a.relation, &a.condition).cmp(&(&b.column, &b.relation, &b.condition))
    });
    serde_json::to_value(sorted).unwrap_or(Value::Null)
}

/// A product as a whole-entity row value: its managed fields.
fn masked_product(p: &ProductSnapshot, mask: FieldMask) -> Value {
    let mut m = Map::new();
    let text = |s: &str| Value::String(s.to_owned());
    for f in mask.iter() {
        let v = match f {
            Field::Title => text(&p.title),
            Field::Handle => Value::String(normalize_handle(&p.handle)),
            Field::DescriptionHtml => text(&p.description_html),
            Field::Vendor => text(&p.vendor),
            Field::ProductType => text(&p.product_type),
            Field::Status => snake_value(p.status),
            Field::Tags => tags_value(&p.tags),
            Field::Seo => seo_value(&p.seo),
            Field::Options => options_value(&p.options),
            Field::Collections => {
                let set: BTreeSet<String> = p.collections.iter().map(|c| c.to_string()).collect();
                Value::Array(set.into_iter().map(Value::String).collect())
            }
            _ => continue,
        };
        m.insert(f.as_str().into(), v);
    }
    if mask.manages_variants() {
        m.insert(
            "variants".into(),
            Value::Array(p.variants.iter().map(|v| variant_value(v, mask)).collect()),
        );
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------
// Applying rows: the inverse of the diff, for one side.

/// Where a path points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathRef<'a> {
    /// The whole entity (`product`, `collection`).
    Entity,
    /// A product or collection field (`title`).
    Field(Field),
    /// Membership of one collection.
    Collection(Gid<Collection>),
    /// A whole variant.
    Variant(&'a str),
    /// One field of a variant.
    VariantField(&'a str, Field),
}

/// Read a row's path (see the [module docs](self)).
pub(crate) fn parse_path(path: &str) -> Result<PathRef<'_>> {
    let bad = || {
        let shown: String = path.chars().take(120).collect();
        Error::invalid_input(format!("invalid diff path {shown:?}"))
    };
    if path == "product" || path == "collection" {
        return Ok(PathRef::Entity);
    }
    if let Some(rest) = path.strip_prefix("collections[") {
        let id = rest.strip_suffix(']').ok_or_else(bad)?;
        return Gid::parse(id).map(PathRef::Collection).map_err(|_| bad());
    }
    if let Some(rest) = path.strip_prefix("variants[") {
        if let Some(key) = rest.strip_suffix(']') {
            return Ok(PathRef::Variant(key));
        }
        let (key, member) = rest.rsplit_once("].").ok_or_else(bad)?;
        let field = VARIANT_FIELDS
            .iter()
            .find(|(_, name)| *name == member)
            .map(|(f, _)| *f)
            .ok_or_else(bad)?;
        return Ok(PathRef::VariantField(key, field));
    }
    let field = Field::parse(path).map_err(|_| bad())?;
    if field.is_variant_field() || field == Field::Collections {
        return Err(bad());
    }
    Ok(PathRef::Field(field))
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, name: &str, value: &Value) -> Result<T> {
    let mut m = Map::new();
    m.insert(name.to_owned(), value.clone());
    serde_json::from_value(Value::Object(m)).map_err(|e| {
        Error::invalid_input(format!("invalid value for {what} {name:?}: {e}")).with_source(e)
    })
}

/// Check that `value` can be written at `path` of an entity of this kind (used to
/// validate a reviewer's own value before it is stored).
pub(crate) fn validate_value(kind: &str, path: &str, value: &Value) -> Result<()> {
    let mut scratch_p = ProductSnapshot::default();
    let mut scratch_c = CollectionSnapshot::default();
    match parse_path(path)? {
        PathRef::Entity => Err(Error::invalid_input(
            "a whole entity cannot be given a value: take local or remote",
        )),
        PathRef::Field(f) if kind == "collection" => set_collection_field(&mut scratch_c, f, value),
        PathRef::Field(f) => set_product_field(&mut scratch_p, f, value),
        PathRef::Collection(_) => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(Error::invalid_input(
                "a collection membership value is true or false",
            )),
        },
        PathRef::Variant(_) => match value {
            Value::Null => Ok(()),
            v => decode_variant(v).map(|_| ()),
        },
        PathRef::VariantField(_, f) => {
            let mut v = VariantSnapshot::default();
            set_variant_field(&mut v, f, value)
        }
    }
}

fn decode_variant(value: &Value) -> Result<VariantSnapshot> {
    serde_json::from_value(value.clone())
        .map_err(|e| Error::invalid_input(format!("invalid variant value: {e}")).with_source(e))
}

fn set_product_field(p: &mut ProductSnapshot, field: Field, value: &Value) -> Result<()> {
    let name = field.as_str();
    let d: ProductSnapshot = decode("product field", name, value)?;
    match field {
        Field::Title => p.title = d.title,
        Field::Handle => p.handle = d.handle,
        Field::DescriptionHtml => p.description_html = d.description_html,
        Field::Vendor => p.vendor = d.vendor,
        Field::ProductType => p.product_type = d.product_type,
        Field::Status => p.status = d.status,
        Field::Tags => p.tags = d.tags,
        Field::Seo => p.seo = d.seo,
        Field::Options => p.options = d.options,
        _ => {
            return Err(Error::invalid_input(format!(
                "{name} is not a product field"
            )))
        }
    }
    Ok(())
}

fn set_collection_field(c: &mut CollectionSnapshot, field: Field, value: &Value) -> Result<()> {
    let name = field.as_str();
    let d: CollectionSnapshot = decode("collection field", name, value)?;
    match field {
        Field::Title => c.title = d.title,
        Field::Handle => c.handle = d.handle,
        Field::DescriptionHtml => c.description_html = d.description_html,
        Field::Seo => c.seo = d.seo,
        Field::SortOrder => c.sort_order = d.sort_order,
        Field::Rules => c.rules = d.rules,
        _ => {
            return Err(Error::invalid_input(format!(
                "{name} is not a collection field"
            )))
        }
    }
    Ok(())
}

fn set_variant_field(v: &mut VariantSnapshot, field: Field, value: &Value) -> Result<()> {
    let name = variant_member(field)
        .ok_or_else(|| Error::invalid_input(format!("{field} is not a variant field")))?;
    let d: VariantSnapshot = decode("variant field", name, value)?;
    match field {
        Field::VariantPrice => v.price = d.price,
        Field::VariantCompareAtPrice => v.compare_at_price = d.compare_at_price,
        Field::VariantSku => v.sku = d.sku,
        Field::VariantBarcode => v.barcode = d.barcode,
        Field::VariantInventoryPolicy => v.inventory_policy = d.inventory_policy,
        Field::VariantOptionValues => v.option_values = d.option_values,
        _ => {}
    }
    Ok(())
}

/// Write `(path, value)` pairs into a product: the inverse of the diff for one side.
/// `base` is the starting point (`None`: an empty product). Returns `None` when a pair
/// deletes the product (`("product", null)`).
///
/// Paths are read as the diff writes them; variant keys are looked up among the
/// base's variants (as the diff named them). Fails with
/// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) on a path or
/// value it cannot read, or a variant key the base does not have.
///
/// ```
/// use serde_json::json;
/// use shopify_sync::staging::{patch_product, ProductSnapshot};
///
/// let base: ProductSnapshot = serde_json::from_str(
///     r#"{"title": "Tee", "variants": [{"sku": "T-1", "price": "10"}]}"#).unwrap();
/// let title = json!("Tee 2");
/// let price = json!("12.50");
/// let patched = patch_product(Some(&base), [("title", &title), ("variants[sku:T-1].price", &price)])?
///     .expect("not deleted");
/// assert_eq!(patched.title, "Tee 2");
/// assert_eq!(patched.variants[0].price.unwrap().to_string(), "12.50");
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
pub fn patch_product<'v>(
    base: Option<&ProductSnapshot>,
    writes: impl IntoIterator<Item = (&'v str, &'v Value)>,
) -> Result<Option<ProductSnapshot>> {
    let mut p = base.cloned().unwrap_or_default();
    let keys = base_variant_keys(&p.variants);
    let mut removed = vec![false; p.variants.len()];
    let mut added = Vec::new();
    let find = |key: &str| {
        keys.iter().position(|k| k == key).ok_or_else(|| {
            Error::invalid_input(format!("no variant {key:?} in the base to write to"))
        })
    };
    for (path, value) in writes {
        match parse_path(path)? {
            PathRef::Entity => {
                if value.is_null() {
                    return Ok(None);
                }
                let whole: ProductSnapshot = serde_json::from_value(value.clone())
                    .map_err(|e| Error::invalid_input(format!("invalid product value: {e}")))?;
                p = whole;
            }
            PathRef::Field(f) => set_product_field(&mut p, f, value)?,
            PathRef::Collection(id) => match value {
                Value::Bool(true) => {
                    if !p.collections.contains(&id) {
                        p.collections.push(id);
                    }
                }
                Value::Bool(false) => p.collections.retain(|c| *c != id),
                _ => {
                    return Err(Error::invalid_input(
                        "a collection membership value is true or false",
                    ))
                }
            },
            PathRef::Variant(key) => match (value, keys.iter().position(|k| k == key)) {
                (Value::Null, Some(i)) => removed[i] = true,
                (Value::Null, None) => {}
                (v, Some(i)) => {
                    p.variants[i] = decode_variant(v)?;
                    removed[i] = false;
                }
                (v, None) => added.push(decode_variant(v)?),
            },
            PathRef::VariantField(key, f) => {
                let i = find(key)?;
                set_variant_field(&mut p.variants[i], f, value)?;
            }
        }
    }
    let mut i = 0;
    p.variants.retain(|_| {
        let keep = !removed[i];
        i += 1;
        keep
    });
    p.variants.extend(added);
    Ok(Some(p.normalized()))
}

/// [`patch_product`] for a collection.
pub fn patch_collection<'v>(
    base: Option<&CollectionSnapshot>,
    writes: impl IntoIterator<Item = (&'v str, &'v Value)>,
) -> Result<Option<CollectionSnapshot>> {
    let mut c = base.cloned().unwrap_or_default();
    for (path, value) in writes {
        match parse_path(path)? {
            PathRef::Entity => {
                if value.is_null() {
                    return Ok(None);
                }
                c = serde_json::from_value(value.clone())
                    .map_err(|e| Error::invalid_input(format!("invalid collection value: {e}")))?;
            }
            PathRef::Field(f) => set_collection_field(&mut c, f, value)?,
            _ => {
                return Err(Error::invalid_input(format!(
                    "{path:?} is not a collection path"
                )))
            }
        }
    }
    Ok(Some(c.normalized()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> ProductSnapshot {
        serde_json::from_value(v).expect("a product snapshot")
    }

    fn kinds(rows: &[DiffRow]) -> Vec<(String, RowKind)> {
        rows.iter().map(|r| (r.path.clone(), r.kind)).collect()
    }

    const V1: &str = "gid://shopify/ProductVariant/1";
    const V2: &str = "gid://shopify/ProductVariant/2";

    #[test]
    fn classification_table() {
        let base = p(json!({"title": "a", "vendor": "v", "product_type": "t", "handle": "h"}));
        let local = p(json!({"title": "b", "vendor": "v", "product_type": "x", "handle": "h2"}));
        let remote = p(json!({"title": "a", "vendor": "w", "product_type": "x", "handle": "h3"}));
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&remote),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert_eq!(
            kinds(&rows),
            [
                ("title".into(), RowKind::Local),
                ("handle".into(), RowKind::Conflict),
                ("vendor".into(), RowKind::Remote),
                ("product_type".into(), RowKind::Converged),
            ]
        );
        // Without a base, any difference is a conflict; equal values are no row.
        let rows = diff_product(
            None,
            Some(&local),
            Some(&remote),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert!(rows.iter().all(|r| r.kind == RowKind::Conflict));
        assert!(!rows.iter().any(|r| r.path == "product_type"));
    }

    #[test]
    fn normalisations_are_not_changes() {
        let base = p(
            json!({"handle": "Graph Tee", "tags": ["a", "B"], "seo": {"title": ""},
            "variants": [{"id": V1, "price": "10", "sku": ""}]}),
        );
        let local = p(
            json!({"handle": "graph-tee", "tags": " B, a,a ", "seo": {"title": null},
            "variants": [{"id": V1, "price": "10.00", "sku": null}]}),
        );
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert_eq!(rows, []);
    }

    #[test]
    fn variants_match_by_id_then_options_then_sku() {
        let base = p(json!({"variants": [
            {"id": V1, "price": "1", "option_values": [{"name": "Size", "value": "S"}], "sku": "A"},
            {"id": V2, "price": "2", "option_values": [{"name": "Size", "value": "M"}], "sku": "B"}
        ]}));
        // Local lost the ids; M is found by its options, S by its SKU after a rename.
        let local = p(json!({"variants": [
            {"price": "2", "option_values": [{"name": "Size", "value": "M"}], "sku": "B"},
            {"price": "5", "option_values": [{"name": "Size", "value": "Small"}], "sku": "A"}
        ]}));
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert_eq!(
            kinds(&rows),
            [
                (format!("variants[{V1}].price"), RowKind::Local),
                (format!("variants[{V1}].option_values"), RowKind::Local),
            ]
        );
    }

    #[test]
    fn ambiguous_skus_are_errors_not_guesses() {
        let base = p(json!({"variants": [
            {"id": V1, "sku": "X", "price": "1"}, {"id": V2, "sku": "X", "price": "2"}
        ]}));
        let local = p(json!({"variants": [{"sku": "X", "price": "3"}]}));
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert_eq!(kinds(&rows), [("variants[sku:X]".into(), RowKind::Error)]);
        assert!(rows[0].message.as_deref().unwrap().contains("not unique"));
    }

    #[test]
    fn created_and_deleted_variants() {
        let base = p(json!({"variants": [{"id": V1, "price": "1"}, {"id": V2, "price": "2"}]}));
        let local =
            p(json!({"variants": [{"id": V1, "price": "1"}, {"sku": "NEW", "price": "3"}]}));
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &DiffOptions::default(),
        );
        assert_eq!(
            kinds(&rows),
            [
                (format!("variants[{V2}]"), RowKind::Local),
                ("variants[sku:NEW]".into(), RowKind::Local),
            ]
        );
        assert_eq!(rows[0].local, Value::Null);
        assert_eq!(rows[1].local["price"], "3");
        let writes: Vec<(&str, &Value)> =
            rows.iter().map(|r| (r.path.as_str(), &r.local)).collect();
        let patched = patch_product(Some(&base), writes).unwrap().unwrap();
        assert!(product_eq(&patched, &local, FieldMask::ALL));
    }

    #[test]
    fn membership_rows_and_smart_collections() {
        let c1 = "gid://shopify/Collection/1";
        let c2 = "gid://shopify/Collection/2";
        let base = p(json!({"collections": [c1]}));
        let local = p(json!({"collections": [c2]}));
        let mut opts = DiffOptions::default();
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &opts,
        );
        assert_eq!(
            kinds(&rows),
            [
                (format!("collections[{c1}]"), RowKind::Local),
                (format!("collections[{c2}]"), RowKind::Local),
            ]
        );
        assert_eq!(rows[0].local, false);
        opts.smart_collections.insert(Gid::parse(c2).unwrap());
        let rows = diff_product(
            Some(&base),
            Some(&local),
            Some(&base),
            FieldMask::ALL,
            &opts,
        );
        assert_eq!(rows[1].kind, RowKind::Error);
    }

    #[test]
    fn whole_entities() {
        let base = p(json!({"title": "a"}));
        let edited = p(json!({"title": "b"}));
        let o = DiffOptions::default();
        let m = FieldMask::ALL;
        let k = |rows: Vec<DiffRow>| kinds(&rows);
        assert_eq!(
            k(diff_product(Some(&base), None, Some(&base), m, &o)),
            [("product".into(), RowKind::Local)]
        );
        assert_eq!(
            k(diff_product(Some(&base), None, Some(&edited), m, &o)),
            [("product".into(), RowKind::Conflict)]
        );
        assert_eq!(
            k(diff_product(Some(&base), Some(&base), None, m, &o)),
            [("product".into(), RowKind::Remote)]
        );
        assert_eq!(
            k(diff_product(Some(&base), None, None, m, &o)),
            [("product".into(), RowKind::Converged)]
        );
        assert_eq!(k(diff_product(None, None, None, m, &o)), []);
        let created = diff_product(None, Some(&edited), None, m, &o);
        assert_eq!(k(created.clone()), [("title".into(), RowKind::Local)]);
        assert_eq!(created[0].base, Value::Null);
    }

    #[test]
    fn paths_parse_back() {
        assert_eq!(parse_path("title").unwrap(), PathRef::Field(Field::Title));
        assert_eq!(
            parse_path("variants[options:Size=S].price").unwrap(),
            PathRef::VariantField("options:Size=S", Field::VariantPrice)
        );
        assert_eq!(
            parse_path("variants[sku:a].b]").unwrap(),
            PathRef::Variant("sku:a].b")
        );
        for bad in [
            "",
            "variant_price",
            "variants[x].nope",
            "collections[x]",
            "collections",
            "titl",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mixed_kinds_are_refused() {
        let a = Snapshot::Product(ProductSnapshot::default());
        let b = Snapshot::Collection(CollectionSnapshot::default());
        assert!(diff(Some(&a), Some(&b), None, FieldMask::ALL).is_err());
    }
}
