//! Typed Shopify global ids: [`Gid<T>`], the [`GidKind`] trait that names a kind, and the
//! kind markers that are not model structs ([`Job`], [`InventoryItem`], [`Location`]).

use crate::error::{Error, Result};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::str::FromStr;

/// The scheme and namespace every Shopify Admin API global id starts with.
pub const GID_PREFIX: &str = "gid://shopify/";

mod sealed {
    pub trait Sealed {}
}

/// A kind of Shopify object that a [`Gid`] can name (`Product` in
/// `gid://shopify/Product/123`).
///
/// Sealed: implemented by this module's model types ([`Product`](super::Product),
/// [`ProductVariant`](super::ProductVariant), [`ProductOption`](super::ProductOption),
/// [`Collection`](super::Collection)) and the markers [`Job`], [`InventoryItem`] and
/// [`Location`].
pub trait GidKind: sealed::Sealed + 'static {
    /// The object type name as it appears in the gid, e.g. `"ProductVariant"`.
    const NAME: &'static str;
    /// What follows the type name: a positive integer ([`NonZeroU64`]) for most kinds, a
    /// UUID held as a [`u128`] for [`Job`].
    type Key: GidKey;
}

/// The part of a gid after the type name ([`NonZeroU64`] or a UUID as [`u128`]).
///
/// Sealed; its methods are an implementation detail of [`Gid`].
pub trait GidKey: sealed::Sealed + Copy + Eq + Ord + Hash + Send + Sync + 'static {
    #[doc(hidden)]
    fn parse_key(s: &str) -> std::result::Result<Self, &'static str>;
    #[doc(hidden)]
    fn fmt_key(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// Whether a bare legacy id (`"123"`) is accepted for this kind.
    #[doc(hidden)]
    const LEGACY_NUMERIC: bool;
}

impl sealed::Sealed for NonZeroU64 {}
impl GidKey for NonZeroU64 {
    const LEGACY_NUMERIC: bool = true;

