//! [`FieldMask`]: which fields of a snapshot the caller manages.
//!
//! A merchant's system rarely owns every field Shopify has: one backend manages prices
//! and stock keeping, another leaves descriptions to the Shopify admin. The mask says
//! which fields this sync manages; unmanaged fields take no part in the fingerprint or
//! the diff, so an edit to them on either side never shows as a change.

use crate::error::{Error, Result};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One field a sync can manage. The JSON name is [`Field::as_str`] (snake_case).
///
/// Product fields: `title`, `handle`, `description_html`, `vendor`, `product_type`,
/// `status`, `tags`, `seo`, `options`, `collections` and the per-variant fields
/// `variant_price`, `variant_compare_at_price`, `variant_sku`, `variant_barcode`,
/// `variant_inventory_policy`, `variant_option_values`. Collection fields: `title`,
/// `handle`, `description_html`, `seo`, `sort_order`, `rules`. A field that does not
/// apply to a kind of snapshot is ignored for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Field {
    /// Product or collection title.
    Title,
    /// URL handle (normalised, see [`normalize_handle`](super::normalize_handle)).
    Handle,
    /// Description HTML.
    DescriptionHtml,
    /// Product vendor.
    Vendor,
    /// Product type (the merchant's free text).
    ProductType,
    /// Product status (active, archived, draft, unlisted).
    Status,
    /// Product tags (normalised, see [`normalize_tags`](super::normalize_tags)).
    Tags,
    /// SEO title and description.
    Seo,
    /// Product options: names and values, in order.
    Options,
    /// The custom collections a product belongs to.
    Collections,
    /// Variant price.
    VariantPrice,
    /// Variant compare-at price.
    VariantCompareAtPrice,
    /// Variant SKU.
    VariantSku,
    /// Variant barcode.
    VariantBarcode,
    /// Variant inventory policy (deny, continue).
    VariantInventoryPolicy,
    /// The option values that identify each variant.
    VariantOptionValues,
    /// Collection sort order.
    SortOrder,
    /// Smart collection rules (a custom collection has none).
    Rules,
}

impl Field {
    /// Every field, in declaration order (the order [`FieldMask::iter`] yields).
    pub const ALL: [Field; 18] = [
        Field::Title,
        Field::Handle,
        Field::DescriptionHtml,
        Field::Vendor,
        Field::ProductType,
        Field::Status,
        Field::Tags,
        Field::Seo,
        Field::Options,
        Field::Collections,
        Field::VariantPrice,
        Field::VariantCompareAtPrice,
        Field::VariantSku,
        Field::VariantBarcode,
        Field::VariantInventoryPolicy,
        Field::VariantOptionValues,
        Field::SortOrder,
        Field::Rules,
    ];

    /// The snake_case name, as in JSON: `"variant_compare_at_price"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Handle => "handle",
            Field::DescriptionHtml => "description_html",
            Field::Vendor => "vendor",
            Field::ProductType => "product_type",
            Field::Status => "status",
            Field::Tags => "tags",
            Field::Seo => "seo",
            Field::Options => "options",
            Field::Collections => "collections",
            Field::VariantPrice => "variant_price",
            Field::VariantCompareAtPrice => "variant_compare_at_price",
            Field::VariantSku => "variant_sku",
            Field::VariantBarcode => "variant_barcode",
            Field::VariantInventoryPolicy => "variant_inventory_policy",
            Field::VariantOptionValues => "variant_option_values",
            Field::SortOrder => "sort_order",
            Field::Rules => "rules",
        }
    }

    /// The field named `name` (exact snake_case name). Fails with
    /// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) otherwise.
    ///
    /// ```
    /// use shopify_sync::staging::Field;
    /// assert_eq!(Field::parse("variant_price")?, Field::VariantPrice);
    /// assert!(Field::parse("price").is_err());
    /// # Ok::<(), shopify_sync::error::Error>(())
    /// ```
    pub fn parse(name: &str) -> Result<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                let shown: String = name.chars().take(60).collect();
                Error::invalid_input(format!(
                    "unknown field {shown:?}: expected one of {}",
                    Field::ALL.map(Field::as_str).join(", ")
                ))
            })
    }

    /// Whether the field belongs to each variant of a product.
    pub fn is_variant_field(self) -> bool {
        matches!(
            self,
            Field::VariantPrice
                | Field::VariantCompareAtPrice
                | Field::VariantSku
                | Field::VariantBarcode
                | Field::VariantInventoryPolicy
                | Field::VariantOptionValues
        )
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = Error;

    fn from_str(s: &str) -> Result<Field> {
        Field::parse(s)
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Field::parse(&name).map_err(de::Error::custom)
    }
}

/// A set of [`Field`]s: the fields a sync manages. Copy, one word.
///
/// JSON: a list of field names (`["title", "tags", "variant_price"]`), written in
/// [`Field::ALL`] order; reading rejects unknown names and accepts repeats.
///
/// ```
/// use shopify_sync::staging::{Field, FieldMask};
///
/// let mask = FieldMask::of(&[Field::Title, Field::VariantPrice]);
/// assert!(mask.contains(Field::Title));
/// assert!(!mask.contains(Field::Tags));
/// assert!(mask.manages_variants());
/// assert_eq!(serde_json::to_string(&mask).unwrap(), r#"["title","variant_price"]"#);
/// assert_eq!(FieldMask::ALL.without(Field::Tags).len(), 17);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldMask(u32);

