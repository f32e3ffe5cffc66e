//! [`Fingerprint`]: a stable, versioned hash of a snapshot under a field mask.
//!
//! # Format, version 1
//!
//! A fingerprint is written `v1:` followed by 64 lowercase hex digits: the SHA-256 of
//! the UTF-8 bytes of the snapshot's *canonical document* under the mask. Two snapshots
//! have the same fingerprint exactly when their canonical documents are the same bytes.
//! This section is the whole specification: another implementation that follows it
//! reproduces every fingerprint of `tests/vectors/fingerprint.json`, which also carries
//! each case's canonical document.
//!
//! ## The canonical document
//!
//! JSON with no whitespace between tokens, object keys in ascending byte order, no
//! numbers, and strings written as `"` + the string's characters + `"`, where `"` is
//! written `\"`, `\` is `\\`, U+0008 `\b`, U+0009 `\t`, U+000A `\n`, U+000C `\f`,
//! U+000D `\r`, any other character below U+0020 `\u00XX` with lowercase hex, and every
//! other character as itself in UTF-8 (no `\/`, no `\uXXXX` above U+001F). This is what
//! Python's `json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)`
//! writes for such a document, and what `JSON.stringify` writes when keys are inserted in
//! sorted order.
//!
//! The document is `{"fields":F,"kind":K}` where `K` is `"product"` or `"collection"`
//! and `F` is an object with one key per *managed* field that applies to the kind (see
//! [`FieldMask`]); an unmanaged field is absent, not `null`. Below, `S(x)` is a string,
//! `N(x)` is a string or `null` when `x` is absent *or empty*, `D(x)` is the canonical
//! decimal of a price or `null` when it is absent, and "sorted" means the array elements
//! are ordered by the bytes of their own canonical encoding (duplicates are kept unless
//! said otherwise).
//!
//! Product fields (`K = "product"`):
//!
//! | key | value |
//! | --- | --- |
//! | `collections` | sorted array of collection gid strings (`"gid://shopify/Collection/1"`), duplicates removed |
//! | `description_html` | `S`, exactly as given |
//! | `handle` | `S`, normalised by [`normalize_handle`] |
//! | `options` | array, in the given order, of `{"name":S,"values":[S,...]}` (values in the given order) |
//! | `product_type` | `S`, exactly |
//! | `seo` | `{"description":N,"title":N}` (managed as one field, [`Field::Seo`]) |
//! | `status` | `"active"`, `"archived"`, `"draft"`, `"unlisted"` or `null` |
//! | `tags` | array of `S`, normalised and ordered by [`normalize_tags`] |
//! | `title` | `S`, exactly |
//! | `variants` | present when any `variant_*` field is managed: sorted array of one object per variant (see below) |
//! | `vendor` | `S`, exactly |
//!
//! Each variant object has one key per managed variant field: `barcode` (`N`),
//! `compare_at_price` (`D`), `inventory_policy` (`"deny"`, `"continue"` or `null`),
//! `option_values` (sorted array of `{"name":S,"value":S}`), `price` (`D`), `sku`
//! (`N`). The variant's id is never written. Because the variants are sorted by their
//! encoding under the mask, the order variants are listed in never matters; with only
//! `variant_price` managed, a product fingerprints as the multiset of its prices.
//!
//! Collection fields (`K = "collection"`): `description_html` (`S`), `handle` (`S`,
//! [`normalize_handle`]), `rules` (`null` for a custom collection, else
//! `{"applied_disjunctively":true|false,"rules":R}` where `R` is the sorted array of
//! `{"column":S,"condition":S,"relation":S}`, strings exactly as given), `seo` (as for
//! products), `sort_order` (snake_case, e.g. `"best_selling"`, or `null`), `title`
//! (`S`).
//!
//! The canonical decimal of a price: its value with no exponent, no `+`, no leading zeros
//! before the units digit, no trailing zeros after the point and no point when nothing
//! follows it, `-` before a negative value, and `0` for zero: `"10.00"` -> `10`,
//! `"0.50"` -> `0.5`, `"-0.0"` -> `0`, `"007.10"` would be `7.1`.
//!
//! ```
//! use shopify_sync::staging::{canonical_product, Field, FieldMask, ProductSnapshot};
//!
//! let snap: ProductSnapshot = serde_json::from_str(r#"{
//!     "title": "Tee", "tags": ["b", " A "],
//!     "variants": [{"price": "10.50", "sku": "T-1"}, {"price": "9", "sku": ""}]
//! }"#).unwrap();
//! let mask = FieldMask::of(&[Field::Tags, Field::Title, Field::VariantPrice, Field::VariantSku]);
//! assert_eq!(
//!     canonical_product(&snap, mask),
//!     r#"{"fields":{"tags":["A","b"],"title":"Tee","variants":[{"price":"10.5","sku":"T-1"},{"price":"9","sku":null}]},"kind":"product"}"#
//! );
//! let fp = snap.fingerprint(mask);
//! assert!(fp.to_string().starts_with("v1:"));
//! assert_eq!(fp.to_string().len(), 67);
//! ```
//!
//! ## What version 1 does not cover
//!
//! Variant positions, inventory quantities, media, metafields, publications and
//! timestamps. A later version that adds any of them, or changes a normalisation, gets a
//! new prefix (`v2:`); fingerprints of different versions are never equal.