    fn parse_key(s: &str) -> std::result::Result<Self, &'static str> {
        if s.is_empty() {
            return Err("the numeric id is missing");
        }
        if let Some(rest) = s.strip_prefix('-') {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the numeric id is negative");
            }
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the id is not a positive decimal integer");
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err("the numeric id has leading zeros");
        }
        let n: u64 = s
            .parse()
            .map_err(|_| "the numeric id is too large (over 2^64-1)")?;
        NonZeroU64::new(n).ok_or("the numeric id is zero")
    }

    fn fmt_key(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl sealed::Sealed for u128 {}
impl GidKey for u128 {
    const LEGACY_NUMERIC: bool = false;

    fn parse_key(s: &str) -> std::result::Result<Self, &'static str> {
        const MALFORMED: &str = "the id is not a UUID (8-4-4-4-12 hex digits)";
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(MALFORMED);
        }
        let mut value: u128 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return Err(MALFORMED);
                }
                continue;
            }
            let digit = (b as char).to_digit(16).ok_or(MALFORMED)?;
            value = (value << 4) | u128::from(digit);
        }
        Ok(value)
    }

    fn fmt_key(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = format!("{self:032x}");
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// Marker for asynchronous job ids (`gid://shopify/Job/<uuid>`), returned by mutations
/// such as `collectionAddProductsV2`. Uninhabited: only used as `Gid<Job>`.
#[derive(Debug)]
pub enum Job {}

/// Marker for inventory item ids (`gid://shopify/InventoryItem/123`): each variant has
/// one. Uninhabited: only used as `Gid<InventoryItem>`.
#[derive(Debug)]
pub enum InventoryItem {}

/// Marker for location ids (`gid://shopify/Location/123`), where inventory is stocked.
/// Uninhabited: only used as `Gid<Location>`.
#[derive(Debug)]
pub enum Location {}

macro_rules! gid_kind {
    ($($ty:ty => $name:literal, $key:ty;)*) => {$(
        impl sealed::Sealed for $ty {}
        impl GidKind for $ty {
            const NAME: &'static str = $name;
            type Key = $key;
        }
    )*};
}

gid_kind! {
    super::Product => "Product", NonZeroU64;
    super::ProductVariant => "ProductVariant", NonZeroU64;
    super::ProductOption => "ProductOption", NonZeroU64;
    super::Collection => "Collection", NonZeroU64;
    InventoryItem => "InventoryItem", NonZeroU64;
    Location => "Location", NonZeroU64;
    Job => "Job", u128;
}

/// A typed Shopify global id, such as `gid://shopify/Product/123`.
///
/// The kind is part of the type, so a variant id cannot be passed where a product id is
/// expected. A `Gid` is `Copy` and as small as its key (`Gid<Product>` is 8 bytes, and so
/// is `Option<Gid<Product>>`). It displays and serializes as the gid string; it compares,
/// orders and hashes by its key (numerically for numeric ids).
///
/// A query suffix (`gid://shopify/ProductVariant/1?inventory_item_id=2`) is accepted
/// and dropped: `Display` writes the canonical gid without it.
///
/// ```
/// use shopify_sync::model::{Gid, Product, ProductVariant};
///
/// let id: Gid<Product> = "gid://shopify/Product/123".parse()?;
/// assert_eq!(id.numeric_id(), 123);
/// assert_eq!(id.to_string(), "gid://shopify/Product/123");
/// // A legacy (REST) numeric id is accepted too.
/// assert_eq!(Gid::<Product>::parse("123")?, id);
/// // The kind is checked.
/// assert!(Gid::<ProductVariant>::parse("gid://shopify/Product/123").is_err());
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
pub struct Gid<T: GidKind> {
    key: T::Key,
    kind: PhantomData<fn() -> T>,
}

impl<T: GidKind> Gid<T> {
    /// Parse a gid (`gid://shopify/Product/123`, optionally followed by a `?query` that is
    /// dropped) or, for kinds with numeric ids, a legacy numeric id (`"123"`).
    ///
    /// Fails with [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) when
    /// the input is empty, not a Shopify gid, names another kind, or its id is not a
    /// positive integer that fits in 64 bits (a UUID for [`Job`]).
    pub fn parse(input: &str) -> Result<Gid<T>> {
        let fail = |why: &str| {
            Error::invalid_input(format!("invalid {} id {}: {why}", T::NAME, quoted(input)))
        };
        if input.is_empty() {
            return Err(fail("the id is empty"));
        }
        let Some(rest) = input.strip_prefix(GID_PREFIX) else {
            let legacy = input.bytes().all(|b| b.is_ascii_digit())
                || input
                    .strip_prefix('-')
                    .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()));
            if T::Key::LEGACY_NUMERIC && legacy {
                return T::Key::parse_key(input).map(Gid::from_key).map_err(fail);
            }
            let expected = format!("expected {GID_PREFIX}{}/...", T::NAME);
            return Err(fail(&expected));
        };
        let (kind, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if kind != T::NAME {
            return Err(fail(&format!("it is a {} id", quoted(kind))));
        }
        let key = tail.split_once('?').map_or(tail, |(key, _query)| key);
        T::Key::parse_key(key).map(Gid::from_key).map_err(fail)
    }

    /// The id from its key (see [`GidKind::Key`]).
    pub const fn from_key(key: T::Key) -> Gid<T> {
        Gid {
            key,
            kind: PhantomData,
        }
    }

    /// The key: the number (or UUID) after the type name.
    pub fn key(self) -> T::Key {
        self.key
    }

    /// The object type name, e.g. `"Product"`.
    pub fn kind(self) -> &'static str {
        T::NAME
    }
}

