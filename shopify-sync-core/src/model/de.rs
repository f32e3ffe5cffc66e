//! Deserialize helpers for the shapes Shopify's JSON gives lists in, for use with
//! `#[serde(deserialize_with = "...")]`.
//!
//! ```
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Page {
//!     #[serde(default, deserialize_with = "shopify_sync::model::de::nodes")]
//!     items: Vec<u32>,
//! }
//!
//! for json in [
//!     r#"{"items": [1, 2]}"#,
//!     r#"{"items": {"nodes": [1, 2], "pageInfo": {"hasNextPage": false}}}"#,
//!     r#"{"items": {"edges": [{"cursor": "a", "node": 1}, {"cursor": "b", "node": 2}]}}"#,
//! ] {
//!     assert_eq!(serde_json::from_str::<Page>(json).unwrap().items, [1, 2]);
//! }
//! ```

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// Decode a list given as a plain JSON array, a GraphQL connection with `nodes`
/// (`{"nodes": [...], "pageInfo": {...}}`), a connection with `edges`
/// (`{"edges": [{"node": ...}]}`), or `null` (an empty list).
///
/// When a connection has both `nodes` and `edges`, `nodes` wins (both must decode). A
/// connection with neither is an error rather than a silently empty list. This reads
/// only what is in the response: it does not fetch further pages.
pub fn nodes<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_any(NodesVisitor(PhantomData))
}

struct NodesVisitor<T>(PhantomData<fn() -> T>);

#[derive(Deserialize)]
struct Edge<T> {
    node: T,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for NodesVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list, {\"nodes\": [...]} or {\"edges\": [{\"node\": ...}]}")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        nodes(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut from_nodes: Option<Vec<T>> = None;
        let mut from_edges: Option<Vec<T>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "nodes" if from_nodes.is_none() => {
                    from_nodes = Some(map.next_value_seed(ListSeed::<T>(PhantomData))?);
                }
                "edges" if from_edges.is_none() => {
                    let edges = map.next_value_seed(ListSeed::<Edge<T>>(PhantomData))?;
                    from_edges = Some(edges.into_iter().map(|e| e.node).collect());
                }
                "nodes" | "edges" => return Err(de::Error::duplicate_field("nodes/edges")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        from_nodes
            .or(from_edges)
            .ok_or_else(|| de::Error::custom("a connection without \"nodes\" or \"edges\""))
    }
}

/// The list under `nodes` or `edges` (`null` reads as empty).
struct ListSeed<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ListSeed<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
    }
}

/// Decode tags given as a list of strings (GraphQL), a comma-separated string (REST and
/// webhook payloads, and the `tags` argument of `tagsAdd`), or `null` (no tags). Tags
/// from a string are split on commas and trimmed; empty pieces are dropped.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Tagged {
///     #[serde(default, deserialize_with = "shopify_sync::model::de::tags")]
///     tags: Vec<String>,
/// }
/// let t: Tagged = serde_json::from_str(r#"{"tags": "blue, green,,"}"#).unwrap();
/// assert_eq!(t.tags, ["blue", "green"]);
/// ```
pub fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_any(TagsVisitor)
}

struct TagsVisitor;

impl<'de> Visitor<'de> for TagsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tags or a comma-separated string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<String>, D::Error> {
        tags(deserializer)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        Ok(v.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "nodes")]
        items: Vec<u8>,
        #[serde(default, deserialize_with = "tags")]
        tags: Vec<String>,
    }

    fn items(json: &str) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::from_str::<Holder>(json).map(|h| h.items)
    }

    #[test]
    fn nodes_accepts_every_list_shape() {
        assert_eq!(items(r#"{"items": [1, 2]}"#).unwrap(), [1, 2]);
        assert_eq!(items(r#"{"items": {"nodes": [1]}}"#).unwrap(), [1]);
        assert_eq!(
            items(r#"{"items": {"pageInfo": {"hasNextPage": true}, "nodes": [3]}}"#).unwrap(),
            [3]
        );
        assert_eq!(
            items(r#"{"items": {"edges": [{"node": 4, "cursor": "x"}]}}"#).unwrap(),
            [4]
        );
        assert_eq!(
            items(r#"{"items": {"edges": [{"node": 4}], "nodes": [4]}}"#).unwrap(),
            [4]
        );
        assert_eq!(items(r#"{"items": null}"#).unwrap(), Vec::<u8>::new());
        assert_eq!(
            items(r#"{"items": {"nodes": null}}"#).unwrap(),
            Vec::<u8>::new()
        );
        assert_eq!(items("{}").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn nodes_rejects_other_shapes() {
        for bad in [
            r#"{"items": {"pageInfo": {}}}"#,
            r#"{"items": {}}"#,
            r#"{"items": 7}"#,
            r#"{"items": "x"}"#,
            r#"{"items": {"nodes": [300]}}"#,
            r#"{"items": {"edges": [{"cursor": "x"}]}}"#,
            r#"{"items": {"nodes": [1], "nodes": [2]}}"#,
        ] {
            assert!(items(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nodes_errors_name_the_path() {
        let json = r#"{"items": {"nodes": [1, "two"]}}"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, Holder>(de).unwrap_err();
        assert_eq!(err.path().to_string(), "items.nodes[1]");
    }

    #[test]
    fn tags_accepts_lists_strings_and_null() {
        let tags = |json: &str| serde_json::from_str::<Holder>(json).map(|h| h.tags);
        assert_eq!(tags(r#"{"tags": ["a", "b c"]}"#).unwrap(), ["a", "b c"]);
        assert_eq!(
            tags(r#"{"tags": "blue, green"}"#).unwrap(),
            ["blue", "green"]
        );
        assert_eq!(tags(r#"{"tags": "Red"}"#).unwrap(), ["Red"]);
        assert_eq!(tags(r#"{"tags": ""}"#).unwrap(), Vec::<String>::new());
        assert_eq!(tags(r#"{"tags": null}"#).unwrap(), Vec::<String>::new());
        assert!(tags(r#"{"tags": [1]}"#).is_err());
        assert!(tags(r#"{"tags": {}}"#).is_err());
    }
}