use super::mask::{Field, FieldMask};
use super::snapshot::{
    normalize_handle, normalize_tags, CollectionSnapshot, ProductSnapshot, SnakeName,
    VariantSnapshot,
};
use crate::error::{Error, Result};
use crate::model::{Money, Seo};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// A version 1 fingerprint: the SHA-256 of a snapshot's canonical document under a mask
/// (see the [module docs](self) for the exact bytes). Written and read as `v1:<64 hex>`.
///
/// Copy, 32 bytes; equality is byte equality.
///
/// ```
/// use shopify_sync::staging::{Field, FieldMask, Fingerprint, ProductSnapshot};
///
/// let a: ProductSnapshot = serde_json::from_str(r#"{"title": "Tee", "tags": ["b", "a"]}"#).unwrap();
/// let b: ProductSnapshot = serde_json::from_str(r#"{"title": "Tee", "tags": " a, b, A"}"#).unwrap();
/// let mask = FieldMask::of(&[Field::Title, Field::Tags]);
/// assert_eq!(a.fingerprint(mask), b.fingerprint(mask));
///
/// let text = a.fingerprint(mask).to_string();
/// assert_eq!(text.parse::<Fingerprint>()?, a.fingerprint(mask));
/// assert!(Fingerprint::parse("v2:00").is_err());
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The version prefix this library writes, without the colon.
    pub const VERSION: &'static str = "v1";

    /// The fingerprint of a product snapshot under `mask`.
    pub fn of_product(snapshot: &ProductSnapshot, mask: FieldMask) -> Fingerprint {
        Fingerprint::of_canonical(&canonical_product(snapshot, mask))
    }

    /// The fingerprint of a collection snapshot under `mask`.
    pub fn of_collection(snapshot: &CollectionSnapshot, mask: FieldMask) -> Fingerprint {
        Fingerprint::of_canonical(&canonical_collection(snapshot, mask))
    }

    /// The fingerprint of a canonical document (the SHA-256 of its bytes).
    pub fn of_canonical(canonical: &str) -> Fingerprint {
        Fingerprint(Sha256::digest(canonical.as_bytes()).into())
    }

    /// The fingerprint with this digest.
    pub const fn from_digest(digest: [u8; 32]) -> Fingerprint {
        Fingerprint(digest)
    }

    /// The SHA-256 digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// Read `v1:` followed by 64 hex digits (either case). Anything else, including
    /// another version, fails with
    /// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput).
    pub fn parse(input: &str) -> Result<Fingerprint> {
        let fail = |why: &str| {
            let shown: String = input.chars().take(80).collect();
            Error::invalid_input(format!("invalid fingerprint {shown:?}: {why}"))
        };
        let Some(hex) = input.strip_prefix("v1:") else {
            return Err(fail("expected \"v1:\" followed by 64 hex digits"));
        };
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(fail("expected 64 hex digits after \"v1:\""));
        }
        let mut digest = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            match (hex_value(pair[0]), hex_value(pair[1])) {
                (Some(hi), Some(lo)) => digest[i] = hi << 4 | lo,
                _ => return Err(fail("not a hex digit")),
            }
        }
        Ok(Fingerprint(digest))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 67];
        out[..3].copy_from_slice(b"v1:");
        for (i, b) in self.0.iter().enumerate() {
            out[3 + 2 * i] = HEX[usize::from(b >> 4)];
            out[4 + 2 * i] = HEX[usize::from(b & 0xf)];
        }
        // Only ASCII was written.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint(\"{self}\")")
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Fingerprint> {
        Fingerprint::parse(s)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct FpVisitor;
        impl Visitor<'_> for FpVisitor {
            type Value = Fingerprint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fingerprint string \"v1:<64 hex digits>\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Fingerprint, E> {
                Fingerprint::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(FpVisitor)
    }
}