impl<T: GidKind<Key = NonZeroU64>> Gid<T> {
    /// The id for a legacy (REST) numeric id. Fails when `id` is zero.
    ///
    /// ```
    /// use shopify_sync::model::{Gid, Collection};
    /// let id = Gid::<Collection>::from_numeric_id(42)?;
    /// assert_eq!(id.to_string(), "gid://shopify/Collection/42");
    /// assert!(Gid::<Collection>::from_numeric_id(0).is_err());
    /// # Ok::<(), shopify_sync::error::Error>(())
    /// ```
    pub fn from_numeric_id(id: u64) -> Result<Gid<T>> {
        NonZeroU64::new(id).map(Gid::from_key).ok_or_else(|| {
            Error::invalid_input(format!("invalid {} id 0: ids are positive", T::NAME))
        })
    }

    /// The numeric id (Shopify's `legacyResourceId`): `123` for `gid://shopify/Product/123`.
    pub fn numeric_id(self) -> u64 {
        self.key.get()
    }
}

/// Quote a user-supplied string for an error message, shortened if long.
fn quoted(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

impl<T: GidKind> Clone for Gid<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: GidKind> Copy for Gid<T> {}

impl<T: GidKind> PartialEq for Gid<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: GidKind> Eq for Gid<T> {}

impl<T: GidKind> PartialOrd for Gid<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: GidKind> Ord for Gid<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl<T: GidKind> Hash for Gid<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl<T: GidKind> fmt::Display for Gid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{GID_PREFIX}{}/", T::NAME)?;
        self.key.fmt_key(f)
    }
}

impl<T: GidKind> fmt::Debug for Gid<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gid(\"{self}\")")
    }
}

impl<T: GidKind> FromStr for Gid<T> {
    type Err = Error;

    fn from_str(s: &str) -> Result<Gid<T>> {
        Gid::parse(s)
    }
}

impl<T: GidKind> From<Gid<T>> for String {
    fn from(id: Gid<T>) -> String {
        id.to_string()
    }
}

impl<T: GidKind> Serialize for Gid<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, T: GidKind> Deserialize<'de> for Gid<T> {
    /// Accepts the gid string, or (for numeric kinds) a legacy id as a string or an
    /// integer, as REST payloads carry them.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(GidVisitor(PhantomData))
    }
}

struct GidVisitor<T>(PhantomData<fn() -> T>);