impl FieldMask {
    /// No field.
    pub const EMPTY: FieldMask = FieldMask(0);
    /// Every field (the default): the sync manages everything.
    pub const ALL: FieldMask = FieldMask((1 << Field::ALL.len()) - 1);
    /// The fields that apply to products.
    pub const PRODUCT: FieldMask = FieldMask(
        Field::Title.bit()
            | Field::Handle.bit()
            | Field::DescriptionHtml.bit()
            | Field::Vendor.bit()
            | Field::ProductType.bit()
            | Field::Status.bit()
            | Field::Tags.bit()
            | Field::Seo.bit()
            | Field::Options.bit()
            | Field::Collections.bit()
            | FieldMask::VARIANT.0,
    );
    /// The per-variant fields of a product.
    pub const VARIANT: FieldMask = FieldMask(
        Field::VariantPrice.bit()
            | Field::VariantCompareAtPrice.bit()
            | Field::VariantSku.bit()
            | Field::VariantBarcode.bit()
            | Field::VariantInventoryPolicy.bit()
            | Field::VariantOptionValues.bit(),
    );
    /// The fields that apply to collections.
    pub const COLLECTION: FieldMask = FieldMask(
        Field::Title.bit()
            | Field::Handle.bit()
            | Field::DescriptionHtml.bit()
            | Field::Seo.bit()
            | Field::SortOrder.bit()
            | Field::Rules.bit(),
    );

    /// The mask holding exactly `fields`.
    pub fn of(fields: &[Field]) -> FieldMask {
        fields.iter().copied().collect()
    }

    /// Whether `field` is managed.
    pub const fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    /// This mask plus `field`.
    #[must_use]
    pub const fn with(self, field: Field) -> FieldMask {
        FieldMask(self.0 | field.bit())
    }

    /// This mask without `field`.
    #[must_use]
    pub const fn without(self, field: Field) -> FieldMask {
        FieldMask(self.0 & !field.bit())
    }

    /// The fields in both masks.
    #[must_use]
    pub const fn intersection(self, other: FieldMask) -> FieldMask {
        FieldMask(self.0 & other.0)
    }

    /// The fields in either mask.
    #[must_use]
    pub const fn union(self, other: FieldMask) -> FieldMask {
        FieldMask(self.0 | other.0)
    }

    /// Whether any per-variant field is managed (then a product's variants take part).
    pub const fn manages_variants(self) -> bool {
        self.0 & FieldMask::VARIANT.0 != 0
    }

    /// Whether no field is managed.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many fields are managed.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The managed fields, in [`Field::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl Default for FieldMask {
    /// [`FieldMask::ALL`].
    fn default() -> FieldMask {
        FieldMask::ALL
    }
}

impl fmt::Debug for FieldMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Field::as_str))
            .finish()
    }
}

impl FromIterator<Field> for FieldMask {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> FieldMask {
        iter.into_iter().fold(FieldMask::EMPTY, FieldMask::with)
    }
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for field in self.iter() {
            seq.serialize_element(field.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct MaskVisitor;
        impl<'de> Visitor<'de> for MaskVisitor {
            type Value = FieldMask;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of field names")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<FieldMask, A::Error> {
                let mut mask = FieldMask::EMPTY;
                while let Some(field) = seq.next_element::<Field>()? {
                    mask = mask.with(field);
                }
                Ok(mask)
            }
        }
        deserializer.deserialize_seq(MaskVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for f in Field::ALL {
            assert_eq!(Field::parse(f.as_str()).unwrap(), f);
            assert_eq!(f.to_string(), f.as_str());
            assert!(seen.insert(f.as_str()));
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
        let e = Field::parse("Title").unwrap_err();
        assert!(e.to_string().contains("variant_price"), "{e}");
        assert!(
            Field::parse(&"x".repeat(10_000))
                .unwrap_err()
                .to_string()
                .len()
                < 600
        );
    }

    #[test]
    fn masks_are_sets() {
        assert_eq!(FieldMask::ALL.len(), Field::ALL.len());
        assert_eq!(FieldMask::default(), FieldMask::ALL);
        assert!(FieldMask::EMPTY.is_empty());
        assert_eq!(
            FieldMask::PRODUCT.union(FieldMask::COLLECTION),
            FieldMask::ALL
        );
        assert_eq!(
            FieldMask::PRODUCT.intersection(FieldMask::COLLECTION),
            FieldMask::of(&[
                Field::Title,
                Field::Handle,
                Field::DescriptionHtml,
                Field::Seo
            ])
        );
        for f in Field::ALL {
            assert_eq!(FieldMask::VARIANT.contains(f), f.is_variant_field());
            assert!(!FieldMask::ALL.without(f).contains(f));
            assert!(FieldMask::EMPTY.with(f).contains(f));
        }
        assert!(!FieldMask::of(&[Field::Title]).manages_variants());
        assert_eq!(
            format!("{:?}", FieldMask::of(&[Field::Tags, Field::Title])),
            r#"{"title", "tags"}"#
        );
    }

    #[test]
    fn serde_is_a_list_of_names() {
        let mask: FieldMask = serde_json::from_str(r#"["tags", "title", "tags"]"#).unwrap();
        assert_eq!(mask, FieldMask::of(&[Field::Title, Field::Tags]));
        assert_eq!(serde_json::to_string(&mask).unwrap(), r#"["title","tags"]"#);
        let all: FieldMask =
            serde_json::from_value(serde_json::to_value(FieldMask::ALL).unwrap()).unwrap();
        assert_eq!(all, FieldMask::ALL);
        assert!(serde_json::from_str::<FieldMask>(r#"["price"]"#).is_err());
        assert!(serde_json::from_str::<FieldMask>(r#""title""#).is_err());
        assert_eq!(
            serde_json::from_str::<FieldMask>("[]").unwrap(),
            FieldMask::EMPTY
        );
    }
}