/// The canonical document of a product snapshot under `mask` (see the
/// [module docs](self)); its SHA-256 is the fingerprint.
pub fn canonical_product(snapshot: &ProductSnapshot, mask: FieldMask) -> String {
    let mut w = Canon::with_capacity(256);
    w.raw("{\"fields\":{");
    let mut obj = Obj::default();
    if mask.contains(Field::Collections) {
        let mut ids: Vec<String> = snapshot
            .collections
            .iter()
            .map(|id| {
                let mut c = Canon::with_capacity(40);
                c.display_str(id);
                c.0
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        obj.key(&mut w, "collections");
        w.sorted_array(ids);
    }
    if mask.contains(Field::DescriptionHtml) {
        obj.key(&mut w, "description_html");
        w.str(&snapshot.description_html);
    }
    if mask.contains(Field::Handle) {
        obj.key(&mut w, "handle");
        w.str(&normalize_handle(&snapshot.handle));
    }
    if mask.contains(Field::Options) {
        obj.key(&mut w, "options");
        w.raw("[");
        for (i, option) in snapshot.options.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.raw("{\"name\":");
            w.str(&option.name);
            w.raw(",\"values\":[");
            for (j, value) in option.values.iter().enumerate() {
                if j > 0 {
                    w.raw(",");
                }
                w.str(value);
            }
            w.raw("]}");
        }
        w.raw("]");
    }
    if mask.contains(Field::ProductType) {
        obj.key(&mut w, "product_type");
        w.str(&snapshot.product_type);
    }
    if mask.contains(Field::Seo) {
        obj.key(&mut w, "seo");
        w.seo(&snapshot.seo);
    }
    if mask.contains(Field::Status) {
        obj.key(&mut w, "status");
        w.opt_str(snapshot.status.map(SnakeName::snake));
    }
    if mask.contains(Field::Tags) {
        obj.key(&mut w, "tags");
        w.raw("[");
        for (i, tag) in normalize_tags(&snapshot.tags).iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.str(tag);
        }
        w.raw("]");
    }
    if mask.contains(Field::Title) {
        obj.key(&mut w, "title");
        w.str(&snapshot.title);
    }
    if mask.manages_variants() {
        obj.key(&mut w, "variants");
        let variants: Vec<String> = snapshot
            .variants
            .iter()
            .map(|v| canonical_variant(v, mask))
            .collect();
        w.sorted_array(variants);
    }
    if mask.contains(Field::Vendor) {
        obj.key(&mut w, "vendor");
        w.str(&snapshot.vendor);
    }
    w.raw("},\"kind\":\"product\"}");
    w.0
}