impl<T: GidKind> Visitor<'_> for GidVisitor<T> {
    type Value = Gid<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a Shopify gid string ({GID_PREFIX}{}/...)", T::NAME)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Gid<T>, E> {
        Gid::parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Gid<T>, E> {
        if !T::Key::LEGACY_NUMERIC {
            return Err(E::invalid_type(de::Unexpected::Unsigned(v), &self));
        }
        Gid::parse(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Gid<T>, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!(
                "invalid {} id {v}: ids are positive",
                T::NAME
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::model::{Collection, Product, ProductOption, ProductVariant};
    use std::collections::{BTreeSet, HashSet};

    fn err<T: GidKind>(input: &str) -> String {
        let e = Gid::<T>::parse(input).expect_err(input);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{input}");
        e.to_string()
    }

    #[test]
    fn parses_gids_of_each_kind() {
        let p: Gid<Product> = "gid://shopify/Product/10243923018034".parse().unwrap();
        assert_eq!(p.numeric_id(), 10243923018034);
        assert_eq!(p.kind(), "Product");
        let v =
            Gid::<ProductVariant>::parse("gid://shopify/ProductVariant/51488052412722").unwrap();
        assert_eq!(v.numeric_id(), 51488052412722);
        let o = Gid::<ProductOption>::parse("gid://shopify/ProductOption/12804839506226").unwrap();
        assert_eq!(o.to_string(), "gid://shopify/ProductOption/12804839506226");
        let c = Gid::<Collection>::parse("gid://shopify/Collection/514084372786").unwrap();
        assert_eq!(c.numeric_id(), 514084372786);
        let l = Gid::<Location>::parse("gid://shopify/Location/113884070194").unwrap();
        assert_eq!(l.numeric_id(), 113884070194);
        let i = Gid::<InventoryItem>::parse("gid://shopify/InventoryItem/53593648759090").unwrap();
        assert_eq!(i.numeric_id(), 53593648759090);
        let max = Gid::<Product>::parse("gid://shopify/Product/18446744073709551615").unwrap();
        assert_eq!(max.numeric_id(), u64::MAX);
    }

    #[test]
    fn job_ids_are_uuids() {
        let s = "gid://shopify/Job/898decfa-074d-4099-95d8-b183b6349396";
        let j = Gid::<Job>::parse(s).unwrap();
        assert_eq!(j.key(), 0x898decfa_074d_4099_95d8_b183b6349396);
        assert_eq!(j.to_string(), s);
        let upper =
            Gid::<Job>::parse("gid://shopify/Job/898DECFA-074D-4099-95D8-B183B6349396").unwrap();
        assert_eq!(upper, j);
        let zero = Gid::<Job>::from_key(0);
        assert_eq!(
            zero.to_string(),
            "gid://shopify/Job/00000000-0000-0000-0000-000000000000"
        );
        assert!(err::<Job>("123").contains("expected gid://shopify/Job/"));
        assert!(err::<Job>("gid://shopify/Job/123").contains("UUID"));
        assert!(
            err::<Job>("gid://shopify/Job/898decfa-074d-4099-95d8-b183b634939g").contains("UUID")
        );
        assert!(
            err::<Job>("gid://shopify/Job/898decfa+074d-4099-95d8-b183b6349396").contains("UUID")
        );
        assert!(serde_json::from_str::<Gid<Job>>("7").is_err());
    }

    #[test]
    fn accepts_legacy_numeric_ids() {
        assert_eq!(
            Gid::<Product>::parse("123").unwrap().to_string(),
            "gid://shopify/Product/123"
        );
        assert_eq!(
            Gid::<Collection>::from_numeric_id(7).unwrap().numeric_id(),
            7
        );
        assert!(Gid::<Collection>::from_numeric_id(0).is_err());
        let from_int: Gid<Product> = serde_json::from_str("123").unwrap();
        assert_eq!(from_int.numeric_id(), 123);
        let from_str: Gid<Product> = serde_json::from_str("\"123\"").unwrap();
        assert_eq!(from_str, from_int);
        assert!(serde_json::from_str::<Gid<Product>>("-5")
            .unwrap_err()
            .to_string()
            .contains("positive"));
        assert!(serde_json::from_str::<Gid<Product>>("1.5").is_err());
        assert!(serde_json::from_str::<Gid<Product>>("null").is_err());
    }

    #[test]
    fn tolerates_and_drops_a_query_suffix() {
        let v = Gid::<ProductVariant>::parse("gid://shopify/ProductVariant/5?inventory_item_id=9")
            .unwrap();
        assert_eq!(v.numeric_id(), 5);
        assert_eq!(v.to_string(), "gid://shopify/ProductVariant/5");
        assert!(err::<ProductVariant>("gid://shopify/ProductVariant/?x=1").contains("missing"));
    }

    #[test]
    fn rejects_malformed_ids_with_clear_errors() {
        assert!(err::<Product>("").contains("empty"));
        let wrong = err::<Product>("gid://shopify/ProductVariant/1");
        assert!(wrong.contains("\"ProductVariant\" id"), "{wrong}");
        assert!(wrong.contains("invalid Product id"), "{wrong}");
        assert!(err::<Product>("gid://shopify/product/1").contains("\"product\" id"));
        assert!(err::<Product>("gid://shopify/Product").contains("missing"));
        assert!(err::<Product>("gid://shopify/Product/").contains("missing"));
        assert!(err::<Product>("not a gid").contains("expected gid://shopify/Product/"));
        assert!(err::<Product>("gid://other/Product/1").contains("expected gid://shopify/Product/"));
        assert!(err::<Product>(" gid://shopify/Product/1").contains("expected"));
        assert!(err::<Product>("gid://shopify/Product/-1").contains("negative"));
        assert!(err::<Product>("-1").contains("negative"));
        assert!(err::<Product>("-").contains("expected"));
        assert!(
            err::<Product>("gid://shopify/Product/+1").contains("not a positive decimal integer")
        );
        assert!(
            err::<Product>("gid://shopify/Product/1.0").contains("not a positive decimal integer")
        );
        assert!(
            err::<Product>("gid://shopify/Product/1 ").contains("not a positive decimal integer")
        );
        assert!(
            err::<Product>("gid://shopify/Product/1/2").contains("not a positive decimal integer")
        );
        assert!(
            err::<Product>("gid://shopify/Product/abc").contains("not a positive decimal integer")
        );
        assert!(
            err::<Product>("gid://shopify/Product/٣").contains("not a positive decimal integer")
        );
        assert!(err::<Product>("gid://shopify/Product/0").contains("zero"));
        assert!(err::<Product>("0").contains("zero"));
        assert!(err::<Product>("gid://shopify/Product/007").contains("leading zeros"));
        assert!(err::<Product>("gid://shopify/Product/18446744073709551616").contains("too large"));
        assert!(err::<Product>("99999999999999999999999999").contains("too large"));
        let long = format!("gid://shopify/Product/{}", "x".repeat(10_000));
        assert!(err::<Product>(&long).len() < 300);
    }

    #[test]
    fn ordering_equality_and_hashing_follow_the_number() {
        let a = Gid::<Product>::parse("gid://shopify/Product/9").unwrap();
        let b = Gid::<Product>::parse("gid://shopify/Product/10").unwrap();
        assert!(a < b);
        assert_eq!(a, Gid::<Product>::parse("9").unwrap());
        let set: HashSet<_> = [a, b, a].into_iter().collect();
        assert_eq!(set.len(), 2);
        let sorted: Vec<_> = [b, a]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(sorted, vec![a, b]);
        assert_eq!(format!("{a:?}"), "Gid(\"gid://shopify/Product/9\")");
        assert_eq!(String::from(a), "gid://shopify/Product/9");
    }

    #[test]
    fn is_zero_cost() {
        assert_eq!(std::mem::size_of::<Gid<Product>>(), 8);
        assert_eq!(std::mem::size_of::<Option<Gid<Product>>>(), 8);
        fn copy_send_sync<T: Copy + Send + Sync>() {}
        copy_send_sync::<Gid<Product>>();
        copy_send_sync::<Gid<Job>>();
    }

    #[test]
    fn serde_round_trips_as_the_gid_string() {
        let id =
            Gid::<ProductVariant>::parse("gid://shopify/ProductVariant/51488052412722").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"gid://shopify/ProductVariant/51488052412722\"");
        assert_eq!(
            serde_json::from_str::<Gid<ProductVariant>>(&json).unwrap(),
            id
        );
        let job =
            Gid::<Job>::parse("gid://shopify/Job/e4a01083-fa1b-4605-8a72-42b8efcc1899").unwrap();
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<Gid<Job>>(&json).unwrap(), job);
        let e = serde_json::from_str::<Gid<Product>>("\"gid://shopify/Collection/1\"").unwrap_err();
        assert!(e.to_string().contains("Collection"), "{e}");
    }

    #[test]
    fn never_panics_and_round_trips_what_it_accepts() {
        let mut accepted = 0;
        for s in crate::model::test_support::arbitrary_strings(20_000) {
            if let Ok(id) = Gid::<Product>::parse(&s) {
                assert_eq!(Gid::<Product>::parse(&id.to_string()).unwrap(), id);
                accepted += 1;
            }
            if let Ok(id) = Gid::<Job>::parse(&s) {
                assert_eq!(Gid::<Job>::parse(&id.to_string()).unwrap(), id);
            }
            let _ = serde_json::from_value::<Gid<ProductVariant>>(serde_json::Value::String(s));
        }
        assert!(accepted > 10, "{accepted}");
    }
}
