//! Collections: custom (manual membership) and smart (membership by rules).

use super::{Gid, Seo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A collection as the Admin GraphQL API returns it (`Collection` object).
///
/// A collection is smart (Shopify adds products that match its rules) exactly when it
/// has a [`rule_set`](Collection::rule_set), and custom (products are added by hand)
/// otherwise. Only `id` is required; fields the query did not select read as empty or
/// `None`, so `is_smart()` is only meaningful when `ruleSet` was selected.
///
/// ```
/// use shopify_sync::model::Collection;
///
/// let json = r#"{
///   "id": "gid://shopify/Collection/514084372786",
///   "title": "Under ten",
///   "sortOrder": "BEST_SELLING",
///   "ruleSet": {"appliedDisjunctively": false, "rules": [
///     {"column": "VARIANT_PRICE", "relation": "LESS_THAN", "condition": "10.00"}
///   ]}
/// }"#;
/// let collection: Collection = serde_json::from_str(json).unwrap();
/// assert!(collection.is_smart());
/// assert_eq!(collection.rule_set.unwrap().rules[0].condition, "10.00");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    /// The collection's global id. Required.
    pub id: Gid<Collection>,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The URL handle, unique in the shop.
    #[serde(default)]
    pub handle: String,
    /// The description as HTML.
    #[serde(default)]
    pub description_html: String,
    /// The order products are listed in; `None` when not selected.
    #[serde(default)]
    pub sort_order: Option<CollectionSortOrder>,
    /// The theme template suffix; `None` for the default template.
    #[serde(default)]
    pub template_suffix: Option<String>,
    /// Search engine title and description.
    #[serde(default)]
    pub seo: Seo,
    /// The membership rules of a smart collection; `None` for a custom collection (or
    /// when not selected).
    #[serde(default)]
    pub rule_set: Option<CollectionRuleSet>,
    /// When the collection was last updated; `None` when not selected.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Collection {
    /// A custom collection with this id and every other field empty.
    pub fn new(id: Gid<Collection>) -> Collection {
        Collection {
            id,
            title: String::new(),
            handle: String::new(),
            description_html: String::new(),
            sort_order: None,
            template_suffix: None,
            seo: Seo::default(),
            rule_set: None,
            updated_at: None,
        }
    }

    /// Whether this is a smart collection (it has a rule set).
    pub fn is_smart(&self) -> bool {
        self.rule_set.is_some()
    }
}

/// The rules of a smart collection (`CollectionRuleSet` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRuleSet {
    /// `true`: a product matching any rule belongs; `false`: it must match all rules.
    #[serde(default)]
    pub applied_disjunctively: bool,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<CollectionRule>,
}

/// One smart collection rule, e.g. `VARIANT_PRICE LESS_THAN "10.00"` (`CollectionRule`
/// object).
///
/// `column` and `relation` hold Shopify's enum strings (`CollectionRuleColumn`,
/// `CollectionRuleRelation`) unchanged, so that columns added in later API versions
/// decode and are written back as they were.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRule {
    /// The product attribute tested, e.g. `"TAG"`, `"TITLE"`, `"VARIANT_PRICE"`.
    pub column: String,
    /// The comparison, e.g. `"EQUALS"`, `"CONTAINS"`, `"LESS_THAN"`.
    pub relation: String,
    /// The value compared against, as text (`"10.00"`, `"summer"`).
    pub condition: String,
}

/// How a collection orders its products (`CollectionSortOrder` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum CollectionSortOrder {
    /// By title, A to Z.
    AlphaAsc,
    /// By title, Z to A.
    AlphaDesc,
    /// By sales volume, best first.
    BestSelling,
    /// By relevance (API 2026-07 and later).
    MostRelevant,
    /// By creation date, oldest first.
    Created,
    /// By creation date, newest first.
    CreatedDesc,
    /// In the order the merchant arranged.
    Manual,
    /// By price, lowest first.
    PriceAsc,
    /// By price, highest first.
    PriceDesc,
}