fn canonical_variant(v: &VariantSnapshot, mask: FieldMask) -> String {
    let mut w = Canon::with_capacity(96);
    let mut obj = Obj::default();
    w.raw("{");
    if mask.contains(Field::VariantBarcode) {
        obj.key(&mut w, "barcode");
        w.opt_str(non_empty(v.barcode.as_deref()));
    }
    if mask.contains(Field::VariantCompareAtPrice) {
        obj.key(&mut w, "compare_at_price");
        w.decimal(v.compare_at_price);
    }
    if mask.contains(Field::VariantInventoryPolicy) {
        obj.key(&mut w, "inventory_policy");
        w.opt_str(v.inventory_policy.map(SnakeName::snake));
    }
    if mask.contains(Field::VariantOptionValues) {
        obj.key(&mut w, "option_values");
        let values: Vec<String> = v
            .option_values
            .iter()
            .map(|o| {
                let mut c = Canon::with_capacity(32);
                c.raw("{\"name\":");
                c.str(&o.name);
                c.raw(",\"value\":");
                c.str(&o.value);
                c.raw("}");
                c.0
            })
            .collect();
        w.sorted_array(values);
    }
    if mask.contains(Field::VariantPrice) {
        obj.key(&mut w, "price");
        w.decimal(v.price);
    }
    if mask.contains(Field::VariantSku) {
        obj.key(&mut w, "sku");
        w.opt_str(non_empty(v.sku.as_deref()));
    }
    w.raw("}");
    w.0
}