impl CollectionSortOrder {
    /// Shopify's name for the sort order, e.g. `"BEST_SELLING"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionSortOrder::AlphaAsc => "ALPHA_ASC",
            CollectionSortOrder::AlphaDesc => "ALPHA_DESC",
            CollectionSortOrder::BestSelling => "BEST_SELLING",
            CollectionSortOrder::MostRelevant => "MOST_RELEVANT",
            CollectionSortOrder::Created => "CREATED",
            CollectionSortOrder::CreatedDesc => "CREATED_DESC",
            CollectionSortOrder::Manual => "MANUAL",
            CollectionSortOrder::PriceAsc => "PRICE_ASC",
            CollectionSortOrder::PriceDesc => "PRICE_DESC",
        }
    }
}

impl fmt::Display for CollectionSortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smart() -> Collection {
        Collection {
            id: Gid::parse("gid://shopify/Collection/514084372786").unwrap(),
            title: "Under ten".into(),
            handle: "under-ten".into(),
            description_html: "<p>Cheap</p>".into(),
            sort_order: Some(CollectionSortOrder::PriceAsc),
            template_suffix: None,
            seo: Seo {
                title: None,
                description: Some("Cheap things".into()),
            },
            rule_set: Some(CollectionRuleSet {
                applied_disjunctively: true,
                rules: vec![
                    CollectionRule {
                        column: "VARIANT_PRICE".into(),
                        relation: "LESS_THAN".into(),
                        condition: "10.00".into(),
                    },
                    CollectionRule {
                        column: "TAG".into(),
                        relation: "EQUALS".into(),
                        condition: "sale".into(),
                    },
                ],
            }),
            updated_at: Some("2026-07-19T14:54:22Z".parse().unwrap()),
        }
    }

    #[test]
    fn round_trips_through_json() {
        for c in [smart(), Collection::new(Gid::from_numeric_id(5).unwrap())] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Collection>(&json).unwrap(), c);
        }
        let value = serde_json::to_value(smart()).unwrap();
        assert_eq!(value["sortOrder"], "PRICE_ASC");
        assert_eq!(value["ruleSet"]["appliedDisjunctively"], true);
        assert_eq!(value["descriptionHtml"], "<p>Cheap</p>");
    }

    #[test]
    fn smart_iff_rule_set() {
        assert!(smart().is_smart());
        let custom: Collection = serde_json::from_value(json!({
            "id": "gid://shopify/Collection/1", "ruleSet": null, "sortOrder": "MANUAL"
        }))
        .unwrap();
        assert!(!custom.is_smart());
        assert_eq!(custom.sort_order, Some(CollectionSortOrder::Manual));
    }

    #[test]
    fn sort_orders_use_shopify_strings() {
        use CollectionSortOrder::*;
        for s in [
            AlphaAsc,
            AlphaDesc,
            BestSelling,
            MostRelevant,
            Created,
            CreatedDesc,
            Manual,
            PriceAsc,
            PriceDesc,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<CollectionSortOrder>(json!(s.as_str())).unwrap(),
                s
            );
            assert_eq!(s.to_string(), s.as_str());
        }
        assert!(serde_json::from_value::<CollectionSortOrder>(json!("RANDOM")).is_err());
    }

    #[test]
    fn rejects_malformed_collections() {
        assert!(serde_json::from_value::<Collection>(json!({"title": "x"})).is_err());
        assert!(
            serde_json::from_value::<Collection>(json!({"id": "gid://shopify/Product/1"})).is_err()
        );
        let bad_rule = json!({"id": "gid://shopify/Collection/1",
                              "ruleSet": {"rules": [{"column": "TAG", "relation": "EQUALS"}]}});
        assert!(serde_json::from_value::<Collection>(bad_rule).is_err());
    }
}