/// The canonical document of a collection snapshot under `mask` (see the
/// [module docs](self)).
pub fn canonical_collection(snapshot: &CollectionSnapshot, mask: FieldMask) -> String {
    let mut w = Canon::with_capacity(192);
    w.raw("{\"fields\":{");
    let mut obj = Obj::default();
    if mask.contains(Field::DescriptionHtml) {
        obj.key(&mut w, "description_html");
        w.str(&snapshot.description_html);
    }
    if mask.contains(Field::Handle) {
        obj.key(&mut w, "handle");
        w.str(&normalize_handle(&snapshot.handle));
    }
    if mask.contains(Field::Rules) {
        obj.key(&mut w, "rules");
        match &snapshot.rules {
            None => w.raw("null"),
            Some(set) => {
                w.raw("{\"applied_disjunctively\":");
                w.raw(if set.applied_disjunctively {
                    "true"
                } else {
                    "false"
                });
                w.raw(",\"rules\":");
                let rules: Vec<String> = set
                    .rules
                    .iter()
                    .map(|r| {
                        let mut c = Canon::with_capacity(64);
                        c.raw("{\"column\":");
                        c.str(&r.column);
                        c.raw(",\"condition\":");
                        c.str(&r.condition);
                        c.raw(",\"relation\":");
                        c.str(&r.relation);
                        c.raw("}");
                        c.0
                    })
                    .collect();
                w.sorted_array(rules);
                w.raw("}");
            }
        }
    }
    if mask.contains(Field::Seo) {
        obj.key(&mut w, "seo");
        w.seo(&snapshot.seo);
    }
    if mask.contains(Field::SortOrder) {
        obj.key(&mut w, "sort_order");
        w.opt_str(snapshot.sort_order.map(SnakeName::snake));
    }
    if mask.contains(Field::Title) {
        obj.key(&mut w, "title");
        w.str(&snapshot.title);
    }
    w.raw("},\"kind\":\"collection\"}");
    w.0
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Writes canonical JSON into a string.
struct Canon(String);

/// Tracks whether an object needs a comma before its next key (keys are written in
/// ascending order by the callers; a test checks that).
#[derive(Default)]
struct Obj {
    started: bool,
}

impl Obj {
    fn key(&mut self, w: &mut Canon, key: &str) {
        if self.started {
            w.raw(",");
        }
        self.started = true;
        w.str(key);
        w.raw(":");
    }
}

impl Canon {
    fn with_capacity(n: usize) -> Canon {
        Canon(String::with_capacity(n))
    }

    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn str(&mut self, s: &str) {
        let out = &mut self.0;
        out.reserve(s.len() + 2);
        out.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        while let Some(offset) = bytes[start..]
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        {
            let i = start + offset;
            // The byte is ASCII, so `i` is a char boundary.
            out.push_str(&s[start..i]);
            match bytes[i] {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                0x08 => out.push_str("\\b"),
                0x09 => out.push_str("\\t"),
                0x0a => out.push_str("\\n"),
                0x0c => out.push_str("\\f"),
                0x0d => out.push_str("\\r"),
                b => {
                    // Infallible for a String.
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
        out.push_str(&s[start..]);
        out.push('"');
    }

    fn display_str(&mut self, value: &impl fmt::Display) {
        self.str(&value.to_string());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    fn decimal(&mut self, value: Option<Money>) {
        match value {
            Some(m) => {
                self.0.push('"');
                // Infallible for a String.
                let _ = write!(self.0, "{}", m.normalized());
                self.0.push('"');
            }
            None => self.raw("null"),
        }
    }

    fn seo(&mut self, seo: &Seo) {
        self.raw("{\"description\":");
        self.opt_str(non_empty(seo.description.as_deref()));
        self.raw(",\"title\":");
        self.opt_str(non_empty(seo.title.as_deref()));
        self.raw("}");
    }

    /// Write already-encoded elements, sorted by their bytes.
    fn sorted_array(&mut self, mut items: Vec<String>) {
        items.sort_unstable();
        self.raw("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.raw(item);
        }
        self.raw("]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CollectionRule, SelectedOption};
    use crate::staging::{OptionSnapshot, RuleSetSnapshot};
    use serde_json::{json, Value};

    fn product(value: Value) -> ProductSnapshot {
        serde_json::from_value(value).unwrap()
    }

    /// Object keys appear in ascending byte order, at every depth.
    fn assert_sorted_keys(doc: &str) {
        fn walk(v: &Value) {
            match v {
                Value::Object(m) => {
                    let keys: Vec<&String> = m.keys().collect();
                    let mut sorted = keys.clone();
                    sorted.sort();
                    assert_eq!(keys, sorted);
                    m.values().for_each(walk);
                }
                Value::Array(a) => a.iter().for_each(walk),
                _ => {}
            }
        }
        walk(&serde_json::from_str(doc).unwrap());
    }

    fn full() -> ProductSnapshot {
        product(json!({
            "title": "Graph \"Tee\"\n", "handle": "Graph Tee", "description_html": "<p>\u{1}</p>",
            "vendor": "Hermes", "product_type": "Shirts", "status": "unlisted",
            "tags": ["b", "a"], "seo": {"title": "T", "description": ""},
            "options": [{"name": "Color", "values": ["Blue", "Black"]}],
            "variants": [
                {"id": "gid://shopify/ProductVariant/2", "price": "89.990", "compare_at_price": "100",
                 "sku": "S", "barcode": "", "inventory_policy": "continue",
                 "option_values": [{"name": "Size", "value": "M"}, {"name": "Color", "value": "Blue"}]},
                {"price": "0.00"}
            ],
            "collections": ["gid://shopify/Collection/2", "gid://shopify/Collection/10", "gid://shopify/Collection/2"]
        }))
    }

    #[test]
    fn canonical_product_under_all_fields() {
        let doc = canonical_product(&full(), FieldMask::ALL);
        assert_sorted_keys(&doc);
        assert_eq!(
            doc,
            concat!(
                r#"{"fields":{"collections":["gid://shopify/Collection/10","gid://shopify/Collection/2"],"#,
                r#""description_html":"<p>\u0001</p>","handle":"graph-tee","#,
                r#""options":[{"name":"Color","values":["Blue","Black"]}],"product_type":"Shirts","#,
                r#""seo":{"description":null,"title":"T"},"status":"unlisted","tags":["a","b"],"#,
                r#""title":"Graph \"Tee\"\n","variants":["#,
                r#"{"barcode":null,"compare_at_price":"100","inventory_policy":"continue","#,
                r#""option_values":[{"name":"Color","value":"Blue"},{"name":"Size","value":"M"}],"price":"89.99","sku":"S"},"#,
                r#"{"barcode":null,"compare_at_price":null,"inventory_policy":null,"option_values":[],"price":"0","sku":null}"#,
                r#"],"vendor":"Hermes"},"kind":"product"}"#
            )
        );
        // serde_json agrees on the escaping.
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["fields"]["title"], "Graph \"Tee\"\n");
    }

    #[test]
    fn unmanaged_fields_are_absent() {
        assert_eq!(
            canonical_product(&full(), FieldMask::EMPTY),
            r#"{"fields":{},"kind":"product"}"#
        );
        assert_eq!(
            canonical_product(&full(), FieldMask::COLLECTION.without(Field::Seo)),
            r#"{"fields":{"description_html":"<p>\u0001</p>","handle":"graph-tee","title":"Graph \"Tee\"\n"},"kind":"product"}"#
        );
        let mut other = full();
        other.vendor = "Someone else".into();
        let mask = FieldMask::ALL.without(Field::Vendor);
        assert_eq!(full().fingerprint(mask), other.fingerprint(mask));
        assert_ne!(
            full().fingerprint(FieldMask::ALL),
            other.fingerprint(FieldMask::ALL)
        );
        // Variant ids never count.
        let mut renumbered = full();
        renumbered.variants[0].id = None;
        assert_eq!(
            full().fingerprint(FieldMask::ALL),
            renumbered.fingerprint(FieldMask::ALL)
        );
    }

    #[test]
    fn every_field_changes_the_fingerprint_when_managed() {
        let base = full();
        type Edit = Box<dyn Fn(&mut ProductSnapshot)>;
        let edits: Vec<(Field, Edit)> = vec![
            (Field::Title, Box::new(|p| p.title.push('!'))),
            (Field::Handle, Box::new(|p| p.handle.push('x'))),
            (
                Field::DescriptionHtml,
                Box::new(|p| p.description_html.clear()),
            ),
            (Field::Vendor, Box::new(|p| p.vendor.clear())),
            (Field::ProductType, Box::new(|p| p.product_type.clear())),
            (Field::Status, Box::new(|p| p.status = None)),
            (Field::Tags, Box::new(|p| p.tags.push("c".into()))),
            (
                Field::Seo,
                Box::new(|p| p.seo.description = Some("d".into())),
            ),
            (
                Field::Options,
                Box::new(|p| {
                    p.options.push(OptionSnapshot {
                        name: "Size".into(),
                        values: vec![],
                    })
                }),
            ),
            (
                Field::Collections,
                Box::new(|p| {
                    p.collections
                        .push(crate::model::Gid::from_numeric_id(5).unwrap())
                }),
            ),
            (
                Field::VariantPrice,
                Box::new(|p| p.variants[0].price = Some(Money::parse("1").unwrap())),
            ),
            (
                Field::VariantCompareAtPrice,
                Box::new(|p| p.variants[0].compare_at_price = None),
            ),
            (Field::VariantSku, Box::new(|p| p.variants[0].sku = None)),
            (
                Field::VariantBarcode,
                Box::new(|p| p.variants[0].barcode = Some("1".into())),
            ),
            (
                Field::VariantInventoryPolicy,
                Box::new(|p| p.variants[0].inventory_policy = None),
            ),
            (
                Field::VariantOptionValues,
                Box::new(|p| {
                    p.variants[0].option_values.push(SelectedOption {
                        name: "X".into(),
                        value: "Y".into(),
                    })
                }),
            ),
        ];
        for (field, edit) in edits {
            let mut changed = base.clone();
            edit(&mut changed);
            let only = FieldMask::of(&[field]);
            assert_ne!(base.fingerprint(only), changed.fingerprint(only), "{field}");
            let others = FieldMask::ALL.without(field);
            assert_eq!(
                base.fingerprint(others),
                changed.fingerprint(others),
                "{field}"
            );
        }
    }

    #[test]
    fn spelling_only_differences_do_not_count() {
        let a = product(json!({"handle": "graph-tee", "tags": ["Red", "big sale"],
            "seo": {"title": null},
            "variants": [{"price": "10", "sku": null}, {"price": "5.5", "option_values": [
                {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
            "collections": ["gid://shopify/Collection/1"]}));
        let b = product(
            json!({"handle": "  Graph TEE ", "tags": " big sale ,Red,RED, red",
            "seo": {"title": ""},
            "variants": [{"price": "5.50", "option_values": [
                {"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}, {"price": "10.00", "sku": ""}],
            "collections": ["1", "gid://shopify/Collection/1"]}),
        );
        assert_eq!(
            canonical_product(&a, FieldMask::ALL),
            canonical_product(&b, FieldMask::ALL)
        );
        assert_eq!(a.fingerprint(FieldMask::ALL), b.fingerprint(FieldMask::ALL));
        // Case of the first spelling is content.
        let c = product(json!({"tags": ["red"]}));
        let d = product(json!({"tags": ["Red"]}));
        assert_ne!(c.fingerprint(FieldMask::ALL), d.fingerprint(FieldMask::ALL));
    }

    #[test]
    fn collections_canonical_form() {
        let c = CollectionSnapshot {
            title: "Under ten".into(),
            handle: "Under Ten".into(),
            description_html: String::new(),
            seo: Seo::default(),
            sort_order: Some(crate::model::CollectionSortOrder::BestSelling),
            rules: Some(RuleSetSnapshot {
                applied_disjunctively: true,
                rules: vec![
                    CollectionRule {
                        column: "VARIANT_PRICE".into(),
                        relation: "LESS_THAN".into(),
                        condition: "10".into(),
                    },
                    CollectionRule {
                        column: "TAG".into(),
                        relation: "EQUALS".into(),
                        condition: "sale".into(),
                    },
                ],
            }),
        };
        let doc = canonical_collection(&c, FieldMask::ALL);
        assert_sorted_keys(&doc);
        assert_eq!(
            doc,
            concat!(
                r#"{"fields":{"description_html":"","handle":"under-ten","rules":{"applied_disjunctively":true,"rules":["#,
                r#"{"column":"TAG","condition":"sale","relation":"EQUALS"},"#,
                r#"{"column":"VARIANT_PRICE","condition":"10","relation":"LESS_THAN"}]},"#,
                r#""seo":{"description":null,"title":null},"sort_order":"best_selling","title":"Under ten"},"kind":"collection"}"#
            )
        );
        let mut reordered = c.clone();
        if let Some(r) = reordered.rules.as_mut() {
            r.rules.reverse();
        }
        assert_eq!(
            c.fingerprint(FieldMask::ALL),
            reordered.fingerprint(FieldMask::ALL)
        );
        let custom = CollectionSnapshot {
            rules: None,
            ..c.clone()
        };
        assert!(
            canonical_collection(&custom, FieldMask::of(&[Field::Rules]))
                .contains("\"rules\":null")
        );
        // A product and a collection never share a fingerprint.
        assert_ne!(
            Fingerprint::of_collection(&CollectionSnapshot::default(), FieldMask::EMPTY),
            Fingerprint::of_product(&ProductSnapshot::default(), FieldMask::EMPTY)
        );
    }

    #[test]
    fn known_digest_and_text_form() {
        // sha256(b'{"fields":{},"kind":"product"}'), computed independently.
        let fp = Fingerprint::of_product(&ProductSnapshot::default(), FieldMask::EMPTY);
        let text = fp.to_string();
        assert_eq!(
            text,
            "v1:26b00ec434f89944ef5c1150739dfc11a6aade05d9e4216491da325b15228519"
        );
        assert_eq!(
            Fingerprint::of_canonical(r#"{"fields":{},"kind":"product"}"#),
            fp
        );
        assert_eq!(text.len(), 67);
        assert!(text.starts_with("v1:"));
        assert!(text[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(Fingerprint::parse(&text).unwrap(), fp);
        assert_eq!(
            Fingerprint::parse(&text.to_uppercase().replacen("V1", "v1", 1)).unwrap(),
            fp
        );
        assert_eq!(Fingerprint::from_digest(*fp.digest()), fp);
        assert_eq!(
            serde_json::to_value(fp).unwrap(),
            Value::String(text.clone())
        );
        assert_eq!(
            serde_json::from_value::<Fingerprint>(Value::String(text.clone())).unwrap(),
            fp
        );
        assert_eq!(format!("{fp:?}"), format!("Fingerprint(\"{text}\")"));
        for bad in [
            "",
            "v1:",
            "v2:0000000000000000000000000000000000000000000000000000000000000000",
            "v1:000000000000000000000000000000000000000000000000000000000000000",
            "v1:00000000000000000000000000000000000000000000000000000000000000000",
            "v1:000000000000000000000000000000000000000000000000000000000000000g",
            "v1:00000000000000000000000000000000000000000000000000000000000000é",
            " v1:0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<Fingerprint>(json!(7)).is_err());
    }
}
